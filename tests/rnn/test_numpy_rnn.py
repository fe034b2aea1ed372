"""Finite-difference checks of the hand-written recurrent cells and BPTT in ``dlbook.rnn``.

Every gradient is checked against central differences (eps = 1e-6, float64) with
``dlbook.gradcheck``: relative error < 1e-6, measured as max|analytic - numeric|
/ max|numeric|. Each check builds a scalar L = sum(f(...) * g) for fixed random
upstream gradients g, so that dL/d(input) is exactly what the backward should return.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import dlbook.rnn
from dlbook.gradcheck import check_gradient
from dlbook.rnn import numpy_backend as rnn
from dlbook.rnn import truncated_bptt_segments
from dlbook.rnn.init import GATES, KINDS, init_rnn_weights

TOL = 1e-6  # relative error, analytic vs central differences
EPS = 1e-6
CLASSES = {"rnn": rnn.RNN, "lstm": rnn.LSTM, "gru": rnn.GRU}
# (B, T, D, H): batch, time steps, input features, hidden units
CASES = [(1, 1, 2, 3), (2, 4, 3, 2), (3, 5, 2, 4)]


def _weights(kind: str, D: int, H: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Random canonical weights, larger than the init so the gates leave their linear range."""
    return {k: rng.normal(size=v.shape) * 0.7 for k, v in init_rnn_weights(kind, D, H).items()}


def _state(kind: str, B: int, H: int, rng: np.random.Generator):
    """h (B, H), or (h, c) for the LSTM."""
    if kind == "lstm":
        return rng.normal(size=(B, H)), rng.normal(size=(B, H))
    return rng.normal(size=(B, H))


def _parts(kind: str, state) -> list[np.ndarray]:
    return list(state) if kind == "lstm" else [state]


def _probe(kind: str, state, d_state) -> float:
    """sum(state * d_state) over the parts of a state."""
    pairs = zip(_parts(kind, state), _parts(kind, d_state), strict=True)
    return float(sum(np.sum(a * b) for a, b in pairs))


# ---------------------------------------------------------------------------
# Initialisation and the canonical layout
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_init_has_the_canonical_shapes_and_pytorchs_uniform_bound(kind: str) -> None:
    D, H, G = 3, 4, GATES[kind]
    w = init_rnn_weights(kind, D, H, seed=5)
    assert {k: v.shape for k, v in w.items()} == {
        "W_ih": (D, G * H),
        "W_hh": (H, G * H),
        "b_ih": (G * H,),
        "b_hh": (G * H,),
    }
    assert all(v.dtype == np.float64 for v in w.values())
    bound = 1 / np.sqrt(H)
    allw = np.concatenate([v.ravel() for v in w.values()])
    assert np.all(np.abs(allw) <= bound) and np.abs(allw).max() > 0.8 * bound
    again = init_rnn_weights(kind, D, H, seed=5)
    assert all(np.array_equal(w[k], again[k]) for k in w)  # the seed fixes the draw
    assert not np.array_equal(w["W_ih"], init_rnn_weights(kind, D, H, seed=6)["W_ih"])
    assert init_rnn_weights(kind, D, H, dtype="float32")["W_hh"].dtype == np.float32


@pytest.mark.parametrize("kind", KINDS)
def test_models_start_from_init_rnn_weights(kind: str) -> None:
    model = CLASSES[kind](3, 4, seed=2, dtype="float64")
    expected = init_rnn_weights(kind, 3, 4, seed=2)
    for key, value in model.get_weights().items():
        np.testing.assert_array_equal(value, expected[key])
    assert CLASSES[kind](3, 4).params["W_ih"].dtype == np.float32  # the default dtype


# ---------------------------------------------------------------------------
# One step: every cell's backward against finite differences
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_cell_backward_every_input_and_weight(kind: str) -> None:
    rng = np.random.default_rng(11)
    B, D, H = 3, 4, 5
    forward, backward = rnn.CELLS[kind]
    W, x, state = _weights(kind, D, H, rng), rng.normal(size=(B, D)), _state(kind, B, H, rng)
    d_new = _state(kind, B, H, rng)  # upstream dL/dh' (and dL/dc')

    def loss(_: np.ndarray) -> float:  # reads whatever array the check perturbs in place
        new_state, _cache = forward(x, state, W)
        return _probe(kind, new_state, d_new)

    new_state, cache = forward(x, state, W)
    dx, d_state, dW = backward(d_new, cache)
    assert dx.shape == x.shape and set(dW) == set(W)
    check_gradient(loss, x, dx, eps=EPS, tol=TOL)
    for part, d_part in zip(_parts(kind, state), _parts(kind, d_state), strict=True):
        assert d_part.shape == part.shape
        check_gradient(loss, part, d_part, eps=EPS, tol=TOL)  # dh, and dc for the LSTM
    for key in W:
        assert dW[key].shape == W[key].shape
        check_gradient(loss, W[key], dW[key], eps=EPS, tol=TOL)


