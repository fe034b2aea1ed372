"""Chapter 5's checks: the reference passes, and each classic mistake is rejected by name.

The wrong implementations below are written the way a learner would write them,
independently of the check's own mistake functions, so that a test fails if a
check stops recognising a mistake it claims to name.
"""

from __future__ import annotations

import itertools
import random
import time

import numpy as np
import pytest

from dlbook.checks import rnn as rnn_checks
from dlbook.checks.rnn import (
    BPTT_KEYS,
    SAMPLING_MISTAKES,
    check_bptt_3_steps,
    check_clip_by_global_norm,
    check_lstm_cell,
    check_perplexity_from_logits,
    check_rnn_step,
    check_sample_with_temperature,
)

# ---------------------------------------------------------------------------
# Correct solutions, written as the solutions notebook writes them
# ---------------------------------------------------------------------------


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def rnn_step(x, h, W_ih, W_hh, b_ih, b_hh):
    return np.tanh(x @ W_ih + b_ih + h @ W_hh + b_hh)


def bptt_3_steps(xs, h0, W_ih, W_hh, b_ih, b_hh, dh3):
    hs = [h0]
    for x in xs:
        hs.append(np.tanh(x @ W_ih + b_ih + hs[-1] @ W_hh + b_hh))
    dW_ih, dW_hh, db = np.zeros_like(W_ih), np.zeros_like(W_hh), np.zeros_like(b_ih)
    dh = dh3
    for t in (3, 2, 1):
        da = dh * (1 - hs[t] ** 2)
        dW_ih = dW_ih + xs[t - 1].T @ da
        dW_hh = dW_hh + hs[t - 1].T @ da
        db = db + da.sum(axis=0)
        dh = da @ W_hh.T
    return {"dW_ih": dW_ih, "dW_hh": dW_hh, "db_ih": db, "db_hh": db.copy(), "dh0": dh}


def lstm_cell(x, h, c, W_ih, W_hh, b_ih, b_hh):
    i, f, g, o = np.split(x @ W_ih + b_ih + h @ W_hh + b_hh, 4, axis=1)
    c_new = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
    return _sigmoid(o) * np.tanh(c_new), c_new


def clip_by_global_norm(grads, max_norm):
    total_norm = float(np.sqrt(sum(np.sum(g * g) for g in grads)))
    scale = min(1.0, max_norm / (total_norm + 1e-6))
    return [g * scale for g in grads], total_norm


def perplexity_from_logits(logits, targets):
    z = logits - logits.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(np.exp(-log_p[np.arange(len(targets)), targets].mean()))


def sample_with_temperature(logits, temperature, rng):
    z = logits / temperature
    p = np.exp(z - z.max())
    return int(rng.choice(len(logits), p=p / p.sum()))


def _bptt_reference_dict(*args):
    return dict(zip(BPTT_KEYS, rnn_checks._bptt_reference(*args), strict=True))


# name -> (check, dlbook's reference, a learner's correct solution); test_every_check.py
# runs the problems every check must explain (stub, crash, NaN, type, shape, runaway) on these.
CHECKS = {
    "rnn_step": (check_rnn_step, rnn_checks._rnn_step_reference, rnn_step),
    "bptt_3_steps": (check_bptt_3_steps, _bptt_reference_dict, bptt_3_steps),
    "lstm_cell": (check_lstm_cell, rnn_checks._lstm_reference, lstm_cell),
    "clip_by_global_norm": (
        check_clip_by_global_norm,
        rnn_checks._clip_reference,
        clip_by_global_norm,
    ),
    "perplexity_from_logits": (
        check_perplexity_from_logits,
        rnn_checks._perplexity_reference,
        perplexity_from_logits,
    ),
    "sample_with_temperature": (
        check_sample_with_temperature,
        rnn_checks._sampling_reference,
        sample_with_temperature,
    ),
}

# ---------------------------------------------------------------------------
# Broken outputs for tests/checks/test_every_check.py (it runs the generic problems)
# ---------------------------------------------------------------------------


def _with(key, change):
    """The right BPTT, with the entry ``key`` of its dict replaced by ``change(entry)``."""

    def fn(*args):
        grads = bptt_3_steps(*args)
        grads[key] = change(grads[key])
        return grads

    return fn


# name -> (NaN output, wrong type, wrong shape)
BROKEN = {
    "rnn_step": (
        lambda *a: rnn_step(*a) * np.nan,
        lambda *a: rnn_step(*a).tolist(),
        lambda *a: rnn_step(*a).sum(axis=0),
    ),
    "bptt_3_steps": (
        _with("dW_ih", lambda g: g * np.nan),
        _with("dW_hh", lambda g: g.tolist()),
        _with("db_ih", lambda g: np.tile(g, (2, 1))),
    ),
    "lstm_cell": (
        lambda *a: (lstm_cell(*a)[0] * np.nan, lstm_cell(*a)[1]),
        lambda *a: (list(lstm_cell(*a)[0]), lstm_cell(*a)[1]),
        lambda *a: (lstm_cell(*a)[0].sum(axis=0), lstm_cell(*a)[1]),
    ),
    "clip_by_global_norm": (
        lambda grads, m: ([g * np.nan for g in grads], 1.0),
        lambda grads, m: (clip_by_global_norm(grads, m)[0], [1.0]),
        lambda grads, m: ([g.ravel() for g in clip_by_global_norm(grads, m)[0]], 1.0),
    ),
    "perplexity_from_logits": (
        lambda z, t: float("nan"),
        lambda z, t: [perplexity_from_logits(z, t)],
        lambda z, t: np.full(3, perplexity_from_logits(z, t)),
    ),
    "sample_with_temperature": (
        lambda z, T, rng: int(rng.choice(len(z), p=np.full(len(z), np.nan))),
        lambda z, T, rng: [sample_with_temperature(z, T, rng)],
        lambda z, T, rng: np.array([sample_with_temperature(z, T, rng)]),
    ),
}


def test_a_slow_sampler_is_stopped_while_drawing_many_tokens():
    """The first call is quick; the thousands that follow run out of the budget."""

    def slow(logits, temperature, rng):
        time.sleep(0.001)
        return sample_with_temperature(logits, temperature, rng)

    start = time.perf_counter()
    result = check_sample_with_temperature(slow, time_budget=0.5)
    assert time.perf_counter() - start < 2.0
    assert not result.passed and "too slow" in result.message


def test_checks_are_deterministic_and_leave_global_rng_alone():
    state = np.random.get_state()[1].copy()
    wrong = lambda z, T, rng: int(rng.choice(len(z), p=np.exp(z) / np.exp(z).sum()))  # noqa: E731
    first = str(check_sample_with_temperature(wrong))
    assert first == str(check_sample_with_temperature(wrong))
    assert str(check_clip_by_global_norm(lambda g, m: (g, 0.0))) == str(
        check_clip_by_global_norm(lambda g, m: (g, 0.0))
    )
    assert np.array_equal(np.random.get_state()[1], state)


