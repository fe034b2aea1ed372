"""Chapter 6's checks: the reference passes, and each classic mistake is rejected by name.

The wrong implementations below are written the way a learner would write them,
independently of the check's own mistake functions, so that a test fails if a
check stops recognising a mistake it claims to name.
"""

from __future__ import annotations

import numpy as np
import pytest

from dlbook.attention import numpy_backend as attn_np
from dlbook.checks import attention as attn_checks
from dlbook.checks.attention import (
    check_causal_mask,
    check_gpt_parameter_count,
    check_layer_norm_forward,
    check_masked_attention,
    check_merge_heads,
    check_sinusoidal_encoding,
    check_split_heads,
)

# ---------------------------------------------------------------------------
# Correct solutions, written as the solutions notebook writes them
# ---------------------------------------------------------------------------


def masked_attention(q, k, v, mask):
    s = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    s = np.where(mask, s, -np.inf)
    w = np.exp(s - s.max(axis=-1, keepdims=True))
    return (w / w.sum(axis=-1, keepdims=True)) @ v


def causal_mask(T):
    return np.tril(np.ones((T, T), dtype=bool))


def split_heads(x, n_heads):
    B, T, C = x.shape
    return x.reshape(B, T, n_heads, C // n_heads).transpose(0, 2, 1, 3)


def merge_heads(x):
    B, H, T, D = x.shape
    return x.transpose(0, 2, 1, 3).reshape(B, T, H * D)


def sinusoidal_encoding(T, C):
    angle = np.arange(T)[:, None] / 10000.0 ** (np.arange(0, C, 2) / C)
    pe = np.zeros((T, C))
    pe[:, 0::2], pe[:, 1::2] = np.sin(angle), np.cos(angle)
    return pe


def layer_norm_forward(x, gamma, beta, eps):
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    return gamma * (x - mu) / np.sqrt(var + eps) + beta


def gpt_parameter_count(vocab_size, block_size, n_layer, n_embd, mlp_ratio=4):
    C, hidden = n_embd, mlp_ratio * n_embd
    block = 2 * 2 * C + (4 * C * C + 4 * C) + (C * hidden + hidden + hidden * C + C)
    return (vocab_size + block_size) * C + n_layer * block + 2 * C + C * vocab_size


# name -> (check, dlbook's reference, a learner's correct solution); test_every_check.py
# runs the problems every check must explain (stub, crash, NaN, type, shape, runaway) on these.
CHECKS = {
    "masked_attention": (
        check_masked_attention,
        attn_checks._attention_reference,
        masked_attention,
    ),
    "causal_mask": (check_causal_mask, attn_np.causal_mask, causal_mask),
    "split_heads": (check_split_heads, attn_np.split_heads, split_heads),
    "merge_heads": (check_merge_heads, attn_np.merge_heads, merge_heads),
    "sinusoidal_encoding": (
        check_sinusoidal_encoding,
        attn_checks._sinusoidal_reference,
        sinusoidal_encoding,
    ),
    "layer_norm_forward": (
        check_layer_norm_forward,
        attn_checks._layer_norm_reference,
        layer_norm_forward,
    ),
    "gpt_parameter_count": (
        check_gpt_parameter_count,
        attn_checks._gpt_reference,
        gpt_parameter_count,
    ),
}


def test_checks_are_deterministic_and_leave_global_rng_alone():
    state = np.random.get_state()[1].copy()
    wrong = lambda q, k, v, mask: masked_attention(q, k, v, ~mask)  # noqa: E731
    assert str(check_masked_attention(wrong)) == str(check_masked_attention(wrong))
    assert np.array_equal(np.random.get_state()[1], state)


def test_attention_cases_block_part_of_every_row_and_column():
    """A mask mistake must show in every row, and no row may be blocked whichever way it reads."""
    first = attn_checks._attention_cases(np.random.default_rng(0))[0]
    mask = first.args[3]
    for lines in (mask, mask.T):
        assert all(line.any() and not line.all() for line in lines)


# ---------------------------------------------------------------------------
# The references follow PyTorch
# ---------------------------------------------------------------------------


def test_attention_reference_follows_torch_sdpa():
    torch = pytest.importorskip("torch")
    for case in attn_checks._attention_cases(np.random.default_rng(0)):
        q, k, v, mask = (torch.tensor(a) for a in case.args)
        expected = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        ours = attn_checks._attention_reference(*case.args)
        assert np.allclose(ours, expected.numpy(), rtol=1e-10, atol=1e-12)


def test_layer_norm_reference_follows_torch():
    torch = pytest.importorskip("torch")
    for case in attn_checks._layer_norm_cases(np.random.default_rng(0)):
        x, gamma, beta, eps = case.args
        expected = torch.nn.functional.layer_norm(
            torch.tensor(x), (x.shape[-1],), torch.tensor(gamma), torch.tensor(beta), eps
        )
        assert np.allclose(
            attn_checks._layer_norm_reference(*case.args),
            expected.numpy(),
            rtol=1e-5 if case.stress else 1e-9,  # near 1e6 torch loses digits
            atol=1e-12,
        )


def test_written_out_mistake_functions_are_right_with_no_switch():
    """The mistakes flip switches of written-out versions: with none flipped, they are right."""
    rng = np.random.default_rng(0)
    for case in attn_checks._attention_cases(rng):
        assert np.allclose(
            attn_checks._attend(*case.args), attn_checks._attention_reference(*case.args)
        )
    for T, C in [(6, 8), (50, 16)]:
        assert np.allclose(attn_checks._sinusoid(T, C), attn_checks._sinusoidal_reference(T, C))
    for case in attn_checks._layer_norm_cases(rng):
        assert np.allclose(
            attn_checks._ln(*case.args), attn_checks._layer_norm_reference(*case.args)
        )
    for case in attn_checks._gpt_cases(rng):
        assert attn_checks._gpt_count(*case.args, **case.kwargs) == attn_checks._gpt_reference(
            *case.args, **case.kwargs
        )


# ---------------------------------------------------------------------------
# 1. masked_attention
# ---------------------------------------------------------------------------


def _learner_attention(*, scale=None, mask_after=False, inverted=False, multiply=False,
                       ignore_mask=False, axis=-1, k_as_is=False):  # fmt: skip
    """A learner's attention with one slip: scores, a mask, a softmax, a weighted sum."""

    def fn(q, k, v, mask):
        scores = q @ (k if k_as_is else k.swapaxes(-1, -2))
        d = q.shape[-1]
        scores = scores / (np.sqrt(d) if scale is None else scale(q, v))
        if multiply:
            scores = scores * mask
        elif inverted:
            scores = np.where(mask, -1e9, scores)
        elif not (mask_after or ignore_mask):
            scores = np.where(mask, scores, -1e9)
        e = np.exp(scores - scores.max(axis=axis, keepdims=True))
        weights = e / e.sum(axis=axis, keepdims=True)
        if mask_after:
            weights = np.where(mask, weights, 0.0)
        return weights @ v

    return fn


def _naive_softmax_attention(q, k, v, mask):
    s = np.where(mask, q @ k.swapaxes(-1, -2) / np.sqrt(q.shape[-1]), -np.inf)
    return (np.exp(s) / np.exp(s).sum(axis=-1, keepdims=True)) @ v


def _batched_k_dot_t(q, k, v, mask):
    return masked_attention(q, np.swapaxes(k.T, -1, -2), v, mask)  # k.T reverses every axis


def _attention_in_place(q, k, v, mask):
    q /= np.sqrt(q.shape[-1])
    return masked_attention(q * np.sqrt(q.shape[-1]), k, v, mask)


@pytest.mark.parametrize(
    "student, words",
    [
        (_learner_attention(scale=lambda q, v: 1.0), "forgot to scale"),
        (_learner_attention(scale=lambda q, v: q.shape[-1]), "by D instead of √D"),
        (_learner_attention(scale=lambda q, v: np.sqrt(v.shape[-1])), "1/√Dv"),
        (_learner_attention(mask_after=True), "after the softmax"),
        (_learner_attention(inverted=True), "mask is inverted"),
        (_learner_attention(multiply=True), "multiplied the scores by the mask"),
        (_learner_attention(ignore_mask=True), "ignored the mask"),
        (_learner_attention(axis=-2), "over the queries"),
        (_learner_attention(k_as_is=True), "without transposing"),
        (_naive_softmax_attention, "NaN"),
        (_attention_in_place, "changed its input `q` in place"),
    ],
)
def test_masked_attention_mistakes(student, words):
    result = check_masked_attention(student)
    assert not result.passed
    assert words in result.text, str(result)


def test_masked_attention_k_dot_t_error_is_explained():
    result = check_masked_attention(_batched_k_dot_t)
    assert "raised ValueError" in result.message
    assert "np.swapaxes(k, -1, -2)" in result.hint


def test_naive_softmax_overflow_gets_the_max_hint():
    result = check_masked_attention(_naive_softmax_attention)
    assert "scores in the hundreds" in result.message and "max" in result.hint


# ---------------------------------------------------------------------------
# 2. causal_mask
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "student, words",
    [
        (lambda T: np.triu(np.ones((T, T))).astype(bool), "upper triangular"),
        (lambda T: np.arange(T)[:, None] < np.arange(T)[None, :], "*blocked* positions"),
        (lambda T: np.arange(T)[:, None] > np.arange(T)[None, :], "leaves out the diagonal"),
        (lambda T: np.full((T, T), True), "allows everything"),
        (lambda T: np.triu(np.full((T, T), -np.inf), k=1), "additive mask"),
        (lambda T: np.tril(np.ones((T, T))), "dtype float64, not bool"),
        (lambda T: np.tril(np.ones((T, T), dtype=int)), "not bool"),
        (lambda T: np.tril(np.ones((T, T + 1), dtype=bool)), "shape"),
        (lambda T: np.ones(T, dtype=bool), "shape"),
    ],
)
def test_causal_mask_mistakes(student, words):
    result = check_causal_mask(student)
    assert not result.passed
    assert words in result.text, str(result)


