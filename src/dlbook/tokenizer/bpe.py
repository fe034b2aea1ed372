"""Byte-level byte-pair encoding (BPE), from scratch: train merges, encode, decode.

Shape legend: N = tokens of a text, M = number of merges, V = 256 + M (+ specials).

A text becomes its UTF-8 bytes, so the 256 byte values are the starting
vocabulary and *every* string, in any script, can be encoded: there is no
unknown token. Training repeats one step M times:

    count every adjacent pair (a, b) of ids in the training text (weighted by how
    often each pre-token occurs), pick the most frequent pair, give it the next id
    256 + i, and replace each occurrence of (a, b), left to right, by that id.

Ties between equally frequent pairs go to the smallest pair (a, b) in
lexicographic order, so training is deterministic. Encoding a new text applies
the learned merges in the order they were learned (merge i before merge i + 1):
that is the same as repeatedly merging the adjacent pair of lowest rank, which is
how GPT-2's encoder and ``tiktoken`` describe it, because pair i is built from
ids older than 256 + i and no later merge can create more of it. Decoding
concatenates the bytes of each id and decodes UTF-8; an id sequence cut in the
middle of a character decodes with U+FFFD, the replacement character.

**Pre-tokenization.** As in GPT-2, merges never cross the boundaries of
*pre-tokens*: words with their leading space, runs of digits, runs of
punctuation, runs of white space (:data:`PRETOKEN_PATTERN`). GPT-2's pattern uses
the Unicode classes ``\\p{L}`` (letters) and ``\\p{N}`` (numbers) of the third-party
``regex`` module; the standard ``re`` has no such classes, so this module spells
letters ``[^\\W\\d_]`` and numbers ``\\d``. The two agree on letters and on decimal
digits; they differ on rare number-like characters such as ``²`` or ``Ⅻ``, which
``re`` counts as letters.

There is no framework backend: BPE is bookkeeping on integers and dictionaries,
with no gradient and nothing for a GPU to speed up (``tiktoken`` is fast because it
is written in Rust, not because of a tensor library).
"""

from __future__ import annotations

import base64
import gzip
import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

Pair = tuple[int, int]

# GPT-2's pre-tokenizer, written for the standard ``re`` module (see the docstring).
PRETOKEN_PATTERN = re.compile(
    r"""'(?:s|t|re|ve|m|ll|d)| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+"""
)
ENDOFTEXT = "<|endoftext|>"  # GPT-2's one special token, the separator between documents


def pretokenize(text: str) -> list[str]:
    """Split ``text`` into GPT-2 style pre-tokens; ``"".join`` of the result is ``text``."""
    if not isinstance(text, str):
        raise TypeError(f"pretokenize takes a str, got {type(text).__name__}.")
    return PRETOKEN_PATTERN.findall(text)


def pair_counts(ids: Iterable[int], counts: dict[Pair, int] | None = None, weight: int = 1):
    """Counts of adjacent pairs in ``ids``, overlapping ones included ("aaa" has (a, a) twice)."""
    counts = {} if counts is None else counts
    seq = list(ids)
    for pair in zip(seq, seq[1:], strict=False):
        counts[pair] = counts.get(pair, 0) + weight
    return counts


def most_frequent_pair(counts: dict[Pair, int]) -> Pair:
    """The pair with the largest count; ties go to the smallest pair (a, b)."""
    if not counts:
        raise ValueError("No pair to merge: every pre-token is a single token already.")
    return min(counts, key=lambda p: (-counts[p], p))


def merge_pair(ids: Iterable[int], pair: Pair, new_id: int) -> list[int]:
    """Replace each occurrence of ``pair`` in ``ids``, left to right, by ``new_id``.

    Occurrences do not overlap: in a, a, a the pair (a, a) is merged once, giving
    new_id, a.
    """
    seq, out, i = list(ids), [], 0
    while i < len(seq):
        if i + 1 < len(seq) and seq[i] == pair[0] and seq[i + 1] == pair[1]:
            out.append(new_id)
            i += 2
        else:
            out.append(seq[i])
            i += 1
    return out


