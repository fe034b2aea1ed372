"""Characters to integer ids and back: the first step of every character-level model."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class CharVocab:
    """A fixed alphabet: character ``alphabet[i]`` has id ``i``.

    >>> v = CharVocab.from_text("hello")
    >>> v.alphabet, v.encode("hole").tolist(), v.decode([3, 2])
    ('ehlo', [1, 3, 2, 0], 'ol')
    """

    alphabet: str  # the characters, in id order; no duplicates
    _index: dict[str, int] = field(init=False, repr=False, compare=False)  # char -> id

    def __post_init__(self) -> None:
        if not isinstance(self.alphabet, str) or not self.alphabet:
            raise ValueError(f"alphabet must be a non-empty str, got {self.alphabet!r}.")
        dupes = sorted({c for c in self.alphabet if self.alphabet.count(c) > 1})
        if dupes:
            raise ValueError(f"alphabet lists character(s) {dupes} more than once.")
        object.__setattr__(self, "_index", {c: i for i, c in enumerate(self.alphabet)})

    @classmethod
    def from_text(cls, text: str) -> CharVocab:
        """The vocabulary of the distinct characters of ``text``, sorted."""
        if not isinstance(text, str) or not text:
            raise ValueError("from_text needs a non-empty str to collect characters from.")
        return cls("".join(sorted(set(text))))

    def __len__(self) -> int:
        return len(self.alphabet)

    def encode(self, text: str) -> np.ndarray:
        """Ids of the characters of ``text``, shape (len(text),), dtype int64."""
        if not isinstance(text, str):
            raise TypeError(f"encode takes a str, got {type(text).__name__}.")
        # One lookup table over code points encodes the whole text in one NumPy step.
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)  # (N,)
        top = max(ord(c) for c in self.alphabet) + 1
        table = np.full(top, -1, dtype=np.int64)
        table[[ord(c) for c in self.alphabet]] = np.arange(len(self))
        ids = np.where(codes < top, table[np.minimum(codes, top - 1)], -1)
        if (ids < 0).any():
            bad = sorted({text[i] for i in np.flatnonzero(ids < 0)})
            raise ValueError(
                f"text contains character(s) {bad} that are not in the vocabulary "
                f"{self.alphabet!r}. Build the vocabulary from all the text you will encode."
            )
        return ids

    def decode(self, ids: object) -> str:
        """The text whose character ids are ``ids`` (a 1-D sequence of ints)."""
        arr = np.asarray(ids)
        if arr.ndim != 1 or not (np.issubdtype(arr.dtype, np.integer) or arr.size == 0):
            raise ValueError(
                f"decode takes a 1-D sequence of integer ids, got shape {arr.shape} and dtype "
                f"{arr.dtype}. For logits, take argmax over the last axis first."
            )
        if arr.size and (arr.min() < 0 or arr.max() >= len(self)):
            raise ValueError(
                f"ids must lie in [0, {len(self)}) for this vocabulary; "
                f"found values from {arr.min()} to {arr.max()}."
            )
        return "".join(self.alphabet[i] for i in arr.tolist())
