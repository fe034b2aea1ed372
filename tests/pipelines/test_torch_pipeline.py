"""The explicit PyTorch loop: validation leaves the model alone, early stopping, save/load."""

from __future__ import annotations

import numpy as np
import pytest

from dlbook.pipelines import RegressionConfig, make_regression_data

pt = pytest.importorskip("dlbook.pipelines.torch_backend")
torch = pt.torch


def _snapshot(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _same(a, b):
    return all(torch.equal(a[k], b[k]) for k in a)


def test_validate_changes_nothing_and_uses_eval_mode():
    model = torch.nn.Sequential(
        torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.Linear(8, 1)
    )
    x, y = torch.randn(40, 4, generator=torch.Generator().manual_seed(0)), torch.zeros(40, 1)
    loader = [(x[:32], y[:32]), (x[32:], y[32:])]
    before = _snapshot(model)
    loss = pt.validate(model, loader, torch.nn.MSELoss())
    assert _same(before, _snapshot(model))  # running statistics untouched: eval mode
    assert all(p.grad is None for p in model.parameters())
    model.eval()
    with torch.no_grad():
        expected = float(torch.nn.functional.mse_loss(model(x), y))
    assert loss == pytest.approx(expected, rel=1e-6)  # size-weighted mean = the full-set mean


def test_fit_stops_early_keeps_best_weights_and_nears_the_noise_floor():
    x, y, noise = make_regression_data(900, seed=0)
    cfg = RegressionConfig(hidden=(64, 32), max_epochs=40, patience=4, lr=3e-3)
    model = pt.RegressionMLP(x.shape[1], cfg.hidden, init_std=cfg.init_std, seed=0)
    train, val = pt.make_loaders(x[:600], y[:600], x[600:], y[600:], batch_size=64, seed=0)
    hist = pt.fit(model, train, val, cfg)
    assert hist.best_epoch == int(np.argmin(hist.val_loss))
    assert pt.validate(model, val, torch.nn.MSELoss()) == pytest.approx(
        min(hist.val_loss), rel=1e-6
    )  # the best weights were put back
    assert min(hist.val_loss) < 3 * noise < hist.val_loss[0]


def test_state_dict_round_trip_gives_the_same_predictions(tmp_path):
    model = pt.RegressionMLP(10, (32, 16), seed=1)
    x_new = np.random.default_rng(0).normal(size=(7, 10))
    before = pt.predict(model, x_new)
    path = pt.save_weights(model, tmp_path / "model.pt")
    fresh = pt.RegressionMLP(10, (32, 16), seed=2)  # other weights, same shapes
    assert not np.array_equal(pt.predict(fresh, x_new), before)
    loaded = pt.load_weights(fresh, path)
    assert not loaded.training
    np.testing.assert_array_equal(pt.predict(loaded, x_new), before)


def test_load_refuses_a_model_of_other_shapes(tmp_path):
    path = pt.save_weights(pt.RegressionMLP(10, (32, 16)), tmp_path / "m.pt")
    with pytest.raises(RuntimeError, match="size mismatch"):
        pt.load_weights(pt.RegressionMLP(10, (32, 8)), path)


def test_initial_weights_follow_the_seed_and_the_std():
    a, b = pt.RegressionMLP(10, seed=3), pt.RegressionMLP(10, seed=3)
    assert _same(_snapshot(a), _snapshot(b))
    w = a.net[2].weight.detach().numpy()  # (100, 500)
    assert w.std() == pytest.approx(0.1, rel=0.02)
