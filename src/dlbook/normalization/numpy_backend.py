"""Layer and batch normalisation from scratch in NumPy, each forward next to its backward.

Shape legend: ``x`` is (..., C): any leading axes (B for a batch, or B, T for a
batch of sequences), then C features, the axis that is normalised. ``gamma`` and
``beta`` are (C,). Below, N stands for the number of rows, the product of the
leading axes.

``tests/normalization`` checks :func:`layer_norm_backward` by finite differences
and against torch autograd and ``tf.GradientTape``.
"""

from __future__ import annotations

import numpy as np

from dlbook._validate import as_float_array, check_float_dtype, check_same_shape
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
        dim, dtype = check_dim(dim), check_float_dtype(dtype)
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


# ---------------------------------------------------------------------------
# Batch normalisation (chapter 3): statistics per channel, over the batch
# ---------------------------------------------------------------------------
#
# Shape legend: x is (B, C) or (B, C, H, W), channels on axis 1; gamma, beta and
# the running statistics are (C,). n = B H W values share one channel's statistics.


def _per_channel(v: np.ndarray, ndim: int) -> np.ndarray:
    """(C,) -> (1, C, 1, ..., 1): broadcastable against x of ``ndim`` axes."""
    return v.reshape((1, -1) + (1,) * (ndim - 2))  # (1, C, 1, 1) for images


