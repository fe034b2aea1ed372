"""Loss landscapes in two dimensions, and what optimizers do on them (chapter 2).

Shape legend: P = points, n = dimension of a quadratic, S = steps.

A :class:`Surface` bundles a function f: R^2 -> R with its analytic gradient,
a starting point, a plotting window and its minimiser. Three surfaces carry
the chapter:

* an ill-conditioned quadratic, where the learning rate's upper limit 2 / L
  and the rate (kappa - 1) / (kappa + 1) can be derived exactly;
* Rosenbrock's banana valley, curved, so no single learning rate suits it;
* a saddle, where the gradient almost vanishes far from any minimum.

Every ``f`` and ``grad`` works on one point of shape (2,) or on a grid of
points of shape (..., 2), so the same function draws the contour plot.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from dlbook.seeding import make_rng

# ---------------------------------------------------------------------------
# Surfaces
# ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Surface:
    """A function of two variables, ready for optimisation and for drawing."""

    name: str  # how the chapter and the widget's menu call it
    f: Callable[[np.ndarray], Any]  # points (..., 2) -> values (...)
    grad: Callable[[np.ndarray], np.ndarray]  # points (..., 2) -> gradients (..., 2)
    x0: tuple[float, float]  # the shared starting point of every race
    xlim: tuple[float, float]  # plotting window, first coordinate
    ylim: tuple[float, float]  # plotting window, second coordinate
    minimum: tuple[float, float]  # a global minimiser x* (the saddle has two; this is one)

    @property
    def f_min(self) -> float:
        """f* = f(x*), the lowest value; ``f(x) - f_min`` is the suboptimality gap."""
        return float(self.f(np.asarray(self.minimum, dtype=float)))


def _check_spd(A: Any, name: str = "A") -> np.ndarray:
    """Return ``A`` as a float64 symmetric positive-definite matrix, or explain what is wrong."""
    A = np.asarray(A, dtype=float)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"{name} must be a square matrix (n, n), got shape {A.shape}.")
    if not np.all(np.isfinite(A)):
        raise ValueError(f"{name} contains NaN or infinite entries.")
    if not np.allclose(A, A.T, rtol=1e-10, atol=1e-12):
        i, j = np.unravel_index(np.argmax(np.abs(A - A.T)), A.shape)
        raise ValueError(
            f"{name} must be symmetric, but {name}[{i}, {j}] = {A[i, j]:g} and "
            f"{name}[{j}, {i}] = {A[j, i]:g}. The Hessian of a smooth function is always "
            f"symmetric; (A + A.T) / 2 describes the same quadratic form."
        )
    lam_min = float(np.linalg.eigvalsh(A)[0])
    if not lam_min > 0:
        raise ValueError(
            f"{name} must be positive definite (every eigenvalue > 0), but its smallest "
            f"eigenvalue is {lam_min:g}: f = 1/2 x^T A x then has no unique minimum, and "
            f"gradient descent runs away along (or drifts on) that eigenvector."
        )
    return A


def _check_lr(lr: Any) -> float:
    if isinstance(lr, bool) or not isinstance(lr, (int, float, np.floating, np.integer)):
        raise TypeError(f"The learning rate must be a number, got {type(lr).__name__}.")
    if not (np.isfinite(lr) and lr > 0):
        raise ValueError(
            f"The learning rate must be a positive number, got {lr!r}: with lr <= 0 "
            f"gradient descent stands still or walks uphill."
        )
    return float(lr)


def _check_steps(steps: Any) -> int:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}.")
    return int(steps)


def quadratic(A: Any, *, name: str = "quadratic", x0: Sequence[float] = (-4.0, 1.5)) -> Surface:
    """f(x) = 1/2 x^T A x, with gradient A x, minimum f* = 0 at x* = 0 (A is 2 x 2, SPD).

    A is the Hessian: its eigenvectors are the axes of the elliptic contours and
    its eigenvalues lambda_i the curvatures along them.
    """
    A = _check_spd(A)
    if A.shape != (2, 2):
        raise ValueError(f"A surface lives in the plane, so A must be 2 x 2; got {A.shape}.")
    half = 1.2 * max(abs(x0[0]), abs(x0[1]), 1.0)
    return Surface(
        name=name,
        f=lambda x: 0.5 * np.einsum("...i,ij,...j->...", x, A, x),
        grad=lambda x: x @ A,  # (..., 2); A = A^T, so x A = (A x)^T
        x0=(float(x0[0]), float(x0[1])),
        xlim=(-half, half),
        ylim=(-0.6 * half, 0.6 * half),
        minimum=(0.0, 0.0),
    )


def rotation(angle: float) -> np.ndarray:
    """The 2 x 2 matrix R that turns the plane by ``angle`` radians anticlockwise."""
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s], [s, c]])


def ill_conditioned_quadratic(kappa: float = 25.0, angle: float = 0.0) -> Surface:
    """The quadratic with A = R diag(1, kappa) R^T: curvatures 1 and kappa, condition number kappa.

    ``angle`` turns the valley away from the axes. At ``angle=0`` the valley is
    axis-aligned, which per-coordinate methods (RMSprop, Adam) exploit; a rotated
    valley takes that advantage away.
    """
    if not kappa >= 1:
        raise ValueError(f"kappa = L / mu is a ratio of curvatures and must be >= 1, got {kappa}.")
    R = rotation(angle)
    return quadratic(R @ np.diag([1.0, float(kappa)]) @ R.T, name="ill-conditioned quadratic")


def rosenbrock(a: float = 1.0, b: float = 100.0) -> Surface:
    """Rosenbrock's valley f(x, y) = (a - x)^2 + b (y - x^2)^2, minimum f* = 0 at (a, a^2).

    Gradient: df/dx = -2 (a - x) - 4 b x (y - x^2),  df/dy = 2 b (y - x^2).
    The floor of the valley (y = x^2) is easy to find and slow to follow: the
    curvature across it (about 2b(1 + 4x^2)) dwarfs the curvature along it.
    """

    def f(p: np.ndarray) -> Any:
        x, y = p[..., 0], p[..., 1]
        return (a - x) ** 2 + b * (y - x**2) ** 2

    def grad(p: np.ndarray) -> np.ndarray:
        x, y = p[..., 0], p[..., 1]
        r = y - x**2  # residual of the valley floor
        return np.stack([-2.0 * (a - x) - 4.0 * b * x * r, 2.0 * b * r], axis=-1)

    return Surface("rosenbrock", f, grad, (-1.5, 2.0), (-2.0, 2.0), (-1.0, 3.0), (a, a * a))


def saddle() -> Surface:
    """f(x, y) = x^2 - y^2 + y^4 / 2: a saddle at the origin, minima f* = -1/2 at (0, +-1).

    Gradient: (2x, -2y + 2y^3). Near the origin this is the textbook saddle
    x^2 - y^2 (curving up along x, down along y); the quartic term bends the
    downhill direction back up, so f is bounded below and has two minima.
    Starting almost on the x axis, gradient descent first slides into the
    saddle point, where the gradient nearly vanishes, and lingers there before
    the tiny y component grows by (1 + 2 lr) per step and lets it escape.
    """

    def f(p: np.ndarray) -> Any:
        x, y = p[..., 0], p[..., 1]
        return x**2 - y**2 + 0.5 * y**4

    def grad(p: np.ndarray) -> np.ndarray:
        x, y = p[..., 0], p[..., 1]
        return np.stack([2.0 * x, -2.0 * y + 2.0 * y**3], axis=-1)

    return Surface("saddle", f, grad, (-2.0, 0.01), (-2.5, 2.5), (-2.0, 2.0), (0.0, 1.0))


SURFACES: dict[str, Callable[[], Surface]] = {
    "ill-conditioned quadratic": ill_conditioned_quadratic,
    "rosenbrock": rosenbrock,
    "saddle": saddle,
}


def get_surface(name: str) -> Surface:
    """The surface called ``name``, built with its default parameters."""
    if name not in SURFACES:
        raise ValueError(f"Unknown surface {name!r}; choose one of {list(SURFACES)}.")
    return SURFACES[name]()


# ---------------------------------------------------------------------------
# Gradient descent on a quadratic: the threshold and the rate
# ---------------------------------------------------------------------------


def _start(surface: Surface, x0: Sequence[float] | None) -> np.ndarray:
    x = np.array(surface.x0 if x0 is None else x0, dtype=float)
    if x.shape != (2,):
        raise ValueError(f"x0 must be a point of the plane, shape (2,), got shape {x.shape}.")
    return x


def gradient_descent(
    surface: Surface, lr: float, steps: int, x0: Sequence[float] | None = None
) -> np.ndarray:
    """Plain gradient descent x_{t+1} = x_t - lr grad f(x_t); returns the (steps + 1, 2) path.

    Row 0 is the start. A diverging run overflows to inf and then NaN; that is
    allowed here (the numbers tell the story), and no warning is raised.
    """
    lr, steps = _check_lr(lr), _check_steps(steps)
    path = np.empty((steps + 1, 2))  # (S + 1, 2)
    path[0] = _start(surface, x0)
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(steps):
            path[t + 1] = path[t] - lr * surface.grad(path[t])
    return path


def divergence_threshold(A: Any) -> float:
    """The largest stable learning rate of gradient descent on f = 1/2 x^T A x: lr* = 2 / L.

    With x* = 0 the error is e_t = x_t, and one step gives

        e_{t+1} = e_t - lr A e_t = (I - lr A) e_t,  so  e_t = (I - lr A)^t e_0.

    In the eigenbasis of A each component is multiplied by (1 - lr lambda_i) per
    step, so the iteration converges from every start if and only if
    ``|1 - lr lambda_i| < 1`` for all i, i.e. 0 < lr < 2 / lambda_i for all i.
    The binding constraint comes from the largest eigenvalue L: lr < 2 / L.
    """
    return 2.0 / float(np.linalg.eigvalsh(_check_spd(A))[-1])


def _diverges(A: np.ndarray, lr: float, steps: int, e0: np.ndarray) -> bool:
    """Run ``steps`` of GD on 1/2 x^T A x from e0; True if the error ends larger than it began."""
    e = e0.copy()
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            e = e - lr * (A @ e)
        norm = float(np.linalg.norm(e))
    return not norm <= np.linalg.norm(e0)  # NaN and inf count as diverged


def observed_divergence_threshold(
    A: Any, steps: int = 200, tol: float = 1e-4, seed: int | np.random.Generator = 0
) -> float:
    """The smallest learning rate at which gradient descent diverges, found by experiment.

    No eigenvalues are used: we start from a random e_0 (drawn with ``seed``),
    call a learning rate divergent when ||e_steps|| > ||e_0||, bracket the
    boundary by doubling or halving lr, then bisect until the bracket is
    narrower than ``tol`` relative. Compare with :func:`divergence_threshold`.
    """
    A = _check_spd(A)
    e0 = make_rng(seed).normal(size=A.shape[0])  # (n,)
    lo, hi = 0.5, 1.0
    while not _diverges(A, hi, steps, e0):  # grow until we see divergence
        lo, hi = hi, 2.0 * hi
    while _diverges(A, lo, steps, e0):  # shrink until we see convergence
        lo, hi = 0.5 * lo, lo
    while hi - lo > tol * hi:  # invariant: lo converges, hi diverges
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if _diverges(A, mid, steps, e0) else (mid, hi)
    return hi


def convergence_rate(A: Any, lr: float) -> float:
    """The worst per-step contraction of the error: rho(lr) = ``max_i |1 - lr lambda_i|``.

    Since e_t = (I - lr A)^t e_0, ||e_t|| <= rho^t ||e_0||, and for a generic start
    ||e_{t+1}|| / ||e_t|| -> rho. rho < 1 exactly when lr < 2 / L.
    """
    lam = np.linalg.eigvalsh(_check_spd(A))
    return float(np.max(np.abs(1.0 - _check_lr(lr) * lam)))


def condition_number(A: Any) -> float:
    """kappa = L / mu, the ratio of the largest to the smallest eigenvalue of A."""
    lam = np.linalg.eigvalsh(_check_spd(A))
    return float(lam[-1] / lam[0])


def optimal_learning_rate(A: Any) -> float:
    """lr = 2 / (L + mu), which minimises ``rho(lr) = max(|1 - lr mu|, |1 - lr L|)``.

    rho is smallest where the two extreme factors balance, 1 - lr mu = lr L - 1,
    giving lr = 2 / (L + mu) and rho = (L - mu) / (L + mu) = (kappa - 1) / (kappa + 1).
    """
    lam = np.linalg.eigvalsh(_check_spd(A))
    return float(2.0 / (lam[-1] + lam[0]))


def optimal_rate(A: Any) -> float:
    """(kappa - 1) / (kappa + 1): the best contraction plain gradient descent can reach."""
    kappa = condition_number(A)
    return (kappa - 1.0) / (kappa + 1.0)


def measured_contraction(A: Any, lr: float, steps: int = 300, seed: int = 0) -> float:
    """||e_steps|| / ||e_{steps-1}|| for gradient descent on 1/2 x^T A x from a random start."""
    A, lr, steps = _check_spd(A), _check_lr(lr), _check_steps(steps)
    if steps < 1:
        raise ValueError("measured_contraction needs at least one step to measure a ratio.")
    e = make_rng(seed).normal(size=A.shape[0])  # (n,)
    for _ in range(steps - 1):
        e = e - lr * (A @ e)
        e /= np.linalg.norm(e)  # only the direction matters; rescaling avoids underflow
    return float(np.linalg.norm(e - lr * (A @ e)) / np.linalg.norm(e))


# ---------------------------------------------------------------------------
# Optimizers on surfaces
# ---------------------------------------------------------------------------


def run_optimizer(
    surface: Surface,
    name: str,
    steps: int,
    x0: Sequence[float] | None = None,
    **hparams: Any,
) -> np.ndarray:
    """Minimise ``surface`` with optimizer ``name`` from dlbook.optim.numpy_backend.make.

    The single parameter is the point x of shape (2,). Returns the (steps + 1, 2)
    path, row 0 being the start. If the run blows up (a coordinate becomes inf or
    NaN), the rows from there on are NaN: the path stops where it left the numbers.
    """
    from dlbook.optim.numpy_backend import make

    steps = _check_steps(steps)
    x = _start(surface, x0)  # (2,), updated in place by the optimizer
    optimizer = make(name, [x], **hparams)
    path = np.full((steps + 1, 2), np.nan)  # (S + 1, 2)
    path[0] = x
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(steps):
            optimizer.step([surface.grad(x)])
            if not np.all(np.isfinite(x)):
                break
            path[t + 1] = x
    return path


def race(
    surface: Surface,
    configs: Mapping[str, tuple[str, Mapping[str, Any]]],
    steps: int,
    x0: Sequence[float] | None = None,
) -> dict[str, np.ndarray]:
    """Run several optimizers from the same start: ``{label: (name, hparams)}`` -> paths."""
    return {
        label: run_optimizer(surface, name, steps, x0, **dict(hparams))
        for label, (name, hparams) in configs.items()
    }


def race_configs(
    lr: float, adaptive_lr: float, momentum: float, beta1: float, beta2: float
) -> dict[str, tuple[str, dict[str, Any]]]:
    """The chapter's five runners: the SGD family at ``lr``, RMSprop and Adam at ``adaptive_lr``.

    The two families get separate learning rates because the units differ: SGD's
    step is lr times the gradient, while Adam's is about lr itself whatever the
    gradient's size. RMSprop keeps torch's default alpha = 0.99: it has no bias
    correction, so its first step is lr / sqrt(1 - alpha) = 10 lr long, the flaw
    that Adam's bias correction repairs. With ``momentum=0`` both momentum
    methods are plain SGD (torch refuses Nesterov without momentum), so they run as SGD.
    """
    heavy = ("momentum", {"lr": lr, "momentum": momentum}) if momentum else ("sgd", {"lr": lr})
    ahead = ("nesterov", {"lr": lr, "momentum": momentum}) if momentum else ("sgd", {"lr": lr})
    return {
        "SGD": ("sgd", {"lr": lr}),
        "momentum": heavy,
        "Nesterov": ahead,
        "RMSprop": ("rmsprop", {"lr": adaptive_lr, "alpha": 0.99}),
        "Adam": ("adam", {"lr": adaptive_lr, "betas": (beta1, beta2)}),
    }


# ---------------------------------------------------------------------------
# Gradient noise against batch size
# ---------------------------------------------------------------------------


def _flat_grads(model: Any, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The gradient of the mean cross-entropy on (x, y), every weight in one flat vector."""
    from dlbook.nn.numpy_backend import loss_and_grads

    _, grads = loss_and_grads(model, x, y)
    return np.concatenate([grads[k].ravel() for k in sorted(grads)]).astype(np.float64)


