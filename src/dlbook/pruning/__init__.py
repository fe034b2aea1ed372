"""Pruning: setting weights to zero, one at a time or a whole neuron at once (chapter 10).

Pick a backend module; both export the same names::

    from dlbook.pruning import numpy_backend as prune_np     # from scratch
    from dlbook.pruning import torch_backend as prune_torch  # the same on tensors

Shared API (a mask is boolean, the shape of its weight; **True means kept**):

==========================================  ==========================================
``magnitude_mask(w, sparsity)``             drop the k = round(sparsity * w.size)
                                            entries of smallest ``|w|`` in the tensor
``structured_mask(W, sparsity, axis=-1)``   drop whole slices along ``axis`` (for a
                                            (in, out) W and ``axis=-1``: output
                                            neurons), those of smallest L2 norm
``global_magnitude_masks(weights,``         one threshold for a dict of tensors: the
``sparsity)``                               smallest ``|w|`` anywhere go first
``apply_masks(weights, masks)``             the weights with dropped entries set to 0
``fine_tune(model, masks, data, config)``   train on, keeping pruned weights at zero
==========================================  ==========================================

**Ties** (equal magnitudes) are broken by a stable sort: among equal values the
entry that comes first in row-major order is dropped first, in both backends.

:func:`mlp_neuron_masks` and :func:`compact_mlp` (pure NumPy, here) turn
structured masks into a genuinely smaller dense MLP. There is no TensorFlow
backend: TensorFlow's pruning lives in the separate TF Model Optimization
package, which the book does not install, and the mask arithmetic is the NumPy
backend's.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np


def backend(name: str) -> ModuleType:
    """The ``dlbook.pruning`` module of ``"numpy"`` or ``"torch"``."""
    from dlbook.backends import load_backend

    return load_backend("pruning", name)


def check_sparsity(sparsity: Any) -> float:
    """``sparsity`` as a float in [0, 1]: the fraction of weights to remove."""
    if isinstance(sparsity, (bool, np.bool_)) or not isinstance(
        sparsity, (int, float, np.integer, np.floating)
    ):
        raise TypeError(f"sparsity must be a number between 0 and 1, got {sparsity!r}.")
    if not 0.0 <= float(sparsity) <= 1.0:
        raise ValueError(
            f"sparsity is the fraction of weights removed, so it must lie in [0, 1]; "
            f"got {sparsity}. For 90% sparsity pass 0.9, not 90."
        )
    return float(sparsity)


def n_pruned(size: int, sparsity: float) -> int:
    """How many of ``size`` entries a ``sparsity`` removes: round(sparsity * size)."""
    return int(round(check_sparsity(sparsity) * size))


def measured_sparsity(arrays: Any) -> float:
    """The fraction of zeros (or of False, for masks) in an array or a dict of arrays."""
    values = list(arrays.values()) if isinstance(arrays, dict) else [arrays]
    total = sum(np.size(a) for a in values)
    zeros = sum(int(np.size(a) - np.count_nonzero(a)) for a in values)
    return zeros / max(total, 1)


def mlp_neuron_masks(weights: dict[str, np.ndarray], sparsity: float) -> dict[str, np.ndarray]:
    """Masks that remove a ``sparsity`` share of each hidden layer's neurons, by L2 norm.

    A hidden neuron j of layer i is column j of ``W{i}`` (its incoming weights)
    and ``b{i}[j]``, and row j of ``W{i+1}`` (its outgoing weights); all three go
    together. The neurons with the smallest incoming-weight norm go first. The
    output layer keeps all its neurons: they are the classes.
    """
    from dlbook.pruning.numpy_backend import structured_mask

    n_layers = sum(1 for name in weights if name.startswith("W"))
    masks = {name: np.ones(np.shape(w), dtype=bool) for name, w in weights.items()}
    for i in range(n_layers - 1):  # hidden layers only
        keep = structured_mask(weights[f"W{i}"], sparsity, axis=-1)[0]  # (H,) one row suffices
        masks[f"W{i}"] &= keep[None, :]  # incoming weights (D, H)
        masks[f"b{i}"] &= keep  # (H,)
        masks[f"W{i + 1}"] &= keep[:, None]  # outgoing weights (H, H')
    return masks


def compact_mlp(
    weights: dict[str, np.ndarray], masks: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Delete the pruned neurons of :func:`mlp_neuron_masks`: a smaller dense MLP, same outputs."""
    n_layers = sum(1 for name in weights if name.startswith("W"))
    out = {name: np.asarray(w).copy() for name, w in weights.items()}
    for i in range(n_layers - 1):
        keep = masks[f"b{i}"]  # (H,) neurons of hidden layer i that survive
        out[f"W{i}"] = out[f"W{i}"][:, keep]  # (D, H_kept)
        out[f"b{i}"] = out[f"b{i}"][keep]  # (H_kept,)
        out[f"W{i + 1}"] = out[f"W{i + 1}"][keep, :]  # (H_kept, H')
    return out


# The names every backend module of this concept exports, with the same parameters
# (a backend may add trailing optional ones); tests/test_shared_api.py checks it.
SHARED_API = (
    "magnitude_mask",
    "structured_mask",
    "global_magnitude_masks",
    "apply_masks",
    "fine_tune",
)

__all__ = [
    "SHARED_API",
    "backend",
    "check_sparsity",
    "compact_mlp",
    "measured_sparsity",
    "mlp_neuron_masks",
    "n_pruned",
]
