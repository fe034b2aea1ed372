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
    ("pretrained_accuracy", "sft_accuracy", +1),
    ("sft_nomask_response_nats_per_token", "sft_response_nats_per_token", -1),
    ("sft_concise_rate", "dpo_concise_rate", +1),
]


@pytest.mark.parametrize("before, after, sign", MOVES)
def test_each_stage_moves_its_number_beyond_the_seed_spread(before, after, sign):
    seeds = ck.load_results()["seeds"]
    assert len(seeds) == 3
    b = np.array([s[before] for s in seeds.values()])
    a = np.array([s[after] for s in seeds.values()])
    spread = max(np.ptp(a), np.ptp(b), np.ptp(a - b))
    change = sign * (a.mean() - b.mean())
    assert change > spread, (before, after, change, spread)
    assert np.all(sign * (a - b) > 0)  # in every seed, not only on average


def test_classifier_gain_is_positive_but_within_the_spread():
    """Reported as measured: at 150 steps the pretrained body's gain is smaller than the
    seed spread (the chapter says so). This test fails when a retraining changes that,
    so that the chapter's text is revisited."""
    seeds = ck.load_results()["seeds"]
    a = np.array([s["classify_pretrained_accuracy"] for s in seeds.values()])
    b = np.array([s["classify_scratch_accuracy"] for s in seeds.values()])
    assert a.mean() > b.mean() > 0.25  # both above chance, pretrained ahead on average
    assert a.mean() - b.mean() < max(np.ptp(a), np.ptp(b), np.ptp(a - b))