@dataclass
class BPETokenizer:
    """Byte-level BPE: ``merges[i] = (a, b)`` creates id ``256 + i``.

    ``byte_ids`` maps each byte value to its id (identity by default; GPT-2 uses a
    permutation of 0..255). Special tokens get the ids after the merges.
    """

    merges: list[Pair]  # merge i joins ids (a, b) into id 256 + i, in the order learned
    special_tokens: tuple[str, ...] = ()  # e.g. ("<|endoftext|>",): ids 256 + M, 257 + M, ...
    byte_ids: tuple[int, ...] = tuple(range(256))  # id of each byte value 0..255
    _ranks: dict[Pair, int] = field(init=False, repr=False)  # pair -> merge index
    _bytes: list[bytes] = field(init=False, repr=False)  # id -> its bytes
    _cache: dict[str, tuple[int, ...]] = field(init=False, repr=False)  # pre-token -> ids

    def __post_init__(self) -> None:
        self.merges = [(int(a), int(b)) for a, b in self.merges]
        self.special_tokens = tuple(self.special_tokens)
        if sorted(self.byte_ids) != list(range(256)):
            raise ValueError("byte_ids must be a permutation of 0..255, one id per byte value.")
        self._bytes = [b""] * 256
        for value, i in enumerate(self.byte_ids):
            self._bytes[i] = bytes([value])
        self._ranks = {}
        for i, (a, b) in enumerate(self.merges):
            if not (0 <= a < 256 + i and 0 <= b < 256 + i):
                raise ValueError(
                    f"merge {i} = ({a}, {b}) uses an id that does not exist yet: merge i may "
                    f"only join ids below 256 + i = {256 + i}."
                )
            if (a, b) in self._ranks:
                raise ValueError(f"merge {i} = ({a}, {b}) repeats an earlier merge.")
            self._ranks[(a, b)] = i
            self._bytes.append(self._bytes[a] + self._bytes[b])
        self._cache = {}

    @property
    def vocab_size(self) -> int:
        """V = 256 byte ids + one per merge + one per special token."""
        return 256 + len(self.merges) + len(self.special_tokens)

    def special_id(self, token: str) -> int:
        """The id of a special token such as ``"<|endoftext|>"``."""
        if token not in self.special_tokens:
            raise KeyError(f"{token!r} is not one of the special tokens {self.special_tokens}.")
        return 256 + len(self.merges) + self.special_tokens.index(token)

    def token_bytes(self, i: int) -> bytes:
        """The bytes that id ``i`` stands for (the UTF-8 of a special token's text)."""
        if 0 <= i < len(self._bytes):
            return self._bytes[i]
        if len(self._bytes) <= i < self.vocab_size:
            return self.special_tokens[i - len(self._bytes)].encode("utf-8")
        raise ValueError(f"id {i} is outside the vocabulary 0..{self.vocab_size - 1}.")

    def _encode_chunk(self, chunk: str) -> tuple[int, ...]:
        """Ids of one pre-token: merge the pair of lowest rank until none is left."""
        if chunk in self._cache:
            return self._cache[chunk]
        ids = [self.byte_ids[b] for b in chunk.encode("utf-8")]
        while len(ids) > 1:
            ranked = [
                (self._ranks[p], p) for p in zip(ids, ids[1:], strict=False) if p in self._ranks
            ]
            if not ranked:
                break
            rank, pair = min(ranked)
            ids = merge_pair(ids, pair, 256 + rank)
        self._cache[chunk] = out = tuple(ids)
        return out

    def encode(self, text: str) -> np.ndarray:
        """Ids of ``text``, shape (N,), int64; special tokens in the text become their ids."""
        if not isinstance(text, str):
            raise TypeError(f"encode takes a str, got {type(text).__name__}.")
        pieces = [text]
        if self.special_tokens:
            alternatives = "|".join(re.escape(s) for s in self.special_tokens)
            pieces = re.split(f"({alternatives})", text)
        ids: list[int] = []
        for piece in pieces:
            if piece in self.special_tokens:
                ids.append(self.special_id(piece))
                continue
            for chunk in pretokenize(piece):
                ids.extend(self._encode_chunk(chunk))
        return np.asarray(ids, dtype=np.int64)

    def decode(self, ids: Any) -> str:
        """The text of ``ids``; a byte sequence cut inside a character decodes as U+FFFD."""
        arr = np.asarray(ids)
        if arr.ndim != 1 or (arr.size and not np.issubdtype(arr.dtype, np.integer)):
            raise ValueError(f"decode takes a 1-D sequence of integer ids, got shape {arr.shape}.")
        return b"".join(self.token_bytes(int(i)) for i in arr).decode("utf-8", errors="replace")

    def to_json(self) -> str:
        """The merges, special tokens and byte ids as a JSON string (:meth:`from_json`)."""
        return json.dumps(
            {
                "merges": [list(p) for p in self.merges],
                "special_tokens": list(self.special_tokens),
                "byte_ids": None if self.byte_ids == tuple(range(256)) else list(self.byte_ids),
            }
        )

    @classmethod
    def from_json(cls, text: str) -> BPETokenizer:
        """The tokenizer written by :meth:`to_json`."""
        d = json.loads(text)
        byte_ids = tuple(d["byte_ids"]) if d.get("byte_ids") else tuple(range(256))
        return cls([tuple(p) for p in d["merges"]], tuple(d["special_tokens"]), byte_ids)


