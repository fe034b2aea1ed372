"""FLOPs per token: the formula against torch.utils.flop_counter (the acceptance test)."""

from __future__ import annotations

import pytest

from dlbook.gpt.config import GPTConfig
from dlbook.scale.flops import flops_per_token

# Small, B = 1, chosen where the formula's assumptions hold: C >= 64 with biases (the
# biases and LayerNorms it counts are ~13/(12C) of the weights' FLOPs) and T <= C (the
# fused attention's recomputation in the backward, which the formula leaves out, is small).
MEASURED = [
    GPTConfig(vocab_size=23, block_size=64, n_layer=2, n_head=4, n_embd=64),
    GPTConfig(vocab_size=23, block_size=32, n_layer=1, n_head=2, n_embd=128),
    GPTConfig(vocab_size=50, block_size=16, n_layer=3, n_head=4, n_embd=256, bias=False),
    GPTConfig(vocab_size=40, block_size=32, n_layer=2, n_head=3, n_embd=96, mlp_ratio=2),
]


@pytest.mark.parametrize(
    "config", MEASURED, ids=lambda c: f"L{c.n_layer}C{c.n_embd}T{c.block_size}"
)
def test_formula_within_2_percent_of_flop_counter(config: GPTConfig) -> None:
    import torch

    from dlbook.gpt.torch_backend import GPT
    from dlbook.scale.torch_backend import measure_flops

    ids = torch.arange(config.block_size)[None] % config.vocab_size  # (1, T)
    measured = measure_flops(GPT(config, seed=0), ids)
    formula = flops_per_token(config)
    T = config.block_size
    for key in ("forward", "total"):
        rel = formula[key] / (measured[key] / T) - 1
        assert abs(rel) < 0.02, f"{key}: formula {formula[key]} vs {measured[key] / T} ({rel:+.2%})"
    assert measured["forward"] > 0 and measured["backward"] > measured["forward"]


def test_forward_only_measures_no_backward() -> None:
    import torch

    from dlbook.gpt.torch_backend import GPT
    from dlbook.scale.torch_backend import measure_flops

    model = GPT(MEASURED[0], seed=0)
    out = measure_flops(model, torch.zeros(1, 8, dtype=torch.long), backward=False)
    assert out["backward"] == 0 and out["total"] == out["forward"] > 0
    assert all(p.grad is None for p in model.parameters())


def test_backward_is_twice_forward_and_causal_halves_attention() -> None:
    config = MEASURED[0]
    dense, causal = flops_per_token(config), flops_per_token(config, causal=True)
    assert dense["backward"] == 2 * dense["forward"] and dense["total"] == 3 * dense["forward"]
    L, T, C = config.n_layer, config.block_size, config.n_embd
    assert dense["forward"] - causal["forward"] == 2 * L * T * C
    assert flops_per_token(config, context=2 * T)["forward"] - dense["forward"] == 4 * L * T * C


def test_causal_total_is_chapter_4s_model_flops_per_token() -> None:
    from dlbook.gpt.train import model_flops_per_token

    for config in MEASURED:
        assert flops_per_token(config, causal=True)["total"] == model_flops_per_token(config)


@pytest.mark.parametrize("context", [0, -1, 3.5, True])
def test_context_must_be_a_positive_int(context: object) -> None:
    with pytest.raises(ValueError, match="context must be a positive int"):
        flops_per_token(MEASURED[0], context=context)  # type: ignore[arg-type]


def test_config_must_be_a_gpt_config() -> None:
    with pytest.raises(TypeError, match="GPTConfig"):
        flops_per_token({"n_layer": 2})  # type: ignore[arg-type]
