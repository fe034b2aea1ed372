"""Recurrent layers on PyTorch: the API of ``numpy_backend``, on torch's own RNN modules.

Shape legend: B = batch, T = time steps, D = input features, H = hidden units,
G = gate blocks (1 for the RNN, 4 for the LSTM, 3 for the GRU).

:class:`RNN`, :class:`LSTM` and :class:`GRU` *are* ``torch.nn.RNN(nonlinearity="tanh")``,
``torch.nn.LSTM`` and ``torch.nn.GRU`` (one layer, ``batch_first=True``,
``bias=True``), so their parameters are torch's ``weight_ih_l0`` and friends and
the fused (cuDNN on a GPU) kernels run. Only the state convention differs:
torch's own modules take and return states of shape (num_layers, B, H); the
book's take h of shape (B, H), or (h, c) for the LSTM, like the other backends.

There are no ``*_backward`` functions: ``loss.backward()`` is backpropagation
through time, and ``tests/rnn/test_parity_torch.py`` checks it against the
hand-written BPTT of the NumPy backend. Truncated BPTT in torch is the
forward-then-detach pattern::

    for start, stop in dlbook.rnn.truncated_bptt_segments(T, k):
        out, state = model(x[:, start:stop], state)
        (out * d_outputs[:, start:stop]).sum().backward()  # gradients accumulate in .grad
        state = tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()

**Layout.** ``weight_ih_l0 = W_ih.T`` (G*H, D) and ``weight_hh_l0 = W_hh.T``
(G*H, H); the biases are the same. :meth:`get_weights` and :meth:`set_weights`
transpose.

**Device.** Models live on :func:`dlbook.device.get_device`; inputs and states
are moved there, and results come back to NumPy with ``.detach().cpu()``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlbook._lazy import import_torch
from dlbook._torch import as_tensor, to_numpy, torch_dtype
from dlbook.device import get_device
from dlbook.rnn import (
    check_input_shape,
    check_size,
    check_state_shapes,
    check_weights,
    state_parts,
)
from dlbook.rnn.init import init_rnn_weights

torch = import_torch()

# canonical name -> torch parameter name, and whether torch stores the transpose
_TORCH_NAMES = {
    "W_ih": ("weight_ih_l0", True),
    "W_hh": ("weight_hh_l0", True),
    "b_ih": ("bias_ih_l0", False),
    "b_hh": ("bias_hh_l0", False),
}


class _Recurrent:
    """The book's API on top of a torch recurrent module; mixed in before the torch class."""

    kind: str = ""

    def _setup(self, seed: int) -> None:
        """Allocate on the book's device and load the NumPy draw (torch's RNG is not touched)."""
        self.to_empty(device=get_device())  # the module was built on "meta": no memory, no RNG
        self.flatten_parameters()
        D, H = self.input_size, self.hidden_size
        self.set_weights(init_rnn_weights(self.kind, D, H, seed=seed))

    @property
    def device(self) -> torch.device:
        return self.weight_ih_l0.device

    @property
    def dtype(self) -> torch.dtype:
        return self.weight_ih_l0.dtype

    def _state_in(self, state: Any, batch: int) -> Any:
        """Book state (B, H) [or (h, c)] -> torch's (1, B, H) [or a pair of them]."""
        parts = [
            as_tensor(p, "state", device=self.device, dtype=self.dtype, move=True)
            for p in state_parts(self.kind, state)
        ]
        check_state_shapes(self.kind, [tuple(p.shape) for p in parts], batch, self.hidden_size)
        parts = [p.unsqueeze(0) for p in parts]  # (1, B, H): torch's num_layers axis
        return tuple(parts) if self.kind == "lstm" else parts[0]

    def _state_out(self, state: Any) -> Any:
        """torch's (1, B, H) [or a pair] -> the book's (B, H) [or (h, c)]."""
        if self.kind == "lstm":
            return state[0][0], state[1][0]  # (B, H), (B, H)
        return state[0]  # (B, H)

    def forward(self, x: Any, state: Any = None) -> tuple[torch.Tensor, Any]:
        """x (B, T, D) -> outputs (B, T, H), final state; arrays are converted and moved."""
        x = as_tensor(x, "x", device=self.device, dtype=self.dtype, move=True)
        B, _ = check_input_shape(tuple(x.shape), self.kind, self.input_size)
        torch_state = None if state is None else self._state_in(state, B)
        outputs, final = super().forward(x, torch_state)  # (B, T, H), (1, B, H)
        return outputs, self._state_out(final)

    def get_weights(self) -> dict[str, np.ndarray]:
        """NumPy copies in the canonical layout; ``W_ih = weight_ih_l0.T`` etc."""
        out = {}
        for key, (name, transposed) in _TORCH_NAMES.items():
            value = to_numpy(getattr(self, name))
            out[key] = (value.T if transposed else value).copy()  # copy: never share memory
        return out

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Load the canonical layout (names and shapes checked first); stores the transposes."""
        checked = check_weights(weights, self.kind, self.input_size, self.hidden_size)
        with torch.no_grad():
            for key, (name, transposed) in _TORCH_NAMES.items():
                value = np.ascontiguousarray(checked[key].T if transposed else checked[key])
                getattr(self, name).copy_(torch.as_tensor(value))  # (G*H, D), (G*H, H), (G*H,)

    def get_grads(self) -> dict[str, np.ndarray]:
        """The ``.grad`` of every parameter in the canonical layout (zeros where None)."""
        out = {}
        for key, (name, transposed) in _TORCH_NAMES.items():
            p = getattr(self, name)
            g = to_numpy(p.grad) if p.grad is not None else np.zeros(tuple(p.shape))
            out[key] = (g.T if transposed else g).copy()
        return out


def _sizes(input_size: int, hidden_size: int) -> tuple[int, int]:
    return check_size(input_size, "input_size"), check_size(hidden_size, "hidden_size")


class RNN(_Recurrent, torch.nn.RNN):
    """``torch.nn.RNN`` (tanh, one layer, batch first) with the book's constructor and API."""

    kind = "rnn"

    def __init__(
        self, input_size: int, hidden_size: int, *, seed: int = 0, dtype: str = "float32"
    ) -> None:
        super().__init__(
            *_sizes(input_size, hidden_size),
            nonlinearity="tanh",
            bias=True,
            batch_first=True,
            device="meta",
            dtype=torch_dtype(dtype),
        )
        self._setup(seed)


