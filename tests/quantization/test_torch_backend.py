"""The torch backend computes the same codes as NumPy, and both agree with PyTorch's own int8.

Acceptance (chapter 10): our per-channel int8 codes equal those of
``torch.quantize_per_channel`` given the same scales; PyTorch's dynamic
quantisation and our ``Int8Linear`` stay within a few quantisation steps of the
float model; int8 models are about 4x smaller.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from dlbook.nn import torch_backend as nn_torch  # noqa: E402
from dlbook.quantization import backend  # noqa: E402
from dlbook.quantization import numpy_backend as quant_np  # noqa: E402
from dlbook.quantization import torch_backend as quant_torch  # noqa: E402

RNG = np.random.default_rng(1)
W = RNG.normal(size=(40, 24))  # (D, H), float64


@pytest.mark.parametrize("bits", [4, 8, 16])
@pytest.mark.parametrize("axis", [None, 0, -1])
def test_symmetric_codes_and_scales_match_numpy(axis, bits: int) -> None:
    q_np, s_np = quant_np.quantize_symmetric(W, axis, bits)
    q_t, s_t = quant_torch.quantize_symmetric(torch.as_tensor(W), axis, bits)
    np.testing.assert_array_equal(q_t.numpy(), q_np)
    assert q_t.numpy().dtype == q_np.dtype
    np.testing.assert_allclose(s_t.numpy(), s_np, rtol=1e-15)


@pytest.mark.parametrize("axis", [None, -1])
def test_asymmetric_codes_match_numpy(axis) -> None:
    w = W + 0.5
    q_np, s_np, z_np = quant_np.quantize_asymmetric(w, axis)
    q_t, s_t, z_t = quant_torch.quantize_asymmetric(w, axis)
    np.testing.assert_array_equal(q_t.numpy(), q_np)
    np.testing.assert_array_equal(z_t.numpy(), z_np)
    np.testing.assert_allclose(s_t.numpy(), s_np, rtol=1e-15)
    np.testing.assert_allclose(
        quant_torch.dequantize(q_t, s_t, z_t, dtype="float64").numpy(),
        quant_np.dequantize(q_np, s_np, z_np, dtype="float64"),
        rtol=0,
        atol=1e-15,
    )


def test_per_channel_codes_equal_torch_quantize_per_channel() -> None:
    w = RNG.normal(size=(128, 64)).astype(np.float32)
    w[:, 5] *= 20.0  # channels of very different ranges
    q, scale = quant_np.quantize_per_channel(w)
    q_ref, scale_ref = quant_torch.reference_per_channel(w)
    np.testing.assert_array_equal(q, q_ref)
    np.testing.assert_array_equal(scale, scale_ref)
    err = np.abs(w - quant_np.dequantize(q, scale))
    assert np.all(err <= scale / 2 * (1 + 1e-6))


def test_int8_linear_matches_numpy_exactly_in_integers() -> None:
    x = RNG.normal(size=(9, 40)).astype(np.float32)
    b = RNG.normal(size=24).astype(np.float32)
    q_w, w_scale = quant_np.quantize_per_channel(W.astype(np.float32))
    y_np = quant_np.int8_linear(x, q_w, w_scale, b)
    y_t = quant_torch.int8_linear(
        torch.as_tensor(x), torch.as_tensor(q_w), torch.as_tensor(w_scale), torch.as_tensor(b)
    )
    np.testing.assert_allclose(y_t.numpy(), y_np, rtol=1e-6, atol=1e-6)


@pytest.fixture(scope="module")
def mlp() -> nn_torch.MLP:
    return nn_torch.MLP([64, 96, 10], seed=0)


def test_int8_models_stay_close_to_float_and_are_smaller(mlp) -> None:
    x = torch.as_tensor(RNG.normal(size=(32, 64)).astype(np.float32))
    with torch.no_grad():
        ref = mlp.layers(x)
        ours = quant_torch.quantize_linears(mlp.layers)(x)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # dynamic_quantize silences its own warnings
            torchs = quant_torch.dynamic_quantize(mlp.layers)(x)
    scale = ref.abs().max()
    assert (ours - ref).abs().max() < 0.03 * scale
    assert (torchs - ref).abs().max() < 0.03 * scale
    assert (ours.argmax(1) == ref.argmax(1)).float().mean() >= 0.9
    fp32 = quant_torch.module_nbytes(mlp.layers)
    assert quant_torch.module_nbytes(quant_torch.quantize_linears(mlp.layers)) < 0.4 * fp32
    assert quant_torch.module_nbytes(quant_torch.dynamic_quantize(mlp.layers)) < 0.4 * fp32


def test_int8_linear_module_replaces_every_linear(mlp) -> None:
    q = quant_torch.quantize_linears(mlp.layers)
    kinds = [type(m).__name__ for m in q]
    assert kinds == ["Int8Linear", "ReLU", "Int8Linear"]
    assert q[0].q_w.dtype == torch.int8 and q[0].q_w.shape == (64, 96)
    assert isinstance(mlp.layers[0], torch.nn.Linear)  # the original is untouched
    single = quant_torch.quantize_linears(mlp.layers[0])
    assert isinstance(single, quant_torch.Int8Linear)


def test_backend_by_name_and_no_tensorflow() -> None:
    assert backend("torch") is quant_torch and backend("np") is quant_np
    with pytest.raises(ValueError, match="no TensorFlow backend"):
        backend("tf")
