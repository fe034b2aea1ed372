"""Checks for the exercises of chapter 8 (what "large" costs: FLOPs, memory, scaling laws).

Each check compares a learner's function with dlbook's own formula and recognises
the classic mistakes by name::

    from dlbook.checks.scale import check_training_flops_per_token
    check_training_flops_per_token(training_flops_per_token)   # PASS ✅ ...: correct on 3 cases.

The references are :func:`dlbook.scale.flops.flops_per_token` (dense attention),
:func:`dlbook.scale.memory.model_state_bytes` (Adam, the accounting of the ZeRO
paper), :func:`dlbook.scale.scaling.fit_power_law` and
:func:`dlbook.scale.scaling.compute_optimal`. Counts of FLOPs and bytes are
compared to a relative 1e-9, so a float that holds the right integer passes.

The mistakes are written out as small formulas with switches (defaults: right),
and the test cases are ordered so that each mistake shows first on a case where no
other mistake gives the same number: :mod:`tests.checks.test_scale_checks` checks
that each one is named.

Legend: V = vocabulary size, T = context (block size), L = number of blocks,
C = width of the residual stream, N = parameters, r = tokens per parameter.
"""

from __future__ import annotations

import functools

import numpy as np

from dlbook.checks._core import Case, FunctionCheck, each_output, on_output
from dlbook.checks._kinds import slip_mistakes, stressed
from dlbook.gpt.config import GPTConfig, count_parameters
from dlbook.scale import memory, scaling
from dlbook.scale.flops import flops_per_token

# ---------------------------------------------------------------------------
# 1. training_flops_per_token(vocab_size, block_size, n_layer, n_embd) -> FLOPs
# ---------------------------------------------------------------------------


def _config(V: int, T: int, L: int, C: int) -> GPTConfig:
    """dlbook's GPT of these sizes (one head: the FLOPs do not depend on the heads)."""
    return GPTConfig(vocab_size=V, block_size=T, n_layer=L, n_head=1, n_embd=C)


def _flops_reference(vocab_size, block_size, n_layer, n_embd):
    return flops_per_token(_config(vocab_size, block_size, n_layer, n_embd))["total"]


def _flops(
    V, T, L, C, *, passes=3, per_param=2, embeddings=False, attention=4, per_seq=False, head=True
):
    """dlbook.scale.flops written out, with switches for the classic slips: forward =
    per_param · N_mm + attention · L·T·C = 2 N_mm + 4 L T C (dense attention), where N_mm is
    every parameter but the two embedding tables (a lookup is no matrix product); backward =
    2 forward; total = passes · forward = 3 forward = 6 N_mm + 12 L T C."""
    counts = count_parameters(_config(V, T, L, C))
    n = counts["total"] - (0 if embeddings else counts["embeddings"]) - (0 if head else V * C)
    context = T * T if per_seq else T
    return passes * (per_param * n + attention * L * context * C)


def _flops_cases(rng: np.random.Generator) -> list[Case]:
    return [
        Case((65, 96, 5, 64), label="a character model: V = 65, T = 96, L = 5, C = 64"),
        Case((50257, 1024, 12, 768), label="GPT-2 small's sizes", stress=True),
        Case((1000, 8, 3, 32), label="a short context, T = 8"),
    ]


_FLOPS_HINT = (
    "N = count_parameters minus the embeddings V·C + T·C; forward = 2N + 4·L·T·C "
    "(QKᵀ and AV, 2·T·C each per layer); backward = 2 × forward; return 3 × forward."
)

