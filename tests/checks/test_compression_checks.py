"""Chapter 10's checks: the reference passes, and each classic mistake is rejected by name.

The wrong implementations below are written the way a learner would write them,
independently of the check's own mistake functions, so that a test fails if a
check stops recognising a mistake it claims to name.
"""

from __future__ import annotations

import numpy as np
import pytest

from dlbook.checks import compression as comp_checks
from dlbook.checks.compression import (
    check_dequantize,
    check_distillation_loss,
    check_kv_decode_step,
    check_lora_forward,
    check_magnitude_mask,
    check_merge_lora,
    check_quantize_per_channel,
)

# ---------------------------------------------------------------------------
# Correct solutions, written as the solutions notebook writes them
# ---------------------------------------------------------------------------


def quantize_per_channel(w):
    amax = np.abs(w).max(axis=0, keepdims=True)
    scale = np.where(amax > 0, amax / 127, 1.0)
    return np.clip(np.round(w / scale), -127, 127).astype(np.int8), scale


def dequantize(q, scale, zero_point=None):
    codes = q.astype(np.int32)
    if zero_point is not None:
        codes = codes - zero_point
    return (codes * scale).astype(np.float32)


def magnitude_mask(w, sparsity):
    k = round(sparsity * w.size)
    mask = np.ones(w.size, dtype=bool)
    mask[np.argsort(np.abs(w), axis=None)[:k]] = False
    return mask.reshape(w.shape)


def _log_softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def distillation_loss(student_logits, teacher_logits, labels, temperature, alpha):
    T = temperature
    log_p, log_q = _log_softmax(teacher_logits / T), _log_softmax(student_logits / T)
    kl = (np.exp(log_p) * (log_p - log_q)).sum(axis=1).mean()
    ce = -_log_softmax(student_logits)[np.arange(len(labels)), labels].mean()
    return alpha * T**2 * kl + (1 - alpha) * ce


def lora_forward(x, W, A, B, alpha, b=None):
    y = x @ W + (alpha / A.shape[1]) * (x @ A) @ B
    return y if b is None else y + b


def merge_lora(W, A, B, alpha):
    return W + (alpha / A.shape[1]) * (A @ B)


def _attend(q, K, V):
    s = np.einsum("bd,bpd->bp", q, K) / np.sqrt(q.shape[-1])
    w = np.exp(s - s.max(axis=-1, keepdims=True))
    return np.einsum("bp,bpd->bd", w / w.sum(axis=-1, keepdims=True), V)


def kv_decode_step(x_t, W_q, W_k, W_v, k_cache, v_cache):
    K = np.concatenate([k_cache, (x_t @ W_k)[:, None, :]], axis=1)
    V = np.concatenate([v_cache, (x_t @ W_v)[:, None, :]], axis=1)
    return _attend(x_t @ W_q, K, V), K, V


# name -> (check, dlbook's reference, a learner's correct solution); test_every_check.py
# runs the problems every check must explain (stub, crash, NaN, type, shape, runaway) on these.
CHECKS = {
    "quantize_per_channel": (
        check_quantize_per_channel,
        comp_checks._quantize_reference,
        quantize_per_channel,
    ),
    "dequantize": (check_dequantize, comp_checks._dequantize_reference, dequantize),
    "magnitude_mask": (check_magnitude_mask, comp_checks._mask_reference, magnitude_mask),
    "distillation_loss": (
        check_distillation_loss,
        comp_checks._distillation_reference,
        distillation_loss,
    ),
    "lora_forward": (check_lora_forward, comp_checks._lora_forward_reference, lora_forward),
    "merge_lora": (check_merge_lora, comp_checks._merge_reference, merge_lora),
    "kv_decode_step": (check_kv_decode_step, comp_checks._decode_reference, kv_decode_step),
}

