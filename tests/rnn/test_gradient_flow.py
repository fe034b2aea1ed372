"""Vanishing and exploding gradients: the measurements agree with the theory where it is exact."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from dlbook.rnn.gradient_flow import (  # noqa: E402
    CELLS,
    backprop_norms,
    decay_rate,
    gradient_norm_vs_lag,
    make_cell,
    spectral_radius,
    step_function,
)


@pytest.mark.parametrize("kind", CELLS)
def test_explicit_step_matches_torch_cell(kind: str) -> None:
    cell = make_cell(kind, hidden_size=5, input_size=3, seed=1)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(4, 3, generator=gen, dtype=torch.float64)  # (N, D)
    h = torch.randn(4, 5, generator=gen, dtype=torch.float64)  # (N, H)
    if kind == "lstm":
        c = torch.randn(4, 5, generator=gen, dtype=torch.float64)
        ours = step_function(cell, kind)(torch.cat([h, c], dim=1), x)
        theirs = torch.cat(cell(x, (h, c)), dim=1)
    elif kind == "linear":
        ours = step_function(cell, kind)(h, x)
        theirs = x @ cell.weight_ih.T + cell.bias_ih + h @ cell.weight_hh.T + cell.bias_hh
    else:
        ours, theirs = step_function(cell, kind)(h, x), cell(x, h)
    torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-12)


def test_spectral_radius_is_set_and_global_rng_untouched() -> None:
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    cell = make_cell("rnn", 16, 4, spectral_radius=0.7, seed=3)
    assert torch.rand(1) == before, "make_cell must not consume the global torch RNG"
    assert spectral_radius(cell.weight_hh) == pytest.approx(0.7, rel=1e-10)
    assert spectral_radius(np.diag([0.5, -2.0])) == pytest.approx(2.0)


def test_linear_rnn_matches_matrix_powers_exactly() -> None:
    """With the identity activation, dL/dh_{T-k} = u^T W^k: no approximation at all."""
    H, T = 6, 12
    cell = make_cell("linear", H, 2, spectral_radius=0.8, seed=0)
    gen = torch.Generator().manual_seed(0)
    xs = torch.randn(1, T, 2, generator=gen, dtype=torch.float64)
    u = torch.randn(1, H, generator=gen, dtype=torch.float64)
    norms = backprop_norms(
        step_function(cell, "linear"), torch.zeros(1, H, dtype=torch.float64), xs, u
    )
    W, u_np = cell.weight_hh.detach().numpy(), u.numpy()[0]
    expected = [np.linalg.norm(u_np @ np.linalg.matrix_power(W, k)) for k in range(1, T)]
    np.testing.assert_allclose(norms.numpy()[0], expected, rtol=1e-10)


@pytest.mark.parametrize("rho", [0.5, 0.9, 1.2])
def test_decay_slope_is_log_rho_in_the_linear_regime(rho: float) -> None:
    """Tiny inputs keep tanh' ~ 1, so the tanh RNN behaves like the linear one: slope log(rho)."""
    norms = gradient_norm_vs_lag("rnn", 64, rho, T=60, input_scale=1e-6)
    assert decay_rate(norms, 20, 59) == pytest.approx(np.log(rho), abs=0.05)


def test_vanishing_below_one_and_exploding_above() -> None:
    small = gradient_norm_vs_lag("rnn", 32, 0.5, T=40)
    assert small[-1] < 1e-8 * small[0], "rho = 0.5 should make the gradient vanish"
    big = gradient_norm_vs_lag("rnn", 32, 1.5, T=40, input_scale=1e-3)
    assert big[-1] > 100 * big[0], "rho = 1.5 with small inputs should make the gradient grow"


def test_saturation_reins_in_the_explosion() -> None:
    """Large inputs saturate tanh: its small derivatives tame the rho^k growth."""
    mild = gradient_norm_vs_lag("rnn", 32, 1.5, T=40, input_scale=3.0)
    wild = gradient_norm_vs_lag("rnn", 32, 1.5, T=40, input_scale=1e-3)
    assert mild[-1] < 1e-2 * wild[-1]


def test_gates_let_the_gradient_travel_further() -> None:
    rnn = gradient_norm_vs_lag("rnn", 32, T=50)
    lstm = gradient_norm_vs_lag("lstm", 32, T=50, forget_bias=1.0)
    assert decay_rate(lstm) > decay_rate(rnn) + 0.1
    assert lstm[-1] > 1e3 * rnn[-1]
    open_gate = gradient_norm_vs_lag("lstm", 32, T=50, forget_bias=3.0)
    assert decay_rate(open_gate) > decay_rate(lstm), "a forget gate nearer 1 forgets less"


@pytest.mark.parametrize("wrt", ["state", "input"])
def test_output_shape_and_reproducibility(wrt: str) -> None:
    a = gradient_norm_vs_lag("gru", 8, T=10, seed=4, wrt=wrt)
    b = gradient_norm_vs_lag("gru", 8, T=10, seed=4, wrt=wrt)
    assert a.shape == (9,)
    np.testing.assert_array_equal(a, b)
    assert np.all(np.isfinite(a)) and np.all(a > 0)


def test_learner_friendly_errors() -> None:
    with pytest.raises(ValueError, match="cell_kind"):
        gradient_norm_vs_lag("transformer", 8)
    with pytest.raises(ValueError, match="spectral_radius"):
        gradient_norm_vs_lag("lstm", 8, spectral_radius=0.9)
    with pytest.raises(ValueError, match="forget_bias"):
        gradient_norm_vs_lag("rnn", 8, forget_bias=1.0)
    with pytest.raises(ValueError, match="square"):
        spectral_radius(np.ones((2, 3)))
