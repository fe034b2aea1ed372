"""Neural-network building blocks on PyTorch: the API of ``numpy_backend``, with autograd.

Shape legend: B = batch size, D = features in, H = features out, K = classes.

There are no ``*_backward`` functions here: ``loss.backward()`` computes every
gradient, and ``tests/nn/test_parity.py`` checks that it agrees with the
hand-written backward passes of the NumPy backend.

**Layout.** ``torch.nn.Linear`` stores its weight as (out, in) and computes
``x @ weight.T + bias``. The book's canonical layout is ``W`` of shape (in, out),
so :meth:`MLP.get_weights` and :meth:`MLP.set_weights` transpose:
``layer.weight == W.T``.

**Device.** Models live on :func:`dlbook.device.get_device` (CUDA when present);
inputs are moved there, and results come back to NumPy with ``.detach().cpu()``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from dlbook._lazy import import_torch
from dlbook._torch import as_tensor, to_numpy, torch_dtype
from dlbook._validate import (
    check_axis,
    check_bias_shape,
    check_labels,
    check_same_shape,
    check_sizes,
)
from dlbook.device import get_device
from dlbook.nn.init import init_linear_weights, init_mlp_weights
from dlbook.seeding import make_rng

torch = import_torch()
F = torch.nn.functional

_ACTIVATIONS = {  # name -> module; GELU in its exact erf form, x * Phi(x)
    "sigmoid": torch.nn.Sigmoid,
    "tanh": torch.nn.Tanh,
    "relu": torch.nn.ReLU,
    "gelu": lambda: torch.nn.GELU(approximate="none"),
}


def _promote(*ts: torch.Tensor) -> list[torch.Tensor]:
    """Cast to a common dtype, as NumPy would (torch refuses float32 @ float64)."""
    dtype = ts[0].dtype
    for t in ts[1:]:
        dtype = torch.promote_types(dtype, t.dtype)
    return [t.to(dtype) for t in ts]


# ---------------------------------------------------------------------------
# Activations (autograd supplies the derivatives)
# ---------------------------------------------------------------------------


def sigmoid(x: Any) -> torch.Tensor:
    """sigma(x) = 1 / (1 + e^{-x}); torch's kernel is stable for large ``|x|``."""
    return torch.sigmoid(as_tensor(x, "x"))


def tanh(x: Any) -> torch.Tensor:
    """tanh(x) = (e^x - e^{-x}) / (e^x + e^{-x})."""
    return torch.tanh(as_tensor(x, "x"))


def relu(x: Any) -> torch.Tensor:
    """relu(x) = max(0, x); autograd takes the derivative at 0 to be 0."""
    return torch.relu(as_tensor(x, "x"))


def gelu(x: Any) -> torch.Tensor:
    """gelu(x) = x Phi(x) = x (1 + erf(x / sqrt 2)) / 2  (exact, not the tanh approximation)."""
    return F.gelu(as_tensor(x, "x"), approximate="none")


# ---------------------------------------------------------------------------
# Softmax and log-softmax
# ---------------------------------------------------------------------------


def softmax(x: Any, axis: int = -1) -> torch.Tensor:
    """softmax(x)_i = e^{x_i - m} / sum_j e^{x_j - m}, with m = max_j x_j (inside torch)."""
    x = as_tensor(x, "x")
    return torch.softmax(x, dim=check_axis(axis, x.ndim))


def log_softmax(x: Any, axis: int = -1) -> torch.Tensor:
    """log softmax(x)_i = (x_i - m) - log sum_j e^{x_j - m}  (log-sum-exp inside torch)."""
    x = as_tensor(x, "x")
    return torch.log_softmax(x, dim=check_axis(axis, x.ndim))


# ---------------------------------------------------------------------------
# Losses: 0-d tensors, so that ``loss.backward()`` works; ``float(loss)`` gives the number
# ---------------------------------------------------------------------------


def mse_loss(pred: Any, target: Any) -> torch.Tensor:
    """L = (1/N) sum_i (pred_i - target_i)^2 over all N elements."""
    pred = as_tensor(pred, "pred")
    target = as_tensor(target, "target", device=pred.device)
    if pred.shape != target.shape:  # F.mse_loss would broadcast, with only a warning
        check_same_shape(to_numpy(pred), to_numpy(target), "pred", "target")  # raises, explaining
    return F.mse_loss(*_promote(pred, target))