# name -> (NaN output, wrong type, wrong shape), for the checks of tuples
BROKEN = {
    "quantize_per_channel": (
        lambda w: (quantize_per_channel(w)[0], quantize_per_channel(w)[1] * np.nan),
        lambda w: (quantize_per_channel(w)[0].tolist(), quantize_per_channel(w)[1]),
        lambda w: (quantize_per_channel(w)[0][None], quantize_per_channel(w)[1]),
    ),
    "kv_decode_step": (
        lambda *a: (kv_decode_step(*a)[0] * np.nan, *kv_decode_step(*a)[1:]),
        lambda *a: (kv_decode_step(*a)[0].tolist(), *kv_decode_step(*a)[1:]),
        lambda *a: (kv_decode_step(*a)[0][:, None], *kv_decode_step(*a)[1:]),
    ),
}


def test_checks_are_deterministic_and_leave_global_rng_alone():
    state = np.random.get_state()[1].copy()
    wrong = lambda w, s: magnitude_mask(w, 1 - s)  # noqa: E731
    assert str(check_magnitude_mask(wrong)) == str(check_magnitude_mask(wrong))
    assert np.array_equal(np.random.get_state()[1], state)


def test_written_out_mistake_functions_are_right_with_no_switch():
    """The mistakes flip switches of written-out versions: with none flipped, they are right."""
    rng = np.random.default_rng(0)
    for case in comp_checks._quantize_cases(rng):
        for ours, ref in zip(
            comp_checks._quantize(*case.args),
            comp_checks._quantize_reference(*case.args),
            strict=True,
        ):
            assert np.array_equal(ours, ref)
    for case in comp_checks._dequantize_cases(rng):
        expected = comp_checks._dequantize_reference(*case.args)
        assert np.allclose(comp_checks._dequantize(*case.args), expected, rtol=1e-6)
    for case in comp_checks._distillation_cases(rng):
        expected = comp_checks._distillation_reference(*case.args)
        assert comp_checks._distill(*case.args) == pytest.approx(expected, rel=1e-10)
    for case in comp_checks._lora_cases(rng):
        expected = comp_checks._lora_forward_reference(*case.args)
        assert np.allclose(comp_checks._lora(*case.args), expected, rtol=1e-10)
    for case in comp_checks._decode_cases(rng):
        for ours, ref in zip(
            comp_checks._decode(*case.args),
            comp_checks._decode_reference(*case.args),
            strict=True,
        ):
            assert np.allclose(ours, ref, rtol=1e-10)


def test_quantization_cases_have_exact_power_of_two_scales():
    """w / scale is exact, so that floor and truncation are named without a one-ulp doubt."""
    for case in comp_checks._quantize_cases(np.random.default_rng(0)):
        (w,) = case.args
        _, scale = comp_checks._quantize_reference(w)
        mantissa, _ = np.frexp(scale)
        assert np.all(mantissa == 0.5)
        amax = np.abs(w).max(axis=0, keepdims=True)
        for other in (w * 127 / np.where(amax > 0, amax, 1), w * (1 / scale)):
            assert np.array_equal(np.floor(other), np.floor(w / scale))  # no 1-ulp surprises


def test_mask_cases_remove_a_whole_number_of_weights_overall_and_per_row():
    """Except the stress case, which tests a sparsity * N that is not whole on purpose."""
    cases = comp_checks._mask_cases(np.random.default_rng(0))
    for case in cases:
        w, s = case.args
        whole = float(s * w.size).is_integer() and float(s * w.shape[-1]).is_integer()
        assert whole != case.stress
    assert any(case.stress for case in cases)


# ---------------------------------------------------------------------------
# 1a. quantize_per_channel
# ---------------------------------------------------------------------------


def _learner_quantize(*, reduce=lambda a: a.max(axis=0, keepdims=True), by=127, rnd=np.round,
                      clip=(-127, 127), dtype=np.int8, scale_of=lambda s: s):  # fmt: skip
    """A learner's per-channel quantiser with one slip."""

    def fn(w):
        amax = reduce(np.abs(w))
        scale = np.where(amax > 0, amax / by, 1.0)
        q = rnd(w / scale)
        if clip is not None:
            q = np.clip(q, *clip)
        return q.astype(dtype), scale_of(scale)

    return fn


