"""The from-scratch convolution and pooling: shapes, finite-difference gradients, messages."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from dlbook import cnn
from dlbook.cnn import numpy_backend as cnn_np
from dlbook.gradcheck import check_gradient

# (x shape, W shape, stride, padding): non-square kernels, stride 2, odd image sizes
CONV_CASES = [
    ((2, 3, 7, 7), (4, 3, 3, 3), 1, 0),
    ((2, 3, 9, 7), (4, 3, 3, 2), 2, 1),
    ((1, 2, 8, 11), (3, 2, 2, 5), (2, 1), (0, 2)),
    ((3, 1, 5, 5), (2, 1, 5, 5), 1, 2),
    ((2, 2, 6, 6), (2, 2, 1, 1), 2, 0),
]
# (x shape, kernel, stride)
POOL_CASES = [
    ((2, 3, 8, 8), 2, None),
    ((2, 2, 7, 9), 2, None),  # odd sizes: the last row and column are dropped
    ((1, 2, 9, 7), 3, 2),  # overlapping windows
    ((2, 1, 6, 9), (2, 3), (1, 2)),  # non-square kernel and stride
]


def _conv_data(x_shape, w_shape, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=x_shape), rng.normal(size=w_shape), rng.normal(size=w_shape[0])


@pytest.mark.parametrize("x_shape, w_shape, stride, padding", CONV_CASES, ids=str)
def test_conv2d_matches_the_definition(x_shape, w_shape, stride, padding) -> None:
    """The vectorised conv equals the sum in its docstring, written as loops over outputs."""
    x, W, b = _conv_data(x_shape, w_shape)
    y = cnn_np.conv2d(x, W, b, stride, padding)
    (sh, sw), (ph, pw) = cnn.pair(stride, "s"), cnn.pair(padding, "p", minimum=0)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    KH, KW = W.shape[2:]
    expected = np.zeros(y.shape)
    for h in range(y.shape[2]):
        for w in range(y.shape[3]):
            patch = xp[:, :, h * sh : h * sh + KH, w * sw : w * sw + KW]  # (B, C, KH, KW)
            expected[:, :, h, w] = np.einsum("bcij,fcij->bf", patch, W) + b
    np.testing.assert_allclose(y, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("x_shape, w_shape, stride, padding", CONV_CASES, ids=str)
def test_conv2d_backward_passes_finite_differences(x_shape, w_shape, stride, padding) -> None:
    x, W, b = _conv_data(x_shape, w_shape, seed=1)
    g = np.random.default_rng(2).normal(size=cnn_np.conv2d(x, W, b, stride, padding).shape)
    dx, dW, db = cnn_np.conv2d_backward(x, W, g, stride, padding)

    def loss(x_, W_, b_):
        return np.sum(cnn_np.conv2d(x_, W_, b_, stride, padding) * g)

    check_gradient(lambda a: loss(a, W, b), x, dx, tol=1e-7)
    check_gradient(lambda a: loss(x, a, b), W, dW, tol=1e-7)
    check_gradient(lambda a: loss(x, W, a), b, db, tol=1e-7)


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("x_shape, kernel, stride", POOL_CASES, ids=str)
def test_pool_backward_passes_finite_differences(kind, x_shape, kernel, stride) -> None:
    x = np.random.default_rng(3).normal(size=x_shape)  # distinct values: no ties at the max
    pool = getattr(cnn_np, f"{kind}_pool2d")
    back = getattr(cnn_np, f"{kind}_pool2d_backward")
    g = np.random.default_rng(4).normal(size=pool(x, kernel, stride).shape)
    dx = back(x, g, kernel, stride)
    check_gradient(lambda a: np.sum(pool(a, kernel, stride) * g), x, dx, tol=1e-7)


def test_max_pool_gradient_goes_to_the_arg_max_only() -> None:
    x = np.array([[[[1.0, 5.0, 2.0], [3.0, 4.0, 9.0], [0.0, 0.0, 0.0]]]])  # (1, 1, 3, 3)
    dx = cnn_np.max_pool2d_backward(x, np.array([[[[7.0]]]]), 2)
    expected = np.zeros_like(x)
    expected[0, 0, 0, 1] = 7.0  # 5 wins the top-left 2x2 window; the 9 is outside it
    np.testing.assert_array_equal(dx, expected)


def test_avg_pool_gradient_is_shared_equally() -> None:
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    dx = cnn_np.avg_pool2d_backward(x, np.ones((1, 1, 2, 2)), 2)
    np.testing.assert_array_equal(dx, np.full_like(x, 0.25))


def test_convolution_is_translation_equivariant() -> None:
    """Shifting the input shifts the output (away from the borders): the property of the chapter."""
    rng = np.random.default_rng(5)
    x, W, b = np.zeros((1, 1, 12, 12)), rng.normal(size=(2, 1, 3, 3)), np.zeros(2)
    x[0, 0, 3:6, 2:5] = rng.normal(size=(3, 3))
    y0 = cnn_np.conv2d(x, W, b)
    y1 = cnn_np.conv2d(np.roll(x, (2, 3), axis=(2, 3)), W, b)
    np.testing.assert_allclose(np.roll(y0, (2, 3), axis=(2, 3)), y1, atol=1e-12)


def test_layer_caches_and_accumulates() -> None:
    x, W, b = _conv_data((2, 3, 6, 6), (4, 3, 3, 3), seed=6)
    layer = cnn_np.Conv2d(W.copy(), b.copy(), stride=1, padding=1)
    g = np.random.default_rng(7).normal(size=(2, 4, 6, 6))
    y = layer.forward(x)
    np.testing.assert_allclose(y, cnn_np.conv2d(x, W, b, 1, 1), atol=1e-12)
    dx = layer.backward(g)
    layer.backward(g)
    expected = cnn_np.conv2d_backward(x, W, g, 1, 1)
    np.testing.assert_allclose(dx, expected[0], atol=1e-12)
    np.testing.assert_allclose(layer.grads["W"], 2 * expected[1], atol=1e-12)
    first = cnn_np.Conv2d(W, b, input_grad=False)
    first.forward(x)
    assert first.backward(np.ones((2, 4, 4, 4))) is None


def test_whole_network_gradient_passes_finite_differences() -> None:
    """A small CNN with batch norm and avg pooling: every parameter's gradient, by differences."""
    config = cnn.CNNConfig(
        in_channels=2,
        image_size=9,
        channels=(3, 4),
        kernel_size=3,
        padding=1,
        pool="avg",
        hidden=(5,),
        n_classes=3,
        batch_norm=True,
    )
    model = cnn_np.CNN(config, seed=0, dtype="float64")
    rng = np.random.default_rng(8)
    x, y = rng.normal(size=(4, 2, 9, 9)), rng.integers(0, 3, size=4)
    _, grads = cnn_np.loss_and_grads(model, x, y)
    weights = model.get_weights()
    for name in ("conv0.W", "bn0.gamma", "conv1.W", "bn1.beta", "fc0.W", "bn2.gamma", "fc1.b"):

        def loss(a, name=name):
            model.set_weights({**weights, name: a})
            return cnn_np.nn_np.cross_entropy(model.forward(x), y)

        check_gradient(loss, weights[name].copy(), grads[name], tol=1e-6)
    # a conv bias followed by batch norm is subtracted again with the mean: gradient 0
    np.testing.assert_allclose(grads["conv1.b"], 0.0, atol=1e-12)


