"""Generated topic documents that are *not* trivially separable, and their Bayes ceiling.

Shape legend: N = documents, V = vocabulary size, K = topics.

How a document is written
-------------------------
The vocabulary is V made-up words of two or three syllables (a consonant and a
vowel each, the letters of :mod:`dlbook.data.corpus`), ranked by a Zipf law: the
word of rank r has background probability ``b_r ∝ 1 / r^a``. Topic k owns a
block of ``keywords`` mid-frequency words; the blocks of neighbouring topics
(in a ring) share ``shared`` words. A document of topic k draws each of its
words independently from::

    p_k(w) = (1 - s) b(w) + s u_k(w),       u_k uniform over topic k's keywords,

with ``s = topic_weight``. The topic is uniform; the length is
``min_words + Poisson(mean_words - min_words)`` and does not depend on it. The
topic word of the book's corpus (``sea``, ``fire``, ...) never appears: a
classifier must find the topic from many weak clues.

Why the best possible accuracy is known
---------------------------------------
Given the topic, the words are independent draws from ``p_k``, so with ``c_w``
the count of word w in a document, ``log P(doc | k) = sum_w c_w log p_k(w)``
(plus a term that does not depend on k), and by Bayes' rule with a uniform prior
the best possible classifier picks ``argmax_k sum_w c_w log p_k(w)``. Its accuracy
on a test set estimates the Bayes accuracy: no model can do better on average.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dlbook.data.corpus import CONSONANTS, TOPICS, VOWELS
from dlbook.seeding import make_rng


@dataclass(frozen=True)
class TopicDocsConfig:
    """The knobs of the document generator; the defaults give a Bayes accuracy near 0.9."""

    topics: tuple[str, ...] = tuple(t.word for t in TOPICS)  # topic names (never in the text)
    vocab_size: int = 800  # V, made-up words
    zipf_exponent: float = 1.0  # a: background probability of rank r is proportional to r^-a
    keywords: int = 40  # keywords per topic
    shared: int = 15  # keywords each topic shares with the next one in the ring
    first_keyword_rank: int = 60  # keywords start below the most frequent (filler) words
    topic_weight: float = 0.2  # s: the share of a document's words drawn from its keywords
    mean_words: float = 30.0  # mean document length, in words
    min_words: int = 8  # the shortest document
    vocab_seed: int = 1234  # fixes the words themselves, independent of the sampling seed


@dataclass(frozen=True, eq=False)
class TopicSource:
    """The generator's exact word probabilities; it writes documents and classifies them best."""

    config: TopicDocsConfig  # the settings it was built from
    words: tuple[str, ...]  # (V,) the vocabulary, by background rank
    probs: np.ndarray = field(repr=False)  # (K, V) p_k(w), rows sum to 1

    @property
    def n_topics(self) -> int:
        return len(self.config.topics)

    def sample(self, n: int, rng: np.random.Generator) -> tuple[list[str], np.ndarray]:
        """``n`` documents and their topics (N,), drawn with ``rng``."""
        cfg = self.config
        labels = rng.integers(0, self.n_topics, size=n)  # (N,)
        lengths = cfg.min_words + rng.poisson(cfg.mean_words - cfg.min_words, size=n)  # (N,)
        words = np.array(self.words)
        idx = np.empty(int(lengths.sum()), dtype=np.int64)  # every word of every document
        ends = np.cumsum(lengths)  # (N,) where each document's words end in idx
        starts = ends - lengths
        for k in range(self.n_topics):  # one draw per topic, for all its documents at once
            mine = np.flatnonzero(labels == k)
            pos = np.concatenate([np.arange(starts[i], ends[i]) for i in mine] + [ends[:0]])
            idx[pos] = rng.choice(len(words), size=pos.size, p=self.probs[k])
        docs = [" ".join(words[idx[s:e]]) + "." for s, e in zip(starts, ends, strict=True)]
        return docs, labels.astype(np.int64)

    def counts(self, docs: list[str]) -> np.ndarray:
        """(N, V) counts of the source's own words (in its rank order) in each document."""
        from dlbook.text.tfidf import count_matrix, tokenize

        index = {w: j for j, w in enumerate(self.words)}
        return count_matrix([tokenize(d) for d in docs], index)

    def log_likelihood(self, docs: list[str]) -> np.ndarray:
        """(N, K) ``sum_w c_w log p_k(w)``: the log-likelihood of topic k, up to a constant."""
        return self.counts(docs) @ np.log(self.probs).T  # (N, V) @ (V, K) -> (N, K)

    def bayes_predict(self, docs: list[str]) -> np.ndarray:
        """The Bayes-optimal topic of each document (uniform prior), (N,)."""
        return self.log_likelihood(docs).argmax(axis=1)


