"""How good is a language model? Cross-entropy in nats, perplexity and bits per character.

All three say the same thing in different units. With ``p`` the model's
probability of the character that actually came next::

    cross-entropy    L = mean_t -log p(x_t | x_<t)     (nats per character)
    perplexity         = exp(L)     a "branching factor": L of a uniform guess
                                    among exp(L) characters
    bits per character = L / ln 2   the length of the best code built from the model

NumPy only, so that every backend's logits (``tensor.detach().cpu().numpy()``)
are scored by one implementation.
"""

from __future__ import annotations

import numpy as np

from dlbook._validate import as_float_array


def log_softmax(logits: object, axis: int = -1) -> np.ndarray:
    """Stable ``log softmax(z)_i = z_i - m - log sum_j exp(z_j - m)``, with ``m = max_j z_j``.

    Subtracting the max changes nothing mathematically but keeps ``exp`` from
    overflowing: the largest term is ``exp(0) = 1``.
    """
    z = as_float_array(logits, "logits").astype(np.float64)
    m = np.max(z, axis=axis, keepdims=True)
    shifted = z - m
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def cross_entropy_from_logits(logits: object, targets: object) -> float:
    """Mean ``-log softmax(logits)[target]`` in nats, over every position.

    ``logits`` has shape (N, V) or (B, T, V); ``targets`` holds the index of the
    true next character, shape (N,) or (B, T).

    >>> round(cross_entropy_from_logits([[0.0, 0.0]], [1]), 6)  # a coin flip: log 2
    0.693147
    """
    z = as_float_array(logits, "logits").astype(np.float64)
    if z.ndim not in (2, 3):
        raise ValueError(
            f"logits must have shape (N, V) or (B, T, V), got {z.shape}: one row of V "
            "scores per predicted character."
        )
    V = z.shape[-1]
    y = np.asarray(targets)
    if y.shape != z.shape[:-1]:
        raise ValueError(
            f"logits have shape {z.shape}, so targets must have shape {z.shape[:-1]} (one "
            f"character index per row of logits), got {y.shape}. Targets are the inputs "
            "shifted by one: x[:, 1:] for logits computed from x[:, :-1]."
        )
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"targets must be integer character indices, got dtype {y.dtype}.")
    if y.size and (y.min() < 0 or y.max() >= V):
        raise ValueError(
            f"targets must lie in [0, {V}) for a vocabulary of {V}; "
            f"found values from {y.min()} to {y.max()}."
        )
    if not np.isfinite(z).all():
        raise ValueError(
            "logits contain NaN or infinity. If they come from training, it probably "
            "diverged: try a smaller learning rate or gradient clipping."
        )
    logp = log_softmax(z, axis=-1)  # (..., V)
    picked = np.take_along_axis(logp, y[..., None].astype(np.int64), axis=-1)  # (..., 1)
    return float(-picked.mean())


def perplexity(nats: float) -> float:
    """``exp(nats)``: the number of equally likely characters that would be as hard to guess."""
    return float(np.exp(_check_loss(nats)))


def bits_per_char(nats: float) -> float:
    """``nats / ln 2``: the same loss measured with base-2 logarithms."""
    return _check_loss(nats) / float(np.log(2.0))


def _check_loss(nats: object) -> float:
    """A cross-entropy is a non-negative number (of nats per character)."""
    try:
        x = float(nats)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise TypeError(f"Expected a loss in nats (a number), got {type(nats).__name__}.") from None
    if np.isnan(x) or x < 0:
        raise ValueError(f"A cross-entropy is a non-negative number of nats, got {x}.")
    return x
