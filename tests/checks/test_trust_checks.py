"""Chapter 11's checks: the reference passes, and each classic mistake is rejected by name.

The wrong implementations below are written the way a learner would write them,
independently of the check's own mistake functions, so that a test fails if a
check stops recognising a mistake it claims to name.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from dlbook.checks import trust as trust_checks
from dlbook.checks.trust import (
    TanhScore,
    check_clip_per_example,
    check_fgsm,
    check_integrated_gradients,
    check_membership_advantage,
)

# ---------------------------------------------------------------------------
# Correct solutions, written as the solutions notebook writes them
# ---------------------------------------------------------------------------


def clip_per_example(grads, max_norm):
    norms = np.sqrt((grads**2).sum(axis=1, keepdims=True))
    return grads * np.minimum(1.0, max_norm / np.maximum(norms, 1e-12))


def integrated_gradients(grad_fn, x, baseline, steps=50):
    alphas = (np.arange(steps) + 0.5) / steps
    points = baseline + alphas.reshape(-1, *[1] * x.ndim) * (x - baseline)
    return (x - baseline) * grad_fn(points).mean(axis=0)


def fgsm(x, grad, epsilon, lo=None, hi=None):
    x_adv = x + epsilon * np.sign(grad)
    if lo is not None or hi is not None:
        x_adv = np.clip(x_adv, lo, hi)
    return x_adv


def membership_advantage(member_scores, nonmember_scores):
    best = 0.0
    for tau in np.concatenate([member_scores, nonmember_scores]):
        tpr = np.mean(member_scores >= tau)
        fpr = np.mean(nonmember_scores >= tau)
        best = max(best, tpr - fpr)
    return best


# name -> (check, dlbook's reference, a learner's correct solution); test_every_check.py
# runs the problems every check must explain (stub, crash, NaN, type, shape, runaway) on these.
CHECKS = {
    "clip_per_example": (
        check_clip_per_example,
        trust_checks._clip_reference,
        clip_per_example,
    ),
    "integrated_gradients": (
        check_integrated_gradients,
        trust_checks._ig_reference,
        integrated_gradients,
    ),
    "fgsm": (check_fgsm, trust_checks._fgsm_reference, fgsm),
    "membership_advantage": (
        check_membership_advantage,
        trust_checks._advantage_reference,
        membership_advantage,
    ),
}


def test_checks_are_deterministic_and_leave_global_rng_alone():
    state = np.random.get_state()[1].copy()
    wrong = lambda g, C: np.clip(g, -C, C)  # noqa: E731
    assert str(check_clip_per_example(wrong)) == str(check_clip_per_example(wrong))
    assert np.array_equal(np.random.get_state()[1], state)


def test_written_out_mistake_functions_are_right_with_no_switch():
    """The mistakes flip switches of written-out versions: with none flipped, they are right."""
    rng = np.random.default_rng(0)
    pairs = [
        (trust_checks._clip_cases, trust_checks._clip, trust_checks._clip_reference),
        (trust_checks._ig_cases, trust_checks._ig, trust_checks._ig_reference),
        (trust_checks._fgsm_cases, trust_checks._fgsm, trust_checks._fgsm_reference),
        (trust_checks._advantage_cases, trust_checks._advantage, trust_checks._advantage_reference),
    ]
    for make_cases, ours, reference in pairs:
        for case in make_cases(rng):
            expected = reference(*case.args, **case.kwargs)
            assert np.allclose(ours(*case.args, **case.kwargs), expected, rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------------------
# 1. clip_per_example
# ---------------------------------------------------------------------------


def _norms(g, axis=1):
    return np.sqrt((g**2).sum(axis=axis, keepdims=True))


def _clip_in_place(grads, max_norm):
    grads *= np.minimum(1.0, max_norm / np.maximum(_norms(grads), 1e-12))
    return grads


@pytest.mark.parametrize(
    "student, words",
    [
        (lambda g, C: g * min(1.0, C / np.sqrt((g**2).sum())), "norm of the whole batch"),
        (lambda g, C: np.clip(g, -C, C), "each coordinate"),
        (lambda g, C: g / _norms(g) * C, "short ones were scaled up"),
        (lambda g, C: g / _norms(g) * np.minimum(_norms(g), C), "zero gradient became NaN"),
        (lambda g, C: g * np.minimum(1.0, C / _norms(g, axis=0)), "wrong axis"),
        (lambda g, C: g * np.minimum(1.0, C / np.maximum(_norms(g) ** 2, 1e-12)), "squared norm"),
        (lambda g, C: g * np.maximum(1.0, C / np.maximum(_norms(g), 1e-12)), "max instead of min"),
        (_clip_in_place, "changed its input `grads` in place"),
    ],
)
def test_clip_per_example_mistakes(student, words):
    result = check_clip_per_example(student)
    assert not result.passed
    assert words in result.text, str(result)


def test_clip_cases_have_gradients_on_both_sides_of_the_bound():
    for case in trust_checks._clip_cases(np.random.default_rng(0)):
        grads, C = case.args
        norms = np.linalg.norm(grads, axis=1)
        assert (norms > C).any() and (norms < C).any()


def test_clip_reference_follows_opacus_style_torch_clipping():
    torch = pytest.importorskip("torch")
    for case in trust_checks._clip_cases(np.random.default_rng(0)):
        grads, C = case.args
        g = torch.tensor(grads)
        factor = (C / (g.norm(dim=1, keepdim=True) + 1e-6)).clamp(max=1.0)  # Opacus' formula
        assert np.allclose(trust_checks._clip_reference(grads, C), (g * factor).numpy(), atol=1e-6)


# ---------------------------------------------------------------------------
# 2. integrated_gradients
# ---------------------------------------------------------------------------


def _learner_ig(*, alphas=lambda m: (np.arange(m) + 0.5) / m, factor=True, at_x=False,
                reverse=False, reduce=np.mean):  # fmt: skip
    """A learner's integrated gradients with one slip."""

    def fn(grad_fn, x, baseline, steps=50):
        a = alphas(steps)
        start, end = (x, baseline) if reverse else (baseline, x)
        points = np.stack([start + ai * (end - start) for ai in a])
        grads = grad_fn(x[None]) if at_x else grad_fn(points)
        avg = reduce(grads, axis=0)
        return (end - start) * avg if factor else avg

    return fn


