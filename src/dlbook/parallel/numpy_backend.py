"""Parallelism simulated in NumPy: p "ranks" are p entries of a Python list.

No process is started here; every message a rank would send is an explicit
copy, so the algorithms can be read, counted and tested step by step.

* **Ring all-reduce** (:func:`ring_all_reduce` = :func:`ring_reduce_scatter`
  then :func:`ring_all_gather`): every rank ends with the sum of all ranks'
  arrays, and each sends only 2 (p - 1) / p of one array, whatever p is.
* **Tensor parallelism** (:func:`column_parallel_matmul`,
  :func:`row_parallel_matmul`, :func:`megatron_mlp`): one matrix product split
  across ranks by columns or by rows (Shoeybi et al., 2019).
* **Data parallelism** (:func:`train_data_parallel`): each rank computes the
  gradient of its share of the batch, the ring all-reduce sums them, and every
  rank applies the same averaged update; :func:`train_single` is the reference.
  ``dlbook.parallel.torch_backend`` and ``tensorflow_backend`` export the same two
  functions on real processes and devices.

Shape legend: B batch, D features in, H hidden width, K features out, p ranks.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlbook._validate import as_float_array
from dlbook.nn import numpy_backend as nn_np
from dlbook.optim import numpy_backend as optim_np
from dlbook.parallel._checks import positive_int
from dlbook.parallel.data_parallel import DataParallelConfig, check_data, rank_batches

# ---------------------------------------------------------------------------
# Ring all-reduce
# ---------------------------------------------------------------------------


def _check_arrays(arrays: Any) -> list[np.ndarray]:
    """At least one array, all of one shape: what every rank contributes to a collective."""
    if not isinstance(arrays, (list, tuple)) or not arrays:
        raise ValueError(
            "ring_all_reduce needs a non-empty list of arrays, one per rank (p >= 1), "
            f"got {arrays!r:.60}."
        )
    out = [np.asarray(a) for a in arrays]
    for r, a in enumerate(out):
        if a.dtype == object or not np.issubdtype(a.dtype, np.number):
            raise TypeError(f"arrays[{r}] must be an array of numbers, got dtype {a.dtype}.")
    for r, a in enumerate(out):
        if a.shape != out[0].shape:
            raise ValueError(
                f"every rank must contribute an array of the same shape: arrays[0] has shape "
                f"{out[0].shape} but arrays[{r}] has shape {a.shape}."
            )
    return out


def _check_chunks(chunks: Any) -> int:
    """p ranks, each holding p chunks: the state of a ring collective."""
    p = len(chunks) if isinstance(chunks, (list, tuple)) else 0
    if p == 0 or any(not isinstance(c, (list, tuple)) or len(c) != p for c in chunks):
        raise ValueError(
            "chunks must be a list of p ranks, each a list of p chunks (chunks[r][c] is rank "
            "r's copy of chunk c); split each rank's flat array with np.array_split(a, p)."
        )
    return p


def ring_reduce_scatter(
    chunks: list[list[np.ndarray]], *, sent: list[int] | None = None
) -> list[list[np.ndarray]]:
    """p - 1 ring steps after which rank r holds the full sum of chunk (r + 1) mod p.

    In step s = 0 .. p-2, rank r sends its chunk (r - s) mod p to rank (r + 1) mod p,
    which adds it to its own copy. All sends of a step happen at once, so the
    messages are read before any rank adds. ``sent[r]``, if given, grows by the
    number of elements rank r sends. Returns new arrays; ``chunks`` is unchanged.
    """
    p = _check_chunks(chunks)
    state = [[c.copy() for c in rank] for rank in chunks]
    for s in range(p - 1):
        messages = [(r, (r - s) % p, state[r][(r - s) % p].copy()) for r in range(p)]
        for r, c, msg in messages:
            state[(r + 1) % p][c] += msg
            if sent is not None:
                sent[r] += msg.size
    return state


def ring_all_gather(
    chunks: list[list[np.ndarray]], *, sent: list[int] | None = None
) -> list[list[np.ndarray]]:
    """p - 1 ring steps that copy each rank's finished chunk to every other rank.

    Rank r starts with the finished chunk (r + 1) mod p (what
    :func:`ring_reduce_scatter` leaves). In step s = 0 .. p-2, rank r sends chunk
    (r + 1 - s) mod p to rank (r + 1) mod p, which overwrites its copy.
    """
    p = _check_chunks(chunks)
    state = [[c.copy() for c in rank] for rank in chunks]
    for s in range(p - 1):
        messages = [(r, (r + 1 - s) % p, state[r][(r + 1 - s) % p].copy()) for r in range(p)]
        for r, c, msg in messages:
            state[(r + 1) % p][c] = msg
            if sent is not None:
                sent[r] += msg.size
    return state


def ring_all_reduce(arrays: list[np.ndarray], *, sent: list[int] | None = None) -> list[np.ndarray]:
    """Every rank's copy of sum(arrays), computed on a ring of p = len(arrays) ranks.

    Each array is flattened and split into p chunks (``np.array_split``); a
    reduce-scatter and an all-gather of p - 1 steps each follow. Rank r sends
    2 (p - 1) chunks, i.e. 2 (p - 1) / p * n elements for arrays of n elements,
    which ``sent`` (a list of p zeros, if given) records. Returns p new arrays of
    the input shape and dtype; the inputs are unchanged.
    """
    arrays = _check_arrays(arrays)
    p, shape, dtype = len(arrays), arrays[0].shape, arrays[0].dtype
    if sent is not None and len(sent) != p:
        raise ValueError(f"sent must hold one counter per rank ({p}), got {len(sent)}.")
    chunks = [np.array_split(a.ravel().copy(), p) for a in arrays]  # p ranks x p chunks
    gathered = ring_all_gather(ring_reduce_scatter(chunks, sent=sent), sent=sent)
    return [np.concatenate(rank).reshape(shape).astype(dtype, copy=False) for rank in gathered]


def ring_traffic(n: int, p: int) -> float:
    """Elements each rank sends in a ring all-reduce of n elements over p ranks: 2 (p-1)/p n."""
    return 2 * (p - 1) / p * n


# ---------------------------------------------------------------------------
# Tensor parallelism (Megatron-LM): split one matrix product across ranks
# ---------------------------------------------------------------------------


def _check_matmul(x: Any, W: Any, p: Any) -> tuple[np.ndarray, np.ndarray, int]:
    x, W = as_float_array(x, "x"), as_float_array(W, "W")
    positive_int(p, "world_size", " (the number of ranks)")
    if x.ndim != 2 or W.ndim != 2 or x.shape[1] != W.shape[0]:
        raise ValueError(
            f"x @ W needs x (B, D) and W (D, K) with matching D; got x {x.shape}, W {W.shape}."
        )
    return x, W, int(p)


def column_parallel_matmul(x: np.ndarray, W: np.ndarray, world_size: int) -> np.ndarray:
    """x @ W with W split by columns: rank r computes x @ W[:, cols_r], an all-gather joins them.

    Every rank needs all of x (B, D); it holds only K / p columns of W and
    produces K / p columns of the output. No sum is needed, only a concatenation.
    """
    x, W, p = _check_matmul(x, W, world_size)
    shards = np.array_split(W, p, axis=1)  # p x (D, K/p)
    partial = [x @ W_r for W_r in shards]  # p x (B, K/p): one per rank
    return np.concatenate(partial, axis=1)  # (B, K): the all-gather


def row_parallel_matmul(x: np.ndarray, W: np.ndarray, world_size: int) -> np.ndarray:
    """x @ W with W split by rows: rank r computes x[:, rows_r] @ W[rows_r], an all-reduce sums.

    Rank r holds D / p rows of W and the matching D / p columns of x; each
    partial product is a full (B, K) matrix, and their sum is x @ W.
    """
    x, W, p = _check_matmul(x, W, world_size)
    rows = np.array_split(np.arange(W.shape[0]), p)  # p index sets over D
    partial = [x[:, idx] @ W[idx] for idx in rows]  # p x (B, K)
    return ring_all_reduce(partial)[0]  # every rank gets the same sum


def megatron_mlp(
    x: np.ndarray,
    W_1: np.ndarray,
    b_1: np.ndarray,
    W_2: np.ndarray,
    b_2: np.ndarray,
    world_size: int,
    *,
    sent: list[int] | None = None,
) -> np.ndarray:
    """GELU(x W_1 + b_1) W_2 + b_2 split over p ranks with a single all-reduce.

    W_1 (D, H) is split by columns, so rank r computes its H / p hidden units
    GELU(x W_1[:, c_r] + b_1[c_r]) without talking to anyone (GELU acts element by
    element). W_2 (H, K) is split by the *same* indices as rows, so rank r's
    partial output h_r W_2[c_r] needs only its own hidden units. One all-reduce
    sums the p partial outputs; b_2 is added once, after it.
    """
    x, W_1, p = _check_matmul(x, W_1, world_size)
    W_2, b_1, b_2 = (as_float_array(a, n) for a, n in ((W_2, "W_2"), (b_1, "b_1"), (b_2, "b_2")))
    if W_2.shape[0] != W_1.shape[1] or b_1.shape != (W_1.shape[1],) or b_2.shape != (W_2.shape[1],):
        raise ValueError(
            f"megatron_mlp needs W_1 (D, H), b_1 (H,), W_2 (H, K), b_2 (K,); got W_1 {W_1.shape}, "
            f"b_1 {b_1.shape}, W_2 {W_2.shape}, b_2 {b_2.shape}."
        )
    cols = np.array_split(np.arange(W_1.shape[1]), p)  # p index sets over H
    partial = [nn_np.gelu(x @ W_1[:, c] + b_1[c]) @ W_2[c] for c in cols]  # p x (B, K)
    return ring_all_reduce(partial, sent=sent)[0] + b_2  # (B, K)


# ---------------------------------------------------------------------------
# Data parallelism, simulated: the same API as the torch and tensorflow backends
# ---------------------------------------------------------------------------


def _flatten(grads: dict[str, np.ndarray]) -> np.ndarray:
    return np.concatenate([g.ravel() for g in grads.values()])  # (N,)


def _unflatten(flat: np.ndarray, like: dict[str, np.ndarray]) -> list[np.ndarray]:
    sizes = np.cumsum([w.size for w in like.values()])[:-1]
    parts = np.split(flat, sizes)
    return [part.reshape(w.shape) for part, w in zip(parts, like.values(), strict=True)]


def _train(config: DataParallelConfig, x: Any, y: Any, world_size: int) -> dict[str, np.ndarray]:
    x, y = check_data(config, x, y)
    model = nn_np.MLP(config.sizes, seed=config.seed, dtype=config.dtype)
    params = [layer.params[k] for layer in model.linears for k in "Wb"]  # the model's own arrays
    opt = optim_np.make(config.optimizer, params, lr=config.lr)
    for step in range(config.steps):
        local = [
            nn_np.loss_and_grads(model, xb, yb)[1]
            for xb, yb in rank_batches(config, x, y, step, world_size)
        ]
        summed = ring_all_reduce([_flatten(g) for g in local])[0]  # (N,) on every rank
        optim_np.apply(opt, params, _unflatten(summed / world_size, local[0]))
    return model.get_weights()


def train_single(config: DataParallelConfig, x: Any, y: Any) -> dict[str, np.ndarray]:
    """The reference: one process, ``config.steps`` steps on the whole batch of each step."""
    return _train(config, x, y, world_size=1)


def train_data_parallel(config: DataParallelConfig, x: Any, y: Any) -> dict[str, np.ndarray]:
    """``config.world_size`` simulated ranks: local gradients, ring all-reduce, mean, same step."""
    return _train(config, x, y, world_size=config.world_size)
