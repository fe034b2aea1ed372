"""One training loop for a CNN in any backend, with optional data augmentation.

The loop is :func:`dlbook.nn.fit`'s (same :class:`~dlbook.nn.TrainConfig`, same
batch order for a given ``config.seed``, same :class:`~dlbook.nn.History`),
for the models of :mod:`dlbook.cnn`. ``augment(x, rng)`` alters each training
batch before the step; it draws from its own generator, seeded from
``config.seed``, so a run repeats exactly.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from dlbook.backends import load_backend
from dlbook.data.batching import minibatches
from dlbook.data.digits import DataSplit
from dlbook.nn.training import History, TrainConfig
from dlbook.seeding import make_rng

Augment = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def accuracy(backend: str, model: Any, x: np.ndarray, y: np.ndarray) -> float:
    """Fraction of the images of ``x`` whose predicted class equals ``y`` (evaluation mode)."""
    pred = load_backend("cnn", backend).predict(model, x)
    return float(np.mean(pred == np.asarray(y)))


def fit(
    backend: str,
    model: Any,
    data: DataSplit,
    config: TrainConfig | None = None,
    *,
    augment: Augment | None = None,
) -> History:
    """Train a ``dlbook.cnn`` model on ``data`` (images (N, C, H, W)); returns the history.

    After each epoch the validation loss and accuracy are recorded (evaluation
    mode). With ``config.patience = k`` training stops once the validation loss
    has not improved for k epochs, and the weights of the best epoch are restored.
    """
    from tqdm.auto import trange

    config = config or TrainConfig()
    cnn = load_backend("cnn", backend)
    optimizer = cnn.make_optimizer(model, config)
    rng, aug_rng = make_rng(config.seed), make_rng(config.seed + 1)
    history, best_weights = History(), None
    start = time.perf_counter()
    for epoch in trange(config.epochs, desc=f"training ({backend})", disable=not config.progress):
        losses = []
        for idx in minibatches(len(data.y_train), config.batch_size, rng):
            x = data.x_train[idx]  # (B, C, H, W)
            x = augment(x, aug_rng) if augment is not None else x
            losses.append(cnn.train_step(model, optimizer, x, data.y_train[idx]))
        history.train_loss.append(float(np.mean(losses)))
        history.val_loss.append(cnn.evaluate_loss(model, data.x_val, data.y_val))
        history.val_accuracy.append(accuracy(backend, model, data.x_val, data.y_val))
        if history.best_epoch < 0 or history.val_loss[-1] < history.val_loss[history.best_epoch]:
            history.best_epoch = epoch
            best_weights = model.get_weights() if config.patience else None
        elif config.patience and epoch - history.best_epoch >= config.patience:
            model.set_weights(best_weights)  # roll back to the best epoch
            history.stopped_early = True
            break
    history.seconds = time.perf_counter() - start
    return history
