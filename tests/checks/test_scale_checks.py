"""Chapter 8's checks: the reference passes, and each classic mistake is rejected by name.

The wrong implementations below are written the way a learner would write them,
independently of the check's own mistake functions, so that a test fails if a
check stops recognising a mistake it claims to name.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from dlbook.checks import scale as scale_checks
from dlbook.checks.scale import (
    check_compute_optimal,
    check_fit_power_law,
    check_training_flops_per_token,
    check_training_memory_bytes,
)
from dlbook.scale import scaling

# ---------------------------------------------------------------------------
# Correct solutions, written as the solutions notebook writes them
# ---------------------------------------------------------------------------


def _weights_per_block(C):
    """Attention 4C² + 4C, MLP C -> 4C -> C with biases 8C² + 5C, two LayerNorms 4C."""
    return 4 * C * C + 4 * C + 8 * C * C + 5 * C + 4 * C


def training_flops_per_token(vocab_size, block_size, n_layer, n_embd):
    V, T, L, C = vocab_size, block_size, n_layer, n_embd
    N = L * _weights_per_block(C) + 2 * C + C * V  # blocks, final LayerNorm, head
    forward = 2 * N + 4 * L * T * C
    return 3 * forward


def training_memory_bytes(n_params, mixed_precision):
    if mixed_precision:
        return 2 * n_params, 2 * n_params, (4 + 4 + 4) * n_params
    return 4 * n_params, 4 * n_params, (4 + 4) * n_params


def fit_power_law(x, y):
    lx, ly = np.log(x), np.log(y)
    b = np.sum((lx - lx.mean()) * (ly - ly.mean())) / np.sum((lx - lx.mean()) ** 2)
    return np.exp(ly.mean() - b * lx.mean()), b


def compute_optimal(compute, tokens_per_param=20):
    N = math.sqrt(compute / (6 * tokens_per_param))
    return N, tokens_per_param * N


# name -> (check, dlbook's reference, a learner's correct solution); test_every_check.py
# runs the problems every check must explain (stub, crash, NaN, type, shape, runaway) on these.
CHECKS = {
    "training_flops_per_token": (
        check_training_flops_per_token,
        scale_checks._flops_reference,
        training_flops_per_token,
    ),
    "training_memory_bytes": (
        check_training_memory_bytes,
        scale_checks._memory_reference,
        training_memory_bytes,
    ),
    "fit_power_law": (check_fit_power_law, scaling.fit_power_law, fit_power_law),
    "compute_optimal": (check_compute_optimal, scaling.compute_optimal, compute_optimal),
}

# name -> (NaN output, wrong type, wrong shape), for tests/checks/test_every_check.py
BROKEN = {
    "training_flops_per_token": (
        lambda *a: float("nan"),
        lambda *a: [training_flops_per_token(*a)],
        lambda *a: np.full(2, training_flops_per_token(*a)),
    ),
    "training_memory_bytes": (
        lambda n, mixed: (float("nan"), *training_memory_bytes(n, mixed)[1:]),
        lambda n, mixed: ([2 * n], *training_memory_bytes(n, mixed)[1:]),
        lambda n, mixed: (np.array([2 * n, 2 * n]), *training_memory_bytes(n, mixed)[1:]),
    ),
    "fit_power_law": (
        lambda x, y: (np.nan, fit_power_law(x, y)[1]),
        lambda x, y: ([fit_power_law(x, y)[0]], fit_power_law(x, y)[1]),
        lambda x, y: (np.exp(np.log(y) - fit_power_law(x, y)[1] * np.log(x)), 1.0),
    ),
    "compute_optimal": (
        lambda C, tokens_per_param=20: (math.nan, 1.0),
        lambda C, tokens_per_param=20: ([compute_optimal(C, tokens_per_param)[0]], 1.0),
        lambda C, tokens_per_param=20: (np.array(compute_optimal(C, tokens_per_param)), 1.0),
    ),
}


def test_written_out_mistake_functions_are_right_with_no_switch():
    """The mistakes flip switches of written-out formulas: with none flipped, they are right."""
    rng = np.random.default_rng(0)
    for case in scale_checks._flops_cases(rng):
        assert scale_checks._flops(*case.args) == scale_checks._flops_reference(*case.args)
    for case in scale_checks._memory_cases(rng):
        assert scale_checks._state(*case.args) == scale_checks._memory_reference(*case.args)
    for case in scale_checks._optimal_cases(rng):
        ours = scale_checks._optimal(*case.args, case.kwargs.get("tokens_per_param", 20.0))
        assert np.allclose(ours, scale_checks._optimal_reference(*case.args, **case.kwargs))


def test_the_references_follow_the_contract():
    """total = 3 forward = 6 N_mm + 12 L T C; 16 bytes per parameter for Adam either way."""
    assert training_flops_per_token(50257, 1024, 12, 768) == scale_checks._flops_reference(
        50257, 1024, 12, 768
    )
    for mixed in (True, False):
        assert sum(scale_checks._memory_reference(1000, mixed)) == 16_000
    a, b = scaling.fit_power_law([1.0, 10.0, 100.0], [3.0, 0.3, 0.03])
    assert a == pytest.approx(3.0) and b == pytest.approx(-1.0)


def test_checks_are_deterministic_and_leave_global_rng_alone():
    state = np.random.get_state()[1].copy()
    wrong = lambda x, y: fit_power_law(x, y)[::-1]  # noqa: E731
    assert str(check_fit_power_law(wrong)) == str(check_fit_power_law(wrong))
    assert np.array_equal(np.random.get_state()[1], state)


# ---------------------------------------------------------------------------
# 1. training_flops_per_token
# ---------------------------------------------------------------------------


def _learner_flops(*, passes=3, per_weight=2, embeddings=False, attention=4, per_sequence=False):
    """A learner's count, part by part, with one slip."""

    def fn(vocab_size, block_size, n_layer, n_embd):
        V, T, L, C = vocab_size, block_size, n_layer, n_embd
        N = L * _weights_per_block(C) + 2 * C + C * V
        if embeddings:
            N += V * C + T * C
        attn = attention * L * T * C * (T if per_sequence else 1)
        return passes * (per_weight * N + attn)

    return fn


