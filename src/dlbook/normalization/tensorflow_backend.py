"""Layer normalisation on TensorFlow: the API of ``numpy_backend``, with GradientTape.

Shape legend: ``x`` is (..., C), e.g. (B, C) or (B, T, C); ``gamma``, ``beta`` are (C,).

:func:`layer_norm` writes the formula out in TF operations, so the float64 path
is exact and the tape differentiates it. Keras' ``LayerNormalization`` computes
the same thing (``tests/normalization`` checks it) but defaults to
``epsilon=1e-3``; the book's default stays PyTorch's 1e-5 in every backend.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlbook._lazy import import_tensorflow
from dlbook._validate import as_float_array
from dlbook.normalization import (
    DEFAULT_EPS,
    check_dim,
    check_eps,
    check_layer_input,
    check_layer_norm_shapes,
)

tf = import_tensorflow()

_DTYPES = {"float32": tf.float32, "float64": tf.float64}


def _tf_dtype(dtype: Any) -> tf.DType:
    name = np.dtype(dtype).name
    if name not in _DTYPES:
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}.")
    return _DTYPES[name]


def _tensor(x: Any, name: str) -> tf.Tensor:
    """A floating tensor: tensors are kept (so the tape sees them), arrays are converted."""
    if isinstance(x, (tf.Tensor, tf.Variable)):
        return x if x.dtype.is_floating else tf.cast(x, tf.float64)
    return tf.convert_to_tensor(as_float_array(x, name))  # friendly TypeError for bad input


def layer_norm(x: Any, gamma: Any, beta: Any, eps: float = DEFAULT_EPS) -> tf.Tensor:
    """y = gamma * (x - mu) / sqrt(var + eps) + beta over the last axis (biased var)."""
    x, gamma, beta = _tensor(x, "x"), _tensor(gamma, "gamma"), _tensor(beta, "beta")
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
        dim, tf_dtype = check_dim(dim), _tf_dtype(dtype)
        self.eps = check_eps(eps)
        self.gamma = tf.Variable(tf.ones(dim, dtype=tf_dtype), name="gamma")  # (C,)
        self.beta = tf.Variable(tf.zeros(dim, dtype=tf_dtype), name="beta")  # (C,)

    def __call__(self, x: Any) -> tf.Tensor:
        """(..., C) -> (..., C)."""
        x = tf.cast(_tensor(x, "x"), self.gamma.dtype)
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