def test_a_float_mask_is_refused_with_a_reason():
    result = check_causal_mask(lambda T: np.tril(np.ones((T, T))))
    assert "right pattern" in result.message and "astype(bool)" in result.hint


# ---------------------------------------------------------------------------
# 3. split_heads and merge_heads
# ---------------------------------------------------------------------------


def _split_loop_of_heads(x, n_heads):  # contiguous blocks, but every H-th feature
    return np.stack([x[:, :, h::n_heads] for h in range(n_heads)], axis=1)


def _merge_strided(x):
    B, H, T, D = x.shape
    out = np.zeros((B, T, H * D))
    for h in range(H):
        out[:, :, h::H] = x[:, h]
    return out


@pytest.mark.parametrize(
    "student, words",
    [
        (lambda x, n: x.reshape(*x.shape[:2], n, -1), "forgot to transpose"),
        (lambda x, n: x.reshape(x.shape[0], n, x.shape[1], -1), "reshaped straight"),
        (_split_loop_of_heads, "swapped the head and head-width"),
        (lambda x, n: x.reshape(*x.shape[:2], -1, n).swapaxes(1, 2), "n_heads as the width"),
        (lambda x, n: np.moveaxis(x.reshape(*x.shape[:2], n, -1), 1, 3), "(B, H, D, T)"),
    ],
)
def test_split_heads_mistakes(student, words):
    result = check_split_heads(student)
    assert not result.passed
    assert words in result.text, str(result)


