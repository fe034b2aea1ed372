"""The encoder-decoder on sequence reversal: data format, shapes, decoding, the bottleneck."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from dlbook.rnn.seq2seq import (  # noqa: E402
    BOS,
    EOS,
    N_SPECIAL,
    PAD,
    Seq2Seq,
    Seq2SeqConfig,
    accuracy_by_position,
    accuracy_vs_length,
    make_reverse_task,
    sequence_accuracy,
    teacher_forcing_inputs,
    token_accuracy,
    train_seq2seq,
)


class DotAttention(torch.nn.Module):
    """Scaled dot-product attention with no parameters: enough to test the plug."""

    def __init__(self, hidden_size: int | None = None) -> None:
        super().__init__()

    def forward(self, query, keys):
        scores = (keys @ query[:, :, None])[..., 0] / keys.shape[-1] ** 0.5  # (B, S)
        weights = torch.softmax(scores, dim=-1)
        return (weights[:, :, None] * keys).sum(dim=1), weights  # (B, H), (B, S)


def fast(**kw) -> Seq2SeqConfig:
    return Seq2SeqConfig(**{"progress": False, "hidden_size": 32, **kw})


def test_reverse_task_format() -> None:
    data = make_reverse_task(50, 6, 4, np.random.default_rng(0))
    assert data.src.shape == (50, 6) and data.tgt.shape == (50, 7) and len(data) == 50
    assert data.n_tokens == N_SPECIAL + 4
    assert data.src.min() >= N_SPECIAL and data.src.max() < data.n_tokens
    np.testing.assert_array_equal(data.tgt[:, :-1], data.src[:, ::-1])
    assert (data.tgt[:, -1] == EOS).all() and not (data.src == PAD).any()
    again = make_reverse_task(50, 6, 4, 0)
    np.testing.assert_array_equal(again.src, data.src)
    with pytest.raises(ValueError, match="length must be a positive integer"):
        make_reverse_task(5, 0, 4, 0)


def test_teacher_forcing_inputs_shift_right() -> None:
    tgt = torch.tensor([[5, 6, 7, EOS]])
    assert teacher_forcing_inputs(tgt).tolist() == [[BOS, 5, 6, 7]]


@pytest.mark.parametrize("attention", [None, DotAttention()], ids=["bottleneck", "attention"])
def test_teacher_forcing_equals_step_by_step_decoding(attention) -> None:
    data = make_reverse_task(4, 5, 6, 0)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = Seq2Seq(data.n_tokens, 8, 16, attention=attention)
    src, tgt = torch.as_tensor(data.src), torch.as_tensor(data.tgt)
    logits = model(src, tgt)
    assert logits.shape == (4, 6, data.n_tokens)  # (B, T, V)
    enc_states, state = model.encode(src)
    assert enc_states.shape == (4, 5, 16) and state.shape == (1, 4, 16)
    for t, token in enumerate(teacher_forcing_inputs(tgt).T):
        step_logits, state, weights = model.decode_step(token, state, enc_states)
        torch.testing.assert_close(step_logits, logits[:, t], rtol=1e-5, atol=1e-6)
        if attention is not None:
            torch.testing.assert_close(weights.sum(dim=1), torch.ones(4))
    assert model.greedy_decode(src, 9).shape == (4, 9)


def test_short_sequences_are_learnt_and_runs_are_reproducible() -> None:
    train = make_reverse_task(2000, 5, 8, 0)
    val = make_reverse_task(300, 5, 8, 1)
    config = fast(steps=300, eval_every=150)
    model, log = train_seq2seq(config, train, val)
    assert log.eval_steps == [150, 300]
    assert token_accuracy(model, val) > 0.9
    assert sequence_accuracy(model, val) > 0.6
    assert log.val_token_accuracy[-1] == token_accuracy(model, val)
    _, again = train_seq2seq(config, train, val)
    assert again.train_loss == log.train_loss


@pytest.mark.slow
def test_the_bottleneck_hurts_long_sequences() -> None:
    """Same model, same budget of steps: reversing 20 symbols is far harder than 5."""
    config = fast(steps=300, eval_every=300)
    accs = {}
    for length in (5, 20):
        model, _ = train_seq2seq(config, make_reverse_task(2000, length, 8, 0))
        val = make_reverse_task(300, length, 8, 1)
        accs[length] = token_accuracy(model, val)
        if length == 20:
            by_pos = accuracy_by_position(model, val)
    assert accs[5] > accs[20] + 0.4, accs
    # The first tokens written were read last, just before the bottleneck: easiest.
    assert by_pos[0] > by_pos[10] + 0.3


def test_accuracy_vs_length_rows() -> None:
    rows = accuracy_vs_length(fast(steps=5), (2, 3), n_train=50, n_val=20)
    assert [r["length"] for r in rows] == [2, 3]
    for r in rows:
        assert 0 <= r["token_accuracy"] <= 1 and 0 <= r["sequence_accuracy"] <= 1
    with_attention = accuracy_vs_length(fast(steps=5), (3,), n_train=50, attention=DotAttention)
    assert len(with_attention) == 1


def test_config_errors() -> None:
    with pytest.raises(ValueError, match="hidden_size must be a positive integer"):
        Seq2SeqConfig(hidden_size=-1)
    with pytest.raises(ValueError, match="lr must be positive"):
        Seq2SeqConfig(lr=0)
