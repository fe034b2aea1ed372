"""The NumPy attention: finite differences check every backward; masks and symmetry hold."""

from __future__ import annotations

import numpy as np
import pytest

from dlbook.attention import numpy_backend as att
from dlbook.gradcheck import check_gradient, numerical_gradient


def make_mha(C: int = 8, H: int = 2, seed: int = 0) -> att.MultiHeadAttention:
    """A float64 model with random biases too (the initial ones are zero)."""
    model = att.MultiHeadAttention(C, H, dtype="float64")
    rng = np.random.default_rng(seed)
    model.set_weights({k: 0.5 * rng.normal(size=v.shape) for k, v in model.get_weights().items()})
    return model


@pytest.mark.parametrize("masked", [False, True], ids=["full", "causal"])
def test_attention_backward_matches_finite_differences(masked: bool) -> None:
    rng = np.random.default_rng(1)
    q, k, v = rng.normal(size=(2, 4, 3)), rng.normal(size=(2, 4, 3)), rng.normal(size=(2, 4, 5))
    mask = att.causal_mask(4) if masked else None
    g = rng.normal(size=(2, 4, 5))
    _, cache = att.attention_forward(q, k, v, mask)
    grads = att.attention_backward(g, cache)

    def loss(_: np.ndarray) -> float:
        return float(np.sum(att.attention_forward(q, k, v, mask)[0] * g))

    for arr, grad in zip((q, k, v), grads, strict=True):
        check_gradient(loss, arr, grad)


@pytest.mark.parametrize("cross", [False, True], ids=["self", "cross"])
def test_mha_backward_matches_finite_differences(cross: bool) -> None:
    rng = np.random.default_rng(2)
    model = make_mha()
    x = rng.normal(size=(2, 4, 8))
    x_kv = rng.normal(size=(2, 3, 8)) if cross else None
    mask = None if cross else att.causal_mask(4)
    g = rng.normal(size=(2, 4, 8))
    loss, grads, dx = att.mha_loss_and_grads(model, (x, x_kv) if cross else x, mask, g)

    def f(_: np.ndarray) -> float:
        return float(np.sum(model.forward(x, x_kv, mask) * g))

    assert loss == pytest.approx(f(x))
    for name, grad in grads.items():
        if name == "b_k":  # q . b_k is the same for every key: softmax ignores it
            assert np.abs(grad).max() < 1e-12
            assert np.abs(numerical_gradient(f, model.params[name])).max() < 1e-7
        else:
            check_gradient(f, model.params[name], grad)
    for arr, grad in zip((x, x_kv) if cross else (x,), dx if cross else (dx,), strict=True):
        check_gradient(f, arr, grad)


def test_sdpa_weights_are_distributions_and_masks_are_respected() -> None:
    rng = np.random.default_rng(3)
    q, k, v = rng.normal(size=(2, 5, 4)), rng.normal(size=(2, 6, 4)), rng.normal(size=(2, 6, 3))
    out, w = att.scaled_dot_product_attention(q, k, v)
    assert out.shape == (2, 5, 3) and w.shape == (2, 5, 6)
    assert np.allclose(w.sum(-1), 1.0)
    pad = att.padding_mask(np.array([2, 6]), 6)  # (B, 1, 1, S)
    assert pad.shape == (2, 1, 1, 6) and pad.dtype == bool
    _, w = att.scaled_dot_product_attention(q, k, v, pad[:, 0])  # (B, 1, S) broadcasts
    assert np.all(w[0, :, 2:] == 0.0) and np.allclose(w.sum(-1), 1.0)
    assert np.array_equal(att.causal_mask(3), np.tril(np.ones((3, 3), bool)))


def test_fully_masked_rows_give_zeros_not_nan() -> None:
    rng = np.random.default_rng(4)
    q, k, v = rng.normal(size=(3, 2)), rng.normal(size=(4, 2)), rng.normal(size=(4, 2))
    mask = np.array([[True, False, False, False], [False] * 4, [True] * 4])
    out, cache = att.attention_forward(q, k, v, mask)
    assert np.isfinite(out).all() and np.all(out[1] == 0) and np.all(cache["weights"][1] == 0)
    dq, dk, dv = att.attention_backward(np.ones_like(out), cache)
    assert all(np.isfinite(d).all() for d in (dq, dk, dv)) and np.all(dq[1] == 0)