def _learner_asymmetric(w):
    lo, hi = w.min(axis=0, keepdims=True), w.max(axis=0, keepdims=True)
    scale = (hi - lo) / 255
    zero_point = np.round(-lo / scale)
    return np.clip(np.round(w / scale) + zero_point, 0, 255).astype(np.uint8), scale


def _with_zero_point(w):
    q, scale = _learner_asymmetric(w)
    return q, scale, np.round(-w.min(axis=0, keepdims=True) / scale)


def _zero_scale(w):
    scale = np.abs(w).max(axis=0, keepdims=True) / 127
    return np.clip(np.round(w / scale), -127, 127).astype(np.int8), scale


def _epsilon_scale(w):
    scale = np.maximum(np.abs(w).max(axis=0, keepdims=True), 1e-8) / 127
    return np.clip(np.round(w / scale), -127, 127).astype(np.int8), scale


@pytest.mark.parametrize(
    "student, words",
    [
        (_learner_quantize(reduce=lambda a: a.max()), "one scale for the whole tensor"),
        (_learner_quantize(reduce=lambda a: a.max(axis=1, keepdims=True)), "one scale per row"),
        (_learner_quantize(by=128, clip=(-128, 127)), "by 128 instead of 127"),
        (_learner_quantize(by=128), "by 128 instead of 127"),
        (_learner_quantize(by=128, clip=None), "did not clip"),
        (_learner_quantize(rnd=np.floor), "rounded down"),
        (_learner_quantize(rnd=lambda a: a), "truncated towards zero"),
        (_learner_quantize(dtype=float), "dtype float64"),
        (_learner_quantize(dtype=np.int64), "dtype int64"),
        (_learner_quantize(dtype=np.uint8), "uint8"),
        (_learner_quantize(scale_of=lambda s: 1 / s), "inverted"),
        (_learner_quantize(scale_of=lambda s: 127 * s), "max |w| itself"),
        (_learner_quantize(scale_of=lambda s: s[0]), "keepdims"),
        (_learner_asymmetric, "asymmetric"),
        (_with_zero_point, "zero point as well"),
        (_zero_scale, "all-zero"),
        (_epsilon_scale, "all-zero channel is 7.874e-11"),
    ],
)
def test_quantize_per_channel_mistakes(student, words):
    result = check_quantize_per_channel(student)
    assert not result.passed
    assert words in result.text, str(result)


def test_float_codes_are_refused_with_a_reason():
    result = check_quantize_per_channel(_learner_quantize(dtype=np.float32))
    assert "codes are right" in result.message and "astype(np.int8)" in result.hint


# ---------------------------------------------------------------------------
# 1b. dequantize
# ---------------------------------------------------------------------------


def _learner_dequantize(how):
    def fn(q, scale, zero_point=None):
        zp = 0 if zero_point is None else zero_point
        return {
            "divide": lambda: (q.astype(np.int32) - zp) / scale,
            "add": lambda: (q.astype(np.int32) + zp) * scale,
            "after": lambda: q * scale - zp,
            "ignore": lambda: q * scale,
            "wrap": lambda: (q - zp) * scale,
            "127": lambda: (q.astype(np.int32) - zp) * scale / 127,
        }[how]()

    return fn


@pytest.mark.parametrize(
    "student, words",
    [
        (_learner_dequantize("divide"), "divided by the scale"),
        (_learner_dequantize("add"), "added the zero point"),
        (_learner_dequantize("after"), "after scaling"),
        (_learner_dequantize("ignore"), "ignored the zero point"),
        (_learner_dequantize("wrap"), "wrapped around"),
        (_learner_dequantize("127"), "127 once more"),
    ],
)
def test_dequantize_mistakes(student, words):
    result = check_dequantize(student)
    assert not result.passed
    assert words in result.text, str(result)


def test_dequantize_without_a_default_zero_point_is_explained():
    result = check_dequantize(lambda q, scale, zero_point=None: (q - zero_point) * scale)
    assert "raised TypeError" in result.message and "None" in result.hint


def test_dequantize_accepts_float64():
    assert check_dequantize(lambda *a: dequantize(*a).astype(np.float64)).passed


# ---------------------------------------------------------------------------
# 2. magnitude_mask
# ---------------------------------------------------------------------------


