"""Data parallelism in three backends, and ZeRO-1, equal single-device training on the whole batch.

One torch launch (2 processes) runs DDP with SGD, DDP with Adam and ZeRO-1 with
Adam; one fresh TensorFlow process runs MirroredStrategy. Both are module-scoped.
"""

from __future__ import annotations

import dataclasses
import socket

import numpy as np
import psutil
import pytest

from dlbook.data import load_digits_split
from dlbook.nn.init import init_mlp_weights
from dlbook.parallel import numpy_backend as par_np
from dlbook.parallel.data_parallel import DataParallelConfig, zero_bytes_per_parameter
from dlbook.parallel.launch import find_free_port
from tests.parallel import leftover_processes

SGD = DataParallelConfig()  # 2 ranks, 5 steps, B = 64, float64
ADAM = dataclasses.replace(SGD, optimizer="adam", lr=0.01)
ZERO = dataclasses.replace(ADAM, strategy="zero1")
ODD = dataclasses.replace(ADAM, sizes=(64, 31, 10))  # 2,335 parameters: ZeRO pads one slice


def _gap(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> float:
    assert a.keys() == b.keys()
    return max(float(np.abs(a[k] - b[k]).max()) for k in a)


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    d = load_digits_split(dtype="float64")
    return d.x_train, d.y_train


@pytest.fixture(scope="module")
def torch_runs(digits):
    pytest.importorskip("torch")
    from dlbook.parallel import torch_backend as par_torch

    port = find_free_port()
    configs = {"sgd": SGD, "adam": ADAM, "zero": ZERO, "adam_odd": ODD,
               "zero_odd": dataclasses.replace(ODD, strategy="zero1")}  # fmt: skip
    runs = par_torch.train_distributed(configs, *digits, port=port)
    return runs, port


def test_numpy_simulation_equals_single(digits) -> None:
    for config in (SGD, ADAM):
        single = par_np.train_single(config, *digits)
        assert _gap(par_np.train_data_parallel(config, *digits), single) < 1e-12
        assert _gap(single, init_mlp_weights(list(config.sizes), seed=config.seed)) > 1e-3


def test_ddp_equals_single_process_training(torch_runs, digits) -> None:
    from dlbook.parallel import torch_backend as par_torch

    runs, _ = torch_runs
    for name, config in (("sgd", SGD), ("adam", ADAM)):
        assert _gap(runs[name].weights, par_torch.train_single(config, *digits)) < 1e-6
        assert runs[name].rank_gap == 0.0  # every rank holds the same weights
    assert _gap(runs["sgd"].weights, par_np.train_single(SGD, *digits)) < 1e-12  # across backends


def test_zero1_shards_the_state_and_equals_ddp_adam(torch_runs) -> None:
    runs, _ = torch_runs
    assert _gap(runs["zero"].weights, runs["adam"].weights) < 1e-6
    assert runs["zero"].rank_gap == 0.0
    n = sum(w.size for w in runs["adam"].weights.values())
    assert runs["adam"].state_elements == [2 * n, 2 * n]  # m and v, whole, on every rank
    assert runs["zero"].state_elements == [3 * n // 2, 3 * n // 2]  # m, v, master: half each
    full, sharded = runs["adam"].memory[0], runs["zero"].memory[0]
    assert sharded["weights"] == full["weights"] == n * 8
    assert sharded["optimizer state"] == 3 * n // 2 * 8
    assert _gap(runs["zero_odd"].weights, runs["adam_odd"].weights) < 1e-6  # with padding
    assert runs["zero_odd"].state_elements == [3 * 1168] * 2  # ceil(2335 / 2) per rank


def test_no_process_or_listening_port_is_left(torch_runs) -> None:
    _, port = torch_runs
    assert leftover_processes() == []
    listening = [c for c in psutil.net_connections("tcp") if c.laddr and c.laddr.port == port
                 and c.status == psutil.CONN_LISTEN]  # fmt: skip
    assert listening == []
    with socket.socket() as s:  # SO_REUSEADDR: closed connections may linger in TIME_WAIT
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen()


def test_mirrored_strategy_equals_single_device(digits) -> None:
    pytest.importorskip("tensorflow")
    from dlbook.parallel import tensorflow_backend as par_tf

    mirrored = par_tf.train_data_parallel(SGD, *digits)  # a fresh process: 2 logical CPUs
    assert _gap(mirrored, par_tf.train_single(SGD, *digits)) < 1e-6
    assert _gap(mirrored, par_np.train_single(SGD, *digits)) < 1e-12  # across backends
    assert leftover_processes() == []


def test_zero_bytes_per_parameter_follows_the_paper() -> None:
    assert zero_bytes_per_parameter(0, 64)["total"] == 16
    assert zero_bytes_per_parameter(1, 64)["total"] == pytest.approx(4 + 12 / 64)
    assert zero_bytes_per_parameter(2, 64)["total"] == pytest.approx(2 + 14 / 64)
    assert zero_bytes_per_parameter(3, 64)["total"] == pytest.approx(16 / 64)
    with pytest.raises(ValueError, match="stages"):
        zero_bytes_per_parameter(4, 2)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"batch_size": 63}, "split evenly"),
        ({"optimizer": "rmsprop"}, "optimizer"),
        ({"strategy": "zero1"}, "adam"),
        ({"world_size": 0}, "positive int"),
        ({"dtype": "float16"}, "dtype"),
    ],
)
def test_bad_configs_explain_themselves(kwargs, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        DataParallelConfig(**kwargs)


def test_bad_data_explains_itself(digits) -> None:
    x, y = digits
    with pytest.raises(ValueError, match="shape"):
        par_np.train_single(SGD, x[:, :10], y)
    with pytest.raises(ValueError, match="labels"):
        par_np.train_single(SGD, x, y[:-1])


def test_a_failing_rank_surfaces_and_leaves_nothing() -> None:
    pytest.importorskip("torch")
    import math

    from dlbook.parallel import torch_backend as par_torch

    with pytest.raises(RuntimeError, match="rank 0 raised"):
        par_torch.run_distributed(math.log, 2)  # rank 0 computes log(0, 2)
    assert leftover_processes() == []
    with pytest.raises(TypeError, match="configs"):
        par_torch.train_distributed({}, np.ones((2, 64)), np.zeros(2, dtype=int))
