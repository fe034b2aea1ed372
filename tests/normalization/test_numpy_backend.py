"""The from-scratch layer norm: what it computes, its finite-difference gradients, messages."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from dlbook.gradcheck import check_gradient
from dlbook.normalization import numpy_backend as norm

SHAPES = [(5,), (4, 7), (2, 3, 6), (2, 2, 2, 3)]


def _data(shape: tuple[int, ...], seed: int = 0):
    rng = np.random.default_rng(seed)
    C = shape[-1]
    x = 3.0 * rng.normal(size=shape) + 2.0  # rows with a mean and spread to remove
    return x, rng.normal(size=C), rng.normal(size=C), rng.normal(size=shape)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_rows_come_out_standardised(shape) -> None:
    x = _data(shape)[0]
    C = shape[-1]
    y = norm.layer_norm(x, np.ones(C), np.zeros(C))
    assert y.shape == x.shape
    np.testing.assert_allclose(y.mean(axis=-1), 0.0, atol=1e-12)
    var = x.var(axis=-1)  # biased, as layer_norm
    np.testing.assert_allclose(y.var(axis=-1), var / (var + 1e-5), rtol=1e-12)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_layer_norm_backward_passes_finite_differences(shape) -> None:
    x, gamma, beta, g = _data(shape, seed=1)
    dx, dgamma, dbeta = norm.layer_norm_backward(x, gamma, g)
    check_gradient(lambda a: np.sum(norm.layer_norm(a, gamma, beta) * g), x, dx, tol=1e-7)
    check_gradient(lambda a: np.sum(norm.layer_norm(x, a, beta) * g), gamma, dgamma, tol=1e-7)
    check_gradient(lambda a: np.sum(norm.layer_norm(x, gamma, a) * g), beta, dbeta, tol=1e-7)


def test_gradient_removes_shift_and_scale_of_the_row() -> None:
    """dx sums to 0 over each row and is orthogonal to xhat: LN ignores shifts and rescalings."""
    x, gamma, _, g = _data((4, 9), seed=2)
    dx, _, _ = norm.layer_norm_backward(x, gamma, g, eps=1e-12)
    np.testing.assert_allclose(dx.sum(axis=-1), 0.0, atol=1e-12)
    xhat = norm.layer_norm(x, np.ones(9), np.zeros(9), eps=1e-12)
    np.testing.assert_allclose((dx * xhat).sum(axis=-1), 0.0, atol=1e-9)


@pytest.mark.parametrize("c", [0.0, 3.7, -1e6])
def test_constant_rows_are_stable(c: float) -> None:
    """var = 0: eps keeps the division finite; y = beta, and dx stays finite."""
    x = np.full((3, 8), c)
    _, gamma, beta, g = _data((3, 8), seed=3)
    y = norm.layer_norm(x, gamma, beta)
    np.testing.assert_allclose(y, np.broadcast_to(beta, y.shape), atol=1e-6)
    dx, dgamma, dbeta = norm.layer_norm_backward(x, gamma, g)
    assert np.all(np.isfinite(dx)) and np.all(np.isfinite(dgamma))
    h = g * gamma
    np.testing.assert_allclose(dx, (h - h.mean(axis=-1, keepdims=True)) / np.sqrt(1e-5), atol=1e-6)


def test_large_offset_does_not_cancel_catastrophically() -> None:
    """At offset 1e8, mean(x^2) - mean(x)^2 loses every digit; the two-pass variance does not."""
    base = np.random.default_rng(4).normal(size=(2, 16))
    C = base.shape[-1]
    y0 = norm.layer_norm(base, np.ones(C), np.zeros(C))
    y1 = norm.layer_norm(base + 1e8, np.ones(C), np.zeros(C))
    np.testing.assert_allclose(y1, y0, atol=1e-6)


def test_layer_class_accumulates_grads_like_linear() -> None:
    x, _, _, g = _data((2, 3, 5), seed=5)
    ln = norm.LayerNorm(5, dtype="float64")
    assert ln.params["gamma"].tolist() == [1.0] * 5 and not ln.params["beta"].any()
    y = ln(x)
    np.testing.assert_allclose(y, norm.layer_norm(x, np.ones(5), np.zeros(5)))
    dx = ln.backward(g)
    ln.forward(x)
    ln.backward(g)
    expected = norm.layer_norm_backward(x, np.ones(5), g)
    np.testing.assert_allclose(dx, expected[0])
    np.testing.assert_allclose(ln.grads["gamma"], 2 * expected[1])
    np.testing.assert_allclose(ln.grads["beta"], 2 * expected[2])
    ln.zero_grad()
    assert not ln.grads["gamma"].any()


def test_get_and_set_weights_round_trip() -> None:
    ln = norm.LayerNorm(3)
    ln.set_weights({"gamma": np.array([1.0, 2.0, 3.0]), "beta": np.array([0.0, -1.0, 1.0])})
    w = ln.get_weights()
    assert w["gamma"].dtype == np.float32 and w["gamma"].tolist() == [1.0, 2.0, 3.0]
    w["gamma"][0] = 99.0  # a copy: the layer is untouched
    assert ln.params["gamma"][0] == 1.0
    with pytest.raises(ValueError, match=r"expected gamma of shape \(3,\), got \(4,\)"):
        ln.set_weights({"gamma": np.ones(4), "beta": np.zeros(3)})


def test_messages_speak_to_a_learner() -> None:
    x = np.ones((2, 4))
    with pytest.raises(ValueError, match=r"gamma has shape \(2,\) but x has shape \(2, 4\)"):
        norm.layer_norm(x, np.ones(2), np.zeros(4))
    with pytest.raises(ValueError, match=r"beta must have shape \(4,\)"):
        norm.layer_norm(x, np.ones(4), np.zeros((1, 4)))
    with pytest.raises(ValueError, match="divide 0 by 0"):
        norm.layer_norm(x, np.ones(4), np.zeros(4), eps=0.0)
    with pytest.raises(ValueError, match="grad_out has shape"):
        norm.layer_norm_backward(x, np.ones(4), np.ones((4, 2)))
    with pytest.raises(ValueError, match="positive int"):
        norm.LayerNorm(0)
    with pytest.raises(RuntimeError, match="forward before backward"):
        norm.LayerNorm(4).backward(x)


@pytest.mark.parametrize("module", ["dlbook.normalization", "dlbook.normalization.numpy_backend"])
def test_import_does_not_load_frameworks(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        "print(','.join(m for m in ('torch', 'tensorflow', 'keras') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"import {module} loaded {out.stdout.strip()}"
