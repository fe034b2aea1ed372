"""Column- and row-parallel matmuls and the Megatron MLP equal the unsplit products."""

from __future__ import annotations

import numpy as np
import pytest

from dlbook.nn.numpy_backend import gelu
from dlbook.parallel.numpy_backend import (
    column_parallel_matmul,
    megatron_mlp,
    ring_traffic,
    row_parallel_matmul,
)


@pytest.mark.parametrize("p", [1, 2, 3, 4])
@pytest.mark.parametrize("split", [column_parallel_matmul, row_parallel_matmul])
def test_split_matmul_equals_unsplit(split, p: int) -> None:
    rng = np.random.default_rng(p)
    x, W = rng.normal(size=(5, 12)), rng.normal(size=(12, 7))
    np.testing.assert_allclose(split(x, W, p), x @ W, atol=1e-12)


@pytest.mark.parametrize("p", [1, 2, 4])
def test_megatron_mlp_needs_one_all_reduce(p: int) -> None:
    rng = np.random.default_rng(0)
    D, H, K = 6, 16, 6
    x = rng.normal(size=(4, D))  # B * K = 24 elements: equal chunks for p = 1, 2, 4
    W_1, b_1, W_2, b_2 = (rng.normal(size=s) for s in ((D, H), (H,), (H, K), (K,)))
    sent = [0] * p
    out = megatron_mlp(x, W_1, b_1, W_2, b_2, p, sent=sent)
    np.testing.assert_allclose(out, gelu(x @ W_1 + b_1) @ W_2 + b_2, atol=1e-12)
    assert sent == [ring_traffic(x.shape[0] * K, p)] * p  # exactly one all-reduce of (B, K)


def test_bad_shapes_explain_themselves() -> None:
    with pytest.raises(ValueError, match="matching D"):
        column_parallel_matmul(np.ones((2, 3)), np.ones((4, 5)), 2)
    with pytest.raises(ValueError, match="world_size"):
        row_parallel_matmul(np.ones((2, 3)), np.ones((3, 5)), 0)
    with pytest.raises(ValueError, match="W_2"):
        megatron_mlp(np.ones((2, 3)), np.ones((3, 4)), np.ones(4), np.ones((5, 2)), np.ones(2), 2)
