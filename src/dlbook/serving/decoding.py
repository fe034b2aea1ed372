"""The generation loop every backend shares: prefill, decode, crop; batches of prompts.

Shape legend: B = batch (prompts generated together), T = tokens, P = cached tokens,
V = vocabulary size.

A backend contributes one function, ``forward_cached(ids (B, T), past) -> (logits (B, V),
cache)``: the logits of the *last* new position, and the keys and values of every
position seen so far (``past=None`` starts afresh). The loop around it is plain
NumPy and lives here once:

* **prefill**: the prompt goes through the model in one call and fills the cache;
* **decode**: each later call feeds only the newest token, which attends to the cache;
* **crop**: the GPT has learned *absolute* positions, so a context longer than the
  block cannot slide its cache (every position would shift by one); the cache is
  rebuilt from the last ``block_size`` tokens, exactly the cropped recomputation.

**Batches.** The GPT has no padding mask and learned positions, so prompts of
different lengths cannot share one batch without changing what they attend to.
:func:`generate_batch_with` therefore *groups prompts by length* and runs one batch
per group. Each prompt draws from its own random generator, seeded by its seed and
its text (:func:`request_rngs`), so its text does not depend on which other prompts
share its batch.

This module imports no framework.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from dlbook._validate import check_int
from dlbook.lm.sampling import sample_with_temperature, top_k_filter
from dlbook.seeding import make_rng

ForwardCached = Callable[[np.ndarray, Any], tuple[np.ndarray, Any]]  # (ids, past) -> (z, cache)
Rng = np.random.Generator | int | Sequence[np.random.Generator]


def cache_length(cache: Any) -> int:
    """P, the positions a cache holds: the cache is one (K, V) per block, each (B, H, P, D)."""
    return 0 if cache is None else int(cache[0][0].shape[2])


def pick_next(logits: np.ndarray, temperature: float, top_k: int | None, rng: Any) -> np.ndarray:
    """Next ids (B,) from logits (B, V): argmax at temperature 0, else a draw.

    ``rng`` is one generator for the whole batch (rows drawn together), or a list of
    B generators, one per row (each row draws from its own).
    """
    if top_k is not None:
        logits = top_k_filter(logits, top_k)
    if temperature == 0:
        return np.argmax(logits, axis=-1)
    if isinstance(rng, (list, tuple)):
        pairs = zip(logits, rng, strict=True)
        draws = [sample_with_temperature(z, temperature, g) for z, g in pairs]
        return np.array(draws, dtype=np.int64)  # (B,): row b from generator b
    return np.atleast_1d(sample_with_temperature(logits, temperature, rng))


def decode(
    forward_cached: ForwardCached,
    ids: Any,
    n_new: int,
    block_size: int,
    *,
    use_kv_cache: bool = True,
    temperature: float = 0.0,
    top_k: int | None = None,
    rng: Rng = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Extend ids (B, T0) by ``n_new`` tokens: (ids (B, T0 + n_new), logits (B, n_new, V)).

    Without the cache every step runs the whole (cropped) context through the model;
    with it, each step runs one token per sequence (see the module docstring).
    """
    n_new = _check_n_new(n_new)
    rng = rng if isinstance(rng, (list, tuple)) else make_rng(rng)
    out = np.array(ids, dtype=np.int64, ndmin=2)  # (B, T0)
    if out.ndim != 2 or out.shape[1] == 0:
        raise ValueError(f"ids must have shape (B, T0) with T0 >= 1, got {out.shape}.")
    steps: list[np.ndarray] = []
    cache, fed = None, out[:, -block_size:]  # fed: the ids not yet in the cache
    for _ in range(n_new):
        if not use_kv_cache:
            z, _ = forward_cached(out[:, -block_size:], None)  # (B, V)
        else:
            if cache is not None and cache_length(cache) + fed.shape[1] > block_size:
                cache, fed = None, out[:, -block_size:]  # crop, then prefill again
            z, cache = forward_cached(fed, cache)  # (B, V)
        steps.append(z)
        nxt = pick_next(z, temperature, top_k, rng)  # (B,)
        out = np.concatenate([out, nxt[:, None]], axis=1)
        fed = nxt[:, None]  # (B, 1)
    logits = np.stack(steps, axis=1) if steps else np.zeros((len(out), 0, 0))
    return out, logits


