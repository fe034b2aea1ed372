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

# The book's text column is about 700 CSS px wide. At figure.dpi = 100 a figure
# of COLUMN_WIDTH_IN inches is shown at its natural size (no shrinking), so a
# font of f points is f * 100 / 72 px on screen: 9 pt -> 12.5 px. Inline PNGs
# are rendered at twice that resolution ("retina") for sharp 2x screens.
COLUMN_WIDTH_IN = 7.0  # widest figure the column shows unscaled
COLUMN_PX = 700  # CSS px of the text column
MIN_TEXT_PX = 9.0  # smallest legible text at display size
BOOK_STYLE = {
    "figure.figsize": (COLUMN_WIDTH_IN, 3.4),
    "figure.dpi": 100,
    "savefig.dpi": 200,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "figure.titlesize": 11,
    "legend.frameon": False,
    "savefig.bbox": "tight",
}


def use_book_style() -> None:
    """Apply the book's matplotlib style (call once, in a chapter's first cell).

    In a Jupyter kernel it also asks for 2x ("retina") PNGs, which the built
    book shows at their natural width: sharp on 2x screens, same layout.
    """
    import sys

    import matplotlib as mpl

    mpl.rcParams.update(BOOK_STYLE)
    if "ipykernel" in sys.modules:
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("retina")


def book_figure(
    nrows: int = 1,
    ncols: int = 1,
    *,
    height: float | None = None,
    width: float = COLUMN_WIDTH_IN,
    **subplots_kw: Any,
) -> tuple[Any, Any]:
    """``plt.subplots`` sized for the book's column: ``(fig, axes)``.

    The width is at most the column (7 in = 700 px at 100 dpi), so the
    figure is never shrunk on the page and the style's 9-11 pt fonts stay
    >= 12 px. ``height`` defaults to 3.2 in for one row, 2.6 in per row
    otherwise. Constrained layout keeps titles, labels and colour bars apart.
    """
    import matplotlib.pyplot as plt

    if not 0 < width <= COLUMN_WIDTH_IN:
        raise ValueError(
            f"book_figure: width must be in (0, {COLUMN_WIDTH_IN}] inches (the text "
            f"column), got {width}; use more rows instead of a wider figure."
        )
    if nrows < 1 or ncols < 1:
        raise ValueError(f"book_figure: nrows and ncols must be >= 1, got {nrows}, {ncols}.")
    if height is None:
        height = 3.2 if nrows == 1 else 2.6 * nrows
    subplots_kw.setdefault("layout", "constrained")
    return plt.subplots(nrows, ncols, figsize=(width, height), **subplots_kw)


def _visible_texts(fig: Any) -> list[Any]:
    """Every visible, non-empty text artist of ``fig`` (titles, labels, ticks, legends)."""
    from matplotlib.text import Text

    fig.draw_without_rendering()  # creates the tick labels matplotlib makes lazily
    texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    # tick labels of invisible ticks are not drawn
    return [t for t in texts if t.get_figure() is not None]


def smallest_text_px(fig: Any, column_px: int = COLUMN_PX) -> float:
    """Size in CSS px of the smallest text of ``fig`` as the book shows it.

    A figure wider than the column is scaled down to fit it; its text shrinks
    with it. Returns ``inf`` for a figure without text.
    """
    dpi = fig.get_dpi()
    width_px = fig.get_figwidth() * dpi
    scale = min(1.0, column_px / width_px)
    sizes = [t.get_fontsize() * dpi / 72.0 * scale for t in _visible_texts(fig)]
    return min(sizes, default=float("inf"))


def figure_problems(fig: Any, column_px: int = COLUMN_PX) -> list[str]:
    """What a reader would find wrong with ``fig``: an empty list when it is fine.

    Checks that the figure fits the column, that its smallest text is at
    least MIN_TEXT_PX at display size, and that every axes with data (not a
    colour bar, not switched off) has a title (or the figure a suptitle) and
    an x label.
    """
    problems = []
    width_px = fig.get_figwidth() * fig.get_dpi()
    if width_px > column_px * 1.001:
        problems.append(f"figure is {width_px:.0f} px wide, the column {column_px} px")
    small = smallest_text_px(fig, column_px)
    if small < MIN_TEXT_PX:
        problems.append(f"smallest text is {small:.1f} px at display size (< {MIN_TEXT_PX})")
    suptitle = fig._suptitle.get_text() if fig._suptitle is not None else ""
    for i, ax in enumerate(fig.axes):
        if ax.get_label() == "<colorbar>" or not ax.axison:
            continue
        if not (ax.get_title() or suptitle):
            problems.append(f"axes {i} has no title")
        if not ax.get_xlabel():
            problems.append(f"axes {i} has no x label")
    return problems


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
    images: np.ndarray,
    labels: Sequence[int],
    *,
    title: str = "digits",
    ncols: int = 10,
) -> Any:
    """Show 8x8 digit images (rows of 64 pixels) in a grid, each titled with its label.

    Pass raw grey levels (``load_digits_split(standardize=False)``):
    standardised pixels look like noise to a human eye.
    """
    import matplotlib.pyplot as plt

    pixels = np.asarray(images)
    if pixels.ndim != 2 or pixels.shape[1] != 64:
        raise ValueError(f"show_digits needs rows of 64 pixels, shape (N, 64); got {pixels.shape}.")
    n = len(pixels)
    nrows = int(np.ceil(n / ncols))
    width = min(COLUMN_WIDTH_IN, 0.68 * ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(width, 0.8 * nrows + 0.45), squeeze=False, layout="constrained"
    )
    for ax, img, lab in zip(np.ravel(axes), pixels, labels, strict=False):  # spare axes stay blank
        ax.imshow(img.reshape(8, 8), cmap="gray_r")  # (64,) -> (8, 8)
        ax.set_title(str(lab), fontsize=10)
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

        size = (min(COLUMN_WIDTH_IN, 1.4 * width + 0.4), min(4.5, 0.8 * height + 0.8))
        ax = plt.subplots(figsize=size, layout="constrained")[1]
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
