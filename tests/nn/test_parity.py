"""The three backends of ``dlbook.nn`` compute the same numbers.

Tolerances (float64 throughout unless a test says otherwise):

* standalone functions: forward values within 1e-12 (absolute); gradients from
  torch autograd / ``tf.GradientTape`` against the NumPy ``*_backward`` within 1e-10;
* MLP: the loss within 1e-10 and every gradient entry within 1e-8, both absolute
  (``assert_allclose(rtol=0, atol=...)``), for every pair of backends.

Every test is parametrized over ``dlbook.backends.BACKENDS``, so a fourth backend
would be checked without editing this file.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from dlbook.backends import BACKENDS, load_backend
from dlbook.nn import init_mlp_weights
from dlbook.nn import numpy_backend as np_nn
from dlbook.nn.init import init_linear_weights

FRAMEWORKS = tuple(b for b in BACKENDS if b != "numpy")  # the backends with autograd
PAIRS = list(itertools.combinations(BACKENDS, 2))
ACTIVATIONS = ["sigmoid", "tanh", "relu", "gelu"]


def nn(backend: str) -> Any:
    return load_backend("nn", backend)


def to_numpy(t: Any) -> np.ndarray:
    """A NumPy copy of a float, an ndarray, a torch tensor (any device) or a TF tensor."""
    if hasattr(t, "detach"):
        t = t.detach().cpu()
    return np.asarray(t.numpy() if hasattr(t, "numpy") else t)


def native(backend: str, a: np.ndarray) -> Any:
    """``a`` as the backend's own tensor type (NumPy stays NumPy)."""
    if backend == "torch":
        from dlbook.device import get_device

        return nn("torch").torch.as_tensor(a, device=get_device())
    if backend == "tensorflow":
        return nn("tensorflow").tf.convert_to_tensor(a)
    return a


def vjp(backend: str, fn: Callable[..., Any], inputs: list[np.ndarray], g: np.ndarray):
    """Output of ``fn(*inputs)`` and the vector-Jacobian products g . d fn / d input_i."""
    if backend == "torch":
        torch = nn("torch").torch
        ts = [native("torch", a).requires_grad_(True) for a in inputs]
        out = fn(*ts)
        out.backward(torch.as_tensor(g, device=out.device))
        return to_numpy(out), [to_numpy(t.grad) for t in ts]
    if backend == "tensorflow":
        tf = nn("tensorflow").tf
        ts = [tf.constant(a) for a in inputs]
        with tf.GradientTape() as tape:
            tape.watch(ts)
            out = fn(*ts)
        grads = tape.gradient(out, ts, output_gradients=tf.constant(g))
        return to_numpy(out), [to_numpy(d) for d in grads]
    raise ValueError(f"{backend} has no autograd")


# ---------------------------------------------------------------------------
# Standalone functions: one table of cases, checked forward and backward
# ---------------------------------------------------------------------------

LABELS = np.array([0, 3, 1, 3, 2])  # for logits of shape (5, 4)


def _away_from_zero(x: np.ndarray) -> np.ndarray:
    return np.where(x >= 0, x + 0.05, x - 0.05)  # relu's kink at 0 has no unique derivative


@dataclass(frozen=True)
class Op:
    """A function of the shared API with its NumPy backward, for one set of inputs."""

    name: str
    shapes: tuple[tuple[int, ...], ...]  # shapes of the differentiated inputs
    forward: Callable[..., Any]  # (nn module, *inputs) -> output
    backward: Callable[..., list[np.ndarray]]  # (g, *inputs) -> NumPy grads, one per input


def _act(name: str) -> Op:
    f, df = np_nn.ACTIVATIONS[name]
    return Op(name, ((4, 5),), lambda m, x: getattr(m, name)(x), lambda g, x: [df(x, g)])


