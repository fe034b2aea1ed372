"""Privacy of training data (chapter 11): DP-SGD, its accountant, membership inference.

Backends (``backend("numpy")``, ``backend("torch")``) export the same names:

=========================================================  =====================================
``clip_per_example(grads (B, N), max_norm)``               row i scaled by min(1, C / ``|g_i|``)
``per_example_grads(model, x, y)``                         (B, N): one flattened gradient per
                                                           example (NumPy: a hand-written
                                                           backward; torch: ``vmap(grad)``)
``private_gradient(grads, max_norm, noise_multiplier,``    (sum of clipped rows + N(0, s^2 C^2))
``rng, denominator=None)``                                 / denominator: the DP-SGD gradient
=========================================================  =====================================

Plain modules, light to import:

* :mod:`dlbook.privacy.membership`: :func:`membership_advantage`, :func:`roc_curve`,
  :func:`roc_auc` of a score-threshold attack (Yeom et al. 2018), and
  :func:`chance_advantage`, the advantage that sampling noise alone produces;
* :mod:`dlbook.privacy.accountant`: Rényi-DP accounting of the sampled Gaussian
  mechanism (Mironov 2017; Mironov et al. 2019), :func:`dp_sgd_epsilon`;
* :mod:`dlbook.privacy.training`: ``train_dp_sgd`` for any backend's MLP, and the scores
  of the loss-threshold attack, ``loss_threshold_scores``;
* :mod:`dlbook.privacy.flat`: weights as one vector, in the canonical order.

There is no TensorFlow backend: per-example gradients are shown once in NumPy and once
with ``torch.func``, which is the pair the chapter compares.
"""

from __future__ import annotations

from types import ModuleType

from dlbook.backends import load_backend
from dlbook.privacy.flat import flatten_weights, unflatten_weights
from dlbook.privacy.membership import chance_advantage, membership_advantage, roc_auc, roc_curve


def backend(name: str) -> ModuleType:
    """``dlbook.privacy.numpy_backend`` or ``dlbook.privacy.torch_backend``."""
    return load_backend("privacy", name)


# The names every backend module of this concept exports, with the same parameters
# (a backend may add trailing optional ones); tests/test_shared_api.py checks it.
SHARED_API = (
    "per_example_grads",
    "clip_per_example",
    "private_gradient",
)

__all__ = [
    "SHARED_API",
    "backend",
    "chance_advantage",
    "flatten_weights",
    "membership_advantage",
    "roc_auc",
    "roc_curve",
    "unflatten_weights",
]
