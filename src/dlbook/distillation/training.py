"""One loop trains a student for every backend, on the teacher's logits and the labels.

Like :func:`dlbook.nn.fit`, the loop owns the data order and the bookkeeping;
each backend supplies ``make_optimizer`` (from ``dlbook.nn``) and ``distill_step``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from dlbook.backends import load_backend
from dlbook.data.batching import minibatches
from dlbook.distillation import check_alpha, check_temperature
from dlbook.nn.training import History, TrainConfig, accuracy
from dlbook.seeding import make_rng


@dataclass
class DistillConfig(TrainConfig):
    """A :class:`dlbook.nn.TrainConfig` plus the two knobs of distillation."""

    temperature: float = 4.0  # softens both distributions in the teacher term; T = 1: none
    alpha: float = 0.9  # weight of the teacher term; 1 - alpha weighs the labels

    def __post_init__(self) -> None:
        super().__post_init__()
        check_temperature(self.temperature)
        check_alpha(self.alpha)


def train_student(
    backend: str, student: Any, teacher_logits: np.ndarray, data: Any, config: DistillConfig
) -> History:
    """Train ``student`` on ``data.x_train`` against ``teacher_logits`` (N_train, K) and labels.

    Row i of ``teacher_logits`` belongs to ``data.x_train[i]``; with ``alpha = 0`` the
    teacher is ignored and this is ordinary training on the labels. Records the
    validation loss and accuracy after each epoch.
    """
    from tqdm.auto import trange

    teacher_logits = np.asarray(teacher_logits)
    if teacher_logits.shape[0] != len(data.y_train):
        raise ValueError(
            f"teacher_logits has {teacher_logits.shape[0]} rows but the training set has "
            f"{len(data.y_train)} examples; compute the teacher's logits on data.x_train."
        )
    nn, distill = load_backend("nn", backend), load_backend("distillation", backend)
    optimizer = nn.make_optimizer(student, config)
    rng, history = make_rng(config.seed), History()
    T, alpha = config.temperature, config.alpha
    start = time.perf_counter()
    for _ in trange(config.epochs, desc=f"distilling ({backend})", disable=not config.progress):
        losses = []
        for idx in minibatches(len(data.y_train), config.batch_size, rng):
            x, t, y = data.x_train[idx], teacher_logits[idx], data.y_train[idx]
            losses.append(distill.distill_step(student, optimizer, x, t, y, T, alpha))
        history.train_loss.append(float(np.mean(losses)))
        history.val_loss.append(nn.evaluate_loss(student, data.x_val, data.y_val))
        history.val_accuracy.append(accuracy(backend, student, data.x_val, data.y_val))
    history.seconds = time.perf_counter() - start
    return history
