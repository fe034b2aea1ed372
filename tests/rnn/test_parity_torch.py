"""The NumPy (hand-written BPTT) and PyTorch (torch.nn.RNN/LSTM/GRU + autograd) backends agree.

Tolerances, float64, absolute (``assert_allclose(rtol=0, atol=...)``):

* forward: outputs and final states within 1e-10;
* backward: every weight gradient, dx and dstate within 1e-8 (the loss within 1e-10),

over several (B, T, D, H), including T = 1 and B = 1, with and without an
initial state, for all three cells. ``sequence_loss_and_grads`` uses the linear
probe ``sum(outputs * d_outputs) + sum(final * d_final)``, so both sides run one
backward pass with the same upstream gradients.
"""

from __future__ import annotations

import numpy as np
import pytest

from dlbook.rnn import numpy_backend as rnn_np
from dlbook.rnn import truncated_bptt_segments
from dlbook.rnn.init import GATES, KINDS, init_rnn_weights

rnn_torch = pytest.importorskip("dlbook.rnn.torch_backend")
torch = rnn_torch.torch

FORWARD_ATOL = 1e-10
GRAD_ATOL = 1e-8
CLASS = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}
TORCH_CLASS = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}
# (B, T, D, H): batch, time steps, input features, hidden units
CASES = [(1, 1, 1, 1), (1, 6, 3, 2), (3, 1, 2, 5), (2, 5, 4, 3), (4, 8, 2, 6)]


def to_numpy(t) -> np.ndarray:
    return t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)


def parts(kind: str, state) -> list[np.ndarray]:
    """[h] or [h, c], as NumPy."""
    return [to_numpy(p) for p in (state if kind == "lstm" else (state,))]


def random_state(kind: str, B: int, H: int, rng: np.random.Generator):
    if kind == "lstm":
        return rng.normal(size=(B, H)), rng.normal(size=(B, H))
    return rng.normal(size=(B, H))


def pair(kind: str, D: int, H: int, rng: np.random.Generator):
    """A NumPy and a torch model holding the same random float64 weights."""
    m_np = getattr(rnn_np, CLASS[kind])(D, H, dtype="float64")
    m_np.set_weights({k: 0.8 * rng.normal(size=v.shape) for k, v in m_np.get_weights().items()})
    m_torch = getattr(rnn_torch, CLASS[kind])(D, H, dtype="float64")
    m_torch.set_weights(m_np.get_weights())
    return m_np, m_torch


def assert_close(got, expected, atol: float, what: str) -> None:
    np.testing.assert_allclose(to_numpy(got), to_numpy(expected), rtol=0, atol=atol, err_msg=what)


@pytest.mark.parametrize("with_state", [False, True], ids=["zero-state", "given-state"])
@pytest.mark.parametrize("B, T, D, H", CASES, ids=lambda v: str(v))
@pytest.mark.parametrize("kind", KINDS)
def test_numpy_and_torch_agree_forward_and_backward(kind, B, T, D, H, with_state) -> None:
    rng = np.random.default_rng(1000 * B + 100 * T + 10 * D + H)
    m_np, m_torch = pair(kind, D, H, rng)
    x = 1.5 * rng.normal(size=(B, T, D))
    state = random_state(kind, B, H, rng) if with_state else None
    d_out, d_final = rng.normal(size=(B, T, H)), random_state(kind, B, H, rng)

    out_np, final_np = m_np(x, state)
    out_t, final_t = m_torch(x, state)
    assert isinstance(out_t, torch.Tensor) and tuple(out_t.shape) == (B, T, H)
    assert_close(out_t, out_np, FORWARD_ATOL, "outputs")
    for name, a, b in zip("hc", parts(kind, final_t), parts(kind, final_np), strict=False):
        assert_close(a, b, FORWARD_ATOL, f"final {name}")

    loss_np, g_np, dx_np, ds_np = rnn_np.sequence_loss_and_grads(m_np, x, state, d_out, d_final)
    loss_t, g_t, dx_t, ds_t = rnn_torch.sequence_loss_and_grads(m_torch, x, state, d_out, d_final)
    assert loss_t == pytest.approx(loss_np, rel=0, abs=FORWARD_ATOL)
    assert set(g_t) == set(g_np) == {"W_ih", "W_hh", "b_ih", "b_hh"}
    for key in g_np:
        assert g_t[key].shape == g_np[key].shape
        assert_close(g_t[key], g_np[key], GRAD_ATOL, f"d{key}")
    assert_close(dx_t, dx_np, GRAD_ATOL, "dx")
    for name, a, b in zip("hc", parts(kind, ds_t), parts(kind, ds_np), strict=False):
        assert_close(a, b, GRAD_ATOL, f"d{name}0")


