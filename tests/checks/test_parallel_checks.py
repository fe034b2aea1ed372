"""Chapter 9's checks: the reference passes, and each classic mistake is rejected by name.

The wrong implementations below are written the way a learner would write them,
independently of the check's own mistake functions, so that a test fails if a
check stops recognising a mistake it claims to name.
"""

from __future__ import annotations

import numpy as np
import pytest

from dlbook.checks import parallel as par_checks
from dlbook.checks.parallel import (
    check_accumulated_gradient,
    check_ring_all_reduce,
    check_unscale_grads,
    check_update_scale,
)
from dlbook.parallel import mixed_precision as mp

# ---------------------------------------------------------------------------
# Correct solutions, written as the solutions notebook writes them
# ---------------------------------------------------------------------------


def unscale_grads(grads, scale):
    out = [g.astype(np.float32) / scale for g in grads]
    found_inf = any(not np.isfinite(g).all() for g in grads)
    return out, found_inf


def update_scale(scale, found_inf, good_steps, growth_factor=2.0, backoff_factor=0.5,
                 growth_interval=2000):  # fmt: skip
    if found_inf:
        return scale * backoff_factor, 0
    good_steps += 1
    if good_steps == growth_interval:
        return scale * growth_factor, 0
    return scale, good_steps


def _learner_ring(*, rs=0, ag=0, views=False):
    """A learner's ring all-reduce; rs and ag add (or remove) steps of each phase."""

    def fn(arrays, send=None):
        send = send or (lambda src, dst, chunk: chunk.copy())
        p = len(arrays)
        chunks = [np.array_split(a.ravel() if views else a.flatten(), p) for a in arrays]
        for s in range(p - 1 + rs):  # reduce-scatter
            for r in range(p):
                c = (r - s) % p
                chunks[(r + 1) % p][c] += send(r, (r + 1) % p, chunks[r][c])
        for s in range(p - 1 + ag):  # all-gather
            for r in range(p):
                c = (r + 1 - s) % p
                chunks[(r + 1) % p][c] = send(r, (r + 1) % p, chunks[r][c])
        return [np.concatenate(ch).reshape(a.shape) for ch, a in zip(chunks, arrays, strict=True)]

    return fn


ring_all_reduce = _learner_ring()


def accumulated_gradient(grad_fn, micro_batches):
    total = 0.0
    for mb in micro_batches:
        total = total + grad_fn(mb)
    return total / len(micro_batches)


# name -> (check, dlbook's reference, a learner's correct solution); test_every_check.py
# runs the problems every check must explain (stub, crash, NaN, type, shape, runaway) on these.
CHECKS = {
    "unscale_grads": (check_unscale_grads, mp.unscale_grads, unscale_grads),
    "update_scale": (check_update_scale, mp.update_scale, update_scale),
    # dlbook's ring_all_reduce takes no `send`, so the check cannot see its messages:
    # the learner's ring stands for the reference too
    "ring_all_reduce": (check_ring_all_reduce, ring_all_reduce, ring_all_reduce),
    "accumulated_gradient": (
        check_accumulated_gradient,
        par_checks._accumulate_reference,
        accumulated_gradient,
    ),
}

# name -> (NaN output, wrong type, wrong shape), for tests/checks/test_every_check.py
BROKEN = {
    "unscale_grads": (
        lambda grads, scale: ([g.astype(np.float32) * np.nan for g in grads], False),
        lambda grads, scale: ([g.tolist() for g in grads], False),
        lambda grads, scale: ([g.astype(np.float32).ravel()[:1] for g in grads], False),
    ),
    "update_scale": (
        lambda *a, **kw: (float("nan"), update_scale(*a, **kw)[1]),
        lambda *a, **kw: ([update_scale(*a, **kw)[0]], update_scale(*a, **kw)[1]),
        lambda *a, **kw: (np.full(2, update_scale(*a, **kw)[0]), update_scale(*a, **kw)[1]),
    ),
    "ring_all_reduce": (
        lambda arrays: [a * np.nan for a in ring_all_reduce(arrays)],
        lambda arrays: [a.tolist() for a in ring_all_reduce(arrays)],
        lambda arrays: [a[None] for a in ring_all_reduce(arrays)],
    ),
}


def test_checks_are_deterministic_and_leave_global_rng_alone():
    state = np.random.get_state()[1].copy()
    wrong = _learner_ring(ag=-1)
    assert str(check_ring_all_reduce(wrong)) == str(check_ring_all_reduce(wrong))
    assert np.array_equal(np.random.get_state()[1], state)


