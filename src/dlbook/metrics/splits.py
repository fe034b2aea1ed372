"""A train / validation / test split by shuffled indices.

Model selection (the epoch to stop at, the width, the regularisation strength)
looks at the validation part only; the test part is scored once, at the end,
so that its number is an honest estimate of performance on new data.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dlbook.seeding import make_rng


def train_val_test_split(
    n: int, fractions: Sequence[float] = (0.7, 0.15, 0.15), seed: int | np.random.Generator = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Three disjoint, shuffled index arrays covering ``range(n)``, sized by ``fractions``.

    The shuffle matters: Keras' ``validation_split`` takes the *last* rows as they
    come, so on data sorted by class it validates on one or two classes only.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 3:
        raise ValueError(f"n must be an integer >= 3 (one example per part), got {n!r}.")
    fr = np.asarray(fractions, dtype=np.float64)
    if fr.shape != (3,) or np.any(fr <= 0) or not np.isclose(fr.sum(), 1.0):
        raise ValueError(
            f"fractions must be three positive numbers summing to 1, like (0.7, 0.15, 0.15); "
            f"got {tuple(fractions)!r}."
        )
    idx = make_rng(seed).permutation(int(n))  # (n,)
    n_train = int(round(fr[0] * n))
    n_val = int(round(fr[1] * n))
    if n_train < 1 or n_val < 1 or n - n_train - n_val < 1:
        raise ValueError(f"n = {n} is too small to give every part at least one example.")
    return idx[:n_train], idx[n_train : n_train + n_val], idx[n_train + n_val :]
