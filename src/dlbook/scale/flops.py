"""FLOPs of a GPT per token, forward and backward, by formula (no framework needed).

Shape legend: T = context (tokens each one attends over), C = n_embd, L = n_layer,
N = parameters that take part in matrix products.

A matrix product (M, K) @ (K, N) costs 2 M K N floating-point operations: one
multiply and one add per term. A weight W of shape (K, N) applied to one token's
K-vector is therefore **2 FLOPs per weight per token**, so a forward pass costs

    forward  = 2 N_mm + 4 L T C          per token,

where the second term is attention, which has no weights: QK^T (T scores of width
C per head summed over heads: 2 T C) and AV (2 T C again), per layer. The backward
pass does two products per forward product, one for the gradient of the input
(dL/dx = dL/dy W^T) and one for the gradient of the weight (dL/dW = x^T dL/dy):

    backward = 2 * forward,    total = 3 * forward = 6 N_mm + 12 L T C.

Ignoring attention, that is the **6 N D** rule: training on D tokens costs 6 N D FLOPs.
"""

from __future__ import annotations

from dlbook.gpt.config import GPTConfig, count_parameters


def flops_per_token(
    config: GPTConfig, context: int | None = None, causal: bool = False
) -> dict[str, int]:
    """Forward, backward and total FLOPs per token of a GPT, by formula.

    ``N_mm = count_parameters(config)["total"] - ["embeddings"]``: every parameter
    but the two lookup tables, with T = ``context`` (default ``config.block_size``):

        forward = 2 N_mm + 4 L T C        (dense attention: QK^T and AV, 2 T C each)
        forward = 2 N_mm + 2 L T C        (``causal=True``: only half the scores are needed)
        backward = 2 forward,   total = 3 forward

    **What the formula counts that a FLOP counter does not.** N_mm includes the
    biases (9 C per block with the MLP width 4C) and the LayerNorm gains and offsets
    (4 C per block, plus 2 C at the end), as the 2N convention of Kaplan et al. (2020)
    counts every non-embedding parameter. They cost a few element-wise operations per
    token, not 2 FLOPs in a matrix product, so ``torch.utils.flop_counter.FlopCounterMode``,
    which counts matrix products only, measures 2 (N_mm - 13 L C - 2 C) for the weights:
    the formula is high by about 13 / (12 C) of the weights' share, under 2% once
    C >= 64 (1 / (3 C) without biases). FlopCounterMode also counts attention dense,
    as ``causal=False`` does; a kernel that skips masked blocks does about half, which
    is what ``causal=True`` assumes. And a fused attention kernel stores no scores, so
    its backward recomputes QK^T: 2 L T C more per token that the counter sees and the
    formula, which counts the model's FLOPs and not the implementation's, leaves out.

    **Relation to** :func:`dlbook.gpt.train.model_flops_per_token` (6N + 6 L T C, which
    chapter 6 prints): it is this function's ``total`` with ``causal=True``.
    """
    if not isinstance(config, GPTConfig):
        raise TypeError(f"config must be a dlbook.gpt.GPTConfig, got {type(config).__name__}.")
    T = config.block_size if context is None else context
    if isinstance(T, bool) or not isinstance(T, int) or T <= 0:
        raise ValueError(f"context must be a positive int (tokens attended over), got {T!r}.")
    counts = count_parameters(config)
    n_mm = counts["total"] - counts["embeddings"]
    attention = (2 if causal else 4) * config.n_layer * T * config.n_embd
    forward = 2 * n_mm + attention
    return {"forward": forward, "backward": 2 * forward, "total": 3 * forward}
