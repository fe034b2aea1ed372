"""Checks for the exercises of chapter 2 (gradient descent and optimisation).

Each check compares a learner's function with dlbook's own implementation and
recognises the classic mistakes by name::

    from dlbook.checks.optimization import check_adam_step
    check_adam_step(adam_step)   # PASS ✅ adam_step: correct on 3 test cases.

The update rules are compared (to a relative 1e-5) with
:mod:`dlbook.optim.numpy_backend`, whose optimizers follow ``torch.optim`` step
for step: each reference sets an optimizer's ``state`` to the m, v and t it is
given, and takes one step.
Random draws (dropout masks, initial weights) cannot equal a reference draw, so
their checks judge them by their statistics on large arrays, with tolerances
derived in the comments, plus exact checks given the mask the learner returns.
A learning-rate schedule is judged as a whole curve, so that a mistake is named
by the shape it gives the schedule rather than by one value.

Shape legend: w, g, m, v share any shape (a parameter and its gradient and
moments); x and mask share any shape; W is (d_in, d_out), the book's layout.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from dlbook.checks._core import (
    Case,
    FunctionCheck,
    allclose,
    array_equal,
    describe_type,
    first_mismatch,
    isclose,
    type_hint,
)
from dlbook.checks._kinds import (
    JudgedCheck,
    Judgement,
    SeededRng,
    array_problem,
    as_number,
    rng_problem,
    slip_mistakes,
    stressed,
)
from dlbook.nn.init import init_weights
from dlbook.optim import numpy_backend as optim_np
from dlbook.optim.schedules import WarmupCosine
from dlbook.regularization import numpy_backend as reg_np

# ---------------------------------------------------------------------------
# 1. momentum_step(w, g, v, lr, mu) -> (w_new, v_new), torch's convention
# ---------------------------------------------------------------------------


def _momentum_reference(w: np.ndarray, g: np.ndarray, v: np.ndarray, lr: float, mu: float):
    """One step of ``optim_np.SGD(momentum=mu)`` from velocity ``v`` (torch's momentum buffer)."""
    w_new = np.array(w, dtype=float)  # the optimizer updates in place: work on a copy
    opt = optim_np.SGD([w_new], lr=lr, momentum=mu)
    opt.state[0]["momentum_buffer"] = np.array(v, dtype=float)  # v of the earlier steps
    opt.step([g])
    return w_new, opt.state[0]["momentum_buffer"]


def _momentum_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for shape, lr, mu, first, label in (
        ((3, 4), 0.03, 0.9, False, "a (3, 4) parameter, lr = 0.03, mu = 0.9"),
        ((6,), 0.05, 0.5, False, "a vector, lr = 0.05, mu = 0.5"),
        ((2, 3, 2), 0.01, 0.99, True, "the first step (v = 0)"),
    ):
        w, g = rng.normal(size=shape), rng.normal(size=shape)
        v = np.zeros(shape) if first else rng.normal(size=shape)
        cases.append(Case((w, g, v, lr, mu), label=label))
    return stressed(cases, 2)


_CONVENTION = "This book follows torch.optim.SGD: v ← μ·v + g, then w ← w − lr·v."


def _momentum(w, g, v, lr, mu, *, slip=""):
    """Momentum written out, with one of the slips of _MOMENTUM_SLIPS: (w_new, v_new)."""
    if slip == "swap":
        lr, mu = mu, lr
    # v_new = mu v + a g, and w_new = w - rate * direction; torch: a = 1, rate lr along v_new
    a = {"keras": -lr, "lr_inside": lr, "average": 1 - mu}.get(slip, 1.0)
    v_new = {"stale_v": v, "just_g": g}.get(slip, mu * v + a * g)
    rate = {"uphill": -lr, "lr_inside": 1.0, "no_lr": 1.0}.get(slip, lr)
    rate = -1.0 if slip in ("keras", "keras_add") else rate  # Keras adds its v: w ← w + v
    direction = {"no_velocity": g, "old_v": v, "nesterov": g + mu * v_new}.get(slip, v_new)
    return w - rate * direction, v_new


_MOMENTUM_SLIPS = {
    "uphill": "you moved uphill: w + lr·v climbs along the gradient.",
    "keras_add": "you added the velocity as Keras does (w ← w + v), but with torch's velocity "
    "v = μ·v + g, which points uphill and carries no lr.",
    "keras": "you used Keras' convention, v ← μ·v − lr·g and w ← w + v. Its velocity is −lr "
    "times torch's, so with the v you are given (torch's) the step is wrong.",
    "lr_inside": "you put lr inside the velocity (v ← μ·v + lr·g, w ← w − v). That convention "
    "(Sutskever et al., 2013) is valid too: with a constant lr its v is lr times "
    "torch's and the path is the same. But v here is torch's, so the step differs.",
    "no_velocity": "you ignored the velocity: this is plain gradient descent, w − lr·g.",
    "old_v": "you stepped with the old velocity v instead of the updated one.",
    "swap": "you swapped mu and lr (v ← lr·v + g, w ← w − mu·v).",
    "average": "you averaged, v ← μ·v + (1 − μ)·g: that is an exponential moving average "
    "(torch's dampening = mu, or Adam's m), not heavy-ball momentum.",
    "nesterov": "you took a Nesterov step, w − lr·(g + μ·v_new) (torch's nesterov=True): this "
    "exercise asks for plain (heavy-ball) momentum, which steps along v_new itself.",
    "no_lr": "you forgot the learning rate: w − v.",
    "stale_v": "you forgot to update the velocity: `v_new` is the old v.",
    "just_g": "`v_new` forgets the old velocity: it is just g.",
}

MOMENTUM_STEP = FunctionCheck(
    name="momentum_step",
    reference=_momentum_reference,
    make_cases=_momentum_cases,
    output_names=("w_new", "v_new"),
    task="Return (w_new, v_new) with v_new = mu * v + g and w_new = w - lr * v_new.",
    nan_hint="A momentum step has no division: is an array made with np.empty (uninitialised)?",
    mistakes=slip_mistakes(
        _momentum,
        _MOMENTUM_SLIPS,
        _CONVENTION,
        hints={
            "uphill": "In torch's convention v points along the gradient: w_new = w - lr * v_new.",
            "keras_add": _CONVENTION + " (Keras stores −lr times this v and adds it.)",
            "no_velocity": "Update the velocity first, v_new = mu * v + g, then step along it.",
            "old_v": "Compute v_new = mu * v + g first, then w_new = w - lr * v_new.",
            "swap": "mu (about 0.9) multiplies the old velocity; lr (small) multiplies the step.",
            "average": "Momentum adds the whole gradient: v_new = mu * v + g.",
            "no_lr": "w_new = w - lr * v_new.",
            "stale_v": "Return the new velocity, v_new = mu * v + g: the next step needs it.",
            "just_g": "v_new = mu * v + g.",
        },
        outputs=2,
        only=dict.fromkeys(("keras_add", "no_velocity", "old_v", "nesterov", "no_lr"), 0)
        | dict.fromkeys(("stale_v", "just_g"), 1),
    ),
)


check_momentum_step = MOMENTUM_STEP.checker(
    "Check ``fn(w, g, v, lr, mu) -> (w_new, v_new)``: one step of SGD with momentum."
)


# ---------------------------------------------------------------------------
# 2. adam_step(w, g, m, v, t, lr, beta1, beta2, eps) -> (w_new, m_new, v_new)
# ---------------------------------------------------------------------------


def _adam_reference(w, g, m, v, t, lr, beta1, beta2, eps, weight_decay=0.0, decoupled=False):
    """Step ``t`` of ``optim_np.Adam`` (or AdamW) from moments m and v: (w_new, m_new, v_new)."""
    w_new = np.array(w, dtype=float)  # the optimizer updates in place: work on a copy
    cls = optim_np.AdamW if decoupled else optim_np.Adam
    opt = cls([w_new], lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay)
    opt.state[0].update(exp_avg=np.array(m, dtype=float), exp_avg_sq=np.array(v, dtype=float))
    opt.step_count = t - 1  # step() counts this step as t
    opt.step([np.asarray(g, dtype=float)])
    return w_new, opt.state[0]["exp_avg"], opt.state[0]["exp_avg_sq"]


def _adam(w, g, m, v, t, lr, beta1, beta2, eps, *, slip="", extra=0.0, g_v=None, after=1.0):
    """Adam written out, with one of the slips of _ADAM_SLIPS: (w_new, m_new, v_new).

    For the decay's mistakes: ``extra`` is added to m_hat in the step, ``g_v`` is the
    gradient that v averages (g), and w_new is multiplied by ``after``.
    """
    if slip == "swap":
        beta1, beta2 = beta2, beta1
    g_v = g if g_v is None else g_v
    a1, a2 = (1.0, 1.0) if slip == "sum" else (1 - beta1, 1 - beta2)
    m_new = beta1 * m + a1 * g
    v_new = beta2 * v + a2 * (g_v if slip == "unsquared" else g_v * g_v)
    mm, vv = (m, v) if slip == "old_moments" else (m_new, v_new)
    vv = np.maximum(v, v_new) if slip == "amsgrad" else vv  # AMSGrad's running maximum
    t = 1 if slip == "t=1" else t + {"t-1": -1, "t+1": 1}.get(slip, 0)  # t off by one, or 1
    c1 = 1.0 if slip in ("raw", "raw_m") else 1 - beta1**t
    c2 = 1.0 if slip in ("raw", "raw_v") else 1 - beta2**t
    # keras_eps adds eps to the uncorrected sqrt(v): lr sqrt(c2) / c1 * m / (sqrt(v) + eps)
    if slip == "keras_eps":
        denom = (np.sqrt(vv) + eps) / np.sqrt(c2)
    elif slip == "eps_in_sqrt":
        denom = np.sqrt(vv / c2 + eps)
    else:
        denom = (vv / c2 if slip == "no_sqrt" else np.sqrt(vv / c2)) + eps
    step = -lr if slip == "uphill" else lr
    w_new = (w - step * (mm / c1 + extra) / denom) * after
    m_new = {"stale_m": m, "m_hat": m_new / c1}.get(slip, m_new)  # the slips of m_new alone
    v_new = {"stale_v": v, "v_hat": v_new / c2}.get(slip, v_new)
    return w_new, m_new, v_new


def _adam_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for shape, t, lr, b1, b2, eps, scale, label in (
        ((3, 4), 3, 0.1, 0.9, 0.999, 0.01, 0.1, "step t = 3, gradients near 0.1"),
        ((5,), 1, 1e-3, 0.9, 0.999, 1e-8, 1.0, "the first step (t = 1, m = v = 0)"),
        ((2, 3, 2), 100, 0.01, 0.8, 0.99, 1e-8, 1.0, "step t = 100, beta1 = 0.8, beta2 = 0.99"),
    ):
        # w of the size of the step lr (or smaller), so that an error in the step is not
        # hidden below float32's precision of w_new (e.g. v averaging m² instead of g²)
        w, g = min(lr, 1.0) * rng.normal(size=shape), scale * rng.normal(size=shape)
        m = np.zeros(shape) if t == 1 else scale * rng.normal(size=shape)  # no earlier step
        v = np.zeros(shape) if t == 1 else scale**2 * rng.uniform(0.5, 2.0, size=shape)
        cases.append(Case((w, g, m, v, t, lr, b1, b2, eps), label=label))
    return stressed(cases, 1)


_WITH_T = "Use 1 - beta1**t and 1 - beta2**t with the t you are given."

_ADAM_SLIPS = {  # each named on every output, but those of m_new or v_new alone
    "raw": "you forgot the bias correction: m and v start at 0, so in the first steps "
    "they are far too small without dividing by 1 − β₁ᵗ and 1 − β₂ᵗ.",
    "raw_v": "you bias-corrected m but not v.",
    "raw_m": "you bias-corrected v but not m.",
    "t-1": "your bias correction uses t − 1, but t is already 1 on the first step "
    "(and 1 − β⁰ = 0 would divide by zero there).",
    "t+1": "your bias correction uses t + 1, as if t counted from 0; here t = 1 on the first step.",
    "t=1": "your bias correction ignores t: it divides by 1 − β₁ and 1 − β₂ at every step, "
    "as on the first step (t = 1), where it should divide by 1 − β₁ᵗ and 1 − β₂ᵗ.",
    "eps_in_sqrt": "you put eps inside the square root, √(v̂ + ε) (Keras' RMSprop and Adagrad "
    "do that); torch's Adam adds it outside, √v̂ + ε.",
    "keras_eps": "you used Keras' epsilon placement, lr·√(1 − β₂ᵗ)/(1 − β₁ᵗ) · m/(√v + ε): ε "
    "added to the uncorrected √v (the paper's 'epsilon hat'). It equals torch's "
    "form with ε divided by √(1 − β₂ᵗ), a difference that shows when gradients "
    "are as small as ε. This exercise asks for torch's: ε added to √v̂.",
    "amsgrad": "you divided by the maximum of v and v_new (AMSGrad, torch's amsgrad=True): "
    "plain Adam divides by this step's v_new, bias-corrected.",
    "unsquared": "your v averages g instead of g²: the second moment is the mean of the "
    "squared gradient (and the square root of a negative v is NaN).",
    "swap": "you swapped beta1 and beta2: beta1 (0.9) averages g into m, beta2 (0.999) "
    "averages g² into v.",
    "uphill": "your step has the wrong sign: it climbs uphill.",
    "sum": "your moments add the whole new term, β·m + g, instead of averaging, β·m + (1 − β)·g.",
    "no_sqrt": "you divided by v̂ + ε instead of √v̂ + ε: v̂ is a squared gradient, its "
    "square root has the scale of g.",
    "old_moments": "you stepped with the old m and v: update the moments first, then step "
    "with them.",
    "stale_m": "`m_new` is the old m: you forgot to update it.",
    "m_hat": "you returned the bias-corrected m̂ as `m_new`: the state keeps the raw average.",
    "stale_v": "`v_new` is the old v: you forgot to update it.",
    "v_hat": "you returned the bias-corrected v̂ as `v_new`: the state keeps the raw average.",
}

ADAM_STEP = FunctionCheck(
    name="adam_step",
    reference=_adam_reference,
    make_cases=_adam_cases,
    output_names=("w_new", "m_new", "v_new"),
    task="Return (w_new, m_new, v_new): update m and v, bias-correct them with t, then "
    "w_new = w - lr * m_hat / (sqrt(v_hat) + eps).",
    nan_hint="Is something divided by 1 - beta**0 = 0, or a negative v square-rooted?",
    mistakes=slip_mistakes(
        _adam,
        _ADAM_SLIPS,
        "w_new = w - lr * m_hat / (np.sqrt(v_hat) + eps).",
        hints={
            "raw": "m_hat = m_new / (1 - beta1**t), v_hat = v_new / (1 - beta2**t).",
            "raw_v": "Divide v_new by 1 - beta2**t too.",
            "raw_m": "Divide m_new by 1 - beta1**t too.",
            **dict.fromkeys(("t-1", "t+1", "t=1"), _WITH_T),
            "keras_eps": "w_new = w - lr * m_hat / (np.sqrt(v_hat) + eps), with v_hat "
            "bias-corrected.",
            "unsquared": "v_new = beta2 * v + (1 - beta2) * g**2.",
            "swap": "m_new = beta1 * m + (1 - beta1) * g; v_new = beta2 * v + (1 - beta2) * g**2.",
            "sum": "m_new = beta1 * m + (1 - beta1) * g, and the same with beta2 and g**2 for v.",
            "no_sqrt": "Divide by np.sqrt(v_hat) + eps.",
            "old_moments": "Compute m_new and v_new first, then bias-correct them and step.",
            "stale_m": "m_new = beta1 * m + (1 - beta1) * g; the next step needs it.",
            "m_hat": "Return m_new = beta1 * m + (1 - beta1) * g; m_hat is only for the step.",
            "stale_v": "v_new = beta2 * v + (1 - beta2) * g**2; the next step needs it.",
            "v_hat": "Return v_new = beta2 * v + (1 - beta2) * g**2; v_hat is only for the step.",
        },
        outputs=3,
        only={"stale_m": 1, "m_hat": 1, "stale_v": 2, "v_hat": 2},
    ),
)


check_adam_step = ADAM_STEP.checker(
    "Check ``fn(w, g, m, v, t, lr, beta1, beta2, eps) -> (w_new, m_new, v_new)``."
)


# ---------------------------------------------------------------------------
# 3. adam_decay_step(..., weight_decay, decoupled): AdamW versus Adam with L2
# ---------------------------------------------------------------------------

_adam_decay_reference = _adam_reference  # torch.optim.AdamW if decoupled, else Adam with L2


def _adam_decay(w, g, m, v, t, lr, beta1, beta2, eps, lam, decoupled, *, slip):
    """The decay done wrong, with one of the slips of _DECAY_SLIPS, around :func:`_adam`.

    Raises ValueError where ``slip`` is no mistake of this mode, so that the check skips it.
    """
    if slip != "ignored" and bool(decoupled) == (slip in _L2_ONLY):
        raise ValueError(f"{slip!r} is no mistake of decoupled={decoupled}")
    adam = partial(_adam, m=m, v=v, t=t, lr=lr, beta1=beta1, beta2=beta2, eps=eps)
    if slip == "moments_from_g":  # L2's w_new right, but m_new and v_new averaged from g alone
        return (adam(w, g + lam * w)[0], *adam(w, g)[1:])
    # AdamW (decoupled=True): w shrinks by 1 - lr lam before the Adam step; g is left alone.
    # L2 (decoupled=False): lam w, the gradient of lam/2 |w|^2, joins g before the moments.
    shrink = {"no_lr": 1 - lam, "sign": 1 + lr * lam, "decoupled": 1 - lr * lam}.get(slip, 1.0)
    in_g = {"l2": lam, "m_only": lam, "l2_sign": -lam, "twice": 2 * lam}.get(slip, 0.0)
    return adam(
        w * shrink,
        g + in_g * w,
        extra=lam * w if slip == "denominator" else 0.0,
        g_v=g if slip == "m_only" else None,
        after=1 - lr * lam if slip == "after" else 1.0,
    )


def _adam_decay_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for shape, t, lr, lam, decoupled, label in (
        ((3, 4), 3, 0.1, 0.5, True, "AdamW with a large lr·λ = 0.05, so the order shows"),
        ((3, 4), 3, 0.1, 0.5, False, "Adam with L2, λ = 0.5"),
        ((5,), 1, 1e-3, 1e-2, True, "AdamW's first step, λ = 0.01"),
        ((2, 3), 10, 0.01, 1e-3, False, "Adam with L2 at step 10, λ = 0.001"),
    ):
        w, g = rng.normal(size=shape), 0.1 * rng.normal(size=shape)
        m = np.zeros(shape) if t == 1 else 0.1 * rng.normal(size=shape)  # no earlier step
        v = np.zeros(shape) if t == 1 else 0.01 * rng.uniform(0.5, 2.0, size=shape)
        eps = 1e-8 if t == 1 else 0.01
        cases.append(Case((w, g, m, v, t, lr, 0.9, 0.999, eps, lam, decoupled), label=label))
    return stressed(cases, 2)


_ADAMW_HINT = "AdamW: w_decayed = w * (1 - lr * weight_decay), then the Adam step from g."
_L2_HINT = "L2: g_total = g + weight_decay * w, then the Adam step from g_total."

_DECAY_SLIPS = {
    "ignored": "you ignored weight_decay: this is a plain Adam step.",
    # AdamW's
    "l2": "you added λ·w to the gradient (L2, torch.optim.Adam's weight_decay), but "
    "decoupled=True asks for AdamW: L2's decay goes through m and is divided by "
    "√v̂, AdamW's shrinks the weights directly.",
    "after": "you decayed the weights after the Adam step; torch.optim.AdamW decays them "
    "first, w ← w·(1 − lr·λ), then steps. The two differ by lr²·λ·step: tiny for "
    "usual values, visible with the large lr·λ of this test.",
    "denominator": "you divided the decay λ·w by √v̂ + ε along with the gradient: weights "
    "with large gradients are then barely decayed, which is what decoupling avoids.",
    "no_lr": "your decay is missing the factor lr: AdamW shrinks the weights by 1 − lr·λ, "
    "not 1 − λ.",
    "sign": "your decay has the wrong sign: the weights grow instead of shrinking.",
    # L2's
    "decoupled": "you decayed the weights directly (AdamW's decoupled decay, or λ·w added to "
    "the step after Adam), but decoupled=False asks for L2: λ·w joins the gradient "
    "before the moments, so it goes through m and v.",
    "l2_sign": "you subtracted λ·w from the gradient: the gradient of the penalty λ/2·|w|² "
    "is +λ·w, which pulls the weights towards 0.",
    "twice": "you added 2·λ·w to the gradient: the penalty is λ/2·|w|², whose gradient is "
    "λ·w (the 1/2 is there for this).",
    "m_only": "you added λ·w to the gradient in m but not in v: L2 changes the gradient "
    "itself, so both moments see g + λ·w.",
    "moments_from_g": "your w_new is right, but the m_new and v_new you return average g alone: "
    "with L2 the gradient itself is g + λ·w, and the moments that the next step starts from "
    "must hold it too.",
}
# the slips of L2 (decoupled=False); the others but "ignored" are AdamW's
_L2_ONLY = {"decoupled", "l2_sign", "twice", "m_only", "moments_from_g"}


ADAM_DECAY_STEP = FunctionCheck(
    name="adam_decay_step",
    reference=_adam_decay_reference,
    make_cases=_adam_decay_cases,
    output_names=("w_new", "m_new", "v_new"),
    task="decoupled=True (AdamW): shrink w by 1 - lr * weight_decay, then an Adam step from g. "
    "decoupled=False (L2): an Adam step from g + weight_decay * w.",
    nan_hint="Check your Adam step first (check_adam_step above).",
    # "ignored" and "decoupled" are named on w_new only: with L2 their m_new and v_new
    # are "moments_from_g"'s, whose w_new is right (theirs is wrong, and is compared first)
    mistakes=slip_mistakes(
        _adam_decay,
        _DECAY_SLIPS,
        _ADAMW_HINT,
        hints={
            "ignored": f"With decoupled=True: {_ADAMW_HINT} With decoupled=False: {_L2_HINT}",
            "denominator": _ADAMW_HINT + " The decay never meets m or v.",
            "sign": "Weight decay pulls w towards 0. " + _ADAMW_HINT,
            **dict.fromkeys(_L2_ONLY, _L2_HINT),
            "moments_from_g": _L2_HINT + " Return the m_new and v_new of that same step.",
        },
        outputs=3,
        only={"ignored": 0, "decoupled": 0, "moments_from_g": (1, 2)},
    ),
)


check_adam_decay_step = ADAM_DECAY_STEP.checker(
    "Check ``fn(w, g, m, v, t, lr, beta1, beta2, eps, weight_decay, decoupled)``.\n"
    "\n"
    "``decoupled=True`` is ``torch.optim.AdamW``; False is ``torch.optim.Adam`` with\n"
    "``weight_decay`` (L2 in the gradient). Returns ``(w_new, m_new, v_new)``."
)

# ---------------------------------------------------------------------------
# 4. dropout_forward(x, p, rng, training) -> (y, mask); dropout_backward(grad_out, mask, p)
# ---------------------------------------------------------------------------
#
# A mask is random, so the check judges the draw, not its values:
# * the fraction of zeros in y must be p. With N units each dropped with
#   probability p, that fraction has standard deviation sqrt(p (1 - p) / N):
#   0.0013 for N = 100,000 and p = 0.2. A tolerance of 6 standard deviations
#   (plus 0.001) rejects a correct dropout with probability about 1e-9, and still
#   tells p = 0.2 from 1 - p = 0.8 (or from 0) by hundreds of standard deviations;
# * given the mask the learner returns, y = x * mask / (1 - p) exactly;
# * the same generator state gives the same mask, another state another mask.


_dropout_reference = reg_np.dropout  # (x * mask / (1 - p), mask), (x, None) at evaluation


def _repeated_axis(a: np.ndarray) -> int | None:
    """An axis along which every slice of ``a`` equals the first (a draw broadcast along it)."""
    for axis in range(a.ndim):
        if a.shape[axis] > 1 and array_equal(np.broadcast_to(a.take([0], axis), a.shape), a):
            return axis
    return None


def _shared_mask_problem(p: float, y: np.ndarray) -> Judgement:
    """A mask drawn for part of the shape and broadcast: the units are not dropped independently.

    With independent draws, two slices of 500 or more units agree only with a
    probability below 0.8**500; a shared mask makes every slice the same.
    """
    kept = y != 0
    # nothing dropped, or everything: the fraction check says more
    axis = None if p == 0 or kept.all() or not kept.any() else _repeated_axis(kept)
    if axis is None:
        return None
    return (
        f"every slice of `y` along axis {axis} drops the same units: one mask is shared "
        f"across that axis (of length {y.shape[axis]}), so the units are not dropped "
        "independently",
        "Draw one random number per unit, with the full shape of x: keep = "
        "rng.random(x.shape) >= p (not x.shape[1:], which broadcasts one mask over the batch).",
    )


def _dropped_fraction_problem(p: float, y: np.ndarray) -> Judgement:
    dropped = float(np.mean(y == 0))
    tol = 6.0 * float(np.sqrt(p * (1 - p) / y.size)) + 1e-3  # 6 standard deviations
    if abs(dropped - p) <= tol:
        return None
    asks = f"p = {p:g} asks for about {p:.0%}"
    if abs(dropped - (1 - p)) <= tol:
        return (
            f"you drop units with probability 1 − p instead of p (keep and drop are "
            f"swapped): {dropped:.1%} of `y` is zero where {asks}",
            "p is the probability of dropping a unit: keep = rng.random(x.shape) >= p keeps "
            "each unit with probability 1 - p.",
        )
    if dropped == 0:
        return (
            f"you dropped no unit: `y` has no zeros, where {asks} of them",
            "While training, zero each unit with probability p: keep = rng.random(x.shape) >= p.",
        )
    return (
        f"{dropped:.1%} of `y` is zero, where {asks} (± {tol:.1%})",
        "Drop each unit independently with probability p: keep = rng.random(x.shape) >= p.",
    )


def _mask_problem(p: float, y: np.ndarray, mask: np.ndarray) -> Judgement:
    m = mask.astype(float)
    if not np.isin(m, (0.0, 1.0)).all():
        if p > 0 and allclose(m[m != 0], 1 / (1 - p)):
            return (
                f"`mask` already holds the scale 1/(1 − p) = {1 / (1 - p):.4g}",
                "Return the 0/1 keep mask; the scale goes into y (and dropout_backward "
                "applies it again).",
            )
        return (
            f"`mask` holds values other than 0 and 1, such as {m[~np.isin(m, (0, 1))][0]:.4g}",
            "Return the keep mask: 1 (or True) where a unit is kept, 0 where it is dropped.",
        )
    keep, kept = m == 1, y != 0
    if array_equal(keep, kept):
        return None
    if array_equal(keep, ~kept):
        return (
            "`mask` is 1 at the units you dropped: it marks the dropped units, not the kept ones",
            "Return the keep mask (1 = kept): dropout_backward multiplies the gradient by it.",
        )
    return (
        f"`mask` does not say which units `y` kept: at {int((keep != kept).sum())} of "
        f"{y.size} positions one is 0 and the other not",
        "Build y from the mask you return: y = x * mask / (1 - p).",
    )


def _scale_problem(x: np.ndarray, p: float, y: np.ndarray, mask: np.ndarray) -> Judgement:
    keep = mask.astype(bool)
    ratio = y[keep] / x[keep]  # x has no zeros: every kept unit shows its scale
    if allclose(ratio, 1 / (1 - p), rtol=1e-6, atol=0):
        return None
    means = f"the mean of `y` is {y.mean() / x.mean():.3f} times the mean of `x`"
    if allclose(ratio, 1.0, rtol=1e-6, atol=0):
        return (
            f"the kept units are not divided by 1 − p = {1 - p:g}, as inverted dropout does, "
            f"so {means}",
            "y = x * mask / (1 - p): dividing the survivors by 1 - p keeps E[y] = x, so that "
            "evaluation needs no change. (The original dropout multiplied by 1 - p at test "
            "time instead.)",
        )
    if allclose(ratio, 1 - p, rtol=1e-6, atol=0):
        return (
            f"you multiplied the kept units by 1 − p instead of dividing, so {means}",
            "y = x * mask / (1 - p).",
        )
    return (
        f"the kept units are multiplied by {ratio[0]:.4g} (and more), where "
        f"1/(1 − p) = {1 / (1 - p):.4g} is expected; {means}",
        "y = x * mask / (1 - p), the same factor for every kept unit.",
    )


def _eval_problem(x: np.ndarray, p: float, y: np.ndarray, mask: Any) -> Judgement:
    """In evaluation mode inverted dropout is the identity: y = x, mask None (or all ones)."""
    if array_equal(y, x):
        if mask is None or (
            isinstance(mask, np.ndarray) and mask.shape == x.shape and bool(np.all(mask == 1))
        ):
            return None
        return (
            f"in evaluation mode nothing is dropped, but `mask` is {describe_type(mask)}",
            "When training is False, return (x, None).",
        )
    identity = "When training is False, dropout is the identity: return (x, None)."
    if np.any(y == 0):
        return (
            f"you dropped units in evaluation mode (training=False): {np.mean(y == 0):.0%} "
            "of `y` is zero",
            "Dropout only acts while training. " + identity,
        )
    if allclose(y, x * (1 - p)):
        return (
            "you multiplied by 1 − p in evaluation mode, as the original (non-inverted) "
            "dropout does at test time; inverted dropout divides by 1 − p while training "
            "instead, so that evaluation is the identity",
            identity,
        )
    if allclose(y, x / (1 - p)):
        return "you divided by 1 − p in evaluation mode: that belongs to training", identity
    return f"in evaluation mode `y` must equal `x`: {first_mismatch(y, x, 1e-7, 0.0)}", identity


def _judge_dropout_forward(check: JudgedCheck, outputs: tuple[Any, ...], case: Case) -> Judgement:
    x, p, _, training = case.args
    y, mask = outputs
    problem = array_problem(y, x.shape, "`y`")
    if problem is not None or not training:
        return problem or _eval_problem(x, p, y, mask)
    if mask is None:
        return (
            "`mask` is None while training",
            "Return (y, mask) with the 0/1 keep mask: dropout_backward needs it.",
        )
    return (
        array_problem(mask, x.shape, "`mask`")
        or _shared_mask_problem(p, y)
        or _dropped_fraction_problem(p, y)
        or _mask_problem(p, y, mask)
        or _scale_problem(x, p, y, mask)
        or (rng_problem(check, case, y, rng_index=2) if p > 0 else None)
    )


def _dropout_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for shape, p, seed, training, label in (
        ((200, 500), 0.2, 1, True, "100,000 units, p = 0.2, training"),
        ((50, 40, 50), 0.6, 2, True, "a 3-d array of 100,000 units, p = 0.6, training"),
        ((4, 6), 0.2, 3, False, "evaluation mode (training=False), p = 0.2"),
        ((3, 5), 0.3, 5, np.False_, "evaluation mode, training = np.False_ (a NumPy bool)"),
        ((30, 40), 0.0, 4, True, "p = 0: nothing to drop"),
    ):
        x = rng.uniform(0.5, 1.5, size=shape)  # never 0: a zero in y means a dropped unit
        cases.append(Case((x, p, SeededRng(seed), training), label=label))
    return stressed(cases, 3, 4)


DROPOUT_FORWARD = JudgedCheck(
    name="dropout_forward",
    reference=_dropout_reference,
    make_cases=_dropout_cases,
    output_names=("y", "mask"),
    task="While training: keep = rng.random(x.shape) >= p, y = x * keep / (1 - p), return "
    "(y, keep). When training is False: return (x, None).",
    judge=_judge_dropout_forward,
)


check_dropout_forward = DROPOUT_FORWARD.checker(
    "Check ``fn(x, p, rng, training) -> (y, mask)``: inverted dropout, judged statistically."
)


def _dropout_backward_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for shape, p, as_float, label in (
        ((4, 5), 0.25, False, "a (4, 5) batch, p = 0.25, a boolean mask"),
        ((3, 4, 2), 0.5, True, "a 3-d array, p = 0.5, a 0/1 float mask"),
        ((6,), 0.1, False, "a vector, p = 0.1"),
    ):
        keep = rng.random(shape) >= p  # True = kept
        mask = keep.astype(float) if as_float else keep
        cases.append(Case((rng.normal(size=shape), mask, p), label=label))
    return stressed(cases, 1)


def _dropout_backward(g, mask, p, *, slip=""):
    """dropout_backward written out, with one of the slips of DROPOUT_BACKWARD's mistakes."""
    passed = g if slip == "no_mask" else g * (1 - mask if slip == "dropped" else mask)
    scale = {"unscaled": 1.0, "times": 1 - p, "by_p": 1 / p}.get(slip, 1 / (1 - p))
    return g if slip == "unchanged" else passed * scale


DROPOUT_BACKWARD = FunctionCheck(
    name="dropout_backward",
    reference=reg_np.dropout_backward,
    make_cases=_dropout_backward_cases,
    task="Return dL/dx = grad_out * mask / (1 - p), an array shaped like grad_out.",
    mistakes=slip_mistakes(
        _dropout_backward,
        {
            "unscaled": "you forgot the scale 1/(1 − p): the forward pass multiplied the kept "
            "units by it, so their gradient carries it too.",
            "no_mask": "you forgot the mask: a dropped unit did not reach the output, so its "
            "gradient is 0.",
            "times": "you multiplied by 1 − p instead of dividing.",
            "by_p": "you divided by p instead of 1 − p: p is the probability of dropping a unit.",
            "dropped": "you passed the gradient to the dropped units instead of the kept ones.",
            "unchanged": "you returned grad_out unchanged: dropout's backward needs the mask "
            "and the scale.",
        },
        "dL/dx = grad_out * mask / (1 - p).",
        hints={
            "times": "dL/dx = grad_out * mask / (1 - p), the same factor as the forward pass.",
            "dropped": "mask is 1 where a unit was kept: multiply by mask, not by 1 - mask.",
        },
    ),
)


check_dropout_backward = DROPOUT_BACKWARD.checker(
    "Check ``fn(grad_out, mask, p) -> dL/dx`` for inverted dropout."
)

# ---------------------------------------------------------------------------
# 5. he_init(d_in, d_out, rng) -> W of shape (d_in, d_out), Var(W) = 2 / d_in
# ---------------------------------------------------------------------------
#
# The check judges the sample mean and variance of a large draw. For N values
# with variance s^2 the sample variance has a relative standard deviation of
# sqrt(2 / N) for a normal and sqrt(0.8 / N) for a uniform; the check accepts
# |var / (2 / d_in) - 1| <= 6 sqrt(2 / N): 0.017 for the (1000, 250) layer,
# 0.019 for (300, 700), 0.027 for (4, 25000), about 1e-9 to reject a correct draw.
# The nearest wrong variance in the two wide layers is 0.8 times He's (Xavier's for
# (1000, 250)), more than 10 tolerances away; a fan-in off by one (2/5 or 2/3 for
# 2/4) is 0.8 or 1.33 times He's on the narrow layer, 7 tolerances away or more.
# The mean must lie within 6 s / sqrt(N) of 0. With the right variance, the tails
# are judged too: the sample excess kurtosis of a normal draw is 0 with a standard
# deviation of about sqrt(24 / N) (0.0098 for the (1000, 250) layer), and the check
# refuses more than 8 of them. A Laplace draw gives 3, a Student t(5) 6; a uniform
# (He-uniform, a valid variant) gives -1.2, so light tails are never refused.


@dataclass(frozen=True)
class VarianceMistake:
    """A wrong initialisation recognised by the variance of its draw."""

    explanation: str  # e.g. "you divided by the fan-out."
    variance: Callable[[int, int], float]  # the variance it gives a (d_in, d_out) layer
    hint: str = ""
    uniform_only: bool = False  # only if the draw looks uniform (bounded at sqrt(3) std)


_HE_HINT = "W = rng.normal(0.0, np.sqrt(2 / d_in), size=(d_in, d_out))."

HE_MISTAKES = [
    VarianceMistake(
        "you drew U(−a, a) with a = √(2/d_in); a uniform on [−a, a] has variance a²/3, "
        "3 times too small.",
        lambda d_in, d_out: 2.0 / d_in / 3.0,
        "For a uniform, a = np.sqrt(6 / d_in) gives the variance 2 / d_in. Or: " + _HE_HINT,
        uniform_only=True,
    ),
    VarianceMistake(
        "you divided by d_out (the fan-out) instead of d_in (the fan-in): the classic bug "
        "of a formula written for torch's (out, in) weight layout.",
        lambda d_in, d_out: 2.0 / d_out,
        "In the book's layout W is (d_in, d_out), so fan_in = W.shape[0] = d_in. " + _HE_HINT,
    ),
    *(
        VarianceMistake(explanation, variance, _HE_HINT)
        for explanation, variance in {  # explanation -> the variance of a (d_in, d_out) layer
            "your variance is Xavier/Glorot's, 2/(d_in + d_out), made for tanh; He's for "
            "ReLU is 2/d_in.": lambda d_in, d_out: 2.0 / (d_in + d_out),
            "your variance is 1/d_in (LeCun's): He's doubles it, because ReLU zeroes half of "
            "its inputs.": lambda d_in, d_out: 1.0 / d_in,
            "you passed the variance 2/d_in as the standard deviation: the scale of rng.normal "
            "is the standard deviation, √(2/d_in).": lambda d_in, d_out: (2.0 / d_in) ** 2,
            "your variance is 4/d_in, twice He's: did you multiply by 2 instead "
            "of √2?": lambda d_in, d_out: 4.0 / d_in,
        }.items()
    ),
    *(
        VarianceMistake(
            "your fan-in is off by one (2/(d_in ± 1)): the fan-in is d_in, the number of "
            "inputs of a unit (a bias is not one of them). It shows on a narrow layer.",
            lambda d_in, d_out, d=d: 2.0 / (d_in + d),
            _HE_HINT,
        )
        for d in (1, -1)
    ),
]


def _he_statistics_problem(W: np.ndarray, d_in: int, d_out: int) -> Judgement:
    n, mean, var, target = W.size, float(W.mean()), float(W.var()), 2.0 / d_in
    if abs(mean) > 6.0 * np.sqrt(var / n):
        return (
            f"your weights are not centred on 0: their mean is {mean:.3g}",
            "Draw from a distribution centred on 0: rng.normal(0.0, std, size) or "
            "rng.uniform(-a, a, size), not rng.random (which lies in [0, 1)).",
        )
    tol = 6.0 * float(np.sqrt(2.0 / n))  # 6 relative standard deviations of var
    if abs(var / target - 1) <= tol:
        excess = float(np.mean(np.asarray(W - mean) ** 4)) / var**2 - 3.0  # a normal's: 0 ± sd
        sd = float(np.sqrt(24.0 / n))  # a uniform's is -1.2: only heavy tails are refused
        if excess <= 8.0 * sd:
            return None
        return (
            f"your variance is right, but your weights have heavier tails than a normal draw: "
            f"their excess kurtosis is {excess:.3g}, where a normal gives 0 ± {sd:.2g}",
            "Draw from a normal (or a uniform U(-a, a), a = np.sqrt(6 / d_in)), not from "
            "rng.laplace or rng.standard_t: " + _HE_HINT,
        )
    measured = f"The variance of your W is {var:.4g}, He's is 2/d_in = {target:.4g}"
    uniform = float(np.abs(W).max()) < 2.0 * np.sqrt(var)  # normal: about 4.5 std
    for mistake in HE_MISTAKES:
        matches = abs(var / mistake.variance(d_in, d_out) - 1) <= tol
        if matches and (uniform or not mistake.uniform_only):
            return f"{mistake.explanation} {measured}", mistake.hint
    return (
        f"the variance of your W is {var:.4g}, {var / target:.3g} times He's 2/d_in = {target:.4g}",
        _HE_HINT + " The scale of rng.normal is the standard deviation.",
    )


def _independence_problem(W: np.ndarray) -> Judgement:
    """Weights repeated along an axis, or neighbours correlated: not independent draws.

    For independent draws the correlation of neighbours along an axis has a standard
    deviation of 1 / sqrt(n) over its n pairs; the check accepts |rho| <= 6 / sqrt(n)
    (0.012 for the (1000, 250) layer), far below the rho = 1 of a repeated row.
    """
    hint = (
        "Draw every weight independently, in one call with the full shape: "
        "rng.normal(0.0, np.sqrt(2 / d_in), size=(d_in, d_out)), without sorting, "
        "repeating or broadcasting it."
    )
    if W.size > 1 and bool(np.all(W == W.flat[0])):
        return f"every weight of W has the same value, {float(W.flat[0]):.4g}", hint
    axis = _repeated_axis(W)
    if axis is not None:
        what = "row" if axis == 0 else "column"
        return (
            f"every {what} of W is the same: you drew one {what} and repeated it "
            "(np.tile, or broadcasting)",
            hint,
        )
    if W.size < 100_000:
        return None
    for axis in range(W.ndim):
        a = np.moveaxis(W, axis, 0)  # W has a case's shape: both axes >= 4
        first, second = a[:-1].ravel(), a[1:].ravel()
        rho = float(np.corrcoef(first, second)[0, 1])
        if np.isfinite(rho) and abs(rho) > 6.0 / np.sqrt(first.size):
            return (
                f"neighbouring weights of W are correlated (correlation {rho:.3f} along axis "
                f"{axis}, where independent draws give about 0 ± {1 / np.sqrt(first.size):.3f}):"
                " were they sorted or reordered?",
                hint,
            )
    return None


def _judge_he_init(check: JudgedCheck, outputs: tuple[Any, ...], case: Case) -> Judgement:
    d_in, d_out, _ = case.args
    (W,) = outputs
    if isinstance(W, np.ndarray) and W.shape == (d_out, d_in) and d_in != d_out:
        return (
            f"W has shape {W.shape}, torch's (out, in) layout, but the book's weights are "
            f"(d_in, d_out) = {(d_in, d_out)}",
            "Draw size=(d_in, d_out): x @ W maps a (B, d_in) batch to (B, d_out).",
        )
    problem = array_problem(W, (d_in, d_out), "W")
    if problem is None and not np.issubdtype(W.dtype, np.floating):
        return f"W has dtype {W.dtype}, not floats", "Draw with rng.normal, which returns floats."
    problem = problem or _independence_problem(W)
    if problem is None and W.size >= 100_000:  # smaller layers: shape, independence, rng use
        problem = _he_statistics_problem(W, d_in, d_out)
    return problem or rng_problem(check, case, W, rng_index=2)


def _he_reference(d_in: int, d_out: int, rng: np.random.Generator) -> np.ndarray:
    """He initialisation in the book's (d_in, d_out) layout, from dlbook.nn.init."""
    return init_weights((d_in, d_out), "he", rng, activation="relu")


def _he_cases(rng: np.random.Generator) -> list[Case]:
    return [
        Case((1000, 250, SeededRng(1)), label="a (1000, 250) layer"),
        Case((300, 700, SeededRng(2)), label="a (300, 700) layer"),
        # fan-in 4: a fan-in off by one (d_in + 1 for a bias) changes the variance by 20%
        Case((4, 25_000, SeededRng(4)), label="a narrow (4, 25000) layer, fan-in 4"),
        Case((3, 5, SeededRng(3)), label="a small (3, 5) layer", stress=True),
    ]


HE_INIT = JudgedCheck(
    name="he_init",
    reference=_he_reference,
    make_cases=_he_cases,
    task="Return W of shape (d_in, d_out) drawn from N(0, 2 / d_in) with rng.",
    judge=_judge_he_init,
)


check_he_init = HE_INIT.checker(
    "Check ``fn(d_in, d_out, rng) -> W``: shape (d_in, d_out), mean 0, variance 2 / d_in."
)


# ---------------------------------------------------------------------------
# 6. warmup_cosine_lr(step, base_lr, warmup_steps, total_steps, eta_min) -> float
# ---------------------------------------------------------------------------
#
# With W = warmup_steps, T = total_steps and s = 1/3 (torch LinearLR's default):
#   lr_t = base_lr (s + (1 - s) t / W)                                     t < W
#   lr_t = eta_min + (base_lr - eta_min) (1 + cos(pi (t - W) / (T - W))) / 2   t >= W
# A step that differs is diagnosed by calling the learner's function at every
# step 0..T and comparing the whole curve with each known mistake's.

START_FACTOR = 1.0 / 3.0  # the warm-up starts at base_lr / 3, as torch's LinearLR


def _warmup_cosine_reference(step, base_lr, warmup_steps, total_steps, eta_min):
    """dlbook.optim.schedules.WarmupCosine, torch's SequentialLR(LinearLR, CosineAnnealingLR)."""
    schedule = WarmupCosine(base_lr, warmup_steps, total_steps, eta_min, START_FACTOR)
    return schedule.lr_at(step)


def _schedule(step, b, W, T, eta, *, slip=""):
    """The schedule written out, with one of the slips of SCHEDULE_MISTAKES."""
    start = {"at_base_lr": 1.0, "from_zero": 0.0, "ahead": 0.0}.get(slip, START_FACTOR)
    if step < W and slip != "no_warmup":
        ahead = 1 if slip == "ahead" else 0
        return b * (start + (1 - start) * (step + ahead) / W)
    t = step - (0 if slip in ("no_warmup", "from_0", "from_0_over_T") else W)
    t += {"late": 1, "early": -1}.get(slip, 0)
    period = T - (0 if slip in ("no_warmup", "over_T", "from_0_over_T") else W)
    period += {"shorter": -1, "longer": 1}.get(slip, 0)
    low = 0.0 if slip in ("no_eta", "eta_on_top") else eta
    lr = low + (b - low) * (1.0 if slip == "no_half" else 0.5) * (1 + np.cos(np.pi * t / period))
    return eta + lr if slip == "eta_on_top" else lr


_FROM_ZERO = "your cosine counts its steps from 0 instead of from the end of the warm-up."
_BOUNDARY = (
    "off by one at the boundary: your cosine starts one step late or early, so the "
    "step warmup_steps is not exactly base_lr."
)
_AT_END = "off by one at the end: your cosine reaches eta_min one step early or late."
_AT_W = "At step = warmup_steps the cosine is at its own step 0: cos(0) = 1, lr = base_lr."
_LASTS = "The cosine lasts total_steps - warmup_steps steps: lr = eta_min at total_steps."
_WARMUP = "lr = base_lr * (1/3 + (2/3) * step / warmup_steps)"

SCHEDULE_MISTAKES = slip_mistakes(
    _schedule,
    {
        "at_base_lr": "your schedule has no warm-up: it starts at base_lr.",
        "no_warmup": "your schedule has no warm-up: one cosine over all total_steps.",
        "from_zero": "your warm-up starts at 0; torch's LinearLR (and this exercise) starts at "
        "base_lr / 3.",
        "ahead": "your warm-up is one step ahead: (step + 1) / warmup_steps.",
        "no_half": "your cosine is missing the factor 1/2: (1 + cos) runs from 2 to 0, so the "
        "schedule jumps to twice base_lr.",
        "over_T": "your cosine runs over total_steps instead of total_steps − warmup_steps: it "
        "has not reached eta_min at the last step.",
        **dict.fromkeys(("from_0", "from_0_over_T"), _FROM_ZERO),
        **dict.fromkeys(("late", "early"), _BOUNDARY),
        **dict.fromkeys(("shorter", "longer"), _AT_END),
        "no_eta": "your cosine ignores eta_min: it decays to 0.",
        "eta_on_top": "you added eta_min without taking it off base_lr: the cosine must run "
        "from base_lr down to eta_min.",
    },
    "eta_min + (base_lr - eta_min) * (1 + cos(...)) / 2.",
    hints={
        "at_base_lr": "Climb linearly from base_lr / 3 at step 0 to base_lr at step warmup_steps.",
        "no_warmup": "Climb linearly for warmup_steps steps, then half a cosine over the "
        "remaining total_steps - warmup_steps.",
        "from_zero": _WARMUP + " for step < warmup_steps.",
        "ahead": _WARMUP + ": base_lr / 3 at step 0.",
        "no_half": "eta_min + (base_lr - eta_min) * (1 + cos(pi * t / T)) / 2.",
        "over_T": "The cosine starts after the warm-up: its length is total_steps - warmup_steps.",
        "from_0": "Use t = step - warmup_steps inside the cosine: it must start at base_lr.",
        "from_0_over_T": "Use step - warmup_steps inside the cosine, over total_steps - "
        "warmup_steps.",
        **dict.fromkeys(("late", "early"), _AT_W),
        **dict.fromkeys(("shorter", "longer"), _LASTS),
    },
)


def _sweep(check: JudgedCheck, case: Case) -> np.ndarray | None:
    """The learner's lr at every step 0..total_steps, or None if any call goes wrong."""
    _, *config = case.args
    curve = []
    for step in range(config[2] + 1):
        call = check.call_again(step, *config)
        value = as_number(call.value) if call.error is None and not call.timed_out else None
        if value is None:
            return None
        curve.append(value)
    return np.array(curve)


def _phase(step: int, warmup: int, total: int) -> str:
    if step < warmup:
        return "during the warm-up"
    if step == warmup:
        return "at the end of the warm-up, where lr = base_lr"
    if step == total:
        return "at the last step, where lr = eta_min"
    return "during the cosine"


def _judge_schedule(check: JudgedCheck, outputs: tuple[Any, ...], case: Case) -> Judgement:
    (got,) = outputs
    step, base_lr, warmup, total, eta_min = case.args
    value = as_number(got)
    if value is None:
        return (
            f"your warmup_cosine_lr returned {describe_type(got)}, but a number was expected",
            type_hint(got) if got is None else "Return one float: the lr of this one step.",
        )
    if not np.isfinite(value):
        return "your lr is NaN or inf", "Look for a division by zero (warmup_steps? T - W?)."
    expected = check.reference(*case.args)
    if isclose(value, expected, rtol=check.rtol, atol=check.atol):
        return None
    at = f"At step {step} you return {value:.6g} where {expected:.6g} is expected"
    curve = _sweep(check, case)
    if curve is not None:
        for mistake in check.mistakes:  # none divides by 0 here: W and every period > 0
            wrong = [mistake.fn(t, base_lr, warmup, total, eta_min) for t in range(total + 1)]
            if allclose(curve, wrong, rtol=check.rtol, atol=check.atol):
                return f"{mistake.explanation} {at}", mistake.hint
    return (
        f"{at[0].lower()}{at[1:]} ({_phase(step, warmup, total)})",
        "Warm-up: base_lr * (1/3 + (2/3) * step / W) for step < W; then "
        "eta_min + (base_lr - eta_min) * (1 + cos(pi * (step - W) / (T - W))) / 2.",
    )


def _schedule_cases(rng: np.random.Generator) -> list[Case]:
    a = (0.1, 10, 50, 0.001)  # base_lr, warmup_steps, total_steps, eta_min
    b = (3e-4, 5, 25, 0.0)
    ends = {(0, 50), (50, 50), (25, 25)}  # edge cases: the first and the last step
    return [
        Case((s, *a), label=f"step {s} of 50", stress=(s, 50) in ends)
        for s in (0, 5, 9, 10, 11, 30, 49, 50)
    ] + [Case((s, *b), label=f"step {s} of 25", stress=(s, 25) in ends) for s in (0, 2, 5, 15, 25)]


WARMUP_COSINE_LR = JudgedCheck(
    name="warmup_cosine_lr",
    reference=_warmup_cosine_reference,
    make_cases=_schedule_cases,
    task="Return the lr of one step: a linear warm-up from base_lr / 3 to base_lr over "
    "warmup_steps, then half a cosine down to eta_min at total_steps.",
    mistakes=SCHEDULE_MISTAKES,
    judge=_judge_schedule,
    rtol=1e-6,
    atol=1e-12,
)


check_warmup_cosine_lr = WARMUP_COSINE_LR.checker(
    "Check ``fn(step, base_lr, warmup_steps, total_steps, eta_min) -> lr`` (a float)."
)

__all__ = [
    "VarianceMistake",
    "check_adam_decay_step",
    "check_adam_step",
    "check_dropout_backward",
    "check_dropout_forward",
    "check_he_init",
    "check_momentum_step",
    "check_warmup_cosine_lr",
]
