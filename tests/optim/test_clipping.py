"""Gradient clipping equals ``torch.nn.utils.clip_grad_norm_`` and ``clip_grad_value_``."""

from __future__ import annotations

import numpy as np
import pytest

from dlbook.optim.clipping import clip_grad_norm, clip_grad_value

torch = pytest.importorskip("torch")


def _grads(seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(size=5), rng.normal(size=(4, 3)), rng.normal(size=(2, 2, 2))]


def _torch_params(grads: list[np.ndarray]) -> list:
    params = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, g in zip(params, grads, strict=True):
        p.grad = torch.tensor(g)
    return params


@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf")])
@pytest.mark.parametrize("max_norm", [0.5, 3.0, 100.0])  # clips hard, a little, not at all
def test_clip_grad_norm_matches_torch(max_norm: float, norm_type: float) -> None:
    grads = _grads()
    before = [g.copy() for g in grads]
    clipped, total = clip_grad_norm(grads, max_norm, norm_type=norm_type)
    params = _torch_params(grads)
    torch_total = torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type=norm_type)
    assert total == pytest.approx(torch_total.item(), rel=1e-14)
    for ours, p in zip(clipped, params, strict=True):
        np.testing.assert_allclose(ours, p.grad.numpy(), rtol=1e-14, atol=0)
    for g, b in zip(grads, before, strict=True):
        np.testing.assert_array_equal(g, b)  # the input is left alone


def test_clip_grad_norm_keeps_the_direction_and_caps_the_length() -> None:
    clipped, total = clip_grad_norm([np.array([3.0, 4.0])], max_norm=1.0)
    assert total == 5.0
    np.testing.assert_allclose(clipped[0], np.array([0.6, 0.8]) * 5 / (5 + 1e-6))
    unclipped, _ = clip_grad_norm([np.array([3.0, 4.0])], max_norm=10.0)
    np.testing.assert_array_equal(unclipped[0], [3.0, 4.0])


@pytest.mark.parametrize("clip_value", [0.1, 1.0, 10.0])
def test_clip_grad_value_matches_torch(clip_value: float) -> None:
    grads = _grads(1)
    params = _torch_params(grads)
    torch.nn.utils.clip_grad_value_(params, clip_value)
    for ours, p in zip(clip_grad_value(grads, clip_value), params, strict=True):
        np.testing.assert_array_equal(ours, p.grad.numpy())


def test_clipping_explains_bad_thresholds() -> None:
    with pytest.raises(ValueError, match="max_norm must be positive"):
        clip_grad_norm(_grads(), 0.0)
    with pytest.raises(ValueError, match="clip_value must be positive"):
        clip_grad_value(_grads(), -1.0)
