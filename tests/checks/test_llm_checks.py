"""Chapter 7's checks: the references pass, and each classic mistake is rejected by name.

The wrong implementations below are written the way a learner would write them,
independently of the check's own mistake functions.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from dlbook.checks import llm as llm_checks
from dlbook.checks._core import matches
from dlbook.checks.llm import (
    check_bpe_encode,
    check_bpe_merge_step,
    check_dpo_loss,
    check_masked_sft_loss,
    check_perplexity_per_char,
)

# ---------------------------------------------------------------------------
# Correct solutions, written as the solutions notebook writes them
# ---------------------------------------------------------------------------


def _merge(ids, pair, new_id):
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def bpe_merge_step(ids, new_id, *, tie="smallest", overlap=True, step=2, first_only=False):
    counts = {}
    i = 0
    while i + 1 < len(ids):
        p = (ids[i], ids[i + 1])
        counts[p] = counts.get(p, 0) + 1
        i += 2 if (not overlap and p[0] == p[1]) else 1
    if tie == "smallest":
        pair = min(counts, key=lambda p: (-counts[p], p))
    elif tie == "largest":
        pair = sorted(counts, key=lambda p: (counts[p], p))[-1]
    else:
        pair = max(counts, key=counts.get)
    out, i, done = [], 0, False
    while i < len(ids):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair and not (first_only and done):
            out.append(new_id)
            i += step
            done = True
        else:
            out.append(ids[i])
            i += 1
    return np.array(out)


def bpe_encode(text, merges):
    ids = list(text.encode("utf-8"))
    for i, pair in enumerate(merges):
        ids = _merge(ids, tuple(pair), 256 + i)
    return np.array(ids)


def masked_sft_loss(logits, targets, mask):
    z = logits - logits.max(axis=-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    picked = np.take_along_axis(logp, targets[..., None], axis=-1)[..., 0]
    return -(mask * picked).sum() / mask.sum()


def dpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta):
    z = beta * ((policy_chosen - ref_chosen) - (policy_rejected - ref_rejected))
    return np.mean(np.logaddexp(0.0, -z))


def perplexity_per_char(mean_token_loss, n_tokens, n_chars):
    return np.exp(mean_token_loss * n_tokens / n_chars)


CHECKS = {
    "bpe_merge_step": (
        check_bpe_merge_step,
        llm_checks._merge_step_reference,
        lambda ids, new_id: bpe_merge_step(ids, new_id),
    ),
    "bpe_encode": (check_bpe_encode, llm_checks._encode_reference, bpe_encode),
    "masked_sft_loss": (check_masked_sft_loss, llm_checks._sft_reference, masked_sft_loss),
    "dpo_loss": (check_dpo_loss, llm_checks._dpo_reference, dpo_loss),
    "perplexity_per_char": (
        check_perplexity_per_char,
        llm_checks._ppl_reference,
        perplexity_per_char,
    ),
}

_ALL_CHECKS = [
    llm_checks.BPE_MERGE_STEP,
    llm_checks.BPE_ENCODE,
    llm_checks.SFT_LOSS,
    llm_checks.DPO_LOSS,
    llm_checks.PERPLEXITY_PER_CHAR,
]


def _outputs(fn, cases):
    out = []
    for case in cases:
        with np.errstate(all="ignore"):
            out.append(np.asarray(fn(*case.args)))
    return out


@pytest.mark.parametrize("check", _ALL_CHECKS, ids=lambda c: c.name)
def test_every_pair_of_mistakes_differs_on_two_cases(check):
    cases = check.make_cases(np.random.default_rng(check.seed))
    outs = {m.explanation: _outputs(m.fn, cases) for m in check.mistakes}
    assert len(outs) >= 3
    for (a, oa), (b, ob) in itertools.combinations(outs.items(), 2):
        differ = sum(not matches(x, y, check.rtol, check.atol) for x, y in zip(oa, ob, strict=True))
        assert differ >= 2, (check.name, a[:40], b[:40])


@pytest.mark.parametrize("check", _ALL_CHECKS, ids=lambda c: c.name)
def test_every_mistake_is_wrong_somewhere(check):
    cases = check.make_cases(np.random.default_rng(check.seed))
    ref = _outputs(check.reference, cases)
    for m in check.mistakes:
        wrong = _outputs(m.fn, cases)
        pairs = zip(wrong, ref, strict=True)
        assert any(not matches(x, y, check.rtol, check.atol) for x, y in pairs)


# ---------------------------------------------------------------------------
# Mistakes written as a learner writes them
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "student, words",
    [
        (lambda ids, n: bpe_merge_step(ids, n, tie="largest"), "largest pair"),
        (lambda ids, n: bpe_merge_step(ids, n, tie="first"), "pair seen first"),
        (lambda ids, n: bpe_merge_step(ids, n, first_only=True), "only the first occurrence"),
        (lambda ids, n: bpe_merge_step(ids, n, step=1), "moved on by one"),
        (lambda ids, n: bpe_merge_step(ids, n, overlap=False), "without overlaps"),
    ],
)
def test_bpe_merge_step_mistakes(student, words):
    result = check_bpe_merge_step(student)
    assert not result.passed
    assert words in result.text, str(result)


def _encode_codepoints(text, merges):
    ids = [ord(c) for c in text]
    for i, pair in enumerate(merges):
        ids = _merge(ids, tuple(pair), 256 + i)
    return np.array(ids)


def _encode_reversed(text, merges):
    ids = list(text.encode("utf-8"))
    for i in reversed(range(len(merges))):
        ids = _merge(ids, tuple(merges[i]), 256 + i)
    return np.array(ids)


def _encode_offset(text, merges, offset=255):
    ids = list(text.encode("utf-8"))
    for i, pair in enumerate(merges):
        ids = _merge(ids, tuple(pair), offset + i)
    return np.array(ids)


@pytest.mark.parametrize(
    "student, words",
    [
        (_encode_codepoints, "code points"),
        (_encode_reversed, "reverse order"),
        (_encode_offset, "255 + i"),
        (lambda t, m: _encode_offset(t, m, 257), "257 + i"),
    ],
)
def test_bpe_encode_mistakes(student, words):
    result = check_bpe_encode(student)
    assert not result.passed
    assert words in result.text, str(result)


def _sft_all_positions(logits, targets, mask):
    return masked_sft_loss(logits, targets, np.ones_like(mask))


def _sft_divide_all(logits, targets, mask):
    return masked_sft_loss(logits, targets, mask) * mask.sum() / mask.size


def _sft_naive(logits, targets, mask):
    p = np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)
    picked = np.take_along_axis(np.log(p), targets[..., None], axis=-1)[..., 0]
    return -(mask * picked).sum() / mask.sum()


def _sft_per_row(logits, targets, mask):
    return np.mean([masked_sft_loss(logits[b : b + 1], targets[b : b + 1], mask[b : b + 1])
                    for b in range(len(mask))])  # fmt: skip


@pytest.mark.parametrize(
    "student, words",
    [
        (_sft_all_positions, "ignored the mask"),
        (_sft_divide_all, "all B·T positions"),
        (lambda z, y, m: masked_sft_loss(z, y, 1.0 - m), "inverted"),
        (_sft_per_row, "within each sequence"),
        (_sft_naive, "overflows"),
    ],
)
def test_masked_sft_loss_mistakes(student, words):
    with np.errstate(all="ignore"):
        result = check_masked_sft_loss(student)
    assert not result.passed
    assert words in result.text, str(result)


def _dpo_naive(pc, pr, rc, rr, beta):
    z = beta * ((pc - rc) - (pr - rr))
    return np.mean(-np.log(1.0 / (1.0 + np.exp(-z))))


@pytest.mark.parametrize(
    "student, words",
    [
        (lambda pc, pr, rc, rr, b: dpo_loss(pc, pr, rc, rr, 1.0), "left out beta"),
        (lambda pc, pr, rc, rr, b: dpo_loss(pc, pr, 0 * rc, 0 * rr, b), "reference model"),
        (lambda pc, pr, rc, rr, b: dpo_loss(pr, pc, rr, rc, b), "swapped"),
        (lambda pc, pr, rc, rr, b: len(pc) * dpo_loss(pc, pr, rc, rr, b), "summed"),
        (lambda pc, pr, rc, rr, b: b * dpo_loss(pc, pr, rc, rr, 1.0), "instead of the margin"),
        (_dpo_naive, "overflows"),
    ],
)
def test_dpo_loss_mistakes(student, words):
    with np.errstate(all="ignore"):
        result = check_dpo_loss(student)
    assert not result.passed
    assert words in result.text, str(result)


@pytest.mark.parametrize(
    "student, words",
    [
        (lambda loss, nt, nc: np.exp(loss), "per-token perplexity"),
        (lambda loss, nt, nc: np.exp(loss * nc / nt), "inverted the ratio"),
        (lambda loss, nt, nc: loss * nt / nc, "without the exponential"),
        (lambda loss, nt, nc: 2.0 ** (loss * nt / nc), "2 ** (...)"),
    ],
)
def test_perplexity_per_char_mistakes(student, words):
    result = check_perplexity_per_char(student)
    assert not result.passed
    assert words in result.text, str(result)


def test_written_out_mistake_functions_are_right_with_no_switch():
    rng = np.random.default_rng(0)
    for case in llm_checks._merge_cases(rng):
        assert np.array_equal(llm_checks._merge_step(*case.args),
                              llm_checks._merge_step_reference(*case.args))  # fmt: skip
    for case in llm_checks._sft_cases(rng):
        assert np.isclose(llm_checks._sft(*case.args), llm_checks._sft_reference(*case.args))
    for case in llm_checks._dpo_cases(rng):
        assert np.isclose(llm_checks._dpo(*case.args), llm_checks._dpo_reference(*case.args))
