"""``linear`` refuses a bias that would broadcast silently, and reads lists, in every backend."""

from __future__ import annotations

import numpy as np
import pytest

from dlbook.backends import BACKENDS, load_backend

X = np.arange(8.0).reshape(2, 4)  # (B, D)
W = np.ones((4, 3))  # (D, H)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("shape", [(4, 1), (3, 1), (1, 3), (2, 3), (1,)])
def test_linear_refuses_a_bias_of_the_wrong_shape(backend: str, shape: tuple) -> None:
    # (4, 1) broadcast the (2, 3) output to (4, 3); (1,) added one number to every output
    with pytest.raises(ValueError, match=r"must be \(3,\)"):
        load_backend("nn", backend).linear(X, W, np.zeros(shape))


@pytest.mark.parametrize("backend", BACKENDS)
def test_linear_reads_lists(backend: str) -> None:
    # before: AttributeError: 'list' object has no attribute 'ndim' (NumPy backend)
    y = load_backend("nn", backend).linear(X.tolist(), W.tolist(), [1.0, 2.0, 3.0])
    y = y.detach().cpu().numpy() if hasattr(y, "detach") else np.asarray(y)
    np.testing.assert_allclose(y, X @ W + [1.0, 2.0, 3.0], rtol=0, atol=1e-6)


def test_linear_names_a_torch_tensor_that_records_gradients() -> None:
    torch = pytest.importorskip("torch")
    x = torch.ones(2, 4, requires_grad=True)
    with pytest.raises(TypeError, match=r"x.detach\(\).cpu\(\).numpy\(\)"):
        load_backend("nn", "numpy").linear(x, W, np.zeros(3))