@pytest.mark.parametrize("kind", KINDS)
def test_torch_accepts_tensors_and_keeps_their_graph(kind: str) -> None:
    rng = np.random.default_rng(0)
    _, m_torch = pair(kind, 3, 4, rng)
    from dlbook.device import get_device

    x = torch.as_tensor(rng.normal(size=(2, 5, 3)), device=get_device()).requires_grad_(True)
    h = torch.zeros(2, 4, dtype=torch.float64, device=get_device(), requires_grad=True)
    state = (h, torch.zeros_like(h)) if kind == "lstm" else h
    out, final = m_torch(x, state)
    (out.sum() + parts(kind, final)[0].sum()).backward()
    assert x.grad is not None and x.grad.shape == x.shape and h.grad is not None
    assert m_torch.weight_ih_l0.grad is not None
    out32, _ = getattr(rnn_torch, CLASS[kind])(3, 4)(rng.normal(size=(2, 5, 3)))  # float64 in
    assert out32.dtype == torch.float32  # converted to the model's default float32


# ---------------------------------------------------------------------------
# Layout, weights and initialisation
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_torch_modules_store_the_transposed_canonical_layout(kind: str) -> None:
    D, H, G = 3, 5, GATES[kind]
    m = getattr(rnn_torch, CLASS[kind])(D, H, seed=7, dtype="float64")
    assert isinstance(m, TORCH_CLASS[kind]) and isinstance(m, torch.nn.Module)
    assert m.batch_first and m.bias and m.num_layers == 1
    if kind == "rnn":
        assert m.nonlinearity == "tanh"
    w = init_rnn_weights(kind, D, H, seed=7)
    assert tuple(m.weight_ih_l0.shape) == (G * H, D) and w["W_ih"].shape == (D, G * H)
    np.testing.assert_array_equal(to_numpy(m.weight_ih_l0), w["W_ih"].T)
    np.testing.assert_array_equal(to_numpy(m.weight_hh_l0), w["W_hh"].T)
    np.testing.assert_array_equal(to_numpy(m.bias_ih_l0), w["b_ih"])
    np.testing.assert_array_equal(to_numpy(m.bias_hh_l0), w["b_hh"])
    m_np = getattr(rnn_np, CLASS[kind])(D, H, seed=7, dtype="float64")
    for key, value in m.get_weights().items():  # the same seed: the same model
        np.testing.assert_array_equal(value, m_np.get_weights()[key])


@pytest.mark.parametrize("kind", KINDS)
def test_weights_round_trip_numpy_torch_numpy(kind: str) -> None:
    rng = np.random.default_rng(5)
    m_np = getattr(rnn_np, CLASS[kind])(2, 3, dtype="float64")
    start = {k: rng.normal(size=v.shape) for k, v in m_np.get_weights().items()}
    m_np.set_weights(start)
    m_torch = getattr(rnn_torch, CLASS[kind])(2, 3, seed=9, dtype="float64")
    m_torch.set_weights(m_np.get_weights())
    back = getattr(rnn_np, CLASS[kind])(2, 3, seed=9, dtype="float64")
    back.set_weights(m_torch.get_weights())
    for key in start:
        np.testing.assert_array_equal(back.get_weights()[key], start[key], err_msg=key)
    w = m_torch.get_weights()
    w["W_hh"][...] = 7.0  # a copy, not a view of the parameter
    assert not torch.any(m_torch.weight_hh_l0 == 7.0)


