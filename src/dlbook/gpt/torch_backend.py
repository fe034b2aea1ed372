"""A GPT on PyTorch: the API of ``numpy_backend``, with autograd and a KV cache.

Shape legend: B = batch, T = new tokens, P = cached (past) tokens, S = P + T keys,
C = n_embd, H = n_head, D = C / H, V = vocab size.

Parameters are stored in the canonical layout (matrices (in, out), ``y = x @ W + b``),
so ``get_weights`` / ``set_weights`` copy without transposing, and every parameter's
name maps 1:1 onto a canonical name (``h.0.attn.W_q`` <-> ``h0.attn.W_q``).

Attention uses the fused ``F.scaled_dot_product_attention`` (the explicit
softmax(QK^T / sqrt D) V is :mod:`dlbook.attention.numpy_backend`; the parity test
shows they agree). It is written out here rather than taken from
:class:`dlbook.attention.torch_backend.MultiHeadAttention` because generation needs
to keep each block's keys and values: ``forward(ids, past=..., use_cache=True)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlbook._lazy import import_torch
from dlbook.device import get_device
from dlbook.gpt.config import GPTConfig, check_weights, init_weights, weight_shapes
from dlbook.normalization import DEFAULT_EPS

torch = import_torch()
F = torch.nn.functional
nn = torch.nn

_DTYPES = {"float32": torch.float32, "float64": torch.float64}
KV = tuple[Any, Any]  # one block's cached (keys, values), each (B, H, P, D)


def _param(*shape: int) -> Any:
    return nn.Parameter(torch.zeros(*shape))


class LayerNorm(nn.Module):
    def __init__(self, C: int) -> None:
        super().__init__()
        self.gamma, self.beta = _param(C), _param(C)

    def forward(self, x: Any) -> Any:
        return F.layer_norm(x, x.shape[-1:], self.gamma, self.beta, DEFAULT_EPS)


class CausalSelfAttention(nn.Module):
    """Causal multi-head self-attention whose ``forward`` can extend a KV cache."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        C, self.n_head = config.n_embd, config.n_head
        for n in "qkvo":
            self.register_parameter(f"W_{n}", _param(C, C))
            self.register_parameter(f"b_{n}", _param(C) if config.bias else None)

    def _proj(self, x: Any, n: str) -> Any:
        b = getattr(self, f"b_{n}")
        y = x @ getattr(self, f"W_{n}")
        return y if b is None else y + b

    def forward(self, x: Any, past: KV | None = None) -> tuple[Any, KV]:
        """x (B, T, C) -> (out (B, T, C), (K, V) each (B, H, P + T, D))."""
        B, T, C = x.shape
        H = self.n_head
        q, k, v = (self._proj(x, n).view(B, T, H, C // H).transpose(1, 2) for n in "qkv")
        if past is not None:  # the stored keys and values of the P earlier tokens
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)  # (B, H, S, D)
        S = k.shape[2]
        if S == T:  # no cache: the plain causal triangle
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (B, H, T, D)
        else:  # new query t sits at position P + t and may attend keys s <= P + t
            pos_q = torch.arange(S - T, S, device=x.device)[:, None]  # (T, 1)
            mask = torch.arange(S, device=x.device)[None, :] <= pos_q  # (T, S), True = attend
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)  # (B, H, T, D)
        y = y.transpose(1, 2).reshape(B, T, C)  # (B, T, C)
        return self._proj(y, "o"), (k, v)


