"""Chapter 1's checks: the reference passes, and each classic mistake is rejected by name."""

from __future__ import annotations

import math
import time
from collections import namedtuple

import numpy as np
import pytest
from scipy.special import expit, logsumexp
from scipy.special import softmax as sp_softmax

from dlbook.checks.backprop import (
    check_cross_entropy_grad,
    check_linear_backward,
    check_mlp_training,
    check_sigmoid_backward,
    check_softmax,
)
from dlbook.nn import numpy_backend as nn
from tests.checks.bad_solutions import runaway as _runaway
from tests.checks.bad_solutions import stub as _stub

# name -> (check, dlbook's reference, a correct solution: here the reference itself);
# test_every_check.py runs the problems every check must explain on these.
CHECKS = {
    "sigmoid_backward": (check_sigmoid_backward, nn.sigmoid_backward, nn.sigmoid_backward),
    "softmax": (check_softmax, nn.softmax, nn.softmax),
    "cross_entropy_grad": (
        check_cross_entropy_grad,
        nn.cross_entropy_backward,
        nn.cross_entropy_backward,
    ),
    "linear_backward": (check_linear_backward, nn.linear_backward, nn.linear_backward),
}

# linear_backward returns (dx, dW, db): its broken outputs break one of the three.
BROKEN = {
    "linear_backward": (
        lambda *a: (nn.linear_backward(*a)[0] * np.nan, *nn.linear_backward(*a)[1:]),
        lambda *a: (nn.linear_backward(*a)[0].tolist(), *nn.linear_backward(*a)[1:]),
        lambda *a: (nn.linear_backward(*a)[0].T, *nn.linear_backward(*a)[1:]),
    ),
}


def test_checks_are_deterministic_and_leave_global_rng_alone():
    state = np.random.get_state()[1].copy()
    first = str(check_softmax(lambda x, axis=-1: np.exp(x) / np.exp(x).sum()))
    assert first == str(check_softmax(lambda x, axis=-1: np.exp(x) / np.exp(x).sum()))
    assert np.array_equal(np.random.get_state()[1], state)


# ---------------------------------------------------------------------------
# 1. sigmoid_backward
# ---------------------------------------------------------------------------

s = nn.sigmoid


def _unstable_sigmoid_backward(x, g):
    sig = np.exp(x) / (1 + np.exp(x))
    return g * sig * (1 - sig)


@pytest.mark.parametrize(
    "student, words",
    [
        (lambda x, g: -g * s(x) * (1 - s(x)), "wrong sign"),
        (lambda x, g: s(x) * (1 - s(x)), "forgot to multiply by grad_out"),
        (lambda x, g: g * s(x), "used σ(x) as the derivative"),
        (lambda x, g: s(x), "returned the sigmoid itself"),
        (lambda x, g: g * x * (1 - x), "used x instead of σ(x)"),
        (_unstable_sigmoid_backward, "not numerically stable"),
        (
            lambda x, g: (g * s(x) * (1 - s(x))).sum(axis=0),
            "your sigmoid_backward has shape (4,) but should have shape (3, 4)",
        ),
        (lambda x, g: (g * s(x) * (1 - s(x))).sum(), "float64 scalar"),
        (lambda x, g: list(g * s(x) * (1 - s(x))), "a Python list"),
        (lambda x, g: g * s(x) * (1 - s(x)) + 1e-3, "wrong values"),
    ],
)
def test_sigmoid_backward_mistakes(student, words):
    result = check_sigmoid_backward(student)
    assert not result.passed
    assert words in result.text


# Wrong answers as learners write them (tried before an outside review), and correct
# answers written another way, which must pass.


def _sigmoid_backward_in_place(x, grad_out):
    grad_out *= s(x) * (1 - s(x))  # changes the caller's array
    return grad_out


def _sigmoid_backward_overwrites_x(x, grad_out):
    x[:] = 1 / (1 + np.exp(-x))
    return grad_out * x * (1 - x)


def _sigmoid_backward_only_2d(x, grad_out):
    if x.ndim != 2:
        return grad_out
    return grad_out * s(x) * (1 - s(x))


def _sig_piecewise(x):
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1 / (1 + np.exp(-x[pos]))
    e = np.exp(x[~pos])
    out[~pos] = e / (1 + e)
    return out


def _sigmoid_backward_loop(x, grad_out):
    out = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        sig = 1 / (1 + np.exp(-x[i]))
        out[i] = grad_out[i] * sig * (1 - sig)
    return out


@pytest.mark.parametrize(
    "student, words",
    [
        (_sigmoid_backward_in_place, "changed its input `grad_out` in place"),
        (_sigmoid_backward_overwrites_x, "changed its input `x` in place"),
        (_sigmoid_backward_only_2d, "on test case 2 of 4, a vector of 5"),
        (lambda x, g: g * np.exp(-x) / (1 + np.exp(-x)) ** 2, "NaN or inf"),
        (lambda x, g: g, "wrong values"),
        (lambda x, g: x, "wrong values"),
        (lambda x, g: g * s(x) * (1 + s(x)), "wrong values"),
        (lambda x, g: g * (1 - s(x)), "wrong values"),
        (lambda x, g: g * (1 - np.tanh(x) ** 2), "wrong values"),
        (lambda x, g: g * s(g) * (1 - s(g)), "wrong values"),
        (lambda x, g: 0.5 * g * s(x) * (1 - s(x)), "0.5 times the expected values"),
        (lambda x, g: (g * s(x) * (1 - s(x))).astype(np.float16), "Compute in float64"),
        (lambda x, g: (g * s(x) * (1 - s(x))).tolist(), "a Python list"),
    ],
)
def test_sigmoid_backward_learners_wrong_answers(student, words):
    result = check_sigmoid_backward(student)
    assert not result.passed
    assert words in result.text


