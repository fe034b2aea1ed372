"""Saving and loading a GPT as plain NumPy arrays: no pickle, any backend.

A checkpoint is one ``.npz`` file (a zip of ``.npy`` arrays):

* one float array per canonical weight (``tok_emb``, ``h0.attn.W_q``, ...), exactly
  ``model.get_weights()``: matrices (in, out), as in :mod:`dlbook.gpt.config`;
* one entry ``__header__``, a JSON string with the :class:`~dlbook.gpt.config.GPTConfig`
  fields, the vocabulary's alphabet, the dlbook version and free-form metadata
  (training config, validation loss, ...).

Loading uses ``np.load(..., allow_pickle=False)``: a ``.npz`` of numbers and one string
cannot run code when it is opened, unlike a pickled ``torch.save`` file. And because
the weights are canonical, any backend's ``GPT.set_weights`` takes them.

This module imports no framework; :func:`load_checkpoint` imports the one backend asked for.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import numpy as np

from dlbook.gpt import backend as gpt_backend
from dlbook.gpt.config import GPTConfig, check_weights, weight_shapes
from dlbook.lm.vocab import CharVocab

HEADER_KEY = "__header__"  # the npz entry that holds the JSON header
FORMAT = "dlbook-gpt-checkpoint"  # written into every header, checked on load
FORMAT_VERSION = 1  # bump when the layout changes


def save_checkpoint(
    model: Any,
    path: str | Path,
    *,
    vocab: CharVocab | None = None,
    metadata: dict[str, Any] | None = None,
) -> Path:
    """Write ``model``'s canonical weights and a JSON header to ``path`` (a ``.npz``).

    ``model`` is any backend's GPT (it needs ``.config`` and ``.get_weights()``).
    ``metadata`` must be JSON-serialisable (numbers, strings, lists, dicts). Returns
    the path written.
    """
    from dlbook import __version__

    if not isinstance(getattr(model, "config", None), GPTConfig) or not hasattr(
        model, "get_weights"
    ):
        raise TypeError(
            f"save_checkpoint saves a dlbook GPT (with .config and .get_weights()), "
            f"got {type(model).__name__}."
        )
    if vocab is not None and len(vocab) != model.config.vocab_size:
        raise ValueError(
            f"The vocabulary has {len(vocab)} characters but the model predicts "
            f"vocab_size = {model.config.vocab_size} tokens; save the vocabulary it was "
            "trained with."
        )
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "config": asdict(model.config),
        "alphabet": None if vocab is None else vocab.alphabet,
        "dlbook_version": __version__,
        "metadata": dict(metadata or {}),
    }
    try:
        text = json.dumps(header)
    except TypeError as err:
        raise TypeError(f"metadata must be JSON-serialisable: {err}") from err
    weights = model.get_weights()
    if HEADER_KEY in weights:  # pragma: no cover - no canonical name looks like this
        raise ValueError(f"A weight may not be called {HEADER_KEY!r}.")
    path = Path(path)
    if path.suffix != ".npz":
        raise ValueError(f"A checkpoint is a .npz file; got the path {str(path)!r}.")
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **weights, **{HEADER_KEY: np.array(text)})
    return path


def read_checkpoint(path: str | Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(header, weights) of a checkpoint, both checked; no model is built."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"No checkpoint at {str(path)!r}. Write one with save_checkpoint(model, path), "
            "or check the path."
        )
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as err:
        raise ValueError(
            f"{str(path)!r} is not a readable checkpoint ({type(err).__name__}: {err}). The "
            "file may be truncated or corrupted; write it again with save_checkpoint."
        ) from err
    if HEADER_KEY not in arrays:
        raise ValueError(f"{str(path)!r} is a .npz without a {HEADER_KEY!r}: not a checkpoint.")
    header = json.loads(str(arrays.pop(HEADER_KEY)))
    if header.get("format") != FORMAT or header.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{str(path)!r} has format {header.get('format')!r} version "
            f"{header.get('format_version')!r}; this dlbook reads {FORMAT!r} version "
            f"{FORMAT_VERSION}."
        )
    return header, arrays


def config_from_header(header: dict[str, Any]) -> GPTConfig:
    """The :class:`GPTConfig` stored in a header; unknown fields are refused by name."""
    stored = dict(header["config"])
    known = {f.name for f in fields(GPTConfig)}
    unknown = sorted(set(stored) - known)
    if unknown:
        raise ValueError(
            f"The checkpoint's config has field(s) {unknown} that this dlbook's GPTConfig "
            "does not know: it was written by a different version."
        )
    return GPTConfig(**stored)


def check_against_config(weights: dict[str, np.ndarray], config: GPTConfig) -> None:
    """Refuse weights that do not fit ``config``: a missing, extra or mis-shaped array."""
    extra = sorted(set(weights) - set(weight_shapes(config)))
    if extra:
        raise ValueError(
            f"The checkpoint holds weights {extra[:4]} that a GPT with {config} does not "
            "have: its config and its weights do not match."
        )
    check_weights(weights, config)


def load_checkpoint(
    path: str | Path, backend: str = "torch", *, dtype: str = "float32"
) -> tuple[Any, CharVocab | None, dict[str, Any]]:
    """Rebuild the GPT saved at ``path`` on ``backend``: returns (model, vocab, metadata).

    ``vocab`` is None when none was saved. ``metadata`` is the dict given to
    :func:`save_checkpoint`, plus ``"dlbook_version"`` (of the writer). The
    weights are cast to ``dtype`` ("float32" or "float64"), and checked against the
    stored config before any is copied.
    """
    header, weights = read_checkpoint(path)
    config = config_from_header(header)
    check_against_config(weights, config)
    vocab = None if header["alphabet"] is None else CharVocab(header["alphabet"])
    if vocab is not None and len(vocab) != config.vocab_size:
        raise ValueError(
            f"The checkpoint's alphabet has {len(vocab)} characters but its config says "
            f"vocab_size = {config.vocab_size}: the file is inconsistent."
        )
    model = gpt_backend(backend).GPT(config, seed=0, dtype=dtype)
    model.set_weights(weights)
    if hasattr(model, "eval"):
        model.eval()  # torch: no dropout at inference
    return model, vocab, {**header["metadata"], "dlbook_version": header["dlbook_version"]}
