"""Loss scaling from scratch: unscale_grads, update_scale (against GradScaler), underflow."""

from __future__ import annotations

import numpy as np
import pytest

from dlbook.parallel.mixed_precision import (
    FP16_MIN_SUBNORMAL,
    flushed_to_zero,
    log2_magnitudes,
    overflowed,
    unscale_grads,
    update_scale,
)


def test_unscale_converts_to_float32_then_divides() -> None:
    g = np.array([3e-3, 6e4, -1.0], dtype=np.float16)
    (out,), found_inf = unscale_grads([g], 2.0**10)
    assert out.dtype == np.float32 and not found_inf
    np.testing.assert_array_equal(out, g.astype(np.float32) / np.float32(2.0**10))
    # dividing in float16 first would flush 3e-3 / 2^10 ~ 2.9e-6 to a coarse subnormal
    assert out[0] != np.float32(g[0] / np.float16(2.0**10))


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_unscale_reports_inf_and_nan(bad: float) -> None:
    grads = [np.ones(3, dtype=np.float16), np.array([1.0, bad], dtype=np.float16)]
    _, found_inf = unscale_grads(grads, 4.0)
    assert found_inf


def test_unscale_reports_overflow_after_conversion() -> None:
    _, found_inf = unscale_grads([np.array([1e300])], 0.5)  # finite in float64, inf in float32
    assert found_inf


def test_unscale_leaves_inputs_untouched() -> None:
    g = np.array([1.0, 2.0], dtype=np.float32)
    before = g.copy()
    out, _ = unscale_grads([g], 8.0)
    np.testing.assert_array_equal(g, before)
    assert out[0] is not g and not np.shares_memory(out[0], g)


@pytest.mark.parametrize(
    ("grads", "scale", "error"),
    [
        (np.ones(3), 2.0, TypeError),  # an array, not a list of arrays
        (["a"], 2.0, TypeError),
        ([np.ones(3)], 0.0, ValueError),
        ([np.ones(3)], -1.0, ValueError),
        ([np.ones(3)], np.inf, ValueError),
        ([np.ones(3)], "2", TypeError),
    ],
)
def test_unscale_rejects_bad_arguments(grads, scale, error) -> None:
    with pytest.raises(error, match="grads|scale"):
        unscale_grads(grads, scale)


def test_update_scale_rules() -> None:
    assert update_scale(8.0, True, 5) == (4.0, 0)
    assert update_scale(8.0, False, 0, growth_interval=3) == (8.0, 1)
    assert update_scale(8.0, False, 2, growth_interval=3) == (16.0, 0)
    assert update_scale(8.0, False, 0, growth_factor=4.0, growth_interval=1) == (32.0, 0)
    with pytest.raises(ValueError, match="growth_interval"):
        update_scale(8.0, False, 0, growth_interval=0)
    with pytest.raises(ValueError, match="scale"):
        update_scale(-1.0, False, 0)


def test_update_scale_follows_torch_grad_scaler() -> None:
    torch = pytest.importorskip("torch")
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**10, growth_interval=3)
    p = torch.nn.Parameter(torch.ones(2))
    opt = torch.optim.SGD([p], lr=0.0)
    pattern = [False, False, False, True, False, True, True, False, False, False, False]
    scale, good = 2.0**10, 0
    for inf in pattern:
        opt.zero_grad()
        factor = torch.tensor(float("inf") if inf else 1.0)
        scaler.scale((p * factor).sum()).backward()
        scaler.step(opt)
        scaler.update()
        scale, good = update_scale(scale, inf, good, growth_interval=3)
        assert scaler.get_scale() == scale
        assert int(scaler._get_growth_tracker()) == good


def test_float16_flushes_small_values_and_scaling_saves_them() -> None:
    g = [np.array([1e-9, 2e-8, 1e-3, 0.0])]
    assert FP16_MIN_SUBNORMAL == 2.0**-24
    assert flushed_to_zero(g) == pytest.approx(2 / 3)  # the exact 0 does not count
    assert flushed_to_zero(g, 2.0**16) == 0.0
    assert overflowed(g, 2.0**16) == 0.0 and overflowed(g, 2.0**40) > 0
    np.testing.assert_allclose(log2_magnitudes(g), np.log2([1e-9, 2e-8, 1e-3]))


def test_fp16_backward_underflows_without_scaling_and_survives_with_it() -> None:
    """The acceptance test: real float16 backward passes, not just casts."""
    pytest.importorskip("torch")
    from dlbook.nn.torch_backend import MLP
    from dlbook.parallel.torch_backend import scaled_grads

    rng = np.random.default_rng(0)
    model = MLP([8, 16, 4], seed=0, dtype="float32")
    w = model.get_weights()
    model.set_weights({**w, "W1": w["W1"] * 1e-2})  # a confident head: small upstream gradients
    x = rng.normal(size=(32, 8)) * 1e-4  # small inputs, still normal float16 numbers
    y = rng.integers(0, 4, size=32)
    exact = scaled_grads(model, x, y, dtype="float32")[0][0]  # (16, 8): W0's fp32 gradient
    nonzero = exact != 0
    assert nonzero.all() and np.abs(exact).max() < FP16_MIN_SUBNORMAL * 4
    plain, inf_plain = scaled_grads(model, x, y, scale=1.0)
    scaled, inf_scaled = scaled_grads(model, x, y, scale=2.0**16)
    assert not inf_plain and not inf_scaled
    assert (plain[0] == 0).mean() > 0.5  # most of W0's gradient is lost in float16 ...
    assert (scaled[0] == 0).mean() == 0.0  # ... and all of it survives a scale of 2^16
    rel = np.abs(scaled[0] - exact).max() / np.abs(exact).max()
    assert rel < 1e-2


def test_bad_precision_arguments_explain_themselves() -> None:
    pytest.importorskip("torch")
    from dlbook.nn.torch_backend import MLP
    from dlbook.parallel.torch_backend import PrecisionConfig, scaled_grads

    with pytest.raises(ValueError, match="precision"):
        PrecisionConfig(precision="fp8")
    with pytest.raises(ValueError, match="dtype"):
        scaled_grads(MLP([2, 2], seed=0), np.ones((1, 2)), np.zeros(1, dtype=int), dtype="bf16")
