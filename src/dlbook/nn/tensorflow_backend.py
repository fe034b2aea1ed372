"""Neural-network building blocks on TensorFlow: the API of ``numpy_backend``, with GradientTape.

Shape legend: B = batch size, D = features in, H = features out, K = classes.

There are no ``*_backward`` functions here: ``tf.GradientTape`` records the
forward pass and computes every gradient, and ``tests/nn/test_parity.py`` checks
that it agrees with the hand-written backward passes of the NumPy backend.

Weights are ``tf.Variable`` objects in the canonical layout (``W`` is (in, out)),
so no transposing is needed. TensorFlow places work on a GPU by itself when one
is visible. The training step is compiled once with ``tf.function``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from dlbook._lazy import import_tensorflow
from dlbook._tf import as_tensor, tf_dtype, to_numpy
from dlbook._validate import (
    check_axis,
    check_bias_shape,
    check_labels,
    check_same_shape,
    check_sizes,
)
from dlbook.nn.init import init_linear_weights, init_mlp_weights
from dlbook.seeding import make_rng

tf = import_tensorflow()


def _gelu(x: tf.Tensor) -> tf.Tensor:
    """x Phi(x) = x (1 + erf(x / sqrt 2)) / 2, exact in float64 too.

    ``tf.nn.gelu(x, approximate=False)`` computes the same formula, but builds its
    constant 1/sqrt 2 in float32 before casting it (TF 2.21), so in float64 it is
    off by about 4e-9; ``tests/nn/test_parity.py`` keeps an eye on that.
    """
    inv_sqrt2 = tf.constant(np.sqrt(0.5), dtype=x.dtype)  # built in x's own precision
    return 0.5 * x * (1.0 + tf.math.erf(x * inv_sqrt2))


_ACTIVATIONS = {
    "sigmoid": tf.math.sigmoid,
    "tanh": tf.math.tanh,
    "relu": tf.nn.relu,
    "gelu": _gelu,
}


def _promote(*ts: tf.Tensor) -> list[tf.Tensor]:
    """Cast to a common dtype, as NumPy would (TF refuses float32 @ float64)."""
    dtype = tf.float64 if any(t.dtype == tf.float64 for t in ts) else ts[0].dtype
    return [t if t.dtype == dtype else tf.cast(t, dtype) for t in ts]


# ---------------------------------------------------------------------------
# Activations (the tape supplies the derivatives)
# ---------------------------------------------------------------------------


def sigmoid(x: Any) -> tf.Tensor:
    """sigma(x) = 1 / (1 + e^{-x}); TF's kernel is stable for large ``|x|``."""
    return tf.math.sigmoid(as_tensor(x, "x"))


def tanh(x: Any) -> tf.Tensor:
    """tanh(x) = (e^x - e^{-x}) / (e^x + e^{-x})."""
    return tf.math.tanh(as_tensor(x, "x"))


def relu(x: Any) -> tf.Tensor:
    """relu(x) = max(0, x); the tape takes the derivative at 0 to be 0."""
    return tf.nn.relu(as_tensor(x, "x"))


def gelu(x: Any) -> tf.Tensor:
    """gelu(x) = x Phi(x) = x (1 + erf(x / sqrt 2)) / 2  (exact, not the tanh approximation)."""
    return _gelu(as_tensor(x, "x"))


# ---------------------------------------------------------------------------
# Softmax and log-softmax
# ---------------------------------------------------------------------------


def softmax(x: Any, axis: int = -1) -> tf.Tensor:
    """softmax(x)_i = e^{x_i - m} / sum_j e^{x_j - m}, with m = max_j x_j (inside TF)."""
    x = as_tensor(x, "x")
    return tf.nn.softmax(x, axis=check_axis(axis, x.shape.rank))


def log_softmax(x: Any, axis: int = -1) -> tf.Tensor:
    """log softmax(x)_i = (x_i - m) - log sum_j e^{x_j - m}  (log-sum-exp inside TF)."""
    x = as_tensor(x, "x")
    return tf.nn.log_softmax(x, axis=check_axis(axis, x.shape.rank))


# ---------------------------------------------------------------------------
# Losses: 0-d tensors, so the tape can differentiate them; ``float(loss)`` gives the number
# ---------------------------------------------------------------------------


def mse_loss(pred: Any, target: Any) -> tf.Tensor:
    """L = (1/N) sum_i (pred_i - target_i)^2 over all N elements."""
    pred, target = as_tensor(pred, "pred"), as_tensor(target, "target")
    if pred.shape != target.shape:  # TF would broadcast silently
        check_same_shape(to_numpy(pred), to_numpy(target), "pred", "target")  # raises, explaining
    pred, target = _promote(pred, target)
    return tf.reduce_mean(tf.square(pred - target))


