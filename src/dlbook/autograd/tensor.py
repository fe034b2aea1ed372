"""A tensor autograd engine on NumPy arrays: the scalar engine, one array at a time.

:class:`Tensor` is :class:`dlbook.autograd.Value` with an ``np.ndarray`` in
place of a float. Each operation returns a new Tensor that records its inputs
and a ``_backward`` closure; ``backward()`` walks the graph in reverse
topological order and applies the chain rule, now with arrays:

    dL/d(input) += (d(output)/d(input))^T applied to dL/d(output)

Two things are new compared with scalars.

* **Broadcasting.** ``x (3, 1) + y (1, 4)`` copies ``x`` along the columns and
  ``y`` along the rows. A copy used k times receives the sum of its k gradients,
  so every gradient is summed back to its operand's shape by :func:`unbroadcast`.
* **Reductions and shape changes** (``sum``, ``max``, ``reshape``, indexing)
  move gradients between positions instead of multiplying them.

Shape legend: B = batch size, D = features in, H = features out, K = classes,
``...`` = any leading (batch) axes. Data are float64 unless you ask otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from dlbook._validate import as_float_array, check_axis, check_labels

Axis = int | tuple[int, ...] | None


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``grad`` back to ``shape``, undoing NumPy broadcasting.

    Broadcasting copies: in z = x + y with x (3, 1) and y (1, 4), z_ij = x_i + y_j,
    so x_i is used four times. By the multivariate chain rule a value used several
    times receives the sum of the gradients of its copies:

        dL/dx_i = sum_j dL/dz_ij

    Copies are made in two ways, and both are summed away: leading axes that
    ``shape`` lacks, and axes where ``shape`` has length 1.
    """
    shape = tuple(shape)
    n_new = grad.ndim - len(shape)
    if n_new < 0:
        raise ValueError(f"unbroadcast: gradient shape {grad.shape} has fewer axes than {shape}.")
    if n_new:
        grad = grad.sum(axis=tuple(range(n_new)))  # drop the axes broadcasting prepended
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)  # fold the copies along length-1 axes
    if grad.shape != shape:
        raise ValueError(f"unbroadcast: gradient shape {grad.shape} does not broadcast to {shape}.")
    return grad


