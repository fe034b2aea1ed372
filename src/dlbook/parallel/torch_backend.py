"""Training at scale on PyTorch: mixed precision, accumulation, checkpointing, DDP and ZeRO-1.

Shape legend: B batch, T time, C channels, V vocabulary, N parameters, p ranks.

Five techniques, one section each:

==========================================  ==============================================
name                                        what it does
==========================================  ==============================================
``PrecisionConfig``, ``train_mlp``          the digits MLP in fp32, with bf16 autocast,
                                            or in fp16 with dynamic loss scaling and
                                            float32 master weights (``PrecisionLog``)
``scaled_grads(model, x, y, scale)``        the gradients of a float16 copy, unscaled
``accumulate_gradients``,                   k micro-batches whose gradients add up to the
``train_step_accumulated``                  big batch's (loss scaled by n_i / n)
``set_activation_checkpointing``            recompute each GPT block in the backward pass
``saved_activation_bytes``,                 what autograd keeps for backward, and the FLOPs
``training_flops``                          of one forward + backward (FlopCounterMode)
``run_distributed(fn, world_size, *args)``  ``fn(rank, world_size, *args)`` in p processes
                                            joined by a gloo process group on 127.0.0.1
``train_single`` / ``train_data_parallel``  the shared data-parallel API (see
                                            :mod:`dlbook.parallel.data_parallel`)
``train_distributed(configs, x, y)``        several DDP / ZeRO-1 runs in *one* launch,
                                            with the per-rank memory of each
``ZeroAdam``                                Adam whose m, v and master weights are
                                            sharded over the ranks (ZeRO stage 1)
==========================================  ==============================================

**CPU only, on purpose.** The process groups use the gloo backend over TCP on
127.0.0.1: that runs on any laptop. On GPUs the same code would use NCCL. The
models of the other sections live on :func:`dlbook.device.get_device`.
"""

from __future__ import annotations

import copy
import datetime
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dlbook._lazy import import_torch
from dlbook.data.digits import DataSplit
from dlbook.nn.torch_backend import MLP
from dlbook.optim import torch_backend as optim_torch
from dlbook.parallel._checks import positive_int
from dlbook.parallel.data_parallel import DataParallelConfig, check_data, rank_batches
from dlbook.parallel.launch import find_free_port, run_processes
from dlbook.parallel.mixed_precision import unscale_grads, update_scale

torch = import_torch()
F = torch.nn.functional

# ---------------------------------------------------------------------------
# Mixed precision: bf16 autocast, and fp16 with loss scaling from scratch
# ---------------------------------------------------------------------------

PRECISIONS = ("fp32", "bf16-autocast", "fp16-scaled")


@dataclass(frozen=True)
class PrecisionConfig:
    """The digits MLP trained with SGD + momentum in one of :data:`PRECISIONS`."""

    sizes: tuple[int, ...] = (64, 128, 10)  # MLP widths: 64 pixels, 128 hidden, 10 classes
    precision: str = "fp32"  # "fp32", "bf16-autocast" or "fp16-scaled"
    steps: int = 300  # optimizer steps (attempted: fp16 skips those that overflow)
    batch_size: int = 64  # examples per step, taken in order, wrapping around
    lr: float = 0.1  # SGD learning rate
    momentum: float = 0.9  # SGD momentum
    seed: int = 0  # seeds the initial weights
    init_scale: float = 2.0**16  # fp16: the first loss scale (GradScaler's default)
    growth_interval: int = 20  # fp16: good steps before the scale doubles (GradScaler: 2000)
    progress: bool = True  # a tqdm progress bar over the steps

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}.")


@dataclass
class PrecisionLog:
    """What :func:`train_mlp` records at every step."""

    loss: list[float] = field(default_factory=list)  # the (unscaled) training loss
    scale: list[float] = field(default_factory=list)  # fp16: the loss scale used at the step
    skipped: list[int] = field(default_factory=list)  # fp16: steps skipped for inf / NaN
    test_accuracy: float = float("nan")  # accuracy of the final (master) weights