@pytest.mark.parametrize(
    "student",
    [
        lambda x, g: g * _sig_piecewise(x) * (1 - _sig_piecewise(x)),
        lambda x, g: g * 0.25 * (1 - np.tanh(x / 2) ** 2),  # σ' written with tanh
        lambda x, g: g * np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x))) ** 2,  # even in x
        lambda x, g: g * s(-x) * (1 - s(-x)),  # σ'(-x) = σ'(x)
        lambda x, g: (g * s(x) * (1 - s(x))).astype(np.float32),
        _sigmoid_backward_loop,
    ],
)
def test_sigmoid_backward_unusual_correct_answers_pass(student):
    assert check_sigmoid_backward(student).passed


# ---------------------------------------------------------------------------
# 2. softmax
# ---------------------------------------------------------------------------


def _normalise(e, axis):
    return e / e.sum(axis=axis, keepdims=True)


def _softmax_in_place(x, axis=-1):
    x -= x.max(axis=axis, keepdims=True)
    return _normalise(np.exp(x), axis)


@pytest.mark.parametrize(
    "student, words",
    [
        (lambda x, axis=-1: _normalise(np.exp(x), axis), "not numerically stable"),
        (lambda x, axis=-1: _normalise(np.exp(x - x.max()), axis), "max of the whole array"),
        (lambda x, axis=-1: _normalise(np.exp(x - x.max(0, keepdims=True)), 0), "over axis 0"),
        (lambda x, axis=-1: nn.softmax(x, -1), "ignored the `axis` argument"),
        (lambda x, axis=-1: np.exp(x - x.max(axis, keepdims=True)), "not normalised"),
        (lambda x, axis=-1: np.exp(x - x.max()) / np.exp(x - x.max()).sum(), "whole array"),
        (lambda x, axis=-1: nn.softmax(x, axis).sum(axis=axis), "has shape (3,) but should"),
        (lambda x, axis=-1: np.exp(x) / np.exp(x).sum(axis=axis), "keepdims"),
        (_softmax_in_place, "in place"),
        (lambda x, axis=-1: None, "return"),
    ],
)
def test_softmax_mistakes(student, words):
    result = check_softmax(student)
    assert not result.passed
    assert words in result.text


def test_softmax_unstable_message_mentions_the_max_trick():
    result = check_softmax(lambda x, axis=-1: _normalise(np.exp(x), axis))
    assert "large logits" in result.message and "max" in result.hint


def _softmax_hard_coded_axis_1(x, axis=-1):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _softmax_loop(x, axis=-1):
    rows = np.moveaxis(x, axis, -1)  # (..., n): the softmax axis last
    out = np.empty_like(rows)
    for i in np.ndindex(rows.shape[:-1]):
        e = np.exp(rows[i] - rows[i].max())
        out[i] = e / e.sum()
    return np.moveaxis(out, -1, axis)


def _softmax_log_sum_exp(x, axis=-1):
    m = x.max(axis=axis, keepdims=True)
    return np.exp(x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True)))


def _softmax_as_row(x, axis=-1):
    x = np.atleast_2d(x)  # a vector becomes one row
    return _normalise(np.exp(x - x.max(axis=axis, keepdims=True)), axis)


@pytest.mark.parametrize(
    "student, words",
    [
        (_softmax_hard_coded_axis_1, "AxisError"),
        (_softmax_as_row, "shape (1, 6) but should have shape (6,)"),
        (lambda x, axis=0: nn.softmax(x, axis), "over axis 0"),
        (lambda x: nn.softmax(x), "unexpected keyword argument 'axis'"),
        (
            lambda x, axis=-1: np.exp(x - x.max(axis)) / np.exp(x - x.max(axis)).sum(axis),
            "keepdims",
        ),
        (lambda x, axis=-1: x / x.sum(axis=axis, keepdims=True), "wrong values"),
        (lambda x, axis=-1: s(x), "wrong values"),
        (lambda x, axis=-1: x, "wrong values"),
        (lambda x, axis=-1: nn.log_softmax(x, axis), "wrong values"),
        (
            lambda x, axis=-1: _normalise(np.exp(np.clip(x, -700, 700)), axis),
            "large logits near +1000",
        ),
        (lambda x, axis=-1: np.nan_to_num(_normalise(np.exp(x), axis)), "large logits"),
        (
            lambda x, axis=-1: (
                np.exp(x - x.max(axis, keepdims=True))
                / np.exp(x - x.max(axis, keepdims=True)).max(axis, keepdims=True)
            ),
            "not normalised",
        ),
        (
            lambda x, axis=-1: _normalise(np.exp(x - np.abs(x).max(axis, keepdims=True)), axis),
            "max of the whole array",
        ),
        (lambda x, axis=-1: _normalise(np.exp(x - np.take(x, [0], axis)), axis), "NaN or inf"),
        (lambda x, axis=-1: nn.softmax(x, axis).astype(np.float16), "Compute in float64"),
    ],
)
def test_softmax_learners_wrong_answers(student, words):
    result = check_softmax(student)
    assert not result.passed
    assert words in result.text


@pytest.mark.parametrize(
    "student",
    [
        _softmax_loop,
        _softmax_log_sum_exp,
        lambda x, axis=-1: nn.softmax(x, axis).astype(np.float32),
    ],
)
def test_softmax_unusual_correct_answers_pass(student):
    assert check_softmax(student).passed