def _batch_normalize(x: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """``xhat`` (like x) and ``r = 1 / sqrt(var + eps)`` (1, C, 1, 1), batch statistics."""
    axes = batch_norm_axes(x.ndim)
    mu = x.mean(axis=axes, keepdims=True)  # (1, C, 1, 1)
    d = x - mu  # (B, C, H, W)
    var = np.mean(d * d, axis=axes, keepdims=True)  # (1, C, 1, 1), biased: divide by n
    r = 1.0 / np.sqrt(var + eps)  # (1, C, 1, 1)
    return d * r, r


def batch_norm(
    x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float = DEFAULT_EPS
) -> np.ndarray:
    """Training mode: y = gamma (x - mu_c) / sqrt(var_c + eps) + beta, batch statistics.

    For channel c, ``mu_c`` and ``var_c`` are the mean and the biased variance of
    its n = B H W values in this batch. Each channel comes out with mean ``beta_c``
    and spread ``gamma_c``, whatever the scale of the layer before.
    """
    x, gamma, beta = (as_float_array(a, n) for a, n in ((x, "x"), (gamma, "gamma"), (beta, "beta")))
    check_batch_norm_shapes(x.shape, gamma=gamma.shape, beta=beta.shape)
    check_batch_size(x.shape)
    xhat, _ = _batch_normalize(x, check_eps(eps))
    return _per_channel(gamma, x.ndim) * xhat + _per_channel(beta, x.ndim)


def batch_norm_backward(
    x: np.ndarray, gamma: np.ndarray, grad_out: np.ndarray, eps: float = DEFAULT_EPS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(dL/dx, dL/dgamma, dL/dbeta)`` for y = batch_norm(x, gamma, beta, eps).

    The layer-norm derivation with the roles of the axes swapped: the statistics
    of channel c depend on all n values of that channel, so with ``h = g gamma``
    and means over the batch (and H, W)

    ``dL/dx = r (h - mean(h) - xhat mean(h xhat))``,
    ``dL/dgamma = sum(g xhat)``,  ``dL/dbeta = sum(g)``  (sums over every axis but 1).

    Every example's gradient depends on the rest of the batch: batch norm couples
    the examples that layer norm keeps apart.
    """
    x, gamma, grad_out = (
        as_float_array(a, n) for a, n in ((x, "x"), (gamma, "gamma"), (grad_out, "grad_out"))
    )
    check_batch_norm_shapes(x.shape, gamma=gamma.shape)
    check_same_shape(grad_out, x, "grad_out", "x")
    check_batch_size(x.shape)
    axes = batch_norm_axes(x.ndim)
    xhat, r = _batch_normalize(x, check_eps(eps))  # like x, (1, C, 1, 1)
    dbeta = grad_out.sum(axis=axes)  # (C,)
    dgamma = (grad_out * xhat).sum(axis=axes)  # (C,)
    h = grad_out * _per_channel(gamma, x.ndim)  # dL/dxhat, like x
    mean_h = h.mean(axis=axes, keepdims=True)  # (1, C, 1, 1)
    mean_hx = (h * xhat).mean(axis=axes, keepdims=True)  # (1, C, 1, 1)
    return r * (h - mean_h - xhat * mean_hx), dgamma, dbeta


def batch_norm_eval(
    x: np.ndarray,
    gamma: np.ndarray,
    beta: np.ndarray,
    running_mean: np.ndarray,
    running_var: np.ndarray,
    eps: float = DEFAULT_EPS,
) -> np.ndarray:
    """Evaluation mode: y = gamma (x - running_mean) / sqrt(running_var + eps) + beta.

    A fixed affine map per channel: an example's output no longer depends on the
    other examples of its batch, and a batch of one works.
    """
    arrays = ((x, "x"), (gamma, "gamma"), (beta, "beta"))
    x, gamma, beta = (as_float_array(a, n) for a, n in arrays)
    mean, var = (
        as_float_array(running_mean, "running_mean"),
        as_float_array(running_var, "running_var"),
    )
    check_batch_norm_shapes(
        x.shape, gamma=gamma.shape, beta=beta.shape, running_mean=mean.shape, running_var=var.shape
    )
    r = 1.0 / np.sqrt(_per_channel(var, x.ndim) + check_eps(eps))  # (1, C, 1, 1)
    xhat = (x - _per_channel(mean, x.ndim)) * r  # like x
    return _per_channel(gamma, x.ndim) * xhat + _per_channel(beta, x.ndim)


def update_running_stats(
    x: np.ndarray,
    running_mean: np.ndarray,
    running_var: np.ndarray,
    momentum: float = DEFAULT_MOMENTUM,
) -> tuple[np.ndarray, np.ndarray]:
    """New ``(running_mean, running_var)`` after one training batch, PyTorch's rule.

    ``running = (1 - momentum) running + momentum batch``, where the batch's
    variance is the unbiased one, ``sum (x - mu)^2 / (n - 1)``: the running value
    estimates the variance of the population, not of this batch. (The
    normalisation itself uses the biased variance.) The inputs are not changed.
    """
    x = as_float_array(x, "x")
    mean, var = (
        as_float_array(running_mean, "running_mean"),
        as_float_array(running_var, "running_var"),
    )
    check_batch_norm_shapes(x.shape, running_mean=mean.shape, running_var=var.shape)
    n = check_batch_size(x.shape)
    m = check_momentum(momentum)
    axes = batch_norm_axes(x.ndim)
    mu = x.mean(axis=axes)  # (C,)
    var_unbiased = x.var(axis=axes) * n / (n - 1)  # (C,)
    return (1 - m) * mean + m * mu, (1 - m) * var + m * var_unbiased


class BatchNorm:
    """Batch normalisation of (B, C) or (B, C, H, W), with explicit ``forward`` and ``backward``.

    ``BatchNorm(C)`` holds ``params = {"gamma": ones (C,), "beta": zeros (C,)}``
    and the buffers ``running_mean`` (zeros) and ``running_var`` (ones). In
    training mode (the default, ``training = True``) ``forward`` normalises with
    the batch's statistics and updates the buffers; after ``eval()`` it uses the
    buffers. ``train()`` switches back, as in PyTorch.
    """

    def __init__(
        self,
        num_features: int,
        *,
        momentum: float = DEFAULT_MOMENTUM,
        eps: float = DEFAULT_EPS,
        dtype: str = "float32",
    ) -> None:
        C, dtype = check_num_features(num_features), check_float_dtype(dtype)
        self.eps, self.momentum = check_eps(eps), check_momentum(momentum)
        self.params = {"gamma": np.ones(C, dtype=dtype), "beta": np.zeros(C, dtype=dtype)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.running_mean, self.running_var = np.zeros(C, dtype=dtype), np.ones(C, dtype=dtype)
        self.training = True
        self._x: np.ndarray | None = None

    def train(self, mode: bool = True) -> BatchNorm:
        self.training = bool(mode)
        return self

    def eval(self) -> BatchNorm:
        return self.train(False)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """(B, C, ...) -> (B, C, ...); in training mode also updates the running statistics."""
        gamma, beta = self.params["gamma"], self.params["beta"]
        self._x = x  # cache the input: backward recomputes the statistics from it
        if not self.training:
            return batch_norm_eval(x, gamma, beta, self.running_mean, self.running_var, self.eps)
        y = batch_norm(x, gamma, beta, self.eps)
        mean, var = update_running_stats(x, self.running_mean, self.running_var, self.momentum)
        self.running_mean[...], self.running_var[...] = mean, var  # in place, like torch buffers
        return y

    __call__ = forward

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        if self._x is None:
            raise RuntimeError("Call forward before backward: backward needs the cached input.")
        x, gamma = self._x, self.params["gamma"]
        if self.training:
            dx, dgamma, dbeta = batch_norm_backward(x, gamma, grad_out, self.eps)
        else:  # a fixed affine map: y = gamma r (x - mean) + beta
            r = 1.0 / np.sqrt(_per_channel(self.running_var, x.ndim) + self.eps)  # (1, C, 1, 1)
            xhat = (x - _per_channel(self.running_mean, x.ndim)) * r
            axes = batch_norm_axes(x.ndim)
            dx = grad_out * _per_channel(gamma, x.ndim) * r
            dgamma, dbeta = (grad_out * xhat).sum(axis=axes), grad_out.sum(axis=axes)
        self.grads["gamma"] += dgamma  # accumulate, like PyTorch's .grad
        self.grads["beta"] += dbeta
        return dx

    def zero_grad(self) -> None:
        for g in self.grads.values():
            g.fill(0.0)

    def get_weights(self) -> dict[str, np.ndarray]:
        """Copies of ``{"gamma", "beta", "running_mean", "running_var"}``, each (C,)."""
        out = {k: v.copy() for k, v in self.params.items()}
        out["running_mean"], out["running_var"] = self.running_mean.copy(), self.running_var.copy()
        return out

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Load the four (C,) arrays of :meth:`get_weights` (shapes checked before any copy)."""
        targets = {
            **self.params,
            "running_mean": self.running_mean,
            "running_var": self.running_var,
        }
        for key, target in targets.items():
            got = np.shape(weights[key]) if key in weights else None
            if got != target.shape:
                raise ValueError(f"set_weights: expected {key} of shape {target.shape}, got {got}.")
        for key, target in targets.items():
            target[...] = weights[key]
