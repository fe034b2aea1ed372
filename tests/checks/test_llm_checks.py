"""Chapter 7's checks: the references pass, and each classic mistake is rejected by name.

The wrong implementations below are written the way a learner would write them,
independently of the check's own mistake functions.
"""

from __future__ import annotations

import itertools
import math

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


# ---------------------------------------------------------------------------
# More wrong answers as learners write them (adversarial round), and correct
# but unusual solutions that must pass
# ---------------------------------------------------------------------------


def _merge_tie_by(key):
    """bpe_merge_step that breaks ties by ``key(pair)`` (smallest first) instead of the pair."""

    def student(ids, new_id):
        counts = {}
        for p in zip(ids, ids[1:], strict=False):
            counts[p] = counts.get(p, 0) + 1
        pair = min(counts, key=lambda p: (-counts[p], key(p)))
        return np.array(_merge(ids, pair, new_id))

    return student


def _merge_last_seen(ids, new_id):
    counts, best = {}, None
    for p in zip(ids, ids[1:], strict=False):
        counts[p] = counts.get(p, 0) + 1
    for p in counts:
        if best is None or counts[p] >= counts[best]:
            best = p
    return np.array(_merge(ids, best, new_id))


def _merge_string_replace(ids, new_id):
    counts = {}
    for p in zip(ids, ids[1:], strict=False):
        counts[p] = counts.get(p, 0) + 1
    a, b = min(counts, key=lambda p: (-counts[p], p))
    text = " ".join(map(str, ids)).replace(f"{a} {b}", str(new_id))
    return np.array([int(t) for t in text.split()])


def _merge_no_bounds_check(ids, new_id):
    counts = {}
    for p in zip(ids, ids[1:], strict=False):
        counts[p] = counts.get(p, 0) + 1
    a, b = min(counts, key=lambda p: (-counts[p], p))
    out, i = [], 0
    while i < len(ids):
        if ids[i] == a and ids[i + 1] == b:  # IndexError when the last id equals a
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return np.array(out)


def _merge_right_to_left(ids, new_id):
    counts = {}
    for p in zip(ids, ids[1:], strict=False):
        counts[p] = counts.get(p, 0) + 1
    pair = min(counts, key=lambda p: (-counts[p], p))
    out, i = [], len(ids) - 1
    while i >= 0:
        if i >= 1 and (ids[i - 1], ids[i]) == pair:
            out.append(new_id)
            i -= 2
        else:
            out.append(ids[i])
            i -= 1
    return np.array(out[::-1])


@pytest.mark.parametrize(
    "student, words",
    [
        (_merge_last_seen, "pair seen last"),
        (_merge_tie_by(lambda p: (p[1], p[0])), "a tie between (7, 8), (2, 4) and (1, 5)"),
        (_merge_tie_by(lambda p: p[0] + p[1]), "a tie between (7, 8), (2, 4) and (1, 5)"),
        (_merge_tie_by(lambda p: p[0]), "two with the same first id"),
        (_merge_tie_by(str), "ids above 9"),
        (_merge_string_replace, "19, 45 is no (9, 4)"),
        (_merge_no_bounds_check, "IndexError"),
        (_merge_right_to_left, "overlapping pairs"),
        (lambda ids, n: np.array(bpe_merge_step(ids, n), dtype=float), "not integers"),
        (lambda ids, n: list(bpe_merge_step(ids, n)), "Python list"),
    ],
)
def test_bpe_merge_step_more_mistakes(student, words):
    result = check_bpe_merge_step(student)
    assert not result.passed
    assert words in result.text, str(result)
    assert "pair seen first" not in result.text, str(result)  # no misdiagnosis


def _merge_with_unique(ids, new_id):
    a = np.asarray(ids)
    pairs, counts = np.unique(np.stack([a[:-1], a[1:]], axis=1), axis=0, return_counts=True)
    pair = tuple(int(v) for v in pairs[np.argmax(counts)])  # rows sorted: the first max wins
    return np.array(_merge(list(ids), pair, new_id))


def _merge_max_negated(ids, new_id):
    counts = {}
    for p in zip(ids, ids[1:], strict=False):
        counts[p] = counts.get(p, 0) + 1
    pair = max(counts, key=lambda p: (counts[p], -p[0], -p[1]))
    return np.array(_merge(ids, pair, new_id), dtype=np.int32)


