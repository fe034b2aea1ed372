"""From-scratch optimizers that update NumPy arrays in place, step for step like ``torch.optim``.

Notation for every update below: ``w`` a parameter, ``g`` its gradient, ``t``
the step number (1 on the first step), ``lr`` the learning rate, ``lambda``
the ``weight_decay``. All arithmetic is elementwise.

Every optimizer takes the list of parameters once and then, at each step, one
gradient per parameter, in the same order::

    opt = Adam([W, b], lr=1e-3)
    opt.step([dW, db])            # W and b change in place
    opt.state[0]["exp_avg"]       # the running mean of dW
    opt.lr = 5e-4                 # a schedule may change lr between steps

``state[i]`` uses the keys of ``torch.optim``'s per-parameter state, so the two
can be compared entry by entry. ``tests/optim`` checks every optimizer against
``torch.optim`` (and Keras) for 100 steps in float64.

Weight decay in every optimizer but AdamW is *coupled* L2, as in torch: the
gradient of ``lambda/2 |w|^2`` is added to ``g`` before anything else.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from dlbook.optim import check_grads, check_hparams, resolve


class Optimizer:
    """What every optimizer shares: parameters, ``lr``, per-parameter ``state``, ``step_count``.

    A subclass stores its hyper-parameters through ``super().__init__`` (which
    checks them), fills each parameter's state in :meth:`_init_state`, and
    writes its update rule in :meth:`_update`.
    """

    lr: float  # learning rate: public, a schedule may change it between steps
    weight_decay: float  # lambda; coupled L2 except in AdamW

    def __init__(self, params: Sequence[np.ndarray], **hparams: Any) -> None:
        check_hparams(hparams)
        self.params = _check_params(params)
        for name, value in hparams.items():
            setattr(self, name, value)
        self.state: list[dict[str, Any]] = [self._init_state(w) for w in self.params]
        self.step_count = 0  # t: number of steps taken

    def _init_state(self, w: np.ndarray) -> dict[str, Any]:
        return {}

    def _decay(self, w: np.ndarray, g: np.ndarray) -> np.ndarray:
        """Coupled L2 weight decay: g <- g + lambda w (torch's ``weight_decay``)."""
        return g + self.weight_decay * w if self.weight_decay else g

    def step(self, grads: Sequence[np.ndarray]) -> None:
        """Update every parameter in place from its gradient."""
        check_grads([w.shape for w in self.params], grads)
        self.step_count += 1
        for w, g, state in zip(self.params, grads, self.state, strict=True):
            self._update(w, self._decay(w, np.asarray(g, dtype=w.dtype)), state)

    def _update(self, w: np.ndarray, g: np.ndarray, state: dict[str, Any]) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        hparams = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if k not in _NOT_HPARAMS)
        return f"{type(self).__name__}({len(self.params)} parameters, {hparams})"


_NOT_HPARAMS = ("params", "state", "step_count")


def _check_params(params: Sequence[np.ndarray]) -> list[np.ndarray]:
    params = list(params)
    for i, w in enumerate(params):
        if not isinstance(w, np.ndarray) or not np.issubdtype(w.dtype, np.floating):
            got = f"{type(w).__name__} of dtype {getattr(w, 'dtype', None)}"
            raise TypeError(
                f"Parameter {i} must be a floating-point NumPy array, which the optimizer "
                f"updates in place; got {got}."
            )
    return params