def _six_n(vocab_size, block_size, n_layer, n_embd):
    """Kaplan's C ≈ 6N with every parameter: embeddings in, attention out."""
    C = n_embd
    return 6 * (n_layer * _weights_per_block(C) + 2 * C + 2 * C * vocab_size + block_size * C)


@pytest.mark.parametrize(
    "student, words",
    [
        (_learner_flops(passes=1), "forward pass only"),
        (_learner_flops(passes=1, attention=0), "you returned 2N"),
        (_learner_flops(passes=2), "backward pass as equal to the forward"),
        (_learner_flops(embeddings=True), "embeddings in N"),
        (_six_n, "6N with every parameter"),
        (_learner_flops(attention=0), "left out attention"),
        (_learner_flops(attention=2), "only QKᵀ"),
        (_learner_flops(per_sequence=True), "per sequence, not per token"),
        (_learner_flops(per_weight=1, attention=2), "multiply-add as one FLOP"),
        (lambda *a: training_flops_per_token(*a) + 7, "is expected"),
    ],
)
def test_training_flops_per_token_mistakes(student, words):
    result = check_training_flops_per_token(student)
    assert not result.passed
    assert words in result.text, str(result)


def test_flops_accepts_a_float_that_holds_the_count():
    assert check_training_flops_per_token(lambda *a: float(training_flops_per_token(*a))).passed


# ---------------------------------------------------------------------------
# 2. training_memory_bytes
# ---------------------------------------------------------------------------


def _bits(n, mixed):
    w = 16 if mixed else 32
    return w * n, w * n, (96 if mixed else 64) * n


def _fp16_moments(n, mixed):
    if mixed:
        return 2 * n, 2 * n, (4 + 2 + 2) * n  # master fp32, m and v in half precision
    return 4 * n, 4 * n, 8 * n


@pytest.mark.parametrize(
    "student, words",
    [
        (lambda n, mixed: (2 * n, 2 * n, 8 * n) if mixed else (4 * n, 4 * n, 8 * n), "master"),
        (_fp16_moments, "m and v in fp16"),
        (
            lambda n, mixed: (2 * n, 2 * n, 4 * n) if mixed else (4 * n, 4 * n, 8 * n),
            "stored m and v in fp16 and forgot the fp32 master",
        ),
        (
            lambda n, mixed: (2 * n if mixed else 4 * n, 0, (12 if mixed else 8) * n),
            "forgot the gr",
        ),
        (
            lambda n, mixed: (2 * n if mixed else 4 * n, 4 * n, (12 if mixed else 8) * n),
            "gradients take 4 bytes",
        ),
        (_bits, "bits, not bytes"),
        (lambda n, mixed: (4 * n, 4 * n, 8 * n), "ignored mixed_precision"),
        (lambda n, mixed: (6 * n, 2 * n, 8 * n) if mixed else (4 * n, 4 * n, 8 * n), "with the w"),
        (lambda n, mixed: ((2 if mixed else 4) * n,) * 2 + (12 * n,), "master copy in fp32"),
        (
            lambda n, mixed: ((2 if mixed else 4) * n,) * 2 + ((8 if mixed else 4) * n,),
            "one moment",
        ),
    ],
)
def test_training_memory_bytes_mistakes(student, words):
    result = check_training_memory_bytes(student)
    assert not result.passed
    assert words in result.text, str(result)