@pytest.mark.parametrize("student", [_merge_with_unique, _merge_max_negated])
def test_bpe_merge_step_unusual_correct_solutions_pass(student):
    result = check_bpe_merge_step(student)
    assert result.passed, str(result)


def _encode_right_to_left(text, merges):
    ids = list(text.encode("utf-8"))
    for i, pair in enumerate(merges):
        out, j = [], len(ids) - 1
        while j >= 0:
            if j >= 1 and (ids[j - 1], ids[j]) == tuple(pair):
                out.append(256 + i)
                j -= 2
            else:
                out.append(ids[j])
                j -= 1
        ids = out[::-1]
    return np.array(ids)


def _encode_bytes_merges_only(text, merges):
    ids = list(text.encode("utf-8"))
    for i, (a, b) in enumerate(merges):
        if a < 256 and b < 256:  # merges of merged ids skipped
            ids = _merge(ids, (a, b), 256 + i)
    return np.array(ids)


@pytest.mark.parametrize(
    "student, words",
    [
        (_encode_right_to_left, "runs of 7 and 3"),
        (_encode_bytes_merges_only, "did nothing"),
        (lambda t, m: bpe_encode(t, m).astype(np.float64), "not integers"),
    ],
)
def test_bpe_encode_more_mistakes(student, words):
    result = check_bpe_encode(student)
    assert not result.passed
    assert words in result.text, str(result)


def _encode_by_rank(text, merges):
    """tiktoken's way: merge the lowest-ranked pair present, all occurrences, until none."""
    ids, rank = list(text.encode("utf-8")), {tuple(p): i for i, p in enumerate(merges)}
    while len(ids) > 1:
        pair = min(zip(ids, ids[1:], strict=False), key=lambda p: rank.get(p, len(rank)))
        if pair not in rank:
            break
        ids = _merge(ids, pair, 256 + rank[pair])
    return np.array(ids)


def _encode_in_place_scan(text, merges):
    ids = list(text.encode("utf-8"))
    for i, pair in enumerate(merges):
        j = 0
        while j < len(ids) - 1:
            if (ids[j], ids[j + 1]) == tuple(pair):
                ids[j : j + 2] = [256 + i]
            j += 1
    return np.array(ids, dtype=np.int32)


@pytest.mark.parametrize("student", [_encode_by_rank, _encode_in_place_scan])
def test_bpe_encode_unusual_correct_solutions_pass(student):
    result = check_bpe_encode(student)
    assert result.passed, str(result)


def _log_softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def _picked(logits, targets):
    return np.take_along_axis(_log_softmax(logits), targets[..., None], axis=-1)[..., 0]


def _sft_from_first_response_token(logits, targets, mask):
    keep = np.zeros_like(mask)
    for b in range(len(mask)):
        keep[b, int(np.argmax(mask[b])) :] = 1.0  # assumes the response runs to the end
    return -(keep * _picked(logits, targets)).sum() / keep.sum()


def _sft_global_max(logits, targets, mask):
    z = logits - logits.max()  # one maximum for the whole batch
    logp = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    picked = np.take_along_axis(logp, targets[..., None], axis=-1)[..., 0]
    return -(mask * picked).sum() / mask.sum()


@pytest.mark.parametrize(
    "student, words",
    [
        (_sft_from_first_response_token, "then padding"),
        (_sft_global_max, "one maximum for the whole array"),
        (lambda z, y, m: -(m * _picked(z, y)).sum(), "the sum over the response"),
        (lambda z, y, m: (m * _picked(z, y)).sum() / m.sum(), "minus sign"),
        (lambda z, y, m: -(m * _picked(z, y)).sum() / m.sum() / np.log(2), "in bits"),
        (lambda z, y, m: -_picked(z, y)[m].mean(), "boolean index"),
    ],
)
def test_masked_sft_loss_more_mistakes(student, words):
    with np.errstate(all="ignore"):
        result = check_masked_sft_loss(student)
    assert not result.passed
    assert words in result.text, str(result)