def _signed(w, s):
    k = round(s * w.size)
    return w > np.sort(w, axis=None)[k - 1]


def _greater_equal(w, s):
    k = round(s * w.size)
    return np.abs(w) >= np.sort(np.abs(w), axis=None)[k - 1]


@pytest.mark.parametrize(
    "student, words",
    [
        (_signed, "signed value"),
        (lambda w, s: np.abs(w) <= np.quantile(np.abs(w), s), "keeps the smallest"),
        (lambda w, s: np.abs(w) < np.quantile(np.abs(w), 1 - s), "keeps the smallest"),
        (lambda w, s: np.abs(w) > np.quantile(np.abs(w), 1 - s), "fraction kept"),
        (
            lambda w, s: np.abs(w) > np.quantile(np.abs(w), s, axis=-1, keepdims=True),
            "each row",
        ),
        (lambda w, s: np.abs(w) > np.quantile(np.abs(w), s, axis=0), "each column"),
        (_greater_equal, "one weight too few"),
        (lambda w, s: w * magnitude_mask(w, s), "pruned weights"),
        (lambda w, s: magnitude_mask(w, s).astype(float), "dtype float64, not bool"),
        (lambda w, s: magnitude_mask(w, s).ravel(), "shape"),
    ],
)
def test_magnitude_mask_mistakes(student, words):
    result = check_magnitude_mask(student)
    assert not result.passed
    assert words in result.text, str(result)


def test_a_quantile_threshold_is_accepted():
    assert check_magnitude_mask(lambda w, s: np.abs(w) > np.quantile(np.abs(w), s)).passed


# ---------------------------------------------------------------------------
# 3. distillation_loss
# ---------------------------------------------------------------------------


def _learner_distill(*, t2=True, swap=False, student_T=True, batch=np.mean, classes=np.sum,
                     alpha_soft=True, soft_ce=False, hard_T=False, batch_ce=np.mean):  # fmt: skip
    """A learner's distillation loss with one slip."""

    def fn(s, t, y, T, alpha):
        log_p, log_q = _log_softmax(t / T), _log_softmax(s / T if student_T else s)
        if swap:
            log_p, log_q = log_q, log_p
        per_class = -np.exp(log_p) * log_q if soft_ce else np.exp(log_p) * (log_p - log_q)
        if classes is np.mean:
            soft = per_class.mean()
        else:
            soft = batch(per_class.sum(axis=1))
        soft = soft * (T**2 if t2 else 1)
        hard = batch_ce(-_log_softmax(s / T if hard_T else s)[np.arange(len(y)), y])
        a = alpha if alpha_soft else 1 - alpha
        return a * soft + (1 - a) * hard

    return fn


def _naive_distillation(s, t, y, T, alpha):
    def softmax(z):
        return np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)

    p, q = softmax(t / T), softmax(s / T)
    kl = (p * np.log(p / q)).sum(axis=1).mean()
    return alpha * T**2 * kl - (1 - alpha) * np.log(softmax(s)[np.arange(len(y)), y]).mean()


@pytest.mark.parametrize(
    "student, words",
    [
        (_learner_distill(t2=False), "forgot the factor T²"),
        (_learner_distill(swap=True), "wrong way"),
        (_learner_distill(student_T=False), "softened only the teacher"),
        (_learner_distill(batch=np.sum), "summed the soft term over the batch"),
        (_learner_distill(batch=np.sum, batch_ce=np.sum), "summed over the batch"),
        (_learner_distill(classes=np.mean), "reduction='mean'"),
        (_learner_distill(alpha_soft=False), "alpha weights the wrong term"),
        (_learner_distill(soft_ce=True), "soft cross-entropy"),
        (_learner_distill(hard_T=True), "hard-label term too"),
        (_naive_distillation, "NaN"),
    ],
)
def test_distillation_loss_mistakes(student, words):
    result = check_distillation_loss(student)
    assert not result.passed
    assert words in result.text, str(result)


def test_naive_softmax_gets_the_log_softmax_hint():
    result = check_distillation_loss(_naive_distillation)
    assert "thousands" in result.message and "log-softmax" in result.hint


