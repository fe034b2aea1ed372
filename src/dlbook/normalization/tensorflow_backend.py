"""Layer and batch normalisation on TensorFlow: the API of ``numpy_backend``, with GradientTape.

Shape legend: ``x`` is (..., C), e.g. (B, C) or (B, T, C); ``gamma``, ``beta`` are (C,).

:func:`layer_norm` writes the formula out in TF operations, so the float64 path
is exact and the tape differentiates it. Keras' ``LayerNormalization`` computes
the same thing (``tests/normalization`` checks it) but defaults to
``epsilon=1e-3``; the book's default stays PyTorch's 1e-5 in every backend.
Batch norm is written out the same way, on channels-first (B, C, H, W) inputs;
Keras' ``BatchNormalization(axis=1)`` computes the same training-mode output,
but updates its moving variance differently (see :mod:`dlbook.normalization`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlbook._lazy import import_tensorflow
from dlbook._tf import as_tensor, tf_dtype
from dlbook.normalization import (
    DEFAULT_EPS,
    DEFAULT_MOMENTUM,
    batch_norm_axes,
    check_batch_norm_shapes,
    check_batch_size,
    check_dim,
    check_eps,
    check_layer_input,
    check_layer_norm_shapes,
    check_momentum,
    check_num_features,
)

tf = import_tensorflow()


def layer_norm(x: Any, gamma: Any, beta: Any, eps: float = DEFAULT_EPS) -> tf.Tensor:
    """y = gamma * (x - mu) / sqrt(var + eps) + beta over the last axis (biased var)."""
    x, gamma, beta = as_tensor(x, "x"), as_tensor(gamma, "gamma"), as_tensor(beta, "beta")
    check_layer_norm_shapes(tuple(x.shape), tuple(gamma.shape), tuple(beta.shape))
    dtype = tf.float64 if tf.float64 in (x.dtype, gamma.dtype, beta.dtype) else x.dtype
    x, gamma, beta = (tf.cast(t, dtype) for t in (x, gamma, beta))
    mu = tf.reduce_mean(x, axis=-1, keepdims=True)  # (..., 1)
    var = tf.reduce_mean(tf.square(x - mu), axis=-1, keepdims=True)  # (..., 1), biased
    return gamma * (x - mu) * tf.math.rsqrt(var + check_eps(eps)) + beta  # (..., C)


class LayerNorm(tf.Module):
    """Layer normalisation over the last axis, holding ``gamma`` and ``beta`` as ``tf.Variable``.

    ``gamma`` starts at ones and ``beta`` at zeros, as in the other backends.
    """

    def __init__(self, dim: int, *, eps: float = DEFAULT_EPS, dtype: str = "float32") -> None:
        super().__init__()
        dim, float_dtype = check_dim(dim), tf_dtype(dtype)
        self.eps = check_eps(eps)
        self.gamma = tf.Variable(tf.ones(dim, dtype=float_dtype), name="gamma")  # (C,)
        self.beta = tf.Variable(tf.zeros(dim, dtype=float_dtype), name="beta")  # (C,)

    def __call__(self, x: Any) -> tf.Tensor:
        """(..., C) -> (..., C)."""
        x = tf.cast(as_tensor(x, "x"), self.gamma.dtype)
        check_layer_input(tuple(x.shape), self.gamma.shape[0])
        return layer_norm(x, self.gamma, self.beta, self.eps)

    forward = __call__

    def get_weights(self) -> dict[str, np.ndarray]:
        """Copies of ``{"gamma": (C,), "beta": (C,)}`` as NumPy arrays."""
        return {"gamma": self.gamma.numpy().copy(), "beta": self.beta.numpy().copy()}

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Load ``{"gamma": (C,), "beta": (C,)}`` (shapes checked before any copy)."""
        targets = {"gamma": self.gamma, "beta": self.beta}
        for key, var in targets.items():
            got = np.shape(weights[key]) if key in weights else None
            if got != tuple(var.shape):
                raise ValueError(
                    f"set_weights: expected {key} of shape {tuple(var.shape)}, got {got}."
                )
        for key, var in targets.items():
            var.assign(np.asarray(weights[key], dtype=var.dtype.as_numpy_dtype))


# ---------------------------------------------------------------------------
# Batch normalisation (chapter 3): x is (B, C) or (B, C, H, W), statistics per channel
# ---------------------------------------------------------------------------


def _channel_inputs(x: Any, **per_channel: Any) -> tuple[tf.Tensor, ...]:
    """x and its (C,) companions as tensors of one dtype, shapes checked."""
    x = as_tensor(x, "x")
    ts = {k: as_tensor(v, k) for k, v in per_channel.items()}
    check_batch_norm_shapes(tuple(x.shape), **{k: tuple(t.shape) for k, t in ts.items()})
    dtype = tf.float64 if any(t.dtype == tf.float64 for t in (x, *ts.values())) else x.dtype
    return tuple(tf.cast(t, dtype) for t in (x, *ts.values()))


def _per_channel(v: tf.Tensor, ndim: int) -> tf.Tensor:
    """(C,) -> (1, C, 1, ..., 1): broadcastable against x of ``ndim`` axes."""
    return tf.reshape(v, (1, -1) + (1,) * (ndim - 2))  # (1, C, 1, 1) for images


