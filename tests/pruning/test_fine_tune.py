"""Fine-tuning after pruning recovers accuracy while the pruned weights stay exactly zero.

On the digits MLP (64-128-10, trained for 15 epochs): pruning 90% of the
weights by magnitude costs accuracy, and 5 epochs of masked fine-tuning win it
back, in NumPy and in PyTorch alike (the two follow the same path to 1e-5).
"""

from __future__ import annotations

import numpy as np
import pytest

from dlbook.data import load_digits_split
from dlbook.nn import TrainConfig, accuracy, fit
from dlbook.nn import numpy_backend as nn_np
from dlbook.pruning import numpy_backend as prune_np

SPARSITY = 0.9


@pytest.fixture(scope="module")
def setting():
    data = load_digits_split()
    mlp = nn_np.MLP([64, 128, 10], seed=0)
    fit("numpy", mlp, data, TrainConfig(epochs=15, progress=False))
    weights = mlp.get_weights()
    masks = {k: prune_np.magnitude_mask(v, SPARSITY) for k, v in weights.items() if k[0] == "W"}
    return data, weights, masks


def _pruned_accuracy(data, weights, masks) -> float:
    mlp = nn_np.MLP([64, 128, 10])
    mlp.set_weights(prune_np.apply_masks(weights, masks))
    return accuracy("numpy", mlp, data.x_val, data.y_val)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_fine_tuning_recovers_with_masks_fixed(setting, backend: str) -> None:
    from dlbook.nn import backend as nn_backend
    from dlbook.pruning import backend as prune_backend

    data, weights, masks = setting
    dense = _pruned_accuracy(data, weights, {})
    pruned = _pruned_accuracy(data, weights, masks)
    mlp = nn_backend(backend).MLP([64, 128, 10])
    mlp.set_weights(weights)
    prune_backend(backend).fine_tune(mlp, masks, data, TrainConfig(epochs=5, progress=False))
    tuned = mlp.get_weights()
    assert pruned < dense - 0.05  # pruning 90% hurts
    assert accuracy(backend, mlp, data.x_val, data.y_val) > dense - 0.03  # and is won back
    for key, mask in masks.items():
        assert np.all(tuned[key][~mask] == 0)  # pruned weights are exactly zero
        assert np.any(tuned[key][mask] != weights[key][mask])  # the others moved


def test_numpy_and_torch_fine_tuning_agree(setting) -> None:
    from dlbook.nn import torch_backend as nn_torch
    from dlbook.pruning import torch_backend as prune_torch

    data, weights, masks = setting
    config = TrainConfig(epochs=2, progress=False)
    m_np, m_t = nn_np.MLP([64, 128, 10]), nn_torch.MLP([64, 128, 10])
    m_np.set_weights(weights)
    m_t.set_weights(weights)
    prune_np.fine_tune(m_np, masks, data, config)
    prune_torch.fine_tune(m_t, masks, data, config)
    for key, w in m_np.get_weights().items():
        np.testing.assert_allclose(m_t.get_weights()[key], w, atol=1e-5)
    assert not any(hasattr(layer, "weight_mask") for layer in m_t.linears)  # prune.remove ran
