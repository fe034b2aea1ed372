"""Every plot in the book has a title and labelled axes; the helpers guarantee it."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from dlbook import plotting  # noqa: E402
from dlbook.autograd import Value  # noqa: E402
from dlbook.data import make_moons  # noqa: E402
from dlbook.widgets import neuron_figure, neuron_predict  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _assert_labelled(ax) -> None:
    assert ax.get_title(), "plot has no title"
    assert ax.get_xlabel(), "plot has no x label"


def test_function_and_derivative_plot_is_labelled() -> None:
    ax = plotting.plot_function_and_derivative(np.tanh, lambda x: 1 - np.tanh(x) ** 2, "tanh")
    _assert_labelled(ax)
    assert ax.get_ylabel() and len(ax.lines) == 2


def test_decision_boundary_plot() -> None:
    x, y = make_moons(50, rng=0)
    ax = plotting.plot_decision_boundary(lambda g: (g[:, 0] > 0).astype(int), x, y)
    _assert_labelled(ax)
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        plotting.plot_decision_boundary(lambda g: g[:, 0], np.zeros((5, 3)), np.zeros(5))


def test_curves_plot_uses_backend_colours() -> None:
    ax = plotting.plot_curves({"torch": [3, 2, 1]}, title="loss")
    _assert_labelled(ax)
    assert (
        matplotlib.colors.to_hex(ax.lines[0].get_color())
        == plotting.BACKEND_COLORS["torch"].lower()
    )


def test_draw_graph_shows_every_node() -> None:
    a, b = Value(2.0, label="a"), Value(3.0, label="b")
    out = (a * b + a).tanh()
    out.backward()
    ax = plotting.draw_graph(out)
    _assert_labelled(ax)
    boxes = [t for t in ax.texts if t.get_bbox_patch() is not None]
    assert len(boxes) == 5  # a, b, a*b, (a*b)+a, tanh


def test_neuron_figure_panels_are_labelled() -> None:
    x, y = make_moons(40, rng=1)
    fig = neuron_figure(x, y, 1.0, -1.0, 0.5, "relu")
    for ax in fig.axes:
        if ax.get_label() != "<colorbar>":
            _assert_labelled(ax)


def test_neuron_predict_matches_formula_and_validates() -> None:
    x = np.array([[1.0, 2.0]])
    np.testing.assert_allclose(neuron_predict(x, (0.5, -1.0), 0.25, "tanh"), np.tanh([-1.25]))
    with pytest.raises(ValueError, match="activation"):
        neuron_predict(x, (1.0, 1.0), 0.0, "softplus")
