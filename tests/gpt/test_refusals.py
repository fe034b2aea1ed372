"""Every GPT backend refuses token ids it has no embedding for and misshapen targets.

Before: a negative id silently read the last embedding row (torch GPT, NumPy
serving), an id >= V raised a raw IndexError (torch) or a TF graph message, and
transposed targets were reshaped without complaint.
"""

from __future__ import annotations

import numpy as np
import pytest

from dlbook.backends import BACKENDS
from dlbook.gpt import backend
from dlbook.gpt.config import GPTConfig

CONFIG = GPTConfig(vocab_size=7, block_size=5, n_layer=1, n_head=2, n_embd=8)
IDS = np.array([[1, 2, 3, 4], [0, 6, 5, 1]])  # (B, T) = (2, 4)


@pytest.mark.parametrize("name", BACKENDS)
@pytest.mark.parametrize("bad", [-1, 7, 100])
def test_token_ids_outside_the_vocabulary_are_refused(name: str, bad: int) -> None:
    model = backend(name).GPT(CONFIG, dtype="float64")
    ids = IDS.copy()
    ids[1, 2] = bad
    with pytest.raises(ValueError, match=r"every id must lie in \[0, 7\)"):
        model(ids)


def test_torch_gpt_checks_ids_that_are_already_tensors() -> None:
    torch = pytest.importorskip("torch")
    model = backend("torch").GPT(CONFIG, dtype="float64")
    with pytest.raises(ValueError, match=r"\[0, 7\)"):
        model(torch.tensor([[1, -1]], device=model.device))
    ok = model(torch.as_tensor(IDS, device=model.device))
    assert tuple(ok.shape) == (2, 4, 7)


@pytest.mark.parametrize("name", BACKENDS)
def test_transposed_or_out_of_range_targets_are_refused(name: str) -> None:
    mod = backend(name)
    model = mod.GPT(CONFIG, dtype="float64")
    with pytest.raises(ValueError, match="shapes must match"):
        mod.loss_and_grads(model, IDS, IDS.T)  # (4, 2): the same 8 entries, wrong pairs
    with pytest.raises(ValueError, match="targets"):
        mod.loss_and_grads(model, IDS, np.full_like(IDS, 7))


def test_generate_refuses_a_negative_n_new_like_the_numpy_serving_backend() -> None:
    pytest.importorskip("torch")
    from dlbook.gpt.train import generate

    model = backend("torch").GPT(CONFIG)
    with pytest.raises(ValueError, match="n_new must be a non-negative integer"):
        generate(model, IDS[:, :2], -1)  # before: returned the prompt
    out, logits = generate(model, IDS[:, :2], 0)
    np.testing.assert_array_equal(out, IDS[:, :2])
