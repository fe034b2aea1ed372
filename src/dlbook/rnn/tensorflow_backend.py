"""Recurrent layers on TensorFlow: the API of ``numpy_backend``, on real Keras layers.

Shape legend: B = batch size, T = time steps, D = input features, H = hidden units,
G = gate blocks (1 for the plain RNN, 4 for the LSTM, 3 for the GRU).

:class:`RNN`, :class:`LSTM` and :class:`GRU` wrap ``keras.layers.SimpleRNN``,
``keras.layers.LSTM`` and ``keras.layers.GRU``, so what the book trains here is
what a Keras user trains. Keras stores the same numbers as the book's canonical
layout (and PyTorch), but not always in the same place. ``get_weights`` and
``set_weights`` translate, following this table (Keras 3.15, whose source is
cited line by line below)::

    ====  ==========================  ==================================  =========================
    kind  canonical (PyTorch order)   Keras (``layer.cell``)              translation
    ====  ==========================  ==================================  =========================
    rnn   W_ih (D, H)                 kernel (D, H)                       the same
          W_hh (H, H)                 recurrent_kernel (H, H)             the same
          b_ih (H,), b_hh (H,)        bias (H,): ONE bias                 bias = b_ih + b_hh;
                                                                          reads back b_ih = bias,
                                                                          b_hh = 0
    lstm  W_ih (D, 4H): i, f, g, o    kernel (D, 4H): i, f, c, o          the same (Keras's "c"
          W_hh (H, 4H)                recurrent_kernel (H, 4H)            is PyTorch's "g")
          b_ih, b_hh (4H,)            bias (4H,): ONE bias                as rnn: the sum
    gru   W_ih (D, 3H): r, z, n       kernel (D, 3H): z, r, h             swap the first two
          W_hh (H, 3H): r, z, n       recurrent_kernel (H, 3H): z, r, h   H-blocks (r <-> z);
          b_ih, b_hh (3H,)            bias (2, 3H) = [input; recurrent]   Keras's "h" is "n"
    ====  ==========================  ==================================  =========================

Why one bias is enough for the RNN and the LSTM: both add ``b_ih`` and ``b_hh``
to the same pre-activation, so only their sum reaches the output. The split is
not identifiable, and ``get_weights`` makes a choice (all of it in ``b_ih``).
The GRU is different: its recurrent bias of the candidate sits *inside* the
reset gate, ``n = tanh(x W_in + b_in + r * (h W_hn + b_hn))``, so ``b_in`` and
``b_hn`` have different effects. Keras keeps them apart with ``reset_after=True``
(its default, set explicitly here), and the GRU translates exactly.

For the same reason :func:`sequence_loss_and_grads` returns, for the RNN and
the LSTM, ``grads["b_ih"] == grads["b_hh"] == dL/dbias``: the derivative with
respect to either half of a sum is the derivative with respect to the sum.

The layers are built with every option that could change the arithmetic set
explicitly: ``activation="tanh"``, ``recurrent_activation="sigmoid"``,
``use_bias=True``, ``unit_forget_bias=False`` (irrelevant once weights are set,
but it would add 1 to a bias we overwrite anyway), no dropout, zero
initialisers (the weights come from :func:`dlbook.rnn.init.init_rnn_weights`,
as in every backend). In float64 the layers really compute in float64: the
dtype goes to Keras as the layer's dtype policy, and inputs are cast to it.

Keras picks the kernel itself: on a GPU its LSTM and GRU (``use_cudnn="auto"``)
run through cuDNN, converting these same weights; on the CPU, and for SimpleRNN
always, a ``tf.while_loop`` over the cell's ``call``. The parity tests in
``tests/rnn/test_parity_keras.py`` run on the CPU. ``forward`` works eagerly and
inside ``tf.function`` (with unknown B and T).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlbook._lazy import import_tensorflow
from dlbook._tf import as_tensor, tf_dtype
from dlbook._validate import check_float_dtype
from dlbook.rnn import (
    WEIGHT_NAMES,
    check_input_shape,
    check_size,
    check_state_shapes,
    check_weights,
    init_rnn_weights,
    state_parts,
)

tf = import_tensorflow()
import keras  # noqa: E402  (after TensorFlow's quiet import, which it would trigger loudly)

# ---------------------------------------------------------------------------
# Layout translation: canonical <-> Keras (pure NumPy, one function per direction)
# ---------------------------------------------------------------------------


def _swap_rz(a: np.ndarray, H: int) -> np.ndarray:
    """Swap the first two H-blocks of the last axis: GRU (r, z, n) <-> Keras's (z, r, h).

    Keras's order is visible in gru.py: ``x_z, x_r, x_h = ops.split(matrix_x, 3, axis=-1)``
    (line 266) and ``recurrent_z = matrix_inner[:, : self.units]`` (line 279).
    The swap is its own inverse, so the same function translates both ways.
    """
    return np.concatenate([a[..., H : 2 * H], a[..., :H], a[..., 2 * H :]], axis=-1)


def canonical_to_keras(kind: str, weights: dict[str, np.ndarray]) -> list[np.ndarray]:
    """``[kernel, recurrent_kernel, bias]`` for ``layer.cell`` from the canonical dict.

    * rnn, lstm: ``bias = b_ih + b_hh``; simple_rnn.py adds one bias to ``x @ kernel``
      (lines 161-163), lstm.py adds one bias to ``x @ kernel + h @ recurrent_kernel``
      (lines 277-281), split as i, f, c, o (line 283 and ``_compute_carry_and_output_fused``,
      lines 221-228: i, f, o sigmoid; c tanh), which is PyTorch's i, f, g, o.
    * gru: every block swapped r <-> z; ``bias = [b_ih; b_hh]`` of shape (2, 3H), the
      input bias first (gru.py lines 191-194 split it into input_bias, recurrent_bias).
    """
    W_ih, W_hh, b_ih, b_hh = (np.asarray(weights[k]) for k in WEIGHT_NAMES)
    if kind == "gru":
        H = W_hh.shape[0]
        bias = np.stack([_swap_rz(b_ih, H), _swap_rz(b_hh, H)])  # (2, 3H): [input; recurrent]
        return [_swap_rz(W_ih, H), _swap_rz(W_hh, H), bias]
    return [W_ih, W_hh, b_ih + b_hh]  # (D, GH), (H, GH), (GH,)


def keras_to_canonical(
    kind: str, kernel: Any, recurrent_kernel: Any, bias: Any, *, gradient: bool = False
) -> dict[str, np.ndarray]:
    """The canonical dict from Keras's ``[kernel, recurrent_kernel, bias]`` (or their gradients).

    For rnn and lstm the single bias must be split. Weights (``gradient=False``):
    ``b_ih = bias, b_hh = 0``, so that ``b_ih + b_hh = bias``, the only identifiable
    quantity. Gradients (``gradient=True``): ``dL/db_ih = dL/db_hh = dL/dbias``.
    """
    kernel, recurrent_kernel, bias = (np.array(a) for a in (kernel, recurrent_kernel, bias))
    if kind == "gru":
        H = recurrent_kernel.shape[0]
        return {
            "W_ih": _swap_rz(kernel, H),
            "W_hh": _swap_rz(recurrent_kernel, H),
            "b_ih": _swap_rz(bias[0], H),  # (3H,)
            "b_hh": _swap_rz(bias[1], H),  # (3H,)
        }
    b_hh = bias.copy() if gradient else np.zeros_like(bias)
    return {"W_ih": kernel, "W_hh": recurrent_kernel, "b_ih": bias, "b_hh": b_hh}


# ---------------------------------------------------------------------------
# The three layers
# ---------------------------------------------------------------------------


class _KerasRecurrent(tf.Module):
    """Shared machinery: build the Keras layer, check inputs, translate weights."""

    kind = ""  # "rnn", "lstm" or "gru", set by each subclass

    def __init__(
        self, input_size: int, hidden_size: int, *, seed: int = 0, dtype: str = "float32"
    ) -> None:
        super().__init__()
        self.input_size = check_size(input_size, "input_size")  # D
        self.hidden_size = check_size(hidden_size, "hidden_size")  # H
        self.dtype = tf_dtype(dtype)
        self.layer = self._make_layer()
        self.layer.build((None, None, self.input_size))  # creates kernel, recurrent_kernel, bias
        w = init_rnn_weights(
            self.kind, self.input_size, self.hidden_size, seed=seed, dtype=check_float_dtype(dtype)
        )
        self.set_weights(w)

    def _make_layer(self) -> keras.layers.Layer:
        raise NotImplementedError

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}({self.input_size}, {self.hidden_size}, dtype={self.dtype.name}) on Keras"

    def _common_options(self) -> dict[str, Any]:
        """Options shared by the three Keras layers; zeros, as set_weights overwrites them."""
        return dict(
            units=self.hidden_size,
            activation="tanh",
            use_bias=True,
            return_sequences=True,  # outputs (B, T, H), not only the last step
            return_state=True,
            kernel_initializer="zeros",
            recurrent_initializer="zeros",
            bias_initializer="zeros",
            dtype=self.dtype.name,  # the dtype policy: variables AND computation
        )

    @property
    def params(self) -> list[Any]:
        """Keras's own variables ``[kernel, recurrent_kernel, bias]`` (Keras layout)."""
        cell = self.layer.cell
        return [cell.kernel, cell.recurrent_kernel, cell.bias]

    @property
    def trainable_variables(self) -> tuple[tf.Variable, ...]:
        """The ``tf.Variable`` objects behind :attr:`params` (Keras layout), for a tape.

        ``tf.Module`` would find none by itself: Keras 3 wraps its variables.
        """
        return tuple(v.value for v in self.params)

    @property
    def variables(self) -> tuple[tf.Variable, ...]:
        return self.trainable_variables

    # -- inputs -------------------------------------------------------------

    def _input(self, x: Any) -> tf.Tensor:
        """x as a (B, T, D) tensor of the model's dtype, checked with the shared message.

        Inside ``tf.function`` B and T may be unknown (None); only what is known is checked.
        """
        x = as_tensor(x, "x", dtype=self.dtype)
        if x.shape.rank is None:
            raise ValueError(f"{type(self).__name__} needs x of known rank 3, (B, T, D).")
        known = tuple(1 if s is None else s for s in x.shape)  # None: decided at run time
        check_input_shape(known, self.kind, self.input_size)
        return x

    def _state(self, state: Any, x: tf.Tensor, what: str = "state") -> list[tf.Tensor]:
        """A state (or its cotangent) as a list of (B, H) tensors, [h] or [h, c]; None: zeros."""
        B = x.shape[0] if x.shape[0] is not None else tf.shape(x)[0]  # tensor inside tf.function
        if state is None:
            n = 2 if self.kind == "lstm" else 1
            return [tf.zeros([B, self.hidden_size], self.dtype) for _ in range(n)]
        parts = [as_tensor(s, what, dtype=self.dtype) for s in state_parts(self.kind, state, what)]
        if isinstance(B, int):
            shapes = [tuple(p.shape) for p in parts]
            check_state_shapes(self.kind, shapes, B, self.hidden_size, what)
        return parts

    # -- forward ------------------------------------------------------------

    def _forward(self, x: tf.Tensor, state: list[tf.Tensor]) -> tuple[tf.Tensor, list[tf.Tensor]]:
        """Checked tensors in, (outputs (B, T, H), [h] or [h, c]) out."""
        outputs, *final = self.layer(x, initial_state=state)  # return_state: [out, h(, c)]
        return outputs, final

    def forward(self, x: Any, state: Any = None) -> tuple[tf.Tensor, Any]:
        """x (B, T, D) -> (outputs (B, T, H), final state: h (B, H), or (h, c) for the LSTM)."""
        x = self._input(x)  # (B, T, D)
        outputs, final = self._forward(x, self._state(state, x))
        return outputs, (final[0], final[1]) if self.kind == "lstm" else final[0]

    def __call__(self, x: Any, state: Any = None) -> tuple[tf.Tensor, Any]:
        return self.forward(x, state)

    # -- weights ------------------------------------------------------------

    def get_weights(self) -> dict[str, np.ndarray]:
        """Copies in the canonical layout (see the module's table).

        RNN and LSTM: Keras holds only ``b_ih + b_hh``; it comes back as ``b_ih``,
        with ``b_hh = 0``. GRU: exact, after swapping the r and z blocks back.
        """
        return keras_to_canonical(self.kind, *(v.numpy() for v in self.params))

    def set_weights(self, weights: dict[str, Any]) -> None:
        """Load canonical weights (names and shapes checked before anything is written)."""
        weights = check_weights(weights, self.kind, self.input_size, self.hidden_size)
        for var, value in zip(self.params, canonical_to_keras(self.kind, weights), strict=True):
            var.assign(np.asarray(value, dtype=self.dtype.as_numpy_dtype))


