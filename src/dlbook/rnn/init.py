"""The canonical weight layout of a recurrent cell, and its initial weights.

Shape legend: D = input features, H = hidden units, G = gate blocks of the cell
(1 for ``"rnn"``, 4 for ``"lstm"``, 3 for ``"gru"``).

Every backend stores the same four arrays, in the book's (in, out) layout::

    {"W_ih": (D, G*H), "W_hh": (H, G*H), "b_ih": (G*H,), "b_hh": (G*H,)}

so that all gate pre-activations of one step are ``x @ W_ih + b_ih + h @ W_hh + b_hh``,
of shape (B, G*H). The G blocks of H columns follow **PyTorch's order**:
LSTM (i, f, g, o), GRU (r, z, n). PyTorch stores the transposes,
``weight_ih_l0 = W_ih.T`` of shape (G*H, D) and ``weight_hh_l0 = W_hh.T``.

:func:`init_rnn_weights` draws the initial weights once, in NumPy, so that the
NumPy, PyTorch and TensorFlow models start from identical numbers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlbook.seeding import make_rng

KINDS: tuple[str, ...] = ("rnn", "lstm", "gru")
GATES: dict[str, int] = {"rnn": 1, "lstm": 4, "gru": 3}  # G, the gate blocks of each cell
GATE_NAMES: dict[str, tuple[str, ...]] = {  # the blocks along the last axis, in order
    "rnn": ("h",),
    "lstm": ("i", "f", "g", "o"),  # input, forget, cell candidate, output
    "gru": ("r", "z", "n"),  # reset, update, new (candidate)
}
WEIGHT_NAMES: tuple[str, ...] = ("W_ih", "W_hh", "b_ih", "b_hh")


def check_kind(kind: Any) -> str:
    """Return ``kind`` if it names a cell, else explain which names exist."""
    if not isinstance(kind, str) or kind.lower() not in GATES:
        raise ValueError(
            f"Unknown cell kind {kind!r}; choose one of {', '.join(map(repr, KINDS))} "
            "(a vanilla tanh RNN, a long short-term memory, a gated recurrent unit)."
        )
    return kind.lower()


def check_size(value: Any, name: str) -> int:
    """A layer size (``input_size`` or ``hidden_size``) as a positive int."""
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
    if not ok or value < 1:
        raise ValueError(f"{name} must be a positive int (a number of features), got {value!r}.")
    return int(value)


def weight_shapes(kind: str, input_size: int, hidden_size: int) -> dict[str, tuple[int, ...]]:
    """The shape of each canonical weight: ``{"W_ih": (D, G*H), ...}``."""
    G, D, H = GATES[check_kind(kind)], input_size, hidden_size
    return {"W_ih": (D, G * H), "W_hh": (H, G * H), "b_ih": (G * H,), "b_hh": (G * H,)}


def init_rnn_weights(
    kind: str,
    input_size: int,
    hidden_size: int,
    *,
    seed: int | np.random.Generator = 0,
    dtype: str = "float64",
) -> dict[str, np.ndarray]:
    """Initial weights in the canonical layout, every entry ~ U(-1/sqrt(H), 1/sqrt(H)).

    This is PyTorch's default for ``nn.RNN``, ``nn.LSTM`` and ``nn.GRU`` (biases
    included), but drawn with a NumPy generator, in the order W_ih, W_hh, b_ih,
    b_hh, so that torch's global random state is never touched.
    """
    kind = check_kind(kind)
    D, H = check_size(input_size, "input_size"), check_size(hidden_size, "hidden_size")
    if str(dtype) not in ("float32", "float64"):
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}.")
    rng = make_rng(seed)
    bound = 1.0 / np.sqrt(H)
    return {
        name: rng.uniform(-bound, bound, size=shape).astype(dtype)
        for name, shape in weight_shapes(kind, D, H).items()  # insertion order: the draw order
    }
