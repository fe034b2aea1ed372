"""Count-based n-gram models: normalisation, smoothing, and the gap to the entropy rate."""

from __future__ import annotations

import itertools
import time
from collections import Counter

import numpy as np
import pytest

from dlbook.data.corpus import Corpus, load_corpus
from dlbook.lm import CharVocab, NGramModel, best_ngram

SMOOTHINGS = [{"smoothing": "kneser_ney"}, {"smoothing": "add_k", "k": 0.5}]


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return load_corpus()


@pytest.fixture(scope="module")
def small_text() -> np.ndarray:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 4, size=400)
    x[200:260] = x[:60]  # some repeated n-grams
    return x


@pytest.mark.parametrize("kwargs", SMOOTHINGS)
@pytest.mark.parametrize("n", [1, 2, 3])
def test_probabilities_sum_to_one_for_every_context(small_text, n: int, kwargs) -> None:
    V = 5  # one character never occurs: its probability must still be positive
    model = NGramModel(n, V, **kwargs).fit(small_text)
    for length in range(n):  # every context, including the shorter ones at the start
        for context in itertools.product(range(V), repeat=length):
            p = model.prob(context)
            assert p.shape == (V,) and p.min() > 0
            assert p.sum() == pytest.approx(1.0, abs=1e-12)


def test_unigram_is_the_character_frequency(small_text) -> None:
    model = NGramModel(1, 5, smoothing="add_k", k=0.0).fit(small_text)
    np.testing.assert_allclose(model.prob(), np.bincount(small_text, minlength=5) / 400)
    np.testing.assert_allclose(model.prob([3, 1]), model.prob())  # the context is ignored


def test_add_k_formula_and_short_histories(small_text) -> None:
    k, V = 0.5, 5
    model = NGramModel(3, V, smoothing="add_k", k=k).fit(small_text)
    h = tuple(small_text[10:12])
    c_h = sum(tuple(small_text[i : i + 2]) == h for i in range(len(small_text) - 2))
    c_hx = Counter(tuple(small_text[i : i + 3]) for i in range(len(small_text) - 2))
    expected = [(c_hx[h + (x,)] + k) / (c_h + k * V) for x in range(V)]
    np.testing.assert_allclose(model.prob(h), expected)
    # the first character of a text is predicted from the (add-k) unigram counts
    counts = np.bincount(small_text, minlength=V)
    assert model.token_probs([2, 0])[0] == pytest.approx((counts[2] + k) / (400 + k * V))


def _kneser_ney_reference(x: list[int], n: int, V: int):
    """Interpolated Kneser-Ney with dictionaries, straight from the formula (slow, clear)."""
    grams = {
        m: Counter(tuple(x[i : i + m]) for i in range(len(x) - m + 1)) for m in range(1, n + 1)
    }
    counts = {n: grams[n]}
    for m in range(1, n):  # continuation counts: distinct left neighbours
        counts[m] = Counter(g[1:] for g in grams[m + 1])
    D = {}
    for m, c in counts.items():
        n1, n2 = sum(v == 1 for v in c.values()), sum(v == 2 for v in c.values())
        D[m] = min(n1 / (n1 + 2 * n2), 0.95) if n1 else 0.5  # as documented in NGramModel

    def p(h: tuple[int, ...], x: int, m: int) -> float:
        if m == 0:
            return 1 / V
        h = h[len(h) - (m - 1) :] if m > 1 else ()
        row = [counts[m][h + (y,)] for y in range(V)]
        lower = p(h[1:] if h else (), x, m - 1)
        if sum(row) == 0:
            return lower
        types = sum(c > 0 for c in row)
        return (max(row[x] - D[m], 0) + D[m] * types * lower) / sum(row)

    return p


def test_kneser_ney_matches_a_dictionary_reference(small_text) -> None:
    n, V = 3, 4
    model = NGramModel(n, V).fit(small_text)
    reference = _kneser_ney_reference(small_text.tolist(), n, V)
    y = np.random.default_rng(1).integers(0, V, size=60)
    expected = [reference(tuple(y[max(0, t - n + 1) : t]), y[t], min(t + 1, n)) for t in range(60)]
    np.testing.assert_allclose(model.token_probs(y), expected, rtol=1e-12)


