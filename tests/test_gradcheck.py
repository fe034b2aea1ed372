import numpy as np
import pytest

from dlbook.gradcheck import check_gradient, numerical_gradient, relative_error


def test_numerical_gradient_of_a_quadratic() -> None:
    A = np.array([[2.0, 1.0], [1.0, 3.0]])
    x = np.array([0.5, -1.0])
    g = numerical_gradient(lambda v: 0.5 * v @ A @ v, x)
    np.testing.assert_allclose(g, A @ x, rtol=0, atol=1e-8)
    np.testing.assert_array_equal(x, [0.5, -1.0])  # input restored


def test_check_gradient_catches_a_wrong_gradient() -> None:
    x = np.array([1.0, 2.0, 3.0])
    assert check_gradient(lambda v: float(np.sum(v**3)), x, 3 * x**2) < 1e-8
    with pytest.raises(AssertionError, match="gradient check failed"):
        check_gradient(lambda v: float(np.sum(v**3)), x, 2 * x**2)


def test_numerical_gradient_refuses_float32() -> None:
    with pytest.raises(TypeError, match="float64"):
        numerical_gradient(lambda v: float(v.sum()), np.ones(3, dtype=np.float32))


def test_relative_error_is_scale_free_and_checks_shapes() -> None:
    assert relative_error(np.array([1e6]), np.array([1e6 + 1])) == pytest.approx(1e-6, rel=1e-3)
    with pytest.raises(ValueError, match="shapes"):
        relative_error(np.ones(2), np.ones(3))
