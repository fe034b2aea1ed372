"""Layer normalisation from scratch in NumPy, the forward pass next to its backward.

Shape legend: ``x`` is (..., C): any leading axes (B for a batch, or B, T for a
batch of sequences), then C features, the axis that is normalised. ``gamma`` and
``beta`` are (C,). Below, N stands for the number of rows, the product of the
leading axes.

``tests/normalization`` checks :func:`layer_norm_backward` by finite differences
and against torch autograd and ``tf.GradientTape``.
"""

from __future__ import annotations

import numpy as np

from dlbook._validate import as_float_array, check_same_shape
from dlbook.normalization import (
    DEFAULT_EPS,
    check_dim,
    check_eps,
    check_layer_input,
    check_layer_norm_shapes,
)


def _check_dtype(dtype: str) -> str:
    if str(dtype) not in ("float32", "float64"):
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}.")
    return str(dtype)


def _normalize(x: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Return ``xhat = (x - mu) r`` (..., C) and ``r = 1 / sqrt(var + eps)`` (..., 1).

    The variance is computed in two passes, ``mean((x - mu)^2)``, not as
    ``mean(x^2) - mu^2``: the latter cancels catastrophically when ``|mu|`` is
    large against the spread, and can even come out negative.
    """
    mu = x.mean(axis=-1, keepdims=True)  # (..., 1)
    d = x - mu  # (..., C)
    var = np.mean(d * d, axis=-1, keepdims=True)  # (..., 1), biased: divide by C
    r = 1.0 / np.sqrt(var + eps)  # (..., 1)
    return d * r, r


def layer_norm(
    x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float = DEFAULT_EPS
) -> np.ndarray:
    """y = gamma * (x - mu) / sqrt(var + eps) + beta, with mu and var taken over the last axis.

    For each row ``x`` of C features: ``mu = (1/C) sum_i x_i``,
    ``var = (1/C) sum_i (x_i - mu)^2`` (biased, as PyTorch). Every row comes out
    with mean ``beta`` and spread ``gamma`` (for ``eps`` small against ``var``).
    A constant row has ``var = 0``; ``eps`` then makes ``xhat = 0`` and ``y = beta``.
    """
    x, gamma, beta = (as_float_array(a, n) for a, n in ((x, "x"), (gamma, "gamma"), (beta, "beta")))
    check_layer_norm_shapes(x.shape, gamma.shape, beta.shape)
    xhat, _ = _normalize(x, check_eps(eps))  # (..., C)
    return gamma * xhat + beta  # (..., C)


def layer_norm_backward(
    x: np.ndarray, gamma: np.ndarray, grad_out: np.ndarray, eps: float = DEFAULT_EPS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(dL/dx, dL/dgamma, dL/dbeta)`` for y = layer_norm(x, gamma, beta, eps).

    With ``g = dL/dy``, ``xhat = (x - mu) r`` and ``r = 1 / sqrt(var + eps)``:

    * ``dL/dbeta = sum over rows of g`` (C,);  ``dL/dgamma = sum over rows of g * xhat`` (C,);
    * ``dL/dx``: let ``h = g * gamma = dL/dxhat``. Within one row, ``mu`` and ``var``
      depend on every ``x_j``: ``dmu/dx_j = 1/C``, ``dvar/dx_j = 2 (x_j - mu) / C``, and
      ``dr/dvar = -r^3 / 2``. Hence

      ``dxhat_i/dx_j = r (delta_ij - 1/C - xhat_i xhat_j / C)``, and summing ``h_i`` times it,

      ``dL/dx_j = r (h_j - mean(h) - xhat_j mean(h * xhat))``  (means over the row).

    The two subtracted terms remove what the normalisation cannot pass on: a
    shift of the whole row (``mean(h)``) and a rescaling of it (``mean(h * xhat)``).
    """
    x, gamma, grad_out = (
        as_float_array(a, n) for a, n in ((x, "x"), (gamma, "gamma"), (grad_out, "grad_out"))
    )
    check_layer_norm_shapes(x.shape, gamma.shape, gamma.shape)
    check_same_shape(grad_out, x, "grad_out", "x")
    xhat, r = _normalize(x, check_eps(eps))  # (..., C), (..., 1)
    rows = tuple(range(x.ndim - 1))  # every axis but the last
    dbeta = grad_out.sum(axis=rows)  # (C,)
    dgamma = (grad_out * xhat).sum(axis=rows)  # (C,)
    h = grad_out * gamma  # (..., C): dL/dxhat
    mean_h = h.mean(axis=-1, keepdims=True)  # (..., 1)
    mean_hx = (h * xhat).mean(axis=-1, keepdims=True)  # (..., 1)
    dx = r * (h - mean_h - xhat * mean_hx)  # (..., C)
    return dx, dgamma, dbeta


class LayerNorm:
    """Layer normalisation over the last axis, with explicit ``forward`` and ``backward``.

    ``LayerNorm(C)`` holds ``params = {"gamma": ones (C,), "beta": zeros (C,)}``
    (so it starts as the plain normalisation) and accumulates ``grads`` like
    :class:`dlbook.nn.numpy_backend.Linear`.
    """

    def __init__(self, dim: int, *, eps: float = DEFAULT_EPS, dtype: str = "float32") -> None:
        dim, dtype = check_dim(dim), _check_dtype(dtype)
        self.eps = check_eps(eps)
        self.params = {"gamma": np.ones(dim, dtype=dtype), "beta": np.zeros(dim, dtype=dtype)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self._x: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """(..., C) -> (..., C)."""
        check_layer_input(np.shape(x), self.params["gamma"].shape[0])
        self._x = x  # cache the input: the backward pass recomputes mu and var from it
        return layer_norm(x, self.params["gamma"], self.params["beta"], self.eps)

    __call__ = forward

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        if self._x is None:
            raise RuntimeError("Call forward before backward: backward needs the cached input.")
        dx, dgamma, dbeta = layer_norm_backward(self._x, self.params["gamma"], grad_out, self.eps)
        self.grads["gamma"] += dgamma  # accumulate, like PyTorch's .grad
        self.grads["beta"] += dbeta
        return dx

    def zero_grad(self) -> None:
        for g in self.grads.values():
            g.fill(0.0)

    def get_weights(self) -> dict[str, np.ndarray]:
        """Copies of ``{"gamma": (C,), "beta": (C,)}``."""
        return {k: v.copy() for k, v in self.params.items()}

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Load ``{"gamma": (C,), "beta": (C,)}`` (shapes checked before any copy)."""
        for key, target in self.params.items():
            got = np.shape(weights[key]) if key in weights else None
            if got != target.shape:
                raise ValueError(f"set_weights: expected {key} of shape {target.shape}, got {got}.")
        for key, target in self.params.items():
            target[...] = weights[key]
