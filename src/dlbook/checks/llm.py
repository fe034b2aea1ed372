"""Checks for the exercises of chapter 7 (the life of a large language model).

Each check compares a learner's function with dlbook's own and names the classic
mistakes::

    from dlbook.checks.llm import check_bpe_merge_step
    check_bpe_merge_step(bpe_merge_step)   # ✅ bpe_merge_step: correct on 10 test cases.

The references are :mod:`dlbook.tokenizer.bpe` (``pair_counts``,
``most_frequent_pair``, ``merge_pair``) and :mod:`dlbook.alignment.numpy_backend`
(``masked_cross_entropy``, ``dpo_loss``). Each mistake is a small wrong
implementation; the test cases are built so that every two mistakes give
different answers on at least two cases (``tests/checks/test_llm_checks.py``).

Legend: B = sequences or preference pairs, T = positions, V = vocabulary.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlbook.alignment import numpy_backend as align
from dlbook.checks._core import Case, FunctionCheck, Mistake, describe_type
from dlbook.checks._kinds import TypedCheck, slip_mistakes
from dlbook.tokenizer.bpe import merge_pair, most_frequent_pair, pair_counts

# ---------------------------------------------------------------------------
# 1. bpe_merge_step(ids, new_id) -> ids after merging the most frequent pair
# ---------------------------------------------------------------------------


def _merge_step_reference(ids, new_id):
    """Merge the most frequent adjacent pair (ties: the smallest pair) into new_id."""
    pair = most_frequent_pair(pair_counts(list(ids)))
    return np.asarray(merge_pair(list(ids), pair, new_id), dtype=np.int64)


def _merge_step(ids, new_id, *, slip=""):
    """The merge step with a switch for the classic slips (no slip: right)."""
    seq = list(ids)
    if slip == "no_overlap":
        counts, i = {}, 0
        while i + 1 < len(seq):  # a, a, a counts (a, a) once: the scan jumps over a match
            p = (seq[i], seq[i + 1])
            counts[p] = counts.get(p, 0) + 1
            i += 2 if p[0] == p[1] else 1
    else:
        counts = pair_counts(seq)
    if slip == "largest":
        pair = max(counts, key=lambda p: (counts[p], p))
    elif slip == "first":  # dict order = order of first appearance, max keeps the first
        pair = max(counts, key=counts.get)
    elif slip == "last":  # a loop with `>=`: the last of the most frequent pairs seen wins
        pair = max(reversed(list(counts)), key=counts.get)
    else:
        pair = most_frequent_pair(counts)
    out, i, done = [], 0, False
    while i < len(seq) - (slip == "drop_last"):  # drop_last: the last id is never appended
        if tuple(seq[i : i + 2]) == pair and not (slip == "only_first" and done):
            out.append(new_id)
            i += 1 if slip == "step_one" else 2
            done = True
        else:
            out.append(seq[i])
            i += 1
    return np.asarray(out, dtype=np.int64)


def _merge_cases(rng: np.random.Generator) -> list[Case]:
    long = rng.integers(0, 4, 3000)
    tie = [2, 9, 1, 3, 2, 9, 7, 8, 1, 3, 7, 8]  # (2, 9), (1, 3) and (7, 8) twice each
    return [
        Case(([1, 2, 3, 1, 2, 4, 1, 2], 9), label="one clear winner, (1, 2) three times"),
        Case((tie + [7, 8], 300), label="a tie: (7, 8) seen three times, (2, 9) and (1, 3) twice"),
        Case((tie, 300), label="a three-way tie between (2, 9), (1, 3) and (7, 8)"),
        Case(
            ([5, 6, 0, 1, 9, 9, 5, 6, 0, 1, 3, 4, 6, 0, 3, 4], 400),
            label="a four-way tie: (5, 6), (6, 0), (0, 1), (3, 4)",
        ),
        Case(([1, 1, 1, 2, 3, 2, 3], 256), label="overlapping pairs: 1, 1, 1"),
        Case(([0, 0, 0, 5, 6, 4, 5, 6], 256), label="overlapping pairs: 0, 0, 0"),
        Case((long.tolist(), 256), label="3,000 random ids from {0, 1, 2, 3}", stress=True),
        Case(
            ([7, 8, 2, 4, 1, 5, 0, 7, 8, 3, 2, 4, 9, 1, 5, 1], 260),
            label="a tie between (7, 8), (2, 4) and (1, 5); the last id is a 1",
        ),
        Case(
            ([6, 1, 3, 7, 5, 3, 4, 6, 1, 0, 3, 7, 2, 3, 4], 500),
            label="a tie between (6, 1), (3, 7) and (3, 4): two with the same first id",
        ),
        Case(
            ([12, 0, 10, 4, 19, 45, 9, 4, 12, 0, 3, 10, 4, 9, 4, 7], 300),
            label="ids above 9: a tie between (12, 0), (10, 4) and (9, 4); 19, 45 is no (9, 4)",
        ),
    ]


def _ids_kind(got: Any) -> tuple[str, str]:
    return (
        f"your ids have the right values but come as {describe_type(got)}, not integers: "
        "token ids index the embedding table, and a float index fails there",
        "Build the result from Python ints: np.array(out), without dtype=float or a "
        "division on the way.",
    )


_TIE_HINT = "Use min(counts, key=lambda p: (-counts[p], p))."
_MERGE_HINTS = {
    **dict.fromkeys(["largest", "first", "last"], _TIE_HINT),
    "only_first": "Scan the whole list; after a match, jump over both ids (i += 2).",
    "step_one": "After appending new_id, skip both ids of the pair: i += 2.",
    "no_overlap": "Count zip(ids, ids[1:]) for every position.",
    "drop_last": "Loop while i < len(ids), and test i + 1 < len(ids) before comparing the pair.",
}


_MERGE_SLIPS = {
    "largest": "you broke the tie in favour of the largest pair: among equally frequent "
    "pairs this exercise takes the smallest (a, b), as dlbook's trainer does.",
    "first": "you broke the tie by the pair seen first (max(counts, key=counts.get)): "
    "this exercise takes the smallest pair (a, b), which does not depend on "
    "the order the text happens to have.",
    "last": "you broke the tie by the pair seen last (a loop that keeps a pair whose "
    "count is >= the best so far): this exercise takes the smallest pair (a, b), "
    "which does not depend on the order the text happens to have.",
    "only_first": "you replaced only the first occurrence of the pair: a merge replaces "
    "every occurrence, left to right.",
    "step_one": "after a match you moved on by one id instead of two, so the second id "
    "of the pair is kept (or merged again): occurrences must not overlap.",
    "no_overlap": "you counted pairs without overlaps (1, 1, 1 gives (1, 1) once): the "
    "counts of BPE count every adjacent position, so 1, 1, 1 holds (1, 1) twice.",
    "drop_last": "your scan stops one id early (while i < len(ids) - 1?): when the last two ids "
    "are not the pair, the last id is lost. Every id not merged must be kept.",
}

BPE_MERGE_STEP = TypedCheck(
    name="bpe_merge_step",
    reference=_merge_step_reference,
    make_cases=_merge_cases,
    task="Count adjacent pairs, take the most frequent (ties: the smallest pair), and "
    "replace its occurrences left to right by new_id.",
    atol=0.0,
    rtol=0.0,
    kinds="iu",
    wrong_kind=_ids_kind,
    mistakes=slip_mistakes(_merge_step, _MERGE_SLIPS, hints=_MERGE_HINTS),
)


check_bpe_merge_step = BPE_MERGE_STEP.checker(
    "Check ``fn(ids, new_id) -> ids`` after one BPE merge.", time_budget=10.0
)

# ---------------------------------------------------------------------------
# 2. bpe_encode(text, merges) -> ids (no pre-tokenization)
# ---------------------------------------------------------------------------


def _learn(text: str, n: int) -> list[tuple[int, int]]:
    """n merges learned on the bytes of ``text`` (one chunk, no pre-tokenization)."""
    ids, merges = list(text.encode("utf-8")), []
    for i in range(n):
        pair = most_frequent_pair(pair_counts(ids))
        merges.append(pair)
        ids = merge_pair(ids, pair, 256 + i)
    return merges


def _encode(text, merges, *, slip=""):
    """Encoding with a switch for the classic slips (no slip: right)."""
    ids = [ord(c) for c in text] if slip == "code_points" else list(text.encode("utf-8"))
    offset = {"from_255": 255, "from_257": 257}.get(slip, 256)
    for i, (a, b) in list(enumerate(merges))[:: -1 if slip == "reverse" else 1]:
        if slip == "first_only":
            for j in range(len(ids) - 1):
                if (ids[j], ids[j + 1]) == (a, b):
                    ids[j : j + 2] = [offset + i]
                    break
        else:
            ids = merge_pair(ids, (a, b), offset + i)
    return np.asarray(ids, dtype=np.int64)


def _encode_reference(text, merges):
    """UTF-8 bytes, then merge i (into id 256 + i) applied everywhere, in the learned order."""
    return _encode(text, [tuple(m) for m in merges])


# words of 7 scripts and emoji: 1 to 4 UTF-8 bytes a character (👩‍💻 is 3 code points)
_WORDS = (
    "naïve café straße Ελλάδα привет 明月 故乡 日本語 한국어 नमस्ते مرحبا 🙂 🚀🚀 👩‍💻 the a".split()
)


def _encode_cases(rng: np.random.Generator) -> list[Case]:
    poem = "床前明月光，疑是地上霜。举头望明月，低头思故乡。"
    mixed = lambda n: " ".join(rng.choice(_WORDS, n))  # noqa: E731
    return [
        Case(
            ("the cat sat on the mat", _learn("the cat sat on the mat, the hat", 6)),
            label="English, six merges",
        ),
        Case(("abababab abab", _learn("abababab", 3)), label="merges that build on merges"),
        Case(("明月光明月", _learn(poem, 5)), label="Chinese: three bytes per character"),
        Case(("café naïve café", _learn("café café naïve", 7)), label="accented letters"),
        Case(("a" * 16, _learn("a" * 16, 4)), label="one letter 16 times: merges of merges"),
        Case(
            ("aaaaaaa baaab", _learn("a" * 16, 3)),
            label="runs of 7 and 3 a's: left to right, aaa is (a, a), a",
        ),
        Case(
            (mixed(800), _learn(mixed(400), 40)),
            stress=True,
            label="800 words of 7 scripts and emoji (1 to 4 bytes a character), 40 merges",
        ),
    ]


_ENCODE_HINTS = {
    "code_points": "ids = list(text.encode('utf-8')).",
    "reverse": "for i, (a, b) in enumerate(merges): ...",
    "first_only": "Scan the whole list for each merge, jumping over both ids after a match.",
    **dict.fromkeys(["from_255", "from_257"], "new_id = 256 + i."),
}


_ENCODE_SLIPS = {
    "code_points": "you started from the characters' code points (ord(c)), not from "
    "UTF-8 bytes: a Chinese character is one code point above 255 but three bytes, and "
    "the merges are learned on bytes.",
    "reverse": "the merges that join ids made by earlier merges (256 and up) did "
    "nothing: did you apply them in reverse order? Merge i may only run after the "
    "merges that created its two ids, so apply them in the order learned.",
    "first_only": "each merge replaced only the first occurrence of its pair: a merge "
    "applies to every occurrence in the text.",
    "from_255": "you numbered merge i as 255 + i (or counted from 1): ids 0..255 are the "
    "bytes, so merge 0 creates id 256.",
    "from_257": "you numbered merge i as 257 + i: ids 0..255 are the bytes, so merge 0 "
    "creates id 256 (the special token comes after all merges, not before).",
}

BPE_ENCODE = TypedCheck(
    name="bpe_encode",
    reference=_encode_reference,
    make_cases=_encode_cases,
    task="Start from list(text.encode('utf-8')); for i, (a, b) in enumerate(merges), "
    "replace every (a, b) by 256 + i.",
    atol=0.0,
    rtol=0.0,
    kinds="iu",
    wrong_kind=_ids_kind,
    mistakes=slip_mistakes(_encode, _ENCODE_SLIPS, hints=_ENCODE_HINTS),
)


check_bpe_encode = BPE_ENCODE.checker(
    "Check ``fn(text, merges) -> ids``: byte-level BPE encoding with given merges.",
    time_budget=10.0,
)

# ---------------------------------------------------------------------------
# 3. masked_sft_loss(logits, targets, mask) -> mean nats over the response tokens
# ---------------------------------------------------------------------------


def _logp(logits, targets, stable=True, axis=-1):
    z = np.asarray(logits, dtype=np.float64)
    if stable:
        z = z - z.max(axis=axis, keepdims=True)
    with np.errstate(all="ignore"):
        logp = z - np.log(np.exp(z).sum(axis=axis, keepdims=True))
    return np.take_along_axis(logp, np.asarray(targets)[..., None], axis=-1)[..., 0]  # (B, T)


def _sft(logits, targets, mask, *, slip=""):
    """The masked loss with a switch for the classic slips (no slip: right)."""
    if slip == "shifted":  # logits[:, :-1] scored against targets[:, 1:], as in pretraining
        logits, targets, mask = logits[:, :-1], targets[:, 1:], mask[:, 1:]
    m = np.asarray(mask, dtype=np.float64)
    m = 1.0 - m if slip == "invert" else (np.ones_like(m) if slip == "no_mask" else m)
    lp = _logp(logits, targets, slip != "unstable", axis=1 if slip == "axis_one" else -1)
    if slip == "probability":
        lp = np.exp(lp)
    if slip == "per_sequence":
        return float(np.mean(-(m * lp).sum(axis=1) / m.sum(axis=1)))
    if slip == "sum":
        return float(-(m * lp).sum())
    loss = -(m * lp).sum() / (m.size if slip == "all" else m.sum())
    if slip == "bits":
        loss = loss / np.log(2.0)
    return float(-loss if slip == "sign" else loss)


_sft_reference = align.masked_cross_entropy


def _sft_cases(rng: np.random.Generator) -> list[Case]:
    def make(B, T, V, scale, offset=0.0, pad=False):
        z = rng.normal(0.0, scale, (B, T, V)) + offset
        y = rng.integers(0, V, (B, T))
        m = np.zeros((B, T))
        for b in range(B):  # prompt first, then a response of a different length per row
            start = rng.integers(1, T - 3 if pad else T - 1)
            end = rng.integers(start + 1, T - 1) if pad else T  # then padding (mask 0)
            m[b, start:end] = 1.0
        return z, y, m

    far = make(3, 6, 8, 2.0)  # each position's logits near +900 or near -900
    far = (far[0] + rng.choice([-900.0, 900.0], (3, 6, 1)), *far[1:])

    return [
        Case(make(2, 6, 5, 1.0), label="two rows, different prompt lengths"),
        Case(make(3, 8, 7, 2.0), label="three rows of 8 positions"),
        Case(
            make(4, 5, 9, 1.5, offset=800.0), label="logits near 800 (large offsets)", stress=True
        ),
        Case(make(2, 7, 6, 300.0), label="extreme logits, spread about 300", stress=True),
        Case(make(3, 9, 5, 1.0, pad=True), label="prompt, response, then padding (mask 0 again)"),
        Case(far, label="positions with logits near +900 and near -900", stress=True),
    ]


_SFT_HINTS = {
    "no_mask": "Multiply the per-token losses by the mask before summing.",
    "all": "Divide by mask.sum().",
    "invert": "Keep the positions where mask == 1.",
    "per_sequence": "One sum over every (b, t), divided by one count, mask.sum().",
    "unstable": "z = z - z.max(axis=-1, keepdims=True) before np.exp.",
    "probability": "The loss is the negative log-likelihood: -log softmax(z)[target].",
    "axis_one": "Normalise over the vocabulary: max and sum with axis=-1, keepdims=True.",
    "shifted": "Score logits[:, t] against targets[:, t]: no shift.",
    "sum": "Divide the masked sum by mask.sum(), the number of response tokens.",
    "bits": "Use the natural logarithm, np.log, not np.log2.",
    "sign": "log p is negative; the loss is its negative, -log p, a positive number.",
}


_SFT_SLIPS = {
    "no_mask": "you ignored the mask: this is the mean over every position, prompt "
    "included, so the model would also be trained to write prompts.",
    "all": "you divided by all B·T positions, not by the number of response tokens: "
    "the loss then shrinks when prompts are long.",
    "invert": "your mask is inverted: you averaged over the prompt tokens (mask = 0), not "
    "the response (mask = 1).",
    "per_sequence": "you averaged within each sequence, then over sequences: the loss is "
    "the mean over all response tokens, so a long response weighs more than a short one.",
    "unstable": "your log-softmax overflows: exp of large logits is inf (or, with one "
    "maximum for the whole array, rows far below it give exp = 0 and log 0 = -inf). "
    "Subtract each row's own maximum first (log-sum-exp).",
    "probability": "you averaged -p(target), the probability, not -log p(target).",
    "sum": "you returned the sum over the response tokens, not their mean.",
    "bits": "your loss is in bits (log base 2), 1/ln 2 = 1.44 times the loss in nats: "
    "the cross-entropy of the book is in nats, with the natural logarithm.",
    "sign": "you forgot the minus sign: the loss is the mean of -log p(target), which is positive.",
    "axis_one": "your log-softmax runs over axis 1, the positions, not over the vocabulary (the "
    "last axis of (B, T, V)): each position's probabilities over the V tokens sum to 1.",
    "shifted": "you shifted the targets by one (logits[:, :-1] against targets[:, 1:]): here "
    "targets[:, t] is already the token that follows position t, so nothing is shifted.",
}

SFT_LOSS = FunctionCheck(
    name="masked_sft_loss",
    reference=_sft_reference,
    make_cases=_sft_cases,
    task="Return -sum(mask * log p(target)) / sum(mask), with a stable log-softmax.",
    nan_hint="Subtract each row's own maximum logit (axis=-1, keepdims=True) before exp: "
    "exp(800) overflows to inf, and one maximum for the whole array leaves rows far "
    "below it at exp(-1800) = 0, whose log is -inf.",
    error_hint="The mask holds floats 0.0 and 1.0: use it as weights (mask * logp) or as "
    "a boolean index (logp[mask == 1]).",
    mistakes=slip_mistakes(_sft, _SFT_SLIPS, hints=_SFT_HINTS),
)


check_masked_sft_loss = SFT_LOSS.checker(
    "Check ``fn(logits (B, T, V), targets (B, T), mask (B, T)) -> float``.", time_budget=10.0
)

# ---------------------------------------------------------------------------
# 4. dpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta)
# ---------------------------------------------------------------------------


def _dpo(pc, pr, rc, rr, beta, *, slip=""):
    """The DPO loss with a switch for the classic slips (no slip: right)."""
    pc, pr, rc, rr = (np.asarray(a, dtype=np.float64) for a in (pc, pr, rc, rr))
    if slip == "no_ref":
        rc, rr = np.zeros_like(rc), np.zeros_like(rr)
    margin = (pc - rc) - (pr - rr)
    if slip == "beta_chosen":  # beta * (pc - rc) - (pr - rr): the brackets forgotten
        margin = (pc - rc) - (pr - rr) / beta
    if slip == "swap":
        margin = -margin
    x = -(1.0 if slip in ("no_beta", "beta_outside") else beta) * margin
    if slip == "unstable":
        with np.errstate(all="ignore"):
            loss = -np.log(1.0 / (1.0 + np.exp(x)))
    else:  # softplus(x) = -log sigma(-x), stably
        loss = np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))
    if slip == "beta_outside":
        loss = beta * loss
    if slip == "sign":  # mean log sigma(z): the minus sign forgotten
        return float(-loss.mean())
    return float(loss.sum() if slip == "sum" else loss.mean())


_dpo_reference = align.dpo_loss


def _dpo_cases(rng: np.random.Generator) -> list[Case]:
    def logps(B, mean, sd):
        return tuple(rng.normal(mean, sd, B) for _ in range(4))

    return [
        Case((*logps(4, -12.0, 3.0), 0.5), label="four pairs, beta = 0.5"),
        Case((*logps(3, -30.0, 6.0), 0.2), label="three pairs, beta = 0.2"),
        Case((*logps(5, -40.0, 2.0), 2.0), label="five pairs, beta = 2"),
        Case(
            (*map(np.array, ([-5.0, -900.0], [-900.0, -5.0], [-300.0] * 2, [-300.0] * 2)), 1.5),
            label="margins of ±895 (extreme)",
            stress=True,
        ),
    ]


_DPO_HINT = "z = beta * ((pc - rc) - (pr - rr)); loss = mean(softplus(-z)) = -mean(log sigma(z))."

_DPO_SLIPS = {
    "no_beta": "you left out beta: the margin is multiplied by beta inside the sigmoid.",
    "no_ref": "you left out the reference model: DPO compares log-ratios log pi - log "
    "ref, so the frozen model's log-probabilities must be subtracted.",
    "swap": "your loss rewards the rejected response: chosen and rejected are swapped, "
    "or the margin has the wrong sign (the log-ratios are log pi - log ref, and "
    "-log sigma(z) is logaddexp(0, -z), with -z).",
    "sum": "you summed over the pairs instead of averaging.",
    "beta_outside": "you multiplied the loss by beta instead of the margin: beta belongs "
    "inside the sigmoid, -log sigma(beta * margin).",
    "unstable": "your -log sigma(z) overflows for a large negative margin (log of 0 = "
    "-inf): write it as softplus(-z).",
    "sign": "you forgot the minus sign: the loss is -mean(log sigma(z)), a positive number.",
    "beta_chosen": "beta multiplies only the chosen log-ratio, beta * (pc - rc) - (pr - rr): "
    "it must multiply the whole margin, beta * ((pc - rc) - (pr - rr)); mind the brackets.",
}

DPO_LOSS = FunctionCheck(
    name="dpo_loss",
    reference=_dpo_reference,
    make_cases=_dpo_cases,
    task="Return -mean(log sigma(beta * ((pc - rc) - (pr - rr)))), computed stably.",
    nan_hint="Write -log sigma(z) as softplus(-z) = max(-z, 0) + log1p(exp(-|z|)).",
    error_hint="math.exp raises OverflowError past exp(709): write -log sigma(z) as "
    "np.logaddexp(0, -z), which never overflows, on whole arrays.",
    mistakes=slip_mistakes(_dpo, _DPO_SLIPS, _DPO_HINT),
)


check_dpo_loss = DPO_LOSS.checker(
    "Check ``fn(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta) -> float``.",
    time_budget=10.0,
)

# ---------------------------------------------------------------------------
# 5. perplexity_per_char(mean_token_loss, n_tokens, n_chars)
# ---------------------------------------------------------------------------


def _ppl_reference(mean_token_loss, n_tokens, n_chars):
    """exp(mean_token_loss * n_tokens / n_chars): the total nats shared out per character."""
    return float(np.exp(mean_token_loss * n_tokens / n_chars))


def _ppl_cases(rng: np.random.Generator) -> list[Case]:
    return [
        Case((3.3, 1000, 3100), label="a BPE model: 3.1 characters per token"),
        Case((1.4, 500, 520), label="almost one token per character"),
        Case((6.2, 2000, 9000), label="a large vocabulary: 4.5 characters per token"),
        Case((40.0, 3000, 1000), label="three tokens per character, a high loss"),
        Case(
            (750.0, 1000, 2000),
            label="a diverged model: 750 nats a token, exp(750) = inf",
            stress=True,
        ),
    ]


PERPLEXITY_PER_CHAR = FunctionCheck(
    name="perplexity_per_char",
    reference=_ppl_reference,
    make_cases=_ppl_cases,
    task="Total nats = mean_token_loss * n_tokens; per character: divide by n_chars; "
    "return exp of that.",
    rtol=1e-9,
    nan_hint="exp(mean_token_loss) or exp(total nats) overflows for a large loss: divide "
    "by n_chars first, then take a single exp of the nats per character, in float64 "
    "(float32 overflows above exp(88)).",
    error_hint="math.exp raises OverflowError past exp(709): take a single exp of the "
    "nats per character, mean_token_loss * n_tokens / n_chars.",
    mistakes=[
        Mistake(
            "you returned the per-token perplexity exp(mean_token_loss): it cannot compare "
            "tokenizers, because a longer token is harder to predict but covers more text.",
            lambda loss, nt, nc: float(np.exp(loss)),
            hint="Convert to nats per character first: loss * n_tokens / n_chars.",
        ),
        Mistake(
            "you inverted the ratio (n_chars / n_tokens): the total loss is loss · n_tokens, "
            "shared out over n_chars characters.",
            lambda loss, nt, nc: float(np.exp(loss * nc / nt)),
            hint="nats per character = mean_token_loss * n_tokens / n_chars.",
        ),
        Mistake(
            "you returned nats per character, without the exponential: perplexity is "
            "exp(nats per character).",
            lambda loss, nt, nc: float(loss * nt / nc),
            hint="Return np.exp(loss * n_tokens / n_chars).",
        ),
        Mistake(
            "you used 2 ** (...) on a loss in nats: the base of the exponential must match "
            "the logarithm of the loss, e for nats.",
            lambda loss, nt, nc: float(2.0 ** (loss * nt / nc)),
            hint="np.exp, not 2 **.",
        ),
    ],
)


check_perplexity_per_char = PERPLEXITY_PER_CHAR.checker(
    "Check ``fn(mean_token_loss, n_tokens, n_chars) -> perplexity per character``."
)
