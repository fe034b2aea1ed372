"""Ring all-reduce on simulated ranks: the sum on every rank, 2 (p-1)/p n elements sent each."""

from __future__ import annotations

import numpy as np
import pytest

from dlbook.parallel.numpy_backend import (
    ring_all_gather,
    ring_all_reduce,
    ring_reduce_scatter,
    ring_traffic,
)


@pytest.mark.parametrize("p", [1, 2, 3, 4, 7])
@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 5)])
def test_every_rank_gets_the_sum(p: int, shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(p)
    arrays = [rng.normal(size=shape) for _ in range(p)]
    copies = [a.copy() for a in arrays]
    out = ring_all_reduce(arrays)
    assert len(out) == p
    for r, o in enumerate(out):
        assert o.shape == shape and o.dtype == arrays[0].dtype
        np.testing.assert_allclose(o, np.sum(arrays, axis=0), atol=1e-12)
        np.testing.assert_array_equal(o, out[0])  # bitwise the same everywhere
        np.testing.assert_array_equal(arrays[r], copies[r])  # inputs untouched
        assert o is not arrays[r]


def test_integers_and_float32_keep_their_dtype() -> None:
    ints = [np.arange(6).reshape(2, 3) * (r + 1) for r in range(3)]
    out = ring_all_reduce(ints)
    assert out[1].dtype == ints[0].dtype
    np.testing.assert_array_equal(out[1], np.arange(6).reshape(2, 3) * 6)
    f32 = [np.ones(4, dtype=np.float32)] * 2
    assert ring_all_reduce(f32)[0].dtype == np.float32


@pytest.mark.parametrize(("p", "n"), [(2, 8), (4, 12), (4, 10), (5, 7)])
def test_each_rank_sends_2_p_minus_1_over_p_n(p: int, n: int) -> None:
    sent = [0] * p
    ring_all_reduce([np.ones(n) for _ in range(p)], sent=sent)
    assert sum(sent) == pytest.approx(p * ring_traffic(n, p))
    assert max(sent) - min(sent) <= 2  # uneven chunks (array_split) differ by an element
    if n % p == 0:
        assert sent == [2 * (p - 1) * n // p] * p


def test_reduce_scatter_leaves_chunk_r_plus_1_complete_on_rank_r() -> None:
    p = 4
    arrays = [np.arange(8.0) * 10**r for r in range(p)]
    chunks = [np.array_split(a, p) for a in arrays]
    state = ring_reduce_scatter(chunks)
    total = np.array_split(np.sum(arrays, axis=0), p)
    for r in range(p):
        np.testing.assert_array_equal(state[r][(r + 1) % p], total[(r + 1) % p])
    assert not np.array_equal(state[0][0], total[0])  # the others are partial sums
    gathered = ring_all_gather(state)
    for r in range(p):
        np.testing.assert_array_equal(np.concatenate(gathered[r]), np.concatenate(total))


@pytest.mark.parametrize(
    ("arrays", "error", "match"),
    [
        ([], ValueError, "non-empty"),
        (np.ones(3), ValueError, "list"),
        ([np.ones(3), np.ones(4)], ValueError, "same shape"),
        ([np.array(["a"])], TypeError, "numbers"),
    ],
)
def test_bad_arguments_explain_themselves(arrays, error, match) -> None:
    with pytest.raises(error, match=match):
        ring_all_reduce(arrays)


def test_bad_chunks_explain_themselves() -> None:
    with pytest.raises(ValueError, match="p chunks"):
        ring_reduce_scatter([[np.ones(2)], [np.ones(2)]])
    with pytest.raises(ValueError, match="one counter per rank"):
        ring_all_reduce([np.ones(2)] * 2, sent=[0])
