r"""Optimizers, learning-rate schedules and gradient clipping (chapters 1 and 2).

Pick a backend module; all three export the same names::

    from dlbook.optim import numpy_backend as optim_np       # from scratch, NumPy arrays
    from dlbook.optim import torch_backend as optim_torch    # torch.optim.*
    from dlbook.optim import tensorflow_backend as optim_tf  # keras.optimizers.*

Shared API:

=======================================  ============================================
``make(name, params, **hparams)``        an optimizer over ``params`` by name, with
                                         torch's hyper-parameter names and defaults
``apply(optimizer, params, grads)``      one update from a list of gradients
=======================================  ============================================

Names (:data:`OPTIMIZERS`): ``"sgd"``, ``"momentum"`` (SGD with momentum 0.9
unless given), ``"nesterov"`` (the same with Nesterov's look-ahead),
``"adagrad"``, ``"rmsprop"``, ``"adam"``, ``"adamw"``.

**The updates** of a weight :math:`w` with gradient :math:`g_t` at step t, learning
rate :math:`\eta` (torch's forms; :math:`\lambda` is weight decay):

.. math::

    \text{momentum:}\quad v_t = \mu v_{t-1} + g_t, \qquad w_t = w_{t-1} - \eta\, v_t

.. math::

    \text{Adam:}\quad m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad
    v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2,

.. math::

    w_t = w_{t-1} - \eta\, \frac{m_t / (1 - \beta_1^t)}{\sqrt{v_t / (1 - \beta_2^t)} + \epsilon}.

AdamW subtracts :math:`\eta \lambda w_{t-1}` from the weight itself (decoupled
decay); Adam with ``weight_decay`` adds :math:`\lambda w_{t-1}` to :math:`g_t`
instead (L2), so the decay is rescaled by Adam's denominator.

The from-scratch classes in :mod:`dlbook.optim.numpy_backend` are the
specification: their signatures give every backend its hyper-parameter names and
defaults (torch's), and :func:`check_hparams` validates them once for all three.
:mod:`dlbook.optim.schedules` and :mod:`dlbook.optim.clipping` are pure NumPy and
work with any backend's optimizer.
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Sequence
from typing import Any

# name -> (class in numpy_backend, preset hyper-parameters the user may override)
PRESETS: dict[str, tuple[str, dict[str, Any]]] = {
    "sgd": ("SGD", {}),
    "momentum": ("SGD", {"momentum": 0.9}),
    "nesterov": ("SGD", {"momentum": 0.9, "nesterov": True}),
    "adagrad": ("Adagrad", {}),
    "rmsprop": ("RMSprop", {}),
    "adam": ("Adam", {}),
    "adamw": ("AdamW", {}),
}
OPTIMIZERS: tuple[str, ...] = tuple(PRESETS)

# Keras / paper spellings a learner may type, and the torch name dlbook uses instead
_RENAMES = {
    "learning_rate": "lr",
    "beta_1": "betas",
    "beta_2": "betas",
    "epsilon": "eps",
    "rho": "alpha",
    "decay": "weight_decay",
}


def _number(value: Any, name: str) -> float:
    """``float(value)``, refusing what is not a number (NaN passes and fails the range checks)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number, got {value!r}.")
    return float(value)


def _in_range(h: dict[str, Any], name: str, low: float, high: float, closed: bool) -> None:
    """Check ``low <= h[name] < high`` (``<= high`` when ``closed``), if ``name`` is given."""
    if name not in h:
        return
    v = _number(h[name], name)
    if not (low <= v <= high if closed else low <= v < high):
        bracket = "]" if closed else ")"
        raise ValueError(f"{name} must lie in [{low:g}, {high:g}{bracket}, got {h[name]!r}.")