def test_distillation_reference_follows_torch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    for case in comp_checks._distillation_cases(np.random.default_rng(0)):
        s, t, y, T, alpha = case.args
        s_, t_ = torch.tensor(s), torch.tensor(t)
        log_q, log_p = F.log_softmax(s_ / T, dim=1), F.log_softmax(t_ / T, dim=1)
        soft = F.kl_div(log_q, log_p, reduction="batchmean", log_target=True)
        hard = F.cross_entropy(s_, torch.tensor(y))
        expected = float(alpha * T**2 * soft + (1 - alpha) * hard)
        assert comp_checks._distillation_reference(*case.args) == pytest.approx(expected, rel=1e-9)


# ---------------------------------------------------------------------------
# 4. lora_forward and merge_lora
# ---------------------------------------------------------------------------


def _learner_lora(update, *, base=True, bias=True):
    """A learner's LoRA layer whose update is ``update(A, B, alpha) -> (D_in, D_out)``."""

    def fn(x, W, A, B, alpha, b=None):
        y = x @ update(A, B, alpha)
        if base:
            y = y + x @ W
        return y + b if (b is not None and bias) else y

    return fn


_UPDATES = [
    (lambda A, B, alpha: A @ B, "forgot the scaling alpha / r"),
    (lambda A, B, alpha: alpha * (A @ B), "alpha instead of alpha / r"),
    (lambda A, B, alpha: alpha / A.shape[0] * (A @ B), "rank from the wrong axis"),
    (lambda A, B, alpha: alpha / B.shape[1] * (A @ B), "rank from the wrong axis"),
    (lambda A, B, alpha: alpha / A.shape[1] * (B @ A), "wrong order, B A"),
    (lambda A, B, alpha: alpha / A.shape[1] * (A @ B).T, "transposed, (A B)ᵀ"),
    (lambda A, B, alpha: alpha / A.shape[1] * (A.T @ B.T), "PyTorch's layout"),
]


@pytest.mark.parametrize(
    "student, words",
    [
        *[(_learner_lora(update), words) for update, words in _UPDATES],
        (_learner_lora(lambda A, B, alpha: alpha / A.shape[1] * A @ B, base=False), "only the"),
        (_learner_lora(lambda A, B, alpha: alpha / A.shape[1] * A @ B, bias=False), "bias b"),
    ],
)
def test_lora_forward_mistakes(student, words):
    result = check_lora_forward(student)
    assert not result.passed
    assert words in result.text, str(result)


def test_a_shape_error_gets_the_layout_hint():
    result = check_lora_forward(lambda x, W, A, B, alpha, b=None: x @ A[:-1])
    assert "raised ValueError" in result.message and "A is (D_in, r)" in result.hint


def test_lora_forward_with_a_missing_none_check_is_explained():
    student = lambda x, W, A, B, alpha, b=None: lora_forward(x, W, A, B, alpha) + b  # noqa: E731
    result = check_lora_forward(student)
    assert "raised TypeError" in result.message and "b may be None" in result.hint


def _merge_in_place(W, A, B, alpha):
    W += alpha / A.shape[1] * A @ B
    return W


@pytest.mark.parametrize(
    "student, words",
    [
        *[
            (lambda W, A, B, alpha, _u=update: W + _u(A, B, alpha), words)
            for update, words in _UPDATES
        ],
        (lambda W, A, B, alpha: alpha / A.shape[1] * A @ B, "only the update"),
        (_merge_in_place, "changed its input `W` in place"),
    ],
)
def test_merge_lora_mistakes(student, words):
    result = check_merge_lora(student)
    assert not result.passed
    assert words in result.text, str(result)


def test_merging_in_place_says_why_it_matters():
    assert "unmerge" in check_merge_lora(_merge_in_place).hint


def test_merged_weights_give_the_forward_pass():
    for case in comp_checks._lora_cases(np.random.default_rng(0)):
        x, W, A, B, alpha, b = case.args
        merged = comp_checks._merge_reference(W, A, B, alpha)
        expected = comp_checks._lora_forward_reference(*case.args)
        assert np.allclose(x @ merged + (0 if b is None else b), expected, rtol=1e-10)