class RNN(_KerasRecurrent):
    """Elman RNN, ``h' = tanh(x W_ih + b_ih + h W_hh + b_hh)``, on ``keras.layers.SimpleRNN``."""

    kind = "rnn"

    def _make_layer(self) -> keras.layers.Layer:
        return keras.layers.SimpleRNN(**self._common_options())


class LSTM(_KerasRecurrent):
    """LSTM on ``keras.layers.LSTM``; state is the tuple ``(h, c)``.

    i, f, o = sigmoid, g = tanh; ``c' = f c + i g``, ``h' = o tanh(c')`` (lstm.py 221-228, 286).
    """

    kind = "lstm"

    def _make_layer(self) -> keras.layers.Layer:
        return keras.layers.LSTM(
            **self._common_options(), recurrent_activation="sigmoid", unit_forget_bias=False
        )


class GRU(_KerasRecurrent):
    """GRU on ``keras.layers.GRU(reset_after=True)``, PyTorch's equations exactly.

    ``n = tanh(x W_in + b_in + r (h W_hn + b_hn))``: gru.py adds the recurrent bias to
    ``h @ recurrent_kernel`` (lines 270-272), *then* the reset gate multiplies it (line 287),
    and ``hh = tanh(x_h + recurrent_h)`` (line 293); ``h' = z h + (1 - z) n`` (line 296).
    """

    kind = "gru"

    def _make_layer(self) -> keras.layers.Layer:
        return keras.layers.GRU(
            **self._common_options(), recurrent_activation="sigmoid", reset_after=True
        )