def _softmax(name: str, axis: int) -> Op:
    backward = getattr(np_nn, f"{name}_backward")
    return Op(
        f"{name}(axis={axis})",
        ((3, 4),),
        lambda m, x: getattr(m, name)(x, axis=axis),
        lambda g, x: [backward(getattr(np_nn, name)(x, axis), g, axis)],
    )


def _mse_backward(g: np.ndarray, pred: np.ndarray, target: np.ndarray) -> list[np.ndarray]:
    d = g * np_nn.mse_loss_backward(pred, target)
    return [d, -d]  # dL/dtarget = -dL/dpred


OPS = [
    *[_act(name) for name in ACTIVATIONS],
    *[_softmax(name, axis) for name in ("softmax", "log_softmax") for axis in (0, -1)],
    Op("mse_loss", ((5, 3), (5, 3)), lambda m, p, t: m.mse_loss(p, t), _mse_backward),
    Op(
        "cross_entropy",
        ((5, 4),),
        lambda m, z: m.cross_entropy(z, LABELS),
        lambda g, z: [g * np_nn.cross_entropy_backward(z, LABELS)],
    ),
    Op(
        "linear",
        ((6, 3), (3, 4), (4,)),
        lambda m, x, W, b: m.linear(x, W, b),
        lambda g, x, W, b: list(np_nn.linear_backward(x, W, g)),
    ),
]


def _inputs(op: Op, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [_away_from_zero(2 * rng.normal(size=shape)) for shape in op.shapes]


def _upstream(op: Op, inputs: list[np.ndarray]) -> np.ndarray:
    """A random upstream gradient g with the shape of the op's output."""
    out_shape = np.shape(op.forward(np_nn, *inputs))
    return np.random.default_rng(99).normal(size=out_shape)


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
@pytest.mark.parametrize("backend", BACKENDS)
def test_function_forward_matches_numpy(backend: str, op: Op) -> None:
    inputs = _inputs(op)
    expected = np.asarray(op.forward(np_nn, *inputs))
    got = to_numpy(op.forward(nn(backend), *inputs))  # NumPy arrays in, converted
    assert got.shape == expected.shape
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
@pytest.mark.parametrize("backend", FRAMEWORKS)
def test_function_gradient_matches_numpy_backward(backend: str, op: Op) -> None:
    inputs = _inputs(op)
    g = _upstream(op, inputs)
    module = nn(backend)
    out, grads = vjp(backend, lambda *ts: op.forward(module, *ts), inputs, g)
    np.testing.assert_allclose(out, op.forward(np_nn, *inputs), rtol=0, atol=1e-12)
    for got, expected in zip(grads, op.backward(g, *inputs), strict=True):
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-10)


def test_tf_builtin_gelu_is_only_float32_accurate_in_float64() -> None:
    """Why the TF backend writes gelu out: ``tf.nn.gelu`` rounds its constant to float32.

    If this test fails, TensorFlow has fixed it and the backend may call tf.nn.gelu.
    """
    tf = nn("tensorflow").tf
    x = np.linspace(-3, 3, 13)
    err = np.abs(tf.nn.gelu(tf.constant(x), approximate=False).numpy() - np_nn.gelu(x)).max()
    assert 1e-12 < err < 1e-7
    assert np.abs(to_numpy(nn("tensorflow").gelu(x)) - np_nn.gelu(x)).max() < 1e-14


# ---------------------------------------------------------------------------
# The MLP: same initial weights, same loss, same gradients
# ---------------------------------------------------------------------------

SIZES = [[5, 3], [8, 16, 4], [6, 10, 7, 3]]


@functools.cache
def _mlp_loss_and_grads(backend: str, activation: str, sizes: tuple[int, ...], batch: int):
    rng = np.random.default_rng(len(sizes) * 100 + batch)
    x, y = rng.normal(size=(batch, sizes[0])), rng.integers(0, sizes[-1], size=batch)
    model = nn(backend).MLP(list(sizes), activation, seed=5, dtype="float64")
    return nn(backend).loss_and_grads(model, x, y)


