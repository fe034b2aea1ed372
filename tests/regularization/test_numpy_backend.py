"""The from-scratch dropout and penalties: semantics, finite-difference gradients, messages."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from dlbook.gradcheck import check_gradient
from dlbook.regularization import numpy_backend as reg


def _x(shape=(6, 5), seed=0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=shape)


# ---------------------------------------------------------------------------
# Dropout
# ---------------------------------------------------------------------------


def test_dropout_keeps_the_mean_and_drops_about_p() -> None:
    x = np.ones((400, 500))
    y, mask = reg.dropout(x, 0.3, np.random.default_rng(0))
    n = x.size
    assert abs((y == 0).mean() - 0.3) < 5 * np.sqrt(0.3 * 0.7 / n)
    assert abs(y.mean() - 1.0) < 5 * np.sqrt(0.3 / 0.7 / n)  # Var(y) = p / (1 - p)
    assert set(np.unique(y)) == {0.0, 1.0 / 0.7}
    np.testing.assert_array_equal(mask, y != 0)


def test_dropout_is_the_identity_at_evaluation_time() -> None:
    x = _x()
    y, mask = reg.dropout(x, 0.5, np.random.default_rng(0), training=False)
    assert mask is None
    np.testing.assert_array_equal(y, x)
    np.testing.assert_array_equal(reg.dropout_backward(x, None, 0.5), x)


def test_dropout_with_p_zero_needs_no_rng() -> None:
    x = _x()
    y, mask = reg.dropout(x, 0.0)
    np.testing.assert_array_equal(y, x)
    assert mask.all()


def test_dropout_uses_a_given_mask() -> None:
    x, mask = _x(), _x(seed=1) > 0
    y, keep = reg.dropout(x, 0.25, mask=mask.astype(int))
    np.testing.assert_array_equal(keep, mask)
    np.testing.assert_allclose(y, x * mask / 0.75, rtol=1e-15)


def test_same_seed_same_mask() -> None:
    x = _x()
    a, _ = reg.dropout(x, 0.5, np.random.default_rng(3))
    b, _ = reg.dropout(x, 0.5, np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("p", [0.0, 0.2, 0.5, 0.9])
def test_dropout_backward_passes_finite_differences(p: float) -> None:
    x, g = _x(), _x(seed=2)
    _, mask = reg.dropout(x, p, np.random.default_rng(4))

    def loss(x_: np.ndarray) -> float:
        return float(np.sum(reg.dropout(x_, p, mask=mask)[0] * g))

    check_gradient(loss, x, reg.dropout_backward(g, mask, p), tol=1e-8)


def test_dropout_layer_caches_its_mask_and_follows_its_mode() -> None:
    layer, x, g = reg.Dropout(0.5), _x(), _x(seed=5)
    y = layer.forward(x, np.random.default_rng(0))
    np.testing.assert_array_equal(layer.backward(g), g * (y != 0) * 2.0)
    layer.eval()
    np.testing.assert_array_equal(layer(x), x)
    np.testing.assert_array_equal(layer.backward(g), g)
    assert layer.train().training


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5])
def test_p_outside_unit_interval_is_explained(p: float) -> None:
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\)"):
        reg.dropout(_x(), p, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        reg.Dropout(p)


def test_dropout_messages_speak_to_a_learner() -> None:
    x = _x()
    with pytest.raises(TypeError, match="probability"):
        reg.dropout(x, "0.5")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="needs rng=np.random.default_rng"):
        reg.dropout(x, 0.5)
    with pytest.raises(ValueError, match=r"mask has shape \(5, 6\) but x has shape \(6, 5\)"):
        reg.dropout(x, 0.5, mask=np.ones((5, 6)))
    with pytest.raises(ValueError, match="pre-scaled"):
        reg.dropout(x, 0.5, mask=np.full(x.shape, 2.0))
    with pytest.raises(ValueError, match="mask has shape"):
        reg.dropout_backward(np.ones((2, 2)), np.ones((2, 3), dtype=bool), 0.5)
    with pytest.raises(RuntimeError, match="forward before backward"):
        reg.Dropout(0.1).backward(x)


# ---------------------------------------------------------------------------
# Penalties
# ---------------------------------------------------------------------------


def _weights() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    return {"W0": rng.normal(size=(4, 3)), "b0": rng.normal(size=3), "W1": rng.normal(size=(3, 2))}


def test_l2_penalty_has_the_one_half_convention() -> None:
    w = _weights()
    total = sum(np.sum(a**2) for a in w.values())
    assert reg.l2_penalty(w, 0.1) == pytest.approx(0.05 * total, rel=1e-14)
    assert reg.l2_penalty(list(w.values()), 0.1) == reg.l2_penalty(w, 0.1)
    assert reg.l1_penalty(w, 0.1) == pytest.approx(0.1 * sum(np.abs(a).sum() for a in w.values()))


def test_penalty_grads_keep_the_container() -> None:
    w = _weights()
    g = reg.l2_penalty_grad(w, 0.1)
    assert list(g) == list(w)
    np.testing.assert_allclose(g["W1"], 0.1 * w["W1"], rtol=0, atol=0)
    assert isinstance(reg.l1_penalty_grad(list(w.values()), 0.1), list)


def test_l1_subgradient_is_zero_at_zero() -> None:
    g = reg.l1_penalty_grad([np.array([-2.0, 0.0, 3.0])], 0.5)[0]
    np.testing.assert_array_equal(g, [-0.5, 0.0, 0.5])


@pytest.mark.parametrize("name", ["l2", "l1"])
def test_penalty_grads_pass_finite_differences(name: str) -> None:
    penalty = getattr(reg, f"{name}_penalty")
    grad = getattr(reg, f"{name}_penalty_grad")
    w = _weights()
    for key in w:  # one array at a time; the others stay fixed

        def f(a: np.ndarray, key: str = key) -> float:
            return penalty({**w, key: a}, 0.3)

        check_gradient(f, w[key], grad(w, 0.3)[key], tol=1e-8)


def test_l2_grad_is_what_sgd_weight_decay_adds() -> None:
    """lam/2 sum w^2 has gradient lam w: one SGD step on the penalty alone is w (1 - lr lam)."""
    w = np.array([1.0, -2.0])
    step = w - 0.1 * reg.l2_penalty_grad([w], 0.01)[0]
    np.testing.assert_allclose(step, w * (1 - 0.1 * 0.01))


def test_penalty_messages_speak_to_a_learner() -> None:
    with pytest.raises(TypeError, match=r"pass \[w\]"):
        reg.l2_penalty(np.ones(3), 0.1)
    with pytest.raises(ValueError, match="empty"):
        reg.l2_penalty({}, 0.1)
    with pytest.raises(ValueError, match="reward large weights"):
        reg.l1_penalty([np.ones(3)], -1.0)
    with pytest.raises(TypeError, match="strength"):
        reg.l2_penalty([np.ones(3)], None)  # type: ignore[arg-type]


@pytest.mark.parametrize("module", ["dlbook.regularization", "dlbook.regularization.numpy_backend"])
def test_import_does_not_load_frameworks(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        "print(','.join(m for m in ('torch', 'tensorflow', 'keras') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"import {module} loaded {out.stdout.strip()}"
