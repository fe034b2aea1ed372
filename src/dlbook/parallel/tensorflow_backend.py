"""Data parallelism on TensorFlow: ``tf.distribute.MirroredStrategy`` over two CPU devices.

The API of :mod:`dlbook.parallel.numpy_backend`'s data-parallel part:
``train_single(config, x, y)`` and ``train_data_parallel(config, x, y)`` return
the final weights in the canonical layout (see :mod:`dlbook.parallel.data_parallel`).

A laptop has one CPU device; ``tf.config.set_logical_device_configuration``
splits it into ``world_size`` logical devices, and ``MirroredStrategy`` keeps one
replica of every variable on each. This is only possible **before TensorFlow's
runtime starts**, which any earlier TF operation in the process triggers, so
:func:`train_data_parallel` always runs in a fresh Python process
(:func:`dlbook.parallel.launch.run_processes`). CPU only: on a machine with
several GPUs, the strategy would mirror over those instead.

One step, written out with the strategy's two primitives::

    per_replica = strategy.run(local_grads, args=(x_shards, y_shards))  # one per device
    grads = [strategy.reduce("MEAN", g, axis=None) for g in per_replica]  # the all-reduce
    optimizer.apply_gradients(zip(grads, variables))                      # the same step
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlbook._lazy import import_tensorflow
from dlbook.parallel.data_parallel import DataParallelConfig, check_data, rank_batches
from dlbook.parallel.launch import run_processes

tf = import_tensorflow()


def _model_and_optimizer(config: DataParallelConfig) -> tuple[Any, Any]:
    from dlbook.nn import tensorflow_backend as nn_tf
    from dlbook.optim import tensorflow_backend as optim_tf

    model = nn_tf.MLP(config.sizes, seed=config.seed, dtype=config.dtype)
    return model, optim_tf.make(config.optimizer, model.params, lr=config.lr)


def _local_grads(model: Any, x: Any, y: Any) -> list[Any]:
    """Gradients of the mean cross-entropy on this replica's rows (B / p of them)."""
    from dlbook.nn import tensorflow_backend as nn_tf

    with tf.GradientTape() as tape:
        loss = nn_tf._cross_entropy(model(x), y)  # labels were checked by check_data
    return tape.gradient(loss, model.params)


def train_single(config: DataParallelConfig, x: Any, y: Any) -> dict[str, np.ndarray]:
    """The reference: one device, each step on the whole batch (runs in this process)."""
    from dlbook.optim import tensorflow_backend as optim_tf

    x, y = check_data(config, x, y)
    model, opt = _model_and_optimizer(config)
    for step in range(config.steps):
        ((xb, yb),) = rank_batches(config, x, y, step, 1)
        optim_tf.apply(opt, model.params, _local_grads(model, tf.constant(xb), tf.constant(yb)))
    return model.get_weights()


def _split_devices(world_size: int) -> list[str]:
    """Make ``world_size`` logical CPU devices (before the runtime starts); return their names."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(world_size)]
    )
    return [d.name for d in tf.config.list_logical_devices("CPU")]


def _distribute(strategy: Any, per_replica: list[np.ndarray]) -> Any:
    """A distributed value: replica r receives ``per_replica[r]``."""
    return strategy.experimental_distribute_values_from_function(
        lambda ctx: tf.constant(per_replica[ctx.replica_id_in_sync_group])
    )


def _mirrored(rank: int, world: int, config: DataParallelConfig, x: Any, y: Any) -> dict:
    """In a fresh process: MirroredStrategy over ``config.world_size`` logical CPU devices."""
    from dlbook.optim import tensorflow_backend as optim_tf

    tf.get_logger().setLevel("ERROR")  # "MirroredStrategy eagerly has overhead": we use tf.function
    devices = _split_devices(config.world_size)
    strategy = tf.distribute.MirroredStrategy(devices)
    with strategy.scope():  # variables created here are mirrored on every device
        model, opt = _model_and_optimizer(config)

    @tf.function
    def averaged_grads(x_shards: Any, y_shards: Any) -> list[Any]:
        per_replica = strategy.run(_local_grads, args=(model, x_shards, y_shards))
        return [strategy.reduce("MEAN", g, axis=None) for g in per_replica]

    for step in range(config.steps):
        shards = list(rank_batches(config, x, y, step, config.world_size))  # p x (B/p rows)
        xs, ys = (_distribute(strategy, [shard[i] for shard in shards]) for i in (0, 1))
        optim_tf.apply(opt, model.params, averaged_grads(xs, ys))
    return {
        "weights": model.get_weights(),
        "replicas": strategy.num_replicas_in_sync,
        "devices": devices,
    }


def train_data_parallel(
    config: DataParallelConfig, x: Any, y: Any, timeout: float = 120.0
) -> dict[str, np.ndarray]:
    """``MirroredStrategy`` with ``config.world_size`` replicas, in a fresh Python process.

    Each replica gets B / p rows of every batch; ``strategy.reduce("MEAN")``
    averages the p gradients and one optimizer step updates every mirror.
    """
    x, y = check_data(config, x, y)
    (result,) = run_processes(_mirrored, 1, (config, x, y), timeout=timeout)
    if result["replicas"] != config.world_size:
        raise RuntimeError(f"expected {config.world_size} replicas, got {result['replicas']}.")
    return result["weights"]
