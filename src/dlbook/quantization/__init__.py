"""Quantisation: storing weights as small integers and a scale (chapter 10).

Pick a backend module; both export the same names::

    from dlbook.quantization import numpy_backend as quant_np     # from scratch
    from dlbook.quantization import torch_backend as quant_torch  # the same on tensors
    quant = dlbook.quantization.backend("torch")                   # the same, by name

Shared API (``T`` is the backend's array type):

==============================================  ==========================================
``quantize_symmetric(w, axis=None, bits=8)``    ``(q, scale)``: q = round(w / scale),
                                                clipped to [-(2^(b-1)-1), 2^(b-1)-1];
                                                int8 for bits <= 8, else int32
``quantize_asymmetric(w, axis=None, bits=8)``   ``(q, scale, zero_point)``: the affine
                                                map onto [0, 2^b - 1]; uint8 for bits <= 8
``quantize_per_channel(w, bits=8)``             ``quantize_symmetric(w, axis=-1)``: one
                                                scale per output column of a (in, out) W
``dequantize(q, scale, zero_point=None)``       (q - zero_point) * scale, as float32
``fake_quantize(w, axis=None, bits=8)``         quantise then dequantise: the weights a
                                                quantised model really computes with
``int8_linear(x, q_w, w_scale, b)``             x @ W + b with int8 operands and int32
                                                accumulation (x quantised row by row)
==============================================  ==========================================

**Conventions.** ``axis`` names the *channel* axis, the one whose slices get
their own scale; the maximum runs over every other axis, with ``keepdims``, so
``q * scale`` broadcasts back to ``w``'s shape. ``axis=None`` is one scale for the
whole tensor. For the book's (in, out) weight matrices, "per output channel" is
``axis=-1`` and ``scale`` has shape (1, out). A channel that is all zeros gets
scale 1.0 (any scale represents it exactly). Rounding is to the nearest integer,
ties to even, in NumPy and PyTorch alike.

**The error bound.** Within the clipping range, ``|w - q * scale| <= scale / 2``:
rounding moves ``w / scale`` by at most one half.

The torch backend adds :func:`~dlbook.quantization.torch_backend.dynamic_quantize`
(PyTorch's own ``quantize_dynamic``) and an :class:`Int8Linear` module.
There is no TensorFlow backend: TensorFlow's quantisation tools live in the
separate TF Model Optimization and LiteRT packages, which the book does not
install, and the tensor arithmetic would repeat the NumPy backend line for line.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

MAX_BITS = 16  # beyond 16 bits the integer grid is finer than most float32 weights need


def backend(name: str) -> ModuleType:
    """The ``dlbook.quantization`` module of ``"numpy"`` or ``"torch"``."""
    from dlbook.backends import load_backend

    return load_backend("quantization", name)


def check_bits(bits: Any) -> int:
    """``bits`` as an int in [2, MAX_BITS], or a message saying why not."""
    if isinstance(bits, (bool, np.bool_)) or not isinstance(bits, (int, np.integer)):
        raise TypeError(f"bits must be an integer such as 8 or 4, got {bits!r}.")
    if not 2 <= bits <= MAX_BITS:
        raise ValueError(
            f"bits must lie between 2 and {MAX_BITS}, got {bits}: with 1 bit the symmetric "
            "grid {-0, +0} has no room for a value, and more than 16 bits saves nothing."
        )
    return int(bits)


def symmetric_range(bits: int) -> int:
    """The largest code of a symmetric grid, ``2^(bits-1) - 1`` (127 for int8).

    The grid is [-qmax, qmax]: -128 is left out so that the grid is symmetric
    around 0 and ``-q`` is always a code.
    """
    return 2 ** (check_bits(bits) - 1) - 1


def asymmetric_range(bits: int) -> int:
    """The largest code of an unsigned affine grid, ``2^bits - 1`` (255 for uint8)."""
    return 2 ** check_bits(bits) - 1


def reduce_axes(ndim: int, axis: Any) -> tuple[int, ...]:
    """The axes a per-``axis`` statistic reduces over: all of them for ``axis=None``."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
        raise TypeError(
            f"axis must be None (one scale for the tensor) or an int (the channel axis), "
            f"got {axis!r}."
        )
    if not -ndim <= axis < ndim:
        raise ValueError(
            f"axis={axis} does not exist for a tensor with {ndim} dimension(s); for a (in, out) "
            "weight matrix, per output channel is axis=-1."
        )
    return tuple(i for i in range(ndim) if i != int(axis) % ndim)


