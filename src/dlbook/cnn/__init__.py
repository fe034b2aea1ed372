"""Convolutional networks, in three backends with one API (chapter 3).

Pick a backend module; all three export the same names::

    from dlbook.cnn import numpy_backend as cnn_np        # from scratch, explicit backward
    from dlbook.cnn import torch_backend as cnn_torch     # torch.nn.Conv2d, F.max_pool2d, ...
    from dlbook.cnn import tensorflow_backend as cnn_tf   # tf.nn.conv2d, tf.nn.max_pool2d, ...
    cnn = dlbook.cnn.backend("torch")                     # the same, by name

Shape legend: B = batch, C = input channels, H, W = height and width of an
image, F = filters (output channels), KH, KW = kernel height and width,
Ho, Wo = output height and width, K = classes.

Shared API (``T`` is the backend's array type: ndarray, torch.Tensor or tf.Tensor):

===========================================  ===========================================
``conv2d(x, W, b, stride=1, padding=0)``     cross-correlation of x (B, C, H, W) with
                                             W (F, C, KH, KW), plus b (F,); zero padding
                                             ``padding`` on every side -> (B, F, Ho, Wo)
``max_pool2d(x, kernel_size, stride=None)``  the maximum of each window (stride defaults
                                             to the kernel size: windows do not overlap)
``avg_pool2d(x, kernel_size, stride=None)``  the mean of each window
``CNN(config, *, seed, dtype)``              conv blocks then dense layers, returning
                                             logits; ``CNN(CNNConfig())`` is the LeNet
``loss_and_grads(model, x, y)``              cross-entropy and every gradient, as a dict
                                             of NumPy arrays in the canonical layout
``evaluate_loss(model, x, y)``               cross-entropy as a float (eval mode)
``predict(model, x)``                        class indices, as a NumPy array (eval mode)
``predict_proba(model, x)``                  softmax probabilities (B, K) (eval mode)
``make_optimizer(model, config)``            ``config.optimizer``, the backend's own
``train_step(model, opt, x, y)``             one step on a batch (train mode); the loss
===========================================  ===========================================

:func:`fit` trains any backend's model with :class:`dlbook.nn.TrainConfig`, with
optional data augmentation; :func:`accuracy` scores it.

``stride`` and ``padding`` are an int or a pair (vertical, horizontal);
``kernel_size`` of a pool likewise. The output size along each axis is
:func:`conv_output_size`, ``floor((n + 2 p - k) / s) + 1``: a remainder that no
window covers is dropped, as in PyTorch and in Keras' ``padding="valid"``.
The NumPy backend adds ``conv2d_backward``, ``max_pool2d_backward`` and
``avg_pool2d_backward``, and ``forward``/``backward`` on its layers.

**Layout: NCHW everywhere in dlbook.** PyTorch stores a batch of images as
(B, C, H, W) ("channels first", NCHW) and a conv weight as (F, C, KH, KW).
TensorFlow and Keras use (B, H, W, C) ("channels last", NHWC) and kernels of
shape (KH, KW, C, F); TensorFlow's CPU kernels implement only NHWC. dlbook picks
one canonical layout, PyTorch's, for every array that crosses its API: inputs,
outputs, weights and gradients are NCHW and (F, C, KH, KW) in all three
backends. The TensorFlow backend converts in one place, the two helpers
``tensorflow_backend.to_tf_layout`` and ``from_tf_layout`` that its conv and
pool functions call (a transpose on the way in, one on the way out). Flattening
before the dense layers reads (C, H, W) in this order, so the dense weights are
the same arrays in every backend too. A Keras ``Conv2D`` kernel is
``W.transpose(2, 3, 1, 0)`` of ours.

**Canonical weight names** of a :class:`CNNConfig` network:
``conv{i}.W`` (F, C, KH, KW), ``conv{i}.b`` (F,); with batch norm ``bn{i}.gamma``,
``bn{i}.beta`` (F,) and the buffers ``bn{i}.running_mean``, ``bn{i}.running_var``;
then ``fc{j}.W`` (in, out) and ``fc{j}.b`` (out,) as in :mod:`dlbook.nn`.
:func:`init_cnn_weights` draws them once in NumPy, so ``CNN(config, seed=0)``
starts from the same weights in every backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from dlbook.nn.init import init_linear_weights
from dlbook.seeding import make_rng


def fit(*args: Any, **kwargs: Any) -> Any:
    """:func:`dlbook.cnn.training.fit`: train a CNN in any backend (imported on first use)."""
    from dlbook.cnn.training import fit as _fit

    return _fit(*args, **kwargs)


def accuracy(backend_name: str, model: Any, x: np.ndarray, y: np.ndarray) -> float:
    """Fraction of images whose predicted class equals ``y`` (see :mod:`dlbook.cnn.training`)."""
    from dlbook.cnn.training import accuracy as _accuracy

    return _accuracy(backend_name, model, x, y)


def backend(name: str) -> ModuleType:
    """The ``dlbook.cnn`` module of a backend: ``"numpy"``, ``"torch"`` or ``"tf"``."""
    from dlbook.backends import load_backend

    return load_backend("cnn", name)


# ---------------------------------------------------------------------------
# Arguments: pairs, output sizes, shapes (checked once, for all three backends)
# ---------------------------------------------------------------------------


def pair(value: Any, name: str, *, minimum: int = 1) -> tuple[int, int]:
    """``value`` as (vertical, horizontal): an int ``k`` means ``(k, k)``."""
    items = value if isinstance(value, (tuple, list)) else (value, value)
    ok = len(items) == 2 and all(
        isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in items
    )
    if not ok or min(items) < minimum:
        raise ValueError(
            f"{name} must be an int >= {minimum} or a pair of them (vertical, horizontal), "
            f"got {value!r}."
        )
    return int(items[0]), int(items[1])


def conv_output_size(n: int, kernel_size: int, stride: int = 1, padding: int = 0) -> int:
    """Number of window positions along one axis: ``floor((n + 2 p - k) / s) + 1``.

    The padded axis has ``n + 2p`` cells; a window of ``k`` cells fits at
    positions 0, s, 2s, ... up to ``n + 2p - k``. Cells beyond the last window
    are dropped (floor), as in PyTorch and Keras' ``padding="valid"``.
    """
    if (n + 2 * padding - kernel_size) < 0:
        raise ValueError(
            f"a kernel of size {kernel_size} does not fit an axis of {n} cells with padding "
            f"{padding}: it needs n + 2 * padding >= kernel_size."
        )
    return (n + 2 * padding - kernel_size) // stride + 1


def check_conv_shapes(
    x_shape: Sequence[int],
    w_shape: Sequence[int],
    b_shape: Sequence[int],
    stride: tuple[int, int],
    padding: tuple[int, int],
) -> tuple[int, int, int, int]:
    """Return the output shape (B, F, Ho, Wo) of ``conv2d``, after checking every input shape."""
    x_shape, w_shape, b_shape = tuple(x_shape), tuple(w_shape), tuple(b_shape)
    if len(x_shape) != 4:
        raise ValueError(
            f"conv2d expects x of shape (B, C, H, W) (channels first, as PyTorch), got {x_shape}. "
            "A single image needs a batch axis: x[None]; a grey image a channel axis: x[:, None]."
        )
    if len(w_shape) != 4:
        raise ValueError(f"conv2d expects W of shape (F, C, KH, KW), got {w_shape}.")
    B, C, H, W = x_shape
    F, C_w, KH, KW = w_shape
    if C_w != C:
        hint = " Is x channels-last (B, H, W, C)? dlbook uses (B, C, H, W)." if W == C_w else ""
        raise ValueError(
            f"x has {C} channels (shape {x_shape}) but W expects {C_w} (shape {w_shape}); "
            f"W's second axis must equal x's second axis.{hint}"
        )
    if b_shape != (F,):
        raise ValueError(f"b must have shape ({F},), one bias per filter, got {b_shape}.")
    Ho = conv_output_size(H, KH, stride[0], padding[0])
    Wo = conv_output_size(W, KW, stride[1], padding[1])
    return B, F, Ho, Wo


def check_pool_shapes(
    x_shape: Sequence[int], kernel: tuple[int, int], stride: tuple[int, int]
) -> tuple[int, int, int, int]:
    """Return the output shape (B, C, Ho, Wo) of a pooling layer, after checking x."""
    x_shape = tuple(x_shape)
    if len(x_shape) != 4:
        raise ValueError(f"pooling expects x of shape (B, C, H, W), got {x_shape}.")
    B, C, H, W = x_shape
    return (
        B,
        C,
        conv_output_size(H, kernel[0], stride[0]),
        conv_output_size(W, kernel[1], stride[1]),
    )


def pool_args(kernel_size: Any, stride: Any) -> tuple[tuple[int, int], tuple[int, int]]:
    """(kernel, stride) as pairs; ``stride=None`` means the kernel size (PyTorch's default)."""
    kernel = pair(kernel_size, "kernel_size")
    return kernel, kernel if stride is None else pair(stride, "stride")


# ---------------------------------------------------------------------------
# The network: a configuration, its shapes, its parameters and initial weights
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CNNConfig:
    """A stack of conv blocks, then dense layers. The defaults are the seed's LeNet."""

    in_channels: int = 3  # colour channels of the input images
    image_size: int = 32  # height = width of the input images
    channels: tuple[int, ...] = (6, 16)  # filters of each conv layer
    kernel_size: int = 5  # every conv kernel is kernel_size x kernel_size
    padding: int = 0  # zero padding of every conv (kernel_size // 2 keeps the size)
    pool_every: int = 1  # a 2x2 pool (stride 2) after every pool_every-th conv layer
    pool: str = "max"  # "max" or "avg" pooling
    hidden: tuple[int, ...] = (120, 84)  # widths of the dense layers before the logits
    n_classes: int = 10  # number of classes (width of the logits)
    batch_norm: bool = False  # batch norm after every conv and hidden dense layer, pre-ReLU

    def __post_init__(self) -> None:
        for name in ("in_channels", "image_size", "kernel_size", "pool_every", "n_classes"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"CNNConfig.{name} must be a positive int, got {value!r}.")
        if not isinstance(self.padding, int) or self.padding < 0:
            raise ValueError(f"CNNConfig.padding must be an int >= 0, got {self.padding!r}.")
        for name in ("channels", "hidden"):
            value = getattr(self, name)
            if not isinstance(value, tuple) or not all(isinstance(v, int) and v > 0 for v in value):
                raise ValueError(
                    f"CNNConfig.{name} must be a tuple of positive ints, got {value!r}."
                )
        if not self.channels:
            raise ValueError("CNNConfig.channels needs at least one conv layer.")
        if self.pool not in ("max", "avg"):
            raise ValueError(f"CNNConfig.pool must be 'max' or 'avg', got {self.pool!r}.")
        feature_shapes(self)  # raises if the image shrinks to nothing

    def pools_after(self, i: int) -> bool:
        """Whether conv layer ``i`` (from 0) is followed by a 2x2 pool."""
        return (i + 1) % self.pool_every == 0


def feature_shapes(config: CNNConfig) -> list[tuple[str, tuple[int, ...]]]:
    """(layer name, output shape of one example) through the network, input first."""
    c, n = config.in_channels, config.image_size
    shapes: list[tuple[str, tuple[int, ...]]] = [("input", (c, n, n))]
    for i, f in enumerate(config.channels):
        n = conv_output_size(n, config.kernel_size, 1, config.padding)
        c = f
        shapes.append((f"conv{i}", (c, n, n)))
        if config.pools_after(i):
            if n < 2:
                raise ValueError(
                    f"CNNConfig: the feature maps are {n}x{n} before pool {i}; the image is "
                    "too small for this many conv and pool layers."
                )
            n = conv_output_size(n, 2, 2)
            shapes.append((f"pool{i}", (c, n, n)))
    shapes.append(("flatten", (c * n * n,)))
    for j, h in enumerate((*config.hidden, config.n_classes)):
        shapes.append((f"fc{j}", (h,)))
    return shapes


def weight_shapes(config: CNNConfig) -> dict[str, tuple[int, ...]]:
    """The canonical name and shape of every parameter (batch-norm buffers excluded)."""
    shapes: dict[str, tuple[int, ...]] = {}
    c, k = config.in_channels, config.kernel_size
    for i, f in enumerate(config.channels):
        shapes[f"conv{i}.W"], shapes[f"conv{i}.b"] = (f, c, k, k), (f,)
        if config.batch_norm:
            shapes[f"bn{i}.gamma"], shapes[f"bn{i}.beta"] = (f,), (f,)
        c = f
    d = feature_shapes(config)[-len(config.hidden) - 2][1][0]  # the flattened width
    n_conv = len(config.channels)
    for j, h in enumerate((*config.hidden, config.n_classes)):
        shapes[f"fc{j}.W"], shapes[f"fc{j}.b"] = (d, h), (h,)
        if config.batch_norm and j < len(config.hidden):
            shapes[f"bn{n_conv + j}.gamma"], shapes[f"bn{n_conv + j}.beta"] = (h,), (h,)
        d = h
    return shapes


def buffer_shapes(config: CNNConfig) -> dict[str, tuple[int, ...]]:
    """The batch-norm running statistics: state, not trained by the optimizer."""
    out: dict[str, tuple[int, ...]] = {}
    for name, shape in weight_shapes(config).items():
        if name.endswith(".gamma"):
            bn = name.removesuffix(".gamma")
            out[f"{bn}.running_mean"], out[f"{bn}.running_var"] = shape, shape
    return out


def n_params(config: CNNConfig) -> int:
    """Number of trained parameters (weights, biases, batch-norm gamma and beta)."""
    return sum(int(np.prod(s)) for s in weight_shapes(config).values())


def init_cnn_weights(
    config: CNNConfig, *, seed: int | np.random.Generator = 0, dtype: str = "float64"
) -> dict[str, np.ndarray]:
    """Initial weights and buffers in the canonical layout, drawn once for every backend.

    Conv kernels: He normal, ``W ~ N(0, 2 / fan_in)`` with ``fan_in = C KH KW``;
    hidden dense layers He normal too, the logit layer gain 1 (as :mod:`dlbook.nn`);
    biases 0; batch norm ``gamma = 1``, ``beta = 0``, running mean 0 and variance 1.
    """
    rng = make_rng(seed)
    out: dict[str, np.ndarray] = {}
    n_dense = len(config.hidden) + 1
    for name, shape in weight_shapes(config).items():
        if name.startswith("conv") and name.endswith(".W"):
            fan_in = shape[1] * shape[2] * shape[3]
            out[name] = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape).astype(dtype)
        elif name.startswith("fc") and name.endswith(".W"):
            gain = 1.0 if name == f"fc{n_dense - 1}.W" else np.sqrt(2.0)
            out[name] = init_linear_weights(*shape, rng, gain=gain, dtype=dtype)[0]
        else:
            out[name] = (np.ones if name.endswith(".gamma") else np.zeros)(shape, dtype=dtype)
    for name, shape in buffer_shapes(config).items():
        out[name] = (np.ones if name.endswith("var") else np.zeros)(shape, dtype=dtype)
    return out


