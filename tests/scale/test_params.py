"""Parameter counts: exact on the book's GPT and on the released GPT-2 checkpoints."""

from __future__ import annotations

import pytest

from dlbook.gpt.config import GPTConfig, count_parameters
from dlbook.scale.params import GPT2_CHECKPOINT_COUNTS, PUBLISHED_CONFIGS, count_gpt_parameters

BOOK_CONFIGS = [
    GPTConfig(vocab_size=23, block_size=64, n_layer=2, n_head=4, n_embd=64),
    GPTConfig(vocab_size=7, block_size=5, n_layer=3, n_head=2, n_embd=8, bias=False),
    GPTConfig(vocab_size=11, block_size=9, n_layer=1, n_head=3, n_embd=12, mlp_ratio=2),
]


@pytest.mark.parametrize("config", BOOK_CONFIGS, ids=lambda c: f"L{c.n_layer}C{c.n_embd}")
def test_untied_count_is_exact_on_the_book_gpt(config: GPTConfig) -> None:
    from dlbook.gpt.torch_backend import GPT

    actual = sum(p.numel() for p in GPT(config).parameters())
    ours = count_gpt_parameters(
        config.n_layer, config.n_embd, config.vocab_size, config.block_size,
        tied_head=False, bias=config.bias, mlp_ratio=config.mlp_ratio,
    )  # fmt: skip
    assert ours["total"] == actual == count_parameters(config)["total"]


def test_gpt2_small_is_124_439_808() -> None:
    assert count_gpt_parameters(12, 768, 50257, 1024)["total"] == 124_439_808


@pytest.mark.parametrize("name", list(GPT2_CHECKPOINT_COUNTS))
def test_every_gpt2_checkpoint_is_exact(name: str) -> None:
    config = next(c for c in PUBLISHED_CONFIGS if c.name == name)
    assert config.count()["total"] == GPT2_CHECKPOINT_COUNTS[name]
    # The paper's rounded numbers were computed differently, but within 7%.
    assert abs(config.count()["total"] / config.reported - 1) < 0.07


def test_gpt3_is_about_175_billion_and_12_L_C_squared() -> None:
    gpt3 = next(c for c in PUBLISHED_CONFIGS if c.name == "GPT-3 175B")
    counts = gpt3.count()
    assert abs(counts["total"] / 175e9 - 1) < 0.005
    assert abs(12 * gpt3.n_layer * gpt3.n_embd**2 / counts["non_embedding"] - 1) < 1e-3


def test_tying_removes_exactly_the_head() -> None:
    tied, untied = (
        count_gpt_parameters(2, 16, 30, 8),
        count_gpt_parameters(2, 16, 30, 8, tied_head=False),
    )
    assert untied["total"] - tied["total"] == 16 * 30 and tied["head"] == 0


@pytest.mark.parametrize("bad", [0, -3, 2.0, True, "12"])
def test_counts_refuse_non_positive_ints(bad: object) -> None:
    with pytest.raises(ValueError, match="n_layer must be a positive int"):
        count_gpt_parameters(bad, 16, 30, 8)  # type: ignore[arg-type]