# ---------------------------------------------------------------------------
# Gradients through the tape
# ---------------------------------------------------------------------------


def sequence_loss_and_grads(
    model: _KerasRecurrent, x: Any, state: Any, d_outputs: Any, d_final: Any
) -> tuple[float, dict[str, np.ndarray], np.ndarray, Any]:
    """The probe loss ``L = sum(outputs * d_outputs) + sum(final * d_final)`` and its gradients.

    Its gradients are exactly the vector-Jacobian products with ``d_outputs`` and
    ``d_final``, which is what the NumPy backend's backward pass computes by hand.
    ``d_final`` is ``dh`` (B, H), or ``(dh, dc)`` for the LSTM; None means zeros.

    Returns ``(loss, grads, dx, dstate)``: ``grads`` in the canonical layout (RNN and
    LSTM: ``grads["b_ih"] == grads["b_hh"] == dL/dbias``), ``dx`` (B, T, D), and
    ``dstate`` shaped like the state (the gradient at the zero state if ``state`` is None).
    """
    x = model._input(x)  # (B, T, D)
    B, T, _ = x.shape
    h0 = model._state(state, x)  # [h] or [h, c], each (B, H)
    d_out = as_tensor(d_outputs, "d_outputs", dtype=model.dtype)
    if tuple(d_out.shape) != (B, T, model.hidden_size):
        raise ValueError(
            f"d_outputs must have the shape of the outputs, (B, T, H) = "
            f"{(B, T, model.hidden_size)}, got {tuple(d_out.shape)}."
        )
    d_fin = model._state(d_final, x, "d_final")  # shaped like the state; None means zeros
    with tf.GradientTape() as tape:
        tape.watch([x, *h0])
        outputs, final = model._forward(x, h0)
        loss = tf.reduce_sum(outputs * d_out)
        for f, d in zip(final, d_fin, strict=True):
            loss += tf.reduce_sum(f * d)
    g_kernel, g_rec, g_bias, dx, *dh0 = tape.gradient(loss, [*model.params, x, *h0])
    grads = keras_to_canonical(model.kind, g_kernel, g_rec, g_bias, gradient=True)
    dstate = tuple(d.numpy() for d in dh0) if model.kind == "lstm" else dh0[0].numpy()
    return float(loss), grads, dx.numpy(), dstate
