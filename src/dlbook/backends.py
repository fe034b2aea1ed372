"""The three backends, and how a concept's backend module is found.

Layout rule of the whole book: **one package per concept, one module per backend**::

    dlbook/<concept>/numpy_backend.py       # from scratch, explicit backward passes
    dlbook/<concept>/torch_backend.py       # the same API on PyTorch (nn.Module)
    dlbook/<concept>/tensorflow_backend.py  # the same API on TensorFlow (tf.Module)

The three modules export the same public names with the same signatures, and
one parity test per concept checks that they agree. Only the torch and
tensorflow modules import their framework, so ``import dlbook`` stays light.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType
from typing import Literal

Backend = Literal["numpy", "torch", "tensorflow"]
BACKENDS: tuple[Backend, ...] = ("numpy", "torch", "tensorflow")

_ALIASES = {
    "np": "numpy",
    "numpy": "numpy",
    "torch": "torch",
    "pytorch": "torch",
    "tf": "tensorflow",
    "tensorflow": "tensorflow",
}

_PRETTY = {"numpy": "NumPy", "torch": "PyTorch", "tensorflow": "TensorFlow"}


def check_backend(name: str) -> Backend:
    """Return the canonical backend name, or explain which names exist."""
    if not isinstance(name, str) or name.lower() not in _ALIASES:
        raise ValueError(
            f"Unknown backend {name!r}. Choose one of {', '.join(BACKENDS)} "
            "(the short forms 'np' and 'tf' work too)."
        )
    return _ALIASES[name.lower()]  # type: ignore[return-value]


def load_backend(concept: str, backend: str) -> ModuleType:
    """Import ``dlbook.<concept>.<backend>_backend``, e.g. ``load_backend("nn", "torch")``.

    A concept that is inherently tied to some frameworks (torch.distributed, a KV
    cache on the PyTorch GPT) ships only those modules; asking for another one is
    answered with the backends it does have, not with an import error.
    """
    name = check_backend(backend)
    module = f"dlbook.{concept}.{name}_backend"
    if importlib.util.find_spec(module) is None:
        have = [b for b in BACKENDS if importlib.util.find_spec(f"dlbook.{concept}.{b}_backend")]
        raise ValueError(
            f"dlbook.{concept} has no {_PRETTY[name]} backend (its package docstring says "
            f"why); choose one of {', '.join(repr(b) for b in have)}."
        )
    return importlib.import_module(module)