@pytest.mark.parametrize("pair", PAIRS, ids="-vs-".join)
@pytest.mark.parametrize("batch", [1, 17])
@pytest.mark.parametrize("sizes", SIZES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_mlp_loss_and_grads_agree(
    activation: str, sizes: list[int], batch: int, pair: tuple[str, str]
) -> None:
    (loss_a, grads_a), (loss_b, grads_b) = (
        _mlp_loss_and_grads(b, activation, tuple(sizes), batch) for b in pair
    )
    assert isinstance(loss_a, float) and isinstance(loss_b, float)
    assert abs(loss_a - loss_b) < 1e-10
    assert grads_a.keys() == grads_b.keys() == init_mlp_weights(sizes).keys()
    for key in grads_a:
        assert isinstance(grads_a[key], np.ndarray) and isinstance(grads_b[key], np.ndarray)
        np.testing.assert_allclose(grads_a[key], grads_b[key], rtol=0, atol=1e-8, err_msg=key)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_mlp_starts_from_the_shared_initial_weights(backend: str, dtype: str) -> None:
    model = nn(backend).MLP([6, 9, 4], "tanh", seed=11, dtype=dtype)
    expected = init_mlp_weights([6, 9, 4], "tanh", seed=11, dtype=dtype)
    got = model.get_weights()
    assert got.keys() == expected.keys()
    for key in expected:
        assert got[key].dtype == np.dtype(dtype), key
        np.testing.assert_array_equal(got[key], expected[key], err_msg=key)


@pytest.mark.parametrize("backend", BACKENDS)
def test_float32_mlps_agree_loosely_and_predict_the_same(backend: str) -> None:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(50, 8)).astype(np.float32), rng.integers(0, 4, size=50)
    ref, model = np_nn.MLP([8, 16, 4], seed=1), nn(backend).MLP([8, 16, 4], seed=1)
    loss_ref, _ = np_nn.loss_and_grads(ref, x, y)
    loss, _ = nn(backend).loss_and_grads(model, x, y)
    assert abs(loss - loss_ref) < 1e-5
    pred = nn(backend).predict(model, x)
    assert isinstance(pred, np.ndarray) and np.issubdtype(pred.dtype, np.integer)
    np.testing.assert_array_equal(pred, np_nn.predict(ref, x))


@pytest.mark.parametrize("backend", FRAMEWORKS)  # NumPy's Linear is built from arrays: Linear(W, b)
def test_linear_layer_uses_the_shared_init_and_computes_x_W_plus_b(backend: str) -> None:
    layer = nn(backend).Linear(5, 3, seed=4, dtype="float64")
    W, b = init_linear_weights(5, 3, np.random.default_rng(4), dtype="float64")
    x = np.random.default_rng(0).normal(size=(7, 5))
    np.testing.assert_allclose(to_numpy(layer(x)), np_nn.linear(x, W, b), rtol=0, atol=1e-12)


# ---------------------------------------------------------------------------
# Moving weights between backends
# ---------------------------------------------------------------------------


def test_weights_round_trip_numpy_torch_tensorflow_numpy() -> None:
    sizes = [4, 6, 5, 3]
    rng = np.random.default_rng(3)
    start = {k: rng.normal(size=v.shape) for k, v in init_mlp_weights(sizes).items()}
    models = {b: nn(b).MLP(sizes, "gelu", seed=0, dtype="float64") for b in BACKENDS}
    models["numpy"].set_weights(start)
    chain = [*BACKENDS, "numpy"]  # numpy -> torch -> tensorflow -> numpy
    for src, dst in itertools.pairwise(chain):
        models[dst].set_weights(models[src].get_weights())
    end = models["numpy"].get_weights()
    for key in start:
        np.testing.assert_array_equal(end[key], start[key], err_msg=key)
    x = rng.normal(size=(3, 4))
    for b in BACKENDS:  # the same weights give the same logits everywhere
        np.testing.assert_allclose(
            to_numpy(models[b](x)), to_numpy(models["numpy"](x)), rtol=0, atol=1e-12
        )