def test_messages_summarise_lists_of_arrays():
    result = check_ring_all_reduce(_learner_ring(ag=-1))
    assert "arrays: [4 float64 arrays of shape (8,)]" in result.message
    assert "array([" not in result.message


def test_written_out_update_rule_is_the_reference():
    """The mistakes flip switches of par_checks._update: with none flipped, it is right."""
    for case in par_checks._update_cases(np.random.default_rng(0)):
        assert par_checks._update(*case.args, **case.kwargs) == mp.update_scale(
            *case.args, **case.kwargs
        )


def test_accumulation_reference_is_the_mean_of_micro_batch_gradients():
    """For a mean loss and equal micro-batches, the whole batch's gradient is their mean."""
    for case in par_checks._accumulate_cases(np.random.default_rng(0)):
        grad_fn, batches = case.args
        mean = np.mean([grad_fn(mb) for mb in batches], axis=0)
        assert np.allclose(par_checks._accumulate_reference(grad_fn, batches), mean, rtol=1e-12)


def test_unscale_cases_hold_gradients_that_float16_division_spoils():
    """Case 1 is built so that dividing in float16 loses digits, the point of the exercise."""
    cases = par_checks._unscale_cases(np.random.default_rng(0))[:2]
    for case, what in zip(cases, ["inf", "sub"], strict=True):
        grads, scale = case.args
        right = np.concatenate([g.astype(np.float32).ravel() / scale for g in grads])
        with np.errstate(over="ignore"):
            assert np.isinf(np.float16(scale)) == (what == "inf")  # 2^16 overflows float16
            in_fp16 = np.concatenate([(g / scale).astype(np.float32).ravel() for g in grads])
        assert np.mean(np.abs(in_fp16 - right) > 1e-3 * np.abs(right)) > 0.5
        assert np.any(in_fp16 == 0) and np.all(right != 0)


# ---------------------------------------------------------------------------
# 1. unscale_grads
# ---------------------------------------------------------------------------


def _unscale_with(found_inf):
    """The right unscaled values with a learner's found_inf."""
    return lambda grads, scale: ([g.astype(np.float32) / scale for g in grads], found_inf(grads))


def _unscale_fp16_power_of_two_scale(grads, scale):
    """Divides in float16 where the scale fits, float32 where it does not: fails on case 2."""
    if scale < 65504:
        return [(g / np.float16(scale)).astype(np.float32) for g in grads], False
    return unscale_grads(grads, scale)


def _found_inf_overwritten(grads):
    found_inf = False
    for g in grads:
        found_inf = not np.isfinite(g).all()
    return found_inf


def _unscale_replacing_entries(grads, scale):
    for i, g in enumerate(grads):
        grads[i] = g.astype(np.float32) / scale
    return grads, any(not np.isfinite(g).all() for g in grads)


def _unscale_asarray_in_place(grads, scale):
    out = []
    for g in grads:
        g32 = np.asarray(g, dtype=np.float32)  # no copy when g already is float32
        g32 /= scale
        out.append(g32)
    return out, any(not np.isfinite(g).all() for g in out)


@pytest.mark.parametrize(
    "student, words",
    [
        (lambda grads, s: ([g.astype(np.float32) * s for g in grads], False), "multiplied by the"),
        (
            lambda grads, s: ([(g * s).astype(np.float32) for g in grads], False),
            "multiplied by the",
        ),
        (
            lambda grads, s: ([(g / s).astype(np.float32) for g in grads], False),
            "divided in float16",
        ),
        (lambda grads, s: ([g / s for g in grads], False), "divided in float16"),
        (_unscale_fp16_power_of_two_scale, "pushes the small gradients back"),
        (_unscale_with(lambda gs: any(np.isnan(g).any() for g in gs)), "only looks for NaN"),
        (_unscale_with(lambda gs: any(np.isinf(g).any() for g in gs)), "only looks for inf"),
        (_unscale_with(lambda gs: bool(~np.isfinite(gs[0]).all())), "only looks at the first"),
        (_unscale_with(_found_inf_overwritten), "only reflects the last"),
        (
            _unscale_with(lambda gs: False),
            "❌ unscale_grads: found_inf is False but grads[0] holds",
        ),
        (_unscale_with(lambda gs: True), "found_inf is True but every gradient is finite"),
        (_unscale_with(lambda gs: int(not all(np.isfinite(g).all() for g in gs))), "a Python int"),
        (_unscale_replacing_entries, "replaced `grads[0]` in the list it was given"),
        (_unscale_asarray_in_place, "changed its input `grads[0]` in place"),
        (lambda grads, s: ([g.astype(np.float64) / s for g in grads], False), "dtype float64"),
        (
            lambda grads, s: ([g.astype(np.float32) / s for g in grads[:-1]], False),
            "holds 2 arrays",
        ),
        (lambda grads, s: (np.concatenate([g.ravel() / s for g in grads]), False), "a list of 3"),
        (lambda grads, s: [g.astype(np.float32) / s for g in grads], "values, but 2 were expected"),
    ],
)
def test_unscale_grads_mistakes(student, words):
    result = check_unscale_grads(student)
    assert not result.passed
    assert words in result.text, str(result)