@pytest.mark.parametrize(
    "student, words",
    [
        (lambda x: x.reshape(x.shape[0], x.shape[2], -1), "reshaped straight"),
        (_merge_strided, "(B, T, D, H)"),
        (lambda x: np.swapaxes(x, 1, 2), "forgot to reshape"),
        (lambda x: np.concatenate([x[:, h] for h in range(x.shape[1])], axis=1), "time axis"),
        (lambda x: x.sum(axis=1), "summed the heads"),
        (lambda x: x.mean(axis=1), "averaged the heads"),
    ],
)
def test_merge_heads_mistakes(student, words):
    result = check_merge_heads(student)
    assert not result.passed
    assert words in result.text, str(result)


def test_merge_mistakes_say_it_is_not_the_inverse_of_split():
    result = check_merge_heads(lambda x: x.reshape(x.shape[0], x.shape[2], -1))
    assert "does not give x back" in result.message


def test_merge_cases_are_split_inputs():
    for case in attn_checks._merge_cases(np.random.default_rng(0)):
        (x,) = case.args
        assert np.array_equal(split_heads(merge_heads(x), x.shape[1]), x)


# ---------------------------------------------------------------------------
# 4. sinusoidal_encoding
# ---------------------------------------------------------------------------


def _learner_pe(*, swap=False, exponent=None, halves=False, start=0, transpose=False):
    def fn(T, C):
        pe = np.zeros((T, C))
        for pos in range(start, start + T):
            for i in range(C // 2):
                power = 2 * i / C if exponent is None else exponent(i, C)
                angle = pos / 10000**power
                a, b = (np.cos(angle), np.sin(angle)) if swap else (np.sin(angle), np.cos(angle))
                cols = (i, i + C // 2) if halves else (2 * i, 2 * i + 1)
                pe[pos - start, cols[0]], pe[pos - start, cols[1]] = a, b
        return pe.T if transpose else pe

    return fn


def _pe_column_frequency(T, C):
    j = np.arange(C)
    angle = np.arange(T)[:, None] / 10000 ** (j / C)
    return np.where(j % 2 == 0, np.sin(angle), np.cos(angle))


@pytest.mark.parametrize(
    "student, words",
    [
        (_learner_pe(swap=True), "swapped sin and cos"),
        (_learner_pe(exponent=lambda i, C: i / C), "i/C instead of 2i/C"),
        (_pe_column_frequency, "different frequencies"),
        (_learner_pe(halves=True), "concatenated halves"),
        (_learner_pe(transpose=True), "transposed"),
        (_learner_pe(start=1), "start at 1"),
    ],
)
def test_sinusoidal_encoding_mistakes(student, words):
    result = check_sinusoidal_encoding(student)
    assert not result.passed
    assert words in result.text, str(result)


# ---------------------------------------------------------------------------
# 5. layer_norm_forward
# ---------------------------------------------------------------------------


def _std(x, axis):
    return np.sqrt(((x - x.mean(axis=axis, keepdims=True)) ** 2).mean(axis=axis, keepdims=True))


@pytest.mark.parametrize(
    "student, words",
    [
        (lambda x, g, b, e: g * (x - x.mean(0)) / np.sqrt(x.var(0) + e) + b, "BatchNorm"),
        (lambda x, g, b, e: g * (x - x.mean()) / np.sqrt(x.var() + e) + b, "whole array"),
        (
            lambda x, g, b, e: (
                g * (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, ddof=1, keepdims=True) + e)
                + b
            ),
            "unbiased",
        ),  # fmt: skip
        (
            lambda x, g, b, e: g * (x - x.mean(-1, keepdims=True)) / (_std(x, -1) + e) + b,
            "outside the square root",
        ),
        (
            lambda x, g, b, e: g * (x - x.mean(-1, keepdims=True)) / (_std(x, -1) ** 2 + e) + b,
            "var + ε instead",
        ),
        (
            lambda x, g, b, e: g * (x - x.mean(-1, keepdims=True)) / np.sqrt(_std(x, -1) + e) + b,
            "square root of the standard deviation",
        ),
        (lambda x, g, b, e: g * x / np.sqrt(_std(x, -1) ** 2 + e) + b, "subtract the mean"),
        (lambda x, g, b, e: layer_norm_forward(x, 1.0, 0.0, e), "forgot gamma and beta"),
        (lambda x, g, b, e: layer_norm_forward(x, g, 0.0, e), "forgot beta"),
        (lambda x, g, b, e: layer_norm_forward(x, 1.0, b, e), "forgot gamma"),
        (lambda x, g, b, e: layer_norm_forward(x, b, g, e), "swapped gamma and beta"),
    ],
)
def test_layer_norm_forward_mistakes(student, words):
    result = check_layer_norm_forward(student)
    assert not result.passed
    assert words in result.text, str(result)


# ---------------------------------------------------------------------------
# 6. gpt_parameter_count
# ---------------------------------------------------------------------------


def _learner_count(*, lin_bias=1, ln_size=2, wpe=1, ln_f=1, attn_mats=4, hidden=None,
                   head=1, head_bias=0, layers=None):  # fmt: skip
    """A learner's count, part by part, with one slip."""

    def fn(vocab_size, block_size, n_layer, n_embd, mlp_ratio=4):
        C, V = n_embd, vocab_size
        Dm = mlp_ratio * C if hidden is None else hidden(C)
        attention = attn_mats * (C * C + lin_bias * C)
        mlp = C * Dm + lin_bias * Dm + Dm * C + lin_bias * C
        block = attention + mlp + 2 * ln_size * C
        embeddings = V * C + wpe * block_size * C
        blocks = (n_layer if layers is None else layers) * block
        return embeddings + blocks + ln_f * ln_size * C + head * V * C + head_bias * V

    return fn


@pytest.mark.parametrize(
    "student, words",
    [
        (_learner_count(lin_bias=0), "biases of the linear layers"),
        (_learner_count(lin_bias=0, ln_size=1), "forgot every bias"),
        (_learner_count(ln_size=1), "LayerNorms' beta"),
        (_learner_count(wpe=0), "position embedding"),
        (_learner_count(ln_size=0), "forgot the LayerNorms"),
        (_learner_count(ln_f=0), "final LayerNorm"),
        (_learner_count(attn_mats=3), "3C²"),
        (_learner_count(hidden=lambda C: C), "hidden width C"),
        (_learner_count(head=0), "untied"),
        (_learner_count(head_bias=1), "output head a bias"),
        (_learner_count(layers=1), "one block"),
        (lambda *a, **kw: float(gpt_parameter_count(*a, **kw)), "a count of parameters is an"),
        (lambda *a, **kw: 1.0 * gpt_parameter_count(*a, **kw) + 3, "wrong values"),
    ],
)
def test_gpt_parameter_count_mistakes(student, words):
    result = check_gpt_parameter_count(student)
    assert not result.passed
    assert words in result.text, str(result)


def test_gpt_count_accepts_numpy_integers_and_is_exact():
    assert check_gpt_parameter_count(
        lambda *a, **kw: np.int64(gpt_parameter_count(*a, **kw))
    ).passed
    assert check_gpt_parameter_count(gpt_parameter_count).passed
    result = check_gpt_parameter_count(lambda *a, **kw: gpt_parameter_count(*a, **kw) + 1)
    assert not result.passed and "is expected" in result.message


def test_gpt_count_of_gpt2_small_with_a_tied_head_is_124m():
    """Without the untied head, the count is GPT-2 small's published 124,439,808."""
    untied = attn_checks._gpt_reference(50257, 1024, 12, 768)
    assert untied - 768 * 50257 == 124_439_808


# ---------------------------------------------------------------------------
# More wrong answers, found by trying every check the way learners err
# ---------------------------------------------------------------------------


def _softmax_rows(s, axis=-1):
    e = np.exp(s - s.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _attention_scaled_by_keys(q, k, v, mask):
    s = q @ np.swapaxes(k, -1, -2) / np.sqrt(k.shape[-2])  # S, the number of keys
    return _softmax_rows(np.where(mask, s, -np.inf)) @ v


def _attention_times_sqrt_d(q, k, v, mask):
    s = q @ np.swapaxes(k, -1, -2) * np.sqrt(q.shape[-1])
    return _softmax_rows(np.where(mask, s, -np.inf)) @ v


def _attention_scaled_output(q, k, v, mask):
    w = _softmax_rows(np.where(mask, q @ np.swapaxes(k, -1, -2), -np.inf))
    return w @ v / np.sqrt(q.shape[-1])


def _attention_mask_added(q, k, v, mask):
    s = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    return _softmax_rows(s + mask) @ v


def _attention_softmax_axis0(q, k, v, mask):
    s = np.where(mask, q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1]), -np.inf)
    e = np.exp(s - s.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True) @ v