def test_cells_compute_the_documented_equations_at_a_hand_checked_point() -> None:
    """With H = 1, D = 1 the cells reduce to scalars that can be written out by hand."""
    x, h, c = np.array([[0.5]]), np.array([[-0.3]]), np.array([[0.8]])
    W = {"W_ih": np.array([[0.2]]), "W_hh": np.array([[0.4]]), "b_ih": np.array([0.1])}
    W["b_hh"] = np.array([-0.05])
    h_rnn, _ = rnn.rnn_cell_forward(x, h, W)
    np.testing.assert_allclose(h_rnn, np.tanh(0.5 * 0.2 + 0.1 - 0.3 * 0.4 - 0.05), rtol=1e-14)
    s = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731
    Wl = {k: np.tile(v, (1, 4)) if v.ndim == 2 else np.tile(v, 4) for k, v in W.items()}
    Wl["b_ih"] = np.array([0.1, 0.2, 0.3, 0.4])  # distinct gate biases (i, f, g, o)
    (h1, c1), _ = rnn.lstm_cell_forward(x, (h, c), Wl)
    a = 0.5 * 0.2 - 0.3 * 0.4 - 0.05 + np.array([0.1, 0.2, 0.3, 0.4])
    i, f, g, o = s(a[0]), s(a[1]), np.tanh(a[2]), s(a[3])
    np.testing.assert_allclose(c1, f * 0.8 + i * g, rtol=1e-14)
    np.testing.assert_allclose(h1, o * np.tanh(f * 0.8 + i * g), rtol=1e-14)
    Wg = {k: np.tile(v, (1, 3)) if v.ndim == 2 else np.tile(v, 3) for k, v in W.items()}
    Wg["b_hh"] = np.array([0.0, 0.1, -0.2])  # (r, z, n): r multiplies h W_hn + b_hn
    hg, _ = rnn.gru_cell_forward(x, h, Wg)
    gi, gh = 0.5 * 0.2 + 0.1, -0.3 * 0.4 + np.array([0.0, 0.1, -0.2])
    r, z = s(gi + gh[0]), s(gi + gh[1])
    n = np.tanh(gi + r * gh[2])
    np.testing.assert_allclose(hg, (1 - z) * n + z * -0.3, rtol=1e-14)


# ---------------------------------------------------------------------------
# Backpropagation through time
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("B, T, D, H", CASES)
@pytest.mark.parametrize("kind", KINDS)
def test_bptt_every_weight_input_and_initial_state(kind: str, B: int, T: int, D: int, H: int):
    rng = np.random.default_rng(B * 100 + T)
    model = CLASSES[kind](D, H, dtype="float64")
    model.set_weights(_weights(kind, D, H, rng))
    x, state = rng.normal(size=(B, T, D)), _state(kind, B, H, rng)
    d_out, d_final = rng.normal(size=(B, T, H)), _state(kind, B, H, rng)

    def loss(_: np.ndarray) -> float:
        outputs, final = model.forward(x, state)
        return float(np.sum(outputs * d_out)) + _probe(kind, final, d_final)

    value, grads, dx, dstate = rnn.sequence_loss_and_grads(model, x, state, d_out, d_final)
    assert value == pytest.approx(loss(x), rel=1e-12)
    assert dx.shape == (B, T, D)
    check_gradient(loss, x, dx, eps=EPS, tol=TOL)
    for part, d_part in zip(_parts(kind, state), _parts(kind, dstate), strict=True):
        check_gradient(loss, part, d_part, eps=EPS, tol=TOL)
    for key, param in model.params.items():  # perturbed in place: loss() sees it
        check_gradient(loss, param, grads[key], eps=EPS, tol=TOL)


