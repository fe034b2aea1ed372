"""Membership advantage max_tau TPR - FPR, and the ROC curve, on inputs with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from dlbook.privacy import membership_advantage, roc_auc, roc_curve


def test_perfectly_separated_scores_give_advantage_1() -> None:
    assert membership_advantage([5.0, 6.0, 7.0], [1.0, 2.0]) == 1.0
    assert roc_auc([5.0, 6.0, 7.0], [1.0, 2.0]) == 1.0


def test_identical_or_reversed_scores_give_advantage_0() -> None:
    s = [0.1, 0.4, 0.4, 0.9]
    assert membership_advantage(s, s) == 0.0
    assert membership_advantage([1.0, 2.0], [3.0, 4.0]) == 0.0  # "member" scores lower
    assert roc_auc(s, s) == 0.5


def test_a_worked_example() -> None:
    """Worked by hand: the best threshold is tau = 5, with TPR 3/4 and FPR 1/4."""
    members, others = [5.0, 6.0, 7.0, 1.0], [0.0, 2.0, 3.0, 8.0]
    # tau = 5: TPR = 3/4 (5, 6, 7), FPR = 1/4 (8)  ->  1/2, the best threshold
    assert membership_advantage(members, others) == pytest.approx(0.5)
    fpr, tpr = roc_curve(members, others)
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0.0, 0.0, 1.0, 1.0)
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)
    # AUC = P(member score > non-member score), counted over the 16 pairs
    pairs = np.mean([[m > o for o in others] for m in members])
    assert roc_auc(members, others) == pytest.approx(pairs)


def test_advantage_of_gaussians_matches_theory() -> None:
    """N(d, 1) against N(0, 1): max TPR - FPR = 2 Phi(d / 2) - 1 (threshold at d / 2)."""
    from scipy.stats import norm

    rng, d = np.random.default_rng(0), 1.0
    adv = membership_advantage(rng.normal(d, 1, 50_000), rng.normal(0, 1, 50_000))
    assert adv == pytest.approx(2 * norm.cdf(d / 2) - 1, abs=0.01)


@pytest.mark.parametrize(
    ("members", "others", "error", "match"),
    [
        ([], [1.0], ValueError, "non-empty"),
        ([[1.0, 2.0]], [1.0], ValueError, "1-D"),
        ([1.0, np.nan], [1.0], ValueError, "finite"),
        ("abc", [1.0], TypeError, "array of numbers"),
    ],
)
def test_bad_scores_are_explained(members, others, error, match) -> None:
    with pytest.raises(error, match=match):
        membership_advantage(members, others)


def test_chance_advantage_is_the_noise_floor() -> None:
    """Exchangeable scores: the mean advantage is the one-sided KS statistic's mean,
    sqrt(pi / 8) sqrt(1/n + 1/m) for large samples."""
    from dlbook.privacy import chance_advantage

    floor = chance_advantage(200, 800, rng=0, trials=300)
    assert floor.shape == (300,) and floor.min() >= 0
    assert floor.mean() == pytest.approx(np.sqrt(np.pi / 8 * (1 / 200 + 1 / 800)), rel=0.15)
    with pytest.raises(ValueError, match="n_members"):
        chance_advantage(0, 10, rng=0)
