"""Batch norm: finite-difference gradients, train and eval modes, running statistics, parity.

Float64 parity across the three backends: outputs within 1e-10 and gradients
within 1e-8 of ``batch_norm_backward``; conventions as PyTorch's
``nn.BatchNorm2d`` (momentum 0.1, unbiased running variance, eps 1e-5).
"""

from __future__ import annotations

import numpy as np
import pytest

from dlbook.backends import BACKENDS, load_backend
from dlbook.gradcheck import check_gradient
from dlbook.normalization import numpy_backend as norm_np
from tests.normalization.test_parity import to_numpy, vjp

FRAMEWORKS = tuple(b for b in BACKENDS if b != "numpy")
SHAPES = [(6, 3), (4, 3, 5, 5), (3, 2, 7, 4), (2, 4, 3)]  # (B, C), images, odd sizes, (B, C, L)


def norm(backend: str):
    return load_backend("normalization", backend)


def _data(shape, seed=0):
    rng = np.random.default_rng(seed + sum(shape))
    C = shape[1]
    x = 3.0 * rng.normal(size=shape) + rng.normal(size=(1, C) + (1,) * (len(shape) - 2)) * 5
    stats = (rng.normal(size=C), rng.uniform(0.5, 2.0, size=C))  # running mean, var
    return x, rng.normal(size=C), rng.normal(size=C), stats, rng.normal(size=shape)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_channels_come_out_standardised(shape) -> None:
    x = _data(shape)[0]
    C = shape[1]
    y = norm_np.batch_norm(x, np.ones(C), np.zeros(C))
    axes = (0, *range(2, len(shape)))
    np.testing.assert_allclose(y.mean(axis=axes), 0.0, atol=1e-12)
    var = x.var(axis=axes)
    np.testing.assert_allclose(y.var(axis=axes), var / (var + 1e-5), rtol=1e-10)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_batch_norm_backward_passes_finite_differences(shape) -> None:
    x, gamma, beta, _, g = _data(shape, seed=1)
    dx, dgamma, dbeta = norm_np.batch_norm_backward(x, gamma, g)
    check_gradient(lambda a: np.sum(norm_np.batch_norm(a, gamma, beta) * g), x, dx, tol=1e-7)
    check_gradient(lambda a: np.sum(norm_np.batch_norm(x, a, beta) * g), gamma, dgamma, tol=1e-7)
    check_gradient(lambda a: np.sum(norm_np.batch_norm(x, gamma, a) * g), beta, dbeta, tol=1e-7)


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_layer_backward_passes_finite_differences_in_both_modes(training) -> None:
    x, gamma, beta, (mean, var), g = _data((4, 3, 5, 5), seed=2)
    bn = norm_np.BatchNorm(3, dtype="float64").train(training)
    w = {"gamma": gamma, "beta": beta, "running_mean": mean, "running_var": var}

    def loss(a):
        bn.set_weights(w)
        return np.sum(bn.forward(a) * g)

    loss(x)
    dx = bn.backward(g)
    check_gradient(loss, x.copy(), dx, tol=1e-7)


def test_eval_mode_uses_the_running_statistics_and_ignores_the_batch() -> None:
    x, gamma, beta, (mean, var), _ = _data((5, 3, 4, 4), seed=3)
    bn = norm_np.BatchNorm(3, dtype="float64")
    bn.set_weights({"gamma": gamma, "beta": beta, "running_mean": mean, "running_var": var})
    bn.eval()
    y = bn(x)
    expected = (x - mean[:, None, None]) / np.sqrt(var[:, None, None] + 1e-5)
    np.testing.assert_allclose(y, gamma[:, None, None] * expected + beta[:, None, None])
    np.testing.assert_allclose(bn(x[:1]), y[:1])  # one example alone: the same output
    np.testing.assert_array_equal(bn.running_mean, mean)  # eval does not update


def test_running_statistics_follow_torchs_rule() -> None:
    x = _data((8, 3, 2, 2), seed=4)[0]
    mean, var = norm_np.update_running_stats(x, np.zeros(3), np.ones(3), momentum=0.1)
    axes, n = (0, 2, 3), 8 * 2 * 2
    np.testing.assert_allclose(mean, 0.1 * x.mean(axis=axes))
    np.testing.assert_allclose(var, 0.9 + 0.1 * x.var(axis=axes) * n / (n - 1))  # unbiased


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("backend", FRAMEWORKS)
def test_training_mode_output_and_gradients_match(backend, shape) -> None:
    x, gamma, beta, _, g = _data(shape)
    out, grads = vjp(backend, norm(backend).batch_norm, [x, gamma, beta], g)
    np.testing.assert_allclose(out, norm_np.batch_norm(x, gamma, beta), rtol=0, atol=1e-10)
    want = norm_np.batch_norm_backward(x, gamma, g)
    for name, got, w in zip(("dx", "dgamma", "dbeta"), grads, want, strict=True):
        np.testing.assert_allclose(got, w, rtol=0, atol=1e-8, err_msg=name)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("backend", FRAMEWORKS)