def test_messages_show_generators_and_gradient_lists_without_their_values():
    result = check_sample_with_temperature(lambda z, T, rng: 0.5)
    assert "rng: np.random.default_rng(1)" in result.message and " at 0x" not in result.message
    result = check_clip_by_global_norm(lambda g, m: (g, "norm"))
    assert "grads: [3 float64 arrays: (3, 4), (5,), (2, 3, 2)]" in result.message, str(result)


# ---------------------------------------------------------------------------
# The references follow PyTorch
# ---------------------------------------------------------------------------


def _rnn_args(seed=0, B=3, D=4, H=5, G=1):
    rng = np.random.default_rng(seed)
    return (
        rng.normal(size=(3, B, D)),
        np.tanh(rng.normal(size=(B, H))),
        *rnn_checks._random_weights(rng, D, H, G),
        rng.normal(size=(B, H)),
    )


def test_bptt_reference_and_solution_follow_torch_autograd():
    torch = pytest.importorskip("torch")
    xs, h0, W_ih, W_hh, b_ih, b_hh, dh3 = _rnn_args()
    t = {k: torch.tensor(v, requires_grad=True) for k, v in
         dict(h0=h0, W_ih=W_ih, W_hh=W_hh, b_ih=b_ih, b_hh=b_hh).items()}  # fmt: skip
    h = t["h0"]
    for x in torch.tensor(xs):
        h = torch.tanh(x @ t["W_ih"] + t["b_ih"] + h @ t["W_hh"] + t["b_hh"])
    (h * torch.tensor(dh3)).sum().backward()
    expected = [t[k].grad.numpy() for k in ("W_ih", "W_hh", "b_ih", "b_hh", "h0")]
    ours = rnn_checks._bptt_reference(xs, h0, W_ih, W_hh, b_ih, b_hh, dh3)
    learners = bptt_3_steps(xs, h0, W_ih, W_hh, b_ih, b_hh, dh3)
    for k, want in enumerate(expected):
        assert np.allclose(ours[k], want, rtol=1e-10, atol=1e-12)
        assert np.allclose(learners[BPTT_KEYS[k]], want, rtol=1e-10, atol=1e-12)


def test_written_out_bptt_is_the_reference():
    """The mistakes switch parts of rnn_checks._bptt on and off: all off, it is right."""
    args = _rnn_args(seed=1)
    for ours, ref in zip(rnn_checks._bptt(*args), rnn_checks._bptt_reference(*args), strict=True):
        assert np.allclose(ours, ref, rtol=1e-12, atol=1e-14)


def test_lstm_reference_follows_torch_lstm_cell():
    """PyTorch's gate order (i, f, g, o) and its (out, in) layout: weight_ih = W_ih.T."""
    torch = pytest.importorskip("torch")
    xs, h, W_ih, W_hh, b_ih, b_hh, _ = _rnn_args(seed=2, G=4)
    c = np.random.default_rng(3).normal(size=h.shape)
    cell = torch.nn.LSTMCell(4, 5).double()
    with torch.no_grad():
        for name, value in [("weight_ih", W_ih.T), ("weight_hh", W_hh.T), ("bias_ih", b_ih),
                            ("bias_hh", b_hh)]:  # fmt: skip
            getattr(cell, name).copy_(torch.tensor(value))
        h_t, c_t = cell(torch.tensor(xs[0]), (torch.tensor(h), torch.tensor(c)))
    for ours in (rnn_checks._lstm_reference, lstm_cell, rnn_checks._lstm):
        h_new, c_new = ours(xs[0], h, c, W_ih, W_hh, b_ih, b_hh)
        assert np.allclose(h_new, h_t.numpy(), rtol=1e-10, atol=1e-12)
        assert np.allclose(c_new, c_t.numpy(), rtol=1e-10, atol=1e-12)


def test_clip_reference_and_solution_follow_torch():
    torch = pytest.importorskip("torch")
    for case in rnn_checks._clip_cases(np.random.default_rng(0)):
        grads, max_norm = case.args
        params = [torch.nn.Parameter(torch.zeros(g.shape, dtype=torch.float64)) for g in grads]
        for p, g in zip(params, grads, strict=True):
            p.grad = torch.tensor(g)
        total = float(torch.nn.utils.clip_grad_norm_(params, max_norm))
        for fn in (rnn_checks._clip_reference, clip_by_global_norm):
            clipped, norm = fn(grads, max_norm)
            assert norm == pytest.approx(total, rel=1e-12)
            for ours, p in zip(clipped, params, strict=True):
                assert np.allclose(ours, p.grad.numpy(), rtol=1e-12, atol=0)


def test_perplexity_reference_follows_torch_cross_entropy():
    torch = pytest.importorskip("torch")
    for case in rnn_checks._perplexity_cases(np.random.default_rng(0)):
        z, t = case.args
        nats = torch.nn.functional.cross_entropy(torch.tensor(z), torch.tensor(t))
        assert rnn_checks._perplexity_reference(z, t) == pytest.approx(
            float(torch.exp(nats)), rel=1e-10
        )


def test_rng_choice_draws_the_references_tokens():
    """The exercise's recipe, rng.choice(V, p=p), gives dlbook's tokens exactly."""
    for case in rnn_checks._sampling_cases(np.random.default_rng(0)):
        z, T, rng = case.args
        a, b = np.random.default_rng(rng.seed), np.random.default_rng(rng.seed)
        ours = [sample_with_temperature(z, T, a) for _ in range(2000)]
        assert ours == [rnn_checks._sampling_reference(z, T, b) for _ in range(2000)]


# ---------------------------------------------------------------------------
# 1. rnn_step
# ---------------------------------------------------------------------------


def _rnn_in_place(x, h, W_ih, W_hh, b_ih, b_hh):
    h[...] = np.tanh(x @ W_ih + b_ih + h @ W_hh + b_hh)
    return h


def _columns(x, h, W_ih, W_hh, b_ih, b_hh):  # one example per column, h = tanh(W x + b)
    return np.tanh(W_ih.T @ x.T + W_hh.T @ h.T + (b_ih + b_hh)[:, None])


