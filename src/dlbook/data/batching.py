"""Mini-batch index streams, shared by every backend so they see the same batches."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from dlbook.seeding import make_rng


def minibatches(
    n: int, batch_size: int, rng: np.random.Generator | int, *, shuffle: bool = True
) -> Iterator[np.ndarray]:
    """Yield index arrays covering ``range(n)`` once, in batches of ``batch_size``.

    The last batch is smaller when ``batch_size`` does not divide ``n``. ``rng``
    is a generator (pass the same one every epoch for a new order each time)
    or an int seed (the same order on every call).
    """
    if not isinstance(n, (int, np.integer)) or n <= 0:
        raise ValueError(f"n must be a positive integer, got {n!r}.")
    if not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
    order = make_rng(rng).permutation(n) if shuffle else np.arange(n)
    for start in range(0, n, batch_size):
        yield order[start : start + batch_size]
