"""One training loop for every backend (the d2l idea: scratch and concise share an interface).

The loop owns what must be identical across backends (the data, the batch
order, the bookkeeping); each backend supplies only ``make_optimizer``,
``train_step`` and ``predict``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dlbook.backends import load_backend
from dlbook.data.batching import minibatches
from dlbook.data.digits import DataSplit
from dlbook.seeding import make_rng


@dataclass
class TrainConfig:
    """How to train a classifier with mini-batch SGD."""

    epochs: int = 40  # passes over the training set
    batch_size: int = 32  # examples per gradient step
    lr: float = 0.05  # learning rate
    momentum: float = 0.9  # heavy-ball momentum, torch.optim.SGD convention
    weight_decay: float = 0.0  # L2 coefficient added to the gradient (coupled decay)
    seed: int = 0  # seeds the order of the mini-batches
    progress: bool = True  # show a tqdm progress bar over epochs

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"TrainConfig.{name} must be a positive integer, got {value!r}.")
        if not self.lr > 0:
            raise ValueError(f"TrainConfig.lr must be positive, got {self.lr!r}.")
        if not 0 <= self.momentum < 1:
            raise ValueError(f"TrainConfig.momentum must lie in [0, 1), got {self.momentum!r}.")
        if self.weight_decay < 0:
            raise ValueError(f"TrainConfig.weight_decay must be >= 0, got {self.weight_decay!r}.")


@dataclass
class History:
    """What happened during training, one entry per epoch."""

    train_loss: list[float] = field(default_factory=list)  # mean mini-batch loss
    val_accuracy: list[float] = field(default_factory=list)  # accuracy on the validation set
    seconds: float = 0.0  # wall-clock training time (varies run to run: never print it raw)


def accuracy(backend: str, model: Any, x: np.ndarray, y: np.ndarray) -> float:
    """Fraction of rows of ``x`` whose predicted class equals ``y``."""
    pred = load_backend("nn", backend).predict(model, x)
    return float(np.mean(pred == np.asarray(y)))


def fit(backend: str, model: Any, data: DataSplit, config: TrainConfig | None = None) -> History:
    """Train ``model`` (from ``dlbook.nn.<backend>``) on ``data`` with mini-batch SGD."""
    from tqdm.auto import trange

    config = config or TrainConfig()
    nn = load_backend("nn", backend)
    optimizer = nn.make_optimizer(model, config)
    rng = make_rng(config.seed)
    history = History()
    start = time.perf_counter()
    for _ in trange(config.epochs, desc=f"training ({backend})", disable=not config.progress):
        losses = [
            nn.train_step(model, optimizer, data.x_train[idx], data.y_train[idx])
            for idx in minibatches(len(data.y_train), config.batch_size, rng)
        ]
        history.train_loss.append(float(np.mean(losses)))
        history.val_accuracy.append(accuracy(backend, model, data.x_val, data.y_val))
    history.seconds = time.perf_counter() - start
    return history
