"""The scalar engine against PyTorch in float64: hand-written and random expressions."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from dlbook.autograd import Value, graph_edges, topological_order
from tests.autograd.ops import BINARY, UNARY

torch = pytest.importorskip("torch")

LEAVES = (1.5, -0.7, 2.3)  # a, b, c: no relu sits exactly at its kink


def torch_leaves(values: tuple[float, ...]) -> list:
    return [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in values]


def assert_close(ours: float, theirs: float, tol: float, what: str) -> None:
    assert math.isclose(ours, theirs, rel_tol=tol, abs_tol=tol), f"{what}: {ours} vs {theirs}"


# Each expression is written once and run on Values and on torch tensors alike:
# both have + - * / **, exp, log, tanh, sigmoid and relu with the same names.
EXPRESSIONS: dict[str, Callable] = {
    "linear": lambda a, b, c: a * b + c,
    "used_twice": lambda a, b, c: a * a + a,
    "shared_inner_node": lambda a, b, c: (lambda d: d * d + d.tanh() - d / c)(a * b),
    "division": lambda a, b, c: a / b + 1 / c - (a * a + 1) / (b - c),
    "powers": lambda a, b, c: a**3 + b**-2 + (c * c + 1) ** 0.5 - a**0,
    "activations": lambda a, b, c: (a * b).tanh() + (b - c).sigmoid() + (a + c).relu() + b.relu(),
    "exp_log": lambda a, b, c: (a * b).exp() + (c * c + 1).log() * c.log(),
    "reflected": lambda a, b, c: (2 - a) * (3 / b) + 4 * c + (1 + a) - 0.5,
    "negation": lambda a, b, c: -(a * -b) + -c,
    "deep_mix": lambda a, b, c: ((a * b + c).tanh() * (a - c).sigmoid() / (b * b + 1)).exp(),
}


@pytest.mark.parametrize("name", list(EXPRESSIONS))
def test_matches_torch_on_hand_written_expressions(name: str) -> None:
    f = EXPRESSIONS[name]
    ours = [Value(v) for v in LEAVES]
    out = f(*ours)
    out.backward()
    theirs = torch_leaves(LEAVES)
    ref = f(*theirs)
    ref.backward()
    assert_close(out.data, ref.item(), 1e-12, f"{name}: value")
    for leaf, t, label in zip(ours, theirs, "abc", strict=True):
        expected = 0.0 if t.grad is None else t.grad.item()
        assert_close(leaf.grad, expected, 1e-12, f"{name}: dL/d{label}")


# ---------------------------------------------------------------------------
# Random expression graphs: a small program run on both engines
# ---------------------------------------------------------------------------

# Each op reads one or two earlier nodes (by index) and appends a new node.


@st.composite
def programs(draw: st.DrawFn) -> tuple[list[float], list[tuple[str, int, int]]]:
    """Leaf values and a list of (op, i, j): a random DAG in which nodes can be reused."""
    n_leaves = draw(st.integers(1, 4))
    leaves = draw(st.lists(st.floats(-1.5, 1.5), min_size=n_leaves, max_size=n_leaves))
    program = []
    for k in range(draw(st.integers(1, 10))):
        n_nodes = n_leaves + k
        name = draw(st.sampled_from(sorted(UNARY) + sorted(BINARY)))
        program.append((name, draw(st.integers(0, n_nodes - 1)), draw(st.integers(0, n_nodes - 1))))
    return leaves, program


def run_program(leaves: list, program: list[tuple[str, int, int]]):
    """Apply the program to a list of leaves of either engine; return the last node."""
    nodes = list(leaves)
    for name, i, j in program:
        op = UNARY.get(name)
        nodes.append(op(nodes[i]) if op else BINARY[name](nodes[i], nodes[j]))
    return nodes[-1]


@settings(max_examples=60, deadline=None, derandomize=True)
@given(programs())
def test_random_graphs_match_torch(case: tuple[list[float], list[tuple[str, int, int]]]) -> None:
    leaves, program = case
    ours = [Value(v) for v in leaves]
    out = run_program(ours, program)
    assume(math.isfinite(out.data) and abs(out.data) < 1e100)
    out.backward()
    theirs = torch_leaves(tuple(leaves))
    ref = run_program(theirs, program)
    ref.backward()
    assert_close(out.data, ref.item(), 1e-9, "value")
    expected = [0.0 if t.grad is None else t.grad.item() for t in theirs]
    scale = max([1.0] + [abs(g) for g in expected])  # cancellations: compare to the largest grad
    for k, (leaf, e) in enumerate(zip(ours, expected, strict=True)):
        assert abs(leaf.grad - e) <= 1e-9 * scale, f"leaf {k}: {leaf.grad} vs {e}"


# ---------------------------------------------------------------------------
# The graph and the backward pass
# ---------------------------------------------------------------------------


def test_node_used_twice_gets_the_sum_of_both_paths() -> None:
    a = Value(3.0)
    (a * a).backward()  # d(a^2)/da = 2a
    assert a.grad == 6.0
    b = Value(3.0)
    (b + b + b).backward()
    assert b.grad == 3.0


def test_topological_order_lists_parents_before_children() -> None:
    a, b = Value(2.0, label="a"), Value(-1.0, label="b")
    d = a * b
    out = d + a
    order = topological_order(out)
    assert len(order) == len({id(n) for n in order}) == 4
    position = {id(n): i for i, n in enumerate(order)}
    for node in order:
        for parent in node.parents:
            assert position[id(parent)] < position[id(node)]
    assert order[-1] is out


def test_graph_edges_of_a_small_expression() -> None:
    a, b = Value(2.0, label="a"), Value(-1.0, label="b")
    d = a * b
    out = d + a * a  # a enters a * a twice: one edge
    nodes, edges = graph_edges(out)
    aa = out.parents[1]
    expected = {(a, d), (b, d), (a, aa), (d, out), (aa, out)}
    assert {(id(p), id(c)) for p, c in edges} == {(id(p), id(c)) for p, c in expected}
    assert len(edges) == 5
    assert nodes[-1] is out and {n.op for n in nodes} == {"", "*", "+"}


def test_leaves_accumulate_and_inner_nodes_are_recomputed() -> None:
    a, b = Value(2.0), Value(5.0)
    d = a * b
    out = d.tanh()
    out.backward()
    first_a, first_d = a.grad, d.grad
    out.backward()
    assert a.grad == pytest.approx(2 * first_a)  # leaves accumulate, like PyTorch
    assert d.grad == pytest.approx(first_d)  # inner nodes start again from zero
    a.zero_grad()
    assert a.grad == 0.0


def test_a_long_chain_does_not_hit_the_recursion_limit() -> None:
    x = Value(1.0)
    y = x
    for _ in range(5000):
        y = y + x * 0.001
    y.backward()
    assert x.grad == pytest.approx(1.0 + 5000 * 0.001)


def test_repr_shows_data_and_grad() -> None:
    v = Value(2.0)
    assert repr(v) == "Value(data=2.0000, grad=0.0000)"


def test_sigmoid_is_stable_for_large_inputs() -> None:
    assert Value(-1000.0).sigmoid().data == 0.0
    assert Value(1000.0).sigmoid().data == 1.0


# ---------------------------------------------------------------------------
# Errors a learner can run into
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["a", None, [1.0]])
def test_combining_with_a_non_number_raises_type_error(bad: object) -> None:
    with pytest.raises(TypeError, match="combines only with another Value or a number"):
        Value(1.0) + bad
    with pytest.raises(TypeError, match="Value \\*"):
        Value(1.0) * bad


def test_value_of_a_string_raises_type_error() -> None:
    with pytest.raises(TypeError, match="one number"):
        Value("2.0")


@pytest.mark.parametrize("x", [0.0, -1.0])
def test_log_of_a_non_positive_number_explains_the_domain(x: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        Value(x).log()


def test_pow_domain_and_type_errors() -> None:
    with pytest.raises(ValueError, match="negative base"):
        Value(-2.0) ** 0.5
    with pytest.raises(TypeError, match="learnable exponent"):
        Value(2.0) ** Value(3.0)
    with pytest.raises(ZeroDivisionError):
        Value(0.0) ** -1
    with pytest.raises(ZeroDivisionError):
        Value(1.0) / 0
