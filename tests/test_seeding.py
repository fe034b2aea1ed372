import random

import numpy as np
import pytest

from dlbook.seeding import make_rng, seed_everything


def test_make_rng_from_int_is_reproducible() -> None:
    assert make_rng(3).normal() == make_rng(3).normal()
    assert make_rng(3).normal() != make_rng(4).normal()


def test_make_rng_passes_generator_through() -> None:
    g = np.random.default_rng(0)
    assert make_rng(g) is g


@pytest.mark.parametrize("bad", [None, 1.5, "0", True])
def test_make_rng_rejects_non_seeds(bad) -> None:
    with pytest.raises(TypeError, match="seed"):
        make_rng(bad)


def test_make_rng_rejects_negative() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        make_rng(-1)


def test_seed_everything_makes_every_library_repeat() -> None:
    import torch

    from dlbook._lazy import import_tensorflow

    tf = import_tensorflow()

    def draw():
        return (
            random.random(),
            np.random.rand(),
            torch.rand(1).item(),
            float(tf.random.uniform(())),
        )

    seed_everything(7)
    first = draw()
    seed_everything(7)
    assert draw() == first
    seed_everything(8)
    assert draw() != first
    assert torch.are_deterministic_algorithms_enabled()


def test_seed_everything_returns_a_seeded_generator() -> None:
    assert seed_everything(5).normal() == np.random.default_rng(5).normal()