def test_unscale_in_place_hint_names_the_asarray_trap():
    result = check_unscale_grads(_unscale_asarray_in_place)
    assert "float32 gradients" in result.message and "np.asarray" in result.hint


def test_unscale_accepts_numpy_bools():
    assert check_unscale_grads(
        lambda g, s: (unscale_grads(g, s)[0], np.bool_(unscale_grads(g, s)[1]))
    ).passed


# ---------------------------------------------------------------------------
# 2. update_scale
# ---------------------------------------------------------------------------


def _learner_update(*, every=False, inf_grows=False, count=True, reset_inf=True,
                    reset_growth=True, compare_before=False, early=False, fixed=False):  # fmt: skip
    """A learner's update rule with one slip."""

    def fn(scale, found_inf, good_steps, growth_factor=2.0, backoff_factor=0.5,
           growth_interval=2000):  # fmt: skip
        if fixed:
            growth_factor, backoff_factor, growth_interval = 2.0, 0.5, 2000
        if found_inf:
            new = scale * (growth_factor if inf_grows else backoff_factor)
            return new, 0 if reset_inf else good_steps
        if compare_before and good_steps == growth_interval:
            return scale * growth_factor, 0
        if count:
            good_steps += 1
        limit = growth_interval - 1 if early else growth_interval
        if every or (not compare_before and good_steps == limit):
            return scale * growth_factor, 0 if reset_growth else good_steps
        return scale, good_steps

    return fn


@pytest.mark.parametrize(
    "student, words",
    [
        (_learner_update(every=True), "on every good step"),
        (_learner_update(inf_grows=True), "grew the scale after an overflow"),
        (_learner_update(count=False), "did not count the good step"),
        (_learner_update(reset_inf=False), "did not reset good_steps after an overflow"),
        (_learner_update(reset_growth=False), "did not reset good_steps after growing"),
        (_learner_update(compare_before=True), "one step late"),
        (_learner_update(early=True), "one step early"),
        (_learner_update(fixed=True), "ignored the arguments"),
        (lambda scale, found_inf, good_steps, **kw: (scale, good_steps + 1), "ignored found_inf"),
        (lambda scale, found_inf, good_steps: update_scale(scale, found_inf, good_steps), "TypeE"),
    ],
)
def test_update_scale_mistakes(student, words):
    result = check_update_scale(student)
    assert not result.passed
    assert words in result.text, str(result)


# ---------------------------------------------------------------------------
# 3. ring_all_reduce
# ---------------------------------------------------------------------------


def _ring_average(arrays):
    return [a / len(arrays) for a in ring_all_reduce(arrays)]


def _ring_one_object(arrays):
    total = np.sum(arrays, axis=0)
    return [total] * len(arrays)


def _ring_views_of_one_buffer(arrays):
    total = np.sum(arrays, axis=0).ravel()
    return [total.reshape(arrays[0].shape) for _ in arrays]


def _ring_flat(arrays):
    return [a.ravel() for a in ring_all_reduce(arrays)]


def _ring_float64(arrays):
    total = np.zeros(arrays[0].shape)  # float64, whatever the inputs
    for a in arrays:
        total = total + a
    return [total.copy() for _ in arrays]


