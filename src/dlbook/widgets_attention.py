"""Chapter 6's explorer: where each head of a GPT looks, character by character.

As in :mod:`dlbook.widgets_rnn`, the interactive widget is a thin ``ipywidgets``
shell around pure ``*_figure`` functions, which the built book shows as static
figures. ``import dlbook.widgets_attention`` stays light: PyTorch is loaded only
when a function runs a model.

Shape legend: L = layers, H = heads per layer, T = characters of the text
(at most ``block_size``); a map is (T query positions, T key positions).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlbook.plotting import COLUMN_WIDTH_IN, label

QUERY_LABEL = "query position"
KEY_LABEL = "key position (attended to)"


def _shown(ch: str) -> str:
    """A character as a tick label: spaces and newlines made visible."""
    return {" ": "␣", "\n": "⏎"}.get(ch, ch)


def _clamp_int(value: Any, lo: int, hi: int, default: int) -> int:
    """``value`` as an int in [lo, hi]; anything that is not a finite number becomes default."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return default
    if not np.isfinite(v):
        return default
    return int(np.clip(int(v), lo, hi))


def _context(model: Any, text: str) -> str:
    """The last ``block_size`` characters of ``text``: all the model can see at once."""
    return text[-int(model.config.block_size) :]


def attention_maps(model: Any, vocab: Any, text: str) -> np.ndarray:
    """Every head's attention weights over ``text`` (its last block_size characters).

    Returns (L, H, T, T): entry [l, h, i, j] is how much query position i of
    head h in layer l attends to key position j; each row sums to 1 and is zero
    right of the diagonal (causal). The model's fused attention keeps no
    weights, so each block is switched to the explicit softmax path for one
    forward pass and switched back afterwards (also on error); dropout is off
    during the pass and the model's train/eval mode is restored.
    """
    import torch

    context = _context(model, text)
    if not context:
        raise ValueError("attention_maps needs a non-empty text.")
    ids = torch.as_tensor(np.asarray(vocab.encode(context), dtype=np.int64))[None, :]  # (1, T)
    attns = [block.attn for block in model.h]
    fused = [a.fused for a in attns]
    was_training = model.training
    try:
        for a in attns:
            a.fused = False
        model.eval()
        with torch.no_grad():
            model(ids)
        maps = [a.last_weights[0].detach().float().cpu().numpy() for a in attns]  # (H, T, T)
    finally:
        for a, f in zip(attns, fused, strict=True):
            a.fused = f
            a.last_weights = None
        model.train(was_training)
    return np.stack(maps)  # (L, H, T, T)


def _heatmap(ax: Any, weights: np.ndarray, chars: list[str], title: str) -> Any:
    """One (T, T) map, characters as ticks on both axes."""
    image = ax.imshow(weights, cmap="viridis", vmin=0.0, vmax=1.0, aspect="equal")
    ticks = np.arange(len(chars))
    ax.set_xticks(ticks)
    ax.set_xticklabels(chars, fontsize=8)
    ax.set_yticks(ticks)
    ax.set_yticklabels(chars, fontsize=8)
    ax.grid(False)
    label(ax, title, KEY_LABEL, QUERY_LABEL)
    return image


