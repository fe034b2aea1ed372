"""Interactive explorers for the notebooks, each with a static twin for the HTML book.

Every widget here is a thin ``ipywidgets`` shell around a pure function that
draws one figure (``*_figure``). The notebook shows the widget to people who
run it, and calls the same ``*_figure`` function once with fixed values, so
the built book (which cannot run Python) still shows the picture.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlbook.plotting import book_figure, label, plot_decision_boundary


def neuron_predict(
    x: np.ndarray, w: tuple[float, float], b: float, activation: str = "sigmoid"
) -> np.ndarray:
    """One neuron on 2-D inputs: a = f(x @ w + b), for x (N, 2) -> (N,)."""
    from dlbook.nn.numpy_backend import ACTIVATIONS

    if activation not in ACTIVATIONS:
        raise ValueError(f"Unknown activation {activation!r}; choose one of {sorted(ACTIVATIONS)}.")
    f, _ = ACTIVATIONS[activation]
    return f(x @ np.asarray(w, dtype=float) + b)


def neuron_figure(
    x: np.ndarray,
    y: np.ndarray,
    w1: float = 1.0,
    w2: float = 1.0,
    b: float = 0.0,
    activation: str = "sigmoid",
) -> Any:
    """Two panels: the neuron's output over the plane with the data, and its activation curve."""

    from dlbook.nn.numpy_backend import ACTIVATIONS

    fig, (ax0, ax1) = book_figure(1, 2, height=3.3)
    plot_decision_boundary(
        lambda g: neuron_predict(g, (w1, w2), b, activation),
        x,
        y,
        ax=ax0,
        title=f"{activation}({w1:.1f}·x₁ + {w2:.1f}·x₂ + {b:.1f})",
    )
    z = np.linspace(-6, 6, 241)
    ax1.plot(z, ACTIVATIONS[activation][0](z))
    z_data = x @ np.array([w1, w2]) + b  # (N,) pre-activations of the data points
    ax1.scatter(z_data, ACTIVATIONS[activation][0](z_data), c=y, cmap="RdBu", edgecolors="k", s=14)
    label(ax1, f"where the data land on {activation}", "z = w·x + b", "output f(z)")
    return fig


