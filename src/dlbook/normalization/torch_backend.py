"""Layer and batch normalisation on PyTorch: the API of ``numpy_backend``, with autograd.

Shape legend: ``x`` is (..., C), e.g. (B, C) or (B, T, C); ``gamma``, ``beta`` are (C,).

:func:`layer_norm` is ``torch.nn.functional.layer_norm`` (fused, fast);
:func:`layer_norm_explicit` writes the same formula out, and
``tests/normalization`` shows that the two agree with the NumPy backend.
:class:`LayerNorm` *is* a ``torch.nn.LayerNorm`` (parameters ``weight`` = gamma
and ``bias`` = beta) with the book's constructor; :class:`BatchNorm` is torch's
batch norm (``BatchNorm1d`` and ``BatchNorm2d`` share one base class) likewise.

**Device.** Arrays are converted to tensors on :func:`dlbook.device.get_device`;
tensors stay where they are.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlbook._lazy import import_torch
from dlbook._torch import as_tensor, torch_dtype
from dlbook.device import get_device
from dlbook.normalization import (
    DEFAULT_EPS,
    DEFAULT_MOMENTUM,
    check_batch_norm_shapes,
    check_batch_size,
    check_dim,
    check_eps,
    check_layer_input,
    check_layer_norm_shapes,
    check_momentum,
    check_num_features,
)

torch = import_torch()
F = torch.nn.functional


def _inputs(x: Any, gamma: Any, beta: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """x, gamma, beta as tensors of one dtype on x's device, shapes checked."""
    x = as_tensor(x, "x")
    gamma, beta = (
        as_tensor(gamma, "gamma", device=x.device),
        as_tensor(beta, "beta", device=x.device),
    )
    check_layer_norm_shapes(tuple(x.shape), tuple(gamma.shape), tuple(beta.shape))
    dtype = torch.promote_types(torch.promote_types(x.dtype, gamma.dtype), beta.dtype)
    return x.to(dtype), gamma.to(dtype), beta.to(dtype)


def layer_norm(x: Any, gamma: Any, beta: Any, eps: float = DEFAULT_EPS) -> torch.Tensor:
    """y = gamma * (x - mu) / sqrt(var + eps) + beta over the last axis (``F.layer_norm``)."""
    x, gamma, beta = _inputs(x, gamma, beta)
    C = x.shape[-1]
    return F.layer_norm(x, (C,), gamma, beta, check_eps(eps))  # (..., C)


def layer_norm_explicit(x: Any, gamma: Any, beta: Any, eps: float = DEFAULT_EPS) -> torch.Tensor:
    """The same, written out: what ``F.layer_norm`` computes in one fused kernel."""
    x, gamma, beta = _inputs(x, gamma, beta)
    mu = x.mean(dim=-1, keepdim=True)  # (..., 1)
    var = ((x - mu) ** 2).mean(dim=-1, keepdim=True)  # (..., 1), biased
    return gamma * (x - mu) / torch.sqrt(var + check_eps(eps)) + beta  # (..., C)


class LayerNorm(torch.nn.LayerNorm):
    """``torch.nn.LayerNorm(dim, eps)`` with the book's constructor and weight dicts.

    ``weight`` is gamma (ones) and ``bias`` is beta (zeros); no random numbers
    are drawn. ``get_weights()`` / ``set_weights(w)`` speak ``{"gamma", "beta"}``.
    """

    def __init__(self, dim: int, *, eps: float = DEFAULT_EPS, dtype: str = "float32") -> None:
        super().__init__(
            check_dim(dim), eps=check_eps(eps), device=get_device(), dtype=torch_dtype(dtype)
        )

    def forward(self, x: Any) -> torch.Tensor:
        """(..., C) -> (..., C); arrays are converted and moved to the layer first."""
        x = as_tensor(x, "x", device=self.weight.device).to(self.weight.dtype)
        check_layer_input(tuple(x.shape), self.normalized_shape[0])
        return super().forward(x)

    def get_weights(self) -> dict[str, np.ndarray]:
        """Copies of ``{"gamma": (C,), "beta": (C,)}`` as NumPy arrays."""
        return {
            "gamma": self.weight.detach().cpu().numpy().copy(),
            "beta": self.bias.detach().cpu().numpy().copy(),
        }

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Load ``{"gamma": (C,), "beta": (C,)}`` (shapes checked before any copy)."""
        targets = {"gamma": self.weight, "beta": self.bias}
        for key, target in targets.items():
            got = np.shape(weights[key]) if key in weights else None
            if got != tuple(target.shape):
                raise ValueError(
                    f"set_weights: expected {key} of shape {tuple(target.shape)}, got {got}."
                )
        with torch.no_grad():
            for key, target in targets.items():
                target.copy_(torch.as_tensor(np.asarray(weights[key])))


# ---------------------------------------------------------------------------
# Batch normalisation (chapter 3): x is (B, C) or (B, C, H, W), statistics per channel
# ---------------------------------------------------------------------------


def _channel_inputs(x: Any, **per_channel: Any) -> tuple[torch.Tensor, ...]:
    """x and its (C,) companions as tensors of one dtype on x's device, shapes checked."""
    x = as_tensor(x, "x")
    ts = {k: as_tensor(v, k, device=x.device) for k, v in per_channel.items()}
    check_batch_norm_shapes(tuple(x.shape), **{k: tuple(t.shape) for k, t in ts.items()})
    dtype = x.dtype
    for t in ts.values():
        dtype = torch.promote_types(dtype, t.dtype)
    return (x.to(dtype), *(t.to(dtype) for t in ts.values()))