def check_hparams(h: dict[str, Any]) -> None:
    """Validate optimizer hyper-parameters (torch names), explaining what is wrong."""
    if "lr" in h and not (_number(h["lr"], "lr") > 0 and math.isfinite(h["lr"])):
        raise ValueError(
            f"lr must be positive, got {h['lr']!r}: it is the size of each step along -grad."
        )
    if "eps" in h and not _number(h["eps"], "eps") > 0:
        raise ValueError(
            f"eps must be positive, got {h['eps']!r}: it keeps the division away from zero."
        )
    for name in ("weight_decay", "lr_decay", "initial_accumulator_value"):
        if name in h and not _number(h[name], name) >= 0:
            raise ValueError(f"{name} must be >= 0, got {h[name]!r}.")
    _in_range(h, "momentum", 0.0, 1.0, closed=False)
    _in_range(h, "alpha", 0.0, 1.0, closed=False)
    _in_range(h, "dampening", 0.0, 1.0, closed=True)
    if "betas" in h:
        betas = h["betas"]
        ok = isinstance(betas, Sequence) and len(betas) == 2
        if not ok or not all(0 <= _number(b, "betas") < 1 for b in betas):
            raise ValueError(
                f"betas must be two numbers in [0, 1), like (0.9, 0.999): the decay rates of "
                f"the first and second moment averages; got {betas!r}."
            )
    if h.get("nesterov") and (h.get("momentum", 0) <= 0 or h.get("dampening", 0) != 0):
        raise ValueError(
            "Nesterov momentum needs momentum > 0 and dampening = 0 (as in torch.optim.SGD); "
            f"got momentum={h.get('momentum', 0)!r}, dampening={h.get('dampening', 0)!r}."
        )
    if h.get("eps_placement", "torch") not in ("torch", "keras"):
        raise ValueError(f"eps_placement must be 'torch' or 'keras', got {h['eps_placement']!r}.")


def check_grads(shapes: Sequence[tuple[int, ...]], grads: Sequence[Any]) -> None:
    """One gradient per parameter, each of its parameter's shape (``shapes``)."""
    if len(grads) != len(shapes):
        raise ValueError(
            f"Expected {len(shapes)} gradients, got {len(grads)}: pass one gradient per "
            "parameter, in the order of the parameters."
        )
    for i, (shape, g) in enumerate(zip(shapes, grads, strict=True)):
        got = tuple(getattr(g, "shape", ()))
        if got != tuple(shape):
            raise ValueError(
                f"Gradient {i} has shape {got} but its parameter has shape {tuple(shape)}; "
                "did you pass the gradients in the order of the parameters?"
            )


def resolve(name: str, hparams: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Class name and full, checked hyper-parameters for optimizer ``name``.

    Starts from the defaults of the from-scratch class (torch's), applies the
    preset (``"momentum"`` sets momentum=0.9), then the caller's ``hparams``.
    """
    from dlbook.optim import numpy_backend

    key = name.lower() if isinstance(name, str) else name
    if key not in PRESETS:
        raise ValueError(f"Unknown optimizer {name!r}. Choose one of {', '.join(OPTIMIZERS)}.")
    cls_name, preset = PRESETS[key]
    signature = inspect.signature(getattr(numpy_backend, cls_name))
    defaults = {p.name: p.default for p in signature.parameters.values() if p.name != "params"}
    unknown = [k for k in hparams if k not in defaults]
    if unknown:
        hints = [
            f"{k!r} (did you mean {_RENAMES[k]!r}?)" if k in _RENAMES else repr(k) for k in unknown
        ]
        raise TypeError(
            f"{key} has no hyper-parameter {', '.join(hints)}; it takes "
            f"{', '.join(defaults)} (torch.optim's names)."
        )
    full = {**defaults, **preset, **hparams}
    if full.get("lr") is inspect.Parameter.empty:
        raise TypeError(f"{key} needs a learning rate: make({key!r}, params, lr=0.1).")
    check_hparams(full)
    return cls_name, full


# The names every backend module of this concept exports, with the same parameters
# (a backend may add trailing optional ones); tests/test_shared_api.py checks it.
SHARED_API = (
    "make",
    "apply",
)

__all__ = ["SHARED_API", "OPTIMIZERS", "PRESETS", "check_grads", "check_hparams", "resolve"]
