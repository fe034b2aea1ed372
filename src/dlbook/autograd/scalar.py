"""A scalar autograd engine: every number remembers how it was made.

A :class:`Value` wraps one float. Each operation on Values returns a new Value
that records its inputs (``parents``) and a small closure, ``_backward``, that
knows the operation's *local* derivative. Reverse-mode differentiation is then
the chain rule applied node by node, from the output back to the inputs:

    dL/d(input) += d(output)/d(input) * dL/d(output)

``backward()`` visits the nodes in reverse topological order, so a node's
gradient is complete before it is passed on to the node's parents. The ``+=``
matters: a Value used twice receives the sum of both contributions (the
multivariate chain rule).

Every operation below keeps its forward computation and its local derivative
side by side, so the chain rule can be read in one place. The tests in
``tests/autograd/test_scalar.py`` compare each one with PyTorch in float64.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from numbers import Real
from typing import Any


def _as_value(x: Any, op: str) -> Value:
    """Return ``x`` as a Value (numbers become constants), or explain why it cannot be one."""
    if isinstance(x, Value):
        return x
    if isinstance(x, Real):
        return Value(x)
    raise TypeError(
        f"Value {op} {type(x).__name__}: a Value combines only with another Value or a "
        f"number (int or float), got {x!r}."
    )


class Value:
    """One scalar of a computational graph, with its gradient ``dL/d(this value)``."""

    # Let NumPy scalars defer to our reflected operators (np.float64(2) * Value(3)).
    __array_ufunc__ = None

    def __init__(
        self, data: float, parents: tuple[Value, ...] = (), op: str = "", label: str = ""
    ) -> None:
        if not isinstance(data, Real):
            raise TypeError(
                f"Value holds one number (int or float), got {type(data).__name__} {data!r}."
            )
        self.data = float(data)
        self.grad = 0.0  # dL/d(self), filled in by backward()
        self.parents = parents  # the Values this one was computed from
        self.op = op  # "+", "*", "tanh", ... ("" for a leaf); used to draw the graph
        self.label = label  # an optional name, for drawing
        self._backward: Callable[[], None] = lambda: None  # pushes self.grad to the parents

    def __repr__(self) -> str:
        return f"Value(data={self.data:.4f}, grad={self.grad:.4f})"

    # -- arithmetic --------------------------------------------------------------

    def __add__(self, other: Value | float) -> Value:
        other = _as_value(other, "+")
        out = Value(self.data + other.data, (self, other), "+")

        def _backward() -> None:
            self.grad += 1.0 * out.grad  # d(a+b)/da = 1
            other.grad += 1.0 * out.grad  # d(a+b)/db = 1

        out._backward = _backward
        return out

    def __sub__(self, other: Value | float) -> Value:
        other = _as_value(other, "-")
        out = Value(self.data - other.data, (self, other), "-")

        def _backward() -> None:
            self.grad += 1.0 * out.grad  # d(a-b)/da = 1
            other.grad += -1.0 * out.grad  # d(a-b)/db = -1

        out._backward = _backward
        return out

    def __mul__(self, other: Value | float) -> Value:
        other = _as_value(other, "*")
        out = Value(self.data * other.data, (self, other), "*")

        def _backward() -> None:
            self.grad += other.data * out.grad  # d(ab)/da = b
            other.grad += self.data * out.grad  # d(ab)/db = a

        out._backward = _backward
        return out

    def __truediv__(self, other: Value | float) -> Value:
        other = _as_value(other, "/")
        if other.data == 0.0:
            raise ZeroDivisionError(f"Value division by zero: {self.data} / 0.0.")
        out = Value(self.data / other.data, (self, other), "/")

        def _backward() -> None:
            self.grad += (1.0 / other.data) * out.grad  # d(a/b)/da = 1/b
            other.grad += (-self.data / other.data**2) * out.grad  # d(a/b)/db = -a/b^2

        out._backward = _backward
        return out

    def __pow__(self, n: float) -> Value:
        if isinstance(n, Value) or not isinstance(n, Real):
            raise TypeError(
                f"Value ** {type(n).__name__}: the exponent must be a fixed int or float. "
                "For a learnable exponent p, write (p * x.log()).exp() instead."
            )
        n = float(n)
        if self.data < 0.0 and not n.is_integer():
            raise ValueError(
                f"{self.data} ** {n} is not a real number: a negative base needs an "
                "integer exponent."
            )
        if self.data == 0.0 and n < 0.0:
            raise ZeroDivisionError(f"0.0 ** {n} divides by zero.")
        out = Value(self.data**n, (self,), f"**{n:g}")

        def _backward() -> None:
            self.grad += _power_rule(self.data, n) * out.grad  # d(x^n)/dx = n x^(n-1)

        out._backward = _backward
        return out

    def __neg__(self) -> Value:
        out = Value(-self.data, (self,), "neg")

        def _backward() -> None:
            self.grad += -1.0 * out.grad  # d(-x)/dx = -1

        out._backward = _backward
        return out

    # Reflected operators: ``2 * x`` calls ``x.__rmul__(2)``.
    def __radd__(self, other: float) -> Value:
        return _as_value(other, "+") + self

    def __rsub__(self, other: float) -> Value:
        return _as_value(other, "-") - self

    def __rmul__(self, other: float) -> Value:
        return _as_value(other, "*") * self

    def __rtruediv__(self, other: float) -> Value:
        return _as_value(other, "/") / self

    # -- elementary functions --------------------------------------------------------

    def exp(self) -> Value:
        out = Value(math.exp(self.data), (self,), "exp")

        def _backward() -> None:
            self.grad += out.data * out.grad  # d(e^x)/dx = e^x

        out._backward = _backward
        return out

    def log(self) -> Value:
        if self.data <= 0.0:
            raise ValueError(
                f"log is defined only for positive numbers, got {self.data}. "
                "If the input can reach 0, add a small constant: (x + 1e-12).log()."
            )
        out = Value(math.log(self.data), (self,), "log")

        def _backward() -> None:
            self.grad += (1.0 / self.data) * out.grad  # d(log x)/dx = 1/x

        out._backward = _backward
        return out

    def tanh(self) -> Value:
        t = math.tanh(self.data)
        out = Value(t, (self,), "tanh")

        def _backward() -> None:
            self.grad += (1.0 - t * t) * out.grad  # d(tanh x)/dx = 1 - tanh(x)^2

        out._backward = _backward
        return out

    def sigmoid(self) -> Value:
        e = math.exp(-abs(self.data))  # in (0, 1]: never overflows
        s = 1.0 / (1.0 + e) if self.data >= 0.0 else e / (1.0 + e)
        out = Value(s, (self,), "sigmoid")

        def _backward() -> None:
            self.grad += s * (1.0 - s) * out.grad  # d(sigma x)/dx = sigma(x) (1 - sigma(x))

        out._backward = _backward
        return out

    def relu(self) -> Value:
        out = Value(max(self.data, 0.0), (self,), "relu")

        def _backward() -> None:
            # d relu(x)/dx = [x > 0]; we take it to be 0 at x = 0, as PyTorch does.
            self.grad += (1.0 if self.data > 0.0 else 0.0) * out.grad

        out._backward = _backward
        return out

    # -- reverse mode --------------------------------------------------------------

    def backward(self) -> None:
        """Fill ``.grad`` of every node of the graph with dL/d(node), taking L = self.

        Like PyTorch, leaves (Values with no parents) *accumulate* across calls:
        call :meth:`zero_grad` on them before the next pass. Inner nodes are
        recomputed from zero on every call.
        """
        order = topological_order(self)  # inputs first, self last
        for node in order:
            if node.parents:
                node.grad = 0.0
        self.grad += 1.0  # dL/dL = 1
        for node in reversed(order):  # a node is complete before it passes its grad on
            node._backward()

    def zero_grad(self) -> None:
        """Set this Value's gradient to 0 (call it on the leaves before a new backward)."""
        self.grad = 0.0


