"""The optimizers of :mod:`dlbook.optim.numpy_backend`, as ``torch.optim`` builds them.

The names and defaults are torch's own, so the translation is one to one:

=============  ==========================================================
``"sgd"``      ``torch.optim.SGD`` (``"momentum"``: momentum=0.9;
               ``"nesterov"``: momentum=0.9, nesterov=True)
``"adagrad"``  ``torch.optim.Adagrad``
``"rmsprop"``  ``torch.optim.RMSprop``
``"adam"``     ``torch.optim.Adam``
``"adamw"``    ``torch.optim.AdamW``
=============  ==========================================================

torch keeps ``lr`` and every hyper-parameter as a Python float (float64), so
float64 parameters follow the NumPy optimizers to the last few bits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dlbook._lazy import import_torch
from dlbook.optim import check_grads, resolve

torch = import_torch()


def make(name: str, params: Sequence[Any], **hparams: Any) -> torch.optim.Optimizer:
    """``torch.optim.<Class>(params, **hparams)`` by dlbook name, torch's defaults.

    ``eps_placement`` may only be ``"torch"`` here: torch adds eps after the bias
    correction (see :class:`dlbook.optim.numpy_backend.Adam`).
    """
    if hparams.get("eps_placement", "torch") != "torch":
        raise ValueError(
            "torch.optim adds eps after the bias correction (eps_placement='torch'); "
            "the Keras placement exists in the numpy and tensorflow backends only."
        )
    cls_name, full = resolve(name, hparams)
    full.pop("eps_placement", None)
    return getattr(torch.optim, cls_name)(list(params), **full)


def apply(optimizer: torch.optim.Optimizer, params: Sequence[Any], grads: Sequence[Any]) -> None:
    """Set ``p.grad`` from ``grads`` (tensors or arrays, copied) and take one step."""
    params = list(params)
    check_grads([tuple(p.shape) for p in params], grads)
    for p, g in zip(params, grads, strict=True):
        p.grad = torch.as_tensor(g, dtype=p.dtype, device=p.device).clone()
    optimizer.step()
