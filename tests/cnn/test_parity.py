"""The three backends of ``dlbook.cnn`` compute the same convolutions, pools and networks.

Float64: outputs within 1e-10 and gradients (torch autograd, ``tf.GradientTape``)
within 1e-8 of the hand-written NumPy backward passes, both absolute; PyTorch's
``nn.Conv2d`` / ``F.max_pool2d`` and Keras' ``Conv2D`` / ``MaxPooling2D`` agree too.
The cases include non-square kernels, stride 2 and odd image sizes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from dlbook import cnn
from dlbook.backends import BACKENDS, load_backend
from dlbook.cnn import numpy_backend as cnn_np
from dlbook.nn import TrainConfig
from tests.cnn.test_numpy_backend import CONV_CASES, POOL_CASES

FRAMEWORKS = tuple(b for b in BACKENDS if b != "numpy")
OUT_TOL, GRAD_TOL = 1e-10, 1e-8


def to_numpy(t: Any) -> np.ndarray:
    if hasattr(t, "detach"):
        t = t.detach().cpu()
    return np.asarray(t.numpy() if hasattr(t, "numpy") else t)


def vjp(backend: str, fn: Callable[..., Any], inputs: list[np.ndarray], g: np.ndarray):
    """Output of ``fn(*inputs)`` and the vector-Jacobian products g . d fn / d input_i."""
    if backend == "torch":
        import torch

        from dlbook.device import get_device

        ts = [torch.tensor(a, device=get_device(), requires_grad=True) for a in inputs]
        out = fn(*ts)
        out.backward(torch.as_tensor(g, device=out.device))
        return to_numpy(out), [to_numpy(t.grad) for t in ts]
    import tensorflow as tf

    ts = [tf.constant(a) for a in inputs]
    with tf.GradientTape() as tape:
        tape.watch(ts)
        out = fn(*ts)
    grads = tape.gradient(out, ts, output_gradients=tf.constant(g))
    return to_numpy(out), [to_numpy(d) for d in grads]


def _conv_data(x_shape, w_shape):
    rng = np.random.default_rng(sum(x_shape) + sum(w_shape))
    x, W, b = rng.normal(size=x_shape), rng.normal(size=w_shape), rng.normal(size=w_shape[0])
    return x, W, b


@pytest.mark.parametrize("x_shape, w_shape, stride, padding", CONV_CASES, ids=str)
@pytest.mark.parametrize("backend", FRAMEWORKS)
def test_conv2d_forward_and_gradients_match(backend, x_shape, w_shape, stride, padding) -> None:
    x, W, b = _conv_data(x_shape, w_shape)
    expected = cnn_np.conv2d(x, W, b, stride, padding)
    g = np.random.default_rng(1).normal(size=expected.shape)
    mod = cnn.backend(backend)
    out, grads = vjp(backend, lambda *a: mod.conv2d(*a, stride, padding), [x, W, b], g)
    assert out.dtype == np.float64 and out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=0, atol=OUT_TOL)
    want = cnn_np.conv2d_backward(x, W, g, stride, padding)
    for name, got, w in zip(("dx", "dW", "db"), grads, want, strict=True):
        np.testing.assert_allclose(got, w, rtol=0, atol=GRAD_TOL, err_msg=name)


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("x_shape, kernel, stride", POOL_CASES, ids=str)
@pytest.mark.parametrize("backend", FRAMEWORKS)
def test_pools_match(backend, kind, x_shape, kernel, stride) -> None:
    x = np.random.default_rng(sum(x_shape)).normal(size=x_shape)
    expected = getattr(cnn_np, f"{kind}_pool2d")(x, kernel, stride)
    g = np.random.default_rng(2).normal(size=expected.shape)
    fn = getattr(cnn.backend(backend), f"{kind}_pool2d")
    out, (dx,) = vjp(backend, lambda a: fn(a, kernel, stride), [x], g)
    np.testing.assert_allclose(out, expected, rtol=0, atol=OUT_TOL)
    want = getattr(cnn_np, f"{kind}_pool2d_backward")(x, g, kernel, stride)
    np.testing.assert_allclose(dx, want, rtol=0, atol=GRAD_TOL)


def test_torch_modules_agree() -> None:
    """``nn.Conv2d`` holding our W and b, and ``F.max_pool2d``, give the NumPy outputs."""
    import torch

    x, W, b = _conv_data((2, 3, 9, 8), (4, 3, 3, 2))
    conv = torch.nn.Conv2d(3, 4, (3, 2), stride=2, padding=1, dtype=torch.float64)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor(W))
        conv.bias.copy_(torch.tensor(b))
    y = conv(torch.tensor(x))
    np.testing.assert_allclose(to_numpy(y), cnn_np.conv2d(x, W, b, 2, 1), atol=OUT_TOL)
    p = torch.nn.functional.max_pool2d(torch.tensor(x), 2)
    np.testing.assert_allclose(to_numpy(p), cnn_np.max_pool2d(x, 2), atol=OUT_TOL)


def test_keras_layers_agree_once_the_layout_is_converted() -> None:
    """Keras is channels-last: transpose x to NHWC and W to (KH, KW, C, F); pad by hand."""
    pytest.importorskip("tensorflow")
    import keras

    x, W, b = _conv_data((2, 3, 9, 7), (4, 3, 3, 2))
    conv = keras.layers.Conv2D(4, (3, 2), strides=2, padding="valid", dtype="float64")
    x_nhwc = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1))).transpose(0, 2, 3, 1)
    conv.build(x_nhwc.shape)
    conv.kernel.assign(W.transpose(2, 3, 1, 0))
    conv.bias.assign(b)
    y = np.asarray(conv(x_nhwc)).transpose(0, 3, 1, 2)  # back to NCHW
    np.testing.assert_allclose(y, cnn_np.conv2d(x, W, b, 2, 1), rtol=0, atol=OUT_TOL)
    pool = keras.layers.MaxPooling2D(2, dtype="float64")
    p = np.asarray(pool(x.transpose(0, 2, 3, 1))).transpose(0, 3, 1, 2)
    np.testing.assert_allclose(p, cnn_np.max_pool2d(x, 2), rtol=0, atol=OUT_TOL)


SMALL = cnn.CNNConfig(
    in_channels=3, image_size=12, channels=(4, 6), kernel_size=3, hidden=(16,), n_classes=5
)


@pytest.mark.parametrize("batch_norm", [False, True], ids=["plain", "batch-norm"])
@pytest.mark.parametrize("backend", FRAMEWORKS)
def test_network_loss_and_gradients_match(backend, batch_norm) -> None:
    config = cnn.CNNConfig(**{**SMALL.__dict__, "batch_norm": batch_norm})
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(6, 3, 12, 12)), rng.integers(0, 5, size=6)
    ref_loss, ref_grads = cnn_np.loss_and_grads(cnn_np.CNN(config, seed=1, dtype="float64"), x, y)
    loss, grads = cnn.backend(backend).loss_and_grads(
        cnn.backend(backend).CNN(config, seed=1, dtype="float64"), x, y
    )
    assert abs(loss - ref_loss) < OUT_TOL
    assert grads.keys() == ref_grads.keys()
    for name in ref_grads:
        np.testing.assert_allclose(
            grads[name], ref_grads[name], rtol=0, atol=GRAD_TOL, err_msg=name
        )


@pytest.mark.parametrize(
    "optimizer, backends",
    [("momentum", BACKENDS), ("adam", ("numpy", "torch"))],
    ids=["momentum-3-backends", "adam-numpy-torch"],
)
@pytest.mark.parametrize("batch_norm", [False, True], ids=["plain", "batch-norm"])
def test_lenet_trains_to_the_same_loss_curve_in_every_backend(batch_norm, optimizer, backends):
    """The seed's LeNet from the same initial weights, 4 steps of the same batches, float64.

    Adam is compared between NumPy and PyTorch only: Keras adds Adam's eps to the
    uncorrected sqrt(v) (see :mod:`dlbook.optim`), which moves the weights by about 1e-5.
    """
    config = cnn.CNNConfig(batch_norm=batch_norm)
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(16, 3, 32, 32)), rng.integers(0, 10, size=16)
    train = TrainConfig(optimizer=optimizer, lr=0.01 if optimizer == "momentum" else 1e-3)
    curves, weights = {}, {}
    for backend in backends:
        mod = cnn.backend(backend)
        model = mod.CNN(config, seed=0, dtype="float64")
        opt = mod.make_optimizer(model, train)
        curves[backend] = [mod.train_step(model, opt, x[k::2], y[k::2]) for k in (0, 1, 0, 1)]
        weights[backend] = model.get_weights()
        assert mod.evaluate_loss(model, x, y) < curves[backend][0]  # it learned something
    for backend in backends[1:]:
        np.testing.assert_allclose(curves[backend], curves["numpy"], rtol=0, atol=OUT_TOL)
        for name, w in weights["numpy"].items():
            np.testing.assert_allclose(weights[backend][name], w, rtol=0, atol=1e-10, err_msg=name)


@pytest.mark.parametrize("backend", BACKENDS)
def test_initial_weights_and_predictions_agree(backend) -> None:
    mod = cnn.backend(backend)
    model = mod.CNN(SMALL, seed=7, dtype="float64")
    ref = cnn_np.CNN(SMALL, seed=7, dtype="float64")
    for name, w in ref.get_weights().items():
        np.testing.assert_array_equal(model.get_weights()[name], w)
    x = np.random.default_rng(5).normal(size=(4, 3, 12, 12))
    np.testing.assert_allclose(
        mod.predict_proba(model, x), cnn_np.predict_proba(ref, x), atol=1e-12
    )
    np.testing.assert_array_equal(mod.predict(model, x), cnn_np.predict(ref, x))


@pytest.mark.parametrize("backend", BACKENDS)
def test_messages_are_the_same_in_every_backend(backend) -> None:
    mod = cnn.backend(backend)
    x, W, b = _conv_data((2, 3, 8, 8), (4, 3, 3, 3))
    with pytest.raises(ValueError, match=r"x has 8 channels"):
        mod.conv2d(x.transpose(0, 2, 3, 1), W, b)
    with pytest.raises(ValueError, match="padding must be an int >= 0"):
        mod.conv2d(x, W, b, padding=-1)
    with pytest.raises(ValueError, match="kernel_size must be an int >= 1"):
        mod.max_pool2d(x, 0)
    with pytest.raises(ValueError, match=r"expects images of shape \(B, 3, 12, 12\)"):
        mod.predict(mod.CNN(SMALL), np.zeros((1, 3, 8, 8)))


@pytest.mark.parametrize("backend", BACKENDS)
def test_package_backend_function(backend) -> None:
    assert cnn.backend(backend) is load_backend("cnn", backend)


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_lenet_reaches_the_chapters_accuracy_in_float32(backend) -> None:
    """Chapter 3 trains LeNet with Adam on the 32x32 digits and reports about 98 % test accuracy."""
    from dlbook.data.images import load_digit_images

    data = load_digit_images()
    model = cnn.backend(backend).CNN(cnn.CNNConfig(), seed=0)
    train = TrainConfig(epochs=6, batch_size=64, optimizer="adam", lr=2e-3, progress=False)
    cnn.fit(backend, model, data, train)
    assert cnn.accuracy(backend, model, data.x_test, data.y_test) >= 0.95
