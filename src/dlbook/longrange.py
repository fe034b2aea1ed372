"""A long-range memory task for comparing recurrent networks with transformers (chapter 6).

**The task.** A sequence of L + 1 symbols: the first, the *key*, is one of K key
symbols; the next L are distractors drawn from D other symbols. At the last
position the model must name the key it saw L steps earlier::

    ids     k  d d d ... d          (1 + L symbols)
    target  the key k, read out at the last position only

Chance is 1/K. A recurrent network must carry the key in its state across L
updates, which is exactly where vanishing gradients hurt (chapter 5); a
transformer can attend from the last position straight back to the first.

Any PyTorch model that maps ids (B, T) to logits (B, T, V) — or to a tuple whose
first item is the logits, as :class:`dlbook.lm.char_model.CharLM` returns — can
be trained with :func:`train_recall` and compared with :func:`recall_table`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from dlbook._lazy import import_torch
from dlbook.seeding import make_rng


@dataclass(frozen=True)
class RecallTask:
    """Sizes of the key-recall task."""

    n_keys: int = 8  # K: possible keys; chance accuracy is 1/K
    n_distractors: int = 8  # D: symbols that fill the gap
    # vocabulary: keys are ids 0..K-1, distractors K..K+D-1

    @property
    def vocab_size(self) -> int:
        return self.n_keys + self.n_distractors


@dataclass(frozen=True)
class RecallTrainConfig:
    """How long and how hard to train each model on the task."""

    steps: int = 300  # gradient steps
    batch_size: int = 64  # sequences per step
    lr: float = 3e-3  # Adam learning rate
    grad_clip: float = 1.0  # max global gradient norm
    eval_size: int = 512  # held-out sequences for the accuracy
    seed: int = 0  # seeds the data (the model has its own seed)


def make_recall_batch(
    task: RecallTask, lag: int, batch_size: int, rng: np.random.Generator | int
) -> tuple[np.ndarray, np.ndarray]:
    """ids (B, 1 + lag) and the keys (B,) to recall at the last position."""
    if not isinstance(lag, (int, np.integer)) or lag < 1:
        raise ValueError(
            f"lag must be a positive integer (positions between key and query), got {lag!r}."
        )
    rng = make_rng(rng)
    keys = rng.integers(0, task.n_keys, size=batch_size)  # (B,)
    gap = rng.integers(task.n_keys, task.vocab_size, size=(batch_size, lag))  # (B, L)
    return np.concatenate([keys[:, None], gap], axis=1), keys


def _last_logits(model: Any, ids: Any) -> Any:
    out = model(ids)
    logits = out[0] if isinstance(out, tuple) else out  # (B, T, V)
    return logits[:, -1, :]  # (B, V): the prediction at the last position


def train_recall(
    model: Any, task: RecallTask, lag: int, config: RecallTrainConfig
) -> tuple[float, float]:
    """Train ``model`` to recall the key ``lag`` steps back; return (held-out accuracy, seconds)."""
    torch = import_torch()
    device = next(model.parameters()).device
    rng = make_rng(config.seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    start = time.perf_counter()
    model.train()
    for _ in range(config.steps):
        ids, keys = make_recall_batch(task, lag, config.batch_size, rng)
        logits = _last_logits(model, torch.as_tensor(ids, device=device))
        loss = torch.nn.functional.cross_entropy(logits, torch.as_tensor(keys, device=device))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
    seconds = time.perf_counter() - start
    return recall_accuracy(model, task, lag, config.eval_size, seed=config.seed + 1), seconds


def recall_accuracy(model: Any, task: RecallTask, lag: int, n: int = 512, seed: int = 1) -> float:
    """Fraction of ``n`` fresh sequences whose key the model names correctly."""
    torch = import_torch()
    device = next(model.parameters()).device
    ids, keys = make_recall_batch(task, lag, n, np.random.default_rng([seed, lag]))
    model.eval()
    with torch.no_grad():
        pred = _last_logits(model, torch.as_tensor(ids, device=device)).argmax(dim=-1)
    return float((pred.cpu().numpy() == keys).mean())


def count_parameters(model: Any) -> int:
    """Number of trainable parameters of a torch model."""
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad))


def recall_table(
    builders: dict[str, Callable[[RecallTask, int], Any]],
    lags: Sequence[int],
    task: RecallTask | None = None,
    config: RecallTrainConfig | None = None,
) -> list[dict[str, Any]]:
    """Train a fresh model per (name, lag); one row per model and lag.

    ``builders[name](task, lag)`` returns a new, seeded torch model. Rows hold
    ``model``, ``lag``, ``accuracy``, ``parameters`` and ``seconds``.
    """
    task, config = task or RecallTask(), config or RecallTrainConfig()
    rows = []
    for name, build in builders.items():
        for lag in lags:
            model = build(task, lag)
            accuracy, seconds = train_recall(model, task, lag, config)
            rows.append(
                {
                    "model": name,
                    "lag": lag,
                    "accuracy": accuracy,
                    "parameters": count_parameters(model),
                    "seconds": seconds,
                }
            )
    return rows


def recurrent_builder(
    cell: str, embed_dim: int = 16, hidden_size: int = 32
) -> Callable[[RecallTask, int], Any]:
    """A builder for :func:`recall_table`: a fresh, seeded CharLM ("rnn", "lstm" or "gru")."""
    from dlbook.lm.char_model import CharLMConfig, build_model

    config = CharLMConfig(
        cell=cell, embed_dim=embed_dim, hidden_size=hidden_size, steps=1, progress=False
    )
    return lambda task, lag: build_model(config, task.vocab_size)


def transformer_builder(
    n_layer: int = 1, n_head: int = 2, n_embd: int = 32
) -> Callable[[RecallTask, int], Any]:
    """A builder for :func:`recall_table`: a fresh, seeded GPT whose context fits the lag."""
    from dlbook.gpt.config import GPTConfig
    from dlbook.gpt.torch_backend import GPT

    def build(task: RecallTask, lag: int) -> Any:
        config = GPTConfig(
            vocab_size=task.vocab_size,
            block_size=lag + 1,
            n_layer=n_layer,
            n_head=n_head,
            n_embd=n_embd,
        )
        return GPT(config, seed=0)

    return build
