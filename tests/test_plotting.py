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


def test_book_figure_fits_the_column_and_refuses_wider() -> None:
    fig, axes = plotting.book_figure(1, 2)
    assert fig.get_figwidth() == plotting.COLUMN_WIDTH_IN and len(axes) == 2
    with pytest.raises(ValueError, match="column"):
        plotting.book_figure(width=12)
    with pytest.raises(ValueError, match="nrows"):
        plotting.book_figure(0, 1)


def test_figure_problems_finds_what_a_reader_would() -> None:
    plotting.use_book_style()
    fig, ax = plt.subplots(figsize=(15, 4))  # shrunk to 700/1500 of its size on the page
    ax.plot([0, 1], [0, 1])
    problems = plotting.figure_problems(fig)
    assert any("wide" in p for p in problems)
    assert any("smallest text" in p for p in problems)
    assert any("no title" in p for p in problems) and any("x label" in p for p in problems)
    fig, ax = plotting.book_figure()
    plotting.label(ax.plot([0, 1], [0, 1])[0].axes, "a line", "x", "y")
    assert plotting.figure_problems(fig) == []
    ax.set_xticks([0, 1], ["a", "b"], fontsize=5)  # 6.9 px: too small
    assert any("smallest text" in p for p in plotting.figure_problems(fig))


def test_book_style_fonts_are_legible_at_display_size() -> None:
    plotting.use_book_style()
    fig, ax = plotting.book_figure()
    plotting.label(ax, "t", "x", "y")
    ax.legend(handles=ax.plot([0, 1], [0, 1], label="line"))
    assert plotting.smallest_text_px(fig) >= plotting.MIN_TEXT_PX


def test_book_helpers_draw_legible_figures() -> None:
    plotting.use_book_style()
    x, y = make_moons(40, rng=1)
    a, b = Value(2.0, label="a"), Value(3.0, label="b")
    out = (a * b + a).tanh()
    out.backward()
    figures = {
        "neuron_figure": neuron_figure(x, y, 1.0, -1.0, 0.5, "relu"),
        "draw_graph": plotting.draw_graph(out).figure,
        "show_digits": plotting.show_digits(np.zeros((20, 64)), list(range(20))),
    }
    for name, fig in figures.items():
        assert plotting.figure_problems(fig) == [], name


def test_show_digits_rejects_wrong_shapes() -> None:
    with pytest.raises(ValueError, match="64"):
        plotting.show_digits(np.zeros((3, 8, 8)), [0, 1, 2])