def _labels(labels: Any, n_examples: int, n_classes: int, device: Any) -> torch.Tensor:
    """Check the labels on a NumPy copy (shape, integer dtype, range); return int64 on device."""
    y = to_numpy(labels) if isinstance(labels, torch.Tensor) else np.asarray(labels)
    y = check_labels(y, n_examples, n_classes)  # F.cross_entropy would raise a bare IndexError
    return torch.as_tensor(y, dtype=torch.int64, device=device)


def cross_entropy(logits: Any, labels: Any) -> torch.Tensor:
    """L = -(1/B) sum_b log softmax(logits_b)[y_b], for logits (B, K) and labels (B,)."""
    logits = as_tensor(logits, "logits")
    if logits.ndim != 2:
        raise ValueError(f"logits must have shape (B, K), got {tuple(logits.shape)}.")
    B, K = logits.shape
    return F.cross_entropy(logits, _labels(labels, B, K, logits.device))


# ---------------------------------------------------------------------------
# Linear layer: y = x W + b
# ---------------------------------------------------------------------------


def linear(x: Any, W: Any, b: Any) -> torch.Tensor:
    """y = x @ W + b, for x (B, D), W (D, H), b (H,) -> y (B, H).

    ``F.linear`` wants torch's (out, in) layout, so it receives ``W.T`` of shape (H, D).
    """
    x = as_tensor(x, "x")
    W, b = as_tensor(W, "W", device=x.device), as_tensor(b, "b", device=x.device)
    if x.ndim != 2 or W.ndim != 2 or x.shape[1] != W.shape[0]:
        raise ValueError(
            f"linear: x has shape {tuple(x.shape)} but W has shape {tuple(W.shape)}; "
            f"x needs {W.shape[0]} columns, one per input feature."
        )
    check_bias_shape(tuple(b.shape), W.shape[1])
    x, W, b = _promote(x, W, b)
    return F.linear(x, W.T, b)  # (B, H)


def _empty_linear(d_in: int, d_out: int, dtype: torch.dtype, device: Any) -> torch.nn.Linear:
    """A real ``nn.Linear`` whose weights are left unset, so torch's global RNG is not touched."""
    return torch.nn.utils.skip_init(torch.nn.Linear, d_in, d_out, device=device, dtype=dtype)


def _load_linear(layer: torch.nn.Linear, W: np.ndarray, b: np.ndarray) -> None:
    """Copy canonical (in, out) weights into torch's (out, in) layout."""
    with torch.no_grad():
        layer.weight.copy_(torch.as_tensor(np.ascontiguousarray(W.T)))  # (H, D)
        layer.bias.copy_(torch.as_tensor(b))  # (H,)


class Linear(torch.nn.Linear):
    """``torch.nn.Linear`` with the book's constructor and initialisation.

    ``Linear(d_in, d_out, seed=0)`` draws ``W ~ N(0, 1/d_in)`` with NumPy
    (:func:`dlbook.nn.init.init_linear_weights`), exactly as the other backends
    do, and stores ``weight = W.T`` in torch's (out, in) layout.
    """

    def __init__(self, d_in: int, d_out: int, *, seed: int = 0, dtype: str = "float32") -> None:
        # Build on the "meta" device (no memory, no global RNG), then allocate on the real one.
        super().__init__(d_in, d_out, device="meta", dtype=torch_dtype(dtype))
        self.to_empty(device=get_device())
        _load_linear(self, *init_linear_weights(d_in, d_out, make_rng(seed), dtype=dtype))

    def forward(self, x: Any) -> torch.Tensor:
        """(B, D) -> (B, H): x @ weight.T + bias; arrays are converted first."""
        x = as_tensor(x, "x", device=self.weight.device).to(self.weight.dtype)
        return super().forward(x)