def _power_rule(x: float, n: float) -> float:
    """d(x^n)/dx = n x^(n-1), which is infinite at x = 0 when 0 < n < 1."""
    if n == 0.0:
        return 0.0
    if x == 0.0 and n < 1.0:
        return math.inf
    return n * x ** (n - 1.0)


def topological_order(root: Value) -> list[Value]:
    """Every node that ``root`` depends on, each once, parents before children; root last.

    Iterative depth-first search, so a chain of thousands of operations does not
    hit Python's recursion limit.
    """
    order: list[Value] = []
    seen: set[int] = set()
    stack: list[tuple[Value, bool]] = [(root, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)  # all its parents are already in `order`
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        stack.extend((p, False) for p in node.parents if id(p) not in seen)
    return order


def graph_edges(root: Value) -> tuple[list[Value], list[tuple[Value, Value]]]:
    """The computational graph of ``root`` as ``(nodes, edges)``, ready to draw.

    ``nodes`` are in topological order (inputs first, ``root`` last); each edge
    ``(parent, child)`` means ``child`` was computed from ``parent``, and is
    listed once even when the parent enters twice (``a * a``). Draw a node with
    ``node.label``, ``node.op``, ``node.data`` and ``node.grad``.
    """
    nodes = topological_order(root)
    edges: list[tuple[Value, Value]] = []
    for child in nodes:
        unique_parents = {id(p): p for p in child.parents}.values()
        edges.extend((parent, child) for parent in unique_parents)
    return nodes, edges
