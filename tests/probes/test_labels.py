"""Topic labels from the text alone, and the character control task."""

from __future__ import annotations

import numpy as np
import pytest

from dlbook.data.corpus import TOPICS, load_corpus, make_source
from dlbook.probes import UNKNOWN, character_control_labels, sentence_topics


def shown(labels: np.ndarray) -> str:
    return "".join("." if v == UNKNOWN else str(v) for v in labels)


def test_labels_start_after_the_topic_word_and_end_at_the_period() -> None:
    text = "ire te ta. fire petaze ku. wood gi. sky fe"
    assert shown(sentence_topics(text)) == "." * 15 + "1" * 11 + ".....2222....333"


def test_labels_agree_with_the_sources_own_topic_states() -> None:
    """Where the text gives a label, it is the topic of the automaton's state."""
    source = make_source()
    text, states = source.sample(3000, rng=7, return_states=True)
    labels = sentence_topics(text)
    known = labels != UNKNOWN
    truth = source.state_topic[states]  # topic of the state that emitted each character
    after_period = np.array([c == "." for c in text])  # the period is emitted by a word state
    assert known.mean() > 0.8
    np.testing.assert_array_equal(labels[known & ~after_period], truth[known & ~after_period])


def test_a_text_that_is_not_from_the_corpus_is_refused() -> None:
    with pytest.raises(ValueError, match="not a topic word"):
        sentence_topics("ta. moon lu.")
    with pytest.raises(TypeError, match="str"):
        sentence_topics(42)


def test_control_labels_are_a_fixed_random_function_of_the_character() -> None:
    text = load_corpus(n_train=10, n_val=500, n_test=10).val
    labels = character_control_labels(text, len(TOPICS), rng=0)
    assert labels.shape == (len(text),) and labels.max() < len(TOPICS)
    for ch in set(text):
        assert len(set(labels[[c == ch for c in text]])) == 1
    np.testing.assert_array_equal(labels, character_control_labels(text, len(TOPICS), rng=0))
