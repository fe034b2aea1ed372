"""Bytes of training state: weights, gradients and optimizer moments; and activations.

Shape legend: s = T tokens per sequence, b = B sequences, h = C channels, a = H heads,
v = V vocabulary, L = n_layer, N = parameters.

**Model state** (Rajbhandari et al. 2020, ZeRO). With mixed-precision Adam, each
parameter holds a 16-bit weight (2 bytes) and gradient (2), and the optimizer keeps
an fp32 master copy of the weight (4) and Adam's two moments m and v (4 + 4):
16 bytes per parameter. In plain fp32 the weight and gradient take 4 bytes each and
the optimizer only the moments: also 16 bytes. Momentum SGD keeps one moment.

**Activations** (Korthikanti et al. 2022): what the forward pass must keep for the
backward pass, which grows with the batch and the context instead of with N.
"""

from __future__ import annotations

from dlbook.gpt.config import GPTConfig

# optimizer -> (fp32 moments per parameter); the master copy is added in mixed precision
_MOMENTS = {"adam": 2, "adamw": 2, "sgd": 1}


def model_state_bytes(
    n_params: int, mixed_precision: bool = True, optimizer: str = "adam"
) -> dict[str, int]:
    """Bytes of weights, gradients and optimizer state for ``n_params`` parameters.

    ==========================  =======  =========  ====================================
    setting                     weights  gradients  optimizer
    ==========================  =======  =========  ====================================
    mixed precision, Adam       2N       2N         12N: fp32 master 4N, m 4N, v 4N
    fp32, Adam                  4N       4N         8N: m 4N, v 4N
    mixed precision, SGD        2N       2N         8N: fp32 master 4N, momentum 4N
    fp32, SGD                   4N       4N         4N: momentum 4N
    ==========================  =======  =========  ====================================

    ``optimizer`` is ``"adam"`` (``"adamw"`` is the same) or ``"sgd"`` (with momentum).
    """
    if isinstance(n_params, bool) or not isinstance(n_params, int) or n_params <= 0:
        raise ValueError(f"n_params must be a positive int (a parameter count), got {n_params!r}.")
    if not isinstance(optimizer, str) or optimizer.lower() not in _MOMENTS:
        raise ValueError(
            f"optimizer must be 'adam' (or 'adamw') or 'sgd' (momentum SGD), got {optimizer!r}."
        )
    half = 2 if mixed_precision else 4  # bytes of the weight and gradient as the model sees them
    master = 4 if mixed_precision else 0  # the fp32 copy the optimizer updates
    state = {
        "weights": half * n_params,
        "gradients": half * n_params,
        "optimizer": (master + 4 * _MOMENTS[optimizer.lower()]) * n_params,
    }
    state["total"] = sum(state.values())
    return state


def activation_bytes(
    config: GPTConfig,
    batch_size: int,
    *,
    context: int | None = None,
    bytes_per_value: int = 4,
    attention: str = "materialised",
    dropout: bool = False,
) -> dict[str, int]:
    """Bytes that one training step keeps from the forward pass for the backward pass.

    Korthikanti et al. (2022) count, per transformer layer, with s = T, b = B, h = C,
    a = H, in 16-bit values with 1-byte dropout masks: sbh (34 + 5 a s / h) bytes.
    In *values* (multiply by ``bytes_per_value``) the inputs that the backward needs are:

    * attention: LN1's output (sbh), Q and K (2 sbh), the softmax output (a s^2 b),
      V (sbh), the input of W_o (sbh);
    * MLP: its input (sbh), the GELU's input (4 sbh) and output (4 sbh);
    * the two LayerNorms' inputs (2 sbh);

    that is 16 sbh + a s^2 b values. ``dropout=True`` adds what their count has for
    dropout: a 1-byte mask for the attention probabilities (a s^2 b) and their dropped
    copy (a s^2 b values), and 1-byte masks after attention and after the MLP (2 sbh).
    With ``bytes_per_value=2`` that is exactly their sbh (34 + 5 a s / h).

    ``attention="fused"`` assumes a fused kernel (FlashAttention, Dao et al. 2022; what
    ``F.scaled_dot_product_attention`` runs): the a s^2 b probabilities are never stored,
    only one log-sum-exp per query and head (a s b values), and the backward recomputes
    them. Its output is the input of W_o, so nothing else changes.

    ``"output"`` is what sits after the last block, which Korthikanti et al. leave out
    as small for large models: the final LayerNorm's input and output (2 sbh) and the
    log-probabilities of the cross-entropy (s b V). Not counted anywhere: LayerNorm's
    mean and 1/std (2 s b values each), the token ids, the mask; a few percent at most.
    """
    if attention not in ("materialised", "fused"):
        raise ValueError(f"attention must be 'materialised' or 'fused', got {attention!r}.")
    for name, value in (("batch_size", batch_size), ("bytes_per_value", bytes_per_value)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"{name} must be a positive int, got {value!r}.")
    s = config.block_size if context is None else context
    b, h, a, p = batch_size, config.n_embd, config.n_head, bytes_per_value
    scores = a * s * s * b  # one attention probability per head, query and key
    per_layer = p * 16 * s * b * h
    per_layer += p * scores if attention == "materialised" else p * a * s * b
    if dropout:
        per_layer += (scores + p * scores if attention == "materialised" else 0) + 2 * s * b * h
    out = {
        "per_layer": per_layer,
        "layers": config.n_layer * per_layer,
        "output": p * (2 * s * b * h + s * b * config.vocab_size),
    }
    out["total"] = out["layers"] + out["output"]
    return out
