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


_PROBE = """
import json, dlbook
from threadpoolctl import threadpool_info
{call}
import torch
import tensorflow as tf
blas = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
print(json.dumps({{
    "torch": torch.get_num_threads(),
    "tf_intra": tf.config.threading.get_intra_op_parallelism_threads(),
    "blas": max(blas),
}}))
"""


def _threads_after(call: str) -> dict:
    """Run ``call`` in a fresh interpreter with 2 threads allowed; return its thread counts."""
    import json
    import os
    import subprocess
    import sys

    env = dict(os.environ, OMP_NUM_THREADS="2", OPENBLAS_NUM_THREADS="2", MKL_NUM_THREADS="2")
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.format(call=call)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_seed_everything_pins_every_thread_pool_to_one() -> None:
    counts = _threads_after("dlbook.seed_everything(0)")
    assert counts == {"torch": 1, "tf_intra": 1, "blas": 1}


def test_seed_everything_threads_none_leaves_the_counts_alone() -> None:
    counts = _threads_after("dlbook.seed_everything(0, threads=None)")
    assert counts["torch"] == 2
    assert counts["blas"] == 2
    assert counts["tf_intra"] == 0  # TF's "choose for me"


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "1"])
def test_seed_everything_rejects_bad_thread_counts(bad) -> None:
    with pytest.raises((TypeError, ValueError), match="threads"):
        seed_everything(0, threads=bad)


def test_threads_pinned_restores_torch_and_blas() -> None:
    import torch
    from threadpoolctl import threadpool_info

    from dlbook.seeding import threads_pinned

    def blas() -> int:
        return max(p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas")

    torch.set_num_threads(2)
    before = blas()
    with threads_pinned(1):
        assert torch.get_num_threads() == 1
        assert blas() == 1
    assert torch.get_num_threads() == 2
    assert blas() == before
