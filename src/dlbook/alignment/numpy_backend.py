"""Masked SFT loss and DPO from scratch in NumPy, each loss next to its backward.

Shape legend: B = sequences (or preference pairs), T = positions, V = vocabulary.
See :mod:`dlbook.alignment` for the maths.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlbook._validate import as_float_array
from dlbook.alignment import (
    check_beta,
    check_lm_shapes,
    check_logprob_pairs,
    check_mask_count,
    check_targets,
)


def _inputs(logits: Any, targets: Any, mask: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    z = as_float_array(logits, "logits")
    y = np.asarray(targets)
    m = np.ones(y.shape) if mask is None else as_float_array(mask, "mask")
    check_lm_shapes(z.shape, y.shape, m.shape)
    check_targets(y, z.shape[-1])
    if not np.all(np.isfinite(z)):
        raise ValueError("logits contain NaN or inf; the model's forward pass has diverged.")
    return z, y, m


def _log_softmax(z: np.ndarray) -> np.ndarray:
    """z - logsumexp(z) over the last axis, shifted by the row maximum (no overflow)."""
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def token_logprobs(logits: Any, targets: Any) -> np.ndarray:
    """log p(targets[b, t]) under softmax(logits[b, t]), shape (B, T)."""
    z, y, _ = _inputs(logits, targets, None)
    return np.take_along_axis(_log_softmax(z), y[..., None], axis=-1)[..., 0]  # (B, T)


def sequence_logprob(logits: Any, targets: Any, mask: Any) -> np.ndarray:
    """log p(y | x) = sum_t mask[b, t] log p(y_t | ...), shape (B,)."""
    z, y, m = _inputs(logits, targets, mask)
    return (m * token_logprobs(z, y)).sum(axis=1)


def sequence_logprob_backward(logits: Any, targets: Any, mask: Any, grad_out: Any) -> np.ndarray:
    """d/d logits of sum_b grad_out[b] sequence_logprob[b]: g m (onehot(y) - softmax(z))."""
    z, y, m = _inputs(logits, targets, mask)
    g = as_float_array(grad_out, "grad_out")
    if g.shape != z.shape[:1]:
        raise ValueError(f"grad_out must have shape (B,) = {z.shape[:1]}, got {g.shape}.")
    dz = -np.exp(_log_softmax(z))  # (B, T, V): d log p_y / dz = onehot(y) - p
    np.put_along_axis(dz, y[..., None], np.take_along_axis(dz, y[..., None], -1) + 1.0, -1)
    return dz * (g[:, None] * m)[..., None]  # (B, T, V)


def masked_cross_entropy(logits: Any, targets: Any, mask: Any) -> float:
    """-sum_{b,t} m log p(y_{b,t}) / sum_{b,t} m: the mean over the masked tokens only."""
    z, y, m = _inputs(logits, targets, mask)
    check_mask_count(m.sum())
    return float(-(m * token_logprobs(z, y)).sum() / m.sum())


def masked_cross_entropy_backward(logits: Any, targets: Any, mask: Any) -> np.ndarray:
    """d masked_cross_entropy / d logits = m (softmax(z) - onehot(y)) / sum m, (B, T, V)."""
    z, y, m = _inputs(logits, targets, mask)
    check_mask_count(m.sum())
    return sequence_logprob_backward(z, y, m, np.full(z.shape[0], -1.0 / m.sum()))


def _pairs(*logps: Any) -> list[np.ndarray]:
    names = ("policy_chosen", "policy_rejected", "ref_chosen", "ref_rejected")
    arrays = [as_float_array(a, n) for a, n in zip(logps, names, strict=True)]
    check_logprob_pairs(*(a.shape for a in arrays))
    return arrays


def _margin(pc: Any, pr: Any, rc: Any, rr: Any, beta: float) -> tuple[np.ndarray, float]:
    """z = beta ((pc - rc) - (pr - rr)), shape (B,), and the checked beta."""
    pc, pr, rc, rr = _pairs(pc, pr, rc, rr)
    beta = check_beta(beta)
    return beta * ((pc - rc) - (pr - rr)), beta


def dpo_loss(
    policy_chosen: Any, policy_rejected: Any, ref_chosen: Any, ref_rejected: Any, beta: float
) -> float:
    """mean_b -log sigma(z_b), z = beta [(pi_c - ref_c) - (pi_r - ref_r)]; inputs (B,) each.

    ``-log sigma(z) = softplus(-z) = max(-z, 0) + log(1 + exp(-|z|))``, which neither
    overflows for a large ``|z|`` nor loses the small values.
    """
    z, _ = _margin(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta)
    return float(np.mean(np.maximum(-z, 0.0) + np.log1p(np.exp(-np.abs(z)))))


def dpo_loss_backward(
    policy_chosen: Any, policy_rejected: Any, ref_chosen: Any, ref_rejected: Any, beta: float
) -> tuple[np.ndarray, np.ndarray]:
    """(dL/d policy_chosen, dL/d policy_rejected), (B,) each: -+ beta sigma(-z) / B.

    The reference log-probabilities are constants (the frozen model), so they get no
    gradient.
    """
    z, beta = _margin(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta)
    sig_neg = np.exp(-np.logaddexp(0.0, z))  # sigma(-z), stable for any z
    d_chosen = -beta * sig_neg / z.shape[0]
    return d_chosen, -d_chosen


def dpo_rewards(
    policy_chosen: Any, policy_rejected: Any, ref_chosen: Any, ref_rejected: Any, beta: float
) -> tuple[np.ndarray, np.ndarray]:
    """The implicit rewards beta (log pi - log ref) of the chosen and the rejected, (B,) each."""
    pc, pr, rc, rr = _pairs(policy_chosen, policy_rejected, ref_chosen, ref_rejected)
    beta = check_beta(beta)
    return beta * (pc - rc), beta * (pr - rr)