def test_torch_mlp_stores_the_transpose_in_real_nn_linear_layers() -> None:
    torch_nn = nn("torch")
    model = torch_nn.MLP([4, 6, 3], seed=2, dtype="float64")
    w = model.get_weights()
    assert all(isinstance(layer, torch_nn.torch.nn.Linear) for layer in model.linears)
    assert tuple(model.linears[0].weight.shape) == (6, 4)  # (out, in)
    assert w["W0"].shape == (4, 6)  # canonical (in, out)
    np.testing.assert_array_equal(to_numpy(model.linears[0].weight), w["W0"].T)
    np.testing.assert_array_equal(to_numpy(model.linears[1].weight), w["W1"].T)


def test_get_weights_returns_copies() -> None:
    """Changing what get_weights returned must not change the model (torch would share memory)."""
    for backend in BACKENDS:
        model = nn(backend).MLP([3, 1], seed=0, dtype="float64")  # (1, 3) weight: .T is contiguous
        w = model.get_weights()
        w["W0"][...] = 7.0
        w["b0"][...] = 7.0
        assert not np.any(model.get_weights()["W0"] == 7.0), backend
        assert not np.any(model.get_weights()["b0"] == 7.0), backend


def test_torch_model_lives_on_the_book_device_and_leaves_global_rng_alone() -> None:
    torch_nn = nn("torch")
    torch = torch_nn.torch
    from dlbook.device import get_device

    state = torch.random.get_rng_state()
    model = torch_nn.MLP([4, 8, 3], seed=0)
    torch_nn.Linear(4, 2, seed=0)
    assert torch.equal(state, torch.random.get_rng_state())  # weights came from NumPy
    assert all(p.device.type == get_device().type for p in model.parameters())


# ---------------------------------------------------------------------------
# Numerical stability at extreme inputs
# ---------------------------------------------------------------------------

