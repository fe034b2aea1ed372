"""What Keras' ``compile("adam", "sparse_categorical_crossentropy")`` and ``fit`` compute.

Shape legend: B = batch size, N = examples, D = input features, K = classes.

``fit`` hides a loop. Written with the book's from-scratch parts it is::

    for each epoch:
        for each batch (x_b, y_b) of consecutive rows (shuffle=False):
            loss = cross_entropy(mlp.forward(x_b), y_b)     # dlbook.nn.numpy_backend
            mlp.backward(softmax(logits) - onehot(y_b)) / B # the gradient of that loss
            adam.step(grads)                                 # dlbook.optim.numpy_backend

A ``Dense(K, activation="softmax")`` layer followed by sparse categorical
cross-entropy is the same function as logits followed by ``cross_entropy``:
Keras notices the softmax and computes the loss from the logits (as ``dlbook``
does), so nothing is clipped. Keras' Adam adds its ``epsilon = 1e-7`` to the
*uncorrected* ``sqrt(v)``; ``dlbook.optim`` calls that ``eps_placement="keras"``.
Two more details matter in float64, and :class:`KerasAdam` copies both: Keras
keeps the learning rate in a float32 variable, so 1e-3 is really
``float32(1e-3) = 0.0010000000475``; and its bias corrections ``1 - beta^t``
use beta rounded to float32 (``0.999`` becomes ``0.99900001287``), while the
moving averages use the exact beta. The second alone changes the first step by
6e-6 relative. ``tests/pipelines/test_keras_parity.py`` checks that Keras and
this module agree to 1e-12 in float64.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dlbook.nn import numpy_backend as nn_np
from dlbook.optim import numpy_backend as optim_np


class KerasAdam(optim_np.Adam):
    """``keras.optimizers.Adam`` on float64 weights, as the book's Adam with Keras' roundings.

    The update is :class:`dlbook.optim.numpy_backend.Adam` with
    ``eps_placement="keras"``, except that the bias corrections use
    ``b1 = float32(beta1)`` and ``b2 = float32(beta2)``::

        m <- m + (1 - beta1) (g - m);   v <- v + (1 - beta2) (g^2 - v)
        w <- w - m lr sqrt(1 - b2^t) / (1 - b1^t) / (sqrt(v) + eps)
    """

    def __init__(
        self, params: Sequence[np.ndarray], lr: float = 1e-3, epsilon: float = 1e-7
    ) -> None:
        lr32 = float(np.float32(lr))  # Keras keeps the learning rate in a float32 variable
        super().__init__(params, lr=lr32, eps=epsilon, eps_placement="keras")

    def _update(self, w: np.ndarray, g: np.ndarray, state: dict) -> None:
        (beta1, beta2), t = self.betas, self.step_count
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m += (g - m) * (1 - beta1)
        v += (g * g - v) * (1 - beta2)
        b1, b2 = float(np.float32(beta1)), float(np.float32(beta2))  # Keras' casts
        alpha = self.lr * np.sqrt(1 - b2**t) / (1 - b1**t)
        w -= m * alpha / (np.sqrt(v) + self.eps)


def fit_like_keras(
    weights: dict[str, np.ndarray],
    x: np.ndarray,
    y: np.ndarray,
    *,
    sizes: Sequence[int],
    batch_size: int = 32,
    epochs: int = 1,
    lr: float = 1e-3,
    epsilon: float = 1e-7,
    max_steps: int | None = None,
) -> tuple[dict[str, np.ndarray], list[float]]:
    """Train an MLP from ``weights`` the way ``fit(shuffle=False)`` does; float64 throughout.

    Returns the final weights (canonical layout ``{"W0": (D, H), "b0": (H,), ...}``)
    and the loss of every step, measured before that step's update.
    """
    mlp = nn_np.MLP(sizes, "relu", dtype="float64")
    mlp.set_weights({k: np.asarray(v, dtype=np.float64) for k, v in weights.items()})
    params = [layer.params[p] for layer in mlp.linears for p in ("W", "b")]
    adam = KerasAdam(params, lr=lr, epsilon=epsilon)
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y)
    losses: list[float] = []
    for _ in range(epochs):
        for start in range(0, len(x), batch_size):
            if max_steps is not None and len(losses) >= max_steps:
                return mlp.get_weights(), losses
            xb, yb = x[start : start + batch_size], y[start : start + batch_size]  # (B, D), (B,)
            losses.append(nn_np.train_step(mlp, adam, xb, yb))
    return mlp.get_weights(), losses
