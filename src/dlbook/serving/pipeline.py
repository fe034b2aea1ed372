"""An inference pipeline: a checkpoint in, text out, reproducibly.

``InferencePipeline.from_checkpoint(path)`` loads the model and its vocabulary once;
calling the pipeline turns a prompt into its continuation. It holds no random state:
every call takes its own ``seed``, so the same call always returns the same text,
whatever was generated before it. This module imports no framework; the backend
named is imported when the pipeline is built.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dlbook.backends import check_backend, load_backend
from dlbook.lm.vocab import CharVocab
from dlbook.serving.checkpoint import load_checkpoint


@dataclass
class InferencePipeline:
    """A model, its vocabulary and the backend that runs it."""

    model: Any  # a dlbook GPT of ``backend``
    vocab: CharVocab  # the characters the model was trained on
    backend: str = "torch"  # "numpy" or "torch": whose serving functions generate
    metadata: dict[str, Any] = field(default_factory=dict)  # what the checkpoint recorded

    @classmethod
    def from_checkpoint(cls, path: str | Path, backend: str = "torch") -> InferencePipeline:
        """Load a checkpoint written by :func:`dlbook.serving.save_checkpoint` (with a vocab)."""
        backend = check_backend(backend)
        if backend == "tensorflow":
            raise ValueError("The serving functions exist for the numpy and torch backends.")
        model, vocab, metadata = load_checkpoint(path, backend)
        if vocab is None:
            raise ValueError(
                f"The checkpoint {str(path)!r} holds no vocabulary, so text cannot be encoded; "
                "save it with save_checkpoint(model, path, vocab=vocab)."
            )
        return cls(model, vocab, backend, metadata)

    def __call__(
        self, prompt: str, n_new: int = 100, temperature: float = 0.0, seed: int = 0
    ) -> str:
        """The ``n_new`` characters after ``prompt``: greedy at temperature 0, else sampled."""
        if not isinstance(prompt, str) or not prompt:
            raise ValueError("The prompt must be a non-empty str: the model predicts from it.")
        return self.batch([prompt], n_new, temperature, seed)[0]

    def batch(
        self,
        prompts: Sequence[str],
        n_new: int = 100,
        temperature: float = 0.0,
        seed: int | Sequence[int] = 0,
    ) -> list[str]:
        """Several prompts at once (``generate_batch``); each equals its own call."""
        serving = load_backend("serving", self.backend)
        return serving.generate_batch(
            self.model, self.vocab, list(prompts), n_new, temperature, seed
        )
