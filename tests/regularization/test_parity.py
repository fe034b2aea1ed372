"""The three backends of ``dlbook.regularization`` compute the same numbers.

Float64 throughout: outputs within 1e-12 and gradients (torch autograd,
``tf.GradientTape``) against the NumPy backward functions within 1e-12, both
absolute. Dropout is compared with one shared mask, fed to every backend.
The framework's own dropout (no mask, no rng) is random in its own way, so it
is checked for its semantics instead: inverted scaling, the fraction of zeros,
the identity at evaluation time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from dlbook.backends import BACKENDS, load_backend
from dlbook.regularization import numpy_backend as reg_np

FRAMEWORKS = tuple(b for b in BACKENDS if b != "numpy")
ATOL = 1e-12


def reg(backend: str) -> Any:
    return load_backend("regularization", backend)


def to_numpy(t: Any) -> np.ndarray:
    """A NumPy copy of a float, an ndarray, a torch tensor (any device) or a TF tensor."""
    if hasattr(t, "detach"):
        t = t.detach().cpu()
    return np.asarray(t.numpy() if hasattr(t, "numpy") else t)


def vjp(backend: str, fn: Callable[..., Any], inputs: list[np.ndarray], g: Any):
    """Output of ``fn(*inputs)`` and the vector-Jacobian products g . d fn / d input_i."""
    if backend == "torch":
        import torch

        from dlbook.device import get_device

        ts = [torch.tensor(a, device=get_device(), requires_grad=True) for a in inputs]
        out = fn(*ts)
        out.backward(torch.as_tensor(g, device=out.device, dtype=out.dtype))
        return to_numpy(out), [to_numpy(t.grad) for t in ts]
    import tensorflow as tf

    ts = [tf.constant(a) for a in inputs]
    with tf.GradientTape() as tape:
        tape.watch(ts)
        out = fn(*ts)
    grads = tape.gradient(out, ts, output_gradients=tf.constant(g, dtype=out.dtype))
    return to_numpy(out), [to_numpy(d) for d in grads]


SHAPES = [(7,), (6, 5), (2, 3, 4)]


def _data(shape: tuple[int, ...], p: float = 0.4):
    rng = np.random.default_rng(sum(shape))
    x, g = rng.normal(size=shape), rng.normal(size=shape)
    mask = rng.random(shape) >= p
    return x, g, mask


# ---------------------------------------------------------------------------
# Dropout with a shared mask or a shared NumPy rng
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("backend", BACKENDS)
def test_dropout_with_shared_mask_matches_numpy(backend: str, shape) -> None:
    x, _, mask = _data(shape)
    y, keep = reg(backend).dropout(x, 0.4, mask=mask)
    expected, _ = reg_np.dropout(x, 0.4, mask=mask)
    assert to_numpy(y).dtype == np.float64
    np.testing.assert_allclose(to_numpy(y), expected, rtol=0, atol=ATOL)
    np.testing.assert_array_equal(to_numpy(keep), mask)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("backend", FRAMEWORKS)
def test_dropout_gradient_matches_numpy_backward(backend: str, shape) -> None:
    x, g, mask = _data(shape)
    module = reg(backend)
    out, (dx,) = vjp(backend, lambda t: module.dropout(t, 0.4, mask=mask)[0], [x], g)
    np.testing.assert_allclose(out, reg_np.dropout(x, 0.4, mask=mask)[0], rtol=0, atol=ATOL)
    np.testing.assert_allclose(dx, reg_np.dropout_backward(g, mask, 0.4), rtol=0, atol=ATOL)


@pytest.mark.parametrize("backend", BACKENDS)
def test_same_numpy_rng_drops_the_same_units_everywhere(backend: str) -> None:
    x = np.random.default_rng(0).normal(size=(8, 9))
    y, keep = reg(backend).dropout(x, 0.5, np.random.default_rng(42))
    expected, mask = reg_np.dropout(x, 0.5, np.random.default_rng(42))
    np.testing.assert_array_equal(to_numpy(keep), mask)
    np.testing.assert_allclose(to_numpy(y), expected, rtol=0, atol=ATOL)


@pytest.mark.parametrize("backend", BACKENDS)
def test_dropout_layer_follows_its_mode(backend: str) -> None:
    x, _, mask = _data((4, 6))
    layer = reg(backend).Dropout(0.4)
    np.testing.assert_allclose(
        to_numpy(layer(x, mask=mask)), reg_np.dropout(x, 0.4, mask=mask)[0], rtol=0, atol=ATOL
    )
    layer.eval()
    np.testing.assert_array_equal(to_numpy(layer(x, mask=mask)), x)
    np.testing.assert_array_equal(to_numpy(layer(x, training=False)), x)


@pytest.mark.parametrize("backend", FRAMEWORKS)
def test_float32_stays_float32(backend: str) -> None:
    x, _, mask = _data((3, 4))
    y, _ = reg(backend).dropout(x.astype(np.float32), 0.4, mask=mask)
    assert to_numpy(y).dtype == np.float32


@pytest.mark.parametrize("backend", FRAMEWORKS)
def test_framework_messages_match_numpy(backend: str) -> None:
    x = np.ones((2, 3))
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        reg(backend).dropout(x, 1.0)
    with pytest.raises(ValueError, match="mask has shape"):
        reg(backend).dropout(x, 0.5, mask=np.ones((3, 2)))
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        reg(backend).dropout(x, 0.5, rng=0)


# ---------------------------------------------------------------------------
# The framework's own dropout: inverted scaling
# ---------------------------------------------------------------------------


def _framework_dropout(backend: str, x: np.ndarray, p: float, training: bool) -> np.ndarray:
    """The framework's dropout (no mask, no rng), from a locally seeded generator."""
    if backend == "torch":
        import torch

        devices = [torch.cuda.current_device()] if torch.cuda.is_available() else []
        with torch.random.fork_rng(devices=devices):  # seed without leaking global state
            torch.manual_seed(0)
            y, mask = reg("torch").dropout(x, p, training=training)
    else:
        y, mask = reg("tensorflow").dropout(x, p, training=training)
    assert mask is None  # the framework keeps its mask to itself
    return to_numpy(y)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
