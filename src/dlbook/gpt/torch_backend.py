"""A GPT on PyTorch: the API of ``numpy_backend``, with autograd and a KV cache.

Shape legend: B = batch, T = new tokens, P = cached (past) tokens, S = P + T keys,
C = n_embd, H = n_head, D = C / H, V = vocab size.

Every concept comes from its own chapter: each block's attention is a
:class:`dlbook.attention.torch_backend.MultiHeadAttention` (fused fast path, causal,
with its KV cache: ``forward(ids, past=..., use_cache=True)``), and every LayerNorm a
:class:`dlbook.normalization.torch_backend.LayerNorm`. Their parameters keep PyTorch's
names and layout (``ln1.weight``, ``attn.W_q.weight`` stored (out, in)); ``get_weights``,
``set_weights`` and ``loss_and_grads`` translate them to the canonical names and
layout (matrices (in, out), ``y = x @ W + b``): ``h.0.attn.W_q.weight`` is
``h0.attn.W_q`` transposed, ``h.0.attn.W_q.bias`` is ``h0.attn.b_q``,
``h.0.ln1.weight`` / ``.bias`` are ``h0.ln1.gamma`` / ``.beta``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlbook._lazy import import_torch
from dlbook._torch import torch_dtype
from dlbook.attention.torch_backend import MultiHeadAttention
from dlbook.device import get_device
from dlbook.gpt.config import (
    GPTConfig,
    check_ids,
    check_targets,
    check_weights,
    init_weights,
    weight_shapes,
)
from dlbook.normalization.torch_backend import LayerNorm

torch = import_torch()
F = torch.nn.functional
nn = torch.nn

KV = tuple[Any, Any]  # one block's cached (keys, values), each (B, H, P, D)
_LN = {"weight": "gamma", "bias": "beta"}  # torch.nn.LayerNorm's names -> the book's


def _canonical_name(name: str) -> str:
    """A parameter's torch name -> its canonical name ("h.0.ln1.weight" -> "h0.ln1.gamma")."""
    if name.startswith("h."):
        _, i, rest = name.split(".", 2)
        name = f"h{i}.{rest}"
    *path, last = name.split(".")
    if path and path[-1] in ("ln1", "ln2", "ln_f"):
        return ".".join([*path, _LN[last]])
    if len(path) >= 2 and path[-2] == "attn":  # hI.attn.W_q.weight / hI.attn.W_q.bias
        return ".".join(path) if last == "weight" else ".".join([*path[:-1], "b_" + path[-1][2:]])
    return name


def _transposed(name: str) -> bool:
    """Whether the canonical weight ``name`` is stored transposed (torch.nn.Linear: (out, in))."""
    return ".attn.W_" in name


def _to_numpy(name: str, t: Any) -> np.ndarray:
    """A copy of parameter (or gradient) ``t`` in the canonical layout."""
    t = t.detach().cpu()
    return (t.T if _transposed(name) else t).numpy().copy()


def _param(*shape: int) -> Any:
    return nn.Parameter(torch.zeros(*shape))


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
        C, H = config.n_embd, config.n_head
        self.ln1 = LayerNorm(C)
        self.attn = MultiHeadAttention(C, H, bias=config.bias, fused=True)  # GPT loads weights
        self.ln2, self.mlp = LayerNorm(config.n_embd), MLP(config)
        self.drop = nn.Dropout(config.dropout)

    def forward(self, x: Any, past: KV | None = None) -> tuple[Any, KV]:
        a, kv = self.attn(self.ln1(x), past=past, use_cache=True, causal=True)  # (B, T, C)
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
        self.to(device=get_device(), dtype=torch_dtype(dtype))
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
        P = 0 if past is None else past[0][0].shape[2]
        ids = self._check_ids(ids, P)  # (B, T) on the model's device
        B, T = ids.shape
        x = self.drop(self.tok_emb[ids] + self.pos_emb[P : P + T])  # (B, T, C)
        cache = []
        for i, block in enumerate(self.h):
            x, kv = block(x, None if past is None else past[i])
            cache.append(kv)
        logits = self.ln_f(x) @ self.head.W  # (B, T, V)
        return (logits, cache) if use_cache else logits

    def _check_ids(self, ids: Any, past: int) -> Any:
        """ids as a tensor on the model's device, checked like the NumPy GPT's (ids in [0, V))."""
        V, T = self.config.vocab_size, self.config.block_size
        if (
            isinstance(ids, torch.Tensor)
            and ids.ndim == 2
            and not (ids.is_floating_point() or ids.dtype == torch.bool)
            and past + ids.shape[1] <= T
            and not ((ids < 0) | (ids >= V)).any()  # a negative id would read row V - 1
        ):
            return ids.to(self.device)  # checked where it lives: no copy to the CPU
        return torch.as_tensor(check_ids(ids, self.config, past=past), device=self.device)

    def canonical_parameters(self) -> dict[str, Any]:
        """Canonical name -> parameter, as stored (``h0.attn.W_q`` is the transpose)."""
        out = {_canonical_name(name): p for name, p in self.named_parameters()}
        return {k: out[k] for k in weight_shapes(self.config)}

    def get_weights(self) -> dict[str, np.ndarray]:
        """Copies of every weight as NumPy arrays under the canonical names and layout."""
        return {k: _to_numpy(k, p) for k, p in self.canonical_parameters().items()}

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Load canonical weights (names and shapes checked before any copy)."""
        check_weights(weights, self.config)
        with torch.no_grad():
            for k, p in self.canonical_parameters().items():
                w = torch.as_tensor(np.asarray(weights[k]), dtype=p.dtype, device=p.device)
                p.copy_(w.T if _transposed(k) else w)


def loss_and_grads(model: GPT, ids: Any, targets: Any) -> tuple[float, dict[str, np.ndarray]]:
    """Mean cross-entropy over all B*T predictions, and every gradient (canonical names)."""
    model.zero_grad(set_to_none=True)
    logits = model(ids)  # (B, T, V)
    y = torch.as_tensor(check_targets(targets, tuple(logits.shape[:2]), model.config))
    y = y.to(model.device)  # (B, T)
    loss = F.cross_entropy(logits.flatten(0, 1), y.flatten())
    loss.backward()
    grads = {k: _to_numpy(k, p.grad) for k, p in model.canonical_parameters().items()}
    return loss.item(), grads
