"""Initial weights, drawn once in NumPy and shared by all three backends.

Sharing the draw is what lets the book train "the same" network in NumPy,
PyTorch and TensorFlow and compare them number for number.
"""

from __future__ import annotations

import numpy as np

from dlbook._validate import check_sizes
from dlbook.seeding import make_rng

# Gain of He/Kaiming initialisation for each activation: Var(W) = gain^2 / fan_in.
_GAIN = {"relu": np.sqrt(2.0), "gelu": np.sqrt(2.0), "tanh": 5.0 / 3.0, "sigmoid": 1.0}


def init_linear_weights(
    d_in: int, d_out: int, rng: np.random.Generator, *, gain: float = 1.0, dtype: str = "float64"
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(W, b)`` with ``W ~ N(0, gain^2 / d_in)`` of shape (d_in, d_out) and ``b = 0``.

    The variance ``gain^2 / fan_in`` keeps the scale of activations roughly
    constant from layer to layer (He et al., 2015, for ReLU's gain of sqrt 2).
    """
    W = rng.normal(0.0, gain / np.sqrt(d_in), size=(d_in, d_out)).astype(dtype)
    b = np.zeros(d_out, dtype=dtype)
    return W, b


def init_mlp_weights(
    sizes: list[int],
    activation: str = "relu",
    *,
    seed: int | np.random.Generator = 0,
    dtype: str = "float64",
) -> dict[str, np.ndarray]:
    """Initial weights of an MLP in the canonical layout ``{"W0", "b0", "W1", ...}``.

    The hidden layers use the gain of ``activation``; the last (logit) layer uses gain 1.
    """
    sizes = check_sizes(sizes)
    if activation not in _GAIN:
        raise ValueError(f"Unknown activation {activation!r}; choose one of {sorted(_GAIN)}.")
    rng = make_rng(seed)
    weights: dict[str, np.ndarray] = {}
    n_layers = len(sizes) - 1
    for i, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        gain = 1.0 if i == n_layers - 1 else _GAIN[activation]
        W, b = init_linear_weights(d_in, d_out, rng, gain=gain, dtype=dtype)
        weights[f"W{i}"], weights[f"b{i}"] = W, b
    return weights