@pytest.mark.parametrize(
    "student, words",
    [
        (lambda x, h, Wi, Wh, bi, bh: x @ Wi + bi + h @ Wh + bh, "forgot the tanh"),
        (lambda x, h, Wi, Wh, bi, bh: _sigmoid(x @ Wi + bi + h @ Wh + bh), "sigmoid instead"),
        (lambda x, h, Wi, Wh, bi, bh: np.maximum(0, x @ Wi + bi + h @ Wh + bh), "ReLU instead"),
        (lambda x, h, Wi, Wh, bi, bh: np.tanh(x @ Wi + bi + bh), "recurrent term h @ W_hh"),
        (lambda x, h, Wi, Wh, bi, bh: np.tanh(x @ Wi + bi + h @ Wh), "forgot the bias b_hh"),
        (lambda x, h, Wi, Wh, bi, bh: np.tanh(x @ Wi + h @ Wh + bh), "forgot the bias b_ih"),
        (lambda x, h, Wi, Wh, bi, bh: np.tanh(x @ Wi + h @ Wh), "both biases"),
        (lambda x, h, Wi, Wh, bi, bh: np.tanh(x @ Wi + bi + h @ Wh.T + bh), "by W_hh.T"),
        (lambda x, h, Wi, Wh, bi, bh: np.tanh(x @ Wi.T + bi + h @ Wh + bh), "x by W_ih.T"),
        (lambda x, h, Wi, Wh, bi, bh: np.tanh(x @ Wh + bi + h @ Wi + bh), "swapped the weight"),
        (lambda x, h, Wi, Wh, bi, bh: np.tanh(x @ Wi.T + h @ Wh.T + bi + bh), "PyTorch's layout"),
        (_columns, "one column per example"),
        (_rnn_in_place, "changed its input `h` in place"),
    ],
)
def test_rnn_step_mistakes(student, words):
    result = check_rnn_step(student)
    assert not result.passed
    assert words in result.text, str(result)


def test_rnn_step_transposes_explain_the_layout():
    result = check_rnn_step(lambda x, h, Wi, Wh, bi, bh: np.tanh(x @ Wi + bi + h @ Wh.T + bh))
    assert "(in, out)" in result.message and "weight_ih_l0" in result.message


def test_rnn_step_shape_errors_explain_the_layout():
    """A learner who writes the column convention W x fails with an error, explained."""
    result = check_rnn_step(lambda x, h, Wi, Wh, bi, bh: np.tanh(Wi @ x + Wh @ h + bi + bh))
    assert "raised ValueError" in result.message
    assert "inner sizes" in result.hint and "(in, out)" in result.hint


# ---------------------------------------------------------------------------
# 2. bptt_3_steps
# ---------------------------------------------------------------------------


def _learner_bptt(*, last_only=False, overwrite=False, slope=None, carry=None,
                  state_for_dW_hh=None, dh0_is=None):  # fmt: skip
    """A learner's BPTT: lists of states, then one loop back in time, with one slip."""
    slope = slope or (lambda h_t, h_prev, a_t: 1 - h_t * h_t)
    carry = carry or (lambda da, dh, W_hh: da @ W_hh.T)
    state_for_dW_hh = state_for_dW_hh or (lambda t, h_t, h_prev: h_prev)

    def fn(xs, h0, W_ih, W_hh, b_ih, b_hh, dh3):
        states, pre = [h0], []
        for x in xs:
            pre.append(x @ W_ih + b_ih + states[-1] @ W_hh + b_hh)
            states.append(np.tanh(pre[-1]))
        g = {"dW_ih": 0 * W_ih, "dW_hh": 0 * W_hh, "db": 0 * b_ih}
        dh, dh_history = dh3, []
        for t in [3] if last_only else [3, 2, 1]:
            da = dh * slope(states[t], states[t - 1], pre[t - 1])
            parts = {
                "dW_ih": xs[t - 1].T @ da,
                "dW_hh": state_for_dW_hh(t, states[t], states[t - 1]).T @ da,
                "db": da.sum(axis=0),
            }
            for k, v in parts.items():
                g[k] = v if overwrite else g[k] + v
            dh_history.append(dh)
            dh = carry(da, dh, W_hh)
        dh0 = dh if dh0_is is None else dh0_is(dh_history, dh)
        return {"dW_ih": g["dW_ih"], "dW_hh": g["dW_hh"], "db_ih": g["db"], "db_hh": g["db"],
                "dh0": dh0}  # fmt: skip

    return fn


def _bptt_mean_over_batch(*args):
    grads = bptt_3_steps(*args)
    B = args[0].shape[1]
    return {k: v / B if k != "dh0" else v for k, v in grads.items()}


@pytest.mark.parametrize(
    "student, words",
    [
        (_learner_bptt(last_only=True), "only the last step's contribution"),
        (_learner_bptt(overwrite=True), "only the first step's contribution"),
        (_learner_bptt(slope=lambda h, hp, a: 1.0), "forgot the tanh derivative"),
        (_learner_bptt(slope=lambda h, hp, a: 1 - a**2), "from the pre-activation a_t"),
        (_learner_bptt(slope=lambda h, hp, a: 1 - np.tanh(h) ** 2), "tanh'(h_t)"),
        (_learner_bptt(slope=lambda h, hp, a: 1 - hp**2), "one step off"),
        (_learner_bptt(carry=lambda da, dh, W: dh), "every step used dh3"),
        (_learner_bptt(carry=lambda da, dh, W: da), "without multiplying by W_hh.T"),
        (_learner_bptt(carry=lambda da, dh, W: da @ W), "through W_hh instead of W_hh.T"),
        (_learner_bptt(carry=lambda da, dh, W: dh @ W.T), "without the tanh derivative"),
        (_learner_bptt(state_for_dW_hh=lambda t, h, hp: h), "multiplies da_t by h_t"),
        (
            _learner_bptt(state_for_dW_hh=lambda t, h, hp: hp if t > 1 else 0 * hp),
            "no contribution from step 1",
        ),
        (_learner_bptt(dh0_is=lambda history, dh: history[-1]), "one step short"),
        (_learner_bptt(dh0_is=lambda history, dh: np.zeros_like(dh)), "`dh0` is zero"),
        (_bptt_mean_over_batch, "0.25 times the expected values"),
        (_with("db_ih", lambda g: np.ones((4, 1)) * g), "shape"),
        (lambda *a: {k: v for k, v in bptt_3_steps(*a).items() if k != "dh0"}, 'no key "dh0"'),
        (lambda *a: tuple(bptt_3_steps(*a).values()), "a dict with the keys"),
    ],
)
def test_bptt_mistakes(student, words):
    result = check_bptt_3_steps(student)
    assert not result.passed
    assert words in result.text, str(result)


# ---------------------------------------------------------------------------
# 3. lstm_cell
# ---------------------------------------------------------------------------


def _learner_lstm(order="ifgo", gate=_sigmoid, cand=np.tanh, new_c=None, new_h=None):
    """A learner's LSTM cell: blocks taken in ``order``, one slip in c_new or h_new."""
    new_c = new_c or (lambda i, f, g, c, h: f * c + i * g)
    new_h = new_h or (lambda o, c_new, c: o * np.tanh(c_new))

    def fn(x, h, c, W_ih, W_hh, b_ih, b_hh):
        H = h.shape[1]
        gates = x @ W_ih + b_ih + h @ W_hh + b_hh
        block = {name: gates[:, k * H : (k + 1) * H] for k, name in enumerate(order)}
        i, f, o, g = gate(block["i"]), gate(block["f"]), gate(block["o"]), cand(block["g"])
        c_new = new_c(i, f, g, c, h)
        return new_h(o, c_new, c), c_new

    return fn


