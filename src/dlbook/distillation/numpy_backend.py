"""Knowledge distillation from scratch in NumPy, the loss next to its gradient.

Shape legend: B = batch, K = classes. See :mod:`dlbook.distillation` for the maths.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlbook._validate import as_float_array, check_labels
from dlbook.distillation import check_alpha, check_logit_pair, check_temperature
from dlbook.nn.numpy_backend import cross_entropy, log_softmax, one_hot, softmax


def softmax_with_temperature(logits: Any, temperature: float) -> np.ndarray:
    """p^T = softmax(logits / T) over the last axis."""
    return softmax(as_float_array(logits, "logits") / check_temperature(temperature), axis=-1)


def _checked(student_logits: Any, teacher_logits: Any, labels: Any, temperature: Any, alpha: Any):
    s = as_float_array(student_logits, "student_logits")
    t = as_float_array(teacher_logits, "teacher_logits")
    check_logit_pair(s.shape, t.shape)
    y = check_labels(labels, s.shape[0], s.shape[1])
    return s, t, y, check_temperature(temperature), check_alpha(alpha)


def distillation_loss(
    student_logits: Any, teacher_logits: Any, labels: Any, temperature: float, alpha: float
) -> float:
    """alpha T^2 mean_b KL(p_t^T || p_s^T) + (1 - alpha) mean_b CE(s, labels)."""
    s, t, y, T, alpha = _checked(student_logits, teacher_logits, labels, temperature, alpha)
    log_p_s, log_p_t = log_softmax(s / T), log_softmax(t / T)  # (B, K) each
    kl = np.sum(np.exp(log_p_t) * (log_p_t - log_p_s), axis=-1)  # (B,)
    return float(alpha * T**2 * kl.mean() + (1.0 - alpha) * cross_entropy(s, y))


def distillation_loss_grad(
    student_logits: Any, teacher_logits: Any, labels: Any, temperature: float, alpha: float
) -> np.ndarray:
    """dL/d(student_logits), (B, K): alpha T (p_s^T - p_t^T) / B + (1 - alpha)(p_s - y) / B.

    The soft term: d KL(p_t || softmax(s / T)) / ds = (p_s^T - p_t^T) / T, times the
    T^2 in front: T (p_s^T - p_t^T). The hard term is the usual cross-entropy gradient.
    """
    s, t, y, T, alpha = _checked(student_logits, teacher_logits, labels, temperature, alpha)
    B, K = s.shape
    soft = T * (softmax(s / T) - softmax(t / T))  # (B, K)
    hard = softmax(s) - one_hot(y, K).astype(s.dtype)  # (B, K)
    return (alpha * soft + (1.0 - alpha) * hard) / B


def distill_step(
    model: Any,
    optimizer: Any,
    x: Any,
    teacher_logits: Any,
    y: Any,
    temperature: float,
    alpha: float,
) -> float:
    """One step on the distillation loss for a :class:`dlbook.nn.numpy_backend.MLP`."""
    model.zero_grad()
    logits = model.forward(x)  # (B, K)
    loss = distillation_loss(logits, teacher_logits, y, temperature, alpha)
    model.backward(distillation_loss_grad(logits, teacher_logits, y, temperature, alpha))
    optimizer.step([layer.grads[p] for layer in model.linears for p in ("W", "b")])
    return loss