def _attention_scipy_softmax(q, k, v, mask):  # scipy.special.softmax normalises everything
    s = np.where(mask, q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1]), -np.inf)
    e = np.exp(s - s.max())
    return e / e.sum() @ v


@pytest.mark.parametrize(
    "student, words",
    [
        (_attention_scaled_by_keys, "number of keys"),
        (_attention_times_sqrt_d, "multiplied the scores by √D"),
        (_attention_scaled_output, "after the softmax (the weights or the output)"),
        (_attention_mask_added, "added the boolean mask"),
        (_attention_scipy_softmax, "whole array at once"),
        (lambda q, k, v, m: masked_attention(q, k, v, m).tolist(), "Python list"),
        (lambda q, k, v, m: (masked_attention(q, k, v, m), None), "Python tuple"),
    ],
)
def test_masked_attention_more_mistakes(student, words):
    result = check_masked_attention(student)
    assert not result.passed
    assert words in result.text, str(result)


def _attention_with_big_negative(q, k, v, mask):
    return _softmax_rows(np.where(mask, q @ np.swapaxes(k, -1, -2) / q.shape[-1] ** 0.5, -1e9)) @ v


def _attention_log_mask(q, k, v, mask):
    with np.errstate(divide="ignore"):
        return _softmax_rows(q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1]) + np.log(mask)) @ v


