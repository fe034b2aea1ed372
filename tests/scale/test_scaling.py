"""Power-law fits, compute-optimal allocation, and the shipped scaling ladder."""

from __future__ import annotations

import numpy as np
import pytest

from dlbook.scale.scaling import (
    LADDER_SHAPES,
    compute_optimal,
    fit_power_law,
    fit_power_law_with_floor,
    load_ladder,
)


def test_power_law_fit_recovers_a_and_b() -> None:
    rng = np.random.default_rng(0)
    x = np.logspace(2, 6, 20)
    y = 7.0 * x**-0.3 * np.exp(rng.normal(0, 1e-3, size=x.shape))
    a, b = fit_power_law(x, y)
    assert abs(a / 7.0 - 1) < 0.02 and abs(b + 0.3) < 2e-3


def test_power_law_fit_with_floor_recovers_e_a_alpha() -> None:
    rng = np.random.default_rng(1)
    n = np.logspace(2.5, 5, 8)
    loss = 1.42 + 40.0 * n**-0.6 + rng.normal(0, 1e-4, size=n.shape)
    fit = fit_power_law_with_floor(n, loss)
    assert abs(fit.E - 1.42) < 3 * fit.errors["E"] + 1e-3
    assert abs(fit.alpha - 0.6) < 0.02 and abs(fit.A / 40 - 1) < 0.1
    assert all(v > 0 for v in fit.errors.values())
    np.testing.assert_allclose(fit(n), loss, atol=1e-3)


@pytest.mark.parametrize(
    ("x", "y", "message"),
    [([1.0], [2.0], "at least 2"), ([1, 2, 3], [1, 2], "same length"),
     ([1, -2], [1, 2], "finite positive"), ([1, 2], [0, 1], "finite positive"),
     ([1, np.nan], [1, 2], "finite positive"), ([[1, 2]], [[1, 2]], "1-D"),
     ([3, 3], [1, 2], "two different")],
)  # fmt: skip
def test_power_law_fit_validates(x: object, y: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        fit_power_law(x, y)


def test_floor_fit_needs_four_points() -> None:
    with pytest.raises(ValueError, match="at least 4"):
        fit_power_law_with_floor([1, 2, 3], [3, 2, 1.5])


@pytest.mark.parametrize("compute", [1e18, 5.88e23, 3.8e25])
@pytest.mark.parametrize("ratio", [20.0, 1.7])
def test_compute_optimal_inverts_6nd(compute: float, ratio: float) -> None:
    n, d = compute_optimal(compute, tokens_per_param=ratio)
    assert abs(6 * n * d / compute - 1) < 1e-12 and abs(d / n - ratio) < 1e-9


def test_chinchilla_budget_gives_70b_and_1_4t() -> None:
    n, d = compute_optimal(6 * 70e9 * 1.4e12)
    assert abs(n / 70e9 - 1) < 1e-12 and abs(d / 1.4e12 - 1) < 1e-12


@pytest.mark.parametrize(
    ("args", "error"),
    [((0.0,), ValueError), ((-1.0,), ValueError), ((1e20, 0.0), ValueError),
     ((float("inf"),), ValueError), (("1e20",), TypeError), ((True,), TypeError)],
)  # fmt: skip
def test_compute_optimal_validates(args: tuple, error: type) -> None:
    with pytest.raises(error):
        compute_optimal(*args)


def test_ladder_file_has_a_falling_loss() -> None:
    ladder = load_ladder()
    assert len(ladder.runs) >= 6 and len(ladder.runs) == len(LADDER_SHAPES)
    loss, n = ladder.column("val_loss"), ladder.column("n_params")
    assert np.all(np.diff(n) > 0) and np.all(np.diff(loss) < 0), loss
    assert np.all(loss > ladder.corpus["source_val_loss"] - 0.01)  # nothing beats the source
    keys = {"config", "n_params", "tokens", "val_loss", "train_seconds", "date", "machine"}
    for run in ladder.runs:
        assert keys <= set(run)
        assert run["tokens"] == 2_048_000
    assert ladder.command.startswith("python tools/scaling_ladder.py")


def test_ladder_configs_match_the_shapes() -> None:
    from dlbook.scale.torch_backend import ladder_configs

    configs = ladder_configs(progress=False)
    assert [(c.n_layer, c.n_embd, c.n_head) for c in configs] == list(LADDER_SHAPES)
    assert not any(c.progress for c in configs)


def test_train_rung_records_what_the_ladder_needs() -> None:
    from dlbook.gpt.train import GPTTrainConfig
    from dlbook.scale.torch_backend import heldout_loss, train_rung

    period = np.tile(np.array([0, 1, 2, 3, 2, 1, 4, 0, 4, 3]), 300)
    config = GPTTrainConfig(
        block_size=16, n_layer=1, n_head=2, n_embd=8, batch_size=8, steps=30, warmup_steps=5,
        eval_every=30, eval_windows=4, progress=False,
    )  # fmt: skip
    record = train_rung(config, period, period[:400])
    assert record["tokens"] == 30 * 8 * 16 and record["compute"] == 6 * record["n_params"] * 3840
    assert 0 < record["val_loss"] < np.log(5) + 0.1  # below a uniform guess over 5 symbols, or near
    assert record["n_params"] < record["n_params_total"]
    with pytest.raises(ValueError, match="needs at least"):
        from dlbook.gpt.train import build_model

        heldout_loss(build_model(config, 5), period[:10])
