"""NumPy, PyTorch and TensorFlow GPTs agree from the same weights (float64).

Logits within 1e-10 and every gradient within 1e-8 (absolute), for each pair of
backends; the weights travel through ``get_weights`` / ``set_weights``.
Also here: the KV cache of the torch GPT reproduces full recomputation.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from dlbook.backends import BACKENDS
from dlbook.gpt import backend, count_parameters
from dlbook.gpt.config import GPTConfig, init_weights

CONFIG = GPTConfig(vocab_size=7, block_size=5, n_layer=2, n_head=2, n_embd=8)


def to_numpy(t) -> np.ndarray:
    if hasattr(t, "detach"):
        t = t.detach().cpu()
    return np.asarray(t.numpy() if hasattr(t, "numpy") else t)


@pytest.fixture(scope="module")
def results() -> dict:
    rng = np.random.default_rng(0)
    w = {k: v + rng.normal(0, 0.5, v.shape) for k, v in init_weights(CONFIG, 1, "float64").items()}
    ids, y = rng.integers(0, 7, (3, 5)), rng.integers(0, 7, (3, 5))
    out = {}
    for name in BACKENDS:
        mod = backend(name)
        model = mod.GPT(CONFIG, seed=3, dtype="float64")
        model.set_weights(w)
        logits = to_numpy(model(ids))
        loss, grads = mod.loss_and_grads(model, ids, y)
        out[name] = (logits, loss, grads, model.get_weights(), w)
    return out


@pytest.mark.parametrize("a, b", list(itertools.combinations(BACKENDS, 2)))
def test_logits_and_gradients_agree(results: dict, a: str, b: str) -> None:
    la, lossa, ga, _, _ = results[a]
    lb, lossb, gb, _, _ = results[b]
    assert la.shape == (3, 5, 7)
    np.testing.assert_allclose(la, lb, rtol=0, atol=1e-10)
    assert abs(lossa - lossb) < 1e-10
    assert set(ga) == set(gb)
    for k in ga:
        np.testing.assert_allclose(ga[k], gb[k], rtol=0, atol=1e-8, err_msg=k)


@pytest.mark.parametrize("name", BACKENDS)
def test_weights_round_trip(results: dict, name: str) -> None:
    got, w = results[name][3], results[name][4]
    assert set(got) == set(w)
    for k in w:
        np.testing.assert_array_equal(got[k], w[k])


@pytest.mark.parametrize("name", BACKENDS)
def test_same_seed_same_init(name: str) -> None:
    model = backend(name).GPT(CONFIG, seed=5, dtype="float64")
    ref = init_weights(CONFIG, 5, "float64")
    got = model.get_weights()
    assert sum(v.size for v in got.values()) == count_parameters(CONFIG)["total"]
    for k in ref:
        np.testing.assert_array_equal(got[k], ref[k])


def test_torch_parameter_count_matches_formula() -> None:
    config = GPTConfig(vocab_size=23, block_size=32, n_layer=3, n_head=4, n_embd=48, bias=False)
    model = backend("torch").GPT(config)
    assert sum(p.numel() for p in model.parameters()) == count_parameters(config)["total"]


@pytest.mark.parametrize("n_new", [4, 14])  # 14 outgrows block_size = 8: the cache is rebuilt
def test_kv_cache_equals_full_recomputation(n_new: int) -> None:
    from dlbook.gpt.torch_backend import GPT
    from dlbook.gpt.train import generate

    model = GPT(GPTConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=16), seed=2)
    ids = np.random.default_rng(0).integers(0, 11, (2, 3))
    fast, z_fast = generate(model, ids, n_new, use_kv_cache=True)
    slow, z_slow = generate(model, ids, n_new, use_kv_cache=False)
    assert z_fast.shape == (2, n_new, 11)
    np.testing.assert_allclose(z_fast, z_slow, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(fast, slow)  # greedy decoding picks the same tokens


def test_kv_cache_logits_match_one_full_pass() -> None:
    """Feeding tokens one by one through the cache gives the logits of one causal pass."""
    import torch

    from dlbook.gpt.torch_backend import GPT

    model = GPT(GPTConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=16), seed=2)
    ids = torch.as_tensor(np.random.default_rng(1).integers(0, 11, (2, 8)))
    with torch.no_grad():
        full = model(ids)  # (B, T, V)
        cache, steps = None, []
        for t in range(8):
            z, cache = model(ids[:, t : t + 1], past=cache, use_cache=True)
            steps.append(z)
    torch.testing.assert_close(torch.cat(steps, dim=1), full, rtol=0, atol=1e-6)


# head width D = n_embd / n_head: 1/sqrt(D) is exact in float32 only for D = 1, 4, 16, ...
@pytest.mark.parametrize("D", [1, 2, 3, 8])
@pytest.mark.parametrize("B, T", [(1, 1), (1, 4), (3, 5)], ids=["batch1-T1", "batch1", "batch3"])
def test_backends_agree_at_every_head_width(D: int, B: int, T: int) -> None:
    config = GPTConfig(vocab_size=7, block_size=5, n_layer=1, n_head=2, n_embd=2 * D)
    rng = np.random.default_rng(D * 10 + B)
    w = {k: v + rng.normal(0, 0.5, v.shape) for k, v in init_weights(config, 1, "float64").items()}
    ids, y = rng.integers(0, 7, (B, T)), rng.integers(0, 7, (B, T))
    results = {}
    for name in BACKENDS:
        mod = backend(name)
        model = mod.GPT(config, dtype="float64")
        model.set_weights(w)
        results[name] = (to_numpy(model(ids)), *mod.loss_and_grads(model, ids, y))
    ref_logits, ref_loss, ref_grads = results["numpy"]
    for name, (logits, loss, grads) in results.items():
        np.testing.assert_allclose(logits, ref_logits, rtol=0, atol=1e-10, err_msg=name)
        assert abs(loss - ref_loss) < 1e-10, name
        for k in ref_grads:
            np.testing.assert_allclose(grads[k], ref_grads[k], rtol=0, atol=1e-8, err_msg=k)