def _batch(data: DataSplit, step: int, batch_size: int, device: Any) -> tuple[Any, Any]:
    idx = (step * batch_size + np.arange(batch_size)) % len(data.y_train)  # (B,)
    x = torch.as_tensor(data.x_train[idx], dtype=torch.float32, device=device)  # (B, D)
    return x, torch.as_tensor(data.y_train[idx], device=device)


_LOW = {"float16": torch.float16, "float32": torch.float32}


def _copy_in(model: MLP, dtype: str) -> MLP:
    """A copy of the MLP in ``dtype`` (its forward then casts its inputs to ``dtype`` too)."""
    work = copy.deepcopy(model).to(_LOW[dtype])
    work.dtype = _LOW[dtype]
    return work


def scaled_grads(
    model: MLP, x: Any, y: Any, scale: float = 1.0, dtype: str = "float16"
) -> tuple[list[np.ndarray], bool]:
    """Gradients of the loss times ``scale``, computed by a ``dtype`` copy of ``model``, unscaled.

    With ``dtype="float16"`` the forward and backward passes run in float16 (the
    logits are cast to float32 for the softmax), so every gradient that falls
    below 2^-24 / scale is lost; :func:`~dlbook.parallel.mixed_precision.unscale_grads`
    divides by ``scale`` in float32 and reports inf / NaN. ``dtype="float32"``
    gives the reference. Returns (grads, found_inf), the grads in the order and
    layout of ``model.parameters()``.
    """
    if dtype not in _LOW:
        raise ValueError(f"dtype must be 'float16' or 'float32', got {dtype!r}.")
    work = _copy_in(model, dtype)
    work.zero_grad(set_to_none=True)
    x = torch.as_tensor(np.asarray(x), device=work.device).to(work.dtype)  # (B, D)
    loss = F.cross_entropy(work(x).float(), torch.as_tensor(np.asarray(y), device=work.device))
    (loss * scale).backward()  # gradients of the scaled loss, in dtype
    return unscale_grads([p.grad.cpu().numpy() for p in work.parameters()], scale)


def _fp16_step(
    master: MLP, half: MLP, opt: Any, x: Any, y: Any, scale: float
) -> tuple[float, bool]:
    """One loss-scaled step: fp16 forward/backward, unscale in fp32, update the fp32 master."""
    half.zero_grad(set_to_none=True)
    loss = F.cross_entropy(half(x.half()).float(), y)  # (B, K) fp16 logits, fp32 loss
    (loss * scale).backward()
    grads, found_inf = unscale_grads([p.grad.cpu().numpy() for p in half.parameters()], scale)
    if not found_inf:  # an overflow skips the step: the master weights stay as they are
        optim_torch.apply(opt, list(master.parameters()), grads)
        with torch.no_grad():
            for p16, p32 in zip(half.parameters(), master.parameters(), strict=True):
                p16.copy_(p32)  # round the new master weights to float16
    return float(loss.detach()), found_inf


