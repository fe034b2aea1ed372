"""Checks for the exercises of chapter 10 (making large models small and fast).

Each check compares a learner's function with dlbook's own implementation and
recognises the classic mistakes by name::

    from dlbook.checks.compression import check_quantize_per_channel
    check_quantize_per_channel(quantize_per_channel)   # PASS ✅ quantize_per_channel: ...

The references are :mod:`dlbook.quantization.numpy_backend` (symmetric per-channel
int8 codes and their scale, dequantisation), :func:`dlbook.pruning.numpy_backend.magnitude_mask`,
:func:`dlbook.distillation.numpy_backend.distillation_loss`,
:mod:`dlbook.lora.numpy_backend` (the LoRA forward pass and the merge) and
:func:`dlbook.serving.numpy_backend.kv_decode_step` (one decoding step with a KV cache).

Two checks refuse outputs whose values are right but whose type is not: integer
codes must be stored as int8 (a float64 "code" takes 8 bytes, twice the float32
weight it replaces), and a pruning mask must be boolean (True = kept).

The quantisation cases use per-channel scales that are powers of two, so that
w / scale is exact however a learner writes it, and floor or truncation are named
without a one-ulp disagreement at the largest weight.

Shape legend: N = rows of a batch, D_in, D_out = features in and out of a weight
W (D_in, D_out), r = LoRA rank, B = batch, K = classes, C = model width, D = head
width, P = cached positions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from dlbook.checks._core import Case, CheckResult, FunctionCheck, fail, isclose
from dlbook.checks._kinds import TypedCheck, slip_mistakes, stressed
from dlbook.distillation import numpy_backend as distill_np
from dlbook.lora import numpy_backend as lora_np
from dlbook.nn.numpy_backend import log_softmax, softmax
from dlbook.pruning import numpy_backend as prune_np
from dlbook.quantization import numpy_backend as quant_np
from dlbook.serving import numpy_backend as serving_np

# ---------------------------------------------------------------------------
# 1a. quantize_per_channel(w (D_in, D_out)) -> (q int8 (D_in, D_out), scale (1, D_out))
# ---------------------------------------------------------------------------


@dataclass
class CodesCheck(FunctionCheck):
    """A :class:`FunctionCheck` of ``(q, scale)`` whose codes ``q`` must be int8.

    Values are judged first, so a wrong code is named before a wrong dtype, as in
    :class:`~dlbook.checks.attention.TypedCheck`. A third output (a zero point) is
    named as the asymmetric scheme, and a scale that differs only on an all-zero
    channel is explained.
    """

    def _split_outputs(self, value: Any, where: str) -> tuple[Any, ...] | CheckResult:
        if isinstance(value, (tuple, list)) and len(value) == 3:
            return fail(
                self.name,
                f"your function returns 3 values: a zero point as well? Symmetric quantisation "
                f"has none (zero is code 0), so return only (q, scale) {where}.",
                _QUANT_HINT,
            )
        return super()._split_outputs(value, where)

    def _output_failure(
        self, got: Any, expected: np.ndarray, k: int, case: Case, where: str
    ) -> CheckResult | None:
        if k == 1 and isinstance(got, np.ndarray) and got.shape == expected.shape:
            with np.errstate(all="ignore"):
                bad = ~isclose(got, expected, rtol=self.rtol, atol=self.atol)
            zero = ~np.any(case.args[0] != 0, axis=0, keepdims=True)  # (1, D_out)
            if bad.any() and np.all(zero[bad]):  # the scale differs on all-zero channels only
                return fail(
                    self.name,
                    f"your scale of the all-zero channel is {got[bad][0]:.4g}; "
                    f"dlbook gives such a channel scale 1.0 {where}.",
                    "Any scale stores zeros exactly; 1.0 avoids 0/0 without an arbitrary "
                    "epsilon: scale = np.where(amax > 0, amax / 127, 1.0).",
                )
        problem = super()._output_failure(got, expected, k, case, where)
        if problem is not None or k != 0 or np.asarray(got).dtype == np.int8:
            return problem
        dtype = np.asarray(got).dtype
        message = (
            f"your codes are right but q has dtype {dtype}, {dtype.itemsize} bytes per "
            f"weight: stored as int8 they take 1 byte, 4 times less than float32"
            if np.issubdtype(dtype, np.integer)
            else f"your codes are right but q has dtype {dtype}: rounded floats still take "
            f"{dtype.itemsize} bytes each, so nothing is saved until they are stored as int8"
        )
        return fail(self.name, f"{message} {where}.", "End with q.astype(np.int8).")


_quantize_reference = quant_np.quantize_per_channel  # (q, scale (1, D_out)), one per column


def _quantize(w, *, slip=None):
    """Per-channel quantisation written out; ``slip`` names one classic mistake (None: right)."""
    if slip == "affine_textbook":  # scale = (max - min) / 255, uint8 shifted by a zero point
        lo, hi = w.min(axis=0, keepdims=True), w.max(axis=0, keepdims=True)  # (1, D_out)
        scale = (hi - lo) / 255
        codes = np.round(w / scale) + np.round(-lo / scale)
        return np.clip(codes, 0, 255).astype(np.uint8), scale
    if slip in ("affine", "affine_int8"):  # dlbook's uint8 scheme, or it shifted into int8
        q, scale, _ = quant_np.quantize_asymmetric(w, axis=-1)
        return ((q.astype(np.int16) - 128).astype(np.int8) if slip == "affine_int8" else q), scale
    over = {"tensor": None, "rows": 1}.get(slip, 0)  # the axis of the max: 0, per output column
    divisor = 128.0 if slip in ("128", "128_unclipped", "128_int8") else 127.0
    clip = {"128_unclipped": (-np.inf, np.inf), "128_int8": (-128, 127)}.get(slip, (-127, 127))
    rounding = {"floor": np.floor, "trunc": np.trunc}.get(slip, np.round)
    amax = (w if slip == "signed" else np.abs(w)).max(axis=over, keepdims=True)  # (1, D_out)
    scale = np.where(amax > 0, amax / divisor, 0.0 if slip == "zero_scale" else 1.0)
    with np.errstate(all="ignore"):
        q = np.clip(rounding(w / scale), *clip).astype(np.int8)  # (D_in, D_out)
        step = {"inverted": 1.0 / scale, "amax": 127.0 * scale}.get(slip, scale)
    return (q.astype(np.uint8) if slip == "uint8" else q), step


def _quantize_cases(rng: np.random.Generator) -> list[Case]:
    def case(D_in: int, exponents: list[int], label: str, zero_column: int | None = None) -> Case:
        """(D_in, D_out) weights whose column j has ``max |w|`` = 127 * 2**exponents[j]."""
        D_out = len(exponents)
        u = rng.uniform(-126.0, 126.0, size=(D_in, D_out))  # codes-to-be, none at ±.5 exactly
        rows = rng.integers(0, D_in, size=D_out)  # one row per column holds its extreme value
        u[rows, np.arange(D_out)] = 127.0 * rng.choice([-1.0, 1.0], size=D_out)
        w = u * 2.0 ** np.array(exponents, dtype=float)  # (D_in, D_out), exact scaling
        if zero_column is not None:
            w[:, zero_column] = 0.0
        return Case((w,), label=label)

    cases = [
        case(6, [-7, -4, -9, -5], "a (6, 4) weight whose columns differ in size"),
        case(3, [-3, -8, -6, -5, -2], "a (3, 5) weight, fewer rows than columns"),
        case(5, [-6, -5, -8], "a (5, 3) weight whose column 1 is all zeros (a pruned neuron)", 1),
    ]
    return stressed(cases, 2)


_QUANT_HINT = (
    "scale = np.abs(w).max(axis=0, keepdims=True) / 127 (1.0 where that is 0), then "
    "q = np.clip(np.round(w / scale), -127, 127).astype(np.int8)."
)

_QUANT_SLIPS = {  # slip -> what the learner is told
    "tensor": "you used one scale for the whole tensor: the small columns then use only a few "
    "of the 255 codes (per-tensor quantisation). Each output column gets its own "
    "scale, its own max |w| / 127.",
    "rows": "you took one scale per row (max over axis 1): the book stores W as (in, out), so "
    "an output channel is a column, and its max runs over axis 0.",
    "128_unclipped": "you divided by 128 instead of 127 and did not clip: the largest |w| of each "
    "column maps to ±128, and +128 does not fit in int8: it wraps around to −128, "
    "flipping the sign of the largest weight. The symmetric grid is −127..127: divide "
    "by 127, and clip.",
    "signed": "you took the largest signed weight, w.max(axis=0), not the largest magnitude: "
    "a column whose extreme weight is negative gets too small a scale. Use np.abs(w).max.",
    **dict.fromkeys(
        ("128", "128_int8"),
        "you divided by 128 instead of 127: int8 reaches −128 but not +128, so the "
        "symmetric grid is −127..127 and max |w| must land on code 127.",
    ),
    "floor": "you rounded down (np.floor) instead of to the nearest integer: every weight "
    "moves down by up to a whole step, a bias, and the error bound |w − q·scale| "
    "≤ scale/2 no longer holds.",
    "trunc": "you truncated towards zero (astype(np.int8) or np.trunc without np.round): "
    "every weight shrinks towards zero by up to a whole step. Round to the nearest "
    "integer first.",
    **dict.fromkeys(
        ("affine", "affine_int8", "affine_textbook"),
        "you used an asymmetric scheme with a zero point (scale = (max − min) / 255, "
        "codes shifted by the zero point): valid for activations, but this exercise asks "
        "for symmetric codes, where zero is code 0 and no zero point is needed.",
    ),
    "zero_scale": "an all-zero column got scale 0, so w / scale is 0/0 = NaN there and its codes "
    "are garbage after the cast. Give such a channel scale 1.0 (any scale stores "
    "zeros exactly).",
    "uint8": "you cast the codes to uint8: negative codes wrap around (−1 becomes 255). "
    "Symmetric codes are signed: int8.",
    "inverted": "your scale is inverted, 127 / max |w|: the scale is the size of one step, so "
    "that w ≈ q · scale; q = w / scale.",
    "amax": "you returned max |w| itself as the scale: the scale is max |w| / 127, the size "
    "of one step, so that w ≈ q · scale.",
}

QUANTIZE_PER_CHANNEL = CodesCheck(
    name="quantize_per_channel",
    reference=_quantize_reference,
    make_cases=_quantize_cases,
    output_names=("q", "scale"),
    task="Return (q, scale): scale (1, D_out) = max |w| of each column / 127 (1.0 for an "
    "all-zero column), q = clip(round(w / scale), -127, 127) as int8.",
    nan_hint="A column of zeros has max |w| = 0, so w / scale is 0/0 there: give it scale 1.0.",
    mistakes=slip_mistakes(
        _quantize,
        _QUANT_SLIPS,
        _QUANT_HINT,
        hints={"zero_scale": "scale = np.where(amax > 0, amax / 127, 1.0)."},
        outputs=2,
        only={"uint8": 0, "inverted": 1, "amax": 1},  # these slips spoil only that output
    ),
)


check_quantize_per_channel = QUANTIZE_PER_CHANNEL.checker(
    "Check ``fn(w (D_in, D_out)) -> (q int8, scale (1, D_out))``: symmetric per-channel int8."
)

# ---------------------------------------------------------------------------
# 1b. dequantize(q, scale, zero_point=None) -> (q - zero_point) * scale, floats
# ---------------------------------------------------------------------------


_dequantize_reference = quant_np.dequantize  # (q - zero_point) * scale, float32, codes widened


def _dequantize(q, scale, zero_point=None, *, slip="right"):
    """Dequantisation written out, and the classic ways to get it wrong."""
    zp = 0 if zero_point is None else zero_point
    wide = q.astype(np.int64) - np.asarray(zp, dtype=np.int64)  # no wrap-around
    return {
        "right": lambda: wide * scale,
        "divide": lambda: wide / scale,
        "add_zp": lambda: (q.astype(np.int64) + np.asarray(zp, dtype=np.int64)) * scale,
        "zp_after": lambda: q * scale - zp,
        "no_zp": lambda: q * scale,
        "wrap": lambda: (q - zp) * scale,  # in the codes' own dtype, which wraps around
        "by_127": lambda: wide * scale / 127.0,
    }[slip]()


def _dequantize_cases(rng: np.random.Generator) -> list[Case]:
    def skewed(D_in: int, D_out: int, low: float, high: float) -> np.ndarray:
        """(D_in, D_out) values in [low, high] with both ends reached in every column."""
        w = rng.uniform(low, high, size=(D_in, D_out))
        w[0], w[1] = low, high  # so that every column has a nonzero zero point
        return rng.permuted(w, axis=0)

    w1 = rng.normal(size=(5, 4)) * np.array([0.02, 0.5, 0.1, 1.0])  # (5, 4)
    q3, scale3, zp3 = quant_np.quantize_asymmetric(skewed(3, 6, -0.17, 3.0), axis=-1)
    cases = [
        Case(quant_np.quantize_per_channel(w1), label="symmetric int8 codes (no zero point)"),
        Case(
            quant_np.quantize_asymmetric(skewed(4, 3, -0.3, 1.0), axis=-1),
            label="asymmetric uint8 codes with an int32 zero point per column",
        ),
        Case(
            (q3, scale3, zp3.astype(np.uint8)),
            label="GELU-like activations as uint8 codes with a uint8 zero point (ONNX's way)",
        ),
    ]
    return stressed(cases, 2)


_DEQUANT_HINT = (
    "Widen the codes first, then subtract and scale: "
    "(q.astype(np.int32) - zero_point) * scale, with zero_point = 0 when it is None."
)

_DEQUANT_SLIPS = {  # slip -> what the learner is told
    "divide": "you divided by the scale: quantising divides (q = w / scale), so dequantising "
    "multiplies, w ≈ q · scale.",
    "add_zp": "you added the zero point: the zero point is the code of 0.0, so it is "
    "subtracted, w ≈ (q − zero_point) · scale.",
    "zp_after": "you subtracted the zero point after scaling, q · scale − zero_point: the zero "
    "point is in codes, not in the units of w, so subtract it before scaling.",
    "no_zp": "you ignored the zero point: asymmetric codes are shifted by it, "
    "w ≈ (q − zero_point) · scale.",
    "wrap": "your q − zero_point wrapped around: both are uint8, and in uint8 arithmetic "
    "3 − 120 is 139, not −117. Widen the codes before subtracting.",
    "by_127": "you divided by 127 once more: the scale already is max |w| / 127, the size of "
    "one step, so w ≈ q · scale.",
}

DEQUANTIZE = FunctionCheck(
    name="dequantize",
    reference=_dequantize_reference,
    make_cases=_dequantize_cases,
    task="Return (q - zero_point) * scale as floats (zero_point = 0 when it is None), "
    "with the integer codes widened before subtracting.",
    error_hint="zero_point may be None (symmetric codes): subtract it only when it is given.",
    mistakes=slip_mistakes(_dequantize, _DEQUANT_SLIPS, _DEQUANT_HINT),
)


check_dequantize = DEQUANTIZE.checker(
    "Check ``fn(q, scale, zero_point=None) -> (q - zero_point) * scale`` (floats)."
)

# ---------------------------------------------------------------------------
# 2. magnitude_mask(w, sparsity) -> bool mask, True = kept
# ---------------------------------------------------------------------------
#
# The exercise returns the mask rather than the pruned weights: fine-tuning a
# pruned network re-applies the same mask after every step. Every case but the
# stress case has an integer sparsity * size (and sparsity * row length), so that
# a threshold from np.quantile removes the same k weights; the stress case has 7.5.


_mask_reference = prune_np.magnitude_mask  # False on the round(sparsity * w.size) smallest |w|


def _mask(w, s, *, slip=None):
    """The mask of sparsity ``s`` and its classic wrong versions (``slip``; None: right)."""
    if slip in ("rows", "columns"):  # each row (column) on its own
        return np.apply_along_axis(_mask_reference, -1 if slip == "rows" else 0, w, s)
    if slip in ("signed", "int", "one_few", "one_many"):  # the wrong ranking, or count
        k = round(s * w.size)  # how many weights go
        k = {"int": int(s * w.size), "one_few": k - 1, "one_many": k + 1}.get(slip, k)
        order = np.argsort(w if slip == "signed" else np.abs(w), axis=None, kind="stable")
        keep = np.ones(w.size, dtype=bool)
        keep[order[:k]] = False  # the k lowest go, over the whole array
        return keep.reshape(w.shape)
    keep = _mask_reference(w, 1.0 - s if slip in ("flipped", "kept") else s)
    return {"inverted": ~keep, "flipped": ~keep, "pruned": w * keep}.get(slip, keep)


def _mask_cases(rng: np.random.Generator) -> list[Case]:
    def scaled(shape: tuple[int, ...], row_scales: np.ndarray) -> np.ndarray:
        """Weights whose rows differ in size, so that pruning per row is visibly wrong."""
        return rng.normal(size=shape) * row_scales.reshape(-1, *([1] * (len(shape) - 1)))

    return [
        Case(
            (scaled((8, 4), np.array([0.1, 1, 0.3, 2, 0.05, 1, 0.5, 3])), 0.75),
            label="an (8, 4) weight with rows of different sizes, 75% sparsity",
        ),
        Case(
            (scaled((4, 8), np.array([1.0, 0.2, 0.5, 2.0])), 0.25),
            label="a (4, 8) weight, 25% sparsity",
        ),
        Case(
            (scaled((3, 5, 4), np.array([0.5, 1.0, 2.0])), 0.5),
            label="a (3, 5, 4) tensor (a convolution's kernels), 50% sparsity",
        ),
        Case(
            (scaled((5, 5), np.array([0.3, 1.0, 0.2, 2.0, 0.7])), 0.3),
            label="25 weights at 30% sparsity: 7.5 weights, not a whole number",
            stress=True,
        ),
    ]


def _bool_mask_kind(got: Any) -> tuple[str, str]:
    return (
        f"your mask keeps the right weights but has dtype {np.asarray(got).dtype}, not bool: "
        "w[mask] then picks rows 0 and 1 instead of selecting entries, and ~mask fails",
        "Compare to get a boolean array (np.abs(w) > threshold), or add .astype(bool).",
    )


_MASK_HINT = (
    "k = round(sparsity * w.size); rank the entries of np.abs(w) over the whole tensor "
    "(np.argsort(np.abs(w), axis=None)) and set the k smallest to False."
)
_PER_SLICE_HINT = "Flatten first, or use axis=None in np.argsort / np.quantile. " + _MASK_HINT
_MASK_SLIPS = {  # slip -> what the learner is told
    "signed": "you pruned by signed value: the most negative weights went first, though a "
    "large negative weight matters as much as a large positive one. Rank by |w|.",
    "inverted": "your mask keeps the smallest weights: either you kept the smallest instead of "
    "the largest, or your True marks the removed weights (here True means kept).",
    "flipped": "your mask keeps the smallest weights and removes the largest: magnitude pruning "
    "removes the weights nearest zero, which change the output least.",
    "kept": "you treated sparsity as the fraction kept: sparsity is the fraction removed, "
    "so 75% sparsity keeps a quarter of the weights.",
    "int": "you removed int(sparsity · N) weights, rounding down: when sparsity · N is not "
    "a whole number (here 7.5), the book removes round(sparsity · N).",
    "rows": "you pruned each row on its own (the same fraction of every row): magnitude "
    "pruning ranks the whole tensor, so a row of large weights may keep them all.",
    "columns": "you pruned each column on its own (the same fraction of every column): "
    "magnitude pruning ranks the whole tensor at once.",
    "one_few": "you removed one weight too few: with a threshold at the k-th smallest |w|, "
    "keep the weights strictly above it (>), not >=.",
    "one_many": "you removed one weight too many: k = round(sparsity * w.size) weights go, "
    "no more.",
    "pruned": "you returned the pruned weights, w * mask: this exercise asks for the mask "
    "itself (True = kept), which fine-tuning re-applies after every step.",
}

MAGNITUDE_MASK = TypedCheck(
    name="magnitude_mask",
    reference=_mask_reference,
    make_cases=_mask_cases,
    task="Return a boolean mask of w's shape, False on the k = round(sparsity * w.size) "
    "entries of smallest |w| over the whole tensor, True (kept) elsewhere.",
    kinds="b",
    wrong_kind=_bool_mask_kind,
    mistakes=slip_mistakes(
        _mask,
        _MASK_SLIPS,
        _MASK_HINT,
        hints={
            "int": "k = int(round(sparsity * w.size)). " + _MASK_HINT,
            **dict.fromkeys(("rows", "columns"), _PER_SLICE_HINT),
            "pruned": "Return the boolean mask; the pruned weights are then w * mask.",
        },
    ),
)


check_magnitude_mask = MAGNITUDE_MASK.checker(
    "Check ``fn(w, sparsity) -> mask``: False on the round(sparsity·w.size) smallest ``|w|``."
)

# ---------------------------------------------------------------------------
# 3. distillation_loss(student_logits, teacher_logits, labels, temperature, alpha) -> float
# ---------------------------------------------------------------------------
#
# alpha T^2 mean_b KL(softmax(t_b / T) || softmax(s_b / T)) + (1 - alpha) mean_b CE(s_b, y_b)
# (Hinton et al., 2015). The T^2 keeps the soft term's gradients, which scale like
# 1/T^2, comparable with the hard term's when T changes.


_distillation_reference = distill_np.distillation_loss  # a float


def _distill(s, t, y, T, alpha, slip=None):
    """The loss written out; ``slip`` names one classic mistake (None: right)."""
    log_p = log_softmax(t / T)  # (B, K) teacher, softened
    log_q = log_softmax(s if slip == "teacher_only" else s / T)  # (B, K) student
    if slip == "swap":
        log_p, log_q = log_q, log_p
    p = np.exp(log_p)
    per_class = -p * log_q if slip == "soft_ce" else p * (log_p - log_q)  # (B, K)
    B, K = per_class.shape
    divisor = {"sum": 1, "sum_all": 1, "classes": B * K}.get(slip, B)  # "classes": KLDivLoss
    soft_term = per_class.sum() / divisor * {"no_t2": 1.0, "t1": T}.get(slip, T * T)
    rows = slice(None) if slip == "all_rows" else np.arange(B)  # [:, y] picks a (B, B) block
    nll = -log_softmax(s / T if slip == "hard_T" else s)[rows, y]  # (B,)
    hard_term = nll.sum() if slip == "sum_all" else nll.mean()
    a = 1.0 - alpha if slip == "alpha_on_hard" else alpha
    return a * soft_term + (1.0 - a) * hard_term


def _distillation_cases(rng: np.random.Generator) -> list[Case]:
    def case(B: int, K: int, T: float, alpha: float, label: str, size: float = 2.0) -> Case:
        s, t = (size * rng.normal(size=(B, K)) for _ in range(2))  # (B, K) student, teacher logits
        y = rng.integers(0, K, size=B)  # (B,) true classes
        return Case((s, t, y, T, alpha), label=label)

    cases = [
        case(4, 5, 2.0, 0.7, "B = 4, K = 5 classes, T = 2, alpha = 0.7"),
        case(6, 3, 4.0, 0.25, "B = 6, K = 3, T = 4, alpha = 0.25"),
        case(3, 6, 2.0, 0.5, "confident logits in the thousands, T = 2", size=1000.0),
    ]
    return stressed(cases, 2)


_DISTILL_HINT = (
    "log_p = log_softmax(t / T), log_q = log_softmax(s / T) (subtract the row max first); "
    "soft = T**2 * (p * (log_p - log_q)).sum(axis=1).mean(); "
    "hard = -log_softmax(s)[np.arange(B), labels].mean(); alpha * soft + (1 - alpha) * hard."
)

_DISTILL_SLIPS = {  # slip -> what the learner is told
    "no_t2": "you forgot the factor T²: softening by T shrinks the soft term's gradients by "
    "1/T², and Hinton et al. multiply by T² to keep the two terms balanced.",
    "t1": "you multiplied the soft term by T instead of T²: its gradients shrink by 1/T², "
    "so Hinton et al. multiply by T² to keep the two terms balanced.",
    "all_rows": "you indexed log_softmax(s)[:, labels]: that picks a (B, B) block, every "
    "example's log-probability of every label. Pair rows and labels: [np.arange(B), labels].",
    "swap": "your KL runs the wrong way, KL(student ‖ teacher): the teacher's distribution "
    "is the target, KL(p_teacher ‖ p_student) = Σ p_t (log p_t − log p_s).",
    "teacher_only": "you softened only the teacher: the student's logits must be divided by T too "
    "inside the soft term, so that both distributions are compared at the same "
    "temperature.",
    "sum": "you summed the soft term over the batch instead of averaging it: the loss then "
    "grows with the batch size.",
    "sum_all": "you summed over the batch instead of averaging: the loss then grows with the "
    "batch size.",
    "classes": "you averaged the KL over the classes as well as the batch (PyTorch's "
    "KLDivLoss with reduction='mean'): sum over the classes, then average over the "
    "batch (reduction='batchmean').",
    "alpha_on_hard": "alpha weights the wrong term: alpha multiplies the soft (teacher) term and "
    "1 − alpha the hard-label cross-entropy.",
    "soft_ce": "you used the soft cross-entropy −Σ p_t log p_s instead of the KL: it has the "
    "same gradient but adds the teacher's entropy, so its value is not the KL's.",
    "hard_T": "you softened the student's logits in the hard-label term too: the "
    "cross-entropy with the true labels uses the student at T = 1.",
}

DISTILLATION_LOSS = FunctionCheck(
    name="distillation_loss",
    reference=_distillation_reference,
    make_cases=_distillation_cases,
    task="Return alpha * T² * mean_b KL(softmax(t/T) ‖ softmax(s/T)) + (1 - alpha) * "
    "mean_b CE(s, labels), a single number.",
    nan_hint="Use a stable log-softmax, z - max(z) - log(sum(exp(z - max(z)))): exp of "
    "logits in the thousands overflows, and log of a softmax that underflowed to 0 is −inf.",
    rtol=1e-6,
    mistakes=slip_mistakes(_distill, _DISTILL_SLIPS, _DISTILL_HINT),
)


check_distillation_loss = DISTILLATION_LOSS.checker(
    "Check ``fn(student_logits, teacher_logits, labels, temperature, alpha) -> float``."
)

# ---------------------------------------------------------------------------
# 4. lora_forward(x, W, A, B, alpha, b=None) and merge_lora(W, A, B, alpha)
# ---------------------------------------------------------------------------
#
# y = x W + b + (alpha / r) (x A) B with A (D_in, r) and B (r, D_out) (Hu et al., 2022).
# Only a case with D_in = D_out = r lets a wrong order of the factors run at all;
# it comes first, so that those mistakes are named rather than reported as errors.


_lora_forward_reference = lora_np.lora_forward  # x W + b + (alpha / r) (x A) B, (N, D_out)
_merge_reference = lora_np.merge_lora  # W + (alpha / r) A B, a new (D_in, D_out) array


def _delta(A, B, alpha, slip=None):
    """The low-rank update, (D_in, D_out); ``slip`` names one classic mistake (None: right)."""
    (D_in, r), D_out = A.shape, B.shape[1]
    s = alpha / {"alpha": 1, "r_in": D_in, "r_out": D_out, "none": alpha}.get(slip, r)
    products = {"BA": lambda: B @ A, "T": lambda: (A @ B).T, "torch": lambda: A.T @ B.T}
    return s * products.get(slip, lambda: A @ B)()


def _lora(x, W, A, B, alpha, b=None, *, slip=None):
    y = x @ _delta(A, B, alpha, slip)  # (N, D_out)
    y = y if slip == "adapter_only" else y + x @ W
    return y + b if (slip != "no_bias" and b is not None) else y


def _merge(W, A, B, alpha, *, slip=None):
    delta = _delta(A, B, alpha, slip)  # (D_in, D_out)
    return delta if slip == "delta_only" else W + delta


_SQUARE = "a square case (D_in = D_out = r = 4) where every order of the factors fits"
_LARGE = "another square case, D_in = D_out = r = 3, alpha = 6, large inputs (about 1e4)"


def _lora_cases(rng: np.random.Generator, with_x: bool = True) -> list[Case]:
    def case(N, D_in, D_out, r, alpha, label, bias=True, scale=1.0, stress=False) -> Case:
        x = scale * rng.normal(size=(N, D_in))  # (N, D_in)
        W = rng.normal(size=(D_in, D_out)) / np.sqrt(D_in)  # (D_in, D_out) frozen
        A = rng.normal(size=(D_in, r)) / np.sqrt(D_in)  # (D_in, r)
        B = 0.1 * rng.normal(size=(r, D_out))  # (r, D_out): trained, no longer zero
        b = rng.normal(size=D_out) if bias else None  # (D_out,)
        args = (x, W, A, B, alpha, b) if with_x else (W, scale * A, B, alpha)
        return Case(args, label=label, stress=stress)

    return [
        case(3, 4, 4, 4, 2.0, _SQUARE, bias=False),
        case(5, 6, 3, 2, 16.0, "D_in = 6, D_out = 3, rank r = 2, alpha = 16"),
        case(2, 8, 5, 1, 4.0, "rank r = 1, alpha = 4"),
        case(4, 3, 3, 3, 6.0, _LARGE, scale=1e4, stress=True),
    ]


_LORA_ERROR_HINT = (
    "In the book's (in, out) layout A is (D_in, r) and B is (r, D_out): x @ A is (N, r) and "
    "(x @ A) @ B is (N, D_out). (PyTorch's LoRA stores the transposes, A (r, in), B (out, r).)"
)
_MERGE_HINT = "r = A.shape[1]; return W + (alpha / r) * (A @ B), a new array."

_LORA_SLIPS = {  # the slips of both the forward pass and the merge -> what the learner is told
    "none": "you forgot the scaling alpha / r: LoRA adds (alpha / r) · A B, so that "
    "changing the rank does not change how large the update is.",
    "alpha": "you scaled by alpha instead of alpha / r: divide by the rank r = A.shape[1].",
    **dict.fromkeys(
        ("r_in", "r_out"),
        "you read the rank from the wrong axis: r = A.shape[1] = B.shape[0], the "
        "shared inner size of A (D_in, r) and B (r, D_out).",
    ),
    "BA": "you multiplied the factors in the wrong order, B A: the update is A B, "
    "(D_in, r) @ (r, D_out). Only a square case lets B A run at all.",
    "T": "your update is transposed, (A B)ᵀ: the book stores matrices (in, out), so "
    "the update A B has W's shape (D_in, D_out) as it is.",
    "torch": "you transposed both factors, Aᵀ Bᵀ, as PyTorch's layout needs (there A is "
    "(r, in) and B is (out, r)): the book stores A (D_in, r) and B (r, D_out), so "
    "the update is A B with no transpose.",
}

LORA_FORWARD = FunctionCheck(
    name="lora_forward",
    reference=_lora_forward_reference,
    make_cases=_lora_cases,
    task="Return x @ W + b + (alpha / r) * (x @ A) @ B with r = A.shape[1] (b may be None).",
    error_hint=_LORA_ERROR_HINT + " And b may be None: add it only when it is given.",
    mistakes=slip_mistakes(
        _lora,
        {
            **_LORA_SLIPS,
            "adapter_only": "you returned only the adapter's path, (alpha / r)(x A) B: LoRA "
            "adds it to the frozen layer's output x W + b.",
            "no_bias": "you forgot the bias b of the frozen layer.",
        },
        "r = A.shape[1]; y = x @ W + (alpha / r) * (x @ A) @ B, plus b when it is given.",
    ),
)


check_lora_forward = LORA_FORWARD.checker(
    "Check ``fn(x, W, A, B, alpha, b=None) -> x W + b + (alpha / r)(x A) B``."
)


MERGE_LORA = FunctionCheck(
    name="merge_lora",
    reference=_merge_reference,
    make_cases=lambda rng: _lora_cases(rng, with_x=False),
    task="Return a new array W + (alpha / r) * A @ B with r = A.shape[1], leaving W as it was.",
    error_hint=_LORA_ERROR_HINT,
    inplace_hint="Merging in place (W += ...) overwrites the frozen base weights: you could "
    "no longer unmerge the adapter or swap in another one. " + _MERGE_HINT,
    mistakes=slip_mistakes(
        _merge,
        {
            **_LORA_SLIPS,
            "delta_only": "you returned only the update (alpha / r) A B: the merged weight is W "
            "plus it.",
        },
        _MERGE_HINT,
    ),
)


check_merge_lora = MERGE_LORA.checker(
    "Check ``fn(W, A, B, alpha) -> W + (alpha / r) A B``, a new array."
)

# ---------------------------------------------------------------------------
# 5. kv_decode_step(x_t, W_q, W_k, W_v, k_cache, v_cache) -> (out, k_cache, v_cache)
# ---------------------------------------------------------------------------


_decode_reference = serving_np.kv_decode_step  # append k and v, attend over all P + 1 positions


def _decode(x_t, W_q, W_k, W_v, k_cache, v_cache, slip=None):
    """One decoding step written out; ``slip`` names one classic mistake (None: right)."""
    q = x_t @ W_q  # (B, D)
    k = x_t @ (W_q if slip == "key_q" else W_k)  # (B, D)
    v = x_t @ W_v  # (B, D)
    parts = [(k_cache, k[:, None, :]), (v_cache, v[:, None, :])]  # (B, P, D), (B, 1, D)
    K, V = (np.concatenate(p[::-1] if slip == "prepend" else p, axis=1) for p in parts)
    Ka, Va = (k_cache, v_cache) if slip == "before" else (K, V)  # what the query attends to
    if slip in ("old_k", "old_v"):  # a cache returned as it was given
        K, V = (k_cache, V) if slip == "old_k" else (K, v_cache)
    D, C = q.shape[-1], x_t.shape[-1]
    s = np.einsum("bd,bpd->bp", q, Ka)  # (B, P + 1)
    s = s * {"none": 1.0, "sqrt_c": 1 / np.sqrt(C), "by_d": 1 / D}.get(slip, 1 / np.sqrt(D))
    w = softmax(s, axis=0 if slip == "axis_0" else -1)  # (B, P + 1)
    return np.einsum("bp,bpd->bd", w, Va), K, V  # out (B, D)


def _decode_cases(rng: np.random.Generator) -> list[Case]:
    def case(B: int, C: int, D: int, P: int, label: str) -> Case:
        x_t = rng.normal(size=(B, C))  # (B, C) the newest token
        W_q, W_k, W_v = (rng.normal(size=(C, D)) for _ in range(3))  # (C, D) each
        k_cache, v_cache = (rng.normal(size=(B, P, D)) for _ in range(2))  # (B, P, D) each
        return Case((x_t, W_q, W_k, W_v, k_cache, v_cache), label=label)

    cases = [
        case(2, 6, 4, 3, "B = 2, C = 6, head width D = 4, P = 3 cached positions"),
        case(1, 4, 9, 5, "one sequence, C = 4, D = 9, P = 5"),
        case(3, 5, 2, 0, "the first step, with an empty cache (P = 0)"),
    ]
    return stressed(cases, 2)


_DECODE_HINT = (
    "q, k, v = x_t @ W_q, x_t @ W_k, x_t @ W_v; append: K = np.concatenate([k_cache, "
    "k[:, None]], axis=1) (and V); then softmax(q · K / √D) over the P + 1 positions, "
    "weights @ V; return out, K, V."
)

_DECODE_SLIPS = {  # slip -> what the learner is told
    "before": "you attended before appending: the new token cannot see itself, though it is "
    "the last position of its own context (the causal mask keeps the diagonal).",
    "none": "you forgot to scale the scores by 1/√D.",
    "by_d": "you divided the scores by D: the scale is 1/√D, the square root of the head width.",
    "sqrt_c": "you scaled by 1/√C, the model width: the scale belongs to the dot products "
    "q·k, whose length is the head width D = W_q.shape[1].",
    "key_q": "you projected the key with W_q instead of W_k: queries and keys have their own "
    "weights.",
    "axis_0": "your softmax runs over the batch (axis 0) instead of the cached positions (the "
    "last axis): each sequence's weights over its positions must sum to 1.",
    **{
        f"old_{name[0]}": f"`{name}` is the old cache: return the cache with the new {item} "
        "appended, or the next step will not see this token."
        for name, item in (("k_cache", "key"), ("v_cache", "value"))
    },
    "prepend": "you prepended the new token: the cache keeps positions in order, oldest "
    "first, so the new key and value go at the end (axis 1, last index).",
}

# the outputs each slip spoils where not only `out`: a key projected with W_q changes
# k_cache too, a cache slip spoils its cache only
_DECODE_SPOILS = {"key_q": (0, 1), "old_k": 1, "old_v": 2, "prepend": (1, 2)}

KV_DECODE_STEP = FunctionCheck(
    name="kv_decode_step",
    reference=_decode_reference,
    make_cases=_decode_cases,
    output_names=("out", "k_cache", "v_cache"),
    task="Append the new token's k = x_t W_k and v = x_t W_v to the caches, attend with "
    "q = x_t W_q over all P + 1 positions, and return (out (B, D), k_cache, v_cache).",
    nan_hint="Attend after appending: with an empty cache (P = 0) the new token is the "
    "only key, and a softmax over no keys at all is 0/0.",
    error_hint="The caches are (B, P, D) and the new k is (B, D): add the position axis "
    "with k[:, None, :] before concatenating along axis 1.",
    mistakes=slip_mistakes(
        _decode,
        _DECODE_SLIPS,
        _DECODE_HINT,
        only={slip: _DECODE_SPOILS.get(slip, 0) for slip in _DECODE_SLIPS},
    ),
)


check_kv_decode_step = KV_DECODE_STEP.checker(
    "Check ``fn(x_t, W_q, W_k, W_v, k_cache, v_cache) -> (out, k_cache, v_cache)``."
)

__all__ = [
    "CodesCheck",
    "check_dequantize",
    "check_distillation_loss",
    "check_kv_decode_step",
    "check_lora_forward",
    "check_magnitude_mask",
    "check_merge_lora",
    "check_quantize_per_channel",
]