_FLOPS_SLIPS = {  # a (switch, value) pair of _flops, or several: what to tell the learner
    ("passes", 1): "you counted the forward pass only: the backward pass costs twice the "
    "forward (one product for the gradient of the input, one for the gradient of the "
    "weight), so training costs 3 × forward.",
    (("passes", 1), ("attention", 0)): "you returned 2N, the forward pass "
    "without attention: training also runs the backward pass (2 × forward), and "
    "attention adds 4·L·T·C per token forward.",
    ("passes", 2): "you counted the backward pass as equal to the forward pass (4N in all): "
    "it does two matrix products for each one of the forward pass, dL/dx = dL/dy Wᵀ and "
    "dL/dW = xᵀ dL/dy, so it costs 2 × forward.",
    ("embeddings", True): "you counted the embeddings in N: a lookup in tok_emb or pos_emb is an "
    "index, not a matrix product, so those V·C + T·C parameters cost no FLOPs.",
    (("embeddings", True), ("attention", 0)): "you used 6N with every parameter, "
    "the embeddings included, and no attention: N excludes the embedding tables, "
    "and attention adds 12·L·T·C per token.",
    ("attention", 0): "you left out attention: QKᵀ and the product with V have no weights, but "
    "they cost 4·L·T·C FLOPs per token forward (12·L·T·C with the backward pass).",
    ("attention", 2): "your attention term is half of it, 6·L·T·C: either you counted only QKᵀ "
    "(the product with V costs as much), or you used the causal half. This exercise counts dense "
    "attention, every one of the T × T scores.",
    ("per_seq", True): "you counted attention per sequence, not per token: the T queries of a "
    "sequence each attend over T keys, which is 4·L·T²·C for the sequence and 4·L·T·C per token.",
    ("head", False): "you left out the head: dlbook's GPT has its own output layer (C·V weights, "
    "not tied to tok_emb), and it is a matrix product like any other, 2·C·V FLOPs per token.",
    (("per_param", 1), ("attention", 2)): "you counted a multiply-add as one FLOP: a weight costs "
    "2 FLOPs per token (one multiply, one add), so the forward pass is 2N, not N.",
}

TRAINING_FLOPS_PER_TOKEN = FunctionCheck(
    name="training_flops_per_token",
    reference=_flops_reference,
    make_cases=_flops_cases,
    task="Return the FLOPs of one training step per token, forward and backward: "
    "3 × (2·N + 4·L·T·C), with N the parameters outside the embeddings.",
    rtol=1e-9,
    atol=0.5,
    mistakes=slip_mistakes(_flops, _FLOPS_SLIPS, _FLOPS_HINT),
)


check_training_flops_per_token = TRAINING_FLOPS_PER_TOKEN.checker(
    "Check ``fn(vocab_size, block_size, n_layer, n_embd) -> FLOPs`` per token of training."
)

# ---------------------------------------------------------------------------
# 2. training_memory_bytes(n_params, mixed_precision) -> (weights, gradients, optimizer_state)
# ---------------------------------------------------------------------------
#
# dlbook.scale.memory, Adam: mixed precision 2N + 2N + 12N (fp32 master, m, v);
# fp32 4N + 4N + 8N (m, v). The fp32 case comes first, so that a slip which only
# shows in fp32 (a master copy there too, one moment) is named before the mixed
# case, where several slips give an optimizer state of 8N.


def _memory_reference(n_params, mixed_precision):
    state = memory.model_state_bytes(n_params, mixed_precision, "adam")
    return state["weights"], state["gradients"], state["optimizer"]


def _state(N, mixed, *, master="optimizer", moments=2, half_moments=False, grad_bytes=None, unit=1):
    """The bytes written out, with switches for the classic slips (defaults: right): where
    the fp32 master copy goes (``master``: "optimizer", "weights", "always" or "none"; "fp32":
    it is the model, fp32 throughout), m and v in the model's precision (``half_moments``), the
    bytes of a gradient (``grad_bytes``), and ``unit``, which multiplies everything (8 for bits)."""
    half = 2 if mixed and master != "fp32" else 4
    keep_master = master == "always" or (mixed and master in ("optimizer", "weights"))
    weights = half + (4 if keep_master and master == "weights" else 0)
    grads = half if grad_bytes is None else grad_bytes
    moment_bytes = half if half_moments else 4
    opt = moments * moment_bytes + (4 if keep_master and master != "weights" else 0)
    return unit * weights * N, unit * grads * N, unit * opt * N


