"""dlbook._torch and dlbook._tf: the one conversion and dtype helpers of each framework,
and dlbook._validate.check_float_dtype, which both use."""

from __future__ import annotations

import numpy as np
import pytest

from dlbook._validate import check_float_dtype


@pytest.mark.parametrize(
    "dtype, name",
    [("float32", "float32"), (np.float64, "float64"), (np.dtype("float32"), "float32")],
)
def test_check_float_dtype_names_the_dtype(dtype, name: str) -> None:
    assert check_float_dtype(dtype) == name


@pytest.mark.parametrize("dtype", ["float16", int, "int64", "floot32"])
def test_check_float_dtype_refuses_the_rest(dtype) -> None:
    with pytest.raises(ValueError, match="'float32' or 'float64'"):
        check_float_dtype(dtype)


def test_torch_helpers() -> None:
    torch = pytest.importorskip("torch")
    from dlbook._torch import as_tensor, to_numpy, torch_dtype

    assert torch_dtype(torch.float64) is torch.float64 and torch_dtype("float32") is torch.float32
    with pytest.raises(ValueError, match="'float32' or 'float64'"):
        torch_dtype(torch.int64)
    x = torch.ones(3, dtype=torch.float32, requires_grad=True)
    assert as_tensor(x) is x  # kept as it is: autograd still sees it
    assert as_tensor(torch.arange(3)).dtype == torch.float64  # integer -> float64
    assert as_tensor(torch.arange(3), validate=False).dtype == torch.int64  # ids stay ids
    assert as_tensor([1, 2], validate=False).dtype == torch.int64
    cast = as_tensor(np.ones(2), dtype=torch.float32, device="cpu")
    assert cast.dtype == torch.float32 and cast.device.type == "cpu"
    moved = as_tensor(x, device="cpu", move=True, dtype=torch.float64)
    assert moved.dtype == torch.float64 and moved.grad_fn is not None  # a differentiable cast
    with pytest.raises(TypeError, match="x must be an array of numbers"):
        as_tensor("abc", "x")
    with pytest.raises(TypeError, match="records gradients"):
        as_tensor(_Tracked(x), "w")
    np.testing.assert_array_equal(to_numpy(x * 2), [2.0, 2.0, 2.0])


class _Tracked:
    """Something that looks like a tracked torch tensor to a NumPy conversion."""

    def __init__(self, t) -> None:
        self.requires_grad, self._t = True, t

    def detach(self):
        return self._t.detach()


def test_tensorflow_helpers() -> None:
    pytest.importorskip("tensorflow")
    from dlbook._tf import as_tensor, is_tensor, tf, tf_dtype, to_numpy

    assert tf_dtype(tf.float64) == tf.float64 and tf_dtype("float32") == tf.float32
    with pytest.raises(ValueError, match="'float32' or 'float64'"):
        tf_dtype(tf.int32)
    v = tf.Variable([1.0, 2.0])
    assert as_tensor(v) is v and is_tensor(v) and not is_tensor(np.ones(2))
    assert as_tensor(tf.constant([1, 2])).dtype == tf.float64
    assert as_tensor([1, 2], validate=False).dtype == tf.int64
    assert as_tensor(np.ones(2), dtype=tf.float32).dtype == tf.float32
    with pytest.raises(TypeError, match="x must be an array of numbers"):
        as_tensor(None, "x")
    np.testing.assert_array_equal(to_numpy(v), [1.0, 2.0])