def _lstm_in_place(x, h, c, W_ih, W_hh, b_ih, b_hh):
    i, f, g, o = np.split(x @ W_ih + b_ih + h @ W_hh + b_hh, 4, axis=1)
    c *= _sigmoid(f)
    c += _sigmoid(i) * np.tanh(g)
    return _sigmoid(o) * np.tanh(c), c


@pytest.mark.parametrize(
    "student, words",
    [
        (_learner_lstm(order="ifog"), "order i, f, o, g (the order of CS231n"),
        (_learner_lstm(order="igfo"), "TensorFlow 1's LSTMCell"),
        (_learner_lstm(order="fgio"), "in the order f, g, i, o; the weights follow"),
        (_learner_lstm(order="oigf"), "PyTorch's order, i, f, g, o"),
        (_learner_lstm(cand=_sigmoid), "candidate g with a sigmoid"),
        (_learner_lstm(gate=np.tanh, cand=_sigmoid), "swapped tanh and σ"),
        (_learner_lstm(gate=np.tanh), "gates i, f, o use tanh"),
        (_learner_lstm(new_h=lambda o, cn, c: o * cn), "you forgot the tanh"),
        (_learner_lstm(new_h=lambda o, cn, c: o * np.tanh(c)), "uses the old cell c"),
        (_learner_lstm(new_c=lambda i, f, g, c, h: i * g), "no f ⊙ c term"),
        (_learner_lstm(new_c=lambda i, f, g, c, h: c + i * g), "without the forget gate"),
        (_learner_lstm(new_c=lambda i, f, g, c, h: f * h + i * g), "used h instead of c"),
        (_learner_lstm(new_c=lambda i, f, g, c, h: f * c + g), "without the input gate"),
        (lambda *a: lstm_cell(*a)[::-1], "returned (c_new, h_new)"),
        (lambda *a: lstm_cell(*a)[0], "a tuple of 2 arrays (h_new, c_new)"),
        (_lstm_in_place, "changed its input `c` in place"),
    ],
)
def test_lstm_mistakes(student, words):
    result = check_lstm_cell(student)
    assert not result.passed
    assert words in result.text, str(result)


def test_every_wrong_gate_order_is_named():
    for order in ["".join(p) for p in itertools.permutations("ifgo")]:
        result = check_lstm_cell(_learner_lstm(order=order))
        assert result.passed == (order == "ifgo"), str(result)
        if order != "ifgo":
            assert f"order {', '.join(order)}" in result.message, str(result)


# ---------------------------------------------------------------------------
# 4. clip_by_global_norm
# ---------------------------------------------------------------------------


def _clip_with(norm_of, scale_of=None):
    """A learner's clipping: total = norm_of(grads); each g times scale_of(g, total, m)."""
    scale_of = scale_of or (lambda g, total, m: min(1.0, m / total))

    def fn(grads, max_norm):
        total = norm_of(grads)
        return [g * scale_of(g, total, max_norm) for g in grads], total

    return fn


def _l2(grads):
    return float(np.sqrt(sum((g**2).sum() for g in grads)))


def _clip_in_place(grads, max_norm):
    total = _l2(grads)
    if total > max_norm:
        for g in grads:
            g *= max_norm / total
    return grads, total


def _clip_replacing_in_list(grads, max_norm):
    total = _l2(grads)
    for k in range(len(grads)):
        grads[k] = grads[k] * min(1.0, max_norm / total)
    return grads, total


def _norm_after(grads, max_norm):
    clipped = _clip_with(_l2)(grads, max_norm)[0]
    return clipped, _l2(clipped)


@pytest.mark.parametrize(
    "student, words",
    [
        (_clip_with(_l2, lambda g, t, m: min(1.0, m / np.linalg.norm(g))), "its own norm"),
        (_clip_with(_l2, lambda g, t, m: m / t), "scaled the gradients up"),
        (lambda grads, m: ([np.clip(g, -m, m) for g in grads], _l2(grads)), "clip_grad_value"),
        (_clip_with(lambda gs: sum((g**2).sum() for g in gs)), "forgot the square root"),
        (_clip_with(lambda gs: sum(np.linalg.norm(g) for g in gs)), "added up the norms"),
        (_clip_with(_l2, lambda g, t, m: max(1.0, t / m)), "inverse of the clipping factor"),
        (_norm_after, "norm after clipping"),
        (_clip_in_place, "changed its input `grads[0]` in place"),
        (_clip_replacing_in_list, "`grads[0]`"),
        (lambda grads, m: ([grads.pop() * 0.1], 1.0), "changed the length of its input `grads`"),
        (
            lambda grads, m: (np.concatenate([g.ravel() for g in grads]), _l2(grads)),
            "a list of 3 arrays, one per gradient",
        ),
        (
            lambda grads, m: (grads, [float(np.linalg.norm(g)) for g in grads]),
            "one norm per gradient",
        ),
        (lambda grads, m: (grads[:2], _l2(grads)), "holds 2 arrays"),
        (_clip_with(_l2, lambda g, t, m: 0.5), "joint norm of your clipped gradients"),
        (lambda grads, m: (clip_by_global_norm(grads, m)[0], 3.0), "`total_norm` is wrong"),
    ],
)
def test_clip_mistakes(student, words):
    result = check_clip_by_global_norm(student)
    assert not result.passed
    assert words in result.text, str(result)


def test_clip_accepts_no_epsilon_and_tuples():
    """torch divides by total_norm + 1e-6; without it the factor differs by about 1e-7."""
    assert check_clip_by_global_norm(_clip_with(_l2)).passed
    assert check_clip_by_global_norm(lambda g, m: tuple(clip_by_global_norm(g, m))).passed


# ---------------------------------------------------------------------------
# 5. perplexity_from_logits
# ---------------------------------------------------------------------------


def _nll(z, t):
    log_p = z - z.max(1, keepdims=True)
    log_p = log_p - np.log(np.exp(log_p).sum(1, keepdims=True))
    return -log_p[np.arange(len(t)), t]


def _naive_softmax_ppl(z, t):
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    return float(np.exp(-np.mean(np.log(p[np.arange(len(t)), t]))))


def _naive_logsumexp_ppl(z, t):
    return float(np.exp(np.mean(np.log(np.sum(np.exp(z), axis=1)) - z[np.arange(len(t)), t])))


def _axis0_ppl(z, t):
    log_p = z - np.log(np.exp(z - z.max(0)).sum(0)) - z.max(0)
    return float(np.exp(-log_p[np.arange(len(t)), t].mean()))


