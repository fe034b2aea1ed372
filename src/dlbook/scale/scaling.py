"""Scaling laws: power-law fits of loss against size, and compute-optimal allocation.

No framework needed: NumPy, and SciPy for the fit with an irreducible term.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dlbook.seeding import make_rng


def _positive_series(x: Any, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=float) if not isinstance(x, (str, bytes)) else None
    if arr is None or arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D sequence of numbers, got {x!r}.")
    if not np.all(np.isfinite(arr)) or not np.all(arr > 0):
        raise ValueError(
            f"{name} must hold finite positive numbers (a power law lives on a log scale), "
            f"got {arr.tolist()}."
        )
    return arr


def fit_power_law(x: Any, y: Any) -> tuple[float, float]:
    """(a, b) with y ~ a * x**b: least squares on the straight line log y = log a + b log x.

    A loss that falls with size gives b < 0. ``x`` and ``y`` are 1-D, of equal
    length >= 2, finite and positive.
    """
    lx, ly = np.log(_positive_series(x, "x")), np.log(_positive_series(y, "y"))
    if len(lx) != len(ly) or len(lx) < 2:
        raise ValueError(
            f"x and y need the same length, at least 2 points for a line; got {len(lx)} and "
            f"{len(ly)}."
        )
    if np.ptp(lx) == 0:
        raise ValueError("x must hold at least two different values to fit a slope.")
    b, log_a = np.polyfit(lx, ly, 1)
    return float(np.exp(log_a)), float(b)


def compute_optimal(compute: float, tokens_per_param: float = 20.0) -> tuple[float, float]:
    """(N, D): parameters and training tokens that spend ``compute`` FLOPs compute-optimally.

    With C = 6 N D and Hoffmann et al.'s (2022) rule D = r N (about 20 tokens per
    parameter): C = 6 r N^2, so N = sqrt(C / (6 r)) and D = r N.
    """
    for name, value in (("compute", compute), ("tokens_per_param", tokens_per_param)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            raise TypeError(f"{name} must be a number, got {type(value).__name__}.")
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"{name} must be a finite positive number, got {value!r}.")
    n = math.sqrt(compute / (6.0 * tokens_per_param))
    return n, tokens_per_param * n


# ---------------------------------------------------------------------------
# The book's scaling ladder (trained by tools/scaling_ladder.py)
# ---------------------------------------------------------------------------

# (n_layer, n_embd, n_head) of each rung: N from about 340 to 85k non-embedding parameters.
# Small on purpose: on the book's corpus the loss is within 0.01 nats/char of the source's
# own by N ~ 30k (chapter 6's 110k-parameter GPT is 0.004 above it), so larger rungs would
# differ by less than the evaluation noise. The scaling is in the range below.
LADDER_SHAPES: tuple[tuple[int, int, int], ...] = (
    (1, 4, 1),
    (1, 8, 2),
    (1, 12, 2),
    (1, 16, 2),
    (2, 16, 2),
    (2, 24, 3),
    (2, 32, 4),
    (3, 48, 4),
)

# The training schedule shared by every rung: a fixed budget of D = steps * B * T = 2,048,000
# tokens, the schedule chapter 6 tuned for its L=2, C=64 GPT, with steps cut to 1000.
LADDER_SCHEDULE: dict[str, Any] = {
    "block_size": 64,
    "batch_size": 32,
    "steps": 1000,
    "lr": 5e-3,
    "lr_min": 2.5e-4,
    "warmup_steps": 100,
    "eval_every": 500,
    "seed": 0,
}

# Characters drawn from the corpus source (``load_corpus(n_train=..., n_val=...)``): as many
# training characters as the tokens each rung sees, so no rung trains for epochs on one text
# (the ladder measures capacity, not memorising), and a validation text of 200k characters,
# on which the source's own loss, 1.4195 nats/char, is close to its entropy rate, 1.4172
# (on the chapters' first 20k characters it is 1.4343: a short text has its own luck).
LADDER_N_TRAIN = 2_048_000
LADDER_N_VAL = 200_000

# Where the ladder's results are shipped with the package.
LADDER_PATH = Path(__file__).parent / "data" / "scaling_ladder.json"


@dataclass(frozen=True)
class FloorFit:
    """L(N) = E + A N^-alpha fitted by least squares, with one-sigma errors."""

    E: float  # the irreducible loss, reached by an infinitely large model
    A: float  # the scale of the reducible part
    alpha: float  # how fast the reducible part shrinks with N
    errors: dict[str, float]  # one standard error of E, A and alpha (from the covariance)
    covariance: np.ndarray  # (3, 3) covariance of (E, log A, alpha) from curve_fit

    def __call__(self, n: Any) -> np.ndarray:
        """The fitted loss at size(s) n."""
        return self.E + self.A * np.asarray(n, dtype=float) ** -self.alpha

    def band(
        self, n: Any, rng: np.random.Generator | int = 0, draws: int = 2000
    ) -> tuple[np.ndarray, np.ndarray]:
        """A one-sigma band (16th and 84th percentiles) of the fitted curve at sizes n.

        Draws (E, log A, alpha) from the normal distribution of the fit's covariance
        and evaluates each curve: errors that are correlated (E and A are) stay so.
        """
        p = np.array([self.E, np.log(self.A), self.alpha])
        samples = make_rng(rng).multivariate_normal(p, self.covariance, size=draws)  # (draws, 3)
        x = np.asarray(n, dtype=float)
        curves = _floor_law(x[None, :], *(samples[:, i, None] for i in range(3)))  # (draws, n)
        lo, hi = np.percentile(curves, [16, 84], axis=0)
        return lo, hi


def _floor_law(n: np.ndarray, E: float, log_A: float, alpha: float) -> np.ndarray:
    return E + np.exp(log_A - alpha * np.log(n))


def fit_power_law_with_floor(n: Any, loss: Any) -> FloorFit:
    """Fit L(N) = E + A N^-alpha (``scipy.optimize.curve_fit``), errors from the covariance.

    A is fitted as log A (it spans orders of magnitude); its error is propagated,
    sigma_A = A sigma_logA. The start is E a little below the smallest loss and
    (A, alpha) from :func:`fit_power_law` on L - E. Needs at least 4 points for 3
    parameters and one degree of freedom left to estimate the noise.
    """
    from scipy.optimize import curve_fit

    x, y = _positive_series(n, "n"), _positive_series(loss, "loss")
    if len(x) != len(y) or len(x) < 4:
        raise ValueError(
            f"n and loss need the same length, at least 4 points for 3 parameters; got {len(x)} "
            f"and {len(y)}."
        )
    E0 = 0.95 * y.min()
    A0, b0 = fit_power_law(x, y - E0)
    p, cov = curve_fit(_floor_law, x, y, p0=(E0, np.log(A0), -b0), maxfev=20_000)
    E, log_A, alpha = (float(v) for v in p)
    sd = np.sqrt(np.diag(cov))
    errors = {"E": float(sd[0]), "A": float(np.exp(log_A) * sd[1]), "alpha": float(sd[2])}
    return FloorFit(E=E, A=float(np.exp(log_A)), alpha=alpha, errors=errors, covariance=cov)


@dataclass(frozen=True)
class Ladder:
    """The results of ``tools/scaling_ladder.py``: one dict per rung, smallest first."""

    command: str  # how the file was made
    corpus: dict[str, Any]  # n_train, n_val, entropy_rate, source_val_loss
    runs: list[dict[str, Any]]  # config, n_params, tokens, compute, val_loss, train_seconds, ...

    def column(self, key: str) -> np.ndarray:
        """One field of every run as an array, e.g. ``column("val_loss")``."""
        return np.array([run[key] for run in self.runs], dtype=float)


def load_ladder(path: str | Path | None = None) -> Ladder:
    """Read the scaling ladder shipped in ``dlbook/scale/data/scaling_ladder.json``."""
    import json

    raw = json.loads(Path(path or LADDER_PATH).read_text())
    runs = sorted(raw["runs"], key=lambda run: run["n_params"])
    return Ladder(command=raw["command"], corpus=raw["corpus"], runs=runs)