def test_causal_output_ignores_the_future() -> None:
    rng = np.random.default_rng(5)
    model, T = make_mha(), 6
    x = rng.normal(size=(1, T, 8))
    out = model.forward(x, mask=att.causal_mask(T))
    for t in range(T - 1):
        x2 = x.copy()
        x2[:, t + 1 :] = rng.normal(size=x2[:, t + 1 :].shape)  # change only the future
        out2 = model.forward(x2, mask=att.causal_mask(T))
        assert np.allclose(out2[:, : t + 1], out[:, : t + 1], atol=1e-13)
        assert not np.allclose(out2[:, t + 1 :], out[:, t + 1 :])


def test_self_attention_is_permutation_equivariant() -> None:
    rng = np.random.default_rng(6)
    model = make_mha()
    x = rng.normal(size=(2, 7, 8))
    perm = rng.permutation(7)
    out, w = model.forward(x), model.last_weights
    assert np.allclose(model.forward(x[:, perm]), out[:, perm], atol=1e-12)
    assert np.allclose(model.last_weights, w[:, :, perm][:, :, :, perm], atol=1e-12)


def test_split_and_merge_heads_are_inverse_and_lay_heads_out_in_blocks() -> None:
    x = np.arange(2 * 3 * 8, dtype=float).reshape(2, 3, 8)
    h = att.split_heads(x, 4)
    assert h.shape == (2, 4, 3, 2)
    assert np.array_equal(h[1, 2, 0], x[1, 0, 4:6])  # head 2 holds features 4, 5
    assert np.array_equal(att.merge_heads(h), x)
    assert np.array_equal(att.split_heads_backward(h), x)
    assert np.array_equal(att.merge_heads_backward(x, 4), h)


def test_weights_round_trip_and_shared_init() -> None:
    a, b = att.MultiHeadAttention(8, 2, seed=3), att.MultiHeadAttention(8, 2, seed=3)
    w = a.get_weights()
    assert set(w) == {"W_q", "W_k", "W_v", "W_o", "b_q", "b_k", "b_v", "b_o"}
    assert all(np.array_equal(w[k], v) for k, v in b.get_weights().items())
    assert w["W_q"].dtype == np.float32 and w["W_q"].shape == (8, 8)
    assert set(att.MultiHeadAttention(8, 2, bias=False).get_weights()) == {
        "W_q",
        "W_k",
        "W_v",
        "W_o",
    }


def test_messages_speak_to_a_learner() -> None:
    with pytest.raises(ValueError, match="not divisible by n_heads"):
        att.MultiHeadAttention(10, 3)
    model = att.MultiHeadAttention(8, 2)
    with pytest.raises(ValueError, match=r"takes x_q of shape \(B, T, 8\)"):
        model.forward(np.zeros((4, 8)))
    with pytest.raises(ValueError, match="same width D"):
        att.scaled_dot_product_attention(np.zeros((2, 3)), np.zeros((2, 4)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="every key needs one value"):
        att.scaled_dot_product_attention(np.zeros((2, 3)), np.zeros((4, 3)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="must broadcast"):
        att.scaled_dot_product_attention(
            np.zeros((2, 3)), np.zeros((4, 3)), np.zeros((4, 3)), np.ones((3, 4), bool)
        )
    with pytest.raises(TypeError, match="boolean"):
        att.scaled_dot_product_attention(
            np.zeros((2, 3)), np.zeros((4, 3)), np.zeros((4, 3)), np.ones((2, 4))
        )
    with pytest.raises(ValueError, match="expected W_o of shape"):
        model.set_weights({**model.get_weights(), "W_o": np.zeros((8, 4))})
    with pytest.raises(RuntimeError, match="forward before backward"):
        att.MultiHeadAttention(8, 2).backward(np.zeros((1, 2, 8)))
