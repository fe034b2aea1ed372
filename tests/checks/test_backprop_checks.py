"""Chapter 1's checks: the reference passes, and each classic mistake is rejected by name."""

from __future__ import annotations

import time

import numpy as np
import pytest

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