@pytest.mark.parametrize("kwargs", SMOOTHINGS)
def test_a_periodic_text_is_learnt_perfectly(kwargs) -> None:
    period = np.array([0, 1, 0, 2, 1, 3, 3])  # needs two characters of context
    text = np.tile(period, 300)
    ce = [NGramModel(n, 4, **kwargs).fit(text).cross_entropy(text[5:400]) for n in (1, 2, 3)]
    assert ce[0] > 1.0 and ce[1] > 0.2  # one character of context is not enough
    assert ce[2] < 0.02  # ~0: the order-3 model has seen every context


def test_smoothing_gives_finite_loss_on_unseen_ngrams() -> None:
    train = np.array([0, 1, 2] * 50)
    held_out = np.array([0, 2, 1, 0])  # the bigrams 0-2 and 2-1 never occur in train
    mle = NGramModel(2, 3, smoothing="add_k", k=0.0).fit(train)
    assert mle.cross_entropy(held_out) == np.inf
    for kwargs in SMOOTHINGS:
        assert np.isfinite(NGramModel(2, 3, **kwargs).fit(train).cross_entropy(held_out))


def test_corpus_losses_stay_above_the_entropy_rate(corpus: Corpus) -> None:
    vocab = CharVocab(corpus.alphabet)
    train, val = vocab.encode(corpus.train), vocab.encode(corpus.val)
    sweep = best_ngram(train, val, range(1, 7), vocab_size=len(vocab))
    H = corpus.entropy_rate
    assert (sweep.val_loss > H - 0.03).all()  # 0.03: sampling noise of 20k characters
    assert (np.diff(sweep.val_loss[:4]) < 0).all()  # more context helps, up to n = 4 ...
    assert sweep.best_order in (4, 5) and sweep.val_loss[-1] > sweep.val_loss.min()  # ... then not
    assert sweep.val_loss.min() > H + 0.1  # the long-range topic is out of an n-gram's reach
    assert (np.diff(sweep.train_loss) < 0).all()  # in-sample loss keeps falling: overfitting
    assert sweep.best_model.n == sweep.best_order and "best_order" in repr(sweep)


def test_fitting_order_6_on_200k_characters_is_fast(corpus: Corpus) -> None:
    ids = CharVocab(corpus.alphabet).encode(corpus.train)
    t0 = time.perf_counter()
    NGramModel(6, 23).fit(ids)
    assert time.perf_counter() - t0 < 2.0


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: NGramModel(0, 5), ValueError, "n must be at least 1"),
        (lambda: NGramModel(2.0, 5), TypeError, "n must be an integer"),
        (lambda: NGramModel(2, 5, smoothing="laplace"), ValueError, "kneser_ney"),
        (lambda: NGramModel(2, 5, smoothing="add_k", k=-1), ValueError, "non-negative"),
        (lambda: NGramModel(30, 100), ValueError, "overflows"),
        (lambda: NGramModel(2, 5).fit("abc"), TypeError, "encode"),
        (lambda: NGramModel(2, 5).fit([0, 7, 1]), ValueError, r"\[0, 5\)"),
        (lambda: NGramModel(2, 5).fit([[0, 1]]), ValueError, "1-D"),
        (lambda: NGramModel(4, 5).fit([0, 1]), ValueError, "at least n = 4"),
        (lambda: NGramModel(2, 5).cross_entropy([0, 1]), RuntimeError, "not fitted"),
        (lambda: NGramModel(2, 5).fit([0, 1, 2]).cross_entropy([]), ValueError, "at least one"),
        (lambda: best_ngram([0, 1, 2], [0, 1], orders=[]), ValueError, "orders is empty"),
    ],
)
def test_bad_arguments_are_explained(call, error, match) -> None:
    with pytest.raises(error, match=match):
        call()
