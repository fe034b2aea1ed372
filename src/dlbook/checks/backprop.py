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
    call_student,
    describe_type,
    error_hint,
    fail,
    type_hint,
)
from dlbook.checks._kinds import slip_mistakes
from dlbook.nn import numpy_backend as nn_np

# ---------------------------------------------------------------------------
# 1. sigmoid_backward(x, grad_out) -> dL/dx
# ---------------------------------------------------------------------------


def _sigmoid_cases(rng: np.random.Generator) -> list[Case]:
    big = np.array([[-800.0, -40.0, -3.0, 0.0, 3.0, 40.0, 800.0]])  # (1, 7)
    labels = {(3, 4): "a (3, 4) batch", (5,): "a vector of 5", (2, 3, 4): "a 3-d array"}
    cases = [Case((rng.normal(size=s), rng.normal(size=s)), label=labels[s]) for s in labels]
    label = "large inputs up to |x| = 800"
    return [*cases, Case((big, rng.normal(size=big.shape)), label=label, stress=True)]


def _sigmoid_grad(x, g, *, slip=""):
    """dL/dx written out; ``slip`` (here and below) names the classic mistake to make, if any."""
    s = x if slip == "x_for_s" else nn_np.sigmoid(x)
    if slip == "naive":  # inf / inf = NaN for x around 800
        s = np.exp(x) / (1.0 + np.exp(x))
    grad = {"sign": -g, "no_grad_out": 1}.get(slip, g) * s * (1 - s)
    return {"itself": s, "s_as_derivative": g * s}.get(slip, grad)


_SIGMOID_SLIPS = {
    "sign": "your gradient has the wrong sign.",
    "no_grad_out": "you forgot to multiply by grad_out (the chain rule).",
    "s_as_derivative": "you used σ(x) as the derivative instead of σ(x)(1 - σ(x)).",
    "itself": "you returned the sigmoid itself, not its gradient.",
    "x_for_s": "you used x instead of σ(x) in x(1 - x).",
    "naive": "your sigmoid is not numerically stable: e^x / (1 + e^x) is inf / inf = NaN for "
    "large x.",
}
_SIGMOID_HINTS = {
    "sign": "σ is increasing, so σ'(x) = σ(x)(1 - σ(x)) is positive.",
    "no_grad_out": "dL/dx = dL/dy * dy/dx: multiply the local derivative by grad_out.",
    "s_as_derivative": "d σ/dx = σ(x) (1 - σ(x)).",
    "itself": "The backward pass returns dL/dx = grad_out * σ(x)(1 - σ(x)).",
    "x_for_s": "The derivative is σ(x)(1 - σ(x)): apply the sigmoid first.",
    "naive": "Use 1 / (1 + np.exp(-x)), which never divides inf by inf.",
}

