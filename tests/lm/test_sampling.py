"""Temperature, top-k and drawing characters."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from dlbook.lm import sample_with_temperature, softmax_with_temperature, top_k_filter

LOGITS = np.array([2.0, 1.0, 0.5, 0.0, -1.0, -3.0])


def test_temperature_one_is_softmax() -> None:
    p = softmax_with_temperature(LOGITS, 1.0)
    np.testing.assert_allclose(p, np.exp(LOGITS) / np.exp(LOGITS).sum(), rtol=1e-14)
    batch = softmax_with_temperature(np.stack([LOGITS, -LOGITS]), 1.0)
    np.testing.assert_allclose(batch[0], p)
    np.testing.assert_allclose(batch.sum(axis=-1), 1.0)


def test_temperature_sharpens_and_flattens() -> None:
    tops = [softmax_with_temperature(LOGITS, T)[0] for T in (5.0, 1.0, 0.5, 0.1, 0.01)]
    assert all(a < b for a, b in zip(tops, tops[1:], strict=False))
    assert tops[-1] > 1 - 1e-12  # T -> 0: all mass on the argmax
    np.testing.assert_allclose(softmax_with_temperature(LOGITS, 1e6), 1 / 6, rtol=1e-4)


@pytest.mark.parametrize("T", [1.0, 0.7, 2.0])
def test_empirical_frequencies_match(T: float) -> None:
    n = 100_000
    draws = sample_with_temperature(np.tile(LOGITS, (n, 1)), T, rng=0)  # (n,)
    assert draws.shape == (n,) and draws.dtype == np.int64
    expected = n * softmax_with_temperature(LOGITS, T)
    observed = np.bincount(draws, minlength=len(LOGITS))
    chi2 = ((observed - expected) ** 2 / expected).sum()
    assert chi2 < stats.chi2.ppf(0.999, df=len(LOGITS) - 1)


def test_single_draw_is_an_int_and_seeded() -> None:
    a = [sample_with_temperature(LOGITS, 1.0, rng=np.random.default_rng(3)) for _ in range(2)]
    assert isinstance(a[0], int) and a[0] == a[1]
    rng = np.random.default_rng(0)
    seq = [sample_with_temperature(LOGITS, 1.0, rng) for _ in range(200)]
    assert len(set(seq)) > 3  # one generator, advanced by every draw


def test_greedy_is_argmax() -> None:
    assert sample_with_temperature(LOGITS, greedy=True) == 0
    batch = np.stack([LOGITS, LOGITS[::-1]])
    np.testing.assert_array_equal(sample_with_temperature(batch, greedy=True), [0, 5])


def test_minus_inf_logits_are_never_drawn() -> None:
    z = np.array([0.0, -np.inf, 0.0, -np.inf])
    draws = sample_with_temperature(np.tile(z, (10_000, 1)), 1.0, rng=1)
    assert set(np.unique(draws)) == {0, 2}


def test_top_k_keeps_exactly_k() -> None:
    rng = np.random.default_rng(0)
    z = rng.normal(size=(5, 4, 10))
    for k in (1, 3, 10):
        out = top_k_filter(z, k)
        assert (np.isfinite(out).sum(axis=-1) == k).all()
        kept_min = np.where(np.isfinite(out), out, np.inf).min(axis=-1)
        dropped_max = np.where(np.isfinite(out), -np.inf, z).max(axis=-1)
        assert (kept_min > dropped_max).all()  # the kept ones are the largest
    np.testing.assert_array_equal(top_k_filter(z, 10), z)


def test_top_k_ties_keep_the_lower_index() -> None:
    out = top_k_filter(np.array([1.0, 3.0, 3.0, 3.0]), 2)
    np.testing.assert_array_equal(np.isfinite(out), [False, True, True, False])


def test_sampling_after_top_k_stays_in_the_top_k() -> None:
    draws = sample_with_temperature(np.tile(top_k_filter(LOGITS, 2), (5000, 1)), 1.0, rng=2)
    assert set(np.unique(draws)) == {0, 1}


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: softmax_with_temperature(LOGITS, 0.0), ValueError, "greedy=True"),
        (lambda: softmax_with_temperature(LOGITS, -1.0), ValueError, "positive"),
        (lambda: softmax_with_temperature(LOGITS, "hot"), TypeError, "number"),
        (lambda: sample_with_temperature(LOGITS, 1.0), ValueError, "rng="),
        (lambda: sample_with_temperature([np.nan, 0.0], 1.0, rng=0), ValueError, "NaN"),
        (lambda: sample_with_temperature([-np.inf, -np.inf], 1.0, rng=0), ValueError, "all -inf"),
        (lambda: top_k_filter(LOGITS, 0), ValueError, "from 1 to"),
        (lambda: top_k_filter(LOGITS, 7), ValueError, "from 1 to"),
        (lambda: top_k_filter(5.0, 1), ValueError, "vocabulary axis"),
    ],
)
def test_bad_arguments_are_explained(call, error, match) -> None:
    with pytest.raises(error, match=match):
        call()
