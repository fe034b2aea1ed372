"""Convolutional networks on TensorFlow: the API of ``numpy_backend``, with GradientTape.

Shape legend: x is (B, C, H, W); W is (F, C, KH, KW); b is (F,); K = classes.

**Layout, converted here and only here.** TensorFlow's convolution and pooling
kernels work on channels-last tensors, (B, H, W, C), with kernels of shape
(KH, KW, C, F); on a CPU they implement nothing else. dlbook's API is
channels-first in every backend (see :mod:`dlbook.cnn`), so :func:`conv2d`,
:func:`max_pool2d` and :func:`avg_pool2d` convert on the way in with
:func:`to_tf_layout` / :func:`kernel_to_tf_layout` and back on the way out with
:func:`from_tf_layout`. Everything else (the weights held by :class:`CNN`, the
flattening before the dense layers, gradients) stays in the canonical layout.
The transposes cost a little time; a channels-last model would avoid them, at
the price of weights that differ from the other two backends.

The training step is compiled once per batch size with ``tf.function``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlbook._lazy import import_tensorflow
from dlbook._tf import as_tensor, tf_dtype
from dlbook._validate import check_labels
from dlbook.cnn import (
    CNNConfig,
    buffer_shapes,
    check_conv_shapes,
    check_images,
    check_pool_shapes,
    check_weights,
    init_cnn_weights,
    pair,
    pool_args,
    weight_shapes,
)
from dlbook.nn import tensorflow_backend as nn_tf
from dlbook.normalization.tensorflow_backend import BatchNorm

tf = import_tensorflow()


def _cross_entropy(logits: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    """Mean cross-entropy, safe inside ``tf.function`` (labels validated before)."""
    per_example = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    return tf.reduce_mean(per_example)  # (B,) -> ()


# ---------------------------------------------------------------------------
# The one place where layouts are converted
# ---------------------------------------------------------------------------


def to_tf_layout(x: tf.Tensor) -> tf.Tensor:
    """(B, C, H, W) -> (B, H, W, C): dlbook's channels-first to TensorFlow's channels-last."""
    return tf.transpose(x, (0, 2, 3, 1))


def from_tf_layout(x: tf.Tensor) -> tf.Tensor:
    """(B, H, W, C) -> (B, C, H, W): back to dlbook's layout."""
    return tf.transpose(x, (0, 3, 1, 2))


def kernel_to_tf_layout(W: tf.Tensor) -> tf.Tensor:
    """(F, C, KH, KW) -> (KH, KW, C, F), the layout of ``tf.nn.conv2d`` and Keras' ``Conv2D``."""
    return tf.transpose(W, (2, 3, 1, 0))


# ---------------------------------------------------------------------------
# Convolution and pooling (the tape supplies the backward passes)
# ---------------------------------------------------------------------------


def conv2d(x: Any, W: Any, b: Any, stride: Any = 1, padding: Any = 0) -> tf.Tensor:
    """(B, C, H, W) -> (B, F, Ho, Wo): ``tf.nn.conv2d`` with explicit zero padding."""
    x, W, b = as_tensor(x, "x"), as_tensor(W, "W"), as_tensor(b, "b")
    (sh, sw), (ph, pw) = pair(stride, "stride"), pair(padding, "padding", minimum=0)
    check_conv_shapes(tuple(x.shape), tuple(W.shape), tuple(b.shape), (sh, sw), (ph, pw))
    dtype = tf.float64 if tf.float64 in (x.dtype, W.dtype, b.dtype) else x.dtype
    x, W, b = (tf.cast(t, dtype) for t in (x, W, b))
    pads = [[0, 0], [ph, ph], [pw, pw], [0, 0]]  # zero padding of (B, H, W, C)
    y = tf.nn.conv2d(to_tf_layout(x), kernel_to_tf_layout(W), (1, sh, sw, 1), pads)
    return from_tf_layout(y + b)  # (B, Ho, Wo, F) -> (B, F, Ho, Wo)


