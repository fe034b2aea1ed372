"""Weights as one flat vector: DP-SGD clips and noises each example's gradient as a whole.

The order is the canonical one of :meth:`dlbook.nn.numpy_backend.MLP.get_weights`
(``W0, b0, W1, b1, ...``), each array flattened row-major, so that entry ``p`` of a
flat gradient means the same parameter in every backend.
"""

from __future__ import annotations

import numpy as np


def flatten_weights(weights: dict[str, np.ndarray]) -> np.ndarray:
    """Concatenate the arrays of ``weights`` (in their dict order) into one vector (N,)."""
    if not weights:
        raise ValueError("flatten_weights needs a non-empty dict of arrays.")
    return np.concatenate([np.asarray(w).ravel() for w in weights.values()])


def unflatten_weights(flat: np.ndarray, like: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Cut the vector ``flat`` (N,) back into arrays with the names and shapes of ``like``."""
    flat = np.asarray(flat)
    sizes = [int(np.size(w)) for w in like.values()]
    if flat.ndim != 1 or flat.size != sum(sizes):
        raise ValueError(
            f"flat must be a vector of {sum(sizes)} numbers (one per parameter), "
            f"got shape {flat.shape}."
        )
    pieces = np.split(flat, np.cumsum(sizes)[:-1])
    return {k: p.reshape(np.shape(w)) for (k, w), p in zip(like.items(), pieces, strict=True)}


__all__ = ["flatten_weights", "unflatten_weights"]
