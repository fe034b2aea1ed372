"""Magnitude pruning from scratch in NumPy: masks, and fine-tuning with the masks held fixed.

Shape legend: D = features in, H = features out (a weight is W (D, H)), N = entries.

A mask is a boolean array the shape of its weight; True means kept. The rule
is "small weights matter least": drop the entries (or whole neurons) of
smallest magnitude. See :mod:`dlbook.pruning` for the shared API.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlbook._validate import as_float_array, as_keep_mask
from dlbook.pruning import check_sparsity, n_pruned


def _drop_smallest(scores: np.ndarray, k: int) -> np.ndarray:
    """A keep-mask for a 1-D array of scores: False at its k smallest, ties by position."""
    keep = np.ones(scores.shape, dtype=bool)
    keep[np.argsort(scores, kind="stable")[:k]] = False
    return keep


def magnitude_mask(w: Any, sparsity: float) -> np.ndarray:
    """Keep-mask that drops the k = round(sparsity * N) entries of smallest ``|w|``."""
    w = as_float_array(w, "w")
    k = n_pruned(w.size, sparsity)
    return _drop_smallest(np.abs(w).ravel(), k).reshape(w.shape)  # (N,) -> w.shape


def structured_mask(W: Any, sparsity: float, axis: int = -1) -> np.ndarray:
    """Keep-mask that drops whole slices along ``axis``, those of smallest L2 norm.

    For a (D, H) weight and ``axis=-1`` the slices are the columns, the H output
    neurons: ``||W[:, j]||_2`` ranks them, and the round(sparsity * H) weakest go.
    """
    W = as_float_array(W, "W")
    if W.ndim < 1 or not -W.ndim <= axis < W.ndim:
        raise ValueError(
            f"axis={axis} does not exist for a weight of shape {W.shape}; for a (in, out) "
            "matrix, axis=-1 removes output neurons."
        )
    axis = axis % W.ndim
    other = tuple(i for i in range(W.ndim) if i != axis)
    norms = np.sqrt(np.sum(W * W, axis=other))  # (H,) one norm per slice
    keep = _drop_smallest(norms, n_pruned(norms.size, sparsity))  # (H,)
    shape = [1] * W.ndim
    shape[axis] = -1
    return np.broadcast_to(keep.reshape(shape), W.shape).copy()  # (D, H)


def global_magnitude_masks(weights: dict[str, Any], sparsity: float) -> dict[str, np.ndarray]:
    """One threshold for every tensor of ``weights``: the smallest ``|w|`` anywhere are dropped.

    Layers whose weights are small lose more than the average; a per-layer
    :func:`magnitude_mask` would remove the same share from each.
    """
    check_sparsity(sparsity)
    if not isinstance(weights, dict) or not weights:
        raise TypeError("weights must be a non-empty dict of arrays, such as model.get_weights().")
    arrays = {name: as_float_array(w, name) for name, w in weights.items()}
    flat = np.concatenate([np.abs(w).ravel() for w in arrays.values()])  # (N,)
    keep = _drop_smallest(flat, n_pruned(flat.size, sparsity))
    masks, start = {}, 0
    for name, w in arrays.items():
        masks[name] = keep[start : start + w.size].reshape(w.shape)
        start += w.size
    return masks


def apply_masks(weights: dict[str, Any], masks: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Copies of ``weights`` with the dropped entries set to 0 (names without a mask are kept)."""
    out = {}
    for name, w in weights.items():
        w = np.array(w, copy=True)
        if name in masks:
            keep = as_keep_mask(masks[name], w.shape, f"mask for {name}")
            w[~keep] = 0
        out[name] = w
    return out


def fine_tune(model: Any, masks: dict[str, np.ndarray], data: Any, config: Any) -> Any:
    """Train a pruned :class:`dlbook.nn.numpy_backend.MLP` on, with the pruned weights held at 0.

    Each step masks the gradient (a pruned weight gets no update) and then the
    weights (so momentum cannot revive one). Returns a
    :class:`dlbook.nn.training.History` with the validation accuracy per epoch.
    """
    from tqdm.auto import trange

    from dlbook.data.batching import minibatches
    from dlbook.nn import numpy_backend as nn
    from dlbook.nn.training import History, accuracy
    from dlbook.seeding import make_rng

    model.set_weights(apply_masks(model.get_weights(), masks))
    params = [
        (layer.params[p], layer.grads[p], f"{p}{i}")
        for i, layer in enumerate(model.linears)
        for p in ("W", "b")
    ]
    optimizer = nn.make_optimizer(model, config)
    rng, history = make_rng(config.seed), History()
    for _ in trange(config.epochs, desc="fine-tuning", disable=not config.progress):
        losses = []
        for idx in minibatches(len(data.y_train), config.batch_size, rng):
            losses.append(nn.forward_backward(model, data.x_train[idx], data.y_train[idx]))
            for _, grad, name in params:
                grad *= masks.get(name, True)  # no update for a pruned weight
            optimizer.step([grad for _, grad, _ in params])
            for param, _, name in params:
                param *= masks.get(name, True)  # and it stays exactly 0
        history.train_loss.append(float(np.mean(losses)))
        history.val_loss.append(nn.evaluate_loss(model, data.x_val, data.y_val))
        history.val_accuracy.append(accuracy("numpy", model, data.x_val, data.y_val))
    return history
