"""Training the PyTorch GPT: it learns a toy periodic text, deterministically; FLOP helpers."""

from __future__ import annotations

import numpy as np
import pytest

from dlbook.gpt.config import GPTConfig, count_parameters


def toy() -> tuple[np.ndarray, np.ndarray]:
    period = np.array([0, 1, 2, 3, 2, 1, 4, 0, 4, 3])  # fully predictable from a short context
    return np.tile(period, 200), np.tile(period, 20)


@pytest.mark.slow
def test_gpt_learns_a_periodic_sequence_deterministically() -> None:
    from dlbook.gpt.train import GPTTrainConfig, generate, train_gpt

    config = GPTTrainConfig(
        block_size=16, n_layer=1, n_head=2, n_embd=32, batch_size=16, lr=1e-2, lr_min=1e-3,
        warmup_steps=10, steps=150, eval_every=50, eval_windows=8, progress=False,
    )  # fmt: skip
    train, val = toy()
    model, log = train_gpt(config, train, val)
    assert log.final_val_loss < 0.05, (
        f"val loss {log.final_val_loss:.3f} after {config.steps} steps"
    )
    assert len(log.lr) == config.steps and log.eval_steps[-1] == config.steps
    assert log.lr[0] < log.lr[config.warmup_steps] and log.lr[-1] < config.lr / 5  # warm-up, decay
    _, log2 = train_gpt(config, train, val)
    assert log2.train_loss == log.train_loss  # the same seed gives the same run
    ids, _ = generate(model, train[None, :5], 10)  # greedy continues the period
    np.testing.assert_array_equal(ids[0], train[:15])


def test_flops_per_token_formula() -> None:
    from dlbook.gpt.train import model_flops_per_token

    config = GPTConfig(vocab_size=23, block_size=64, n_layer=2, n_head=4, n_embd=64)
    counts = count_parameters(config)
    N = counts["total"] - counts["embeddings"]
    assert model_flops_per_token(config) == 6 * N + 6 * 2 * 64 * 64


def test_mfu_and_matmul_flops() -> None:
    from dlbook.gpt.train import measure_matmul_flops, mfu

    peak = measure_matmul_flops(n=256, repeats=3)
    assert peak > 1e8  # any CPU of the last decade does more than 0.1 GFLOP/s
    assert mfu(1000.0, 1e6, 1e10) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="peak"):
        mfu(1.0, 1.0, 0.0)


def test_evaluate_scores_every_character_once() -> None:
    import torch

    from dlbook.gpt.torch_backend import GPT
    from dlbook.gpt.train import evaluate

    model = GPT(GPTConfig(vocab_size=5, block_size=8, n_layer=1, n_head=2, n_embd=8), seed=0)
    ids = np.random.default_rng(0).integers(0, 5, 8)  # fits one window: one causal pass
    with torch.no_grad():
        logits = model(torch.as_tensor(ids[None, :-1]))[0]
        ref = torch.nn.functional.cross_entropy(logits, torch.as_tensor(ids[1:])).item()
    assert evaluate(model, ids) == pytest.approx(ref, abs=1e-6)
    assert np.isfinite(evaluate(model, np.tile(ids, 5)))  # several windows, a ragged end