def attention_map_figure(
    model: Any,
    vocab: Any,
    text: str,
    layer: Any = 0,
    head: Any = None,
    query: Any = None,
) -> Any:
    """Heat maps of attention weights: rows are queries, columns the keys they look at.

    ``head=None`` (or "all"): a grid of every head of ``layer``. A head number:
    that head alone and, when ``query`` is given, a bar chart of that query
    position's weights over the keys (only keys up to the query can be seen).
    Out-of-range values are clamped into range.
    """
    import matplotlib.pyplot as plt

    maps = attention_maps(model, vocab, text)  # (L, H, T, T)
    L, H, T, _ = maps.shape
    chars = [_shown(c) for c in _context(model, text)]
    layer = _clamp_int(layer, 0, L - 1, 0)
    per_char = 0.12  # inches per character tick: 8 pt letters (11 px) do not touch
    side = per_char * T + 0.7  # one square panel with its tick labels
    if head is None or head == "all":
        # as many columns as fit the text column at per_char, at most a near-square grid
        fit = max(1, int((COLUMN_WIDTH_IN - 0.9) // side))
        cols = min(int(np.ceil(np.sqrt(H))), fit)  # 4 heads: 2 x 2 when T <= 19
        rows = -(-H // cols)
        size = (min(COLUMN_WIDTH_IN, side * cols + 0.9), side * rows + 0.2)  # + colour bar
        fig, axes = plt.subplots(rows, cols, figsize=size, squeeze=False, layout="constrained")
        image = None
        for h in range(H):
            image = _heatmap(axes.flat[h], maps[layer, h], chars, f"layer {layer}, head {h}")
        for ax in list(axes.flat)[H:]:
            ax.remove()
        fig.colorbar(image, ax=list(axes.flat)[:H], label="attention weight", shrink=0.8)
        return fig
    head = _clamp_int(head, 0, H - 1, 0)
    if query is None:
        size = (min(COLUMN_WIDTH_IN, side + 1.0), min(COLUMN_WIDTH_IN, side))
        fig, ax = plt.subplots(figsize=size, layout="constrained")
        image = _heatmap(ax, maps[layer, head], chars, f"layer {layer}, head {head}")
        fig.colorbar(image, ax=ax, label="attention weight")
        return fig
    query = _clamp_int(query, 0, T - 1, T - 1)
    # the map above, the chosen query's row as bars below: both get the full width
    side = min(side, COLUMN_WIDTH_IN - 1.0)
    fig, (ax0, ax1) = plt.subplots(
        2, 1, figsize=(COLUMN_WIDTH_IN, side + 2.6), height_ratios=[side, 2.2], layout="constrained"
    )
    image = _heatmap(ax0, maps[layer, head], chars, f"layer {layer}, head {head}")
    ax0.axhline(query, color="red", lw=1.0)  # the row drawn below
    fig.colorbar(image, ax=ax0, label="attention weight")
    x = np.arange(T)
    ax1.bar(x, maps[layer, head, query], color="tab:blue")
    ax1.set_xticks(x)
    ax1.set_xticklabels(chars, fontsize=8)
    ax1.set_ylim(0.0, 1.0)
    label(
        ax1,
        f"query {query} ({chars[query]!s}): where it looks",
        KEY_LABEL,
        "attention weight",
    )
    return fig


def attention_widget(model: Any, vocab: Any, text: str) -> Any:
    """Sliders for layer and query position, a head menu ("all" or one head): redraws the map."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    L, H = int(model.config.n_layer), int(model.config.n_head)
    T = max(len(_context(model, text)), 1)

    def draw(layer: int, head: Any, query: int) -> None:
        chosen = None if head == "all" else _clamp_int(head, 0, H - 1, 0)
        try:
            fig = attention_map_figure(
                model,
                vocab,
                text,
                layer=_clamp_int(layer, 0, L - 1, 0),
                head=chosen,
                query=None if chosen is None else _clamp_int(query, 0, T - 1, T - 1),
            )
        except (ValueError, KeyError) as err:  # e.g. characters outside the vocabulary
            print(f"Cannot draw attention: {err}")
            return
        plt.show()
        plt.close(fig)

    return widgets.interactive(
        draw,
        layer=widgets.IntSlider(value=0, min=0, max=L - 1, continuous_update=False),
        head=widgets.Dropdown(options=["all", *range(H)], value="all"),
        query=widgets.IntSlider(
            value=T - 1, min=0, max=T - 1, continuous_update=False, description="query"
        ),
    )


__all__ = ["attention_map_figure", "attention_maps", "attention_widget"]