def _check_batch_sizes(batch_sizes: Sequence[int], n: int) -> list[int]:
    sizes = [int(b) for b in batch_sizes]
    bad = [b for b, raw in zip(sizes, batch_sizes, strict=True) if b != raw or not 1 <= b <= n]
    if not sizes or bad:
        raise ValueError(
            f"batch sizes must be whole numbers between 1 and the {n} examples; got {bad or []}."
        )
    return sizes


def gradient_noise(
    model: Any,
    x: np.ndarray,
    y: np.ndarray,
    batch_sizes: Sequence[int],
    n_draws: int,
    rng: np.random.Generator | int,
) -> dict[int, float]:
    """Mean squared distance E ||g_B - g||^2 between mini-batch and full-batch gradients.

    ``model`` is a dlbook.nn.numpy_backend.MLP (left unchanged); g is its gradient
    on all N rows of (x, y), and for each batch size B we draw ``n_draws``
    batches of B distinct rows with ``rng`` and average ||g_B - g||^2.
    See :func:`noise_law` for what theory predicts.
    """
    n = len(y)
    sizes = _check_batch_sizes(batch_sizes, n)
    if isinstance(n_draws, bool) or not isinstance(n_draws, (int, np.integer)) or n_draws < 1:
        raise ValueError(f"n_draws must be a positive integer, got {n_draws!r}.")
    rng = make_rng(rng)
    full = _flat_grads(model, x, y)  # (P,) the full-batch gradient g
    noise = {}
    for B in sizes:
        total = 0.0
        for _ in range(n_draws):
            idx = rng.choice(n, size=B, replace=False)  # (B,) without replacement
            total += float(np.sum((_flat_grads(model, x[idx], y[idx]) - full) ** 2))
        noise[B] = total / n_draws
    return noise