def _attention_einsum(q, k, v, mask):
    s = np.einsum("...td,...sd->...ts", q, k) / np.sqrt(q.shape[-1])
    return np.einsum("...ts,...sd->...td", _softmax_rows(np.where(mask, s, -np.inf)), v)


def _attention_float32(q, k, v, mask):
    q, k, v = (a.astype(np.float32) for a in (q, k, v))
    s = q @ np.swapaxes(k, -1, -2) / np.float32(np.sqrt(q.shape[-1]))
    return _softmax_rows(np.where(mask, s, -np.inf)) @ v


@pytest.mark.parametrize(
    "student",
    [_attention_with_big_negative, _attention_log_mask, _attention_einsum, _attention_float32],
)
def test_masked_attention_unusual_correct_answers_pass(student):
    result = check_masked_attention(student)
    assert result.passed, str(result)


def test_a_softmax_over_the_batch_axis_gives_nan_and_the_hint_names_the_axis():
    """Every query's blocked keys are blocked in the whole batch: that slice is all -inf."""
    result = check_masked_attention(_attention_softmax_axis0)
    assert not result.passed and "NaN" in result.message and "axis=-1" in result.hint


def test_float32_inputs_with_a_float64_scale_are_told_where_precision_went():
    """np.sqrt(D) is a float64 scalar: the result is float64, with float32's digits."""

    def student(q, k, v, mask):
        return masked_attention(*(a.astype(np.float32) for a in (q, k, v)), mask)

    result = check_masked_attention(student)
    assert not result.passed and "only to about float32 precision" in result.message
    assert "float32 intermediate" in result.hint


@pytest.mark.parametrize(
    "student, words",
    [
        (lambda T: np.tril(np.ones((T, T), dtype=bool), k=1), "t + 1"),
        (lambda T: np.zeros((T, T), dtype=bool), "blocks everything"),
        (lambda T: np.eye(T, dtype=bool), "only the diagonal"),
        (lambda T: np.tril(np.ones((T, T), dtype=np.uint8)), "not bool"),
        (lambda T: np.tril(np.ones((T, T), dtype=bool)).tolist(), "Python list"),
        (lambda T: np.tril(np.ones((1, T, T), dtype=bool)), "shape (1, 4, 4)"),
    ],
)
def test_causal_mask_more_mistakes(student, words):
    result = check_causal_mask(student)
    assert not result.passed
    assert words in result.text, str(result)


@pytest.mark.parametrize(
    "student",
    [
        lambda T: np.tri(T, dtype=bool),
        lambda T: np.arange(T)[:, None] >= np.arange(T),
        lambda T: np.tril(np.ones((T, T))) == 1,
        lambda T: ~np.triu(np.ones((T, T), dtype=bool), k=1),
    ],
)
def test_causal_mask_unusual_correct_answers_pass(student):
    assert check_causal_mask(student).passed


def test_split_heads_before_the_batch_is_named():
    result = check_split_heads(lambda x, n: np.stack(np.split(x, n, axis=-1), axis=0))
    assert not result.passed and "heads before the batch" in result.message