def batch_norm(x: Any, gamma: Any, beta: Any, eps: float = DEFAULT_EPS) -> tf.Tensor:
    """Training mode: y = gamma (x - mu_c) / sqrt(var_c + eps) + beta, batch statistics."""
    x, gamma, beta = _channel_inputs(x, gamma=gamma, beta=beta)
    check_batch_size(tuple(x.shape))
    axes = list(batch_norm_axes(x.shape.rank))
    mu = tf.reduce_mean(x, axis=axes, keepdims=True)  # (1, C, 1, 1)
    var = tf.reduce_mean(tf.square(x - mu), axis=axes, keepdims=True)  # biased
    xhat = (x - mu) * tf.math.rsqrt(var + check_eps(eps))  # like x
    return _per_channel(gamma, x.shape.rank) * xhat + _per_channel(beta, x.shape.rank)


def batch_norm_eval(
    x: Any, gamma: Any, beta: Any, running_mean: Any, running_var: Any, eps: float = DEFAULT_EPS
) -> tf.Tensor:
    """Evaluation mode: y = gamma (x - running_mean) / sqrt(running_var + eps) + beta."""
    x, gamma, beta, mean, var = _channel_inputs(
        x, gamma=gamma, beta=beta, running_mean=running_mean, running_var=running_var
    )
    k = x.shape.rank
    xhat = (x - _per_channel(mean, k)) * tf.math.rsqrt(_per_channel(var, k) + check_eps(eps))
    return _per_channel(gamma, k) * xhat + _per_channel(beta, k)


def update_running_stats(
    x: Any, running_mean: Any, running_var: Any, momentum: float = DEFAULT_MOMENTUM
) -> tuple[tf.Tensor, tf.Tensor]:
    """New ``(running_mean, running_var)``, PyTorch's rule (unbiased batch variance).

    Keras' ``BatchNormalization`` would use the biased variance here, and its
    ``momentum`` is ``1 - momentum`` of ours.
    """
    x, mean, var = _channel_inputs(x, running_mean=running_mean, running_var=running_var)
    n = check_batch_size(tuple(x.shape))
    m = check_momentum(momentum)
    axes = list(batch_norm_axes(x.shape.rank))
    mu = tf.reduce_mean(x, axis=axes)  # (C,)
    var_b = tf.reduce_mean(tf.square(x - _per_channel(mu, x.shape.rank)), axis=axes)  # (C,)
    return (1 - m) * mean + m * mu, (1 - m) * var + m * var_b * (n / (n - 1))


class BatchNorm(tf.Module):
    """Batch normalisation holding ``gamma``, ``beta`` (trained) and the running statistics.

    ``running_mean`` and ``running_var`` are non-trainable ``tf.Variable`` objects,
    updated in training mode; ``train()`` / ``eval()`` switch mode as in PyTorch.
    """

    def __init__(
        self,
        num_features: int,
        *,
        momentum: float = DEFAULT_MOMENTUM,
        eps: float = DEFAULT_EPS,
        dtype: str = "float32",
    ) -> None:
        super().__init__()
        C, float_dtype = check_num_features(num_features), tf_dtype(dtype)
        self.eps, self.momentum = check_eps(eps), check_momentum(momentum)
        self.gamma = tf.Variable(tf.ones(C, dtype=float_dtype), name="gamma")  # (C,)
        self.beta = tf.Variable(tf.zeros(C, dtype=float_dtype), name="beta")  # (C,)
        self.running_mean = tf.Variable(tf.zeros(C, float_dtype), trainable=False, name="mean")
        self.running_var = tf.Variable(tf.ones(C, float_dtype), trainable=False, name="var")
        self.training = True

    def train(self, mode: bool = True) -> BatchNorm:
        self.training = bool(mode)
        return self

    def eval(self) -> BatchNorm:
        return self.train(False)

    def __call__(self, x: Any) -> tf.Tensor:
        """(B, C, ...) -> (B, C, ...); in training mode also updates the running statistics."""
        x = tf.cast(as_tensor(x, "x"), self.gamma.dtype)
        if not self.training:
            return batch_norm_eval(
                x, self.gamma, self.beta, self.running_mean, self.running_var, self.eps
            )
        mean, var = update_running_stats(x, self.running_mean, self.running_var, self.momentum)
        self.running_mean.assign(mean)
        self.running_var.assign(var)
        return batch_norm(x, self.gamma, self.beta, self.eps)

    forward = __call__

    def get_weights(self) -> dict[str, np.ndarray]:
        """Copies of ``{"gamma", "beta", "running_mean", "running_var"}`` as NumPy arrays."""
        names = ("gamma", "beta", "running_mean", "running_var")
        return {k: getattr(self, k).numpy().copy() for k in names}

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Load the four (C,) arrays of :meth:`get_weights` (shapes checked before any copy)."""
        names = ("gamma", "beta", "running_mean", "running_var")
        for key in names:
            got = np.shape(weights[key]) if key in weights else None
            if got != tuple(getattr(self, key).shape):
                raise ValueError(
                    f"set_weights: expected {key} of shape {tuple(getattr(self, key).shape)}, "
                    f"got {got}."
                )
        for key in names:
            var = getattr(self, key)
            var.assign(np.asarray(weights[key], dtype=var.dtype.as_numpy_dtype))
