"""Operations for random expression programs, shared by the scalar and tensor engine tests.

``Value``, ``Tensor`` and ``torch.Tensor`` have the same method names, so one table
drives the engine under test and the torch oracle alike. Guarded forms keep every op
defined: log and ** 0.5 see x*x + 1 > 0, and division is by y*y + 1.
"""

from __future__ import annotations

from collections.abc import Callable

UNARY: dict[str, Callable] = {
    "tanh": lambda x: x.tanh(),
    "sigmoid": lambda x: x.sigmoid(),
    "relu": lambda x: x.relu(),
    "exp_tanh": lambda x: x.tanh().exp(),
    "log_safe": lambda x: (x * x + 1).log(),
    "sqrt_safe": lambda x: (x * x + 1) ** 0.5,
    "square": lambda x: x**2,
    "cube": lambda x: x**3,
    "neg": lambda x: -x,
    "reciprocal_safe": lambda x: 1 / (x * x + 1),
    "affine": lambda x: 0.5 * x - 1,
}
BINARY: dict[str, Callable] = {
    "add": lambda x, y: x + y,
    "sub": lambda x, y: x - y,
    "mul": lambda x, y: x * y,
    "div_safe": lambda x, y: x / (y * y + 1),
}