def _memory_cases(rng: np.random.Generator) -> list[Case]:
    return [
        Case((1_000_000, False), label="a million parameters in fp32"),
        Case((124_439_808, True), label="GPT-2 small in mixed precision"),
        Case((7_000_000_000, True), label="a 7B model in mixed precision", stress=True),
        Case((1_500_000_000, False), label="GPT-2 XL's size in fp32"),
    ]


_MEMORY_HINT = (
    "Adam, per parameter: mixed precision 2 (fp16 weight) + 2 (fp16 gradient) + 12 (fp32 "
    "master, m, v); fp32 4 + 4 + 8 (m and v). Multiply by n_params."
)

_MEMORY_SLIPS = {  # (output, then (switch, value) pairs of _state): what to tell the learner
    (0, ("master", "fp32")): "your weights take 4 bytes each in mixed precision, as in fp32: "
    "either you ignored mixed_precision, or you counted the fp32 master copy as the weights. The "
    "model computes with fp16 weights, 2 bytes each; the master copy is optimizer state.",
    (0, ("master", "weights")): "you put the fp32 master copy with the weights: the model holds "
    "fp16 weights (2N), and the master copy (4N) is optimizer state, which the optimizer updates.",
    (1, ("grad_bytes", 0)): "you forgot the gradients: the backward pass writes one gradient per "
    "parameter, in the model's precision (2 bytes in mixed precision, 4 in fp32).",
    (1, ("grad_bytes", 4)): "your gradients take 4 bytes in mixed precision: the backward pass of "
    "an fp16 model writes fp16 gradients (2 bytes); only the optimizer's copies are fp32.",
    (2, ("master", "always")): "you added an fp32 master copy in fp32 training: there the weights "
    "already are fp32, so the optimizer state is just m and v, 8 bytes per parameter.",
    (2, ("master", "none")): "your optimizer state is 8 bytes per parameter in mixed precision "
    "instead of 12: either the fp32 master copy of the weights is missing (without it, updates "
    "smaller than fp16's resolution are lost), or you stored m and v in fp16. The optimizer keeps "
    "three fp32 numbers per parameter: master weight, m and v.",
    (2, ("master", "none"), ("half_moments", True)): "you stored m and v in fp16 and "
    "forgot the fp32 master copy: the optimizer keeps three fp32 numbers per "
    "parameter (master weight, m and v), 12 bytes.",
    (2, ("moments", 1)): "you stored one moment: Adam keeps two per parameter, m (the mean of the "
    "gradients) and v (the mean of their squares), 4 bytes each in fp32.",
}

TRAINING_MEMORY_BYTES = FunctionCheck(
    name="training_memory_bytes",
    reference=_memory_reference,
    make_cases=_memory_cases,
    output_names=("weights", "gradients", "optimizer_state"),
    task="Return (weights, gradients, optimizer_state) in bytes for Adam: 2N, 2N, 12N in "
    "mixed precision, 4N, 4N, 8N in fp32.",
    rtol=1e-9,
    atol=0.5,
    mistakes=[
        *each_output(
            "you counted bits, not bytes: an fp16 number takes 16 bits but 2 bytes, an fp32 "
            "number 4 bytes.",
            functools.partial(_state, unit=8),
            3,
            "Divide the bits by 8: fp16 → 2 bytes, fp32 → 4 bytes.",
        ),
        *[
            on_output(text, functools.partial(_state, **dict(slip)), k, _MEMORY_HINT)
            for (k, *slip), text in _MEMORY_SLIPS.items()
        ],
    ],
)


check_training_memory_bytes = TRAINING_MEMORY_BYTES.checker(
    "Check ``fn(n_params, mixed_precision) -> (weights, gradients, optimizer_state)`` bytes."
)

# ---------------------------------------------------------------------------
# 3. fit_power_law(x, y) -> (a, b) with y ≈ a x^b, least squares on log-log
# ---------------------------------------------------------------------------


