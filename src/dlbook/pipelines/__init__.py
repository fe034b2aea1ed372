"""Real training pipelines with the frameworks' high-level APIs (chapter 4).

This concept is the exception to "the same API in every backend": its subject
*is* each framework's own idiom. So the backend modules hold what that idiom
looks like, written once and tested, and they do not mirror each other:

* :mod:`dlbook.pipelines.tensorflow_backend`: Keras ``Sequential`` and a
  subclassed ``keras.Model`` trained with ``compile``/``fit``, and the same
  training written as a ``tf.GradientTape`` loop, shown to equal ``fit``;
* :mod:`dlbook.pipelines.torch_backend`: the explicit PyTorch loop, with
  ``model.train()``/``model.eval()``, ``torch.no_grad()``, early stopping and a
  ``state_dict`` round trip through a file;
* :mod:`dlbook.pipelines.numpy_backend`: what ``compile("adam")`` + ``fit``
  compute, written with the book's from-scratch :mod:`dlbook.nn` MLP and
  :mod:`dlbook.optim` Adam; ``tests/pipelines`` checks that Keras' first steps
  equal it in float64.

This module holds what they share, in plain NumPy: the configurations, the
early-stopping rule, a regression data set with a known noise floor, and the
checks that catch a class count that does not match the data.

Shape legend: N = examples, D = input features, K = classes.

========================================================  ====================================
``KerasMLPConfig``, ``RegressionConfig``                  the settings of the two pipelines
``EarlyStopping(patience, min_delta)``                    the rule, one validation loss at a time
``early_stopping_epochs(val_losses, patience, ...)``      (best epoch, epoch training stops)
``RegressionDataConfig``, ``make_regression_data``        y = f(x) + noise, noise variance known
``check_class_count(labels, n_outputs)``                  refuses labels the output layer lacks
``shuffled(x, y, seed)``                                  one permutation applied to x and y
========================================================  ====================================
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from dlbook.seeding import make_rng


def backend(name: str) -> ModuleType:
    """The ``dlbook.pipelines`` module of ``"numpy"``, ``"torch"`` or ``"tensorflow"``."""
    from dlbook.backends import load_backend

    return load_backend("pipelines", name)


# ---------------------------------------------------------------------------
# Configurations
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class KerasMLPConfig:
    """The Keras classifiers of chapter 4: the seed's Sequential MLP and its subclassed twin."""

    hidden: tuple[int, ...] = (64, 64)  # widths of the hidden Dense(relu) layers (the seed's)
    n_classes: int = 10  # units of the output layer: must equal the number of classes
    lr: float = 1e-3  # Adam's learning rate: Keras' default for optimizer="adam"
    epsilon: float = 1e-7  # Keras Adam's default (torch: 1e-8), added to the uncorrected sqrt(v)
    batch_size: int = 32  # fit's default batch size
    epochs: int = 5  # passes over the training data
    validation_split: float = 0.2  # fit's hold-out: the LAST 20 % of rows, not a random 20 %
    dtype: str = "float32"  # "float64" for the parity tests


@dataclass(frozen=True)
class RegressionConfig:
    """The PyTorch regression pipeline: the seed's MLP, MSE, Adam and early stopping."""

    hidden: tuple[int, ...] = (500, 100)  # hidden widths of the seed's 1000-500-100-1 MLP
    init_std: float = 0.1  # weights drawn from N(0, 0.1^2), as the seed does; biases 0
    lr: float = 1e-3  # Adam's learning rate
    batch_size: int = 64  # examples per step
    max_epochs: int = 60  # an upper bound: early stopping usually ends training sooner
    patience: int = 8  # epochs without improvement before stopping
    min_delta: float = 0.0  # an improvement must lower the best validation loss by more


# ---------------------------------------------------------------------------
# Early stopping: the rule, one validation loss at a time
# ---------------------------------------------------------------------------


class EarlyStopping:
    """Stop when the validation loss has not improved for ``patience`` epochs.

    An epoch *improves* when ``loss < best - min_delta``; then ``best`` and
    ``best_epoch`` move to it and the count of bad epochs restarts at 0.
    Training stops after the epoch at which ``patience`` bad epochs in a row
    have accumulated, and the weights of ``best_epoch`` are the ones to keep.
    """

    def __init__(self, patience: int, min_delta: float = 0.0) -> None:
        if isinstance(patience, bool) or not isinstance(patience, (int, np.integer)):
            raise TypeError(f"patience must be an int, got {type(patience).__name__}.")
        if patience < 1:
            raise ValueError(f"patience must be >= 1 epoch, got {patience}.")
        if not np.isfinite(min_delta) or min_delta < 0:
            raise ValueError(f"min_delta must be a finite number >= 0, got {min_delta!r}.")
        self.patience = int(patience)  # bad epochs tolerated in a row
        self.min_delta = float(min_delta)  # the margin an improvement must beat
        self.best = float("inf")  # the best validation loss so far
        self.best_epoch = -1  # the epoch (from 0) that reached it
        self.bad_epochs = 0  # epochs since the last improvement
        self.epoch = -1  # the last epoch seen

    def update(self, val_loss: float) -> bool:
        """Record one epoch's validation loss; return True when training should stop."""
        val_loss = float(val_loss)
        if np.isnan(val_loss):
            raise ValueError(
                f"the validation loss of epoch {self.epoch + 1} is NaN: training diverged; "
                "lower the learning rate rather than waiting for it to improve."
            )
        self.epoch += 1
        if val_loss < self.best - self.min_delta:
            self.best, self.best_epoch, self.bad_epochs = val_loss, self.epoch, 0
            return False
        self.bad_epochs += 1
        return self.bad_epochs >= self.patience

    @property
    def improved(self) -> bool:
        """Whether the last update set a new best (the moment to save the weights)."""
        return self.best_epoch == self.epoch


