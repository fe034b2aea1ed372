"""Chapter 2's surfaces and the theory of gradient descent, checked against experiment."""

import numpy as np
import pytest

from dlbook import landscapes as L
from dlbook.gradcheck import check_gradient

# Symmetric positive-definite test matrices: axis-aligned, rotated, and a 3 x 3 one.
MATRICES = {
    "diag(1, 25)": np.diag([1.0, 25.0]),
    "rotated": L.rotation(0.7) @ np.diag([0.3, 4.0]) @ L.rotation(0.7).T,
    "3x3": np.array([[2.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 5.0]]),
}
SURFACES = [*L.SURFACES, "rotated quadratic"]


def _surface(name: str) -> L.Surface:
    if name == "rotated quadratic":
        return L.ill_conditioned_quadratic(kappa=10.0, angle=np.pi / 6)
    return L.get_surface(name)


# ---------------------------------------------------------------------------
# Surfaces
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", SURFACES)
def test_gradient_matches_finite_differences(name: str) -> None:
    surface = _surface(name)
    rng = np.random.default_rng(0)
    for x in [np.array(surface.x0), *rng.uniform(-1.5, 1.5, size=(4, 2))]:
        check_gradient(lambda p: float(surface.f(p)), x, surface.grad(x), tol=1e-7)


@pytest.mark.parametrize("name", SURFACES)
def test_minimum_is_a_stationary_point_and_lowest(name: str) -> None:
    surface = _surface(name)
    x_star = np.array(surface.minimum)
    np.testing.assert_allclose(surface.grad(x_star), 0.0, atol=1e-12)
    g0, g1 = np.meshgrid(np.linspace(*surface.xlim, 101), np.linspace(*surface.ylim, 101))
    values = surface.f(np.stack([g0, g1], axis=-1))  # (101, 101): f works on grids
    assert values.shape == (101, 101)
    assert values.min() >= surface.f_min - 1e-12


def test_surface_values() -> None:
    assert L.rosenbrock(a=2.0, b=10.0).minimum == (2.0, 4.0)
    assert L.saddle().f_min == pytest.approx(-0.5)
    s = L.saddle()
    np.testing.assert_allclose(s.grad(np.zeros(2)), 0.0)  # the saddle point itself
    assert s.f(np.zeros(2)) > s.f_min
    with pytest.raises(ValueError, match="Unknown surface"):
        L.get_surface("himmelblau")