class MLP(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        C, Dm = config.n_embd, config.d_mlp
        self.W_1, self.W_2 = _param(C, Dm), _param(Dm, C)
        self.b_1 = _param(Dm) if config.bias else None
        self.b_2 = _param(C) if config.bias else None

    def forward(self, x: Any) -> Any:
        h = x @ self.W_1  # (B, T, Dm)
        h = F.gelu(h if self.b_1 is None else h + self.b_1, approximate="none")
        y = h @ self.W_2  # (B, T, C)
        return y if self.b_2 is None else y + self.b_2


class Block(nn.Module):
    """x + MHA(LN1(x)), then x + MLP(LN2(x)): the pre-LayerNorm transformer block."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.ln1, self.attn = LayerNorm(config.n_embd), CausalSelfAttention(config)
        self.ln2, self.mlp = LayerNorm(config.n_embd), MLP(config)
        self.drop = nn.Dropout(config.dropout)

    def forward(self, x: Any, past: KV | None = None) -> tuple[Any, KV]:
        a, kv = self.attn(self.ln1(x), past)
        x = x + self.drop(a)
        return x + self.drop(self.mlp(self.ln2(x))), kv


class Head(nn.Module):
    def __init__(self, C: int, V: int) -> None:
        super().__init__()
        self.W = _param(C, V)  # untied from tok_emb, no bias (see dlbook.gpt.config)


class GPT(nn.Module):
    """A pre-LayerNorm GPT as a ``torch.nn.Module``, initialised like every backend."""

    def __init__(self, config: GPTConfig, *, seed: int = 0, dtype: str = "float32") -> None:
        super().__init__()
        self.config = config
        C = config.n_embd
        self.tok_emb = _param(config.vocab_size, C)
        self.pos_emb = _param(config.block_size, C)
        self.h = nn.ModuleList([Block(config) for _ in range(config.n_layer)])
        self.ln_f, self.head = LayerNorm(C), Head(C, config.vocab_size)
        self.drop = nn.Dropout(config.dropout)
        self.to(device=get_device(), dtype=_DTYPES[str(dtype)])
        self.set_weights(init_weights(config, seed=seed, dtype=str(dtype)))

    @property
    def device(self) -> Any:
        return self.tok_emb.device

    def forward(self, ids: Any, past: list[KV] | None = None, use_cache: bool = False) -> Any:
        """ids (B, T) -> logits (B, T, V); with ``use_cache``, (logits, cache) instead.

        ``past`` is the cache returned by an earlier call on the same sequences: one
        (K, V) pair per block, each (B, H, P, D). The T new tokens then sit at
        positions P .. P + T - 1 and attend to the P stored tokens and to each other.
        """
        ids = torch.as_tensor(ids, device=self.device)
        B, T = ids.shape
        P = 0 if past is None else past[0][0].shape[2]
        if P + T > self.config.block_size:
            raise ValueError(
                f"{P} cached + {T} new tokens exceed block_size = {self.config.block_size}: "
                "there is no position embedding beyond it. Crop the context first."
            )
        x = self.drop(self.tok_emb[ids] + self.pos_emb[P : P + T])  # (B, T, C)
        cache = []
        for i, block in enumerate(self.h):
            x, kv = block(x, None if past is None else past[i])
            cache.append(kv)
        logits = self.ln_f(x) @ self.head.W  # (B, T, V)
        return (logits, cache) if use_cache else logits

    def canonical_parameters(self) -> dict[str, Any]:
        """Canonical name -> parameter ("h.0.attn.W_q" is called "h0.attn.W_q")."""
        out = {}
        for name, p in self.named_parameters():
            if name.startswith("h."):
                _, i, rest = name.split(".", 2)
                name = f"h{i}.{rest}"
            out[name] = p
        return {k: out[k] for k in weight_shapes(self.config)}

    def get_weights(self) -> dict[str, np.ndarray]:
        """Copies of every weight as NumPy arrays under the canonical names."""
        return {k: p.detach().cpu().numpy().copy() for k, p in self.canonical_parameters().items()}

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Load canonical weights (names and shapes checked before any copy)."""
        check_weights(weights, self.config)
        with torch.no_grad():
            for k, p in self.canonical_parameters().items():
                p.copy_(torch.as_tensor(np.asarray(weights[k]), dtype=p.dtype, device=p.device))


def loss_and_grads(model: GPT, ids: Any, targets: Any) -> tuple[float, dict[str, np.ndarray]]:
    """Mean cross-entropy over all B*T predictions, and every gradient (canonical names)."""
    model.zero_grad(set_to_none=True)
    logits = model(ids)  # (B, T, V)
    y = torch.as_tensor(np.asarray(targets), device=model.device)
    loss = F.cross_entropy(logits.flatten(0, 1), y.flatten())
    loss.backward()
    grads = {
        k: p.grad.detach().cpu().numpy().copy() for k, p in model.canonical_parameters().items()
    }
    return loss.item(), grads
