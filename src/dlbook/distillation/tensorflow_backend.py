"""Knowledge distillation on TensorFlow: the API of ``numpy_backend``, with GradientTape.

Shape legend: B = batch, K = classes. The loss is written out in TF operations,
so the float64 path is exact and the tape differentiates it.
"""

from __future__ import annotations

from typing import Any

from dlbook._lazy import import_tensorflow
from dlbook._tf import as_tensor
from dlbook.distillation import check_alpha, check_logit_pair, check_temperature
from dlbook.nn.tensorflow_backend import _cross_entropy, _labels

tf = import_tensorflow()


def softmax_with_temperature(logits: Any, temperature: float) -> Any:
    """p^T = softmax(logits / T) over the last axis."""
    logits = as_tensor(logits, "logits")
    return tf.nn.softmax(logits / tf.cast(check_temperature(temperature), logits.dtype), axis=-1)


def distillation_loss(
    student_logits: Any, teacher_logits: Any, labels: Any, temperature: float, alpha: float
) -> Any:
    """alpha T^2 mean_b KL(p_t^T || p_s^T) + (1 - alpha) mean_b CE(s, labels), a 0-d tensor."""
    s = as_tensor(student_logits, "student_logits")
    t = as_tensor(teacher_logits, "teacher_logits", dtype=s.dtype)
    check_logit_pair(s.shape, t.shape)
    T, alpha = check_temperature(temperature), check_alpha(alpha)
    y = _labels(labels, s.shape[0], s.shape[1])
    log_p_s = tf.nn.log_softmax(s / T, axis=-1)  # (B, K)
    log_p_t = tf.nn.log_softmax(t / T, axis=-1)  # (B, K)
    kl = tf.reduce_sum(tf.exp(log_p_t) * (log_p_t - log_p_s), axis=-1)  # (B,)
    return alpha * T**2 * tf.reduce_mean(kl) + (1.0 - alpha) * _cross_entropy(s, y)


def distill_step(
    model: Any,
    optimizer: Any,
    x: Any,
    teacher_logits: Any,
    y: Any,
    temperature: float,
    alpha: float,
) -> float:
    """One step on the distillation loss for a :class:`dlbook.nn.tensorflow_backend.MLP`."""
    from dlbook.optim import tensorflow_backend as optim

    x = model._input(x)  # (B, D0)
    with tf.GradientTape() as tape:
        loss = distillation_loss(model(x), teacher_logits, y, temperature, alpha)
    optim.apply(optimizer, model.params, tape.gradient(loss, model.params))
    return float(loss)
