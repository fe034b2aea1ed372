"""DP-SGD from scratch in NumPy: per-example gradients, per-example clipping, Gaussian noise.

Shape legend: B = examples in the batch, N = parameters of the model (flattened in the
canonical order of :mod:`dlbook.privacy.flat`), D = features in, H = features out,
K = classes.

One step of DP-SGD (Abadi et al. 2016) on a batch of B examples, with clipping bound C
and noise multiplier sigma::

    g_i      = grad of loss(x_i, y_i)                      one gradient per example (B, N)
    g_i_bar  = g_i * min(1, C / |g_i|_2)                       each clipped to norm <= C
    g_tilde  = (sum_i g_i_bar + N(0, sigma^2 C^2 I)) / B   noise scaled to one example's reach
    w       <- w - lr * g_tilde

Clipping bounds what any one example can do to the sum (at most C, so at most C / B to
the update); the noise hides whether any one example was there at all.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlbook._validate import as_float_array, check_labels
from dlbook.nn.numpy_backend import ACTIVATIONS, MLP, Linear, linear, one_hot, softmax
from dlbook.seeding import make_rng


def check_max_norm(max_norm: Any) -> float:
    """The clipping norm C as a positive float (a clear error for bools, NaN, <= 0)."""
    if isinstance(max_norm, (bool, np.bool_)) or not isinstance(max_norm, (int, float, np.number)):
        raise TypeError(f"max_norm must be a number, got {type(max_norm).__name__}.")
    if not max_norm > 0:  # also refuses NaN
        raise ValueError(
            f"max_norm must be positive (the largest norm an example's gradient may keep), "
            f"got {max_norm!r}. Use float('inf') for no clipping."
        )
    return float(max_norm)


def _check_grads(grads: Any) -> np.ndarray:
    g = as_float_array(grads, "grads")
    if g.ndim != 2:
        raise ValueError(
            f"grads must have shape (B, N): one flattened gradient per example, "
            f"got shape {g.shape}. Flatten each example's gradient into a row first."
        )
    return g


def clip_per_example(grads: np.ndarray, max_norm: float) -> np.ndarray:
    """Row i becomes g_i * min(1, C / ``|g_i|_2``): every row ends with norm <= C = ``max_norm``.

    A zero row stays zero (no 0/0); rows already shorter than C are unchanged. Returns a
    new (B, N) array and leaves ``grads`` alone.
    """
    g = _check_grads(grads)
    C = check_max_norm(max_norm)
    norms = np.linalg.norm(g, axis=1, keepdims=True)  # (B, 1)
    safe = np.where(norms > 0, norms, 1.0)  # a zero row is never rescaled
    scale = np.minimum(1.0, C / safe)  # (B, 1); C = inf gives 1
    return g * scale  # a new array


def per_example_grads(model: MLP, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Gradient of each example's own cross-entropy, one flattened row each: (B, N).

    Backpropagation as in chapter 1, without the sum over the batch: for a layer
    y = x W + b, example i contributes dW_i = x_i^T g_i (an outer product, (D, H)) and
    db_i = g_i. The mean of the rows is the ordinary mini-batch gradient.
    """
    x = as_float_array(x, "x").astype(model.dtype, copy=False)
    if x.ndim != 2 or x.shape[1] != model.sizes[0]:
        raise ValueError(f"x must have shape (B, {model.sizes[0]}), got {x.shape}.")
    y = check_labels(y, x.shape[0], model.sizes[-1])
    inputs, h = [], x
    for layer in model.layers:  # forward, keeping each layer's input
        inputs.append(h)
        if isinstance(layer, Linear):
            h = linear(h, layer.params["W"], layer.params["b"])
        else:
            h = ACTIVATIONS[layer.name][0](h)
    g = softmax(h, axis=1) - one_hot(y, model.sizes[-1]).astype(h.dtype)  # (B, K): dL_i/dlogits_i
    blocks: list[np.ndarray] = []
    for layer, inp in zip(reversed(model.layers), reversed(inputs), strict=True):
        if isinstance(layer, Linear):
            dW = np.einsum("bd,bh->bdh", inp, g)  # (B, D, H): one outer product per example
            blocks = [dW.reshape(len(g), -1), g, *blocks]  # W before b, last layer last
            g = g @ layer.params["W"].T  # (B, D)
        else:
            g = ACTIVATIONS[layer.name][1](inp, g)  # elementwise: already per example
    return np.concatenate(blocks, axis=1)  # (B, N)


def private_gradient(
    grads: np.ndarray,
    max_norm: float,
    noise_multiplier: float,
    rng: np.random.Generator | int,
    denominator: float | None = None,
) -> np.ndarray:
    """(sum_i clip(g_i, C) + N(0, sigma^2 C^2 I)) / denominator, a vector (N,).

    ``denominator`` defaults to the batch size B; DP-SGD with Poisson sampling divides by
    the *expected* batch size instead, so that the noise does not depend on how many
    examples were drawn. With sigma = 0 no noise is drawn (so C = inf is allowed).
    """
    clipped = clip_per_example(grads, max_norm)  # (B, N)
    total = clipped.sum(axis=0)  # (N,)
    noise = gaussian_noise(total.shape, max_norm, noise_multiplier, rng)
    if noise is not None:
        total = total + noise
    return total / check_denominator(denominator, len(clipped))


def gaussian_noise(
    shape: tuple[int, ...], max_norm: float, noise_multiplier: float, rng: Any
) -> np.ndarray | None:
    """N(0, sigma^2 C^2) noise of ``shape``, drawn by NumPy for every backend; None if sigma = 0."""
    sigma = _check_noise(noise_multiplier)
    if sigma == 0:
        return None
    if not np.isfinite(max_norm):
        raise ValueError("Noise needs a finite max_norm: its scale is sigma * max_norm.")
    return make_rng(rng).normal(0.0, sigma * max_norm, size=tuple(shape))


def _check_noise(noise_multiplier: Any) -> float:
    if isinstance(noise_multiplier, (bool, np.bool_)) or not isinstance(
        noise_multiplier, (int, float, np.number)
    ):
        raise TypeError(
            f"noise_multiplier must be a number, got {type(noise_multiplier).__name__}."
        )
    if not noise_multiplier >= 0 or not np.isfinite(noise_multiplier):
        raise ValueError(
            f"noise_multiplier (sigma) must be a finite number >= 0, got {noise_multiplier!r}."
        )
    return float(noise_multiplier)


def check_denominator(denominator: Any, batch: int) -> float:
    """What the summed gradients are divided by: ``batch`` when None, else positive."""
    d = batch if denominator is None else denominator
    if not d > 0:
        raise ValueError(f"denominator must be positive (usually the batch size), got {d!r}.")
    return float(d)


__all__ = ["clip_per_example", "per_example_grads", "private_gradient"]