@pytest.mark.parametrize(
    "student",
    [
        lambda x, n: np.stack(np.split(x, n, axis=-1), axis=1),
        lambda x, n: x.reshape(*x.shape[:2], n, -1).swapaxes(1, 2),
        lambda x, n: split_heads(x, n).astype(np.float32),
    ],
)
def test_split_heads_unusual_correct_answers_pass(student):
    assert check_split_heads(student).passed


@pytest.mark.parametrize(
    "student",
    [
        lambda x: np.concatenate([x[:, h] for h in range(x.shape[1])], axis=-1),
        lambda x: np.dstack([x[:, h] for h in range(x.shape[1])]),
        lambda x: np.moveaxis(x, 1, 2).reshape(x.shape[0], x.shape[2], -1),
        lambda x: merge_heads(x).astype(np.float32),
    ],
)
def test_merge_heads_unusual_correct_answers_pass(student):
    assert check_merge_heads(student).passed


def _pe_from_range(T, C, *, power=lambda j, C: 2 * j / C, divide=True):
    """A learner's encoding with j = 0, 2, 4, ... the index of each pair's first column."""
    pe = np.zeros((T, C))
    pos = np.arange(T)[:, None]
    j = np.arange(0, C, 2)
    freq = 10000 ** power(j, C)
    angle = pos / freq if divide else pos * freq
    pe[:, 0::2], pe[:, 1::2] = np.sin(angle), np.cos(angle)
    return pe


@pytest.mark.parametrize(
    "student, words",
    [
        (_pe_from_range, "4i/C"),
        (lambda T, C: _pe_from_range(T, C, power=lambda j, C: j // C), "integer division"),
        (lambda T, C: _pe_from_range(T, C, power=lambda j, C: j / C, divide=False), "multiplied"),
    ],
)
def test_sinusoidal_encoding_more_mistakes(student, words):
    result = check_sinusoidal_encoding(student)
    assert not result.passed
    assert words in result.text, str(result)


def _pe_torch_tutorial(T, C):
    div_term = np.exp(np.arange(0, C, 2) * (-np.log(10000.0) / C))
    angle = np.arange(T)[:, None] * div_term
    return np.stack([np.sin(angle), np.cos(angle)], axis=-1).reshape(T, C)


def _pe_float32(T, C):
    pos = np.arange(T, dtype=np.float32)[:, None]
    angle = pos / np.float32(10000.0) ** (np.arange(0, C, 2, dtype=np.float32) / np.float32(C))
    pe = np.zeros((T, C), dtype=np.float32)
    pe[:, 0::2], pe[:, 1::2] = np.sin(angle), np.cos(angle)
    return pe


@pytest.mark.parametrize("student", [_pe_torch_tutorial, _pe_float32])
def test_sinusoidal_encoding_unusual_correct_answers_pass(student):
    result = check_sinusoidal_encoding(student)
    assert result.passed, str(result)


def _centred(x):
    return x - x.mean(axis=-1, keepdims=True)


@pytest.mark.parametrize(
    "student, words",
    [
        (
            lambda x, g, b, e: g * _centred(x) / np.sqrt(x.var(-1, keepdims=True)) + b,
            "left out eps",
        ),
        (
            lambda x, g, b, e: (
                g * (x - x.mean(1, keepdims=True)) / np.sqrt(x.var(1, keepdims=True) + e) + b
            ),
            "over axis 1",
        ),  # fmt: skip
        (lambda x, g, b, e: g * x / np.sqrt((x**2).mean(-1, keepdims=True) + e) + b, "RMSNorm"),
        (lambda x, g, b, e: g * _centred(x) + b, "did not divide"),
        (lambda x, g, b, e: g * (x - x.mean(-1)) / np.sqrt(x.var(-1) + e) + b, "keepdims=True"),
    ],
)
def test_layer_norm_forward_more_mistakes(student, words):
    result = check_layer_norm_forward(student)
    assert not result.passed
    assert words in result.text, str(result)


def test_layer_norm_in_float32_fails_near_1e6_with_a_reason():
    """Float32 cannot hold features near 1e6 with spread 1: the verdict says so."""

    def student(x, gamma, beta, eps):
        return layer_norm_forward(x.astype(np.float32), gamma, beta, eps).astype(np.float32)

    result = check_layer_norm_forward(student)
    assert not result.passed and "near 1e6" in result.message and "float64" in result.hint


@pytest.mark.parametrize(
    "student, words",
    [
        (
            lambda V, T, L, C, mlp_ratio=4: gpt_parameter_count(V, T, L, C),
            "whatever mlp_ratio is",
        ),
        (_learner_count(ln_size=1, ln_f=2), "one LayerNorm per block"),
        (lambda V, T, L, C: gpt_parameter_count(V, T, L, C), "keep that signature"),
    ],
)
def test_gpt_parameter_count_more_mistakes(student, words):
    result = check_gpt_parameter_count(student)
    assert not result.passed
    assert words in result.text, str(result)


def _count_attention_bias_forgotten(vocab_size, block_size, n_layer, n_embd, mlp_ratio=4):
    C = n_embd
    return gpt_parameter_count(vocab_size, block_size, n_layer, C, mlp_ratio) - n_layer * 4 * C


def _count_mlp_bias_forgotten(vocab_size, block_size, n_layer, n_embd, mlp_ratio=4):
    C = n_embd
    total = gpt_parameter_count(vocab_size, block_size, n_layer, C, mlp_ratio)
    return total - n_layer * (mlp_ratio * C + C)


def _count_one_mlp_layer(vocab_size, block_size, n_layer, n_embd, mlp_ratio=4):
    C, R = n_embd, mlp_ratio * n_embd
    block = 2 * 2 * C + 4 * C * C + 4 * C + C * R + R  # the MLP's C -> R only
    return (vocab_size + block_size) * C + n_layer * block + 2 * C + C * vocab_size


def _attention_zero_fill(q, k, v, mask):
    s = np.where(mask, q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1]), 0.0)
    return _softmax_rows(s) @ v


