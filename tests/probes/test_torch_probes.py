"""Hidden states of the torch GPT by hooks, and a probe that finds the topic in a trained
GPT (at a small size) where it cannot in an untrained one."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from dlbook.data.corpus import load_corpus
from dlbook.lm.vocab import CharVocab
from dlbook.probes import probe_accuracy_by_layer
from dlbook.probes.torch_backend import head_interventions, residual_stream, topic_probe_data

torch = pytest.importorskip("torch")
from dlbook.gpt.config import GPTConfig  # noqa: E402
from dlbook.gpt.torch_backend import GPT  # noqa: E402
from dlbook.gpt.train import GPTTrainConfig, train_gpt  # noqa: E402


@pytest.fixture(scope="module")
def corpus():
    return load_corpus(n_train=20_000, n_val=6_000, n_test=10)


def test_residual_stream_ends_where_the_logits_begin() -> None:
    model = GPT(
        GPTConfig(vocab_size=7, block_size=8, n_layer=2, n_head=2, n_embd=8),
        seed=0,
        dtype="float64",
    )
    ids = np.random.default_rng(0).integers(0, 7, size=(3, 8))
    states = residual_stream(model, ids)
    assert states.shape == (3, 3, 8, 8)  # (L + 1, B, T, C)
    with torch.no_grad():
        logits = model(torch.as_tensor(ids)).numpy()
        from_last = (
            model.ln_f(torch.as_tensor(states[-1], dtype=torch.float64)) @ model.head.W
        ).numpy()
        first = (model.tok_emb[torch.as_tensor(ids)] + model.pos_emb[:8]).numpy()
    np.testing.assert_allclose(from_last, logits, atol=1e-5)  # states come back as float32
    np.testing.assert_allclose(states[0], first, atol=1e-6)
    assert not model.h[0]._forward_pre_hooks and not model.h[1]._forward_hooks  # removed


def test_topic_probe_data_shapes_and_errors(corpus) -> None:
    vocab = CharVocab(corpus.alphabet)
    model = GPT(GPTConfig(vocab_size=len(vocab), block_size=32, n_layer=1, n_head=2, n_embd=16))
    feats, labels, chars = topic_probe_data(model, vocab, corpus.val[:640])
    assert feats.shape[0] == 2 and feats.shape[1] == len(labels) and feats.shape[2] == 16
    assert set(np.unique(labels)) <= {0, 1, 2, 3} and chars.shape == labels.shape
    assert set(chars) <= set(corpus.alphabet)
    with pytest.raises(ValueError, match="window"):
        topic_probe_data(model, vocab, corpus.val[:640], window=64)
    with pytest.raises(ValueError, match="fewer than one window"):
        topic_probe_data(model, vocab, corpus.val[:10])


def test_probe_beats_chance_on_a_trained_gpt_and_not_on_a_random_one(corpus) -> None:
    """A 1-block GPT trained for 200 steps: its last layer carries the topic (> 50%, chance
    25%); the same shape untrained does clearly worse."""
    vocab = CharVocab(corpus.alphabet)
    config = GPTTrainConfig(
        block_size=32,
        n_layer=1,
        n_head=2,
        n_embd=32,
        batch_size=16,
        steps=200,
        warmup_steps=20,
        lr=1e-2,
        eval_every=200,
        eval_windows=8,
        progress=False,
    )
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models and matrices: one thread is faster
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            trained, _ = train_gpt(config, vocab.encode(corpus.train), vocab.encode(corpus.val))
            accuracy = {}
            for name, model in (("trained", trained), ("random", GPT(trained.config, seed=1))):
                feats, labels, _ = topic_probe_data(model, vocab, corpus.val)
                n = int(0.7 * len(labels))
                accuracy[name] = probe_accuracy_by_layer(
                    feats[:, :n], labels[:n], feats[:, n:], labels[n:], 4, l2=1e-4
                )
    finally:
        torch.set_num_threads(threads)
    assert accuracy["trained"][-1] > 0.5
    assert accuracy["trained"][-1] > accuracy["random"][-1] + 0.1


def test_head_interventions_on_a_head_that_does_nothing() -> None:
    """Zero a head's share of W_o: no intervention on it can change the loss; the other
    heads do matter. Hooks are removed afterwards."""
    config = GPTConfig(vocab_size=7, block_size=8, n_layer=1, n_head=2, n_embd=8)
    model = GPT(config, seed=0, dtype="float64")
    weights = model.get_weights()
    weights["h0.attn.W_o"][:4] = 0.0  # rows 0..3 read head 0's channels
    weights["h0.attn.W_o"][4:] *= 50.0  # make head 1 matter...
    for name in ("h0.attn.W_q", "h0.attn.W_k"):
        weights[name] *= 30.0  # ...with sharp, far from uniform, attention
    model.set_weights(weights)
    rng = np.random.default_rng(0)
    ids, targets = rng.integers(0, 7, size=(4, 8)), rng.integers(0, 7, size=(4, 8))
    result = head_interventions(model, ids, targets)
    assert result["mean_ablation"].shape == (1, 2)
    np.testing.assert_allclose(result["mean_ablation"][0, 0], 0.0, atol=1e-12)
    np.testing.assert_allclose(result["uniform_attention"][0, 0], 0.0, atol=1e-12)
    assert abs(result["uniform_attention"][0, 1]) > 1e-3
    assert abs(result["mean_ablation"][0, 1]) > 1e-3
    assert not model.h[0].attn.W_o._forward_pre_hooks and not model.h[0].attn.W_v._forward_hooks
    with pytest.raises(ValueError, match=r"\(B, T\)"):
        head_interventions(model, ids, targets[:, :4])
