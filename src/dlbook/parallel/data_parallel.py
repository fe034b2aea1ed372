"""The data-parallel experiment shared by the three backends: config, batches, shards.

Every backend trains the same MLP (:func:`dlbook.nn.init.init_mlp_weights`) on
the same batches, so their final weights can be compared number for number:

* step s uses the global batch of rows ``(s * B + i) mod N``, i = 0 .. B-1;
* rank r of p gets the r-th of p equal, contiguous slices of it (B / p rows).

Because every rank's loss is the mean over B / p rows, the mean of the p local
gradients is the gradient of the mean over all B rows: data parallelism
*averages*. Summing instead would multiply the step by p.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from dlbook._validate import as_float_array, check_float_dtype, check_labels, check_sizes
from dlbook.parallel._checks import positive_int


@dataclass(frozen=True)
class DataParallelConfig:
    """A few steps of an MLP on digits, run on one device or split over ranks."""

    sizes: tuple[int, ...] = (64, 32, 10)  # MLP widths: 64 pixels in, 10 classes out
    world_size: int = 2  # p: ranks (processes or devices) that share each batch
    steps: int = 5  # optimizer steps
    batch_size: int = 64  # B: the global batch; each rank gets B / p rows
    optimizer: str = "sgd"  # "sgd" or "adam" (dlbook.optim names, torch's defaults)
    lr: float = 0.1  # learning rate
    seed: int = 0  # seeds the initial weights
    dtype: str = "float64"  # float64 makes the comparisons tight (~1e-15)
    strategy: str = "ddp"  # torch only: "ddp" (full Adam state per rank) or "zero1" (sharded)

    def __post_init__(self) -> None:
        check_sizes(self.sizes)
        for name in ("world_size", "steps", "batch_size"):
            positive_int(getattr(self, name), f"DataParallelConfig.{name}")
        if self.batch_size % self.world_size:
            raise ValueError(
                f"batch_size = {self.batch_size} must split evenly over world_size = "
                f"{self.world_size} ranks: with unequal shares the mean of the local means is "
                "not the global mean."
            )
        if self.optimizer not in ("sgd", "adam"):
            raise ValueError(f"optimizer must be 'sgd' or 'adam', got {self.optimizer!r}.")
        if self.strategy not in ("ddp", "zero1"):
            raise ValueError(f"strategy must be 'ddp' or 'zero1', got {self.strategy!r}.")
        if self.strategy == "zero1" and self.optimizer != "adam":
            raise ValueError("strategy='zero1' shards Adam's state: set optimizer='adam'.")
        check_float_dtype(self.dtype)


def check_data(config: DataParallelConfig, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """x (N, D) features in the config's dtype and y (N,) integer labels, checked."""
    x = as_float_array(x, "x").astype(config.dtype)
    if x.ndim != 2 or x.shape[1] != config.sizes[0]:
        raise ValueError(f"x must have shape (N, {config.sizes[0]}), got {x.shape}.")
    return x, check_labels(y, len(x), config.sizes[-1]).astype(np.int64)


def batch_indices(config: DataParallelConfig, n: int, step: int) -> np.ndarray:
    """Rows of the global batch of ``step``: (step * B + i) mod n for i < B, shape (B,)."""
    return (step * config.batch_size + np.arange(config.batch_size)) % n


def rank_batches(
    config: DataParallelConfig, x: np.ndarray, y: np.ndarray, step: int, world_size: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(x_r, y_r) for r = 0 .. world_size-1: equal contiguous slices of the step's batch."""
    idx = batch_indices(config, len(x), step)
    for part in np.split(idx, world_size):  # world_size x (B / world_size,)
        yield x[part], y[part]


# Bytes per parameter of mixed-precision Adam (Rajbhandari et al., 2020, section 3.1):
# fp16 weights 2, fp16 gradients 2, and K = 12 of optimizer state (fp32 master, m, v).
MIXED_ADAM_BYTES = {"weights": 2, "gradients": 2, "optimizer state": 12}


def zero_bytes_per_parameter(stage: int, world_size: int) -> dict[str, float]:
    """Bytes each rank holds per model parameter, for ZeRO stage 0 (plain DDP) to 3.

    Stage 1 shards the optimizer state over the p ranks, stage 2 also the
    gradients, stage 3 also the weights: each sharded part costs 1/p per rank.
    """
    if stage not in (0, 1, 2, 3):
        raise ValueError(f"ZeRO stages are 0 (none), 1, 2 or 3, got {stage!r}.")
    positive_int(world_size, "world_size")
    sharded = ["optimizer state", "gradients", "weights"][:stage]
    out = {k: v / world_size if k in sharded else float(v) for k, v in MIXED_ADAM_BYTES.items()}
    out["total"] = sum(out.values())
    return out