@pytest.mark.parametrize("kind", KINDS)
def test_outputs_are_the_hidden_states_and_sequences_can_be_continued(kind: str) -> None:
    rng = np.random.default_rng(3)
    model = CLASSES[kind](2, 3, seed=1, dtype="float64")
    x = rng.normal(size=(2, 6, 2))
    outputs, final = model(x)
    h_final = final[0] if kind == "lstm" else final
    assert outputs.shape == (2, 6, 3)
    np.testing.assert_array_equal(outputs[:, -1], h_final)  # the last output is h_T
    first, state = model(x[:, :4])  # run 4 steps, then carry on from the state
    second, final2 = model(x[:, 4:], state)
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), outputs, atol=1e-15)
    zeros = (np.zeros((2, 3)),) * 2 if kind == "lstm" else np.zeros((2, 3))
    np.testing.assert_array_equal(model(x, zeros)[0], outputs)  # None means zeros


@pytest.mark.parametrize("kind", KINDS)
def test_backward_defaults_and_accumulates_like_torch_grad(kind: str) -> None:
    rng = np.random.default_rng(4)
    model = CLASSES[kind](3, 2, seed=0, dtype="float64")
    x, d_out = rng.normal(size=(2, 3, 3)), rng.normal(size=(2, 3, 2))
    zeros = (np.zeros((2, 2)),) * 2 if kind == "lstm" else np.zeros((2, 2))
    _, grads, dx, dstate = rnn.sequence_loss_and_grads(model, x, None, d_out, zeros)
    model.zero_grad()
    model.forward(x)
    dx2, dstate2 = model.backward(d_out)  # d_final=None: zeros
    np.testing.assert_array_equal(dx2, dx)
    for a, b in zip(_parts(kind, dstate2), _parts(kind, dstate), strict=True):
        np.testing.assert_array_equal(a, b)
    model.forward(x)
    model.backward(d_out)  # a second backward adds to model.grads
    for key in grads:
        np.testing.assert_allclose(model.grads[key], 2 * grads[key], rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------------------
# Truncated BPTT
# ---------------------------------------------------------------------------


def test_truncated_bptt_segments() -> None:
    assert truncated_bptt_segments(7, 3) == [(0, 3), (3, 6), (6, 7)]
    assert truncated_bptt_segments(6, 3) == [(0, 3), (3, 6)]
    assert truncated_bptt_segments(4, 10) == [(0, 4)]
    assert truncated_bptt_segments(3, 1) == [(0, 1), (1, 2), (2, 3)]
    with pytest.raises(ValueError, match="k .*positive int"):
        truncated_bptt_segments(5, 0)


@pytest.mark.parametrize("kind", KINDS)
def test_truncated_bptt_is_full_bptt_when_k_covers_the_sequence(kind: str) -> None:
    rng = np.random.default_rng(8)
    B, T, D, H = 2, 5, 3, 4
    model = CLASSES[kind](D, H, seed=3, dtype="float64")
    x, state, d_out = (
        rng.normal(size=(B, T, D)),
        _state(kind, B, H, rng),
        rng.normal(size=(B, T, H)),
    )
    _, full, _, _ = rnn.sequence_loss_and_grads(model, x, state, d_out, None)
    for k in (T, T + 3):
        truncated = rnn.bptt_truncated_grads(model, x, state, d_out, k)
        for key in full:
            np.testing.assert_allclose(truncated[key], full[key], rtol=0, atol=1e-13)


@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("kind", KINDS)
def test_truncated_bptt_sums_chunks_whose_states_carry_values_but_not_gradients(kind, k):
    rng = np.random.default_rng(9)
    B, T, D, H = 2, 7, 3, 4
    model = CLASSES[kind](D, H, dtype="float64")
    model.set_weights(_weights(kind, D, H, rng))
    x, state, d_out = (
        rng.normal(size=(B, T, D)),
        _state(kind, B, H, rng),
        rng.normal(size=(B, T, H)),
    )
    truncated = rnn.bptt_truncated_grads(model, x, state, d_out, k)
    _, full, _, _ = rnn.sequence_loss_and_grads(model, x, state, d_out, None)
    assert max(np.abs(truncated[key] - full[key]).max() for key in full) > 1e-3  # an approximation
    expected = {key: np.zeros_like(v) for key, v in full.items()}
    s = state
    for start, stop in truncated_bptt_segments(T, k):  # each chunk on its own, from the carried s
        chunk = (x[:, start:stop], s, d_out[:, start:stop], None)  # d_final = 0 at the cut
        _, g, _, _ = rnn.sequence_loss_and_grads(model, *chunk)
        for key in expected:
            expected[key] += g[key]
        s = model.forward(x[:, start:stop], s)[1]  # the next chunk starts from this value
    for key in full:
        np.testing.assert_allclose(truncated[key], expected[key], rtol=0, atol=1e-13)


# ---------------------------------------------------------------------------
# Mistakes get messages that name the problem
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_wrong_inputs_and_states_are_explained(kind: str) -> None:
    model = CLASSES[kind](3, 4, dtype="float64")
    name = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}[kind]
    with pytest.raises(ValueError, match=rf"{name} expects x of shape \(B, T, D\).*x\[None\]"):
        model(np.zeros((5, 3)))
    with pytest.raises(ValueError, match=r"input_size=3, so x must have shape \(B, T, 3\)"):
        model(np.zeros((2, 5, 4)))
    h = np.zeros((2, 4))
    good = (h, h) if kind == "lstm" else h
    bad_h = np.zeros((1, 2, 4))  # torch's (num_layers, B, H)
    bad = (bad_h, h) if kind == "lstm" else bad_h
    with pytest.raises(ValueError, match=r"h must have shape \(B, H\) = \(2, 4\).*h\[0\]"):
        model(np.zeros((2, 5, 3)), bad)
    with pytest.raises(ValueError, match=r"\(B, H\) = \(3, 4\)"):
        model(np.zeros((3, 5, 3)), good)  # a state for another batch size
    if kind == "lstm":
        with pytest.raises(ValueError, match=r"tuple \(h, c\)"):
            model(np.zeros((2, 5, 3)), h)
    else:
        with pytest.raises(ValueError, match=r"single array h.*only the LSTM"):
            model(np.zeros((2, 5, 3)), (h, h))
    with pytest.raises(ValueError, match=r"d_outputs must have the shape of the outputs"):
        rnn.sequence_loss_and_grads(model, np.zeros((2, 5, 3)), None, np.zeros((2, 5, 3)), None)
    with pytest.raises(RuntimeError, match="forward before backward"):
        CLASSES[kind](3, 4).backward(np.zeros((2, 5, 4)))