# ---------------------------------------------------------------------------
# 3. cross_entropy_grad
# ---------------------------------------------------------------------------


def _p(z, axis=1):
    return nn.softmax(z, axis=axis)


def _onehot(z, y):
    return nn.one_hot(y, z.shape[1])


@pytest.mark.parametrize(
    "student, words",
    [
        (lambda z, y: _p(z) - _onehot(z, y), "forgot to divide by the batch size B"),
        (lambda z, y: (_onehot(z, y) - _p(z)) / len(y), "wrong sign"),
        (lambda z, y: (z - _onehot(z, y)) / len(y), "raw logits"),
        (lambda z, y: (nn.log_softmax(z, 1) - _onehot(z, y)) / len(y), "log-softmax"),
        (lambda z, y: _p(z) / len(y), "forgot to subtract the one-hot"),
        (lambda z, y: (_p(z) - _onehot(z, y)) / z.shape[1], "number of classes K"),
        (lambda z, y: (_p(z) - _onehot(z, y)) / z.size, "B * K"),
        (lambda z, y: (_p(z, 0) - _onehot(z, y)) / len(y), "over the batch (axis 0)"),
        (
            lambda z, y: (np.exp(z) / np.exp(z).sum(1, keepdims=True) - _onehot(z, y)) / len(y),
            "not numerically stable",
        ),
        (lambda z, y: ((_p(z) - _onehot(z, y)) / len(y)).sum(axis=1), "has shape"),
        (lambda z, y: ((_p(z) - _onehot(z, y)) / len(y)).T, "transposed"),
    ],
)
def test_cross_entropy_grad_mistakes(student, words):
    result = check_cross_entropy_grad(student)
    assert not result.passed
    assert words in result.text


def _ce_fancy_index_every_row(logits, labels):
    p = _p(logits)
    p[:, labels] -= 1  # every row, at the column of every label
    return p / len(labels)


def _ce_one_hot_too_narrow(logits, labels):
    Y = np.eye(labels.max() + 1)[labels]  # as many columns as the largest label + 1
    return (_p(logits) - Y) / len(labels)


def _ce_global_max(logits, labels):
    e = np.exp(logits - logits.max())  # one max for the whole batch
    return (e / e.sum(axis=1, keepdims=True) - _onehot(logits, labels)) / len(labels)


def _ce_in_place(logits, labels):
    logits -= logits.max(axis=1, keepdims=True)
    p = _normalise(np.exp(logits), 1)
    p[np.arange(len(labels)), labels] -= 1
    return p / len(labels)


def _ce_loop(logits, labels):
    grad = np.zeros_like(logits)
    for b, (z, y) in enumerate(zip(logits, labels, strict=True)):
        e = np.exp(z - z.max())
        grad[b] = e / e.sum()
        grad[b, y] -= 1
    return grad / len(labels)


@pytest.mark.parametrize(
    "student, words",
    [
        (_ce_fancy_index_every_row, "P[:, labels]"),
        (_ce_one_hot_too_narrow, "not np.eye(labels.max() + 1)[labels]"),
        (_ce_global_max, "max of the whole logits array"),
        (_ce_in_place, "changed its input `logits` in place"),
        (lambda z, y: (_p(z) - _onehot(z, z.argmax(1))) / len(y), "wrong values"),
        (lambda z, y: (_p(z) - _onehot(z, (y + 1) % z.shape[1])) / len(y), "wrong values"),
        (lambda z, y: (_p(z) - y[:, None]) / len(y), "wrong values"),
        (lambda z, y: _p(z) * (_onehot(z, y) - _p(z)) / len(y), "wrong values"),
        (lambda z, y: (s(z) - _onehot(z, y)) / len(y), "wrong values"),
        (lambda z, y: (_p(z) - _onehot(z, y)) / np.sqrt(len(y)), "2 times the expected"),
        (lambda z, y: 2 * (_p(z) - _onehot(z, y)) / len(y), "2 times the expected"),
        (lambda z, y: -np.log(_p(z)[np.arange(len(y)), y]).mean(), "float64 scalar"),
        (lambda z, y: ((_p(z) - _onehot(z, y)) / len(y)).tolist(), "a Python list"),
        (
            lambda z, y: np.nan_to_num((_normalise(np.exp(z), 1) - _onehot(z, y)) / len(y)),
            "large logits (hundreds)",
        ),
    ],
)
def test_cross_entropy_grad_learners_wrong_answers(student, words):
    result = check_cross_entropy_grad(student)
    assert not result.passed
    assert words in result.text


@pytest.mark.parametrize(
    "student",
    [
        _ce_loop,
        lambda z, y: (_p(z) - np.eye(z.shape[1])[y]) / z.shape[0],
        lambda z, y: (nn.softmax(z, -1) - _onehot(z, y)) / len(z),
        lambda z, y: ((_p(z) - _onehot(z, y)) / len(y)).astype(np.float32),
    ],
)
def test_cross_entropy_grad_unusual_correct_answers_pass(student):
    assert check_cross_entropy_grad(student).passed