# ---------------------------------------------------------------------------
# 5. kv_decode_step
# ---------------------------------------------------------------------------


def _learner_decode(*, before=False, scale=None, key_with_q=False, old=False, prepend=False,
                    axis=-1):  # fmt: skip
    """A learner's decoding step with one slip."""

    def fn(x_t, W_q, W_k, W_v, k_cache, v_cache):
        q = x_t @ W_q
        k, v = x_t @ (W_q if key_with_q else W_k), x_t @ W_v
        parts = lambda cache, new: [new[:, None], cache] if prepend else [cache, new[:, None]]  # noqa: E731
        K = np.concatenate(parts(k_cache, k), axis=1)
        V = np.concatenate(parts(v_cache, v), axis=1)
        Ka, Va = (k_cache, v_cache) if before else (K, V)
        s = np.einsum("bd,bpd->bp", q, Ka)
        s = s / (np.sqrt(q.shape[-1]) if scale is None else scale(x_t, q))
        w = np.exp(s - s.max(axis=axis, keepdims=True))
        out = np.einsum("bp,bpd->bd", w / w.sum(axis=axis, keepdims=True), Va)
        return (out, k_cache, v_cache) if old else (out, K, V)

    return fn


@pytest.mark.parametrize(
    "student, words",
    [
        (_learner_decode(before=True), "attended before appending"),
        (_learner_decode(scale=lambda x, q: 1.0), "1/√D"),
        (_learner_decode(scale=lambda x, q: np.sqrt(x.shape[-1])), "1/√C"),
        (_learner_decode(key_with_q=True), "with W_q instead of W_k"),
        (_learner_decode(old=True), "`k_cache` is the old cache"),
        (_learner_decode(prepend=True), "prepended"),
        (_learner_decode(axis=0), "over the batch"),
    ],
)
def test_kv_decode_step_mistakes(student, words):
    result = check_kv_decode_step(student)
    assert not result.passed
    assert words in result.text, str(result)


def test_kv_decode_step_equals_attention_over_the_whole_prefix():
    """Decoding token by token from an empty cache gives causal attention's last rows."""
    rng = np.random.default_rng(1)
    B, T, C, D = 2, 5, 6, 4
    x = rng.normal(size=(B, T, C))
    W_q, W_k, W_v = (rng.normal(size=(C, D)) for _ in range(3))
    K, V = np.zeros((B, 0, D)), np.zeros((B, 0, D))
    for t in range(T):
        out, K, V = comp_checks._decode_reference(x[:, t], W_q, W_k, W_v, K, V)
        expected = _attend(x[:, t] @ W_q, x[:, : t + 1] @ W_k, x[:, : t + 1] @ W_v)
        assert np.allclose(out, expected, rtol=1e-10)


# ---------------------------------------------------------------------------
# Second round: more wrong answers, and unusual answers that are right
# ---------------------------------------------------------------------------


def _signed_max_quantize(w):
    amax = w.max(axis=0, keepdims=True)  # forgot np.abs
    scale = np.where(amax > 0, amax / 127, 1.0)
    return np.clip(np.round(w / scale), -127, 127).astype(np.int8), scale


def _distill_T_not_T2(s, t, y, T, alpha):
    log_p, log_q = _log_softmax(t / T), _log_softmax(s / T)
    soft = (np.exp(log_p) * (log_p - log_q)).sum(axis=1).mean() * T
    return alpha * soft + (1 - alpha) * -_log_softmax(s)[np.arange(len(y)), y].mean()


def _distill_column_index(s, t, y, T, alpha):
    log_p, log_q = _log_softmax(t / T), _log_softmax(s / T)
    soft = (np.exp(log_p) * (log_p - log_q)).sum(axis=1).mean() * T**2
    return alpha * soft + (1 - alpha) * -_log_softmax(s)[:, y].mean()


