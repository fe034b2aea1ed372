r"""Fine-tuning losses for language models: the masked SFT loss and DPO (chapter 7).

Shape legend: B = sequences (or preference pairs), T = positions, V = vocabulary.

=====================================================  =========================================
name                                                   what it is
=====================================================  =========================================
``token_logprobs(logits, targets)``                    log p(target_t | ...) per position (B, T)
``sequence_logprob(logits, targets, mask)``            sum over masked positions, (B,)
``masked_cross_entropy(logits, targets, mask)``        mean -log p over the masked positions
``dpo_loss(pi_c, pi_r, ref_c, ref_r, beta)``           mean -log sigma(beta (Delta_c - Delta_r))
``dpo_rewards(pi_c, pi_r, ref_c, ref_r, beta)``        implicit rewards beta (log pi - log ref)
=====================================================  =========================================

The NumPy backend adds ``sequence_logprob_backward``,
``masked_cross_entropy_backward`` and ``dpo_loss_backward``; the torch backend
returns tensors that carry autograd.

**Supervised fine-tuning (SFT)** on a prompt x and a response y trains

.. math::

    L_\text{SFT} = -\frac{\sum_t m_t \log p(y_t \mid y_{<t}, x)}{\sum_t m_t},

where the mask :math:`m_t` is 1 on the tokens of the response and 0 on the
prompt, so the model learns to answer, not to write prompts.

**DPO** (Rafailov et al., 2023). RLHF fits a reward model :math:`r(x, y)` to human
preferences under the Bradley-Terry model,
:math:`p(y_c \succ y_r) = \sigma(r(x, y_c) - r(x, y_r))`, then maximises
:math:`\mathbb{E}[r] - \beta\,\mathrm{KL}(\pi \,\|\, \pi_\text{ref})`. That
KL-regularised problem has the closed-form optimum

.. math::

    \pi^*(y \mid x) = \frac{1}{Z(x)}\, \pi_\text{ref}(y \mid x)\, e^{r(x, y) / \beta},
    \qquad
    r(x, y) = \beta \log \frac{\pi^*(y \mid x)}{\pi_\text{ref}(y \mid x)} + \beta \log Z(x).

Put this r into Bradley-Terry: :math:`Z(x)` cancels in the difference, and the
likelihood of the preferences becomes a loss on the policy itself, with no reward
model and no sampling:

.. math::

    L_\text{DPO} = -\frac{1}{B} \sum_b \log \sigma(z_b), \qquad
    z = \beta \Big[\Big(\log \pi(y_c \mid x) - \log \pi_\text{ref}(y_c \mid x)\Big)
          - \Big(\log \pi(y_r \mid x) - \log \pi_\text{ref}(y_r \mid x)\Big)\Big].

Its gradient with respect to :math:`\log \pi(y_c \mid x)` is
:math:`-\beta\, \sigma(-z) / B`, and the opposite for :math:`y_r`: pairs the
model already ranks well (z large) stop pulling.

There is a NumPy backend (explicit backward) and a PyTorch one; no TensorFlow
backend, because the chapter fine-tunes only the PyTorch GPT and these losses
act on its logits.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np


def backend(name: str) -> ModuleType:
    """The ``dlbook.alignment`` module of a backend: ``"numpy"`` or ``"torch"``."""
    from dlbook.backends import load_backend

    return load_backend("alignment", name)


def check_beta(beta: Any) -> float:
    """beta > 0: the strength of the KL leash to the reference model."""
    if isinstance(beta, bool) or not isinstance(beta, (int, float, np.floating, np.integer)):
        raise TypeError(f"beta must be a positive number, got {type(beta).__name__}.")
    if not np.isfinite(beta) or beta <= 0:
        raise ValueError(f"beta must be a positive finite number, got {beta!r}.")
    return float(beta)


def check_lm_shapes(
    logits_shape: tuple[int, ...],
    targets_shape: tuple[int, ...],
    mask_shape: tuple[int, ...] | None,
) -> None:
    """logits (B, T, V), targets (B, T), mask (B, T): refuse anything else by name."""
    if len(logits_shape) != 3:
        raise ValueError(
            f"logits must have shape (B, T, V), one row of V scores per position; got "
            f"shape {logits_shape}."
        )
    if tuple(targets_shape) != tuple(logits_shape[:2]):
        raise ValueError(
            f"targets must have shape (B, T) = {logits_shape[:2]}, one next token per "
            f"position of the logits; got {targets_shape}."
        )
    if mask_shape is not None and tuple(mask_shape) != tuple(logits_shape[:2]):
        raise ValueError(
            f"mask must have shape (B, T) = {logits_shape[:2]} like the targets; got {mask_shape}."
        )


def check_targets(targets: np.ndarray, vocab_size: int) -> None:
    """Integer targets in [0, V)."""
    if not np.issubdtype(targets.dtype, np.integer):
        raise TypeError(f"targets must be integer token ids, got dtype {targets.dtype}.")
    if targets.size and (targets.min() < 0 or targets.max() >= vocab_size):
        raise ValueError(
            f"targets must lie in [0, {vocab_size}) for a vocabulary of {vocab_size}; found "
            f"values from {targets.min()} to {targets.max()}."
        )


def check_mask_count(n_masked: float) -> None:
    """A loss averaged over masked tokens needs at least one of them."""
    if n_masked <= 0:
        raise ValueError(
            "the mask selects no position: the loss over the response tokens is 0 / 0. "
            "Check that every example has a non-empty response and mask = 1 on it."
        )


def check_logprob_pairs(*shapes: tuple[int, ...]) -> None:
    """The four log-probabilities of DPO are (B,) each, one per preference pair."""
    names = ("policy_chosen", "policy_rejected", "ref_chosen", "ref_rejected")
    for name, shape in zip(names, shapes, strict=True):
        if len(shape) != 1 or shape != shapes[0]:
            raise ValueError(
                f"{name} must have shape (B,), one summed log-probability per preference "
                f"pair, like policy_chosen {shapes[0]}; got {shape}."
            )