def _made_up_words(n: int, rng: np.random.Generator) -> list[str]:
    """``n`` distinct words of 2 or 3 consonant-vowel syllables."""
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < n:
        syllables = int(rng.integers(2, 4))
        word = "".join(
            CONSONANTS[rng.integers(len(CONSONANTS))] + VOWELS[rng.integers(len(VOWELS))]
            for _ in range(syllables)
        )
        if word not in seen:
            seen.add(word)
            out.append(word)
    return out


def _check_config(cfg: TopicDocsConfig) -> None:
    K = len(cfg.topics)
    if K < 2:
        raise ValueError(f"need at least 2 topics to classify, got {cfg.topics!r}.")
    if not 0 <= cfg.shared < cfg.keywords:
        raise ValueError(
            f"shared must lie in [0, keywords) = [0, {cfg.keywords}), got {cfg.shared}."
        )
    span = cfg.first_keyword_rank + K * (cfg.keywords - cfg.shared) + cfg.shared
    if span > cfg.vocab_size:
        raise ValueError(
            f"vocab_size = {cfg.vocab_size} is too small for {K} topics of {cfg.keywords} "
            f"keywords starting at rank {cfg.first_keyword_rank}: need {span}."
        )
    if not 0.0 < cfg.topic_weight <= 1.0:
        raise ValueError(f"topic_weight must lie in (0, 1], got {cfg.topic_weight}.")
    if not cfg.mean_words > cfg.min_words >= 1:
        raise ValueError(
            f"need mean_words > min_words >= 1, got {cfg.mean_words} and {cfg.min_words}."
        )


def make_source(config: TopicDocsConfig | None = None) -> TopicSource:
    """Build the words and the (K, V) word probabilities of every topic (see module docstring)."""
    cfg = config or TopicDocsConfig()
    _check_config(cfg)
    K, V = len(cfg.topics), cfg.vocab_size
    words = _made_up_words(V, np.random.default_rng(cfg.vocab_seed))
    background = 1.0 / np.arange(1, V + 1) ** cfg.zipf_exponent  # (V,)
    background /= background.sum()
    step = cfg.keywords - cfg.shared  # where each topic's block starts after the previous
    probs = np.empty((K, V))  # (K, V)
    for k in range(K):
        ranks = cfg.first_keyword_rank + k * step + np.arange(cfg.keywords)  # (keywords,)
        if k == K - 1 and cfg.shared:  # close the ring: the last topic shares with the first
            ranks[-cfg.shared :] = cfg.first_keyword_rank + np.arange(cfg.shared)
        uniform = np.zeros(V)
        uniform[ranks] = 1.0 / cfg.keywords
        probs[k] = (1.0 - cfg.topic_weight) * background + cfg.topic_weight * uniform
    return TopicSource(cfg, tuple(words), probs)


def make_topic_documents(
    n: int, config: TopicDocsConfig | None = None, seed: int | np.random.Generator = 0
) -> tuple[list[str], np.ndarray, TopicSource]:
    """``n`` generated documents, their topic labels (N,) and the source that wrote them.

    >>> docs, y, source = make_topic_documents(3, seed=0)
    >>> len(docs), y.shape, source.n_topics
    (3, (3,), 4)
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive number of documents, got {n!r}.")
    source = make_source(config)
    docs, labels = source.sample(int(n), make_rng(seed))
    return docs, labels, source
