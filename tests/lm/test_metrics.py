"""Cross-entropy from logits, perplexity and bits per character, against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

from dlbook.lm import bits_per_char, cross_entropy_from_logits, log_softmax, perplexity


@pytest.mark.parametrize("shape", [(7, 5), (3, 4, 11), (1, 1, 2)])
@pytest.mark.parametrize("scale", [1.0, 1e3])
def test_cross_entropy_matches_torch(shape: tuple[int, ...], scale: float) -> None:
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(0)
    logits = scale * rng.normal(size=shape)
    targets = rng.integers(0, shape[-1], size=shape[:-1])
    ours = cross_entropy_from_logits(logits, targets)
    theirs = F.cross_entropy(
        torch.from_numpy(logits.reshape(-1, shape[-1])), torch.from_numpy(targets.reshape(-1))
    ).item()
    assert ours == pytest.approx(theirs, rel=1e-12, abs=1e-12)


def test_log_softmax_is_stable_and_normalised() -> None:
    z = np.array([[1000.0, 0.0, -1000.0], [0.0, 0.0, 0.0]])
    out = log_softmax(z)
    assert np.isfinite(out).all()
    np.testing.assert_allclose(np.exp(out).sum(axis=-1), 1.0)
    np.testing.assert_allclose(out[1], -np.log(3))


def test_uniform_logits_give_log_v() -> None:
    V = 23
    nats = cross_entropy_from_logits(np.zeros((10, V)), np.arange(10))
    assert nats == pytest.approx(np.log(V))
    assert perplexity(nats) == pytest.approx(V)
    assert bits_per_char(nats) == pytest.approx(np.log2(V))
    assert bits_per_char(np.log(2)) == pytest.approx(1.0)
    assert perplexity(0.0) == 1.0


@pytest.mark.parametrize(
    ("logits", "targets", "error", "match"),
    [
        (np.zeros((2, 3, 5)), np.zeros((2, 4), dtype=int), ValueError, "shifted by one"),
        (np.zeros(5), np.zeros((), dtype=int), ValueError, r"\(N, V\) or \(B, T, V\)"),
        (np.zeros((2, 5)), np.zeros(2), TypeError, "integer"),
        (np.zeros((2, 5)), np.array([0, 5]), ValueError, r"\[0, 5\)"),
        (np.array([[0.0, np.nan]]), np.array([0]), ValueError, "NaN"),
        ("abc", np.array([0]), TypeError, "array of numbers"),
    ],
)
def test_bad_inputs_are_explained(logits, targets, error, match) -> None:
    with pytest.raises(error, match=match):
        cross_entropy_from_logits(logits, targets)


@pytest.mark.parametrize("bad", [-0.1, float("nan")])
def test_a_loss_is_non_negative(bad: float) -> None:
    with pytest.raises(ValueError, match="non-negative"):
        perplexity(bad)
    with pytest.raises(ValueError, match="non-negative"):
        bits_per_char(bad)
