"""The stages on a tiny GPT: each one moves what it targets; masks, logprobs and KL are right."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from dlbook.alignment import numpy_backend as align_np  # noqa: E402
from dlbook.gpt.config import GPTConfig  # noqa: E402
from dlbook.llm import tasks  # noqa: E402
from dlbook.llm import torch_backend as life  # noqa: E402
from dlbook.tokenizer import ENDOFTEXT, train_bpe  # noqa: E402

TEXT = ("the lord said unto them, and they went out into the field. " * 40
        + "blessed is the man that walketh not in the way of the wicked. " * 40)  # fmt: skip
WORDS = ["the", "lord", "said", "unto", "they", "went", "field", "man", "way"]


@pytest.fixture(scope="module")
def tok():
    return train_bpe(TEXT, 60, special_tokens=(ENDOFTEXT,))


@pytest.fixture(scope="module")
def config(tok):
    return GPTConfig(vocab_size=tok.vocab_size, block_size=32, n_layer=1, n_head=2, n_embd=16)


def test_encode_pairs_masks_the_response_only(tok):
    x, y, m = life.encode_pairs(tok, ["Q: hi\nA:", "Q: a longer one\nA:"],
                                [" the" + ENDOFTEXT, " lord said" + ENDOFTEXT])  # fmt: skip
    for n, (p, r) in enumerate([("Q: hi\nA:", " the" + ENDOFTEXT),
                                ("Q: a longer one\nA:", " lord said" + ENDOFTEXT)]):  # fmt: skip
        resp = tok.encode(r)
        assert m[n].sum() == len(resp)
        assert np.array_equal(y[n][m[n] == 1], resp)
        k = len(tok.encode(p))
        assert np.array_equal(x[n, :k], tok.encode(p))


def test_pretraining_lowers_the_loss_and_is_deterministic(tok, config):
    ids = tok.encode(TEXT)
    spec = life.TrainSpec(steps=30, batch_size=8, lr=3e-3, warmup_steps=5)
    fresh = life.new_gpt(config, 0).eval()
    model, losses = life.pretrain(config, ids, spec, seed=0)
    _, again = life.pretrain(config, ids, spec, seed=0)
    assert losses == again
    assert life.nats_per_char(model, tok, TEXT[:600]) < life.nats_per_char(fresh, tok, TEXT[:600])


def test_nats_per_char_is_total_loss_over_characters(tok, config):
    model = life.new_gpt(config, 1).eval()
    text = TEXT[:80]  # fewer tokens than the block: one window scores everything
    ids = tok.encode(text)
    with torch.no_grad():
        logits = model(torch.as_tensor(ids[None, :-1])).double().numpy()  # (1, N-1, V)
    total = -align_np.sequence_logprob(logits, ids[None, 1:], None)[0]
    first = len(tok.decode(ids[:1]))
    assert life.nats_per_char(model, tok, text) == pytest.approx(total / (len(text) - first),
                                                                 rel=1e-5)  # fmt: skip


def test_classifier_shapes_and_training(tok, config):
    gpt = life.new_gpt(config, 0)
    x = np.random.default_rng(0).integers(0, tok.vocab_size, (40, 12))
    y = (x[:, 0] % 2).astype(np.int64)  # learnable from the first token
    clf = life.GPTClassifier(gpt, 2)
    assert tuple(clf(x[:3]).shape) == (3, 2)
    before = life.classification_accuracy(clf, x, y)
    clf, _ = life.finetune_classifier(
        life.new_gpt(config, 0), x, y, 2, life.TrainSpec(steps=40, batch_size=16, lr=3e-3), 0
    )
    assert life.classification_accuracy(clf, x, y) > max(before, 0.8)


def test_linear_probe_trains_the_head_only(tok, config):
    body = life.new_gpt(config, 0)
    start = body.get_weights()
    x = np.random.default_rng(0).integers(0, tok.vocab_size, (40, 12))
    y = (x[:, 0] % 2).astype(np.int64)
    spec = life.TrainSpec(steps=20, batch_size=16, lr=3e-3, warmup_steps=5)
    clf, losses = life.finetune_classifier(body, x, y, 2, spec, 0, freeze_body=True)
    assert all(np.array_equal(w, start[k]) for k, w in clf.gpt.get_weights().items())
    assert not np.allclose(clf.head.weight.detach().numpy(), life.GPTClassifier(
        life.new_gpt(config, 0), 2).head.weight.detach().numpy())  # fmt: skip
    assert losses[-1] < losses[0]


def test_sft_and_dpo_move_their_numbers(tok, config):
    train = tasks.make_instructions(WORDS, 200, np.random.default_rng(0))
    held = tasks.make_instructions(WORDS, 20, np.random.default_rng(9))
    prompts, responses = [e.prompt for e in held], [e.response for e in held]
    model = life.new_gpt(config, 0)
    spec = life.TrainSpec(steps=60, batch_size=8, lr=3e-3, warmup_steps=5)
    before = life.response_logprobs(model, tok, prompts, responses).mean()
    life.instruction_tune(model, tok, train, spec, 0, text_ids=tok.encode(TEXT), text_batch=2)
    assert life.response_logprobs(model, tok, prompts, responses).mean() > before + 5.0
    pairs = tasks.make_preferences(WORDS, 100, np.random.default_rng(1))
    policy = life.copy_gpt(model)
    assert life.kl_from_reference(policy, model, tok, prompts[:5], 2) == pytest.approx(0, abs=1e-5)
    chosen = [p.chosen for p in pairs[:20]]
    rejected = [p.rejected for p in pairs[:20]]
    pp = [p.prompt for p in pairs[:20]]

    def margin(net):
        return np.mean(life.response_logprobs(net, tok, pp, chosen)
                       - life.response_logprobs(net, tok, pp, rejected))  # fmt: skip

    losses = life.dpo_train(policy, model, tok, pairs,
                            life.TrainSpec(steps=20, batch_size=8, lr=1e-3, warmup_steps=2),
                            0.5, 0)  # fmt: skip
    assert margin(policy) > margin(model) + 1.0
    assert np.mean(losses[-5:]) < np.mean(losses[:5])
    assert life.kl_from_reference(policy, model, tok, prompts[:5], 2) > 0.0
    assert 0.0 <= life.concise_rate(policy, tok, prompts) <= 1.0
    assert all(isinstance(a, str) for a in life.answer(policy, tok, prompts[:3]))