def neuron_widget(x: np.ndarray, y: np.ndarray) -> Any:
    """Sliders for w1, w2, b and a menu of activations, redrawing :func:`neuron_figure`."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    def draw(w1: float, w2: float, b: float, activation: str) -> None:
        neuron_figure(x, y, w1, w2, b, activation)
        plt.show()

    slider = dict(min=-4.0, max=4.0, step=0.1, continuous_update=False)
    return widgets.interactive(
        draw,
        w1=widgets.FloatSlider(value=1.0, description="w₁", **slider),
        w2=widgets.FloatSlider(value=1.0, description="w₂", **slider),
        b=widgets.FloatSlider(value=0.0, description="b", **slider),
        activation=widgets.Dropdown(options=["sigmoid", "tanh", "relu", "gelu"], value="sigmoid"),
    )


# ---------------------------------------------------------------------------
# Chapter 2: the optimizer race on a 2-D surface
# ---------------------------------------------------------------------------

# One colour per runner, the same in every figure of the chapter.
OPTIMIZER_COLORS = {
    "SGD": "#4C72B0",
    "momentum": "#DD8452",
    "Nesterov": "#55A868",
    "RMSprop": "#C44E52",
    "Adam": "#8172B3",
}

# Settings that make a telling static figure on each surface (and the widget's starting values).
RACE_DEFAULTS: dict[str, dict[str, Any]] = {
    "ill-conditioned quadratic": dict(
        lr=0.05, adaptive_lr=0.1, momentum=0.6, beta1=0.9, beta2=0.999, steps=100
    ),
    "rosenbrock": dict(lr=1e-3, adaptive_lr=0.02, momentum=0.9, beta1=0.9, beta2=0.999, steps=1000),
    "saddle": dict(lr=0.05, adaptive_lr=0.05, momentum=0.9, beta1=0.9, beta2=0.999, steps=100),
}
_RACE_SLIDERS = ("lr", "adaptive_lr", "momentum", "beta1", "beta2")


def _visible_path(path: np.ndarray, xlim: tuple, ylim: tuple) -> tuple[np.ndarray, bool]:
    """Hide a path from where it leaves a box 3x the window (or stops being finite).

    Returns the path with those rows set to NaN (matplotlib skips them) and
    whether anything was hidden, i.e. whether the run diverged.
    """
    (x_lo, x_hi), (y_lo, y_hi) = xlim, ylim
    wx, wy = x_hi - x_lo, y_hi - y_lo
    finite = np.isfinite(path).all(axis=1)
    p = np.where(finite[:, None], path, 0.0)  # (S + 1, 2), no NaN in the comparisons
    inside = (
        finite
        & (np.abs(p[:, 0] - (x_lo + x_hi) / 2) <= 1.5 * wx)
        & (np.abs(p[:, 1] - (y_lo + y_hi) / 2) <= 1.5 * wy)
    )
    keep = np.logical_and.accumulate(inside)  # once out, out for good
    return np.where(keep[:, None], path, np.nan), not bool(keep.all())


def _contour_levels(surface: Any, values: np.ndarray) -> np.ndarray:
    """Log-spaced gaps for Rosenbrock (its floor is flat, its walls steep); else squares.

    Levels f* + s^2 with evenly spaced s draw a quadratic's ellipses evenly spaced.
    """
    top = float(np.max(values)) - surface.f_min
    if surface.name == "rosenbrock":
        return surface.f_min + np.logspace(-1, np.log10(top), 18)
    return surface.f_min + np.linspace(0.0, np.sqrt(top), 16)[1:] ** 2


def _race_contour(ax: Any, surface: Any, paths: dict[str, np.ndarray]) -> dict[str, bool]:
    """Contours of the surface, each path on top; returns which paths were hidden (diverged)."""
    g0, g1 = np.meshgrid(np.linspace(*surface.xlim, 300), np.linspace(*surface.ylim, 300))
    values = surface.f(np.stack([g0, g1], axis=-1))  # (300, 300)
    ax.contour(
        g0,
        g1,
        values,
        levels=_contour_levels(surface, values),
        colors="0.7",
        linewidths=0.7,
        negative_linestyles="solid",
    )
    diverged = {}
    for name, path in paths.items():
        shown, diverged[name] = _visible_path(path, surface.xlim, surface.ylim)
        ax.plot(shown[:, 0], shown[:, 1], ".-", ms=2.5, lw=1.2, color=OPTIMIZER_COLORS.get(name))
    ax.plot(*surface.x0, "ko", ms=6, label="start")
    ax.plot(*surface.minimum, "k*", ms=12, label="minimum")
    ax.set_xlim(*surface.xlim)
    ax.set_ylim(*surface.ylim)
    ax.set_aspect("equal", adjustable="box")
    return diverged


def race_figure(
    surface_name: Any = "ill-conditioned quadratic",
    lr: float | None = None,
    momentum: float | None = None,
    beta1: float | None = None,
    beta2: float | None = None,
    steps: int | None = None,
    adaptive_lr: float | None = None,
) -> Any:
    """SGD, momentum, Nesterov, RMSprop and Adam race from one start on a surface.

    Left: the paths over the contours. Right: the gap f(x_t) - f* on a log scale.
    ``surface_name`` names one of ``dlbook.landscapes.SURFACES`` or is a
    :class:`~dlbook.landscapes.Surface` itself (e.g. a rotated quadratic).
    ``lr`` drives the SGD family and ``adaptive_lr`` RMSprop and Adam (see
    :func:`dlbook.landscapes.race_configs`); any setting left as None takes its
    value from ``RACE_DEFAULTS`` for the surface's name. Runs that blow up are
    cut where they leave the picture and marked "diverged"; they never raise.
    """

    from dlbook.landscapes import Surface, get_surface, race, race_configs

    surface = surface_name if isinstance(surface_name, Surface) else get_surface(surface_name)
    defaults = RACE_DEFAULTS.get(surface.name, RACE_DEFAULTS["ill-conditioned quadratic"])
    given = dict(lr=lr, adaptive_lr=adaptive_lr, momentum=momentum, beta1=beta1, beta2=beta2)
    s = {**defaults, **{k: v for k, v in given.items() if v is not None}}
    s["steps"] = defaults["steps"] if steps is None else steps
    paths = race(surface, race_configs(*(s[k] for k in _RACE_SLIDERS)), s["steps"])
    # stacked, not side by side: each panel gets the column's full width
    fig, (ax0, ax1) = book_figure(2, 1, height=7.4, height_ratios=[1.25, 1])
    diverged = _race_contour(ax0, surface, paths)
    for name, path in paths.items():
        with np.errstate(over="ignore", invalid="ignore"):
            gap = surface.f(_visible_path(path, surface.xlim, surface.ylim)[0]) - surface.f_min
        tag = " (diverged)" if diverged[name] else ""
        ax1.plot(np.maximum(gap, 1e-16), color=OPTIMIZER_COLORS.get(name), label=name + tag)
    ax1.set_yscale("log")
    ax1.legend(loc="upper right")
    ax0.legend(loc="lower right")
    label(ax0, f"{surface.name}: paths from one start", "$x_1$", "$x_2$")
    label(ax1, "how far above the minimum", "step t", "f(x_t) − f*  (log scale)")
    fig.suptitle(
        f"lr = {s['lr']:.3g} (SGD, momentum, Nesterov), {s['adaptive_lr']:.3g} (RMSprop, Adam)\n"
        f"momentum = {s['momentum']:.2f}, β₁ = {s['beta1']:.2f}, β₂ = {s['beta2']:.3f}",
    )
    return fig


def race_widget(steps: int | None = None) -> Any:
    """A surface menu and sliders for the learning rates, momentum, β₁ and β₂ (see race_figure).

    Choosing another surface resets the sliders to that surface's ``RACE_DEFAULTS``.
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    first = "ill-conditioned quadratic"
    d = RACE_DEFAULTS[first]
    log = dict(base=10, continuous_update=False, readout_format=".1e")
    lin = dict(step=0.01, continuous_update=False)
    sliders = {
        "lr": widgets.FloatLogSlider(value=d["lr"], min=-4, max=0, description="lr SGD", **log),
        "adaptive_lr": widgets.FloatLogSlider(
            value=d["adaptive_lr"], min=-3, max=0, description="lr Adam", **log
        ),
        "momentum": widgets.FloatSlider(value=d["momentum"], min=0, max=0.99, **lin),
        "beta1": widgets.FloatSlider(value=d["beta1"], min=0, max=0.99, description="β₁", **lin),
        "beta2": widgets.FloatSlider(
            value=d["beta2"], min=0.5, max=0.999, step=0.001, description="β₂", readout_format=".3f"
        ),
    }
    state = {"surface": first, "resetting": False}

    def draw(surface_name: str, **values: float) -> None:
        if state["resetting"]:
            return  # a slider moved because the surface changed: draw once, below
        if surface_name != state["surface"]:
            state["surface"], state["resetting"] = surface_name, True
            try:
                for key, slider in sliders.items():
                    slider.value = values[key] = RACE_DEFAULTS[surface_name][key]
            finally:
                state["resetting"] = False
        race_figure(surface_name, steps=steps, **values)
        plt.show()

    menu = widgets.Dropdown(options=list(RACE_DEFAULTS), value=first, description="surface")
    return widgets.interactive(draw, surface_name=menu, **sliders)