def test_lenet_has_the_seed_shapes_and_parameter_count() -> None:
    config = cnn.CNNConfig()
    shapes = dict(cnn.feature_shapes(config))
    assert shapes["pool0"] == (6, 14, 14) and shapes["flatten"] == (400,)
    assert cnn.n_params(config) == 456 + 2416 + 48120 + 10164 + 850
    logits = cnn_np.CNN(config, seed=0)(np.zeros((2, 3, 32, 32), dtype=np.float32))
    assert logits.shape == (2, 10) and logits.dtype == np.float32


def test_output_size_and_receptive_field_arithmetic() -> None:
    assert cnn.conv_output_size(32, 5) == 28
    assert cnn.conv_output_size(7, 3, 2) == 3  # floor((7 - 3) / 2) + 1
    assert cnn.conv_output_size(224, 11, 4, 2) == 55  # AlexNet's first layer
    fields = cnn.receptive_fields(cnn.cnn_layers(cnn.CNNConfig()))
    assert [(r, j) for _, r, j in fields] == [(5, 1), (6, 2), (14, 2), (16, 4)]


def test_mlp_width_for_equal_parameters() -> None:
    h = cnn.mlp_width_for(cnn.n_params(cnn.CNNConfig()), 3072, 10)
    assert abs((3072 + 1) * h + (h + 1) * 10 - 62006) < 3072 + 11


def test_messages_speak_to_a_learner() -> None:
    x, W, b = _conv_data((2, 3, 8, 8), (4, 3, 3, 3))
    with pytest.raises(ValueError, match=r"x has 8 channels .* W expects 3"):
        cnn_np.conv2d(x.transpose(0, 2, 3, 1), W, b)
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        cnn_np.conv2d(x[0], W, b)
    with pytest.raises(ValueError, match=r"b must have shape \(4,\)"):
        cnn_np.conv2d(x, W, b[:2])
    with pytest.raises(ValueError, match="does not fit"):
        cnn_np.conv2d(x[:, :, :2], W, b)
    with pytest.raises(ValueError, match="stride must be an int >= 1"):
        cnn_np.conv2d(x, W, b, stride=0)
    with pytest.raises(ValueError, match="grad_out has shape"):
        cnn_np.conv2d_backward(x, W, np.ones((2, 4, 3, 3)))
    with pytest.raises(ValueError, match="channels-last"):
        cnn_np.CNN(cnn.CNNConfig())(np.zeros((1, 32, 32, 3)))
    with pytest.raises(ValueError, match="does not fit an axis of 1 cells"):
        cnn.CNNConfig(image_size=16, channels=(4, 4, 4))
    with pytest.raises(ValueError, match=r"expected conv0.W of shape \(6, 3, 5, 5\)"):
        cnn_np.CNN().set_weights({})


@pytest.mark.parametrize("module", ["dlbook.cnn", "dlbook.cnn.numpy_backend", "dlbook.data.images"])
def test_import_does_not_load_frameworks(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        "print(','.join(m for m in ('torch', 'tensorflow', 'keras') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"import {module} loaded {out.stdout.strip()}"
