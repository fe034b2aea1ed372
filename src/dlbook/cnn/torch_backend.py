"""Convolutional networks on PyTorch: the API of ``numpy_backend``, with autograd.

Shape legend: x is (B, C, H, W); W is (F, C, KH, KW); b is (F,); K = classes.

PyTorch's layout *is* dlbook's canonical one (NCHW, kernels (F, C, KH, KW)), so
nothing is transposed here except the dense weights, which ``torch.nn.Linear``
stores as (out, in) (see :mod:`dlbook.nn.torch_backend`). :class:`CNN` is a
``torch.nn.Module`` built from ``nn.Conv2d``, ``nn.BatchNorm2d``/``1d`` (via
:class:`dlbook.normalization.torch_backend.BatchNorm`), ``nn.MaxPool2d`` and
``nn.Linear``.

**Device.** Models live on :func:`dlbook.device.get_device` (CUDA when present);
inputs are moved there, and results come back to NumPy with ``.detach().cpu()``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlbook._lazy import import_torch
from dlbook._torch import as_tensor, to_numpy, torch_dtype
from dlbook.cnn import (
    CNNConfig,
    buffer_shapes,
    check_conv_shapes,
    check_images,
    check_pool_shapes,
    check_weights,
    init_cnn_weights,
    pair,
    pool_args,
    weight_shapes,
)
from dlbook.device import get_device
from dlbook.nn import torch_backend as nn_torch
from dlbook.normalization.torch_backend import BatchNorm

torch = import_torch()
F = torch.nn.functional


# ---------------------------------------------------------------------------
# Convolution and pooling (autograd supplies the backward passes)
# ---------------------------------------------------------------------------


def conv2d(x: Any, W: Any, b: Any, stride: Any = 1, padding: Any = 0) -> torch.Tensor:
    """(B, C, H, W) -> (B, F, Ho, Wo): ``F.conv2d``, the cross-correlation of numpy_backend."""
    x = as_tensor(x, "x")
    W, b = as_tensor(W, "W", device=x.device), as_tensor(b, "b", device=x.device)
    stride, padding = pair(stride, "stride"), pair(padding, "padding", minimum=0)
    check_conv_shapes(tuple(x.shape), tuple(W.shape), tuple(b.shape), stride, padding)
    dtype = torch.promote_types(torch.promote_types(x.dtype, W.dtype), b.dtype)
    return F.conv2d(x.to(dtype), W.to(dtype), b.to(dtype), stride=stride, padding=padding)


def max_pool2d(x: Any, kernel_size: Any, stride: Any = None) -> torch.Tensor:
    """(B, C, H, W) -> (B, C, Ho, Wo): ``F.max_pool2d`` (floor mode, no padding)."""
    x = as_tensor(x, "x")
    kernel, stride = pool_args(kernel_size, stride)
    check_pool_shapes(tuple(x.shape), kernel, stride)
    return F.max_pool2d(x, kernel, stride)


def avg_pool2d(x: Any, kernel_size: Any, stride: Any = None) -> torch.Tensor:
    """(B, C, H, W) -> (B, C, Ho, Wo): ``F.avg_pool2d`` (floor mode, no padding)."""
    x = as_tensor(x, "x")
    kernel, stride = pool_args(kernel_size, stride)
    check_pool_shapes(tuple(x.shape), kernel, stride)
    return F.avg_pool2d(x, kernel, stride)


# ---------------------------------------------------------------------------
# The network
# ---------------------------------------------------------------------------


class CNN(torch.nn.Module):
    """Conv blocks, then dense layers, returning logits; a ``torch.nn.Module``.

    ``CNN(CNNConfig())`` is the seed's LeNet. Weights come from
    :func:`dlbook.cnn.init_cnn_weights`, so every backend starts identical.
    """

    def __init__(self, config: CNNConfig | None = None, *, seed: int = 0, dtype: str = "float32"):
        super().__init__()
        self.config = config = config or CNNConfig()
        self.dtype = torch_dtype(dtype)
        kw = {"device": get_device(), "dtype": self.dtype}
        self.named = torch.nn.ModuleDict()  # canonical prefix -> module holding its parameters
        layers: list[torch.nn.Module] = []
        c, k = config.in_channels, config.kernel_size
        for i, f in enumerate(config.channels):
            layers.append(
                self._add(f"conv{i}", torch.nn.Conv2d(c, f, k, padding=config.padding, **kw))
            )
            layers += self._norm_and_relu(f"bn{i}", f)
            if config.pools_after(i):
                pool = torch.nn.MaxPool2d(2) if config.pool == "max" else torch.nn.AvgPool2d(2)
                layers.append(pool)
            c = f
        layers.append(torch.nn.Flatten())  # (B, C, H, W) -> (B, C H W), NCHW order
        shapes = weight_shapes(config)
        n_conv = len(config.channels)
        for j in range(len(config.hidden) + 1):
            d_in, d_out = shapes[f"fc{j}.W"]
            layers.append(self._add(f"fc{j}", torch.nn.Linear(d_in, d_out, **kw)))
            if j < len(config.hidden):
                layers += self._norm_and_relu(f"bn{n_conv + j}", d_out)
        self.layers = torch.nn.Sequential(*layers)
        self.set_weights(init_cnn_weights(config, seed=seed, dtype=np.dtype(dtype).name))

    def _add(self, name: str, module: torch.nn.Module) -> torch.nn.Module:
        self.named[name.replace(".", "_")] = module
        return module

    def _norm_and_relu(self, name: str, width: int) -> list[torch.nn.Module]:
        norm = []
        if self.config.batch_norm:
            norm = [self._add(name, BatchNorm(width, dtype=str(self.dtype).split(".")[-1]))]
        return [*norm, torch.nn.ReLU()]

    @property
    def device(self) -> torch.device:
        return self.named["conv0"].weight.device

    def forward(self, x: Any) -> torch.Tensor:
        """(B, C, H, W) -> (B, K) logits; arrays are converted and moved to the model."""
        x = as_tensor(x, "x", device=self.device).to(device=self.device, dtype=self.dtype)
        check_images(tuple(x.shape), self.config)
        return self.layers(x)

    def _tensors(self) -> dict[str, torch.Tensor]:
        """Canonical name -> torch parameter or buffer (dense weights still (out, in))."""
        torch_name = {"W": "weight", "b": "bias", "gamma": "weight", "beta": "bias"}
        out = {}
        for name in (*weight_shapes(self.config), *buffer_shapes(self.config)):
            prefix, key = name.split(".")
            out[name] = getattr(self.named[prefix], torch_name.get(key, key))
        return out

    def get_weights(self) -> dict[str, np.ndarray]:
        """Copies in the canonical layout; dense ``W`` is ``weight.T`` (in, out)."""
        out = {}
        for name, t in self._tensors().items():
            a = to_numpy(t)
            out[name] = (a.T if name.startswith("fc") and name.endswith(".W") else a).copy()
        return out

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Load canonical weights and buffers (names and shapes checked before any copy)."""
        check_weights(weights, {**weight_shapes(self.config), **buffer_shapes(self.config)})
        with torch.no_grad():
            for name, t in self._tensors().items():
                a = np.asarray(weights[name])
                a = a.T if name.startswith("fc") and name.endswith(".W") else a
                t.copy_(torch.as_tensor(np.ascontiguousarray(a), dtype=t.dtype))

    def named_canonical_parameters(self) -> list[tuple[str, torch.Tensor]]:
        """(canonical name, parameter) of every trained parameter, in canonical order."""
        tensors = self._tensors()
        return [(name, tensors[name]) for name in weight_shapes(self.config)]


