import numpy as np
import pytest

from dlbook.backends import BACKENDS
from dlbook.nn import backend, copy_weights


@pytest.mark.parametrize("src", BACKENDS)
@pytest.mark.parametrize("dst", BACKENDS)
def test_copy_weights_between_backends(src: str, dst: str) -> None:
    a = backend(src).MLP([4, 6, 3], activation="tanh", seed=1, dtype="float64")
    b = backend(dst).MLP([4, 6, 3], activation="tanh", seed=2, dtype="float64")
    x = np.random.default_rng(0).normal(size=(5, 4))
    assert not np.allclose(
        backend(src).loss_and_grads(a, x, np.arange(5) % 3)[0],
        backend(dst).loss_and_grads(b, x, np.arange(5) % 3)[0],
    )
    assert copy_weights(a, b) is b
    for key, value in a.get_weights().items():
        np.testing.assert_array_equal(b.get_weights()[key], value)


def test_copy_weights_refuses_other_shapes() -> None:
    a = backend("numpy").MLP([4, 6, 3], seed=0)
    b = backend("torch").MLP([4, 5, 3], seed=0)
    with pytest.raises(ValueError, match="W0"):
        copy_weights(a, b)
