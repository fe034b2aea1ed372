"""The three backends of ``dlbook.normalization`` compute the same layer norm.

Float64: forward values within 1e-12 and gradients (dx, dgamma, dbeta) from
torch autograd and ``tf.GradientTape`` within 1e-10 of ``layer_norm_backward``,
both absolute. The shapes include the transformer's (B, T, C).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from dlbook.backends import BACKENDS, load_backend
from dlbook.normalization import numpy_backend as norm_np

FRAMEWORKS = tuple(b for b in BACKENDS if b != "numpy")
SHAPES = [(6,), (4, 7), (2, 5, 8), (3, 4, 2, 16), (3, 1)]


def norm(backend: str) -> Any:
    return load_backend("normalization", backend)


def to_numpy(t: Any) -> np.ndarray:
    """A NumPy copy of a float, an ndarray, a torch tensor (any device) or a TF tensor."""
    if hasattr(t, "detach"):
        t = t.detach().cpu()
    return np.asarray(t.numpy() if hasattr(t, "numpy") else t)


def vjp(backend: str, fn: Callable[..., Any], inputs: list[np.ndarray], g: np.ndarray):
    """Output of ``fn(*inputs)`` and the vector-Jacobian products g . d fn / d input_i."""
    if backend == "torch":
        import torch

        from dlbook.device import get_device

        ts = [torch.tensor(a, device=get_device(), requires_grad=True) for a in inputs]
        out = fn(*ts)
        out.backward(torch.as_tensor(g, device=out.device))
        return to_numpy(out), [to_numpy(t.grad) for t in ts]
    import tensorflow as tf

    ts = [tf.constant(a) for a in inputs]
    with tf.GradientTape() as tape:
        tape.watch(ts)
        out = fn(*ts)
    grads = tape.gradient(out, ts, output_gradients=tf.constant(g))
    return to_numpy(out), [to_numpy(d) for d in grads]


def _data(shape: tuple[int, ...], const_row: bool = False):
    rng = np.random.default_rng(sum(shape))
    C = shape[-1]
    x = 2.0 * rng.normal(size=shape) - 1.0
    if const_row:
        x.reshape(-1, C)[0] = 0.25  # a row with variance 0
    return x, rng.normal(size=C), rng.normal(size=C), rng.normal(size=shape)


@pytest.mark.parametrize("const_row", [False, True], ids=["random", "with-constant-row"])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("backend", BACKENDS)
def test_forward_matches_numpy(backend: str, shape, const_row: bool) -> None:
    x, gamma, beta, _ = _data(shape, const_row)
    got = to_numpy(norm(backend).layer_norm(x, gamma, beta))
    assert got.dtype == np.float64 and got.shape == shape
    np.testing.assert_allclose(got, norm_np.layer_norm(x, gamma, beta), rtol=0, atol=1e-12)


@pytest.mark.parametrize("const_row", [False, True], ids=["random", "with-constant-row"])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("backend", FRAMEWORKS)
def test_gradients_match_layer_norm_backward(backend: str, shape, const_row: bool) -> None:
    x, gamma, beta, g = _data(shape, const_row)
    out, grads = vjp(backend, norm(backend).layer_norm, [x, gamma, beta], g)
    np.testing.assert_allclose(out, norm_np.layer_norm(x, gamma, beta), rtol=0, atol=1e-12)
    expected = norm_np.layer_norm_backward(x, gamma, g)
    for name, got, want in zip(("dx", "dgamma", "dbeta"), grads, expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-10, err_msg=name)


@pytest.mark.parametrize("eps", [1e-5, 1e-3, 0.5])
@pytest.mark.parametrize("backend", BACKENDS)
def test_eps_is_honoured(backend: str, eps: float) -> None:
    x, gamma, beta, _ = _data((3, 4))
    got = to_numpy(norm(backend).layer_norm(x, gamma, beta, eps=eps))
    np.testing.assert_allclose(got, norm_np.layer_norm(x, gamma, beta, eps), rtol=0, atol=1e-12)


def test_torch_fused_and_explicit_agree() -> None:
    x, gamma, beta, _ = _data((2, 5, 8))
    t = norm("torch")
    fused, explicit = t.layer_norm(x, gamma, beta), t.layer_norm_explicit(x, gamma, beta)
    np.testing.assert_allclose(to_numpy(fused), to_numpy(explicit), rtol=0, atol=1e-12)


def test_keras_layer_normalization_agrees_once_epsilon_is_set() -> None:
    """Keras computes the same thing, but its default epsilon is 1e-3, not 1e-5."""
    pytest.importorskip("tensorflow")
    import keras

    x, gamma, beta, _ = _data((2, 5, 8))
    assert keras.layers.LayerNormalization().epsilon == 1e-3
    layer = keras.layers.LayerNormalization(epsilon=1e-5, dtype="float64")
    layer.build(x.shape)
    layer.gamma.assign(gamma)
    layer.beta.assign(beta)
    expected = norm_np.layer_norm(x, gamma, beta)
    np.testing.assert_allclose(np.asarray(layer(x)), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_layer_classes_agree_and_share_weights(backend: str) -> None:
    x, gamma, beta, _ = _data((2, 3, 6))
    ln = norm(backend).LayerNorm(6, dtype="float64")
    ln.set_weights({"gamma": gamma, "beta": beta})
    expected = norm_np.layer_norm(x, gamma, beta)
    np.testing.assert_allclose(to_numpy(ln(x)), expected, rtol=0, atol=1e-12)
    w = ln.get_weights()
    np.testing.assert_array_equal(w["gamma"], gamma)
    np.testing.assert_array_equal(w["beta"], beta)


@pytest.mark.parametrize("backend", BACKENDS)
def test_layer_defaults_are_the_same_everywhere(backend: str) -> None:
    ln = norm(backend).LayerNorm(4)
    w = ln.get_weights()
    assert w["gamma"].dtype == np.float32
    assert w["gamma"].tolist() == [1.0] * 4 and w["beta"].tolist() == [0.0] * 4
    assert getattr(ln, "eps", None) == 1e-5


def test_torch_layer_is_a_torch_layer_norm() -> None:
    import torch

    ln = norm("torch").LayerNorm(8, dtype="float64")
    assert isinstance(ln, torch.nn.LayerNorm)
    assert ln.normalized_shape == (8,)


@pytest.mark.parametrize("backend", BACKENDS)
def test_messages_are_the_same_in_every_backend(backend: str) -> None:
    x = np.ones((2, 4))
    with pytest.raises(ValueError, match=r"gamma has shape \(3,\) but x has shape \(2, 4\)"):
        norm(backend).layer_norm(x, np.ones(3), np.zeros(4))
    with pytest.raises(ValueError, match="divide 0 by 0"):
        norm(backend).layer_norm(x, np.ones(4), np.zeros(4), eps=-1.0)
    with pytest.raises(
        ValueError, match=r"LayerNorm\(3\) normalises inputs of shape \(\.\.\., 3\)"
    ):
        norm(backend).LayerNorm(3)(x)


@pytest.mark.parametrize("backend", BACKENDS)
def test_package_backend_function(backend: str) -> None:
    import dlbook.normalization

    assert dlbook.normalization.backend(backend) is norm(backend)
