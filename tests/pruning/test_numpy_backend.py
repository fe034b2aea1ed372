"""Magnitude masks from scratch: how many go, which go, ties, and neuron pruning of an MLP."""

from __future__ import annotations

import numpy as np
import pytest

from dlbook.pruning import compact_mlp, measured_sparsity, mlp_neuron_masks
from dlbook.pruning import numpy_backend as prune

RNG = np.random.default_rng(0)
W = RNG.normal(size=(20, 15))  # (D, H)


@pytest.mark.parametrize("sparsity", [0.0, 0.1, 0.5, 0.9, 0.95, 1.0])
def test_magnitude_mask_drops_exactly_the_smallest(sparsity: float) -> None:
    mask = prune.magnitude_mask(W, sparsity)
    k = round(sparsity * W.size)
    assert mask.dtype == bool and mask.shape == W.shape
    assert (~mask).sum() == k
    if 0 < k < W.size:
        assert np.abs(W[~mask]).max() <= np.abs(W[mask]).min()


def test_ties_are_broken_by_position() -> None:
    w = np.array([[1.0, -1.0, 2.0], [1.0, 0.5, -1.0]])
    mask = prune.magnitude_mask(w, 0.5)  # drop 3: 0.5, then the first two of the four 1s
    np.testing.assert_array_equal(mask, [[False, False, True], [True, False, True]])


@pytest.mark.parametrize("bad", [-0.1, 1.5, 90])
def test_sparsity_outside_zero_one_is_refused(bad) -> None:
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        prune.magnitude_mask(W, bad)
    with pytest.raises(TypeError):
        prune.magnitude_mask(W, "half")


def test_structured_mask_removes_whole_columns_by_norm() -> None:
    mask = prune.structured_mask(W, 0.4, axis=-1)
    assert mask.shape == W.shape
    kept_cols = mask.all(axis=0)
    assert np.array_equal(kept_cols, mask.any(axis=0))  # every column all or nothing
    assert (~kept_cols).sum() == round(0.4 * 15)
    norms = np.linalg.norm(W, axis=0)
    assert norms[~kept_cols].max() <= norms[kept_cols].min()
    rows = prune.structured_mask(W, 0.5, axis=0)
    assert (~rows.all(axis=1)).sum() == 10
    with pytest.raises(ValueError, match="does not exist"):
        prune.structured_mask(W, 0.5, axis=2)


def test_global_masks_share_one_threshold() -> None:
    weights = {"W0": W, "W1": 0.1 * RNG.normal(size=(15, 10))}  # W1 is small
    masks = prune.global_magnitude_masks(weights, 0.5)
    assert measured_sparsity(masks) == pytest.approx(0.5, abs=1 / 450)
    assert (~masks["W1"]).mean() > 0.9  # the small layer loses almost everything
    dropped = np.concatenate([np.abs(weights[k][~masks[k]]) for k in weights])
    kept = np.concatenate([np.abs(weights[k][masks[k]]) for k in weights])
    assert dropped.max() <= kept.min()


def test_apply_masks_zeroes_and_copies() -> None:
    mask = prune.magnitude_mask(W, 0.5)
    out = prune.apply_masks({"W": W, "b": np.ones(3)}, {"W": mask})
    assert np.all(out["W"][~mask] == 0) and np.all(out["W"][mask] == W[mask])
    assert np.all(out["b"] == 1) and W.min() != 0  # the input is untouched
    with pytest.raises(ValueError, match="entry for entry"):
        prune.apply_masks({"W": W}, {"W": mask.T})


def test_neuron_pruning_of_an_mlp_compacts_to_a_smaller_equal_network() -> None:
    from dlbook.nn import numpy_backend as nn

    mlp = nn.MLP([8, 12, 10, 4], activation="sigmoid", seed=0)  # sigmoid(0) != 0
    weights = mlp.get_weights()
    masks = mlp_neuron_masks(weights, 0.5)
    assert masks["b0"].sum() == 6 and masks["b1"].sum() == 5 and masks["b2"].all()
    pruned = prune.apply_masks(weights, masks)
    small = compact_mlp(pruned, masks)
    assert small["W0"].shape == (8, 6) and small["W1"].shape == (6, 5)
    assert small["W2"].shape == (5, 4)
    mlp.set_weights(pruned)
    tiny = nn.MLP([8, 6, 5, 4], activation="sigmoid", seed=1)
    tiny.set_weights(small)
    x = RNG.normal(size=(7, 8)).astype(np.float32)
    np.testing.assert_allclose(tiny.forward(x), mlp.forward(x), rtol=1e-5, atol=1e-6)