# ---------------------------------------------------------------------------
# 4. linear_backward
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "student, words",
    [
        (lambda x, W, g: (g @ W.T, g.T @ x, g.sum(0)), "`dW` is transposed"),
        (lambda x, W, g: (x.T @ g, g @ W.T, g.sum(0)), "wrong order"),
        (lambda x, W, g: (g @ W.T, x.T @ g, g), "`db` was not summed over the batch"),
        (lambda x, W, g: (g @ W.T, x.T @ g, g.mean(0)), "averaged"),
        (lambda x, W, g: (g @ W.T, x.T @ g, g.sum(1)), "wrong axis"),
        (lambda x, W, g: (g @ W.T, x.T @ g, g.sum(0, keepdims=True)), "axis of length 1"),
        (lambda x, W, g: (g @ W.T, x.T @ g / len(x), g.sum(0)), "divided by the batch size"),
        (lambda x, W, g: (g @ W, x.T @ g, g.sum(0)), "W.T"),
        (lambda x, W, g: (g @ W.T, x.T @ g), "returns 2 values, but 3 were expected"),
        (lambda x, W, g: g @ W.T, "a tuple of 3 arrays (dx, dW, db)"),
        (lambda x, W, g: (g @ W.T, None, g.sum(0)), "`dW` is None"),
    ],
)
def test_linear_backward_mistakes(student, words):
    result = check_linear_backward(student)
    assert not result.passed
    assert words in result.text


def test_linear_backward_w_instead_of_w_transposed_is_named_on_a_square_w():
    def square_only(x, W, g):
        if W.shape[0] != W.shape[1]:
            return nn.linear_backward(x, W, g)
        return g @ W, x.T @ g, g.sum(0)

    assert "`dx` uses W instead of W.T" in check_linear_backward(square_only).message


def _linear_backward_loop(x, W, grad_out):
    dx, dW, db = np.zeros_like(x), np.zeros_like(W), np.zeros(W.shape[1])
    for b in range(len(x)):
        dx[b] = W @ grad_out[b]
        dW += np.outer(x[b], grad_out[b])
        db += grad_out[b]
    return dx, dW, db


@pytest.mark.parametrize(
    "student, words",
    [
        (lambda x, W, g: (W @ g.T, x.T @ g, g.sum(0)), "It looks transposed"),
        (lambda x, W, g: (x, x.T @ g, g.sum(0)), "`dx` has wrong values"),
        (lambda x, W, g: (g @ W.T / len(x), x.T @ g, g.sum(0)), "`dx` is 0.25 times"),
        (lambda x, W, g: (-g @ W.T, x.T @ g, g.sum(0)), "`dx` has the wrong sign"),
        (lambda x, W, g: ((g @ W.T) * s(x) * (1 - s(x)), x.T @ g, g.sum(0)), "`dx` has wrong"),
        (lambda x, W, g: (g @ W.T, np.outer(x[0], g[0]), g.sum(0)), "`dW` has wrong values"),
        (lambda x, W, g: (g @ W.T, x.T @ g + W, g.sum(0)), "`dW` has wrong values"),
        (lambda x, W, g: (g @ W.T, -x.T @ g, g.sum(0)), "`dW` has the wrong sign"),
        (lambda x, W, g: (g @ W.T, x @ g.T, g.sum(0)), "dW like W (D, H)"),
        (lambda x, W, g: (g @ W.T, x.T @ g, g[0]), "`db` has wrong values"),
        (lambda x, W, g: (g @ W.T, x.T @ g, g.sum()), "`db` is a NumPy float64 scalar"),
        (lambda x, W, g: (g @ W.T, x.T @ g, list(g.sum(0))), "`db` is a Python list"),
        (lambda x, W, g: (g @ W.T, g.sum(0), x.T @ g), "`dW` has shape (5,)"),
        (lambda x, W, g: {"dx": g @ W.T, "dW": x.T @ g, "db": g.sum(0)}, "type dict"),
    ],
)
def test_linear_backward_learners_wrong_answers(student, words):
    result = check_linear_backward(student)
    assert not result.passed
    assert words in result.text


@pytest.mark.parametrize(
    "student",
    [
        _linear_backward_loop,
        lambda x, W, g: [g @ W.T, x.T @ g, g.sum(0)],  # a list of three
        lambda x, W, g: (np.einsum("bh,dh->bd", g, W), np.einsum("bd,bh->dh", x, g), g.sum(0)),
        lambda x, W, g: ((W @ g.T).T, (g.T @ x).T, np.ones(len(g)) @ g),
        lambda x, W, g: tuple(a.astype(np.float32) for a in (g @ W.T, x.T @ g, g.sum(0))),
    ],
)
def test_linear_backward_unusual_correct_answers_pass(student):
    assert check_linear_backward(student).passed


# ---------------------------------------------------------------------------
# 5. check_mlp_training
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def digits():
    from dlbook.data import load_digits_split

    return load_digits_split()


@pytest.fixture(scope="module")
def trained(digits):
    from dlbook.nn import TrainConfig, fit

    model = nn.MLP([64, 64, 10], seed=0)
    fit("numpy", model, digits, TrainConfig(epochs=10, progress=False))
    return model


def _after_reading(model):
    """A train_mlp that reads the training split (as training does) and returns ``model``."""

    def train(data):
        data.x_train, data.y_train  # noqa: B018 - what training reads
        return model

    return train


class _Wrapper:
    """A model whose predict returns whatever ``how`` makes of the MLP's logits."""

    def __init__(self, model, how):
        self.model, self.how = model, how

    def predict(self, x):
        return self.how(self.model.forward(x))


def test_mlp_training_accepts_a_numpy_mlp_and_a_predict_method(digits, trained):
    result = check_mlp_training(_after_reading(trained), data=digits)
    assert result.passed and "test accuracy" in result.message
    assert check_mlp_training(
        _after_reading(_Wrapper(trained, lambda z: z.argmax(1))), data=digits
    ).passed


