"""Knowledge distillation on PyTorch: the API of ``numpy_backend``, with autograd.

Shape legend: B = batch, K = classes. The soft term uses ``F.kl_div`` with
``log_target=True`` and ``reduction="batchmean"``: the mean over the batch of
KL(p_t^T || p_s^T), as the formula asks (the default ``"mean"`` would also
divide by K).
"""

from __future__ import annotations

from typing import Any

from dlbook._lazy import import_torch
from dlbook._torch import as_tensor
from dlbook.distillation import check_alpha, check_logit_pair, check_temperature
from dlbook.nn.torch_backend import _labels, cross_entropy

torch = import_torch()
F = torch.nn.functional


def softmax_with_temperature(logits: Any, temperature: float) -> Any:
    """p^T = softmax(logits / T) over the last axis."""
    return torch.softmax(as_tensor(logits, "logits") / check_temperature(temperature), dim=-1)


def distillation_loss(
    student_logits: Any, teacher_logits: Any, labels: Any, temperature: float, alpha: float
) -> Any:
    """alpha T^2 mean_b KL(p_t^T || p_s^T) + (1 - alpha) mean_b CE(s, labels), a 0-d tensor."""
    s = as_tensor(student_logits, "student_logits")
    t = as_tensor(teacher_logits, "teacher_logits", device=s.device, dtype=s.dtype)
    check_logit_pair(s.shape, t.shape)
    T, alpha = check_temperature(temperature), check_alpha(alpha)
    y = _labels(labels, s.shape[0], s.shape[1], s.device)
    log_p_s, log_p_t = F.log_softmax(s / T, dim=-1), F.log_softmax(t / T, dim=-1)  # (B, K)
    kl = F.kl_div(log_p_s, log_p_t, reduction="batchmean", log_target=True)
    return alpha * T**2 * kl + (1.0 - alpha) * cross_entropy(s, y)


def distill_step(
    model: Any,
    optimizer: Any,
    x: Any,
    teacher_logits: Any,
    y: Any,
    temperature: float,
    alpha: float,
) -> float:
    """One step on the distillation loss for a :class:`dlbook.nn.torch_backend.MLP`."""
    optimizer.zero_grad(set_to_none=True)
    loss = distillation_loss(model(x), teacher_logits, y, temperature, alpha)
    loss.backward()
    optimizer.step()
    return loss.item()
