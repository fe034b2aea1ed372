"""Normalisation layers, in three backends with one API (chapter 2; used by the transformer).

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
========================================  ==============================================

The NumPy backend adds ``layer_norm_backward`` and ``LayerNorm.backward``.

**Conventions, as PyTorch's** ``torch.nn.LayerNorm``: the variance is the biased
one (divide by C, not C - 1), and ``eps`` goes inside the square root,
``(x - mean) / sqrt(var + eps)``. The default ``eps = 1e-5`` is PyTorch's and is
the same in all three backends. Keras' ``LayerNormalization`` defaults to
``epsilon=1e-3``: a Keras model and a PyTorch model with default settings
normalise slightly differently, by up to ``(1e-3 - 1e-5) / (2 var)`` relative.
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


__all__ = [
    "DEFAULT_EPS",
    "backend",
    "check_dim",
    "check_eps",
    "check_layer_input",
    "check_layer_norm_shapes",
]