def _pool(x: Any, kernel_size: Any, stride: Any, fn: Any) -> tf.Tensor:
    x = as_tensor(x, "x")
    kernel, stride = pool_args(kernel_size, stride)
    check_pool_shapes(tuple(x.shape), kernel, stride)
    return from_tf_layout(fn(to_tf_layout(x), kernel, stride, "VALID"))  # VALID = floor mode


def max_pool2d(x: Any, kernel_size: Any, stride: Any = None) -> tf.Tensor:
    """(B, C, H, W) -> (B, C, Ho, Wo): ``tf.nn.max_pool2d`` (valid windows only)."""
    return _pool(x, kernel_size, stride, tf.nn.max_pool2d)


def avg_pool2d(x: Any, kernel_size: Any, stride: Any = None) -> tf.Tensor:
    """(B, C, H, W) -> (B, C, Ho, Wo): ``tf.nn.avg_pool2d`` (valid windows only)."""
    return _pool(x, kernel_size, stride, tf.nn.avg_pool2d)


# ---------------------------------------------------------------------------
# The network
# ---------------------------------------------------------------------------


class CNN(tf.Module):
    """Conv blocks, then dense layers, returning logits; a ``tf.Module``.

    Holds every weight as a ``tf.Variable`` in the canonical layout, initialised
    from :func:`dlbook.cnn.init_cnn_weights` like the other backends.
    """

    def __init__(self, config: CNNConfig | None = None, *, seed: int = 0, dtype: str = "float32"):
        super().__init__()
        self.config = config = config or CNNConfig()
        self.dtype = tf_dtype(dtype)
        w = init_cnn_weights(config, seed=seed, dtype=np.dtype(dtype).name)
        self.vars = {
            name: tf.Variable(w[name], name=name.replace(".", "_"))
            for name in weight_shapes(config)
        }
        self.norms = {}  # "bn{i}" -> BatchNorm holding gamma, beta and the running statistics
        for name in buffer_shapes(config):
            prefix = name.split(".")[0]
            if prefix not in self.norms:
                self.norms[prefix] = BatchNorm(w[name].shape[0], dtype=np.dtype(dtype).name)
        for prefix, norm in self.norms.items():  # one variable, shared with the norm layer
            self.vars[f"{prefix}.gamma"], self.vars[f"{prefix}.beta"] = norm.gamma, norm.beta
        self.training = True
        self.set_weights(w)

    @property
    def params(self) -> list[tf.Variable]:
        """The trained variables in canonical order."""
        return [self.vars[name] for name in weight_shapes(self.config)]

    def train(self, mode: bool = True) -> CNN:
        """Training mode (batch norm uses and updates batch statistics) or, with False, eval."""
        self.training = bool(mode)
        for norm in self.norms.values():
            norm.train(mode)
        return self

    def eval(self) -> CNN:
        return self.train(False)

    def _norm_relu(self, name: str, h: tf.Tensor) -> tf.Tensor:
        return tf.nn.relu(self.norms[name](h) if name in self.norms else h)

    def _input(self, x: Any) -> tf.Tensor:
        x = tf.cast(as_tensor(x, "x"), self.dtype)
        check_images(tuple(x.shape), self.config)
        return x

    def __call__(self, x: Any) -> tf.Tensor:
        """(B, C, H, W) -> (B, K) logits."""
        cfg, v = self.config, self.vars
        h = self._input(x)
        for i in range(len(cfg.channels)):
            h = conv2d(h, v[f"conv{i}.W"], v[f"conv{i}.b"], 1, cfg.padding)  # (B, F, H', W')
            h = self._norm_relu(f"bn{i}", h)
            if cfg.pools_after(i):
                h = (max_pool2d if cfg.pool == "max" else avg_pool2d)(h, 2)
        h = tf.reshape(h, (tf.shape(h)[0], -1))  # (B, C H W), channels-first order
        n_conv, n_dense = len(cfg.channels), len(cfg.hidden) + 1
        for j in range(n_dense):
            h = tf.matmul(h, v[f"fc{j}.W"]) + v[f"fc{j}.b"]  # (B, D_{j+1})
            if j < n_dense - 1:
                h = self._norm_relu(f"bn{n_conv + j}", h)
        return h

    def _buffers(self) -> dict[str, tf.Variable]:
        return {
            name: getattr(self.norms[name.split(".")[0]], name.split(".")[1])
            for name in buffer_shapes(self.config)
        }

    def get_weights(self) -> dict[str, np.ndarray]:
        """Copies of every parameter and buffer, in the canonical layout."""
        out = {name: var.numpy().copy() for name, var in self.vars.items()}
        out.update({name: var.numpy().copy() for name, var in self._buffers().items()})
        return out

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Load canonical weights and buffers (names and shapes checked before any copy)."""
        check_weights(weights, {**weight_shapes(self.config), **buffer_shapes(self.config)})
        for name, var in {**self.vars, **self._buffers()}.items():
            var.assign(np.asarray(weights[name], dtype=var.dtype.as_numpy_dtype))


# ---------------------------------------------------------------------------
# The shared training API (see dlbook.cnn)
# ---------------------------------------------------------------------------


def _eval_logits(model: CNN, x: Any) -> tf.Tensor:
    """Logits in evaluation mode; the model's mode is restored afterwards."""
    was_training = model.training
    model.eval()
    try:
        return model(x)
    finally:
        model.train(was_training)


