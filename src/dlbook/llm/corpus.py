"""The real texts of chapter 7 and the book-classification task built from them.

Two public-domain texts ship in ``dlbook/llm/data`` (sources and licences in its
README): four books of the King James Bible (English, ~200 KB) and the *Three
Hundred Tang Poems* (Chinese, ~30,000 characters). Nothing is downloaded.

Each book is split once, at a verse boundary: its first 90 % trains, its last
10 % validates. The same split serves pretraining (the text) and fine-tuning (the
book labels), so no validation passage is ever seen in training.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from dlbook._validate import check_int

DATA_DIR = Path(__file__).parent / "data"
BOOKS = ("Genesis", "Psalms", "Proverbs", "Matthew")  # the classes of the classification task
VAL_FRACTION = 0.1  # the last 10 % of each book validates


@lru_cache(maxsize=1)
def load_books() -> dict[str, str]:
    """Book name -> its text (one verse per line), from ``kjv_four_books.txt``."""
    text = (DATA_DIR / "kjv_four_books.txt").read_text(encoding="utf-8")
    books: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if line.startswith("# "):
            current = line[2:]
            books[current] = []
        elif current is not None:
            books[current].append(line)
    return {name: "\n".join(lines) + "\n" for name, lines in books.items()}


def load_tang_poems() -> str:
    """The *Three Hundred Tang Poems*, 313 poems separated by blank lines."""
    return (DATA_DIR / "tang300.txt").read_text(encoding="utf-8")


def split_text(text: str, val_fraction: float = VAL_FRACTION) -> tuple[str, str]:
    """(train, val): cut at the first line break after ``1 - val_fraction`` of the text."""
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must lie strictly between 0 and 1, got {val_fraction!r}.")
    cut = text.find("\n", int(len(text) * (1.0 - val_fraction))) + 1
    if cut <= 0 or cut >= len(text):
        raise ValueError("The text is too short to split into a training and a validation part.")
    return text[:cut], text[cut:]


@dataclass(frozen=True)
class Corpus:
    """The English pretraining text, split by book."""

    train: dict[str, str]  # book -> its first 90 %
    val: dict[str, str]  # book -> its last 10 %

    @property
    def train_text(self) -> str:
        """All training parts, book after book: what the tokenizer and the GPT learn from."""
        return "".join(self.train[b] for b in BOOKS)

    @property
    def val_text(self) -> str:
        """All validation parts, book after book: the held-out text of every loss."""
        return "".join(self.val[b] for b in BOOKS)


def load_corpus() -> Corpus:
    """The four books, each split 90 / 10 at a verse boundary."""
    parts = {b: split_text(t) for b, t in load_books().items()}
    return Corpus({b: p[0] for b, p in parts.items()}, {b: p[1] for b, p in parts.items()})


def passages(
    ids_by_book: dict[str, np.ndarray],
    length: int,
    n: int | None,
    rng: np.random.Generator,
    stride: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Passages of ``length`` tokens and their book labels: x (N, length), y (N,).

    With ``n`` given, n random windows per book (training); with ``n = None``, the
    windows of each book in order, one every ``stride`` tokens (evaluation; the
    default stride, ``length``, gives non-overlapping passages).
    """
    stride = length if stride is None else check_int(stride, "stride")
    xs, ys = [], []
    for label, book in enumerate(BOOKS):
        ids = np.asarray(ids_by_book[book])
        if len(ids) < length:
            raise ValueError(f"{book} has {len(ids)} tokens, fewer than a passage ({length}).")
        if n is None:
            starts = np.arange(0, len(ids) - length + 1, stride)
        else:
            starts = rng.integers(0, len(ids) - length + 1, size=n)
        xs.append(ids[starts[:, None] + np.arange(length)])  # (n_b, length)
        ys.append(np.full(len(starts), label))
    return np.concatenate(xs), np.concatenate(ys)
