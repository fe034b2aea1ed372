"""The KV cache from scratch in NumPy: one head, then the whole GPT of chapter 6.

Shape legend: B batch, T new tokens, P cached (past) tokens, S = P + T keys,
C channels (model width), H heads, D head width, V vocabulary.

**One head.** To predict token t+1 a GPT needs the query of token t and the keys
and values of tokens 0..t. The keys and values of tokens 0..t-1 were already
computed at earlier steps and do not change (causal attention: an earlier token
never sees a later one), so a decoder keeps them in a *cache* and computes only
the newest row. :func:`kv_decode_step` does that step; :func:`attend_all`
recomputes every row from scratch, the reference it must match.

**The whole GPT.** :func:`forward_with_cache` runs :class:`dlbook.gpt.numpy_backend.GPT`'s
weights with a cache per block, like ``torch_backend.GPT.forward(past=, use_cache=)``;
:func:`generate` and :func:`generate_batch` drive it through the shared loop of
:mod:`dlbook.serving.decoding`; :func:`measure_kv_speedup` times it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from dlbook._validate import as_float_array
from dlbook.attention.numpy_backend import (
    attention_forward,
    causal_mask,
    merge_heads,
    split_heads,
)
from dlbook.gpt.config import check_ids
from dlbook.nn.numpy_backend import gelu, softmax
from dlbook.normalization.numpy_backend import layer_norm
from dlbook.serving._checks import check_decode_shapes, check_projection_shapes
from dlbook.serving.decoding import decode, generate_batch_with, measure_speedup_with

KV = tuple[np.ndarray, np.ndarray]  # one block's cached (keys, values), each (B, H, P, D)

# ---------------------------------------------------------------------------
# One head: a decode step against its cache, and the full recomputation
# ---------------------------------------------------------------------------


def kv_decode_step(
    x_t: Any, W_q: Any, W_k: Any, W_v: Any, k_cache: Any, v_cache: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One head attends from the newest token: returns (out (B, D), new k_cache, new v_cache).

    x_t (B, C) is the newest token's hidden state, W_* (C, D), the caches (B, P, D)
    hold the keys and values of the P earlier tokens (P = 0 at the start)::

        q = x_t W_q,  k = x_t W_k,  v = x_t W_v                      (B, D) each
        K = [k_cache; k],  V = [v_cache; v]                          (B, P + 1, D)
        out = softmax(q K^T / sqrt(D)) V                             (B, D)

    The new caches are new arrays, (B, P + 1, D), with k and v appended at the end;
    the inputs are not modified.
    """
    x_t, k_cache, v_cache = (
        as_float_array(a, n) for a, n in ((x_t, "x_t"), (k_cache, "k_cache"), (v_cache, "v_cache"))
    )
    W_q, W_k, W_v = (as_float_array(W, n) for W, n in ((W_q, "W_q"), (W_k, "W_k"), (W_v, "W_v")))
    check_decode_shapes(x_t.shape, (W_q.shape, W_k.shape, W_v.shape), k_cache.shape, v_cache.shape)
    D = W_q.shape[1]
    q, k, v = x_t @ W_q, x_t @ W_k, x_t @ W_v  # (B, D) each
    K = np.concatenate([k_cache, k[:, None, :]], axis=1)  # (B, P + 1, D)
    V = np.concatenate([v_cache, v[:, None, :]], axis=1)  # (B, P + 1, D)
    scores = np.einsum("bd,bsd->bs", q, K) / math.sqrt(D)  # (B, P + 1), in q's dtype
    weights = softmax(scores, axis=-1)  # (B, P + 1): all earlier tokens and itself
    out = np.einsum("bs,bsd->bd", weights, V)  # (B, D)
    return out, K, V


def attend_all(X: Any, W_q: Any, W_k: Any, W_v: Any) -> np.ndarray:
    """X (B, T, C) -> (B, T, D): causal single-head attention, every row recomputed.

    Row t is softmax(q_t K_{0..t}^T / sqrt(D)) V_{0..t}: what :func:`kv_decode_step`
    gives for token t when its cache holds tokens 0..t-1.
    """
    X = as_float_array(X, "X")
    if X.ndim != 3:
        raise ValueError(f"X must be (B, T, C), got shape {X.shape}.")
    W_q, W_k, W_v = (as_float_array(W, n) for W, n in ((W_q, "W_q"), (W_k, "W_k"), (W_v, "W_v")))
    check_projection_shapes(X.shape[2], (W_q.shape, W_k.shape, W_v.shape))
    q, k, v = X @ W_q, X @ W_k, X @ W_v  # (B, T, D) each
    out, _ = attention_forward(q, k, v, mask=causal_mask(X.shape[1]))  # (B, T, D)
    return out


# ---------------------------------------------------------------------------
# The whole GPT with a cache per block
# ---------------------------------------------------------------------------


