"""Privacy accounting for DP-SGD: Rényi DP of the sampled Gaussian mechanism (pure NumPy).

A DP-SGD step adds N(0, sigma^2 C^2) noise to a sum of gradients clipped to norm C, over
a batch in which each example takes part with probability q (Poisson sampling). In units
of C, that is the **sampled Gaussian mechanism** with noise multiplier sigma.

Rényi differential privacy (Mironov 2017) measures it by the Rényi divergence of order
alpha > 1 between the outputs with and without one example. For an *integer* order
alpha, Mironov et al. (2019) give it exactly as a finite sum::

    A_alpha = sum_{k=0}^{alpha} binom(alpha, k) (1 - q)^(alpha - k) q^k exp((k^2 - k) / (2 sigma^2))
    RDP(alpha) = log(A_alpha) / (alpha - 1)        per step

(with q = 1 this is the Gaussian mechanism's alpha / (2 sigma^2)). RDP composes by
addition, so T steps cost T * RDP(alpha); and (Mironov 2017, Proposition 3) an
(alpha, r)-RDP mechanism is (epsilon, delta)-DP with

    epsilon = r + log(1 / delta) / (alpha - 1),

which we minimise over the orders. Only integer orders are used, so the epsilon
reported is a valid upper bound, slightly looser than libraries that also use
fractional orders and the tighter conversions published since.
``tests/privacy/test_accountant.py`` checks the sum against a numerical integral of the
divergence and against the closed form at q = 1.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import gammaln, logsumexp

DEFAULT_ORDERS: tuple[int, ...] = (*range(2, 65), 80, 96, 128, 160, 192, 256)  # alpha values


def _check(q: Any, sigma: Any) -> tuple[float, float]:
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"sample_rate q must lie in [0, 1], got {q!r}.")
    if not sigma >= 0:
        raise ValueError(f"noise_multiplier sigma must be >= 0, got {sigma!r}.")
    return float(q), float(sigma)


def _orders(orders: Any) -> np.ndarray:
    a = np.asarray(orders)
    if a.ndim != 1 or a.size == 0 or not np.issubdtype(a.dtype, np.integer) or (a < 2).any():
        raise ValueError(f"orders must be a 1-D list of integers >= 2, got {orders!r}.")
    return a.astype(np.int64)


def _log_a(q: float, sigma: float, alpha: int) -> float:
    """log A_alpha by log-sum-exp over k = 0..alpha (the terms grow like exp(k^2))."""
    k = np.arange(alpha + 1)
    log_binom = gammaln(alpha + 1) - gammaln(k + 1) - gammaln(alpha - k + 1)
    with np.errstate(divide="ignore"):  # log(0) = -inf drops a term when q is 0 or 1
        log_terms = (
            log_binom + (alpha - k) * np.log1p(-q) + k * np.log(q) + (k * k - k) / (2.0 * sigma**2)
        )
    return float(logsumexp(log_terms))


def rdp_sampled_gaussian(
    sample_rate: float, noise_multiplier: float, orders: Any = DEFAULT_ORDERS
) -> np.ndarray:
    """RDP(alpha) of ONE step of the sampled Gaussian mechanism, for each order: (len(orders),)."""
    q, sigma = _check(sample_rate, noise_multiplier)
    alphas = _orders(orders)
    if q == 0:
        return np.zeros(len(alphas))
    if sigma == 0:
        return np.full(len(alphas), np.inf)  # no noise: no privacy
    if q == 1:
        return alphas / (2.0 * sigma**2)  # the plain Gaussian mechanism
    return np.array([_log_a(q, sigma, int(a)) / (a - 1) for a in alphas])


def rdp_to_epsilon(rdp: Any, orders: Any, delta: float) -> tuple[float, int]:
    """(epsilon, best order): min over alpha of rdp(alpha) + log(1/delta) / (alpha - 1)."""
    if not 0.0 < delta < 1.0:
        raise ValueError(f"delta must lie in (0, 1), got {delta!r}.")
    alphas = _orders(orders)
    eps = np.asarray(rdp, dtype=np.float64) + np.log(1.0 / delta) / (alphas - 1)
    best = int(np.argmin(eps))
    return float(eps[best]), int(alphas[best])


def dp_sgd_epsilon(
    sample_rate: float,
    noise_multiplier: float,
    steps: int,
    delta: float,
    orders: Any = DEFAULT_ORDERS,
) -> float:
    """epsilon of ``steps`` DP-SGD steps at (q, sigma), for the given delta (inf if sigma = 0)."""
    if not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}.")
    rdp = steps * rdp_sampled_gaussian(sample_rate, noise_multiplier, orders)
    return rdp_to_epsilon(rdp, orders, delta)[0]


__all__ = ["DEFAULT_ORDERS", "dp_sgd_epsilon", "rdp_sampled_gaussian", "rdp_to_epsilon"]
