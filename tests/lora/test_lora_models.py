"""LoRA on the PyTorch GPT: wrapping, freezing, counting, merging, fine-tuning, the task."""

from __future__ import annotations

import numpy as np
import pytest

from dlbook.gpt.config import GPTConfig

torch = pytest.importorskip("torch")
L = pytest.importorskip("dlbook.lora.torch_backend")
GPT = pytest.importorskip("dlbook.gpt.torch_backend").GPT

CONFIG = GPTConfig(vocab_size=7, block_size=8, n_layer=2, n_head=2, n_embd=8)


def small_gpt(dtype: str = "float64"):
    return GPT(CONFIG, seed=1, dtype=dtype)


def ids(seed: int = 0, T: int = 8):
    return torch.as_tensor(np.random.default_rng(seed).integers(0, 7, (3, T)))


def perturb_adapters(model, std: float = 0.5) -> None:
    """Non-zero B, as after training (B = 0 at the start makes every test trivial)."""
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for layer in L.lora_layers(model).values():
            B = layer.adapter.B
            B.copy_(torch.randn(B.shape, generator=g, dtype=B.dtype) * std)


def test_lora_linear_wraps_an_nn_linear() -> None:
    base = torch.nn.Linear(6, 5, dtype=torch.float64)
    layer = L.LoRALinear(base, r=2, alpha=4.0, rng=0)
    x = torch.randn(3, 6, dtype=torch.float64)
    assert torch.equal(layer(x), base(x))  # B = 0: starts equal to the base
    assert layer.weight is base.weight and not layer.weight.requires_grad
    perturb_adapters(torch.nn.Sequential(layer))
    A, B = layer.adapter.A, layer.adapter.B
    ref = x @ base.weight.T + base.bias + 2.0 * (x @ A) @ B
    torch.testing.assert_close(layer(x), ref, rtol=0, atol=1e-12)
    torch.testing.assert_close(layer.merged()(x), ref, rtol=0, atol=1e-12)
    with pytest.raises(TypeError, match="wraps a torch.nn.Linear"):
        L.LoRALinear(layer)


def test_add_lora_freezes_all_but_the_adapters() -> None:
    model = small_gpt()
    with torch.no_grad():
        before = model(ids())
    assert L.add_lora(model, r=2, alpha=4.0) is model
    assert sorted(L.lora_layers(model)) == [
        "h.0.attn.W_q", "h.0.attn.W_v", "h.1.attn.W_q", "h.1.attn.W_v",
    ]  # fmt: skip
    trainable, total = L.trainable_fraction(model)
    assert trainable == 2 * 2 * 2 * (8 + 8)  # L blocks x 2 targets x r (in + out)
    assert total == trainable + sum(w.size for w in model.get_weights().values())
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    assert all(".adapter." in n for n in names) and len(names) == 8
    with torch.no_grad():
        assert torch.equal(model(ids()), before)  # B = 0: the model is unchanged


def test_merge_lora_keeps_the_outputs() -> None:
    """Acceptance: merged outputs equal adapted outputs within 1e-6 (here 1e-10, float64)."""
    model = L.add_lora(small_gpt(), targets=("attn.W_q", "attn.W_k", "attn.W_v", "attn.W_o"))
    perturb_adapters(model)
    with torch.no_grad():
        adapted = model(ids())
    L.merge_lora_(model)
    assert not L.lora_layers(model) and type(model.h[0].attn.W_q) is torch.nn.Linear
    assert L.trainable_fraction(model)[0] == L.trainable_fraction(model)[1]
    with torch.no_grad():
        merged = model(ids())
    assert (merged - adapted).abs().max().item() < 1e-10
    assert (merged - small_gpt()(ids())).abs().max().item() > 1e-2  # the adapters did something


def test_the_kv_cache_still_works_with_adapters() -> None:
    from dlbook.gpt.train import generate

    model = L.add_lora(small_gpt())
    perturb_adapters(model)
    prompt = ids(1, 3).numpy()
    _, cached = generate(model, prompt, 10, use_kv_cache=True)  # outgrows the block: crop
    _, full = generate(model, prompt, 10, use_kv_cache=False)
    np.testing.assert_allclose(cached, full, rtol=0, atol=1e-10)


