"""What a probe should read out: the topic of the current sentence, from the text alone.

In the chapter corpus (:mod:`dlbook.data.corpus`) every sentence opens with its topic
word (``sea``, ``fire``, ``wood`` or ``sky``) and ends with ``". "``. A causal model that
has read the topic word knows the topic for the rest of the sentence. So, for a piece of
text, we label each character with its sentence's topic index **from the character
right after the topic word up to the sentence's period**, and with -1 (unknown) where a
model reading only this text cannot know it:

* inside the topic word itself (``s`` could start ``sea`` or ``sky``);
* in the first, partial sentence of the text, whose opening the text does not show;
* on the space after a period (the next topic is not chosen yet).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dlbook.data.corpus import TOPICS, Topic

UNKNOWN = -1  # the label of a character whose topic cannot be known from the text so far


def sentence_topics(text: str, topics: Sequence[Topic] = TOPICS) -> np.ndarray:
    """Topic index of each character's sentence, or -1 where unknown: (len(text),) int64.

    >>> sentence_topics("ta. sea mo. ").tolist()
    [-1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, -1]
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}.")
    words = {t.word: i for i, t in enumerate(topics)}
    labels = np.full(len(text), UNKNOWN, dtype=np.int64)
    start = text.find(". ")
    while start >= 0:  # start: the period before a sentence that the text shows whole
        begin = start + 2  # its first character
        end = text.find(".", begin)  # its period (or -1: it runs past the end of the text)
        stop = len(text) if end < 0 else end + 1
        first_word = text[begin:stop].split(" ", 1)[0]
        if first_word in words and begin + len(first_word) < stop:
            labels[begin + len(first_word) : stop] = words[first_word]
        elif first_word and not any(w.startswith(first_word) for w in words):
            raise ValueError(
                f"The sentence at position {begin} starts with {first_word!r}, which is not "
                f"a topic word of {sorted(words)}: is this text from the chapter corpus?"
            )
        start = -1 if end < 0 else text.find(". ", end)
    return labels


def character_control_labels(
    text: str | Sequence[str], n_classes: int, rng: np.random.Generator | int
) -> np.ndarray:
    """A *control task* (Hewitt and Liang 2019): each character type gets a random class.

    ``text`` is a string or any sequence of characters (e.g. the characters at the
    probed positions); the classes are drawn for its distinct characters in sorted order.

    The label of a position depends only on the character there, through a random but
    fixed map. A probe can reach a high accuracy on it only by memorising that map from
    the identity of the current character, so its accuracy measures what the probe
    itself can do, not what the representation organises.
    """
    from dlbook.seeding import make_rng

    if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) or n_classes < 1:
        raise ValueError(f"n_classes must be a positive integer, got {n_classes!r}.")
    rng = make_rng(rng)
    alphabet = sorted(set(text))
    table = dict(zip(alphabet, rng.integers(0, n_classes, size=len(alphabet)), strict=True))
    return np.array([table[c] for c in text], dtype=np.int64)


__all__ = ["UNKNOWN", "character_control_labels", "sentence_topics"]