def group_by_length(prompts: Sequence[str]) -> dict[int, list[int]]:
    """Length -> indices of the prompts of that length, in their original order."""
    groups: dict[int, list[int]] = {}
    for i, p in enumerate(prompts):
        groups.setdefault(len(p), []).append(i)
    return groups


def request_rngs(seed: int | Sequence[int], prompts: Sequence[str]) -> list[np.random.Generator]:
    """One generator per prompt, seeded by its seed *and its text*.

    ``seed`` is one int for every prompt or one int per prompt. Mixing in the prompt's
    characters keeps different prompts' draws independent under one shared seed,
    while a request (prompt, seed) always gets the same generator, in any batch.
    """
    seeds = [seed] * len(prompts) if isinstance(seed, (int, np.integer)) else list(seed)
    if len(seeds) != len(prompts):
        raise ValueError(
            f"Got {len(seeds)} seeds for {len(prompts)} prompts: give one int or one per prompt."
        )
    for s in seeds:
        make_rng(s)  # checks: a non-negative int
    return [
        np.random.default_rng(np.random.SeedSequence([int(s), *map(ord, p)]))
        for s, p in zip(seeds, prompts, strict=True)
    ]


def generate_batch_with(
    forward_cached: ForwardCached,
    block_size: int,
    vocab: Any,
    prompts: Sequence[str],
    n_new: int,
    temperature: float = 0.0,
    seed: int | Sequence[int] = 0,
) -> list[str]:
    """The ``n_new`` characters after each prompt, prompts of equal length batched together."""
    if isinstance(prompts, str) or not all(isinstance(p, str) and p for p in prompts):
        raise TypeError(
            "prompts must be a list of non-empty strings, e.g. ['sea ', 'fire ']; for one "
            "prompt pass a list of one."
        )
    rngs = request_rngs(seed, prompts)
    texts = [""] * len(prompts)
    for _, idx in sorted(group_by_length(prompts).items()):
        ids = np.stack([vocab.encode(prompts[i]) for i in idx])  # (B, T0): one length per group
        out, _ = decode(
            forward_cached,
            ids,
            n_new,
            block_size,
            temperature=temperature,
            rng=[rngs[i] for i in idx],
        )
        for row, i in enumerate(idx):
            texts[i] = vocab.decode(out[row, ids.shape[1] :])
    return texts


def time_call(fn: Callable[[], Any], repeats: int) -> float:
    """Median wall time of ``fn()`` over ``repeats`` runs: a neighbour's burst moves it little."""
    times = []
    for _ in range(repeats):
        tick = time.perf_counter()
        fn()
        times.append(time.perf_counter() - tick)
    return statistics.median(times)


def measure_speedup_with(
    generate: Callable[..., Any],
    model: Any,
    lengths: Sequence[int],
    *,
    prompt_len: int = 1,
    batch_size: int = 1,
    repeats: int = 3,
    seed: int = 0,
) -> list[dict[str, float]]:
    """Time ``generate(model, ids, n_new, use_kv_cache)`` with and without the cache.

    For each total length L in ``lengths`` (prompt plus new tokens, at most the
    block size), a random prompt of ``prompt_len`` tokens is extended to L tokens.
    One short untimed run first warms up the caches and thread pools. Returns one
    dict per length: ``length``, ``seconds_cache``, ``seconds_full`` (medians over
    ``repeats``), ``speedup`` = full / cache, and ``tokens_per_s_cache``.
    """
    block, V = model.config.block_size, model.config.vocab_size
    for L in lengths:
        if not prompt_len < L <= block:
            raise ValueError(
                f"Each length must exceed prompt_len = {prompt_len} and fit the block "
                f"({block}); got {L}. Build the timing model with a larger block_size."
            )
    rng = make_rng(seed)
    ids = rng.integers(0, V, size=(batch_size, prompt_len))  # (B, prompt_len)
    for use_cache in (True, False):
        generate(model, ids, 8, use_cache)  # warm-up, untimed
    rows = []
    for L in lengths:
        n = L - prompt_len
        cached = time_call(lambda n=n: generate(model, ids, n, True), repeats)
        full = time_call(lambda n=n: generate(model, ids, n, False), repeats)
        rows.append(
            {
                "length": L,
                "seconds_cache": cached,
                "seconds_full": full,
                "speedup": full / cached,
                "tokens_per_s_cache": batch_size * n / cached,
            }
        )
    return rows


def _check_n_new(n_new: Any) -> int:
    return check_int(n_new, "n_new", minimum=0)