def _sft_python_loops(logits, targets, mask):
    total, count = 0.0, 0
    for b in range(logits.shape[0]):
        for t in range(logits.shape[1]):
            if mask[b, t] == 1:
                row = logits[b, t] - logits[b, t].max()
                total -= row[targets[b, t]] - np.log(np.exp(row).sum())
                count += 1
    return total / count


@pytest.mark.parametrize(
    "student",
    [
        lambda z, y, m: -_picked(z, y)[m == 1].mean(),
        lambda z, y, m: np.float32(-(m * _picked(z.astype(np.float32), y)).sum() / m.sum()),
        lambda z, y, m: -(m * _picked(z, y)).sum(axis=1).mean() / m.sum(axis=1).mean(),
        _sft_python_loops,
    ],
)
def test_masked_sft_loss_unusual_correct_solutions_pass(student):
    result = check_masked_sft_loss(student)
    assert result.passed, str(result)


def _dpo_math_loop(pc, pr, rc, rr, beta):
    total = 0.0
    for i in range(len(pc)):
        z = beta * ((pc[i] - rc[i]) - (pr[i] - rr[i]))
        total += -math.log(1.0 / (1.0 + math.exp(-z)))
    return total / len(pc)


def _z(pc, pr, rc, rr, beta):
    return beta * ((pc - rc) - (pr - rr))


@pytest.mark.parametrize(
    "student, words",
    [
        (lambda *a: np.mean(np.logaddexp(0.0, _z(*a))), "rewards the rejected"),
        (lambda pc, pr, rc, rr, b: dpo_loss(rc, rr, pc, pr, b), "wrong sign"),
        (lambda *a: -np.mean(np.logaddexp(0.0, -_z(*a))), "minus sign"),
        (lambda *a: np.mean(np.log1p(np.exp(-_z(*a)))), "overflows"),
        (_dpo_math_loop, "logaddexp"),
    ],
)
def test_dpo_loss_more_mistakes(student, words):
    with np.errstate(all="ignore"):
        result = check_dpo_loss(student)
    assert not result.passed
    assert words in result.text, str(result)


@pytest.mark.parametrize(
    "student",
    [
        lambda pc, pr, rc, rr, b: np.mean(np.logaddexp(0.0, -b * ((pc - pr) - (rc - rr)))),
        lambda *a: np.float32(np.mean(np.logaddexp(0.0, -_z(*a)))),
        lambda *a: float(np.mean(np.maximum(-_z(*a), 0) + np.log1p(np.exp(-np.abs(_z(*a)))))),
    ],
)
def test_dpo_loss_unusual_correct_solutions_pass(student):
    result = check_dpo_loss(student)
    assert result.passed, str(result)


@pytest.mark.parametrize(
    "student, words",
    [
        (lambda loss, nt, nc: math.exp(loss) ** (nt / nc), "OverflowError"),
        (lambda loss, nt, nc: np.exp(np.float32(loss * nt / nc)), "float32 overflows"),
        (lambda loss, nt, nc: np.exp(loss) ** (nt / nc), "NaN or inf"),
    ],
)
def test_perplexity_per_char_more_mistakes(student, words):
    with np.errstate(all="ignore"):
        result = check_perplexity_per_char(student)
    assert not result.passed
    assert words in result.text, str(result)


@pytest.mark.parametrize(
    "student",
    [
        lambda loss, nt, nc: math.exp(loss * nt / nc),
        lambda loss, nt, nc: 2.0 ** (loss / math.log(2.0) * nt / nc),
        lambda loss, nt, nc: np.exp(loss / nc * nt),
    ],
)
def test_perplexity_per_char_unusual_correct_solutions_pass(student):
    result = check_perplexity_per_char(student)
    assert result.passed, str(result)


# ---------------------------------------------------------------------------
# Second round: more learners' answers, right and wrong
# ---------------------------------------------------------------------------


def _merge_stops_one_early(ids, new_id):
    counts = {}
    for p in zip(ids, ids[1:], strict=False):
        counts[p] = counts.get(p, 0) + 1
    pair = min(counts, key=lambda p: (-counts[p], p))
    out, i = [], 0
    while i < len(ids) - 1:  # so that ids[i + 1] exists: but the last id is never kept
        if (ids[i], ids[i + 1]) == pair:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return np.array(out)