@pytest.mark.parametrize("backend", FRAMEWORKS)
def test_framework_dropout_is_inverted_dropout(backend: str, p: float) -> None:
    x = np.ones((400, 500))
    y = _framework_dropout(backend, x, p, training=True)
    n = x.size
    assert abs((y == 0).mean() - p) < 5 * np.sqrt(p * (1 - p) / n)
    np.testing.assert_allclose(y[y != 0], 1 / (1 - p), rtol=1e-15)  # survivors scaled up
    assert abs(y.mean() - 1.0) < 5 * np.sqrt(p / (1 - p) / n)  # so the mean is kept


@pytest.mark.parametrize("backend", FRAMEWORKS)
def test_framework_dropout_is_identity_at_evaluation(backend: str) -> None:
    x = np.random.default_rng(1).normal(size=(5, 6))
    np.testing.assert_array_equal(_framework_dropout(backend, x, 0.5, training=False), x)


# ---------------------------------------------------------------------------
# Penalties: values and gradients
# ---------------------------------------------------------------------------

WEIGHT_SHAPES = [(4, 3), (3,), (3, 2)]


def _weights() -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    ws = [rng.normal(size=s) for s in WEIGHT_SHAPES]
    ws[1][0] = 0.0  # l1 at a kink: every backend takes the subgradient 0
    return ws


@pytest.mark.parametrize("name", ["l2", "l1"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_penalty_value_matches_numpy(backend: str, name: str) -> None:
    ws = _weights()
    got = getattr(reg(backend), f"{name}_penalty")(ws, 0.3)
    expected = getattr(reg_np, f"{name}_penalty")(ws, 0.3)
    assert abs(float(to_numpy(got)) - expected) < ATOL
    as_dict = dict(zip(["W0", "b0", "W1"], ws, strict=True))
    assert (
        abs(float(to_numpy(getattr(reg(backend), f"{name}_penalty")(as_dict, 0.3))) - expected)
        < ATOL
    )


@pytest.mark.parametrize("name", ["l2", "l1"])
@pytest.mark.parametrize("backend", FRAMEWORKS)
def test_penalty_gradient_matches_numpy_grad(backend: str, name: str) -> None:
    ws = _weights()
    penalty = getattr(reg(backend), f"{name}_penalty")
    _, grads = vjp(backend, lambda *ts: penalty(list(ts), 0.3), ws, 1.0)
    for got, expected in zip(grads, getattr(reg_np, f"{name}_penalty_grad")(ws, 0.3), strict=True):
        np.testing.assert_allclose(got, expected, rtol=0, atol=ATOL)


def test_torch_penalty_takes_model_parameters() -> None:
    import torch

    from dlbook.nn import torch_backend as nn_torch

    model = nn_torch.MLP([3, 4, 2], seed=0, dtype="float64")
    got = reg("torch").l2_penalty(model.parameters(), 0.1)
    expected = reg_np.l2_penalty(model.get_weights(), 0.1)
    assert isinstance(got, torch.Tensor) and got.requires_grad
    assert abs(got.item() - expected) < ATOL


@pytest.mark.parametrize("backend", BACKENDS)
def test_import_light_packages_have_backend_function(backend: str) -> None:
    import dlbook.regularization

    assert dlbook.regularization.backend(backend) is reg(backend)
