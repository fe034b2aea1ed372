"""Checks for the exercises of chapter 6 (attention and the transformer).

Each check compares a learner's function with dlbook's own implementation and
recognises the classic mistakes by name::

    from dlbook.checks.attention import check_masked_attention
    check_masked_attention(masked_attention)   # PASS ✅ masked_attention: correct on 4 test cases.

The references are :mod:`dlbook.attention.numpy_backend` (attention, the causal
mask, splitting and merging heads), :mod:`dlbook.attention.positional` (the
sinusoidal encoding of Vaswani et al.), :func:`dlbook.normalization.numpy_backend.layer_norm`
and :func:`dlbook.gpt.config.count_parameters`. A boolean mask means True = may
attend, as in ``torch.nn.functional.scaled_dot_product_attention``.

Two checks refuse an output whose values are right but whose type is not: a
causal mask must be boolean (a mask of 0.0 and 1.0 cannot be negated with ``~``
nor used to index), and a parameter count must be an integer.

Shape legend: B = batch, H = heads, T = query positions, S = key positions,
D = head width (of q and k), Dv = width of v, C = H * D model width, V =
vocabulary size, L = number of blocks, r = mlp_ratio.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlbook.attention import numpy_backend as attn_np
from dlbook.attention import positional
from dlbook.checks._core import Case, FunctionCheck, describe_type
from dlbook.checks._kinds import TypedCheck, slip_mistakes, stressed
from dlbook.gpt.config import GPTConfig, count_parameters
from dlbook.normalization import numpy_backend as norm_np

# Each reference is also written out with a switch `slip` per classic mistake (slip_mistakes).

# ---------------------------------------------------------------------------
# 1. masked_attention(q, k, v, mask) -> out (..., T, Dv)
# ---------------------------------------------------------------------------


def _attention_reference(q, k, v, mask):
    return attn_np.scaled_dot_product_attention(q, k, v, mask=mask)[0]  # (out, weights)[0]


def _attend(q, k, v, mask, *, slip=""):
    D, Dv, S = q.shape[-1], v.shape[-1], k.shape[-2]
    s = q @ (k if slip == "k_untransposed" else np.swapaxes(k, -1, -2))  # (..., T, S)
    scales = {"unscaled": 1.0, "by_d": 1 / D, "sqrt_dv": 1 / np.sqrt(Dv), "sqrt_s": 1 / np.sqrt(S)}
    scales.update(times_sqrt_d=np.sqrt(D), scaled_after=1.0, sqrt_t=1 / np.sqrt(q.shape[-2]))
    s = s * scales.get(slip, 1 / np.sqrt(D))
    s = {
        "inverted": np.where(mask, -np.inf, s),
        "multiplied": s * mask,
        "filled": np.where(mask, s, -100.0),
        "added": s + mask,  # True counts as +1, False as 0
        **dict.fromkeys(("mask_after", "unmasked"), s),  # masked later, or never
        "causal": np.where(np.tril(np.ones(s.shape[-2:], dtype=bool)), s, -np.inf),
    }.get(slip, np.where(mask, s, -np.inf))
    axis = {"query_axis": -2, "whole_softmax": None}.get(slip, -1)  # None: over every axis
    w = np.exp(s - s.max(axis=axis, keepdims=True))  # stable; a slice all -inf gives NaN
    w = w / w.sum(axis=axis, keepdims=True)  # (..., T, S)
    out = (w * mask if slip == "mask_after" else w) @ v  # (..., T, Dv)
    return out / np.sqrt(D) if slip == "scaled_after" else out


def _random_mask(rng: np.random.Generator, T: int, S: int) -> np.ndarray:
    """A random bool (T, S) mask in which every row and every column has a True and a False.

    So no row is all blocked, whichever way a learner reads the mask, and a mistake
    about the mask or the softmax's axis changes every row.
    """
    while True:
        mask = rng.random((T, S)) < 0.5  # (T, S)
        if all(m.any() and not m.all() for m in (*mask, *mask.T)):
            return mask


def _attention_cases(rng: np.random.Generator) -> list[Case]:
    def case(lead, T, S, D, Dv, mask, label, size=1.0, shift=0.0) -> Case:
        q = shift + size * rng.normal(size=(*lead, T, D))  # (..., T, D)
        k = -shift + size * rng.normal(size=(*lead, S, D))  # (..., S, D)
        v = rng.normal(size=(*lead, S, Dv))  # (..., S, Dv)
        return Case((q, k, v, mask), label=label)

    causal = np.tril(np.ones((5, 5), dtype=bool))  # (5, 5)
    # every score of a row about -690, far below -100: a mask filled with -100 lets blocked keys win
    far = np.array([[1, 0, 1, 0], [1, 1, 0, 0], [0, 1, 1, 1]], dtype=bool)  # (3, 4)
    cases = [
        case((2,), 3, 5, 5, 4, _random_mask(rng, 3, 5), "3 queries, 5 keys, a random mask"),
        case((2, 2), 5, 5, 8, 8, causal, "2 heads of self-attention with a causal mask"),
        case((1,), 4, 6, 6, 3, _random_mask(rng, 4, 6), "scores in the hundreds", size=30.0),
        case((1,), 3, 4, 3, 2, far, "every score about -690", size=0.1, shift=20.0),
    ]
    return stressed(cases, 2, 3)


_ATTENTION_HINT = (
    "s = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1]); s = np.where(mask, s, -np.inf); "
    "then a softmax over the last axis (the keys), and weights @ v."
)
_ATTENTION_SLIPS = {
    "unscaled": "you forgot to scale the scores by 1/√D: without it their spread grows like "
    "√D, and the softmax saturates towards one key.",
    "by_d": "you divided the scores by D instead of √D: q·k sums D products, so its standard "
    "deviation grows like √D, and that is what the scale undoes.",
    "sqrt_dv": "you scaled by 1/√Dv, the width of v: the scale belongs to the dot products "
    "q·k, whose length is D = q.shape[-1].",
    "mask_after": "you applied the mask after the softmax: zeroing the blocked weights leaves "
    "each row summing to less than 1. Set the blocked scores to −inf before the softmax, "
    "so that the allowed weights are renormalised.",
    "inverted": "your mask is inverted: you blocked the positions where mask is True. Here "
    "True means 'may attend' (as in torch's F.scaled_dot_product_attention); "
    "nn.MultiheadAttention's boolean attn_mask uses the opposite convention.",
    "multiplied": "you multiplied the scores by the mask (or filled the blocked ones with 0): "
    "a blocked score becomes 0, not −inf, and exp(0) = 1 still gives that key a weight.",
    "filled": "you filled the blocked scores with −100 instead of −inf: when every allowed score "
    "of a row is far below −100 (here about −690), the blocked keys take the weight.",
    "unmasked": "you ignored the mask: every query attends to every key.",
    "causal": "you applied a causal mask (np.tril) instead of the mask you were given: mask "
    "can be any pattern (padding, a random one), so block exactly where mask is False.",
    "query_axis": "your softmax runs over the queries (axis −2) instead of the keys (the last "
    "axis): each query's weights over the keys must sum to 1.",
    "k_untransposed": "you multiplied q by k without transposing it: with D equal to the "
    "number of keys the shapes fit, but q @ k is not the dot products of queries with keys.",
    "sqrt_s": "you scaled by 1/√S, S the number of keys: the scale belongs to the length of "
    "each dot product q·k, D = q.shape[-1], not to how many keys there are.",
    "times_sqrt_d": "you multiplied the scores by √D instead of dividing by it: the scale "
    "must shrink q·k, whose spread grows like √D.",
    "scaled_after": "you divided by √D after the softmax (the weights or the output) instead "
    "of the scores before it: the scale must act inside the softmax, on q kᵀ.",
    "added": "you added the boolean mask to the scores: True counts as +1 and False as 0, so "
    "nothing is blocked. Set the blocked scores to −inf with np.where(mask, s, -np.inf).",
    "sqrt_t": "you scaled by 1/√T, T the number of queries (on a batched q, q.shape[1] is T): "
    "the scale uses D = q.shape[-1], the length of each dot product q·k.",
    "whole_softmax": "your softmax normalises over the whole array at once (as "
    "scipy.special.softmax does without an axis): each query's weights over the keys must "
    "sum to 1, so use axis=-1.",
}
_ATTENTION_HINTS = {
    "filled": "Fill with -np.inf (np.where(mask, s, -np.inf)): exp(-inf) = 0 exactly, "
    "whatever the other scores are."
}

MASKED_ATTENTION = FunctionCheck(
    name="masked_attention",
    reference=_attention_reference,
    make_cases=_attention_cases,
    task="Return softmax(q kᵀ / √D, with the blocked scores set to −inf) @ v, "
    "of shape (..., T, Dv).",
    nan_hint="Did the softmax run? Subtract each row's max before np.exp (scores in the "
    "hundreds overflow it); block with np.where(mask, s, -np.inf), not by multiplying (−inf "
    "times a negative score is +inf, times 0 NaN); and normalise over the keys, axis=-1: a "
    "slice that is all −inf gives NaN.",
    error_hint="For batched arrays k.T reverses every axis: transpose only the last two, "
    "np.swapaxes(k, -1, -2), so that (..., T, D) @ (..., D, S) gives (..., T, S).",
    mistakes=slip_mistakes(_attend, _ATTENTION_SLIPS, _ATTENTION_HINT, hints=_ATTENTION_HINTS),
)


check_masked_attention = MASKED_ATTENTION.checker(
    "Check ``fn(q, k, v, mask) -> out``: scaled dot-product attention with a boolean mask."
)

# ---------------------------------------------------------------------------
# 2. causal_mask(T) -> bool (T, T), lower triangular
# ---------------------------------------------------------------------------


def _causal(T, *, slip):
    ones = np.ones((T, T), dtype=bool)
    return {
        "upper": np.triu(ones),
        "blocked": np.triu(ones, k=1),
        "no_diagonal": np.tril(ones, k=-1),
        "all": ones,
        "additive": np.where(np.tril(ones), 0.0, -np.inf),
        "one_ahead": np.tril(ones, k=1),
        "none": ~ones,
        "diagonal": np.eye(T, dtype=bool),
    }[slip]


def _causal_cases(rng: np.random.Generator) -> list[Case]:
    labels = {4: "T = 4", 7: "T = 7", 1: "a single position, T = 1"}
    return stressed([Case((T,), label=label) for T, label in labels.items()], 2)


def _bool_kind(got: Any) -> tuple[str, str]:
    return (
        f"your mask has the right pattern but dtype {np.asarray(got).dtype}, not bool: ~mask "
        "fails on floats, s[mask] picks rows 0 and 1 instead of selecting entries, and torch "
        "adds a float mask to the scores instead of blocking them",
        "Build it boolean: np.tril(np.ones((T, T), dtype=bool)), or add .astype(bool).",
    )


_CAUSAL_HINT = "np.tril(np.ones((T, T), dtype=bool)): row t (a query) may see columns 0..t."
_CAUSAL_SLIPS = {
    "upper": "your mask is upper triangular: query t may see the future positions t+1, t+2, "
    "... and not the past. Rows are queries, columns are keys.",
    "blocked": "your mask marks the *blocked* positions (True above the diagonal): that is "
    "nn.MultiheadAttention's convention. Here True means 'may attend'.",
    "no_diagonal": "your mask leaves out the diagonal: a token cannot see itself, and the "
    "first token then sees nothing at all (its softmax row is all −inf, NaN).",
    "all": "your mask allows everything: a causal mask must hide the future.",
    "additive": "you returned an additive mask (0 where allowed, −inf where blocked): a valid "
    "way to mask, but this exercise asks for the boolean one.",
    "one_ahead": "your mask lets query t see key t + 1 too (np.tril with k=1): the future "
    "starts right after the diagonal, so use k=0, the default.",
    "none": "your mask blocks everything: every softmax row would be all −inf (NaN). True "
    "means 'may attend', on and below the diagonal.",
    "diagonal": "your mask keeps only the diagonal: each token would see itself and nothing "
    "of its past. Keep everything on and below the diagonal.",
}

CAUSAL_MASK = TypedCheck(
    name="causal_mask",
    reference=attn_np.causal_mask,
    make_cases=_causal_cases,
    task="Return a boolean (T, T) array, True on and below the diagonal (True = may attend).",
    kinds="b",
    wrong_kind=_bool_kind,
    mistakes=slip_mistakes(_causal, _CAUSAL_SLIPS, _CAUSAL_HINT),
)


check_causal_mask = CAUSAL_MASK.checker(
    "Check ``fn(T) -> mask``: a boolean (T, T) lower-triangular mask, True = may attend."
)

# ---------------------------------------------------------------------------
# 3. split_heads(x (B, T, C), n_heads) -> (B, H, T, D) and merge_heads, its inverse
# ---------------------------------------------------------------------------


def _heads_cases(rng: np.random.Generator) -> list[Case]:
    cases = [
        Case((rng.normal(size=(2, 3, 8)), 2), label="B = 2, T = 3, C = 8 in H = 2 heads of D = 4"),
        Case((rng.normal(size=(1, 5, 12)), 3), label="T = 5, C = 12 in H = 3 heads of D = 4"),
        Case((rng.normal(size=(2, 4, 8)), 4), label="T = H = 4, where more shapes coincide"),
    ]
    return stressed(cases, 2)


def _split(x, n_heads, *, slip):
    B, T, C = x.shape
    H, D = n_heads, C // n_heads
    return {
        "no_transpose": x.reshape(B, T, H, D),  # (B, T, H, D)
        "straight": x.reshape(B, H, T, D),  # positions scrambled
        "strided": x.reshape(B, T, D, H).transpose(0, 3, 1, 2),  # head = c % H
        "h_is_width": x.reshape(B, T, D, H).transpose(0, 2, 1, 3),  # (B, D, T, H)
        "d_last": x.reshape(B, T, H, D).transpose(0, 2, 3, 1),  # (B, H, D, T)
        "heads_first": x.reshape(B, T, H, D).transpose(2, 0, 1, 3),  # (H, B, T, D)
    }[slip]


_SPLIT_HINT = (
    "B, T, C = x.shape; x.reshape(B, T, H, C // H) (each position's C features cut into H "
    "blocks), then .transpose(0, 2, 1, 3) to bring the heads forward: (B, H, T, D)."
)
_SPLIT_SLIPS = {
    "no_transpose": "you reshaped to (B, T, H, D) but forgot to transpose: the heads must come "
    "before the time axis, (B, H, T, D), so that each head attends over T.",
    "straight": "you reshaped straight to (B, H, T, D): the shape is right, but a reshape "
    "keeps NumPy's memory order, so each 'head' holds whole positions (the first T / H "
    "positions' features) instead of one block of features of every position.",
    "strided": "you swapped the head and head-width axes in the reshape, (B, T, D, H): head h then "
    "gets the features h, h + H, h + 2H, ... (every H-th one) instead of a contiguous block.",
    "h_is_width": "you used n_heads as the width of each head: C must be cut into H heads of "
    "D = C // H features, not into C // H heads of H.",
    "d_last": "you returned (B, H, D, T): the last two axes must be (T, D), positions then "
    "features, so that q @ kᵀ works per head.",
    "heads_first": "you put the heads before the batch, (H, B, T, D) (np.stack(..., axis=0)?): "
    "the batch stays first, (B, H, T, D); with B = H the shape even looks right.",
}

SPLIT_HEADS = FunctionCheck(
    name="split_heads",
    reference=attn_np.split_heads,
    make_cases=_heads_cases,
    task="Return x of shape (B, T, C) as (B, H, T, D) with D = C // H: head h gets the "
    "features h*D .. h*D + D - 1 of every position.",
    rtol=0.0,
    atol=0.0,
    mistakes=slip_mistakes(_split, _SPLIT_SLIPS, _SPLIT_HINT),
)


check_split_heads = SPLIT_HEADS.checker("Check ``fn(x (B, T, C), n_heads) -> (B, H, T, D)``.")


def _merge_cases(rng: np.random.Generator) -> list[Case]:
    cases = _heads_cases(rng)  # split's shapes, each given already split: (B, H, T, D)
    for c in cases:
        c.args, c.label = (attn_np.split_heads(*c.args),), c.label.replace(" in ", " split into ")
    return cases


def _merge(x, *, slip):
    B, H, T, D = x.shape
    return {
        "straight": x.reshape(B, T, H * D),  # no transpose
        "strided": x.transpose(0, 2, 3, 1).reshape(B, T, H * D),  # feature d * H + h
        "no_reshape": x.transpose(0, 2, 1, 3),  # (B, T, H, D)
        "time": np.concatenate(list(np.moveaxis(x, 1, 0)), axis=1),  # (B, H*T, D)
        "sum": x.sum(axis=1),  # (B, T, D)
        "mean": x.mean(axis=1),  # (B, T, D)
    }[slip]


_MERGE_HINT = (
    "B, H, T, D = x.shape; x.transpose(0, 2, 1, 3) gives (B, T, H, D), then "
    ".reshape(B, T, H * D): the exact inverse of split_heads."
)
_NOT_INVERSE = "so merge_heads(split_heads(x, H)) does not give x back"
_OWN_PLACE = "each head's D features keep their own place in the C = H * D features."
_MERGE_SLIPS = {
    "straight": "you reshaped straight to (B, T, C) without moving the heads back behind the "
    f"time axis first: the shape is right but the values are scrambled, {_NOT_INVERSE}.",
    "strided": "you put the head axis last before reshaping, (B, T, D, H): feature d of head h "
    f"lands at d * H + h instead of h * D + d, {_NOT_INVERSE}.",
    "no_reshape": "you transposed to (B, T, H, D) but forgot to reshape the last two axes into C.",
    "time": "you concatenated the heads along the time axis: they belong side by side in the "
    "features of each position, (B, T, H * D).",
    "sum": f"you summed the heads instead of concatenating them: {_OWN_PLACE}",
    "mean": f"you averaged the heads instead of concatenating them: {_OWN_PLACE}",
}

MERGE_HEADS = FunctionCheck(
    name="merge_heads",
    reference=attn_np.merge_heads,
    make_cases=_merge_cases,
    task="Return x of shape (B, H, T, D) as (B, T, H * D), the inverse of split_heads: "
    "head h's features go to h*D .. h*D + D - 1.",
    rtol=0.0,
    atol=0.0,
    mistakes=slip_mistakes(_merge, _MERGE_SLIPS, _MERGE_HINT),
)


check_merge_heads = MERGE_HEADS.checker(
    "Check ``fn(x (B, H, T, D)) -> (B, T, C)``, the inverse of split_heads."
)

# ---------------------------------------------------------------------------
# 4. sinusoidal_encoding(T, C) -> (T, C), interleaved sin and cos
# ---------------------------------------------------------------------------


_sinusoidal_reference = positional.sinusoidal_encoding  # Vaswani et al., 2017: (T, C)


def _sinusoid(T, C, *, slip=""):
    pos = np.arange(T)[:, None] + (slip == "from_one")  # (T, 1)
    j = np.arange(C)  # (C,) the columns
    two_i = j if slip == "column_exponent" else j - j % 2  # columns 2i and 2i + 1 share 2i
    power = {"pair_exponent": two_i // 2, "double_two": 2 * two_i}.get(slip, two_i)
    freq = 10000.0 ** (power // C if slip == "int_division" else power / C)  # (C,)
    angle = pos * freq if slip == "multiplied" else pos / freq  # (T, C)
    sin, cos = (np.cos, np.sin) if slip == "swapped" else (np.sin, np.cos)  # interleaved:
    pe = np.where(j % 2 == 0, sin(angle), (sin if slip == "sin_only" else cos)(angle))
    pe = np.concatenate([pe[:, 0::2], pe[:, 1::2]], axis=1) if slip == "halves" else pe
    return pe.T if slip == "transposed" else pe


def _sinusoidal_cases(rng: np.random.Generator) -> list[Case]:
    return [
        Case((6, 8), label="T = 6 positions, C = 8 channels"),
        Case((50, 16), label="T = 50, C = 16"),
        Case((3, 4), label="T = 3, C = 4"),
        Case((1000, 6), label="T = 1000 positions, where the angles are large", stress=True),
    ]


_PE_HINT = (
    "pos = np.arange(T)[:, None]; freq = 10000.0 ** (-np.arange(0, C, 2) / C); "
    "pe[:, 0::2] = np.sin(pos * freq); pe[:, 1::2] = np.cos(pos * freq)."
)
_PE_SLIPS = {
    "swapped": "you swapped sin and cos: the even columns 2i hold the sines, the odd columns "
    "2i + 1 the cosines.",
    "sin_only": "your odd columns hold sines too: the even columns 2i hold sin, the odd "
    "columns 2i + 1 cos, of the same angle.",
    "pair_exponent": "your exponent is i/C instead of 2i/C (i numbers the pairs): your "
    "frequencies fall only to 10000^(−1/2), so the slowest pair repeats far too soon.",
    "column_exponent": "the sin and the cos of a pair have different frequencies: you used the "
    "column index j in 10000^(j/C), but both columns 2i and 2i + 1 use 10000^(2i/C).",
    "halves": "you put all the sines first and all the cosines after (concatenated halves, as "
    "tensor2tensor does): a permutation of the same columns, fine for a model, but "
    "this exercise asks for the interleaved layout of Vaswani et al.",
    "transposed": "your encoding is transposed, (C, T): one row per position is expected, so "
    "that it adds to the (T, C) embeddings.",
    "from_one": "your positions start at 1: the first position is 0, with PE[0] = [0, 1, 0, 1, "
    "...].",
    "double_two": "your exponent is 4i/C: the column index j = 0, 2, 4, ... (range(0, C, 2)) is "
    "already 2i, so 10000^(j/C) is the frequency; doubling it again makes them fall twice as fast.",
    "int_division": "your exponent 2i // C is an integer division, 0 for every pair: all "
    "pairs get frequency 1. Use true division, 2 * i / C.",
    "multiplied": "you multiplied pos by 10000^(2i/C) instead of dividing: the frequencies must "
    "fall from 1 to 1/10000, the wavelengths grow.",
}
_PE_HINTS = {
    "column_exponent": "Compute one frequency per pair, 10000 ** (-np.arange(0, C, 2) / C). "
    + _PE_HINT,
    "halves": "Interleave: pe[:, 0::2] = sin, pe[:, 1::2] = cos. " + _PE_HINT,
}

SINUSOIDAL_ENCODING = FunctionCheck(
    name="sinusoidal_encoding",
    reference=_sinusoidal_reference,
    make_cases=_sinusoidal_cases,
    task="Return PE of shape (T, C) with PE[pos, 2i] = sin(pos / 10000^(2i/C)) and "
    "PE[pos, 2i+1] = cos(pos / 10000^(2i/C)).",
    mistakes=slip_mistakes(_sinusoid, _PE_SLIPS, _PE_HINT, hints=_PE_HINTS),
)


check_sinusoidal_encoding = SINUSOIDAL_ENCODING.checker(
    "Check ``fn(T, C) -> PE (T, C)``: the interleaved sinusoidal positional encoding."
)

# ---------------------------------------------------------------------------
# 5. layer_norm_forward(x, gamma, beta, eps) -> y, normalised over the last axis
# ---------------------------------------------------------------------------


_layer_norm_reference = norm_np.layer_norm  # (x, gamma, beta, eps), over the last axis


def _ln(x, gamma, beta, eps, *, slip=""):
    axes = {"batch_axis": tuple(range(x.ndim - 1)), "whole_array": None, "axis_one": (1,)}
    axes = axes.get(slip, (-1,))
    mu, square = x.mean(axis=axes, keepdims=True), (x * x).mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True, ddof=1 if slip == "unbiased" else 0)
    var = {"moments": square - mu * mu, "rms": square}.get(slip, var)  # E[x²] − E[x]² cancels
    mu = 0.0 if slip in ("rms", "uncentred") else mu  # RMSNorm, like uncentred, does not centre
    eps = {"eps_fixed": 1e-5, "no_eps": 0.0}.get(slip, eps)  # var + 0.0 is var exactly
    spread = {
        "eps_outside": np.sqrt(var) + eps,
        "by_var": var + eps,
        "sqrt_std": np.sqrt(np.sqrt(var) + eps),
        "not_divided": 1.0,
    }.get(slip, np.sqrt(var + eps))
    xhat = (x - mu) / spread
    return {
        "no_affine": xhat,
        "no_beta": gamma * xhat,
        "no_gamma": xhat + beta,
        "swapped": beta * xhat + gamma,
    }.get(slip, gamma * xhat + beta)


def _layer_norm_cases(rng: np.random.Generator) -> list[Case]:
    def case(shape, label, eps=1e-5, shift=0.0, scale=1.0) -> Case:
        x = shift + scale * rng.normal(size=shape)
        gamma, beta = rng.uniform(0.5, 2.0, size=shape[-1]), rng.normal(size=shape[-1])  # (C,)
        return Case((x, gamma, beta, eps), label=label)

    cases = [
        case((4, 6), "4 rows of 6 features, with a large eps = 0.1 so that its place shows", 0.1),
        case((2, 3, 8), "a batch of sequences, features near 100", shift=100.0, scale=3.0),
        case((5, 4), "small features (about 0.001), where eps matters", scale=1e-3),
        case((3, 8), "features near 1e6 with spread 1, where E[x²] − E[x]² cancels", shift=1e6),
    ]
    return stressed(cases, 3)


_LN_HINT = (
    "mu = x.mean(axis=-1, keepdims=True); var = x.var(axis=-1, keepdims=True); "
    "y = gamma * (x - mu) / np.sqrt(var + eps) + beta."
)
_LN_SLIPS = {
    "moments": "you computed the variance as E[x²] − E[x]²: for features near 1e6 the two terms "
    "are about 1e12 and their difference loses its digits (catastrophic cancellation).",
    "batch_axis": "you normalised over the batch axis: that is BatchNorm. LayerNorm normalises "
    "each row (each token) over its own features, the last axis.",
    "whole_array": "you normalised over the whole array at once: LayerNorm takes one mean and "
    "one variance per row, over the last axis.",
    "unbiased": "your variance is the unbiased one (ddof=1, divided by C − 1): LayerNorm, like "
    "PyTorch's, divides by C.",
    "eps_outside": "you added eps outside the square root, √var + ε; it belongs inside, "
    "√(var + ε).",
    "by_var": "you divided by var + ε instead of √(var + ε): the standard deviation has the "
    "units of x, the variance their square.",
    "sqrt_std": "you took the square root of the standard deviation: divide by √(var + ε), the "
    "square root of the variance.",
    "uncentred": "you forgot to subtract the mean: divide x − mu, not x, by the standard "
    "deviation.",
    "no_affine": "you forgot gamma and beta, the learnable scale and shift.",
    "no_beta": "you forgot beta, the learnable shift: add it after scaling.",
    "no_gamma": "you forgot gamma, the learnable scale: multiply by it.",
    "swapped": "you swapped gamma and beta: gamma scales, beta shifts, y = gamma * x̂ + beta.",
    "no_eps": "you left out eps: divide by √(var + ε), which also keeps a row of equal "
    "features from dividing by 0.",
    "eps_fixed": "you used eps = 1e-5 instead of the eps argument (here 0.1): the caller "
    "chooses eps, so use the parameter.",
    "axis_one": "you normalised over axis 1: for a 2-D x that is the last axis, but for a batch "
    "of sequences (B, T, C) it is the time axis. Use axis=-1, the features, whatever the "
    "number of axes.",
    "rms": "you divided x by its root mean square without subtracting the mean: that is "
    "RMSNorm. LayerNorm centres first, (x − mu) / √(var + ε).",
    "not_divided": "you subtracted the mean but did not divide by the standard deviation "
    "√(var + ε).",
}
_LN_HINTS = {
    "moments": "Compute var = ((x - mu) ** 2).mean(axis=-1, keepdims=True), or x.var(...): "
    "centre first, then square.",
    **dict.fromkeys(("batch_axis", "whole_array"), "Use axis=-1 with keepdims=True. " + _LN_HINT),
    "unbiased": "np.var's default ddof=0 is the one: " + _LN_HINT,
}

LAYER_NORM_FORWARD = FunctionCheck(
    name="layer_norm_forward",
    reference=_layer_norm_reference,
    make_cases=_layer_norm_cases,
    task="Return gamma * (x - mu) / sqrt(var + eps) + beta, with mu and var (biased) over "
    "the last axis of x.",
    nan_hint="Is a variance negative, or eps missing where a variance is 0?",
    mistakes=slip_mistakes(_ln, _LN_SLIPS, _LN_HINT, hints=_LN_HINTS),
)


check_layer_norm_forward = LAYER_NORM_FORWARD.checker(
    "Check ``fn(x, gamma, beta, eps) -> y``: LayerNorm over the last axis."
)

# ---------------------------------------------------------------------------
# 6. gpt_parameter_count(vocab_size, block_size, n_layer, n_embd, mlp_ratio=4) -> int
# ---------------------------------------------------------------------------
#
# dlbook's GPT: embeddings; per block two LayerNorms, attention W_q, W_k, W_v, W_o with
# biases, an MLP C -> rC -> C with biases; a final LayerNorm; an untied head, no bias.


def _gpt_reference(vocab_size, block_size, n_layer, n_embd, mlp_ratio=4):
    """dlbook.gpt.config.count_parameters(...)["total"] (the count does not depend on n_head)."""
    config = GPTConfig(vocab_size, block_size, n_layer, 1, n_embd, mlp_ratio, bias=True)
    return count_parameters(config)["total"]


def _gpt_count(V, T, L, C, mlp_ratio=4, *, slip=""):
    r = {"mlp_width_c": 1, "fixed_ratio": 4}.get(slip, mlp_ratio)
    linear_bias = slip not in ("no_linear_bias", "no_bias")
    ln_params = {"no_ln": 0, "no_beta": C, "no_bias": C}.get(slip, 2 * C)  # gamma (and beta)
    attn = (3 if slip == "no_w_o" else 4) * (C * C + (linear_bias and slip != "no_attn_bias") * C)
    mlp = 2 * r * C * C + (linear_bias and slip != "no_mlp_bias") * (r * C + C)
    mlp = r * C * C + r * C if slip == "one_mlp_layer" else mlp  # only C -> rC
    block = (1 if slip == "one_ln" else 2) * ln_params + attn + mlp
    total = V * C + (slip != "no_pos") * T * C + (1 if slip == "one_block" else L) * block
    total += 0 if slip == "no_ln_f" else ln_params
    return total + (slip != "no_head") * C * V + (slip == "head_bias") * V


def _gpt_cases(rng: np.random.Generator) -> list[Case]:
    return [
        Case((65, 40, 5, 16), label="a character model: V = 65, T = 40, L = 5, C = 16"),
        Case((50257, 1024, 12, 768), label="GPT-2 small's sizes, with an untied head", stress=True),
        Case((100, 16, 3, 24), {"mlp_ratio": 2}, label="an MLP of width 2C"),
    ]


_GPT_HINT = (
    "Per block: 2 LayerNorms of 2C, attention 4C² + 4C, MLP 2rC² + rC + C. Then add "
    "V·C + T·C for the embeddings, 2C for the final LayerNorm and C·V for the head."
)
_GPT_SLIPS = {
    "no_linear_bias": "you forgot the biases of the linear layers: attention has 4C of them "
    "(q, k, v and the output projection) and the MLP rC + C, in every block.",
    "no_bias": "you forgot every bias, those of the linear layers and the LayerNorms' beta.",
    "no_beta": "you forgot the LayerNorms' beta: each LayerNorm has a scale gamma and a "
    "shift beta, 2C parameters.",
    "no_pos": "you forgot the position embedding, block_size × n_embd parameters.",
    "no_ln": "you forgot the LayerNorms: two per block and a final one, 2C parameters each "
    "(gamma and beta).",
    "no_ln_f": "you forgot the final LayerNorm (ln_f, 2C parameters) after the last block.",
    "no_w_o": "you counted attention as 3C² (q, k and v) and forgot the output projection "
    "W_o, another C² + C.",
    "mlp_width_c": "your MLP has hidden width C: its hidden layer is mlp_ratio × C wide (4C "
    "by default), so it has 2·rC² weights.",
    "no_head": "you left out the output head: with tied weights (as GPT-2) it shares the "
    "token embedding's matrix, but dlbook's head is untied, C × V parameters of its own.",
    "head_bias": "you gave the output head a bias: dlbook's head has none (the final "
    "LayerNorm's beta already shifts its input).",
    "one_block": "you counted one block: there are n_layer of them, each with its own weights.",
    "fixed_ratio": "your MLP is 4C wide whatever mlp_ratio is: its hidden width is "
    "mlp_ratio × n_embd, so use the argument.",
    "one_ln": "you counted one LayerNorm per block: a pre-LN block has two, one before "
    "attention and one before the MLP, 2C parameters each.",
    "no_attn_bias": "you forgot the biases of attention's four projections (q, k, v and W_o), "
    "4C per block.",
    "no_mlp_bias": "you forgot the biases of the MLP's two layers, rC + C per block.",
    "one_mlp_layer": "you counted one layer of the MLP, C → rC: it goes back to C with a "
    "second one, rC × C weights and C biases more per block.",
}


def _int_kind(got: Any) -> tuple[str, str]:
    return (
        f"your count is right but it is {describe_type(got)}: a count of parameters is an integer",
        "Use integer arithmetic (// rather than /), or return int(...).",
    )


GPT_PARAMETER_COUNT = TypedCheck(
    name="gpt_parameter_count",
    reference=_gpt_reference,
    make_cases=_gpt_cases,
    task="Return the total number of parameters of dlbook's GPT, an int: embeddings, L "
    "blocks, the final LayerNorm and the untied head without a bias.",
    rtol=0.0,
    atol=0.5,  # counts are exact
    kinds="iu",
    wrong_kind=_int_kind,
    error_hint="The check calls gpt_parameter_count(vocab_size, block_size, n_layer, n_embd) "
    "and with mlp_ratio=... as a keyword: keep that signature, with mlp_ratio=4 as default.",
    mistakes=slip_mistakes(_gpt_count, _GPT_SLIPS, _GPT_HINT),
)


check_gpt_parameter_count = GPT_PARAMETER_COUNT.checker(
    "Check ``fn(vocab_size, block_size, n_layer, n_embd, mlp_ratio=4) -> int``."
)

__all__ = [
    "check_causal_mask",
    "check_gpt_parameter_count",
    "check_layer_norm_forward",
    "check_masked_attention",
    "check_merge_heads",
    "check_sinusoidal_encoding",
    "check_split_heads",
]
