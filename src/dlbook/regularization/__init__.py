"""Regularisation: dropout and weight penalties, in three backends with one API (chapter 2).

Pick a backend module; all three export the same names::

    from dlbook.regularization import numpy_backend as reg_np       # explicit backward
    from dlbook.regularization import torch_backend as reg_torch    # autograd
    from dlbook.regularization import tensorflow_backend as reg_tf  # GradientTape
    reg = dlbook.regularization.backend("torch")                     # the same, by name

Shared API (``T`` is the backend's array type: ndarray, torch.Tensor or tf.Tensor):

==========================================  =========================================
``dropout(x, p, rng=None, training=True,``  inverted dropout; returns ``(y, mask)``
``mask=None)``                              with ``y = x * mask / (1 - p)``
``Dropout(p)``                              the same as a layer, with ``training``
                                            taken from ``.train()`` / ``.eval()``
``l2_penalty(weights, lam)``                ``lam / 2 * sum_w sum(w^2)``
``l1_penalty(weights, lam)``                ``lam * sum_w sum(abs(w))``
==========================================  =========================================

``weights`` is a dict of arrays (such as ``model.get_weights()``) or a list of
them. The NumPy backend adds ``dropout_backward``, ``l2_penalty_grad`` and
``l1_penalty_grad`` and a ``Dropout.backward``; the framework backends leave
the gradients to autograd, and ``tests/regularization`` checks that all agree.

**Where the mask comes from.** ``mask`` (a NumPy array of 0/1 or booleans, one
per element of ``x``, 1 = keep) is used as given, so that all three backends
can drop exactly the same units. Otherwise a ``numpy.random.Generator`` ``rng``
draws it, ``rng.random(x.shape) >= p``, the same draw in every backend. With
neither, the torch and TensorFlow backends call their own dropout
(``torch.nn.functional.dropout``, ``tf.nn.dropout``), which draws from the
framework's global generator (seeded by :func:`dlbook.seed_everything`) and
keeps the mask to itself: ``mask`` is then ``None``. ``mask`` is ``None`` in
evaluation mode too, where dropout is the identity.

**The 1/2 in the L2 penalty.** ``lam / 2 * sum(w^2)`` has gradient ``lam * w``,
which is exactly what ``torch.optim.SGD(weight_decay=lam)`` adds to every
gradient. Without the 1/2 the same ``lam`` would decay weights twice as fast.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np


def backend(name: str) -> ModuleType:
    """The ``dlbook.regularization`` module of a backend: ``"numpy"``, ``"torch"`` or ``"tf"``."""
    from dlbook.backends import load_backend

    return load_backend("regularization", name)


def check_p(p: Any) -> float:
    """The drop probability ``p`` as a float in [0, 1), or an explanation."""
    if isinstance(p, (bool, np.bool_)) or not isinstance(p, (int, float, np.number)):
        raise TypeError(f"p must be a number (the probability of dropping a unit), got {p!r}.")
    if not 0.0 <= float(p) < 1.0:
        raise ValueError(
            f"p is the probability of dropping a unit and must lie in [0, 1); got {p}. "
            "p = 1 would drop every unit, and the 1/(1 - p) rescaling would divide by zero."
        )
    return float(p)


def check_mask(mask: Any, shape: tuple[int, ...]) -> np.ndarray:
    """A keep-mask of exactly ``shape`` (True/1 = keep), as a boolean NumPy array."""
    m = np.asarray(mask)
    if m.shape != tuple(shape):
        raise ValueError(
            f"mask has shape {m.shape} but x has shape {tuple(shape)}; dropout needs one "
            "keep (1) or drop (0) decision for every element of x."
        )
    if m.dtype != bool and not np.isin(m, (0, 1)).all():
        raise ValueError(
            "mask must hold only 0 (drop) and 1 (keep), or booleans; the 1/(1 - p) "
            "rescaling is applied by dropout itself, so do not pass a pre-scaled mask."
        )
    return m.astype(bool)


def check_lam(lam: Any) -> float:
    """The penalty strength ``lam`` as a non-negative float."""
    if isinstance(lam, (bool, np.bool_)) or not isinstance(lam, (int, float, np.number)):
        raise TypeError(f"lam must be a number (the strength of the penalty), got {lam!r}.")
    if not float(lam) >= 0.0:
        raise ValueError(
            f"lam must be >= 0, got {lam}: a negative penalty would reward large weights."
        )
    return float(lam)


def weight_list(weights: Any) -> list[Any]:
    """The arrays in ``weights``: a dict's values, or the items of a list, tuple or iterator.

    An iterator lets torch users pass ``model.parameters()``. A single array is
    refused rather than iterated row by row.
    """
    if hasattr(weights, "shape") or isinstance(weights, (str, bytes)) or weights is None:
        raise TypeError(
            "weights must be a dict of arrays (e.g. model.get_weights()) or a list of "
            f"arrays, got {type(weights).__name__}. For a single array w, pass [w]."
        )
    if isinstance(weights, dict):
        items = list(weights.values())
    else:
        try:
            items = list(weights)
        except TypeError:
            raise TypeError(
                "weights must be a dict of arrays or a list of arrays, "
                f"got {type(weights).__name__}."
            ) from None
    if not items:
        raise ValueError("weights is empty: there is nothing to penalise.")
    return items


# The names every backend module of this concept exports, with the same parameters
# (a backend may add trailing optional ones); tests/test_shared_api.py checks it.
SHARED_API = (
    "dropout",
    "Dropout",
    "l1_penalty",
    "l2_penalty",
)

__all__ = ["SHARED_API", "backend", "check_lam", "check_mask", "check_p", "weight_list"]
