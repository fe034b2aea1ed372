"""TF-IDF from scratch against scikit-learn's ``TfidfVectorizer``, and the document generator."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from dlbook.text import (
    Tfidf,
    TopicDocsConfig,
    build_vocabulary,
    count_matrix,
    idf,
    make_topic_documents,
    tfidf,
    tokenize,
)

HANDMADE = [
    "The sea, the sea! Waves of the SEA.",
    "Fire burns wood; wood feeds fire.",
    "a I x sky sky sky 42 and 7",  # one-letter tokens are dropped, as in scikit-learn
    "",
    "Ünïcode wörds and sea-fire hyphens",
]


@pytest.mark.parametrize("seed", [0, 1])
def test_matches_sklearn_to_1e_12_on_generated_documents(seed):
    docs, _, _ = make_topic_documents(300, seed=seed)
    train, test = docs[:200], docs[200:] + ["unknown words only zzz qqq"]
    ours = Tfidf().fit(train)
    sk = TfidfVectorizer().fit(train)
    assert ours.get_feature_names() == list(sk.get_feature_names_out())
    np.testing.assert_allclose(ours.idf_, sk.idf_, rtol=0, atol=1e-12)
    for part in (train, test):
        np.testing.assert_allclose(
            ours.transform(part), sk.transform(part).toarray(), rtol=0, atol=1e-12
        )


def test_matches_sklearn_on_handmade_text():
    ours = Tfidf().fit_transform(HANDMADE)
    sk = TfidfVectorizer().fit_transform(HANDMADE).toarray()
    np.testing.assert_allclose(ours, sk, rtol=0, atol=1e-12)
    assert np.all(ours[3] == 0)  # the empty document stays a zero row, not NaN


def test_the_steps_by_hand():
    tokens = [tokenize(d) for d in ["bb aa aa", "aa cc"]]
    vocab = build_vocabulary(tokens)
    assert vocab == {"aa": 0, "bb": 1, "cc": 2}
    c = count_matrix(tokens, vocab)
    assert np.array_equal(c, [[2, 1, 0], [1, 0, 1]])
    w = idf(c)
    np.testing.assert_allclose(w, [1.0, np.log(3 / 2) + 1, np.log(3 / 2) + 1])
    x = tfidf(c, w)
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0)


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: Tfidf().fit("one document"), TypeError, "wrap it"),
        (lambda: Tfidf().fit(["ok doc", 3]), TypeError, "document 1"),
        (lambda: Tfidf().transform(["aa"]), RuntimeError, "fit"),
        (lambda: tfidf(np.ones((2, 3)), np.ones(4)), ValueError, "agree on V"),
        (lambda: idf(-np.ones((2, 3))), ValueError, ">= 0"),
        (lambda: Tfidf().fit(["a b c"]), ValueError, "no words"),
    ],
)
def test_refusals(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_documents_are_deterministic_balanced_and_free_of_topic_words():
    docs, y, source = make_topic_documents(2000, seed=0)
    docs2, y2, _ = make_topic_documents(2000, seed=0)
    assert docs == docs2 and np.array_equal(y, y2)
    assert np.all(np.abs(np.bincount(y, minlength=4) / 2000 - 0.25) < 0.04)
    vocab = {w for d in docs for w in tokenize(d)}
    assert not vocab & {"sea", "fire", "wood", "sky"}
    np.testing.assert_allclose(source.probs.sum(axis=1), 1.0, atol=1e-12)


def test_bayes_classifier_is_good_but_not_perfect_and_beats_chance_by_far():
    docs, y, source = make_topic_documents(3000, seed=1)
    acc = float(np.mean(source.bayes_predict(docs) == y))
    assert 0.85 < acc < 0.97  # not trivially separable, not hopeless


def test_more_topic_weight_is_easier():
    easy = TopicDocsConfig(topic_weight=0.4)
    docs, y, source = make_topic_documents(1000, easy, seed=2)
    assert np.mean(source.bayes_predict(docs) == y) > 0.98


def test_generator_refuses_impossible_configs():
    with pytest.raises(ValueError, match="too small"):
        make_topic_documents(5, TopicDocsConfig(vocab_size=100))
    with pytest.raises(ValueError, match="shared"):
        make_topic_documents(5, TopicDocsConfig(shared=40))
