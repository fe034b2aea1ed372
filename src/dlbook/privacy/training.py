"""Training with DP-SGD for any backend's MLP, and the loss-threshold membership attack.

Shape legend: B = examples in a batch, N = parameters (flattened, canonical order),
D = features, K = classes.

:func:`train_dp_sgd` owns what must not differ between backends (the sampling of the
batches, the noise, the update of the flat weight vector); the backend supplies only
``per_example_grads`` and ``private_gradient``. With ``noise_multiplier = 0`` and
``max_grad_norm = inf`` it is plain mini-batch SGD, and with ``sampling = "shuffle"`` it
takes exactly the steps of :func:`dlbook.nn.fit` with ``optimizer = "sgd"`` and no
momentum (``tests/privacy/test_training.py`` checks this).

**Sampling.** The privacy analysis of :mod:`dlbook.privacy.accountant` assumes *Poisson
sampling*: at every step each training example joins the batch independently with
probability q = batch_size / n, and the sum is divided by the *expected* batch size.
An epoch is then 1 / q steps on average. ``sampling = "shuffle"`` uses the usual
shuffled batches instead, for comparisons; the accountant does not cover it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dlbook._validate import as_float_array, check_labels
from dlbook.backends import load_backend
from dlbook.data.batching import minibatches
from dlbook.privacy.flat import flatten_weights, unflatten_weights
from dlbook.seeding import make_rng


@dataclass
class DPSGDConfig:
    """DP-SGD's knobs (Abadi et al. 2016); sigma = 0 and C = inf give plain SGD."""

    noise_multiplier: float = 1.0  # sigma: the noise's std is sigma * max_grad_norm
    max_grad_norm: float = 1.0  # C: each example's gradient is clipped to this L2 norm
    lr: float = 0.5  # learning rate of the (momentum-free) SGD update
    batch_size: int = 64  # expected batch size; q = batch_size / n under Poisson sampling
    epochs: int = 20  # passes over the data: steps = round(epochs * n / batch_size)
    sampling: str = "poisson"  # "poisson" (what the accountant assumes) or "shuffle"
    seed: int = 0  # seeds the batches; the noise uses an independent stream of the same seed
    progress: bool = True  # a tqdm progress bar over the epochs

    def __post_init__(self) -> None:
        if not (self.noise_multiplier >= 0 and math.isfinite(self.noise_multiplier)):
            raise ValueError(
                f"noise_multiplier must be a finite number >= 0, got {self.noise_multiplier!r}."
            )
        if not self.max_grad_norm > 0:
            raise ValueError(
                f"max_grad_norm must be positive (or inf), got {self.max_grad_norm!r}."
            )
        if self.noise_multiplier > 0 and math.isinf(self.max_grad_norm):
            raise ValueError("Noise needs a finite max_grad_norm: its std is sigma * C.")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr!r}.")
        for name in ("batch_size", "epochs"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"DPSGDConfig.{name} must be a positive integer, got {value!r}.")
        if self.sampling not in ("poisson", "shuffle"):
            raise ValueError(f"sampling must be 'poisson' or 'shuffle', got {self.sampling!r}.")


@dataclass
class DPSGDHistory:
    """What a DP-SGD run did: enough to compute its privacy afterwards."""

    train_loss: list[float] = field(default_factory=list)  # full training-set loss per epoch
    steps: int = 0  # gradient steps taken
    sample_rate: float = 0.0  # q = batch_size / n, each example's chance to join a step
    noise_multiplier: float = 0.0  # sigma used
    batch_sizes: list[int] = field(default_factory=list)  # examples drawn at each step


def _batches(n: int, config: DPSGDConfig, rng: np.random.Generator) -> list[np.ndarray]:
    """One epoch's batches: Poisson draws (1/q of them, rounded) or one shuffled pass."""
    if config.sampling == "shuffle":
        return list(minibatches(n, config.batch_size, rng))
    q = min(1.0, config.batch_size / n)
    return [np.flatnonzero(rng.random(n) < q) for _ in range(max(1, round(1.0 / q)))]


def per_example_loss(backend: str, model: Any, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Each example's own cross-entropy -log softmax(model(x_i))[y_i], as a NumPy array (B,)."""
    from dlbook.nn.numpy_backend import log_softmax

    logits = model(x)
    logits = logits.detach().cpu().numpy() if hasattr(logits, "detach") else np.asarray(logits)
    y = check_labels(y, len(logits), logits.shape[1])
    return -log_softmax(logits.astype(np.float64), axis=1)[np.arange(len(y)), y]


def train_dp_sgd(
    backend: str, model: Any, x: np.ndarray, y: np.ndarray, config: DPSGDConfig | None = None
) -> DPSGDHistory:
    """Train ``model`` (an MLP of ``dlbook.nn.<backend>``) on (x, y) with DP-SGD, in place.

    Each step: per-example gradients of the drawn batch, clipped to C and summed, plus
    N(0, sigma^2 C^2) noise, divided by the (expected) batch size; then w <- w - lr g.
    """
    from tqdm.auto import trange

    config = config or DPSGDConfig()
    priv = load_backend("privacy", backend)
    x = as_float_array(x, "x")
    y = check_labels(y, len(x), model.sizes[-1])
    batch_rng = make_rng(config.seed)  # with "shuffle": the very batches dlbook.nn.fit draws
    noise_rng = np.random.default_rng(np.random.SeedSequence(config.seed).spawn(1)[0])
    n = len(y)
    history = DPSGDHistory(
        sample_rate=min(1.0, config.batch_size / n), noise_multiplier=config.noise_multiplier
    )
    for _ in trange(config.epochs, desc="DP-SGD", disable=not config.progress):
        for idx in _batches(n, config, batch_rng):
            history.batch_sizes.append(len(idx))
            _dp_sgd_step(priv, model, x[idx], y[idx], config, noise_rng)
            history.steps += 1
        history.train_loss.append(float(per_example_loss(backend, model, x, y).mean()))
    return history


def _dp_sgd_step(
    priv: Any, model: Any, xb: np.ndarray, yb: np.ndarray, config: DPSGDConfig, rng: Any
) -> None:
    """w <- w - lr * private_gradient(per-example gradients of the batch)."""
    weights = model.get_weights()
    flat = flatten_weights(weights)  # (N,)
    if len(yb):
        grads = priv.per_example_grads(model, xb, yb)  # (B, N)
    else:  # an empty Poisson draw: the update is noise alone
        grads = np.zeros((0, flat.size), dtype=flat.dtype)
    denominator = config.batch_size if config.sampling == "poisson" else len(yb)
    g = priv.private_gradient(
        grads, config.max_grad_norm, config.noise_multiplier, rng, denominator=denominator
    )
    g = g.detach().cpu().numpy() if hasattr(g, "detach") else np.asarray(g)
    model.set_weights(unflatten_weights(flat - config.lr * g.astype(flat.dtype), weights))


def loss_threshold_scores(
    backend: str,
    model: Any,
    members: tuple[np.ndarray, np.ndarray],
    nonmembers: tuple[np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """The attack of Yeom et al. (2018): score = -loss, so a low loss looks like a member.

    ``members`` and ``nonmembers`` are (x, y) pairs; returns the two score arrays for
    :func:`dlbook.privacy.membership_advantage` and :func:`dlbook.privacy.roc_curve`.
    """
    return (
        -per_example_loss(backend, model, *members),
        -per_example_loss(backend, model, *nonmembers),
    )


__all__ = [
    "DPSGDConfig",
    "DPSGDHistory",
    "loss_threshold_scores",
    "per_example_loss",
    "train_dp_sgd",
]