@pytest.mark.parametrize(
    "student, words",
    [
        (lambda z, t: float(np.exp(-z[np.arange(len(t)), t].mean())), "logits as log-prob"),
        (lambda z, t: float(np.exp(_nll(z, t).sum())), "summed loss"),
        (lambda z, t: float(_nll(z, t).mean()), "forgot to exponentiate"),
        (lambda z, t: float(2 ** _nll(z, t).mean()), "raised 2 to a cross-entropy"),
        (lambda z, t: float(_nll(z, t).mean() / np.log(2)), "bits per token"),
        (lambda z, t: float(np.exp(np.mean(_nll(z, t) / np.log(2)))), "raised e to"),
        (lambda z, t: float(np.mean(np.exp(_nll(z, t)))), "averaged the per-token perplexities"),
        (lambda z, t: np.exp(_nll(z, t)), "one perplexity per token"),
        (_axis0_ppl, "(axis 0)"),
        (_naive_softmax_ppl, "softmax is not numerically stable"),
        (_naive_logsumexp_ppl, "log-sum-exp is not numerically stable"),
        (lambda z, t: "12.3", "a number was expected"),
    ],
)
def test_perplexity_mistakes(student, words):
    result = check_perplexity_from_logits(student)
    assert not result.passed
    assert words in result.text, str(result)


def test_perplexity_accepts_numpy_scalars_and_0d_arrays():
    assert check_perplexity_from_logits(lambda z, t: np.exp(_nll(z, t).mean())).passed
    assert check_perplexity_from_logits(lambda z, t: np.array(np.exp(_nll(z, t).mean()))).passed


# ---------------------------------------------------------------------------
# 6. sample_with_temperature
# ---------------------------------------------------------------------------


def _choose(probs_of):
    """A learner who draws with rng.choice from probs_of(logits, T)."""
    return lambda z, T, rng: int(rng.choice(len(z), p=probs_of(z, T)))


def _softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def _inverse_cdf(weights_of):
    """A learner's own inverse CDF on (possibly unnormalised) weights."""

    def fn(z, T, rng):
        cdf = np.cumsum(weights_of(z, T))
        return int(np.searchsorted(cdf, rng.random(), side="right"))

    return fn


def _rng_or_global(z, T, rng):
    p = _softmax(z / T)
    source = rng if np.random.random() < 0.5 else np.random.default_rng()
    return int(source.choice(len(z), p=p))


def _in_place(z, T, rng):
    z /= T
    return int(rng.choice(len(z), p=_softmax(z)))


@pytest.mark.parametrize(
    "student, words",
    [
        (_choose(lambda z, T: _softmax(z * T)), "multiplied the logits by T"),
        (_choose(lambda z, T: _softmax(z)), "temperature is missing"),
        (lambda z, T, rng: int(np.argmax(z / T)), "greedy decoding"),
        (_choose(lambda z, T: _softmax(z) ** (1 / T)), "do not sum to 1"),
        (_inverse_cdf(lambda z, T: _softmax(z) ** (1 / T)), "without renormalising"),
        (_inverse_cdf(lambda z, T: np.ones(len(z)) / len(z)), "uniform"),
        (_choose(lambda z, T: np.exp(z / T) / np.exp(z / T).sum()), "contain NaN"),
        (lambda z, T, rng: int(np.random.choice(len(z), p=_softmax(z / T))), "does not draw"),
        (
            lambda z, T, rng: int(np.random.default_rng(0).choice(len(z), p=_softmax(z / T))),
            "does not draw from it",
        ),
        (_rng_or_global, "part of your randomness does not come from `rng`"),
        (lambda z, T, rng: _softmax(z / T), "one value per token (the probabilities?)"),
        (lambda z, T, rng: float(rng.choice(len(z), p=_softmax(z / T))), "a float"),
        (_choose(lambda z, T: z), "some are negative"),
        (_in_place, "changed its input `logits` in place"),
        (lambda z, T, rng: len(z), "indices 0 to 7"),
    ],
)
def test_sampling_mistakes(student, words):
    result = check_sample_with_temperature(student)
    assert not result.passed
    assert words in result.text, str(result)


def test_other_correct_samplers_pass_on_their_frequencies():
    """The Gumbel-max trick and an inverse CDF of one's own are right, with other tokens."""

    def gumbel(z, T, rng):
        return int(np.argmax(z / T + rng.gumbel(size=len(z))))

    def own_cdf(z, T, rng):
        return int(np.searchsorted(np.cumsum(_softmax(z / T)), rng.random()))

    for fn in (gumbel, own_cdf, lambda z, T, rng: np.int64(sample_with_temperature(z, T, rng))):
        assert check_sample_with_temperature(fn).passed, str(check_sample_with_temperature(fn))


# The tolerances are 6 standard deviations: over many seeds, a correct sampler's
# frequencies always pass and each wrong one's are always named (the check uses
# fixed seeds; this shows the verdict does not hinge on them).


@pytest.mark.parametrize("which", [0, 1])
def test_sampling_frequencies_separate_right_from_wrong_over_many_seeds(which):
    z, T, _ = rnn_checks._sampling_cases(np.random.default_rng(0))[which].args
    n, p = rnn_checks.DRAWS, rnn_checks._p(z, T)
    for seed in range(30):
        freq = np.bincount(
            np.random.default_rng(seed).choice(len(z), size=n, p=p), minlength=len(z)
        )
        assert np.all(np.abs(freq / n - p) <= rnn_checks._frequency_tolerance(p, n))
    for mistake in SAMPLING_MISTAKES:
        q = mistake.probs(z, T)
        if not np.isclose(q.sum(), 1.0):  # p ** (1/T) with T < 1: draws fall off the end
            continue
        for seed in range(5):
            draws = np.random.default_rng(100 + seed).choice(len(z), size=n, p=q)
            freq = np.bincount(draws, minlength=len(z)) / n
            assert not np.all(np.abs(freq - p) <= rnn_checks._frequency_tolerance(p, n))
            named = [
                m for m in SAMPLING_MISTAKES
                if np.all(np.abs(freq - m.probs(z, T)) <= rnn_checks._frequency_tolerance(
                    m.probs(z, T), n))
            ]  # fmt: skip
            assert named[0] is mistake


# ---------------------------------------------------------------------------
# Wrong answers found by trying the checks as learners write them (one learner each)
# ---------------------------------------------------------------------------


def _rnn_bias_after_tanh(x, h, W_ih, W_hh, b_ih, b_hh):
    return np.tanh(x @ W_ih + h @ W_hh) + b_ih + b_hh


def _rnn_two_tanh(x, h, W_ih, W_hh, b_ih, b_hh):
    return np.tanh(x @ W_ih + b_ih) + np.tanh(h @ W_hh + b_hh)


