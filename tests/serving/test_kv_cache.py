"""The KV cache: one head from scratch, the whole GPT in NumPy and in PyTorch.

Decoding token by token with a cache equals full recomputation: within 1e-12 for one
head (float64), within 1e-10 for the GPT in float64 and 1e-6 in float32 (acceptance).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from dlbook.gpt.config import GPTConfig
from dlbook.serving import backend
from dlbook.serving import numpy_backend as serve_np

torch = pytest.importorskip("torch")
BACKENDS = ["numpy", "torch"]
CONFIG = GPTConfig(vocab_size=11, block_size=16, n_layer=2, n_head=2, n_embd=8)


def to_numpy(t: Any) -> np.ndarray:
    return t.detach().cpu().numpy() if hasattr(t, "detach") else np.asarray(t)


def head(seed: int = 0, B: int = 2, T: int = 7, C: int = 6, D: int = 4) -> tuple:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(B, T, C)), *(rng.normal(size=(C, D)) for _ in range(3))


@pytest.mark.parametrize("name", BACKENDS)
def test_decoding_token_by_token_equals_full_attention(name: str) -> None:
    mod = backend(name)
    X, W_q, W_k, W_v = head()
    B, T, _ = X.shape
    k_cache = v_cache = np.zeros((B, 0, 4))
    outs = []
    for t in range(T):
        out, k_cache, v_cache = mod.kv_decode_step(X[:, t], W_q, W_k, W_v, k_cache, v_cache)
        assert tuple(k_cache.shape) == tuple(v_cache.shape) == (B, t + 1, 4)
        outs.append(to_numpy(out))
    full = to_numpy(mod.attend_all(X, W_q, W_k, W_v))
    assert full.shape == (B, T, 4)
    np.testing.assert_allclose(np.stack(outs, axis=1), full, rtol=0, atol=1e-12)
    np.testing.assert_allclose(full, serve_np.attend_all(X, W_q, W_k, W_v), rtol=0, atol=1e-12)


def test_the_cache_matters() -> None:
    """The check above can fail: attending to the newest token alone is not attention."""
    X, W_q, W_k, W_v = head()
    empty = np.zeros((2, 0, 4))
    alone, _, _ = serve_np.kv_decode_step(X[:, 3], W_q, W_k, W_v, empty, empty)
    assert np.abs(alone - serve_np.attend_all(X, W_q, W_k, W_v)[:, 3]).max() > 1e-2


def test_decode_step_leaves_its_inputs_alone() -> None:
    X, W_q, W_k, W_v = head()
    k, v = np.ones((2, 3, 4)), np.full((2, 3, 4), 2.0)
    args = (X[:, 0], W_q, W_k, W_v, k, v)
    copies = [a.copy() for a in args]
    _, k2, v2 = serve_np.kv_decode_step(*args)
    for a, c in zip(args, copies, strict=True):
        np.testing.assert_array_equal(a, c)
    assert k2 is not k and np.array_equal(k2[:, :3], k)


@pytest.mark.parametrize("name", BACKENDS)
def test_shape_errors_speak_to_the_reader(name: str) -> None:
    mod = backend(name)
    X, W_q, W_k, W_v = head()
    empty = np.zeros((2, 0, 4))
    with pytest.raises(ValueError, match=r"x_t must be \(B, C\)"):
        mod.kv_decode_step(X[0, 0], W_q, W_k, W_v, empty, empty)
    with pytest.raises(ValueError, match="W_k has shape"):
        mod.kv_decode_step(X[:, 0], W_q, W_k[:3], W_v, empty, empty)
    with pytest.raises(ValueError, match=r"k_cache has shape .* must be \(B, P, D\)"):
        mod.kv_decode_step(X[:, 0], W_q, W_k, W_v, np.zeros((2, 0, 3)), empty)
    with pytest.raises(ValueError, match="must have the same shape"):
        mod.kv_decode_step(X[:, 0], W_q, W_k, W_v, np.zeros((2, 1, 4)), empty)
    with pytest.raises(ValueError, match=r"X must be \(B, T, C\)"):
        mod.attend_all(X[0], W_q, W_k, W_v)


def numpy_gpt(dtype: str = "float64"):
    from dlbook.gpt.numpy_backend import GPT

    return GPT(CONFIG, seed=1, dtype=dtype)


def test_numpy_gpt_with_cache_equals_its_forward() -> None:
    model = numpy_gpt()
    ids = np.random.default_rng(0).integers(0, 11, (3, 12))
    logits, cache = serve_np.forward_with_cache(model, ids[:, :5])  # prefill
    steps = [logits]
    for t in range(5, 12):
        logits, cache = serve_np.forward_with_cache(model, ids[:, t : t + 1], cache)
        steps.append(logits)
    assert cache[0][0].shape == (3, 2, 12, 4)
    np.testing.assert_allclose(np.concatenate(steps, axis=1), model(ids), rtol=0, atol=1e-10)
    with pytest.raises(ValueError, match="exceed block_size = 16"):
        serve_np.forward_with_cache(model, ids[:, :5], cache)


@pytest.mark.parametrize("name", BACKENDS)
@pytest.mark.parametrize("n_new", [6, 20])  # 20 outgrows block_size = 16: crop and rebuild
def test_generate_with_cache_equals_without(name: str, n_new: int) -> None:
    """Acceptance: KV-cache logits equal full recomputation within 1e-6 (float32)."""
    from dlbook.gpt import backend as gpt_backend

    model = gpt_backend(name).GPT(CONFIG, seed=2, dtype="float32")
    prompt = np.random.default_rng(1).integers(0, 11, (2, 4))
    mod = backend(name)
    ids_c, z_c = mod.generate(model, prompt, n_new, use_kv_cache=True)
    ids_f, z_f = mod.generate(model, prompt, n_new, use_kv_cache=False)
    assert z_c.shape == (2, n_new, 11)
    np.testing.assert_array_equal(ids_c, ids_f)
    np.testing.assert_allclose(z_c, z_f, rtol=0, atol=1e-6)


def test_numpy_and_torch_generate_the_same_tokens() -> None:
    from dlbook.gpt.torch_backend import GPT

    model_np = numpy_gpt()
    model_t = GPT(CONFIG, seed=0, dtype="float64")
    model_t.set_weights(model_np.get_weights())
    prompt = np.array([[1, 2, 3]])
    a, za = serve_np.generate(model_np, prompt, 15, temperature=1.0, rng=4)
    b, zb = backend("torch").generate(model_t, prompt, 15, temperature=1.0, rng=4)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(za, zb, rtol=0, atol=1e-10)


@pytest.mark.parametrize("name", BACKENDS)
@pytest.mark.parametrize("dtype, tol", [("float64", 1e-10), ("float32", 2e-5)])
def test_the_chapter_gpt_decodes_the_same_with_its_cache(name: str, dtype: str, tol: float) -> None:
    """70 new tokens, past the block of 64. In float32 the logits (up to ~8) differ by ~5e-6."""
    from dlbook.serving import load_chapter_gpt

    model, vocab = load_chapter_gpt(name, dtype=dtype)
    prompt = vocab.encode("sea lomo ")[None]
    ids_c, z_c = backend(name).generate(model, prompt, 70, use_kv_cache=True)
    ids_f, z_f = backend(name).generate(model, prompt, 70, use_kv_cache=False)
    np.testing.assert_array_equal(ids_c, ids_f)
    np.testing.assert_allclose(z_c, z_f, rtol=0, atol=tol)


@pytest.mark.parametrize("name", BACKENDS)
def test_measure_kv_speedup(name: str) -> None:
    from dlbook.gpt import backend as gpt_backend

    model = gpt_backend(name).GPT(CONFIG, seed=0)
    rows = backend(name).measure_kv_speedup(model, [4, 16], repeats=1)
    assert [r["length"] for r in rows] == [4, 16]
    assert all(r["seconds_cache"] > 0 and r["seconds_full"] > 0 for r in rows)
    assert rows[1]["speedup"] == pytest.approx(rows[1]["seconds_full"] / rows[1]["seconds_cache"])
    with pytest.raises(ValueError, match="fit the block"):
        backend(name).measure_kv_speedup(model, [17], repeats=1)