@pytest.mark.parametrize(
    "how, words",
    [
        (lambda z: z, "shape (270, 10)"),
        (lambda z: z.argmax(1).astype(float), "integer class indices"),
        (lambda z: z.argmax(1) + 10, "outside the classes"),
        (lambda z: list(z.argmax(1)), "a Python list"),
        (lambda z: np.zeros(270, dtype=int), "below the 97%"),
    ],
)
def test_mlp_training_rejects_bad_predictions(digits, trained, how, words):
    result = check_mlp_training(_after_reading(_Wrapper(trained, how)), data=digits)
    assert not result.passed and words in result.text


def test_mlp_training_untrained_model_is_near_chance(digits):
    result = check_mlp_training(_after_reading(nn.MLP([64, 32, 10], seed=0)), data=digits)
    assert "below the 97%" in result.message and "guessing" in result.hint


@pytest.mark.parametrize(
    "train_fn, words",
    [
        (_stub, "not implemented yet"),
        (lambda data: None, "returned None"),
        (lambda data: "model", "predict(x) method"),
        (lambda data: 1 / 0, "training raised ZeroDivisionError"),
        (42, "expected a function"),
    ],
)
def test_mlp_training_problems(digits, train_fn, words):
    result = check_mlp_training(train_fn, data=digits)
    assert not result.passed and words in result.text


def _on_the_test_split(model):
    def train(data):
        data.x_train, data.y_train  # noqa: B018
        data.x_test, data.y_test  # noqa: B018 - training on the test split
        return model

    return train


def test_mlp_training_must_not_read_the_test_labels(digits, trained):
    result = check_mlp_training(_on_the_test_split(trained), data=digits)
    assert not result.passed and "read data.y_test" in result.message


def test_mlp_training_must_train_on_the_data_it_is_given(digits, trained):
    result = check_mlp_training(lambda data: trained, data=digits)
    assert not result.passed and "never read data.x_train" in result.message


def test_mlp_training_too_slow_is_stopped(digits):
    start = time.perf_counter()
    result = check_mlp_training(_runaway, data=digits, time_budget=0.3)
    assert time.perf_counter() - start < 1.5 and "too slow" in result.message


def test_mlp_training_slow_predict_counts_against_the_budget(digits, trained):
    result = check_mlp_training(
        _after_reading(_Wrapper(trained, _runaway)), data=digits, time_budget=0.3
    )
    assert "too slow" in result.message


class _Classifier:
    """A learner's model class; train_mlp below forgets to make one."""

    def predict(self, x):
        return np.zeros(len(x), dtype=int)


def _returns_the_class(data):
    data.x_train, data.y_train  # noqa: B018
    return _Classifier


class _LooksUpTheAnswers:
    """A model that keeps the data it was trained on, test labels included."""

    def __init__(self, data):
        self.data = data

    def predict(self, x):
        return self.data.y_test


def _keeps_the_data(data):
    data.x_train, data.y_train  # noqa: B018
    return _LooksUpTheAnswers(data)


def test_mlp_training_returning_the_class_says_to_make_a_model(digits):
    result = check_mlp_training(_returns_the_class, data=digits)
    assert not result.passed and "the class _Classifier itself" in result.message


def test_mlp_training_predict_must_not_read_the_test_labels(digits):
    result = check_mlp_training(_keeps_the_data, data=digits)
    assert not result.passed and "read data.y_test" in result.message


@pytest.mark.parametrize(
    "how, words",
    [
        (lambda z: z.argmax(0), "shape (10,)"),
        (lambda z: z.argmax(1)[:, None], "shape (270, 1)"),
        (lambda z: np.eye(10, dtype=int)[z.argmax(1)], "argmax(axis=1)"),
        (lambda z: z.argmax(1) > 4, "dtype bool"),
        (lambda z: (z.argmax(1), z), "a Python tuple"),
        (lambda z: (z * np.nan).argmax(1), "guessing"),
    ],
)
def test_mlp_training_rejects_learners_predictions(digits, trained, how, words):
    result = check_mlp_training(_after_reading(_Wrapper(trained, how)), data=digits)
    assert not result.passed and words in result.text


@pytest.mark.parametrize(
    "how", [lambda z: z.argmax(1).astype(np.int32), lambda z: z.argmax(1).astype(np.uint8)]
)
def test_mlp_training_accepts_other_integer_predictions(digits, trained, how):
    assert check_mlp_training(_after_reading(_Wrapper(trained, how)), data=digits).passed


# ---------------------------------------------------------------------------
# A second round of learners' answers: new wrong ones, and correct ones written
# another way (scipy, matrices, named tuples, other formulas), which must pass.
# ---------------------------------------------------------------------------


def _sigmoid_backward_with_math_exp(x, grad_out):
    sig = np.vectorize(lambda v: 1 / (1 + math.exp(-v)))(x)  # math.exp(800) overflows
    return grad_out * sig * (1 - sig)


def _sigmoid_backward_half_precision(x, grad_out):
    sig = 1 / (1 + np.exp(-x.astype(np.float16)))
    return grad_out * sig * (1 - sig)


