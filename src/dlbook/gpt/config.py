"""The GPT's size, its parameter count by formula, and the shared initial weights.

Shape legend: V = vocabulary size, T = block size (longest context), C = width of
the residual stream (``n_embd``), L = number of blocks (``n_layer``).

Every backend starts from :func:`init_weights`, a flat dict of NumPy arrays in the
*canonical* layout (matrices stored (in, out), so ``y = x @ W + b``)::

    tok_emb (V, C)   pos_emb (T, C)
    h{i}.ln1.gamma, h{i}.ln1.beta (C,)
    h{i}.attn.W_q, W_k, W_v, W_o (C, C)   h{i}.attn.b_q, b_k, b_v, b_o (C,)   [biases if bias]
    h{i}.ln2.gamma, h{i}.ln2.beta (C,)
    h{i}.mlp.W_1 (C, 4C)  h{i}.mlp.b_1 (4C,)  h{i}.mlp.W_2 (4C, C)  h{i}.mlp.b_2 (C,)
    ln_f.gamma, ln_f.beta (C,)
    head.W (C, V)

The output head is *untied* from ``tok_emb`` and has *no bias*: the final
LayerNorm's beta already adds a learnable offset before it, and keeping the two
matrices apart makes the parameter count and the gradients of each easy to read.
``bias=False`` drops the biases of the attention and MLP projections only; the
LayerNorms always keep their beta.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from dlbook._validate import as_token_ids
from dlbook.seeding import make_rng

INIT_STD = 0.02  # GPT-2's standard deviation for every weight matrix and embedding


@dataclass(frozen=True)
class GPTConfig:
    """Size of a pre-LayerNorm GPT (decoder-only transformer)."""

    vocab_size: int  # V: number of distinct tokens (characters here)
    block_size: int = 64  # T: longest context; pos_emb has one row per position
    n_layer: int = 2  # L: transformer blocks stacked on the residual stream
    n_head: int = 4  # H: attention heads per block; each has width C / H
    n_embd: int = 64  # C: width of the residual stream
    mlp_ratio: int = 4  # the MLP's hidden width is mlp_ratio * C
    bias: bool = True  # biases in the attention and MLP projections (LayerNorms keep beta)
    dropout: float = 0.0  # dropout probability (torch only; 0 keeps all backends identical)

    def __post_init__(self) -> None:
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd", "mlp_ratio"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
                raise ValueError(f"GPTConfig.{name} must be a positive integer, got {value!r}.")
        if self.n_embd % self.n_head:
            raise ValueError(
                f"GPTConfig: n_embd = {self.n_embd} must be divisible by n_head = {self.n_head}, "
                "so that every head gets n_embd / n_head channels."
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"GPTConfig.dropout must lie in [0, 1), got {self.dropout!r}.")

    @property
    def d_mlp(self) -> int:
        """Hidden width of each block's MLP, mlp_ratio * C."""
        return self.mlp_ratio * self.n_embd


def count_parameters(config: GPTConfig) -> dict[str, int]:
    """Parameters by formula, per part and in total (``tests/gpt`` checks it against the models).

    embeddings V*C + T*C; per block 2 LayerNorms 2*2C, attention 4C^2 (+ 4C biases),
    MLP 2*rC^2 (+ rC + C biases) with r = mlp_ratio; final LayerNorm 2C; head C*V.
    """
    V, T, C, L = config.vocab_size, config.block_size, config.n_embd, config.n_layer
    Dm, b = config.d_mlp, int(config.bias)
    per_block = {
        "layer_norms": 2 * 2 * C,
        "attention": 4 * C * C + b * 4 * C,
        "mlp": 2 * C * Dm + b * (Dm + C),
    }
    counts = {
        "embeddings": V * C + T * C,
        **{k: L * v for k, v in per_block.items()},
        "ln_f": 2 * C,
        "head": C * V,
    }
    counts["total"] = sum(counts.values())
    return counts


