"""Measuring what a training step costs, on PyTorch: FLOPs, saved activations, a ladder rung.

PyTorch only: FLOP counting (``torch.utils.flop_counter``) and the saved-tensor hooks
of autograd are features of its dispatcher and autograd engine, with no NumPy or
TensorFlow counterpart that measures the same thing.

Shape legend: B = batch, T = tokens per sequence, V = vocabulary size.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from dlbook._lazy import _silence_fd2, import_torch
from dlbook.gpt.config import count_parameters
from dlbook.gpt.torch_backend import GPT

torch = import_torch()
F = torch.nn.functional
_aten = torch.ops.aten


def _attention_flops(query: Any, key: Any, value: Any, *args: Any, **kwargs: Any) -> int:
    from torch.utils.flop_counter import sdpa_flop_count

    return sdpa_flop_count(query, key, value)  # dense: 4 B H T S D


def _attention_backward_flops(
    grad: Any, query: Any, key: Any, value: Any, *a: Any, **k: Any
) -> int:
    from torch.utils.flop_counter import sdpa_backward_flop_count

    return sdpa_backward_flop_count(grad, query, key, value)  # 10 B H T S D: 5 products


# FlopCounterMode (torch 2.13) knows the GPU attention kernels but not the CPU one that
# F.scaled_dot_product_attention picks on a CPU: we give it the same (dense) formula.
_CPU_ATTENTION = {
    _aten._scaled_dot_product_flash_attention_for_cpu: _attention_flops,
    _aten._scaled_dot_product_flash_attention_for_cpu_backward: _attention_backward_flops,
}


def _loss(model: GPT, ids: Any) -> Any:
    """Mean cross-entropy of predicting ``ids`` themselves (the targets change no FLOP count)."""
    logits = model(ids)  # (B, T, V)
    return F.cross_entropy(logits.flatten(0, 1), ids.flatten())


def measure_flops(model: GPT, ids: Any, backward: bool = True) -> dict[str, int]:
    """FLOPs of one forward (and backward) pass over ``ids`` (B, T), counted by PyTorch.

    ``torch.utils.flop_counter.FlopCounterMode`` sees every operation the dispatcher
    runs and adds 2 M K N for each matrix product (mm, addmm, bmm, attention kernels);
    element-wise work (LayerNorm, GELU, softmax, bias additions) counts zero. A fused
    attention kernel, which stores no scores, recomputes QK^T in its backward: five
    products there, where the textbook count has four. Returns
    totals for the whole batch: ``{"forward", "backward", "total"}`` (divide by
    ``ids.numel()`` for FLOPs per token); ``backward=False`` runs no backward (0).
    Parameter gradients are left set to None.
    """
    from torch.utils.flop_counter import FlopCounterMode

    ids = torch.as_tensor(ids, device=model.device)
    if ids.ndim != 2:
        raise ValueError(f"ids must have shape (B, T), got {tuple(ids.shape)}.")
    counter = FlopCounterMode(display=False, custom_mapping=_CPU_ATTENTION)
    with counter:
        loss = _loss(model, ids)
    forward = int(counter.get_total_flops())
    back = 0
    if backward:
        counter = FlopCounterMode(display=False, custom_mapping=_CPU_ATTENTION)
        with counter:
            loss.backward()
        back = int(counter.get_total_flops())
        model.zero_grad(set_to_none=True)
    return {"forward": forward, "backward": back, "total": forward + back}


def saved_tensor_bytes(model: GPT, ids: Any) -> dict[str, int]:
    """Bytes that autograd keeps from the forward pass of ``ids`` (B, T) for the backward.

    Every tensor that an operation saves passes through
    ``torch.autograd.graph.saved_tensors_hooks``. A tensor saved twice, or a view of
    another saved tensor, shares its storage, so storages are counted once.
    ``"parameters"`` are the weights themselves (saved by reference, no extra memory);
    ``"activations"`` is the rest, the memory a training step adds on top of the
    model state. Deterministic: the same model and ids give the same numbers.
    """
    ids = torch.as_tensor(ids, device=model.device)
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    storages: dict[int, int] = {}

    def pack(t: Any) -> Any:
        storage = t.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = _loss(model, ids)
    del loss
    weights = sum(n for ptr, n in storages.items() if ptr in params)
    total = sum(storages.values())
    return {"activations": total - weights, "parameters": weights, "total": total}


def heldout_loss(model: GPT, ids: Any, chunk: int = 1024) -> float:
    """Mean nats/char over a long text, batched: :func:`dlbook.gpt.train.evaluate` in bulk.

    Windows of T characters start every T/2 characters; each scores its second half,
    so every character after the first T/2 is scored once, with at least T/2 of context.
    ``chunk`` windows go through the model at a time.
    """
    from dlbook.gpt.train import window_loss

    T = model.config.block_size
    half = T // 2
    arr = np.asarray(ids, dtype=np.int64)
    starts = np.arange(0, len(arr) - T, half)  # (n,)
    if len(starts) == 0:
        raise ValueError(f"ids has {len(arr)} characters; a window needs at least T + 1 = {T + 1}.")
    total = 0.0
    for lo in range(0, len(starts), chunk):
        idx = starts[lo : lo + chunk, None] + np.arange(T)  # (n_chunk, T)
        total += window_loss(model, arr[idx], arr[idx + 1], half) * len(idx)
    return total / len(starts)


def train_rung(config: Any, train_ids: Any, val_ids: Any) -> dict[str, Any]:
    """Train one GPT of a scaling ladder and return what the ladder records about it.

    ``config`` is a :class:`dlbook.gpt.train.GPTTrainConfig`. The record holds the
    non-embedding parameter count N (as in Kaplan et al. 2020), the tokens seen
    D = steps * B * T, the training compute 6 N D, the loss of :func:`heldout_loss`
    on the whole of ``val_ids``, the final training loss and the wall-clock seconds.
    """
    from dlbook.gpt.train import train_gpt

    tick = time.perf_counter()
    model, log = train_gpt(config, train_ids, val_ids)
    seconds = time.perf_counter() - tick
    counts = count_parameters(model.config)
    n_params = counts["total"] - counts["embeddings"]
    tokens = config.steps * config.batch_size * config.block_size
    return {
        "n_params": n_params,
        "n_params_total": counts["total"],
        "tokens": tokens,
        "compute": 6 * n_params * tokens,
        "val_loss": heldout_loss(model, val_ids),
        "final_train_loss": float(np.mean(log.train_loss[-50:])),
        "train_seconds": seconds,
    }


def ladder_configs(progress: bool = True) -> list[Any]:
    """The :class:`~dlbook.gpt.train.GPTTrainConfig` of every rung of the book's ladder.

    Shapes from :data:`dlbook.scale.scaling.LADDER_SHAPES`, one schedule for all
    (:data:`~dlbook.scale.scaling.LADDER_SCHEDULE`).
    """
    from dlbook.gpt.train import GPTTrainConfig
    from dlbook.scale.scaling import LADDER_SCHEDULE, LADDER_SHAPES

    return [
        GPTTrainConfig(n_layer=L, n_embd=C, n_head=H, progress=progress, **LADDER_SCHEDULE)
        for L, C, H in LADDER_SHAPES
    ]


def profile_step_memory(model: GPT, ids: Any) -> dict[str, int]:
    """Bytes the allocator hands out during one AdamW training step on ``ids`` (B, T).

    On a CPU, ``torch.profiler`` with ``profile_memory=True`` records each operation's
    net allocation; running them in order gives the memory in use over the step, at
    the resolution of operations. On a GPU, CUDA's allocator keeps the peak itself
    (``torch.cuda.max_memory_allocated``). ``"peak"`` is the maximum above the
    starting point (activations, gradients, Adam's moments and temporaries),
    ``"retained"`` what is still held after the step (Adam's m and v, created at the
    first step). A fresh AdamW is used, so the weights change: pass a model you can spare.
    """
    ids = torch.as_tensor(ids, device=model.device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def step() -> None:
        _loss(model, ids).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    if model.device.type == "cuda":
        torch.cuda.synchronize()
        start = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        step()
        torch.cuda.synchronize()
        end, top = torch.cuda.memory_allocated(), torch.cuda.max_memory_allocated()
        return {"peak": top - start, "retained": end - start}
    return _profile_cpu(step)


def _profile_cpu(step: Any) -> dict[str, int]:
    """Peak and final net allocation of ``step()`` on the CPU, from the profiler's events."""
    from torch.profiler import ProfilerActivity, profile

    with (
        _silence_fd2(),  # the profiler's C++ start/stop lines would land in a notebook
        profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof,
    ):
        step()
    in_use, peak = 0, 0
    for event in sorted(prof.events(), key=lambda e: e.time_range.start):
        in_use += event.self_cpu_memory_usage
        peak = max(peak, in_use)
    return {"peak": peak, "retained": in_use}
