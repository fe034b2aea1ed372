"""The torch masks equal the NumPy masks and those of ``torch.nn.utils.prune``."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from torch.nn.utils import prune as torch_prune  # noqa: E402

from dlbook.pruning import backend  # noqa: E402
from dlbook.pruning import numpy_backend as prune_np  # noqa: E402
from dlbook.pruning import torch_backend as prune_torch  # noqa: E402

RNG = np.random.default_rng(2)
W = RNG.normal(size=(30, 16))  # (D, H)


@pytest.mark.parametrize("sparsity", [0.0, 0.3, 0.9, 1.0])
def test_masks_match_numpy(sparsity: float) -> None:
    w = np.round(W, 1)  # many ties: the stable sort must break them identically
    np.testing.assert_array_equal(
        prune_torch.magnitude_mask(w, sparsity).numpy(), prune_np.magnitude_mask(w, sparsity)
    )
    np.testing.assert_array_equal(
        prune_torch.structured_mask(W, sparsity).numpy(), prune_np.structured_mask(W, sparsity)
    )
    weights = {"a": w, "b": 0.3 * W[:5]}
    got = prune_torch.global_magnitude_masks(weights, sparsity)
    want = prune_np.global_magnitude_masks(weights, sparsity)
    for key in weights:
        np.testing.assert_array_equal(got[key].numpy(), want[key])


def test_masks_match_torch_nn_utils_prune() -> None:
    layer = torch.nn.Linear(30, 16, dtype=torch.float64)  # weight (H, D) = W.T
    with torch.no_grad():
        layer.weight.copy_(torch.as_tensor(W.T))
    torch_prune.l1_unstructured(layer, "weight", amount=0.6)
    np.testing.assert_array_equal(
        layer.weight_mask.T.bool().numpy(), prune_np.magnitude_mask(W, 0.6)
    )
    torch_prune.remove(layer, "weight")
    with torch.no_grad():
        layer.weight.copy_(torch.as_tensor(W.T))
    torch_prune.ln_structured(layer, "weight", amount=0.25, n=2, dim=0)  # dim 0: output rows
    np.testing.assert_array_equal(
        layer.weight_mask.T.bool().numpy(), prune_np.structured_mask(W, 0.25, axis=-1)
    )


def test_global_masks_match_torch_global_unstructured() -> None:
    layers = [
        torch.nn.Linear(30, 16, dtype=torch.float64),
        torch.nn.Linear(16, 8, dtype=torch.float64),
    ]
    torch_prune.global_unstructured(
        [(m, "weight") for m in layers], pruning_method=torch_prune.L1Unstructured, amount=0.7
    )
    weights = {f"W{i}": m.weight_orig.detach().T.numpy() for i, m in enumerate(layers)}
    masks = prune_np.global_magnitude_masks(weights, 0.7)
    for i, m in enumerate(layers):
        np.testing.assert_array_equal(m.weight_mask.T.bool().numpy(), masks[f"W{i}"])


def test_apply_masks_matches_numpy() -> None:
    mask = prune_np.magnitude_mask(W, 0.5)
    got = prune_torch.apply_masks({"W": W}, {"W": mask})["W"].numpy()
    np.testing.assert_array_equal(got, prune_np.apply_masks({"W": W}, {"W": mask})["W"])


def test_backend_by_name_and_no_tensorflow() -> None:
    assert backend("torch") is prune_torch
    with pytest.raises(ValueError, match="no TensorFlow backend"):
        backend("tensorflow")


@pytest.mark.parametrize("name", ["numpy", "torch"])
@pytest.mark.parametrize("mask", [[1, 0, 1, 1], [1.0, 0.0, 1.0, 1.0], [True, False, True, True]])
def test_apply_masks_reads_a_0_1_mask_as_keep_drop(name: str, mask: list) -> None:
    # an integer mask used as an index (w[~mask]) zeroed entries -2 and -1 instead of entry 1
    out = backend(name).apply_masks({"W": [1.0, 2.0, 3.0, 4.0]}, {"W": np.array(mask)})
    np.testing.assert_array_equal(np.asarray(out["W"]), [1.0, 0.0, 3.0, 4.0])


@pytest.mark.parametrize("name", ["numpy", "torch"])
def test_apply_masks_refuses_a_mask_that_is_not_0_1(name: str) -> None:
    with pytest.raises(ValueError, match="0 \\(drop\\) and 1 \\(keep\\)"):
        backend(name).apply_masks({"W": [1.0, 2.0]}, {"W": np.array([2, 0])})
