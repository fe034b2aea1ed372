"""Chapter 2's checks: the reference passes, and each classic mistake is rejected by name.

The wrong implementations below are written the way a learner would write them,
independently of the check's own mistake functions, so that a test fails if a
check stops recognising a mistake it claims to name.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from dlbook.checks import optimization as opt_checks
from dlbook.checks.optimization import (
    HE_MISTAKES,
    check_adam_decay_step,
    check_adam_step,
    check_dropout_backward,
    check_dropout_forward,
    check_he_init,
    check_momentum_step,
    check_warmup_cosine_lr,
)
from dlbook.nn.init import init_weights
from dlbook.optim import numpy_backend as optim_np
from dlbook.optim.schedules import WarmupCosine
from dlbook.regularization import numpy_backend as reg_np
from tests.checks.bad_solutions import runaway as _runaway

# ---------------------------------------------------------------------------
# Correct solutions, written as the solutions notebook writes them
# ---------------------------------------------------------------------------


def momentum_step(w, g, v, lr, mu):
    v_new = mu * v + g
    return w - lr * v_new, v_new


def adam_step(w, g, m, v, t, lr, beta1, beta2, eps):
    m_new = beta1 * m + (1 - beta1) * g
    v_new = beta2 * v + (1 - beta2) * g**2
    m_hat, v_hat = m_new / (1 - beta1**t), v_new / (1 - beta2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m_new, v_new


def adam_decay_step(w, g, m, v, t, lr, beta1, beta2, eps, weight_decay, decoupled):
    if decoupled:
        return adam_step(w * (1 - lr * weight_decay), g, m, v, t, lr, beta1, beta2, eps)
    return adam_step(w, g + weight_decay * w, m, v, t, lr, beta1, beta2, eps)


def dropout_forward(x, p, rng, training):
    if not training:
        return x, None
    keep = rng.random(x.shape) >= p
    return x * keep / (1 - p), keep


def dropout_backward(grad_out, mask, p):
    return grad_out * mask / (1 - p)


def he_init(d_in, d_out, rng):
    return rng.normal(0.0, np.sqrt(2.0 / d_in), size=(d_in, d_out))


def warmup_cosine_lr(step, base_lr, warmup_steps, total_steps, eta_min):
    if step < warmup_steps:
        return base_lr * (1 / 3 + (2 / 3) * step / warmup_steps)
    t = (step - warmup_steps) / (total_steps - warmup_steps)
    return eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * t)) / 2


# name -> (check, dlbook's reference, a learner's correct solution); test_every_check.py
# runs the problems every check must explain (stub, crash, NaN, type, shape, runaway) on these.
CHECKS = {
    "momentum_step": (check_momentum_step, opt_checks._momentum_reference, momentum_step),
    "adam_step": (check_adam_step, opt_checks._adam_reference, adam_step),
    "adam_decay_step": (
        check_adam_decay_step,
        opt_checks._adam_decay_reference,
        adam_decay_step,
    ),
    "dropout_forward": (check_dropout_forward, opt_checks._dropout_reference, dropout_forward),
    "dropout_backward": (check_dropout_backward, reg_np.dropout_backward, dropout_backward),
    "he_init": (check_he_init, opt_checks._he_reference, he_init),
    "warmup_cosine_lr": (
        check_warmup_cosine_lr,
        opt_checks._warmup_cosine_reference,
        warmup_cosine_lr,
    ),
}

# ---------------------------------------------------------------------------
# Broken outputs for tests/checks/test_every_check.py (it runs the generic problems)
# ---------------------------------------------------------------------------


def _first_then(student, solution):
    """A function that is right on its first call and then behaves like ``student``."""
    calls = []

    def fn(*args):
        calls.append(1)
        return solution(*args) if len(calls) == 1 else student(*args)

    return fn


# name -> (NaN output, wrong type, wrong shape)
BROKEN = {
    "momentum_step": (
        lambda w, g, v, lr, mu: (w * np.nan, v),
        lambda w, g, v, lr, mu: (list(w), v),
        lambda w, g, v, lr, mu: (momentum_step(w, g, v, lr, mu)[0].sum(0), v),
    ),
    "adam_step": (
        lambda w, g, m, v, *h: (w * np.nan, m, v),
        lambda w, g, m, v, *h: (w.tolist(), m, v),
        lambda w, g, m, v, *h: (adam_step(w, g, m, v, *h)[0][None], m, v),
    ),
    "adam_decay_step": (
        lambda w, g, m, v, *h: (w * np.nan, m, v),
        lambda w, g, m, v, *h: (list(w), m, v),
        lambda w, g, m, v, *h: (adam_decay_step(w, g, m, v, *h)[0].ravel()[:2], m, v),
    ),
    "dropout_forward": (
        lambda x, p, rng, training: (x * np.nan, np.ones(x.shape)),
        lambda x, p, rng, training: (list(x), None),
        lambda x, p, rng, training: (dropout_forward(x, p, rng, training)[0].sum(0), None),
    ),
    "dropout_backward": (
        lambda g, mask, p: g * np.nan,
        lambda g, mask, p: list(g),
        lambda g, mask, p: dropout_backward(g, mask, p).sum(0),
    ),
    "he_init": (
        lambda d_in, d_out, rng: np.full((d_in, d_out), np.nan),
        lambda d_in, d_out, rng: he_init(d_in, d_out, rng).tolist(),
        lambda d_in, d_out, rng: he_init(d_in, d_in, rng),
    ),
    "warmup_cosine_lr": (
        lambda *args: float("nan"),
        lambda *args: [warmup_cosine_lr(*args)],
        lambda *args: np.full(3, warmup_cosine_lr(*args)),
    ),
}


@pytest.mark.parametrize("name", ["dropout_forward", "he_init", "warmup_cosine_lr"])
def test_a_runaway_second_call_is_stopped_too(name):
    """Judged checks call the function again (rng use, a whole schedule): under the same budget."""
    student = _first_then(_runaway, CHECKS[name][2])
    if name == "warmup_cosine_lr":  # the curve is only swept after a wrong value
        student = _first_then(_runaway, lambda *a: 2 * warmup_cosine_lr(*a))
    start = time.perf_counter()
    result = CHECKS[name][0](student, time_budget=0.5)
    assert time.perf_counter() - start < 2.0
    assert not result.passed
    if name != "warmup_cosine_lr":  # a schedule whose sweep fails is judged on one step
        assert "too slow" in result.message


def test_checks_are_deterministic_and_leave_global_rng_alone():
    state = np.random.get_state()[1].copy()
    wrong = lambda x, p, rng, training: (x, np.ones(x.shape))  # noqa: E731
    first = str(check_dropout_forward(wrong))
    assert first == str(check_dropout_forward(wrong))
    assert str(check_he_init(he_init)) == str(check_he_init(he_init))
    assert np.array_equal(np.random.get_state()[1], state)


def test_messages_show_a_generator_without_its_memory_address():
    result = check_he_init(lambda d_in, d_out, rng: np.zeros((d_out, d_in)))
    assert "rng: np.random.default_rng(1)" in result.message
    assert " at 0x" not in result.message


# ---------------------------------------------------------------------------
# The references follow dlbook's optimizers, and torch.optim, step by step
# ---------------------------------------------------------------------------


def _grads(n, shape, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=shape), [0.1 * rng.normal(size=shape) for _ in range(n)]


@pytest.mark.parametrize("weight_decay, decoupled", [(0.0, False), (0.1, False), (0.1, True)])
def test_adam_references_chain_like_the_optimizer(weight_decay, decoupled):
    """Feeding the reference its own (m, v, t) reproduces 5 steps of Adam / AdamW."""
    w0, grads = _grads(5, (3, 2))
    w = w0.copy()
    cls = optim_np.AdamW if decoupled else optim_np.Adam
    optimizer = cls([w], lr=0.05, weight_decay=weight_decay)
    ours, m, v = w0.copy(), np.zeros_like(w0), np.zeros_like(w0)
    for t, g in enumerate(grads, start=1):
        optimizer.step([g])
        args = (ours, g, m, v, t, 0.05, 0.9, 0.999, 1e-8, weight_decay, decoupled)
        ours, m, v = opt_checks._adam_decay_reference(*args)
        assert np.allclose(ours, w, rtol=1e-12, atol=0)
        assert np.allclose(m, optimizer.state[0]["exp_avg"], rtol=1e-12, atol=0)


@pytest.mark.parametrize("kind", ["momentum", "adam", "adamw"])
def test_solutions_follow_torch_optim(kind):
    torch = pytest.importorskip("torch")
    w0, grads = _grads(6, (4,), seed=1)
    param = torch.nn.Parameter(torch.tensor(w0, dtype=torch.float64))
    make = {
        "momentum": lambda: torch.optim.SGD([param], lr=0.1, momentum=0.9),
        "adam": lambda: torch.optim.Adam([param], lr=0.1, weight_decay=0.01),
        "adamw": lambda: torch.optim.AdamW([param], lr=0.1, weight_decay=0.1),
    }
    optimizer = make[kind]()
    w, a, b = w0.copy(), np.zeros(4), np.zeros(4)
    for t, g in enumerate(grads, start=1):
        param.grad = torch.tensor(g, dtype=torch.float64)
        optimizer.step()
        if kind == "momentum":
            w, a = momentum_step(w, g, a, 0.1, 0.9)
        else:
            decay = 0.1 if kind == "adamw" else 0.01
            w, a, b = adam_decay_step(w, g, a, b, t, 0.1, 0.9, 0.999, 1e-8, decay, kind == "adamw")
        assert np.allclose(w, param.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_written_out_adam_is_the_reference():
    """The mistakes switch parts of opt_checks._adam on and off: all off, it is right."""
    rng = np.random.default_rng(3)
    w, g, m = rng.normal(size=(3, 5))
    v = rng.uniform(size=5)
    for args in [(w, g, m, v, 4, 0.1, 0.9, 0.999, 0.01), (w, g, m, v, 1, 1e-3, 0.8, 0.99, 1e-8)]:
        ours_and_ref = zip(opt_checks._adam(*args), opt_checks._adam_reference(*args), strict=True)
        for ours, ref in ours_and_ref:
            assert np.allclose(ours, ref, rtol=1e-12, atol=0)


def test_schedule_reference_is_dlbooks_warmup_cosine():
    schedule = WarmupCosine(0.1, 10, 50, 0.001)
    for step in range(51):
        assert opt_checks._warmup_cosine_reference(step, 0.1, 10, 50, 0.001) == pytest.approx(
            schedule.lr_at(step), rel=1e-12
        )


# ---------------------------------------------------------------------------
# 1. momentum_step
# ---------------------------------------------------------------------------


def _momentum_in_place(w, g, v, lr, mu):
    v *= mu
    v += g
    w -= lr * v
    return w, v


def _momentum(w_of, v_of=None):
    """A momentum step whose w_new is w_of(w, g, v, lr, mu) and v_new is v_of(...)."""
    v_of = v_of or _torch_v
    return lambda *a: (w_of(*a), v_of(*a))


def _step_along(v_of, lr_in_w=True, sign=-1.0):
    """w_new = w + sign * (lr *) v_of(...): a learner's step along the velocity."""
    return lambda w, g, v, lr, mu: w + sign * (lr if lr_in_w else 1.0) * v_of(w, g, v, lr, mu)


