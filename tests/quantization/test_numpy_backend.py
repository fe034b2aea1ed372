"""From-scratch quantisation: the codes, the scales, the error bound and the int8 product.

Acceptance (chapter 10): per-channel int8 codes equal an independent per-column
formula, the round-off error obeys |w - q * scale| <= scale / 2 exactly in
float64, and the asymmetric scheme obeys the same bound.
"""

from __future__ import annotations

import numpy as np
import pytest

from dlbook.quantization import numpy_backend as quant

RNG = np.random.default_rng(0)
W = RNG.normal(size=(48, 12))  # (D, H) canonical weight, float64


def _per_column_reference(w: np.ndarray, bits: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """An independent formula: a loop over output columns, one scale each."""
    qmax = 2 ** (bits - 1) - 1
    q, scales = np.zeros(w.shape, dtype=np.int64), np.zeros(w.shape[1])
    for j in range(w.shape[1]):
        s = max(abs(v) for v in w[:, j]) / qmax or 1.0
        scales[j] = s
        q[:, j] = [min(max(round(v / s), -qmax), qmax) for v in w[:, j]]  # round: half to even
    return q, scales


@pytest.mark.parametrize("bits", [8, 4])
def test_per_channel_matches_an_independent_formula(bits: int) -> None:
    q, scale = quant.quantize_symmetric(W, axis=-1, bits=bits)
    q_ref, scale_ref = _per_column_reference(W, bits)
    assert q.dtype == np.int8 and scale.shape == (1, W.shape[1])
    np.testing.assert_array_equal(q, q_ref)
    np.testing.assert_allclose(scale[0], scale_ref, rtol=1e-15)
    q2, scale2 = quant.quantize_per_channel(W, bits=bits)
    np.testing.assert_array_equal(q2, q)
    np.testing.assert_array_equal(scale2, scale)


@pytest.mark.parametrize("axis", [None, 0, -1])
@pytest.mark.parametrize("bits", [2, 4, 8, 12, 16])
def test_round_off_error_is_at_most_half_a_step(axis, bits: int) -> None:
    q, scale = quant.quantize_symmetric(W, axis=axis, bits=bits)
    err = np.abs(W - quant.dequantize(q, scale, dtype="float64"))
    assert np.all(err <= scale / 2 * (1 + 1e-12))
    assert q.dtype == (np.int8 if bits <= 8 else np.int32)
    assert np.abs(q).max() == 2 ** (bits - 1) - 1  # the largest |w| uses the top code


@pytest.mark.parametrize("axis", [None, -1])
def test_asymmetric_round_off_error_and_zero(axis) -> None:
    w = W + 0.7  # mostly positive: the affine grid pays off
    q, scale, zero_point = quant.quantize_asymmetric(w, axis=axis)
    assert q.dtype == np.uint8 and zero_point.dtype == np.int32
    assert q.min() == 0 and q.max() == 255
    err = np.abs(w - quant.dequantize(q, scale, zero_point, dtype="float64"))
    assert np.all(err <= scale / 2 * (1 + 1e-9))
    # zero is represented exactly: the zero point dequantises to 0
    assert np.all(quant.dequantize(zero_point, scale, zero_point) == 0)


def test_asymmetric_uses_the_grid_better_for_a_one_sided_tensor() -> None:
    w = np.abs(W)  # all >= 0: the symmetric grid wastes its negative half
    sym = np.abs(w - quant.fake_quantize(w)).max()
    q, s, z = quant.quantize_asymmetric(w)
    asym = np.abs(w - quant.dequantize(q, s, z, dtype="float64")).max()
    assert asym < 0.6 * sym


def test_all_zero_channel_gets_scale_one_and_zero_codes() -> None:
    w = W.copy()
    w[:, 3] = 0.0
    q, scale = quant.quantize_per_channel(w)
    assert scale[0, 3] == 1.0 and np.all(q[:, 3] == 0)
    q, scale, zp = quant.quantize_asymmetric(np.zeros((3, 2)))
    assert np.all(scale == 1.0) and np.all(q == 0) and np.all(zp == 0)


def test_per_tensor_scale_shape_broadcasts() -> None:
    q, scale = quant.quantize_symmetric(W)
    assert scale.shape == (1, 1) and (q * scale).shape == W.shape


def test_an_outlier_hurts_per_tensor_more_than_per_channel() -> None:
    w = W.copy()
    w[0, 0] = 50.0  # one large weight in column 0
    err_tensor = np.abs(w - quant.fake_quantize(w, axis=None))[:, 1:].mean()
    err_channel = np.abs(w - quant.fake_quantize(w, axis=-1))[:, 1:].mean()
    assert err_channel < err_tensor / 5  # the other columns keep their own fine grid


def test_error_shrinks_by_about_two_per_bit() -> None:
    errors = [np.abs(W - quant.fake_quantize(W, bits=b)).max() for b in (4, 6, 8, 10)]
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    assert np.all((ratios > 2.5) & (ratios < 6))  # two bits more: about 4x smaller


def test_dequantize_returns_float32_and_refuses_float_codes() -> None:
    q, scale = quant.quantize_per_channel(W.astype(np.float32))
    assert quant.dequantize(q, scale).dtype == np.float32
    with pytest.raises(TypeError, match="integer codes"):
        quant.dequantize(W, scale)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"bits": 1}, ValueError, "between 2 and 16"),
        ({"bits": 8.0}, TypeError, "integer"),
        ({"axis": 2}, ValueError, "does not exist"),
        ({"axis": "rows"}, TypeError, "channel axis"),
    ],
)
def test_bad_arguments_are_explained(kwargs, error, match) -> None:
    with pytest.raises(error, match=match):
        quant.quantize_symmetric(W, **kwargs)


