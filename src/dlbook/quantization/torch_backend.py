"""Quantisation on PyTorch tensors: the API of ``numpy_backend``, plus PyTorch's own int8.

Shape legend: B = batch, D = features in, H = features out. The functions take
canonical (D, H) weights, like the NumPy backend; :class:`Int8Linear` keeps
``torch.nn.Linear``'s (H, D) layout internally.

Two int8 paths for a whole model:

* :func:`quantize_linears` swaps every ``nn.Linear`` for :class:`Int8Linear`, our
  from-scratch module: int8 weights per output channel, inputs quantised per row
  on the fly, and ``torch._int_mm`` (int8 x int8 -> int32) for the product.
* :func:`dynamic_quantize` calls PyTorch's ``torch.ao.quantization.quantize_dynamic``.
  PyTorch 2.13 still ships it but marks ``torch.ao.quantization`` as deprecated in
  favour of the separate ``torchao`` package, which the book does not install; the
  function silences exactly that warning. Its fbgemm/x86 kernels run on the CPU only.
"""

from __future__ import annotations

import contextlib
import copy
import io
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

from dlbook._lazy import import_torch
from dlbook._torch import as_tensor
from dlbook.quantization import (
    asymmetric_range,
    check_codes,
    check_quantizable,
    check_scale,
    check_zero_point,
    int_dtype_name,
    reduce_axes,
    symmetric_range,
)

torch = import_torch()
nn = torch.nn

_INT_DTYPES = {"int8": torch.int8, "uint8": torch.uint8, "int32": torch.int32}


@contextlib.contextmanager
def _quiet_deprecations() -> Iterator[None]:
    """Silence PyTorch's two deprecation warnings about its quantisation API, and no other.

    ``torch.ao.quantization`` points to the separate ``torchao`` package, and the
    quantised tensor types (``torch.qint8``) are marked for removal. Both still work
    in PyTorch 2.13; the book uses them as references and says so in the text.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"(?s).*torch\.ao\.quantization is deprecated")
        warnings.filterwarnings("ignore", message=r"(?s).*quantized tensor creation functions")
        yield


def _nonzero_scale(scale: torch.Tensor) -> torch.Tensor:
    """Scale 1.0 for an all-zero channel, whose codes are all 0 whatever the scale."""
    return torch.where(scale > 0, scale, torch.ones_like(scale))


def _amax(w: torch.Tensor, axes: tuple[int, ...]) -> torch.Tensor:
    return torch.amax(w, dim=axes, keepdim=True) if axes else w.clone()


def quantize_symmetric(w: Any, axis: int | None = None, bits: int = 8) -> tuple[Any, Any]:
    """``(q, scale)`` with q = clip(round(w / scale), -qmax, qmax), scale = ``max |w| / qmax``."""
    w = as_tensor(w, "w", device="cpu")
    check_quantizable(w, "w")
    qmax = symmetric_range(bits)
    scale = _nonzero_scale(_amax(w.abs(), reduce_axes(w.ndim, axis)) / qmax)  # (1, H) for -1
    q = torch.clamp(torch.round(w / scale), -qmax, qmax)
    return q.to(_INT_DTYPES[int_dtype_name(bits, signed=True)]), scale


def quantize_per_channel(w: Any, bits: int = 8) -> tuple[Any, Any]:
    """One scale per output channel of a (D, H) weight: ``quantize_symmetric(w, axis=-1)``."""
    return quantize_symmetric(w, axis=-1, bits=bits)


def quantize_asymmetric(w: Any, axis: int | None = None, bits: int = 8) -> tuple[Any, Any, Any]:
    """``(q, scale, zero_point)`` on the grid [0, 2^bits - 1]; the range always contains 0."""
    w = as_tensor(w, "w", device="cpu")
    check_quantizable(w, "w")
    qmax = asymmetric_range(bits)
    axes = reduce_axes(w.ndim, axis)
    lo = torch.clamp(-_amax(-w, axes), max=0.0)  # min(w, 0)
    hi = torch.clamp(_amax(w, axes), min=0.0)  # max(w, 0)
    scale = _nonzero_scale((hi - lo) / qmax)
    zero_point = torch.clamp(torch.round(-lo / scale), 0, qmax).to(torch.int32)
    q = torch.clamp(torch.round(w / scale) + zero_point, 0, qmax)
    return q.to(_INT_DTYPES[int_dtype_name(bits, signed=False)]), scale, zero_point


def dequantize(q: Any, scale: Any, zero_point: Any = None, *, dtype: str = "float32") -> Any:
    """``(q - zero_point) * scale`` as a float tensor (float32 unless ``dtype="float64"``)."""
    check_codes(q, "q")
    check_scale(scale)
    q = torch.as_tensor(q)
    codes = q.to(torch.int64)
    if zero_point is not None:
        check_zero_point(zero_point)
        zero_point = torch.round(torch.as_tensor(zero_point, device=q.device).double())
        codes = codes - zero_point.to(torch.int64)
    scale = torch.as_tensor(scale, device=q.device).to(torch.float64)
    return (codes * scale).to(getattr(torch, dtype))


def fake_quantize(w: Any, axis: int | None = None, bits: int = 8) -> Any:
    """Quantise symmetrically and dequantise, in ``w``'s float dtype."""
    w = as_tensor(w, "w", device="cpu")
    return dequantize(*quantize_symmetric(w, axis, bits), dtype=str(w.dtype).split(".")[-1])