def _decode_divided_by_D(x_t, W_q, W_k, W_v, k_cache, v_cache):
    q = x_t @ W_q
    K = np.concatenate([k_cache, (x_t @ W_k)[:, None]], axis=1)
    V = np.concatenate([v_cache, (x_t @ W_v)[:, None]], axis=1)
    s = np.einsum("bd,bpd->bp", q, K) / q.shape[-1]
    w = np.exp(s - s.max(axis=-1, keepdims=True))
    return np.einsum("bp,bpd->bd", w / w.sum(axis=-1, keepdims=True), V), K, V


@pytest.mark.parametrize(
    "check, student, words",
    [
        (check_quantize_per_channel, _signed_max_quantize, "largest signed weight"),
        (check_distillation_loss, _distill_T_not_T2, "by T instead of T²"),
        (check_distillation_loss, _distill_column_index, "(B, B) block"),
        (check_kv_decode_step, _decode_divided_by_D, "divided the scores by D"),
    ],
)
def test_second_round_mistakes_are_named(check, student, words):
    result = check(student)
    assert not result.passed
    assert words in result.text, str(result)


def _quantize_by_multiplying(w):
    amax = np.abs(w).max(axis=0, keepdims=True)
    amax = np.where(amax > 0, amax, 127.0)
    return np.clip(np.round(w * (127 / amax)), -127, 127).astype(np.int8), amax / 127


def _quantize_float32(w):
    q, scale = quantize_per_channel(w.astype(np.float32))
    return q, scale


def _mask_argpartition(w, sparsity):
    k = round(sparsity * w.size)
    mask = np.ones(w.size, dtype=bool)
    mask[np.argpartition(np.abs(w), k, axis=None)[:k]] = False
    return mask.reshape(w.shape)


def _distill_scipy(s, t, y, T, alpha):
    from scipy.special import log_softmax

    log_p, log_q = log_softmax(t / T, axis=1), log_softmax(s / T, axis=1)
    soft = np.sum(np.exp(log_p) * (log_p - log_q), axis=1).mean()
    hard = -np.take_along_axis(log_softmax(s, axis=1), y[:, None], axis=1).mean()
    return np.float64(alpha * T**2 * soft + (1 - alpha) * hard)


def _lora_merged_first(x, W, A, B, alpha, b=None):
    y = x @ (W + alpha / B.shape[0] * np.einsum("ir,ro->io", A, B))
    return y if b is None else y + b


def _merge_on_a_copy(W, A, B, alpha):
    merged = W.copy()
    merged += alpha / A.shape[1] * (A @ B)
    return merged


def _decode_with_append(x_t, W_q, W_k, W_v, k_cache, v_cache):
    K = np.append(k_cache, (x_t @ W_k)[:, None, :], axis=1)
    V = np.append(v_cache, (x_t @ W_v)[:, None, :], axis=1)
    q = (x_t @ W_q).astype(np.float32)
    s = (q[:, None, :] @ K.transpose(0, 2, 1).astype(np.float32))[:, 0] / np.sqrt(q.shape[-1])
    w = np.exp(s) / np.exp(s).sum(axis=-1, keepdims=True)
    return [(w[:, None, :] @ V)[:, 0], K, V]


@pytest.mark.parametrize(
    "check, student",
    [
        (check_quantize_per_channel, _quantize_by_multiplying),
        (check_quantize_per_channel, _quantize_float32),
        (check_quantize_per_channel, lambda w: list(quantize_per_channel(w))),
        (check_dequantize, lambda q, s, z=None: (q.astype(np.int16) - (0 if z is None else z)) * s),
        (check_dequantize, lambda q, s, z=None: dequantize(q, s, z).astype(np.float32)),
        (check_magnitude_mask, _mask_argpartition),
        (check_magnitude_mask, lambda w, s: np.abs(w) > np.percentile(np.abs(w), 100 * s)),
        (check_distillation_loss, _distill_scipy),
        (check_distillation_loss, lambda *a: np.float32(distillation_loss(*a))),
        (check_lora_forward, _lora_merged_first),
        (check_merge_lora, _merge_on_a_copy),
        (check_kv_decode_step, _decode_with_append),
    ],
)
def test_unusual_but_right_answers_pass(check, student):
    result = check(student)
    assert result.passed, str(result)