@pytest.mark.parametrize(
    "student, words",
    [
        (lambda x, g: g @ (s(x) * (1 - s(x))), "multiply with *, not @ or np.dot"),
        (lambda x, g: np.dot(g, s(x) * (1 - s(x))), "multiply with *, not @ or np.dot"),
        (_sigmoid_backward_with_math_exp, "OverflowError"),
        (_sigmoid_backward_with_math_exp, "not math.exp"),
        (_sigmoid_backward_half_precision, "wrong values"),
        (lambda x, g: g.mean() * s(x) * (1 - s(x)), "wrong values"),
        (lambda x, g: g.sum() * s(x) * (1 - s(x)), "wrong values"),
        (lambda x, g: np.ones_like(x) * s(x) * (1 - s(x)), "forgot to multiply by grad_out"),
        (lambda x, g: g * s(x) * (1 - s(x)) * x, "wrong values"),
        (lambda x, g: g / (s(x) * (1 - s(x))), "wrong values"),
        (lambda x, g: np.abs(g * s(x) * (1 - s(x))), "wrong values"),
        (lambda x, g: -s(x) * (1 - s(x)), "wrong values"),
        (lambda x, g: 2 * g * s(x) * (1 - s(x)), "2 times the expected"),
        (lambda x, g: (x, g * s(x) * (1 - s(x))), "a Python tuple of length 2"),
        (lambda x, g: (g * s(x) * (1 - s(x))).ravel(), "shape (12,)"),
        (lambda x, g: (g * s(x) * (1 - s(x))).sum(0, keepdims=True), "shape (1, 4)"),
        (lambda x, g: (g * s(x) * (1 - s(x))).astype(int), "on test case 1 of 4"),
        (lambda x, g: np.zeros_like(x), "on test case 1 of 4"),
    ],
)
def test_sigmoid_backward_second_round_wrong_answers(student, words):
    result = check_sigmoid_backward(student)
    assert not result.passed
    assert words in result.text


def _sig_clipped(x):
    return 1 / (1 + np.exp(-np.clip(x, -500, 500)))


@pytest.mark.parametrize(
    "student",
    [
        lambda x, g: g * _sig_clipped(x) * (1 - _sig_clipped(x)),
        lambda x, g: g * np.exp(-np.logaddexp(0, -x)) * (1 - np.exp(-np.logaddexp(0, -x))),
        lambda x, g: g * expit(x) * (1 - expit(x)),
        lambda x, g: g * s(x) - g * s(x) ** 2,
        lambda x, g: g / (2 + np.exp(x) + np.exp(-x)),  # e^800 = inf gives 0, as it should
        lambda x, g: g / (4 * np.cosh(x / 2) ** 2),
        lambda x, g: (g.T * s(x.T) * (1 - s(x.T))).T,
        lambda x, g: np.where(np.abs(x) > 30, 0.0, g * s(x) * (1 - s(x))),  # σ'(30) ≈ 1e-13
        lambda x, g: g * _sig_clipped(x.astype(np.float32)) * (1 - _sig_clipped(x)),
        lambda x, g: np.asmatrix(g * s(x) * (1 - s(x))) if x.ndim == 2 else g * s(x) * (1 - s(x)),
    ],
)
def test_sigmoid_backward_second_round_correct_answers_pass(student):
    assert check_sigmoid_backward(student).passed


def _softmax_sum_over_everything(x, axis=-1):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e)  # the axis forgotten in the sum only


def _softmax_axis_none_by_default(x, axis=None):
    return _normalise(np.exp(x - x.max(axis=axis, keepdims=True)), axis)


def _softmax_exp_into_x(x, axis=-1):
    np.exp(x - x.max(axis, keepdims=True), out=x)
    return x / x.sum(axis, keepdims=True)


@pytest.mark.parametrize(
    "student, words",
    [
        (_softmax_sum_over_everything, "summed over the whole array, not along the axis"),
        (_softmax_axis_none_by_default, "whole array"),
        (_softmax_exp_into_x, "changed its input `x` in place"),
        (lambda x, axis=-1: _normalise(np.exp(x - x.max(0, keepdims=True)), axis), "wrong values"),
        (
            lambda x, axis=-1: (
                np.exp(x - x.max(axis, keepdims=True)) / np.exp(x).sum(axis, keepdims=True)
            ),
            "wrong values",
        ),
        (
            lambda x, axis=-1: np.exp(x - np.log(np.exp(x).sum(axis, keepdims=True))),
            "NaN or inf",
        ),
        (lambda x, axis=-1: _normalise(np.exp(x + x.max(axis, keepdims=True)), axis), "stable"),
        (
            lambda x, axis=-1: _normalise(np.exp(x - x.max(-1, keepdims=True)), axis),
            "normalising over axis 0",
        ),
        (
            lambda x, axis=-1: _normalise(np.exp(x - x.max(axis, keepdims=True)), -1),
            "normalising over axis 0",
        ),
        (
            lambda x, axis=-1: _normalise(np.exp(x - np.median(x, axis, keepdims=True)), axis),
            "wide-spread rows",
        ),
        (
            lambda x, axis=-1: nn.softmax(x.astype(np.float16), axis),
            "wrong values",
        ),
        (
            lambda x, axis=-1: (
                np.exp(x - x.max(axis, keepdims=True))
                / (np.exp(x - x.max(axis, keepdims=True)).sum(axis, keepdims=True) + 1e-3)
            ),
            "wrong values",
        ),
        (lambda x, axis=-1: _normalise(np.exp2(x - x.max(axis, keepdims=True)), axis), "wrong"),
        (lambda x, axis=-1: _normalise(np.abs(x), axis), "wrong values"),
        (lambda x, axis=-1: np.ones_like(x) / x.shape[axis], "wrong values"),
        (lambda x, axis=-1: (nn.softmax(x, axis), axis), "a Python tuple of length 2"),
        (lambda x, axis=-1: nn.softmax(x, axis).tolist(), "a Python list of length 3"),
    ],
)
def test_softmax_second_round_wrong_answers(student, words):
    result = check_softmax(student)
    assert not result.passed
    assert words in result.text


def _softmax_on_a_copy(x, axis=-1):
    x = x.copy()  # in place, but on its own copy
    x -= x.max(axis, keepdims=True)
    np.exp(x, out=x)
    x /= x.sum(axis, keepdims=True)
    return x