def _merge_counts_all_but_the_last_pair(ids, new_id):  # a tie it breaks on a short count
    counts = {}
    for i in range(len(ids) - 2):  # off by one: the last pair is never counted
        counts[ids[i], ids[i + 1]] = counts.get((ids[i], ids[i + 1]), 0) + 1
    pair = min(counts, key=lambda p: (-counts[p], p))
    return np.array(_merge(ids, pair, new_id))


def _sft_softmax_over_axis_1(logits, targets, mask):
    z = logits - logits.max(axis=1, keepdims=True)  # as for a 2-D (N, V) array
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    picked = np.take_along_axis(logp, targets[..., None], axis=-1)[..., 0]
    return -(mask * picked).sum() / mask.sum()


def _sft_shifted_like_pretraining(logits, targets, mask):
    picked = _picked(logits[:, :-1], targets[:, 1:])  # position t predicts token t + 1
    return -(mask[:, 1:] * picked).sum() / mask[:, 1:].sum()


@pytest.mark.parametrize(
    "check, student, words",
    [
        (check_bpe_merge_step, _merge_stops_one_early, "stops one id early"),
        (check_masked_sft_loss, _sft_softmax_over_axis_1, "runs over axis 1, the positions"),
        (check_masked_sft_loss, _sft_shifted_like_pretraining, "shifted the targets by one"),
        (
            check_dpo_loss,
            lambda pc, pr, rc, rr, b: np.mean(np.logaddexp(0, -(b * (pc - rc) - (pr - rr)))),
            "only the chosen log-ratio",
        ),
        (check_bpe_merge_step, _merge_counts_all_but_the_last_pair, "has shape (12,)"),
    ],
)
def test_second_round_mistakes_are_named(check, student, words):
    result = check(student)
    assert not result.passed
    assert words in result.text, str(result)


def _merge_with_np_unique(ids, new_id):
    a = np.asarray(ids)
    pairs, counts = np.unique(np.stack([a[:-1], a[1:]], axis=1), axis=0, return_counts=True)
    pair = tuple(pairs[np.argmax(counts)])  # unique sorts the pairs: argmax takes the smallest
    return np.array(_merge(list(ids), pair, new_id))


def _merge_sorted_items(ids, new_id):
    counts = {}
    for p in zip(ids, ids[1:], strict=False):
        counts[p] = counts.get(p, 0) + 1
    best = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
    return np.array(_merge(ids, best, new_id), dtype=np.int32)


def _encode_bytes_call(text, merges):
    ids = list(bytes(text, "utf-8"))
    for i, pair in enumerate(merges):
        j = 0
        while j < len(ids) - 1:  # merge in place in a copy, left to right
            if (ids[j], ids[j + 1]) == tuple(pair):
                ids[j : j + 2] = [256 + i]
            j += 1
    return np.array(ids, dtype=np.uint16)


def _sft_one_hot(logits, targets, mask):
    one_hot = np.eye(logits.shape[-1])[targets]  # (B, T, V)
    logp = (_log_softmax(logits) * one_hot).sum(axis=-1)
    return -(mask * logp).sum() / np.count_nonzero(mask)


def _sft_fancy_index(logits, targets, mask):
    B, T, _ = logits.shape
    logp = _log_softmax(logits)[np.arange(B)[:, None], np.arange(T), targets]  # (B, T)
    return np.asarray(-logp[mask > 0.5].mean())  # a 0-d array


def _dpo_softplus_with_threshold(pc, pr, rc, rr, beta):
    x = -_z(pc, pr, rc, rr, beta)
    return np.mean(np.where(x > 30, x, np.log1p(np.exp(np.minimum(x, 30)))))


@pytest.mark.parametrize(
    "check, student",
    [
        (check_bpe_merge_step, _merge_with_np_unique),
        (check_bpe_merge_step, _merge_sorted_items),
        (check_bpe_encode, _encode_bytes_call),
        (check_masked_sft_loss, _sft_one_hot),
        (check_masked_sft_loss, _sft_fancy_index),
        (check_dpo_loss, _dpo_softplus_with_threshold),
        (check_perplexity_per_char, lambda loss, nt, nc: np.asarray(np.exp(loss * nt / nc))),
    ],
)
def test_second_round_unusual_correct_answers_pass(check, student):
    result = check(student)
    assert result.passed, str(result)