def _cross_entropy(logits: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    """The unchecked loss, safe inside ``tf.function`` (labels already validated)."""
    per_example = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    return tf.reduce_mean(per_example)  # (B,) -> ()


def _labels(labels: Any, n_examples: int, n_classes: int) -> tf.Tensor:
    """Check the labels on a NumPy copy (shape, integer dtype, range); return int64."""
    y = check_labels(to_numpy(labels), n_examples, n_classes)  # TF would raise deep in a kernel
    return tf.convert_to_tensor(y, dtype=tf.int64)


def cross_entropy(logits: Any, labels: Any) -> tf.Tensor:
    """L = -(1/B) sum_b log softmax(logits_b)[y_b], for logits (B, K) and labels (B,)."""
    logits = as_tensor(logits, "logits")
    if logits.shape.rank != 2:
        raise ValueError(f"logits must have shape (B, K), got {tuple(logits.shape)}.")
    B, K = logits.shape
    return _cross_entropy(logits, _labels(labels, B, K))


# ---------------------------------------------------------------------------
# Linear layer: y = x W + b
# ---------------------------------------------------------------------------


def linear(x: Any, W: Any, b: Any) -> tf.Tensor:
    """y = x @ W + b, for x (B, D), W (D, H), b (H,) -> y (B, H)."""
    x, W, b = as_tensor(x, "x"), as_tensor(W, "W"), as_tensor(b, "b")
    if x.shape.rank != 2 or W.shape.rank != 2 or x.shape[1] != W.shape[0]:
        raise ValueError(
            f"linear: x has shape {tuple(x.shape)} but W has shape {tuple(W.shape)}; "
            f"x needs {W.shape[0]} columns, one per input feature."
        )
    check_bias_shape(tuple(b.shape), W.shape[1])
    x, W, b = _promote(x, W, b)
    return tf.matmul(x, W) + b  # (B, H)


class Linear(tf.Module):
    """A fully connected layer holding ``W`` (in, out) and ``b`` as ``tf.Variable``.

    ``Linear(d_in, d_out, seed=0)`` draws ``W ~ N(0, 1/d_in)`` with NumPy
    (:func:`dlbook.nn.init.init_linear_weights`), exactly as the other backends do.
    """

    def __init__(self, d_in: int, d_out: int, *, seed: int = 0, dtype: str = "float32") -> None:
        super().__init__()
        tf_dtype(dtype)
        W, b = init_linear_weights(d_in, d_out, make_rng(seed), dtype=np.dtype(dtype).name)
        self.W = tf.Variable(W, name="W")  # (D, H)
        self.b = tf.Variable(b, name="b")  # (H,)

    def __call__(self, x: Any) -> tf.Tensor:
        return linear(x, self.W, self.b)


class MLP(tf.Module):
    """Linear -> activation -> ... -> Linear, returning logits; a ``tf.Module``.

    ``MLP([64, 128, 10])`` maps (B, 64) inputs to (B, 10) logits through one
    hidden layer of width 128. The weights are initialised from
    :func:`dlbook.nn.init.init_mlp_weights` so that all backends start identical.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str = "relu",
        *,
        seed: int = 0,
        dtype: str = "float32",
    ) -> None:
        super().__init__()
        self.sizes = check_sizes(sizes)
        if activation not in _ACTIVATIONS:
            raise ValueError(
                f"Unknown activation {activation!r}; choose one of {sorted(_ACTIVATIONS)}."
            )
        self.activation = activation
        self.dtype = tf_dtype(dtype)
        w = init_mlp_weights(self.sizes, activation, seed=seed, dtype=np.dtype(dtype).name)
        self.Ws = [tf.Variable(w[f"W{i}"], name=f"W{i}") for i in range(len(self.sizes) - 1)]
        self.bs = [tf.Variable(w[f"b{i}"], name=f"b{i}") for i in range(len(self.sizes) - 1)]

    @property
    def params(self) -> list[tf.Variable]:
        """[W0, b0, W1, b1, ...]: the order of the canonical layout."""
        return [v for pair in zip(self.Ws, self.bs, strict=True) for v in pair]

    def _input(self, x: Any) -> tf.Tensor:
        x = tf.cast(as_tensor(x, "x"), self.dtype)
        if x.shape.rank != 2 or x.shape[1] != self.sizes[0]:
            raise ValueError(
                f"MLP expects input of shape (B, {self.sizes[0]}), got {tuple(x.shape)}."
            )
        return x

    def __call__(self, x: Any) -> tf.Tensor:
        """(B, D0) -> (B, K) logits."""
        h = self._input(x)
        act = _ACTIVATIONS[self.activation]
        for i, (W, b) in enumerate(zip(self.Ws, self.bs, strict=True)):
            h = act(h) if i > 0 else h
            h = tf.matmul(h, W) + b  # (B, D_{i+1})
        return h

    def get_weights(self) -> dict[str, np.ndarray]:
        """Copies of the weights in the canonical layout ``{"W0": (D0, D1), "b0": (D1,), ...}``."""
        out = {}
        for i, (W, b) in enumerate(zip(self.Ws, self.bs, strict=True)):
            out[f"W{i}"], out[f"b{i}"] = W.numpy().copy(), b.numpy().copy()
        return out

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Load weights in the canonical layout (checked for names and shapes)."""
        names = [name for i in range(len(self.Ws)) for name in (f"W{i}", f"b{i}")]
        for key, var in zip(names, self.params, strict=True):
            got = np.shape(weights[key]) if key in weights else None
            if got != tuple(var.shape):
                raise ValueError(
                    f"set_weights: expected {key} of shape {tuple(var.shape)}, got {got}."
                )
        for key, var in zip(names, self.params, strict=True):
            var.assign(np.asarray(weights[key], dtype=var.dtype.as_numpy_dtype))


# ---------------------------------------------------------------------------
# The shared training API (see dlbook.nn)
# ---------------------------------------------------------------------------


def loss_and_grads(model: MLP, x: Any, y: Any) -> tuple[float, dict[str, np.ndarray]]:
    """Cross-entropy of ``model`` on (x, y) and its gradient for every weight."""
    with tf.GradientTape() as tape:
        loss = cross_entropy(model(x), y)
    grads = tape.gradient(loss, model.params)
    names = [name for i in range(len(model.Ws)) for name in (f"W{i}", f"b{i}")]
    return float(loss), {name: g.numpy() for name, g in zip(names, grads, strict=True)}


def evaluate_loss(model: MLP, x: Any, y: Any) -> float:
    """Mean cross-entropy of ``model`` on (x, y) (no tape is recording here)."""
    return float(cross_entropy(model(x), y))


def predict(model: MLP, x: Any) -> np.ndarray:
    """Index of the largest logit for each row of x, as a NumPy array."""
    return tf.argmax(model(x), axis=1).numpy()


def make_optimizer(model: MLP, config: Any) -> Any:
    """Keras's ``config.optimizer``, built for the model's variables, torch's semantics kept.

    :func:`dlbook.optim.tensorflow_backend.make` translates torch's names and
    meanings. For the default, SGD with momentum: Keras writes momentum as
    v = m v - lr g;  w = w + v,  torch as  v = m v + g;  w = w - lr v.  With a
    constant lr, Keras's v is exactly -lr times torch's (both start from v = 0
    before the first step), so the weights follow the same path. Two details make
    the match exact:

    * Keras stores a float learning rate in a float32 variable, and casts a Python
      float momentum through float32 too (0.9 becomes 0.89999998). The lr goes in
      as a float64 variable and every other number as a NumPy float64 scalar.
    * Keras's ``weight_decay`` is decoupled (AdamW-style); torch's is coupled L2,
      g + wd w. The optimizer carries ``coupled_weight_decay``, and the compiled
      step adds ``wd w`` to the gradient itself (AdamW keeps Keras's own decay).
    """
    from dlbook.optim import tensorflow_backend as optim

    return optim.make(config.optimizer, model.params, **config.optimizer_hparams())


def _compile_step(model: MLP, optimizer: Any) -> Any:
    """One SGD step as a ``tf.function``, traced once for any batch size (None batch dim)."""
    params, wd = model.params, getattr(optimizer, "coupled_weight_decay", 0.0)
    signature = [
        tf.TensorSpec((None, model.sizes[0]), model.dtype),  # x: (B, D0), any B
        tf.TensorSpec((None,), tf.int64),  # y: (B,)
    ]

    @tf.function(input_signature=signature, reduce_retracing=True)
    def step(x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            loss = _cross_entropy(model(x), y)
        grads = tape.gradient(loss, params)
        if wd:  # coupled L2, as torch.optim.SGD: g <- g + wd w
            grads = [g + wd * w for g, w in zip(grads, params, strict=True)]
        optimizer.apply_gradients(zip(grads, params, strict=True))
        return loss

    step.model = model  # train_step recompiles if the optimizer meets another model
    return step


def train_step(model: MLP, optimizer: Any, x: Any, y: Any) -> float:
    """Forward, backward, one optimizer step; returns the batch loss."""
    x = model._input(x)  # checked and cast eagerly: (B, D0)
    y = _labels(y, x.shape[0], model.sizes[-1])  # (B,) int64, checked eagerly
    step = getattr(optimizer, "dlbook_step", None)
    if step is None or step.model is not model:
        step = optimizer.dlbook_step = _compile_step(model, optimizer)
    return float(step(x, y))