def test_quadratic_validates_A() -> None:
    with pytest.raises(ValueError, match="symmetric"):
        L.quadratic([[1.0, 2.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match="positive definite"):
        L.quadratic([[1.0, 0.0], [0.0, -1.0]])
    with pytest.raises(ValueError, match="positive definite"):
        L.divergence_threshold([[1.0, 0.0], [0.0, 0.0]])
    with pytest.raises(ValueError, match="square"):
        L.divergence_threshold(np.ones((2, 3)))
    with pytest.raises(ValueError, match="2 x 2"):
        L.quadratic(np.eye(3))
    with pytest.raises(ValueError, match="kappa"):
        L.ill_conditioned_quadratic(kappa=0.5)


def test_rotation_keeps_the_spectrum() -> None:
    A = L.rotation(0.4) @ np.diag([1.0, 9.0]) @ L.rotation(0.4).T
    np.testing.assert_allclose(np.linalg.eigvalsh(A), [1.0, 9.0])
    assert L.condition_number(A) == pytest.approx(9.0)


# ---------------------------------------------------------------------------
# Gradient descent: threshold and rate
# ---------------------------------------------------------------------------


def test_gradient_descent_path() -> None:
    surface = L.ill_conditioned_quadratic(kappa=4.0)
    path = L.gradient_descent(surface, lr=0.1, steps=50)
    assert path.shape == (51, 2)
    np.testing.assert_array_equal(path[0], surface.x0)
    A = np.diag([1.0, 4.0])
    np.testing.assert_allclose(path[1], path[0] - 0.1 * A @ path[0])  # one explicit step
    assert np.linalg.norm(path[-1]) < 1e-2 * np.linalg.norm(path[0])


def test_gradient_descent_can_diverge_quietly() -> None:
    with np.errstate(all="raise"):  # no overflow warning may escape
        path = L.gradient_descent(L.ill_conditioned_quadratic(kappa=25.0), lr=0.1, steps=2000)
    assert not np.all(np.isfinite(path[-1]))


@pytest.mark.parametrize("lr", [0.0, -0.1, float("nan")])
def test_learning_rate_must_be_positive(lr: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        L.gradient_descent(L.saddle(), lr=lr, steps=3)
    with pytest.raises(ValueError, match="positive"):
        L.convergence_rate(np.eye(2), lr)


def test_bad_arguments_are_explained() -> None:
    with pytest.raises(TypeError, match="number"):
        L.gradient_descent(L.saddle(), lr="0.1", steps=3)
    with pytest.raises(ValueError, match="steps"):
        L.gradient_descent(L.saddle(), lr=0.1, steps=-1)
    with pytest.raises(ValueError, match="shape \\(2,\\)"):
        L.gradient_descent(L.saddle(), lr=0.1, steps=3, x0=[1.0, 2.0, 3.0])


@pytest.mark.parametrize("key", MATRICES)
def test_divergence_threshold_predicted_equals_observed(key: str) -> None:
    """The acceptance test of the chapter: 2 / L agrees with experiment within 5%."""
    A = MATRICES[key]
    predicted = L.divergence_threshold(A)
    observed = L.observed_divergence_threshold(A, steps=200)
    assert predicted == pytest.approx(2.0 / np.linalg.eigvalsh(A).max())
    assert observed == pytest.approx(predicted, rel=0.05)
    assert abs(observed / predicted - 1) < 0.01  # in fact much closer


@pytest.mark.parametrize("key", MATRICES)
def test_convergence_rate_matches_measured_contraction(key: str) -> None:
    A = MATRICES[key]
    for lr in [0.3, 0.6, 0.95, 1.0, 1.5]:
        lr = lr * L.divergence_threshold(A)  # fractions of the threshold, both sides of optimum
        assert L.measured_contraction(A, lr) == pytest.approx(L.convergence_rate(A, lr), rel=1e-3)


@pytest.mark.parametrize("key", MATRICES)
def test_optimal_learning_rate(key: str) -> None:
    A = MATRICES[key]
    lr_opt = L.optimal_learning_rate(A)
    kappa = L.condition_number(A)
    rho = L.convergence_rate(A, lr_opt)
    assert rho == pytest.approx((kappa - 1) / (kappa + 1))
    assert rho == pytest.approx(L.optimal_rate(A))
    assert L.measured_contraction(A, lr_opt) == pytest.approx(rho, rel=1e-3)
    for other in [0.8 * lr_opt, 1.2 * lr_opt]:  # any other lr is slower
        assert L.convergence_rate(A, other) > rho


def test_rate_is_one_at_the_threshold() -> None:
    A = MATRICES["diag(1, 25)"]
    assert L.convergence_rate(A, L.divergence_threshold(A)) == pytest.approx(1.0)
    assert L.convergence_rate(A, 1.01 * L.divergence_threshold(A)) > 1.0


# ---------------------------------------------------------------------------
# Optimizers on surfaces
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "hparams"),
    [
        ("adam", {"lr": 0.1}),
        ("momentum", {"lr": 0.05, "momentum": 0.6}),
        ("nesterov", {"lr": 0.05, "momentum": 0.6}),
        ("sgd", {"lr": 0.07}),
    ],
)
@pytest.mark.parametrize("angle", [0.0, np.pi / 6])
def test_run_optimizer_reaches_the_minimum(name: str, hparams: dict, angle: float) -> None:
    surface = L.ill_conditioned_quadratic(kappa=25.0, angle=angle)
    path = L.run_optimizer(surface, name, 400, **hparams)
    assert path.shape == (401, 2)
    np.testing.assert_array_equal(path[0], surface.x0)
    gap = surface.f(path[-1]) - surface.f_min
    assert gap < 1e-3 * (surface.f(path[0]) - surface.f_min)  # Adam keeps jittering by ~lr


def test_run_optimizer_sgd_is_gradient_descent() -> None:
    surface = L.rosenbrock()
    np.testing.assert_allclose(
        L.run_optimizer(surface, "sgd", 50, lr=1e-3), L.gradient_descent(surface, 1e-3, 50)
    )


def test_run_optimizer_marks_divergence_with_nan() -> None:
    with np.errstate(all="raise"):  # no overflow warning may escape
        path = L.run_optimizer(L.rosenbrock(), "sgd", 100, lr=1.0)
    assert np.isnan(path[-1]).all()
    assert np.isfinite(path[0]).all()


def test_race_runs_every_config_from_one_start() -> None:
    surface = L.saddle()
    configs = L.race_configs(lr=0.05, adaptive_lr=0.05, momentum=0.9, beta1=0.9, beta2=0.999)
    paths = L.race(surface, configs, steps=30)
    assert list(paths) == ["SGD", "momentum", "Nesterov", "RMSprop", "Adam"]
    for path in paths.values():
        assert path.shape == (31, 2)
        np.testing.assert_array_equal(path[0], surface.x0)
    np.testing.assert_allclose(paths["SGD"], L.gradient_descent(surface, 0.05, 30))


def test_plain_gd_lingers_at_the_saddle() -> None:
    """Near (0, 0) the gradient almost vanishes; momentum leaves sooner than plain GD."""
    surface = L.saddle()
    gd = L.gradient_descent(surface, 0.05, 60)
    mom = L.run_optimizer(surface, "momentum", 60, lr=0.05, momentum=0.9)
    near_saddle = [int(np.sum(np.linalg.norm(p, axis=1) < 0.3)) for p in (gd, mom)]
    assert near_saddle[0] >= 10 > near_saddle[1]  # steps spent within 0.3 of (0, 0)
    assert surface.f(mom[40]) < surface.f(gd[40])


# ---------------------------------------------------------------------------
# Gradient noise against batch size
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def noise_setup():
    from dlbook.data import load_digits_split
    from dlbook.nn.numpy_backend import MLP

    data = load_digits_split(dtype="float64")
    x, y = data.x_train[:300], data.y_train[:300]
    model = MLP([64, 32, 10], seed=0, dtype="float64")
    sizes = [2, 8, 32, 128]
    return model, x, y, sizes, L.gradient_noise(model, x, y, sizes, n_draws=60, rng=0)


def test_gradient_noise_falls_with_batch_size(noise_setup) -> None:
    *_, sizes, noise = noise_setup
    assert list(noise) == sizes
    values = [noise[B] for B in sizes]
    assert all(a > b for a, b in zip(values, values[1:], strict=False))


def test_gradient_noise_follows_the_finite_population_law(noise_setup) -> None:
    model, x, y, sizes, noise = noise_setup
    c, ratios = L.fit_noise_law(noise, len(y))
    assert np.all((ratios > 0.75) & (ratios < 1.33)), ratios  # generous band around the law
    sigma2 = L.per_example_variance(model, x, y)
    assert c == pytest.approx(sigma2, rel=0.2)  # and the constant is sigma^2, as derived


def test_gradient_noise_leaves_the_model_alone_and_is_reproducible(noise_setup) -> None:
    model, x, y, *_ = noise_setup
    before = model.get_weights()
    a = L.gradient_noise(model, x, y, [4, 300], n_draws=3, rng=np.random.default_rng(1))
    b = L.gradient_noise(model, x, y, [4, 300], n_draws=3, rng=1)
    assert a == b
    assert a[300] == pytest.approx(0.0, abs=1e-20)  # the whole set is the full batch
    for key, w in model.get_weights().items():
        np.testing.assert_array_equal(w, before[key])


def test_noise_law_and_validation() -> None:
    np.testing.assert_allclose(L.noise_law([1, 10, 100], 100), [1.0, 90 / 990, 0.0])
    with pytest.raises(ValueError, match="between 1 and"):
        L.noise_law([0, 5], 100)
    with pytest.raises(ValueError, match="between 1 and"):
        L.noise_law([101], 100)
    with pytest.raises(ValueError, match="n_draws"):
        L.gradient_noise(None, np.zeros((5, 2)), np.zeros(5, int), [2], n_draws=0, rng=0)
    with pytest.raises(ValueError, match="smaller than N"):
        L.fit_noise_law({100: 0.0}, 100)
