"""TF-IDF from scratch: the four steps behind scikit-learn's ``TfidfVectorizer()``.

Shape legend: N = documents, V = vocabulary size.

With ``c[i, j]`` the number of times word j occurs in document i and
``df_j`` the number of documents that contain word j at least once::

    idf_j   = ln((1 + N) / (1 + df_j)) + 1         "smooth" idf: as if one extra
                                                    document held every word once
    x[i, j] = c[i, j] idf_j,    then  x[i] <- x[i] / ||x[i]||_2

A word in every document gets idf 1 (it is not removed, only not boosted); a
rare word gets up to ln((1 + N) / 2) + 1. These are the defaults of
``TfidfVectorizer`` (``smooth_idf=True, sublinear_tf=False, norm="l2"``, tokens
of two or more word characters, lower-cased), and ``tests/text`` checks the
result against it to 1e-12.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from dlbook._validate import as_float_array

TOKEN_PATTERN = re.compile(r"(?u)\b\w\w+\b")  # scikit-learn's default token_pattern


def tokenize(doc: str) -> list[str]:
    """The lower-cased words of two or more letters or digits, in order."""
    if not isinstance(doc, str):
        raise TypeError(
            f"a document must be a str, got {type(doc).__name__}; pass a list of strings."
        )
    return TOKEN_PATTERN.findall(doc.lower())


def _check_docs(docs: Any) -> list[str]:
    if isinstance(docs, str):
        raise TypeError(
            "docs must be a list of documents, got a single str; wrap it: [doc]. "
            "(A str is itself a sequence, of characters, which is not what you mean.)"
        )
    docs = list(docs)
    for i, d in enumerate(docs):
        if not isinstance(d, str):
            raise TypeError(f"document {i} is a {type(d).__name__}, not a str.")
    return docs


def build_vocabulary(token_lists: Iterable[Sequence[str]]) -> dict[str, int]:
    """Every distinct token -> its column, columns in alphabetical order (as scikit-learn)."""
    words = sorted({w for tokens in token_lists for w in tokens})
    if not words:
        raise ValueError("the documents contain no words of two or more letters.")
    return {w: j for j, w in enumerate(words)}


def count_matrix(token_lists: Sequence[Sequence[str]], vocabulary: dict[str, int]) -> np.ndarray:
    """c[i, j] = occurrences of word j in document i, (N, V); unknown words are skipped."""
    counts = np.zeros((len(token_lists), len(vocabulary)))  # (N, V)
    for i, tokens in enumerate(token_lists):
        cols = [vocabulary[w] for w in tokens if w in vocabulary]
        np.add.at(counts[i], cols, 1.0)
    return counts


def idf(counts: np.ndarray) -> np.ndarray:
    """idf_j = ln((1 + N) / (1 + df_j)) + 1, with df_j the documents containing word j, (V,)."""
    c = as_float_array(counts, "counts")
    if c.ndim != 2:
        raise ValueError(f"counts must be a (documents, words) matrix, got shape {c.shape}.")
    if np.any(c < 0) or not np.all(np.isfinite(c)):
        raise ValueError("counts must be finite and >= 0: they count words.")
    N = c.shape[0]
    df = (c > 0).sum(axis=0)  # (V,) documents, not occurrences
    return np.log((1.0 + N) / (1.0 + df)) + 1.0


def tfidf(counts: np.ndarray, idf_weights: np.ndarray) -> np.ndarray:
    """x = counts * idf, each row scaled to unit L2 norm (an all-zero row stays zero), (N, V)."""
    c = as_float_array(counts, "counts")
    w = as_float_array(idf_weights, "idf_weights")
    if c.ndim != 2 or w.shape != (c.shape[1],):
        raise ValueError(
            f"counts (N, V) and idf (V,) must agree on V; got {c.shape} and {w.shape}. "
            "Use the idf fitted on the training documents, with the same vocabulary."
        )
    x = c * w  # (N, V)
    norms = np.sqrt((x * x).sum(axis=1, keepdims=True))  # (N, 1)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


class Tfidf:
    """``fit`` learns the vocabulary and idf on training documents; ``transform`` applies them.

    The idf comes from the training documents only: fitting on validation or
    test documents too would leak their word statistics into the features.
    """

    def __init__(self) -> None:
        self.vocabulary_: dict[str, int] | None = None  # word -> column
        self.idf_: np.ndarray | None = None  # (V,)

    def fit(self, docs: Iterable[str]) -> Tfidf:
        tokens = [tokenize(d) for d in _check_docs(docs)]
        if not tokens:
            raise ValueError("fit needs at least one document.")
        self.vocabulary_ = build_vocabulary(tokens)
        self.idf_ = idf(count_matrix(tokens, self.vocabulary_))
        return self

    def transform(self, docs: Iterable[str]) -> np.ndarray:
        """(N, V) TF-IDF rows for ``docs``, with the fitted vocabulary and idf."""
        if self.vocabulary_ is None or self.idf_ is None:
            raise RuntimeError("call fit(train_docs) before transform.")
        tokens = [tokenize(d) for d in _check_docs(docs)]
        return tfidf(count_matrix(tokens, self.vocabulary_), self.idf_)

    def fit_transform(self, docs: Iterable[str]) -> np.ndarray:
        docs = _check_docs(docs)
        return self.fit(docs).transform(docs)

    def get_feature_names(self) -> list[str]:
        if self.vocabulary_ is None:
            raise RuntimeError("call fit(train_docs) first.")
        return sorted(self.vocabulary_, key=self.vocabulary_.__getitem__)
