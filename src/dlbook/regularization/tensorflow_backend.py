"""Dropout and weight penalties on TensorFlow: the API of ``numpy_backend``, with GradientTape.

Shape legend: ``x`` and ``mask`` share any shape, e.g. (B, D) with B = batch
size and D = features; ``weights`` is a dict or list of tensors / variables.

There are no ``*_backward`` or ``*_grad`` functions here: ``tf.GradientTape``
differentiates ``y = x * mask / (1 - p)`` and the penalties, and
``tests/regularization`` checks that it agrees with the NumPy backend.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlbook._lazy import import_tensorflow
from dlbook._tf import as_tensor, is_tensor
from dlbook.regularization import check_lam, check_mask, check_p, weight_list

tf = import_tensorflow()


# ---------------------------------------------------------------------------
# Inverted dropout: y = x * mask / (1 - p), mask_i ~ Bernoulli(1 - p)
# ---------------------------------------------------------------------------


def dropout(
    x: Any,
    p: float,
    rng: np.random.Generator | None = None,
    training: bool = True,
    mask: Any = None,
) -> tuple[tf.Tensor, tf.Tensor | None]:
    """Inverted dropout: return ``(y, mask)`` with ``y = x * mask / (1 - p)`` while training.

    The mask is ``mask`` if given, else drawn by the NumPy ``rng`` exactly as in
    the NumPy backend. With neither, this is ``tf.nn.dropout(x, rate=p)`` (TF's
    global seed; the mask stays inside TF and ``None`` is returned for it).
    In evaluation mode ``y = x`` and ``mask = None``.
    """
    x = as_tensor(x, "x")
    p = check_p(p)
    if not training:
        return x, None
    if mask is None and rng is None:
        return tf.nn.dropout(x, rate=p), None  # TF's own: x / (1-p) where kept, else 0
    if mask is None:
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator or None, got {rng!r}.")
        mask = rng.random(tuple(x.shape)) >= p  # the NumPy backend's draw
    m = mask.numpy() if is_tensor(mask) else mask
    keep = tf.constant(check_mask(m, tuple(x.shape)))
    scale = 1.0 / (1.0 - p)
    return x * tf.cast(keep, x.dtype) * scale, keep


class Dropout(tf.Module):
    """Inverted dropout as a ``tf.Module``; ``.train()`` / ``.eval()`` set the mode.

    Keras layers take ``training=`` on every call instead; both work here.
    """

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = check_p(p)
        self.training = True

    def train(self, mode: bool = True) -> Dropout:
        self.training = bool(mode)
        return self

    def eval(self) -> Dropout:
        return self.train(False)

    def __call__(
        self,
        x: Any,
        rng: np.random.Generator | None = None,
        training: bool | None = None,
        mask: Any = None,
    ) -> tf.Tensor:
        """``training=None`` follows the layer's mode (``.train()`` / ``.eval()``)."""
        training = self.training if training is None else training
        y, _ = dropout(x, self.p, rng, training, mask)
        return y

    forward = __call__


# ---------------------------------------------------------------------------
# Weight penalties: 0-d tensors, so the tape can differentiate them
# ---------------------------------------------------------------------------


def _tensors(weights: Any) -> list[tf.Tensor]:
    """The weights as tensors of one dtype (float64 if any is), as ``tf.add_n`` requires."""
    ts = [as_tensor(w, "each weight") for w in weight_list(weights)]
    dtype = tf.float64 if any(t.dtype == tf.float64 for t in ts) else ts[0].dtype
    return [t if t.dtype == dtype else tf.cast(t, dtype) for t in ts]


def l2_penalty(weights: Any, lam: float) -> tf.Tensor:
    """R = lam / 2 * sum over tensors w of sum_i w_i^2; its gradient is ``lam * w``."""
    lam = check_lam(lam)
    return 0.5 * lam * tf.add_n([tf.reduce_sum(w * w) for w in _tensors(weights)])


def l1_penalty(weights: Any, lam: float) -> tf.Tensor:
    """R = lam * sum over tensors w of sum_i abs(w_i); the tape takes sign(0) = 0."""
    lam = check_lam(lam)
    return lam * tf.add_n([tf.reduce_sum(tf.abs(w)) for w in _tensors(weights)])
