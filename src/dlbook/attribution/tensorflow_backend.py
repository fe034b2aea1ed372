"""Saliency and integrated gradients on TensorFlow: the API of ``numpy_backend``, with a tape.

Shape legend: B = examples, D = input features, K = classes, m = interpolation steps.

``tf.GradientTape`` watches the input (a constant, not a Variable, so it must be watched
by hand) and differentiates the summed class scores; row b's score depends only on row b,
so the result holds every row's own dF/dx. Inputs may be arrays or tensors; attributions
come back as NumPy arrays.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from dlbook._lazy import import_tensorflow
from dlbook._tf import to_numpy
from dlbook.attribution.numpy_backend import check_input, check_steps, target_classes

tf = import_tensorflow()


def _model_input(model: Any, x: Any) -> tf.Tensor:
    """x as a tensor of the model's dtype, its shape checked: (B, D)."""
    return tf.cast(tf.convert_to_tensor(check_input(model, to_numpy(x))), model.dtype)


def _scores(model: Any, x: tf.Tensor, target: Any) -> tf.Tensor:
    t = target_classes(model, x, target)  # checked NumPy labels, (B,)
    idx = np.stack([np.arange(len(t)), t], axis=1)  # (B, 2): (row, class) pairs
    return tf.gather_nd(model(x), idx)  # (B,)


def class_score(model: Any, x: Any, target: Any) -> np.ndarray:
    """F(x) = the logit of class ``target`` (an int, or one per row) for each row: (B,)."""
    return _scores(model, _model_input(model, x), target).numpy()


def input_gradient(model: Any, x: Any, target: Any) -> np.ndarray:
    """dF/dx for F = logit of class ``target``, by GradientTape: (B, D) as a NumPy array."""
    xt = _model_input(model, x)
    with tf.GradientTape() as tape:
        tape.watch(xt)  # inputs are not Variables: watch them explicitly
        total = tf.reduce_sum(_scores(model, xt, target))
    return tape.gradient(total, xt).numpy()  # (B, D)


def saliency(model: Any, x: Any, target: Any) -> np.ndarray:
    """``|dF/dx|``: the size of each pixel's local effect on the class score, (B, D)."""
    return np.abs(input_gradient(model, x, target))


def path_points(x: Any, baseline: Any, steps: int) -> tf.Tensor:
    """The m midpoints x' + (k + 1/2)/m (x - x'), k = 0..m-1, stacked: ``(m, *x.shape)``."""
    x = tf.convert_to_tensor(to_numpy(x), dtype=tf.float64)
    baseline = tf.convert_to_tensor(to_numpy(baseline), dtype=tf.float64)
    m = check_steps(steps)
    alphas = (tf.range(m, dtype=tf.float64) + 0.5) / m  # (m,)
    alphas = tf.reshape(alphas, [-1] + [1] * len(x.shape))
    return baseline + alphas * (x - baseline)  # (m, *x.shape)


def integrated_gradients(
    grad_fn: Callable[[Any], Any], x: Any, baseline: Any, steps: int = 50
) -> np.ndarray:
    """(x - x') * (1/m) sum_{k<m} dF/dx(x' + (k + 1/2)/m (x - x')), the midpoint rule.

    ``grad_fn`` gets the ``(m, *x.shape)`` points as one float64 tensor and may return a
    tensor or an array of the same shape.
    """
    x, baseline = to_numpy(x).astype(np.float64), to_numpy(baseline).astype(np.float64)
    if x.shape != baseline.shape:
        raise ValueError(
            f"x has shape {x.shape} but baseline has shape {baseline.shape}; "
            "they must match element for element."
        )
    points = path_points(x, baseline, steps)  # (m, *x.shape)
    grads = tf.cast(tf.convert_to_tensor(grad_fn(points)), tf.float64)
    if tuple(grads.shape) != tuple(points.shape):
        raise ValueError(
            f"grad_fn returned shape {tuple(grads.shape)} for points of shape "
            f"{tuple(points.shape)}; it must return dF/dx at every point."
        )
    return ((x - baseline) * tf.reduce_mean(grads, axis=0)).numpy()


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
