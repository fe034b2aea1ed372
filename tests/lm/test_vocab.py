"""CharVocab: characters <-> ids."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from dlbook.lm import CharVocab


def test_from_text_sorts_distinct_characters() -> None:
    v = CharVocab.from_text("hello world")
    assert v.alphabet == " dehlorw" and len(v) == 8


def test_round_trip() -> None:
    v = CharVocab("abc .")
    ids = v.encode("a cab.")
    assert ids.dtype == np.int64 and ids.tolist() == [0, 3, 2, 0, 1, 4]
    assert v.decode(ids) == "a cab." and v.decode(ids.tolist()) == "a cab."
    assert v.encode("").shape == (0,) and v.decode([]) == ""


def test_unknown_characters_are_named() -> None:
    v = CharVocab("abc")
    with pytest.raises(ValueError, match=r"\['X', 'é'\]"):
        v.encode("abXcéX")


def test_equal_alphabets_are_equal_vocabs() -> None:
    assert CharVocab("ab") == CharVocab.from_text("baba")
    assert hash(CharVocab("ab")) == hash(CharVocab("ab"))


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: CharVocab("abca"), ValueError, r"\['a'\] more than once"),
        (lambda: CharVocab(""), ValueError, "non-empty"),
        (lambda: CharVocab.from_text(""), ValueError, "non-empty"),
        (lambda: CharVocab("ab").encode(b"ab"), TypeError, "str"),
        (lambda: CharVocab("ab").decode([0, 2]), ValueError, r"\[0, 2\)"),
        (lambda: CharVocab("ab").decode([-1]), ValueError, r"\[0, 2\)"),
        (lambda: CharVocab("ab").decode([0.0, 1.0]), ValueError, "integer ids"),
        (lambda: CharVocab("ab").decode([[0, 1]]), ValueError, "1-D"),
    ],
)
def test_bad_arguments_are_explained(call, error, match) -> None:
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("module", ["dlbook.lm", "dlbook.data.corpus"])
def test_importing_does_not_load_frameworks(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        "print(','.join(m for m in ('torch', 'tensorflow', 'keras') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"import {module} loaded {out.stdout.strip()}"
