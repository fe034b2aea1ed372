"""The chapter corpus: a unifilar source whose entropy rate is known exactly."""

from __future__ import annotations

import time

import numpy as np
import pytest

from dlbook.data.corpus import (
    CONSONANTS,
    VOWELS,
    CharSource,
    Corpus,
    SourceConfig,
    Topic,
    load_corpus,
    make_source,
)


@pytest.fixture(scope="module")
def source() -> CharSource:
    return make_source()


@pytest.fixture(scope="module")
def long_text(source: CharSource) -> str:
    return source.sample(200_000, rng=1)


def test_alphabet_and_tables(source: CharSource) -> None:
    assert source.alphabet == "abdefgiklmnoprstuvwyz ."
    S, A = source.emit.shape
    assert (S, A) == (source.n_states, len(source.alphabet)) == (163, 23)
    np.testing.assert_allclose(source.emit.sum(axis=1), 1.0, atol=1e-12)
    # a character has a next state exactly when it can be emitted
    assert ((source.emit > 0) == (source.next_state >= 0)).all()
    with pytest.raises(ValueError):  # the tables are read-only
        source.emit[0, 0] = 0.5


def test_every_character_is_in_the_alphabet_and_used(source: CharSource, long_text: str) -> None:
    assert set(long_text) == set(source.alphabet)
    assert long_text.startswith(tuple(t.word + " " for t in source.config.topics))


def test_sampling_is_deterministic_and_prefix_consistent(source: CharSource) -> None:
    a = source.sample(5000, rng=7)
    assert a == source.sample(5000, rng=np.random.default_rng(7))
    assert a != source.sample(5000, rng=8)
    assert source.sample(50_000, rng=7).startswith(a)


def test_sampling_300k_chars_is_fast(source: CharSource) -> None:
    t0 = time.perf_counter()
    text = source.sample(300_000, rng=0)
    assert len(text) == 300_000
    assert time.perf_counter() - t0 < 2.0


def test_unifilar_the_text_determines_the_states(source: CharSource) -> None:
    text, states = source.sample(20_000, rng=3, return_states=True)
    walked = source.states_along(text)  # (n + 1,) recovered from the text alone
    assert walked[0] == source.start
    np.testing.assert_array_equal(walked[:-1], states)
    # each (state, character) leads to one state: the next row of the walk is a lookup
    ids = source.encode(text)
    np.testing.assert_array_equal(source.next_state[walked[:-1], ids], walked[1:])


def test_the_topic_word_sets_the_topic_until_the_period(source: CharSource) -> None:
    text, states = source.sample(10_000, rng=4, return_states=True)
    topics = source.state_topic[states]
    for sentence, topic in zip(text.split(". ")[:-1], _split_like(topics, text), strict=True):
        word = sentence.split(" ")[0]
        expected = [t.word for t in source.config.topics].index(word)
        assert topic[0] == -1  # the sentence start: any topic may come
        assert set(topic[len(word) :]) == {expected}, sentence
        initials = source.config.topics[expected].initials
        assert all(w[0] in initials for w in sentence.split(" ")[1:]), sentence


def _split_like(values: np.ndarray, text: str) -> list[np.ndarray]:
    """Cut ``values`` (one per character) at the same places as ``text.split('. ')``."""
    out, start = [], 0
    for part in text.split(". ")[:-1]:
        out.append(values[start : start + len(part)])
        start += len(part) + 2
    return out


def test_stationary_distribution(source: CharSource, long_text: str) -> None:
    pi = source.stationary_distribution()
    P = source.transition_matrix()
    np.testing.assert_allclose(P.sum(axis=1), 1.0, atol=1e-12)
    assert pi.min() >= 0 and abs(pi.sum() - 1) < 1e-12
    np.testing.assert_allclose(pi @ P, pi, atol=1e-12)
    # 1 / pi(start) is the mean sentence length: 3.5 + 1 + 5 * (2 * 2.1 + 1) + 1
    assert 1 / pi[source.start] == pytest.approx(31.5, rel=1e-10)
    assert long_text.count(". ") * 31.5 == pytest.approx(len(long_text), rel=0.03)


def test_entropy_rate_matches_the_renewal_formula(source: CharSource) -> None:
    """An independent derivation: H = E[-log P(sentence)] / E[len(sentence)].

    Sentences are i.i.d. (each restarts the automaton), so by the renewal-reward
    theorem the entropy rate is the entropy of one sentence over its mean length.
    """
    cfg = source.config
    L = np.array(cfg.syllables)
    EL = float(L @ np.arange(1, len(L) + 1))  # mean syllables per word
    q = 1 / cfg.mean_words
    h = lambda p: float(-(np.asarray(p) * np.log(p)).sum())  # noqa: E731
    h_vowel = h([cfg.harmony + (1 - cfg.harmony) / 5] + [(1 - cfg.harmony) / 5] * 4)
    per_word = np.log(4) + np.log(5) + h(L) + h([q, 1 - q]) + (EL - 1) * (np.log(14) + h_vowel)
    per_sentence = np.log(4) + cfg.mean_words * per_word
    mean_len = np.mean([len(t.word) for t in cfg.topics]) + 2 + cfg.mean_words * (2 * EL + 1)
    assert source.entropy_rate() == pytest.approx(per_sentence / mean_len, rel=1e-12)
    assert source.entropy_rate() == pytest.approx(1.4172, abs=1e-4)