def batch_norm(x: Any, gamma: Any, beta: Any, eps: float = DEFAULT_EPS) -> torch.Tensor:
    """Training mode, batch statistics: ``F.batch_norm(..., training=True)`` without buffers."""
    x, gamma, beta = _channel_inputs(x, gamma=gamma, beta=beta)
    check_batch_size(tuple(x.shape))
    return F.batch_norm(x, None, None, gamma, beta, training=True, eps=check_eps(eps))


def batch_norm_eval(
    x: Any, gamma: Any, beta: Any, running_mean: Any, running_var: Any, eps: float = DEFAULT_EPS
) -> torch.Tensor:
    """Evaluation mode: ``F.batch_norm(..., training=False)`` with the running statistics."""
    x, gamma, beta, mean, var = _channel_inputs(
        x, gamma=gamma, beta=beta, running_mean=running_mean, running_var=running_var
    )
    return F.batch_norm(x, mean, var, gamma, beta, training=False, eps=check_eps(eps))


def update_running_stats(
    x: Any, running_mean: Any, running_var: Any, momentum: float = DEFAULT_MOMENTUM
) -> tuple[torch.Tensor, torch.Tensor]:
    """New ``(running_mean, running_var)``: what ``F.batch_norm`` writes into its buffers.

    ``F.batch_norm(training=True)`` updates the buffers it is given in place; it
    gets copies here, so the inputs stay as they were.
    """
    x, mean, var = _channel_inputs(x, running_mean=running_mean, running_var=running_var)
    check_batch_size(tuple(x.shape))
    mean, var = mean.detach().clone(), var.detach().clone()
    with torch.no_grad():
        F.batch_norm(x, mean, var, training=True, momentum=check_momentum(momentum))
    return mean, var


class BatchNorm(torch.nn.modules.batchnorm._BatchNorm):
    """``torch.nn.BatchNorm1d`` / ``BatchNorm2d`` in one class, with the book's constructor.

    Takes (B, C), (B, C, L) or (B, C, H, W); ``weight`` is gamma, ``bias`` is beta,
    ``running_mean`` and ``running_var`` are torch's buffers. ``train()`` and
    ``eval()`` switch mode as for every ``nn.Module``.
    """

    def __init__(
        self,
        num_features: int,
        *,
        momentum: float = DEFAULT_MOMENTUM,
        eps: float = DEFAULT_EPS,
        dtype: str = "float32",
    ) -> None:
        super().__init__(
            check_num_features(num_features),
            eps=check_eps(eps),
            momentum=check_momentum(momentum),
            device=get_device(),
            dtype=torch_dtype(dtype),
        )

    def _check_input_dim(self, x: torch.Tensor) -> None:
        check_batch_norm_shapes(tuple(x.shape), gamma=tuple(self.weight.shape))
        if self.training:
            check_batch_size(tuple(x.shape))

    def forward(self, x: Any) -> torch.Tensor:
        """(B, C, ...) -> (B, C, ...); arrays are converted and moved to the layer first."""
        x = as_tensor(x, "x", device=self.weight.device).to(self.weight.dtype)
        return super().forward(x)

    def get_weights(self) -> dict[str, np.ndarray]:
        """Copies of ``{"gamma", "beta", "running_mean", "running_var"}`` as NumPy arrays."""
        pairs = {
            "gamma": self.weight,
            "beta": self.bias,
            "running_mean": self.running_mean,
            "running_var": self.running_var,
        }
        return {k: v.detach().cpu().numpy().copy() for k, v in pairs.items()}

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Load the four (C,) arrays of :meth:`get_weights` (shapes checked before any copy)."""
        targets = {
            "gamma": self.weight,
            "beta": self.bias,
            "running_mean": self.running_mean,
            "running_var": self.running_var,
        }
        for key, target in targets.items():
            got = np.shape(weights[key]) if key in weights else None
            if got != tuple(target.shape):
                raise ValueError(
                    f"set_weights: expected {key} of shape {tuple(target.shape)}, got {got}."
                )
        with torch.no_grad():
            for key, target in targets.items():
                target.copy_(torch.as_tensor(np.asarray(weights[key])))