def test_eval_mode_and_running_statistics_match(backend, shape) -> None:
    x, gamma, beta, (mean, var), _ = _data(shape)
    got = to_numpy(norm(backend).batch_norm_eval(x, gamma, beta, mean, var))
    np.testing.assert_allclose(got, norm_np.batch_norm_eval(x, gamma, beta, mean, var), atol=1e-10)
    new = norm(backend).update_running_stats(x, mean, var, 0.3)
    for got, want in zip(new, norm_np.update_running_stats(x, mean, var, 0.3), strict=True):
        np.testing.assert_allclose(to_numpy(got), want, rtol=0, atol=1e-10)


@pytest.mark.parametrize("backend", BACKENDS)
def test_layers_agree_over_training_steps_then_in_eval(backend) -> None:
    x, gamma, beta, _, _ = _data((6, 3, 4, 4), seed=5)
    layers = {b: norm(b).BatchNorm(3, dtype="float64") for b in ("numpy", backend)}
    for bn in layers.values():
        bn.set_weights({**bn.get_weights(), "gamma": gamma, "beta": beta})
        for k in range(3):
            bn(x[2 * k : 2 * k + 2] + k)  # three training batches
        bn.eval()
    w_ref, w = layers["numpy"].get_weights(), layers[backend].get_weights()
    for key in w_ref:
        np.testing.assert_allclose(w[key], w_ref[key], rtol=0, atol=1e-12, err_msg=key)
    np.testing.assert_allclose(to_numpy(layers[backend](x)), layers["numpy"](x), atol=1e-10)
    assert layers[backend].training is False


def test_torch_layer_is_torch_batch_norm() -> None:
    import torch

    x = _data((4, 3, 5, 5), seed=6)[0]
    ours, theirs = norm("torch").BatchNorm(3, dtype="float64"), torch.nn.BatchNorm2d(3).double()
    for _ in range(2):
        np.testing.assert_allclose(to_numpy(ours(x)), to_numpy(theirs(torch.tensor(x))), atol=1e-12)
    np.testing.assert_allclose(to_numpy(ours.running_var), to_numpy(theirs.running_var), atol=1e-12)
    assert theirs.momentum == 0.1 and theirs.eps == 1e-5


def test_keras_batch_normalization_differs_as_documented() -> None:
    """Keras: momentum counts the old value, epsilon 1e-3, biased moving variance, axis=-1."""
    pytest.importorskip("tensorflow")
    import keras

    assert keras.layers.BatchNormalization().momentum == 0.99
    assert keras.layers.BatchNormalization().epsilon == 1e-3
    x, gamma, beta, _, _ = _data((8, 3, 2, 2), seed=7)
    layer = keras.layers.BatchNormalization(axis=1, momentum=0.9, epsilon=1e-5, dtype="float64")
    layer.build(x.shape)
    layer.gamma.assign(gamma)
    layer.beta.assign(beta)
    y = np.asarray(layer(x, training=True))
    np.testing.assert_allclose(y, norm_np.batch_norm(x, gamma, beta), rtol=0, atol=1e-10)
    mean, var = norm_np.update_running_stats(x, np.zeros(3), np.ones(3), momentum=0.1)
    np.testing.assert_allclose(np.asarray(layer.moving_mean), mean, atol=1e-10)
    n, biased = 32, 0.9 + 0.1 * x.var(axis=(0, 2, 3))
    np.testing.assert_allclose(np.asarray(layer.moving_variance), biased, atol=1e-10)
    assert not np.allclose(biased, var)  # ours (torch's) is unbiased: x n / (n - 1)
    np.testing.assert_allclose(var - 0.9, (biased - 0.9) * n / (n - 1))


@pytest.mark.parametrize("backend", BACKENDS)
def test_messages_speak_to_a_learner(backend) -> None:
    x = np.ones((4, 3, 5, 5))
    with pytest.raises(ValueError, match=r"gamma has shape \(5,\) .* channels-last"):
        norm(backend).batch_norm(x, np.ones(5), np.zeros(3))
    with pytest.raises(ValueError, match="more than one value per channel"):
        norm(backend).batch_norm(np.ones((1, 3)), np.ones(3), np.zeros(3))
    with pytest.raises(ValueError, match=r"momentum must lie in \(0, 1\]"):
        norm(backend).BatchNorm(3, momentum=0.99 * 2)
    with pytest.raises(ValueError, match="number of channels"):
        norm(backend).BatchNorm(0)
