"""Activation checkpointing: identical gradients, far fewer saved bytes, one more forward."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from dlbook.gpt.config import GPTConfig  # noqa: E402
from dlbook.gpt.torch_backend import GPT, loss_and_grads  # noqa: E402
from dlbook.parallel.torch_backend import (  # noqa: E402
    saved_activation_bytes,
    set_activation_checkpointing,
    training_flops,
)

CONFIG = GPTConfig(vocab_size=11, block_size=16, n_layer=3, n_head=2, n_embd=16)


@pytest.fixture(scope="module")
def batch() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.integers(0, 11, size=(4, 16)), rng.integers(0, 11, size=(4, 16))


def test_gradients_are_identical(batch) -> None:
    model = GPT(CONFIG, seed=0, dtype="float64")
    loss, plain = loss_and_grads(model, *batch)
    set_activation_checkpointing(model)
    loss_ck, ckpt = loss_and_grads(model, *batch)
    assert loss_ck == loss
    for name, g in plain.items():
        np.testing.assert_allclose(ckpt[name], g, atol=1e-12, rtol=0, err_msg=name)
    names = [n for n, _ in model.named_parameters()]
    set_activation_checkpointing(model, enabled=False)
    assert [n for n, _ in model.named_parameters()] == names  # nothing renamed
    assert all("forward" not in vars(block) for block in model.h)


def test_checkpointing_saves_memory_and_costs_one_more_forward(batch) -> None:
    model = GPT(CONFIG, seed=0)
    plain_bytes, plain_flops = saved_activation_bytes(model, *batch), training_flops(model, *batch)
    forward = training_flops(model, *batch, backward=False)
    set_activation_checkpointing(model)
    ckpt_bytes, ckpt_flops = saved_activation_bytes(model, *batch), training_flops(model, *batch)
    B, T, C, L = 4, 16, 16, CONFIG.n_layer
    assert ckpt_bytes >= L * B * T * C * 4  # each block's input is still kept
    assert ckpt_bytes < plain_bytes / 3
    assert plain_flops == pytest.approx(3 * forward, rel=0.02)  # backward = 2 x forward
    assert plain_flops < ckpt_flops <= plain_flops + forward  # recompute: at most one forward


def test_wrong_model_is_refused() -> None:
    with pytest.raises(TypeError, match="GPT"):
        set_activation_checkpointing(torch.nn.Linear(2, 2))
