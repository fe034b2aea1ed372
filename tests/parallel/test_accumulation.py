"""k micro-batches, each loss scaled by n_i / n, give the big batch's gradient and step."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from dlbook.nn.torch_backend import MLP  # noqa: E402
from dlbook.parallel.torch_backend import (  # noqa: E402
    accumulate_gradients,
    train_step_accumulated,
)


def _problem(n: int = 24) -> tuple[MLP, torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(0)
    x = torch.as_tensor(rng.normal(size=(n, 6)))
    y = torch.as_tensor(rng.integers(0, 3, size=n))
    return MLP([6, 8, 3], seed=0, dtype="float64"), x, y


def _grads(model: MLP) -> list[np.ndarray]:
    return [p.grad.numpy().copy() for p in model.parameters()]


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 24])
def test_micro_batches_give_the_big_batch_gradient(k: int) -> None:
    model, x, y = _problem()
    model.zero_grad()
    big_loss = torch.nn.functional.cross_entropy(model(x), y)
    big_loss.backward()
    big = _grads(model)
    loss = accumulate_gradients(model, x, y, k)  # k = 5: unequal pieces of 5 and 4 rows
    assert loss == pytest.approx(float(big_loss.detach()), abs=1e-12)
    for a, b in zip(_grads(model), big, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-12, rtol=0)


def test_forgetting_to_scale_multiplies_the_gradient_by_k() -> None:
    model, x, y = _problem()
    accumulate_gradients(model, x, y, 1)
    big = _grads(model)
    accumulate_gradients(model, x, y, 4, scale_loss=False)
    for a, b in zip(_grads(model), big, strict=True):
        np.testing.assert_allclose(a, 4 * b, atol=1e-12)


@pytest.mark.parametrize("name", ["sgd", "adam"])
def test_accumulated_step_equals_big_batch_step(name: str) -> None:
    from dlbook.optim import torch_backend as optim_torch

    models, x, y = [_problem()[0] for _ in range(2)], *_problem()[1:]
    opts = [optim_torch.make(name, m.parameters(), lr=0.1) for m in models]
    for _ in range(3):
        train_step_accumulated(models[0], opts[0], x, y, 1)
        train_step_accumulated(models[1], opts[1], x, y, 4)
    for a, b in zip(models[0].parameters(), models[1].parameters(), strict=True):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=1e-12, rtol=0)


@pytest.mark.parametrize(
    ("k", "match"), [(0, "positive int"), (2.0, "positive int"), (25, "empty")]
)
def test_bad_accum_steps_explain_themselves(k, match: str) -> None:
    model, x, y = _problem()
    with pytest.raises(ValueError, match=match):
        accumulate_gradients(model, x, y, k)
