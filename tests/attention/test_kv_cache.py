"""The KV cache of the torch MultiHeadAttention reproduces the uncached forward (float64).

Feeding a sequence in chunks, each chunk's queries attending the cached keys and
values of the earlier chunks and (causally) each other, gives the output of one
causal pass over the whole sequence, within 1e-12 (absolute).
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
att_torch = pytest.importorskip("dlbook.attention.torch_backend")

B, T, C, H = 2, 7, 8, 2


def _model(fused: bool) -> att_torch.MultiHeadAttention:
    return att_torch.MultiHeadAttention(C, H, seed=3, dtype="float64", fused=fused)


@pytest.mark.parametrize("fused", [False, True], ids=["explicit", "fused"])
@pytest.mark.parametrize("chunks", [[1] * T, [3, 1, 3], [7]], ids=["1x7", "3-1-3", "7"])
def test_cached_forward_equals_uncached_full_sequence(fused: bool, chunks: list[int]) -> None:
    model = _model(fused)
    x = torch.as_tensor(np.random.default_rng(0).normal(size=(B, T, C)))
    with torch.no_grad():
        full = model(x, mask=att_torch.causal_mask(T))  # (B, T, C), no cache
        past, outs, start = None, [], 0
        for n in chunks:
            out, past = model(x[:, start : start + n], past=past, use_cache=True, causal=True)
            outs.append(out)
            start += n
            assert past[0].shape == past[1].shape == (B, H, start, C // H)  # (B, H, S, D)
    torch.testing.assert_close(torch.cat(outs, dim=1), full, rtol=0, atol=1e-12)
    k_full = att_torch.split_heads(model.W_k(x), H)  # (B, H, T, D)
    torch.testing.assert_close(past[0], k_full, rtol=0, atol=1e-12)


def test_causal_flag_equals_causal_mask_and_default_return_is_unchanged() -> None:
    model = _model(False)
    x = torch.as_tensor(np.random.default_rng(1).normal(size=(B, T, C)))
    out = model(x, causal=True)
    assert isinstance(out, torch.Tensor)  # no cache asked for: the plain output
    torch.testing.assert_close(out, model(x, mask=att_torch.causal_mask(T)), rtol=0, atol=0)
    out_c, (k, v) = model(x, use_cache=True)
    torch.testing.assert_close(out_c, model(x), rtol=0, atol=0)
    assert k.shape == v.shape == (B, H, T, C // H)


def test_past_of_wrong_shape_is_rejected() -> None:
    model = _model(False)
    x = torch.zeros(B, 1, C, dtype=torch.float64)
    bad = torch.zeros(B, H + 1, 3, C // H, dtype=torch.float64)
    with pytest.raises(ValueError, match="past K"):
        model(x, past=(bad, bad), use_cache=True)