def _int_matmul(a: Any, b: Any) -> Any:
    """int8 (B, D) @ int8 (D, H) -> int32 (B, H), exactly.

    ``torch._int_mm`` runs on the CPU for any shape; on CUDA it needs B > 16 and
    D, H multiples of 8. Elsewhere float64 computes the same integers exactly.
    """
    B, D = a.shape
    H = b.shape[1]
    if a.device.type == "cpu" or (B > 16 and D % 8 == 0 and H % 8 == 0):
        return torch._int_mm(a, b)
    return (a.to(torch.float64) @ b.to(torch.float64)).to(torch.int32)


def int8_linear(x: Any, q_w: Any, w_scale: Any, b: Any) -> Any:
    """y = x @ W + b with int8 operands and int32 accumulation (see the NumPy backend).

    ``q_w`` (D, H) int8 and ``w_scale`` (1, H) come from ``quantize_per_channel(W)``.
    """
    x = as_tensor(x, "x", device="cpu")
    check_quantizable(x, "x")
    check_codes(q_w, "q_w")
    check_scale(w_scale)
    if x.ndim != 2 or q_w.ndim != 2 or x.shape[1] != q_w.shape[0]:
        raise ValueError(
            f"int8_linear: x has shape {tuple(x.shape)} but q_w has shape {tuple(q_w.shape)}; "
            f"x needs {q_w.shape[0]} columns, one per input feature."
        )
    q_x, x_scale = quantize_symmetric(x, axis=0)  # (B, D) int8, (B, 1)
    acc = _int_matmul(q_x, q_w)  # (B, H) int32
    return (acc * (x_scale * w_scale) + b).to(torch.float32)  # (B,1)*(1,H) -> (B, H)


class Int8Linear(nn.Module):
    """A from-scratch int8 replacement for ``nn.Linear`` (weights per output channel).

    Built from a float layer: ``Int8Linear.from_float(linear)``. The weight is stored
    as int8 codes in the (D, H) layout and a float32 scale (1, H); the bias stays float.
    """

    def __init__(self, q_w: Any, w_scale: Any, bias: Any) -> None:
        super().__init__()
        self.register_buffer("q_w", q_w)  # (D, H) int8
        self.register_buffer("w_scale", w_scale.to(torch.float32))  # (1, H)
        self.register_buffer("bias", bias.detach().to(torch.float32))  # (H,)

    @classmethod
    def from_float(cls, linear: Any) -> Int8Linear:
        """Quantise a float ``nn.Linear`` (weight (H, D)) per output channel."""
        q_w, w_scale = quantize_per_channel(linear.weight.detach().T)  # (D, H), (1, H)
        bias = linear.bias if linear.bias is not None else torch.zeros(q_w.shape[1])
        return cls(q_w.contiguous(), w_scale, bias.to(q_w.device))

    def forward(self, x: Any) -> Any:
        return int8_linear(x, self.q_w, self.w_scale, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.q_w.shape[0]}, out_features={self.q_w.shape[1]}, int8"


def quantize_linears(model: Any) -> Any:
    """A copy of ``model`` with every ``nn.Linear`` replaced by :class:`Int8Linear`."""
    if isinstance(model, nn.Linear):
        return Int8Linear.from_float(model)
    model = copy.deepcopy(model)
    for parent in list(model.modules()):
        for attr, child in list(parent.named_children()):
            if isinstance(child, nn.Linear):
                setattr(parent, attr, Int8Linear.from_float(child))
    return model


def dynamic_quantize(model: Any) -> Any:
    """PyTorch's dynamic int8 quantisation of every ``nn.Linear`` of a CPU copy of ``model``.

    ``torch.ao.quantization`` warns that it is deprecated (its successor, ``torchao``, is a
    separate package). The warning is silenced here, and only here, on purpose: the
    function still works in PyTorch 2.13 and is the reference we compare against.
    """
    model = copy.deepcopy(model).cpu().eval()
    with _quiet_deprecations():
        from torch.ao.quantization import quantize_dynamic

        return quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)


def module_nbytes(model: Any) -> int:
    """Bytes of ``model``'s ``state_dict`` as ``torch.save`` writes it: its size on disk."""
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.getbuffer().nbytes


def reference_per_channel(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's own ``torch.quantize_per_channel`` with our scales, as a check on ours.

    ``w`` is (D, H); torch takes the channel axis explicitly (here 1) and zero points
    of 0, and returns a quantised tensor whose ``int_repr()`` are the int8 codes.
    PyTorch marks its quantised tensor types as deprecated; the warning is silenced.
    """
    w_t = torch.as_tensor(np.asarray(w, dtype=np.float32))
    _, scale = quantize_per_channel(w_t)  # (1, H)
    with _quiet_deprecations():
        qt = torch.quantize_per_channel(
            w_t, scale[0].double(), torch.zeros(w_t.shape[1], dtype=torch.int64), 1, torch.qint8
        )
    return qt.int_repr().numpy(), scale.numpy()
