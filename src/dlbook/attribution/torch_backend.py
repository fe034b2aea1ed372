"""Saliency and integrated gradients on PyTorch: the API of ``numpy_backend``, with autograd.

Shape legend: B = examples, D = input features, K = classes, m = interpolation steps.

The input gradient is ``torch.autograd.grad`` of the summed class scores with respect to
the input; since row b's score depends only on row b, the gradient of the sum holds every
row's own dF/dx. ``tests/attribution`` checks it against the NumPy backward in float64.
Inputs may be arrays or tensors; attributions come back as NumPy arrays (for plotting,
and to compare backends directly).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from dlbook._lazy import import_torch
from dlbook._torch import as_tensor
from dlbook.attribution.numpy_backend import check_input, check_steps, target_classes

torch = import_torch()


def _model_input(model: Any, x: Any) -> torch.Tensor:
    """x as a tensor on the model's device and dtype, its shape checked: (B, D)."""
    if not torch.is_tensor(x):
        x = check_input(model, x)
    elif x.ndim != 2 or x.shape[1] != model.sizes[0]:
        raise ValueError(f"x must have shape (B, {model.sizes[0]}), got {tuple(x.shape)}.")
    return torch.as_tensor(x).to(device=model.device, dtype=model.dtype)


def _scores(model: Any, x: torch.Tensor, target: Any) -> torch.Tensor:
    t = target_classes(model, x, target)  # checked NumPy labels, (B,)
    return model(x)[torch.arange(len(x)), torch.as_tensor(t, device=x.device)]  # (B,)


def class_score(model: Any, x: Any, target: Any) -> np.ndarray:
    """F(x) = the logit of class ``target`` (an int, or one per row) for each row: (B,)."""
    with torch.no_grad():
        return _scores(model, _model_input(model, x), target).cpu().numpy()


def input_gradient(model: Any, x: Any, target: Any) -> np.ndarray:
    """dF/dx for F = logit of class ``target``, by autograd: (B, D) as a NumPy array."""
    xt = _model_input(model, x).detach().requires_grad_(True)
    (dx,) = torch.autograd.grad(_scores(model, xt, target).sum(), xt)  # (B, D)
    return dx.cpu().numpy()


def saliency(model: Any, x: Any, target: Any) -> np.ndarray:
    """``|dF/dx|``: the size of each pixel's local effect on the class score, (B, D)."""
    return np.abs(input_gradient(model, x, target))


def path_points(x: Any, baseline: Any, steps: int) -> torch.Tensor:
    """The m midpoints x' + (k + 1/2)/m (x - x'), k = 0..m-1, stacked: ``(m, *x.shape)``."""
    x = as_tensor(x, "x", device="cpu", dtype=torch.float64)  # the path in float64
    baseline = as_tensor(baseline, "baseline", device=x.device, dtype=x.dtype, move=True)
    m = check_steps(steps)
    alphas = (torch.arange(m, dtype=x.dtype, device=x.device) + 0.5) / m  # (m,)
    return baseline + alphas.reshape(-1, *[1] * x.ndim) * (x - baseline)  # (m, *x.shape)


def integrated_gradients(
    grad_fn: Callable[[Any], Any], x: Any, baseline: Any, steps: int = 50
) -> np.ndarray:
    """(x - x') * (1/m) sum_{k<m} dF/dx(x' + (k + 1/2)/m (x - x')), the midpoint rule.

    ``grad_fn`` gets the ``(m, *x.shape)`` points as one tensor and may return a tensor or
    an array of the same shape.
    """
    x = as_tensor(x, "x", device="cpu", dtype=torch.float64)  # the path in float64
    baseline = as_tensor(baseline, "baseline", device=x.device, dtype=x.dtype, move=True)
    if x.shape != baseline.shape:
        raise ValueError(
            f"x has shape {tuple(x.shape)} but baseline has shape {tuple(baseline.shape)}; "
            "they must match element for element."
        )
    points = path_points(x, baseline, steps)  # (m, *x.shape)
    grads = as_tensor(grad_fn(points), "grad_fn(points)", device=x.device, dtype=x.dtype, move=True)
    if grads.shape != points.shape:
        raise ValueError(
            f"grad_fn returned shape {tuple(grads.shape)} for points of shape "
            f"{tuple(points.shape)}; it must return dF/dx at every point."
        )
    return ((x - baseline) * grads.mean(dim=0)).cpu().numpy()


def score_grad_fn(model: Any, target: int) -> Callable[[Any], np.ndarray]:
    """``grad_fn`` for :func:`integrated_gradients`: points (m, D) -> dF/dx (m, D) for one class."""
    return lambda points: input_gradient(model, points, target)


__all__ = [
    "class_score",
    "input_gradient",
    "integrated_gradients",
    "path_points",
    "saliency",
    "score_grad_fn",
]
