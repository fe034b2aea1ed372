"""Keras' ``compile("adam")`` + ``fit`` equal the book's from-scratch MLP and Adam, in float64.

Inputs are float32-representable because ``fit`` casts float64 arrays to float32
(see :mod:`dlbook.pipelines.tensorflow_backend`); with that, weights agree to 1e-12
after 12 steps, over two epochs with a short last batch.
"""

from __future__ import annotations

import numpy as np
import pytest

from dlbook.nn.init import init_mlp_weights
from dlbook.pipelines import KerasMLPConfig
from dlbook.pipelines import numpy_backend as pipe_np

ptf = pytest.importorskip("dlbook.pipelines.tensorflow_backend")

CFG = KerasMLPConfig(dtype="float64")


def _data(n: int, d: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype(np.float32).astype(np.float64)  # (N, D)
    return x, rng.integers(0, k, size=n)


def _max_diff(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max(float(np.abs(a[k] - b[k]).max()) for k in a)


def test_sequential_first_steps_equal_dlbook_mlp_and_adam():
    x, y = _data(200, 16, 10, seed=0)  # 7 batches per epoch, the last of 8
    sizes = [16, 64, 64, 10]
    w0 = init_mlp_weights(sizes, "relu", seed=0, dtype="float64")
    model = ptf.build_sequential_mlp(16, CFG)
    ptf.set_weights(model, w0)
    hist = model.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0)
    ours, losses = pipe_np.fit_like_keras(w0, x, y, sizes=sizes, batch_size=32, epochs=2)
    assert _max_diff(ptf.get_weights(model), ours) < 1e-12
    assert _max_diff(ours, w0) > 1e-3  # the weights did move
    # Keras reports the epoch's mean loss (batch-size weighted, tracked in float32)
    sizes_b = np.array([32] * 6 + [8])
    first_epoch = float(np.sum(np.array(losses[:7]) * sizes_b) / 200)
    assert hist.history["loss"][0] == pytest.approx(first_epoch, rel=1e-6)


def test_plain_dlbook_adam_differs_from_keras_by_its_roundings():
    """The roundings KerasAdam copies are real: torch-style Adam is measurably off."""
    from dlbook.nn import numpy_backend as nn_np
    from dlbook.optim import numpy_backend as optim_np

    x, y = _data(32, 8, 3, seed=1)
    sizes = [8, 16, 3]
    w0 = init_mlp_weights(sizes, "relu", seed=1, dtype="float64")
    keras_like, _ = pipe_np.fit_like_keras(w0, x, y, sizes=sizes)
    mlp = nn_np.MLP(sizes, dtype="float64")
    mlp.set_weights(w0)
    params = [layer.params[p] for layer in mlp.linears for p in ("W", "b")]
    nn_np.train_step(mlp, optim_np.Adam(params, lr=1e-3, eps=1e-7, eps_placement="keras"), x, y)
    assert 1e-10 < _max_diff(mlp.get_weights(), keras_like) < 1e-7


def test_subclassed_model_fit_equals_the_gradient_tape_loop():
    x, y = _data(100, 12, 10, seed=2)
    w0 = init_mlp_weights([12, 128, 64, 10], "relu", seed=2, dtype="float64")
    models = []
    for _ in range(2):
        m = ptf.SubclassedMLP((128, 64), 10, dtype="float64")
        m(x[:1])  # build the layers
        ptf.set_weights(m, w0)
        models.append(ptf.compile_subclassed(m, CFG))
    models[0].fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0)
    losses = ptf.train_with_gradient_tape(models[1], x, y, batch_size=32, epochs=2)
    assert len(losses) == 8
    a, b = ptf.get_weights(models[0]), ptf.get_weights(models[1])
    assert _max_diff(a, b) < 1e-12
    assert _max_diff(a, w0) > 1e-3


def test_the_tape_loop_equals_dlbook_too():
    """Subclassed model + tape loop + Keras Adam = the book's MLP + KerasAdam, step by step."""
    x, y = _data(64, 12, 10, seed=3)
    sizes = [12, 128, 64, 10]
    w0 = init_mlp_weights(sizes, "relu", seed=3, dtype="float64")
    m = ptf.SubclassedMLP((128, 64), 10, dtype="float64")
    m(x[:1])
    ptf.set_weights(m, w0)
    ptf.compile_subclassed(m, CFG)
    keras_losses = ptf.train_with_gradient_tape(m, x, y, batch_size=32, epochs=1)
    ours, losses = pipe_np.fit_like_keras(w0, x, y, sizes=sizes, batch_size=32)
    np.testing.assert_allclose(keras_losses, losses, rtol=0, atol=1e-12)
    assert _max_diff(ptf.get_weights(m), ours) < 1e-12


def test_set_weights_refuses_a_wrong_shape():
    m = ptf.build_sequential_mlp(16, CFG)
    w = init_mlp_weights([16, 64, 64, 5], "relu", seed=0, dtype="float64")
    with pytest.raises(ValueError, match="W2"):
        ptf.set_weights(m, w)