# ---------------------------------------------------------------------------
# The shared training API (see dlbook.cnn)
# ---------------------------------------------------------------------------


def _eval_logits(model: CNN, x: Any) -> torch.Tensor:
    """Logits in evaluation mode without a graph; the model's mode is restored afterwards."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            return model(x)
    finally:
        model.train(was_training)


def loss_and_grads(model: CNN, x: Any, y: Any) -> tuple[float, dict[str, np.ndarray]]:
    """Cross-entropy of ``model`` on (x, y) and every gradient (canonical layout, current mode)."""
    model.zero_grad(set_to_none=True)
    loss = nn_torch.cross_entropy(model(x), y)
    loss.backward()
    grads = {}
    for name, p in model.named_canonical_parameters():
        g = to_numpy(p.grad)
        grads[name] = (g.T if name.startswith("fc") and name.endswith(".W") else g).copy()
    return loss.item(), grads


def evaluate_loss(model: CNN, x: Any, y: Any) -> float:
    """Mean cross-entropy in evaluation mode, without building a graph."""
    return float(nn_torch.cross_entropy(_eval_logits(model, x), y))


def predict(model: CNN, x: Any) -> np.ndarray:
    """Class index of each image of x (B, C, H, W), in evaluation mode, as a NumPy array."""
    return to_numpy(_eval_logits(model, x).argmax(dim=1))


def predict_proba(model: CNN, x: Any) -> np.ndarray:
    """Softmax probabilities (B, K) of each image, in evaluation mode, as a NumPy array."""
    return to_numpy(torch.softmax(_eval_logits(model, x), dim=1))


def make_optimizer(model: CNN, config: Any) -> torch.optim.Optimizer:
    """``torch.optim``'s ``config.optimizer`` over the parameters, in canonical order."""
    from dlbook.optim import torch_backend as optim

    params = [p for _, p in model.named_canonical_parameters()]
    return optim.make(config.optimizer, params, **config.optimizer_hparams())


def train_step(model: CNN, optimizer: torch.optim.Optimizer, x: Any, y: Any) -> float:
    """Forward, backward, one optimizer step in training mode; returns the batch loss."""
    model.train()
    optimizer.zero_grad(set_to_none=True)
    loss = nn_torch.cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()
    return loss.item()
