"""The optimizer race of chapter 2: every figure labelled, no setting able to crash it."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from dlbook import landscapes  # noqa: E402
from dlbook.widgets import RACE_DEFAULTS, _visible_path, race_figure, race_widget  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _assert_labelled(fig) -> None:
    for ax in fig.axes:
        assert ax.get_title(), "a panel has no title"
        assert ax.get_xlabel(), f"panel {ax.get_title()!r} has no x label"
        assert ax.get_ylabel(), f"panel {ax.get_title()!r} has no y label"


def _legend_texts(fig) -> list[str]:
    return [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().texts]


def test_every_surface_has_defaults() -> None:
    assert set(RACE_DEFAULTS) == set(landscapes.SURFACES)


@pytest.mark.parametrize("name", list(landscapes.SURFACES))
def test_race_figure_builds_for_every_surface(name: str) -> None:
    fig = race_figure(name, steps=60)
    assert len(fig.axes) == 2
    _assert_labelled(fig)
    assert fig.axes[1].get_yscale() == "log"
    legend = _legend_texts(fig)
    for runner in ["SGD", "momentum", "Nesterov", "RMSprop", "Adam"]:
        assert runner in legend
    assert not any("diverged" in text for text in legend), "the defaults should all converge"


def test_race_figure_without_momentum() -> None:
    fig = race_figure("saddle", momentum=0.0, beta1=0.0, steps=20)  # Nesterov needs momentum > 0
    assert "Nesterov" in _legend_texts(fig)


def test_race_figure_accepts_a_surface_object() -> None:
    surface = landscapes.ill_conditioned_quadratic(kappa=10.0, angle=np.pi / 6)
    _assert_labelled(race_figure(surface, steps=30))


@pytest.mark.parametrize("name", list(landscapes.SURFACES))
def test_diverging_settings_do_not_raise(name: str) -> None:
    with np.errstate(all="raise"):  # not even a floating-point warning escapes
        fig = race_figure(name, lr=1.0, adaptive_lr=1.0, momentum=0.99, beta1=0.0, steps=200)
    _assert_labelled(fig)
    assert any("diverged" in text for text in _legend_texts(fig))


def test_visible_path_hides_everything_after_leaving_the_picture() -> None:
    path = np.array([[0.0, 0.0], [1.0, 1.0], [50.0, 0.0], [0.5, 0.5], [np.inf, np.nan]])
    shown, diverged = _visible_path(path, (-2.0, 2.0), (-2.0, 2.0))
    assert diverged
    np.testing.assert_array_equal(shown[:2], path[:2])
    assert np.isnan(shown[2:]).all()  # hidden for good, even when it comes back
    shown, diverged = _visible_path(path[:2], (-2.0, 2.0), (-2.0, 2.0))
    assert not diverged and np.isfinite(shown).all()


def test_unknown_surface_is_explained() -> None:
    with pytest.raises(ValueError, match="Unknown surface"):
        race_figure("himmelblau")


@pytest.mark.filterwarnings("ignore:.*non-interactive.*:UserWarning")
def test_race_widget_constructs_and_resets_on_a_new_surface(monkeypatch, caplog) -> None:
    import dlbook.widgets

    calls = []
    real = dlbook.widgets.race_figure
    monkeypatch.setattr(
        dlbook.widgets, "race_figure", lambda *a, **k: calls.append((a, k)) or real(*a, **k)
    )
    w = race_widget(steps=20)
    controls = {c.description: c for c in w.children[:-1]}  # the last child is the output
    assert {"surface", "lr SGD", "lr Adam", "momentum", "β₁", "β₂"} <= set(controls)
    assert len(calls) == 1  # drawn once on construction

    controls["surface"].value = "rosenbrock"
    assert controls["lr SGD"].value == pytest.approx(RACE_DEFAULTS["rosenbrock"]["lr"])
    assert controls["lr Adam"].value == pytest.approx(RACE_DEFAULTS["rosenbrock"]["adaptive_lr"])
    assert len(calls) == 2  # one redraw for the new surface, not one per slider reset
    args, kwargs = calls[-1]
    assert args == ("rosenbrock",) and kwargs["lr"] == RACE_DEFAULTS["rosenbrock"]["lr"]

    controls["lr SGD"].value = 0.5  # a diverging setting: the callback must not fail
    assert len(calls) == 3 and calls[-1][1]["lr"] == pytest.approx(0.5)
    assert "Exception in interact callback" not in caplog.text


def test_plot_paths_labels_diverged_runs() -> None:
    from dlbook.landscapes import gradient_descent, ill_conditioned_quadratic
    from dlbook.widgets import plot_paths

    surface = ill_conditioned_quadratic(10.0)
    paths = {
        "lr 0.05": gradient_descent(surface, 0.05, 30),
        "lr 0.3": gradient_descent(surface, 0.3, 30),
    }
    ax = plot_paths(surface, paths, title="GD")
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["lr 0.05", "lr 0.3 (diverged)"]
    assert ax.get_title() == "GD" and ax.get_xlabel()


def test_race_figure_is_legible_in_the_column() -> None:
    from dlbook.plotting import figure_problems, use_book_style

    use_book_style()
    assert figure_problems(race_figure("ill-conditioned quadratic", steps=30)) == []
