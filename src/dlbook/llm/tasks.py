"""Generated instruction and preference data: a small, checkable stand-in for human data.

Every instruction asks about a few words of the King James text, so the answer is
known exactly and a response can be scored by string comparison:

====================================  =====================
instruction                           answer
====================================  =====================
``first word: w1 w2 w3``              ``w1``
``last word: w1 w2 w3``               ``w3``
``repeat: w1 w2``                     ``w1 w2``
====================================  =====================

The template is ``"Q: <instruction>\\nA:"`` for the prompt and
``" <response><|endoftext|>"`` for the response. Responses come in two *styles*:
concise (``" w1"``) and verbose (``" the answer is w1."``). The instruction set
mixes them, the verbose one more often (:data:`VERBOSE_SHARE`), so the
fine-tuned model answers verbosely most of the time. The preference pairs
then say what the (imagined) annotators prefer: the concise answer. How often
the model answers concisely is the behaviour that alignment should move.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from dlbook.tokenizer.bpe import ENDOFTEXT

TASKS = ("first word", "last word", "repeat")  # the three kinds of instruction
VERBOSE_PREFIX = "the answer is"  # how a verbose response starts
VERBOSE_SHARE = 0.75  # share of verbose responses in the instruction set


@dataclass(frozen=True)
class Example:
    """One instruction with its known answer and the response written for it."""

    prompt: str  # "Q: first word: lord said unto\nA:"
    response: str  # " the answer is lord.<|endoftext|>" or " lord<|endoftext|>"
    answer: str  # "lord": what a correct response contains
    task: str  # one of TASKS
    verbose: bool  # whether the response is in the verbose style


def word_list(text: str, n: int = 100, min_len: int = 3, tokenizer: Any = None) -> list[str]:
    """The ``n`` most frequent lower-case words of ``text`` with at least ``min_len`` letters.

    With a ``tokenizer``, only words that it encodes, after a space, as one token:
    then answering "first word" means copying one token, which a small model learns
    quickly.
    """
    words = re.findall(r"[a-z]+", text.lower())
    counts = Counter(w for w in words if len(w) >= min_len)
    ranked = sorted(counts, key=lambda w: (-counts[w], w))
    if tokenizer is not None:
        ranked = [w for w in ranked if len(tokenizer.encode(" " + w)) == 1]
    return ranked[:n]


def respond(answer: str, verbose: bool) -> str:
    """The response text of an answer in one style, with the end-of-text token."""
    body = f"{VERBOSE_PREFIX} {answer}." if verbose else answer
    return f" {body}{ENDOFTEXT}"


def make_instructions(
    words: list[str], n: int, rng: np.random.Generator, verbose_share: float = VERBOSE_SHARE
) -> list[Example]:
    """``n`` examples, tasks uniform, words drawn from ``words``, styles mixed."""
    if not 0.0 <= verbose_share <= 1.0:
        raise ValueError(f"verbose_share must lie in [0, 1], got {verbose_share!r}.")
    if len(words) < 3:
        raise ValueError("make_instructions needs at least 3 words to draw from.")
    out = []
    for _ in range(n):
        task = TASKS[rng.integers(len(TASKS))]
        picked = [words[i] for i in rng.choice(len(words), size=3, replace=False)]
        if task == "repeat":
            picked = picked[:2]
            answer = " ".join(picked)
        else:
            answer = picked[0] if task == "first word" else picked[-1]
        verbose = bool(rng.random() < verbose_share)
        prompt = f"Q: {task}: {' '.join(picked)}\nA:"
        out.append(Example(prompt, respond(answer, verbose), answer, task, verbose))
    return out


@dataclass(frozen=True)
class PreferencePair:
    """A prompt with a preferred (chosen) and a dispreferred (rejected) response."""

    prompt: str  # as in Example
    chosen: str  # the concise response
    rejected: str  # the verbose response to the same instruction


def make_preferences(words: list[str], n: int, rng: np.random.Generator) -> list[PreferencePair]:
    """``n`` pairs: both responses answer correctly; the concise one is preferred."""
    return [
        PreferencePair(ex.prompt, respond(ex.answer, False), respond(ex.answer, True))
        for ex in make_instructions(words, n, rng, verbose_share=0.5)
    ]


def parse_response(text: str) -> tuple[str, bool]:
    """(answer, verbose) read from a generated response (the text after ``"A:"``)."""
    text = text.split(ENDOFTEXT)[0].split("\n")[0].strip()
    verbose = text.startswith(VERBOSE_PREFIX)
    if verbose:
        text = text[len(VERBOSE_PREFIX) :].strip()
    return text.rstrip(".").strip(), verbose
