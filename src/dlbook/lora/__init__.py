"""LoRA: fine-tune a frozen weight through a low-rank update (chapter 10).

Low-rank adaptation (Hu et al., 2022) keeps a pretrained weight W (in, out) frozen and
learns a correction of rank r << min(in, out)::

    y = x W + b + s (x A) B,      A (in, r),  B (r, out),  s = alpha / r

Only A and B train: r (in + out) numbers instead of in * out. A starts random,
A ~ N(0, std^2), and B starts at zero, so the wrapped layer starts *exactly* equal to
the base layer, and fine-tuning begins from the pretrained model. After training the
update folds into the weight, W' = W + s A B (:func:`merge_lora`), and inference costs
nothing extra.

Pick a backend module; all three export the same names::

    from dlbook.lora import numpy_backend as lora_np       # explicit backward
    from dlbook.lora import torch_backend as lora_torch    # + LoRALinear, add_lora, finetune
    from dlbook.lora import tensorflow_backend as lora_tf

Shared API (arrays are the backend's: ndarray, torch.Tensor or tf.Tensor):

==================================================  ===========================================
``lora_forward(x, W, A, B, alpha, b=None)``         x (N, in) -> y (N, out), the formula above
``merge_lora(W, A, B, alpha)``                      a new W + (alpha / r) A B; inputs unchanged
``lora_loss_and_grads(x, W, A, B, alpha, b, d_y)``  loss = sum(y * d_y), gradients for A, B, x
==================================================  ===========================================

The NumPy backend adds the hand-written ``lora_backward``. The torch backend adds
``LoRALinear`` (wraps an ``nn.Linear``), ``add_lora(model, targets, r, alpha, seed)``,
``trainable_fraction``, ``merge_lora_`` and ``finetune`` / ``compare_finetuning``.
:mod:`dlbook.lora.tasks` builds the *shifted* corpus that chapter 10 fine-tunes on.
This package and :mod:`dlbook.lora.tasks` import no framework.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from dlbook.seeding import make_rng

DEFAULT_TARGETS = ("attn.W_q", "attn.W_v")  # Hu et al. adapt the query and value projections

# The names every backend module of this concept exports, with the same parameters
# (a backend may add trailing optional ones); tests/test_shared_api.py checks it.
SHARED_API = (
    "lora_forward",
    "merge_lora",
    "lora_loss_and_grads",
)

__all__ = [
    "SHARED_API",
    "DEFAULT_TARGETS",
    "backend",
    "check_lora_shapes",
    "init_lora",
    "lora_scaling",
]


def backend(name: str) -> ModuleType:
    """The ``dlbook.lora`` module of a backend: ``"numpy"``, ``"torch"`` or ``"tf"``."""
    from dlbook.backends import load_backend

    return load_backend("lora", name)


def lora_scaling(alpha: float, r: int) -> float:
    """s = alpha / r: with it, changing r does not change the size of the update at init."""
    if isinstance(r, bool) or not isinstance(r, (int, np.integer)) or r < 1:
        raise ValueError(f"The LoRA rank r must be a positive integer, got {r!r}.")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.number)):
        raise TypeError(
            f"alpha must be a number (the update is scaled by alpha / r), got {alpha!r}."
        )
    return float(alpha) / int(r)


def check_lora_shapes(
    W_shape: tuple[int, ...], A_shape: tuple[int, ...], B_shape: tuple[int, ...]
) -> int:
    """Check W (in, out), A (in, r), B (r, out) and return the rank r."""
    if len(W_shape) != 2:
        raise ValueError(f"W must be a matrix (in, out), got shape {W_shape}.")
    d_in, d_out = W_shape
    if len(A_shape) != 2 or A_shape[0] != d_in:
        raise ValueError(
            f"A has shape {A_shape} but must be (in, r) = ({d_in}, r): it reads the layer's "
            f"input, like W {W_shape}."
        )
    r = A_shape[1]
    if len(B_shape) != 2 or B_shape != (r, d_out):
        raise ValueError(
            f"B has shape {B_shape} but must be (r, out) = ({r}, {d_out}): it maps A's r "
            "outputs to the layer's outputs."
        )
    if r < 1:
        raise ValueError("The rank r (A's second axis) must be at least 1.")
    return r


def init_lora(
    d_in: int,
    d_out: int,
    r: int,
    rng: np.random.Generator | int = 0,
    *,
    std: float | None = None,
    dtype: str = "float64",
) -> tuple[np.ndarray, np.ndarray]:
    """(A (in, r), B (r, out)): A ~ N(0, std^2) with std = 1 / sqrt(in) by default, B = 0.

    B = 0 makes s (x A) B = 0, so the adapted layer starts equal to the frozen one
    (Hu et al., 2022); a random A lets the gradient of B be non-zero from the first
    step (dL/dB = s (x A)^T dL/dy). Every backend starts from these NumPy arrays.
    """
    lora_scaling(1.0, r)  # checks r
    for name, n in (("d_in", d_in), ("d_out", d_out)):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"{name} must be a positive integer, got {n!r}.")
    std = 1.0 / np.sqrt(d_in) if std is None else float(std)
    A = make_rng(rng).normal(0.0, std, size=(d_in, r)).astype(dtype)  # (in, r)
    return A, np.zeros((r, d_out), dtype=dtype)  # B (r, out)


def check_alpha_rank(A: Any, alpha: float) -> float:
    """s = alpha / r for the rank r read off A (in, r)."""
    return lora_scaling(alpha, int(A.shape[1]))
