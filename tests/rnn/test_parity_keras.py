"""``dlbook.rnn.tensorflow_backend`` (real Keras layers) against the canonical model, float64.

The reference is the from-scratch NumPy backend (hand-written BPTT), and, as a
second, independent oracle, ``torch.nn.RNN/LSTM/GRU`` with the weights copied.
Keras must agree with both to 1e-10 in the forward pass and 1e-8 in every
gradient; measured (TF 2.21, Keras 3.15, CPU), the largest difference over all
cases is 3.6e-15 (outputs, states and weight gradients) and 6.7e-16 (dx, dstate).
Then one test per row of the translation table in ``dlbook/rnn/tensorflow_backend.py``
shows why that row is needed: without the GRU's r <-> z swap, or with its bias rows
exchanged, Keras computes another model; for the RNN and LSTM only b_ih + b_hh matters.
"""

from __future__ import annotations

import inspect
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

from dlbook.rnn import init_rnn_weights
from dlbook.rnn import numpy_backend as rnn_np

tf = pytest.importorskip("dlbook._lazy").import_tensorflow()
keras = pytest.importorskip("keras")
rnn_tf = pytest.importorskip("dlbook.rnn.tensorflow_backend")

KINDS = ("rnn", "lstm", "gru")
CLASSES = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}
SHAPES = [  # (B, T, D, H)
    (1, 1, 3, 2),  # one sequence, one step
    (3, 1, 4, 5),  # one step, a batch
    (1, 6, 2, 3),  # one sequence, several steps
    (2, 5, 3, 4),
    (4, 9, 3, 6),  # long enough for the recurrence to matter
]
FORWARD_TOL = 1e-10  # outputs and final states
GRAD_TOL = 1e-8  # weight gradients, dx, dstate


def shape_id(shape: tuple[int, ...]) -> str:
    return "B{}-T{}-D{}-H{}".format(*shape)


def make_case(kind: str, shape: tuple[int, ...], with_state: bool, seed: int = 0) -> dict:
    """Weights, inputs, an initial state (or None) and the upstream gradients of one test."""
    B, T, D, H = shape
    rng = np.random.default_rng(seed)
    n = 2 if kind == "lstm" else 1  # (h, c) or h
    pack = (lambda parts: tuple(parts)) if kind == "lstm" else (lambda parts: parts[0])
    return {
        "weights": init_rnn_weights(kind, D, H, seed=seed + 1),
        "x": rng.normal(size=(B, T, D)),
        "state": pack([rng.normal(size=(B, H)) for _ in range(n)]) if with_state else None,
        "d_outputs": rng.normal(size=(B, T, H)),
        "d_final": pack([rng.normal(size=(B, H)) for _ in range(n)]),
    }


def parts(state: Any) -> list[np.ndarray]:
    """[h] or [h, c] as NumPy arrays, whatever the backend returned."""
    items = state if isinstance(state, (tuple, list)) else [state]
    return [np.asarray(s.detach() if hasattr(s, "detach") else s) for s in items]


def max_err(a: Any, b: Any) -> float:
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))))


def keras_run(kind: str, case: dict) -> dict:
    """Forward and backward on the TensorFlow backend."""
    model = getattr(rnn_tf, CLASSES[kind])(
        case["weights"]["W_ih"].shape[0], case["weights"]["W_hh"].shape[0], dtype="float64"
    )
    model.set_weights(case["weights"])
    outputs, final = model(case["x"], case["state"])
    loss, grads, dx, dstate = rnn_tf.sequence_loss_and_grads(
        model, case["x"], case["state"], case["d_outputs"], case["d_final"]
    )
    return {
        "outputs": outputs.numpy(),
        "final": parts(final),
        "loss": loss,
        "grads": grads,
        "dx": dx,
        "dstate": parts(dstate),
    }


def rnn_np_model(kind: str, weights: dict) -> Any:
    D, H = weights["W_ih"].shape[0], weights["W_hh"].shape[0]
    model = getattr(rnn_np, CLASSES[kind])(D, H, dtype="float64")
    model.set_weights(weights)
    return model