def loss_and_grads(model: CNN, x: Any, y: Any) -> tuple[float, dict[str, np.ndarray]]:
    """Cross-entropy of ``model`` on (x, y) and every gradient (canonical layout, current mode)."""
    with tf.GradientTape() as tape:
        loss = nn_tf.cross_entropy(model(x), y)
    grads = tape.gradient(loss, model.params)
    names = list(weight_shapes(model.config))
    return float(loss), {name: g.numpy() for name, g in zip(names, grads, strict=True)}


def evaluate_loss(model: CNN, x: Any, y: Any) -> float:
    """Mean cross-entropy in evaluation mode."""
    return float(nn_tf.cross_entropy(_eval_logits(model, x), y))


def predict(model: CNN, x: Any) -> np.ndarray:
    """Class index of each image of x (B, C, H, W), in evaluation mode, as a NumPy array."""
    return tf.argmax(_eval_logits(model, x), axis=1).numpy()


def predict_proba(model: CNN, x: Any) -> np.ndarray:
    """Softmax probabilities (B, K) of each image, in evaluation mode, as a NumPy array."""
    return tf.nn.softmax(_eval_logits(model, x), axis=1).numpy()


def make_optimizer(model: CNN, config: Any) -> Any:
    """Keras's ``config.optimizer`` with torch's semantics (see :mod:`dlbook.optim`)."""
    from dlbook.optim import tensorflow_backend as optim

    return optim.make(config.optimizer, model.params, **config.optimizer_hparams())


def _compile_step(model: CNN, optimizer: Any) -> Any:
    """One training step as a ``tf.function`` (traced once per batch size)."""
    params, wd = model.params, getattr(optimizer, "coupled_weight_decay", 0.0)

    @tf.function
    def step(x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            loss = _cross_entropy(model(x), y)
        grads = tape.gradient(loss, params)
        if wd:  # coupled L2, as torch.optim: g <- g + wd w
            grads = [g + wd * w for g, w in zip(grads, params, strict=True)]
        optimizer.apply_gradients(zip(grads, params, strict=True))
        return loss

    step.model = model  # train_step recompiles if the optimizer meets another model
    return step


def train_step(model: CNN, optimizer: Any, x: Any, y: Any) -> float:
    """Forward, backward, one optimizer step in training mode; returns the batch loss."""
    model.train()
    x = model._input(x)  # checked and cast eagerly: (B, C, H, W)
    y = check_labels(np.asarray(y), x.shape[0], model.config.n_classes)  # checked eagerly
    y = tf.convert_to_tensor(y, dtype=tf.int64)  # (B,)
    step = getattr(optimizer, "dlbook_step", None)
    if step is None or step.model is not model:
        step = optimizer.dlbook_step = _compile_step(model, optimizer)
    return float(step(x, y))
