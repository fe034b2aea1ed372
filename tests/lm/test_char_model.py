"""The character-level language model: shapes, carried state, sampling, training, determinism."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from dlbook.lm.char_model import (  # noqa: E402
    CHAPTER_CONFIGS,
    CharLM,
    CharLMConfig,
    build_model,
    embedding_pca,
    evaluate,
    hidden_trace,
    random_windows,
    sample,
    sample_with_logprobs,
    temperature_probs,
    train_char_lm,
    validation_windows,
)
from dlbook.lm.vocab import CharVocab  # noqa: E402

CELLS = ["rnn", "lstm", "gru"]


def standin_text(n: int, seed: int) -> str:
    """Sentences 'a' or 'b' + filler + the same letter again: a dependency ~8 chars back."""
    rng = np.random.default_rng(seed)
    parts = []
    while sum(map(len, parts)) < n:
        topic = "ab"[rng.integers(2)]
        filler = "".join(rng.choice(list("xyz"), size=rng.integers(4, 9)))
        parts.append(f"{topic}{filler}{topic}. ")
    return "".join(parts)[:n]


@pytest.fixture(scope="module")
def vocab() -> CharVocab:
    return CharVocab.from_text("ab. xyz")


def tiny(cell: str = "lstm", **kw) -> CharLMConfig:
    base = dict(cell=cell, embed_dim=8, hidden_size=16, seq_len=16, batch_size=8, steps=5)
    return CharLMConfig(**{**base, "progress": False, "eval_every": 2, "eval_windows": 4, **kw})


@pytest.mark.parametrize("cell", CELLS)
def test_forward_shapes_and_carried_state(cell: str) -> None:
    model = build_model(tiny(cell), vocab_size=7)
    ids = torch.randint(0, 7, (3, 10), generator=torch.Generator().manual_seed(0))
    logits, _ = model(ids)
    assert logits.shape == (3, 10, 7)  # (B, T, V)
    first, state = model(ids[:, :4])
    second, _ = model(ids[:, 4:], state)
    torch.testing.assert_close(torch.cat([first, second], dim=1), logits)


def test_forward_explains_a_missing_batch_axis() -> None:
    model = build_model(tiny(), vocab_size=7)
    with pytest.raises(ValueError, match="ids\\[None\\]"):
        model(torch.zeros(5, dtype=torch.long))


def test_build_model_is_seeded_and_leaves_global_rng_alone() -> None:
    torch.manual_seed(1)
    expected = torch.rand(1)
    torch.manual_seed(1)
    a, b = build_model(tiny(seed=3), 7), build_model(tiny(seed=3), 7)
    assert torch.rand(1) == expected
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(pa, pb)
    c = build_model(tiny(seed=4), 7)
    assert not torch.equal(a.head.weight, c.head.weight)


def test_windows_are_shifted_by_one() -> None:
    ids = np.arange(100)
    x, y = random_windows(ids, 10, 4, np.random.default_rng(0))
    assert x.shape == y.shape == (4, 10)
    np.testing.assert_array_equal(y, x + 1)
    vx, vy = validation_windows(ids, 10, 5)
    assert vx.shape == (5, 20) and vx[0, 0] == 0 and vy[-1, -1] == 99
    with pytest.raises(ValueError, match="2 \\* seq_len"):
        validation_windows(ids[:15], 10, 5)


def test_evaluate_is_the_full_text_cross_entropy_whatever_the_chunking() -> None:
    model = build_model(tiny("gru"), vocab_size=7)
    ids = np.random.default_rng(0).integers(0, 7, size=300)
    with torch.no_grad():
        logits, _ = model(torch.as_tensor(ids[None, :-1]))  # (1, N-1, V)
        full = torch.nn.functional.cross_entropy(logits[0], torch.as_tensor(ids[1:]))
    for seq_len in (7, 64, 1000):
        assert evaluate(model, ids, seq_len) == pytest.approx(float(full), rel=1e-5)
    assert evaluate(model, ids, 32, n_streams=4) == pytest.approx(float(full), abs=0.05)


def test_temperature_probs() -> None:
    z = np.array([2.0, 1.0, -1.0])
    np.testing.assert_allclose(temperature_probs(z, 1.0), np.exp(z) / np.exp(z).sum())
    np.testing.assert_array_equal(temperature_probs(z, 0.0), [1.0, 0.0, 0.0])
    assert temperature_probs(z, 0.05)[0] > 0.999
    np.testing.assert_allclose(temperature_probs(z, 1e6), np.full(3, 1 / 3), atol=1e-5)
    assert np.isfinite(temperature_probs(np.array([1e4, 0.0]), 0.01)).all()
    np.testing.assert_array_equal(temperature_probs(np.array([1e300, 0.0]), 1e-300), [1.0, 0.0])
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="temperature"):
            temperature_probs(z, bad)


def test_sampling_is_seeded_and_greedy_at_zero(vocab: CharVocab) -> None:
    model = build_model(tiny(), len(vocab))
    a = sample(model, vocab, "ax", 30, 1.0, np.random.default_rng(5))
    assert a == sample(model, vocab, "ax", 30, 1.0, 5)
    assert len(a) == 30 and set(a) <= set(vocab.alphabet)
    greedy, logp = sample_with_logprobs(model, vocab, "ax", 12, 0.0, 0)
    assert greedy == sample(model, vocab, "ax", 12, 0.0, 99), "greedy decoding uses no randomness"
    assert logp.shape == (12,) and np.all(logp <= 0)
    text = "ax"
    for _ in range(12):  # greedy = argmax of the model's next-character logits, step by step
        with torch.no_grad():
            logits, _ = model(torch.as_tensor(vocab.encode(text))[None])
        text += vocab.alphabet[int(logits[0, -1].argmax())]
    assert text[2:] == greedy
    with pytest.raises(ValueError, match="non-empty prompt"):
        sample(model, vocab, "", 5)


def test_embedding_pca(vocab: CharVocab) -> None:
    model = build_model(tiny(), len(vocab))
    coords, ratio = embedding_pca(model)
    assert coords.shape == (len(vocab), 2)
    np.testing.assert_allclose(coords.mean(axis=0), 0.0, atol=1e-10)
    assert ratio[0] >= ratio[1] > 0 and ratio.sum() <= 1 + 1e-12


@pytest.mark.parametrize("cell", CELLS)
def test_hidden_trace_matches_the_torch_layer(cell: str, vocab: CharVocab) -> None:
    model = build_model(tiny(cell, n_layers=2), len(vocab))
    trace = hidden_trace(model, vocab, "axyzb. ")
    assert trace["h"].shape == (7, 16)
    layer = torch.nn.LSTM if cell == "lstm" else type(model.rnn)
    one = layer(8, 16, batch_first=True)
    one.load_state_dict({k: v for k, v in model.rnn.state_dict().items() if k.endswith("_l0")})
    with torch.no_grad():
        expected = one(model.embedding(torch.as_tensor(vocab.encode("axyzb. ")))[None])[0][0]
    np.testing.assert_allclose(trace["h"], expected.numpy(), atol=1e-5)
    if cell == "lstm":
        for gate in ("input", "forget", "output"):
            assert trace[gate].shape == (7, 16)
            assert np.all((trace[gate] > 0) & (trace[gate] < 1))


def test_config_errors_speak_to_a_learner() -> None:
    with pytest.raises(ValueError, match="cell must be one of"):
        CharLMConfig(cell="transformer")
    with pytest.raises(ValueError, match="hidden_size must be a positive integer"):
        CharLMConfig(hidden_size=0)
    with pytest.raises(ValueError, match="grad_clip"):
        CharLMConfig(grad_clip=0.0)
    with pytest.raises(ValueError, match="lr_min must lie in"):
        CharLMConfig(lr=1e-3, lr_min=1e-2)
    assert set(CHAPTER_CONFIGS) == set(CELLS)
    with pytest.raises(ValueError, match="different vocabulary"):
        train_char_lm(tiny(), np.array([0, 1, 9] * 20), None, vocab_size=7)


@pytest.mark.parametrize("cell", CELLS)
def test_training_reduces_the_loss_and_is_reproducible(cell: str, vocab: CharVocab) -> None:
    ids = vocab.encode(standin_text(6000, seed=0))
    val = vocab.encode(standin_text(1000, seed=1))
    config = tiny(cell, steps=60, lr=1e-2, eval_every=20)
    model, log = train_char_lm(config, ids, val, len(vocab))
    assert isinstance(model, CharLM) and not model.training
    assert len(log.train_loss) == len(log.grad_norm) == 60
    assert log.eval_steps == [20, 40, 60]
    assert log.val_loss[-1] < log.val_loss[0] < np.log(len(vocab))
    assert log.tokens_per_second > 0 and log.seconds > 0
    _, again = train_char_lm(config, ids, val, len(vocab))
    assert again.train_loss == log.train_loss, "the same seed must give the same run"


def test_cosine_schedule_ends_at_lr_min(vocab: CharVocab) -> None:
    ids = vocab.encode(standin_text(2000, seed=0))
    _, log = train_char_lm(tiny(steps=4, lr=1e-2, lr_min=1e-3), ids, None, len(vocab))
    # step t of T_max = 4 runs at eta_min + (lr - eta_min)(1 + cos(pi t / 4)) / 2
    expected = [1e-3 + 9e-3 * (1 + np.cos(np.pi * t / 4)) / 2 for t in range(4)]
    np.testing.assert_allclose(log.lr, expected)
    _, constant = train_char_lm(tiny(steps=3), ids, None, len(vocab))
    assert constant.lr == [3e-3] * 3


def test_clipping_bounds_the_update_but_logs_the_raw_norm(vocab: CharVocab) -> None:
    ids = vocab.encode(standin_text(2000, seed=0))
    _, log = train_char_lm(tiny(grad_clip=1e-3, steps=3), ids, None, len(vocab))
    assert min(log.grad_norm) > 1e-3, "the log holds the norm measured before clipping"
    assert log.val_loss == [] and log.eval_steps == []


@pytest.mark.slow
def test_lstm_learns_the_long_range_dependency(vocab: CharVocab) -> None:
    """The closing letter repeats the opening one 5-10 characters back: an LSTM must carry it.

    When the filler ends, a model that forgot the opening letter can only say "a or b,
    50/50"; one that remembers puts nearly all of that mass on the right letter.
    """
    train = vocab.encode(standin_text(40_000, seed=0))
    val = vocab.encode(standin_text(4000, seed=1))
    config = CharLMConfig(
        cell="lstm", embed_dim=8, hidden_size=32, seq_len=32, batch_size=32, steps=400,
        lr=1e-2, progress=False, eval_every=400, eval_windows=16,
    )  # fmt: skip
    model, _ = train_char_lm(config, train, val, len(vocab))
    text = standin_text(4000, seed=1)
    closing = [i for i in range(1, len(text)) if text[i] == "." and text[i - 1] in "ab"]
    ids = vocab.encode(text)
    with torch.no_grad():
        logits, _ = model(torch.as_tensor(ids[None]))
    logp = torch.log_softmax(logits[0], dim=-1).numpy()  # (N, V)
    a, b = vocab.encode("ab")
    # p(right letter) / p(a or b) at each closing letter: near 1 if the topic was carried
    right = np.array([logp[i - 2, ids[i - 1]] for i in closing])
    either = np.logaddexp(logp[np.array(closing) - 2, a], logp[np.array(closing) - 2, b])
    assert np.median(np.exp(right - either)) > 0.9