def _softmax_axis_moved_last(x, axis=-1):
    y = np.swapaxes(x, axis, -1)
    e = np.exp(y - y.max(-1, keepdims=True))
    return np.swapaxes(e / e.sum(-1, keepdims=True), axis, -1)


@pytest.mark.parametrize(
    "student",
    [
        lambda x, axis=-1: sp_softmax(x, axis=axis),
        lambda x, axis=-1: np.exp(x - logsumexp(x, axis=axis, keepdims=True)),
        _softmax_on_a_copy,
        _softmax_axis_moved_last,
        lambda x, axis=-1: _normalise(
            np.exp(np.clip(x - x.max(axis, keepdims=True), -50, 0)), axis
        ),
        lambda x, axis=-1: np.apply_along_axis(lambda r: nn.softmax(r), axis, x),
        lambda x, axis=-1: (
            np.exp(x - x.max(axis, keepdims=True))
            / (np.exp(x - x.max(axis, keepdims=True)).sum(axis, keepdims=True) + 1e-12)
        ),
    ],
)
def test_softmax_second_round_correct_answers_pass(student):
    assert check_softmax(student).passed


def _ce_rows_of_the_labels(logits, labels):
    p = _p(logits)
    p[labels] -= 1  # whole rows, picked by the label values
    return p / len(labels)


def _ce_one_hot_by_rows(logits, labels):
    Y = np.zeros_like(logits)
    Y[labels] = 1
    return (_p(logits) - Y) / len(labels)


def _ce_one_hot_by_columns(logits, labels):
    Y = np.zeros_like(logits)
    Y[:, labels] = 1
    return (_p(logits) - Y) / len(labels)


def _ce_true_class_only(logits, labels):
    rows = np.arange(len(labels))
    grad = np.zeros_like(logits)
    grad[rows, labels] = _p(logits)[rows, labels] - 1  # the other classes forgotten
    return grad / len(labels)


def _ce_grad_of_the_probabilities(logits, labels):
    rows = np.arange(len(labels))
    grad = np.zeros_like(logits)
    grad[rows, labels] = -1 / _p(logits)[rows, labels]  # dL/dp, not dL/dlogits
    return grad / len(labels)


def _ce_loss_and_grad(logits, labels):
    p = _p(logits)
    loss = -np.log(p[np.arange(len(labels)), labels]).mean()
    return loss, (p - _onehot(logits, labels)) / len(labels)