def _trapezoid(grad_fn, x, baseline, steps=50):
    alphas = np.linspace(0, 1, steps + 1)
    grads = grad_fn(np.stack([baseline + a * (x - baseline) for a in alphas]))
    return (x - baseline) * np.trapezoid(grads, dx=1 / steps, axis=0)


def _one_point_at_a_time(grad_fn, x, baseline, steps=50):
    alphas = (np.arange(steps) + 0.5) / steps
    grads = [grad_fn(baseline + a * (x - baseline)) for a in alphas]
    return (x - baseline) * np.mean(grads, axis=0)


@pytest.mark.parametrize(
    "student, words",
    [
        (_learner_ig(factor=False), "forgot the factor (x − baseline)"),
        (_learner_ig(at_x=True), "gradient at x only"),
        (_learner_ig(reverse=True), "wrong sign"),
        (_learner_ig(alphas=lambda m: np.arange(m) / m), "left Riemann sum"),
        (_learner_ig(alphas=lambda m: np.arange(1, m + 1) / m), "right Riemann sum"),
        (_learner_ig(alphas=lambda m: np.linspace(0, 1, m)), "np.linspace(0, 1, steps)"),
        (_trapezoid, "trapezoid rule"),
        (_learner_ig(reduce=np.sum), "summed the gradients"),
        (_one_point_at_a_time, "grad_fn takes a batch of points"),
    ],
)
def test_integrated_gradients_mistakes(student, words):
    result = check_integrated_gradients(student)
    assert not result.passed
    assert words in result.text, str(result)


def test_a_loop_over_batches_of_one_point_is_accepted():
    def loop(grad_fn, x, baseline, steps=50):
        alphas = (np.arange(steps) + 0.5) / steps
        grads = [grad_fn((baseline + a * (x - baseline))[None])[0] for a in alphas]
        return (x - baseline) * np.mean(grads, axis=0)

    assert check_integrated_gradients(loop).passed


