"""A shifted task for fine-tuning: the chapter corpus with its topics' initials swapped.

The chapter GPT learnt from :func:`dlbook.data.corpus.load_corpus` that, for instance, a
``fire`` sentence continues with words starting with k, t, r or p. The shifted source
keeps everything else (the four topic words, the syllables, vowel harmony, the
alphabet) but hands each topic the initials of another::

    topic    chapter corpus    shifted corpus
    sea      l m n s           f z l s      (sky's)
    fire     k t r p           l m n s      (sea's)
    wood     b d g v           k t r p      (fire's)
    sky      f z l s           b d g v      (wood's)

So the text looks the same, has the same alphabet and the same entropy rate
(1.4172 nats/char), but the pretrained model bets on the wrong four letters at every
word start and scores about 1 nat/char worse than on its own corpus. What must
change is small and precise, a remapping of which topic calls which initials,
which is the kind of update a low-rank adapter can learn.
"""

from __future__ import annotations

import numpy as np

from dlbook.data.corpus import TOPICS, Corpus, SourceConfig, Topic, make_source

__all__ = ["SHIFTED_CONFIG", "load_shifted_corpus"]

# Each topic takes the initials of the one listed before it in TOPICS (sea, fire, wood, sky),
# the first those of the last.
SHIFTED_CONFIG = SourceConfig(
    topics=tuple(Topic(t.word, initials=TOPICS[i - 1].initials) for i, t in enumerate(TOPICS))
)


def load_shifted_corpus(
    n_train: int = 50_000, n_val: int = 10_000, n_test: int = 10_000, seed: int = 1
) -> Corpus:
    """Train / val / test text from the shifted source (three independent streams).

    Smaller than the chapter corpus: fine-tuning needs less data than pretraining.
    The default ``seed=1`` keeps these streams apart from ``load_corpus``'s (seed 0).
    """
    source = make_source(SHIFTED_CONFIG)
    streams = np.random.SeedSequence(seed).spawn(3)
    train, val, test = (
        source.sample(n, np.random.default_rng(ss))
        for n, ss in zip((n_train, n_val, n_test), streams, strict=True)
    )
    return Corpus(train, val, test, source.alphabet, source, source.entropy_rate())
