"""Membership inference by a score threshold, and its advantage (pure NumPy).

An attacker gets a score per example (here: minus the model's loss on it, so that a
higher score means "looks like a training example") and guesses "member" when the
score reaches a threshold tau. Over the members (training examples) and the
non-members (held-out examples),

    TPR(tau) = P(score >= tau | member),    FPR(tau) = P(score >= tau | non-member),

and the **membership advantage** of Yeom et al. (2018) is the best gap over thresholds,

    Adv = max_tau  TPR(tau) - FPR(tau)    in [0, 1].

0 means the attacker does no better than a coin (the threshold "guess everybody"
already reaches TPR = FPR = 1); 1 means the scores separate members perfectly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlbook._validate import as_float_array


def _scores(scores: Any, name: str) -> np.ndarray:
    """A non-empty 1-D float array of finite scores, or a learner-friendly error."""
    arr = as_float_array(scores, name)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(
            f"{name} must be a non-empty 1-D array (one score per example), got shape {arr.shape}."
        )
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values; scores must be finite.")
    return arr.astype(np.float64, copy=False)


def roc_curve(member_scores: Any, nonmember_scores: Any) -> tuple[np.ndarray, np.ndarray]:
    """(FPR, TPR) of the rule "member iff score >= tau", for every distinct threshold.

    The thresholds run from +inf (nobody is called a member: (0, 0)) down through every
    distinct score to the smallest (everybody: (1, 1)), so both arrays are increasing.
    """
    m, n = _scores(member_scores, "member_scores"), _scores(nonmember_scores, "nonmember_scores")
    taus = np.unique(np.concatenate([m, n]))[::-1]  # distinct scores, high to low
    m_sorted, n_sorted = np.sort(m), np.sort(n)
    tpr = (len(m) - np.searchsorted(m_sorted, taus, side="left")) / len(m)  # P(m >= tau)
    fpr = (len(n) - np.searchsorted(n_sorted, taus, side="left")) / len(n)  # P(n >= tau)
    return np.concatenate([[0.0], fpr]), np.concatenate([[0.0], tpr])


def membership_advantage(member_scores: Any, nonmember_scores: Any) -> float:
    """max over thresholds of TPR - FPR, where a higher score means "member" (Yeom et al. 2018).

    >>> membership_advantage([3.0, 4.0], [1.0, 2.0])  # perfectly separated
    1.0
    >>> membership_advantage([1.0, 2.0], [1.0, 2.0])  # identical: no advantage
    0.0
    """
    fpr, tpr = roc_curve(member_scores, nonmember_scores)
    return float(np.max(tpr - fpr))  # >= 0: the first point (0, 0) is always there


def roc_auc(member_scores: Any, nonmember_scores: Any) -> float:
    """Area under the ROC curve: P(member score > non-member score), ties counting one half."""
    fpr, tpr = roc_curve(member_scores, nonmember_scores)
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2.0))  # trapezoids


def chance_advantage(
    n_members: int, n_nonmembers: int, rng: np.random.Generator | int, trials: int = 200
) -> np.ndarray:
    """Advantages measured when the attack knows nothing, for samples of these sizes: (trials,).

    The maximum over thresholds picks up sampling noise, so even scores drawn from one
    distribution for members and non-members give an advantage above 0: it is the
    one-sided Kolmogorov-Smirnov statistic, about sqrt(pi / 8) sqrt(1/n + 1/m) ~ 0.63
    sqrt(1/n + 1/m) on average for large samples. A measured advantage means something
    only well above this floor.
    """
    from dlbook.seeding import make_rng

    for name, n in (("n_members", n_members), ("n_nonmembers", n_nonmembers), ("trials", trials)):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"{name} must be a positive integer, got {n!r}.")
    rng = make_rng(rng)
    return np.array(
        [
            membership_advantage(rng.random(n_members), rng.random(n_nonmembers))
            for _ in range(trials)
        ]
    )


__all__ = ["chance_advantage", "membership_advantage", "roc_auc", "roc_curve"]