def numpy_run(kind: str, case: dict) -> dict:
    """The same on the from-scratch NumPy backend: the canonical model."""
    model = rnn_np_model(kind, case["weights"])
    outputs, final = model(case["x"], case["state"])
    loss, grads, dx, dstate = rnn_np.sequence_loss_and_grads(
        model, case["x"], case["state"], case["d_outputs"], case["d_final"]
    )
    return {
        "outputs": np.asarray(outputs),
        "final": parts(final),
        "loss": loss,
        "grads": grads,
        "dx": dx,
        "dstate": parts(dstate),
    }


def torch_run(kind: str, case: dict) -> dict:
    """An independent oracle: ``torch.nn.RNN/LSTM/GRU`` with the canonical weights copied in.

    PyTorch stores (out, in): ``weight_ih_l0 = W_ih.T``; its gate blocks are already
    in the canonical order, and its states carry a leading num_layers axis of 1.
    """
    torch = pytest.importorskip("torch")
    w = case["weights"]
    D, H = w["W_ih"].shape[0], w["W_hh"].shape[0]
    cls = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind]
    module = cls(D, H, batch_first=True).double()
    with torch.no_grad():
        module.weight_ih_l0.copy_(torch.from_numpy(w["W_ih"].T))
        module.weight_hh_l0.copy_(torch.from_numpy(w["W_hh"].T))
        module.bias_ih_l0.copy_(torch.from_numpy(w["b_ih"]))
        module.bias_hh_l0.copy_(torch.from_numpy(w["b_hh"]))
    x = torch.tensor(case["x"], requires_grad=True)
    B = x.shape[0]
    n = 2 if kind == "lstm" else 1
    given = parts(case["state"]) if case["state"] is not None else [np.zeros((B, H))] * n
    h0 = [torch.tensor(s[None], requires_grad=True) for s in given]  # (1, B, H) each
    outputs, final = module(x, tuple(h0) if kind == "lstm" else h0[0])
    final = list(final) if kind == "lstm" else [final]
    loss = (outputs * torch.from_numpy(case["d_outputs"])).sum()
    for f, d in zip(final, parts(case["d_final"]), strict=True):
        loss = loss + (f[0] * torch.from_numpy(d)).sum()
    loss.backward()
    grads = {
        "W_ih": module.weight_ih_l0.grad.numpy().T,
        "W_hh": module.weight_hh_l0.grad.numpy().T,
        "b_ih": module.bias_ih_l0.grad.numpy(),
        "b_hh": module.bias_hh_l0.grad.numpy(),
    }
    return {
        "outputs": outputs.detach().numpy(),
        "final": [f[0].detach().numpy() for f in final],
        "loss": float(loss.detach()),
        "grads": grads,
        "dx": x.grad.numpy(),
        "dstate": [h.grad[0].numpy() for h in h0],
    }


def parity_errors(kind: str, ours: dict, ref: dict) -> dict[str, float]:
    """Largest absolute difference of each quantity."""
    errors = {
        "outputs": max_err(ours["outputs"], ref["outputs"]),
        "loss": abs(ours["loss"] - ref["loss"]),
    }
    errors["final"] = max(max_err(a, b) for a, b in zip(ours["final"], ref["final"], strict=True))
    for name in ("W_ih", "W_hh", "b_ih", "b_hh"):
        errors[name] = max_err(ours["grads"][name], ref["grads"][name])
    errors["dx"] = max_err(ours["dx"], ref["dx"])
    errors["dstate"] = max(
        max_err(a, b) for a, b in zip(ours["dstate"], ref["dstate"], strict=True)
    )
    return errors


def assert_parity(errors: dict[str, float]) -> None:
    for name, err in errors.items():
        tol = FORWARD_TOL if name in ("outputs", "final", "loss") else GRAD_TOL
        assert err <= tol, f"{name} differs by {err:.2e} (tolerance {tol:.0e}); all: {errors}"


# -- parity: Keras against the canonical model, and against PyTorch -------------------------


@pytest.mark.parametrize("with_state", [False, True], ids=["zero-state", "given-state"])
@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
@pytest.mark.parametrize("kind", KINDS)
def test_keras_matches_numpy_backend(kind: str, shape: tuple, with_state: bool) -> None:
    case = make_case(kind, shape, with_state)
    assert_parity(parity_errors(kind, keras_run(kind, case), numpy_run(kind, case)))