def _fit(x, y, *, slip=None):
    """(a, b) fitted on log-log axes; ``slip`` names one classic mistake (None: right)."""
    x, y = (y, x) if slip == "swapped" else (x, y)
    log = np.log10 if slip in ("log10", "exp_of_log10") else np.log
    if slip in ("linear", "linear_slope_first"):
        log = np.asarray  # no logs at all
    slope, intercept = np.polyfit(log(x), log(y), 1)
    a = {
        **dict.fromkeys(("linear", "log_a", "log10"), intercept),
        "linear_slope_first": slope,
        "unpacked": np.exp(slope),
        "ten_to_ln": 10**intercept,
        "mean_ratio": np.mean(y / x**slope),
    }.get(slip, np.exp(intercept))
    return a, -slope if slip == "sign" else slope


def _fit_cases(rng: np.random.Generator) -> list[Case]:
    compute = np.logspace(17, 21, 9)  # FLOPs
    loss = 2.0e2 * compute**-0.12  # an exact power law, no noise
    params = np.logspace(6, 9, 12)  # model sizes
    noisy = 4.0e1 * params**-0.2 * np.exp(rng.normal(0.0, 0.03, size=12))
    size = np.arange(2.0, 12.0)
    growing = 0.5 * size**1.5 * np.exp(rng.normal(0.0, 0.05, size=10))
    cases = [
        Case((compute, loss), label="loss = 200 · C^-0.12 exactly, C from 1e17 to 1e21 FLOPs"),
        Case((params, noisy), label="loss ≈ 40 · N^-0.2 with 3% noise, N from 1e6 to 1e9"),
        Case((size, growing), label="an increasing law, y ≈ 0.5 · x^1.5 with 5% noise"),
    ]
    return stressed(cases, 1)


_FIT_HINT = (
    "b, log_a = np.polyfit(np.log(x), np.log(y), 1) (the slope comes first); "
    "return np.exp(log_a), b."
)
_FIT_SLIPS = {  # slip -> what the learner is told, about a (about both for "swapped", b for "sign")
    "linear": "you fitted a straight line to x and y themselves: a power law is a straight line "
    "only on log-log axes, log y = log a + b log x.",
    "linear_slope_first": "you fitted a straight line to x and y themselves (and returned its "
    "slope first): a power law is a straight line only on log-log axes.",
    "log_a": "you returned log a, the intercept of the line: the power law's prefactor is "
    "a = exp(intercept).",
    "unpacked": "you unpacked np.polyfit's result the wrong way round: it returns the "
    "coefficients from the highest power down, [slope, intercept].",
    "log10": "you returned log10 a: with base-10 logs the intercept is log10 a, so "
    "a = 10**intercept.",
    "exp_of_log10": "you mixed the bases of the logarithms: the intercept of a log10 fit is "
    "log10 a, which 10**intercept undoes, not np.exp.",
    "ten_to_ln": "you mixed the bases of the logarithms: the intercept of a natural-log fit is "
    "ln a, which np.exp undoes, not 10**.",
    "mean_ratio": "you took a as the mean of y / x**b: the least-squares line gives "
    "log a = mean(log y) − b · mean(log x), the mean of the logs, so a = exp(intercept).",
    "swapped": "you swapped x and y: you fitted log x against log y, which gives x as a "
    "power of y (slope 1/b). Regress log y on log x.",
    "sign": "b has the wrong sign: y ≈ a · x**b with b < 0 for a loss that falls with x; "
    "return the slope itself, not its negative (a law written a · x**-α has b = -α).",
}

FIT_POWER_LAW = FunctionCheck(
    name="fit_power_law",
    reference=scaling.fit_power_law,
    make_cases=_fit_cases,
    output_names=("a", "b"),
    task="Return (a, b) with y ≈ a · x**b: fit a straight line log y = log a + b log x "
    "by least squares, then a = exp(intercept).",
    rtol=1e-6,
    atol=0.0,
    nan_hint="A log of a negative number or of 0? x and y are positive here.",
    mistakes=slip_mistakes(
        _fit,
        _FIT_SLIPS,
        _FIT_HINT,
        outputs=2,
        only={slip: int(slip == "sign") for slip in _FIT_SLIPS if slip != "swapped"},
    ),
)


