"""Training a student: one loop for three backends, and the teacher helps with few labels.

The effect test is small and seeded: a 64-32-10 student on 100 labelled digits
(10 per class), taught by a 64-64-10 teacher trained on all 1,258 (about 98% on
the validation set), beats the same student trained on the labels alone, on
average over 3 seeds (by about 3 points; the test asks for 1).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from dlbook.data import load_digits_split
from dlbook.distillation.training import DistillConfig, train_student
from dlbook.nn import TrainConfig, accuracy, fit
from dlbook.nn import backend as nn_backend
from dlbook.nn import numpy_backend as nn_np


@pytest.fixture(scope="module")
def setting():
    data = load_digits_split(dtype="float64")
    teacher = nn_np.MLP([64, 64, 10], seed=0)  # float32: cheap to train
    fit("numpy", teacher, data, TrainConfig(epochs=10, progress=False))
    rng = np.random.default_rng(0)
    idx = np.sort(
        np.concatenate(
            [rng.choice(np.flatnonzero(data.y_train == c), 10, replace=False) for c in range(10)]
        )
    )
    few = dataclasses.replace(data, x_train=data.x_train[idx], y_train=data.y_train[idx])
    return data, few, teacher.forward(few.x_train).astype(np.float64)


@pytest.mark.parametrize("backend", ["torch", "tensorflow"])
def test_backends_train_the_same_student(setting, backend: str) -> None:
    _, few, teacher_logits = setting
    config = DistillConfig(epochs=2, batch_size=25, progress=False)
    students = {}
    for name in ("numpy", backend):
        students[name] = nn_backend(name).MLP([64, 16, 10], seed=3, dtype="float64")
        train_student(name, students[name], teacher_logits, few, config)
    for key, w in students["numpy"].get_weights().items():
        np.testing.assert_allclose(students[backend].get_weights()[key], w, atol=1e-10)


def test_teacher_beats_labels_alone_on_few_labels(setting) -> None:
    data, few, teacher_logits = setting
    gains = []
    for seed in range(3):
        acc = {}
        for alpha in (0.0, 0.9):
            student = nn_np.MLP([64, 32, 10], seed=seed, dtype="float64")
            config = DistillConfig(
                epochs=60, batch_size=16, seed=seed, temperature=4.0, alpha=alpha, progress=False
            )
            train_student("numpy", student, teacher_logits, few, config)
            acc[alpha] = accuracy("numpy", student, data.x_val, data.y_val)
        gains.append(acc[0.9] - acc[0.0])
    assert np.mean(gains) > 0.01


def test_config_and_shapes_are_checked(setting) -> None:
    _, few, teacher_logits = setting
    with pytest.raises(ValueError, match="temperature"):
        DistillConfig(temperature=-1.0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        DistillConfig(alpha=2.0)
    with pytest.raises(ValueError, match="rows"):
        train_student("numpy", nn_np.MLP([64, 8, 10]), teacher_logits[:5], few, DistillConfig())
