"""Byte-level BPE: exact round trips, merges equal to an independent reference, GPT-2's ids."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlbook.tokenizer import (
    ENDOFTEXT,
    BPETokenizer,
    load_gpt2_tokenizer,
    merge_pair,
    most_frequent_pair,
    pair_counts,
    pretokenize,
    tokens_per_char,
    train_bpe,
)

TEXT = (
    "the cat sat on the mat; the cat ate the rat. aaa aaaa bbb! 2024 and 1999...\n"
    "我爱北京天安门。北京欢迎你。 naïve café, the end\n"
) * 3


def _reference_merges(text: str, n_merges: int) -> list[tuple[int, int]]:
    """Independent BPE trainer: recount every pair of every pre-token occurrence each step."""
    chunks = [list(c.encode("utf-8")) for c in pretokenize(text)]
    merges = []
    for i in range(n_merges):
        counts: dict[tuple[int, int], int] = {}
        for c in chunks:
            for j in range(len(c) - 1):
                counts[(c[j], c[j + 1])] = counts.get((c[j], c[j + 1]), 0) + 1
        if not counts:
            break
        best_count = max(counts.values())
        pair = sorted(p for p, n in counts.items() if n == best_count)[0]
        merges.append(pair)
        new_chunks = []
        for c in chunks:
            out, j = [], 0
            while j < len(c):
                if j + 1 < len(c) and (c[j], c[j + 1]) == pair:
                    out.append(256 + i)
                    j += 2
                else:
                    out.append(c[j])
                    j += 1
            new_chunks.append(out)
        chunks = new_chunks
    return merges


@pytest.fixture(scope="module")
def tok() -> BPETokenizer:
    return train_bpe(TEXT, 60, special_tokens=(ENDOFTEXT,))


def test_trainer_matches_reference():
    for n in (1, 10, 60):
        got = train_bpe(TEXT, n).merges
        assert got == _reference_merges(TEXT, n), f"merges differ from the reference at n={n}"


def test_trainer_stops_when_nothing_is_left():
    tok = train_bpe("ab ab", 50)
    assert tok.merges == _reference_merges("ab ab", 50)
    assert len(tok.merges) < 50


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_round_trip_on_random_unicode(tok, text):
    ids = tok.encode(text)
    assert ids.dtype == np.int64
    assert tok.decode(ids) == text


@settings(max_examples=50, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), min_size=1))
def test_round_trip_on_chinese(tok, text):
    assert tok.decode(tok.encode(text)) == text


def test_merges_shorten_the_text(tok):
    assert len(tok.encode(TEXT)) < len(TEXT.encode("utf-8")) * 0.6
    assert tokens_per_char(tok, TEXT) < 1.0


def test_special_token_has_its_own_id(tok):
    ids = tok.encode("the cat" + ENDOFTEXT + "the mat")
    assert tok.special_id(ENDOFTEXT) == tok.vocab_size - 1 == 256 + 60
    assert list(ids).count(tok.vocab_size - 1) == 1
    assert tok.decode(ids) == "the cat" + ENDOFTEXT + "the mat"


def test_json_round_trip(tok):
    again = BPETokenizer.from_json(tok.to_json())
    assert again.merges == tok.merges and again.vocab_size == tok.vocab_size
    assert np.array_equal(again.encode(TEXT), tok.encode(TEXT))


def test_merge_pair_does_not_overlap():
    assert merge_pair([1, 1, 1], (1, 1), 9) == [9, 1]
    assert merge_pair([1, 1, 1, 1], (1, 1), 9) == [9, 9]
    assert merge_pair([1, 2, 3, 1, 2], (1, 2), 7) == [7, 3, 7]


def test_pair_counts_and_ties():
    counts = pair_counts([1, 1, 1, 2, 3, 2, 3])
    assert counts == {(1, 1): 2, (1, 2): 1, (2, 3): 2, (3, 2): 1}
    assert most_frequent_pair(counts) == (1, 1)  # tie with (2, 3): the smaller pair


def test_pretokenize_covers_the_text():
    text = "Hello,  world!\n  It's 42 我爱你。"
    pieces = pretokenize(text)
    assert "".join(pieces) == text
    assert " world" in pieces and "'s" in pieces and " 42" in pieces


def test_clear_errors():
    with pytest.raises(TypeError, match="str"):
        BPETokenizer([]).encode(b"bytes")
    with pytest.raises(ValueError, match="below"):
        BPETokenizer([(0, 300)])
    with pytest.raises(ValueError, match="non-negative"):
        train_bpe("abc", -1)
    with pytest.raises(ValueError, match="1-D"):
        BPETokenizer([]).decode([[1, 2]])
    with pytest.raises(ValueError, match="outside"):
        BPETokenizer([]).decode([300])


def test_cut_character_decodes_with_replacement():
    ids = BPETokenizer([]).encode("我")  # three bytes
    assert BPETokenizer([]).decode(ids[:2]) == "\ufffd"


# Ids from tiktoken 0.14.0 (not a dependency), its Encoding built from the same rank file.
GPT2_IDS = {
    "Hello world": [15496, 995],
    "In the beginning God created the heaven and the earth.": [
        818, 262, 3726, 1793, 2727, 262, 9538, 290, 262, 4534, 13,
    ],
    "naïve café, Zürich 2024!": [2616, 38776, 40304, 11, 1168, 9116, 7527, 48609, 0],
    "我爱北京天安门。": [
        22755, 239, 163, 230, 109, 44293, 245, 12859, 105, 25465, 22522, 231, 29785, 101, 16764,
    ],
    "It's 3.14159... isn't it?<|endoftext|>": [
        1026, 338, 513, 13, 1415, 19707, 986, 2125, 470, 340, 30, 50256,
    ],
    "  code_block = x**2\n\n": [220, 2438, 62, 9967, 796, 2124, 1174, 17, 628],
}  # fmt: skip


def test_gpt2_tokens():
    gpt2 = load_gpt2_tokenizer()
    assert gpt2.vocab_size == 50257
    for text, ids in GPT2_IDS.items():
        assert gpt2.encode(text).tolist() == ids, text
        assert gpt2.decode(ids) == text
