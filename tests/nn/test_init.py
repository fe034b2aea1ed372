"""Initialisation schemes (``dlbook.nn.init``) and what they do to a deep net (``dlbook.nn.depth``).

Statistical tolerances: the sample variance of N independent draws has a
relative standard error of about sqrt(2 / N) for a normal (less for uniform and
truncated normals, whose tails are lighter). Every comparison below allows
``5 * sqrt(2 / N)``, and the seeds are fixed, so the tests are deterministic.
"""

from __future__ import annotations

import numpy as np
import pytest

from dlbook.nn.depth import layer_statistics, variance_ratio
from dlbook.nn.init import calculate_gain, fans, init_linear_weights, init_std, init_weights

SHAPE = (500, 300)  # (fan_in, fan_out) in the book's layout: 150,000 draws
N = SHAPE[0] * SHAPE[1]
TOL = 5 * np.sqrt(2 / N)  # ~1.8 %: five standard errors of a sample variance


def _rel(a: float, b: float) -> float:
    return abs(a - b) / b


# ---------------------------------------------------------------------------
# fans and gains
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "torch_shape", [(7, 3), (128, 784), (1, 1), (16, 3, 5, 5), (8, 4, 3), (2, 3, 2, 2, 2)]
)
def test_fans_agree_with_torch_on_out_in_shapes(torch_shape: tuple[int, ...]) -> None:
    torch = pytest.importorskip("torch")
    expected = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(torch_shape))
    assert fans(torch_shape, layout="out_in") == expected


def test_fans_of_the_book_layout_are_those_of_the_transpose() -> None:
    assert fans((784, 128)) == (784, 128)  # W (in, out)
    assert fans((128, 784), layout="out_in") == (784, 128)  # torch's weight (out, in)
    assert fans((5, 5, 3, 16)) == fans((16, 3, 5, 5), layout="out_in") == (75, 400)  # conv


def test_fans_refuses_biases_and_unknown_layouts() -> None:
    with pytest.raises(ValueError, match="bias"):
        fans((10,))
    with pytest.raises(ValueError, match="out_in"):
        fans((3, 4), layout="in-out")  # type: ignore[arg-type]


def test_swapped_fan_is_the_classic_he_bug() -> None:
    """He std for W (784, 128) computed with torch's layout divides by 128, not 784."""
    right = init_std((784, 128), "he")
    wrong = init_std((784, 128), "he", layout="out_in")
    assert (wrong / right) ** 2 == pytest.approx(784 / 128)


@pytest.mark.parametrize("activation", ["linear", "sigmoid", "tanh", "relu", "leaky_relu", "selu"])
def test_gain_matches_torch(activation: str) -> None:
    torch = pytest.importorskip("torch")
    expected = torch.nn.init.calculate_gain(activation)
    assert calculate_gain(activation) == pytest.approx(expected, rel=1e-15)


def test_unknown_names_are_explained() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="scheme 'hee'.*xavier"):
        init_weights((3, 4), "hee", rng)
    with pytest.raises(ValueError, match="distribution 'gauss'"):
        init_weights((3, 4), "he", rng, distribution="gauss")
    with pytest.raises(ValueError, match="No gain for activation 'swish'"):
        init_weights((3, 4), "he", rng, activation="swish")
    with pytest.raises(TypeError, match="Generator"):
        init_weights((3, 4), "he", 0)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------
# Empirical variances match the formulas
# ---------------------------------------------------------------------------

FORMULAS = {  # scheme -> Var(w) for W of shape (fan_in, fan_out) = SHAPE, ReLU
    "small": 0.01**2,
    "xavier": 2 / (SHAPE[0] + SHAPE[1]),
    "glorot": 2 / (SHAPE[0] + SHAPE[1]),
    "he": 2 / SHAPE[0],
    "kaiming": 2 / SHAPE[0],
    "lecun": 1 / SHAPE[0],
}


@pytest.mark.parametrize("distribution", ["normal", "uniform", "truncated_normal"])
@pytest.mark.parametrize("scheme", list(FORMULAS))
def test_empirical_variance_matches_formula(scheme: str, distribution: str) -> None:
    w = init_weights(SHAPE, scheme, np.random.default_rng(1), distribution=distribution)
    assert w.shape == SHAPE and w.dtype == np.float64
    assert abs(w.mean()) < 5 * np.sqrt(FORMULAS[scheme] / N)
    assert _rel(w.var(), FORMULAS[scheme]) < TOL


