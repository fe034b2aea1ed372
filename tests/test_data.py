import numpy as np
import pytest

from dlbook.data import (
    load_digits_split,
    make_blobs,
    make_circles,
    make_moons,
    make_spirals,
    make_xor,
    minibatches,
)


def test_digits_split_sizes_and_disjointness() -> None:
    d = load_digits_split()
    assert (len(d.y_train), len(d.y_val), len(d.y_test)) == (1258, 269, 270)
    assert d.x_train.shape == (1258, 64) and d.n_features == 64 and d.n_classes == 10
    rows = lambda x: {r.tobytes() for r in x}  # noqa: E731
    # no image appears in two parts (the digits set has no exact duplicates across parts)
    assert not rows(d.x_train) & rows(d.x_test)
    assert not rows(d.x_val) & rows(d.x_test)


def test_digits_split_is_stratified_and_deterministic() -> None:
    a, b = load_digits_split(), load_digits_split()
    np.testing.assert_array_equal(a.x_test, b.x_test)
    counts = np.bincount(a.y_test, minlength=10)
    assert counts.min() >= 26 and counts.max() <= 28
    c = load_digits_split(split_seed=1)
    assert not np.array_equal(a.y_test, c.y_test) or not np.array_equal(a.x_test, c.x_test)


def test_digits_standardised_with_training_statistics() -> None:
    d = load_digits_split(dtype="float64")
    assert d.x_train.dtype == np.float64
    assert np.abs(d.x_train.mean(axis=0)).max() < 1e-12
    assert np.abs(d.x_test.mean(axis=0)).max() > 1e-6  # test set not used for statistics


def test_digits_rejects_bad_dtype() -> None:
    with pytest.raises(ValueError, match="dtype"):
        load_digits_split(dtype="int8")


@pytest.mark.parametrize("maker", [make_moons, make_circles, make_spirals, make_xor, make_blobs])
def test_toy_sets_shapes_and_seeds(maker) -> None:
    x, y = maker(101, rng=3)
    assert x.shape == (101, 2) and y.shape == (101,) and y.dtype == np.int64
    x2, _ = maker(101, rng=3)
    x3, _ = maker(101, rng=4)
    np.testing.assert_array_equal(x, x2)
    assert not np.array_equal(x, x3)
    assert len(np.unique(y)) >= 2


@pytest.mark.parametrize("maker", [make_moons, make_circles, make_xor])
def test_toy_sets_reject_bad_n(maker) -> None:
    with pytest.raises(ValueError, match="n must be"):
        maker(1)


def test_minibatches_cover_every_index_once() -> None:
    batches = list(minibatches(10, 3, np.random.default_rng(0)))
    assert [len(b) for b in batches] == [3, 3, 3, 1]
    np.testing.assert_array_equal(np.sort(np.concatenate(batches)), np.arange(10))


@pytest.mark.parametrize("n,bs", [(0, 3), (10, 0), (10, 2.5)])
def test_minibatches_reject_bad_arguments(n, bs) -> None:
    with pytest.raises(ValueError):
        list(minibatches(n, bs, np.random.default_rng(0)))


def test_minibatches_takes_an_int_seed_like_everything_else() -> None:
    from dlbook.data.batching import minibatches

    # before: AttributeError: 'int' object has no attribute 'permutation'
    first = np.concatenate(list(minibatches(10, 3, 0)))
    again = np.concatenate(list(minibatches(10, 3, np.random.default_rng(0))))
    np.testing.assert_array_equal(np.sort(first), np.arange(10))
    np.testing.assert_array_equal(first, again)