@pytest.mark.parametrize(
    "student, words",
    [
        (_ring_average, "averaged instead of summing"),
        (_learner_ring(ag=-3), "stopped after the reduce-scatter"),  # p = 4: no all-gather
        (_learner_ring(ag=-1), "all-gather is one step short"),
        (_learner_ring(rs=-1), "leaves no chunk with the full sum"),
        (_learner_ring(rs=-1, ag=-1), "leaves no chunk with the full sum"),
        (_ring_one_object, "share one array"),
        (_ring_views_of_one_buffer, "share one array"),
        (_learner_ring(views=True), "changed its input `arrays[0]` in place"),
        (_ring_flat, "the shape of its input"),
        (_ring_float64, "dtype float64, but the inputs are float32"),
        (lambda arrays: list(arrays), "nothing was summed"),
        (lambda arrays: np.sum(arrays, axis=0), "one array per rank"),
        (lambda arrays: ring_all_reduce(arrays)[:-1], "holds 3 arrays, but 4"),
    ],
)
def test_ring_all_reduce_mistakes(student, words):
    result = check_ring_all_reduce(student)
    assert not result.passed
    assert words in result.text, str(result)


def test_ring_in_place_hint_names_views():
    result = check_ring_all_reduce(_learner_ring(views=True))
    assert "ravel" in result.hint and "flatten" in result.hint


@pytest.mark.parametrize("p", [2, 3, 5])
def test_a_ring_without_all_gather_is_named_for_every_number_of_ranks(p):
    """Stopping after the reduce-scatter is recognised whatever p the first failing case has."""
    rng = np.random.default_rng(p)
    arrays = [rng.normal(size=7) for _ in range(p)]
    got = _learner_ring(ag=-(p - 1))(arrays)
    problem = par_checks._ring_values_problem(arrays, got, 1e-10)
    assert problem is not None and "stopped after the reduce-scatter" in problem[0]


def _plain_sum(arrays, send=None):
    return [np.sum(arrays, axis=0).astype(arrays[0].dtype) for _ in arrays]


def _star(arrays, send):
    """Every rank sends its whole array to rank 0, which sends the sum back."""
    p = len(arrays)
    total = arrays[0].copy()
    for r in range(1, p):
        total = total + send(r, 0, arrays[r])
    return [total.copy()] + [send(0, r, total) for r in range(1, p)]


def _one_phase_by_neighbours(arrays, send):
    """Sends chunks to the right neighbour, but only in the reduce-scatter's pattern."""
    p = len(arrays)
    chunks = [np.array_split(a.flatten(), p) for a in arrays]
    for s in range(p - 1):
        for r in range(p):
            send(r, (r + 1) % p, chunks[r][(r - s) % p])
    return _plain_sum(arrays)


def _both_phases_then_sum(arrays, send):
    """Sends every message of a ring, but ignores what arrives and sums directly."""
    p = len(arrays)
    chunks = [np.array_split(a.flatten(), p) for a in arrays]
    for phase in (0, 1):
        for s in range(p - 1):
            for r in range(p):
                send(r, (r + 1) % p, chunks[r][(r + phase - s) % p])
    return _plain_sum(arrays)


@pytest.mark.parametrize(
    "student, words",
    [
        (
            lambda arrays: [np.sum(arrays, axis=0).astype(arrays[0].dtype) for _ in arrays],
            "takes no `send` argument",
        ),
        (_plain_sum, "no chunk went through `send`"),
        (_star, "sent a chunk to rank 0"),
        (_one_phase_by_neighbours, "a ring all-reduce sends 2·p·(p − 1)"),
        (_both_phases_then_sum, "stay right even when `send` delivers zeros"),
    ],
    ids=["plain sum", "plain sum, send unused", "star", "one phase", "sends, then sums"],
)
def test_the_ring_check_watches_the_messages(student, words):
    """A plain sum gives the right numbers: only the messages show that it is no ring."""
    result = check_ring_all_reduce(student)
    assert not result.passed and words in result.text, str(result)


def test_the_ring_check_accepts_a_ring_with_send_and_keeps_the_old_call_form():
    assert check_ring_all_reduce(ring_all_reduce).passed
    arrays = [np.arange(6.0), np.ones(6), -np.arange(6.0)]
    out = ring_all_reduce(arrays)  # the old call, without send, still works
    assert all(np.array_equal(o, np.ones(6)) for o in out)


# ---------------------------------------------------------------------------
# 4. accumulated_gradient
# ---------------------------------------------------------------------------


def _accumulate_last(grad_fn, micro_batches):
    for mb in micro_batches:
        g = grad_fn(mb)
    return g