def noise_law(batch_sizes: Sequence[int], n: int) -> np.ndarray:
    """(N - B) / (B (N - 1)) ~ (1/B)(1 - B/N): how mini-batch noise scales with B.

    Write g_B = (1/B) sum_{i in batch} g_i. Sampling B of the N per-example
    gradients without replacement, the classic finite-population result is

        E ||g_B - g||^2 = (sigma^2 / B) (N - B) / (N - 1),
        sigma^2 = (1/N) sum_i ||g_i - g||^2,

    so the noise falls like 1/B and vanishes at B = N (the batch is everything).
    """
    B = np.asarray(_check_batch_sizes(batch_sizes, n), dtype=float)
    return (n - B) / (B * (n - 1.0))


def per_example_variance(model: Any, x: np.ndarray, y: np.ndarray) -> float:
    """sigma^2 = (1/N) sum_i ||g_i - g||^2, from N single-example backward passes."""
    per_example = np.stack([_flat_grads(model, x[i : i + 1], y[i : i + 1]) for i in range(len(y))])
    return float(np.mean(np.sum((per_example - per_example.mean(axis=0)) ** 2, axis=1)))


def fit_noise_law(noise: Mapping[int, float], n: int) -> tuple[float, np.ndarray]:
    """Fit noise_B ~ c (N - B) / (B (N - 1)); return c and the ratios noise_B / (c law_B).

    c is the geometric mean of noise_B / law_B (a least-squares fit in log space);
    ratios near 1 mean the law holds. Theory says c = sigma^2 (see
    :func:`per_example_variance`). B = N is skipped: both sides are 0 there.
    """
    sizes = [B for B in noise if B < n]
    if not sizes:
        raise ValueError("fit_noise_law needs at least one batch size smaller than N.")
    law = noise_law(sizes, n)
    measured = np.array([noise[B] for B in sizes])
    c = float(np.exp(np.mean(np.log(measured / law))))
    return c, measured / (c * law)
