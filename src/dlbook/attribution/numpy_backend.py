"""Input attributions from scratch in NumPy: saliency and integrated gradients.

Shape legend: B = examples, D = input features (64 pixels of an 8x8 digit), K = classes,
m = interpolation steps.

The score explained is F(x) = logit of the chosen class c. Its gradient with respect to
the *input*, dF/dx, comes from the same backward pass that trains the network: seed the
logits with the one-hot vector e_c and :meth:`dlbook.nn.numpy_backend.MLP.backward`
returns dF/dx.

* **Saliency** (Simonyan et al. 2014): ``|dF/dx|``, how strongly each pixel moves the score
  locally.
* **Integrated gradients** (Sundararajan et al. 2017): the gradient averaged along the
  straight path from a baseline x' to x, times the displacement::

      IG_j(x) = (x_j - x'_j) * integral_0^1 dF/dx_j (x' + a (x - x')) da

  By the fundamental theorem of calculus along that path, the attributions add up to the
  change of the score (**completeness**): sum_j IG_j(x) = F(x) - F(x').
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from dlbook._validate import as_float_array, check_labels, check_same_shape
from dlbook.nn.numpy_backend import MLP, one_hot


def check_steps(steps: Any) -> int:
    """``steps`` as a positive int (the number of points on the integration path)."""
    if isinstance(steps, (bool, np.bool_)) or not isinstance(steps, (int, np.integer)):
        raise TypeError(f"steps must be an integer, got {type(steps).__name__}.")
    if steps < 1:
        raise ValueError(f"steps must be at least 1 (points on the path), got {steps}.")
    return int(steps)


def target_classes(model: Any, x: np.ndarray, target: Any) -> np.ndarray:
    """One class index per row of ``x``: an int is repeated, an array is checked."""
    t = np.full(len(x), target) if np.ndim(target) == 0 else np.asarray(target)
    return check_labels(t, len(x), model.sizes[-1])


def check_input(model: Any, x: Any) -> np.ndarray:
    """``x`` as a float array of shape (B, D) with D the model's input width."""
    x = as_float_array(x, "x")
    if x.ndim != 2 or x.shape[1] != model.sizes[0]:
        raise ValueError(
            f"x must have shape (B, {model.sizes[0]}), one flattened image per row; "
            f"got {x.shape}. For a single image use x[None, :]."
        )
    return x


def class_score(model: MLP, x: np.ndarray, target: Any) -> np.ndarray:
    """F(x) = the logit of class ``target`` (an int, or one per row) for each row: (B,)."""
    x = check_input(model, x)
    logits = model.forward(x)  # (B, K)
    return logits[np.arange(len(x)), target_classes(model, x, target)]


def input_gradient(model: MLP, x: np.ndarray, target: Any) -> np.ndarray:
    """dF/dx for F = logit of class ``target``, through the MLP's own backward pass: (B, D).

    The backward pass also accumulates weight gradients as a side effect; they are zeroed
    again, so the model is left as it was found.
    """
    x = check_input(model, x)
    logits = model.forward(x)  # (B, K), caches what backward needs
    # dF/dlogits: one at each example's target class
    seed = one_hot(target_classes(model, x, target), model.sizes[-1]).astype(logits.dtype)
    dx = model.backward(seed)  # (B, D)
    model.zero_grad()
    return dx


def saliency(model: MLP, x: np.ndarray, target: Any) -> np.ndarray:
    """``|dF/dx|``: the size of each pixel's local effect on the class score, (B, D)."""
    return np.abs(input_gradient(model, x, target))


def path_points(x: np.ndarray, baseline: np.ndarray, steps: int) -> np.ndarray:
    """The m midpoints x' + (k + 1/2)/m (x - x'), k = 0..m-1, stacked: ``(m, *x.shape)``."""
    alphas = (np.arange(check_steps(steps)) + 0.5) / steps  # (m,) in (0, 1)
    shape = (-1,) + (1,) * x.ndim  # broadcast alpha over x's axes
    return baseline + alphas.reshape(shape) * (x - baseline)  # (m, *x.shape)


def integrated_gradients(
    grad_fn: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    baseline: np.ndarray,
    steps: int = 50,
) -> np.ndarray:
    """(x - x') * (1/m) sum_{k<m} dF/dx(x' + (k + 1/2)/m (x - x')): the midpoint rule.

    ``grad_fn(points)`` takes the ``(m, *x.shape)`` batch of path points and returns dF/dx at
    each, same shape; it is called once. The midpoint rule's error falls like 1/m^2 for a
    smooth F (Sundararajan et al. 2017 suggest 20 to 300 steps).
    """
    x, baseline = as_float_array(x, "x"), as_float_array(baseline, "baseline")
    check_same_shape(x, baseline, "x", "baseline")
    points = path_points(x, baseline, steps)  # (m, *x.shape)
    grads = np.asarray(grad_fn(points))
    if grads.shape != points.shape:
        raise ValueError(
            f"grad_fn returned shape {grads.shape} for points of shape {points.shape}; it must "
            "return dF/dx at every point, with the same shape as its input."
        )
    return (x - baseline) * grads.mean(axis=0)


def score_grad_fn(model: MLP, target: int) -> Callable[[np.ndarray], np.ndarray]:
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
