"""The shipped texts, the book split, and the generated instruction and preference data."""

from __future__ import annotations

import numpy as np
import pytest

from dlbook.llm import corpus as cp
from dlbook.llm import tasks
from dlbook.tokenizer import ENDOFTEXT, train_bpe


def test_books_are_real_and_split_without_overlap():
    books = cp.load_books()
    assert tuple(books) == cp.BOOKS
    assert books["Genesis"].startswith("In the beginning God created the heaven and the earth.")
    c = cp.load_corpus()
    for b in cp.BOOKS:
        assert 40_000 < len(books[b]) <= 50_001
        assert c.train[b] + c.val[b] == books[b]
        assert c.train[b].endswith("\n") and 0.08 < len(c.val[b]) / len(books[b]) < 0.12
    assert c.train_text.count("\n") > 1500


def test_tang_poems_are_chinese():
    poems = cp.load_tang_poems()
    assert poems.startswith("《感遇・其一》") and poems.count("作者：") == 313
    assert "\x1b" not in poems


def test_split_text_refuses_bad_fractions():
    with pytest.raises(ValueError, match="between 0 and 1"):
        cp.split_text("a\nb\n", 1.5)


def test_passages_shapes_and_labels():
    ids = {b: np.arange(100 + 10 * i) for i, b in enumerate(cp.BOOKS)}
    x, y = cp.passages(ids, 8, 5, np.random.default_rng(0))
    assert x.shape == (20, 8) and np.array_equal(np.bincount(y), [5, 5, 5, 5])
    x, y = cp.passages(ids, 8, None, np.random.default_rng(0))
    assert x.shape[0] == sum(len(v) // 8 for v in ids.values())
    assert np.all(np.diff(x, axis=1) == 1)  # contiguous windows
    x4, y4 = cp.passages(ids, 8, None, np.random.default_rng(0), stride=4)
    assert x4.shape[0] == sum((len(v) - 8) // 4 + 1 for v in ids.values())
    assert np.array_equal(x4[1], x4[0] + 4) and np.array_equal(x4[::2][:12], x[:12])
    with pytest.raises(ValueError, match="fewer than a passage"):
        cp.passages(ids, 1000, 1, np.random.default_rng(0))
    with pytest.raises(ValueError, match="stride"):
        cp.passages(ids, 8, None, np.random.default_rng(0), stride=0)


def test_instructions_have_the_right_answers():
    words = ["alpha", "beta", "gamma", "delta", "omega"]
    for e in tasks.make_instructions(words, 60, np.random.default_rng(1)):
        listed = e.prompt.split(": ", 2)[2].removesuffix("\nA:").split()
        want = {"first word": listed[0], "last word": listed[-1], "repeat": " ".join(listed)}
        assert e.answer == want[e.task]
        assert e.response.endswith(ENDOFTEXT)
        assert tasks.parse_response(e.response) == (e.answer, e.verbose)


def test_verbose_share_and_preferences():
    words = ["alpha", "beta", "gamma", "delta"]
    ex = tasks.make_instructions(words, 2000, np.random.default_rng(2))
    assert abs(np.mean([e.verbose for e in ex]) - tasks.VERBOSE_SHARE) < 0.03
    for p in tasks.make_preferences(words, 20, np.random.default_rng(3)):
        chosen, rejected = tasks.parse_response(p.chosen), tasks.parse_response(p.rejected)
        assert chosen[0] == rejected[0] and not chosen[1] and rejected[1]


def test_word_list_keeps_single_tokens():
    text = cp.load_corpus().train_text
    tok = train_bpe(text, 255)
    words = tasks.word_list(text, 100, tokenizer=tok)
    assert len(words) > 30 and words[0] == "the"
    assert all(len(tok.encode(" " + w)) == 1 for w in words)
