"""Quantisation refuses what it cannot represent, in both backends, instead of a silent answer."""

from __future__ import annotations

import numpy as np
import pytest

from dlbook.quantization import backend

BACKENDS = ["numpy", "torch"]


def _quant(name: str):
    if name == "torch":
        pytest.importorskip("torch")
    return backend(name)


@pytest.mark.parametrize("name", BACKENDS)
@pytest.mark.parametrize("fn", ["quantize_symmetric", "quantize_asymmetric", "fake_quantize"])
@pytest.mark.parametrize("axis", [None, -1])
def test_a_nan_weight_is_refused(name: str, fn: str, axis) -> None:
    # before: max|w| = NaN, the scale fell back to 1 and the tensor came back as garbage codes
    w = np.array([[0.5, -0.25], [np.nan, 0.125]])
    with pytest.raises(ValueError, match="NaN"):
        getattr(_quant(name), fn)(w, axis=axis)


@pytest.mark.parametrize("name", BACKENDS)
def test_an_empty_tensor_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="empty"):
        _quant(name).quantize_symmetric(np.zeros((0, 3)))


@pytest.mark.parametrize("name", BACKENDS)
def test_int8_linear_refuses_a_nan_input(name: str) -> None:
    quant = _quant(name)
    q_w, scale = quant.quantize_per_channel(np.eye(2))
    with pytest.raises(ValueError, match="x contains NaN"):
        quant.int8_linear(np.array([[1.0, np.nan]]), q_w, scale, np.zeros(2))


@pytest.mark.parametrize("name", BACKENDS)
def test_int8_linear_refuses_float_weights_as_codes(name: str) -> None:
    quant = _quant(name)
    w = np.array([[0.4, -0.7], [0.2, 0.9]])
    with pytest.raises(TypeError, match="integer codes"):
        quant.int8_linear(np.ones((1, 2)), w, np.ones((1, 2)), np.zeros(2))


@pytest.mark.parametrize("name", BACKENDS)
@pytest.mark.parametrize("scale", [None, np.nan, 0.0, -1.0])
def test_dequantize_refuses_a_missing_or_impossible_scale(name: str, scale) -> None:
    with pytest.raises((TypeError, ValueError), match="scale"):
        _quant(name).dequantize(np.array([1, 2], dtype=np.int8), scale)


@pytest.mark.parametrize("name", BACKENDS)
def test_dequantize_refuses_a_fractional_zero_point(name: str) -> None:
    q = np.array([0, 10], dtype=np.uint8)
    with pytest.raises(ValueError, match="whole number"):
        _quant(name).dequantize(q, 0.5, 2.5)
    # an integer-valued float zero point is the same code as the int
    out = np.asarray(_quant(name).dequantize(q, 0.5, 2.0, dtype="float64"))
    np.testing.assert_array_equal(out, [-1.0, 4.0])
