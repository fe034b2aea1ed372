"""Numerically fragile or edge-case answers that only the stress cases expose, by name."""

from __future__ import annotations

import numpy as np
import pytest

from dlbook.checks.attention import check_layer_norm_forward, check_masked_attention
from dlbook.checks.backprop import check_softmax
from dlbook.checks.compression import check_magnitude_mask
from dlbook.checks.optimization import check_dropout_forward
from dlbook.checks.parallel import check_unscale_grads
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
    ],
)
def test_a_stress_case_exposes_a_fragile_answer(check, student, words):
    result = check(student)
    assert not result.passed and words in result.text, str(result)


def test_a_filled_mask_far_below_minus_100_is_fine():
    """-1e9 (torch's habit) is as good as -inf on every case: no false alarm."""
    assert check_masked_attention(_attention_filled_with(-1e9)).passed