def test_int8_linear_is_close_to_the_float_product() -> None:
    x = RNG.normal(size=(16, 48))
    b = RNG.normal(size=12)
    q_w, w_scale = quant.quantize_per_channel(W)
    y = quant.int8_linear(x, q_w, w_scale, b)
    exact = x @ W + b
    # each factor is off by at most half a step: |err| <~ sum_d (|x| dw + |w| dx)
    bound = np.abs(x).sum(1, keepdims=True) * w_scale / 2 + (
        np.abs(x).max(1, keepdims=True) / 127 / 2 * np.abs(W).sum(0, keepdims=True)
    )
    assert y.dtype == np.float32 and y.shape == (16, 12)
    assert np.all(np.abs(y - exact) <= 1.01 * bound + 1e-5)
    with pytest.raises(ValueError, match="columns"):
        quant.int8_linear(x[:, :10], q_w, w_scale, b)


def test_quantized_weights_take_a_quarter_of_the_bytes() -> None:
    weights = {"W0": W.astype(np.float32), "b0": np.zeros(12, np.float32)}
    qweights = quant.quantize_weights(weights)
    assert isinstance(qweights["W0"], quant.QuantizedTensor)
    assert qweights["b0"].dtype == np.float32  # biases stay float
    assert quant.weights_nbytes(qweights) == 48 * 12 + 12 * 4 + 12 * 4
    back = quant.dequantize_weights(qweights)
    assert np.abs(back["W0"] - weights["W0"]).max() <= qweights["W0"].scale.max() / 2 + 1e-6


def test_int8_mlp_forward_agrees_with_the_float_mlp() -> None:
    from dlbook.nn import numpy_backend as nn

    mlp = nn.MLP([48, 32, 12], seed=0)
    x = RNG.normal(size=(20, 48)).astype(np.float32)
    logits = quant.int8_mlp_forward(quant.quantize_weights(mlp.get_weights()), x)
    float_logits = mlp.forward(x)
    assert np.abs(logits - float_logits).max() < 0.05 * np.abs(float_logits).max()
    assert np.mean(logits.argmax(1) == float_logits.argmax(1)) >= 0.95
    with pytest.raises(TypeError, match="symmetric-quantised"):
        quant.int8_mlp_forward(mlp.get_weights(), x)