@pytest.mark.parametrize("kind", KINDS)
def test_set_weights_checks_names_and_shapes_before_copying(kind: str) -> None:
    model = CLASSES[kind](3, 4, dtype="float64")
    w = model.get_weights()
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"expected W_ih of shape \(3, \d+\).*transposed"):
        model.set_weights({**w, "W_ih": w["W_ih"].T})  # torch's (out, in) slip
    with pytest.raises(ValueError, match=r"expected b_hh of shape .*got None"):
        model.set_weights({k: v for k, v in w.items() if k != "b_hh"})
    with pytest.raises(ValueError, match=r"unknown weight names \['weight_ih_l0'\]"):
        model.set_weights({**w, "weight_ih_l0": w["W_ih"].T})
    for key, value in model.get_weights().items():  # nothing was copied
        np.testing.assert_array_equal(value, before[key])
    w["W_hh"][...] = 7.0  # get_weights returned copies
    assert not np.any(model.params["W_hh"] == 7.0)
    model.set_weights(w)
    np.testing.assert_array_equal(model.params["W_hh"], 7.0)


def test_unknown_kind_sizes_and_dtype_are_refused() -> None:
    with pytest.raises(ValueError, match=r"Unknown cell kind 'transformer'.*'rnn', 'lstm', 'gru'"):
        init_rnn_weights("transformer", 3, 4)
    with pytest.raises(ValueError, match="Unknown cell kind"):
        dlbook.rnn.check_weights({}, "elman", 3, 4)
    with pytest.raises(ValueError, match="hidden_size must be a positive int"):
        rnn.LSTM(3, 0)
    with pytest.raises(ValueError, match="input_size must be a positive int"):
        rnn.GRU(2.5, 3)
    with pytest.raises(ValueError, match="dtype must be 'float32' or 'float64'"):
        rnn.RNN(3, 4, dtype="int32")


def test_backend_by_name() -> None:
    assert dlbook.rnn.backend("np") is rnn


@pytest.mark.parametrize("module", ["dlbook.rnn", "dlbook.rnn.init", "dlbook.rnn.numpy_backend"])
def test_rnn_package_does_not_import_frameworks(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        "heavy = [m for m in ('torch', 'tensorflow', 'keras') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"import {module} loaded {out.stdout.strip()}"