def check_weights(weights: dict[str, Any], expected: dict[str, tuple[int, ...]]) -> None:
    """Refuse a weight dict with a missing name or a wrong shape, before anything is copied."""
    for key, shape in expected.items():
        got = tuple(np.shape(weights[key])) if key in weights else None
        if got != tuple(shape):
            raise ValueError(f"set_weights: expected {key} of shape {tuple(shape)}, got {got}.")


def check_images(x_shape: Sequence[int], config: CNNConfig) -> None:
    """A network built for ``config`` takes images of shape (B, C, N, N)."""
    c, n = config.in_channels, config.image_size
    if tuple(x_shape)[1:] != (c, n, n) or len(x_shape) != 4:
        hint = ""
        if len(x_shape) == 4 and tuple(x_shape)[1:] == (n, n, c):
            hint = " It looks channels-last (B, H, W, C): use x.transpose(0, 3, 1, 2)."
        raise ValueError(
            f"this CNN expects images of shape (B, {c}, {n}, {n}), got {tuple(x_shape)}.{hint}"
        )


# ---------------------------------------------------------------------------
# Receptive fields, and a dense network of the same size
# ---------------------------------------------------------------------------


def receptive_fields(layers: Sequence[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """(name, receptive field, jump) after each ``(name, kernel, stride)`` layer.

    One output unit of a layer sees ``r`` input pixels along each axis, and two
    neighbouring units are ``j`` input pixels apart. A layer with kernel ``k``
    and stride ``s`` grows them as::

        r_out = r_in + (k - 1) j_in,     j_out = j_in s,     starting at r = j = 1.

    Padding shifts where a field sits, not its size.
    """
    r, j = 1, 1
    out = []
    for name, k, s in layers:
        r, j = r + (k - 1) * j, j * s
        out.append((name, r, j))
    return out


def cnn_layers(config: CNNConfig) -> list[tuple[str, int, int]]:
    """The (name, kernel, stride) of every conv and pool layer of ``config``."""
    layers = []
    for i in range(len(config.channels)):
        layers.append((f"conv{i}", config.kernel_size, 1))
        if config.pools_after(i):
            layers.append((f"pool{i}", 2, 2))
    return layers


def mlp_width_for(n_target: int, d_in: int, n_classes: int) -> int:
    """The hidden width h whose MLP [d_in, h, n_classes] has closest to ``n_target`` parameters.

    Such an MLP has ``(d_in + 1) h + (h + 1) n_classes`` parameters.
    """
    h = (n_target - n_classes) / (d_in + 1 + n_classes)
    return max(1, int(round(h)))


__all__ = [
    "CNNConfig",
    "accuracy",
    "fit",
    "backend",
    "buffer_shapes",
    "check_conv_shapes",
    "check_images",
    "check_pool_shapes",
    "check_weights",
    "cnn_layers",
    "conv_output_size",
    "feature_shapes",
    "init_cnn_weights",
    "mlp_width_for",
    "n_params",
    "pair",
    "pool_args",
    "receptive_fields",
    "weight_shapes",
]
