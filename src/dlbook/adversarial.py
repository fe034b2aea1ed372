"""Adversarial examples by the fast gradient sign method (chapter 11), in NumPy.

Shape legend: B = examples, D = input features, K = classes.

FGSM (Goodfellow et al. 2015) moves every input feature by epsilon in the direction that
increases the loss, using the sign of the loss gradient with respect to the *input*::

    x_adv = clip(x + epsilon * sign(dL/dx), lo, hi)

It is the steepest ascent step under an L-infinity budget: among all perturbations
with ``max_j |delta_j| <= epsilon``, delta = epsilon sign(g) maximises the linearised loss
change g . delta = ``epsilon |g|_1``. In D = 64 dimensions a small epsilon per pixel adds up.

The gradient comes from the NumPy MLP's own backward pass; the functions work with any
:class:`dlbook.nn.numpy_backend.MLP`. This module imports neither PyTorch nor TensorFlow.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from dlbook._validate import as_float_array, check_labels


def _check_epsilon(epsilon: Any) -> float:
    if isinstance(epsilon, (bool, np.bool_)) or not isinstance(epsilon, (int, float, np.number)):
        raise TypeError(f"epsilon must be a number, got {type(epsilon).__name__}.")
    if not (epsilon >= 0 and np.isfinite(epsilon)):
        raise ValueError(f"epsilon must be a finite number >= 0 (a step size), got {epsilon!r}.")
    return float(epsilon)


def fgsm(
    x: np.ndarray,
    grad: np.ndarray,
    epsilon: float,
    lo: float | np.ndarray | None = None,
    hi: float | np.ndarray | None = None,
) -> np.ndarray:
    """x + epsilon * sign(grad), clipped into [lo, hi] when bounds are given.

    ``grad`` is dL/dx, same shape as ``x``; a zero gradient entry leaves its feature where
    it is (sign(0) = 0). ``lo`` and ``hi`` may be numbers or arrays that broadcast with x.
    Returns a new array.
    """
    x, grad = as_float_array(x, "x"), as_float_array(grad, "grad")
    if x.shape != grad.shape:
        raise ValueError(
            f"grad has shape {grad.shape} but x has shape {x.shape}: FGSM needs the gradient "
            "of the loss with respect to each input feature, so the shapes must match."
        )
    x_adv = x + _check_epsilon(epsilon) * np.sign(grad)
    if lo is not None or hi is not None:
        if lo is not None and hi is not None and np.any(np.asarray(lo) > np.asarray(hi)):
            raise ValueError(f"lo must not exceed hi, got lo={lo!r} and hi={hi!r}.")
        x_adv = np.clip(x_adv, lo, hi)
    return x_adv


def loss_input_gradient(model: Any, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """dL_i/dx_i for each example's own cross-entropy L_i, through the MLP's backward: (B, D).

    The batch-mean loss would scale every row by 1/B, which FGSM's sign ignores; we
    return the per-example gradient. Weight gradients accumulated on the way are zeroed.
    """
    from dlbook.nn.numpy_backend import one_hot, softmax

    x = as_float_array(x, "x")
    logits = model.forward(x)  # (B, K)
    y = check_labels(y, len(x), model.sizes[-1])
    dx = model.backward(softmax(logits, axis=1) - one_hot(y, model.sizes[-1]))  # (B, D)
    model.zero_grad()
    return dx


def fgsm_attack(
    model: Any,
    x: np.ndarray,
    y: np.ndarray,
    epsilon: float,
    lo: float | np.ndarray | None = None,
    hi: float | np.ndarray | None = None,
) -> np.ndarray:
    """Adversarial versions of the rows of x against ``model`` with their true labels y."""
    return fgsm(x, loss_input_gradient(model, x, y), epsilon, lo, hi)


def accuracy_under_fgsm(
    model: Any,
    x: np.ndarray,
    y: np.ndarray,
    epsilons: Sequence[float],
    lo: float | np.ndarray | None = None,
    hi: float | np.ndarray | None = None,
) -> np.ndarray:
    """Accuracy of ``model`` on FGSM examples for each epsilon (epsilon = 0: clean accuracy)."""
    grad = loss_input_gradient(model, x, y)  # one gradient serves every epsilon
    y = np.asarray(y)
    return np.array(
        [np.mean(model.forward(fgsm(x, grad, eps, lo, hi)).argmax(axis=1) == y) for eps in epsilons]
    )


__all__ = ["accuracy_under_fgsm", "fgsm", "fgsm_attack", "loss_input_gradient"]
