"""Quantisation from scratch in NumPy: integer codes, scales and an int8 matrix product.

Shape legend: B = batch, D = features in, H = features out (a weight is W (D, H)).

Symmetric (zero maps to code 0) and asymmetric (an affine map onto [0, 2^b - 1])
quantisation, per tensor (``axis=None``) or per channel (``axis`` = the channel
axis); see :mod:`dlbook.quantization` for the conventions and the error bound.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from dlbook._validate import as_float_array
from dlbook.quantization import (
    asymmetric_range,
    check_bits,
    check_codes,
    check_quantizable,
    check_scale,
    check_zero_point,
    int_dtype_name,
    reduce_axes,
    symmetric_range,
)


def _nonzero_scale(scale: np.ndarray) -> np.ndarray:
    """Replace the scale of an all-zero channel (0) by 1.0: any scale stores zeros exactly."""
    return np.where(scale > 0, scale, np.ones_like(scale))


def quantize_symmetric(
    w: Any, axis: int | None = None, bits: int = 8
) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric quantisation: ``w ~ q * scale`` with integer codes ``q`` in [-qmax, qmax].

    scale = ``max |w|`` (over every axis but ``axis``) / qmax,  qmax = 2^(bits-1) - 1;
    q = clip(round(w / scale), -qmax, qmax), int8 for bits <= 8, else int32.
    ``scale`` keeps the reduced axes (size 1), so ``q * scale`` broadcasts.
    """
    w = as_float_array(w, "w")
    check_quantizable(w, "w")
    qmax = symmetric_range(bits)
    amax = np.max(np.abs(w), axis=reduce_axes(w.ndim, axis), keepdims=True)  # (1, H) for axis=-1
    scale = _nonzero_scale(amax / qmax)
    q = np.clip(np.round(w / scale), -qmax, qmax)
    return q.astype(int_dtype_name(bits, signed=True)), scale