def test_memory_refuses_a_missing_output():
    result = check_training_memory_bytes(lambda n, mixed: training_memory_bytes(n, mixed)[:2])
    assert "2 values, but 3 were expected" in result.message


# ---------------------------------------------------------------------------
# 3. fit_power_law
# ---------------------------------------------------------------------------


def _line(u, v):
    """(slope, intercept) of the least-squares line through (u, v), by the textbook formula."""
    slope = np.sum((u - u.mean()) * (v - v.mean())) / np.sum((u - u.mean()) ** 2)
    return slope, v.mean() - slope * u.mean()


def _fit_in_linear_space(x, y):
    slope, intercept = _line(x, y)
    return intercept, slope


def _fit_swapped(x, y):
    slope, intercept = _line(np.log(y), np.log(x))
    return np.exp(intercept), slope


def _fit_log10_then_exp(x, y):
    slope, intercept = _line(np.log10(x), np.log10(y))
    return np.exp(intercept), slope


def _fit_ln_then_pow10(x, y):
    slope, intercept = _line(np.log(x), np.log(y))
    return 10**intercept, slope


def _fit_polyfit_unpacked_backwards(x, y):
    log_a, b = np.polyfit(np.log(x), np.log(y), 1)
    return np.exp(log_a), b


@pytest.mark.parametrize(
    "student, words",
    [
        (_fit_in_linear_space, "to x and y themselves"),
        (lambda x, y: _fit_in_linear_space(x, y)[::-1], "to x and y themselves"),
        (lambda x, y: (np.log(fit_power_law(x, y)[0]), fit_power_law(x, y)[1]), "returned log a"),
        (lambda x, y: _line(np.log10(x), np.log10(y))[::-1], "returned log10 a"),
        (_fit_log10_then_exp, "mixed the bases"),
        (_fit_ln_then_pow10, "mixed the bases"),
        (_fit_polyfit_unpacked_backwards, "wrong way round"),
        (_fit_swapped, "swapped x and y"),
        (lambda x, y: (fit_power_law(x, y)[0], -fit_power_law(x, y)[1]), "wrong sign"),
        (lambda x, y: (fit_power_law(x, y)[0], 1.01 * fit_power_law(x, y)[1]), "is expected"),
    ],
)
def test_fit_power_law_mistakes(student, words):
    result = check_fit_power_law(student)
    assert not result.passed
    assert words in result.text, str(result)


def test_fit_accepts_polyfit_and_lstsq():
    def with_lstsq(x, y):
        A = np.stack([np.ones(len(x)), np.log(x)], axis=1)  # (n, 2)
        (log_a, b), *_ = np.linalg.lstsq(A, np.log(y), rcond=None)
        return math.exp(log_a), b

    assert check_fit_power_law(with_lstsq).passed


# ---------------------------------------------------------------------------
# 4. compute_optimal
# ---------------------------------------------------------------------------


def _optimal_with(flops):
    def fn(compute, tokens_per_param=20):
        N = math.sqrt(compute / (flops * tokens_per_param))
        return N, tokens_per_param * N

    return fn


@pytest.mark.parametrize(
    "student, words",
    [
        (_optimal_with(2), "C = 2·N·D"),
        (_optimal_with(1), "C = N·D"),
        (lambda C, tokens_per_param=20: compute_optimal(C, tokens_per_param)[::-1], "swapped N"),
        (lambda C, tokens_per_param=20: (math.sqrt(C / 6), math.sqrt(C / 6)), "forgot the ratio"),
        (
            lambda C, tokens_per_param=20: (
                math.sqrt(C * tokens_per_param / 6),
                math.sqrt(C * tokens_per_param / 6) / tokens_per_param,
            ),
            "inverted the ratio",
        ),
        (
            lambda C, tokens_per_param=20: (C / (6 * tokens_per_param), C / 6),
            "forgot the square root",
        ),
        (
            lambda C, tokens_per_param=20: (
                compute_optimal(C, tokens_per_param)[0],
                compute_optimal(C, tokens_per_param)[0] / tokens_per_param,
            ),
            "divided by the ratio",
        ),
        (lambda C: compute_optimal(C), "raised TypeError"),
    ],
)
def test_compute_optimal_mistakes(student, words):
    result = check_compute_optimal(student)
    assert not result.passed
    assert words in result.text, str(result)


