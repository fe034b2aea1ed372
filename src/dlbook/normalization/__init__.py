r"""Normalisation layers in three backends, one API (chapters 2 and 3; used by the transformer).

Pick a backend module; all three export the same names::

    from dlbook.normalization import numpy_backend as norm_np       # explicit backward
    from dlbook.normalization import torch_backend as norm_torch    # torch.nn.Module
    from dlbook.normalization import tensorflow_backend as norm_tf  # tf.Module
    norm = dlbook.normalization.backend("torch")                     # the same, by name

Shared API (``T`` is the backend's array type: ndarray, torch.Tensor or tf.Tensor):

========================================  ==============================================
``layer_norm(x, gamma, beta, eps=1e-5)``  normalise each row over the last axis C,
                                          then scale by ``gamma`` (C,) and shift by
                                          ``beta`` (C,); ``x`` is (..., C)
``LayerNorm(dim, *, eps=1e-5, dtype)``    the same as a layer holding ``gamma = 1``
                                          and ``beta = 0``; ``get_weights()`` /
                                          ``set_weights(w)`` use ``{"gamma", "beta"}``
``batch_norm(x, gamma, beta, eps=1e-5)``  training mode: normalise each channel over
                                          the batch (and H, W) with the *batch's* mean
                                          and variance; ``x`` is (B, C) or (B, C, H, W)
``batch_norm_eval(x, gamma, beta,``       evaluation mode: the same with the running
``running_mean, running_var, eps=1e-5)``  statistics (C,) instead of the batch's
``update_running_stats(x,``               the new ``(running_mean, running_var)``:
``running_mean, running_var,``            ``(1 - m) old + m batch``, the batch variance
``momentum=0.1)``                         unbiased (divide by n - 1)
``BatchNorm(C, *, momentum=0.1,``         the layer: ``gamma``, ``beta`` and the two
``eps=1e-5, dtype)``                      running buffers; ``train()`` / ``eval()``
                                          switch mode (``training`` says which);
                                          ``get_weights()`` adds ``"running_mean"``
                                          and ``"running_var"``
========================================  ==============================================

The NumPy backend adds ``layer_norm_backward``, ``LayerNorm.backward``,
``batch_norm_backward`` (training mode) and ``BatchNorm.backward`` (both modes).

**Layer norm.** Each row x of C features is standardised, then scaled and shifted:

.. math::

    \mu = \frac{1}{C} \sum_c x_c, \qquad \sigma^2 = \frac{1}{C} \sum_c (x_c - \mu)^2,
    \qquad \hat x = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}}, \qquad
    y = \gamma \odot \hat x + \beta.

Its backward pass, with :math:`g = \gamma \odot \bar y` and means over the C
features of the row (batch norm is the same with means over a channel's n values):

.. math::

    \bar x = \frac{1}{\sqrt{\sigma^2 + \epsilon}} \Big( g - \operatorname{mean}(g)
    - \hat x \operatorname{mean}(g \odot \hat x) \Big), \qquad
    \bar\gamma = \sum \bar y \odot \hat x, \qquad \bar\beta = \sum \bar y.

**Conventions, as PyTorch's** ``torch.nn.LayerNorm``: the variance is the biased
one (divide by C, not C - 1), and ``eps`` goes inside the square root,
``(x - mean) / sqrt(var + eps)``. The default ``eps = 1e-5`` is PyTorch's and is
the same in all three backends. Keras' ``LayerNormalization`` defaults to
``epsilon=1e-3``: a Keras model and a PyTorch model with default settings
normalise slightly differently, by up to ``(1e-3 - 1e-5) / (2 var)`` relative.

**Batch norm** (chapter 3) normalises each *channel* over the batch: for x of
shape (B, C) or (B, C, H, W) (channels first, PyTorch's and dlbook's layout) the
mean and variance of channel c are taken over the n = B H W values of that
channel. In training mode the batch's own (biased) variance normalises, and the
running statistics move towards the batch's:
``running = (1 - momentum) running + momentum batch``, where the batch variance
entering the running one is the *unbiased* one (divide by n - 1). In evaluation
mode the running statistics normalise, so an example's output no longer depends
on the rest of its batch. **Conventions, as PyTorch's** ``nn.BatchNorm2d``:
``momentum = 0.1``, ``eps = 1e-5``, running mean 0 and variance 1 at the start.
**Keras'** ``BatchNormalization`` differs in three ways: its ``momentum = 0.99``
is the weight of the *old* value (PyTorch's 0.1 is Keras' 0.9), its
``epsilon = 1e-3``, and its moving variance uses the biased batch variance; it
also wants ``axis=1`` for channels-first inputs (its default is the last axis).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

DEFAULT_EPS = 1e-5  # PyTorch's default; Keras' LayerNormalization uses 1e-3


def backend(name: str) -> ModuleType:
    """The ``dlbook.normalization`` module of a backend: ``"numpy"``, ``"torch"`` or ``"tf"``."""
    from dlbook.backends import load_backend

    return load_backend("normalization", name)


def check_layer_norm_shapes(
    x_shape: tuple[int, ...], gamma_shape: tuple[int, ...], beta_shape: tuple[int, ...]
) -> int:
    """Return C, the size of the normalised last axis, after checking gamma and beta against it."""
    x_shape, gamma_shape, beta_shape = tuple(x_shape), tuple(gamma_shape), tuple(beta_shape)
    if len(x_shape) < 1 or x_shape[-1] < 1:
        raise ValueError(
            f"layer_norm normalises over the last axis of x, so x needs at least one "
            f"element along it; got shape {x_shape}."
        )
    C = x_shape[-1]
    for name, shape in (("gamma", gamma_shape), ("beta", beta_shape)):
        if shape != (C,):
            raise ValueError(
                f"{name} has shape {shape} but x has shape {x_shape}; layer norm has one "
                f"{name} per feature of the last axis, so {name} must have shape ({C},)."
            )
    return C


def check_eps(eps: Any) -> float:
    """``eps`` as a positive float: it keeps ``sqrt(var + eps)`` away from 0 for constant rows."""
    if isinstance(eps, (bool, np.bool_)) or not isinstance(eps, (int, float, np.number)):
        raise TypeError(f"eps must be a small positive number such as 1e-5, got {eps!r}.")
    if not float(eps) > 0.0:
        raise ValueError(
            f"eps must be > 0, got {eps}: a row whose entries are all equal has variance 0, "
            "and without eps layer norm would divide 0 by 0."
        )
    return float(eps)


def check_layer_input(x_shape: tuple[int, ...], dim: int) -> None:
    """A ``LayerNorm(dim)`` layer takes inputs of shape (..., dim)."""
    x_shape = tuple(x_shape)
    if len(x_shape) < 1 or x_shape[-1] != dim:
        raise ValueError(
            f"LayerNorm({dim}) normalises inputs of shape (..., {dim}), but x has shape "
            f"{x_shape}; was the layer built for another width?"
        )


def check_dim(dim: Any) -> int:
    """The feature count of a LayerNorm as a positive int."""
    if isinstance(dim, (bool, np.bool_)) or not isinstance(dim, (int, np.integer)) or dim < 1:
        raise ValueError(
            f"LayerNorm(dim) needs the number of features, a positive int; got {dim!r}."
        )
    return int(dim)


DEFAULT_MOMENTUM = 0.1  # PyTorch's; the same as Keras' momentum=0.9 (Keras counts the old value)


def batch_norm_axes(ndim: int) -> tuple[int, ...]:
    """The axes batch norm averages over: every axis but the channels (axis 1)."""
    return (0, *range(2, ndim))


def check_batch_norm_shapes(x_shape: tuple[int, ...], **per_channel: tuple[int, ...]) -> int:
    """Return C, the number of channels of x (B, C, ...), after checking each (C,) argument."""
    x_shape = tuple(x_shape)
    if len(x_shape) < 2:
        raise ValueError(
            f"batch_norm expects x of shape (B, C) or (B, C, H, W), channels on axis 1; "
            f"got shape {x_shape}."
        )
    C = x_shape[1]
    for name, shape in per_channel.items():
        if tuple(shape) != (C,):
            hint = (
                " Is x channels-last? dlbook puts channels on axis 1."
                if tuple(shape) == (x_shape[-1],)
                else ""
            )
            raise ValueError(
                f"{name} has shape {tuple(shape)} but x has shape {x_shape}; batch norm has "
                f"one {name} per channel (axis 1), so {name} must have shape ({C},).{hint}"
            )
    return C


def check_batch_size(x_shape: tuple[int, ...]) -> int:
    """n = B H W, the number of values per channel; training mode needs n >= 2."""
    n = int(np.prod(x_shape)) // int(x_shape[1])
    if n < 2:
        raise ValueError(
            f"batch norm in training mode needs more than one value per channel, got x of "
            f"shape {tuple(x_shape)}: the variance of a single value is 0 (and its unbiased "
            "version 0/0). Use a larger batch, or evaluation mode."
        )
    return n


def check_momentum(momentum: Any) -> float:
    """``momentum`` in (0, 1]: the weight of the new batch's statistics (PyTorch's convention)."""
    if (
        isinstance(momentum, (bool, np.bool_))
        or not isinstance(momentum, (int, float, np.number))
        or not 0.0 < float(momentum) <= 1.0
    ):
        raise ValueError(
            f"momentum must lie in (0, 1], PyTorch's convention (default 0.1, the weight of the "
            f"new batch); got {momentum!r}. Keras' momentum=0.99 is PyTorch's 0.01."
        )
    return float(momentum)


def check_num_features(num_features: Any) -> int:
    """The channel count of a BatchNorm as a positive int."""
    if (
        isinstance(num_features, (bool, np.bool_))
        or not isinstance(num_features, (int, np.integer))
        or num_features < 1
    ):
        raise ValueError(
            f"BatchNorm(num_features) needs the number of channels, a positive int; "
            f"got {num_features!r}."
        )
    return int(num_features)


__all__ = [
    "DEFAULT_EPS",
    "DEFAULT_MOMENTUM",
    "batch_norm_axes",
    "check_batch_norm_shapes",
    "check_batch_size",
    "check_momentum",
    "check_num_features",
    "backend",
    "check_dim",
    "check_eps",
    "check_layer_input",
    "check_layer_norm_shapes",
]
