"""The NumPy GPT's hand-written backward agrees with finite differences; counts match.

Float64, a tiny config (V=7, T=5, C=8, H=2). The weights are redrawn from
N(0, 0.5^2) so that every gradient is far above the round-off of the loss
(with GPT-2's 0.02 init many are ~1e-6, and the check would measure noise).
"""

from __future__ import annotations

import numpy as np
import pytest

from dlbook.gpt import numpy_backend as gpt_np
from dlbook.gpt.config import GPTConfig, count_parameters, init_weights, weight_shapes


def tiny(n_layer: int = 2, bias: bool = True) -> GPTConfig:
    return GPTConfig(vocab_size=7, block_size=5, n_layer=n_layer, n_head=2, n_embd=8, bias=bias)


def random_weights(config: GPTConfig, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        k: v + rng.normal(0, 0.5, v.shape) for k, v in init_weights(config, 1, "float64").items()
    }


def loss_at(model: gpt_np.GPT, w: dict, ids: np.ndarray, y: np.ndarray) -> float:
    model.set_weights(w)
    return gpt_np.loss_and_grads(model, ids, y)[0]


@pytest.mark.parametrize("n_layer, bias", [(1, True), (2, True), (1, False)])
def test_backward_matches_finite_differences(n_layer: int, bias: bool) -> None:
    config = tiny(n_layer, bias)
    rng = np.random.default_rng(1)
    w = random_weights(config)
    ids, y = rng.integers(0, 7, (3, 5)), rng.integers(0, 7, (3, 5))
    model = gpt_np.GPT(config, dtype="float64")
    model.set_weights(w)
    _, grads = gpt_np.loss_and_grads(model, ids, y)
    h, worst = 1e-5, 0.0
    for name, value in w.items():
        cells = list(np.ndindex(value.shape))
        if value.size > 8:  # every entry of the small ones, a sample of the large ones
            cells = [cells[i] for i in rng.choice(len(cells), 8, replace=False)]
        for cell in cells:
            wp = {k: v.copy() for k, v in w.items()}
            wp[name][cell] += h
            up = loss_at(model, wp, ids, y)
            wp[name][cell] -= 2 * h
            numeric = (up - loss_at(model, wp, ids, y)) / (2 * h)
            analytic = grads[name][cell]
            err, size = abs(numeric - analytic), abs(numeric) + abs(analytic)
            # relative 1e-6, plus 1e-10 absolute: the central difference's own error (h^2 times
            # the third derivative) dominates for gradients ~1e-5; b_k's are exactly 0
            assert err < 1e-6 * size + 1e-10, f"{name}{cell}: {numeric:.3e} vs {analytic:.3e}"
            if size > 1e-4:
                worst = max(worst, err / size)
    print(f"worst relative error (|grad| > 1e-4) {worst:.1e}")


def test_key_bias_gradient_is_zero() -> None:
    """softmax(q.(k + b)) = softmax(q.k + q.b): q.b is the same for every key, so b_k is inert."""
    config = tiny(1)
    model = gpt_np.GPT(config, dtype="float64")
    model.set_weights(random_weights(config))
    _, grads = gpt_np.loss_and_grads(model, np.zeros((1, 5), int), np.ones((1, 5), int))
    np.testing.assert_allclose(grads["h0.attn.b_k"], 0.0, atol=1e-12)


@pytest.mark.parametrize("bias", [True, False])
def test_count_parameters_matches_model(bias: bool) -> None:
    config = GPTConfig(vocab_size=23, block_size=16, n_layer=3, n_head=4, n_embd=32, bias=bias)
    counts = count_parameters(config)
    weights = gpt_np.GPT(config).get_weights()
    assert counts["total"] == sum(v.size for v in weights.values())
    assert set(weights) == set(weight_shapes(config))


def test_causality_future_tokens_do_not_change_past_logits() -> None:
    model = gpt_np.GPT(tiny(), dtype="float64")
    a = model.forward(np.array([[1, 2, 3, 4, 5]]))
    b = model.forward(np.array([[1, 2, 3, 0, 0]]))
    np.testing.assert_allclose(a[:, :3], b[:, :3], atol=1e-14)


def test_messages_speak_to_the_learner() -> None:
    model = gpt_np.GPT(tiny())
    with pytest.raises(ValueError, match="batch axis"):
        model.forward(np.array([1, 2, 3]))
    with pytest.raises(ValueError, match="block_size"):
        model.forward(np.zeros((1, 6), int))
    with pytest.raises(ValueError, match="divisible"):
        GPTConfig(vocab_size=5, n_embd=10, n_head=4)


def test_scatter_add_rows_is_np_add_at() -> None:
    from dlbook.gpt.numpy_backend import _scatter_add_rows

    rng = np.random.default_rng(3)
    ids = rng.integers(0, 5, (4, 6))  # repeated ids: their rows must add up
    rows = rng.normal(size=(4, 6, 3))
    fast, slow = np.zeros((7, 3)), np.zeros((7, 3))
    _scatter_add_rows(fast, ids, rows)
    np.add.at(slow, ids, rows)
    np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-12)
    assert np.all(fast[5:] == 0)


def test_float32_gpt_stays_in_float32() -> None:
    # NumPy float64 scalars (np.sqrt(D), np.sqrt(0.5)) promoted float32 arrays to float64
    config = tiny(1, True)
    model = gpt_np.GPT(config, dtype="float32")
    rng = np.random.default_rng(0)
    ids, y = rng.integers(0, 7, (2, 5)), rng.integers(0, 7, (2, 5))
    assert model(ids).dtype == np.float32
    _, grads = gpt_np.loss_and_grads(model, ids, y)
    assert {g.dtype for g in grads.values()} == {np.dtype("float32")}
    assert all(v.dtype == np.float32 for v in model._cache["blocks"][0].values())
