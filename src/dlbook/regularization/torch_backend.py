"""Dropout and weight penalties on PyTorch: the API of ``numpy_backend``, with autograd.

Shape legend: ``x`` and ``mask`` share any shape, e.g. (B, D) with B = batch
size and D = features; ``weights`` is a dict, list or iterator of tensors.

There are no ``*_backward`` or ``*_grad`` functions here: autograd differentiates
``y = x * mask / (1 - p)`` and the penalties, and ``tests/regularization``
checks that it agrees with the NumPy backend.

**Device.** Arrays are converted to tensors on :func:`dlbook.device.get_device`;
tensors stay where they are, and a NumPy ``mask`` follows ``x`` to its device.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlbook._lazy import import_torch
from dlbook._torch import as_tensor
from dlbook.regularization import check_lam, check_mask, check_p, weight_list

torch = import_torch()
F = torch.nn.functional


def _keep_mask(mask: Any, x: torch.Tensor) -> torch.Tensor:
    """A boolean keep-mask on ``x``'s device, checked like the NumPy backend's."""
    m = mask.detach().cpu().numpy() if isinstance(mask, torch.Tensor) else mask
    return torch.as_tensor(check_mask(m, tuple(x.shape)), device=x.device)


# ---------------------------------------------------------------------------
# Inverted dropout: y = x * mask / (1 - p), mask_i ~ Bernoulli(1 - p)
# ---------------------------------------------------------------------------


def dropout(
    x: Any,
    p: float,
    rng: np.random.Generator | None = None,
    training: bool = True,
    mask: Any = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Inverted dropout: return ``(y, mask)`` with ``y = x * mask / (1 - p)`` while training.

    The mask is ``mask`` if given, else drawn by the NumPy ``rng`` exactly as in
    the NumPy backend. With neither, this is ``torch.nn.functional.dropout``
    (torch's global generator; the mask stays inside torch and ``None`` is
    returned for it). In evaluation mode ``y = x`` and ``mask = None``.
    """
    x = as_tensor(x, "x")
    p = check_p(p)
    if not training:
        return x, None
    if mask is None and rng is None:
        return F.dropout(x, p=p, training=True), None  # torch's own: x * Bernoulli(1-p) / (1-p)
    if mask is None:
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator or None, got {rng!r}.")
        mask = rng.random(tuple(x.shape)) >= p  # the NumPy backend's draw
    keep = _keep_mask(mask, x)
    scale = 1.0 / (1.0 - p)
    return x * keep.to(x.dtype) * scale, keep


class Dropout(torch.nn.Module):
    """Inverted dropout as a ``torch.nn.Module``; ``.train()`` / ``.eval()`` set the mode.

    ``Dropout(p)(x)`` in training mode is ``torch.nn.Dropout(p)(x)``; ``rng`` or
    ``mask`` make the draw reproducible across backends.
    """

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = check_p(p)

    def forward(
        self,
        x: Any,
        rng: np.random.Generator | None = None,
        training: bool | None = None,
        mask: Any = None,
    ) -> torch.Tensor:
        """``training=None`` follows the module's mode (``.train()`` / ``.eval()``)."""
        training = self.training if training is None else training
        y, _ = dropout(x, self.p, rng, training, mask)
        return y

    def extra_repr(self) -> str:
        return f"p={self.p}"


# ---------------------------------------------------------------------------
# Weight penalties: 0-d tensors, so that ``(loss + penalty).backward()`` works
# ---------------------------------------------------------------------------


def _tensors(weights: Any) -> list[torch.Tensor]:
    ts = [as_tensor(w, "each weight") for w in weight_list(weights)]
    return [t.to(ts[0].device) for t in ts]


def l2_penalty(weights: Any, lam: float) -> torch.Tensor:
    """R = lam / 2 * sum over tensors w of sum_i w_i^2; its gradient is ``lam * w``.

    ``lam / 2 * sum(w^2)`` is what ``torch.optim.SGD(weight_decay=lam)`` adds
    implicitly; add this to the loss *instead* of weight decay, not as well.
    """
    lam = check_lam(lam)
    return 0.5 * lam * sum(torch.sum(w * w) for w in _tensors(weights))


def l1_penalty(weights: Any, lam: float) -> torch.Tensor:
    """R = lam * sum over tensors w of sum_i abs(w_i); autograd takes sign(0) = 0."""
    lam = check_lam(lam)
    return lam * sum(torch.sum(torch.abs(w)) for w in _tensors(weights))
