"""Serving a trained model: checkpoints, the KV cache, batched generation (chapter 10).

Shape legend: B batch, T tokens, P cached tokens, C channels, D head width, V vocabulary.

Two backends share one API; serving is inference only, so there is no TensorFlow
backend (the book's TF GPT has no cache)::

    from dlbook.serving import numpy_backend as serve_np    # the cache from scratch
    from dlbook.serving import torch_backend as serve_torch  # GPT.forward(past=), generate

=====================================================  ========================================
``kv_decode_step(x_t, W_q, W_k, W_v, K, V)``           one head: out (B, D), caches (B, P+1, D)
``attend_all(X, W_q, W_k, W_v)``                       X (B, T, C) -> (B, T, D), causal
``forward_with_cache(model, ids, past=None)``          the GPT: (logits (B, T, V), cache)
``generate(model, ids, n_new, use_kv_cache, ...)``     greedy or sampled continuation
``generate_batch(model, vocab, prompts, n_new, ...)``  prompts grouped by length
``measure_kv_speedup(model, lengths, ...)``            median seconds, cache or not
=====================================================  ========================================

Framework-free, in this package:

* :func:`save_checkpoint` / :func:`load_checkpoint`: a GPT as a ``.npz`` of canonical
  NumPy weights and a JSON header, loaded without pickle by any backend;
* :func:`load_chapter_gpt`: the chapter GPT of chapter 6, trained once by
  ``tools/train_chapter_gpt.py`` and shipped with the package;
* :class:`InferencePipeline`: ``from_checkpoint(path)``, then ``pipe(prompt, n_new,
  temperature, seed) -> str``, reproducible for a given seed;
* :mod:`dlbook.serving.decoding`: the generation loop both backends share.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

from dlbook.serving.checkpoint import load_checkpoint, save_checkpoint
from dlbook.serving.pipeline import InferencePipeline

CHAPTER_GPT_PATH = Path(__file__).parent / "data" / "chapter_gpt.npz"  # tools/train_chapter_gpt.py
CHAPTER_LSTM_PATH = Path(__file__).parent / "data" / "chapter_lstm.npz"  # the same tool

# The names every backend module of this concept exports, with the same parameters
# (a backend may add trailing optional ones); tests/test_shared_api.py checks it.
SHARED_API = (
    "kv_decode_step",
    "attend_all",
    "forward_with_cache",
    "generate",
    "generate_batch",
    "measure_kv_speedup",
)

__all__ = [
    "SHARED_API",
    "CHAPTER_GPT_PATH",
    "CHAPTER_LSTM_PATH",
    "InferencePipeline",
    "backend",
    "load_chapter_gpt",
    "load_chapter_lstm",
    "load_checkpoint",
    "save_checkpoint",
]


def backend(name: str) -> ModuleType:
    """The ``dlbook.serving`` module of a backend: ``"numpy"`` or ``"torch"``."""
    from dlbook.backends import load_backend

    return load_backend("serving", name)


def load_chapter_lstm() -> tuple[Any, Any]:
    """Chapter 5's character LSTM, trained, and its vocabulary: ``(CharLM, CharVocab)``.

    ``dlbook.lm.char_model.CHAPTER_CONFIGS["lstm"]`` (H = 128, 600 steps of 64
    windows of 64 characters: 2.5M characters) on ``load_corpus()``, trained by
    ``tools/train_chapter_gpt.py`` beside the chapter GPT, so that chapter 6 can set
    the two side by side without training both. PyTorch, float32, evaluation mode.
    """
    from dlbook.data.corpus import load_corpus
    from dlbook.lm.char_model import load_char_lm
    from dlbook.lm.vocab import CharVocab

    if not CHAPTER_LSTM_PATH.is_file():
        raise FileNotFoundError(
            f"The chapter LSTM is missing from {CHAPTER_LSTM_PATH}. Reinstall dlbook, or "
            "train it again with `python tools/train_chapter_gpt.py` (about a minute)."
        )
    model, _, _ = load_char_lm(CHAPTER_LSTM_PATH)
    return model, CharVocab(load_corpus().alphabet)


def load_chapter_gpt(backend: str = "torch", *, dtype: str = "float32") -> tuple[Any, Any]:
    """The chapter GPT of chapter 6, trained, and its vocabulary: ``(GPT, CharVocab)``.

    ``GPTConfig(vocab_size=23, block_size=64, n_layer=2, n_head=4, n_embd=64)``, 107,136
    parameters, trained by ``tools/train_chapter_gpt.py`` exactly as chapter 6 trains it
    (``train_gpt(CHAPTER_CONFIG)`` on ``load_corpus()``: 1500 steps, 3.1M characters).
    ``dlbook.gpt.train.evaluate`` on ``corpus.val`` gives **1.4388 nats/char** (the
    entropy rate is 1.4172). The vocabulary is ``CharVocab(load_corpus().alphabet)``.
    ``backend`` is "torch" (default), "numpy" or "tensorflow"; the weights are float32,
    cast to ``dtype``. Loading takes well under a second.
    """
    if not CHAPTER_GPT_PATH.is_file():
        raise FileNotFoundError(
            f"The chapter GPT is missing from {CHAPTER_GPT_PATH}. Reinstall dlbook, or train it "
            "again with `python tools/train_chapter_gpt.py` (about a minute)."
        )
    model, vocab, _ = load_checkpoint(CHAPTER_GPT_PATH, backend, dtype=dtype)
    return model, vocab
