"""Sinusoidal encodings follow the formula; rope keeps norms and sees only offsets."""

from __future__ import annotations

import numpy as np
import pytest

from dlbook.attention.positional import rope, sinusoidal_encoding


@pytest.mark.parametrize("T, C", [(50, 16), (7, 5)])
def test_sinusoidal_matches_formula_and_is_bounded(T: int, C: int) -> None:
    pe = sinusoidal_encoding(T, C)
    assert pe.shape == (T, C)
    for pos in range(T):
        for j in range(C):
            i = j // 2
            angle = pos / 10000 ** (2 * i / C)
            assert pe[pos, j] == pytest.approx(np.sin(angle) if j % 2 == 0 else np.cos(angle))
    assert np.abs(pe).max() <= 1.0
    with pytest.raises(ValueError, match="positive int C"):
        sinusoidal_encoding(3, 0)


def test_rope_preserves_norms_and_depends_on_offsets_only() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 9, 8))  # (B, T, D)
    assert np.allclose(np.linalg.norm(rope(x), axis=-1), np.linalg.norm(x, axis=-1), atol=1e-12)
    q, k = rng.normal(size=8), rng.normal(size=8)

    def score(m: float, n: float) -> float:  # q at position m, k at position n
        return float(rope(q[None], [m])[0] @ rope(k[None], [n])[0])

    for offset in (0, 1, 5):
        scores = [score(m, m + offset) for m in (0, 3, 11, 40)]
        assert np.allclose(scores, scores[0], atol=1e-12)
    assert not np.isclose(score(0, 1), score(0, 5))
    with pytest.raises(ValueError, match="D must be even"):
        rope(np.zeros((3, 5)))