def _as_numpy(x: Any) -> np.ndarray:
    """A NumPy view of an array or a (torch) tensor, for checks only."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def check_quantizable(w: Any, name: str = "w") -> None:
    """Refuse an empty tensor and NaN or infinite entries before computing a scale.

    One NaN makes ``max |w|`` NaN, the scale falls back to 1 and the whole
    tensor (or channel) comes back as codes that no longer mean anything, with
    no NaN left in sight to warn anyone.
    """
    if hasattr(w, "detach"):  # a torch tensor: check it where it lives (no copy to the CPU)
        size, finite = w.numel(), bool(w.isfinite().all())
    else:
        arr = np.asarray(w)
        size, finite = arr.size, bool(np.all(np.isfinite(arr)))
    if size == 0:
        raise ValueError(f"{name} is empty (shape {tuple(w.shape)}): there is nothing to quantise.")
    if not finite:
        raise ValueError(
            f"{name} contains NaN or infinite values: its scale max|{name}| / qmax would be "
            "meaningless and every code of the tensor wrong. Quantise finite weights only."
        )


def check_codes(q: Any, name: str = "q") -> None:
    """Integer codes only: float weights passed as codes would be truncated silently."""
    arr = _as_numpy(q)
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(
            f"{name} must hold integer codes, got dtype {arr.dtype}; did you pass the float "
            "weights themselves? Quantise them first: q, scale = quantize_symmetric(w)."
        )


def check_scale(scale: Any) -> None:
    """A scale is a positive, finite number (or array of them)."""
    if scale is None:
        raise TypeError("scale is None: pass the scale that quantisation returned with q.")
    arr = _as_numpy(scale)
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
        raise TypeError(f"scale must be a number or an array of numbers, got {scale!r}.")
    if arr.size == 0 or not np.all(np.isfinite(arr)) or not np.all(arr > 0):
        raise ValueError(
            f"scale must be positive and finite, got {arr.ravel()[:5].tolist()}: "
            "quantisation never produces a zero, negative or NaN scale."
        )


def check_zero_point(zero_point: Any) -> None:
    """A zero point is an integer code (an integer-valued float is accepted)."""
    arr = _as_numpy(zero_point)
    if arr.dtype == object or arr.dtype == bool or not np.issubdtype(arr.dtype, np.number):
        raise TypeError(f"zero_point must be an integer code, got {zero_point!r}.")
    if not np.issubdtype(arr.dtype, np.integer) and not np.all(arr == np.round(arr)):
        raise ValueError(
            f"zero_point must be a whole number (the code that stands for 0.0), got "
            f"{arr.ravel()[:5].tolist()}; a fractional zero point would be truncated."
        )


def int_dtype_name(bits: int, signed: bool) -> str:
    """The NumPy dtype that stores the codes: int8 / uint8 up to 8 bits, else int32."""
    if bits <= 8:
        return "int8" if signed else "uint8"
    return "int32"


# The names every backend module of this concept exports, with the same parameters
# (a backend may add trailing optional ones); tests/test_shared_api.py checks it.
SHARED_API = (
    "quantize_symmetric",
    "quantize_asymmetric",
    "quantize_per_channel",
    "dequantize",
    "fake_quantize",
    "int8_linear",
)

__all__ = [
    "SHARED_API",
    "MAX_BITS",
    "asymmetric_range",
    "backend",
    "check_bits",
    "check_codes",
    "check_quantizable",
    "check_scale",
    "check_zero_point",
    "int_dtype_name",
    "reduce_axes",
    "symmetric_range",
]