def _torch_v(w, g, v, lr, mu):
    return mu * v + g


def _keras_v(w, g, v, lr, mu):
    return mu * v - lr * g


def _lr_in_v(w, g, v, lr, mu):
    return mu * v + lr * g


def _swapped_v(w, g, v, lr, mu):
    return lr * v + g


def _ema_v(w, g, v, lr, mu):
    return mu * v + (1 - mu) * g


@pytest.mark.parametrize(
    "student, words",
    [
        (_momentum(_step_along(_torch_v, sign=1.0)), "uphill"),
        (_momentum(_step_along(_torch_v, lr_in_w=False, sign=1.0)), "as Keras does"),
        (_momentum(_step_along(_keras_v, False, 1.0), _keras_v), "Keras' convention"),
        (_momentum(_step_along(_lr_in_v, lr_in_w=False), _lr_in_v), "lr inside the velocity"),
        (_momentum(lambda w, g, v, lr, mu: w - lr * g), "plain gradient descent"),
        (_momentum(lambda w, g, v, lr, mu: w - lr * v), "old velocity"),
        (_momentum(lambda w, g, v, lr, mu: w - mu * (lr * v + g), _swapped_v), "swapped mu"),
        (_momentum(_step_along(_ema_v), _ema_v), "moving average"),
        (_momentum(_step_along(_torch_v, lr_in_w=False)), "forgot the learning rate"),
        (_momentum(_step_along(_torch_v), lambda w, g, v, lr, mu: v), "forgot to update the v"),
        (_momentum(_step_along(_torch_v), lambda w, g, v, lr, mu: g), "just g"),
        (_momentum_in_place, "changed its input `w` in place"),
        (lambda w, g, v, lr, mu: w - lr * (mu * v + g), "a tuple of 2 arrays (w_new, v_new)"),
    ],
)
def test_momentum_mistakes(student, words):
    result = check_momentum_step(student)
    assert not result.passed
    assert words in result.text, str(result)