check_fit_power_law = FIT_POWER_LAW.checker(
    "Check ``fn(x, y) -> (a, b)``: a power law y ≈ a x^b fitted on log-log axes."
)

# ---------------------------------------------------------------------------
# 4. compute_optimal(compute, tokens_per_param=20) -> (N, D)
# ---------------------------------------------------------------------------


_optimal_reference = scaling.compute_optimal  # C = 6 N D and D = r N


def _optimal(
    C, tokens_per_param=20.0, *, flops=6.0, ratio=None, root=True, swap=False, d_over_r=False
):
    """(N, D) written out, with switches for the classic slips (defaults: right). Inverting
    the ratio, N = sqrt(C r / 6) and D = N / r, gives exactly (D, N): ``swap``."""
    rr = tokens_per_param if ratio is None else ratio
    inside = C / (flops * rr)
    N = np.sqrt(inside) if root else inside
    D = N / rr if d_over_r else rr * N
    return (D, N) if swap else (N, D)


def _optimal_cases(rng: np.random.Generator) -> list[Case]:
    return [
        Case(
            (5.76e23,), label="Chinchilla's budget, C = 5.76e23 FLOPs, default ratio", stress=True
        ),
        Case((1.0e21,), label="C = 1e21 FLOPs, default ratio"),
        Case((6.0e18,), {"tokens_per_param": 100.0}, label="C = 6e18 FLOPs, 100 tokens/param"),
    ]


_OPTIMAL_HINT = "C = 6·N·D and D = r·N give C = 6·r·N², so N = sqrt(C / (6 r)) and D = r·N."

_OPTIMAL_SLIPS = {  # (switch, value) pairs of _optimal: what to tell the learner
    ("flops", 2.0): "you used C = 2·N·D: 2ND is the forward pass only. Training costs 6 FLOPs "
    "per parameter per token (forward and backward), C = 6·N·D.",
    ("flops", 1.0): "you used C = N·D: training costs 6 FLOPs per parameter per token, C = 6·N·D.",
    ("swap", True): "you swapped N and D (or inverted the ratio, which "
    "gives the same numbers): the first value is the number of parameters, the "
    "second the number of tokens, r times more.",
    ("ratio", 20.0): "you ignored tokens_per_param and used r = 20: use the argument.",
    ("ratio", 1.0): "you forgot the ratio: with D = r·N the budget is C = "
    "6·r·N², so r belongs under the square root.",
    ("root", False): "you forgot the square root: C = 6·r·N² is quadratic in N.",
    (("flops", 12.0), ("root", False)): "you wrote x**1/2, which is x / 2: write x**0.5.",
    ("d_over_r", True): "you divided by the ratio: D = r·N tokens, more tokens than parameters.",
}
_OPTIMAL_ONLY = {slip: int(slip == ("d_over_r", True)) for slip in _OPTIMAL_SLIPS}  # N, or D

COMPUTE_OPTIMAL = FunctionCheck(
    name="compute_optimal",
    reference=_optimal_reference,
    make_cases=_optimal_cases,
    output_names=("N", "D"),
    task="Return (N, D) with 6·N·D = compute and D = tokens_per_param · N.",
    rtol=1e-6,
    atol=0.0,
    mistakes=slip_mistakes(_optimal, _OPTIMAL_SLIPS, _OPTIMAL_HINT, only=_OPTIMAL_ONLY),
)


check_compute_optimal = COMPUTE_OPTIMAL.checker(
    "Check ``fn(compute, tokens_per_param=20) -> (N, D)``: the compute-optimal allocation."
)

__all__ = [
    "check_compute_optimal",
    "check_fit_power_law",
    "check_training_flops_per_token",
    "check_training_memory_bytes",
]
