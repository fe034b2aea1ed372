"""Chapter 5's explorers: figures labelled, the widget robust to any slider value."""

import subprocess
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

pytest.importorskip("torch")

from dlbook.lm.char_model import CharLMConfig, build_model  # noqa: E402
from dlbook.lm.vocab import CharVocab  # noqa: E402
from dlbook.widgets_rnn import (  # noqa: E402
    next_char_table,
    rnn_trace_figure,
    sampling_figure,
    temperature_widget,
)

VOCAB = CharVocab.from_text("abcdefgh .")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def model_for(cell: str):
    config = CharLMConfig(cell=cell, embed_dim=8, hidden_size=12, progress=False)
    return build_model(config, len(VOCAB))


def _panels(fig) -> list:
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]


def _assert_labelled(fig) -> None:
    for ax in _panels(fig):
        assert ax.get_title(), "a panel has no title"
        assert ax.get_xlabel(), f"panel {ax.get_title()!r} has no x label"
        assert ax.get_ylabel(), f"panel {ax.get_title()!r} has no y label"


def test_sampling_figure_has_one_row_per_temperature() -> None:
    fig = sampling_figure(model_for("lstm"), VOCAB, "abc de", (0.0, 0.5, 2.0), n_chars=20, rng=0)
    _assert_labelled(fig)
    assert len(_panels(fig)) == 2
    rows = [t.get_text() for t in _panels(fig)[1].get_yticklabels()]
    assert len(rows) == 3 and rows[0].startswith("τ = 0")
    assert len(_panels(fig)[0].get_lines()) == 3


def test_sampling_figure_survives_bad_temperatures() -> None:
    fig = sampling_figure(model_for("gru"), VOCAB, "a", (-1.0, float("nan"), 1e9), n_chars=5)
    _assert_labelled(fig)


def test_next_char_table_rows_are_distributions() -> None:
    table = next_char_table(model_for("rnn"), VOCAB, "ab", (0.0, 1.0, 3.0))
    assert table.shape == (3, len(VOCAB))
    np.testing.assert_allclose(table.sum(axis=1), 1.0)
    assert table[0].max() == 1.0 and table[2].max() < table[1].max()


@pytest.mark.parametrize("cell, n_panels", [("lstm", 3), ("gru", 1), ("rnn", 1)])
def test_rnn_trace_figure(cell: str, n_panels: int) -> None:
    text = "abc. def gh."
    fig = rnn_trace_figure(model_for(cell), VOCAB, text, n_units=8)
    _assert_labelled(fig)
    panels = _panels(fig)
    assert len(panels) == n_panels
    assert [t.get_text() for t in panels[0].get_xticklabels()] == [
        "␣" if c == " " else c for c in text
    ]
    assert panels[0].get_images()[0].get_array().shape == (8, len(text))  # (units, T)
    with pytest.raises(ValueError, match="non-empty"):
        rnn_trace_figure(model_for(cell), VOCAB, "")


def test_temperature_widget_prints_a_sample_for_any_setting(capsys) -> None:
    widget = temperature_widget(model_for("lstm"), VOCAB, "abc", n_chars=15)
    names = {getattr(child, "description", "") for child in widget.children}
    assert {"τ", "seed"} <= names
    capsys.readouterr()  # the widget's first draw, outside a notebook, goes to stdout
    for temperature, seed in ((1.0, 0), (0.0, 3), (-5.0, -2), (float("nan"), 7)):
        widget.f(temperature=temperature, seed=seed)
        out = capsys.readouterr().out
        assert out.startswith("abc") and "nats/char" in out
    bad = temperature_widget(model_for("lstm"), VOCAB, "XYZ", n_chars=5)
    capsys.readouterr()
    bad.f(temperature=1.0, seed=0)
    assert "Cannot sample" in capsys.readouterr().out


def test_import_stays_light() -> None:
    code = "import sys, dlbook.widgets_rnn; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_rnn_figures_are_legible_in_the_column() -> None:
    from dlbook.plotting import figure_problems, use_book_style

    use_book_style()
    fig = sampling_figure(model_for("lstm"), VOCAB, "abc de", rng=0)
    assert figure_problems(fig) == []
    assert figure_problems(rnn_trace_figure(model_for("lstm"), VOCAB, "abc. def gh.")) == []
