"""The KV cache and batched generation on PyTorch: the API of ``numpy_backend``.

Shape legend: B batch, T new tokens, P cached (past) tokens, C channels, D head
width, V vocabulary.

:func:`kv_decode_step` and :func:`attend_all` are the one-head functions of the NumPy
backend written with tensors (``tests/serving`` checks that the two agree). The
whole-GPT cache is :class:`dlbook.gpt.torch_backend.GPT`'s own
``forward(ids, past=, use_cache=True)``, and :func:`generate` is
:func:`dlbook.gpt.train.generate`; this module adds :func:`generate_batch` and
:func:`measure_kv_speedup` around them. Tensors stay on their device; arrays are
moved to :func:`dlbook.device.get_device`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from dlbook._lazy import import_torch
from dlbook._torch import as_tensor
from dlbook.attention.torch_backend import causal_mask, scaled_dot_product_attention
from dlbook.gpt.train import generate
from dlbook.serving._checks import check_decode_shapes, check_projection_shapes
from dlbook.serving.decoding import generate_batch_with, measure_speedup_with

torch = import_torch()


def kv_decode_step(
    x_t: Any, W_q: Any, W_k: Any, W_v: Any, k_cache: Any, v_cache: Any
) -> tuple[Any, Any, Any]:
    """One head attends from the newest token: (out (B, D), new k_cache, new v_cache).

    The maths and the argument checks are those of the NumPy backend's
    ``kv_decode_step``: q K^T / sqrt(D) over the P cached keys and the new one.
    The caches returned are new tensors (B, P + 1, D); the inputs are not modified.
    """
    x_t = as_tensor(x_t, validate=False)
    W_q, W_k, W_v, k_cache, v_cache = (
        as_tensor(a, validate=False, device=x_t.device) for a in (W_q, W_k, W_v, k_cache, v_cache)
    )
    shapes = [tuple(a.shape) for a in (x_t, W_q, W_k, W_v, k_cache, v_cache)]
    check_decode_shapes(shapes[0], tuple(shapes[1:4]), shapes[4], shapes[5])
    D = W_q.shape[1]
    q, k, v = x_t @ W_q, x_t @ W_k, x_t @ W_v  # (B, D) each
    K = torch.cat([k_cache, k[:, None, :]], dim=1)  # (B, P + 1, D)
    V = torch.cat([v_cache, v[:, None, :]], dim=1)  # (B, P + 1, D)
    weights = torch.softmax(torch.einsum("bd,bsd->bs", q, K) / math.sqrt(D), dim=-1)  # (B, P+1)
    return torch.einsum("bs,bsd->bd", weights, V), K, V  # (B, D)


def attend_all(X: Any, W_q: Any, W_k: Any, W_v: Any) -> Any:
    """X (B, T, C) -> (B, T, D): causal single-head attention, every row recomputed."""
    X = as_tensor(X, validate=False)
    if X.ndim != 3:
        raise ValueError(f"X must be (B, T, C), got shape {tuple(X.shape)}.")
    W_q, W_k, W_v = (as_tensor(W, validate=False, device=X.device) for W in (W_q, W_k, W_v))
    check_projection_shapes(X.shape[2], tuple(tuple(W.shape) for W in (W_q, W_k, W_v)))
    out, _ = scaled_dot_product_attention(X @ W_q, X @ W_k, X @ W_v, causal_mask(X.shape[1]))
    return out  # (B, T, D)


def forward_with_cache(model: Any, ids: Any, past: Any = None) -> tuple[Any, Any]:
    """ids (B, T) -> (logits (B, T, V), cache): ``model(ids, past=past, use_cache=True)``."""
    with torch.no_grad():
        return model(ids, past=past, use_cache=True)


def _last_logits(model: Any) -> Any:
    """The ``forward_cached`` of :mod:`dlbook.serving.decoding` for ``model``."""

    def forward_cached(ids: np.ndarray, past: Any) -> tuple[np.ndarray, Any]:
        logits, cache = forward_with_cache(model, torch.as_tensor(ids, device=model.device), past)
        return logits[:, -1].double().cpu().numpy(), cache  # (B, V)

    return forward_cached


def generate_batch(
    model: Any,
    vocab: Any,
    prompts: list[str],
    n_new: int,
    temperature: float = 0.0,
    seed: int | Sequence[int] = 0,
) -> list[str]:
    """Texts after each prompt, as the NumPy backend's ``generate_batch`` (grouped by length)."""
    model.eval()
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
    """Times :func:`dlbook.gpt.train.generate` with and without the cache (see numpy_backend)."""
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
