"""Chapter 5's explorers: sampling temperature, and what an LSTM's state does as it reads.

As in :mod:`dlbook.widgets`, each interactive widget is a thin ``ipywidgets``
shell around a pure function; the static ``*_figure`` twins show the same thing
in the built book, which cannot run Python. ``import dlbook.widgets_rnn`` stays
light: PyTorch is loaded only when a function runs a model.

Shape legend: T = characters of the text, H = hidden units, V = vocabulary size.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from dlbook.plotting import COLUMN_WIDTH_IN, label

DEFAULT_TEMPERATURES = (0.3, 0.7, 1.0, 1.5)  # cold (safe, repetitive) to hot (inventive, noisy)


def _shown(ch: str) -> str:
    """A character as a tick label: spaces and newlines made visible."""
    return {" ": "␣", "\n": "⏎"}.get(ch, ch)


def _safe_temperature(temperature: Any) -> float:
    """Clamp a slider value into [0, 10]; anything that is not a number becomes 1."""
    try:
        t = float(temperature)
    except (TypeError, ValueError):
        return 1.0
    return float(np.clip(t, 0.0, 10.0)) if np.isfinite(t) else 1.0


def next_char_table(
    model: Any, vocab: Any, prompt: str, temperatures: Sequence[float] = DEFAULT_TEMPERATURES
) -> np.ndarray:
    """softmax(z / tau) of the character after ``prompt``, one row per temperature: (K, V)."""
    from dlbook.lm.char_model import next_char_logits, temperature_probs

    z, _ = next_char_logits(model, vocab.encode(prompt))  # (V,)
    return np.stack([temperature_probs(z, _safe_temperature(t)) for t in temperatures])


def _text_rows(ax: Any, samples: list[str], logps: list[np.ndarray], temps: Sequence[float]) -> Any:
    """One row per temperature: the sampled characters on a heat map of their log-probability."""
    width = max(len(s) for s in samples)
    grid = np.full((len(samples), width), np.nan)  # (K, n_chars); NaN where a row is shorter
    for k, lp in enumerate(logps):
        grid[k, : len(lp)] = lp
    image = ax.imshow(grid, aspect="auto", cmap="magma", vmin=-6.0, vmax=0.0)
    for k, text in enumerate(samples):
        for j, ch in enumerate(text):
            dark = not np.isnan(grid[k, j]) and grid[k, j] < -3.0
            color = "white" if dark else "black"
            ax.text(j, k, _shown(ch), ha="center", va="center", fontsize=9, color=color)
    losses = [-float(np.mean(lp)) if len(lp) else float("nan") for lp in logps]
    ax.set_yticks(range(len(samples)))
    ax.set_yticklabels(
        [f"τ = {t:.2g}\n{m:.2f} nats/char" for t, m in zip(temps, losses, strict=True)]
    )
    ax.grid(False)
    return image


def sampling_figure(
    model: Any,
    vocab: Any,
    prompt: str,
    temperatures: Sequence[float] = DEFAULT_TEMPERATURES,
    n_chars: int = 40,
    rng: np.random.Generator | int = 0,
) -> Any:
    """Samples from the model at several temperatures, and why they differ.

    Top: the distribution of the character after ``prompt``, softmax(z / tau)
    for each tau (low tau piles the mass on the favourite, high tau spreads it).
    Bottom: a continuation of ``prompt`` per temperature, each character on a
    square coloured by log p(char | text so far) under the model itself (tau = 1).
    Cold samples stay on bright, likely characters and can loop; hot ones wander
    into dark, unlikely ones. The row label gives the mean, -(1/n) sum log p:
    the model's own loss on its sample.
    """
    import matplotlib.pyplot as plt

    from dlbook.lm.char_model import sample_with_logprobs
    from dlbook.seeding import make_rng

    rng = make_rng(rng)
    temps = [_safe_temperature(t) for t in temperatures]
    probs = next_char_table(model, vocab, prompt, temps)  # (K, V)
    runs = [sample_with_logprobs(model, vocab, prompt, n_chars, t, rng) for t in temps]
    # stacked: the samples get the column's full width, one 9 pt letter per cell
    rows_in = 0.55 * len(temps)  # height of the samples panel
    fig, (ax0, ax1) = plt.subplots(
        2,
        1,
        figsize=(COLUMN_WIDTH_IN, 3.0 + rows_in + 0.8),
        height_ratios=[2.6, rows_in + 0.4],
        layout="constrained",
    )
    x = np.arange(len(vocab))
    for k, t in enumerate(temps):
        ax0.plot(x, probs[k], "o-", ms=3, lw=1, label=f"τ = {t:.2g}")
    ax0.set_xticks(x)
    ax0.set_xticklabels([_shown(c) for c in vocab.alphabet], fontsize=9)
    ax0.legend(ncol=2)
    tail = prompt[-12:]
    label(ax0, f"next character after …{tail!r}", "character", "probability softmax(z/τ)")
    image = _text_rows(ax1, [r[0] for r in runs], [r[1] for r in runs], temps)
    fig.colorbar(image, ax=ax1, label="log p(char), τ = 1", pad=0.01)
    label(ax1, f"samples continuing {tail!r}", "characters generated", "temperature τ")
    return fig


def temperature_widget(model: Any, vocab: Any, prompt: str, n_chars: int = 200) -> Any:
    """A temperature slider and a seed: prints a sample of ``n_chars`` after ``prompt``.

    Below the text it prints the model's own mean loss on the sample,
    -(1/n) sum log p(char), to compare with its loss on real text.
    """
    import ipywidgets as widgets

    from dlbook.lm.char_model import sample_with_logprobs

    def draw(temperature: float, seed: int) -> None:
        t = _safe_temperature(temperature)
        try:
            text, logp = sample_with_logprobs(model, vocab, prompt, n_chars, t, abs(int(seed)))
        except ValueError as err:  # e.g. a prompt with characters outside the vocabulary
            print(f"Cannot sample: {err}")
            return
        print(prompt + text)
        print(f"\nτ = {t:.2f}: the model's own loss on this sample is {-logp.mean():.3f} nats/char")

    return widgets.interactive(
        draw,
        temperature=widgets.FloatSlider(
            value=1.0, min=0.0, max=2.5, step=0.05, continuous_update=False, description="τ"
        ),
        seed=widgets.IntSlider(value=0, min=0, max=99, continuous_update=False),
    )


def rnn_trace_figure(model: Any, vocab: Any, text: str, n_units: int | None = 32) -> Any:
    """What the model's first layer holds after each character of ``text``.

    Top: the hidden state h_t as a heat map (units x time), the ``n_units``
    units that vary most over the text (None: all H). For an LSTM, bottom: the
    cell state c_t of the same units, and the mean over units of the input,
    forget and output gates at each step, with (dashed) the forget gate of the
    unit whose c_t varies most: a forget gate near 1 keeps c_t, near 0 wipes it
    (watch the sentence boundaries).
    """
    import matplotlib.pyplot as plt

    from dlbook.lm.char_model import hidden_trace

    if not text:
        raise ValueError("rnn_trace_figure needs a non-empty text to read.")
    trace = hidden_trace(model, vocab, text)  # each (T, H)
    h = trace["h"]
    units = np.argsort(-h.var(axis=0))[:n_units] if n_units else np.arange(h.shape[1])
    lstm = "forget" in trace
    n_rows = 3 if lstm else 1
    # one 8 pt character tick per 0.13 in: texts up to ~45 characters fit the column
    width = min(COLUMN_WIDTH_IN, 0.13 * len(text) + 1.6)
    fig, axes = plt.subplots(n_rows, 1, figsize=(width, 2.4 * n_rows + 0.4), layout="constrained")
    axes = np.atleast_1d(axes)
    ticks = [_shown(c) for c in text]
    _heat(fig, axes[0], h[:, units].T, ticks, "h_t", f"hidden state h_t ({model.cell})")
    if lstm:
        _heat(fig, axes[1], trace["c"][:, units].T, ticks, "c_t", "cell state c_t (same units)")
        for gate in ("input", "forget", "output"):
            axes[2].plot(trace[gate].mean(axis=1), ".-", label=f"{gate} gate")
        keeper = int(np.argmax(trace["c"].var(axis=0)))  # the unit whose memory moves most
        axes[2].plot(trace["forget"][:, keeper], "k--", lw=1, label=f"forget gate, unit {keeper}")
        axes[2].set_xticks(range(len(text)))
        axes[2].set_xticklabels(ticks, fontsize=8)
        axes[2].set_xlim(-0.5, len(text) - 0.5)
        axes[2].set_ylim(0, 1)
        axes[2].legend(ncol=2, loc="lower right")
        label(axes[2], "gate activations", "character read", "gate value")
    return fig


def _heat(fig: Any, ax: Any, values: np.ndarray, ticks: list[str], name: str, title: str) -> None:
    """A units x time heat map with characters as x tick labels and a colour bar."""
    limit = max(float(np.abs(values).max()), 1e-6)
    image = ax.imshow(values, aspect="auto", cmap="RdBu_r", vmin=-limit, vmax=limit)
    ax.set_xticks(range(len(ticks)))
    ax.set_xticklabels(ticks, fontsize=8)
    ax.grid(False)
    fig.colorbar(image, ax=ax, label=name, pad=0.01)
    label(ax, title, "character read", "unit (most active first)")