class MLP(torch.nn.Module):
    """Linear -> activation -> ... -> Linear, returning logits; a ``torch.nn.Module``.

    ``MLP([64, 128, 10])`` maps (B, 64) inputs to (B, 10) logits through one
    hidden layer of width 128. The layers are real ``torch.nn.Linear`` modules in
    ``self.layers`` (an ``nn.Sequential``), initialised from
    :func:`dlbook.nn.init.init_mlp_weights` so that all backends start identical.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str = "relu",
        *,
        seed: int = 0,
        dtype: str = "float32",
    ) -> None:
        super().__init__()
        self.sizes = check_sizes(sizes)
        if activation not in _ACTIVATIONS:
            raise ValueError(
                f"Unknown activation {activation!r}; choose one of {sorted(_ACTIVATIONS)}."
            )
        self.activation = activation
        self.dtype = torch_dtype(dtype)
        device = get_device()
        layers: list[torch.nn.Module] = []
        for i, (d_in, d_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:], strict=True)):
            if i > 0:
                layers.append(_ACTIVATIONS[activation]())
            layers.append(_empty_linear(d_in, d_out, self.dtype, device))
        self.layers = torch.nn.Sequential(*layers)
        w = init_mlp_weights(self.sizes, activation, seed=seed, dtype=np.dtype(dtype).name)
        self.set_weights(w)

    @property
    def linears(self) -> list[torch.nn.Linear]:
        return [layer for layer in self.layers if isinstance(layer, torch.nn.Linear)]

    @property
    def device(self) -> torch.device:
        return self.linears[0].weight.device

    def forward(self, x: Any) -> torch.Tensor:
        """(B, D0) -> (B, K) logits; x may be a tensor or an array, and is moved to the model."""
        x = as_tensor(x, "x", device=self.device).to(device=self.device, dtype=self.dtype)
        if x.ndim != 2 or x.shape[1] != self.sizes[0]:
            raise ValueError(
                f"MLP expects input of shape (B, {self.sizes[0]}), got {tuple(x.shape)}."
            )
        return self.layers(x)

    def get_weights(self) -> dict[str, np.ndarray]:
        """Copies in the canonical layout ``{"W0": (D0, D1), "b0": (D1,), ...}``; W = weight.T."""
        out = {}
        for i, layer in enumerate(self.linears):
            out[f"W{i}"] = to_numpy(layer.weight).T.copy()  # (out, in) -> (in, out); copy, not view
            out[f"b{i}"] = to_numpy(layer.bias).copy()
        return out

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Load canonical weights (checked for names and shapes); stores ``weight = W.T``."""
        for i, layer in enumerate(self.linears):
            d_out, d_in = layer.weight.shape
            for key, shape in ((f"W{i}", (d_in, d_out)), (f"b{i}", (d_out,))):
                got = np.shape(weights[key]) if key in weights else None
                if got != shape:
                    raise ValueError(f"set_weights: expected {key} of shape {shape}, got {got}.")
            _load_linear(layer, np.asarray(weights[f"W{i}"]), np.asarray(weights[f"b{i}"]))


# ---------------------------------------------------------------------------
# The shared training API (see dlbook.nn)
# ---------------------------------------------------------------------------


def loss_and_grads(model: MLP, x: Any, y: Any) -> tuple[float, dict[str, np.ndarray]]:
    """Cross-entropy of ``model`` on (x, y) and its gradient for every weight (canonical layout)."""
    model.zero_grad(set_to_none=True)
    loss = cross_entropy(model(x), y)
    loss.backward()
    grads = {}
    for i, layer in enumerate(model.linears):
        grads[f"W{i}"] = to_numpy(layer.weight.grad).T.copy()  # (out, in) -> (in, out)
        grads[f"b{i}"] = to_numpy(layer.bias.grad).copy()
    return loss.item(), grads


def evaluate_loss(model: MLP, x: Any, y: Any) -> float:
    """Mean cross-entropy of ``model`` on (x, y), without building a graph."""
    with torch.no_grad():
        return float(cross_entropy(model(x), y))


def predict(model: MLP, x: Any) -> np.ndarray:
    """Index of the largest logit for each row of x, as a NumPy array."""
    with torch.no_grad():
        return to_numpy(model(x).argmax(dim=1))


def make_optimizer(model: MLP, config: Any) -> torch.optim.Optimizer:
    """``torch.optim``'s ``config.optimizer`` (default SGD: g += wd w; v = mu v + g; w -= lr v)."""
    from dlbook.optim import torch_backend as optim

    return optim.make(config.optimizer, model.parameters(), **config.optimizer_hparams())


def train_step(model: MLP, optimizer: torch.optim.Optimizer, x: Any, y: Any) -> float:
    """Forward, backward, one optimizer step; returns the batch loss."""
    optimizer.zero_grad(set_to_none=True)
    loss = cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()
    return loss.item()