def test_entropy_rate_matches_monte_carlo(source: CharSource, long_text: str) -> None:
    """-log p(text) / n -> H (Shannon-McMillan-Breiman): within 1% at n = 200k."""
    estimate = -source.log_prob(long_text) / len(long_text)
    assert estimate == pytest.approx(source.entropy_rate(), rel=0.01)


def test_entropy_units(source: CharSource) -> None:
    assert source.entropy_rate("bits") == pytest.approx(source.entropy_rate() / np.log(2))
    h = source.conditional_entropy_given_state()
    assert h.shape == (source.n_states,)
    assert h.min() >= 0 and h.max() <= np.log(len(source.alphabet))
    assert h[source.states.index(".")] == 0  # after a period, a space is certain
    with pytest.raises(ValueError, match="'nats' or 'bits'"):
        source.entropy_rate("bytes")


def test_log_prob_of_impossible_and_unknown_text(source: CharSource) -> None:
    assert source.log_prob("sea lo") == pytest.approx(-np.log(4) - np.log(4) - np.log(5))
    assert source.log_prob("sea ko") == -np.inf  # k is not an initial of sea
    with pytest.raises(ValueError, match="never emit 'k' at position 4"):
        source.states_along("sea ko")
    with pytest.raises(ValueError, match=r"\['X'\]"):
        source.log_prob("sea X")


def test_load_corpus() -> None:
    c = load_corpus(n_train=30_000, n_val=5_000, n_test=5_000, seed=2)
    assert isinstance(c, Corpus)
    assert (len(c.train), len(c.val), len(c.test)) == (30_000, 5_000, 5_000)
    assert c.alphabet == c.source.alphabet and c.entropy_rate == c.source.entropy_rate()
    assert len({c.train[:200], c.val[:200], c.test[:200]}) == 3  # independent streams
    d = load_corpus(n_train=10_000, n_val=5_000, n_test=5_000, seed=2)
    assert c.train.startswith(d.train) and c.val == d.val  # deterministic, prefix-consistent
    assert "30,000" in repr(c) and len(repr(c)) < 200  # the repr does not print the text
    assert c.source_loss("train") == pytest.approx(c.entropy_rate, rel=0.02)
    assert c.source_loss("test") == -c.source.log_prob(c.test) / 5_000
    with pytest.raises(ValueError, match="'train', 'val' or 'test'"):
        c.source_loss("validation")


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda s: s.sample(0, rng=0), ValueError, "n_chars must be at least 1"),
        (lambda s: s.sample(2.5, rng=0), TypeError, "n_chars must be an integer"),
        (lambda s: s.sample(True, rng=0), TypeError, "n_chars must be an integer"),
        (lambda s: s.sample(10, rng=None), TypeError, "seed"),
        (lambda s: s.log_prob(123), TypeError, "text must be a str"),
        (lambda s: s.log_prob("sea", start=10_000), ValueError, "start must be a state"),
        (lambda s: load_corpus(n_train=0), ValueError, "n_train must be at least 1"),
        (lambda s: load_corpus(seed=-1), ValueError, "seed must be at least 0"),
    ],
)
def test_bad_arguments_are_explained(source: CharSource, call, error, match) -> None:
    with pytest.raises(error, match=match):
        call(source)


@pytest.mark.parametrize(
    ("config", "match"),
    [
        (SourceConfig(topics=(Topic("sea", "lm"), Topic("seal", "st"))), "prefix"),
        (SourceConfig(syllables=(0.5, 0.4)), "summing to 1"),
        (SourceConfig(topics=(Topic("sea", "la"), Topic("sky", "fz"))), "initials"),
        (SourceConfig(topics=(Topic("Sea", "lm"), Topic("sky", "fz"))), "lowercase"),
        (SourceConfig(harmony=1.5), "harmony"),
        (SourceConfig(mean_words=0.5), "mean_words"),
    ],
)
def test_bad_configs_are_explained(config: SourceConfig, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make_source(config)


def test_other_configs_stay_exact() -> None:
    """A source without harmony, with short words: the two estimates still agree."""
    src = make_source(SourceConfig(harmony=0.0, syllables=(0.5, 0.5), mean_words=3.0))
    text = src.sample(100_000, rng=0)
    assert -src.log_prob(text) / len(text) == pytest.approx(src.entropy_rate(), rel=0.01)
    assert set(text) <= set(src.alphabet) and set(CONSONANTS + VOWELS) <= set(src.alphabet)