@pytest.mark.parametrize("with_state", [False, True], ids=["zero-state", "given-state"])
@pytest.mark.parametrize("shape", SHAPES[1::2], ids=shape_id)
@pytest.mark.parametrize("kind", KINDS)
def test_keras_matches_torch(kind: str, shape: tuple, with_state: bool) -> None:
    """A second oracle that shares no code with the book: ``torch.nn`` itself."""
    case = make_case(kind, shape, with_state, seed=7)
    assert_parity(parity_errors(kind, keras_run(kind, case), torch_run(kind, case)))


@pytest.mark.parametrize("kind", KINDS)
def test_single_bias_gradient_is_the_gradient_of_the_sum(kind: str) -> None:
    """RNN and LSTM: Keras has one bias, so dL/db_ih and dL/db_hh are both dL/dbias."""
    ours = keras_run(kind, make_case(kind, (2, 4, 3, 4), with_state=True))
    same = np.array_equal(ours["grads"]["b_ih"], ours["grads"]["b_hh"])
    assert same == (kind != "gru"), "only the GRU has two distinct bias gradients"


# -- one test per row of the translation table -----------------------------------------------


def keras_layer_loaded(kind: str, keras_weights: list[np.ndarray], D: int, **options: Any) -> Any:
    """A bare Keras layer of the same kind with the given [kernel, recurrent_kernel, bias]."""
    H = keras_weights[1].shape[0]
    cls = {"rnn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}
    layer = cls[kind](H, return_sequences=True, return_state=True, dtype="float64", **options)
    layer.build((None, None, D))
    layer.set_weights(keras_weights)
    return layer


def test_gru_needs_the_rz_swap() -> None:
    """Loading PyTorch's (r, z, n) blocks straight into Keras's (z, r, h) gives another model."""
    D, H = 3, 4
    case = make_case("gru", (2, 5, D, H), with_state=False)
    w = case["weights"]
    ref = numpy_run("gru", case)["outputs"]
    swapped = keras_layer_loaded("gru", rnn_tf.canonical_to_keras("gru", w), D)
    naive = keras_layer_loaded("gru", [w["W_ih"], w["W_hh"], np.stack([w["b_ih"], w["b_hh"]])], D)
    assert max_err(swapped(case["x"])[0], ref) < FORWARD_TOL
    assert max_err(naive(case["x"])[0], ref) > 1e-2, "without the swap the GRU must differ"


def test_gru_bias_rows_are_input_then_recurrent() -> None:
    """Keras's GRU bias (2, 3H): row 0 is b_ih, row 1 b_hh; swapping the rows changes the model."""
    D = 3
    case = make_case("gru", (2, 5, D, 4), with_state=False)
    kernel, rec, bias = rnn_tf.canonical_to_keras("gru", case["weights"])
    ref = numpy_run("gru", case)["outputs"]
    rows_swapped = keras_layer_loaded("gru", [kernel, rec, bias[::-1]], D)
    assert max_err(rows_swapped(case["x"])[0], ref) > 1e-3


@pytest.mark.parametrize("kind", KINDS)
def test_only_the_bias_sum_matters_except_in_the_gru(kind: str) -> None:
    """Moving a shift from b_hh to b_ih: invisible to the RNN and LSTM, not to the GRU.

    That is why Keras can keep one bias for the first two (the sum), and why its GRU
    with ``reset_after=True`` keeps two: b_hn sits inside r * (h W_hn + b_hn).
    """
    case = make_case(kind, (2, 5, 3, 4), with_state=True)
    shift = np.random.default_rng(3).normal(size=case["weights"]["b_ih"].shape)
    moved = dict(
        case["weights"], b_ih=case["weights"]["b_ih"] + shift, b_hh=case["weights"]["b_hh"] - shift
    )
    before = numpy_run(kind, case)["outputs"]
    after_ref = numpy_run(kind, dict(case, weights=moved))["outputs"]
    after_keras = keras_run(kind, dict(case, weights=moved))["outputs"]
    assert (
        max_err(after_keras, after_ref) < FORWARD_TOL
    )  # Keras follows the canonical model either way
    if kind == "gru":
        assert max_err(after_ref, before) > 1e-3
    else:
        assert max_err(after_ref, before) < 1e-12


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_keras_stores_the_bias_sum(kind: str) -> None:
    model = getattr(rnn_tf, CLASSES[kind])(3, 4, dtype="float64")
    w = init_rnn_weights(kind, 3, 4, seed=5)
    model.set_weights(w)
    assert model.layer.cell.bias.shape == w["b_ih"].shape
    np.testing.assert_array_equal(model.layer.cell.bias.numpy(), w["b_ih"] + w["b_hh"])


def test_lstm_gate_order_needs_no_reorder() -> None:
    """Keras's (i, f, c, o) is PyTorch's (i, f, g, o): the kernels go in unchanged."""
    w = init_rnn_weights("lstm", 3, 4, seed=2)
    kernel, rec, _ = rnn_tf.canonical_to_keras("lstm", w)
    np.testing.assert_array_equal(kernel, w["W_ih"])
    np.testing.assert_array_equal(rec, w["W_hh"])


def test_unit_forget_bias_does_not_interfere_once_weights_are_set() -> None:
    """Keras's default LSTM adds 1 to the forget bias at build time; set_weights overwrites it."""
    D = 3
    case = make_case("lstm", (2, 5, D, 4), with_state=False)
    default = keras_layer_loaded(
        "lstm", rnn_tf.canonical_to_keras("lstm", case["weights"]), D, unit_forget_bias=True
    )
    assert max_err(default(case["x"])[0], numpy_run("lstm", case)["outputs"]) < FORWARD_TOL


@pytest.mark.parametrize("kind", KINDS)
def test_keras_options_are_pinned(kind: str) -> None:
    """The options that change the arithmetic, set explicitly rather than left to defaults."""
    model = getattr(rnn_tf, CLASSES[kind])(2, 3)
    config = model.layer.get_config()
    assert config["activation"] == "tanh" and config["use_bias"] is True
    assert config["return_sequences"] and config["return_state"]
    assert config["dropout"] == 0.0 and config["recurrent_dropout"] == 0.0
    if kind != "rnn":
        assert config["recurrent_activation"] == "sigmoid"
    if kind == "gru":
        assert config["reset_after"] is True


# -- weights: round trip, initialisation, dtype ----------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_get_set_weights_round_trip(kind: str) -> None:
    """Exact for the GRU; for RNN and LSTM the kernels are exact and the bias SUM is kept."""
    model = getattr(rnn_tf, CLASSES[kind])(3, 5, dtype="float64")
    w = init_rnn_weights(kind, 3, 5, seed=11)
    model.set_weights(w)
    back = model.get_weights()
    assert set(back) == {"W_ih", "W_hh", "b_ih", "b_hh"}
    np.testing.assert_array_equal(back["W_ih"], w["W_ih"])
    np.testing.assert_array_equal(back["W_hh"], w["W_hh"])
    np.testing.assert_array_equal(back["b_ih"] + back["b_hh"], w["b_ih"] + w["b_hh"])
    if kind == "gru":
        np.testing.assert_array_equal(back["b_ih"], w["b_ih"])
        np.testing.assert_array_equal(back["b_hh"], w["b_hh"])
    else:  # the documented split of the one Keras bias
        np.testing.assert_array_equal(back["b_hh"], 0.0)
    x = np.random.default_rng(0).normal(size=(2, 4, 3))
    before = model(x)[0].numpy()
    model.set_weights(back)  # loading what get_weights gave changes nothing
    np.testing.assert_array_equal(model(x)[0].numpy(), before)
    back["W_ih"][:] = 0.0  # get_weights returns copies
    assert np.any(model.get_weights()["W_ih"] != 0.0)


@pytest.mark.parametrize("kind", KINDS)
def test_starts_from_the_shared_initialisation(kind: str) -> None:
    """``LSTM(3, 5, seed=4)`` holds init_rnn_weights(kind, 3, 5, seed=4), as in every backend."""
    model = getattr(rnn_tf, CLASSES[kind])(3, 5, seed=4, dtype="float64")
    w, got = init_rnn_weights(kind, 3, 5, seed=4), model.get_weights()
    np.testing.assert_array_equal(got["W_ih"], w["W_ih"])
    np.testing.assert_array_equal(got["b_ih"] + got["b_hh"], w["b_ih"] + w["b_hh"])


@pytest.mark.parametrize("kind", KINDS)
def test_dtype_is_really_used(kind: str) -> None:
    """float64 computes in float64 (variables and outputs); float32 is the default."""
    case = make_case(kind, (2, 6, 3, 4), with_state=False)
    m64 = getattr(rnn_tf, CLASSES[kind])(3, 4, dtype="float64")
    m32 = getattr(rnn_tf, CLASSES[kind])(3, 4)
    for m in (m64, m32):
        m.set_weights(case["weights"])
    out64, out32 = m64(case["x"])[0], m32(case["x"])[0]
    assert out64.dtype == tf.float64 and out32.dtype == tf.float32
    assert all(v.dtype == "float64" for v in m64.layer.weights)
    err32 = max_err(out32.numpy(), out64.numpy())
    assert 1e-9 < err32 < 1e-5, "float32 rounding shows, so the float64 match is not an accident"


def test_accepts_tensors_and_the_tape_sees_them() -> None:
    """tf tensors (any float dtype) go in as they are, so an outer GradientTape works."""
    model = rnn_tf.LSTM(3, 4, dtype="float64")
    x = tf.constant(np.ones((2, 5, 3), dtype=np.float32))  # float32: cast inside, differentiably
    h0 = (tf.zeros((2, 4), tf.float64), tf.ones((2, 4), tf.float64))
    with tf.GradientTape() as tape:
        tape.watch([x, *h0])
        outputs, (h, c) = model(x, h0)
        loss = tf.reduce_sum(outputs) + tf.reduce_sum(c)
    dx, dh0, dc0 = tape.gradient(loss, [x, *h0])
    assert dx.shape == (2, 5, 3) and dx.dtype == tf.float32
    assert dh0.shape == dc0.shape == (2, 4)


@pytest.mark.parametrize("kind", KINDS)
def test_trainable_variables_work_with_a_tape(kind: str) -> None:
    """tf.Module finds no variables inside a Keras 3 layer; the model lists them itself."""
    case = make_case(kind, (2, 4, 3, 5), with_state=False)
    model = getattr(rnn_tf, CLASSES[kind])(3, 5, dtype="float64")
    model.set_weights(case["weights"])
    assert len(model.trainable_variables) == 3
    assert all(isinstance(v, tf.Variable) for v in model.trainable_variables)
    with tf.GradientTape() as tape:
        outputs, _ = model(case["x"])
        loss = tf.reduce_sum(outputs * case["d_outputs"])
    keras_grads = tape.gradient(loss, model.trainable_variables)
    grads = rnn_tf.keras_to_canonical(kind, *keras_grads, gradient=True)
    _, ref, _, _ = rnn_np.sequence_loss_and_grads(
        rnn_np_model(kind, case["weights"]), case["x"], None, case["d_outputs"], None
    )
    for name in grads:
        assert max_err(grads[name], ref[name]) < GRAD_TOL, name


@pytest.mark.parametrize("kind", KINDS)
def test_forward_inside_tf_function(kind: str) -> None:
    """Compiled once for any batch and length (B, T unknown at trace time), same numbers."""
    model = getattr(rnn_tf, CLASSES[kind])(3, 4, dtype="float64")
    spec = tf.TensorSpec((None, None, 3), tf.float64)
    compiled = tf.function(lambda x: model(x)[0], input_signature=[spec])
    for shape in [(2, 5, 3), (1, 1, 3), (4, 7, 3)]:
        x = np.random.default_rng(0).normal(size=shape)
        np.testing.assert_array_equal(compiled(x).numpy(), model(x)[0].numpy())


def test_d_final_none_means_zeros() -> None:
    """As in the NumPy backend: no gradient arrives at the final state."""
    case = make_case("lstm", (2, 4, 3, 5), with_state=True)
    zeros = (np.zeros((2, 5)), np.zeros((2, 5)))
    model = rnn_tf.LSTM(3, 5, dtype="float64")
    a = rnn_tf.sequence_loss_and_grads(model, case["x"], case["state"], case["d_outputs"], None)
    b = rnn_tf.sequence_loss_and_grads(model, case["x"], case["state"], case["d_outputs"], zeros)
    assert a[0] == b[0]
    np.testing.assert_array_equal(a[2], b[2])


def test_same_public_api_as_the_numpy_backend() -> None:
    for name in ("RNN", "LSTM", "GRU", "sequence_loss_and_grads"):
        assert hasattr(rnn_tf, name), f"tensorflow_backend lacks {name}"
    for name in ("RNN", "LSTM", "GRU"):
        ours = inspect.signature(getattr(rnn_tf, name).__init__)
        theirs = inspect.signature(getattr(rnn_np, name).__init__)
        assert list(ours.parameters) == list(theirs.parameters)
    for name in ("forward", "get_weights", "set_weights"):
        ours = inspect.signature(getattr(rnn_tf.GRU, name))
        assert list(ours.parameters) == list(
            inspect.signature(getattr(rnn_np.GRU, name)).parameters
        )
    ours = inspect.signature(rnn_tf.sequence_loss_and_grads)
    assert list(ours.parameters) == list(
        inspect.signature(rnn_np.sequence_loss_and_grads).parameters
    )


# -- messages --------------------------------------------------------------------------------


def test_input_messages() -> None:
    model = rnn_tf.GRU(3, 4)
    with pytest.raises(ValueError, match=r"batch axis"):
        model(np.ones((5, 3)))  # (T, D): no batch
    with pytest.raises(ValueError, match=r"input_size=3"):
        model(np.ones((2, 5, 4)))
    with pytest.raises(ValueError, match=r"at least one"):
        model(np.ones((2, 0, 3)))
    with pytest.raises(TypeError, match=r"array of numbers"):
        model("not an array")


def test_state_messages() -> None:
    x = np.ones((2, 5, 3))
    with pytest.raises(ValueError, match=r"tuple \(h, c\)"):
        rnn_tf.LSTM(3, 4)(x, np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"only the LSTM"):
        rnn_tf.GRU(3, 4)(x, (np.zeros((2, 4)), np.zeros((2, 4))))
    with pytest.raises(ValueError, match=r"num_layers"):
        rnn_tf.RNN(3, 4)(x, np.zeros((1, 2, 4)))  # PyTorch's (num_layers, B, H)
    model = rnn_tf.RNN(3, 4)
    with pytest.raises(ValueError, match=r"d_outputs"):
        rnn_tf.sequence_loss_and_grads(model, x, None, np.ones((2, 5, 3)), np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"d_final"):
        rnn_tf.sequence_loss_and_grads(model, x, None, np.ones((2, 5, 4)), np.ones((2, 3)))


def test_weight_messages_and_failed_set_leaves_the_model_alone() -> None:
    model = rnn_tf.LSTM(3, 4, dtype="float64")
    before = model.get_weights()
    w = init_rnn_weights("lstm", 3, 4, seed=9)
    with pytest.raises(ValueError, match=r"unknown weight names \['weight_ih_l0'\]"):
        model.set_weights({**w, "weight_ih_l0": w["W_ih"].T})
    with pytest.raises(ValueError, match=r"transposed"):
        model.set_weights(dict(w, W_hh=w["W_hh"].T))  # (16, 4) instead of (4, 16)
    with pytest.raises(ValueError, match=r"b_hh"):
        model.set_weights({k: v for k, v in w.items() if k != "b_hh"})
    with pytest.raises(TypeError, match=r"dict"):
        model.set_weights([w["W_ih"], w["W_hh"]])
    for name, value in model.get_weights().items():
        np.testing.assert_array_equal(value, before[name])


def test_constructor_messages() -> None:
    with pytest.raises(ValueError, match=r"dtype"):
        rnn_tf.RNN(3, 4, dtype="float16")
    with pytest.raises(ValueError, match=r"hidden_size"):
        rnn_tf.GRU(3, 0)
    with pytest.raises(ValueError, match=r"input_size"):
        rnn_tf.LSTM(2.5, 4)


def test_import_is_quiet() -> None:
    """``import dlbook.rnn.tensorflow_backend`` goes through TF's quiet import: no chatter."""
    code = "import dlbook.rnn.tensorflow_backend as m; print(m.tf.__name__, m.keras.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["tensorflow", "keras"]
    assert out.stderr == "", f"importing the TF backend printed:\n{out.stderr}"