def quantize_per_channel(w: Any, bits: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """One scale per output channel of a (D, H) weight: ``quantize_symmetric(w, axis=-1)``."""
    return quantize_symmetric(w, axis=-1, bits=bits)


def quantize_asymmetric(
    w: Any, axis: int | None = None, bits: int = 8
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Affine quantisation: ``w ~ (q - zero_point) * scale`` with ``q`` in [0, 2^bits - 1].

    The range [lo, hi] = [min(w, 0), max(w, 0)] always contains 0, so that 0 has
    an exact code, the zero point (as in PyTorch's min-max observer):
    scale = (hi - lo) / qmax, zero_point = round(-lo / scale),
    q = clip(round(w / scale) + zero_point, 0, qmax). uint8 for bits <= 8, else int32.
    """
    w = as_float_array(w, "w")
    check_quantizable(w, "w")
    qmax = asymmetric_range(bits)
    axes = reduce_axes(w.ndim, axis)
    lo = np.minimum(np.min(w, axis=axes, keepdims=True), 0.0)
    hi = np.maximum(np.max(w, axis=axes, keepdims=True), 0.0)
    scale = _nonzero_scale((hi - lo) / qmax)
    zero_point = np.clip(np.round(-lo / scale), 0, qmax).astype(np.int32)
    q = np.clip(np.round(w / scale) + zero_point, 0, qmax)
    return q.astype(int_dtype_name(bits, signed=False)), scale, zero_point


def dequantize(q: Any, scale: Any, zero_point: Any = None, *, dtype: str = "float32") -> np.ndarray:
    """``(q - zero_point) * scale`` as floats (float32 unless ``dtype="float64"``).

    The codes are widened to int64 before subtracting, so a uint8 code minus its
    zero point cannot wrap around.
    """
    check_codes(q, "q")
    check_scale(scale)
    codes = np.asarray(q).astype(np.int64)
    if zero_point is not None:
        check_zero_point(zero_point)
        codes = codes - np.round(np.asarray(zero_point)).astype(np.int64)
    return (codes * np.asarray(scale, dtype=np.float64)).astype(dtype)


def fake_quantize(w: Any, axis: int | None = None, bits: int = 8) -> np.ndarray:
    """Quantise symmetrically and dequantise, in ``w``'s float dtype: the weights a model sees."""
    w = as_float_array(w, "w")
    return dequantize(*quantize_symmetric(w, axis, bits), dtype=w.dtype.name)


def int8_linear(x: Any, q_w: np.ndarray, w_scale: np.ndarray, b: Any) -> np.ndarray:
    """y = x @ W + b computed in integers, with W ~ q_w * w_scale (per output channel).

    The input is quantised on the fly ("dynamic" quantisation), one scale per row:
    x ~ q_x * x_scale with x_scale (B, 1). Then
    x @ W ~ (q_x @ q_w) * x_scale * w_scale,
    where ``q_x @ q_w`` multiplies int8 codes and accumulates in int32 (exact while
    D * 127^2 < 2^31, that is D < 133,000).
    """
    x = as_float_array(x, "x")
    check_quantizable(x, "x")
    check_codes(q_w, "q_w")
    check_scale(w_scale)
    q_w = np.asarray(q_w)
    if x.ndim != 2 or q_w.ndim != 2 or x.shape[1] != q_w.shape[0]:
        raise ValueError(
            f"int8_linear: x has shape {x.shape} but q_w has shape {q_w.shape}; "
            f"x needs {q_w.shape[0]} columns, one per input feature."
        )
    q_x, x_scale = quantize_symmetric(x, axis=0)  # (B, D) int8, (B, 1)
    acc = q_x.astype(np.int32) @ q_w.astype(np.int32)  # (B, H) int32
    return (acc * (x_scale * w_scale) + b).astype(np.float32)  # (B,1)*(1,H) -> (B, H)


# ---------------------------------------------------------------------------
# Whole models: a dict of weights in the canonical layout
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class QuantizedTensor:
    """Integer codes with their scale (and zero point, for the affine scheme)."""

    q: np.ndarray  # integer codes, the shape of the original tensor
    scale: np.ndarray  # float scales, broadcastable to q
    zero_point: np.ndarray | None = None  # None for symmetric quantisation

    def dequantize(self) -> np.ndarray:
        """The float32 tensor the codes stand for."""
        return dequantize(self.q, self.scale, self.zero_point)

    @property
    def nbytes(self) -> int:
        """Bytes to store it: the codes, plus the scales stored as float32 (and zero points)."""
        extra = 0 if self.zero_point is None else self.zero_point.size * 4
        return int(self.q.nbytes + self.scale.size * 4 + extra)


def quantize_weights(
    weights: dict[str, np.ndarray], *, axis: int | None = -1, bits: int = 8
) -> dict[str, Any]:
    """Quantise every matrix (ndim 2) of a weight dict symmetrically; keep the rest as float32.

    Biases and LayerNorm gains are few and sensitive, so they stay in float, as in
    PyTorch's dynamic quantisation. ``axis=-1`` is per output channel.
    """
    check_bits(bits)
    out: dict[str, Any] = {}
    for name, w in weights.items():
        w = np.asarray(w)
        out[name] = (
            QuantizedTensor(*quantize_symmetric(w, axis, bits))
            if w.ndim == 2
            else w.astype(np.float32)
        )
    return out


def dequantize_weights(qweights: dict[str, Any]) -> dict[str, np.ndarray]:
    """The float32 weights a quantised weight dict stands for (for ``model.set_weights``)."""
    return {
        name: w.dequantize() if isinstance(w, QuantizedTensor) else np.asarray(w, np.float32)
        for name, w in qweights.items()
    }


def weights_nbytes(weights: dict[str, Any]) -> int:
    """Bytes to store a weight dict: arrays at their dtype's size, quantised tensors as codes."""
    return int(sum(w.nbytes for w in weights.values()))


def int8_mlp_forward(qweights: dict[str, Any], x: Any, activation: str = "relu") -> np.ndarray:
    """Logits of an MLP ({"W0", "b0", "W1", ...}) whose matrices are int8 per channel.

    Every layer is :func:`int8_linear`; the activation runs in float between layers.
    """
    from dlbook.nn.numpy_backend import ACTIVATIONS

    if activation not in ACTIVATIONS:
        raise ValueError(f"Unknown activation {activation!r}; choose one of {sorted(ACTIVATIONS)}.")
    n_layers = sum(1 for name in qweights if name.startswith("W"))
    h = as_float_array(x, "x")  # (B, D0)
    for i in range(n_layers):
        W = qweights[f"W{i}"]
        if not isinstance(W, QuantizedTensor) or W.zero_point is not None:
            raise TypeError(f"W{i} must be symmetric-quantised: use quantize_weights(weights).")
        if i > 0:
            h = ACTIVATIONS[activation][0](h)
        h = int8_linear(h, W.q, W.scale, qweights[f"b{i}"])  # (B, D_{i+1})
    return h
