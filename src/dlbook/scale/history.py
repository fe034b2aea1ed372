"""Published language models over time: parameters, training tokens and training compute.

The numbers live in ``data/published_models.json``, one row per model, each with the
BibTeX key of its paper (``source``) and where in the paper they are (``where``).
Where a paper gives no training compute, :func:`load_published_models` estimates it
with C = 6 N D (6 FLOPs per parameter per token, :mod:`dlbook.scale.flops`) and
marks the row ``compute_estimated``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

PUBLISHED_MODELS_PATH = Path(__file__).parent / "data" / "published_models.json"


@dataclass(frozen=True)
class PublishedModel:
    """One published model; None where the paper does not say."""

    name: str  # the model's name in its paper
    year: int  # year of the paper
    params: float  # N: parameters
    tokens: float | None  # D: training tokens (None: not published)
    compute: float | None  # C: training FLOPs, published or 6 N D (None: no D known)
    compute_estimated: bool  # True when compute is 6 N D rather than the paper's number
    source: str  # BibTeX key of the paper (references.bib)
    where: str  # where in the paper the numbers are

    @property
    def tokens_per_param(self) -> float | None:
        """D / N: about 1.7 for GPT-3, 20 for Chinchilla, 39 for Llama 3 405B."""
        return None if self.tokens is None else self.tokens / self.params


def load_published_models(path: str | Path | None = None) -> list[PublishedModel]:
    """The table of published models, oldest first, compute filled in with 6 N D if missing."""
    rows = json.loads(Path(path or PUBLISHED_MODELS_PATH).read_text())["models"]
    models = []
    for row in rows:
        compute, estimated = row["compute"], False
        if compute is None and row["tokens"] is not None:
            compute, estimated = 6.0 * row["params"] * row["tokens"], True
        models.append(
            PublishedModel(
                name=row["name"],
                year=int(row["year"]),
                params=float(row["params"]),
                tokens=row["tokens"],
                compute=compute,
                compute_estimated=estimated,
                source=row["source"],
                where=row["where"],
            )
        )
    return sorted(models, key=lambda m: m.year)