def _autocast_step(model: MLP, opt: Any, x: Any, y: Any, dtype: Any) -> float:
    """One step with the forward pass under autocast (``dtype`` None: plain float32)."""
    on = dtype is not None
    with torch.autocast(model.device.type, dtype=dtype or torch.bfloat16, enabled=on):
        logits = model(x)  # (B, K): matmuls in bf16 under autocast
    loss = F.cross_entropy(logits.float(), y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return float(loss.detach())


def _accuracy(model: MLP, x: np.ndarray, y: np.ndarray) -> float:
    with torch.no_grad():
        pred = model(torch.as_tensor(x, dtype=torch.float32, device=model.device)).argmax(1)
    return float((pred.cpu().numpy() == y).mean())


def train_mlp(data: DataSplit, config: PrecisionConfig) -> tuple[MLP, PrecisionLog]:
    """Train the digits MLP in ``config.precision``; return the float32 model and its log.

    ``fp16-scaled`` keeps float32 *master* weights and a float16 working copy:
    forward and backward in float16 on the loss times S, then
    :func:`~dlbook.parallel.mixed_precision.unscale_grads`, a float32 step (or a
    skipped one) and :func:`~dlbook.parallel.mixed_precision.update_scale`.
    """
    from tqdm.auto import trange

    model = MLP(config.sizes, seed=config.seed, dtype="float32")
    opt = optim_torch.make("momentum", model.parameters(), lr=config.lr, momentum=config.momentum)
    half = _copy_in(model, "float16") if config.precision == "fp16-scaled" else None
    autocast = torch.bfloat16 if config.precision == "bf16-autocast" else None
    log, scale, good = PrecisionLog(), float(config.init_scale), 0
    for step in trange(config.steps, desc=config.precision, disable=not config.progress):
        x, y = _batch(data, step, config.batch_size, model.device)
        if half is None:
            log.loss.append(_autocast_step(model, opt, x, y, autocast))
            continue
        loss, found_inf = _fp16_step(model, half, opt, x, y, scale)
        log.loss.append(loss)
        log.scale.append(scale)
        if found_inf:
            log.skipped.append(step)
        scale, good = update_scale(scale, found_inf, good, growth_interval=config.growth_interval)
    log.test_accuracy = _accuracy(model, data.x_test, data.y_test)
    return model, log


# ---------------------------------------------------------------------------
# Gradient accumulation
# ---------------------------------------------------------------------------


def accumulate_gradients(
    model: Any,
    x: Any,
    y: Any,
    accum_steps: int,
    loss_fn: Callable[[Any, Any], Any] | None = None,
    scale_loss: bool = True,
) -> float:
    """Leave in ``p.grad`` the gradient of the mean loss over all of x, in ``accum_steps`` pieces.

    The n rows are cut into k = ``accum_steps`` micro-batches of n_i rows. Each
    micro-batch's mean loss L_i is multiplied by n_i / n (1/k for equal pieces)
    before its backward pass, which *adds* into ``p.grad``::

        sum_i (n_i / n) grad L_i = grad (1/n) sum_rows loss = grad of the big batch

    ``scale_loss=False`` reproduces the classic bug: the sum of k mean-gradients,
    k times too large. Returns the big batch's mean loss.
    """
    positive_int(accum_steps, "accum_steps", " (the number of micro-batches)")
    n = len(x)
    if accum_steps > n:
        raise ValueError(
            f"accum_steps = {accum_steps} exceeds the {n} rows: a micro-batch would be empty."
        )
    loss_fn = loss_fn or F.cross_entropy
    device = next(model.parameters()).device
    x, y = torch.as_tensor(x, device=device), torch.as_tensor(y, device=device)
    model.zero_grad(set_to_none=True)
    total = 0.0
    for idx in np.array_split(np.arange(n), accum_steps):  # k micro-batches of ~n/k rows
        loss = loss_fn(model(x[idx]), y[idx])  # the micro-batch's mean
        (loss * (len(idx) / n if scale_loss else 1.0)).backward()  # adds into p.grad
        total += float(loss.detach()) * len(idx) / n
    return total


def train_step_accumulated(model: Any, optimizer: Any, x: Any, y: Any, accum_steps: int) -> float:
    """One optimizer step on the batch (x, y), computed in ``accum_steps`` micro-batches."""
    loss = accumulate_gradients(model, x, y, accum_steps)
    optimizer.step()
    return loss


# ---------------------------------------------------------------------------
# Activation checkpointing on the book's GPT
# ---------------------------------------------------------------------------


def _checkpointed(forward: Callable) -> Callable:
    """``forward`` wrapped so that its activations are recomputed in the backward pass."""

    def run(*args: Any, **kwargs: Any) -> Any:
        return torch.utils.checkpoint.checkpoint(forward, *args, use_reentrant=False, **kwargs)

    run.dlbook_checkpointed = True
    return run


def set_activation_checkpointing(model: Any, enabled: bool = True) -> Any:
    """Checkpoint (or stop checkpointing) every block of a :class:`dlbook.gpt.torch_backend.GPT`.

    A checkpointed block keeps only its input for the backward pass; autograd
    recomputes its forward pass when the gradient arrives. The parameters, their
    names and the outputs do not change: only each block's ``forward`` is wrapped.
    """
    blocks = getattr(model, "h", None)
    if blocks is None:
        raise TypeError(f"expected a dlbook GPT (blocks in model.h), got {type(model).__name__}.")
    for block in blocks:
        block.__dict__.pop("forward", None)  # back to the class's forward
        if enabled:
            block.forward = _checkpointed(block.forward)
    return model


def _gpt_loss(model: Any, ids: Any, targets: Any) -> Any:
    logits = model(ids)  # (B, T, V)
    y = torch.as_tensor(np.asarray(targets), device=model.device)
    return F.cross_entropy(logits.flatten(0, 1), y.flatten())


def saved_activation_bytes(model: Any, ids: Any, targets: Any) -> int:
    """Bytes of the tensors autograd saves for the backward pass of the loss on (ids, targets).

    Counted with ``torch.autograd.graph.saved_tensors_hooks``: every tensor saved
    for backward passes through the pack hook. Parameters are not activations and
    are left out; a storage saved twice counts once.
    """
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    storages: dict[int, int] = {}

    def pack(t: Any) -> Any:
        s = t.untyped_storage()
        if s.data_ptr() not in params:
            storages[s.data_ptr()] = s.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = _gpt_loss(model, ids, targets)
    del loss  # nothing runs backward: the graph is freed
    return int(sum(storages.values()))


def training_flops(model: Any, ids: Any, targets: Any, backward: bool = True) -> int:
    """FLOPs of the forward pass (and the backward pass), counted by ``FlopCounterMode``."""
    from torch.utils.flop_counter import FlopCounterMode

    model.zero_grad(set_to_none=True)
    with FlopCounterMode(display=False) as counter:
        loss = _gpt_loss(model, ids, targets)
        if backward:
            loss.backward()
    model.zero_grad(set_to_none=True)
    return int(counter.get_total_flops())


# ---------------------------------------------------------------------------
# Processes: a gloo process group on 127.0.0.1
# ---------------------------------------------------------------------------


_CPU_ONLY = {"DLBOOK_DEVICE": "cpu"}  # gloo: the ranks' models and tensors stay on the CPU


def _rank_main(
    rank: int, world_size: int, fn: Callable, port: int, timeout: float, args: tuple
) -> Any:
    """In each child: join the process group, run fn, always leave the group."""
    import torch.distributed as dist

    torch.set_num_threads(1)  # p processes share the cores
    dist.init_process_group(
        "gloo",
        init_method=f"tcp://127.0.0.1:{port}",
        rank=rank,
        world_size=world_size,
        timeout=datetime.timedelta(seconds=timeout),
    )
    try:
        return fn(rank, world_size, *args)
    finally:
        dist.destroy_process_group()


def run_distributed(
    fn: Callable, world_size: int, *args: Any, timeout: float = 120.0, port: int | None = None
) -> list[Any]:
    """``fn(r, world_size, *args)`` for each rank r, each in a process of one gloo group.

    The group meets on 127.0.0.1 at ``port`` (None: a free one, found by binding
    port 0), with ``init_method="tcp://..."``; rank 0 listens there until every rank
    has left the group (``destroy_process_group``, in a ``finally``).
    :func:`dlbook.parallel.launch.run_processes` starts the processes, collects the
    results from temporary files and kills every child that outlives ``timeout``.
    ``fn`` must be defined at the top level of a module. CPU only: gloo, and the
    children run with ``DLBOOK_DEVICE=cpu``.
    """
    port = find_free_port() if port is None else int(port)
    job = (fn, port, timeout, args)
    return run_processes(_rank_main, world_size, job, timeout=timeout + 30, env=_CPU_ONLY)


# ---------------------------------------------------------------------------
# Data parallelism (DDP) and ZeRO-1
# ---------------------------------------------------------------------------


def _nbytes(tensors: Any) -> int:
    return int(sum(t.numel() * t.element_size() for t in tensors if t is not None))


class ZeroAdam:
    """Adam with its state sharded over the ranks of the process group: ZeRO stage 1.

    The N parameters are flattened (and padded to a multiple of p); rank r owns
    the slice [r N/p, (r+1) N/p). It keeps m, v and a master copy (at least
    float32) of that slice only. One :meth:`step`:

    1. ``reduce_scatter``: rank r receives the sum over ranks of its slice of the
       gradient; dividing by p gives the mean, exactly what DDP's all-reduce gives;
    2. Adam (``torch.optim.Adam``'s formulas) updates the master slice;
    3. ``all_gather``: every rank receives every updated slice.
    """

    def __init__(
        self,
        params: Any,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        import torch.distributed as dist

        self.params = list(params)
        self.lr, self.betas, self.eps, self.t = lr, betas, eps, 0
        self.rank, self.world = dist.get_rank(), dist.get_world_size()
        self.n = sum(p.numel() for p in self.params)
        self.shard = math.ceil(self.n / self.world)  # elements per rank
        flat = self._flat([p.detach() for p in self.params])  # (p * shard,)
        master_dtype = torch.promote_types(flat.dtype, torch.float32)
        lo = self.rank * self.shard
        self.master = flat[lo : lo + self.shard].to(master_dtype).clone()  # (shard,)
        self.m, self.v = torch.zeros_like(self.master), torch.zeros_like(self.master)

    def _flat(self, tensors: list[Any]) -> Any:
        flat = torch.cat([t.reshape(-1) for t in tensors])  # (N,)
        return F.pad(flat, (0, self.shard * self.world - self.n))  # (p * shard,)

    def state_tensors(self) -> list[Any]:
        """m, v and the master slice: all the optimizer state this rank holds."""
        return [self.m, self.v, self.master]

    def _adam(self, g: Any) -> None:
        (b1, b2), self.t = self.betas, self.t + 1
        self.m.lerp_(g, 1 - b1)  # m = b1 m + (1 - b1) g
        self.v.mul_(b2).addcmul_(g, g, value=1 - b2)  # v = b2 v + (1 - b2) g^2
        c1, c2 = 1 - b1**self.t, 1 - b2**self.t
        denom = (self.v.sqrt() / math.sqrt(c2)).add_(self.eps)
        self.master.addcdiv_(self.m, denom, value=-self.lr / c1)

    def step(self) -> None:
        import torch.distributed as dist

        grad = self._flat([p.grad for p in self.params]).to(self.master.dtype)  # (p * shard,)
        g = torch.empty_like(self.master)  # (shard,)
        dist.reduce_scatter_single(g, grad)  # g = sum over ranks of my slice
        self._adam(g / self.world)
        full = torch.empty(self.shard * self.world, dtype=self.params[0].dtype)  # (p * shard,)
        dist.all_gather_single(full, self.master.to(full.dtype))
        with torch.no_grad():
            torch.nn.utils.vector_to_parameters(full[: self.n], self.params)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            p.grad = None


def _memory(model: Any, state: list[Any]) -> dict[str, int]:
    """Bytes this rank holds: weights, gradients and optimizer state, from the tensors."""
    return {
        "weights": _nbytes(model.parameters()),
        "gradients": _nbytes(p.grad for p in model.parameters()),
        "optimizer state": _nbytes(state),
    }


def _train_ddp(rank: int, world: int, config: DataParallelConfig, x: Any, y: Any) -> dict:
    """One rank of DDP (or ZeRO-1): local gradients, averaged by collectives, the same step."""
    from torch.nn.parallel import DistributedDataParallel as DDP

    model = MLP(config.sizes, seed=config.seed, dtype=config.dtype)
    zero = config.strategy == "zero1"
    net = model if zero else DDP(model)  # DDP all-reduces (and averages) in backward
    if zero:
        opt: Any = ZeroAdam(model.parameters(), lr=config.lr)
    else:
        opt = optim_torch.make(config.optimizer, model.parameters(), lr=config.lr)
    for step in range(config.steps):
        xb, yb = list(rank_batches(config, x, y, step, world))[rank]  # my B / p rows
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(net(torch.as_tensor(xb)), torch.as_tensor(yb)).backward()
        opt.step()
    state = opt.state_tensors() if zero else [t for s in opt.state.values() for t in s.values()]
    return {
        "weights": model.get_weights(),
        "memory": _memory(model, state),
        "state_elements": sum(t.numel() for t in state if t.ndim),
    }


def _train_many(
    rank: int, world: int, configs: dict[str, DataParallelConfig], x: Any, y: Any
) -> dict:
    return {name: _train_ddp(rank, world, c, x, y) for name, c in configs.items()}


@dataclass
class DistributedRun:
    """One data-parallel run, as every rank saw it."""

    weights: dict[str, np.ndarray]  # rank 0's final weights (canonical layout)
    rank_gap: float  # max |difference| between any rank's weights and rank 0's
    memory: list[dict[str, int]]  # per rank: bytes of weights, gradients, optimizer state
    state_elements: list[int]  # per rank: elements of optimizer state (m, v, master, ...)


def train_distributed(
    configs: dict[str, DataParallelConfig],
    x: Any,
    y: Any,
    timeout: float = 120.0,
    port: int | None = None,
) -> dict[str, DistributedRun]:
    """Run every config (DDP or ZeRO-1) on ``world_size`` processes, all in one launch.

    Starting processes costs seconds; running several small trainings in the same
    process group costs milliseconds. All configs must share ``world_size``.
    """
    if not configs or not all(isinstance(c, DataParallelConfig) for c in configs.values()):
        raise TypeError("configs must be a non-empty dict of name -> DataParallelConfig.")
    worlds = {c.world_size for c in configs.values()}
    if len(worlds) != 1:
        raise ValueError(f"all configs must share one world_size (one process group): {worlds}.")
    first = next(iter(configs.values()))
    x, y = check_data(first, x, y)
    ranks = run_distributed(_train_many, worlds.pop(), configs, x, y, timeout=timeout, port=port)
    out = {}
    for name in configs:
        per_rank = [r[name] for r in ranks]
        w0 = per_rank[0]["weights"]
        gap = max(float(np.abs(r["weights"][k] - w0[k]).max()) for r in per_rank for k in w0)
        out[name] = DistributedRun(
            w0, gap, [r["memory"] for r in per_rank], [r["state_elements"] for r in per_rank]
        )
    return out


def train_data_parallel(config: DataParallelConfig, x: Any, y: Any) -> dict[str, np.ndarray]:
    """``config.world_size`` processes, DDP (or ZeRO-1): the final weights (canonical layout)."""
    return train_distributed({"run": config}, x, y)["run"].weights


def train_single(config: DataParallelConfig, x: Any, y: Any) -> dict[str, np.ndarray]:
    """The reference: one process, each step on the whole batch, ``torch.optim`` as DDP uses."""
    x, y = check_data(config, x, y)
    model = MLP(config.sizes, seed=config.seed, dtype=config.dtype)
    opt = optim_torch.make(config.optimizer, model.parameters(), lr=config.lr)
    for step in range(config.steps):
        ((xb, yb),) = rank_batches(config, x, y, step, 1)
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(torch.as_tensor(xb)), torch.as_tensor(yb)).backward()
        opt.step()
    return model.get_weights()


__all__ = [
    "PRECISIONS",
    "DistributedRun",
    "PrecisionConfig",
    "PrecisionLog",
    "ZeroAdam",
    "accumulate_gradients",
    "scaled_grads",
    "run_distributed",
    "saved_activation_bytes",
    "set_activation_checkpointing",
    "train_data_parallel",
    "train_distributed",
    "train_mlp",
    "train_single",
    "train_step_accumulated",
    "training_flops",
]