def _accumulate_in_one_call(grad_fn, micro_batches):
    """The right number, but the whole batch at once: what accumulation avoids."""
    x = np.concatenate([x for x, _ in micro_batches])
    y = np.concatenate([y for _, y in micro_batches])
    return grad_fn((x, y))


def _accumulate_in_place(grad_fn, micro_batches):
    x, y = micro_batches[0]
    x *= 1.0  # harmless so far
    y -= y.mean()  # centres the targets of the caller's first micro-batch
    return accumulated_gradient(grad_fn, micro_batches)


@pytest.mark.parametrize(
    "student, words",
    [
        (lambda f, mbs: sum(f(mb) for mb in mbs), "summed the micro-batch gradients"),
        (lambda f, mbs: sum(f(mb) for mb in mbs) / sum(len(mb[0]) for mb in mbs), "examples"),
        (_accumulate_last, "last micro-batch"),
        (_accumulate_in_place, "changed its input `micro_batches[0][1]` in place"),
        (lambda f, mbs: f(mbs[0]), "is expected"),
        (_accumulate_in_one_call, "grad_fn takes one micro-batch at a time, at most 8"),
    ],
)
def test_accumulated_gradient_mistakes(student, words):
    result = check_accumulated_gradient(student)
    assert not result.passed
    assert words in result.text, str(result)


# ---------------------------------------------------------------------------
# Second round: unusual answers, right or wrong, as learners write them
# ---------------------------------------------------------------------------


def _update_without_backoff(scale, found_inf, good_steps, growth_factor=2.0,
                            backoff_factor=0.5, growth_interval=2000):  # fmt: skip
    """Resets the count after an overflow, but forgets to shrink the scale."""
    if found_inf:
        return scale, 0
    return update_scale(scale, found_inf, good_steps, growth_factor, backoff_factor,
                        growth_interval)  # fmt: skip


def _update_modulo(scale, found_inf, good_steps, growth_factor=2.0, backoff_factor=0.5,
                   growth_interval=2000):  # fmt: skip
    """Grows when the next count is a multiple of the interval: right, since it restarts."""
    if found_inf:
        return scale * backoff_factor, 0
    if (good_steps + 1) % growth_interval == 0:
        return scale * growth_factor, 0
    return scale, good_steps + 1


def _ring_with(*, gather_adds=False, first_chunk=lambda r, s, p: (r - s) % p):
    """A learner's ring: += in the all-gather too, or another chunk in the reduce-scatter."""

    def fn(arrays, send=None):
        send = send or (lambda src, dst, chunk: chunk.copy())
        p = len(arrays)
        chunks = [np.array_split(a.flatten(), p) for a in arrays]
        for s in range(p - 1):
            for r in range(p):
                c = first_chunk(r, s, p)
                chunks[(r + 1) % p][c] = chunks[(r + 1) % p][c] + send(r, (r + 1) % p, chunks[r][c])
        for s in range(p - 1):
            for r in range(p):
                c = (r + 1 - s) % p
                received = send(r, (r + 1) % p, chunks[r][c])
                chunks[(r + 1) % p][c] = (
                    chunks[(r + 1) % p][c] + received if gather_adds else received
                )
        return [np.concatenate(ch).reshape(a.shape) for ch, a in zip(chunks, arrays, strict=True)]

    return fn


def _ring_at_once(arrays, send=None):
    """Every rank sends first, then every rank receives: the same sums."""
    send = send or (lambda src, dst, chunk: chunk.copy())
    p = len(arrays)
    chunks = [np.array_split(a.flatten(), p) for a in arrays]
    for gather in (False, True):
        for s in range(p - 1):
            moves = [((r + 1) % p, (r + gather - s) % p) for r in range(p)]
            got = [send(r, dst, chunks[r][c]) for r, (dst, c) in enumerate(moves)]
            for (dst, c), m in zip(moves, got, strict=True):
                chunks[dst][c] = m if gather else chunks[dst][c] + m
    return [np.concatenate(ch).reshape(a.shape) for ch, a in zip(chunks, arrays, strict=True)]


