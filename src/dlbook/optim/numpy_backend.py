"""From-scratch optimizers that update NumPy arrays in place."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class SGD:
    """Stochastic gradient descent with heavy-ball momentum, as ``torch.optim.SGD`` defines it.

    For each parameter w with gradient g, at every step:

        g <- g + lambda w            (weight_decay = lambda, coupled L2)
        v <- mu v + g                (momentum = mu; v starts as g on the first step)
        w <- w - lr v
    """

    def __init__(
        self,
        params: Sequence[np.ndarray],
        lr: float,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
    ) -> None:
        if not lr > 0:
            raise ValueError(f"lr must be positive, got {lr!r}.")
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must lie in [0, 1), got {momentum!r}.")
        self.params = list(params)
        self.lr, self.momentum, self.weight_decay = lr, momentum, weight_decay
        self.velocity: list[np.ndarray | None] = [None] * len(self.params)

    def step(self, grads: Sequence[np.ndarray]) -> None:
        """Update every parameter in place from its gradient."""
        if len(grads) != len(self.params):
            raise ValueError(f"Expected {len(self.params)} gradients, got {len(grads)}.")
        for i, (w, g) in enumerate(zip(self.params, grads, strict=True)):
            if self.weight_decay:
                g = g + self.weight_decay * w
            if self.momentum:
                v = self.velocity[i]
                self.velocity[i] = g.copy() if v is None else self.momentum * v + g
                g = self.velocity[i]
            w -= self.lr * g
