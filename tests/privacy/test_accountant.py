"""The RDP accountant of the sampled Gaussian mechanism, checked three independent ways:
the closed form at q = 1, a numerical integral of the Rényi divergence, and the figure
Abadi et al. (2016) quote for their moments accountant."""

from __future__ import annotations

import numpy as np
import pytest

from dlbook.privacy.accountant import dp_sgd_epsilon, rdp_sampled_gaussian, rdp_to_epsilon


def rdp_by_integration(q: float, sigma: float, alpha: int) -> float:
    """log E_{z ~ N(0, s^2)} ((1 - q) + q e^{(2z - 1) / (2 s^2)})^alpha / (alpha - 1)."""
    z = np.linspace(-60 * sigma - 10, 60 * sigma + alpha + 10, 400_001)
    log_f = (
        -z * z / (2 * sigma**2)
        - 0.5 * np.log(2 * np.pi * sigma**2)
        + alpha * np.logaddexp(np.log1p(-q), np.log(q) + (2 * z - 1) / (2 * sigma**2))
    )
    top = log_f.max()
    return float((np.log(np.trapezoid(np.exp(log_f - top), z)) + top) / (alpha - 1))


@pytest.mark.parametrize(
    ("q", "sigma", "alpha"), [(0.01, 1.0, 8), (0.1, 2.0, 16), (0.05, 0.8, 4), (0.3, 4.0, 32)]
)
def test_rdp_matches_numerical_integration(q: float, sigma: float, alpha: int) -> None:
    ours = rdp_sampled_gaussian(q, sigma, [alpha])[0]
    assert ours == pytest.approx(rdp_by_integration(q, sigma, alpha), rel=1e-8)


def test_full_batch_is_the_gaussian_mechanism() -> None:
    orders = [2, 3, 10, 64]
    np.testing.assert_allclose(
        rdp_sampled_gaussian(1.0, 1.5, orders), np.array(orders) / (2 * 1.5**2), rtol=1e-12
    )
    # and the general sum, evaluated at q just below 1, tends to it
    np.testing.assert_allclose(
        rdp_sampled_gaussian(1 - 1e-12, 1.5, orders), np.array(orders) / 4.5, rtol=1e-6
    )


def test_abadi_et_al_example() -> None:
    """q = 0.01, sigma = 4, 10,000 steps, delta = 1e-5: Abadi et al. (2016) report eps ~ 1.26."""
    assert dp_sgd_epsilon(0.01, 4.0, 10_000, 1e-5) == pytest.approx(1.26, abs=0.01)


def test_epsilon_behaves() -> None:
    eps = [dp_sgd_epsilon(0.05, s, 1000, 1e-5) for s in (0.7, 1.0, 2.0, 4.0)]
    assert all(a > b for a, b in zip(eps, eps[1:], strict=False))  # more noise, less epsilon
    assert dp_sgd_epsilon(0.05, 1.0, 2000, 1e-5) > dp_sgd_epsilon(0.05, 1.0, 1000, 1e-5)
    assert rdp_sampled_gaussian(0.0, 1.0, [2, 3]).tolist() == [0.0, 0.0]  # never sampled
    assert np.isinf(dp_sgd_epsilon(0.05, 0.0, 10, 1e-5))  # no noise, no privacy


def test_conversion_picks_the_best_order() -> None:
    eps, order = rdp_to_epsilon([10.0, 1.0, 5.0], [2, 10, 50], delta=1e-5)
    assert order == 10 and eps == pytest.approx(1.0 + np.log(1e5) / 9)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: rdp_sampled_gaussian(1.5, 1.0), "sample_rate"),
        (lambda: rdp_sampled_gaussian(0.1, -1.0), "noise_multiplier"),
        (lambda: rdp_sampled_gaussian(0.1, 1.0, [1.5]), "integers >= 2"),
        (lambda: rdp_to_epsilon([1.0], [2], delta=0.0), "delta"),
        (lambda: dp_sgd_epsilon(0.1, 1.0, -3, 1e-5), "steps"),
    ],
)
def test_bad_arguments_are_explained(call, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()
