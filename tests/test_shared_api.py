"""Every backend of a concept exports its ``SHARED_API`` with the same parameters.

Each concept package declares once, in its ``__init__``, the names its backend
modules share (``SHARED_API``). For every concept and backend this test checks
that each name exists and that its parameters (names, kinds, defaults; for a
class, those of ``__init__``) are the reference backend's (NumPy, where there
is one). A backend may add trailing parameters with defaults (the torch
attention's ``fused=False``), never drop, rename or reorder one: a call that
works in one backend works in all of them.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from typing import Any

import pytest

from dlbook.backends import BACKENDS, load_backend

CONCEPTS = [
    "nn",
    "optim",
    "regularization",
    "attention",
    "rnn",
    "gpt",
    "lora",
    "pruning",
    "quantization",
    "serving",
    "parallel",
    "distillation",
    "privacy",
    "attribution",
]


def _backends(concept: str) -> list[str]:
    return [b for b in BACKENDS if importlib.util.find_spec(f"dlbook.{concept}.{b}_backend")]


CASES = [(c, b) for c in CONCEPTS for b in _backends(c)]


def _params(obj: Any) -> list[inspect.Parameter]:
    target = obj.__init__ if inspect.isclass(obj) else obj
    params = list(inspect.signature(target).parameters.values())
    return params[1:] if inspect.isclass(obj) else params  # drop self


def _describe(p: inspect.Parameter) -> tuple[str, str, str]:
    return p.name, p.kind.name, repr(p.default)


def test_every_concept_declares_a_shared_api_with_two_backends() -> None:
    for concept in CONCEPTS:
        shared = importlib.import_module(f"dlbook.{concept}").SHARED_API
        assert shared and len(set(shared)) == len(shared), concept
        assert len(_backends(concept)) >= 2, concept


@pytest.mark.parametrize("concept, backend", CASES, ids=[f"{c}-{b}" for c, b in CASES])
def test_backend_exports_the_shared_api_with_the_same_parameters(
    concept: str, backend: str
) -> None:
    shared = importlib.import_module(f"dlbook.{concept}").SHARED_API
    reference = load_backend(concept, _backends(concept)[0])
    module = load_backend(concept, backend)
    missing = [name for name in shared if not hasattr(module, name)]
    assert not missing, f"dlbook.{concept}.{backend}_backend lacks {missing}"
    for name in shared:
        ref, got = _params(getattr(reference, name)), _params(getattr(module, name))
        where = f"dlbook.{concept}.{backend}_backend.{name}"
        assert [_describe(p) for p in got[: len(ref)]] == [_describe(p) for p in ref], (
            f"{where} has parameters {[p.name for p in got]}, the reference "
            f"{[p.name for p in ref]}: same names, kinds and defaults, in the same order"
        )
        extra = [p.name for p in got[len(ref) :] if p.default is inspect.Parameter.empty]
        assert not extra, f"{where} adds required parameters {extra}"


def test_the_check_can_fail() -> None:
    def numpy_like(x, axis=-1): ...

    def drifted(x, dim=-1): ...

    assert [_describe(p) for p in _params(numpy_like)] != [_describe(p) for p in _params(drifted)]