def test_get_weights_returns_the_frozen_base() -> None:
    model = small_gpt()
    w0 = model.get_weights()
    L.add_lora(model)
    perturb_adapters(model)
    w1 = model.get_weights()
    assert set(w1) == set(w0)
    for k in w0:
        np.testing.assert_array_equal(w1[k], w0[k])


def test_add_lora_errors() -> None:
    with pytest.raises(ValueError, match="No module of the model is called 'mlp.W_1'"):
        L.add_lora(small_gpt(), targets=("mlp.W_1",))
    model = L.add_lora(small_gpt())
    with pytest.raises(ValueError, match="already has LoRA adapters"):
        L.add_lora(model)
    with pytest.raises(ValueError, match="no LoRA adapters to merge"):
        L.merge_lora_(small_gpt())


def test_finetune_trains_only_the_adapters() -> None:
    """Pretrain on one periodic text, then LoRA adapts to a changed one; the base stays put."""
    old = np.tile([0, 1, 2, 3, 4, 5, 6, 5, 4, 3, 2, 1], 40)
    new = np.tile([0, 1, 2, 3, 4, 5, 6, 3, 4, 3, 2, 1], 40)  # one symbol of the period changed
    model, _ = L.finetune(small_gpt("float32"), old, steps=60, lr=3e-2, progress=False)
    model = L.add_lora(model, r=2, alpha=4.0)
    base = model.get_weights()
    model, log = L.finetune(model, new, steps=40, lr=3e-2, val_ids=new[:100], progress=False)
    assert len(log.train_loss) == 40 and log.val_loss is not None
    assert np.mean(log.train_loss[-10:]) < log.train_loss[0] - 0.2, log.train_loss
    assert (log.trainable, log.total) == L.trainable_fraction(model)
    for k, v in model.get_weights().items():
        np.testing.assert_array_equal(v, base[k])  # the base weights never moved
    with pytest.raises(ValueError, match="nothing to train"):
        L.finetune(small_gpt().requires_grad_(False), new, 2, 1e-3, progress=False)


def test_shifted_task_is_the_corpus_with_initials_swapped() -> None:
    from dlbook.data.corpus import TOPICS, load_corpus
    from dlbook.lora.tasks import SHIFTED_CONFIG, load_shifted_corpus

    c = load_shifted_corpus(n_train=2000, n_val=500, n_test=500)
    assert c.alphabet == load_corpus(n_train=10, n_val=10, n_test=10).alphabet
    assert abs(c.entropy_rate - 1.4172) < 1e-4
    assert [t.word for t in SHIFTED_CONFIG.topics] == [t.word for t in TOPICS]
    assert {t.word: t.initials for t in SHIFTED_CONFIG.topics}["fire"] == "lmns"
    assert "fire k" not in c.train and "fire t" not in c.train  # fire's old initials are gone
    assert any(f"fire {ch}" in c.train for ch in "lmns")  # sea's are in


@pytest.mark.slow
def test_lora_comes_close_to_full_finetuning() -> None:
    """The chapter's result, smaller: both far better than no fine-tuning, LoRA near full."""
    from dlbook.lora.tasks import load_shifted_corpus
    from dlbook.serving import load_chapter_gpt

    c = load_shifted_corpus(n_train=20_000, n_val=2000)
    _, vocab = load_chapter_gpt()
    res = L.compare_finetuning(
        lambda: load_chapter_gpt()[0], vocab.encode(c.train), vocab.encode(c.val),
        steps=60, progress=False,
    )  # fmt: skip
    none, full, lora = (res[k][1].val_loss for k in ("pretrained", "full", "lora"))
    assert none > 2.0 and full < 1.6 and lora < 1.6, (none, full, lora)
    assert abs(lora - full) < 0.1, (none, full, lora)
    assert res["lora"][1].trainable == 2048 and res["full"][1].trainable == 107_136