def test_tanh_score_gradient_matches_finite_differences_and_completeness():
    fn = TanhScore((3, 4), seed=2)
    x = np.random.default_rng(0).uniform(size=(3, 4))
    h, grad = 1e-6, fn(x[None])[0]
    for index in [(0, 0), (1, 2), (2, 3)]:
        e = np.zeros_like(x)
        e[index] = h
        numeric = (fn.score((x + e)[None]) - fn.score((x - e)[None]))[0] / (2 * h)
        assert numeric == pytest.approx(grad[index], rel=1e-6, abs=1e-9)
    baseline = np.full((3, 4), 0.5)
    attributions = trust_checks._ig_reference(fn, x, baseline, 200)
    gap = fn.score(x[None])[0] - fn.score(baseline[None])[0]
    assert attributions.sum() == pytest.approx(gap, rel=1e-4)


def test_tanh_score_copies_and_shows_without_an_address():
    fn = TanhScore((5,), seed=3)
    points = np.ones((2, 5))
    assert np.array_equal(copy.deepcopy(fn)(points), fn(points))
    assert " at 0x" not in repr(fn) and len(repr(fn)) <= 40


# ---------------------------------------------------------------------------
# 3. fgsm
# ---------------------------------------------------------------------------


def _learner_fgsm(*, step=np.sign, sign=1, clip=True, bounds=None):
    def fn(x, grad, epsilon, lo=None, hi=None):
        x_adv = x + sign * epsilon * step(grad)
        if bounds is not None:
            return np.clip(x_adv, *bounds)
        if clip and (lo is not None or hi is not None):
            return np.clip(x_adv, lo, hi)
        return x_adv

    return fn


@pytest.mark.parametrize(
    "student, words",
    [
        (_learner_fgsm(step=lambda g: g), "along grad instead of sign(grad)"),
        (_learner_fgsm(sign=-1), "you subtracted"),
        (_learner_fgsm(clip=False), "did not clip"),
        (_learner_fgsm(bounds=(0, 1)), "[0, 1] instead of [lo, hi]"),
        (_learner_fgsm(step=lambda g: np.where(g > 0, 1.0, -1.0)), "sign(0) = 0"),
        (_learner_fgsm(step=lambda g: np.where(g < 0, -1.0, 1.0)), "sign(0) = 0"),
        (_learner_fgsm(step=lambda g: g / np.linalg.norm(g)), "L2"),
    ],
)
def test_fgsm_mistakes(student, words):
    result = check_fgsm(student)
    assert not result.passed
    assert words in result.text, str(result)


def test_fgsm_clip_is_active_in_the_first_case():
    x, grad, epsilon, lo, hi = trust_checks._fgsm_cases(np.random.default_rng(0))[0].args
    unclipped = x + epsilon * np.sign(grad)
    assert (unclipped < lo).any() and (unclipped > hi).any()


# ---------------------------------------------------------------------------
# 4. membership_advantage
# ---------------------------------------------------------------------------


def _rates(m, n, tau):
    return np.mean(m >= tau), np.mean(n >= tau)


def _learner_advantage(gap):
    def fn(member_scores, nonmember_scores):
        taus = np.concatenate([member_scores, nonmember_scores])
        gaps = []
        for tau in taus:
            tpr, fpr = _rates(member_scores, nonmember_scores, tau)
            gaps.append(gap(tpr, fpr, len(member_scores), len(nonmember_scores)))
        return max(gaps)

    return fn


def _one_threshold(center):
    def fn(m, n):
        tpr, fpr = _rates(m, n, center(np.concatenate([m, n])))
        return tpr - fpr

    return fn


@pytest.mark.parametrize(
    "student, words",
    [
        (_learner_advantage(lambda t, f, a, b: (t + 1 - f) / 2), "balanced accuracy"),
        (_learner_advantage(lambda t, f, a, b: (t * a + (1 - f) * b) / (a + b)), "accuracy"),
        (_learner_advantage(lambda t, f, a, b: f - t), "FPR − TPR"),
        (_learner_advantage(lambda t, f, a, b: abs(t - f)), "|TPR − FPR|"),
        (_one_threshold(np.mean), "single threshold"),
        (_one_threshold(np.median), "single threshold"),
    ],
)
def test_membership_advantage_mistakes(student, words):
    result = check_membership_advantage(student)
    assert not result.passed
    assert words in result.text, str(result)


def test_a_curve_from_scikit_learn_is_accepted():
    metrics = pytest.importorskip("sklearn.metrics")

    def with_sklearn(m, n):
        labels = np.concatenate([np.ones(len(m)), np.zeros(len(n))])
        fpr, tpr, _ = metrics.roc_curve(labels, np.concatenate([m, n]))
        return float(np.max(tpr - fpr))

    assert check_membership_advantage(with_sklearn).passed


