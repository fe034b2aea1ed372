"""Chapter 6's attention explorer: maps are causal distributions, figures labelled."""

import subprocess
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

pytest.importorskip("torch")

from dlbook.gpt.config import GPTConfig  # noqa: E402
from dlbook.gpt.torch_backend import GPT  # noqa: E402
from dlbook.lm.vocab import CharVocab  # noqa: E402
from dlbook.widgets_attention import (  # noqa: E402
    attention_map_figure,
    attention_maps,
    attention_widget,
)

VOCAB = CharVocab("ab c.")
TEXT = "ab c. ba ca.b"  # 13 characters, under block_size


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def model():
    config = GPTConfig(vocab_size=len(VOCAB), block_size=16, n_layer=2, n_head=2, n_embd=16)
    return GPT(config)


def _panels(fig) -> list:
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]


def test_maps_are_causal_distributions(model):
    maps = attention_maps(model, VOCAB, TEXT)
    T = len(TEXT)
    assert maps.shape == (2, 2, T, T)
    assert np.all(np.isfinite(maps)) and np.all(maps >= 0)
    np.testing.assert_allclose(maps.sum(-1), 1.0, atol=1e-5)
    upper = np.triu(np.ones((T, T), dtype=bool), k=1)
    assert np.all(maps[..., upper] == 0)


def test_long_text_is_truncated_from_the_end(model):
    long = "abc. " * 10
    maps = attention_maps(model, VOCAB, long)
    assert maps.shape == (2, 2, 16, 16)
    np.testing.assert_allclose(maps, attention_maps(model, VOCAB, long[-16:]))


def test_fused_flag_and_mode_restored(model):
    model.train()
    attention_maps(model, VOCAB, TEXT)
    assert all(block.attn.fused for block in model.h)
    assert all(block.attn.last_weights is None for block in model.h)
    assert model.training
    model.eval()


def test_all_heads_figure_is_labelled(model):
    fig = attention_map_figure(model, VOCAB, TEXT, layer=1)
    panels = _panels(fig)
    assert len(panels) == 2
    for h, ax in enumerate(panels):
        assert ax.get_title() == f"layer 1, head {h}"
        assert ax.get_xlabel() == "key position (attended to)"
        assert ax.get_ylabel() == "query position"
        ticks = [t.get_text() for t in ax.get_xticklabels()]
        assert ticks[2] == "␣" and len(ticks) == len(TEXT)


def test_single_head_with_query_adds_bar_chart(model):
    fig = attention_map_figure(model, VOCAB, TEXT, layer=0, head=1, query=4)
    panels = _panels(fig)
    assert len(panels) == 2
    for ax in panels:
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    bars = panels[1].patches
    heights = np.array([b.get_height() for b in bars])
    np.testing.assert_allclose(heights.sum(), 1.0, atol=1e-5)
    assert np.all(heights[5:] == 0)
    assert [t.get_text() for t in panels[1].get_xticklabels()][2] == "␣"


def test_single_head_without_query(model):
    fig = attention_map_figure(model, VOCAB, TEXT, head=0)
    assert len(_panels(fig)) == 1


@pytest.mark.parametrize(
    ("layer", "head", "query"),
    [(99, 99, 99), (-5, -1, -3), ("x", "all", None), (float("nan"), 1, float("inf"))],
)
def test_bad_values_are_clamped(model, layer, head, query):
    fig = attention_map_figure(model, VOCAB, TEXT, layer=layer, head=head, query=query)
    assert all(ax.get_title() for ax in _panels(fig))


def test_widget_constructs_and_redraws(model):
    pytest.importorskip("ipywidgets")
    w = attention_widget(model, VOCAB, TEXT)
    names = {c.description for c in w.children if hasattr(c, "description")}
    assert {"layer", "head", "query"} <= names
    w.children[1].value = 1  # head dropdown -> one head: redraws with the query bar chart
    w.children[0].value = 1


def test_import_does_not_load_torch():
    code = "import sys, dlbook.widgets_attention; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_four_heads_are_laid_out_in_a_square_grid():
    config = GPTConfig(vocab_size=len(VOCAB), block_size=16, n_layer=1, n_head=4, n_embd=16)
    fig = attention_map_figure(GPT(config, seed=0), VOCAB, TEXT, layer=0)
    corners = {
        (round(ax.get_position().x0, 2), round(ax.get_position().y0, 2)) for ax in _panels(fig)
    }
    assert len({x for x, _ in corners}) == 2 and len({y for _, y in corners}) == 2


@pytest.mark.parametrize(("head", "query"), [(None, None), (0, None), (1, 4)])
def test_attention_figures_are_legible_in_the_column(model, head, query):
    from dlbook.plotting import figure_problems, use_book_style

    use_book_style()
    fig = attention_map_figure(model, VOCAB, TEXT, layer=0, head=head, query=query)
    assert figure_problems(fig) == []
