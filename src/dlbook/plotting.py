"""Plotting helpers with one consistent style for the whole book.

Every helper takes an optional ``ax`` and returns it, sets a title and labels
both axes: a figure without them is a bug in this book.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

# One colour per backend, used everywhere the three appear together.
BACKEND_COLORS = {"numpy": "#4C72B0", "torch": "#DD8452", "tensorflow": "#55A868"}
BOOK_STYLE = {
    "figure.figsize": (6.0, 4.0),
    "figure.dpi": 100,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "legend.frameon": False,
    "savefig.bbox": "tight",
}


def use_book_style() -> None:
    """Apply the book's matplotlib style (call once, in a chapter's first cell)."""
    import matplotlib as mpl

    mpl.rcParams.update(BOOK_STYLE)


def _axes(ax: Any = None) -> Any:
    import matplotlib.pyplot as plt

    return ax if ax is not None else plt.subplots()[1]


def label(ax: Any, title: str, xlabel: str, ylabel: str) -> Any:
    """Set the title and both axis labels in one call."""
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax


def plot_function_and_derivative(
    f: Callable[[np.ndarray], np.ndarray],
    df: Callable[[np.ndarray], np.ndarray],
    name: str,
    *,
    x: np.ndarray | None = None,
    ax: Any = None,
) -> Any:
    """Plot f(x) and f'(x) on one axes; ``df`` takes x and returns the derivative."""
    ax = _axes(ax)
    x = np.linspace(-4, 4, 401) if x is None else x
    ax.plot(x, f(x), label=f"{name}(x)")
    ax.plot(x, df(x), "--", label=f"{name}'(x)")
    ax.legend()
    return label(ax, name, "x", "value")


def plot_decision_boundary(
    predict: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    y: np.ndarray,
    *,
    title: str = "decision boundary",
    resolution: int = 200,
    ax: Any = None,
) -> Any:
    """Shade the class ``predict`` assigns to each point of a grid around 2-D data ``x``.

    ``predict`` maps (N, 2) points to (N,) class indices or to (N,) scores in [0, 1].
    """
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"plot_decision_boundary needs 2-D points of shape (N, 2), got {x.shape}.")
    ax = _axes(ax)
    lo, hi = x.min(axis=0) - 0.5, x.max(axis=0) + 0.5
    g0, g1 = np.meshgrid(
        np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution)
    )
    grid = np.stack([g0.ravel(), g1.ravel()], axis=1)  # (resolution^2, 2)
    z = np.asarray(predict(grid)).reshape(g0.shape)  # (resolution, resolution)
    ax.contourf(g0, g1, z, levels=20, cmap="RdBu", alpha=0.35)
    ax.scatter(x[:, 0], x[:, 1], c=y, cmap="RdBu", edgecolors="k", s=18)
    return label(ax, title, "$x_1$", "$x_2$")


def plot_curves(
    curves: Mapping[str, Sequence[float]],
    *,
    title: str,
    xlabel: str = "epoch",
    ylabel: str = "loss",
    logy: bool = False,
    ax: Any = None,
) -> Any:
    """One line per named curve, in the backend colour when the name is a backend."""
    ax = _axes(ax)
    for name, values in curves.items():
        ax.plot(np.arange(1, len(values) + 1), values, label=name, color=BACKEND_COLORS.get(name))
    if logy:
        ax.set_yscale("log")
    ax.legend()
    return label(ax, title, xlabel, ylabel)


def show_digits(
    images: np.ndarray, labels: Sequence[int], *, title: str = "digits", ncols: int = 10
) -> Any:
    """Show 8x8 digit images (rows of 64 pixels) in a grid, each titled with its label."""
    import matplotlib.pyplot as plt

    n = len(images)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * 0.9, nrows * 1.0))
    for ax, img, lab in zip(np.ravel(axes), images, labels, strict=False):  # spare axes stay blank
        ax.imshow(np.asarray(img).reshape(8, 8), cmap="gray_r")  # (64,) -> (8, 8)
        ax.set_title(str(lab), fontsize=9)
    for ax in np.ravel(axes):
        ax.axis("off")
    fig.suptitle(title)
    return fig


def _graph_layout(
    nodes: Sequence[Any], edges: Sequence[tuple[Any, Any]]
) -> dict[int, tuple[float, float]]:
    """Place each node at (depth, row): depth = longest path from an input, rows spread evenly."""
    depth: dict[int, int] = {}
    for node in nodes:  # topological order: parents first
        parents = [p for p, c in edges if c is node]
        depth[id(node)] = 1 + max((depth[id(p)] for p in parents), default=-1)
    columns: dict[int, list[Any]] = {}
    for node in nodes:
        columns.setdefault(depth[id(node)], []).append(node)
    pos = {}
    for d, column in columns.items():
        for row, node in enumerate(column):
            pos[id(node)] = (float(d), (len(column) - 1) / 2.0 - row)
    return pos


def draw_graph(root: Any, *, title: str = "computational graph", ax: Any = None) -> Any:
    """Draw the computational graph of a scalar autograd ``Value``: inputs left, output right.

    Each box shows the node's label (or operation), its value and its gradient.
    """
    from dlbook.autograd.scalar import graph_edges

    nodes, edges = graph_edges(root)
    pos = _graph_layout(nodes, edges)
    width = max(p[0] for p in pos.values()) + 1
    height = max(abs(p[1]) for p in pos.values()) * 2 + 1
    if ax is None:
        import matplotlib.pyplot as plt

        ax = plt.subplots(figsize=(2.3 * width + 1, 1.1 * height + 1))[1]
    for parent, child in edges:
        (x0, y0), (x1, y1) = pos[id(parent)], pos[id(child)]
        ax.annotate(
            "",
            xy=(x1 - 0.28, y1),
            xytext=(x0 + 0.28, y0),
            arrowprops=dict(arrowstyle="->", color="0.4"),
        )
    for node in nodes:
        name = node.label or node.op or "const"
        op = f" ({node.op})" if node.label and node.op else ""
        ax.text(
            *pos[id(node)],
            f"{name}{op}\n{node.data:.3f} / {node.grad:.3f}",
            ha="center",
            va="center",
            fontsize=9,
            bbox=dict(boxstyle="round", fc="#EAF1FB", ec="#4C72B0"),
        )
    ax.set_xlim(-0.6, width - 0.4)
    ax.set_ylim(-height / 2, height / 2)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    return label(ax, title, "forward: inputs → output   (backward runs right to left)", "")
