"""What initialisation does to a deep network: activation and gradient scale, layer by layer.

Shape legend: B = batch size, W = width of every layer, L = depth (number of layers).

The network is L identical blocks ``h_l = f(h_{l-1} W_l + b_l)`` with
``W_l`` of shape (W, W) drawn by :func:`dlbook.nn.init.init_weights` and
``b_l = 0``, fed a standard normal batch ``h_0`` of shape (B, W). The loss is
``L = sum(h_L * v)`` for a fixed random ``v`` of shape (B, W), so that
``dL/dh_L = v`` has unit variance and the backward pass starts at scale 1.

The backward pass is done by hand with the NumPy backend's own functions
(:func:`dlbook.nn.numpy_backend.linear_backward` and the activation
``*_backward``), exactly as in chapter 1.

Each block multiplies the variance of the forward signal by about
``W Var(w) E[f(z)^2] / Var(z)`` and that of the backward signal by about
``W Var(w) E[f'(z)^2]``. Over L layers these factors are raised to the
L-th power: anything but 1 makes the signal vanish or explode exponentially.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlbook.nn.init import init_weights
from dlbook.nn.numpy_backend import ACTIVATIONS, linear, linear_backward
from dlbook.seeding import make_rng


def _forward(
    h0: np.ndarray, weights: list[np.ndarray], activation: str
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Run the stack; return the pre-activations ``z_l`` and activations ``h_l`` (l = 1..L)."""
    f, _ = ACTIVATIONS[activation]
    zs, hs = [], []
    h = h0  # (B, W)
    for W in weights:
        z = linear(h, W, np.zeros(W.shape[1]))  # (B, W)
        h = f(z)  # (B, W)
        zs.append(z)
        hs.append(h)
    return zs, hs


def _backward(
    h0: np.ndarray,
    weights: list[np.ndarray],
    zs: list[np.ndarray],
    hs: list[np.ndarray],
    v: np.ndarray,
    activation: str,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Backpropagate ``dL/dh_L = v``; return ``dL/dh_l`` and ``dL/dW_l`` for l = 1..L."""
    _, df = ACTIVATIONS[activation]
    grad_h: list[np.ndarray] = [np.empty(0)] * len(weights)
    grad_W: list[np.ndarray] = [np.empty(0)] * len(weights)
    g = v  # dL/dh_L, (B, W)
    for layer in reversed(range(len(weights))):
        grad_h[layer] = g
        g_z = df(zs[layer], g)  # dL/dz_l = dL/dh_l * f'(z_l), (B, W)
        h_in = hs[layer - 1] if layer > 0 else h0  # h_{l-1}, (B, W)
        g, grad_W[layer], _ = linear_backward(h_in, weights[layer], g_z)  # g: dL/dh_{l-1}
    return grad_h, grad_W


def layer_statistics(
    depth: int = 20,
    width: int = 256,
    activation: str = "tanh",
    scheme: str = "xavier",
    *,
    batch: int = 512,
    rng: int | np.random.Generator = 0,
    distribution: str = "normal",
) -> dict[str, Any]:
    """Forward and backward statistics of a deep stack at initialisation.

    Returns a dict of arrays of length ``depth``, entry ``l-1`` for layer ``l``:

    * ``"activation_std"``, ``"activation_var"``: spread of ``h_l`` (forward pass);
    * ``"gradient_std"``, ``"gradient_var"``: spread of ``dL/dh_l`` (backward pass);
    * ``"weight_grad_std"``: spread of ``dL/dW_l``, what an optimiser would see;

    and the settings ``depth, width, activation, scheme``. ``rng`` (or an int
    seed) draws the input, the weights and ``v``, in that order.
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"Unknown activation {activation!r}; choose one of {sorted(ACTIVATIONS)}.")
    if int(depth) < 2 or int(width) < 1 or int(batch) < 2:
        raise ValueError(
            f"layer_statistics needs depth >= 2, width >= 1 and batch >= 2 "
            f"(a spread needs several numbers); got depth={depth}, width={width}, batch={batch}."
        )
    rng = make_rng(rng)
    h0 = rng.normal(size=(batch, width))  # (B, W): unit-variance input
    weights = [
        init_weights((width, width), scheme, rng, activation=activation, distribution=distribution)
        for _ in range(depth)
    ]
    v = rng.normal(size=(batch, width))  # (B, W): dL/dh_L
    zs, hs = _forward(h0, weights, activation)
    grad_h, grad_W = _backward(h0, weights, zs, hs, v, activation)
    act_var = np.array([h.var() for h in hs])
    grad_var = np.array([g.var() for g in grad_h])
    return {
        "activation_std": np.sqrt(act_var),
        "activation_var": act_var,
        "gradient_std": np.sqrt(grad_var),
        "gradient_var": grad_var,
        "weight_grad_std": np.array([g.std() for g in grad_W]),
        "depth": int(depth),
        "width": int(width),
        "activation": activation,
        "scheme": scheme,
    }


def variance_ratio(stats: dict[str, Any], kind: str = "activation") -> float:
    """How much of its variance a signal keeps on its way through the network.

    ``kind="activation"``: ``Var(h_L) / Var(h_1)``, last over first layer of the
    forward pass. ``kind="gradient"``: ``Var(dL/dh_1) / Var(dL/dh_L)``, where the
    backward pass ends over where it starts. A ratio near 1 means the signal
    survives; a tiny one, that it vanished; a huge one, that it exploded.
    """
    if kind not in ("activation", "gradient"):
        raise ValueError(f"kind must be 'activation' or 'gradient', got {kind!r}.")
    if kind == "activation":
        var = np.asarray(stats["activation_var"])
        return float(var[-1] / var[0])
    var = np.asarray(stats["gradient_var"])
    return float(var[0] / var[-1])
