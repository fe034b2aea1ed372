"""The shipped tokenizer, checkpoints and results: small, loadable, consistent, and each
stage moves its number by more than the seed-to-seed spread."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dlbook.llm import checkpoints as ck
from dlbook.llm import corpus as cp
from dlbook.tokenizer import ENDOFTEXT, train_bpe

DATA_FILES = [
    ck.DATA_DIR / "kjv_four_books.txt",
    ck.DATA_DIR / "tang300.txt",
    ck.TOKENIZER_PATH,
    ck.RESULTS_PATH,
    *(ck.stage_path(s) for s in ck.STAGES),
]


def test_shipped_files_are_small():
    from dlbook.tokenizer.bpe import GPT2_RANKS_PATH

    sizes = [p.stat().st_size for p in [*DATA_FILES, GPT2_RANKS_PATH]]
    assert sum(sizes) < 2 * 2**20, sizes
    assert max(p.stat().st_size for p in DATA_FILES if p.suffix == ".npz") < 400_000


def test_tokenizer_is_the_one_the_corpus_gives():
    shipped = ck.load_tokenizer()
    again = train_bpe(cp.load_corpus().train_text, 255, special_tokens=(ENDOFTEXT,))
    assert shipped.vocab_size == 512 and shipped.merges == again.merges


def test_checkpoints_are_half_precision_without_pickle():
    for stage in ck.STAGES:
        with np.load(ck.stage_path(stage), allow_pickle=False) as npz:
            header = json.loads(str(npz["__header__"]))
            assert npz["tok_emb"].dtype == np.float16
        assert header["config"]["vocab_size"] == 512
        assert header["metadata"]["stage"] == stage


def test_shipped_model_reproduces_its_recorded_loss():
    pytest.importorskip("torch")
    from dlbook.llm import torch_backend as life

    model, meta = ck.load_stage("pretrained")
    recorded = ck.load_results()["seeds"]["0"]["pretrained_nats_per_char"]
    measured = life.nats_per_char(model, ck.load_tokenizer(), cp.load_corpus().val_text)
    assert measured == pytest.approx(recorded, abs=2e-3)


MOVES = [  # (before, after, direction): what each stage targets
    ("init_nats_per_char", "pretrained_nats_per_char", -1),
    ("classify_scratch_accuracy", "classify_probe_accuracy", +1),
    ("pretrained_accuracy", "sft_accuracy", +1),
    ("sft_nomask_response_nats_per_token", "sft_response_nats_per_token", -1),
    ("sft_concise_rate", "dpo_concise_rate", +1),
]


def seed_spread(before: np.ndarray, after: np.ndarray) -> float:
    """The chapter's spread: the largest seed-to-seed range of before, after and change."""
    return float(max(np.ptp(after), np.ptp(before), np.ptp(after - before)))


@pytest.mark.parametrize("before, after, sign", MOVES)
def test_each_stage_moves_its_number_beyond_the_seed_spread(before, after, sign):
    seeds = ck.load_results()["seeds"]
    assert len(seeds) == 3
    b = np.array([s[before] for s in seeds.values()])
    a = np.array([s[after] for s in seeds.values()])
    change = sign * (a.mean() - b.mean())
    assert change > seed_spread(b, a), (before, after, change, seed_spread(b, a))
    assert np.all(sign * (a - b) > 0)  # in every seed, not only on average


def test_classifier_curves_match_the_headline_and_pretraining_helps_when_labels_are_few():
    results = ck.load_results()
    labels = results["classify_labels_per_book"]
    k = labels.index(results["classify_headline_labels_per_book"])
    seeds = list(results["seeds"].values())
    curves = {arm: np.array([s[f"classify_{arm}_curve"] for s in seeds])  # (seeds, labels)
              for arm in ("probe", "finetuned", "scratch")}  # fmt: skip
    assert labels == sorted(labels)
    for arm, c in curves.items():
        assert c.shape == (3, len(labels)) and np.all(c > 0.25)  # above chance (four books)
        assert [s[f"classify_{arm}_accuracy"] for s in seeds] == c[:, k].tolist()
    scratch = curves["scratch"]
    assert np.all(np.diff(scratch.mean(axis=0)) > 0)  # more labels help the fresh body
    # with the fewest labels, the pretrained body (probe or fine-tuned) wins in every seed
    assert np.all(curves["probe"][:, 0] > scratch[:, 0])
    assert np.all(curves["finetuned"][:, 0] > scratch[:, 0])
