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
from dlbook.optim import OPTIMIZERS, check_hparams
from dlbook.seeding import make_rng


@dataclass
class TrainConfig:
    """How to train a classifier with a mini-batch optimizer (SGD with momentum by default)."""

    epochs: int = 40  # passes over the training set
    batch_size: int = 32  # examples per gradient step
    optimizer: str = "sgd"  # sgd, momentum, nesterov, adagrad, rmsprop, adam or adamw
    lr: float = 0.05  # learning rate
    momentum: float = 0.9  # heavy-ball momentum (torch.optim.SGD convention); sgd family, rmsprop
    betas: tuple[float, float] = (0.9, 0.999)  # adam, adamw: decay rates of the moment averages
    eps: float = 1e-8  # adam, adamw: keeps the denominator sqrt(v_hat) + eps away from 0
    weight_decay: float = 0.0  # coupled L2 added to the gradient; decoupled (w *= 1-lr*wd) in adamw
    seed: int = 0  # seeds the order of the mini-batches
    patience: int | None = None  # early stopping: epochs without a better val loss; None = off
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
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"TrainConfig.optimizer must be one of {', '.join(OPTIMIZERS)}; "
                f"got {self.optimizer!r}."
            )
        check_hparams({"betas": self.betas, "eps": self.eps})  # explains bad values
        if self.patience is not None and (not isinstance(self.patience, int) or self.patience < 1):
            raise ValueError(
                f"TrainConfig.patience must be None (no early stopping) or a positive integer, "
                f"got {self.patience!r}."
            )

    def optimizer_hparams(self) -> dict[str, Any]:
        """The hyper-parameters that ``self.optimizer`` takes from this config (torch's names)."""
        hparams: dict[str, Any] = {"lr": self.lr, "weight_decay": self.weight_decay}
        if self.optimizer in ("sgd", "momentum", "nesterov", "rmsprop"):
            hparams["momentum"] = self.momentum
        if self.optimizer in ("adam", "adamw"):
            hparams.update(betas=tuple(self.betas), eps=self.eps)
        return hparams


@dataclass
class History:
    """What happened during training, one entry per epoch."""

    train_loss: list[float] = field(default_factory=list)  # mean mini-batch loss
    val_loss: list[float] = field(default_factory=list)  # cross-entropy on the validation set
    val_accuracy: list[float] = field(default_factory=list)  # accuracy on the validation set
    best_epoch: int = -1  # index of the lowest val loss (the weights kept under early stopping)
    stopped_early: bool = False  # True when config.patience ended training before config.epochs
    seconds: float = 0.0  # wall-clock training time (varies run to run: never print it raw)


def accuracy(backend: str, model: Any, x: np.ndarray, y: np.ndarray) -> float:
    """Fraction of rows of ``x`` whose predicted class equals ``y``."""
    pred = load_backend("nn", backend).predict(model, x)
    return float(np.mean(pred == np.asarray(y)))


def fit(backend: str, model: Any, data: DataSplit, config: TrainConfig | None = None) -> History:
    """Train ``model`` (from ``dlbook.nn.<backend>``) on ``data`` with ``config.optimizer``.

    After each epoch the validation loss and accuracy are recorded. With
    ``config.patience = k``, training stops once the validation loss has not
    improved for k epochs, and the weights of the best epoch are restored.
    """
    from tqdm.auto import trange

    config = config or TrainConfig()
    nn = load_backend("nn", backend)
    optimizer = nn.make_optimizer(model, config)
    rng = make_rng(config.seed)
    history, best_weights = History(), None
    start = time.perf_counter()
    for epoch in trange(config.epochs, desc=f"training ({backend})", disable=not config.progress):
        losses = [
            nn.train_step(model, optimizer, data.x_train[idx], data.y_train[idx])
            for idx in minibatches(len(data.y_train), config.batch_size, rng)
        ]
        history.train_loss.append(float(np.mean(losses)))
        history.val_loss.append(nn.evaluate_loss(model, data.x_val, data.y_val))
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
