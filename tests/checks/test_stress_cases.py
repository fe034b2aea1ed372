"""Numerically fragile or edge-case answers that only the stress cases expose, by name."""

from __future__ import annotations

import numpy as np
import pytest

from dlbook.checks.attention import check_layer_norm_forward, check_masked_attention
from dlbook.checks.backprop import check_softmax
from dlbook.checks.cnn import check_max_pool_backward
from dlbook.checks.compression import check_magnitude_mask
from dlbook.checks.llm import (
    check_bpe_encode,
    check_dpo_loss,
    check_masked_sft_loss,
    check_perplexity_per_char,
)
from dlbook.checks.optimization import check_dropout_forward
from dlbook.checks.parallel import check_unscale_grads
from dlbook.checks.pipelines import check_early_stopping
from dlbook.checks.rnn import check_rnn_step
from dlbook.checks.trust import check_fgsm
from dlbook.regularization import numpy_backend as reg_np


def _softmax_shifted_by(shift):
    def softmax(x, axis=-1):
        e = np.exp(x - shift(x, axis=axis, keepdims=True))
        return e / e.sum(axis=axis, keepdims=True)

    return softmax


def _layer_norm_moments(x, gamma, beta, eps):
    mu = x.mean(axis=-1, keepdims=True)
    var = (x * x).mean(axis=-1, keepdims=True) - mu * mu  # cancels for large means
    return gamma * (x - mu) / np.sqrt(var + eps) + beta


def _attention_filled_with(fill):
    def attention(q, k, v, mask):
        s = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
        s = np.where(mask, s, fill)
        w = np.exp(s - s.max(axis=-1, keepdims=True))
        return w / w.sum(axis=-1, keepdims=True) @ v

    return attention


def _rnn_step_exp_tanh(x, h, W_ih, W_hh, b_ih, b_hh):
    a = x @ W_ih + b_ih + h @ W_hh + b_hh
    return (np.exp(a) - np.exp(-a)) / (np.exp(a) + np.exp(-a))


def _mask_rounding_down(w, sparsity):
    k = int(sparsity * w.size)  # 7 where round gives 8
    keep = np.ones(w.size, dtype=bool)
    keep[np.argsort(np.abs(w), axis=None, kind="stable")[:k]] = False
    return keep.reshape(w.shape)


def _dropout_is_true(x, p, rng, training=True):
    if training is False:  # np.False_ is not False: evaluation mode is missed
        return x, None
    return reg_np.dropout(x, p, rng, True)


def _unscale_summing_in_float16(grads, scale):
    found_inf = any(not np.isfinite(g.sum()) for g in grads)  # a float16 sum overflows
    return [g.astype(np.float32) / scale for g in grads], found_inf


def _fgsm_both_bounds_or_none(x, grad, epsilon, lo=None, hi=None):
    x_adv = x + epsilon * np.sign(grad)
    if lo is not None and hi is not None:  # a one-sided bound is ignored
        x_adv = np.clip(x_adv, lo, hi)
    return x_adv


def _max_pool_backward_float32(x, grad_out, k):
    B, C, H, W = x.shape
    Ho, Wo = H // k, W // k
    win = x.astype(np.float32)[:, :, : Ho * k, : Wo * k].reshape(B, C, Ho, k, Wo, k)
    mask = win == win.max(axis=(3, 5), keepdims=True)  # ties near 1e6 in float32
    dx = np.zeros(x.shape)
    dx[:, :, : Ho * k, : Wo * k] = (mask * grad_out[:, :, :, None, :, None]).reshape(
        B, C, Ho * k, Wo * k
    )
    return dx


def _early_stopping_float32(val_losses, patience, min_delta=0.0):
    losses = np.asarray(val_losses, dtype=np.float32)  # 1e8 + 2.5 rounds to 1e8
    best, best_epoch, bad, epoch = np.inf, -1, 0, -1
    for epoch, loss in enumerate(losses):
        if loss < best - min_delta:
            best, best_epoch, bad = loss, epoch, 0
        else:
            bad += 1
            if bad >= patience:
                break
    return best_epoch, epoch


def _sft_loss_without_max(logits, targets, mask):
    e = np.exp(logits)  # inf for logits near 800
    log_p = np.log(e / e.sum(axis=-1, keepdims=True))
    picked = np.take_along_axis(log_p, targets[..., None], axis=-1)[..., 0]
    return -(mask * picked).sum() / mask.sum()


def _dpo_log_of_sigmoid(pc, pr, rc, rr, beta):
    z = beta * ((pc - rc) - (pr - rr))
    return np.mean(-np.log(1.0 / (1.0 + np.exp(-z))))  # log(0) for z = -1342


def _perplexity_token_then_power(mean_token_loss, n_tokens, n_chars):
    return np.exp(mean_token_loss) ** (n_tokens / n_chars)  # exp(750) = inf


def _bpe_encode_recursive(text, merges):
    def merge(ids, pair, new_id):  # one stack frame per id: too deep for long texts
        if len(ids) < 2:
            return list(ids)
        if (ids[0], ids[1]) == pair:
            return [new_id, *merge(ids[2:], pair, new_id)]
        return [ids[0], *merge(ids[1:], pair, new_id)]

    ids = list(text.encode("utf-8"))
    for i, (a, b) in enumerate(merges):
        ids = merge(ids, (a, b), 256 + i)
    return np.array(ids)


@pytest.mark.parametrize(
    "check, student, words",
    [
        (check_softmax, _softmax_shifted_by(np.min), "subtracted the minimum"),
        (check_softmax, _softmax_shifted_by(np.mean), "subtracted the mean"),
        (check_layer_norm_forward, _layer_norm_moments, "E[x²] − E[x]²"),
        (check_masked_attention, _attention_filled_with(-100.0), "with −100 instead of −inf"),
        (check_rnn_step, _rnn_step_exp_tanh, "your tanh overflows"),
        (check_magnitude_mask, _mask_rounding_down, "rounding down"),
        (check_dropout_forward, _dropout_is_true, "np.False_"),
        (check_unscale_grads, _unscale_summing_in_float16, "every gradient is finite"),
        (check_fgsm, _fgsm_both_bounds_or_none, "one-sided bound"),
        (check_max_pool_backward, _max_pool_backward_float32, "pixels near 1,000,000"),
        (check_early_stopping, _early_stopping_float32, "losses near 1e8"),
        (check_masked_sft_loss, _sft_loss_without_max, "your log-softmax overflows"),
        (check_dpo_loss, _dpo_log_of_sigmoid, "write it as softplus(-z)"),
        (check_perplexity_per_char, _perplexity_token_then_power, "single exp"),
        (check_bpe_encode, _bpe_encode_recursive, "RecursionError"),
    ],
    ids=[
        "softmax-min",
        "softmax-mean",
        "layernorm-moments",
        "mask-minus-100",
        "tanh-exp",
        "sparsity-floor",
        "np.bool_-flag",
        "float16-sum",
        "one-sided-bound",
        "maxpool-float32-ties",
        "early-stopping-float32",
        "sft-no-max-subtraction",
        "dpo-log-of-sigmoid",
        "perplexity-exp-then-power",
        "bpe-recursion-on-long-text",
    ],
)
def test_a_stress_case_exposes_a_fragile_answer(check, student, words):
    result = check(student)
    assert not result.passed and words in result.text, str(result)


def test_a_filled_mask_far_below_minus_100_is_fine():
    """-1e9 (torch's habit) is as good as -inf on every case: no false alarm."""
    assert check_masked_attention(_attention_filled_with(-1e9)).passed
