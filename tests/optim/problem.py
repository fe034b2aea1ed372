"""The float64 test problem shared by the optimizer tests, and the cases they run.

Three parameters of different shapes, a vector w (5,), a matrix V (4, 3) and a
bias b (3,), on the least-squares loss

    L = scale * (1/2 |A w - a|^2 + 1/2 |X V + b - Y|^2).

Each optimizer computes its gradients from its *own* current parameters, so two
optimizers agree only if every one of their steps agrees. ``scale`` shrinks the
gradients, for the tests where eps must matter.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

N_STEPS = 100
RTOL = 1e-10  # relative error allowed at every step

# (dlbook name, hyper-parameters): every option that changes the update rule
CASES: list[tuple[str, dict[str, Any]]] = [
    ("sgd", {"lr": 0.01}),
    ("momentum", {"lr": 0.01}),
    ("momentum", {"lr": 0.01, "dampening": 0.5}),
    ("nesterov", {"lr": 0.01}),
    ("adagrad", {"lr": 0.1}),
    ("adagrad", {"lr": 0.1, "lr_decay": 0.05, "initial_accumulator_value": 0.1}),
    ("rmsprop", {"lr": 0.01}),
    ("rmsprop", {"lr": 0.01, "centered": True}),
    ("rmsprop", {"lr": 0.003, "momentum": 0.9}),
    ("rmsprop", {"lr": 0.003, "momentum": 0.9, "centered": True}),
    ("adam", {"lr": 0.01}),
    ("adam", {"lr": 0.01, "amsgrad": True}),
    ("adamw", {"lr": 0.01}),
    ("adamw", {"lr": 0.01, "amsgrad": True}),
]
WEIGHT_DECAYS = [0.0, 0.1]


def case_id(case: tuple[str, dict[str, Any]]) -> str:
    name, hparams = case
    extra = [f"{k}={v}" for k, v in hparams.items() if k != "lr"]
    return "-".join([name, *extra])


def problem(seed: int = 0, scale: float = 1.0) -> tuple[list[np.ndarray], Callable]:
    """Starting parameters [w, V, b] and ``grads(w, V, b) -> [dL/dw, dL/dV, dL/db]``."""
    rng = np.random.default_rng(seed)
    A, a = rng.normal(size=(20, 5)), rng.normal(size=20)
    X, Y = rng.normal(size=(10, 4)), rng.normal(size=(10, 3))
    start = [rng.normal(size=5), rng.normal(size=(4, 3)), rng.normal(size=3)]

    def grads(w: np.ndarray, V: np.ndarray, b: np.ndarray) -> list[np.ndarray]:
        R = X @ V + b - Y  # (10, 3) residuals
        return [scale * (A.T @ (A @ w - a)), scale * (X.T @ R), scale * R.sum(axis=0)]

    return start, grads


def rel_err(ours: list[np.ndarray], theirs: list[np.ndarray]) -> float:
    """The largest relative error, over the parameters, of ours against theirs."""
    return max(
        float(np.linalg.norm(p - q) / np.linalg.norm(q)) for p, q in zip(ours, theirs, strict=True)
    )


def trajectory_errors(
    step_ours: Callable[[], list[np.ndarray]],
    step_theirs: Callable[[], list[np.ndarray]],
    n_steps: int = N_STEPS,
) -> np.ndarray:
    """Relative error after each of ``n_steps`` steps; each callable steps and returns params."""
    return np.array([rel_err(step_ours(), step_theirs()) for _ in range(n_steps)])