class LSTM(_Recurrent, torch.nn.LSTM):
    """``torch.nn.LSTM`` (one layer, batch first) with the book's constructor; state (h, c)."""

    kind = "lstm"

    def __init__(
        self, input_size: int, hidden_size: int, *, seed: int = 0, dtype: str = "float32"
    ) -> None:
        super().__init__(
            *_sizes(input_size, hidden_size),
            bias=True,
            batch_first=True,
            device="meta",
            dtype=torch_dtype(dtype),
        )
        self._setup(seed)


class GRU(_Recurrent, torch.nn.GRU):
    """``torch.nn.GRU`` (one layer, batch first) with the book's constructor and API."""

    kind = "gru"

    def __init__(
        self, input_size: int, hidden_size: int, *, seed: int = 0, dtype: str = "float32"
    ) -> None:
        super().__init__(
            *_sizes(input_size, hidden_size),
            bias=True,
            batch_first=True,
            device="meta",
            dtype=torch_dtype(dtype),
        )
        self._setup(seed)


def _leaf(a: Any, name: str, model: _Recurrent, requires_grad: bool = True) -> torch.Tensor:
    """A fresh leaf tensor on the model's device and dtype (recording its gradient if asked)."""
    t = as_tensor(a, name, device=model.device, dtype=model.dtype, move=True)
    return t.detach().clone().requires_grad_(requires_grad)


def _state_leaves(
    model: _Recurrent, value: Any, batch: int, name: str, requires_grad: bool
) -> list[torch.Tensor]:
    """The parts of a state-like value, [h] or [h, c], as checked leaf tensors; None is zeros."""
    if value is None:
        value = [np.zeros((batch, model.hidden_size))] * (2 if model.kind == "lstm" else 1)
        value = tuple(value) if model.kind == "lstm" else value[0]
    parts = [_leaf(p, name, model, requires_grad) for p in state_parts(model.kind, value, name)]
    check_state_shapes(model.kind, [tuple(p.shape) for p in parts], batch, model.hidden_size, name)
    return parts


def sequence_loss_and_grads(
    model: _Recurrent, x: Any, state: Any, d_outputs: Any, d_final: Any
) -> tuple[float, dict[str, np.ndarray], np.ndarray, Any]:
    """Loss ``sum(outputs * d_outputs) + sum(final * d_final)``; (grads, dx, dstate) by autograd.

    Everything returned is NumPy, in the canonical layout; ``state=None`` starts
    from zeros (dstate is still returned), ``d_final=None`` means zeros.
    """
    model.zero_grad(set_to_none=True)
    x = _leaf(x, "x", model)
    B, T = check_input_shape(tuple(x.shape), model.kind, model.input_size)
    s0 = _state_leaves(model, state, B, "state", requires_grad=True)
    d_fin = _state_leaves(model, d_final, B, "d_final", requires_grad=False)
    d_out = as_tensor(d_outputs, "d_outputs", device=model.device, dtype=model.dtype, move=True)
    if tuple(d_out.shape) != (B, T, model.hidden_size):
        raise ValueError(
            f"d_outputs must have the shape of the outputs, (B, T, H) = "
            f"{(B, T, model.hidden_size)}, got {tuple(d_out.shape)}."
        )
    outputs, final = model(x, tuple(s0) if model.kind == "lstm" else s0[0])  # (B, T, H), state
    finals = final if model.kind == "lstm" else (final,)
    loss = (outputs * d_out).sum() + sum((f * d).sum() for f, d in zip(finals, d_fin, strict=True))
    loss.backward()  # backpropagation through time, by autograd
    dstate = [to_numpy(s.grad) for s in s0]
    dstate = tuple(dstate) if model.kind == "lstm" else dstate[0]
    return loss.item(), model.get_grads(), to_numpy(x.grad), dstate
