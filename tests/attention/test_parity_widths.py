"""The three attention backends agree at every head width and on the odd shapes (float64).

1/sqrt(D) is exact in float32 only for D = 1, 4, 16, 64, ...: a backend that
rounds the scale to float32 first (``tf.cast`` of a Python float did) differs
by ~1e-7 at D = 2, 3, 8, which the widths 4 and 16 of the other tests hide.
Outputs within 1e-10, gradients within 1e-8 (absolute), against the NumPy backend.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from dlbook.attention import backend
from dlbook.attention import numpy_backend as att_np

WIDTHS = [1, 2, 3, 8]  # head width D
FRAMEWORKS = ["torch", "tensorflow"]


def to_numpy(t: Any) -> np.ndarray:
    if hasattr(t, "detach"):
        t = t.detach().cpu()
    return np.asarray(t.numpy() if hasattr(t, "numpy") else t)


def _empty_row_mask(T: int, S: int) -> np.ndarray:
    mask = np.tril(np.ones((T, S), dtype=bool), k=S - T)  # (T, S), causal-like
    mask[T // 2] = False  # this query may attend to no key: all-zero weights, no NaN
    return mask


# name: (B, T, S, cross, mask)
SHAPES = {
    "batch1-T1": (1, 1, 1, False, None),
    "self-causal": (2, 5, 5, False, att_np.causal_mask(5)),
    "cross": (2, 3, 6, True, None),
    "empty-row": (2, 4, 6, True, _empty_row_mask(4, 6)),
}


def _load(name: str) -> Any:
    pytest.importorskip("torch" if name == "torch" else "tensorflow")
    return backend(name)


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("D", WIDTHS)
@pytest.mark.parametrize("shape", list(SHAPES))
def test_sdpa_agrees_at_every_head_width(framework: str, D: int, shape: str) -> None:
    B, T, S, _, mask = SHAPES[shape]
    rng = np.random.default_rng(D)
    q, k, v = rng.normal(size=(B, T, D)), rng.normal(size=(B, S, D)), rng.normal(size=(B, S, D))
    out, weights = att_np.scaled_dot_product_attention(q, k, v, mask)
    out2, weights2 = _load(framework).scaled_dot_product_attention(q, k, v, mask)
    np.testing.assert_allclose(to_numpy(out2), out, rtol=0, atol=1e-10)
    np.testing.assert_allclose(to_numpy(weights2), weights, rtol=0, atol=1e-10)
    assert np.all(np.isfinite(out))


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("D", WIDTHS)
@pytest.mark.parametrize("shape", list(SHAPES))
def test_mha_agrees_at_every_head_width(framework: str, D: int, shape: str) -> None:
    B, T, S, cross, mask = SHAPES[shape]
    H = 2
    rng = np.random.default_rng(10 + D)
    model = att_np.MultiHeadAttention(H * D, H, dtype="float64")
    model.set_weights({k: 0.5 * rng.normal(size=v.shape) for k, v in model.get_weights().items()})
    x_q = rng.normal(size=(B, T, H * D))
    x = (x_q, rng.normal(size=(B, S, H * D))) if cross else x_q
    g = rng.normal(size=(B, T, H * D))
    other_mod = _load(framework)
    other = other_mod.MultiHeadAttention(H * D, H, dtype="float64")
    other.set_weights(model.get_weights())
    loss, grads, dx = att_np.mha_loss_and_grads(model, x, mask, g)
    loss2, grads2, dx2 = other_mod.mha_loss_and_grads(other, x, mask, g)
    assert abs(loss - loss2) < 1e-10
    np.testing.assert_allclose(to_numpy(other.last_weights), model.last_weights, atol=1e-10)
    for key in grads:
        np.testing.assert_allclose(grads2[key], grads[key], rtol=0, atol=1e-8, err_msg=key)
    for a, b in zip(dx if cross else (dx,), dx2 if cross else (dx2,), strict=True):
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-8)