def _learner_bptt_walk(times=(3, 2, 1), dW_hh_of=None, carry_extra=False, db_hh_zero=False,
                       last=None):  # fmt: skip
    """A learner's BPTT with one slip: the order of the walk, dW_hh, dh3 again, db_hh, dh0."""

    def fn(xs, h0, W_ih, W_hh, b_ih, b_hh, dh3):
        hs = [h0]
        for x in xs:
            hs.append(np.tanh(x @ W_ih + b_ih + hs[-1] @ W_hh + b_hh))
        dW_ih, dW_hh, db = np.zeros_like(W_ih), np.zeros_like(W_hh), np.zeros_like(b_ih)
        dh = dh3
        for t in times:
            da = dh * (1 - hs[t] ** 2)
            dW_ih += xs[t - 1].T @ da
            dW_hh += dW_hh_of(hs[t - 1], da) if dW_hh_of else hs[t - 1].T @ da
            db += da.sum(axis=0)
            dh = da @ W_hh.T + (dh3 if carry_extra else 0)
        dh0 = last(da, dh, h0) if last else dh
        db_hh = np.zeros_like(db) if db_hh_zero else db
        return {"dW_ih": dW_ih, "dW_hh": dW_hh, "db_ih": db, "db_hh": db_hh, "dh0": dh0}

    return fn


def _lstm_returns(make_outputs, c_rule=None, h_rule=None):
    """A learner's LSTM cell with np.split, c_new by ``c_rule``, h_new by ``h_rule``."""

    def fn(x, h, c, W_ih, W_hh, b_ih, b_hh):
        i, f, g, o = np.split(x @ W_ih + b_ih + h @ W_hh + b_hh, 4, axis=1)
        i, f, g, o = _sigmoid(i), _sigmoid(f), np.tanh(g), _sigmoid(o)
        c_new = c_rule(i, f, g, c) if c_rule else f * c + i * g
        h_new = h_rule(o, c_new) if h_rule else o * np.tanh(c_new)
        return make_outputs(h_new, c_new)

    return fn


def _clip_norm_in_loop(grads, max_norm):
    for g in grads:
        total = np.sqrt(np.sum(g**2))  # overwritten: only the last gradient counts
    scale = min(1.0, max_norm / (total + 1e-6))
    return [g * scale for g in grads], total


def _log_softmax_rows(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def _ppl_global_max(z, t):
    z = z - z.max()  # one max for the whole array, not one per row
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(np.exp(-log_p[np.arange(len(t)), t].mean()))


def _sm(z):
    e = np.exp(z - z.max())
    return e / e.sum()


@pytest.mark.parametrize(
    "check, student, words",
    [
        (check_rnn_step, _rnn_bias_after_tanh, "biases after the tanh"),
        (check_rnn_step, _rnn_two_tanh, "tanh to each term separately"),
        (check_bptt_3_steps, _learner_bptt_walk(times=(1, 2, 3)), "walked forward in time"),
        (
            check_bptt_3_steps,
            _learner_bptt_walk(dW_hh_of=lambda hp, da: da.T @ hp),
            "your dW_hh is transposed",
        ),
        (check_bptt_3_steps, _learner_bptt_walk(carry_extra=True), "added dh3 again"),
        (check_bptt_3_steps, _learner_bptt_walk(db_hh_zero=True), "`db_hh` is zero"),
        (check_bptt_3_steps, _learner_bptt_walk(last=lambda da, dh, h0: da), "`dh0` is da_1"),
        (
            check_bptt_3_steps,
            _learner_bptt_walk(last=lambda da, dh, h0: dh * (1 - h0**2)),
            "multiplied by 1 − h0²",
        ),
        (check_lstm_cell, _lstm_returns(lambda h, c: (h, h)), "second output is h_new"),
        (check_lstm_cell, _lstm_returns(lambda h, c: (c, h)), "you returned (c_new, h_new)"),
        (
            check_lstm_cell,
            _lstm_returns(lambda h, c: (h, c), c_rule=lambda i, f, g, c: f * c + (1 - f) * g),
            "coupled the input gate",
        ),
        (
            check_lstm_cell,
            _lstm_returns(lambda h, c: (h, c), h_rule=lambda o, c_new: np.tanh(o * c_new)),
            "tanh(o ⊙ c_new)",
        ),
        (check_clip_by_global_norm, _clip_norm_in_loop, "norm of the last gradient only"),
        (
            check_perplexity_from_logits,
            lambda z, t: float(np.exp(_log_softmax_rows(z)[np.arange(len(t)), t].mean())),
            "1 / perplexity",
        ),
        (
            check_perplexity_from_logits,
            lambda z, t: float(np.exp(-_log_softmax_rows(z)[:, t].mean())),
            "log_p[:, targets]",
        ),
        (
            check_perplexity_from_logits,
            lambda z, t: float(1 / np.exp(_log_softmax_rows(z)[np.arange(len(t)), t]).mean()),
            "1 / mean(p)",
        ),
        (check_perplexity_from_logits, _ppl_global_max, "not each row's"),
        (
            check_sample_with_temperature,
            lambda z, T, rng: int(rng.choice(len(z), p=_sm(z) ** T / (_sm(z) ** T).sum())),
            "to the power T",
        ),
        (
            check_sample_with_temperature,
            lambda z, T, rng: int(rng.choice(len(z), p=(_sm(z) / T) / (_sm(z) / T).sum())),
            "has no effect",
        ),
    ],
)
def test_more_learner_mistakes_are_named(check, student, words):
    result = check(student)
    assert not result.passed
    assert words in result.text, str(result)


def test_returning_h_new_twice_is_not_called_a_swap():
    """(h_new, h_new) has the right first output: it is not the order (c_new, h_new)."""
    result = check_lstm_cell(_lstm_returns(lambda h, c: (h, h)))
    assert "(c_new, h_new): the order" not in result.text, str(result)


@pytest.mark.parametrize(
    "check, student",
    [
        (
            check_rnn_step,
            lambda x, h, Wi, Wh, bi, bh: np.tanh(
                np.concatenate([x, h], axis=1) @ np.vstack([Wi, Wh]) + bi + bh
            ),
        ),
        (
            check_rnn_step,
            lambda x, h, Wi, Wh, bi, bh: 2 * _sigmoid(2 * (x @ Wi + bi + h @ Wh + bh)) - 1,
        ),
        (
            check_rnn_step,
            lambda x, h, Wi, Wh, bi, bh: np.array(
                [np.tanh(x[b] @ Wi + bi + h[b] @ Wh + bh) for b in range(len(x))]
            ),
        ),
        (check_rnn_step, lambda *a: rnn_step(*a).astype(np.float32)),
        (
            check_bptt_3_steps,
            lambda *a: {k: v.astype(np.float32) for k, v in bptt_3_steps(*a).items()},
        ),
        (check_lstm_cell, _lstm_returns(lambda h, c: [h, c])),
        (check_lstm_cell, lambda *a: tuple(v.astype(np.float32) for v in lstm_cell(*a))),
        (
            check_clip_by_global_norm,
            lambda grads, m: (
                lambda t: ([g * min(1.0, m / (t + 1e-6)) for g in grads], np.float64(t))
            )(np.linalg.norm(np.concatenate([g.ravel() for g in grads]))),
        ),
        (
            check_clip_by_global_norm,
            lambda grads, m: (lambda t: (grads if t <= m else [g * (m / t) for g in grads], t))(
                float(np.linalg.norm([np.linalg.norm(g) for g in grads]))
            ),
        ),
        (
            check_perplexity_from_logits,
            lambda z, t: float(
                np.prod(np.exp(_log_softmax_rows(z)[np.arange(len(t)), t])) ** (-1 / len(t))
            ),
        ),
        (
            check_perplexity_from_logits,
            lambda z, t: np.exp(-(np.eye(z.shape[1])[t] * _log_softmax_rows(z)).sum(axis=1).mean()),
        ),
        (check_perplexity_from_logits, lambda z, t: np.float32(perplexity_from_logits(z, t))),
        (
            check_sample_with_temperature,
            lambda z, T, rng: int(rng.multinomial(1, _sm(z / T)).argmax()),
        ),
        (
            check_sample_with_temperature,
            lambda z, T, rng: int(rng.choice(len(z), p=_sm((z / T).astype(np.float32)))),
        ),
    ],
)
def test_unusual_correct_answers_pass(check, student):
    result = check(student)
    assert result.passed, str(result)


# ---------------------------------------------------------------------------
# A second round of learners' answers: other valid algorithms and types that must
# pass, and wrong answers whose message must name what the learner did
# ---------------------------------------------------------------------------


def _lstm_reshaped(x, h, c, W_ih, W_hh, b_ih, b_hh):
    gates = x @ W_ih + b_ih + h @ W_hh + b_hh  # (B, 4H)
    i, f, g, o = gates.reshape(len(x), 4, -1).transpose(1, 0, 2)  # 4 x (B, H)
    c_new = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
    return _sigmoid(o) * np.tanh(c_new), c_new


def _stable_sigmoid(a):
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1 / (1 + e), e / (1 + e))


