"""Magnitude pruning on PyTorch: the API of ``numpy_backend``, on tensors.

Shape legend: D = features in, H = features out (a canonical weight is W (D, H)).

The masks are computed exactly as in NumPy (a stable sort breaks ties), on
tensors. :func:`fine_tune` holds them fixed with PyTorch's own tool,
``torch.nn.utils.prune.custom_from_mask``: each ``nn.Linear`` then computes with
``weight = weight_orig * weight_mask``, so the gradient of a pruned weight is 0
and no optimizer step can revive it. ``prune.remove`` makes the zeros permanent
at the end. The masks come in the canonical (D, H) layout and are transposed to
torch's (H, D).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlbook._lazy import import_torch
from dlbook._torch import as_tensor
from dlbook._validate import as_keep_mask
from dlbook.pruning import check_sparsity, n_pruned

torch = import_torch()
from torch.nn.utils import prune  # noqa: E402  (after the lazy import of torch)


def _drop_smallest(scores: Any, k: int) -> Any:
    """A keep-mask for a 1-D tensor of scores: False at its k smallest, ties by position."""
    keep = torch.ones(scores.shape, dtype=torch.bool, device=scores.device)
    keep[torch.argsort(scores, stable=True)[:k]] = False
    return keep


def magnitude_mask(w: Any, sparsity: float) -> Any:
    """Keep-mask that drops the k = round(sparsity * N) entries of smallest ``|w|``."""
    w = as_tensor(w, "w", device="cpu").detach()
    k = n_pruned(w.numel(), sparsity)
    return _drop_smallest(w.abs().reshape(-1), k).reshape(w.shape)  # (N,) -> w.shape


def structured_mask(W: Any, sparsity: float, axis: int = -1) -> Any:
    """Keep-mask that drops whole slices along ``axis``, those of smallest L2 norm."""
    W = as_tensor(W, "W", device="cpu").detach()
    if W.ndim < 1 or not -W.ndim <= axis < W.ndim:
        raise ValueError(
            f"axis={axis} does not exist for a weight of shape {tuple(W.shape)}; for a "
            "(in, out) matrix, axis=-1 removes output neurons."
        )
    axis = axis % W.ndim
    other = tuple(i for i in range(W.ndim) if i != axis)
    norms = torch.sqrt(torch.sum(W * W, dim=other)) if other else W.abs()  # (H,)
    keep = _drop_smallest(norms, n_pruned(norms.numel(), sparsity))  # (H,)
    shape = [1] * W.ndim
    shape[axis] = -1
    return keep.reshape(shape).expand(W.shape).clone()  # (D, H)


def global_magnitude_masks(weights: dict[str, Any], sparsity: float) -> dict[str, Any]:
    """One threshold for every tensor of ``weights``: the smallest ``|w|`` anywhere are dropped."""
    check_sparsity(sparsity)
    if not isinstance(weights, dict) or not weights:
        raise TypeError("weights must be a non-empty dict of tensors or arrays.")
    tensors = {name: as_tensor(w, name, device="cpu").detach() for name, w in weights.items()}
    flat = torch.cat([t.abs().reshape(-1) for t in tensors.values()])  # (N,)
    keep = _drop_smallest(flat, n_pruned(flat.numel(), sparsity))
    masks, start = {}, 0
    for name, t in tensors.items():
        masks[name] = keep[start : start + t.numel()].reshape(t.shape)
        start += t.numel()
    return masks


def apply_masks(weights: dict[str, Any], masks: dict[str, Any]) -> dict[str, Any]:
    """Copies of ``weights`` (as tensors) with the dropped entries set to 0."""
    out = {}
    for name, w in weights.items():
        w = as_tensor(w, name, device="cpu").detach().clone()
        if name in masks:
            keep = as_keep_mask(masks[name], tuple(w.shape), f"mask for {name}")
            w[~torch.as_tensor(keep, device=w.device)] = 0
        out[name] = w
    return out


def fine_tune(model: Any, masks: dict[str, np.ndarray], data: Any, config: Any) -> Any:
    """Train a pruned :class:`dlbook.nn.torch_backend.MLP` on, pruned weights held at 0.

    ``masks`` are canonical ({"W0": (D, H), "b0": (H,), ...}, NumPy or torch). Uses
    ``prune.custom_from_mask`` during training and ``prune.remove`` after it.
    Returns the :class:`dlbook.nn.training.History` of :func:`dlbook.nn.fit`.
    """
    from dlbook.nn.training import fit

    for i, layer in enumerate(model.linears):
        for param, key in (("weight", f"W{i}"), ("bias", f"b{i}")):
            if key in masks:
                mask = torch.as_tensor(np.asarray(masks[key]), device=model.device)
                prune.custom_from_mask(layer, param, mask.T if param == "weight" else mask)
    try:
        return fit("torch", model, data, config)
    finally:
        for layer in model.linears:
            for param in ("weight", "bias"):
                if prune.is_pruned(layer) and hasattr(layer, f"{param}_mask"):
                    prune.remove(layer, param)
