"""NumPy attention against PyTorch and TensorFlow/Keras, float64.

SDPA forward within 1e-12 of ``F.scaled_dot_product_attention``; attention_backward
within 1e-10 of torch autograd. MultiHeadAttention (NumPy) against the torch and
tf backends, ``torch.nn.MultiheadAttention`` and ``keras.layers.MultiHeadAttention``:
outputs within 1e-10, weight and input gradients within 1e-8, all absolute.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from dlbook.attention import numpy_backend as att_np

torch = pytest.importorskip("torch")
att_torch = pytest.importorskip("dlbook.attention.torch_backend")

MASKS = {
    "none": None,
    "causal": att_np.causal_mask(5),
    "bool": (np.random.default_rng(9).random((2, 5, 5)) < 0.6) | np.eye(5, dtype=bool),
}


def to_numpy(t: Any) -> np.ndarray:
    if hasattr(t, "detach"):
        t = t.detach().cpu()
    return np.asarray(t.numpy() if hasattr(t, "numpy") else t)


@pytest.mark.parametrize("mask_name", list(MASKS))
def test_sdpa_matches_torch_forward_and_autograd(mask_name: str) -> None:
    mask = MASKS[mask_name]
    rng = np.random.default_rng(0)
    q, k, v = (rng.normal(size=(2, 5, 4)) for _ in range(3))
    g = rng.normal(size=(2, 5, 4))
    out, cache = att_np.attention_forward(q, k, v, mask)
    ts = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    tmask = None if mask is None else torch.as_tensor(mask)
    fused = torch.nn.functional.scaled_dot_product_attention(*ts, attn_mask=tmask)
    assert np.abs(to_numpy(fused) - out).max() < 1e-12
    explicit, w = att_torch.scaled_dot_product_attention(*ts, mask=tmask)
    assert np.abs(to_numpy(explicit) - to_numpy(fused)).max() < 1e-12  # fast path == explicit
    assert np.abs(to_numpy(w) - cache["weights"]).max() < 1e-12
    assert (
        np.abs(to_numpy(att_torch.scaled_dot_product_attention_fused(q, k, v, mask)) - out).max()
        < 1e-12
    )
    fused.backward(torch.tensor(g))
    for t, d in zip(ts, att_np.attention_backward(g, cache), strict=True):
        assert np.abs(to_numpy(t.grad) - d).max() < 1e-10


def _case(cross: bool, masked: bool) -> tuple[att_np.MultiHeadAttention, Any, Any, np.ndarray]:
    rng = np.random.default_rng(1)
    model = att_np.MultiHeadAttention(8, 2, dtype="float64")
    model.set_weights({k: 0.5 * rng.normal(size=v.shape) for k, v in model.get_weights().items()})
    x = rng.normal(size=(2, 5, 8))
    x_kv = rng.normal(size=(2, 5, 8))
    mask = MASKS["causal"] if masked else None
    return model, (x, x_kv) if cross else x, mask, rng.normal(size=(2, 5, 8))


CASES = [(c, m) for c in (False, True) for m in (False, True)]
IDS = [f"{'cross' if c else 'self'}-{'causal' if m else 'nomask'}" for c, m in CASES]


@pytest.mark.parametrize("backend", ["torch", "tensorflow"])
@pytest.mark.parametrize("cross, masked", CASES, ids=IDS)
def test_mha_backends_agree(backend: str, cross: bool, masked: bool) -> None:
    if backend == "tensorflow":
        pytest.importorskip("tensorflow")
    from dlbook.attention import backend as load

    model, x, mask, g = _case(cross, masked)
    other = load(backend).MultiHeadAttention(8, 2, dtype="float64")
    other.set_weights(model.get_weights())
    loss, grads, dx = att_np.mha_loss_and_grads(model, x, mask, g)
    loss2, grads2, dx2 = load(backend).mha_loss_and_grads(other, x, mask, g)
    assert abs(loss - loss2) < 1e-10
    assert np.abs(to_numpy(other.last_weights) - model.last_weights).max() < 1e-10
    for key in grads:
        assert np.abs(grads[key] - grads2[key]).max() < 1e-8, key
    for a, b in zip(dx if cross else (dx,), dx2 if cross else (dx2,), strict=True):
        assert np.abs(a - b).max() < 1e-8


@pytest.mark.parametrize("cross, masked", CASES, ids=IDS)
def test_mha_matches_torch_nn_multihead_attention(cross: bool, masked: bool) -> None:
    model, x, mask, g = _case(cross, masked)
    x_q, x_kv = x if cross else (x, x)
    ref = att_torch.to_torch_mha(model)
    tq = torch.tensor(x_q, requires_grad=True)
    tkv = torch.tensor(x_kv, requires_grad=True) if cross else tq
    out, w = ref(
        tq,
        tkv,
        tkv,
        attn_mask=None if mask is None else ~torch.as_tensor(mask),
        need_weights=True,
        average_attn_weights=False,
    )
    (out * torch.tensor(g)).sum().backward()
    _, grads, dx = att_np.mha_loss_and_grads(model, x, mask, g)
    assert np.abs(to_numpy(out) - model.forward(x_q, x_kv if cross else None, mask)).max() < 1e-10
    assert np.abs(to_numpy(w) - model.last_weights).max() < 1e-10
    ref_grads = {
        "W_q": ref.in_proj_weight.grad[:8].T,
        "W_k": ref.in_proj_weight.grad[8:16].T,
        "W_v": ref.in_proj_weight.grad[16:].T,
        "W_o": ref.out_proj.weight.grad.T,
        "b_q": ref.in_proj_bias.grad[:8],
        "b_k": ref.in_proj_bias.grad[8:16],
        "b_v": ref.in_proj_bias.grad[16:],
        "b_o": ref.out_proj.bias.grad,
    }
    for key, val in ref_grads.items():
        assert np.abs(to_numpy(val) - grads[key]).max() < 1e-8, key
    ours = dx if cross else (dx,)
    for t, d in zip((tq, tkv) if cross else (tq,), ours, strict=True):
        assert np.abs(to_numpy(t.grad) - d).max() < 1e-8


@pytest.mark.parametrize("cross, masked", CASES, ids=IDS)
def test_mha_matches_keras_multihead_attention(cross: bool, masked: bool) -> None:
    tf = pytest.importorskip("tensorflow")
    from dlbook.attention.tensorflow_backend import to_keras_mha

    model, x, mask, g = _case(cross, masked)
    x_q, x_kv = x if cross else (x, x)
    layer = to_keras_mha(model)
    tq, tkv = tf.constant(x_q), tf.constant(x_kv)
    kmask = None if mask is None else np.broadcast_to(mask, (2, 5, 5))
    with tf.GradientTape() as tape:
        tape.watch([tq, tkv])
        out, w = layer(tq, tkv, attention_mask=kmask, return_attention_scores=True)
        loss = tf.reduce_sum(out * g)
    dense = {
        "q": layer.query_dense,
        "k": layer.key_dense,
        "v": layer.value_dense,
        "o": layer.output_dense,
    }
    variables = [d.kernel for d in dense.values()] + [d.bias for d in dense.values()]
    *vgrads, dq, dkv = tape.gradient(loss, variables + [tq, tkv])
    _, grads, dx = att_np.mha_loss_and_grads(model, x, mask, g)
    assert np.abs(np.asarray(out) - model.forward(x_q, x_kv if cross else None, mask)).max() < 1e-10
    assert np.abs(np.asarray(w) - model.last_weights).max() < 1e-10
    names = [f"W_{n}" for n in dense] + [f"b_{n}" for n in dense]
    for name, vg in zip(names, vgrads, strict=True):
        assert np.abs(np.asarray(vg).reshape(grads[name].shape) - grads[name]).max() < 1e-8, name
    ref_dx = (dq, dkv) if cross else (dq + dkv,)
    for a, b in zip(ref_dx, dx if cross else (dx,), strict=True):
        assert np.abs(np.asarray(a) - b).max() < 1e-8


def test_dot_product_attention_plugs_into_seq2seq() -> None:
    from dlbook.rnn.seq2seq import Seq2Seq

    attn = att_torch.DotProductAttention(16)
    query, keys = (
        torch.randn(3, 16, dtype=torch.float64),
        torch.randn(3, 7, 16, dtype=torch.float64),
    )
    context, weights = attn(query, keys)
    assert context.shape == (3, 16) and weights.shape == (3, 7)
    scores = (keys @ query[:, :, None])[..., 0] / 4.0  # (B, S)
    assert torch.allclose(weights, torch.softmax(scores, -1))
    model = Seq2Seq(6, 8, 16, attention=att_torch.DotProductAttention(16)).double()
    src, tgt = torch.randint(3, 6, (2, 4)), torch.randint(3, 6, (2, 5))
    assert model(src, tgt).shape == (2, 5, 6)
