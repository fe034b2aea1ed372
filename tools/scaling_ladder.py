"""Train the book's scaling ladder and write src/dlbook/scale/data/scaling_ladder.json.

    python tools/scaling_ladder.py            # or: make scaling

Eight GPTs (``dlbook.scale.scaling.LADDER_SHAPES``, about 340 to 85k non-embedding
parameters) are trained with one schedule (``LADDER_SCHEDULE``: 2,048,000 tokens each)
on ``load_corpus(n_train=LADDER_N_TRAIN, n_val=LADDER_N_VAL)``, and each one's loss on
the whole 200k-character validation text is recorded. Everything but the timings is
deterministic for a given machine and thread count (one thread by default). The
shipped file took 2.5 minutes on one core of a shared 2-core machine: 139 s of training
(72 s for the last two rungs), the rest drawing the corpus and scoring the rungs.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import sys
from pathlib import Path

from tqdm.auto import tqdm

from dlbook._lazy import import_torch
from dlbook.data.corpus import load_corpus
from dlbook.device import device_name
from dlbook.lm.vocab import CharVocab
from dlbook.scale.scaling import LADDER_N_TRAIN, LADDER_N_VAL, LADDER_PATH
from dlbook.scale.torch_backend import ladder_configs, train_rung

COMMAND = "python tools/scaling_ladder.py"


def machine() -> dict[str, object]:
    """Where the timings were taken."""
    torch = import_torch()
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "device": device_name("torch"),
        "torch_threads": torch.get_num_threads(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=LADDER_PATH, help="where to write the JSON")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (results depend)")
    args = parser.parse_args(argv)
    import_torch().set_num_threads(args.threads)  # small models: one thread is fastest
    corpus = load_corpus(n_train=LADDER_N_TRAIN, n_val=LADDER_N_VAL)
    vocab = CharVocab(corpus.alphabet)
    train_ids, val_ids = vocab.encode(corpus.train), vocab.encode(corpus.val)
    where = machine()
    runs = []
    bar = tqdm(ladder_configs(), desc="scaling ladder", unit="rung")
    for config in bar:
        bar.set_postfix(n_layer=config.n_layer, n_embd=config.n_embd)
        record = train_rung(config, train_ids, val_ids)
        config_fields = {k: v for k, v in vars(config).items() if k != "progress"}
        date = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        runs.append({"config": config_fields, **record, "date": date, "machine": where})
        tqdm.write(
            f"L={config.n_layer} C={config.n_embd:3d}: N={record['n_params']:7,d} "
            f"val={record['val_loss']:.4f} nats/char ({record['train_seconds']:.0f} s)"
        )
    ladder = {
        "command": COMMAND,
        "corpus": {
            "n_train": LADDER_N_TRAIN,
            "n_val": LADDER_N_VAL,
            "entropy_rate": corpus.entropy_rate,
            "source_val_loss": corpus.source_loss("val"),
        },
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(ladder, indent=1) + "\n")
    print(f"wrote {len(runs)} runs to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
