"""Neural-network building blocks from scratch in NumPy, each forward next to its backward.

Shape legend: B = batch size, D = features in, H = features out, K = classes.

Every ``<op>_backward`` takes the upstream gradient ``grad_out = dL/d(output)``
and returns ``dL/d(input)`` by the chain rule. The finite-difference tests in
``tests/nn/test_numpy_backend.py`` check each one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
from scipy.special import erf

from dlbook._validate import (
    as_float_array,
    check_axis,
    check_bias_shape,
    check_float_dtype,
    check_labels,
    check_same_shape,
    check_sizes,
)
from dlbook.nn.init import init_linear_weights, init_mlp_weights
from dlbook.seeding import make_rng

if TYPE_CHECKING:
    from dlbook.nn.training import TrainConfig
    from dlbook.optim.numpy_backend import Optimizer


# ---------------------------------------------------------------------------
# Activations: sigma(x) and d sigma / dx, side by side
# ---------------------------------------------------------------------------


def sigmoid(x: np.ndarray) -> np.ndarray:
    """sigma(x) = 1 / (1 + e^{-x}) = (1 + tanh(x / 2)) / 2, without overflow for large ``|x|``.

    The tanh form is an identity, never overflows (tanh saturates at +-1) and costs
    one ufunc instead of the exp, two divisions and ``np.where`` of the two-branch
    form, about 3x faster. Its absolute error stays within a few 1e-16 (float64);
    below x = -37, where sigma(x) < 1e-16, it rounds to exactly 0.
    """
    x = as_float_array(x, "x")
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def sigmoid_backward(x: np.ndarray, grad_out: np.ndarray) -> np.ndarray:
    """dL/dx = dL/dy * sigma(x) (1 - sigma(x))."""
    s = sigmoid(x)
    return grad_out * s * (1.0 - s)


def tanh(x: np.ndarray) -> np.ndarray:
    """tanh(x) = (e^x - e^{-x}) / (e^x + e^{-x})."""
    return np.tanh(as_float_array(x, "x"))


def tanh_backward(x: np.ndarray, grad_out: np.ndarray) -> np.ndarray:
    """dL/dx = dL/dy * (1 - tanh(x)^2)."""
    return grad_out * (1.0 - np.tanh(x) ** 2)


def relu(x: np.ndarray) -> np.ndarray:
    """relu(x) = max(0, x)."""
    x = as_float_array(x, "x")
    return np.maximum(x, 0.0).astype(x.dtype)


def relu_backward(x: np.ndarray, grad_out: np.ndarray) -> np.ndarray:
    """dL/dx = dL/dy * [x > 0]  (we take the derivative at 0 to be 0, as PyTorch does)."""
    return grad_out * (x > 0)


# Python floats, not NumPy float64 scalars: under NumPy 2 a float64 scalar would
# promote a float32 array to float64 (twice the memory, half the speed).
_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def normal_cdf(x: np.ndarray) -> np.ndarray:
    """Phi(x) = (1 + erf(x / sqrt 2)) / 2, the standard normal CDF (GELU's gate)."""
    return 0.5 * (1.0 + erf(x * _SQRT_HALF))


def gelu(x: np.ndarray) -> np.ndarray:
    """gelu(x) = x Phi(x), with Phi the standard normal CDF: Phi(x) = (1 + erf(x / sqrt 2)) / 2."""
    x = as_float_array(x, "x")
    return x * normal_cdf(x)


def gelu_backward(x: np.ndarray, grad_out: np.ndarray, cdf: np.ndarray | None = None) -> np.ndarray:
    """dL/dx = dL/dy * (Phi(x) + x phi(x)), with phi(x) = e^{-x^2/2} / sqrt(2 pi).

    ``cdf`` is Phi(x) if the forward pass kept it (``normal_cdf(x)``): erf is the
    expensive part, and a model that caches it computes it once instead of twice.
    """
    cdf = normal_cdf(x) if cdf is None else cdf
    pdf = _INV_SQRT_2PI * np.exp(-0.5 * x * x)
    return grad_out * (cdf + x * pdf)


ACTIVATIONS: dict[str, tuple[Callable, Callable]] = {
    "sigmoid": (sigmoid, sigmoid_backward),
    "tanh": (tanh, tanh_backward),
    "relu": (relu, relu_backward),
    "gelu": (gelu, gelu_backward),
}


def _activation(name: str) -> tuple[Callable, Callable]:
    if name not in ACTIVATIONS:
        raise ValueError(f"Unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}.")
    return ACTIVATIONS[name]


# ---------------------------------------------------------------------------
# Softmax and log-softmax
# ---------------------------------------------------------------------------


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """softmax(x)_i = e^{x_i - m} / sum_j e^{x_j - m}, with m = max_j x_j.

    Subtracting the maximum changes nothing mathematically (it cancels) but
    keeps every exponent <= 0, so ``exp`` cannot overflow.
    """
    x = as_float_array(x, "x")
    axis = check_axis(axis, x.ndim)
    z = x - x.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def softmax_backward(y: np.ndarray, grad_out: np.ndarray, axis: int = -1) -> np.ndarray:
    """Given y = softmax(x): dL/dx_i = y_i (g_i - sum_j g_j y_j), with g = dL/dy."""
    return y * (grad_out - np.sum(grad_out * y, axis=axis, keepdims=True))


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """log softmax(x)_i = (x_i - m) - log sum_j e^{x_j - m}  (the log-sum-exp trick)."""
    x = as_float_array(x, "x")
    axis = check_axis(axis, x.ndim)
    z = x - x.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def log_softmax_backward(logp: np.ndarray, grad_out: np.ndarray, axis: int = -1) -> np.ndarray:
    """Given logp = log_softmax(x): dL/dx = g - softmax(x) * sum_j g_j."""
    return grad_out - np.exp(logp) * np.sum(grad_out, axis=axis, keepdims=True)


# ---------------------------------------------------------------------------
# Losses: a scalar, and its gradient with respect to the prediction
# ---------------------------------------------------------------------------


def mse_loss(pred: np.ndarray, target: np.ndarray) -> float:
    """L = (1/N) sum_i (pred_i - target_i)^2 over all N elements."""
    pred, target = as_float_array(pred, "pred"), as_float_array(target, "target")
    check_same_shape(pred, target, "pred", "target")
    return float(np.mean((pred - target) ** 2))


def mse_loss_backward(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """dL/dpred = 2 (pred - target) / N."""
    return 2.0 * (pred - target) / pred.size


def cross_entropy(logits: np.ndarray, labels: np.ndarray) -> float:
    """L = -(1/B) sum_b log softmax(logits_b)[y_b], for logits (B, K) and labels (B,)."""
    logits = as_float_array(logits, "logits")
    if logits.ndim != 2:
        raise ValueError(f"logits must have shape (B, K), got {logits.shape}.")
    B, K = logits.shape
    labels = check_labels(labels, B, K)
    logp = log_softmax(logits, axis=1)  # (B, K)
    return float(-np.mean(logp[np.arange(B), labels]))


def one_hot(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """(B,) integer labels -> (B, K) rows with a single 1."""
    labels = check_labels(labels, np.asarray(labels).shape[0], n_classes)
    out = np.zeros((labels.shape[0], n_classes))
    out[np.arange(labels.shape[0]), labels] = 1.0
    return out


def cross_entropy_backward(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """dL/dlogits = (softmax(logits) - onehot(labels)) / B: prediction minus truth."""
    B, K = logits.shape
    return (softmax(logits, axis=1) - one_hot(labels, K).astype(logits.dtype)) / B


# ---------------------------------------------------------------------------
# Linear layer: y = x W + b
# ---------------------------------------------------------------------------


def linear(x: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """y = x @ W + b, for x (B, D), W (D, H), b (H,) -> y (B, H)."""
    x, W, b = as_float_array(x, "x"), as_float_array(W, "W"), as_float_array(b, "b")
    if x.ndim != 2 or W.ndim != 2 or x.shape[1] != W.shape[0]:
        raise ValueError(
            f"linear: x has shape {x.shape} but W has shape {W.shape}; "
            f"x needs {W.shape[0]} columns, one per input feature."
        )
    check_bias_shape(b.shape, W.shape[1])
    return x @ W + b


def linear_backward(
    x: np.ndarray, W: np.ndarray, grad_out: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (dL/dx, dL/dW, dL/db) for y = x W + b, given g = dL/dy of shape (B, H).

    dL/dx = g W^T (B, D);  dL/dW = x^T g (D, H);  dL/db = sum_b g (H,).
    """
    return grad_out @ W.T, x.T @ grad_out, grad_out.sum(axis=0)


# ---------------------------------------------------------------------------
# Layers: objects that remember what backward needs
# ---------------------------------------------------------------------------


class Linear:
    """A fully connected layer with explicit ``forward`` and ``backward``.

    ``Linear(d_in, d_out, seed=0)`` draws ``W ~ N(0, 1/d_in)`` like every backend;
    ``Linear.from_weights(W, b)`` wraps given arrays.
    """

    def __init__(self, d_in: int, d_out: int, *, seed: int = 0, dtype: str = "float32") -> None:
        W, b = init_linear_weights(d_in, d_out, make_rng(seed), dtype=check_float_dtype(dtype))
        self.params = {"W": W, "b": b}  # W (D, H), b (H,)
        self.grads = {"W": np.zeros_like(W), "b": np.zeros_like(b)}
        self._x: np.ndarray | None = None

    @classmethod
    def from_weights(cls, W: np.ndarray, b: np.ndarray) -> Linear:
        """A layer holding exactly ``W`` (D, H) and ``b`` (H,) (not copied)."""
        if W.ndim != 2 or b.shape != (W.shape[1],):
            raise ValueError(
                f"Linear needs W of shape (D, H) and b of shape (H,); got {W.shape}, {b.shape}."
            )
        layer = cls.__new__(cls)
        layer.params = {"W": W, "b": b}
        layer.grads = {"W": np.zeros_like(W), "b": np.zeros_like(b)}
        layer._x = None
        return layer

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._x = x  # cache the input: dL/dW needs it
        return linear(x, self.params["W"], self.params["b"])

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        if self._x is None:
            raise RuntimeError("Call forward before backward: backward needs the cached input.")
        dx, dW, db = linear_backward(self._x, self.params["W"], grad_out)
        self.grads["W"] += dW  # accumulate, like PyTorch's .grad
        self.grads["b"] += db
        return dx


class Activation:
    """An elementwise activation layer: ``Activation("relu")``."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._f, self._df = _activation(name)
        self._x: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._x = x
        return self._f(x)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        if self._x is None:
            raise RuntimeError("Call forward before backward: backward needs the cached input.")
        return self._df(self._x, grad_out)


class MLP:
    """Linear -> activation -> ... -> Linear, returning logits.

    ``MLP([64, 128, 10])`` maps (B, 64) inputs to (B, 10) logits through one
    hidden layer of width 128.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str = "relu",
        *,
        seed: int = 0,
        dtype: str = "float32",
    ) -> None:
        self.sizes = check_sizes(sizes)
        _activation(activation)
        self.activation = activation
        self.dtype = np.dtype(check_float_dtype(dtype))
        w = init_mlp_weights(self.sizes, activation, seed=seed, dtype=dtype)
        self.layers: list[Linear | Activation] = []
        for i in range(len(self.sizes) - 1):
            if i > 0:
                self.layers.append(Activation(activation))
            self.layers.append(Linear.from_weights(w[f"W{i}"], w[f"b{i}"]))

    @property
    def linears(self) -> list[Linear]:
        return [layer for layer in self.layers if isinstance(layer, Linear)]

    def forward(self, x: np.ndarray) -> np.ndarray:
        """(B, D0) -> (B, K) logits."""
        x = as_float_array(x, "x").astype(self.dtype, copy=False)
        if x.ndim != 2 or x.shape[1] != self.sizes[0]:
            raise ValueError(f"MLP expects input of shape (B, {self.sizes[0]}), got {x.shape}.")
        for layer in self.layers:
            x = layer.forward(x)
        return x

    __call__ = forward

    def backward(self, grad_logits: np.ndarray) -> np.ndarray:
        """Backpropagate dL/dlogits through every layer, last to first; return dL/dx."""
        g = grad_logits
        for layer in reversed(self.layers):
            g = layer.backward(g)
        return g

    def zero_grad(self) -> None:
        for layer in self.linears:
            for g in layer.grads.values():
                g.fill(0.0)

    def get_weights(self) -> dict[str, np.ndarray]:
        """Copies of the weights in the canonical layout ``{"W0": (D0, D1), "b0": (D1,), ...}``."""
        out = {}
        for i, layer in enumerate(self.linears):
            out[f"W{i}"], out[f"b{i}"] = layer.params["W"].copy(), layer.params["b"].copy()
        return out

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Load weights in the canonical layout (all names and shapes checked before any copy)."""
        targets = {f"{p}{i}": layer.params[p] for i, layer in enumerate(self.linears) for p in "Wb"}
        for key, target in targets.items():
            shape = np.shape(weights[key]) if key in weights else None
            if shape != target.shape:
                raise ValueError(
                    f"set_weights: expected {key} of shape {target.shape}, got {shape}."
                )
        for key, target in targets.items():
            target[...] = weights[key]

    def get_grads(self) -> dict[str, np.ndarray]:
        """The accumulated gradients, in the same layout as :meth:`get_weights`."""
        out = {}
        for i, layer in enumerate(self.linears):
            out[f"W{i}"], out[f"b{i}"] = layer.grads["W"].copy(), layer.grads["b"].copy()
        return out


# ---------------------------------------------------------------------------
# The shared training API (see dlbook.nn)
# ---------------------------------------------------------------------------


def forward_backward(model: MLP, x: np.ndarray, y: np.ndarray) -> float:
    """Zero the gradients, run forward and backward; the gradients land in the layers."""
    model.zero_grad()
    logits = model.forward(x)  # (B, K)
    loss = cross_entropy(logits, y)
    model.backward(cross_entropy_backward(logits, y))
    return loss


def loss_and_grads(model: MLP, x: np.ndarray, y: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
    """Cross-entropy of ``model`` on (x, y) and its gradient for every weight."""
    loss = forward_backward(model, x, y)
    return loss, model.get_grads()


def evaluate_loss(model: MLP, x: np.ndarray, y: np.ndarray) -> float:
    """Mean cross-entropy of ``model`` on (x, y), without touching any gradient."""
    return cross_entropy(model.forward(x), y)


def predict(model: MLP, x: np.ndarray) -> np.ndarray:
    """Index of the largest logit for each row of x."""
    return model.forward(x).argmax(axis=1)


def make_optimizer(model: MLP, config: TrainConfig) -> Optimizer:
    """The from-scratch ``config.optimizer`` over the model's parameters [W0, b0, W1, ...]."""
    from dlbook.optim import numpy_backend as optim

    params = [layer.params[p] for layer in model.linears for p in ("W", "b")]
    return optim.make(config.optimizer, params, **config.optimizer_hparams())


def train_step(model: MLP, optimizer: Optimizer, x: np.ndarray, y: np.ndarray) -> float:
    """Forward, backward, one optimizer step; returns the batch loss."""
    loss = forward_backward(model, x, y)
    grads = [layer.grads[p] for layer in model.linears for p in ("W", "b")]
    optimizer.step(grads)
    return loss
