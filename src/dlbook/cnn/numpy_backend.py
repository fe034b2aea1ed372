"""Convolution and pooling from scratch in NumPy, each forward pass next to its backward.

Shape legend: x is (B, C, H, W); W is (F, C, KH, KW); b is (F,); the output is
(B, F, Ho, Wo). ``s`` is the stride and ``p`` the zero padding, per axis.

**Vectorised, no loop over pixels.** ``sliding_window_view`` gives every
KH x KW window of the padded input as a view, (B, C, Ho, Wo, KH, KW) after
taking every s-th window. Copied into a matrix with one row per output position
(the *im2col* trick), they turn the convolution into one matrix product with W,
which computes all outputs at once. The backward pass is two more matrix
products, plus a loop over the KH x KW kernel offsets (25 iterations for
a 5 x 5 kernel, whatever the image size) that adds each offset's contribution
back onto the input ("col2im").

``tests/cnn`` checks every backward pass by finite differences and against
PyTorch and TensorFlow in float64.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from dlbook._validate import as_float_array, check_labels
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
from dlbook.nn import numpy_backend as nn_np
from dlbook.normalization.numpy_backend import BatchNorm

Pair = tuple[int, int]


def _check_dtype(dtype: str) -> str:
    if str(dtype) not in ("float32", "float64"):
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}.")
    return str(dtype)


def _windows(x: np.ndarray, kernel: Pair, stride: Pair, padding: Pair) -> np.ndarray:
    """Every window of the zero-padded x as a view: (B, C, Ho, Wo, KH, KW)."""
    (ph, pw), (sh, sw) = padding, stride
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))  # (B, C, H + 2ph, W + 2pw)
    win = sliding_window_view(xp, kernel, axis=(2, 3))  # (B, C, H', W', KH, KW), stride 1
    return win[:, :, ::sh, ::sw]  # (B, C, Ho, Wo, KH, KW): every s-th window


def _im2col(x: np.ndarray, kernel: Pair, stride: Pair, padding: Pair) -> np.ndarray:
    """Every window of x as one row of a matrix: (B, Ho, Wo, C KH KW), a contiguous copy."""
    win = _windows(x, kernel, stride, padding)  # (B, C, Ho, Wo, KH, KW), a view
    B, C, Ho, Wo, KH, KW = win.shape
    return win.transpose(0, 2, 3, 1, 4, 5).reshape(B, Ho, Wo, C * KH * KW)  # the copy


def _scatter_windows(
    dwin: np.ndarray, x_shape: tuple[int, ...], stride: Pair, padding: Pair
) -> np.ndarray:
    """The adjoint of :func:`_windows` ("col2im"): add each window's values back onto x.

    ``dwin`` is (KH, KW, B, C, Ho, Wo): the value for offset (i, j) of every
    window. A pixel covered by several windows receives the sum of their values.
    The loop runs over the KH x KW offsets, not over pixels.
    """
    B, C, H, W = x_shape
    (ph, pw), (sh, sw) = padding, stride
    KH, KW, _, _, Ho, Wo = dwin.shape
    dxp = np.zeros((B, C, H + 2 * ph, W + 2 * pw), dtype=dwin.dtype)  # padded gradient
    for i in range(KH):
        for j in range(KW):  # offset (i, j) of window (h, w) sits at (i + s h, j + s w)
            dxp[:, :, i : i + sh * Ho : sh, j : j + sw * Wo : sw] += dwin[i, j]
    return dxp[:, :, ph : ph + H, pw : pw + W]  # drop the padding: (B, C, H, W)


# ---------------------------------------------------------------------------
# Convolution
# ---------------------------------------------------------------------------


def _conv_args(x: Any, W: Any, stride: Any, padding: Any) -> tuple[Any, ...]:
    x, W = as_float_array(x, "x"), as_float_array(W, "W")
    return x, W, pair(stride, "stride"), pair(padding, "padding", minimum=0)


def conv2d(
    x: np.ndarray, W: np.ndarray, b: np.ndarray, stride: Any = 1, padding: Any = 0
) -> np.ndarray:
    """out[b, f, h, w] = b[f] + sum_{c, i, j} W[f, c, i, j] x_pad[b, c, s h + i, s w + j].

    This is a cross-correlation, what every deep-learning library calls
    "convolution" (the kernel is not flipped; a learned kernel does not care).
    Returns (B, F, Ho, Wo) with ``Ho = floor((H + 2 p - KH) / s) + 1``.
    """
    x, W, stride, padding = _conv_args(x, W, stride, padding)
    b = as_float_array(b, "b")
    check_conv_shapes(x.shape, W.shape, b.shape, stride, padding)
    cols = _im2col(x, W.shape[2:], stride, padding)  # (B, Ho, Wo, C KH KW)
    return _conv_from_cols(cols, W, b)


def _conv_from_cols(cols: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The convolution as one matrix product: (B, Ho, Wo, C KH KW) @ (C KH KW, F)."""
    out = cols @ W.reshape(W.shape[0], -1).T + b  # (B, Ho, Wo, F)
    return out.transpose(0, 3, 1, 2)  # (B, F, Ho, Wo)


