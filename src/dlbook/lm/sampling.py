"""Turning a model's logits into text: temperature, top-k and drawing a character.

Temperature ``T`` rescales the logits before the softmax,

    p_T(i) = exp(z_i / T) / sum_j exp(z_j / T).

``T = 1`` is the model's own distribution; ``T < 1`` sharpens it (as ``T -> 0`` all
the mass goes to the largest logit: greedy decoding); ``T > 1`` flattens it (as
``T -> inf`` every character becomes equally likely). Top-k keeps the ``k`` most
likely characters and renormalises, so a long tail of unlikely characters cannot
derail a generated text (the GPT chapter uses it).

Functions work on the last axis, so one call handles a single distribution (V,)
or a batch (B, V).
"""

from __future__ import annotations

import numpy as np

from dlbook._validate import as_float_array
from dlbook.seeding import make_rng


def softmax_with_temperature(logits: object, temperature: float = 1.0) -> np.ndarray:
    """``p_T = softmax(logits / T)`` along the last axis; ``T`` must be > 0.

    >>> softmax_with_temperature([0.0, np.log(3.0)], temperature=1.0).round(3)
    array([0.25, 0.75])
    """
    T = _check_temperature(temperature)
    z = _check_logits(logits) / T
    z = z - np.max(z, axis=-1, keepdims=True)  # largest term is exp(0) = 1: no overflow
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def sample_with_temperature(
    logits: object,
    temperature: float = 1.0,
    rng: np.random.Generator | int | None = None,
    *,
    greedy: bool = False,
) -> int | np.ndarray:
    """Draw one index per distribution from ``softmax(logits / T)``.

    Returns an ``int`` for logits of shape (V,), an int64 array (B,) for (B, V).
    ``greedy=True`` returns the argmax instead, the ``T -> 0`` limit (no ``rng``
    needed). Otherwise the draw is by inverse CDF: one uniform ``u`` per row,
    and the first index whose cumulative probability exceeds ``u``.
    """
    z = _check_logits(logits)
    if greedy:
        idx = np.argmax(z, axis=-1)
    else:
        if rng is None:
            raise ValueError(
                "Sampling needs randomness: pass rng=np.random.default_rng(seed), or "
                "greedy=True for the most likely character."
            )
        p = softmax_with_temperature(z, temperature)  # (..., V)
        cdf = np.cumsum(p, axis=-1)
        u = make_rng(rng).random(p.shape[:-1]) * cdf[..., -1]  # below the total, despite round-off
        idx = (cdf <= u[..., None]).sum(axis=-1)  # first index with cdf > u
    return int(idx) if np.ndim(idx) == 0 else idx.astype(np.int64)


def top_k_filter(logits: object, k: int) -> np.ndarray:
    """Keep the ``k`` largest logits on the last axis, set the others to ``-inf``.

    Exactly ``k`` entries survive in every row. Ties at the boundary are broken by
    position: among equal logits the lower index is kept (a stable sort), so the
    result is deterministic.

    >>> top_k_filter([1.0, 3.0, 2.0, 3.0], k=2)
    array([-inf,   3., -inf,   3.])
    """
    z = _check_logits(logits)
    V = z.shape[-1]
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)) or not 1 <= k <= V:
        raise ValueError(f"k must be an integer from 1 to the vocabulary size {V}, got {k!r}.")
    keep = np.argsort(-z, axis=-1, kind="stable")[..., :k]  # (..., k) the k largest
    mask = np.zeros(z.shape, dtype=bool)
    np.put_along_axis(mask, keep, True, axis=-1)
    return np.where(mask, z, -np.inf)


def _check_temperature(temperature: object) -> float:
    try:
        T = float(temperature)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise TypeError(f"temperature must be a number, got {temperature!r}.") from None
    if not np.isfinite(T) or T <= 0:
        raise ValueError(
            f"temperature must be a positive number, got {temperature!r}. For the T -> 0 "
            "limit (always the most likely character) use greedy=True."
        )
    return T


def _check_logits(logits: object) -> np.ndarray:
    """Float64 logits of shape (V,) or (..., V); ``-inf`` allowed (filtered out), NaN not."""
    z = as_float_array(logits, "logits").astype(np.float64)
    if z.ndim == 0 or z.shape[-1] == 0:
        raise ValueError(f"logits must have a vocabulary axis last, got shape {z.shape}.")
    if np.isnan(z).any() or (z == np.inf).any():
        raise ValueError("logits contain NaN or +inf; a model's scores must be finite numbers.")
    if (np.max(z, axis=-1) == -np.inf).any():
        raise ValueError("A row of logits is all -inf: there is no character left to choose.")
    return z