def early_stopping_epochs(
    val_losses: Sequence[float], patience: int, min_delta: float = 0.0
) -> tuple[int, int]:
    """(best epoch, last epoch trained), epochs from 0, for a sequence of validation losses.

    If the rule never fires, training runs to the end: the last epoch is
    ``len(val_losses) - 1``.
    """
    losses = np.asarray(val_losses, dtype=np.float64)
    if losses.ndim != 1 or losses.size == 0:
        raise ValueError(f"val_losses must be a non-empty 1-D sequence, got shape {losses.shape}.")
    rule = EarlyStopping(patience, min_delta)
    for loss in losses:
        if rule.update(loss):
            break
    return rule.best_epoch, rule.epoch


# ---------------------------------------------------------------------------
# Data: a regression set with a known noise floor; labels that fit the model
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RegressionDataConfig:
    """y = f(x) + eps with eps ~ N(0, noise_std^2): no model can beat MSE = noise_std^2."""

    n_features: int = 10  # D, standard-normal inputs
    noise_std: float = 0.5  # sigma: the noise floor of the MSE is sigma^2 = 0.25
    coef_seed: int = 7  # fixes f itself, independently of the sampling seed


def regression_function(x: np.ndarray, config: RegressionDataConfig | None = None) -> np.ndarray:
    """The clean target f(x), (N, 1): a linear trend, a wiggle and a bowl.

    Exactly: with ``w, u, v ~ N(0, I / D)`` drawn from ``coef_seed``,
    ``f(x) = x w + sin(x u) + 0.5 (x v)^2``,
    each of variance about 1 for standard-normal x.
    """
    cfg = config or RegressionDataConfig()
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != cfg.n_features:
        raise ValueError(f"x must have shape (N, {cfg.n_features}), got {x.shape}.")
    D = cfg.n_features
    w, u, v = np.random.default_rng(cfg.coef_seed).normal(0.0, 1.0 / np.sqrt(D), size=(3, D))
    f = x @ w + np.sin(x @ u) + 0.5 * (x @ v) ** 2  # (N,)
    return f[:, None]  # (N, 1)


def make_regression_data(
    n: int, config: RegressionDataConfig | None = None, seed: int | np.random.Generator = 0
) -> tuple[np.ndarray, np.ndarray, float]:
    """``(x (N, D), y (N, 1), noise_variance)`` with ``y = f(x) + N(0, sigma^2)``."""
    cfg = config or RegressionDataConfig()
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive number of examples, got {n!r}.")
    if not cfg.noise_std >= 0:
        raise ValueError(f"noise_std must be >= 0, got {cfg.noise_std}.")
    rng = make_rng(seed)
    x = rng.normal(size=(int(n), cfg.n_features))  # (N, D)
    y = regression_function(x, cfg) + cfg.noise_std * rng.normal(size=(int(n), 1))  # (N, 1)
    return x, y, cfg.noise_std**2


def check_class_count(labels: Any, n_outputs: int) -> int:
    """The number of classes in ``labels``, after checking the output layer can represent them.

    ``Dense(10)`` on labels 0..19 is the classic mismatch: in Keras the loss then
    reads past the end of each row of probabilities. Fewer classes than outputs
    (``Dense(10)`` on 4 topics) trains, but wastes outputs and makes the model's
    probabilities for the missing classes meaningless: it is refused too.
    """
    y = np.asarray(labels)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise TypeError(
            f"labels must be a 1-D array of integer classes, got shape {y.shape} and dtype "
            f"{y.dtype}; for one-hot rows use labels.argmax(axis=1)."
        )
    if y.size == 0 or y.min() < 0:
        raise ValueError("labels must be a non-empty array of classes 0, 1, 2, ...")
    k = int(y.max()) + 1
    if k != n_outputs:
        raise ValueError(
            f"the data have {k} classes (labels 0..{k - 1}) but the output layer has "
            f"{n_outputs} units; use Dense({k}) (one output per class)."
        )
    return k


def shuffled(x: np.ndarray, y: np.ndarray, seed: int | np.random.Generator) -> tuple[Any, Any]:
    """``x`` and ``y`` with their rows in one random order (do it before ``validation_split``)."""
    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} rows but y has {len(y)}; they must pair up.")
    order = make_rng(seed).permutation(len(x))  # (N,)
    return x[order], y[order]


__all__ = [
    "EarlyStopping",
    "KerasMLPConfig",
    "RegressionConfig",
    "RegressionDataConfig",
    "backend",
    "check_class_count",
    "early_stopping_epochs",
    "make_regression_data",
    "regression_function",
    "shuffled",
]