def _attention_cached(
    p: dict[str, np.ndarray], x: np.ndarray, n_heads: int, past: KV | None
) -> tuple[np.ndarray, KV]:
    """Causal multi-head attention of x (B, T, C) at positions P.., after P cached ones."""
    b = {n: p.get(f"b_{n}", 0.0) for n in "qkvo"}
    q = split_heads(x @ p["W_q"] + b["q"], n_heads)  # (B, H, T, D)
    k = split_heads(x @ p["W_k"] + b["k"], n_heads)  # (B, H, T, D)
    v = split_heads(x @ p["W_v"] + b["v"], n_heads)  # (B, H, T, D)
    P = 0 if past is None else past[0].shape[2]
    if past is not None:
        k = np.concatenate([past[0], k], axis=2)  # (B, H, S, D)
        v = np.concatenate([past[1], v], axis=2)  # (B, H, S, D)
    T, S = q.shape[2], k.shape[2]
    allowed = np.arange(S)[None, :] <= np.arange(P, P + T)[:, None]  # (T, S): key s <= P + t
    heads, _ = attention_forward(q, k, v, mask=allowed)  # (B, H, T, D)
    return merge_heads(heads) @ p["W_o"] + b["o"], (k, v)  # (B, T, C)


def forward_with_cache(
    model: Any, ids: Any, past: list[KV] | None = None
) -> tuple[np.ndarray, list[KV]]:
    """ids (B, T) -> (logits (B, T, V), cache): the NumPy GPT's forward with a KV cache.

    ``model`` is a :class:`dlbook.gpt.numpy_backend.GPT`; its weights are read, never
    changed. ``past`` is the cache of an earlier call (one (K, V) per block, each
    (B, H, P, D)); the T new tokens sit at positions P .. P + T - 1. Without ``past``
    the logits equal ``model.forward(ids)``.
    """
    P = 0 if past is None else past[0][0].shape[2]
    ids = check_ids(ids, model.config, past=P)  # (B, T), every id in [0, V)
    W, eps, H = model.params, model.eps, model.config.n_head
    x = W["tok_emb"][ids] + W["pos_emb"][P : P + ids.shape[1]]  # (B, T, C)
    cache = []
    for i, attn in enumerate(model.attn):
        h = f"h{i}."
        a = layer_norm(x, W[h + "ln1.gamma"], W[h + "ln1.beta"], eps)  # (B, T, C)
        y, kv = _attention_cached(attn.params, a, H, None if past is None else past[i])
        x = x + y  # (B, T, C)
        m = layer_norm(x, W[h + "ln2.gamma"], W[h + "ln2.beta"], eps)  # (B, T, C)
        u = gelu(m @ W[h + "mlp.W_1"] + W.get(h + "mlp.b_1", 0.0))  # (B, T, Dm)
        x = x + u @ W[h + "mlp.W_2"] + W.get(h + "mlp.b_2", 0.0)  # (B, T, C)
        cache.append(kv)
    xf = layer_norm(x, W["ln_f.gamma"], W["ln_f.beta"], eps)  # (B, T, C)
    return xf @ W["head.W"], cache  # (B, T, V)


def _last_logits(model: Any) -> Any:
    """The ``forward_cached`` of :mod:`dlbook.serving.decoding` for ``model``."""

    def forward_cached(ids: np.ndarray, past: Any) -> tuple[np.ndarray, Any]:
        logits, cache = forward_with_cache(model, ids, past)  # (B, T, V)
        return logits[:, -1].astype(np.float64), cache  # (B, V)

    return forward_cached


def generate(
    model: Any,
    ids: Any,
    n_new: int,
    use_kv_cache: bool = True,
    temperature: float = 0.0,
    top_k: int | None = None,
    rng: np.random.Generator | int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Extend ids (B, T0) by ``n_new`` tokens: (ids (B, T0 + n_new), logits (B, n_new, V)).

    The NumPy twin of :func:`dlbook.gpt.train.generate` (same arguments, same crop rule).
    """
    block = model.config.block_size
    return decode(
        _last_logits(model),
        ids,
        n_new,
        block,
        use_kv_cache=use_kv_cache,
        temperature=temperature,
        top_k=top_k,
        rng=rng,
    )


def generate_batch(
    model: Any,
    vocab: Any,
    prompts: list[str],
    n_new: int,
    temperature: float = 0.0,
    seed: int | Sequence[int] = 0,
) -> list[str]:
    """The ``n_new`` characters after each prompt; prompts of equal length share a batch.

    See :mod:`dlbook.serving.decoding`: the GPT has no padding mask, so prompts are
    grouped by length; each prompt samples from its own generator seeded by ``seed``
    (one int for all, or one per prompt) and its own text, so batched equals one by one.
    """
    block = model.config.block_size
    return generate_batch_with(_last_logits(model), block, vocab, prompts, n_new, temperature, seed)


def measure_kv_speedup(
    model: Any,
    lengths: Sequence[int],
    *,
    prompt_len: int = 1,
    batch_size: int = 1,
    repeats: int = 3,
    seed: int = 0,
) -> list[dict[str, float]]:
    """Median seconds to generate up to each length with and without the cache, and the ratio.

    See :func:`dlbook.serving.decoding.measure_speedup_with`; untrained weights do.
    """
    return measure_speedup_with(
        generate,
        model,
        lengths,
        prompt_len=prompt_len,
        batch_size=batch_size,
        repeats=repeats,
        seed=seed,
    )


__all__ = [
    "attend_all",
    "forward_with_cache",
    "generate",
    "generate_batch",
    "kv_decode_step",
    "measure_kv_speedup",
]
