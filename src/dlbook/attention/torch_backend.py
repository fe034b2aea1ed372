"""Attention on PyTorch: the API of ``numpy_backend``, with autograd.

Shape legend: B batch, H heads, T query positions, S key positions, D head
width, C = H * D model width.

:func:`scaled_dot_product_attention` writes softmax(q k^T * scale) v out;
:func:`scaled_dot_product_attention_fused` is the same through
``torch.nn.functional.scaled_dot_product_attention`` (one fused kernel, the
fast path; it returns no weights). ``tests/attention`` shows that they agree.
:func:`to_torch_mha` loads the book's weights into ``torch.nn.MultiheadAttention``.

**Device.** Arrays are converted to tensors on :func:`dlbook.device.get_device`;
tensors stay where they are.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from dlbook._lazy import import_torch
from dlbook._torch import as_tensor, torch_dtype
from dlbook.attention import (
    BIAS_NAMES,
    WEIGHT_NAMES,
    check_heads,
    check_mask_shape,
    check_model_input,
    check_qkv_shapes,
    check_weights,
    init_mha_weights,
    numpy_causal_mask,
    numpy_padding_mask,
)
from dlbook.device import get_device

torch = import_torch()
F = torch.nn.functional


def _mask(mask: Any, device: Any) -> torch.Tensor | None:
    if mask is None:
        return None
    if not isinstance(mask, torch.Tensor):
        mask = torch.as_tensor(np.asarray(mask))
    if mask.dtype != torch.bool:
        raise TypeError(f"mask must be boolean (True = may attend), got dtype {mask.dtype}.")
    return mask.to(device)


def causal_mask(T: int) -> torch.Tensor:
    """bool (T, T): position t may attend to positions 0..t (lower triangle, True)."""
    return torch.as_tensor(numpy_causal_mask(T), device=get_device())


def padding_mask(lengths: Any, S: int) -> torch.Tensor:
    """bool (B, 1, 1, S): key s of sequence b is real iff s < lengths[b]."""
    if isinstance(lengths, torch.Tensor):
        lengths = lengths.detach().cpu().numpy()
    return torch.as_tensor(numpy_padding_mask(lengths, S), device=get_device())


def _qkv(q: Any, k: Any, v: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    q = as_tensor(q, "q")
    k, v = as_tensor(k, "k", device=q.device), as_tensor(v, "v", device=q.device)
    check_qkv_shapes(tuple(q.shape), tuple(k.shape), tuple(v.shape))
    dtype = torch.promote_types(torch.promote_types(q.dtype, k.dtype), v.dtype)
    return q.to(dtype), k.to(dtype), v.to(dtype)


def scaled_dot_product_attention(
    q: Any, k: Any, v: Any, mask: Any = None, scale: float | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """softmax(q k^T * scale) v, written out: returns (out (..., T, Dv), weights (..., T, S))."""
    q, k, v = _qkv(q, k, v)
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    scores = (q @ k.transpose(-2, -1)) * scale  # (..., T, S)
    mask = _mask(mask, q.device)
    if mask is None:
        weights = torch.softmax(scores, dim=-1)  # (..., T, S)
        return weights @ v, weights  # (..., T, Dv)
    check_mask_shape(tuple(mask.shape), tuple(scores.shape))
    empty = ~mask.any(dim=-1, keepdim=True)  # rows with nothing allowed
    scores = scores.masked_fill(~mask, float("-inf")).masked_fill(empty, 0.0)
    weights = torch.softmax(scores, dim=-1).masked_fill(empty, 0.0)  # (..., T, S)
    return weights @ v, weights  # (..., T, Dv)


def scaled_dot_product_attention_fused(
    q: Any, k: Any, v: Any, mask: Any = None, scale: float | None = None
) -> torch.Tensor:
    """The fast path: ``F.scaled_dot_product_attention`` (out only, no weights).

    Same mask convention (True = may attend). Rows with no allowed key are
    left to PyTorch (they are not guaranteed to be zero here).
    """
    q, k, v = _qkv(q, k, v)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=_mask(mask, q.device), scale=scale)


def split_heads(x: torch.Tensor, n_heads: int) -> torch.Tensor:
    """(B, T, C) -> (B, H, T, D)."""
    if x.ndim != 3:
        raise ValueError(f"split_heads takes x of shape (B, T, C), got shape {tuple(x.shape)}.")
    B, T, C = x.shape
    _, H, D = check_heads(C, n_heads)
    return x.reshape(B, T, H, D).transpose(1, 2)  # (B, T, H, D) -> (B, H, T, D)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """(B, H, T, D) -> (B, T, C)."""
    if x.ndim != 4:
        raise ValueError(f"merge_heads takes x of shape (B, H, T, D), got shape {tuple(x.shape)}.")
    B, H, T, D = x.shape
    return x.transpose(1, 2).reshape(B, T, H * D)  # (B, T, H, D) -> (B, T, C)


class MultiHeadAttention(torch.nn.Module):
    """Multi-head attention with explicit projections ``W_q``, ``W_k``, ``W_v``, ``W_o``.

    Each projection is a ``torch.nn.Linear(C, C)``, whose ``weight`` is the book's
    W transposed (PyTorch stores (out, in)). Initial weights come from
    :func:`init_mha_weights`, so all backends start identical.

    ``fused=True`` computes the heads with :func:`scaled_dot_product_attention_fused`
    (one kernel, the fast path for training; ``last_weights`` then stays None)
    instead of the written-out :func:`scaled_dot_product_attention`.

    **KV cache.** ``forward(..., past=(K, V), use_cache=True)`` appends the keys and
    values of the new positions to those of P earlier ones, each (B, H, P, D), and
    returns ``(out, (K, V))`` with each (B, H, P + S_new, D): what a GPT keeps while
    it generates one token at a time (``dlbook.gpt.torch_backend`` does).
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        *,
        seed: int = 0,
        dtype: str = "float32",
        bias: bool = True,
        fused: bool = False,
    ) -> None:
        super().__init__()
        self.d_model, self.n_heads, self.d_head = check_heads(d_model, n_heads)  # C, H, D
        self.bias, self.fused = bool(bias), bool(fused)
        kw = {"bias": self.bias, "device": get_device(), "dtype": torch_dtype(dtype)}
        self.W_q = torch.nn.Linear(d_model, d_model, **kw)
        self.W_k = torch.nn.Linear(d_model, d_model, **kw)
        self.W_v = torch.nn.Linear(d_model, d_model, **kw)
        self.W_o = torch.nn.Linear(d_model, d_model, **kw)
        self.last_weights: torch.Tensor | None = None  # (B, H, T, S), detached
        self.set_weights(init_mha_weights(d_model, seed, np.dtype(dtype).name, bias=self.bias))

    def _past(self, past: Any, k: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The cached (K, V), each (B, H, P, D), checked and moved to k's device and dtype."""
        if not isinstance(past, (tuple, list)) or len(past) != 2:
            raise TypeError("past must be a pair (K, V) of cached keys and values.")
        B, H, _, D = k.shape
        out = []
        for name, t in zip("KV", past, strict=True):
            t = as_tensor(t, f"past {name}", device=k.device).to(k.dtype)
            if t.ndim != 4 or (t.shape[0], t.shape[1], t.shape[3]) != (B, H, D):
                raise ValueError(
                    f"past {name} must have shape (B, H, P, D) = ({B}, {H}, P, {D}), "
                    f"got {tuple(t.shape)}."
                )
            out.append(t)
        return out[0], out[1]

    def forward(
        self,
        x_q: Any,
        x_kv: Any = None,
        mask: Any = None,
        past: Any = None,
        use_cache: bool = False,
        *,
        causal: bool = False,
    ) -> Any:
        """x_q (B, T, C) [, x_kv (B, S, C)] -> (B, T, C); x_kv=None is self-attention.

        ``past`` = (K, V), each (B, H, P, D), holds the keys and values of P earlier
        positions; the new ones are appended along the sequence axis, so the queries
        see S = P + S_new keys and ``mask`` must broadcast to (B, H, T, S).
        ``causal=True`` lets query t, which sits at position P + t, attend keys
        s <= P + t (combined with ``mask`` if both are given). With ``use_cache``
        the return value is ``(out (B, T, C), (K, V) each (B, H, S, D))``.
        """
        w = self.W_q.weight
        x_q = as_tensor(x_q, "x_q", device=w.device).to(w.dtype)
        x_kv = x_q if x_kv is None else as_tensor(x_kv, "x_kv", device=w.device).to(w.dtype)
        check_model_input(tuple(x_q.shape), self.d_model, "x_q")
        check_model_input(tuple(x_kv.shape), self.d_model, "x_kv")
        q = split_heads(self.W_q(x_q), self.n_heads)  # (B, H, T, D)
        k = split_heads(self.W_k(x_kv), self.n_heads)  # (B, H, S_new, D)
        v = split_heads(self.W_v(x_kv), self.n_heads)  # (B, H, S_new, D)
        P = 0
        if past is not None:  # the stored keys and values of the P earlier positions
            k_past, v_past = self._past(past, k)  # (B, H, P, D) each
            P = k_past.shape[2]
            k, v = torch.cat([k_past, k], dim=2), torch.cat([v_past, v], dim=2)  # (B, H, S, D)
        if causal:  # new query t sits at position P + t and may attend keys s <= P + t
            T, S = q.shape[2], k.shape[2]
            pos_q = torch.arange(P, P + T, device=q.device)[:, None]  # (T, 1)
            allowed = torch.arange(S, device=q.device)[None, :] <= pos_q  # (T, S)
            mask = allowed if mask is None else _mask(mask, q.device) & allowed
        if self.fused:
            heads = scaled_dot_product_attention_fused(q, k, v, mask)  # (B, H, T, D)
            self.last_weights = None
        else:
            heads, weights = scaled_dot_product_attention(q, k, v, mask)  # (B, H, T, D)
            self.last_weights = weights.detach()  # (B, H, T, S)
        out = self.W_o(merge_heads(heads))  # (B, T, C)
        return (out, (k, v)) if use_cache else out

    def _layers(self) -> dict[str, torch.nn.Linear]:
        return dict(zip(WEIGHT_NAMES, (self.W_q, self.W_k, self.W_v, self.W_o), strict=True))

    def get_weights(self) -> dict[str, np.ndarray]:
        """Copies of the canonical weights ``{"W_q": (C, C) (in, out), ..., "b_o": (C,)}``."""
        out = {}
        for (wn, layer), bn in zip(self._layers().items(), BIAS_NAMES, strict=True):
            out[wn] = layer.weight.detach().cpu().numpy().T.copy()
            if self.bias:
                out[bn] = layer.bias.detach().cpu().numpy().copy()
        return out

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Load canonical weights (all names and shapes checked before any copy)."""
        check_weights(weights, self.d_model, self.bias)
        with torch.no_grad():
            for (wn, layer), bn in zip(self._layers().items(), BIAS_NAMES, strict=True):
                layer.weight.copy_(torch.as_tensor(np.asarray(weights[wn]).T))  # (out, in)
                if self.bias:
                    layer.bias.copy_(torch.as_tensor(np.asarray(weights[bn])))

    def get_grads(self) -> dict[str, np.ndarray]:
        """The ``.grad`` of every parameter, in the layout of :meth:`get_weights`."""
        out = {}
        for (wn, layer), bn in zip(self._layers().items(), BIAS_NAMES, strict=True):
            out[wn] = layer.weight.grad.detach().cpu().numpy().T.copy()
            if self.bias:
                out[bn] = layer.bias.grad.detach().cpu().numpy().copy()
        return out


def mha_loss_and_grads(
    model: MultiHeadAttention, x: Any, mask: Any, d_out: Any
) -> tuple[float, dict[str, np.ndarray], Any]:
    """loss = sum(out * d_out), its weight gradients and dx, all as NumPy arrays.

    ``x`` is x (B, T, C) or a pair (x_q, x_kv) (then dx is the pair (dx_q, dx_kv)).
    """
    w = model.W_q.weight
    xs = x if isinstance(x, tuple) else (x,)
    ts = [as_tensor(a, "x", device=w.device).to(w.dtype).detach().requires_grad_(True) for a in xs]
    model.zero_grad()
    out = model(ts[0], ts[1] if len(ts) > 1 else None, mask)
    loss = (out * torch.as_tensor(np.asarray(d_out), dtype=out.dtype, device=out.device)).sum()
    loss.backward()
    dx = tuple(t.grad.detach().cpu().numpy() for t in ts)
    return float(loss.item()), model.get_grads(), dx if len(dx) > 1 else dx[0]


def to_torch_mha(model: Any) -> torch.nn.MultiheadAttention:
    """``torch.nn.MultiheadAttention(batch_first=True)`` holding the weights of ``model``.

    ``model`` is any backend's :class:`MultiHeadAttention`. PyTorch packs the
    three input projections into one (3C, C) matrix acting as x @ in_proj_weight^T:
    in_proj_weight = concat(W_q, W_k, W_v, axis=1)^T, in_proj_bias = concat(b_q, b_k, b_v),
    out_proj.weight = W_o^T, out_proj.bias = b_o. Its ``attn_mask`` is True where
    attention is *forbidden*: pass ``~mask``.
    """
    w = model.get_weights()
    C, H = model.d_model, model.n_heads
    dtype = torch_dtype(w["W_q"].dtype)
    mha = torch.nn.MultiheadAttention(
        C, H, bias=model.bias, batch_first=True, device=get_device(), dtype=dtype
    )
    with torch.no_grad():
        in_w = np.concatenate([w["W_q"], w["W_k"], w["W_v"]], axis=1).T  # (3C, C)
        mha.in_proj_weight.copy_(torch.as_tensor(in_w))
        mha.out_proj.weight.copy_(torch.as_tensor(w["W_o"].T))  # (C, C) (out, in)
        if model.bias:
            in_b = np.concatenate([w["b_q"], w["b_k"], w["b_v"]])  # (3C,)
            mha.in_proj_bias.copy_(torch.as_tensor(in_b))
            mha.out_proj.bias.copy_(torch.as_tensor(w["b_o"]))
    return mha


class DotProductAttention(torch.nn.Module):
    """Parameter-free scaled dot-product attention for ``dlbook.rnn.seq2seq.Seq2Seq``.

    ``forward(query (B, H), keys (B, S, H)) -> (context (B, H), weights (B, S))``:
    the decoder state queries the encoder states, which serve as keys and values.
    ``hidden_size`` is accepted (``train_seq2seq`` calls ``attention(H)``) and unused.
    """

    def __init__(self, hidden_size: int | None = None) -> None:
        super().__init__()
        self.hidden_size = hidden_size

    def forward(self, query: torch.Tensor, keys: torch.Tensor) -> tuple[Any, Any]:
        context, weights = scaled_dot_product_attention(query[:, None], keys, keys)  # (B, 1, *)
        return context[:, 0], weights[:, 0]  # (B, H), (B, S)


__all__ = [
    "DotProductAttention",
    "MultiHeadAttention",
    "causal_mask",
    "init_mha_weights",
    "merge_heads",
    "mha_loss_and_grads",
    "padding_mask",
    "scaled_dot_product_attention",
    "scaled_dot_product_attention_fused",
    "split_heads",
    "to_torch_mha",
]