def _normalize_axes(axis: Axis, ndim: int) -> tuple[int, ...]:
    """``axis`` (None, an int or a tuple) as a sorted tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = tuple(sorted(check_axis(a, ndim) for a in axes))
    if len(set(out)) != len(out):
        raise ValueError(f"axis={axis!r} names the same axis twice.")
    return out


def _expand_reduced(grad: np.ndarray, axes: tuple[int, ...], keepdims: bool) -> np.ndarray:
    """Put back the length-1 axes that a reduction without ``keepdims`` removed."""
    return grad if keepdims else np.expand_dims(grad, axes)


class Tensor:
    """An array in a computational graph, with ``grad = dL/d(data)`` of the same shape."""

    # Make NumPy arrays defer to our operators: ndarray + Tensor calls Tensor.__radd__.
    __array_ufunc__ = None

    def __init__(
        self,
        data: Any,
        requires_grad: bool = False,
        *,
        dtype: Any = np.float64,
        parents: tuple[Tensor, ...] = (),
        op: str = "",
    ) -> None:
        if isinstance(data, Tensor):
            data = data.data  # a new leaf with the same numbers, cut from the old graph
        # np.asarray shares memory with a float64 array you pass in (like torch.from_numpy).
        self.data = np.asarray(as_float_array(data, "Tensor data"), dtype=dtype)
        self.grad = np.zeros_like(self.data)  # dL/d(data), filled in by backward()
        self.requires_grad = bool(requires_grad)
        self.parents = parents  # the Tensors this one was computed from
        self.op = op  # "+", "@", "sum", ... ("" for a leaf)
        self._backward: Callable[[], None] = lambda: None

    @classmethod
    def _from_op(cls, data: np.ndarray, parents: tuple[Tensor, ...], op: str) -> Tensor:
        """The output of an operation: it requires grad if any input does."""
        requires_grad = any(p.requires_grad for p in parents)
        return cls(data, requires_grad, dtype=data.dtype, parents=parents, op=op)

    def _accumulate(self, grad: np.ndarray) -> None:
        """Add an upstream gradient, summed back over any broadcast copies of self."""
        if self.requires_grad:
            self.grad += unbroadcast(grad, self.shape)

    def _lift(self, other: Any, op: str) -> Tensor:
        """Wrap numbers and NumPy arrays as constant Tensors of self's dtype."""
        if isinstance(other, Tensor):
            return other
        return Tensor(as_float_array(other, f"the other operand of {op}"), dtype=self.dtype)

    # -- array facts -----------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    def item(self) -> float:
        """The value of a one-element Tensor as a Python float."""
        if self.size != 1:
            raise ValueError(f"item() needs a Tensor with one element, got shape {self.shape}.")
        return float(self.data.reshape(-1)[0])

    def numpy(self) -> np.ndarray:
        """The data as a NumPy array (shares memory: copy it before changing it)."""
        return self.data

    def detach(self) -> Tensor:
        """The same numbers as a constant: gradients stop here."""
        return Tensor(self.data, dtype=self.dtype)

    def __repr__(self) -> str:
        body = np.array2string(self.data, precision=4, separator=", ", prefix="Tensor(")
        return f"Tensor({body}{', requires_grad=True' if self.requires_grad else ''})"

    # -- elementwise arithmetic (broadcasting) -----------------------------------------

    def __add__(self, other: Any) -> Tensor:
        other = self._lift(other, "+")
        out = Tensor._from_op(self.data + other.data, (self, other), "+")

        def _backward() -> None:
            self._accumulate(out.grad)  # d(a+b)/da = 1
            other._accumulate(out.grad)  # d(a+b)/db = 1

        out._backward = _backward
        return out

    def __sub__(self, other: Any) -> Tensor:
        other = self._lift(other, "-")
        out = Tensor._from_op(self.data - other.data, (self, other), "-")

        def _backward() -> None:
            self._accumulate(out.grad)  # d(a-b)/da = 1
            other._accumulate(-out.grad)  # d(a-b)/db = -1

        out._backward = _backward
        return out

    def __mul__(self, other: Any) -> Tensor:
        other = self._lift(other, "*")
        out = Tensor._from_op(self.data * other.data, (self, other), "*")

        def _backward() -> None:
            self._accumulate(other.data * out.grad)  # d(ab)/da = b
            other._accumulate(self.data * out.grad)  # d(ab)/db = a

        out._backward = _backward
        return out

    def __truediv__(self, other: Any) -> Tensor:
        other = self._lift(other, "/")
        out = Tensor._from_op(self.data / other.data, (self, other), "/")

        def _backward() -> None:
            self._accumulate(out.grad / other.data)  # d(a/b)/da = 1/b
            other._accumulate(-self.data / other.data**2 * out.grad)  # d(a/b)/db = -a/b^2

        out._backward = _backward
        return out

    def __pow__(self, p: float) -> Tensor:
        if isinstance(p, Tensor) or not isinstance(p, (int, float, np.integer, np.floating)):
            raise TypeError(
                f"Tensor ** {type(p).__name__}: the exponent must be a fixed number. "
                "For a learnable exponent p, write (p * x.log()).exp() instead."
            )
        p = float(p)
        if not p.is_integer() and np.any(self.data < 0):
            raise ValueError(
                f"x ** {p:g} is not real where x < 0, and x has {int(np.sum(self.data < 0))} "
                "negative entries; use a positive base (e.g. (x * x + eps) ** (p / 2))."
            )
        out = Tensor._from_op(self.data**p, (self,), f"**{p:g}")

        def _backward() -> None:
            with np.errstate(divide="ignore"):  # x^(p-1) is infinite at x = 0 when p < 1
                local = p * self.data ** (p - 1.0) if p != 0 else np.zeros_like(self.data)
            self._accumulate(local * out.grad)  # d(x^p)/dx = p x^(p-1)

        out._backward = _backward
        return out

    def __neg__(self) -> Tensor:
        out = Tensor._from_op(-self.data, (self,), "neg")

        def _backward() -> None:
            self._accumulate(-out.grad)  # d(-x)/dx = -1

        out._backward = _backward
        return out

    # Reflected operators: ``2 * x`` calls ``x.__rmul__(2)``.
    def __radd__(self, other: Any) -> Tensor:
        return self._lift(other, "+") + self

    def __rsub__(self, other: Any) -> Tensor:
        return self._lift(other, "-") - self

    def __rmul__(self, other: Any) -> Tensor:
        return self._lift(other, "*") * self

    def __rtruediv__(self, other: Any) -> Tensor:
        return self._lift(other, "/") / self

    def __rmatmul__(self, other: Any) -> Tensor:
        return self._lift(other, "@") @ self

    # -- matrix product ------------------------------------------------------------------

    def __matmul__(self, other: Any) -> Tensor:
        """C = A @ B with np.matmul rules: (..., n, k) @ (..., k, m) -> (..., n, m).

        dL/dA = dL/dC @ B^T and dL/dB = A^T @ dL/dC, each summed over any batch
        axes that broadcasting created. A 1-D A is a row (1, k); a 1-D B is a column (k, 1).
        """
        other = self._lift(other, "@")
        _check_matmul(self.shape, other.shape)
        out = Tensor._from_op(self.data @ other.data, (self, other), "@")

        def _backward() -> None:
            a = self.data[None, :] if self.ndim == 1 else self.data  # (..., n, k)
            b = other.data[:, None] if other.ndim == 1 else other.data  # (..., k, m)
            g = out.grad
            g = g[..., None] if other.ndim == 1 else g  # put back m = 1
            g = g[..., None, :] if self.ndim == 1 else g  # put back n = 1; g is (..., n, m)
            da = unbroadcast(g @ np.swapaxes(b, -1, -2), a.shape)  # (..., n, k)
            db = unbroadcast(np.swapaxes(a, -1, -2) @ g, b.shape)  # (..., k, m)
            self._accumulate(da.reshape(self.shape))
            other._accumulate(db.reshape(other.shape))

        out._backward = _backward
        return out

    # -- reductions ------------------------------------------------------------------------

    def sum(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """s = sum of x over ``axis``; ds/dx_i = 1: each x_i receives the gradient of its sum."""
        axes = _normalize_axes(axis, self.ndim)
        out = Tensor._from_op(self.data.sum(axis=axes, keepdims=keepdims), (self,), "sum")

        def _backward() -> None:
            g = _expand_reduced(out.grad, axes, keepdims)  # length 1 on the summed axes
            self._accumulate(np.broadcast_to(g, self.shape))

        out._backward = _backward
        return out

    def mean(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """mean = sum / n, with n the number of elements averaged together."""
        axes = _normalize_axes(axis, self.ndim)
        n = int(np.prod([self.shape[a] for a in axes]))
        return self.sum(axis=axes, keepdims=keepdims) * (1.0 / n)

    def max(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """m = max of x over ``axis``; the gradient goes to the positions of the maximum.

        Where several entries tie for the maximum, each receives an equal share
        (1/count) of the gradient, as ``torch.amax`` does. Any split that sums to 1
        is a valid subgradient; the even one is symmetric.
        """
        axes = _normalize_axes(axis, self.ndim)
        m = self.data.max(axis=axes, keepdims=True)  # length 1 on the reduced axes
        out = Tensor._from_op(m if keepdims else np.squeeze(m, axis=axes), (self,), "max")

        def _backward() -> None:
            is_max = self.data == m  # same shape as x
            share = is_max / is_max.sum(axis=axes, keepdims=True)  # ties split evenly
            self._accumulate(share * _expand_reduced(out.grad, axes, keepdims))

        out._backward = _backward
        return out

    # -- elementwise functions ---------------------------------------------------------

    def exp(self) -> Tensor:
        out = Tensor._from_op(np.exp(self.data), (self,), "exp")

        def _backward() -> None:
            self._accumulate(out.data * out.grad)  # d(e^x)/dx = e^x

        out._backward = _backward
        return out

    def log(self) -> Tensor:
        if np.any(self.data <= 0):
            bad = self.data[self.data <= 0]
            raise ValueError(
                f"log is defined only for positive numbers, but {bad.size} entries are <= 0 "
                f"(the smallest is {bad.min():g}). If they can reach 0, add a small constant: "
                "(x + 1e-12).log()."
            )
        out = Tensor._from_op(np.log(self.data), (self,), "log")

        def _backward() -> None:
            self._accumulate(out.grad / self.data)  # d(log x)/dx = 1/x

        out._backward = _backward
        return out

    def tanh(self) -> Tensor:
        t = np.tanh(self.data)
        out = Tensor._from_op(t, (self,), "tanh")

        def _backward() -> None:
            self._accumulate((1.0 - t * t) * out.grad)  # d(tanh x)/dx = 1 - tanh(x)^2

        out._backward = _backward
        return out

    def sigmoid(self) -> Tensor:
        e = np.exp(-np.abs(self.data))  # in (0, 1]: never overflows
        s = np.where(self.data >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        out = Tensor._from_op(s, (self,), "sigmoid")

        def _backward() -> None:
            self._accumulate(s * (1.0 - s) * out.grad)  # d(sigma x)/dx = sigma (1 - sigma)

        out._backward = _backward
        return out

    def relu(self) -> Tensor:
        out = Tensor._from_op(np.maximum(self.data, 0.0), (self,), "relu")

        def _backward() -> None:
            self._accumulate((self.data > 0) * out.grad)  # [x > 0]; 0 at x = 0, as in PyTorch

        out._backward = _backward
        return out

    # -- shape changes: the gradient moves back to where each entry came from -----------

    def reshape(self, *shape: int | tuple[int, ...]) -> Tensor:
        """Same entries, new shape: ``x.reshape(2, 3)`` or ``x.reshape((2, 3))``."""
        one_seq = len(shape) == 1 and isinstance(shape[0], (tuple, list))
        new_shape = tuple(shape[0]) if one_seq else shape
        try:
            data = self.data.reshape(new_shape)
        except ValueError:
            raise ValueError(
                f"cannot reshape a Tensor of shape {self.shape} ({self.size} entries) "
                f"into shape {new_shape}."
            ) from None
        out = Tensor._from_op(data, (self,), "reshape")

        def _backward() -> None:
            self._accumulate(out.grad.reshape(self.shape))

        out._backward = _backward
        return out

    def transpose(self, *axes: int) -> Tensor:
        """Permute the axes (reverse them when none are given), like ``np.transpose``."""
        given = axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
        perm = tuple(check_axis(a, self.ndim) for a in given) or tuple(reversed(range(self.ndim)))
        if sorted(perm) != list(range(self.ndim)):
            raise ValueError(
                f"transpose axes {tuple(given)} are not a permutation of the {self.ndim} axes "
                f"of a Tensor of shape {self.shape}."
            )
        out = Tensor._from_op(np.transpose(self.data, perm), (self,), "transpose")

        def _backward() -> None:
            self._accumulate(np.transpose(out.grad, np.argsort(perm)))  # the inverse permutation

        out._backward = _backward
        return out

    @property
    def T(self) -> Tensor:
        """All axes reversed; the matrix transpose of a 2-D Tensor."""
        return self.transpose()

    def __getitem__(self, index: Any) -> Tensor:
        """NumPy indexing: ints, slices, integer arrays, boolean masks.

        Every output entry is a copy of one input entry, so the gradient of an input
        entry is the sum of its copies' gradients. ``np.add.at`` does that sum; a
        plain ``grad[index] += g`` would count a repeated index only once.
        """
        if isinstance(index, Tensor):
            raise TypeError("index with a NumPy array or a list of ints, not with a Tensor.")
        out = Tensor._from_op(self.data[index], (self,), "getitem")

        def _backward() -> None:
            g = np.zeros_like(self.data)
            np.add.at(g, index, out.grad)
            self._accumulate(g)

        out._backward = _backward
        return out

    # -- reverse mode --------------------------------------------------------------------

    def backward(self, grad: Any = None) -> None:
        """Fill ``.grad`` of every Tensor in the graph that requires grad, with L = self.

        ``grad`` is dL/d(self); it defaults to 1 when self holds one number. For a
        non-scalar output pass it explicitly: ``y.backward(np.ones_like(y.data))``
        computes the gradient of ``y.sum()``. As in PyTorch, leaves accumulate
        across calls (call :meth:`zero_grad` between steps); inner nodes start from zero.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward() on a Tensor that does not require grad: create the inputs you "
                "want gradients for with Tensor(data, requires_grad=True)."
            )
        if grad is None:
            if self.size != 1:
                raise RuntimeError(
                    f"backward() needs a gradient for a non-scalar output of shape {self.shape}: "
                    "call loss.backward() on a scalar loss (e.g. y.sum()), or pass "
                    "y.backward(grad) with grad of the same shape as y."
                )
            grad = np.ones_like(self.data)  # dL/dL = 1
        grad = as_float_array(grad, "grad")
        if grad.shape != self.shape:
            raise ValueError(
                f"backward(grad): grad has shape {grad.shape} but the output has shape "
                f"{self.shape}; they must match."
            )
        order = _topological_order(self)  # inputs first, self last
        for node in order:
            if node.parents:
                node.grad.fill(0.0)
        self.grad += grad
        for node in reversed(order):
            node._backward()

    def zero_grad(self) -> None:
        """Set the gradient to zero, in place (an optimizer holding ``.grad`` sees it)."""
        self.grad.fill(0.0)


def _check_matmul(a: tuple[int, ...], b: tuple[int, ...]) -> None:
    """Explain a matmul shape mismatch, naming both shapes."""
    if len(a) == 0 or len(b) == 0:
        raise ValueError(f"matmul needs arrays with at least 1 axis, got shapes {a} and {b}.")
    k_b = b[0] if len(b) == 1 else b[-2]
    if a[-1] != k_b:
        raise ValueError(
            f"matmul: shapes {a} and {b} do not line up: the left operand has {a[-1]} "
            f"columns but the right operand has {k_b} rows; they must be equal."
        )
    try:
        np.broadcast_shapes(a[:-2], b[:-2])
    except ValueError:
        raise ValueError(
            f"matmul: shapes {a} and {b} have batch axes {a[:-2]} and {b[:-2]} "
            "that do not broadcast together."
        ) from None


def _topological_order(root: Tensor) -> list[Tensor]:
    """Tensors that ``root`` depends on and that require grad, parents first, root last."""
    order: list[Tensor] = []
    seen: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        stack.extend((p, False) for p in node.parents if p.requires_grad and id(p) not in seen)
    return order


# ---------------------------------------------------------------------------
# Composite functions: built from the operations above, so backward comes free
# ---------------------------------------------------------------------------


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """log softmax(x)_i = (x_i - m) - log sum_j e^{x_j - m}, with m = max_j x_j.

    Subtracting m keeps every exponent <= 0, so exp cannot overflow. m is
    detached: the result does not depend on m (it cancels), so no gradient
    needs to flow through it.
    """
    axis = check_axis(axis, x.ndim)
    m = x.max(axis=axis, keepdims=True).detach()  # (..., 1, ...)
    z = x - m  # same shape as x, every entry <= 0
    return z - z.exp().sum(axis=axis, keepdims=True).log()


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """softmax(x)_i = e^{x_i - m} / sum_j e^{x_j - m}: positive, and sums to 1 along ``axis``."""
    axis = check_axis(axis, x.ndim)
    e = (x - x.max(axis=axis, keepdims=True).detach()).exp()  # same shape as x
    return e / e.sum(axis=axis, keepdims=True)


def cross_entropy(logits: Tensor, labels: Any) -> Tensor:
    """L = -(1/B) sum_b log softmax(logits_b)[y_b], for logits (B, K) and labels (B,)."""
    if logits.ndim != 2:
        raise ValueError(f"logits must have shape (B, K), got {logits.shape}.")
    B, K = logits.shape
    labels = check_labels(labels, B, K)  # (B,) ints in [0, K)
    logp = log_softmax(logits, axis=1)  # (B, K)
    return -logp[np.arange(B), labels].mean()  # pick (B,), average to ()
