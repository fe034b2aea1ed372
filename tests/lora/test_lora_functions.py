"""LoRA functions: the adapter starts at zero, merging is exact, backends agree (float64).

Forward, merge and gradients of A, B and x within 1e-10 across NumPy, PyTorch and
TensorFlow; the hand-written ``lora_backward`` against finite differences.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from dlbook.backends import BACKENDS
from dlbook.gradcheck import check_gradient
from dlbook.lora import backend, init_lora, lora_scaling
from dlbook.lora import numpy_backend as lora_np

I, O, R, ALPHA = 6, 5, 2, 3.0


def to_numpy(t: Any) -> np.ndarray:
    if hasattr(t, "detach"):
        t = t.detach().cpu()
    return np.asarray(t.numpy() if hasattr(t, "numpy") else t)


def problem(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    A, _ = init_lora(I, O, R, rng)
    return {
        "x": rng.normal(size=(4, 3, I)),  # leading axes: batch and time
        "W": rng.normal(size=(I, O)),
        "A": A,
        "B": rng.normal(size=(R, O)),  # non-zero: as after some training
        "b": rng.normal(size=O),
        "d_y": rng.normal(size=(4, 3, O)),
    }


def test_init_lora_starts_at_the_base_layer() -> None:
    A, B = init_lora(64, 32, 4, rng=3)
    assert A.shape == (64, 4) and B.shape == (4, 32)
    assert not B.any() and A.std() == pytest.approx(1 / 8, rel=0.2)  # std 1 / sqrt(in)
    np.testing.assert_array_equal(A, init_lora(64, 32, 4, rng=3)[0])  # seeded
    p = problem()
    y = lora_np.lora_forward(p["x"], p["W"], A[:I, :R], np.zeros((R, O)), ALPHA, p["b"])
    np.testing.assert_array_equal(y, p["x"] @ p["W"] + p["b"])


@pytest.mark.parametrize("name", BACKENDS)
def test_forward_is_the_formula(name: str) -> None:
    p = problem()
    y = to_numpy(backend(name).lora_forward(p["x"], p["W"], p["A"], p["B"], ALPHA, p["b"]))
    ref = p["x"] @ p["W"] + p["b"] + (ALPHA / R) * p["x"] @ p["A"] @ p["B"]
    np.testing.assert_allclose(y, ref, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", BACKENDS)
def test_merge_is_exact_and_leaves_inputs_alone(name: str) -> None:
    p = problem()
    copies = {k: v.copy() for k, v in p.items()}
    W2 = to_numpy(backend(name).merge_lora(p["W"], p["A"], p["B"], ALPHA))
    y = lora_np.lora_forward(p["x"], p["W"], p["A"], p["B"], ALPHA, p["b"])
    np.testing.assert_allclose(p["x"] @ W2 + p["b"], y, rtol=0, atol=1e-12)
    np.testing.assert_allclose(W2, p["W"] + lora_scaling(ALPHA, R) * p["A"] @ p["B"], atol=1e-14)
    for k in p:
        np.testing.assert_array_equal(p[k], copies[k])


@pytest.mark.parametrize("name", ["torch", "tensorflow"])
def test_gradients_agree_with_numpy(name: str) -> None:
    p = problem(1)
    args = (p["x"], p["W"], p["A"], p["B"], ALPHA, p["b"], p["d_y"])
    loss_np, g_np = lora_np.lora_loss_and_grads(*args)
    loss, g = backend(name).lora_loss_and_grads(*args)
    assert abs(loss - loss_np) < 1e-10
    assert set(g) == {"A", "B", "x"}
    for k in g:
        np.testing.assert_allclose(g[k], g_np[k], rtol=0, atol=1e-10, err_msg=k)


@pytest.mark.parametrize("wrt", ["A", "B", "x"])
def test_lora_backward_matches_finite_differences(wrt: str) -> None:
    p = problem(2)

    def loss_of_params(_: np.ndarray) -> float:
        return float(np.sum(lora_np.lora_forward(p["x"], p["W"], p["A"], p["B"], ALPHA) * p["d_y"]))

    dx, dA, dB = lora_np.lora_backward(p["x"], p["W"], p["A"], p["B"], ALPHA, p["d_y"])
    analytic = {"A": dA, "B": dB, "x": dx}[wrt]
    assert analytic.shape == p[wrt].shape
    assert check_gradient(loss_of_params, p[wrt], analytic, tol=1e-7) < 1e-7


def test_backward_catches_a_wrong_gradient() -> None:
    """The check above can fail: a backward without the scaling s is caught."""
    p = problem(2)
    _, dA, _ = lora_np.lora_backward(p["x"], p["W"], p["A"], p["B"], ALPHA, p["d_y"])

    def loss_of_params(_: np.ndarray) -> float:
        return float(np.sum(lora_np.lora_forward(p["x"], p["W"], p["A"], p["B"], ALPHA) * p["d_y"]))

    with pytest.raises(AssertionError, match="gradient check failed"):
        check_gradient(loss_of_params, p["A"], dA / lora_scaling(ALPHA, R))


@pytest.mark.parametrize("name", BACKENDS)
def test_shape_errors_speak_to_the_reader(name: str) -> None:
    mod, p = backend(name), problem()
    with pytest.raises(ValueError, match=r"A has shape .* must be \(in, r\)"):
        mod.lora_forward(p["x"], p["W"], p["A"].T, p["B"], ALPHA)
    with pytest.raises(ValueError, match=r"B has shape .* must be \(r, out\)"):
        mod.merge_lora(p["W"], p["A"], p["B"].T, ALPHA)
    with pytest.raises(ValueError, match="rank r must be a positive integer"):
        lora_scaling(ALPHA, 0)


def test_numpy_errors_for_x_and_d_y() -> None:
    p = problem()
    with pytest.raises(ValueError, match="x needs 6 features"):
        lora_np.lora_forward(p["x"][..., :3], p["W"], p["A"], p["B"], ALPHA)
    with pytest.raises(ValueError, match="pass dL/dy"):
        lora_np.lora_backward(p["x"], p["W"], p["A"], p["B"], ALPHA, p["d_y"][:, :1])


@pytest.mark.parametrize("name", BACKENDS)
@pytest.mark.parametrize("shape", [(5, 1, O), (O, 1), (1,)])
def test_lora_forward_refuses_a_bias_of_the_wrong_shape(name: str, shape: tuple) -> None:
    # a (5, 1, O) bias turned a (2, O) output into (5, 2, O), silently
    W = np.ones((I, O))
    A, B = init_lora(I, O, R, 0)
    with pytest.raises(ValueError, match=rf"must be \({O},\)"):
        backend(name).lora_forward(np.ones((2, I)), W, A, B, ALPHA, np.zeros(shape))