def _bptt_with_extra_keys(*args):
    grads = bptt_3_steps(*args)
    return {**grads, "db": grads["db_ih"], "loss": 0.0}


def _clip_same_arrays_when_small(grads, max_norm):
    total = np.sqrt(sum(np.vdot(g, g) for g in grads))
    if total <= max_norm:
        return list(grads), total
    return [g * (max_norm / total) for g in grads], total


def _ppl_with_log2(z, t):
    bits = -_log_softmax_rows(z)[np.arange(len(t)), t] / np.log(2)
    return float(2 ** bits.mean())


def _ppl_row_mean_shift(z, t):  # any shift per row cancels in the log-softmax
    z = z - z.mean(axis=1, keepdims=True)
    return float(np.exp(np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(t)), t])))


@pytest.mark.parametrize(
    "check, student",
    [
        (
            check_rnn_step,
            lambda x, h, Wi, Wh, bi, bh: 1 - 2 / (np.exp(2 * (x @ Wi + bi + h @ Wh + bh)) + 1),
        ),
        (
            check_rnn_step,
            lambda x, h, Wi, Wh, bi, bh: np.tanh(
                np.asmatrix(x) @ Wi + bi + np.asmatrix(h) @ Wh + bh
            ),
        ),
        (
            check_rnn_step,
            lambda x, h, Wi, Wh, bi, bh: np.tanh(
                np.einsum("bd,dh->bh", x, Wi) + np.einsum("bk,kh->bh", h, Wh) + bi + bh
            ),
        ),
        (check_bptt_3_steps, _bptt_with_extra_keys),
        (check_bptt_3_steps, _learner_bptt(slope=lambda h, hp, a: 1 / np.cosh(a) ** 2)),
        (check_lstm_cell, _lstm_reshaped),
        (check_lstm_cell, _learner_lstm(gate=_stable_sigmoid)),
        (check_lstm_cell, _learner_lstm(gate=lambda a: 0.5 * (1 + np.tanh(a / 2)))),
        (check_clip_by_global_norm, _clip_same_arrays_when_small),
        (check_clip_by_global_norm, lambda g, m: (clip_by_global_norm(g, m)[0], np.array(_l2(g)))),
        (check_perplexity_from_logits, _ppl_with_log2),
        (check_perplexity_from_logits, _ppl_row_mean_shift),
        (
            check_perplexity_from_logits,
            lambda z, t: float(
                np.exp(-np.take_along_axis(_log_softmax_rows(z), t[:, None], 1).mean())
            ),
        ),
        (
            check_perplexity_from_logits,  # an ε far below every probability changes nothing
            lambda z, t: float(
                np.exp(-np.log(np.exp(_log_softmax_rows(z))[np.arange(len(t)), t] + 1e-12).mean())
            ),
        ),
        (
            check_sample_with_temperature,  # the exponential race: argmin of E_k / p_k
            lambda z, T, rng: int(np.argmin(rng.exponential(size=len(z)) / _sm(z / T))),
        ),
        (
            check_sample_with_temperature,
            lambda z, T, rng: int(np.argmax(np.cumsum(_sm(z / T)) > rng.random())),
        ),
        (
            check_sample_with_temperature,  # p ** (1/T), renormalised, is softmax(z / T)
            lambda z, T, rng: int(
                rng.choice(len(z), p=(_sm(z) ** (1 / T)) / (_sm(z) ** (1 / T)).sum())
            ),
        ),
        (
            check_sample_with_temperature,
            lambda z, T, rng: np.array(rng.choice(len(z), p=_sm(z / T))),
        ),
        (
            check_sample_with_temperature,
            lambda z, T, rng: np.int32(rng.choice(len(z), p=_sm(z / T))),
        ),
        (check_sample_with_temperature, lambda z, T, rng: rng.choice(range(len(z)), p=_sm(z / T))),
    ],
)
def test_more_unusual_correct_answers_pass(check, student):
    result = check(student)
    assert result.passed, str(result)