def test_torch_models_leave_the_global_rng_alone_and_live_on_the_book_device() -> None:
    from dlbook.device import get_device

    state = torch.random.get_rng_state()
    models = [getattr(rnn_torch, CLASS[kind])(3, 4, seed=0) for kind in KINDS]
    assert torch.equal(state, torch.random.get_rng_state())  # the weights came from NumPy
    for m in models:
        assert all(p.device.type == get_device().type for p in m.parameters())


# ---------------------------------------------------------------------------
# Truncated BPTT: NumPy's bptt_truncated_grads against torch's forward + detach
# ---------------------------------------------------------------------------


def torch_truncated_grads(model, x, state, d_out, k):
    """The torch pattern: run a chunk, backward, detach the state, go on."""
    model.zero_grad(set_to_none=True)
    x, d_out = torch.as_tensor(x), torch.as_tensor(d_out)
    if state is not None:
        state = (
            tuple(map(torch.as_tensor, state))
            if isinstance(state, tuple)
            else torch.as_tensor(state)
        )
    for start, stop in truncated_bptt_segments(x.shape[1], k):
        out, state = model(x[:, start:stop], state)
        (out * d_out[:, start:stop].to(out.device)).sum().backward()  # .grad accumulates
        state = tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()
    return model.get_grads()


@pytest.mark.parametrize("with_state", [False, True], ids=["zero-state", "given-state"])
@pytest.mark.parametrize("k", [1, 2, 3, 7, 10])
@pytest.mark.parametrize("kind", KINDS)
def test_truncated_bptt_matches_torch_detach(kind: str, k: int, with_state: bool) -> None:
    rng = np.random.default_rng(k)
    B, T, D, H = 2, 7, 3, 4
    m_np, m_torch = pair(kind, D, H, rng)
    x, d_out = rng.normal(size=(B, T, D)), rng.normal(size=(B, T, H))
    state = random_state(kind, B, H, rng) if with_state else None
    got = rnn_np.bptt_truncated_grads(m_np, x, state, d_out, k)
    expected = torch_truncated_grads(m_torch, x, state, d_out, k)
    _, full, _, _ = rnn_torch.sequence_loss_and_grads(m_torch, x, state, d_out, None)
    for key in got:
        assert_close(got[key], expected[key], GRAD_ATOL, key)
    gap = max(np.abs(expected[key] - full[key]).max() for key in full)
    assert (gap < 1e-12) if k >= T else (gap > 1e-3)  # k >= T is full BPTT


# ---------------------------------------------------------------------------
# The same mistakes get the same messages in both backends
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("module", [rnn_np, rnn_torch], ids=["numpy", "torch"])
@pytest.mark.parametrize("kind", KINDS)
def test_mistakes_are_explained_in_both_backends(kind: str, module) -> None:
    model = getattr(module, CLASS[kind])(3, 4, dtype="float64")
    with pytest.raises(ValueError, match=r"expects x of shape \(B, T, D\)"):
        model(np.zeros((5, 3)))
    with pytest.raises(ValueError, match=r"input_size=3, so x must have shape \(B, T, 3\)"):
        model(np.zeros((2, 5, 4)))
    h = np.zeros((1, 2, 4))  # torch's own (num_layers, B, H)
    with pytest.raises(ValueError, match=r"must have shape \(B, H\) = \(2, 4\).*h\[0\]"):
        model(np.zeros((2, 5, 3)), (h, h[0]) if kind == "lstm" else h)
    with pytest.raises(ValueError, match=r"\(h, c\)"):
        model(np.zeros((2, 5, 3)), np.zeros((2, 4)) if kind == "lstm" else (h[0], h[0]))
    w = model.get_weights()
    with pytest.raises(ValueError, match=r"expected W_ih of shape .*transposed"):
        model.set_weights({**w, "W_ih": w["W_ih"].T})
    with pytest.raises(ValueError, match=r"unknown weight names"):
        model.set_weights({**w, "bias": w["b_ih"]})
    with pytest.raises(ValueError, match="hidden_size must be a positive int"):
        getattr(module, CLASS[kind])(3, -1)
