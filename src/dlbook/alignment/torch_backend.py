"""Masked SFT loss and DPO on PyTorch: the API of ``numpy_backend``, with autograd.

Shape legend: B = sequences (or preference pairs), T = positions, V = vocabulary.
Every function takes tensors (or arrays) and returns tensors that carry autograd,
so ``loss.backward()`` reaches the model that produced the logits.
"""

from __future__ import annotations

from typing import Any

from dlbook._lazy import import_torch
from dlbook.alignment import (
    check_beta,
    check_lm_shapes,
    check_logprob_pairs,
    check_mask_count,
    check_targets,
)

torch = import_torch()
F = torch.nn.functional


def _tensor(x: Any, like: Any = None) -> Any:
    if isinstance(x, torch.Tensor):
        return x
    t = torch.as_tensor(x)
    if like is not None:
        t = t.to(like.device)
        if t.is_floating_point():
            t = t.to(like.dtype)
    return t


def _inputs(logits: Any, targets: Any, mask: Any) -> tuple[Any, Any, Any]:
    z = _tensor(logits)
    if not z.is_floating_point():
        raise TypeError(f"logits must be floating point, got dtype {z.dtype}.")
    y = _tensor(targets, z).long()
    m = torch.ones(y.shape, dtype=z.dtype, device=z.device) if mask is None else _tensor(mask, z)
    check_lm_shapes(tuple(z.shape), tuple(y.shape), tuple(m.shape))
    check_targets(y.detach().cpu().numpy(), z.shape[-1])
    return z, y, m.to(z.dtype)


def token_logprobs(logits: Any, targets: Any) -> Any:
    """log p(targets[b, t]) under softmax(logits[b, t]), shape (B, T)."""
    z, y, _ = _inputs(logits, targets, None)
    return torch.gather(F.log_softmax(z, dim=-1), -1, y[..., None])[..., 0]  # (B, T)


def sequence_logprob(logits: Any, targets: Any, mask: Any) -> Any:
    """log p(y | x) = sum_t mask[b, t] log p(y_t | ...), shape (B,)."""
    z, y, m = _inputs(logits, targets, mask)
    return (m * token_logprobs(z, y)).sum(dim=1)


def masked_cross_entropy(logits: Any, targets: Any, mask: Any) -> Any:
    """-sum m log p(y) / sum m: the mean over the masked tokens only, a 0-d tensor."""
    z, y, m = _inputs(logits, targets, mask)
    check_mask_count(float(m.sum()))
    return -(m * token_logprobs(z, y)).sum() / m.sum()


def _margin(pc: Any, pr: Any, rc: Any, rr: Any, beta: float) -> Any:
    pc = _tensor(pc)
    pr, rc, rr = (_tensor(a, pc) for a in (pr, rc, rr))
    check_logprob_pairs(*(tuple(a.shape) for a in (pc, pr, rc, rr)))
    return check_beta(beta) * ((pc - rc) - (pr - rr))  # (B,)


def dpo_loss(
    policy_chosen: Any, policy_rejected: Any, ref_chosen: Any, ref_rejected: Any, beta: float
) -> Any:
    """mean_b -log sigma(z_b), z = beta [(pi_c - ref_c) - (pi_r - ref_r)], a 0-d tensor."""
    z = _margin(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta)
    return -F.logsigmoid(z).mean()


def dpo_rewards(
    policy_chosen: Any, policy_rejected: Any, ref_chosen: Any, ref_rejected: Any, beta: float
) -> tuple[Any, Any]:
    """The implicit rewards beta (log pi - log ref) of the chosen and the rejected, (B,) each."""
    pc = _tensor(policy_chosen)
    pr, rc, rr = (_tensor(a, pc) for a in (policy_rejected, ref_chosen, ref_rejected))
    check_logprob_pairs(*(tuple(a.shape) for a in (pc, pr, rc, rr)))
    beta = check_beta(beta)
    return beta * (pc - rc), beta * (pr - rr)
