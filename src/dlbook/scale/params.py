"""Parameter counts of GPT-style models by formula, and the published configurations.

Shape legend: L = n_layer, C = n_embd, V = vocab size, T = block size (context),
r = mlp_ratio (the MLP is C -> rC -> C).

A block holds the attention projections W_q, W_k, W_v, W_o (4 C^2), the MLP
(2 r C^2 = 8 C^2) and two LayerNorms, so a model has about

    N ~ 12 L C^2   (+ V C + T C for the embeddings)

parameters: the quadratic term dominates once C is in the hundreds.
"""

from __future__ import annotations

from dataclasses import dataclass


def _positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive int, got {value!r}.")
    return value


def count_gpt_parameters(
    n_layer: int,
    n_embd: int,
    vocab_size: int,
    block_size: int,
    *,
    tied_head: bool = True,
    bias: bool = True,
    mlp_ratio: int = 4,
) -> dict[str, int]:
    """Parameters of a GPT-2-style model, per part and in total.

    embeddings V C + T C; per block 2 LayerNorms 2 * 2C, attention 4 C^2 (+ 4C biases),
    MLP 2 r C^2 (+ rC + C biases); final LayerNorm 2C; head C V, or 0 when the head is
    *tied* to the token embedding (GPT-2 and GPT-3 reuse ``tok_emb`` as the output
    matrix). ``"non_embedding"`` is the total without the two embedding tables, the N
    of Kaplan et al. (2020). The book's own GPT (``dlbook.gpt``) is
    ``tied_head=False``, and then this equals :func:`dlbook.gpt.config.count_parameters`.
    """
    L, C = _positive_int(n_layer, "n_layer"), _positive_int(n_embd, "n_embd")
    V, T = _positive_int(vocab_size, "vocab_size"), _positive_int(block_size, "block_size")
    r, b = _positive_int(mlp_ratio, "mlp_ratio"), int(bool(bias))
    counts = {
        "embeddings": V * C + T * C,
        "layer_norms": L * 2 * 2 * C,
        "attention": L * (4 * C * C + b * 4 * C),
        "mlp": L * (2 * r * C * C + b * (r * C + C)),
        "ln_f": 2 * C,
        "head": 0 if tied_head else C * V,
    }
    counts["total"] = sum(counts.values())
    counts["non_embedding"] = counts["total"] - counts["embeddings"]
    return counts


@dataclass(frozen=True)
class PublishedConfig:
    """The shape of a published GPT, with the parameter count its authors report."""

    name: str  # the model's name in its paper
    n_layer: int  # L: transformer blocks
    n_embd: int  # C: width of the residual stream (d_model)
    n_head: int  # H: attention heads per block
    vocab_size: int  # V: BPE vocabulary (50,257 for GPT-2 and GPT-3)
    block_size: int  # T: context length in tokens
    reported: float  # parameters as the paper reports them (rounded there)
    source: str  # BibTeX key of the paper (references.bib)

    def count(self) -> dict[str, int]:
        """:func:`count_gpt_parameters` for this shape (tied head, biases, 4C MLP)."""
        return count_gpt_parameters(self.n_layer, self.n_embd, self.vocab_size, self.block_size)


# GPT-2: L and d_model from Radford et al. (2019), Table 2 (which reports 117M, 345M, 762M
# and 1542M); V = 50,257 and T = 1024 from section 2.3; head counts from the released
# checkpoints (head width 64). The exact counts of those checkpoints are 124,439,808,
# 354,823,168, 774,030,080 and 1,557,611,200: the paper's numbers were computed before
# the final architecture. GPT-3 175B: Brown et al. (2020), Table 2.1 (T = 2048).
PUBLISHED_CONFIGS: tuple[PublishedConfig, ...] = (
    PublishedConfig("GPT-2 small", 12, 768, 12, 50257, 1024, 117e6, "radford2019language"),
    PublishedConfig("GPT-2 medium", 24, 1024, 16, 50257, 1024, 345e6, "radford2019language"),
    PublishedConfig("GPT-2 large", 36, 1280, 20, 50257, 1024, 762e6, "radford2019language"),
    PublishedConfig("GPT-2 XL", 48, 1600, 25, 50257, 1024, 1542e6, "radford2019language"),
    PublishedConfig("GPT-3 175B", 96, 12288, 96, 50257, 2048, 175.0e9, "brown2020language"),
)

# Exact parameter counts of the released GPT-2 checkpoints (counted from their weights).
GPT2_CHECKPOINT_COUNTS = {
    "GPT-2 small": 124_439_808,
    "GPT-2 medium": 354_823_168,
    "GPT-2 large": 774_030_080,
    "GPT-2 XL": 1_557_611_200,
}