def test_momentum_lr_inside_explains_the_convention():
    result = check_momentum_step(lambda w, g, v, lr, mu: (w - (mu * v + lr * g), mu * v + lr * g))
    assert "valid too" in result.message and "torch.optim.SGD" in result.hint


# ---------------------------------------------------------------------------
# 2. adam_step
# ---------------------------------------------------------------------------


def _adam_like(
    *, correct_m=True, correct_v=True, shift=0, eps_in=False, keras=False, square=True,
    swap=False, sign=1, average=True, root=True, old=False, m_out="new", v_out="new",
):  # fmt: skip
    """A learner's Adam with one (or more) of the classic slips."""

    def step(w, g, m, v, t, lr, beta1, beta2, eps):
        if swap:
            beta1, beta2 = beta2, beta1
        a1, a2 = (1 - beta1, 1 - beta2) if average else (1, 1)
        m_new = beta1 * m + a1 * g
        v_new = beta2 * v + a2 * (g**2 if square else g)
        mm, vv = (m, v) if old else (m_new, v_new)
        tt = t + shift
        m_hat = mm / (1 - beta1**tt) if correct_m else mm
        v_hat = vv / (1 - beta2**tt) if correct_v else vv
        if keras:
            lr_t = lr * np.sqrt(1 - beta2**tt) / (1 - beta1**tt)
            w_new = w - sign * lr_t * mm / (np.sqrt(vv) + eps)
        elif eps_in:
            w_new = w - sign * lr * m_hat / np.sqrt(v_hat + eps)
        else:
            w_new = w - sign * lr * m_hat / ((np.sqrt(v_hat) if root else v_hat) + eps)
        hats = (m_new / (1 - beta1**t), v_new / (1 - beta2**t))
        outs = {"new": (m_new, v_new), "old": (m, v), "hat": hats}
        return w_new, outs[m_out][0], outs[v_out][1]

    return step


def _adam_in_place(w, g, m, v, t, lr, beta1, beta2, eps):
    m *= beta1
    m += (1 - beta1) * g
    v *= beta2
    v += (1 - beta2) * g**2
    return w - lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps), m, v


@pytest.mark.parametrize(
    "student, words",
    [
        (_adam_like(correct_m=False, correct_v=False), "forgot the bias correction"),
        (_adam_like(correct_v=False), "bias-corrected m but not v"),
        (_adam_like(correct_m=False), "bias-corrected v but not m"),
        (_adam_like(shift=-1), "uses t − 1"),
        (_adam_like(shift=1), "uses t + 1"),
        (_adam_like(eps_in=True), "inside the square root"),
        (_adam_like(keras=True), "Keras' epsilon placement"),
        (_adam_like(square=False), "averages g instead of g²"),
        (_adam_like(swap=True), "swapped beta1 and beta2"),
        (_adam_like(sign=-1), "wrong sign"),
        (_adam_like(average=False), "instead of averaging"),
        (_adam_like(root=False), "instead of √v̂ + ε"),
        (_adam_like(old=True), "old m and v"),
        (_adam_like(m_out="old"), "`m_new` is the old m"),
        (_adam_like(m_out="hat"), "bias-corrected m̂ as `m_new`"),
        (_adam_like(v_out="old"), "`v_new` is the old v"),
        (_adam_like(v_out="hat"), "bias-corrected v̂ as `v_new`"),
        (_adam_in_place, "changed its input `m` in place"),
        (lambda w, g, m, v, *h: adam_step(w, g, m, v, *h)[:2], "returns 2 values, but 3"),
    ],
)
def test_adam_mistakes(student, words):
    result = check_adam_step(student)
    assert not result.passed
    assert words in result.text, str(result)


def test_adam_keras_message_explains_rather_than_condemns():
    result = check_adam_step(_adam_like(keras=True))
    assert "torch's form with ε divided by √(1 − β₂ᵗ)" in result.message


# ---------------------------------------------------------------------------
# 3. adam_decay_step: AdamW versus Adam with L2
# ---------------------------------------------------------------------------