def weight_shapes(config: GPTConfig) -> dict[str, tuple[int, ...]]:
    """Name -> shape of every canonical weight, in a fixed order."""
    V, T, C, Dm = config.vocab_size, config.block_size, config.n_embd, config.d_mlp
    shapes: dict[str, tuple[int, ...]] = {"tok_emb": (V, C), "pos_emb": (T, C)}
    for i in range(config.n_layer):
        p = f"h{i}."
        shapes.update({p + "ln1.gamma": (C,), p + "ln1.beta": (C,)})
        shapes.update({p + f"attn.W_{n}": (C, C) for n in "qkvo"})
        if config.bias:
            shapes.update({p + f"attn.b_{n}": (C,) for n in "qkvo"})
        shapes.update({p + "ln2.gamma": (C,), p + "ln2.beta": (C,)})
        shapes.update({p + "mlp.W_1": (C, Dm), p + "mlp.W_2": (Dm, C)})
        if config.bias:
            shapes.update({p + "mlp.b_1": (Dm,), p + "mlp.b_2": (C,)})
    shapes.update({"ln_f.gamma": (C,), "ln_f.beta": (C,), "head.W": (C, V)})
    return shapes


def init_weights(config: GPTConfig, seed: int = 0, dtype: str = "float32") -> dict[str, np.ndarray]:
    """GPT-2's initialisation, drawn in NumPy so that every backend starts identical.

    Weight matrices and embeddings ~ N(0, 0.02^2); biases 0; LayerNorm gamma 1, beta 0.
    The two *residual projections* of each block (``attn.W_o`` and ``mlp.W_2``) are
    scaled by 1 / sqrt(2 L), as in GPT-2: each block adds two terms to the residual
    stream, so its variance grows with 2L terms, and the scaling keeps it near 0.02^2.
    """
    rng = make_rng(seed)
    resid_std = INIT_STD / np.sqrt(2 * config.n_layer)
    weights = {}
    for name, shape in weight_shapes(config).items():
        leaf = name.rsplit(".", 1)[-1]
        if leaf == "gamma":
            w = np.ones(shape)
        elif leaf == "beta" or leaf.startswith("b_"):
            w = np.zeros(shape)
        else:
            std = resid_std if leaf in ("W_o", "W_2") else INIT_STD
            w = rng.normal(0.0, std, size=shape)
        weights[name] = w.astype(dtype)
    return weights


def check_weights(weights: dict[str, np.ndarray], config: GPTConfig) -> None:
    """Raise a readable error if ``weights`` misses a name or has a wrong shape."""
    for name, shape in weight_shapes(config).items():
        got = np.shape(weights[name]) if name in weights else None
        if got != shape:
            raise ValueError(
                f"set_weights: expected {name!r} of shape {shape}, got {got}. The canonical "
                "names and shapes are listed by dlbook.gpt.config.weight_shapes(config)."
            )


def check_ids(ids: Any, config: GPTConfig, *, past: int = 0, name: str = "ids") -> np.ndarray:
    """Integer token ids (B, T) with ``past + T <= block_size`` and every id in [0, V).

    A negative id would silently read the *last* rows of the embedding table
    (Python indexing), and an id >= V one that does not exist.
    """
    if hasattr(ids, "detach"):  # a torch tensor
        ids = ids.detach().cpu().numpy()
    ids = np.asarray(ids)
    if ids.ndim != 2 or ids.dtype == bool or not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(
            f"GPT expects integer token ids of shape (B, T), got shape {ids.shape} and dtype "
            f"{ids.dtype}. A single sequence needs a batch axis: {name}[None]."
        )
    if past + ids.shape[1] > config.block_size:
        raise ValueError(
            f"{past} cached + {ids.shape[1]} new tokens exceed block_size = {config.block_size}: "
            "there is no position embedding beyond it. Crop to the last block_size tokens."
        )
    return as_token_ids(ids, config.vocab_size, name)


def check_targets(targets: Any, ids_shape: tuple[int, ...], config: GPTConfig) -> np.ndarray:
    """Next-token targets of exactly the shape of the ids (B, T), each in [0, V).

    Transposed targets (T, B) hold the same number of entries, so a reshape to
    (B * T,) would accept them and pair every prediction with a wrong target.
    """
    if hasattr(targets, "detach"):
        targets = targets.detach().cpu().numpy()
    targets = np.asarray(targets)
    if targets.shape != tuple(ids_shape):
        raise ValueError(
            f"targets have shape {targets.shape} but ids have shape {tuple(ids_shape)}: "
            "targets[b, t] is the token after ids[b, t], so the shapes must match "
            "(transposed targets would pair each prediction with a wrong token)."
        )
    return as_token_ids(targets, config.vocab_size, "targets")