# ---------------------------------------------------------------------------
# Second round: more wrong answers, and unusual answers that are right
# ---------------------------------------------------------------------------


def _ig_fifty_steps(grad_fn, x, baseline, steps=50):
    alphas = (np.arange(50) + 0.5) / 50  # the default hard-coded
    points = baseline + alphas.reshape(-1, *[1] * x.ndim) * (x - baseline)
    return (x - baseline) * grad_fn(points).mean(axis=0)


def _ig_path_from_zero(grad_fn, x, baseline, steps=50):
    alphas = (np.arange(steps) + 0.5) / steps
    points = np.multiply.outer(alphas, x)
    return (x - baseline) * grad_fn(points).mean(axis=0)


def _ig_times_input(grad_fn, x, baseline, steps=50):
    alphas = (np.arange(steps) + 0.5) / steps
    points = baseline + np.multiply.outer(alphas, x - baseline)
    return x * grad_fn(points).mean(axis=0)


def _ks_statistic(member_scores, nonmember_scores):
    stats = pytest.importorskip("scipy.stats")
    return float(stats.ks_2samp(member_scores, nonmember_scores).statistic)


def _fgsm_truthy_bounds(x, grad, epsilon, lo=None, hi=None):
    x_adv = x + epsilon * np.sign(grad)
    if lo or hi:  # lo = 0 reads as False
        x_adv = np.clip(x_adv, lo, hi)
    return x_adv


@pytest.mark.parametrize(
    "check, student, words",
    [
        (check_integrated_gradients, _ig_fifty_steps, "ignored the argument steps"),
        (
            check_integrated_gradients,
            lambda *a, **k: _ig_fifty_steps(*a, **k).astype(np.float32),
            "ignored the argument steps",
        ),
        (check_integrated_gradients, _ig_path_from_zero, "starts at 0"),
        (check_integrated_gradients, _ig_times_input, "factor is x instead of x − baseline"),
        (check_membership_advantage, _ks_statistic, "|TPR − FPR|"),
        (check_fgsm, _fgsm_truthy_bounds, "did not clip"),
    ],
)
def test_second_round_mistakes_are_named(check, student, words):
    result = check(student)
    assert not result.passed
    assert words in result.text, str(result)


def _clip_with_a_loop(grads, max_norm):
    rows = []
    for g in grads:
        norm = np.linalg.norm(g)
        rows.append(g * min(1.0, max_norm / norm) if norm > 0 else g)
    return np.array(rows)


def _ig_midpoints_by_linspace(grad_fn, x, baseline, steps=50):
    alphas = np.linspace(0.5 / steps, 1 - 0.5 / steps, steps)
    points = baseline + np.multiply.outer(alphas, x - baseline)
    return ((x - baseline) * grad_fn(points).sum(axis=0) / steps).astype(np.float32)


def _fgsm_two_sided(x, grad, epsilon, lo=None, hi=None):
    x_adv = x + epsilon * np.sign(grad).astype(int)
    if lo is not None:
        x_adv = np.maximum(x_adv, lo)
    if hi is not None:
        x_adv = np.minimum(x_adv, hi)
    return x_adv


def _advantage_strict(member_scores, nonmember_scores):
    best = -np.inf  # every split tried, "member" iff score > tau
    for tau in member_scores:
        best = max(best, np.mean(member_scores > tau) - np.mean(nonmember_scores > tau))
        best = max(best, np.mean(member_scores >= tau) - np.mean(nonmember_scores >= tau))
    return np.float64(best)


@pytest.mark.parametrize(
    "check, student",
    [
        (check_clip_per_example, _clip_with_a_loop),
        (check_clip_per_example, lambda g, C: g / np.maximum(1.0, _norms(g) / C)),
        (check_clip_per_example, lambda g, C: g * np.minimum(1.0, C / (_norms(g) + 1e-6))),
        (check_integrated_gradients, _ig_midpoints_by_linspace),
        (check_fgsm, _fgsm_two_sided),
        (check_membership_advantage, _advantage_strict),
    ],
)
def test_unusual_but_right_answers_pass(check, student):
    result = check(student)
    assert result.passed, str(result)