def _attention_times_inf_mask(q, k, v, mask):
    s = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    return _softmax_rows(s * np.where(mask, 1.0, -np.inf)) @ v


def test_zero_fill_and_an_infinite_multiplier_are_explained():
    result = check_masked_attention(_attention_zero_fill)
    assert "filled the blocked ones with 0" in result.message
    result = check_masked_attention(_attention_times_inf_mask)
    assert "NaN" in result.message and "not by multiplying" in result.hint


def test_gpt_count_names_one_mlp_layer():
    assert "one layer of the MLP" in check_gpt_parameter_count(_count_one_mlp_layer).message


def test_gpt_count_names_a_half_forgotten_bias():
    assert (
        "attention's four projections"
        in check_gpt_parameter_count(_count_attention_bias_forgotten).message
    )
    assert "MLP's two layers" in check_gpt_parameter_count(_count_mlp_bias_forgotten).message


def _count_from_shapes(vocab_size, block_size, n_layer, n_embd, mlp_ratio=4):
    V, T, C, R = vocab_size, block_size, n_embd, mlp_ratio * n_embd
    block = [(C,), (C,), (C, 3 * C), (3 * C,), (C, C), (C,), (C,), (C,), (C, R), (R,), (R, C), (C,)]
    shapes = [(V, C), (T, C), *(n_layer * block), (C,), (C,), (C, V)]
    return sum(int(np.prod(s)) for s in shapes)


def test_gpt_count_from_a_list_of_shapes_passes():
    assert check_gpt_parameter_count(_count_from_shapes).passed


# ---------------------------------------------------------------------------
# Second round: more learners' answers, right and wrong
# ---------------------------------------------------------------------------


def _attention_scaled_by_shape_1(q, k, v, mask):
    d_k = q.shape[1]  # the width of a 2-D q (T, D); with a batch axis it is T
    s = q @ np.swapaxes(k, -1, -2) / np.sqrt(d_k)
    return _softmax_rows(np.where(mask, s, -np.inf)) @ v


def _attention_with_a_causal_mask(q, k, v, mask):  # np.tril, whatever mask says
    s = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    causal = np.tril(np.ones((q.shape[-2], k.shape[-2]), dtype=bool))  # (T, S)
    return _softmax_rows(np.where(causal, s, -np.inf)) @ v


def _pe_sines_only(T, C):
    pe = np.zeros((T, C))
    angle = np.arange(T)[:, None] / 10000.0 ** (np.arange(0, C, 2) / C)  # (T, C/2)
    pe[:, 0::2] = np.sin(angle)
    pe[:, 1::2] = np.sin(angle)  # copied from the line above
    return pe


def _layer_norm_fixed_eps(x, gamma, beta, eps):
    mu, var = x.mean(axis=-1, keepdims=True), x.var(axis=-1, keepdims=True)
    return gamma * (x - mu) / np.sqrt(var + 1e-5) + beta


@pytest.mark.parametrize(
    "check, student, words",
    [
        (check_masked_attention, _attention_scaled_by_shape_1, "1/√T, T the number of queries"),
        (check_masked_attention, _attention_with_a_causal_mask, "instead of the mask you were"),
        (check_sinusoidal_encoding, _pe_sines_only, "odd columns hold sines too"),
        (check_layer_norm_forward, _layer_norm_fixed_eps, "instead of the eps argument"),
    ],
)
def test_second_round_mistakes_are_named(check, student, words):
    result = check(student)
    assert not result.passed
    assert words in result.text, str(result)


def _attention_exp_of_masked_scores(q, k, v, mask):  # the max of the allowed scores only
    s = np.where(mask, q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1]), -np.inf)
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return (e / e.sum(axis=-1, keepdims=True)) @ v