def conv2d_backward(
    x: np.ndarray, W: np.ndarray, grad_out: np.ndarray, stride: Any = 1, padding: Any = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(dL/dx, dL/dW, dL/db)`` for out = conv2d(x, W, b, stride, padding).

    With ``g = dL/dout`` (B, F, Ho, Wo) and the windows ``X[b, h, w, (c, i, j)] =
    x_pad[b, c, s h + i, s w + j]`` (the im2col matrix), the forward pass is
    ``out = X W^T + b``, linear in W and in X:

    * ``dL/dW[f, c, i, j] = sum_{b, h, w} g[b, f, h, w] X[b, h, w, (c, i, j)]``:
      each weight is used at every position, so its gradient sums over all of
      them (weight sharing) and over the batch;
    * ``dL/db[f] = sum_{b, h, w} g[b, f, h, w]``;
    * ``dL/dX = g W``, and a pixel of x receives the sum over every window that
      contains it (col2im).
    """
    x, W, stride, padding = _conv_args(x, W, stride, padding)
    grad_out = as_float_array(grad_out, "grad_out")
    out_shape = check_conv_shapes(x.shape, W.shape, (W.shape[0],), stride, padding)
    if grad_out.shape != out_shape:
        raise ValueError(
            f"grad_out has shape {grad_out.shape} but conv2d's output has shape {out_shape}; "
            "dL/dout is shaped like the output."
        )
    cols = _im2col(x, W.shape[2:], stride, padding)  # (B, Ho, Wo, C KH KW)
    dW, db = _conv_grad_params(cols, W.shape, grad_out)
    return _conv_grad_input(grad_out, W, x.shape, stride, padding), dW, db


def _conv_grad_params(
    cols: np.ndarray, w_shape: tuple[int, ...], grad_out: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """dL/dW (F, C, KH, KW) and dL/db (F,) from the im2col matrix and g (B, F, Ho, Wo)."""
    F = w_shape[0]
    g = grad_out.transpose(0, 2, 3, 1).reshape(-1, F)  # (B Ho Wo, F)
    dW = g.T @ cols.reshape(g.shape[0], -1)  # (F, C KH KW): a sum over b, h, w
    return dW.reshape(w_shape), g.sum(axis=0)  # (F, C, KH, KW), (F,)


def _conv_grad_input(
    grad_out: np.ndarray, W: np.ndarray, x_shape: tuple[int, ...], stride: Pair, padding: Pair
) -> np.ndarray:
    """dL/dx (B, C, H, W): g @ W gives each window's gradient, col2im adds them onto x."""
    F, C, KH, KW = W.shape
    B, _, Ho, Wo = grad_out.shape
    dwin = np.tensordot(W, grad_out, axes=([0], [1]))  # (C, KH, KW, B, Ho, Wo)
    dwin = np.ascontiguousarray(dwin.transpose(1, 2, 3, 0, 4, 5))  # (KH, KW, B, C, Ho, Wo)
    return _scatter_windows(dwin, x_shape, stride, padding)


# ---------------------------------------------------------------------------
# Pooling: max (gradient to the arg-max only) and average (gradient shared equally)
# ---------------------------------------------------------------------------


def _pool_windows(x: np.ndarray, kernel: Pair, stride: Pair) -> np.ndarray:
    """The pooling windows of x, flattened: (B, C, Ho, Wo, KH * KW)."""
    check_pool_shapes(x.shape, kernel, stride)
    win = _windows(x, kernel, stride, (0, 0))  # (B, C, Ho, Wo, KH, KW)
    return win.reshape(*win.shape[:4], -1)  # (B, C, Ho, Wo, KH KW): a copy


def max_pool2d(x: np.ndarray, kernel_size: Any, stride: Any = None) -> np.ndarray:
    """out[b, c, h, w] = max over the window at (s h, s w) of x[b, c]; (B, C, Ho, Wo)."""
    kernel, stride = pool_args(kernel_size, stride)
    return _pool_windows(as_float_array(x, "x"), kernel, stride).max(axis=-1)


def max_pool2d_backward(
    x: np.ndarray, grad_out: np.ndarray, kernel_size: Any, stride: Any = None
) -> np.ndarray:
    """dL/dx for out = max_pool2d(x, ...): each window's gradient goes to its arg-max only.

    The maximum is locally the identity on the winning input and constant in the
    others, so ``dL/dx`` is ``g`` at the arg-max of each window and 0 elsewhere
    (the first maximum when several tie). Pixels that no window covers get 0.
    """
    kernel, stride = pool_args(kernel_size, stride)
    x, grad_out = as_float_array(x, "x"), as_float_array(grad_out, "grad_out")
    flat = _pool_windows(x, kernel, stride)  # (B, C, Ho, Wo, KH KW)
    _check_grad_out(grad_out, flat.shape[:4])
    dwin = np.zeros_like(flat)  # (B, C, Ho, Wo, KH KW)
    arg = flat.argmax(axis=-1)[..., None]  # (B, C, Ho, Wo, 1)
    np.put_along_axis(dwin, arg, grad_out[..., None], axis=-1)
    dwin = dwin.transpose(4, 0, 1, 2, 3).reshape(*kernel, *flat.shape[:4])  # (KH, KW, B, C, Ho, Wo)
    return _scatter_windows(dwin, x.shape, stride, (0, 0))


def avg_pool2d(x: np.ndarray, kernel_size: Any, stride: Any = None) -> np.ndarray:
    """out[b, c, h, w] = mean over the window at (s h, s w) of x[b, c]; (B, C, Ho, Wo)."""
    kernel, stride = pool_args(kernel_size, stride)
    return _pool_windows(as_float_array(x, "x"), kernel, stride).mean(axis=-1)


def avg_pool2d_backward(
    x: np.ndarray, grad_out: np.ndarray, kernel_size: Any, stride: Any = None
) -> np.ndarray:
    """dL/dx for out = avg_pool2d(x, ...): each cell gets its windows' gradients / (KH KW)."""
    kernel, stride = pool_args(kernel_size, stride)
    x, grad_out = as_float_array(x, "x"), as_float_array(grad_out, "grad_out")
    out_shape = check_pool_shapes(x.shape, kernel, stride)
    _check_grad_out(grad_out, out_shape)
    share = grad_out / (kernel[0] * kernel[1])  # (B, C, Ho, Wo)
    dwin = np.broadcast_to(share, (*kernel, *out_shape))  # (KH, KW, B, C, Ho, Wo)
    return _scatter_windows(dwin, x.shape, stride, (0, 0))


def _check_grad_out(grad_out: np.ndarray, out_shape: tuple[int, ...]) -> None:
    if grad_out.shape != tuple(out_shape):
        raise ValueError(
            f"grad_out has shape {grad_out.shape} but the pooled output has shape "
            f"{tuple(out_shape)}; dL/dout is shaped like the output."
        )


# ---------------------------------------------------------------------------
# Layers: objects that remember what backward needs
# ---------------------------------------------------------------------------


class Conv2d:
    """A conv layer holding ``W`` (F, C, KH, KW) and ``b`` (F,), with forward and backward.

    ``forward`` keeps the im2col matrix of its input for ``backward``: memory
    traded for not building it twice. ``input_grad=False`` skips dL/dx, which the
    first layer of a network never needs (PyTorch skips it too).
    """

    def __init__(
        self,
        W: np.ndarray,
        b: np.ndarray,
        *,
        stride: Any = 1,
        padding: Any = 0,
        input_grad: bool = True,
    ) -> None:
        self.params = {"W": W, "b": b}  # not copied: the model's arrays
        self.grads = {"W": np.zeros_like(W), "b": np.zeros_like(b)}
        self.stride, self.padding = pair(stride, "stride"), pair(padding, "padding", minimum=0)
        self.input_grad = input_grad
        self._cols: np.ndarray | None = None
        self._x_shape: tuple[int, ...] = ()

    def forward(self, x: np.ndarray) -> np.ndarray:
        W, b = self.params["W"], self.params["b"]
        check_conv_shapes(x.shape, W.shape, b.shape, self.stride, self.padding)
        self._x_shape = x.shape
        self._cols = _im2col(x, W.shape[2:], self.stride, self.padding)  # (B, Ho, Wo, C KH KW)
        return _conv_from_cols(self._cols, W, b)

    def backward(self, grad_out: np.ndarray) -> np.ndarray | None:
        if self._cols is None:
            raise RuntimeError("Call forward before backward: backward needs the cached input.")
        W = self.params["W"]
        dW, db = _conv_grad_params(self._cols, W.shape, grad_out)
        self.grads["W"] += dW  # accumulate, like PyTorch's .grad
        self.grads["b"] += db
        if not self.input_grad:
            return None
        return _conv_grad_input(grad_out, W, self._x_shape, self.stride, self.padding)


class Pool2d:
    """A 2x2 (by default) max or average pool: ``Pool2d("max")``; no parameters."""

    def __init__(self, kind: str = "max", kernel_size: Any = 2, stride: Any = None) -> None:
        self.kind, (self.kernel, self.stride) = kind, pool_args(kernel_size, stride)
        self._x: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._x = x
        pool = max_pool2d if self.kind == "max" else avg_pool2d
        return pool(x, self.kernel, self.stride)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        if self._x is None:
            raise RuntimeError("Call forward before backward: backward needs the cached input.")
        back = max_pool2d_backward if self.kind == "max" else avg_pool2d_backward
        return back(self._x, grad_out, self.kernel, self.stride)


class Flatten:
    """(B, C, H, W) -> (B, C H W), reading (C, H, W) in this order in every backend."""

    def __init__(self) -> None:
        self._shape: tuple[int, ...] | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._shape = x.shape
        return x.reshape(x.shape[0], -1)  # (B, C H W)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out.reshape(self._shape)  # (B, C, H, W)


class CNN:
    """Conv blocks (conv, [batch norm], ReLU, [2x2 pool]), then dense layers; returns logits.

    ``CNN(CNNConfig())`` is the seed's LeNet: conv 3->6 5x5, max-pool 2,
    conv 6->16 5x5, max-pool 2, dense 400->120->84->10, ReLU throughout.
    ``layers`` lists the layer objects in order; ``forward`` and ``backward``
    walk through them.
    """

    def __init__(self, config: CNNConfig | None = None, *, seed: int = 0, dtype: str = "float32"):
        self.config = config = config or CNNConfig()
        self.dtype = np.dtype(_check_dtype(dtype))
        w = init_cnn_weights(config, seed=seed, dtype=self.dtype.name)
        self.named: dict[str, Any] = {}  # canonical prefix -> layer holding its parameters
        self.layers: list[Any] = []
        for i in range(len(config.channels)):
            conv = Conv2d(
                w[f"conv{i}.W"], w[f"conv{i}.b"], padding=config.padding, input_grad=i > 0
            )  # the first layer's dL/dx (the images') is never needed
            self._add(f"conv{i}", conv)
            self._add_norm_and_relu(f"bn{i}", config.channels[i])
            if config.pools_after(i):
                self.layers.append(Pool2d(config.pool))
        self.layers.append(Flatten())
        n_conv = len(config.channels)
        for j in range(len(config.hidden) + 1):
            self._add(f"fc{j}", nn_np.Linear.from_weights(w[f"fc{j}.W"], w[f"fc{j}.b"]))
            if j < len(config.hidden):
                self._add_norm_and_relu(f"bn{n_conv + j}", config.hidden[j])
        self.set_weights(w)  # the batch-norm layers get their buffers too

    def _add(self, name: str, layer: Any) -> None:
        self.named[name] = layer
        self.layers.append(layer)

    def _add_norm_and_relu(self, name: str, width: int) -> None:
        if self.config.batch_norm:
            self._add(name, BatchNorm(width, dtype=self.dtype.name))
        self.layers.append(nn_np.Activation("relu"))

    def train(self, mode: bool = True) -> CNN:
        """Training mode (batch norm uses and updates batch statistics) or, with False, eval."""
        self.training = bool(mode)
        for layer in self.layers:
            if isinstance(layer, BatchNorm):
                layer.train(mode)
        return self

    def eval(self) -> CNN:
        return self.train(False)

    training = True

    def forward(self, x: np.ndarray) -> np.ndarray:
        """(B, C, H, W) -> (B, K) logits."""
        x = as_float_array(x, "x").astype(self.dtype, copy=False)
        check_images(x.shape, self.config)
        for layer in self.layers:
            x = layer.forward(x)
        return x

    __call__ = forward

    def backward(self, grad_logits: np.ndarray) -> None:
        """Backpropagate dL/dlogits through every layer, last to first (gradients in the layers).

        The first conv layer does not compute dL/dx: nothing upstream of the images learns.
        """
        g = grad_logits
        for layer in reversed(self.layers):
            g = layer.backward(g)

    def parameters(self) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """(canonical name, array, gradient) of every trained parameter, in canonical order."""
        out = []
        for name in weight_shapes(self.config):
            prefix, key = name.split(".")
            layer = self.named[prefix]
            out.append((name, layer.params[key], layer.grads[key]))
        return out

    def zero_grad(self) -> None:
        for _, _, g in self.parameters():
            g.fill(0.0)

    def get_weights(self) -> dict[str, np.ndarray]:
        """Copies of every parameter and buffer, in the canonical layout."""
        out = {name: p.copy() for name, p, _ in self.parameters()}
        for name in buffer_shapes(self.config):
            prefix, key = name.split(".")
            out[name] = getattr(self.named[prefix], key).copy()
        return out

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Load canonical weights and buffers (names and shapes checked before any copy)."""
        expected = {**weight_shapes(self.config), **buffer_shapes(self.config)}
        check_weights(weights, expected)
        for name, p, _ in self.parameters():
            p[...] = weights[name]
        for name in buffer_shapes(self.config):
            prefix, key = name.split(".")
            getattr(self.named[prefix], key)[...] = weights[name]

    def get_grads(self) -> dict[str, np.ndarray]:
        """The accumulated gradients, named as in :meth:`get_weights` (no buffers)."""
        return {name: g.copy() for name, _, g in self.parameters()}


# ---------------------------------------------------------------------------
# The shared training API (see dlbook.cnn)
# ---------------------------------------------------------------------------


def _eval_logits(model: CNN, x: np.ndarray) -> np.ndarray:
    """Logits in evaluation mode; the model's mode is restored afterwards."""
    was_training = model.training
    model.eval()
    try:
        return model.forward(x)
    finally:
        model.train(was_training)


def forward_backward(model: CNN, x: np.ndarray, y: np.ndarray) -> float:
    """Zero the gradients, run forward and backward; the gradients land in the layers."""
    model.zero_grad()
    logits = model.forward(x)  # (B, K)
    loss = nn_np.cross_entropy(logits, y)
    model.backward(nn_np.cross_entropy_backward(logits, y))
    return loss


def loss_and_grads(model: CNN, x: np.ndarray, y: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
    """Cross-entropy of ``model`` on (x, y) and its gradient for every weight (current mode)."""
    loss = forward_backward(model, x, y)
    return loss, model.get_grads()


def evaluate_loss(model: CNN, x: np.ndarray, y: np.ndarray) -> float:
    """Mean cross-entropy in evaluation mode, without touching any gradient."""
    return nn_np.cross_entropy(_eval_logits(model, x), y)


def predict(model: CNN, x: np.ndarray) -> np.ndarray:
    """Class index of each image of x (B, C, H, W), in evaluation mode."""
    return _eval_logits(model, x).argmax(axis=1)


def predict_proba(model: CNN, x: np.ndarray) -> np.ndarray:
    """Softmax probabilities (B, K) of each image, in evaluation mode."""
    return nn_np.softmax(_eval_logits(model, x), axis=1)


def make_optimizer(model: CNN, config: Any) -> Any:
    """The from-scratch ``config.optimizer`` over the parameters, in canonical order."""
    from dlbook.optim import numpy_backend as optim

    params = [p for _, p, _ in model.parameters()]
    return optim.make(config.optimizer, params, **config.optimizer_hparams())


def train_step(model: CNN, optimizer: Any, x: np.ndarray, y: np.ndarray) -> float:
    """Forward, backward, one optimizer step in training mode; returns the batch loss."""
    check_labels(np.asarray(y), len(y), model.config.n_classes)
    model.train()
    loss = forward_backward(model, x, y)
    optimizer.step([g for _, _, g in model.parameters()])
    return loss
