"""Per-example clipping bounds every example's contribution (the acceptance test of DP-SGD).

Both backends are checked: each clipped row has norm <= C, rows inside the ball are
untouched, directions are kept, zero rows stay zero, and one example can move the
noise-free DP-SGD gradient by at most C / B.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from dlbook.privacy import backend

BACKENDS = ["numpy", "torch"]


def to_numpy(t: Any) -> np.ndarray:
    return t.detach().cpu().numpy() if hasattr(t, "detach") else np.asarray(t)


@pytest.fixture
def grads() -> np.ndarray:
    rng = np.random.default_rng(0)
    g = rng.normal(size=(32, 50)) * rng.uniform(0.01, 10.0, size=(32, 1))  # norms 0.07 .. 70
    g[3] = 0.0  # a zero row
    return g


@pytest.mark.parametrize("name", BACKENDS)
@pytest.mark.parametrize("C", [0.1, 1.0, 5.0])
def test_every_clipped_row_has_norm_at_most_C(name: str, C: float, grads: np.ndarray) -> None:
    clipped = to_numpy(backend(name).clip_per_example(grads, C))
    norms = np.linalg.norm(clipped, axis=1)
    assert norms.max() <= C * (1 + 1e-12)
    long = np.linalg.norm(grads, axis=1) > C
    np.testing.assert_allclose(norms[long], C, rtol=1e-12)  # long rows land on the sphere
    np.testing.assert_array_equal(clipped[~long], grads[~long])  # short rows are untouched


@pytest.mark.parametrize("name", BACKENDS)
def test_clipping_keeps_directions_and_zero_rows(name: str, grads: np.ndarray) -> None:
    before = grads.copy()
    clipped = to_numpy(backend(name).clip_per_example(grads, 1.0))
    np.testing.assert_array_equal(grads, before)  # the input is left alone
    assert np.isfinite(clipped).all() and not clipped[3].any()  # 0 stays 0, no NaN
    keep = np.linalg.norm(grads, axis=1) > 0
    cos = np.sum(clipped[keep] * grads[keep], axis=1) / (
        np.linalg.norm(clipped[keep], axis=1) * np.linalg.norm(grads[keep], axis=1)
    )
    np.testing.assert_allclose(cos, 1.0, rtol=1e-12)


def test_numpy_clipping_returns_a_new_array(grads: np.ndarray) -> None:
    small = grads * 1e-6  # nothing to clip
    out = backend("numpy").clip_per_example(small, 1.0)
    assert out is not small and not np.shares_memory(out, small)


def test_infinite_bound_clips_nothing(grads: np.ndarray) -> None:
    np.testing.assert_array_equal(backend("numpy").clip_per_example(grads, np.inf), grads)


@pytest.mark.parametrize("name", BACKENDS)
def test_one_example_moves_the_update_by_at_most_C_over_B(name: str, grads: np.ndarray) -> None:
    """Replace one example by an arbitrary (huge) one: the noise-free update moves <= C/B."""
    priv, C, B = backend(name), 0.5, len(grads)
    base = to_numpy(priv.private_gradient(grads, C, 0.0, rng=0))
    worst = 0.0
    for i in range(B):
        other = grads.copy()
        other[i] = -1e6 * grads[i] + 1e3  # an adversarial neighbour
        moved = to_numpy(priv.private_gradient(other, C, 0.0, rng=0))
        worst = max(worst, float(np.linalg.norm(moved - base)))
    assert worst <= 2 * C / B * (1 + 1e-12)  # replace = remove (C/B) + add (C/B)
    removed = to_numpy(priv.private_gradient(grads[1:], C, 0.0, rng=0, denominator=B))
    assert np.linalg.norm(removed - base) <= C / B * (1 + 1e-12)  # remove one: <= C/B


@pytest.mark.parametrize("name", BACKENDS)
def test_noise_has_std_sigma_C_over_denominator(name: str) -> None:
    priv, C, sigma = backend(name), 2.0, 1.5
    zeros = np.zeros((4, 20_000))
    g = to_numpy(priv.private_gradient(zeros, C, sigma, rng=1, denominator=10))
    assert abs(g.std() - sigma * C / 10) < 0.02 * sigma * C / 10
    again = to_numpy(priv.private_gradient(zeros, C, sigma, rng=1, denominator=10))
    np.testing.assert_array_equal(g, again)  # the rng decides the noise


@pytest.mark.parametrize("name", BACKENDS)
@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ((np.ones((2, 3)), 0.0), ValueError, "positive"),
        ((np.ones((2, 3)), -1.0), ValueError, "positive"),
        ((np.ones((2, 3)), float("nan")), ValueError, "positive"),
        ((np.ones((2, 3)), "1"), TypeError, "number"),
        ((np.ones(3), 1.0), ValueError, r"\(B, N\)"),
        ((np.ones((2, 3, 4)), 1.0), ValueError, r"\(B, N\)"),
    ],
)
def test_clipping_explains_bad_arguments(name: str, args: tuple, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        backend(name).clip_per_example(*args)


@pytest.mark.parametrize("name", BACKENDS)
def test_private_gradient_explains_bad_arguments(name: str) -> None:
    priv = backend(name)
    with pytest.raises(ValueError, match="noise_multiplier"):
        priv.private_gradient(np.ones((2, 3)), 1.0, -1.0, rng=0)
    with pytest.raises(ValueError, match="finite max_norm"):
        priv.private_gradient(np.ones((2, 3)), np.inf, 1.0, rng=0)
    with pytest.raises(ValueError, match="denominator"):
        priv.private_gradient(np.ones((2, 3)), 1.0, 0.0, rng=0, denominator=0)


def test_there_is_no_tensorflow_backend() -> None:
    with pytest.raises(ValueError, match="no TensorFlow backend.*'numpy', 'torch'"):
        backend("tf")
