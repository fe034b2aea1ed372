"""The distillation loss: its definition, its hand-written gradient, and three backends.

Float64: the hand-written gradient agrees with finite differences to 1e-6
relative; torch and TF losses agree with NumPy to 1e-12 and their autograd
gradients with ``distillation_loss_grad`` to 1e-10.
"""

from __future__ import annotations

import numpy as np
import pytest

from dlbook.backends import BACKENDS, load_backend
from dlbook.distillation import numpy_backend as distill_np
from dlbook.gradcheck import check_gradient

RNG = np.random.default_rng(0)
B, K = 6, 5
S = RNG.normal(size=(B, K))
TEACHER = 3.0 * RNG.normal(size=(B, K))
Y = RNG.integers(0, K, size=B)
SETTINGS = [(1.0, 0.5), (4.0, 0.9), (10.0, 1.0), (2.0, 0.0)]


def _kl(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    return np.sum(p * np.log(p / q), axis=-1)


@pytest.mark.parametrize("temperature, alpha", SETTINGS)
def test_loss_is_hintons_definition(temperature: float, alpha: float) -> None:
    p_t = distill_np.softmax_with_temperature(TEACHER, temperature)
    p_s = distill_np.softmax_with_temperature(S, temperature)
    p = distill_np.softmax_with_temperature(S, 1.0)
    ce = -np.mean(np.log(p[np.arange(B), Y]))
    want = alpha * temperature**2 * _kl(p_t, p_s).mean() + (1 - alpha) * ce
    got = distill_np.distillation_loss(S, TEACHER, Y, temperature, alpha)
    assert isinstance(got, float) and got == pytest.approx(want, rel=1e-12)


def test_student_equal_to_teacher_leaves_only_the_label_term() -> None:
    assert distill_np.distillation_loss(TEACHER, TEACHER, Y, 4.0, 1.0) == pytest.approx(
        0, abs=1e-12
    )


@pytest.mark.parametrize("temperature, alpha", SETTINGS)
def test_gradient_matches_finite_differences(temperature: float, alpha: float) -> None:
    grad = distill_np.distillation_loss_grad(S, TEACHER, Y, temperature, alpha)
    assert grad.shape == (B, K)
    check_gradient(
        lambda s: distill_np.distillation_loss(s, TEACHER, Y, temperature, alpha),
        S.copy(),
        grad,
        tol=1e-6,
    )


def test_higher_temperature_softens() -> None:
    entropies = []
    for T in (1.0, 4.0, 10.0):
        p = distill_np.softmax_with_temperature(TEACHER, T)
        entropies.append(-(p * np.log(p)).sum(axis=-1).mean())
    assert entropies[0] < entropies[1] < entropies[2] < np.log(K)


def _autograd(backend: str, temperature: float, alpha: float) -> tuple[float, np.ndarray]:
    distill = load_backend("distillation", backend)
    if backend == "torch":
        import torch

        s = torch.tensor(S, requires_grad=True)
        loss = distill.distillation_loss(s, TEACHER, Y, temperature, alpha)
        loss.backward()
        return float(loss.detach()), s.grad.cpu().numpy()
    import tensorflow as tf

    s = tf.Variable(S)
    with tf.GradientTape() as tape:
        loss = distill.distillation_loss(s, TEACHER, Y, temperature, alpha)
    return float(loss), tape.gradient(loss, s).numpy()


@pytest.mark.parametrize("temperature, alpha", SETTINGS)
@pytest.mark.parametrize("backend", [b for b in BACKENDS if b != "numpy"])
def test_backends_agree_in_float64(backend: str, temperature: float, alpha: float) -> None:
    loss, grad = _autograd(backend, temperature, alpha)
    assert loss == pytest.approx(
        distill_np.distillation_loss(S, TEACHER, Y, temperature, alpha), abs=1e-12
    )
    want = distill_np.distillation_loss_grad(S, TEACHER, Y, temperature, alpha)
    np.testing.assert_allclose(grad, want, rtol=0, atol=1e-10)
    soft = load_backend("distillation", backend).softmax_with_temperature(TEACHER, 4.0)
    np.testing.assert_allclose(
        np.asarray(soft), distill_np.softmax_with_temperature(TEACHER, 4.0), rtol=0, atol=1e-14
    )


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"temperature": 0.0}, ValueError, "temperature must be > 0"),
        ({"alpha": 1.5}, ValueError, r"\[0, 1\]"),
        ({"alpha": "half"}, TypeError, "alpha"),
        ({"teacher_logits": TEACHER[:, :3]}, ValueError, "same classes"),
    ],
)
def test_bad_arguments_are_explained(backend: str, kwargs, error, match) -> None:
    args = {
        "student_logits": S,
        "teacher_logits": TEACHER,
        "labels": Y,
        "temperature": 4.0,
        "alpha": 0.5,
        **kwargs,
    }
    with pytest.raises(error, match=match):
        load_backend("distillation", backend).distillation_loss(**args)
