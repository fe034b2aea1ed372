"""Interactive explorers for the notebooks, each with a static twin for the HTML book.

Every widget here is a thin ``ipywidgets`` shell around a pure function that
draws one figure (``*_figure``). The notebook shows the widget to people who
run it, and calls the same ``*_figure`` function once with fixed values, so
the built book (which cannot run Python) still shows the picture.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlbook.plotting import label, plot_decision_boundary


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
    import matplotlib.pyplot as plt

    from dlbook.nn.numpy_backend import ACTIVATIONS

    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 4))
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
    label(ax1, f"where the data land on {activation}", "pre-activation z = w·x + b", "output f(z)")
    fig.tight_layout()
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