def test_compute_optimal_of_chinchillas_budget_is_about_70b_parameters():
    N, D = compute_optimal(5.76e23)
    assert 6.5e10 < N < 7.5e10 and D == pytest.approx(20 * N)


# ---------------------------------------------------------------------------
# Second round: unusual answers, right or wrong, as learners write them
# ---------------------------------------------------------------------------


def _flops_tied_head(vocab_size, block_size, n_layer, n_embd):
    """GPT-2 ties the head to tok_emb, so the learner leaves the head out of N."""
    C = n_embd
    N = n_layer * _weights_per_block(C) + 2 * C
    return 3 * (2 * N + 4 * n_layer * block_size * C)


def _flops_per_token_of_t_squared(vocab_size, block_size, n_layer, n_embd):
    """Attention per sequence (4 L T² C), divided by the T tokens: the same count."""
    N = n_layer * _weights_per_block(n_embd) + 2 * n_embd + n_embd * vocab_size
    return 3 * (2 * N + 4 * n_layer * block_size**2 * n_embd / block_size)


def _memory_master_as_weights(n, mixed):
    """The fp32 master copy taken for the weights themselves: 4 + 2 + 8 in mixed precision."""
    return (4 * n, 2 * n, 8 * n) if mixed else (4 * n, 4 * n, 8 * n)


def _fit_mean_ratio(x, y):
    """b from the log-log line, then a as the average of y / x**b."""
    b = np.polyfit(np.log(x), np.log(y), 1)[0]
    return np.mean(y / x**b), b


def _fit_log10_both_ways(x, y):
    b, log10_a = np.polyfit(np.log10(x), np.log10(y), 1)
    return 10**log10_a, b


def _fit_linregress(x, y):
    from scipy.stats import linregress

    line = linregress(np.log(x), np.log(y))
    return np.exp(line.intercept), line.slope


@pytest.mark.parametrize(
    "check, student, words",
    [
        (check_training_flops_per_token, _flops_tied_head, "left out the head"),
        (check_training_memory_bytes, _memory_master_as_weights, "master copy as the weights"),
        (
            check_training_memory_bytes,
            lambda n, mixed: training_memory_bytes(n, mixed == "True"),  # a bool compared to str
            "ignored mixed_precision",
        ),
        (check_fit_power_law, _fit_mean_ratio, "mean of y / x**b"),
        (check_fit_power_law, lambda x, y: fit_power_law(x, y)[::-1], "`a` has wrong values"),
        (
            check_compute_optimal,
            lambda C, tokens_per_param=20: (math.sqrt(C / 120), 20 * math.sqrt(C / 120)),
            "ignored tokens_per_param",
        ),
        (
            check_compute_optimal,
            lambda C, tokens_per_param=20: (
                (C / (6 * tokens_per_param)) ** 1 / 2,  # meant ** (1 / 2)
                tokens_per_param * (C / (6 * tokens_per_param)) ** 1 / 2,
            ),
            "x**1/2",
        ),
    ],
)
def test_second_round_mistakes(check, student, words):
    result = check(student)
    assert not result.passed
    assert words in result.text, str(result)


@pytest.mark.parametrize(
    "check, student",
    [
        (check_training_flops_per_token, _flops_per_token_of_t_squared),
        (check_training_flops_per_token, lambda *a: np.int64(training_flops_per_token(*a))),
        (check_training_flops_per_token, lambda *a: np.array(training_flops_per_token(*a))),
        (check_training_memory_bytes, lambda n, mixed: list(training_memory_bytes(n, mixed))),
        (check_fit_power_law, _fit_log10_both_ways),
        (check_fit_power_law, _fit_linregress),
        (check_fit_power_law, lambda x, y: tuple(np.array(v) for v in fit_power_law(x, y))),
        (check_fit_power_law, lambda x, y: list(fit_power_law(x, y))),
        (
            check_compute_optimal,
            lambda C, tokens_per_param=20: (
                math.sqrt(C / (6 * tokens_per_param)),
                C / (6 * math.sqrt(C / (6 * tokens_per_param))),  # D = C / (6 N)
            ),
        ),
        (
            check_compute_optimal,
            lambda C, tokens_per_param=20: list(compute_optimal(C, tokens_per_param)),
        ),
        (
            check_compute_optimal,
            lambda C, tokens_per_param=20: tuple(
                np.float32(v) for v in compute_optimal(C, tokens_per_param)
            ),
        ),
    ],
)
def test_second_round_unusual_answers_that_are_right(check, student):
    result = check(student)
    assert result.passed, str(result)