BIG = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, -1000.0], [1000.0, 1000.0, -1000.0]])
LOG2, LOG3 = np.log(2.0), np.log(3.0)
BIG_SOFTMAX = np.array([[1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3], [0.5, 0.5, 0.0]])
BIG_SOFTMAX_AXIS0 = np.array([[0.5, 0.0, 1.0], [0.0, 0.0, 0.0], [0.5, 1.0, 0.0]])
BIG_LOG_SOFTMAX = np.array(
    [[0.0, -2000.0, -1000.0], [-LOG3, -LOG3, -LOG3], [-LOG2, -LOG2, -2000.0 - LOG2]]
)
TOLS = {"float64": 1e-12, "float32": 1e-6}  # relative


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_softmax_family_is_stable_for_huge_logits(backend: str, dtype: str) -> None:
    m, z, tol = nn(backend), native(backend, BIG.astype(dtype)), TOLS[dtype]
    sm, lsm = to_numpy(m.softmax(z)), to_numpy(m.log_softmax(z))
    ce = float(to_numpy(m.cross_entropy(z, native(backend, np.array([0, 1, 2])))))
    for got in (sm, lsm, ce):
        assert np.all(np.isfinite(got))
    np.testing.assert_allclose(sm, BIG_SOFTMAX, rtol=tol, atol=tol)
    np.testing.assert_allclose(lsm, BIG_LOG_SOFTMAX, rtol=tol, atol=tol)
    np.testing.assert_allclose(ce, (0.0 + LOG3 + 2000.0 + LOG2) / 3, rtol=tol)
    sm0 = to_numpy(m.softmax(z, axis=0))
    np.testing.assert_allclose(sm0, BIG_SOFTMAX_AXIS0, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_activations_are_finite_at_plus_minus_1000(backend: str, dtype: str) -> None:
    m, x = nn(backend), native(backend, np.array([-1000.0, 1000.0], dtype=dtype))
    expected = {
        "sigmoid": [0.0, 1.0],
        "tanh": [-1.0, 1.0],
        "relu": [0.0, 1000.0],
        "gelu": [0.0, 1000.0],
    }
    for name, values in expected.items():
        got = to_numpy(getattr(m, name)(x))
        assert np.all(np.isfinite(got)), name
        np.testing.assert_allclose(got, values, rtol=1e-12, atol=0, err_msg=name)


# ---------------------------------------------------------------------------
# Mistakes get messages that name the problem
# ---------------------------------------------------------------------------

LOGITS = np.zeros((3, 4))


@pytest.mark.parametrize("as_tensor", [False, True], ids=["numpy-labels", "native-labels"])
@pytest.mark.parametrize(
    "labels, error, match",
    [
        (np.array([0, 4, 1]), ValueError, r"lie in \[0, 4\) for 4 classes"),
        (np.array([0, -1, 1]), ValueError, r"lie in \[0, 4\)"),
        (np.array([[0], [1], [2]]), ValueError, r"shape \(3,\)"),
        (np.array([0, 1]), ValueError, r"shape \(3,\)"),
        (np.array([0.0, 1.0, 2.0]), TypeError, "integer class indices"),
    ],
    ids=["too-big", "negative", "column", "too-few", "float"],
)
@pytest.mark.parametrize("backend", BACKENDS)
def test_cross_entropy_rejects_bad_labels(
    backend: str, labels: np.ndarray, error: type, match: str, as_tensor: bool
) -> None:
    m = nn(backend)
    y = native(backend, labels) if as_tensor else labels
    with pytest.raises(error, match=match):
        m.cross_entropy(native(backend, LOGITS), y)


@pytest.mark.parametrize("backend", BACKENDS)
def test_shape_mistakes_are_explained(backend: str) -> None:
    m = nn(backend)
    with pytest.raises(ValueError, match=r"\(B, K\)"):
        m.cross_entropy(np.zeros(4), np.array([0]))
    with pytest.raises(ValueError, match="must match"):
        m.mse_loss(np.zeros((3, 1)), np.zeros(3))
    with pytest.raises(ValueError, match="4 columns"):
        m.linear(np.zeros((2, 3)), np.zeros((4, 5)), np.zeros(5))
    with pytest.raises(ValueError, match="axis=2 does not exist"):
        m.softmax(np.zeros((2, 3)), axis=2)
    with pytest.raises(TypeError, match="array of numbers"):
        m.relu("not an array")


@pytest.mark.parametrize("backend", BACKENDS)
def test_mlp_rejects_wrong_input_width(backend: str) -> None:
    model = nn(backend).MLP([4, 8, 3], seed=0)
    with pytest.raises(ValueError, match=r"expects input of shape \(B, 4\), got \(2, 5\)"):
        model(np.zeros((2, 5), dtype=np.float32))
    with pytest.raises(ValueError, match=r"\(B, 4\)"):
        model(np.zeros(4, dtype=np.float32))
    with pytest.raises(ValueError, match=r"\(B, 4\)"):
        nn(backend).predict(model, np.zeros((2, 5), dtype=np.float32))


@pytest.mark.parametrize("backend", BACKENDS)
def test_set_weights_rejects_wrong_shapes_and_missing_keys(backend: str) -> None:
    model = nn(backend).MLP([4, 8, 3], seed=0)
    w = model.get_weights()
    with pytest.raises(ValueError, match=r"W0 of shape \(4, 8\), got \(8, 4\)"):
        model.set_weights({**w, "W0": w["W0"].T})  # the classic torch-layout slip
    with pytest.raises(ValueError, match=r"b1 of shape \(3,\), got None"):
        model.set_weights({k: v for k, v in w.items() if k != "b1"})


@pytest.mark.parametrize("backend", BACKENDS)
def test_unknown_activation_is_refused(backend: str) -> None:
    with pytest.raises(ValueError, match="Unknown activation 'swish'.*relu"):
        nn(backend).MLP([4, 3], "swish")