@pytest.mark.parametrize(
    "student, words",
    [
        (_ce_rows_of_the_labels, "P[labels], which picks whole rows"),
        (_ce_one_hot_by_rows, "P[labels], which picks whole rows"),
        (_ce_one_hot_by_columns, "P[:, labels]"),
        (_ce_true_class_only, "kept only the true class's entry"),
        (lambda z, y: (_p(z) * _onehot(z, y) - _onehot(z, y)) / len(y), "only the true class"),
        (_ce_grad_of_the_probabilities, "wrong values"),
        (_ce_loss_and_grad, "a Python tuple of length 2"),
        (lambda z, y: (_p(z) - _onehot(z, y)) // len(y), "wrong values"),
        (lambda z, y: (_p(z) - _onehot(z, y)) / len(np.unique(y)), "times the expected"),
        (lambda z, y: (_p(z) - _onehot(z, y)).mean(axis=0), "has shape (3,)"),
        (lambda z, y: _onehot(z, y) - _p(z), "-4 times the expected"),
        (lambda z, y: (_onehot(z, z.argmax(1)) - _onehot(z, y)) / len(y), "wrong values"),
        (lambda z, y: (s(z) - _onehot(z, y)) / z.size, "wrong values"),
        (lambda z, y: -_onehot(z, y) / len(y), "wrong values"),
        (lambda z, y: np.squeeze((_p(z) - _onehot(z, y)) / len(y)), "a single example"),
        (lambda z, y: _p(z, 0) - _onehot(z, y), "wrong values"),
    ],
)
def test_cross_entropy_grad_second_round_wrong_answers(student, words):
    result = check_cross_entropy_grad(student)
    assert not result.passed
    assert words in result.text


def _ce_put_along_axis(logits, labels):
    Y = np.zeros_like(logits)
    np.put_along_axis(Y, labels[:, None], 1.0, axis=1)
    return (_p(logits) - Y) / len(labels)


@pytest.mark.parametrize(
    "student",
    [
        _ce_put_along_axis,
        lambda z, y: (_p(z) - (y[:, None] == np.arange(z.shape[1]))) / len(y),  # bool one-hot
        lambda z, y: (sp_softmax(z, axis=1) - np.eye(z.shape[1])[y]) / len(y),
        lambda z, y: (np.exp(nn.log_softmax(z, 1)) - _onehot(z, y)) / y.size,
        lambda z, y: (nn.softmax(z.T, 0).T - _onehot(z, y)) / len(y),
        lambda z, y: (_p(z) - _onehot(z, y.astype(float).astype(int))) / len(y),
    ],
)
def test_cross_entropy_grad_second_round_correct_answers_pass(student):
    assert check_cross_entropy_grad(student).passed


def _linear_backward_steps_w(x, W, grad_out):
    dW = x.T @ grad_out
    W -= 0.1 * dW  # an update where only gradients were asked for
    return grad_out @ W.T, dW, grad_out.sum(axis=0)


@pytest.mark.parametrize(
    "student, words",
    [
        (_linear_backward_steps_w, "changed its input `W` in place"),
        (lambda x, W, g: (g @ W.T, np.outer(x.sum(0), g.sum(0)), g.sum(0)), "`dW` has wrong"),
        (lambda x, W, g: (g @ W.T, x.T @ g, g.squeeze()), "not summed over the batch"),
        (lambda x, W, g: (g @ W.T, x.T @ g, g[0] * len(g)), "`db` has wrong values"),
        (lambda x, W, g: (g @ W.T, x.T @ g, np.abs(g).sum(0)), "`db` has wrong values"),
        (lambda x, W, g: (g @ W.T, x.T @ g, np.asmatrix(g).sum(0)), "axis of length 1"),
        (lambda x, W, g: (g @ W.T, x.T @ g, g.sum(0)[:, None]), "shape (5, 1)"),
        (lambda x, W, g: (g @ W.T, x.T @ g, [g.sum(0)]), "a Python list of length 1"),
        (lambda x, W, g: (g @ W.T, x.T @ g, g.sum(0) / g.shape[1]), "0.2 times"),
        (lambda x, W, g: (g @ W.T / len(x), x.T @ g / len(x), g.mean(0)), "`dx` is 0.25 times"),
        (lambda x, W, g: (-(g @ W.T), -(x.T @ g), -g.sum(0)), "`dx` has the wrong sign"),
        (lambda x, W, g: (g @ W.T * x, x.T @ g, g.sum(0)), "`dx` has wrong values"),
        (lambda x, W, g: (g @ W.T, x.T @ np.ones_like(g), g.sum(0)), "`dW` has wrong values"),
        (lambda x, W, g: (g @ W.T, x.T @ g, np.zeros(W.shape[1])), "`db` is all zeros"),
        (lambda x, W, g: np.array([g @ W.T, x.T @ g, g.sum(0)], dtype=object), "dtype object"),
        (lambda x, W, g: (a for a in (g @ W.T, x.T @ g, g.sum(0))), "type generator"),
        (lambda x, W, g: (g @ W, g.T @ x, g.sum(0)), "inner sizes of a matrix product"),
    ],
)
def test_linear_backward_second_round_wrong_answers(student, words):
    result = check_linear_backward(student)
    assert not result.passed
    assert words in result.text


_Grads = namedtuple("_Grads", "dx dW db")


def _linear_backward_with_matrices(x, W, grad_out):
    xm, Wm, gm = np.asmatrix(x), np.asmatrix(W), np.asmatrix(grad_out)
    return gm * Wm.T, xm.T * gm, np.asarray(gm.sum(axis=0)).ravel()


@pytest.mark.parametrize(
    "student",
    [
        lambda x, W, g: _Grads(g @ W.T, x.T @ g, g.sum(0)),
        lambda x, W, g: (np.dot(g, W.T), np.dot(x.T, g), np.sum(g, axis=0)),
        lambda x, W, g: (np.matmul(g, W.T), (g.T @ x).T, g.T.sum(1)),
        _linear_backward_with_matrices,
    ],
)
def test_linear_backward_second_round_correct_answers_pass(student):
    assert check_linear_backward(student).passed


class _Predictor:
    """A model whose predict(x, W) needs a second argument the check does not give."""

    def predict(self, x, W):
        return x @ W


def _returns_model_and_losses(data):
    data.x_train, data.y_train  # noqa: B018 - what training reads
    return nn.MLP([64, 10], seed=0), [0.5, 0.3]


def _returns_a_predict_function(data):
    data.x_train, data.y_train  # noqa: B018
    return lambda x: x.argmax(axis=1)


def _returns_the_weights(data):
    data.x_train, data.y_train  # noqa: B018
    return {"W0": np.zeros((64, 10)), "b0": np.zeros(10)}


def _returns_a_two_argument_predict(data):
    data.x_train, data.y_train  # noqa: B018
    return _Predictor()


def _counts_the_examples(data):
    n = len(data)  # the data set is not a list of examples
    return n


@pytest.mark.parametrize(
    "train_fn, words",
    [
        (_returns_model_and_losses, "returned a Python tuple of length 2"),
        (_returns_a_predict_function, "type function"),
        (_returns_the_weights, "type dict"),
        (_returns_a_two_argument_predict, "argument: 'W'"),
        (_counts_the_examples, "has no len()"),
    ],
)
def test_mlp_training_second_round_problems(digits, train_fn, words):
    result = check_mlp_training(train_fn, data=digits)
    assert not result.passed and words in result.text


@pytest.mark.parametrize(
    "how, words",
    [
        (lambda z: [int(k) for k in z.argmax(1)], "a Python list of length 270"),
        (lambda z: tuple(z.argmax(1)), "a Python tuple of length 270"),
        (lambda z: np.asmatrix(z).argmax(1), "shape (270, 1)"),
        (lambda z: nn.softmax(z, axis=1), "argmax(axis=1)"),
        (lambda z: np.array([], dtype=int), "shape (0,)"),
        (lambda z: -z.argmax(1), "outside the classes"),
        (lambda z: z.argmax(1).astype(np.float32), "integer class indices"),
        (lambda z: np.full(len(z), 3), "guessing"),
    ],
)
def test_mlp_training_second_round_predictions(digits, trained, how, words):
    result = check_mlp_training(_after_reading(_Wrapper(trained, how)), data=digits)
    assert not result.passed and words in result.text


def _trains_on_train_and_val(model):
    def train(data):
        data.x_train, data.y_train, data.x_val, data.y_val  # noqa: B018 - more data is fine
        return model

    return train


def test_mlp_training_second_round_correct_answers_pass(digits, trained):
    assert check_mlp_training(_trains_on_train_and_val(trained), data=digits).passed
    transposed = _Wrapper(trained, lambda z: z.T.argmax(0))
    assert check_mlp_training(_after_reading(transposed), data=digits).passed
