"""DP-SGD on PyTorch: the API of ``numpy_backend``, per-example gradients by ``torch.func``.

Shape legend: B = examples in the batch, N = parameters (flattened in the canonical order
of :mod:`dlbook.privacy.flat`), D = features in, K = classes.

``torch.func.grad`` turns "the loss of ONE example as a function of the parameters" into
"its gradient"; ``torch.func.vmap`` runs that function over the batch dimension as if in
a loop, but batched. No hand-written backward pass is needed, and
``tests/privacy/test_parity.py`` checks the result against the NumPy backward in float64.

The Gaussian noise is drawn with NumPy from the given ``rng``, so that both backends add
the same noise for the same seed (and torch's global random state is never touched).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlbook._lazy import import_torch
from dlbook.privacy.numpy_backend import check_denominator, check_max_norm, gaussian_noise

torch = import_torch()
F = torch.nn.functional


def _check_grads(grads: Any) -> torch.Tensor:
    g = grads if torch.is_tensor(grads) else torch.as_tensor(np.asarray(grads, dtype=np.float64))
    if g.ndim != 2 or not g.is_floating_point():
        raise ValueError(
            f"grads must be a floating (B, N) tensor, one flattened gradient per example; "
            f"got shape {tuple(g.shape)} and dtype {g.dtype}."
        )
    return g


def clip_per_example(grads: Any, max_norm: float) -> torch.Tensor:
    """Row i becomes g_i * min(1, C / ``|g_i|_2``); a zero row stays zero. Returns a new tensor."""
    g = _check_grads(grads)
    C = check_max_norm(max_norm)
    norms = torch.linalg.vector_norm(g, dim=1, keepdim=True)  # (B, 1)
    safe = torch.where(norms > 0, norms, torch.ones_like(norms))
    return g * torch.clamp(C / safe, max=1.0)  # (B, N)


def per_example_grads(model: Any, x: Any, y: Any) -> torch.Tensor:
    """Gradient of each example's own cross-entropy, one flattened row each: (B, N).

    ``vmap(grad(loss_one))`` over the batch, with the parameters passed in explicitly
    through ``torch.func.functional_call``; torch's (out, in) weights are transposed to
    the canonical (in, out) before flattening, so rows match the NumPy backend.
    """
    from torch.func import functional_call, grad, vmap

    xt = x if torch.is_tensor(x) else torch.as_tensor(np.asarray(x))
    xt = xt.to(device=model.device, dtype=model.dtype)
    yt = torch.as_tensor(np.asarray(y.cpu() if torch.is_tensor(y) else y), device=model.device)
    if xt.ndim != 2 or xt.shape[1] != model.sizes[0] or yt.shape != (len(xt),):
        raise ValueError(
            f"x must have shape (B, {model.sizes[0]}) and y shape (B,), "
            f"got {tuple(xt.shape)} and {tuple(yt.shape)}."
        )
    params = {k: p.detach() for k, p in model.named_parameters()}

    def loss_one(p: dict[str, torch.Tensor], xi: torch.Tensor, yi: torch.Tensor) -> torch.Tensor:
        logits = functional_call(model, p, (xi[None],))  # (1, K): a batch of one
        return F.cross_entropy(logits, yi[None])

    grads = vmap(grad(loss_one), in_dims=(None, 0, 0))(params, xt, yt)  # name -> (B, *shape)
    rows = [g.transpose(-1, -2) if k.endswith("weight") else g for k, g in grads.items()]
    return torch.cat([r.reshape(len(xt), -1) for r in rows], dim=1)  # (B, N)


def private_gradient(
    grads: Any,
    max_norm: float,
    noise_multiplier: float,
    rng: np.random.Generator | int,
    denominator: float | None = None,
) -> torch.Tensor:
    """(sum_i clip(g_i, C) + N(0, sigma^2 C^2 I)) / denominator, a vector (N,)."""
    clipped = clip_per_example(grads, max_norm)  # (B, N)
    total = clipped.sum(dim=0)  # (N,)
    noise = gaussian_noise(tuple(total.shape), max_norm, noise_multiplier, rng)  # NumPy
    if noise is not None:
        total = total + torch.as_tensor(noise, dtype=total.dtype, device=total.device)
    return total / check_denominator(denominator, len(clipped))


__all__ = ["clip_per_example", "per_example_grads", "private_gradient"]
