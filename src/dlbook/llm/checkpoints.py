"""The shipped models of chapter 7: half-precision checkpoints, the tokenizer, the results.

A stage checkpoint is a :mod:`dlbook.serving.checkpoint` file (``.npz``, read with
``allow_pickle=False``) whose weights are stored in float16 to keep the package
small; :func:`dlbook.serving.checkpoint.load_checkpoint` casts them back to
float32. The tokenizer's merges ship as JSON, the measured numbers of every stage
and seed (written by ``tools/train_llm_life.py``) as ``llm_life_results.json``.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from dlbook.serving.checkpoint import FORMAT, FORMAT_VERSION, HEADER_KEY, load_checkpoint
from dlbook.tokenizer.bpe import BPETokenizer

DATA_DIR = Path(__file__).parent / "data"
TOKENIZER_PATH = DATA_DIR / "bpe_kjv.json"  # the merges learned from the training text
RESULTS_PATH = DATA_DIR / "llm_life_results.json"  # every stage's numbers, every seed
STAGES = ("pretrained", "sft", "dpo")  # the checkpoints that ship, seed 0


def stage_path(stage: str) -> Path:
    """Where the seed-0 checkpoint of ``stage`` ships."""
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {STAGES}, got {stage!r}.")
    return DATA_DIR / f"llm_{stage}.npz"


def save_half(model: Any, path: str | Path, metadata: dict[str, Any] | None = None) -> Path:
    """Write ``model``'s weights as float16 with a checkpoint header (no vocabulary)."""
    from dlbook import __version__

    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "config": asdict(model.config),
        "alphabet": None,
        "dlbook_version": __version__,
        "metadata": dict(metadata or {}),
    }
    weights = {k: w.astype(np.float16) for k, w in model.get_weights().items()}
    path = Path(path)
    np.savez_compressed(path, **weights, **{HEADER_KEY: np.array(json.dumps(header))})
    return path


def round_to_half(model: Any) -> Any:
    """Round ``model``'s weights to float16 and back, as a shipped checkpoint holds them."""
    model.set_weights({k: w.astype(np.float16) for k, w in model.get_weights().items()})
    return model


def load_tokenizer(path: str | Path = TOKENIZER_PATH) -> BPETokenizer:
    """The BPE tokenizer of chapter 7 (255 merges + ``<|endoftext|>``: V = 512)."""
    return BPETokenizer.from_json(Path(path).read_text(encoding="utf-8"))


def load_stage(stage: str, backend: str = "torch") -> tuple[Any, dict[str, Any]]:
    """(model, metadata) of a shipped stage: "pretrained", "sft" or "dpo"."""
    model, _, metadata = load_checkpoint(stage_path(stage), backend)
    return model, metadata


def load_results(path: str | Path = RESULTS_PATH) -> dict[str, Any]:
    """Every stage's measured numbers for every seed, as ``tools/train_llm_life.py`` wrote them."""
    return json.loads(Path(path).read_text(encoding="utf-8"))