def test_uniform_xavier_bound_is_sqrt_6_over_fan_sum() -> None:
    w = init_weights(SHAPE, "xavier", np.random.default_rng(2), distribution="uniform")
    bound = np.sqrt(6 / sum(SHAPE))
    assert np.abs(w).max() <= bound
    assert np.abs(w).max() > 0.999 * bound  # the draws fill the interval


def test_he_gain_follows_the_activation() -> None:
    w = init_weights(SHAPE, "he", np.random.default_rng(3), activation="tanh")
    assert _rel(w.var(), (5 / 3) ** 2 / SHAPE[0]) < TOL


def test_chapter_1_init_is_he_normal_in_the_book_layout() -> None:
    """init_linear_weights (chapter 1) and init_weights draw the same numbers."""
    W, b = init_linear_weights(64, 32, np.random.default_rng(4), gain=np.sqrt(2.0))
    w = init_weights((64, 32), "he", np.random.default_rng(4), activation="relu")
    np.testing.assert_array_equal(W, w)
    assert not b.any()


def test_init_weights_leaves_global_numpy_state_alone() -> None:
    state = np.random.get_state()[1].copy()
    init_weights((10, 10), "xavier", np.random.default_rng(0), distribution="truncated_normal")
    np.testing.assert_array_equal(np.random.get_state()[1], state)


# ---------------------------------------------------------------------------
# The same variances as torch.nn.init and keras.initializers
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scheme", "torch_init"),
    [
        ("xavier", lambda nn_init, t, g: nn_init.xavier_normal_(t, generator=g)),
        (
            "he",
            lambda nn_init, t, g: nn_init.kaiming_normal_(
                t, mode="fan_in", nonlinearity="relu", generator=g
            ),
        ),
        ("xavier_uniform", lambda nn_init, t, g: nn_init.xavier_uniform_(t, generator=g)),
    ],
)
def test_variance_matches_torch_init_on_the_transposed_layout(scheme: str, torch_init) -> None:
    torch = pytest.importorskip("torch")
    t = torch.empty(SHAPE[::-1], dtype=torch.float64)  # torch's (out, in)
    torch_init(torch.nn.init, t, torch.Generator().manual_seed(0))
    name, _, dist = scheme.partition("_")
    ours = init_weights(SHAPE, name, np.random.default_rng(5), distribution=dist or "normal")
    torch_var = t.var(unbiased=False).item()
    assert _rel(torch_var, FORMULAS[name]) < TOL
    assert _rel(ours.var(), torch_var) < 2 * TOL


@pytest.mark.parametrize(
    ("keras_name", "scheme", "distribution"),
    [
        ("GlorotNormal", "xavier", "truncated_normal"),
        ("HeNormal", "he", "truncated_normal"),
        ("GlorotUniform", "xavier", "uniform"),
        ("HeUniform", "he", "uniform"),
    ],
)
def test_variance_matches_keras_initializers(keras_name: str, scheme: str, distribution: str):
    """Keras' *Normal initialisers are truncated at 2 std, with the std enlarged by 1/0.8796.

    So their variance is the formula's after all, and their largest entry is
    ``2 / 0.8796 = 2.27`` formula stds; ``distribution="truncated_normal"`` copies both.
    """
    pytest.importorskip("tensorflow")
    import keras

    k = np.asarray(getattr(keras.initializers, keras_name)(seed=0)(SHAPE, dtype="float64"))
    ours = init_weights(SHAPE, scheme, np.random.default_rng(6), distribution=distribution)
    assert _rel(k.var(), FORMULAS[scheme]) < TOL
    assert _rel(ours.var(), k.var()) < 2 * TOL
    assert np.abs(ours).max() == pytest.approx(np.abs(k).max(), rel=1e-3)


# ---------------------------------------------------------------------------
# Depth statistics: the chapter's comparison, measured (depth 20, width 256)
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stats() -> dict[tuple[str, str], dict]:
    runs = [("tanh", s) for s in ("small", "xavier")] + [("relu", s) for s in ("small", "he")]
    runs.append(("relu", "xavier"))
    return {(a, s): layer_statistics(20, 256, a, s, batch=512, rng=0) for a, s in runs}


