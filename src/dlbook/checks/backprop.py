"""Checks for the exercises of chapter 1 (backpropagation by hand).

Each check compares a learner's function with :mod:`dlbook.nn.numpy_backend` and
recognises the classic mistakes by name::

    from dlbook.checks.backprop import check_softmax
    check_softmax(softmax)   # PASS ✅ softmax: correct on 6 test cases.

Shape legend: B = batch size, D = features in, H = features out, K = classes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from dlbook.checks._core import (
    Call,
    Case,
    CheckResult,
    FunctionCheck,
    Mistake,
    call_student,
    describe_type,
    error_hint,
    fail,
    type_hint,
)
from dlbook.nn import numpy_backend as nn_np


def _mistakes(table: dict[str, tuple[Callable[..., Any], str]], output: int = 0) -> list[Mistake]:
    """One mistake per ``explanation: (wrong function, hint)`` of ``table``, in its order."""
    return [Mistake(text, fn, output=output, hint=hint) for text, (fn, hint) in table.items()]


# ---------------------------------------------------------------------------
# 1. sigmoid_backward(x, grad_out) -> dL/dx
# ---------------------------------------------------------------------------


def _naive_sigmoid(x: np.ndarray) -> np.ndarray:
    return np.exp(x) / (1.0 + np.exp(x))  # inf / inf = NaN for x around 800


def _sigmoid_cases(rng: np.random.Generator) -> list[Case]:
    big = np.array([[-800.0, -40.0, -3.0, 0.0, 3.0, 40.0, 800.0]])  # (1, 7)
    return [
        Case((rng.normal(size=(3, 4)), rng.normal(size=(3, 4))), label="a (3, 4) batch"),
        Case((rng.normal(size=5), rng.normal(size=5)), label="a vector of 5"),
        Case((rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 3, 4))), label="a 3-d array"),
        Case((big, rng.normal(size=big.shape)), label="large inputs up to |x| = 800", stress=True),
    ]


_s = nn_np.sigmoid  # the reference sigmoid, used to build the wrong answers below

_SIGMOID_MISTAKES = {  # explanation: (wrong dL/dx, hint)
    "your gradient has the wrong sign.": (
        lambda x, g: -g * _s(x) * (1 - _s(x)),
        "σ is increasing, so σ'(x) = σ(x)(1 - σ(x)) is positive.",
    ),
    "you forgot to multiply by grad_out (the chain rule).": (
        lambda x, g: _s(x) * (1 - _s(x)),
        "dL/dx = dL/dy * dy/dx: multiply the local derivative by grad_out.",
    ),
    "you used σ(x) as the derivative instead of σ(x)(1 - σ(x)).": (
        lambda x, g: g * _s(x),
        "d σ/dx = σ(x) (1 - σ(x)).",
    ),
    "you returned the sigmoid itself, not its gradient.": (
        lambda x, g: _s(x),
        "The backward pass returns dL/dx = grad_out * σ(x)(1 - σ(x)).",
    ),
    "you used x instead of σ(x) in x(1 - x).": (
        lambda x, g: g * x * (1 - x),
        "The derivative is σ(x)(1 - σ(x)): apply the sigmoid first.",
    ),
    "your sigmoid is not numerically stable: e^x / (1 + e^x) is inf / inf = NaN for large x.": (
        lambda x, g: g * _naive_sigmoid(x) * (1 - _naive_sigmoid(x)),
        "Use 1 / (1 + np.exp(-x)), which never divides inf by inf.",
    ),
}

SIGMOID_BACKWARD = FunctionCheck(
    name="sigmoid_backward",
    reference=nn_np.sigmoid_backward,
    make_cases=_sigmoid_cases,
    task="Return dL/dx = grad_out * σ(x) * (1 - σ(x)), an array shaped like x.",
    nan_hint="Compute σ(x) as 1 / (1 + np.exp(-x)): exp(x) / (1 + exp(x)) is inf / inf "
    "for large x.",
    mistakes=_mistakes(_SIGMOID_MISTAKES),
)


check_sigmoid_backward = SIGMOID_BACKWARD.checker(
    "Check ``fn(x, grad_out) -> dL/dx`` for y = sigmoid(x)."
)

# ---------------------------------------------------------------------------
# 2. softmax(x, axis=-1), numerically stable
# ---------------------------------------------------------------------------


def _softmax_cases(rng: np.random.Generator) -> list[Case]:
    large = 1000.0 + rng.normal(size=(2, 5))  # (2, 5)
    large[1] -= 2000.0  # a row near -1000 too: naive exp underflows to 0 / 0
    # wide-spread rows: x - mean overflows in the second, x - min in both (exp(> 709) = inf)
    wide = np.array([[-800.0, 0.0, 5.0, 10.0], [800.0, -800.0, -800.0, -790.0]])  # (2, 4)
    return [
        Case((rng.normal(size=(3, 5)),), label="a (3, 5) batch"),
        Case((rng.normal(size=6),), label="a vector of 6 logits"),
        Case((rng.normal(size=(2, 3, 4)),), label="a 3-d array"),
        Case((rng.normal(size=(4, 3)),), {"axis": 0}, label="normalising over axis 0"),
        Case((large,), label="large logits near +1000 and -1000", stress=True),
        Case((wide,), label="wide-spread rows, from -800 to +800", stress=True),
    ]


def _exp_normalise(x: np.ndarray, axis: int | None, shift: Callable = np.max) -> np.ndarray:
    e = np.exp(x - shift(x, axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


_SHIFT_BY_MAX = "Subtract the max: every exponent is then ≤ 0, so exp never overflows."
_SOFTMAX_MISTAKES = {  # explanation: (wrong softmax, hint)
    "your softmax is not numerically stable: exp(1000) overflows to inf, and "
    "inf / inf (or 0 / 0) is NaN.": (
        lambda x, axis=-1: np.exp(x) / np.exp(x).sum(axis=axis, keepdims=True),
        "Subtract the max along the axis first: softmax(x) = softmax(x - max).",
    ),
    "you subtracted the max of the whole array, not of each slice: a slice far "
    "below that max underflows to 0 / 0 = NaN.": (
        lambda x, axis=-1: np.exp(x - x.max()) / np.exp(x - x.max()).sum(axis=axis, keepdims=True),
        "Take the max along the axis: x.max(axis=axis, keepdims=True).",
    ),
    "you subtracted the minimum of each slice instead of its maximum: exp(max − min) "
    "overflows to inf when a slice spreads over more than about 709.": (
        lambda x, axis=-1: _exp_normalise(x, axis, np.min),
        _SHIFT_BY_MAX,
    ),
    "you subtracted the mean of each slice instead of its maximum: exp(max − mean) "
    "overflows to inf when a slice spreads widely.": (
        lambda x, axis=-1: _exp_normalise(x, axis, np.mean),
        _SHIFT_BY_MAX,
    ),
    "you normalised over axis 0 instead of the axis you were given.": (
        lambda x, axis=-1: _exp_normalise(x, 0),
        "Use axis=axis in both the max and the sum.",
    ),
    "you ignored the `axis` argument and always normalised over the last axis.": (
        lambda x, axis=-1: _exp_normalise(x, -1),
        "Pass axis=axis to max and sum.",
    ),
    "your output is not normalised: each slice must sum to 1.": (
        lambda x, axis=-1: np.exp(x - np.max(x, axis=axis, keepdims=True)),
        "Divide by the sum of the exponentials along the axis.",
    ),
    "you normalised over the whole array instead of along the axis.": (
        lambda x, axis=-1: _exp_normalise(x, None),
        "Sum along `axis` with keepdims=True, not over every element.",
    ),
}

SOFTMAX = FunctionCheck(
    name="softmax",
    reference=nn_np.softmax,
    make_cases=_softmax_cases,
    task="Return exp(x - max) / sum(exp(x - max)) along `axis`, an array shaped like x.",
    nan_hint="Your softmax is not numerically stable: subtract the max along the axis first "
    "(x - x.max(axis=axis, keepdims=True)); exp then never overflows.",
    mistakes=_mistakes(_SOFTMAX_MISTAKES),
)


check_softmax = SOFTMAX.checker(
    "Check ``fn(x, axis=-1)``: a numerically stable softmax along ``axis``."
)

# ---------------------------------------------------------------------------
# 3. cross_entropy_grad(logits, labels) -> dL/dlogits of the mean cross-entropy
# ---------------------------------------------------------------------------


def _ce_cases(rng: np.random.Generator) -> list[Case]:
    def case(B: int, K: int, label: str, scale: float = 1.0, stress: bool = False) -> Case:
        logits, labels = scale * rng.normal(size=(B, K)), rng.integers(0, K, size=B)
        return Case((logits, labels), label=label, stress=stress)

    cases = [
        case(4, 3, "B = 4 examples, K = 3 classes"),
        case(6, 10, "B = 6, K = 10"),
        case(3, 4, "large logits (hundreds)", scale=500.0, stress=True),
        case(1, 5, "a single example"),
    ]
    # rows near +1000, -1000 and 0: one max for the whole array underflows a row to 0 / 0;
    # labels without the classes 3 and 4: a one-hot of width labels.max() + 1 is too narrow
    apart = rng.normal(size=(3, 5)) + np.array([[1000.0], [-1000.0], [0.0]])  # (3, 5)
    label = "rows near +1000, -1000 and 0; labels 0 to 2 of K = 5 classes"
    return [*cases, Case((apart, np.array([1, 0, 2])), label=label, stress=True)]


_p = partial(nn_np.softmax, axis=1)  # the softmax probabilities of logits (B, K)


def _y(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    return nn_np.one_hot(labels, logits.shape[1])


def _minus_one_in_every_row(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    p = _p(logits)  # (B, K)
    p[:, labels] -= 1.0  # (B, B) entries: every row, at every example's label
    return p / len(labels)


_CE_MISTAKES = {  # explanation: (wrong dL/dlogits, hint)
    "you forgot to divide by the batch size B: the loss is a mean over the batch.": (
        lambda z, y: _p(z) - _y(z, y),
        "Divide by B = logits.shape[0].",
    ),
    "your gradient has the wrong sign: it is prediction minus truth.": (
        lambda z, y: (_y(z, y) - _p(z)) / len(y),
        "dL/dlogits = (softmax(logits) - onehot) / B.",
    ),
    "you used the raw logits where the softmax probabilities belong.": (
        lambda z, y: (z - _y(z, y)) / len(y),
        "Turn logits into probabilities with softmax along axis 1 first.",
    ),
    "you used log-softmax where the softmax probabilities belong.": (
        lambda z, y: (nn_np.log_softmax(z, axis=1) - _y(z, y)) / len(y),
        "The gradient of -log softmax(z)[y] is softmax(z) - onehot(y).",
    ),
    "you forgot to subtract the one-hot labels.": (
        lambda z, y: _p(z) / len(y),
        "Subtract 1 at each example's true class: prediction minus truth.",
    ),
    "you divided by the number of classes K instead of the batch size B.": (
        lambda z, y: (_p(z) - _y(z, y)) / z.shape[1],
        "The mean runs over the B examples: divide by logits.shape[0].",
    ),
    "you divided by B * K (np.mean over every entry) instead of by B.": (
        lambda z, y: (_p(z) - _y(z, y)) / z.size,
        "Divide by B only.",
    ),
    "your softmax normalised over the batch (axis 0) instead of the classes.": (
        lambda z, y: (_p(z, axis=0) - _y(z, y)) / len(y),
        "Each row of logits is one example: softmax along axis=1.",
    ),
    "your softmax is not numerically stable: exp overflows for large logits.": (
        lambda z, y: (np.exp(z) / np.exp(z).sum(1, keepdims=True) - _y(z, y)) / len(y),
        "Subtract the max of each row before exp.",
    ),
    "you subtracted the max of the whole logits array, not of each row: a row far below "
    "it underflows to 0 / 0 = NaN.": (
        lambda z, y: (_exp_normalise(z, 1, lambda a, **_: a.max()) - _y(z, y)) / len(y),
        "Subtract each row's own max: logits.max(axis=1, keepdims=True).",
    ),
    "you subtracted 1 with P[:, labels], which hits every row at the column of every "
    "label; each example needs 1 subtracted only at its own label.": (
        _minus_one_in_every_row,
        "Index one entry per row: P[np.arange(B), labels] -= 1.",
    ),
}

CROSS_ENTROPY_GRAD = FunctionCheck(
    name="cross_entropy_grad",
    reference=nn_np.cross_entropy_backward,
    make_cases=_ce_cases,
    task="Return dL/dlogits = (softmax(logits) - onehot(labels)) / B, shape (B, K).",
    nan_hint="Use a numerically stable softmax (subtract the max of each row first).",
    error_hint="The one-hot rows need K = logits.shape[1] columns even when a batch lacks "
    "the last classes: np.eye(K)[labels], not np.eye(labels.max() + 1)[labels].",
    mistakes=_mistakes(_CE_MISTAKES),
)


check_cross_entropy_grad = CROSS_ENTROPY_GRAD.checker(
    "Check ``fn(logits, labels) -> dL/dlogits`` for the mean cross-entropy over the batch."
)

# ---------------------------------------------------------------------------
# 4. linear_backward(x, W, grad_out) -> (dx, dW, db)
# ---------------------------------------------------------------------------


def _linear_cases(rng: np.random.Generator) -> list[Case]:
    def case(B: int, D: int, H: int, label: str, stress: bool = False) -> Case:
        x, W, g = rng.normal(size=(B, D)), rng.normal(size=(D, H)), rng.normal(size=(B, H))
        return Case((x, W, g), label=label, stress=stress)

    return [
        case(4, 3, 5, "B = 4, D = 3, H = 5"),
        case(6, 4, 2, "B = 6, D = 4, H = 2"),
        case(5, 3, 3, "a square W (D = H = 3)"),
        case(1, 4, 3, "a single example", stress=True),
        case(3, 4, 4, "another square W (D = H = 4)"),
    ]


_DX_MISTAKES = {  # explanation: (wrong dx, hint)
    "you returned the gradients in the wrong order: the first one must be dx.": (
        lambda x, W, g: x.T @ g,
        "Return (dx, dW, db) in this order.",
    ),
    "`dx` uses W instead of W.T.": (
        lambda x, W, g: g @ W,
        "dx = grad_out @ W.T: (B, H) @ (H, D) -> (B, D).",
    ),
}
_DW_MISTAKES = {  # explanation: (wrong dW, hint)
    "`dW` is transposed: you computed grad_out.T @ x, of shape (H, D).": (
        lambda x, W, g: g.T @ x,
        "dW must have the shape of W, (D, H): x.T @ grad_out.",
    ),
    "`dW` is divided by the batch size, but grad_out already carries the 1/B.": (
        lambda x, W, g: x.T @ g / len(x),
        "dW = x.T @ grad_out.",
    ),
}
_DB_MISTAKES = {  # explanation: (wrong db, hint)
    "`db` was not summed over the batch: it has one row per example.": (
        lambda x, W, g: g,
        "b is shared by all B examples, so their gradients add up: sum over axis 0.",
    ),
    "`db` was averaged over the batch instead of summed.": (
        lambda x, W, g: g.mean(axis=0),
        "Use grad_out.sum(axis=0).",
    ),
    "`db` was summed over the wrong axis (the features instead of the batch).": (
        lambda x, W, g: g.sum(axis=1),
        "Sum over axis 0, the batch.",
    ),
    "`db` keeps an axis of length 1.": (
        lambda x, W, g: g.sum(axis=0, keepdims=True),
        "b has shape (H,): drop keepdims=True.",
    ),
}

LINEAR_BACKWARD = FunctionCheck(
    name="linear_backward",
    reference=nn_np.linear_backward,
    make_cases=_linear_cases,
    output_names=("dx", "dW", "db"),
    task="Return (dx, dW, db) with shapes (B, D), (D, H) and (H,) for y = x @ W + b.",
    error_hint="Each gradient has the shape of what it differentiates: dx like x (B, D), "
    "dW like W (D, H), db like b (H,); for dx, (B, H) @ (H, D) needs W.T.",
    mistakes=[*_mistakes(_DX_MISTAKES), *_mistakes(_DW_MISTAKES, 1), *_mistakes(_DB_MISTAKES, 2)],
)


check_linear_backward = LINEAR_BACKWARD.checker(
    "Check ``fn(x, W, grad_out) -> (dx, dW, db)`` for y = x @ W + b."
)

# ---------------------------------------------------------------------------
# 5. train_mlp(data) -> a trained model; test accuracy on the digits
# ---------------------------------------------------------------------------


_fail = partial(fail, "train_mlp")  # a failing verdict of check_mlp_training


def _prediction_problem(pred: Any, n: int, n_classes: int) -> tuple[str, str] | None:
    """Message and hint when ``pred`` is not n integer class indices; None when it is."""
    if not isinstance(pred, np.ndarray):
        return (
            f"predict returned {describe_type(pred)}, but a NumPy array of {n} class "
            "indices was expected.",
            type_hint(pred),
        )
    if pred.shape != (n,):
        hint = (
            "Take the most likely class: logits.argmax(axis=1)."
            if pred.shape == (n, n_classes)
            else "Return one class index per row of x."
        )
        return f"predict returned shape {pred.shape}, but ({n},) was expected.", hint
    if not np.issubdtype(pred.dtype, np.integer):
        return (
            f"predict returned dtype {pred.dtype}, but integer class indices were expected.",
            "argmax returns integers: predict with logits.argmax(axis=1).",
        )
    if n and (pred.min() < 0 or pred.max() >= n_classes):
        return (
            f"predict returned values from {pred.min()} to {pred.max()}, outside the classes "
            f"0 to {n_classes - 1}.",
            "Return class indices, e.g. logits.argmax(axis=1).",
        )
    return None


def _call_problem(call: Call, doing: str, time_budget: float) -> CheckResult | None:
    """The message for a call (training or predicting) that timed out or raised."""
    if call.timed_out:
        return _fail(
            f"too slow: {doing} did not finish within {time_budget:g} s.",
            "Vectorise over the batch (no Python loop over examples), use fewer epochs, "
            "or a larger learning rate.",
        )
    if isinstance(call.error, NotImplementedError):
        return _fail(
            "not implemented yet.",
            "Train an MLP on data.x_train and "
            "data.y_train and return it; the model needs a predict(x) method.",
        )
    if call.error is not None:
        err = call.error
        return _fail(f"{doing} raised {type(err).__name__}: {str(err).strip()}.", error_hint(err))
    return None


def _model_problem(model: Any) -> CheckResult | None:
    """Refuse anything that cannot predict."""
    if isinstance(model, type):  # the class, where an instance of it was meant
        return _fail(
            f"returned the class {model.__name__} itself, not a model made from it.",
            f"Create the model and return it: `model = {model.__name__}(...)`, then "
            "`return model`.",
        )
    if isinstance(model, nn_np.MLP) or callable(getattr(model, "predict", None)):
        return None
    return _fail(
        f"returned {describe_type(model)}, but a model with a predict(x) method was expected.",
        type_hint(model)
        if model is None
        else "Return an object with a predict(x) method, or a dlbook numpy MLP.",
    )


class _WatchedData:
    """The data set handed to ``train_mlp``, noting which of its fields the learner reads."""

    def __init__(self, data: Any) -> None:
        object.__setattr__(self, "_data", data)
        object.__setattr__(self, "read", set())

    def __getattr__(self, name: str) -> Any:
        self.read.add(name)
        return getattr(self._data, name)

    def __repr__(self) -> str:
        return repr(self._data)


def _data_problem(read: set[str]) -> CheckResult | None:
    """Refuse training that looked at the test labels, or ignored the training split."""
    if "y_test" in read:
        return _fail(
            "your train_mlp (or its model's predict) read data.y_test, the test labels: a "
            "model trained, tuned or predicting with them says nothing about digits it has "
            "not seen.",
            "Train on data.x_train and data.y_train only; the check measures the test "
            "accuracy itself (to tune, split a validation set off the training data).",
        )
    if not {"x_train", "y_train"} <= read:
        return _fail(
            "your train_mlp never read data.x_train and data.y_train: it must train on the "
            "data it is given (not on a copy it loads itself).",
            "Use the `data` argument: data.x_train (N, D) and data.y_train (N,).",
        )
    return None


def check_mlp_training(
    train_fn: Callable[..., Any],
    *,
    threshold: float = 0.97,
    time_budget: float = 30.0,
    data: Any = None,
) -> CheckResult:
    """Call ``train_fn(data)``; its model must reach ``threshold`` test accuracy on the digits.

    The learner's function must train on ``data.x_train``, ``data.y_train`` and never read
    ``data.y_test`` (the check watches which fields it reads). ``data`` defaults to
    :func:`dlbook.data.load_digits_split`. The model is any object with
    ``predict(x) -> labels`` or a ``dlbook.nn.numpy_backend.MLP``. Training and
    prediction together must finish within ``time_budget`` seconds.
    """
    if not callable(train_fn):
        return _fail(
            f"expected a function, got {describe_type(train_fn)}.",
            "Pass the function itself, `train_mlp`, not `train_mlp(...)`.",
        )
    if data is None:
        from dlbook.data import load_digits_split

        data = load_digits_split()
    deadline = time.perf_counter() + time_budget
    watched = _WatchedData(data)
    trained = call_student(train_fn, (watched,), {}, time_budget)
    failure = (
        _call_problem(trained, "training", time_budget)
        or _model_problem(trained.value)
        or _data_problem(watched.read)
    )
    if failure is not None:
        return failure
    model = trained.value  # anything with predict(x), or a dlbook numpy MLP
    predict = partial(nn_np.predict, model) if isinstance(model, nn_np.MLP) else model.predict
    pred = call_student(predict, (data.x_test.copy(),), {}, deadline - time.perf_counter())
    failure = _call_problem(pred, "training and predicting", time_budget)
    # the model keeps what train_fn gave it: its predict may read the test labels too
    failure = failure or _data_problem(watched.read)
    return failure or _accuracy_verdict(pred.value, data, threshold)


def _accuracy_verdict(pred: Any, data: Any, threshold: float) -> CheckResult:
    """Accept the predictions if they are well formed and accurate enough."""
    problem = _prediction_problem(pred, len(data.y_test), data.n_classes)
    if problem is not None:
        return _fail(*problem)
    acc = float(np.mean(pred == data.y_test))
    if acc >= threshold:
        return CheckResult(
            True, "train_mlp", f"test accuracy {acc:.1%} (at least {threshold:.0%} needed)."
        )
    if acc < 2.0 / data.n_classes:
        hint = (
            "That is close to guessing: check that the weights change (the sign of the update "
            "is w -= lr * grad) and that each gradient matches its check above."
        )
    else:
        hint = "Train for more epochs, try another learning rate (0.1 to 1), or a wider layer."
    return _fail(f"test accuracy {acc:.1%} is below the {threshold:.0%} needed.", hint)