def plot_paths(surface: Any, paths: dict[str, np.ndarray], *, title: str, ax: Any = None) -> Any:
    """Contours of a 2-D ``surface`` with labelled paths (each a (S + 1, 2) array) on top.

    A path that leaves the picture or stops being finite is cut there and its
    label says "(diverged)".
    """

    ax = ax if ax is not None else book_figure(width=5.0, height=4.0)[1]
    g0, g1 = np.meshgrid(np.linspace(*surface.xlim, 200), np.linspace(*surface.ylim, 200))
    values = surface.f(np.stack([g0, g1], axis=-1))  # (200, 200)
    ax.contour(
        g0,
        g1,
        values,
        levels=_contour_levels(surface, values),
        colors="0.75",
        linewidths=0.7,
        negative_linestyles="solid",
    )
    for name, path in paths.items():
        shown, diverged = _visible_path(path, surface.xlim, surface.ylim)
        ax.plot(
            shown[:, 0],
            shown[:, 1],
            ".-",
            ms=3,
            lw=1.2,
            label=f"{name} (diverged)" if diverged else name,
        )
    ax.plot(*surface.x0, "ko", ms=5)
    ax.plot(*surface.minimum, "k*", ms=10)
    ax.set_xlim(*surface.xlim)
    ax.set_ylim(*surface.ylim)
    ax.legend(loc="upper right")
    return label(ax, title, "$x_1$", "$x_2$")