def _decay_like(adamw=None, l2=None):
    """A learner's adam_decay_step: AdamW's part and L2's part given as (w, g, lr, lam)."""
    adamw = adamw or (lambda w, g, lr, lam: (w * (1 - lr * lam), g))
    l2 = l2 or (lambda w, g, lr, lam: (w, g + lam * w))

    def step(w, g, m, v, t, lr, beta1, beta2, eps, weight_decay, decoupled):
        w_in, g_in = (adamw if decoupled else l2)(w, g, lr, weight_decay)
        return adam_step(w_in, g_in, m, v, t, lr, beta1, beta2, eps)

    return step


def _no_decay(w, g, lr, lam):
    return w, g


def _decay_after_step(w, g, m, v, t, lr, beta1, beta2, eps, weight_decay, decoupled):
    if not decoupled:
        return adam_decay_step(w, g, m, v, t, lr, beta1, beta2, eps, weight_decay, False)
    w_new, m_new, v_new = adam_step(w, g, m, v, t, lr, beta1, beta2, eps)
    return w_new * (1 - lr * weight_decay), m_new, v_new


def _decay_over_denominator(w, g, m, v, t, lr, beta1, beta2, eps, weight_decay, decoupled):
    if not decoupled:
        return adam_decay_step(w, g, m, v, t, lr, beta1, beta2, eps, weight_decay, False)
    m_new = beta1 * m + (1 - beta1) * g
    v_new = beta2 * v + (1 - beta2) * g**2
    m_hat, v_hat = m_new / (1 - beta1**t), v_new / (1 - beta2**t)
    return w - lr * (m_hat + weight_decay * w) / (np.sqrt(v_hat) + eps), m_new, v_new


