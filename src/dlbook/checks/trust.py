"""Checks for the exercises of chapter 11 (trustworthy large models).

Each check compares a learner's function with dlbook's own implementation and
recognises the classic mistakes by name::

    from dlbook.checks.trust import check_clip_per_example
    check_clip_per_example(clip_per_example)   # PASS ✅ clip_per_example: correct on 3 test cases.

The references are :func:`dlbook.privacy.numpy_backend.clip_per_example` (the
clipping step of DP-SGD), :func:`dlbook.attribution.numpy_backend.integrated_gradients`,
:func:`dlbook.adversarial.fgsm` and :func:`dlbook.privacy.membership_advantage`.

Integrated gradients asks for the midpoint rule. Left and right Riemann sums, the
trapezoid rule and ``np.linspace(0, 1, steps)`` converge to the same integral, but
they are not what the exercise asks for, and at 8 to 50 steps they differ from the
midpoint sum by far more than the check's tolerance: each is rejected by name, with
its order of accuracy. The ``grad_fn`` of the test cases is the gradient of a small
tanh network, F(x) = Σ_j c_j tanh(⟨w_j, x⟩); it takes a batch of points
``(m, *x.shape)``, and says so in words when it is given one point instead.

Shape legend: B = examples, P = parameters (one flattened gradient per row),
m = interpolation steps; x may have any shape.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlbook import adversarial, privacy
from dlbook.attribution import numpy_backend as attr_np
from dlbook.checks._core import Case, FunctionCheck
from dlbook.checks._kinds import slip_mistakes, stressed
from dlbook.privacy import numpy_backend as privacy_np

# ---------------------------------------------------------------------------
# 1. clip_per_example(grads (B, P), max_norm) -> (B, P)
# ---------------------------------------------------------------------------


_clip_reference = privacy_np.clip_per_example  # row i times min(1, C / |g_i|), zero rows stay


def _clip(g, C, *, slip="rows"):
    """Clipping written out, and the classic ways to get it wrong (``slip="rows"``: right)."""
    with np.errstate(all="ignore"):
        rows = np.linalg.norm(g, axis=1, keepdims=True)  # (B, 1)
        safe = np.where(rows > 0, rows, 1.0)
        return {
            "rows": lambda: g * np.minimum(1.0, C / safe),
            "global": lambda: g * min(1.0, C / np.linalg.norm(g)),
            "coordinates": lambda: np.clip(g, -C, C),
            "always": lambda: g * C / rows,
            "normalised": lambda: g / rows * np.minimum(rows, C),
            "columns": lambda: g * np.minimum(1.0, C / np.linalg.norm(g, axis=0, keepdims=True)),
            "squared": lambda: g * np.minimum(1.0, C / safe**2),
            "max": lambda: g * np.maximum(1.0, C / safe),
        }[slip]()


_ZERO_ROW = "4 examples, the first with a zero gradient (it already fits), C = 2"


def _clip_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for norms, P, C, label in (
        ([0.3, 2.5, 0.9, 4.0, 1.5], 7, 1.0, "5 examples with gradient norms 0.3 to 4, C = 1"),
        ([0.0, 5.0, 1.0, 3.0], 3, 2.0, _ZERO_ROW),
        ([0.1, 0.4, 0.2, 0.05, 0.3, 2.0], 10, 0.5, "6 examples, most below C = 0.5"),
    ):
        g = rng.normal(size=(len(norms), P))  # (B, P): random directions, scaled to the norms
        g /= np.linalg.norm(g, axis=1, keepdims=True)
        cases.append(Case((g * np.array(norms)[:, None], C), label=label))
    return stressed(cases, 1)


_CLIP_HINT = (
    "norms = np.linalg.norm(grads, axis=1, keepdims=True) (one per example, (B, 1)); "
    "scale = np.minimum(1, max_norm / norms) with a zero norm left unscaled; grads * scale."
)

_CLIP_SLIPS = {  # slip -> what the learner is told
    "global": "you clipped the norm of the whole batch (global clipping, as clip_grad_norm_ "
    "does): DP-SGD bounds each example's own gradient, so that no single example "
    "can move the sum by more than C.",
    "coordinates": "you clipped each coordinate to [−C, C]: that bounds the entries, not the L2 "
    "norm of each example's gradient, which can still reach C·√P.",
    "always": "you rescaled every gradient to norm C: the short ones were scaled up. Clipping "
    "only shrinks, min(1, C / ‖g_i‖), and leaves gradients shorter than C alone.",
    "normalised": "a zero gradient became NaN: g / ‖g‖ is 0/0 there. A zero row must stay zero; "
    "scale by min(1, C / ‖g‖) with the zero norms left unscaled.",
    "columns": "you took the norms over the wrong axis (axis 0, one per parameter across the "
    "batch): each row is one example's gradient, so its norm runs over axis 1.",
    "squared": "you compared C with the squared norm ‖g‖²: take the square root, "
    "np.linalg.norm or np.sqrt((g ** 2).sum(axis=1)).",
    "max": "you used max instead of min: max(1, C / ‖g‖) scales the short gradients up "
    "to C and leaves the long ones unclipped.",
}

CLIP_PER_EXAMPLE = FunctionCheck(
    name="clip_per_example",
    reference=_clip_reference,
    make_cases=_clip_cases,
    task="Return grads with row i scaled by min(1, max_norm / ‖g_i‖) (a zero row stays zero).",
    nan_hint="A zero gradient has norm 0, and 0/0 is NaN: leave a zero row as it is.",
    mistakes=slip_mistakes(_clip, _CLIP_SLIPS, _CLIP_HINT),
)


check_clip_per_example = CLIP_PER_EXAMPLE.checker(
    "Check ``fn(grads (B, P), max_norm) -> (B, P)``: each row clipped to norm <= max_norm."
)

# ---------------------------------------------------------------------------
# 2. integrated_gradients(grad_fn, x, baseline, steps=50) -> attributions, x's shape
# ---------------------------------------------------------------------------


class TanhScore:
    """F(x) = Σ_j c_j tanh(⟨w_j, x⟩) and its gradient, over a batch of points.

    Calling it is the ``grad_fn`` of the exercise: points ``(m, *x.shape)`` -> dF/dx
    at each point, same shape. Shown in messages by a short description, without
    a memory address. Deep copies are equal, so it can be given to a learner.
    """

    def __init__(self, shape: tuple[int, ...], seed: int, units: int = 3) -> None:
        rng = np.random.default_rng(seed)
        self.shape = shape  # the shape of one input x
        n = int(np.prod(shape))
        self.w = rng.normal(size=(units, n)) * 3.0 / np.sqrt(n)  # (J, N): tanh saturates
        self.c = rng.normal(size=units)  # (J,)

    def _flat(self, points: Any) -> np.ndarray:
        points = np.asarray(points, dtype=float)
        if points.ndim != len(self.shape) + 1 or points.shape[1:] != self.shape:
            raise ValueError(
                f"grad_fn takes a batch of points of shape (m, *x.shape) = (m, "
                f"{', '.join(map(str, self.shape))}), but got shape {points.shape}. Stack "
                "the m points on the path along a new first axis and call grad_fn once"
            )
        return points.reshape(len(points), -1)  # (m, N)

    def __call__(self, points: Any) -> np.ndarray:
        z = self._flat(points) @ self.w.T  # (m, J)
        grads = (self.c * (1.0 - np.tanh(z) ** 2)) @ self.w  # (m, N)
        return grads.reshape(np.shape(points))

    def score(self, points: Any) -> np.ndarray:
        """F at each point of a batch, (m,)."""
        return np.tanh(self._flat(points) @ self.w.T) @ self.c

    def __repr__(self) -> str:
        return "grad_fn of Σ c·tanh(w·x)"


_ig_reference = attr_np.integrated_gradients  # the midpoint rule with ``steps`` points


def _ig(grad_fn, x, baseline, steps=50, *, slip=None):
    """Integrated gradients written out; ``slip`` names one classic mistake (None: right)."""
    steps = 50 if slip == "fixed" else steps  # "fixed": the argument ignored
    start = np.zeros_like(x) if slip == "origin" else baseline  # where the path starts
    a = {
        "left": np.arange(steps) / steps,
        "right": np.arange(1, steps + 1) / steps,
        "linspace": np.linspace(0.0, 1.0, steps),
        "trapezoid": np.linspace(0.0, 1.0, steps + 1),  # steps intervals, their ends averaged
    }.get(slip, (np.arange(steps) + 0.5) / steps)  # the midpoints
    points = start + a.reshape(-1, *[1] * x.ndim) * (x - start)  # (m, *x.shape)
    grads = grad_fn(x[None]) if slip == "at_x" else grad_fn(points)  # (m, *x.shape), or (1, ...)
    avg = grads.sum(axis=0) if slip == "sum" else grads.mean(axis=0)
    if slip == "trapezoid":
        avg = (grads[:-1] + grads[1:]).sum(axis=0) / (2 * steps)
    return {"no_factor": 1.0, "reversed": baseline - x, "input": x}.get(slip, x - baseline) * avg


def _ig_cases(rng: np.random.Generator) -> list[Case]:
    x1 = rng.normal(size=6)  # (6,)
    x2 = rng.uniform(0.0, 1.0, size=(3, 4))  # (3, 4): a small image
    x3, b3 = rng.normal(size=5), rng.normal(size=5)  # (5,) and a random baseline
    cases = [
        Case((TanhScore((6,), 1), x1, np.zeros(6), 8), label="x (6,), baseline 0, 8 steps"),
        Case(
            (TanhScore((3, 4), 2), x2, np.full((3, 4), 0.5)),
            {"steps": 20},
            label="a (3, 4) image, a grey baseline of 0.5, steps=20",
        ),
        Case((TanhScore((5,), 3), x3, b3), label="a random baseline, the default steps=50"),
    ]
    return stressed(cases, 2)


_IG_HINT = (
    "alphas = (np.arange(steps) + 0.5) / steps; points = baseline + alphas[:, None] * "
    "(x - baseline) (add an axis per axis of x); return (x - baseline) * "
    "grad_fn(points).mean(axis=0)."
)

_IG_SLIPS = {  # slip -> what the learner is told
    "no_factor": "you forgot the factor (x − baseline): the mean gradient along the path is a "
    "rate, and the attribution is that rate times the displacement of each feature.",
    "input": "your factor is x instead of x − baseline (gradient × input): the attribution "
    "is the mean gradient times the displacement from the baseline.",
    "origin": "your path starts at 0 instead of at the baseline: the points are "
    "baseline + α (x − baseline), which is α x only for a baseline of 0.",
    "fixed": "you ignored the argument steps and always took 50 points: use the number "
    "of steps you are given (8 and 20 in the first two test cases).",
    "at_x": "you took the gradient at x only: (x − baseline) · ∇F(x) (gradient × input, for "
    "a baseline of 0) ignores how the gradient changes along the path, and a "
    "saturated score has almost no gradient left at x.",
    "reversed": "your path runs from x to the baseline, so your attributions have the wrong "
    "sign: integrate from the baseline to x, with the factor (x − baseline).",
    "left": "you used a left Riemann sum, α_k = k/steps: it converges to the same integral "
    "but with an error of order 1/steps, where the midpoint rule's is 1/steps². "
    "Use α_k = (k + ½)/steps.",
    "right": "you used a right Riemann sum, α_k = (k + 1)/steps: it converges to the same "
    "integral but with an error of order 1/steps, where the midpoint rule's is "
    "1/steps². Use α_k = (k + ½)/steps.",
    "linspace": "your α come from np.linspace(0, 1, steps): both ends are included and the "
    "spacing is 1/(steps − 1), so the mean over-weights the ends. Use the midpoints "
    "α_k = (k + ½)/steps.",
    "trapezoid": "you used the trapezoid rule on steps + 1 points: as accurate as the midpoint "
    "rule, but not the sum this exercise (and dlbook) computes. Use the midpoints "
    "α_k = (k + ½)/steps.",
    "sum": "you summed the gradients over the steps instead of averaging them: the "
    "integral over [0, 1] is the mean of the m samples (each has width 1/m).",
}

INTEGRATED_GRADIENTS = FunctionCheck(
    name="integrated_gradients",
    reference=_ig_reference,
    make_cases=_ig_cases,
    task="Return (x - baseline) * the mean of grad_fn over the midpoints "
    "baseline + (k + 1/2)/steps * (x - baseline), k = 0 .. steps - 1, with grad_fn called "
    "once on the (steps, *x.shape) batch.",
    error_hint="grad_fn wants all the points at once, an array of shape (steps, *x.shape).",
    mistakes=slip_mistakes(_ig, _IG_SLIPS, _IG_HINT),
)


check_integrated_gradients = INTEGRATED_GRADIENTS.checker(
    "Check ``fn(grad_fn, x, baseline, steps=50) -> attributions`` of x's shape."
)

# ---------------------------------------------------------------------------
# 3. fgsm(x, grad, epsilon, lo=None, hi=None) -> x_adv
# ---------------------------------------------------------------------------


_fgsm_reference = adversarial.fgsm  # clip(x + epsilon sign(grad), lo, hi), unclipped if no bounds


def _fgsm(x, grad, epsilon, lo=None, hi=None, *, slip=None):
    """FGSM written out; ``slip`` names one classic mistake (None: right)."""
    direction = {
        "grad": grad,
        "zero_up": np.where(grad >= 0, 1.0, -1.0),  # sign(0) taken as +1
        "zero_down": np.where(grad > 0, 1.0, -1.0),  # sign(0) taken as -1
        "l2": grad / np.linalg.norm(grad),
    }.get(slip, np.sign(grad))
    x_adv = x + (-epsilon if slip == "minus" else epsilon) * direction
    lo, hi = (0.0, 1.0) if slip == "unit" else (lo, hi)
    clipped = slip != "no_clip" and (lo is not None or hi is not None)
    return np.clip(x_adv, lo, hi) if clipped else x_adv


def _fgsm_cases(rng: np.random.Generator) -> list[Case]:
    x1 = np.where(rng.random((4, 6)) < 0.4, 0.0, rng.uniform(0.0, 1.0, size=(4, 6)))
    x1[0, :2] = 1.0  # saturated pixels, which the clip must hold at 1
    g1 = rng.normal(size=(4, 6))  # (4, 6)
    g1[1, 1] = g1[2, 3] = 0.0  # pixels the loss does not depend on
    x3 = rng.uniform(-1.0, 1.0, size=(2, 8))  # inputs normalised to [-1, 1]
    return [
        Case(
            (x1, g1, 0.1, 0.0, 1.0),
            label="a (4, 6) image in [0, 1] with black and white pixels and two zero "
            "gradients, epsilon = 0.1",
        ),
        Case(
            (rng.normal(size=(3, 5)), rng.normal(size=(3, 5)), 0.3),
            label="no bounds (lo = hi = None), epsilon = 0.3",
        ),
        Case((x3, rng.normal(size=(2, 8)), 0.25, -1.0, 1.0), label="inputs in [−1, 1], eps 0.25"),
        Case(
            (rng.uniform(0.0, 0.2, size=(3, 4)), rng.normal(size=(3, 4)), 0.15, 0.0, None),
            label="a one-sided bound: lo = 0, hi = None, epsilon = 0.15",
            stress=True,
        ),
    ]


_FGSM_HINT = (
    "x_adv = x + epsilon * np.sign(grad); then np.clip(x_adv, lo, hi) when lo or hi is given."
)

_FGSM_SLIPS = {  # slip -> what the learner is told
    "grad": "you stepped along grad instead of sign(grad): FGSM moves every feature by "
    "exactly epsilon, the largest step allowed in the L∞ ball.",
    "minus": "you subtracted: x − epsilon · sign(grad) descends the loss and makes the input "
    "easier to classify. The attack ascends, x + epsilon · sign(grad).",
    "no_clip": "you did not clip: the adversarial input must stay a valid input, in [lo, hi] "
    "(pixels in [0, 1]).",
    "unit": "you clipped to [0, 1] instead of [lo, hi]: use the bounds you are given (None "
    "means no bound).",
    **dict.fromkeys(
        ("zero_up", "zero_down"),
        "you moved the features whose gradient is 0: sign(0) = 0, and a feature the "
        "loss does not depend on should stay where it is. Use np.sign.",
    ),
    "l2": "you normalised the gradient by its L2 norm: that is the L2 'fast gradient' "
    "step. FGSM's L∞ step is epsilon · sign(grad).",
}

FGSM = FunctionCheck(
    name="fgsm",
    reference=_fgsm_reference,
    make_cases=_fgsm_cases,
    task="Return x + epsilon * sign(grad), clipped to [lo, hi] when bounds are given.",
    error_hint="lo and hi may be None, which np.clip reads as 'no bound'.",
    mistakes=slip_mistakes(_fgsm, _FGSM_SLIPS, _FGSM_HINT),
)


check_fgsm = FGSM.checker("Check ``fn(x, grad, epsilon, lo=None, hi=None) -> x_adv``.")

# ---------------------------------------------------------------------------
# 4. membership_advantage(member_scores, nonmember_scores) -> float in [0, 1]
# ---------------------------------------------------------------------------


_advantage_reference = privacy.membership_advantage  # max over tau of TPR - FPR


def _advantage(m, n, *, slip="max"):
    """The advantage written out, and the classic ways to get it wrong (``slip="max"``: right)."""
    scores = np.concatenate([m, n])
    if slip in ("mean", "median"):  # TPR - FPR at one threshold only
        tau = np.mean(scores) if slip == "mean" else np.median(scores)
        return float(np.mean(m >= tau) - np.mean(n >= tau))
    taus = np.concatenate([scores, [np.inf]])  # "member iff score >= tau" at every score, and +inf
    tpr, fpr = (m[None] >= taus[:, None]).mean(1), (n[None] >= taus[:, None]).mean(1)
    return {
        "max": np.max(tpr - fpr),
        "balanced": np.max((tpr + 1 - fpr) / 2),
        "accuracy": np.max((tpr * len(m) + (1 - fpr) * len(n)) / (len(m) + len(n))),
        "reversed": np.max(fpr - tpr),
        "abs": np.max(np.abs(tpr - fpr)),
    }[slip]


def _advantage_cases(rng: np.random.Generator) -> list[Case]:
    higher = rng.normal(1.0, 1.0, size=8), rng.normal(0.0, 1.0, size=12)  # members, non-members
    ties = np.array([3.0, 3.0, 2.0, 5.0, 1.0]), np.array([1.0, 2.0, 2.0, 3.0, 0.0, 0.0])
    lower = rng.normal(-1.0, 0.5, size=6), rng.normal(0.5, 0.5, size=6)
    return [
        Case(higher, label="8 members scoring higher on average than 12 non-members"),
        Case(ties, label="integer scores with ties", stress=True),
        Case(lower, label="members scoring lower than non-members (the attack fails)"),
    ]


_ADV_HINT = (
    "For every threshold tau among the scores: TPR = np.mean(member_scores >= tau), "
    "FPR = np.mean(nonmember_scores >= tau); return the max of TPR - FPR, and at least 0 "
    "(tau above every score gives 0 - 0)."
)

_ADV_SLIPS = {  # slip -> what the learner is told
    "balanced": "you returned the best balanced accuracy, (TPR + 1 − FPR) / 2 = (1 + advantage) "
    "/ 2: it is 0.5 for a coin toss, where the advantage is 0.",
    "accuracy": "you returned the best accuracy of the attack: it depends on how many members "
    "and non-members there are. The advantage is TPR − FPR, 0 for a coin toss.",
    "abs": "you took |TPR − FPR|: that credits the attack with the opposite rule "
    "('member' for low scores). With 'member iff score ≥ tau' the advantage is the "
    "max of TPR − FPR, which is 0 when members score lower.",
    "reversed": "you computed FPR − TPR: a higher score means 'member' here, so the advantage "
    "is TPR − FPR.",
    **dict.fromkeys(
        ("mean", "median"),
        "you used a single threshold (such as the mean or the median of the scores): "
        "the advantage is the best gap over every threshold.",
    ),
}

MEMBERSHIP_ADVANTAGE = FunctionCheck(
    name="membership_advantage",
    reference=_advantage_reference,
    make_cases=_advantage_cases,
    task="Return the max over thresholds tau of TPR - FPR, where the attack says 'member' "
    "when score >= tau: a number in [0, 1].",
    mistakes=slip_mistakes(_advantage, _ADV_SLIPS, _ADV_HINT),
)


check_membership_advantage = MEMBERSHIP_ADVANTAGE.checker(
    "Check ``fn(member_scores, nonmember_scores) -> float``: max over tau of TPR - FPR."
)

__all__ = [
    "TanhScore",
    "check_clip_per_example",
    "check_fgsm",
    "check_integrated_gradients",
    "check_membership_advantage",
]