def _attention_boolean_index(q, k, v, mask):
    s = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    s[..., ~mask] = -np.inf  # s is a new array: this changes no input
    return _softmax_rows(s) @ v


def _attention_k_first(q, k, v, mask):  # (k q^T)^T is q k^T
    s = np.swapaxes(k @ np.swapaxes(q, -1, -2), -1, -2) / np.sqrt(q.shape[-1])
    return _softmax_rows(np.where(mask, s, -np.inf)) @ v


def _attention_most_negative_float(q, k, v, mask):
    s = q @ np.swapaxes(k, -1, -2) * q.shape[-1] ** -0.5
    return _softmax_rows(np.where(mask, s, np.finfo(s.dtype).min)) @ v


def _attention_loops(q, k, v, mask):
    out = np.zeros((*q.shape[:-1], v.shape[-1]))
    for idx in np.ndindex(q.shape[:-2]):
        for t in range(q.shape[-2]):
            s = k[idx] @ q[idx][t] / np.sqrt(q.shape[-1])  # (S,)
            w = np.exp(np.where(mask[t], s, -np.inf) - s[mask[t]].max())
            out[idx][t] = w / w.sum() @ v[idx]
    return out


def _causal_from_ranges(T):
    return np.arange(T)[:, None] >= np.arange(T)[None, :]


def _split_with_np_split(x, n_heads):
    return np.stack(np.split(x, n_heads, axis=-1), axis=1)  # (B, H, T, D)


def _merge_with_dstack(x):
    return np.dstack([x[:, h] for h in range(x.shape[1])])  # (B, T, H * D)


def _pe_loops(T, C):
    pe = np.zeros((T, C))
    for pos in range(T):
        for i in range(C // 2):
            pe[pos, 2 * i] = np.sin(pos / 10000 ** (2 * i / C))
            pe[pos, 2 * i + 1] = np.cos(pos / 10000 ** (2 * i / C))
    return pe


def _pe_stacked_pairs(T, C):
    angle = np.arange(T)[:, None] * np.exp(-np.log(10000) * np.arange(0, C, 2) / C)  # (T, C/2)
    return np.stack([np.sin(angle), np.cos(angle)], axis=-1).reshape(T, C)  # pairs side by side


def _layer_norm_apply_along_rows(x, gamma, beta, eps):
    def row(r):
        return (r - r.mean()) / np.sqrt(((r - r.mean()) ** 2).sum() / len(r) + eps)

    return np.apply_along_axis(row, -1, x) * gamma + beta


def _count_with_float_ratio(vocab_size, block_size, n_layer, n_embd, mlp_ratio=4):
    hidden = int(mlp_ratio * n_embd)
    block = 4 * n_embd + 4 * (n_embd * n_embd + n_embd) + 2 * n_embd * hidden + hidden + n_embd
    return vocab_size * n_embd * 2 + block_size * n_embd + n_layer * block + 2 * n_embd


@pytest.mark.parametrize(
    "check, student",
    [
        (check_masked_attention, _attention_exp_of_masked_scores),
        (check_masked_attention, _attention_boolean_index),
        (check_masked_attention, _attention_k_first),
        (check_masked_attention, _attention_most_negative_float),
        (check_masked_attention, _attention_loops),
        (check_causal_mask, _causal_from_ranges),
        (check_causal_mask, lambda T: np.tri(T, dtype=bool)),
        (check_causal_mask, lambda T: np.tril(np.ones((T, T))) == 1),
        (check_split_heads, _split_with_np_split),
        (check_merge_heads, _merge_with_dstack),
        (check_sinusoidal_encoding, _pe_loops),
        (check_sinusoidal_encoding, _pe_stacked_pairs),
        (check_layer_norm_forward, _layer_norm_apply_along_rows),
        (check_gpt_parameter_count, _count_with_float_ratio),
    ],
)
def test_second_round_unusual_correct_answers_pass(check, student):
    result = check(student)
    assert result.passed, str(result)


@pytest.mark.parametrize(
    "check, student, words",
    [  # a pair stacked on axis 1 instead of -1: all the sines, then all the cosines
        (
            check_sinusoidal_encoding,
            lambda T, C: np.stack(
                [np.sin(a := np.arange(T)[:, None] / 10000 ** (np.arange(0, C, 2) / C)), np.cos(a)],
                axis=1,
            ).reshape(T, C),
            "all the sines first",
        ),
        (
            check_causal_mask,
            lambda T: np.arange(T)[:, None] > np.arange(T),
            "leaves out the diagonal",
        ),
        (
            check_split_heads,
            lambda x, h: np.stack(np.split(x, h, axis=-1), axis=2),
            "forgot to transpose",
        ),
        (
            check_layer_norm_forward,
            lambda x, g, b, eps: g * (x - x.mean(0)) / np.sqrt(x.var(0) + eps) + b,
            "BatchNorm",
        ),
    ],
)
def test_second_round_wrong_answers_get_the_right_name(check, student, words):
    result = check(student)
    assert not result.passed
    assert words in result.text, str(result)