def _l2_in_m_only(w, g, m, v, t, lr, beta1, beta2, eps, weight_decay, decoupled):
    if decoupled:
        return adam_decay_step(w, g, m, v, t, lr, beta1, beta2, eps, weight_decay, True)
    m_new = beta1 * m + (1 - beta1) * (g + weight_decay * w)
    v_new = beta2 * v + (1 - beta2) * g**2
    m_hat, v_hat = m_new / (1 - beta1**t), v_new / (1 - beta2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m_new, v_new


def _l2_added_to_the_step(w, g, m, v, t, lr, beta1, beta2, eps, weight_decay, decoupled):
    if decoupled:
        return adam_decay_step(w, g, m, v, t, lr, beta1, beta2, eps, weight_decay, True)
    w_new, m_new, v_new = adam_step(w, g, m, v, t, lr, beta1, beta2, eps)
    return w_new - lr * weight_decay * w, m_new, v_new


@pytest.mark.parametrize(
    "student, words",
    [
        (_decay_like(adamw=_no_decay, l2=_no_decay), "ignored weight_decay"),
        (_decay_like(adamw=lambda w, g, lr, lam: (w, g + lam * w)), "decoupled=True asks"),
        (_decay_after_step, "after the Adam step"),
        (_decay_over_denominator, "divided the decay λ·w by √v̂ + ε"),
        (_decay_like(adamw=lambda w, g, lr, lam: (w * (1 - lam), g)), "missing the factor lr"),
        (_decay_like(adamw=lambda w, g, lr, lam: (w * (1 + lr * lam), g)), "wrong sign"),
        (_decay_like(l2=lambda w, g, lr, lam: (w * (1 - lr * lam), g)), "decoupled=False asks"),
        (_l2_added_to_the_step, "decoupled=False asks for L2"),
        (_decay_like(l2=lambda w, g, lr, lam: (w, g - lam * w)), "subtracted λ·w"),
        (_decay_like(l2=lambda w, g, lr, lam: (w, g + 2 * lam * w)), "2·λ·w"),
        (_l2_in_m_only, "in m but not in v"),
    ],
)
def test_adam_decay_mistakes(student, words):
    result = check_adam_decay_step(student)
    assert not result.passed
    assert words in result.text, str(result)


# ---------------------------------------------------------------------------
# 4. dropout_forward and dropout_backward
# ---------------------------------------------------------------------------


def _dropout_like(*, keep_prob=None, scale=None, mask_of=None, at_eval=None, draw=None):
    """A learner's dropout: ``keep_prob(p)``, ``scale(p)``, what it returns as mask, at eval."""
    keep_prob = keep_prob or (lambda p: 1 - p)
    scale = scale or (lambda p: 1 / (1 - p))
    mask_of = mask_of or (lambda keep, p: keep)

    def fn(x, p, rng, training):
        if not training:
            return at_eval(x, p, rng) if at_eval else (x, None)
        u = draw(x.shape) if draw else rng.random(x.shape)
        keep = u < keep_prob(p)
        return x * keep * scale(p), mask_of(keep, p)

    return fn


def _dropout_in_place(x, p, rng, training):
    if not training:
        return x, None
    keep = rng.random(x.shape) >= p
    x *= keep / (1 - p)
    return x, keep


@pytest.mark.parametrize(
    "student, words",
    [
        (_dropout_like(scale=lambda p: 1.0), "not divided by 1 − p"),
        (_dropout_like(scale=lambda p: 1 - p), "multiplied the kept units by 1 − p"),
        (_dropout_like(keep_prob=lambda p: p), "probability 1 − p instead of p"),
        (_dropout_like(keep_prob=lambda p: 1.0), "dropped no unit"),
        (_dropout_like(keep_prob=lambda p: 1 - p / 2), "of `y` is zero, where p = 0.2"),
        (_dropout_like(mask_of=lambda keep, p: ~keep), "marks the dropped units"),
        (_dropout_like(mask_of=lambda keep, p: keep / (1 - p)), "already holds the scale"),
        (_dropout_like(mask_of=lambda keep, p: None), "`mask` is None while training"),
        (_dropout_like(at_eval=lambda x, p, rng: (x * (1 - p), None)), "by 1 − p in evaluation"),
        (_dropout_like(at_eval=lambda x, p, rng: (x / (1 - p), None)), "divided by 1 − p in eval"),
        (
            _dropout_like(at_eval=lambda x, p, rng: dropout_forward(x, p, rng, True)),
            "dropped units in evaluation mode",
        ),
        (_dropout_like(at_eval=lambda x, p, rng: (x, np.zeros(x.shape))), "nothing is dropped"),
        (_dropout_like(draw=lambda shape: np.random.random(shape)), "does not draw from `rng`"),
        (
            _dropout_like(draw=lambda shape: np.random.default_rng(0).random(shape)),
            "ignores `rng`",
        ),
        (_dropout_in_place, "changed its input `x` in place"),
        (lambda x, p, rng, training: x, "a tuple of 2 arrays (y, mask)"),
    ],
)
def test_dropout_forward_mistakes(student, words):
    result = check_dropout_forward(student)
    assert not result.passed
    assert words in result.text, str(result)


def test_dropout_forward_accepts_other_correct_draws():
    def binomial(x, p, rng, training):
        if not training:
            return x.copy(), np.ones(x.shape)
        mask = rng.binomial(1, 1 - p, size=x.shape).astype(float)
        return x * mask / (1 - p), mask

    assert check_dropout_forward(binomial).passed


@pytest.mark.parametrize(
    "student, words",
    [
        (lambda g, mask, p: g * mask, "forgot the scale 1/(1 − p)"),
        (lambda g, mask, p: g / (1 - p), "forgot the mask"),
        (lambda g, mask, p: g * mask * (1 - p), "multiplied by 1 − p instead of dividing"),
        (lambda g, mask, p: g * ~np.asarray(mask, dtype=bool) / (1 - p), "dropped units instead"),
        (lambda g, mask, p: g, "returned grad_out unchanged"),
    ],
)
def test_dropout_backward_mistakes(student, words):
    result = check_dropout_backward(student)
    assert not result.passed
    assert words in result.text, str(result)


# ---------------------------------------------------------------------------
# 5. he_init
# ---------------------------------------------------------------------------


def _normal_with_std(std_of):
    return lambda d_in, d_out, rng: rng.normal(0.0, std_of(d_in, d_out), size=(d_in, d_out))


@pytest.mark.parametrize(
    "student, words",
    [
        (_normal_with_std(lambda i, o: np.sqrt(2 / o)), "fan-out"),
        (_normal_with_std(lambda i, o: np.sqrt(2 / (i + o))), "Xavier"),
        (_normal_with_std(lambda i, o: np.sqrt(1 / i)), "LeCun"),
        (_normal_with_std(lambda i, o: 2 / i), "as the standard deviation"),
        (_normal_with_std(lambda i, o: 2 / np.sqrt(i)), "twice He's"),
        (_normal_with_std(lambda i, o: 0.01), "times He's 2/d_in"),
        (
            lambda i, o, rng: rng.uniform(-np.sqrt(2 / i), np.sqrt(2 / i), size=(i, o)),
            "variance a²/3",
        ),
        (lambda i, o, rng: rng.normal(0.0, np.sqrt(2 / i), size=(o, i)), "torch's (out, in)"),
        (lambda i, o, rng: rng.random((i, o)) * np.sqrt(6 / i), "not centred on 0"),
        (lambda i, o, rng: np.random.normal(0.0, np.sqrt(2 / i), size=(i, o)), "does not draw"),
        (
            lambda i, o, rng: np.random.default_rng(0).normal(0.0, np.sqrt(2 / i), size=(i, o)),
            "ignores `rng`",
        ),
        (lambda i, o, rng: rng.integers(-1, 2, size=(i, o)), "dtype int64"),
    ],
)
def test_he_init_mistakes(student, words):
    result = check_he_init(student)
    assert not result.passed
    assert words in result.text, str(result)


def test_he_init_accepts_uniform_and_dlbooks_other_draws():
    bound = lambda d_in: np.sqrt(6 / d_in)  # noqa: E731
    assert check_he_init(lambda i, o, rng: rng.uniform(-bound(i), bound(i), size=(i, o))).passed
    assert check_he_init(
        lambda i, o, rng: init_weights((i, o), "he", rng, distribution="uniform")
    ).passed


# The tolerances are 6 standard deviations: over many draws, a correct draw always
# passes and each wrong one is always named (the checks use fixed seeds; this
# shows the verdict does not hinge on them).


@pytest.mark.parametrize("d_in, d_out", [(1000, 250), (300, 700), (4, 25_000)])
def test_he_statistics_separate_right_from_wrong_over_many_seeds(d_in, d_out):
    target = 2.0 / d_in
    for seed in range(20):
        rng = np.random.default_rng(seed)
        normal = rng.normal(0.0, np.sqrt(target), size=(d_in, d_out))
        a = np.sqrt(3 * target)
        uniform = rng.uniform(-a, a, size=(d_in, d_out))
        assert opt_checks._he_statistics_problem(normal, d_in, d_out) is None
        assert opt_checks._he_statistics_problem(uniform, d_in, d_out) is None
    for mistake in HE_MISTAKES:
        var = mistake.variance(d_in, d_out)
        for seed in range(5):
            rng = np.random.default_rng(100 + seed)
            a = np.sqrt(3 * var)
            W = (
                rng.uniform(-a, a, size=(d_in, d_out))
                if mistake.uniform_only
                else rng.normal(0.0, np.sqrt(var), size=(d_in, d_out))
            )
            problem = opt_checks._he_statistics_problem(W, d_in, d_out)
            off_by_one = "off by one" in mistake.explanation  # seen on (4, 25000) only
            if off_by_one and d_in != 4:
                assert problem is None
            # (300, 700): 1/3 is Xavier's ratio too; (4, 25000): fan-out's 2/25000 is Xavier's
            elif mistake.uniform_only or d_in == 1000 or off_by_one:
                assert problem is not None and problem[0].startswith(mistake.explanation)


@pytest.mark.parametrize("p", [0.2, 0.6])
def test_dropout_fraction_tolerance_over_many_seeds(p):
    for seed in range(50):
        y = np.random.default_rng(seed).random(100_000) >= p  # a correct draw: kept = nonzero
        assert opt_checks._dropped_fraction_problem(p, y.astype(float)) is None
        swapped = np.random.default_rng(seed).random(100_000) < p
        problem = opt_checks._dropped_fraction_problem(p, swapped.astype(float))
        assert problem is not None and "1 − p instead of p" in problem[0]


# ---------------------------------------------------------------------------
# 6. warmup_cosine_lr
# ---------------------------------------------------------------------------


def _schedule_like(warm=None, cosine=None, boundary=lambda step, W: step < W):
    """A learner's schedule: warm(step, b, W) in the warm-up, cosine(step, b, W, T, eta) after."""
    warm = warm or (lambda s, b, W: b * (1 / 3 + (2 / 3) * s / W))
    cosine = cosine or (
        lambda s, b, W, T, eta: eta + (b - eta) * (1 + math.cos(math.pi * (s - W) / (T - W))) / 2
    )

    def lr(step, base_lr, warmup_steps, total_steps, eta_min):
        if boundary(step, warmup_steps):
            return warm(step, base_lr, warmup_steps)
        return cosine(step, base_lr, warmup_steps, total_steps, eta_min)

    return lr


def _cos(s, period):
    return math.cos(math.pi * s / period)


# learners' cosines after the warm-up: (step, base_lr, W, T, eta_min) -> lr
def _no_half(s, b, W, T, eta):
    return eta + (b - eta) * (1 + _cos(s - W, T - W))


def _period_total(s, b, W, T, eta):
    return eta + (b - eta) * (1 + _cos(s - W, T)) / 2


def _clock_from_zero(s, b, W, T, eta):
    return eta + (b - eta) * (1 + _cos(s, T)) / 2


def _one_step_early(s, b, W, T, eta):
    return eta + (b - eta) * (1 + _cos(s - W + 1, T - W)) / 2


def _ends_early(s, b, W, T, eta):
    return eta + (b - eta) * (1 + _cos(s - W, T - W - 1)) / 2


def _no_eta_min(s, b, W, T, eta):
    return b * (1 + _cos(s - W, T - W)) / 2


def _eta_on_top(s, b, W, T, eta):
    return eta + b * (1 + _cos(s - W, T - W)) / 2


def _full_cosine(s, b, W, T, eta):
    return b * _cos(s - W, T - W)


@pytest.mark.parametrize(
    "student, words",
    [
        (_schedule_like(warm=lambda s, b, W: b), "no warm-up: it starts at base_lr"),
        (_clock_from_zero, "one cosine over all total_steps"),
        (_schedule_like(warm=lambda s, b, W: b * s / W), "warm-up starts at 0"),
        (_schedule_like(warm=lambda s, b, W: b * (s + 1) / W), "one step ahead"),
        (_schedule_like(cosine=_no_half), "factor 1/2"),
        (_schedule_like(cosine=_period_total), "over total_steps instead"),
        (_schedule_like(cosine=_clock_from_zero), "counts its steps from 0"),
        (_schedule_like(cosine=_one_step_early), "off by one at the boundary"),
        (_schedule_like(cosine=_ends_early), "off by one at the end"),
        (_schedule_like(cosine=_no_eta_min), "ignores eta_min"),
        (_schedule_like(cosine=_eta_on_top), "without taking it off"),
        (_schedule_like(cosine=_full_cosine), "during the cosine"),
        (lambda *args: None, "Did you forget the `return` statement?"),
    ],
)
def test_warmup_cosine_mistakes(student, words):
    result = check_warmup_cosine_lr(student)
    assert not result.passed
    assert words in result.text, str(result)


def test_warmup_cosine_boundary_either_side_is_right():
    """At step W the warm-up and the cosine both give base_lr: `<=` is not a mistake."""
    assert check_warmup_cosine_lr(_schedule_like(boundary=lambda step, W: step <= W)).passed


def test_warmup_cosine_accepts_numpy_scalars():
    assert check_warmup_cosine_lr(lambda *a: np.float64(warmup_cosine_lr(*a))).passed
    assert check_warmup_cosine_lr(lambda *a: np.array(warmup_cosine_lr(*a))).passed


# ---------------------------------------------------------------------------
# Wrong answers found by trying the checks as learners (each was passed, misnamed or
# described misleadingly before), and unusual correct answers that must pass
# ---------------------------------------------------------------------------


def _nesterov_step(w, g, v, lr, mu):
    v_new = mu * v + g
    return w - lr * (g + mu * v_new), v_new


def _adam_v_from_m(w, g, m, v, t, lr, beta1, beta2, eps):
    m_new = beta1 * m + (1 - beta1) * g
    v_new = beta2 * v + (1 - beta2) * m_new**2  # the square of the average, not of g
    m_hat, v_hat = m_new / (1 - beta1**t), v_new / (1 - beta2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m_new, v_new


def _adam_eps_twice(w, g, m, v, t, lr, beta1, beta2, eps):
    m_new = beta1 * m + (1 - beta1) * g
    v_new = beta2 * v + (1 - beta2) * g**2
    m_hat, v_hat = m_new / (1 - beta1**t), v_new / (1 - beta2**t)
    return w - lr * m_hat / (np.sqrt(v_hat + eps) + eps), m_new, v_new


def _l2_moments_from_g(w, g, m, v, t, lr, beta1, beta2, eps, weight_decay, decoupled):
    if decoupled:
        return adam_decay_step(w, g, m, v, t, lr, beta1, beta2, eps, weight_decay, True)
    w_new, _, _ = adam_step(w, g + weight_decay * w, m, v, t, lr, beta1, beta2, eps)
    _, m_new, v_new = adam_step(w, g, m, v, t, lr, beta1, beta2, eps)  # state kept from g
    return w_new, m_new, v_new


def _dropout_one_mask_per_batch(x, p, rng, training):
    if not training:
        return x, None
    keep = rng.random(x.shape[1:]) >= p  # one mask, broadcast over the batch
    return x * keep / (1 - p), np.broadcast_to(keep, x.shape)


def _dropout_whole_rows(x, p, rng, training):
    if not training:
        return x, None
    keep = rng.random((x.shape[0],) + (1,) * (x.ndim - 1)) >= p  # (B, 1, ...)
    keep = np.broadcast_to(keep, x.shape)
    return x * keep / (1 - p), keep


@pytest.mark.parametrize(
    "check, student, words",
    [
        (check_momentum_step, _nesterov_step, "Nesterov step"),
        (check_adam_step, _adam_v_from_m, "`w_new` has wrong values"),
        (check_adam_step, _adam_eps_twice, "`w_new` has wrong values"),
        (check_adam_decay_step, _l2_moments_from_g, "m_new and v_new you return average g"),
        (check_dropout_forward, _dropout_one_mask_per_batch, "along axis 0 drops the same"),
        (check_dropout_forward, _dropout_whole_rows, "along axis 1 drops the same"),
        (
            check_he_init,
            lambda i, o, rng: np.ones((i, 1)) * rng.normal(0.0, np.sqrt(2 / i), size=o),
            "every row of W is the same",
        ),
        (
            check_he_init,
            lambda i, o, rng: np.tile(rng.normal(0.0, np.sqrt(2 / i), size=(i, 1)), (1, o)),
            "every column of W is the same",
        ),
        (
            check_he_init,
            lambda i, o, rng: np.sort(rng.normal(0.0, np.sqrt(2 / i), size=i * o)).reshape(i, o),
            "neighbouring weights of W are correlated",
        ),
        (check_he_init, lambda i, o, rng: np.zeros((i, o)), "every weight of W has the same"),
        (
            check_he_init,
            lambda i, o, rng: rng.normal(0.0, np.sqrt(2 / (i + 1)), size=(i, o)),  # bias input
            "fan-in is off by one",
        ),
        (
            check_he_init,
            lambda i, o, rng: rng.normal(0.0, np.sqrt(2 // i), size=(i, o)),
            "every weight of W has the same value, 0",
        ),
    ],
)
def test_wrong_answers_found_by_trying(check, student, words):
    result = check(student)
    assert not result.passed
    assert words in result.text, str(result)
    assert "float32 precision" not in result.text  # these answers are float64


def _adam_torch_form(w, g, m, v, t, lr, beta1, beta2, eps):
    """torch's own arrangement: the step size lr / (1 - beta1**t), sqrt(v) / sqrt(1 - beta2**t)."""
    m_new = beta1 * m + (1 - beta1) * g
    v_new = beta2 * v + (1 - beta2) * g * g
    denom = np.sqrt(v_new) / math.sqrt(1 - beta2**t) + eps
    return w - lr / (1 - beta1**t) * m_new / denom, m_new, v_new


def _adamw_decay_from_the_old_w(w, g, m, v, t, lr, beta1, beta2, eps, weight_decay, decoupled):
    if not decoupled:
        return adam_step(w, g + weight_decay * w, m, v, t, lr, beta1, beta2, eps)
    w_new, m_new, v_new = adam_step(w, g, m, v, t, lr, beta1, beta2, eps)
    return w_new - lr * weight_decay * w, m_new, v_new  # the old w: the same as decaying first


def _dropout_exact_count(x, p, rng, training):
    if not training:
        return x, None
    keep = np.ones(x.size, dtype=bool)
    keep[rng.permutation(x.size)[: round(p * x.size)]] = False
    keep = keep.reshape(x.shape)
    return x * keep / (1 - p), keep.astype(np.uint8)


def _schedule_vectorised(step, base_lr, warmup_steps, total_steps, eta_min):
    warm = base_lr * (1 / 3 + (2 / 3) * step / warmup_steps)
    angle = np.pi * (step - warmup_steps) / (total_steps - warmup_steps)
    cos = eta_min + (base_lr - eta_min) * (1 + np.cos(angle)) / 2
    return np.where(step < warmup_steps, warm, cos)[()]  # a 0-d array's value: np.float64


@pytest.mark.parametrize(
    "check, student",
    [
        (check_momentum_step, lambda *a: list(momentum_step(*a))),
        (
            check_momentum_step,
            lambda *a: tuple(x.astype(np.float32) for x in momentum_step(*a)),
        ),
        (check_adam_step, _adam_torch_form),
        (check_adam_step, lambda *a: tuple(x.astype(np.float32) for x in adam_step(*a))),
        (check_adam_decay_step, _adamw_decay_from_the_old_w),
        (check_dropout_forward, _dropout_exact_count),
        (check_dropout_backward, lambda g, mask, p: np.where(mask, g / (1 - p), 0.0)),
        (check_he_init, lambda i, o, rng: rng.choice([-1.0, 1.0], size=(i, o)) * np.sqrt(2 / i)),
        (check_he_init, lambda i, o, rng: rng.normal(0.0, np.sqrt(2 / i), size=(o, i)).T),
        (check_he_init, lambda i, o, rng: he_init(i, o, rng).astype(np.float32)),
        (check_warmup_cosine_lr, _schedule_vectorised),
        (check_warmup_cosine_lr, lambda *a: np.float32(warmup_cosine_lr(*a))),
    ],
)
def test_unusual_correct_answers_pass(check, student):
    result = check(student)
    assert result.passed, str(result)


# ---------------------------------------------------------------------------
# A second round of trying: answers that passed, or were misdiagnosed, before
# ---------------------------------------------------------------------------


def _adam_bias_at_t1(w, g, m, v, t, lr, beta1, beta2, eps):
    m_new = beta1 * m + (1 - beta1) * g
    v_new = beta2 * v + (1 - beta2) * g**2
    m_hat, v_hat = m_new / (1 - beta1), v_new / (1 - beta2)  # as if t were always 1
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m_new, v_new


def _amsgrad(w, g, m, v, t, lr, beta1, beta2, eps):
    m_new = beta1 * m + (1 - beta1) * g
    v_new = beta2 * v + (1 - beta2) * g**2
    v_max = np.maximum(v, v_new)  # AMSGrad's maximum, which plain Adam does not keep
    m_hat, v_hat = m_new / (1 - beta1**t), v_max / (1 - beta2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m_new, v_new


def _he_laplace(d_in, d_out, rng):
    return rng.laplace(0, np.sqrt(1 / d_in), size=(d_in, d_out))  # variance 2 b² = 2 / d_in


def _he_student_t(d_in, d_out, rng):
    return rng.standard_t(5, size=(d_in, d_out)) * np.sqrt(2 / d_in * 3 / 5)  # Var t5 = 5/3


def _he_sparse(d_in, d_out, rng):
    keep = rng.random((d_in, d_out)) < 0.1  # 10% of the weights, 10 times the variance
    return keep * rng.normal(0.0, np.sqrt(20 / d_in), size=(d_in, d_out))


def _he_logistic(d_in, d_out, rng):
    return rng.logistic(0.0, np.sqrt(6 / d_in) / np.pi, size=(d_in, d_out))  # Var s²π²/3


@pytest.mark.parametrize(
    "check, student, words",
    [
        (check_adam_step, _adam_bias_at_t1, "your bias correction ignores t"),
        (check_adam_step, _amsgrad, "AMSGrad"),
        (
            check_adam_step,
            lambda *a: tuple(x.astype(np.float32) for x in _amsgrad(*a)),
            "AMSGrad",
        ),
        (check_he_init, _he_laplace, "heavier tails than a normal draw"),
        (check_he_init, _he_student_t, "heavier tails than a normal draw"),
        (check_he_init, _he_sparse, "excess kurtosis"),
        (check_he_init, _he_logistic, "heavier tails than a normal draw"),
        (
            check_he_init,
            lambda i, o, rng: rng.laplace(0, np.sqrt(1 / (2 * i)), size=(i, o)),
            "LeCun",  # the variance is wrong too: that is named first
        ),
        (check_dropout_backward, lambda g, mask, p: g * mask / p, "divided by p instead of 1 − p"),
    ],
)
def test_wrong_answers_found_in_the_second_round(check, student, words):
    result = check(student)
    assert not result.passed
    assert words in result.text, str(result)
    assert "lost precision" not in result.text


def test_heavy_tails_message_says_what_was_measured():
    result = check_he_init(_he_laplace)
    assert "excess kurtosis is 2.9" in result.message and "0 ± 0.0098" in result.message
    assert "rng.normal(0.0, np.sqrt(2 / d_in)" in result.hint


def _adam_epsilon_hat(w, g, m, v, t, lr, beta1, beta2, eps):
    """The paper's efficient form, with eps scaled so that it is torch's: the same step."""
    m_new = beta1 * m + (1 - beta1) * g
    v_new = beta2 * v + (1 - beta2) * np.square(g)
    lr_t = lr * np.sqrt(1 - np.power(beta2, t)) / (1 - np.power(beta1, t))
    return w - lr_t * m_new / (np.sqrt(v_new) + eps * np.sqrt(1 - beta2**t)), m_new, v_new


def _momentum_in_place_on_copies(w, g, v, lr, mu):
    v = v.copy()  # in-place updates of copies leave the inputs alone
    v *= mu
    v += g
    w = w.copy()
    w -= lr * v
    return w, v


def _he_truncated_rescaled(d_in, d_out, rng):
    z = np.clip(rng.standard_normal((d_in, d_out)), -2.0, 2.0)  # light tails
    return z / z.std() * np.sqrt(2 / d_in)


@pytest.mark.parametrize(
    "check, student",
    [
        (check_adam_step, _adam_epsilon_hat),
        (check_adam_step, lambda w, g, m, v, t, *h: adam_step(w, g, m, v, np.int64(t), *h)),
        (check_momentum_step, _momentum_in_place_on_copies),
        (
            check_dropout_forward,
            lambda x, p, rng, training: (
                (x, None)
                if training == False  # noqa: E712 (np.False_ is not False)
                else dropout_forward(x, p, rng, True)
            ),
        ),
        (
            check_dropout_forward,
            lambda x, p, rng, training: (
                dropout_forward(x, p, rng, training)
                if training
                else (x, np.ones(x.shape, dtype=bool))
            ),
        ),
        (check_dropout_backward, lambda g, mask, p: g * (mask > 0) / (1 - p)),
        (check_he_init, lambda i, o, rng: np.asmatrix(he_init(i, o, rng))),
        (check_he_init, lambda i, o, rng: he_init(i, o, rng).astype(np.float16)),
        (
            check_he_init,
            lambda i, o, rng: rng.standard_normal((i, o), dtype=np.float32) * 2**0.5 / i**0.5,
        ),
        (check_he_init, _he_truncated_rescaled),
        (
            check_warmup_cosine_lr,
            lambda s, b, W, T, eta: (
                warmup_cosine_lr(s, b, W, T, eta)
                if s < W
                else eta + (b - eta) * math.cos(math.pi / 2 * (s - W) / (T - W)) ** 2
            ),
        ),
    ],
)
def test_unusual_correct_answers_pass_in_the_second_round(check, student):
    result = check(student)
    assert result.passed, str(result)
