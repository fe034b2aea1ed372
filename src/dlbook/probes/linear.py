"""A linear probe: multinomial logistic regression on frozen features, in NumPy and SciPy.

Shape legend: N = examples (positions of text), C = feature width (the residual stream),
K = classes.

The probe standardises each feature with the training mean and standard deviation, then
fits W (C, K) and b (K,) by minimising the L2-regularised cross-entropy::

    L(W, b) = -(1/N) sum_n log softmax(x_n W + b)[y_n] + (l2 / 2) |W|^2,

a convex problem, with SciPy's L-BFGS and the analytic gradient::

    dL/dW = x^T (P - Y) / N + l2 W,    dL/db = sum_n (P - Y)_n / N,

where P holds the softmax probabilities and Y the one-hot labels (the same "prediction
minus truth" as chapter 1's cross-entropy backward; ``tests/probes`` checks it against
finite differences). A *linear* probe is the point: if a linear read-out finds the
property, the representation makes it explicit; a deep probe could compute the property
itself (Alain and Bengio 2016; Hewitt and Liang 2019).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from dlbook._validate import as_float_array, check_labels
from dlbook.nn.numpy_backend import log_softmax, one_hot, softmax


@dataclass(frozen=True)
class LinearProbe:
    """A fitted probe: standardise with (mean, std), then logits = x W + b."""

    W: np.ndarray  # (C, K) weights on the standardised features
    b: np.ndarray  # (K,) biases
    mean: np.ndarray  # (C,) training-feature means
    std: np.ndarray  # (C,) training-feature standard deviations (never 0)

    def logits(self, features: np.ndarray) -> np.ndarray:
        """(N, C) features -> (N, K) logits."""
        x = _features(features, "features")
        if x.shape[1] != self.W.shape[0]:
            raise ValueError(f"features must have {self.W.shape[0]} columns, got {x.shape[1]}.")
        return ((x - self.mean) / self.std) @ self.W + self.b  # (N, K)

    def predict(self, features: np.ndarray) -> np.ndarray:
        """The most likely class of each row, (N,)."""
        return self.logits(features).argmax(axis=1)

    def accuracy(self, features: np.ndarray, labels: np.ndarray) -> float:
        """Fraction of rows whose predicted class equals the label."""
        return float(np.mean(self.predict(features) == np.asarray(labels)))


def _features(features: np.ndarray, name: str) -> np.ndarray:
    x = as_float_array(features, name).astype(np.float64, copy=False)
    if x.ndim != 2 or len(x) == 0:
        raise ValueError(f"{name} must have shape (N, C), one row per example; got {x.shape}.")
    return x


def probe_loss_and_grad(
    params: np.ndarray, x: np.ndarray, y: np.ndarray, n_classes: int, l2: float
) -> tuple[float, np.ndarray]:
    """Regularised cross-entropy of the flat ``params`` = [W.ravel(), b] and its gradient."""
    N, C = x.shape
    W, b = params[: C * n_classes].reshape(C, n_classes), params[C * n_classes :]
    logits = x @ W + b  # (N, K)
    loss = -np.mean(log_softmax(logits, axis=1)[np.arange(N), y]) + 0.5 * l2 * np.sum(W * W)
    g = (softmax(logits, axis=1) - one_hot(y, n_classes)) / N  # (N, K): prediction - truth
    return float(loss), np.concatenate([(x.T @ g + l2 * W).ravel(), g.sum(axis=0)])


def fit_linear_probe(
    features: np.ndarray,
    labels: np.ndarray,
    n_classes: int,
    *,
    l2: float = 1e-3,
    max_iter: int = 500,
) -> LinearProbe:
    """Fit multinomial logistic regression on (N, C) features by L-BFGS; deterministic."""
    x = _features(features, "features")
    y = check_labels(labels, len(x), n_classes)
    if not l2 >= 0:
        raise ValueError(f"l2 must be >= 0, got {l2!r}.")
    mean, std = x.mean(axis=0), x.std(axis=0)
    std = np.where(std > 1e-12, std, 1.0)  # a constant feature is left unscaled
    z = (x - mean) / std  # (N, C)
    start = np.zeros(x.shape[1] * n_classes + n_classes)
    result = minimize(
        probe_loss_and_grad,
        start,
        args=(z, y, n_classes, l2),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": max_iter},
    )
    C = x.shape[1]
    W, b = result.x[: C * n_classes].reshape(C, n_classes), result.x[C * n_classes :]
    return LinearProbe(W=W, b=b, mean=mean, std=std)


def probe_accuracy_by_layer(
    train_features: np.ndarray,
    train_labels: np.ndarray,
    test_features: np.ndarray,
    test_labels: np.ndarray,
    n_classes: int,
    *,
    l2: float = 1e-3,
) -> np.ndarray:
    """Fit one probe per layer on (L, N, C) training features; test accuracy per layer (L,)."""
    if np.ndim(train_features) != 3 or np.ndim(test_features) != 3:
        raise ValueError(
            "train_features and test_features must have shape (L, N, C): one (N, C) "
            "matrix of features per layer."
        )
    return np.array(
        [
            fit_linear_probe(tr, train_labels, n_classes, l2=l2).accuracy(te, test_labels)
            for tr, te in zip(train_features, test_features, strict=True)
        ]
    )


__all__ = ["LinearProbe", "fit_linear_probe", "probe_accuracy_by_layer", "probe_loss_and_grad"]