def test_layer_statistics_has_one_entry_per_layer(stats) -> None:
    s = stats[("tanh", "xavier")]
    for key in ("activation_std", "activation_var", "gradient_std", "gradient_var"):
        assert s[key].shape == (20,)
        assert np.all(np.isfinite(s[key]))
    np.testing.assert_allclose(s["activation_std"] ** 2, s["activation_var"])
    assert s["weight_grad_std"].shape == (20,)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("kind", ["activation", "gradient"])
def test_small_init_collapses_the_signal(stats, activation: str, kind: str) -> None:
    """N(0, 0.01^2) in width 256 multiplies the variance by ~256e-4 per layer (less for ReLU)."""
    assert variance_ratio(stats[(activation, "small")], kind) < 1e-20  # measured ~5e-31, ~1e-36


@pytest.mark.parametrize("kind", ["activation", "gradient"])
def test_he_init_keeps_relu_signals_alive(stats, kind: str) -> None:
    """He: measured ratios 1.6 (activations) and 1.4 (gradients); 0.5 to 2.3 over 20 seeds."""
    assert 0.25 < variance_ratio(stats[("relu", "he")], kind) < 4


@pytest.mark.parametrize("kind", ["activation", "gradient"])
def test_xavier_init_keeps_tanh_signals_within_polynomial_decay(stats, kind: str) -> None:
    """Xavier on tanh: no exponential collapse, but a slow 1/l decay (ratio ~0.06 to 0.09).

    tanh(z) ~ z - z^3/3 loses a little variance per layer: Var(h_l) ~ 1/(2l),
    so over 20 layers the ratio falls to about (1/40) / 0.39 = 0.064, which is
    25 orders of magnitude better than the small init.
    """
    ratio = variance_ratio(stats[("tanh", "xavier")], kind)
    assert 0.03 < ratio < 0.3
    assert ratio > 1e20 * variance_ratio(stats[("tanh", "small")], kind)


def test_xavier_tanh_variance_follows_one_over_2l(stats) -> None:
    var = stats[("tanh", "xavier")]["activation_var"]
    layers = np.arange(1, 21)
    np.testing.assert_allclose((2 * layers * var)[4:], 1.0, atol=0.1)  # measured 0.95 .. 1.06


@pytest.mark.parametrize("kind", ["activation", "gradient"])
def test_xavier_on_relu_halves_the_variance_each_layer(stats, kind: str) -> None:
    """Xavier (= LeCun for square layers) ignores that ReLU zeroes half: ratio ~ 2^-19."""
    ratio = variance_ratio(stats[("relu", "xavier")], kind)
    assert 2.0**-19 / 10 < ratio < 2.0**-19 * 10  # measured 3.1e-6 and 2.7e-6


def test_layer_statistics_is_reproducible_and_validates() -> None:
    a = layer_statistics(3, 8, "relu", "he", batch=4, rng=7)
    b = layer_statistics(3, 8, "relu", "he", batch=4, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(a["gradient_var"], b["gradient_var"])
    with pytest.raises(ValueError, match="depth >= 2"):
        layer_statistics(1, 8, "relu", "he")
    with pytest.raises(ValueError, match="Unknown activation"):
        layer_statistics(3, 8, "elu", "he")
    with pytest.raises(ValueError, match="kind"):
        variance_ratio(a, "weights")


def test_depth_backward_matches_autograd_of_torch() -> None:
    """The hand-written backward pass of the depth experiment is torch's gradient."""
    torch = pytest.importorskip("torch")
    from dlbook.nn.depth import _backward, _forward

    rng = np.random.default_rng(0)
    h0, v = rng.normal(size=(5, 6)), rng.normal(size=(5, 6))
    weights = [init_weights((6, 6), "xavier", rng) for _ in range(3)]
    zs, hs = _forward(h0, weights, "tanh")
    grad_h, grad_W = _backward(h0, weights, zs, hs, v, "tanh")
    Ws = [torch.tensor(W, requires_grad=True) for W in weights]
    h = torch.tensor(h0)
    for W in Ws:
        h = torch.tanh(h @ W)
    (h * torch.tensor(v)).sum().backward()
    for W, g in zip(Ws, grad_W, strict=True):
        np.testing.assert_allclose(W.grad.numpy(), g, rtol=0, atol=1e-12)
