"""Dropout and weight penalties from scratch in NumPy, each forward next to its backward.

Shape legend: ``x`` and ``mask`` share any shape, e.g. (B, D) with B = batch
size and D = features; ``weights`` is a dict or list of arrays of any shapes.

Every backward function takes ``grad_out = dL/d(output)`` (or nothing, for a
penalty, which is itself a term of the loss) and returns the gradient with
respect to the input. ``tests/regularization`` checks each by finite differences.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlbook._validate import as_float_array
from dlbook.regularization import check_lam, check_mask, check_p, weight_list

# ---------------------------------------------------------------------------
# Inverted dropout: y = x * mask / (1 - p), mask_i ~ Bernoulli(1 - p)
# ---------------------------------------------------------------------------


def _draw_mask(shape: tuple[int, ...], p: float, rng: Any) -> np.ndarray:
    """Keep each unit with probability 1 - p: ``rng.random(shape) >= p``, as every backend."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            "dropout in training mode needs rng=np.random.default_rng(seed) (or an explicit "
            f"mask) to decide which units to drop; got rng={rng!r}."
        )
    return rng.random(shape) >= p  # (same shape as x), True = keep


def dropout(
    x: np.ndarray,
    p: float,
    rng: np.random.Generator | None = None,
    training: bool = True,
    mask: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Inverted dropout: return ``(y, mask)`` with ``y = x * mask / (1 - p)`` while training.

    Each unit is kept with probability ``1 - p`` (``mask = 1``) and zeroed
    otherwise. Dividing the survivors by ``1 - p`` keeps the expectation:
    ``E[y] = (1 - p) * x / (1 - p) = x``, so at evaluation time dropout is simply
    the identity (``y = x``, ``mask = None``) and nothing needs rescaling there.
    The mask comes from ``mask`` if given (0/1 or booleans, shape of ``x``),
    otherwise from ``rng``.
    """
    x = as_float_array(x, "x")
    p = check_p(p)
    if not training:
        return x, None
    if mask is not None:
        keep = check_mask(mask, x.shape)
    elif p == 0.0:
        keep = np.ones(x.shape, dtype=bool)  # nothing to drop: no randomness needed
    else:
        keep = _draw_mask(x.shape, p, rng)
    scale = 1.0 / (1.0 - p)
    return x * keep * scale, keep


def dropout_backward(grad_out: np.ndarray, mask: np.ndarray | None, p: float) -> np.ndarray:
    """dL/dx = dL/dy * mask / (1 - p): dropped units get no gradient, kept ones the same scale.

    ``mask=None`` (what :func:`dropout` returns in evaluation mode) means the
    identity, whose backward is ``dL/dx = dL/dy``.
    """
    grad_out = as_float_array(grad_out, "grad_out")
    p = check_p(p)
    if mask is None:
        return grad_out
    keep = check_mask(mask, grad_out.shape)
    return grad_out * keep * (1.0 / (1.0 - p))


class Dropout:
    """Inverted dropout as a layer, with explicit ``forward`` and ``backward``.

    Like ``torch.nn.Dropout`` it starts in training mode; ``.eval()`` turns it
    into the identity and ``.train()`` back. ``forward(x, rng)`` draws a fresh
    mask each call and caches it for ``backward``.
    """

    def __init__(self, p: float) -> None:
        self.p = check_p(p)
        self.training = True
        self._mask: np.ndarray | None = None
        self._called = False

    def train(self, mode: bool = True) -> Dropout:
        self.training = bool(mode)
        return self

    def eval(self) -> Dropout:
        return self.train(False)

    def forward(
        self,
        x: np.ndarray,
        rng: np.random.Generator | None = None,
        training: bool | None = None,
        mask: np.ndarray | None = None,
    ) -> np.ndarray:
        """``training=None`` follows the layer's mode (``.train()`` / ``.eval()``)."""
        training = self.training if training is None else training
        y, self._mask = dropout(x, self.p, rng, training, mask)
        self._called = True
        return y

    __call__ = forward

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        if not self._called:
            raise RuntimeError("Call forward before backward: backward needs the dropout mask.")
        return dropout_backward(grad_out, self._mask, self.p)


# ---------------------------------------------------------------------------
# Weight penalties: a term added to the loss, and its gradient
# ---------------------------------------------------------------------------


def _arrays(weights: Any) -> list[np.ndarray]:
    return [as_float_array(w, "each weight") for w in weight_list(weights)]


def _like(weights: Any, grads: list[np.ndarray]) -> Any:
    """Return ``grads`` in the container type of ``weights`` (dict keys kept)."""
    if isinstance(weights, dict):
        return dict(zip(weights.keys(), grads, strict=True))
    return grads


def l2_penalty(weights: Any, lam: float) -> float:
    """R = lam / 2 * sum over arrays w of sum_i w_i^2  (weight decay, "ridge").

    The 1/2 makes the gradient ``lam * w``, the ``weight_decay`` of
    ``torch.optim.SGD``. Pass only the ``W``'s if biases should go unpenalised:
    ``{k: w for k, w in weights.items() if k.startswith("W")}``.
    """
    lam = check_lam(lam)
    return float(0.5 * lam * sum(np.sum(w * w) for w in _arrays(weights)))


def l2_penalty_grad(weights: Any, lam: float) -> Any:
    """dR/dw = lam * w for every array, in the same container (dict or list) as ``weights``."""
    lam = check_lam(lam)
    return _like(weights, [lam * w for w in _arrays(weights)])


def l1_penalty(weights: Any, lam: float) -> float:
    """R = lam * sum over arrays w of sum_i abs(w_i)  ("lasso": drives weights to exactly 0)."""
    lam = check_lam(lam)
    return float(lam * sum(np.sum(np.abs(w)) for w in _arrays(weights)))


def l1_penalty_grad(weights: Any, lam: float) -> Any:
    """dR/dw = lam * sign(w), taking the subgradient 0 at w = 0 (as torch and TF do)."""
    lam = check_lam(lam)
    return _like(weights, [lam * np.sign(w) for w in _arrays(weights)])