def test_answers_from_torch_pass_when_converted_and_are_refused_as_tensors():
    torch = pytest.importorskip("torch")

    def lstm_torch(x, h, c, W_ih, W_hh, b_ih, b_hh):
        cell = torch.nn.LSTMCell(W_ih.shape[0], h.shape[1]).double()
        with torch.no_grad():
            for name, value in [("weight_ih", W_ih.T), ("weight_hh", W_hh.T), ("bias_ih", b_ih),
                                ("bias_hh", b_hh)]:  # fmt: skip
                getattr(cell, name).copy_(torch.tensor(value))
            return cell(torch.tensor(x), (torch.tensor(h), torch.tensor(c)))

    def clip_torch(grads, max_norm):
        params = [torch.nn.Parameter(torch.zeros(g.shape, dtype=torch.float64)) for g in grads]
        for p, g in zip(params, grads, strict=True):
            p.grad = torch.tensor(g.copy())
        total = torch.nn.utils.clip_grad_norm_(params, max_norm)
        return [p.grad.numpy() for p in params], float(total)

    def ppl_torch(z, t):
        return torch.exp(torch.nn.functional.cross_entropy(torch.tensor(z), torch.tensor(t)))

    assert check_lstm_cell(lambda *a: tuple(v.numpy() for v in lstm_torch(*a))).passed
    assert check_clip_by_global_norm(clip_torch).passed
    assert check_perplexity_from_logits(lambda z, t: float(ppl_torch(z, t))).passed
    for check, student in [
        (check_lstm_cell, lstm_torch),
        (check_perplexity_from_logits, ppl_torch),
    ]:
        result = check(student)
        assert not result.passed and "torch.Tensor" in result.message, str(result)


def _bptt_batch_first(xs, h0, W_ih, W_hh, b_ih, b_hh, dh3):
    hs = [h0]
    for t in range(3):
        hs.append(np.tanh(xs[:, t] @ W_ih + b_ih + hs[-1] @ W_hh + b_hh))  # as if (B, T, D)
    return bptt_3_steps(xs, h0, W_ih, W_hh, b_ih, b_hh, dh3)


def _bptt_db_keepdims(*args):
    grads = bptt_3_steps(*args)
    return {**grads, "db_ih": grads["db_ih"][None], "db_hh": grads["db_hh"][None]}


def _bptt_scaling_dh3_in_place(xs, h0, W_ih, W_hh, b_ih, b_hh, dh3):
    hs = [h0]
    for x in xs:
        hs.append(np.tanh(x @ W_ih + b_ih + hs[-1] @ W_hh + b_hh))
    dW_ih, dW_hh, db = 0 * W_ih, 0 * W_hh, 0 * b_ih
    dh = dh3  # not a copy: the first `dh *=` changes dh3
    for t in (3, 2, 1):
        dh *= 1 - hs[t] ** 2  # now da_t
        dW_ih, dW_hh, db = dW_ih + xs[t - 1].T @ dh, dW_hh + hs[t - 1].T @ dh, db + dh.sum(0)
        dh = dh @ W_hh.T
    return {"dW_ih": dW_ih, "dW_hh": dW_hh, "db_ih": db, "db_hh": db, "dh0": dh}


def _ppl_log_p_plus_eps(eps):
    def fn(z, t):
        p = np.exp(_log_softmax_rows(z))
        return float(np.exp(-np.log(p[np.arange(len(t)), t] + eps).mean()))

    return fn


def _sample_with_python_random(z, T, rng):
    return random.choices(range(len(z)), weights=_sm(z / T))[0]


def _sample_logit_value(z, T, rng):
    return rng.choice(z, p=_sm(z / T))  # one of the logits, not an index


@pytest.mark.parametrize(
    "check, student, words",
    [
        (
            check_rnn_step,
            lambda x, h, Wi, Wh, bi, bh: (
                np.sinh(x @ Wi + bi + h @ Wh + bh) / np.cosh(x @ Wi + bi + h @ Wh + bh)
            ),
            "your tanh overflows",
        ),
        (
            check_rnn_step,
            lambda x, h, Wi, Wh, bi, bh: (np.tanh(x @ Wi + bi + h @ Wh + bh),) * 2,
            "a Python tuple of length 2",
        ),
        (check_rnn_step, lambda *a: list(rnn_step(*a)), "a Python list of length"),
        (check_bptt_3_steps, _bptt_batch_first, "xs is time first"),
        (check_bptt_3_steps, _bptt_db_keepdims, "`db_ih` has shape (1, 5)"),
        (check_bptt_3_steps, _bptt_scaling_dh3_in_place, "changed its input `dh3` in place"),
        (
            check_lstm_cell,
            _learner_lstm(new_h=lambda o, cn, c: np.tanh(cn)),
            "left out the output gate",
        ),
        (
            check_lstm_cell,  # split right, i and f swapped in c_new: the same as the order f, i
            _learner_lstm(new_c=lambda i, f, g, c, h: i * c + f * g),
            "each gate in its own place",
        ),
        (check_lstm_cell, lambda *a: np.stack(lstm_cell(*a)), "a tuple of 2 arrays"),
        (
            check_clip_by_global_norm,
            lambda g, m: tuple(reversed(clip_by_global_norm(g, m))),
            "`return clipped, total_norm`",
        ),
        (
            check_clip_by_global_norm,
            lambda g, m: ((x * min(1.0, m / _l2(g)) for x in g), _l2(g)),
            "`clipped` is an object of type generator",
        ),
        (check_perplexity_from_logits, _ppl_log_p_plus_eps(1e-8), "log(p + ε)"),
        (check_perplexity_from_logits, _ppl_log_p_plus_eps(1e-9), "log(p + ε)"),
        (check_perplexity_from_logits, _ppl_log_p_plus_eps(1e-6), "log(p + ε)"),
        (
            check_perplexity_from_logits,
            lambda z, t: np.array([perplexity_from_logits(z, t)]),
            "shape (1,)",
        ),
        (
            check_sample_with_temperature,
            _sample_logit_value,
            "rng.choice(logits, p=p) draws a logit",
        ),
        (
            check_sample_with_temperature,
            lambda z, T, rng: int(_sample_logit_value(z, T, rng)),
            "rng.choice(logits, p=p) draws a logit",
        ),
        (
            check_sample_with_temperature,
            lambda z, T, rng: sample_with_temperature(z, T, rng) + 1,
            "Indices count from 0",
        ),
        (
            check_sample_with_temperature,  # greedy below T = 1: the check at T = 0.5 sees it
            lambda z, T, rng: int(np.argmax(z)) if T < 1 else sample_with_temperature(z, T, rng),
            "greedy decoding",
        ),
        (
            check_sample_with_temperature,  # subtracting the min leaves exp(z / T) overflowing
            _choose(
                lambda z, T: np.exp(z / T - (z / T).min()) / np.exp(z / T - (z / T).min()).sum()
            ),
            "contain NaN",
        ),
        (
            check_sample_with_temperature,
            _sample_with_python_random,
            "still in its first state",
        ),
    ],
)
def test_second_round_mistakes_are_explained(check, student, words):
    result = check(student)
    assert not result.passed
    assert words in result.text, str(result)


@pytest.mark.parametrize("dtype", [np.float16])
def test_half_precision_is_not_enough(dtype):
    """float16 keeps 3 digits: the checks refuse it (float32 is accepted, with a note)."""
    assert not check_rnn_step(lambda *a: rnn_step(*a).astype(dtype)).passed
    assert not check_lstm_cell(lambda *a: tuple(v.astype(dtype) for v in lstm_cell(*a))).passed
