"""The TensorFlow helpers that every ``tensorflow_backend`` shares: dtypes and conversions.

Only the TensorFlow backends import this module (it imports TensorFlow, quietly,
through :func:`dlbook._lazy.import_tensorflow`), so ``import dlbook`` stays light.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlbook._lazy import import_tensorflow
from dlbook._validate import as_float_array, check_float_dtype

tf = import_tensorflow()

DTYPES = {"float32": tf.float32, "float64": tf.float64}


def tf_dtype(dtype: Any) -> tf.DType:
    """``tf.float32`` or ``tf.float64`` for a dtype given as a name or dtype object."""
    return DTYPES[check_float_dtype(dtype)]


def is_tensor(x: Any) -> bool:
    """True for a ``tf.Tensor`` or a ``tf.Variable`` (both are watched by a tape)."""
    return isinstance(x, (tf.Tensor, tf.Variable))


def as_tensor(x: Any, name: str = "x", *, dtype: Any = None, validate: bool = True) -> tf.Tensor:
    """``x`` as a tensor: the one conversion that the TensorFlow backends use.

    * A tensor or variable is kept, so the tape still sees it (an integer one becomes
      float64).
    * Anything else is checked by :func:`dlbook._validate.as_float_array` (a clear
      error for strings, objects, tracked torch tensors) and converted.
    * ``dtype`` casts either kind (a differentiable cast).
    * ``validate=False`` converts arrays as they are and keeps tensors as they are.
    """
    if is_tensor(x):
        if validate and not x.dtype.is_floating:
            x = tf.cast(x, tf.float64)
    else:
        x = tf.convert_to_tensor(as_float_array(x, name) if validate else np.asarray(x))
    return x if dtype is None or x.dtype == dtype else tf.cast(x, dtype)


def to_numpy(x: Any) -> np.ndarray:
    """A NumPy array of a tensor's (or an array's) values."""
    return x.numpy() if is_tensor(x) else np.asarray(x)
