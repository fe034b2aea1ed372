"""The tensor engine: finite differences for every op, PyTorch as the oracle in float64."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from dlbook.autograd import Tensor, cross_entropy, log_softmax, softmax, unbroadcast
from tests.autograd.ops import BINARY, UNARY

torch = pytest.importorskip("torch")


def to_torch(a: np.ndarray):
    return torch.tensor(a, dtype=torch.float64, requires_grad=True)


def torch_grad(t) -> np.ndarray:
    return np.zeros(tuple(t.shape)) if t.grad is None else t.grad.numpy()


def assert_allclose(ours: np.ndarray, theirs: np.ndarray, tol: float, what: str) -> None:
    """Equal within tol, relative to each entry and to the largest entry (cancellations)."""
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} vs {theirs.shape}"
    scale = max(1.0, float(np.max(np.abs(theirs), initial=0.0)))
    np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol * scale, err_msg=what)


# ---------------------------------------------------------------------------
# unbroadcast: the gradient of a copy is the sum
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "grad_shape, shape, summed_axes",
    [
        ((3, 4), (3, 1), (1,)),
        ((3, 4), (1, 4), (0,)),
        ((3, 4), (4,), (0,)),
        ((2, 3, 4), (4,), (0, 1)),
        ((2, 3, 4), (3, 1), (0, 2)),
        ((2, 3), (), (0, 1)),
        ((2, 3), (2, 3), ()),
    ],
)
def test_unbroadcast_sums_the_copies(grad_shape, shape, summed_axes) -> None:
    g = np.random.default_rng(0).normal(size=grad_shape)
    expected = g.sum(axis=summed_axes).reshape(shape)
    out = unbroadcast(g, shape)
    assert out.shape == shape
    np.testing.assert_allclose(out, expected, rtol=1e-14)


def test_unbroadcast_refuses_a_shape_that_does_not_broadcast() -> None:
    with pytest.raises(ValueError, match="does not broadcast"):
        unbroadcast(np.ones((3, 4)), (3, 2))


# ---------------------------------------------------------------------------
# Finite differences: every op, central differences in float64
# ---------------------------------------------------------------------------


def _inputs(rng: np.random.Generator, specs: list[tuple[tuple[int, ...], str]]) -> list[np.ndarray]:
    """Draw inputs: 'any' ~ N(0, 1); 'pos' in [0.5, 2]; 'away0' with 0.2 <= |x| <= 2."""
    out = []
    for shape, kind in specs:
        if kind == "any":
            out.append(rng.normal(size=shape))
        elif kind == "pos":
            out.append(rng.uniform(0.5, 2.0, size=shape))
        else:
            out.append(rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.2, 2.0, size=shape))
    return out


LABELS = np.array([2, 0, 1, 2])
FD_CASES: dict[str, tuple[Callable, list[tuple[tuple[int, ...], str]]]] = {
    "add_broadcast": (lambda a, b: a + b, [((3, 1), "any"), ((1, 4), "any")]),
    "sub_broadcast": (lambda a, b: a - b, [((2, 3, 4), "any"), ((4,), "any")]),
    "rsub_constant": (lambda a: 2.0 - a, [((3, 4), "any")]),
    "mul_broadcast": (lambda a, b: a * b, [((2, 3, 4), "any"), ((4,), "any")]),
    "div_broadcast": (lambda a, b: a / b, [((3, 4), "any"), ((3, 1), "away0")]),
    "rtruediv_constant": (lambda a: 3.0 / a, [((3, 4), "away0")]),
    "neg": (lambda a: -a, [((3, 4), "any")]),
    "pow_2": (lambda a: a**2, [((3, 4), "any")]),
    "pow_3": (lambda a: a**3, [((3, 4), "any")]),
    "pow_half": (lambda a: a**0.5, [((3, 4), "pos")]),
    "pow_neg": (lambda a: a**-1.5, [((3, 4), "pos")]),
    "matmul_2d": (lambda a, b: a @ b, [((3, 4), "any"), ((4, 5), "any")]),
    "matmul_batched": (lambda a, b: a @ b, [((2, 3, 4), "any"), ((4, 5), "any")]),
    "matmul_broadcast": (lambda a, b: a @ b, [((2, 1, 3, 4), "any"), ((5, 4, 2), "any")]),
    "matmul_vector_left": (lambda a, b: a @ b, [((4,), "any"), ((4, 3), "any")]),
    "matmul_vector_right": (lambda a, b: a @ b, [((3, 4), "any"), ((4,), "any")]),
    "sum_all": (lambda a: a.sum(), [((2, 3, 4), "any")]),
    "sum_axis": (lambda a: a.sum(axis=1), [((2, 3, 4), "any")]),
    "sum_axes_keepdims": (lambda a: a.sum(axis=(0, 2), keepdims=True), [((2, 3, 4), "any")]),
    "mean_all": (lambda a: a.mean(), [((2, 3, 4), "any")]),
    "mean_axis_keepdims": (lambda a: a.mean(axis=-1, keepdims=True), [((2, 3, 4), "any")]),
    "max_all": (lambda a: a.max(), [((3, 4), "any")]),
    "max_axis": (lambda a: a.max(axis=1), [((2, 3, 4), "any")]),
    "max_axes_keepdims": (lambda a: a.max(axis=(0, 2), keepdims=True), [((2, 3, 4), "any")]),
    "exp": (lambda a: a.exp(), [((3, 4), "any")]),
    "log": (lambda a: a.log(), [((3, 4), "pos")]),
    "tanh": (lambda a: a.tanh(), [((3, 4), "any")]),
    "sigmoid": (lambda a: a.sigmoid(), [((3, 4), "any")]),
    "relu": (lambda a: a.relu(), [((3, 4), "away0")]),
    "reshape": (lambda a: a.reshape(6, 4) * np.arange(24.0).reshape(6, 4), [((2, 3, 4), "any")]),
    "transpose_axes": (lambda a: a.transpose(2, 0, 1), [((2, 3, 4), "any")]),
    "T": (lambda a: a.T @ np.arange(12.0).reshape(3, 4), [((3, 4), "any")]),
    "getitem_slice": (lambda a: a[1:, ::2], [((3, 4), "any")]),
    "getitem_repeated_rows": (lambda a: a[[0, 2, 0, 0]], [((3, 4), "any")]),
    "getitem_pairs": (lambda a: a[np.array([0, 1, 1]), np.array([2, 0, 2])], [((3, 4), "any")]),
    "getitem_mask": (lambda a: a[np.arange(12).reshape(3, 4) % 3 == 0], [((3, 4), "any")]),
    "log_softmax_last": (lambda a: log_softmax(a), [((4, 5), "any")]),
    "log_softmax_first": (lambda a: log_softmax(a, axis=0), [((4, 5), "any")]),
    "softmax": (lambda a: softmax(a, axis=1), [((4, 5), "any")]),
    "cross_entropy": (lambda a: cross_entropy(a, LABELS), [((4, 3), "any")]),
}


def _weighted_loss(fn: Callable, arrays: list[np.ndarray], w: np.ndarray | None) -> Tensor:
    """L = sum(w * fn(inputs)): random weights make every output entry matter differently."""
    return (fn(*[Tensor(a, requires_grad=True) for a in arrays]) * w).sum()


@pytest.mark.parametrize("name", list(FD_CASES))
def test_gradient_matches_central_differences(name: str) -> None:
    fn, specs = FD_CASES[name]
    rng = np.random.default_rng(0)
    arrays = _inputs(rng, specs)
    leaves = [Tensor(a, requires_grad=True) for a in arrays]
    out = fn(*leaves)
    w = rng.normal(size=out.shape)
    (out * w).sum().backward()
    eps = 1e-6
    for k, (leaf, a) in enumerate(zip(leaves, arrays, strict=True)):
        numeric = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            plus, minus = [x.copy() for x in arrays], [x.copy() for x in arrays]
            plus[k][idx] += eps
            minus[k][idx] -= eps
            f_plus = _weighted_loss(fn, plus, w).item()
            f_minus = _weighted_loss(fn, minus, w).item()
            numeric[idx] = (f_plus - f_minus) / (2 * eps)  # (f(x+h) - f(x-h)) / 2h
        err = np.linalg.norm(leaf.grad - numeric)
        rel = err / max(np.linalg.norm(leaf.grad) + np.linalg.norm(numeric), 1e-12)
        assert rel < 1e-6, f"{name}: input {k} has relative gradient error {rel:.2e}"


# ---------------------------------------------------------------------------
# Against PyTorch: random op chains with broadcasting
# ---------------------------------------------------------------------------

SHAPE_PAIRS = [
    ((3, 1), (1, 4)),
    ((2, 3, 4), (4,)),
    ((4,), (2, 3, 4)),
    ((2, 1, 3), (5, 1)),
    ((), (2, 3)),
    ((3,), (3,)),
]
REDUCTIONS = ["none", "sum", "mean", "max"]


def reduce_ours(x: Tensor, kind: str, axis, keepdims: bool) -> Tensor:
    return x if kind == "none" else getattr(x, kind)(axis=axis, keepdims=keepdims)


def reduce_torch(x, kind: str, axis, keepdims: bool):
    if kind == "none":
        return x
    dim = tuple(range(x.ndim)) if axis is None else axis
    if x.ndim == 0:
        return x  # nothing to reduce; ours returns the same 0-d value
    f = {"sum": torch.sum, "mean": torch.mean, "max": torch.amax}[kind]
    return f(x, dim=dim, keepdim=keepdims)


@st.composite
def tensor_programs(draw: st.DrawFn) -> dict:
    shapes = list(draw(st.sampled_from(SHAPE_PAIRS)))
    shapes.append(draw(st.sampled_from(shapes)))  # a third leaf, shaped like one of the two
    program = []
    for k in range(draw(st.integers(1, 8))):
        n = len(shapes) + k
        name = draw(st.sampled_from(sorted(UNARY) + sorted(BINARY)))
        program.append((name, draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))))
    return {
        "shapes": shapes,
        "program": program,
        "seed": draw(st.integers(0, 2**32 - 1)),
        "reduction": draw(st.sampled_from(REDUCTIONS)),
        "axis_kind": draw(st.sampled_from(["all", "one", "two"])),
        "axis_pick": draw(st.integers(0, 100)),
        "keepdims": draw(st.booleans()),
    }


def run_program(leaves: list, program: list[tuple[str, int, int]]):
    nodes = list(leaves)
    for name, i, j in program:
        op = UNARY.get(name)
        nodes.append(op(nodes[i]) if op else BINARY[name](nodes[i], nodes[j]))
    return nodes[-1]


def pick_axis(ndim: int, kind: str, pick: int):
    """Turn the drawn axis choice into a valid axis for an array with ndim axes."""
    if kind == "all" or ndim == 0:
        return None
    if kind == "one" or ndim == 1:
        return pick % ndim - ndim * (pick % 2)  # sometimes negative
    first = pick % ndim
    return (first, (first + 1 + pick // ndim % (ndim - 1)) % ndim)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(tensor_programs())
def test_random_tensor_programs_match_torch(case: dict) -> None:
    rng = np.random.default_rng(case["seed"])
    arrays = [rng.uniform(-1.5, 1.5, size=s) for s in case["shapes"]]
    ours = [Tensor(a, requires_grad=True) for a in arrays]
    body = run_program(ours, case["program"])
    axis = pick_axis(body.ndim, case["axis_kind"], case["axis_pick"])
    out = reduce_ours(body, case["reduction"], axis, case["keepdims"])
    assume(np.all(np.isfinite(out.data)) and np.max(np.abs(out.data), initial=0) < 1e100)
    upstream = rng.normal(size=out.shape)  # backward with a non-trivial dL/d(out)
    out.backward(upstream)

    theirs = [to_torch(a) for a in arrays]
    ref = reduce_torch(
        run_program(theirs, case["program"]), case["reduction"], axis, case["keepdims"]
    )
    ref.backward(torch.from_numpy(upstream))
    assert_allclose(out.data, ref.detach().numpy(), 1e-10, "forward")
    for k, (leaf, t) in enumerate(zip(ours, theirs, strict=True)):
        assert_allclose(leaf.grad, torch_grad(t), 1e-10, f"grad of leaf {k} {leaf.shape}")


MATMUL_SHAPES = [
    ((3, 4), (4, 5)),
    ((2, 3, 4), (4, 5)),
    ((3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (5, 4, 2)),
    ((4,), (4, 3)),
    ((3, 4), (4,)),
    ((2, 3, 4), (4,)),
    ((4,), (4,)),
]


@pytest.mark.parametrize("shape_a, shape_b", MATMUL_SHAPES)
def test_matmul_matches_torch(shape_a, shape_b) -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=shape_a), rng.normal(size=shape_b)
    A, B = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
    C = A @ B
    (C.tanh() * np.arange(C.size).reshape(C.shape)).sum().backward()
    tA, tB = to_torch(a), to_torch(b)
    tC = tA @ tB
    (tC.tanh() * torch.arange(tC.numel(), dtype=torch.float64).reshape(tC.shape)).sum().backward()
    assert_allclose(C.data, tC.detach().numpy(), 1e-12, "A @ B")
    assert_allclose(A.grad, tA.grad.numpy(), 1e-12, "dL/dA")
    assert_allclose(B.grad, tB.grad.numpy(), 1e-12, "dL/dB")


@pytest.mark.parametrize("axis", [None, 0, 1, (0, 1)])
def test_max_splits_ties_evenly_like_torch_amax(axis) -> None:
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])
    ours = Tensor(x, requires_grad=True)
    ours.max(axis=axis).sum().backward()
    t = to_torch(x)
    dim = (0, 1) if axis is None else axis
    torch.amax(t, dim=dim).sum().backward()
    np.testing.assert_allclose(ours.grad, t.grad.numpy(), rtol=0, atol=1e-15)
    if axis == 1:
        np.testing.assert_allclose(ours.grad, [[0, 0.5, 0.5], [0.5, 0.5, 0]])


def test_log_softmax_is_stable_for_huge_logits() -> None:
    x = np.array([[1000.0, 1001.0, 1002.0], [-1000.0, 0.0, 1000.0]])
    ours = log_softmax(Tensor(x))
    assert np.all(np.isfinite(ours.data))
    expected = torch.log_softmax(torch.tensor(x), dim=-1).numpy()
    np.testing.assert_allclose(ours.data, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(softmax(Tensor(x)).data.sum(axis=-1), [1.0, 1.0], rtol=1e-12)


# ---------------------------------------------------------------------------
# An MLP trained with Tensor, against the same MLP in PyTorch
# ---------------------------------------------------------------------------

B, D, H, K = 8, 5, 16, 3  # batch, features in, hidden width, classes


def mlp_forward(params: dict, x, activation: str):
    h = getattr(x @ params["W1"] + params["b1"], activation)()  # (B, H)
    return h @ params["W2"] + params["b2"]  # (B, K) logits


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_mlp_loss_and_grads_match_torch(activation: str) -> None:
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(B, D)), rng.integers(0, K, size=B)
    init = {
        "W1": rng.normal(size=(D, H)) / np.sqrt(D),
        "b1": 0.1 * rng.normal(size=H),
        "W2": rng.normal(size=(H, K)) / np.sqrt(H),
        "b2": 0.1 * rng.normal(size=K),
    }
    ours = {k: Tensor(v, requires_grad=True) for k, v in init.items()}
    loss = cross_entropy(mlp_forward(ours, Tensor(x), activation), y)
    loss.backward()
    theirs = {k: to_torch(v) for k, v in init.items()}
    logits = mlp_forward(theirs, torch.tensor(x), activation)
    ref = torch.nn.functional.cross_entropy(logits, torch.tensor(y))
    ref.backward()
    assert loss.shape == ()
    assert abs(loss.item() - ref.item()) < 1e-10
    for k in init:
        assert_allclose(ours[k].grad, theirs[k].grad.numpy(), 1e-10, f"dL/d{k}")


def test_sgd_on_tensor_mlp_lowers_the_loss() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(64, 2))
    y = (x[:, 0] * x[:, 1] > 0).astype(int)  # XOR-like quadrants: needs the hidden layer
    params = {
        "W1": Tensor(rng.normal(size=(2, 16)), requires_grad=True),
        "b1": Tensor(np.zeros(16), requires_grad=True),
        "W2": Tensor(rng.normal(size=(16, 2)) / 4, requires_grad=True),
        "b2": Tensor(np.zeros(2), requires_grad=True),
    }
    losses = []
    for _ in range(200):
        for p in params.values():
            p.zero_grad()
        loss = cross_entropy(mlp_forward(params, Tensor(x), "tanh"), y)
        loss.backward()
        for p in params.values():
            p.data -= 0.5 * p.grad
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], f"loss went from {losses[0]:.3f} to {losses[-1]:.3f}"


# ---------------------------------------------------------------------------
# Bookkeeping and errors a learner can run into
# ---------------------------------------------------------------------------


def test_numbers_and_arrays_mix_in_as_constants() -> None:
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = 2.0 * x + np.ones(3) - np.float64(1.0) / x + np.array([1.0, 0.0, 0.0]) @ x.reshape(3, 1)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, 2.0 + 1.0 / x.data**2 + np.array([3.0, 0.0, 0.0]))
    assert isinstance(np.ones(3) * x, Tensor)


def test_leaves_accumulate_and_zero_grad_resets() -> None:
    x = Tensor([1.0, -2.0], requires_grad=True)
    h = x * 3.0
    loss = (h * h).sum()
    loss.backward()
    loss.backward()
    np.testing.assert_allclose(x.grad, 2 * 18.0 * x.data)  # two passes accumulate
    np.testing.assert_allclose(h.grad, 2 * h.data)  # inner nodes start from zero each pass
    x.zero_grad()
    assert np.all(x.grad == 0.0)


def test_constants_get_no_gradient() -> None:
    c = Tensor([1.0, 2.0])
    x = Tensor([3.0, 4.0], requires_grad=True)
    (c * x).sum().backward()
    assert not c.requires_grad and np.all(c.grad == 0.0)
    np.testing.assert_allclose(x.grad, [1.0, 2.0])


def test_data_is_float64_by_default_and_dtype_is_kept() -> None:
    assert Tensor([1, 2, 3]).dtype == np.float64
    x = Tensor(np.ones(3), dtype=np.float32, requires_grad=True)
    y = (x * 2.0 + 1.0).exp().sum()
    y.backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32


def test_matmul_shape_mismatch_names_both_shapes() -> None:
    with pytest.raises(ValueError, match=r"\(2, 3\) and \(4, 5\)"):
        Tensor(np.ones((2, 3))) @ Tensor(np.ones((4, 5)))
    with pytest.raises(ValueError, match=r"\(2, 3, 4\) and \(5, 4, 2\)"):
        Tensor(np.ones((2, 3, 4))) @ Tensor(np.ones((5, 4, 2)))


def test_backward_on_a_non_scalar_needs_a_gradient() -> None:
    y = Tensor(np.ones((2, 3)), requires_grad=True) * 2.0
    with pytest.raises(RuntimeError, match=r"needs a gradient .* shape \(2, 3\)"):
        y.backward()
    with pytest.raises(ValueError, match=r"grad has shape \(3,\)"):
        y.backward(np.ones(3))


def test_backward_without_requires_grad_explains() -> None:
    with pytest.raises(RuntimeError, match="requires_grad=True"):
        (Tensor([1.0, 2.0]) * 2.0).sum().backward()


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda x: x + "a", TypeError, "array of numbers"),
        (lambda x: x ** Tensor(2.0), TypeError, "learnable exponent"),
        (lambda x: (x - 1.0).log(), ValueError, "positive"),
        (lambda x: (x - 2.0) ** 0.5, ValueError, "negative"),
        (lambda x: x.sum(axis=2), ValueError, "axis=2 does not exist"),
        (lambda x: x.reshape(4, 2), ValueError, r"shape \(2, 3\) \(6 entries\)"),
        (lambda x: x.transpose(0, 0), ValueError, "not a permutation"),
        (lambda x: cross_entropy(x, np.array([0, 5])), ValueError, r"\[0, 3\)"),
        (lambda x: cross_entropy(x.sum(), np.array([0])), ValueError, r"\(B, K\)"),
        (lambda x: x.item(), ValueError, "one element"),
    ],
)
def test_errors_speak_to_the_learner(make, error, match) -> None:
    x = Tensor(np.arange(1.0, 7.0).reshape(2, 3), requires_grad=True)
    with pytest.raises(error, match=match):
        make(x)


def test_import_does_not_load_torch() -> None:
    code = (
        "import sys, dlbook.autograd\n"
        "heavy = [m for m in ('torch', 'tensorflow') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
