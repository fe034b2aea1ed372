"""Training memory: model state by formula, activations against autograd's saved tensors."""

from __future__ import annotations

import pytest

from dlbook.gpt.config import GPTConfig
from dlbook.scale.memory import activation_bytes, model_state_bytes

BOOK = GPTConfig(vocab_size=23, block_size=64, n_layer=2, n_head=4, n_embd=64)


@pytest.mark.parametrize(
    ("mixed", "optimizer", "per_param"),
    [(True, "adam", (2, 2, 12)), (False, "adam", (4, 4, 8)), (True, "sgd", (2, 2, 8)),
     (False, "sgd", (4, 4, 4)), (True, "AdamW", (2, 2, 12))],
)  # fmt: skip
def test_model_state_bytes_per_parameter(mixed: bool, optimizer: str, per_param: tuple) -> None:
    n = 1_000
    state = model_state_bytes(n, mixed_precision=mixed, optimizer=optimizer)
    assert (state["weights"], state["gradients"], state["optimizer"]) == tuple(
        n * k for k in per_param
    )
    assert state["total"] == n * sum(per_param)


def test_mixed_precision_adam_is_16_bytes_per_parameter() -> None:
    assert model_state_bytes(175_000_000_000)["total"] == 16 * 175_000_000_000  # 2.8 TB


@pytest.mark.parametrize("n", [0, -5, 1.5, True, "10"])
def test_model_state_refuses_bad_counts(n: object) -> None:
    with pytest.raises(ValueError, match="positive int"):
        model_state_bytes(n)  # type: ignore[arg-type]


def test_model_state_refuses_unknown_optimizers() -> None:
    with pytest.raises(ValueError, match="optimizer must be"):
        model_state_bytes(10, optimizer="lion")


def test_activation_formula_is_korthikantis_in_fp16_with_dropout() -> None:
    s, b, h, a = 64, 8, 64, 4
    got = activation_bytes(BOOK, b, bytes_per_value=2, dropout=True)["per_layer"]
    assert got == s * b * h * (34 + 5 * a * s // h)


def test_fused_estimate_within_2_percent_of_saved_tensors() -> None:
    import torch

    from dlbook.gpt.torch_backend import GPT
    from dlbook.scale.torch_backend import saved_tensor_bytes

    model = GPT(BOOK, seed=0)
    ids = torch.arange(8 * 64).reshape(8, 64) % 23  # (B, T)
    measured = saved_tensor_bytes(model, ids)
    estimate = activation_bytes(BOOK, 8, attention="fused")["total"]
    assert abs(estimate / measured["activations"] - 1) < 0.02
    assert measured == saved_tensor_bytes(model, ids)  # deterministic
    materialised = activation_bytes(BOOK, 8)["total"]
    assert materialised > 1.1 * measured["activations"]  # the T x T scores are not stored


def test_activation_bytes_validates() -> None:
    with pytest.raises(ValueError, match="attention must be"):
        activation_bytes(BOOK, 8, attention="flash")
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        activation_bytes(BOOK, 0)


def test_profiled_step_holds_adams_moments_afterwards() -> None:
    import torch

    from dlbook.gpt.torch_backend import GPT
    from dlbook.scale.torch_backend import profile_step_memory, saved_tensor_bytes

    model = GPT(BOOK, seed=0)
    ids = torch.arange(4 * 64).reshape(4, 64) % 23  # (B, T)
    saved = saved_tensor_bytes(model, ids)["activations"]
    step = profile_step_memory(model, ids)
    n_params = sum(p.numel() for p in model.parameters())
    assert abs(step["retained"] / (8 * n_params) - 1) < 0.01  # m and v, fp32
    assert step["peak"] >= saved  # the activations are all alive at the end of the forward