def train_bpe(
    text: str, n_merges: int, special_tokens: tuple[str, ...] = (), progress: bool = False
) -> BPETokenizer:
    """Learn ``n_merges`` merges from ``text`` (pre-tokenized; merges stay inside pre-tokens).

    Each distinct pre-token is kept once with its count, and the pair counts are
    updated only for the pre-tokens that contain the pair just merged, so a merge
    costs time in proportion to where it occurs, not to the whole text.
    Special tokens are cut out of the text before training and never merged.
    """
    from tqdm.auto import trange

    if not isinstance(n_merges, (int, np.integer)) or isinstance(n_merges, bool) or n_merges < 0:
        raise ValueError(f"n_merges must be a non-negative integer, got {n_merges!r}.")
    if not isinstance(text, str) or not text:
        raise ValueError("train_bpe needs a non-empty str to learn merges from.")
    for s in special_tokens:
        text = text.replace(s, " ")
    freq = Counter(pretokenize(text))
    words = [list(w.encode("utf-8")) for w in freq]  # each distinct pre-token, as byte ids
    weights = list(freq.values())
    counts: dict[Pair, int] = {}
    where: dict[Pair, set[int]] = {}  # pair -> indices of the words that contain it
    for k, (w, n) in enumerate(zip(words, weights, strict=True)):
        pair_counts(w, counts, n)
        for p in zip(w, w[1:], strict=False):
            where.setdefault(p, set()).add(k)
    merges: list[Pair] = []
    for i in trange(n_merges, desc="BPE merges", disable=not progress):
        if not counts:
            break  # every pre-token is one token: nothing left to merge
        pair = most_frequent_pair(counts)
        merges.append(pair)
        for k in sorted(where.pop(pair, ())):
            old, n = words[k], weights[k]
            for p in zip(old, old[1:], strict=False):  # remove the word's old pairs
                counts[p] -= n
                if counts[p] == 0:
                    del counts[p]
            words[k] = new = merge_pair(old, pair, 256 + i)
            pair_counts(new, counts, n)
            for p in zip(new, new[1:], strict=False):
                where.setdefault(p, set()).add(k)
    return BPETokenizer(merges, tuple(special_tokens))


# ---------------------------------------------------------------------------
# GPT-2's merges, recovered from its token ranks (the ``tiktoken`` file format)
# ---------------------------------------------------------------------------

GPT2_RANKS_PATH = Path(__file__).parent / "data" / "gpt2.tiktoken.gz"


def read_tiktoken_ranks(path: str | Path = GPT2_RANKS_PATH) -> dict[bytes, int]:
    """Token bytes -> rank from a ``.tiktoken`` file (``base64 rank`` per line; gzip allowed)."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="ascii") as f:
        pairs = (line.split() for line in f if line.strip())
        return {base64.b64decode(tok): int(rank) for tok, rank in pairs}


def _split_by_ranks(token: bytes, ranks: dict[bytes, int], below: int) -> list[bytes]:
    """BPE on the bytes of ``token`` using only the merges of rank < ``below``."""
    parts = [bytes([b]) for b in token]
    while len(parts) > 1:
        best = None
        for j in range(len(parts) - 1):
            r = ranks.get(parts[j] + parts[j + 1])
            if r is not None and r < below and (best is None or r < best[0]):
                best = (r, j)
        if best is None:
            break
        j = best[1]
        parts[j : j + 2] = [parts[j] + parts[j + 1]]
    return parts


def tokenizer_from_ranks(ranks: dict[bytes, int], special_tokens=(ENDOFTEXT,)) -> BPETokenizer:
    """A :class:`BPETokenizer` with the same tokens as ``tiktoken``'s rank table.

    A rank table lists every token's bytes with its id, not the merges. The merge
    that made token r is found by running BPE on its bytes with the merges of rank
    below r: the result is exactly two parts (a, b), and token r = merge (a, b).
    This needs the ids of the 256 single bytes to come first (ranks 0..255) and the
    merged tokens to have consecutive ranks after them, which holds for GPT-2.
    """
    by_rank = sorted(ranks.items(), key=lambda kv: kv[1])
    if [r for _, r in by_rank] != list(range(len(by_rank))):
        raise ValueError("The ranks must be 0, 1, 2, ... without gaps.")
    byte_ids = [0] * 256
    for token, r in by_rank[:256]:
        if len(token) != 1:
            raise ValueError("The first 256 ranks must be the 256 single bytes.")
        byte_ids[token[0]] = r
    merges = []
    for token, r in by_rank[256:]:
        parts = _split_by_ranks(token, ranks, below=r)
        if len(parts) != 2:
            raise ValueError(f"token {r} = {token!r} is not a merge of two earlier tokens.")
        merges.append((ranks[parts[0]], ranks[parts[1]]))
    return BPETokenizer(merges, tuple(special_tokens), tuple(byte_ids))


def load_gpt2_tokenizer() -> BPETokenizer:
    """GPT-2's tokenizer (50,000 merges + ``<|endoftext|>`` = 50,257 ids) from the shipped file.

    ``data/gpt2.tiktoken.gz`` is ``whisper/assets/gpt2.tiktoken`` of the
    ``openai-whisper`` package (MIT licence), gzipped: GPT-2's vocabulary as token
    ranks. Recovering the merges takes a few seconds in pure Python.
    """
    return tokenizer_from_ranks(read_tiktoken_ranks(GPT2_RANKS_PATH))


def tokens_per_char(tokenizer: Any, text: str) -> float:
    """Tokens per character of ``text``: how much a tokenizer shortens the sequence."""
    if not text:
        raise ValueError("tokens_per_char needs a non-empty text.")
    return len(tokenizer.encode(text)) / len(text)