def _ring_ceil_chunks(arrays, send=None):
    """Chunks of ceil(n / p) values (the last ones shorter or empty), not np.array_split's."""
    send = send or (lambda src, dst, chunk: chunk.copy())
    p, n = len(arrays), arrays[0].size
    k = -(-n // p)
    chunks = [[a.flatten()[i * k : (i + 1) * k] for i in range(p)] for a in arrays]
    for s in range(p - 1):
        for r in range(p):
            c = (r - s) % p
            chunks[(r + 1) % p][c] = chunks[(r + 1) % p][c] + send(r, (r + 1) % p, chunks[r][c])
    for s in range(p - 1):
        for r in range(p):
            c = (r + 1 - s) % p
            chunks[(r + 1) % p][c] = send(r, (r + 1) % p, chunks[r][c])
    return [np.concatenate(ch).reshape(a.shape) for ch, a in zip(chunks, arrays, strict=True)]


@pytest.mark.parametrize(
    "check, student, words",
    [
        (check_update_scale, _update_without_backoff, "did not shrink after an overflow"),
        (check_ring_all_reduce, _ring_with(gather_adds=True), "all-gather adds the chunks"),
        (
            check_ring_all_reduce,
            _ring_with(first_chunk=lambda r, s, p: (r + s) % p),  # the wrong chunk each step
            "leaves no chunk with the full sum",
        ),
        (
            check_unscale_grads,
            lambda grads, s: (  # np.sum in float16 overflows on large finite gradients
                [g.astype(np.float32) / s for g in grads],
                any(not np.isfinite(g.sum()) for g in grads),
            ),
            "found_inf is True but every gradient is finite",
        ),
        (
            check_unscale_grads,
            lambda grads, s: ([g.astype(np.float32) / np.float16(s) for g in grads], False),
            "divided in float16",  # float16(65536) is inf
        ),
        (
            check_accumulated_gradient,
            lambda f, mbs: np.mean([f(mb) for mb in mbs]),  # no axis: one number
            "a NumPy float64 scalar",
        ),
        (
            check_accumulated_gradient,
            lambda f, mbs: sum(f(mb) for mb in mbs) / (len(mbs) - 1),
            "1.333 times the expected values",
        ),
    ],
)
def test_second_round_mistakes(check, student, words):
    result = check(student)
    assert not result.passed
    assert words in result.text, str(result)


def _unscale_found_inf_by_break(grads, scale):
    found_inf = False
    for g in grads:
        if np.isnan(g).any() or np.isinf(g).any():
            found_inf = True
            break
    return [g.astype(np.float32) / scale for g in grads], found_inf


def _accumulate_running_mean(grad_fn, micro_batches):
    mean = 0.0
    for i, mb in enumerate(micro_batches):
        mean = mean + (grad_fn(mb) - mean) / (i + 1)
    return mean


@pytest.mark.parametrize(
    "check, student",
    [
        (
            check_unscale_grads,
            lambda g, s: (
                [x.astype(np.float32) * (1 / s) for x in g],
                any(not np.isfinite(x).all() for x in g),
            ),
        ),
        (
            check_unscale_grads,
            lambda g, s: (
                tuple(np.divide(x, s, dtype=np.float32) for x in g),
                unscale_grads(g, s)[1],
            ),
        ),
        (
            check_unscale_grads,
            lambda g, s: ([x / np.float32(s) for x in g], unscale_grads(g, s)[1]),
        ),
        (check_unscale_grads, _unscale_found_inf_by_break),
        (check_update_scale, _update_modulo),
        (check_update_scale, lambda *a, **kw: [np.float64(v) for v in update_scale(*a, **kw)]),
        (check_ring_all_reduce, _ring_at_once),
        (check_ring_all_reduce, _ring_ceil_chunks),
        (check_ring_all_reduce, lambda arrays, send=None: tuple(ring_all_reduce(arrays, send))),
        (check_accumulated_gradient, lambda f, mbs: np.mean([f(mb) for mb in mbs], axis=0)),
        (check_accumulated_gradient, _accumulate_running_mean),
        (
            check_accumulated_gradient,
            lambda f, mbs: accumulated_gradient(f, mbs).astype(np.float32),
        ),
    ],
)
def test_second_round_unusual_answers_that_are_right(check, student):
    result = check(student)
    assert result.passed, str(result)


def test_unscaled_gradients_cast_back_to_float16_get_the_recipe_as_hint():
    """Keeping the input's dtype loses the small gradients: the hint shows the float32 recipe."""
    result = check_unscale_grads(
        lambda grads, s: ([(g.astype(np.float32) / s).astype(g.dtype) for g in grads], False)
    )
    assert not result.passed and "your values differ" in result.text
    assert "astype(np.float32)" in result.hint