class SGD(Optimizer):
    """Stochastic gradient descent with momentum, as ``torch.optim.SGD`` defines it::

        g <- g + lambda w                      coupled L2 (weight_decay)
        b <- mu b + (1 - tau) g                momentum mu, dampening tau; b = g at t = 1
        g <- g + mu b   if nesterov  else  b   Nesterov looks ahead along b
        w <- w - lr g

    With ``momentum=0`` this is plain SGD. Keras writes heavy-ball momentum as
    ``v <- mu v - lr g; w <- w + v``: with a constant lr its ``v`` is exactly
    ``-lr b``, the same path.
    """

    def __init__(
        self,
        params: Sequence[np.ndarray],
        lr: float,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        super().__init__(
            params,
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
        )

    def _init_state(self, w: np.ndarray) -> dict[str, Any]:
        return {"momentum_buffer": None}  # b, created from the first gradient

    def _update(self, w: np.ndarray, g: np.ndarray, state: dict[str, Any]) -> None:
        if self.momentum:
            b = state["momentum_buffer"]
            if b is None:
                b = state["momentum_buffer"] = g.copy()  # torch: no dampening on step 1
            else:
                b *= self.momentum
                b += (1 - self.dampening) * g
            g = g + self.momentum * b if self.nesterov else b
        w -= self.lr * g


class Adagrad(Optimizer):
    """AdaGrad, as ``torch.optim.Adagrad``: each coordinate's step shrinks with its history::

        g <- g + lambda w
        s <- s + g^2                           s starts at initial_accumulator_value
        lr_t = lr / (1 + (t - 1) lr_decay)
        w <- w - lr_t g / (sqrt(s) + eps)      eps_placement="torch"
        w <- w - lr_t g / sqrt(s + eps)        eps_placement="keras"

    Keras puts eps inside the square root, and defaults to s_0 = 0.1 and
    eps = 1e-7 where torch has 0 and 1e-10.
    """

    def __init__(
        self,
        params: Sequence[np.ndarray],
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        eps_placement: str = "torch",
    ) -> None:
        super().__init__(
            params,
            lr=lr,
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            eps=eps,
            eps_placement=eps_placement,
        )

    def _init_state(self, w: np.ndarray) -> dict[str, Any]:
        return {"sum": np.full_like(w, self.initial_accumulator_value)}  # s

    def _update(self, w: np.ndarray, g: np.ndarray, state: dict[str, Any]) -> None:
        s = state["sum"]
        s += g * g
        lr_t = self.lr / (1 + (self.step_count - 1) * self.lr_decay)
        w -= lr_t * (g / _denominator(s, self.eps, self.eps_placement))


def _denominator(v: np.ndarray, eps: float, placement: str) -> np.ndarray:
    """sqrt(v) + eps (torch) or sqrt(v + eps) (Keras's Adagrad and RMSprop)."""
    return np.sqrt(v) + eps if placement == "torch" else np.sqrt(v + eps)


class RMSprop(Optimizer):
    """RMSprop, as ``torch.optim.RMSprop``: divide by a running RMS of the gradient::

        g <- g + lambda w
        v <- alpha v + (1 - alpha) g^2         v = 0 at t = 0
        a <- alpha a + (1 - alpha) g           centered only: running mean of g
        d = sqrt(v - a^2) + eps                (v instead of v - a^2 unless centered)
        b <- mu b + g / d;   w <- w - lr b     with momentum mu > 0 (b = 0 at t = 0)
        w <- w - lr g / d                      otherwise

    ``eps_placement="keras"`` uses ``d = sqrt(v - a^2 + eps)``, Keras's
    convention. Keras's ``rho`` is torch's ``alpha``; its momentum buffer holds
    ``lr b``, the same path while lr is constant.
    """

    def __init__(
        self,
        params: Sequence[np.ndarray],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        eps_placement: str = "torch",
    ) -> None:
        super().__init__(
            params,
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
            eps_placement=eps_placement,
        )

    def _init_state(self, w: np.ndarray) -> dict[str, Any]:
        state = {"square_avg": np.zeros_like(w)}  # v
        if self.centered:
            state["grad_avg"] = np.zeros_like(w)  # a
        if self.momentum:
            state["momentum_buffer"] = np.zeros_like(w)  # b
        return state

    def _update(self, w: np.ndarray, g: np.ndarray, state: dict[str, Any]) -> None:
        v = state["square_avg"]
        v *= self.alpha
        v += (1 - self.alpha) * g * g
        if self.centered:
            a = state["grad_avg"]
            a += (1 - self.alpha) * (g - a)  # = alpha a + (1 - alpha) g
            v = v - a * a
        step = g / _denominator(v, self.eps, self.eps_placement)
        if self.momentum:
            b = state["momentum_buffer"]
            b *= self.momentum
            b += step
            step = b
        w -= self.lr * step


class Adam(Optimizer):
    """Adam, as ``torch.optim.Adam``: momentum on g, divided by the RMS of g, bias-corrected::

        g <- g + lambda w                      coupled L2 (for decoupled decay: AdamW)
        m <- beta1 m + (1 - beta1) g           m = v = 0 at t = 0
        v <- beta2 v + (1 - beta2) g^2
        v_max <- max(v_max, v); use v_max for v   amsgrad only
        c1 = 1 - beta1^t,   c2 = 1 - beta2^t   the bias corrections

        torch  (eps_placement="torch"):  w <- w - (lr / c1) m / (sqrt(v) / sqrt(c2) + eps)
        Keras  (eps_placement="keras"):  w <- w - lr_t m / (sqrt(v) + eps),
                                         lr_t = lr sqrt(c2) / c1

    Without eps the two are the same. Keras adds eps to the *uncorrected*
    sqrt(v), the "epsilon hat" of the Adam paper: its eps acts like torch's
    ``eps / sqrt(c2)``, up to 1/sqrt(1 - beta2) ~ 32 times larger in the first
    steps. It matters when gradients are as small as eps.
    """

    def __init__(
        self,
        params: Sequence[np.ndarray],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        eps_placement: str = "torch",
    ) -> None:
        super().__init__(
            params,
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            eps_placement=eps_placement,
        )

    def _init_state(self, w: np.ndarray) -> dict[str, Any]:
        state = {"exp_avg": np.zeros_like(w), "exp_avg_sq": np.zeros_like(w)}  # m, v
        if self.amsgrad:
            state["max_exp_avg_sq"] = np.zeros_like(w)  # v_max
        return state

    def _update(self, w: np.ndarray, g: np.ndarray, state: dict[str, Any]) -> None:
        (beta1, beta2), t = self.betas, self.step_count
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m += (1 - beta1) * (g - m)  # = beta1 m + (1 - beta1) g  (torch's lerp)
        v *= beta2
        v += (1 - beta2) * g * g
        if self.amsgrad:
            v = np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
        c1, c2 = 1 - beta1**t, 1 - beta2**t
        if self.eps_placement == "torch":
            w -= (self.lr / c1) * (m / (np.sqrt(v) / np.sqrt(c2) + self.eps))
        else:
            w -= m * (self.lr * np.sqrt(c2) / c1) / (np.sqrt(v) + self.eps)


class AdamW(Adam):
    """AdamW, as ``torch.optim.AdamW``: Adam with *decoupled* weight decay::

        w <- w - lr lambda w                   shrink the weights first ...
        (then Adam's step, with g left alone)  ... and never touch m or v

    Why this is not Adam with L2: Adam's coupled decay adds ``lambda w`` to g,
    and Adam then divides g by sqrt(v). Weights with large, frequent gradients
    (large v) are therefore barely decayed, and the decay also leaks into the
    momentum m. AdamW shrinks every weight by the same factor ``1 - lr lambda``,
    which is what weight decay means for plain SGD (Loshchilov and Hutter, 2019).
    Keras applies ``weight_decay`` this way in *every* optimizer.
    """

    def __init__(
        self,
        params: Sequence[np.ndarray],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        eps_placement: str = "torch",
    ) -> None:
        super().__init__(
            params,
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            eps_placement=eps_placement,
        )

    def _decay(self, w: np.ndarray, g: np.ndarray) -> np.ndarray:
        if self.weight_decay:
            w *= 1 - self.lr * self.weight_decay  # decoupled: the weights, not the gradient
        return g


def make(name: str, params: Sequence[np.ndarray], **hparams: Any) -> Optimizer:
    """An optimizer by name (see :data:`dlbook.optim.OPTIMIZERS`), torch's hyper-parameters.

    ``make("momentum", params, lr=0.1)`` is ``SGD(params, lr=0.1, momentum=0.9)``.
    """
    cls_name, full = resolve(name, hparams)
    return globals()[cls_name](params, **full)


def apply(optimizer: Optimizer, params: Sequence[np.ndarray], grads: Sequence[Any]) -> None:
    """One update of ``params`` from ``grads`` (the optimizer already holds ``params``)."""
    if len(params) != len(optimizer.params) or any(
        p is not q for p, q in zip(params, optimizer.params, strict=True)
    ):
        raise ValueError("apply: params must be the arrays the optimizer was made with.")
    optimizer.step(grads)