SIGMOID_BACKWARD = FunctionCheck(
    name="sigmoid_backward",
    reference=nn_np.sigmoid_backward,
    make_cases=_sigmoid_cases,
    task="Return dL/dx = grad_out * σ(x) * (1 - σ(x)), an array shaped like x.",
    nan_hint="Compute σ(x) as 1 / (1 + np.exp(-x)): exp(x) / (1 + exp(x)) is inf / inf "
    "for large x.",
    error_hint="Here everything acts element by element: multiply with *, not @ or np.dot, "
    "and use np.exp on the whole array, not math.exp on single numbers.",
    mistakes=slip_mistakes(_sigmoid_grad, _SIGMOID_SLIPS, hints=_SIGMOID_HINTS),
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
    labels = {(3, 5): "a (3, 5) batch", 6: "a vector of 6 logits", (2, 3, 4): "a 3-d array"}
    return [
        *[Case((rng.normal(size=s),), label=labels[s]) for s in labels],
        Case((rng.normal(size=(4, 3)),), {"axis": 0}, label="normalising over axis 0"),
        Case((large,), label="large logits near +1000 and -1000", stress=True),
        Case((wide,), label="wide-spread rows, from -800 to +800", stress=True),
    ]


def _softmax(x, axis=-1, *, slip=""):
    axis = {"axis_0": 0, "last_axis": -1, "whole": None}.get(slip, axis)
    shift = {"min": np.min, "mean": np.mean}.get(slip, np.max)(x, axis=axis, keepdims=True)
    shift = {"naive": 0.0, "global_max": x.max()}.get(slip, shift)  # no shift; one for all
    e = np.exp(x - shift)
    total = e.sum(axis=None if slip == "sum_all" else axis, keepdims=True)
    return e if slip == "unnormalised" else e / total


_SOFTMAX_SLIPS = {
    "naive": "your softmax is not numerically stable: exp(1000) overflows to inf, and "
    "inf / inf (or 0 / 0) is NaN.",
    "global_max": "you subtracted the max of the whole array, not of each slice: a slice far "
    "below that max underflows to 0 / 0 = NaN.",
    "min": "you subtracted the minimum of each slice instead of its maximum: exp(max − min) "
    "overflows to inf when a slice spreads over more than about 709.",
    "mean": "you subtracted the mean of each slice instead of its maximum: exp(max − mean) "
    "overflows to inf when a slice spreads widely.",
    "axis_0": "you normalised over axis 0 instead of the axis you were given.",
    "last_axis": "you ignored the `axis` argument and always normalised over the last axis.",
    "unnormalised": "your output is not normalised: each slice must sum to 1.",
    "whole": "you normalised over the whole array instead of along the axis.",
    "sum_all": "you summed over the whole array, not along the axis: each slice must sum to 1.",
}
_SOFTMAX_HINTS = {
    "naive": "Subtract the max along the axis first: softmax(x) = softmax(x - max).",
    "global_max": "Take the max along the axis: x.max(axis=axis, keepdims=True).",
    **dict.fromkeys(
        ("min", "mean"), "Subtract the max: every exponent is then ≤ 0, so exp never overflows."
    ),
    "axis_0": "Use axis=axis in both the max and the sum.",
    "last_axis": "Pass axis=axis to max and sum.",
    "unnormalised": "Divide by the sum of the exponentials along the axis.",
    "whole": "Sum along `axis` with keepdims=True, not over every element.",
    "sum_all": "Sum along the axis: e.sum(axis=axis, keepdims=True).",
}

SOFTMAX = FunctionCheck(
    name="softmax",
    reference=nn_np.softmax,
    make_cases=_softmax_cases,
    task="Return exp(x - max) / sum(exp(x - max)) along `axis`, an array shaped like x.",
    nan_hint="Your softmax is not numerically stable: subtract the max along the axis first "
    "(x - x.max(axis=axis, keepdims=True)); exp then never overflows.",
    mistakes=slip_mistakes(_softmax, _SOFTMAX_SLIPS, hints=_SOFTMAX_HINTS),
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


def _ce_grad(z, y, *, slip=""):
    # (B, K); the slips "naive" and "global_max" are the softmax's own
    p = _softmax(z, 0 if slip == "batch_axis" else 1, slip=slip)
    p = {"logits": z, "log_softmax": nn_np.log_softmax(z, axis=1)}.get(slip, p)
    if slip in ("every_row", "label_rows"):  # P[:, labels]: every row; P[labels]: whole rows
        p[(slice(None), y) if slip == "every_row" else y] -= 1.0
        return p / len(y)
    onehot = nn_np.one_hot(y, z.shape[1])  # (B, K)
    d = {"sign": onehot - p, "no_onehot": p, "label_only": (p - 1) * onehot}.get(slip, p - onehot)
    return d / {"no_mean": 1, "by_k": z.shape[1], "by_bk": z.size}.get(slip, len(y))


_CE_SLIPS = {
    "no_mean": "you forgot to divide by the batch size B: the loss is a mean over the batch.",
    "sign": "your gradient has the wrong sign: it is prediction minus truth.",
    "logits": "you used the raw logits where the softmax probabilities belong.",
    "log_softmax": "you used log-softmax where the softmax probabilities belong.",
    "no_onehot": "you forgot to subtract the one-hot labels.",
    "by_k": "you divided by the number of classes K instead of the batch size B.",
    "by_bk": "you divided by B * K (np.mean over every entry) instead of by B.",
    "batch_axis": "your softmax normalised over the batch (axis 0) instead of the classes.",
    "naive": "your softmax is not numerically stable: exp overflows for large logits.",
    "global_max": "you subtracted the max of the whole logits array, not of each row: a row far "
    "below it underflows to 0 / 0 = NaN.",
    "every_row": "you subtracted 1 with P[:, labels], which hits every row at the column of "
    "every label; each example needs 1 subtracted only at its own label.",
    "label_rows": "you subtracted 1 with P[labels], which picks whole rows (row number = label).",
    "label_only": "you kept only the true class's entry p - 1: the other classes get their p.",
}
_CE_HINTS = {
    "no_mean": "Divide by B = logits.shape[0].",
    "sign": "dL/dlogits = (softmax(logits) - onehot) / B.",
    "logits": "Turn logits into probabilities with softmax along axis 1 first.",
    "log_softmax": "The gradient of -log softmax(z)[y] is softmax(z) - onehot(y).",
    "no_onehot": "Subtract 1 at each example's true class: prediction minus truth.",
    "by_k": "The mean runs over the B examples: divide by logits.shape[0].",
    "by_bk": "Divide by B only.",
    "batch_axis": "Each row of logits is one example: softmax along axis=1.",
    "naive": "Subtract the max of each row before exp.",
    "global_max": "Subtract each row's own max: logits.max(axis=1, keepdims=True).",
    "every_row": "Index one entry per row: P[np.arange(B), labels] -= 1.",
    "label_rows": "Index one entry per row: P[np.arange(B), labels] -= 1.",
    "label_only": "Every logit moves every probability: dL/dz = (softmax(z) - onehot) / B.",
}

CROSS_ENTROPY_GRAD = FunctionCheck(
    name="cross_entropy_grad",
    reference=nn_np.cross_entropy_backward,
    make_cases=_ce_cases,
    task="Return dL/dlogits = (softmax(logits) - onehot(labels)) / B, shape (B, K).",
    nan_hint="Use a numerically stable softmax (subtract the max of each row first).",
    error_hint="The one-hot rows need K = logits.shape[1] columns even when a batch lacks "
    "the last classes: np.eye(K)[labels], not np.eye(labels.max() + 1)[labels].",
    mistakes=slip_mistakes(_ce_grad, _CE_SLIPS, hints=_CE_HINTS),
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


def _linear_grads(x, W, g, *, slip=""):
    dx = x.T @ g if slip == "dx_order" else g @ (W if slip == "dx_W" else W.T)  # (B, D)
    dW = {"dW_transposed": g.T @ x, "dW_by_B": x.T @ g / len(x)}.get(slip, x.T @ g)  # (D, H)
    db = g.sum(axis=1 if slip == "db_features" else 0, keepdims=slip == "db_keepdims")
    db = {"db_rows": g, "db_mean": g.mean(axis=0)}.get(slip, db)  # (H,)
    return dx, dW, db


_LINEAR_SLIPS = {
    "dx_order": "you returned the gradients in the wrong order: the first one must be dx.",
    "dx_W": "`dx` uses W instead of W.T.",
    "dW_transposed": "`dW` is transposed: you computed grad_out.T @ x, of shape (H, D).",
    "dW_by_B": "`dW` is divided by the batch size, but grad_out already carries the 1/B.",
    "db_rows": "`db` was not summed over the batch: it has one row per example.",
    "db_mean": "`db` was averaged over the batch instead of summed.",
    "db_features": "`db` was summed over the wrong axis (the features instead of the batch).",
    "db_keepdims": "`db` keeps an axis of length 1.",
}
_LINEAR_HINTS = {
    "dx_order": "Return (dx, dW, db) in this order.",
    "dx_W": "dx = grad_out @ W.T: (B, H) @ (H, D) -> (B, D).",
    "dW_transposed": "dW must have the shape of W, (D, H): x.T @ grad_out.",
    "dW_by_B": "dW = x.T @ grad_out.",
    "db_rows": "b is shared by all B examples, so their gradients add up: sum over axis 0.",
    "db_mean": "Use grad_out.sum(axis=0).",
    "db_features": "Sum over axis 0, the batch.",
    "db_keepdims": "b has shape (H,): drop keepdims=True.",
}
# each slip spoils one output only, the one its name starts with
_LINEAR_ONLY = {s: ("dx", "dW", "db").index(s[:2]) for s in _LINEAR_SLIPS}

LINEAR_BACKWARD = FunctionCheck(
    name="linear_backward",
    reference=nn_np.linear_backward,
    make_cases=_linear_cases,
    output_names=("dx", "dW", "db"),
    task="Return (dx, dW, db) with shapes (B, D), (D, H) and (H,) for y = x @ W + b.",
    error_hint="Each gradient has the shape of what it differentiates: dx like x (B, D), "
    "dW like W (D, H), db like b (H,); for dx, (B, H) @ (H, D) needs W.T.",
    mistakes=slip_mistakes(_linear_grads, _LINEAR_SLIPS, hints=_LINEAR_HINTS, only=_LINEAR_ONLY),
)


check_linear_backward = LINEAR_BACKWARD.checker(
    "Check ``fn(x, W, grad_out) -> (dx, dW, db)`` for y = x @ W + b."
)

# ---------------------------------------------------------------------------
# 5. train_mlp(data) -> a trained model; test accuracy on the digits
# ---------------------------------------------------------------------------


_fail = partial(fail, "train_mlp")  # a failing verdict of check_mlp_training


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
        self._data, self.read = data, set()

    def __getattr__(self, name: str) -> Any:
        self.read.add(name)
        return getattr(self._data, name)

    def __repr__(self) -> str:
        return repr(self._data)


def _data_problem(read: set[str]) -> CheckResult | None:
    """Refuse training that looked at the test labels, or ignored the training split."""
    if "y_test" in read:
        return _fail(
            "your train_mlp (or its model's predict) read data.y_test, the test labels: a model "
            "trained, tuned or predicting with them says nothing about digits it has not seen.",
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
    n, n_classes = len(data.y_test), data.n_classes
    if not isinstance(pred, np.ndarray):
        return _fail(
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
        return _fail(f"predict returned shape {pred.shape}, but ({n},) was expected.", hint)
    if not np.issubdtype(pred.dtype, np.integer):
        return _fail(
            f"predict returned dtype {pred.dtype}, but integer class indices were expected.",
            "argmax returns integers: predict with logits.argmax(axis=1).",
        )
    if n and (pred.min() < 0 or pred.max() >= n_classes):
        return _fail(
            f"predict returned values from {pred.min()} to {pred.max()}, outside the classes "
            f"0 to {n_classes - 1}.",
            "Return class indices, e.g. logits.argmax(axis=1).",
        )
    acc = float(np.mean(pred == data.y_test))
    if acc >= threshold:
        return CheckResult(
            True, "train_mlp", f"test accuracy {acc:.1%} (at least {threshold:.0%} needed)."
        )
    hint = (
        "That is close to guessing: check that the weights change (the sign of the update "
        "is w -= lr * grad) and that each gradient matches its check above."
        if acc < 2.0 / n_classes
        else "Train for more epochs, try another learning rate (0.1 to 1), or a wider layer."
    )
    return _fail(f"test accuracy {acc:.1%} is below the {threshold:.0%} needed.", hint)
