"""What "large" costs: parameters, FLOPs, memory, scaling laws and published models.

Pure-Python formulas (no framework is imported):

=====================================  ===================================================
name                                   what it is
=====================================  ===================================================
``params.count_gpt_parameters``        ``(L, C, V, T, *, tied_head=True, bias=True,
                                       mlp_ratio=4)``: parameters per part of a GPT-2-style
                                       model; 124,439,808 for GPT-2 small
``params.PUBLISHED_CONFIGS``           GPT-2 small to XL and GPT-3 175B, with sources
``flops.flops_per_token``              ``(config, context=None, causal=False)``: forward
                                       2N + 4LTC (causal 2LTC), backward 2x, total 3x
``memory.model_state_bytes``           ``(n_params, mixed_precision=True, optimizer="adam")``:
                                       weights, gradients, optimizer; 16 bytes per parameter
``memory.activation_bytes``            ``(config, batch_size, *, context, bytes_per_value,
                                       attention, dropout)``: saved activations
                                       (Korthikanti et al. 2022), materialised or fused
``scaling.fit_power_law``              ``(x, y) -> (a, b)`` with y ~ a x^b: a line in log-log
``scaling.fit_power_law_with_floor``   ``(n, loss)``: L = E + A N^-alpha, standard errors
``scaling.compute_optimal``            ``(compute, tokens_per_param=20.0) -> (N, D)`` with
                                       C = 6ND, D = 20N (Hoffmann et al. 2022)
``scaling.load_ladder``                the ladder trained by ``tools/scaling_ladder.py``
``history.load_published_models``      GPT-1 .. Llama 3: year, N, D, C, each with its paper
=====================================  ===================================================

PyTorch only (``torch_backend``), because it measures PyTorch itself: FLOPs through
``torch.utils.flop_counter`` and saved activations through autograd's hooks have no
NumPy or TensorFlow counterpart here, so there is no ``numpy_backend`` or
``tensorflow_backend``:

=====================================  ===================================================
``torch_backend.measure_flops``        ``(model, ids, backward=True)``: FLOPs of a forward
                                       (and backward) pass, counted by ``FlopCounterMode``
``torch_backend.saved_tensor_bytes``   ``(model, ids)``: bytes autograd keeps for backward
``torch_backend.profile_step_memory``  ``(model, ids)``: allocator bytes of one AdamW step
``torch_backend.heldout_loss``         ``(model, ids)``: batched loss on a long text
``torch_backend.train_rung``           one rung of the ladder; ``ladder_configs()`` all
=====================================  ===================================================
"""

from __future__ import annotations

from dlbook.scale.flops import flops_per_token
from dlbook.scale.memory import activation_bytes, model_state_bytes
from dlbook.scale.params import count_gpt_parameters
from dlbook.scale.scaling import compute_optimal, fit_power_law, fit_power_law_with_floor

__all__ = [
    "activation_bytes",
    "compute_optimal",
    "count_gpt_parameters",
    "fit_power_law",
    "fit_power_law_with_floor",
    "flops_per_token",
    "model_state_bytes",
]
