"""Train chapter 6's GPT and chapter 5's LSTM and ship them in ``src/dlbook/serving/data/``.

Run from the repository root::

    .venv/bin/python tools/train_chapter_gpt.py

It trains :func:`dlbook.gpt.train.train_gpt` with ``CHAPTER_CONFIG`` on
:func:`dlbook.data.corpus.load_corpus`, exactly as chapter 6 does (30-60 s on two
quiet cores), scores the validation text with :func:`dlbook.gpt.train.evaluate`,
and saves the weights with :func:`dlbook.serving.checkpoint.save_checkpoint`.
Chapters 6, 10 and 11 load the file with :func:`dlbook.serving.load_chapter_gpt`.
It also trains the LSTM of chapter 5 (``CHAPTER_CONFIGS["lstm"]``) and writes
``chapter_lstm.npz`` (:func:`dlbook.serving.load_chapter_lstm`), which chapter 6
compares with the GPT. ``--only lstm`` trains just that one.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict, replace
from pathlib import Path

import dlbook
from dlbook.data.corpus import load_corpus
from dlbook.gpt.train import CHAPTER_CONFIG, evaluate, train_gpt
from dlbook.lm import char_model
from dlbook.lm.vocab import CharVocab
from dlbook.serving import CHAPTER_GPT_PATH, CHAPTER_LSTM_PATH
from dlbook.serving.checkpoint import save_checkpoint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=CHAPTER_GPT_PATH, help="where to write")
    parser.add_argument("--only", choices=("gpt", "lstm"), help="train one of the two")
    args = parser.parse_args()
    dlbook.seed_everything(0, threads=2)  # as chapters 5 and 6
    corpus = load_corpus()
    vocab = CharVocab(corpus.alphabet)
    train_ids, val_ids = vocab.encode(corpus.train), vocab.encode(corpus.val)
    if args.only != "gpt":
        train_lstm(train_ids, val_ids, len(vocab), corpus.entropy_rate)
    if args.only == "lstm":
        return
    config = replace(CHAPTER_CONFIG, progress=False)
    tick = time.perf_counter()
    model, log = train_gpt(config, train_ids, val_ids)
    seconds = time.perf_counter() - tick
    val_loss = evaluate(model, val_ids)
    metadata = {
        "train_config": asdict(config),
        "val_loss": round(val_loss, 6),  # evaluate(model, corpus.val), nats/char
        "entropy_rate": round(corpus.entropy_rate, 6),
        "corpus": "load_corpus() defaults: n_train=200000, n_val=20000, seed=0",
        "train_seconds": round(seconds, 1),
    }
    path = save_checkpoint(model, args.out, vocab=vocab, metadata=metadata)
    n = sum(w.size for w in model.get_weights().values())
    print(f"trained {n:,} parameters in {seconds:.1f} s; evaluate(val) = {val_loss:.4f} nats/char")
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)")


def train_lstm(train_ids, val_ids, vocab_size: int, entropy_rate: float) -> None:  # noqa: ANN001
    """Chapter 5's LSTM, trained exactly as chapter 5 does, saved to CHAPTER_LSTM_PATH."""
    config = replace(char_model.CHAPTER_CONFIGS["lstm"], progress=False)
    tick = time.perf_counter()
    model, _ = char_model.train_char_lm(config, train_ids, val_ids, vocab_size)
    seconds = time.perf_counter() - tick
    val_loss = char_model.evaluate(model, val_ids)
    path = char_model.save_char_lm(
        model,
        config,
        CHAPTER_LSTM_PATH,
        val_loss=round(val_loss, 6),  # char_model.evaluate(model, val_ids), nats/char
        entropy_rate=round(entropy_rate, 6),
        corpus="load_corpus() defaults: n_train=200000, n_val=20000, seed=0",
        train_seconds=round(seconds, 1),
    )
    print(f"LSTM: {seconds:.1f} s; evaluate(val) = {val_loss:.4f} nats/char")
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
