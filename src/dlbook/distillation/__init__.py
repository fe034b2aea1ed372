"""Knowledge distillation: a small student learns from a large teacher's soft outputs (chapter 10).

Pick a backend module; all three export the same names::

    from dlbook.distillation import numpy_backend as distill_np       # explicit gradient
    from dlbook.distillation import torch_backend as distill_torch    # autograd
    from dlbook.distillation import tensorflow_backend as distill_tf  # GradientTape

Shared API (``T`` is the backend's array type; logits are (B, K), labels (B,)):

=================================================  =====================================
``softmax_with_temperature(logits, temperature)``  softmax(logits / T): flatter as T grows
``distillation_loss(student_logits,``              alpha T^2 mean_b KL(p_t^T || p_s^T)
``teacher_logits, labels, temperature, alpha)``    + (1 - alpha) mean_b CE(s, labels)
``distill_step(model, optimizer, x,``              one optimizer step on that loss;
``teacher_logits, y, temperature, alpha)``         returns the loss as a float
=================================================  =====================================

Here p^T = softmax(logits / T), the teacher's and the student's softened
distributions, and KL(p || q) = sum_k p_k (log p_k - log q_k). The factor T^2
(Hinton et al., 2015) keeps the soft term's gradient, which shrinks like 1/T^2,
on the same scale as the hard term's as T changes. The NumPy backend adds
``distillation_loss_grad``, the gradient with respect to the student logits:

    dL/ds = alpha T (p_s^T - p_t^T) / B + (1 - alpha) (softmax(s) - onehot(y)) / B.

:func:`dlbook.distillation.training.train_student` is one training loop for all
three backends, like :func:`dlbook.nn.fit`.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np


def backend(name: str) -> ModuleType:
    """The ``dlbook.distillation`` module for ``"numpy"``, ``"torch"`` or ``"tensorflow"``."""
    from dlbook.backends import load_backend

    return load_backend("distillation", name)


def check_temperature(temperature: Any) -> float:
    """The softmax temperature as a positive float."""
    if isinstance(temperature, (bool, np.bool_)) or not isinstance(
        temperature, (int, float, np.integer, np.floating)
    ):
        raise TypeError(f"temperature must be a positive number such as 4.0, got {temperature!r}.")
    if not float(temperature) > 0:
        raise ValueError(
            f"temperature must be > 0, got {temperature}: the logits are divided by it. "
            "T = 1 is the ordinary softmax; larger T gives softer distributions."
        )
    return float(temperature)


def check_alpha(alpha: Any) -> float:
    """The weight of the soft (teacher) term, a float in [0, 1]."""
    if isinstance(alpha, (bool, np.bool_)) or not isinstance(
        alpha, (int, float, np.integer, np.floating)
    ):
        raise TypeError(f"alpha must be a number in [0, 1], got {alpha!r}.")
    if not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(
            f"alpha weighs the teacher's term against the labels' term, so it must lie in "
            f"[0, 1]; got {alpha}. alpha = 0 ignores the teacher, alpha = 1 the labels."
        )
    return float(alpha)


def check_logit_pair(student_shape: tuple[int, ...], teacher_shape: tuple[int, ...]) -> None:
    """Student and teacher logits are both (B, K), with the same B and K."""
    student_shape, teacher_shape = tuple(student_shape), tuple(teacher_shape)
    if len(student_shape) != 2 or student_shape != teacher_shape:
        raise ValueError(
            f"student logits have shape {student_shape} and teacher logits {teacher_shape}; "
            "both must be (B, K): the same examples, the same classes."
        )


# The names every backend module of this concept exports, with the same parameters
# (a backend may add trailing optional ones); tests/test_shared_api.py checks it.
SHARED_API = (
    "softmax_with_temperature",
    "distillation_loss",
    "distill_step",
)

__all__ = ["SHARED_API", "backend", "check_alpha", "check_logit_pair", "check_temperature"]
