"""Train chapter 7's small LLM through every stage, for three seeds, and ship the results.

Run from the repository root::

    .venv/bin/python tools/train_llm_life.py

It learns the BPE tokenizer on the King James training text, then for seeds 0, 1, 2
pretrains the book's GPT, trains a book classifier with 8 to 2,000 labelled passages
per book (a linear probe on the frozen pretrained body, the whole pretrained model
fine-tuned, the same model from scratch: same steps, same labels), instruction-tunes
(with and without the response mask) and aligns with DPO, measuring each stage's
number before and after. It writes, into ``src/dlbook/llm/data/``:

* ``bpe_kjv.json``: the tokenizer (255 merges + ``<|endoftext|>``);
* ``llm_pretrained.npz``, ``llm_sft.npz``, ``llm_dpo.npz``: seed 0's models (float16);
* ``llm_life_results.json``: every number of every seed, and the n-gram baseline.

Deterministic (one thread, seeded); a few minutes on two quiet cores.

Only the classification stage, keeping every other number and checkpoint::

    .venv/bin/python tools/train_llm_life.py --only classify --jobs 2 --cache /tmp/llm_bodies

pretrains each seed's body again (or reads it from ``--cache``), checks that its
held-out loss is the recorded one, and rewrites the ``classify_*`` numbers of
``llm_life_results.json`` (about 3 minutes of CPU time for three seeds, plus
about one minute per body to pretrain).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

import dlbook
from dlbook.gpt.config import GPTConfig
from dlbook.gpt.train import generate
from dlbook.llm import checkpoints as ck
from dlbook.llm import corpus as cp
from dlbook.llm import tasks
from dlbook.llm import torch_backend as life
from dlbook.lm import CharVocab, best_ngram
from dlbook.serving.checkpoint import load_checkpoint
from dlbook.tokenizer import ENDOFTEXT, train_bpe

SEEDS = (0, 1, 2)
N_MERGES = 255  # 256 bytes + 255 merges + <|endoftext|> = 512 ids
MODEL = dict(block_size=64, n_layer=2, n_head=4, n_embd=64, dropout=0.1)
PRETRAIN = life.TrainSpec(steps=1000, batch_size=32, lr=3e-3, warmup_steps=60)
CLASSIFY = life.TrainSpec(steps=150, batch_size=32, lr=1e-3, warmup_steps=10)
PASSAGE = 32  # tokens per classified passage
LABELS = (8, 32, 128, 512, 2000)  # labelled passages per book, the classifier's sweep
HEADLINE = 32  # labels per book of the stage table's number: 128 labelled passages in all
ARMS = ("probe", "finetuned", "scratch")  # frozen pretrained body, all of it trained, fresh
EVAL_STRIDE = 8  # tokens between the starts of two held-out passages
SFT = life.TrainSpec(steps=600, batch_size=32, lr=1e-3, warmup_steps=20)  # + rehearsal
DPO = life.TrainSpec(steps=100, batch_size=32, lr=3e-5, warmup_steps=10)
BETA = 0.1  # DPO's KL strength
N_INSTRUCTIONS, N_PAIRS, N_EVAL = 3000, 1000, 300
SHOW_PROMPTS = (
    "Q: first word: heart king earth\nA:",
    "Q: last word: son day righteous\nA:",
    "Q: repeat: wicked hand\nA:",
)
CONTINUE = "And God said"  # the pretraining sample's prompt


def setup():
    """(corpus, tokenizer, config, words): the same in every process."""
    dlbook.seed_everything(0)
    corpus = cp.load_corpus()
    tok = train_bpe(corpus.train_text, N_MERGES, special_tokens=(ENDOFTEXT,))
    config = GPTConfig(vocab_size=tok.vocab_size, **MODEL)
    words = tasks.word_list(corpus.train_text, 100, tokenizer=tok)
    return corpus, tok, config, words


def run_seed(seed: int, save: bool, specs: tuple) -> dict:
    """One seed's pipeline in a fresh process (``--jobs``): same set-up, same numbers."""
    global PRETRAIN, CLASSIFY, SFT, DPO
    PRETRAIN, CLASSIFY, SFT, DPO = specs
    corpus, tok, config, words = setup()
    tick = time.perf_counter()
    r = measure_stage_numbers(seed, tok, config, corpus, words, save)
    r["seconds"] = round(time.perf_counter() - tick, 1)
    return r


def measure_stage_numbers(seed: int, tok, config, corpus, words, save: bool) -> dict:
    """Every stage of one seed; returns its numbers (and saves seed 0's checkpoints)."""
    r: dict = {}
    train_ids = tok.encode(corpus.train_text)
    val = corpus.val_text
    shown: dict = {}
    # 1. pretraining -----------------------------------------------------------------
    init = life.new_gpt(config, seed).eval()
    r["init_nats_per_char"] = life.nats_per_char(init, tok, val)
    model, losses = life.pretrain(config, train_ids, PRETRAIN, seed)
    ck.round_to_half(model)
    r["pretrained_nats_per_char"] = life.nats_per_char(model, tok, val)
    r["pretrain_final_train_loss"] = float(np.mean(losses[-50:]))
    shown["pretrained_sample"] = tok.decode(
        generate(model, tok.encode(CONTINUE)[None], 40, True, 0.8, 20, seed)[0][0]
    )
    # 2. classification: pretrained body vs from scratch, same budget ------------------
    r.update(classify_stage(seed, model, tok, config, corpus))
    # 3. instruction tuning, with and without the mask ---------------------------------
    train_ex = tasks.make_instructions(words, N_INSTRUCTIONS, dlbook.make_rng(seed))
    eval_ex = tasks.make_instructions(words, N_EVAL, dlbook.make_rng(10_000))
    before = life.instruction_metrics(model, tok, eval_ex)
    r["pretrained_accuracy"] = before["accuracy"]
    shown["pretrained_answers"] = life.answer(model, tok, SHOW_PROMPTS)
    sft = {}
    for masked in (True, False):
        m = life.copy_gpt(model)
        life.instruction_tune(m, tok, train_ex, SFT, seed, mask_prompt=masked, text_ids=train_ids)
        ck.round_to_half(m)
        key = "sft" if masked else "sft_nomask"
        metrics = life.instruction_metrics(m, tok, eval_ex)
        r[f"{key}_accuracy"] = metrics["accuracy"]
        r[f"{key}_concise_greedy"] = metrics["concise_greedy"]
        lp = life.response_logprobs(
            m, tok, [e.prompt for e in eval_ex], [e.response for e in eval_ex]
        )
        n_tok = sum(len(tok.encode(e.response)) for e in eval_ex)
        r[f"{key}_response_nats_per_token"] = float(-lp.sum() / n_tok)
        r[f"{key}_nats_per_char"] = life.nats_per_char(m, tok, val)
        sft[masked] = m
    sft_model = sft[True]
    prompts = [e.prompt for e in eval_ex]
    r["sft_concise_rate"] = life.concise_rate(sft_model, tok, prompts)
    shown["sft_answers"] = life.answer(sft_model, tok, SHOW_PROMPTS)
    # 4. DPO --------------------------------------------------------------------------
    pairs = tasks.make_preferences(words, N_PAIRS, dlbook.make_rng(seed + 500))
    policy = life.copy_gpt(sft_model)
    life.dpo_train(policy, sft_model, tok, pairs, DPO, BETA, seed)
    ck.round_to_half(policy)
    r["dpo_concise_rate"] = life.concise_rate(policy, tok, prompts)
    metrics = life.instruction_metrics(policy, tok, eval_ex)
    r["dpo_accuracy"] = metrics["accuracy"]
    r["dpo_concise_greedy"] = metrics["concise_greedy"]
    r["dpo_kl_from_sft"] = life.kl_from_reference(policy, sft_model, tok, prompts[:100], 4)
    r["dpo_nats_per_char"] = life.nats_per_char(policy, tok, val)
    shown["dpo_answers"] = life.answer(policy, tok, SHOW_PROMPTS)
    if save:
        ck.save_half(model, ck.stage_path("pretrained"), {"seed": seed, "stage": "pretrained"})
        ck.save_half(sft_model, ck.stage_path("sft"), {"seed": seed, "stage": "sft"})
        ck.save_half(policy, ck.stage_path("dpo"), {"seed": seed, "stage": "dpo"})
        r["shown"] = shown
    return r


def classify_stage(seed: int, model, tok, config, corpus) -> dict:
    """Book classification with and without pretraining, at each number of labels.

    For every n in ``LABELS``, three classifiers train for the same ``CLASSIFY``
    steps on the same n labelled passages per book (drawn from the training part
    with ``seed``): a linear probe on the frozen pretrained body ("probe"), the
    pretrained body with every weight fine-tuned ("finetuned"), and the same model
    from a fresh initialisation (``seed + 1000``, "scratch"). Each is scored on
    the held-out windows, one every ``EVAL_STRIDE`` tokens.
    """
    ids_train = {b: tok.encode(corpus.train[b]) for b in cp.BOOKS}
    ids_val = {b: tok.encode(corpus.val[b]) for b in cp.BOOKS}
    xt, yt = cp.passages(ids_val, PASSAGE, None, dlbook.make_rng(0), stride=EVAL_STRIDE)
    curves: dict = {arm: [] for arm in ARMS}
    for n in LABELS:
        xs, ys = cp.passages(ids_train, PASSAGE, n, dlbook.make_rng(seed))
        for arm in ARMS:
            body = life.new_gpt(config, seed + 1000) if arm == "scratch" else life.copy_gpt(model)
            clf, _ = life.finetune_classifier(
                body, xs, ys, len(cp.BOOKS), CLASSIFY, seed, freeze_body=arm == "probe"
            )
            curves[arm].append(life.classification_accuracy(clf, xt, yt))
    r: dict = {}
    for arm, curve in curves.items():
        r[f"classify_{arm}_curve"] = curve
        r[f"classify_{arm}_accuracy"] = curve[LABELS.index(HEADLINE)]
    return r


def pretrained_body(seed: int, config, train_ids: np.ndarray, cache: Path | None):
    """Seed's pretrained GPT (rounded to float16), from ``cache`` if it holds it."""
    path = None if cache is None else cache / f"pretrained_seed{seed}.npz"
    if path is not None and path.exists():
        model, _, _ = load_checkpoint(path, "torch")
        return model.eval()
    model, _ = life.pretrain(config, train_ids, PRETRAIN, seed)
    ck.round_to_half(model)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        ck.save_half(model, path, {"seed": seed, "stage": "pretrained"})
    return model


def run_classify(seed: int, specs: tuple, cache: Path | None, recorded: float) -> dict:
    """Only the classification stage of one seed (``--only classify``), in a fresh process.

    The pretrained body is trained again (or read from ``cache``); its held-out loss
    must equal the one the full pipeline recorded, so that it is the same model.
    """
    global PRETRAIN, CLASSIFY, SFT, DPO
    PRETRAIN, CLASSIFY, SFT, DPO = specs
    corpus, tok, config, _ = setup()
    tick = time.perf_counter()
    model = pretrained_body(seed, config, tok.encode(corpus.train_text), cache)
    loss = life.nats_per_char(model, tok, corpus.val_text)
    if abs(loss - recorded) > 1e-5:
        raise RuntimeError(
            f"seed {seed}: the pretrained body's loss {loss:.6f} differs from the "
            f"recorded {recorded:.6f}; run the whole pipeline instead."
        )
    r = classify_stage(seed, model, tok, config, corpus)
    r["classify_seconds"] = round(time.perf_counter() - tick, 1)
    return r


def update_classification(args: argparse.Namespace) -> None:
    """``--only classify``: the classification numbers of every seed, the rest kept as it is."""
    results = ck.load_results()
    specs = (PRETRAIN, CLASSIFY, SFT, DPO)
    if results["specs"]["pretrain"] != asdict(PRETRAIN):
        raise RuntimeError("The pretraining spec changed: run the whole pipeline instead.")
    recorded = {s: results["seeds"][str(s)]["pretrained_nats_per_char"] for s in args.seeds}
    tick = time.perf_counter()
    if args.jobs > 1:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(args.jobs, mp_context=context) as pool:
            futures = {
                s: pool.submit(run_classify, s, specs, args.cache, recorded[s]) for s in args.seeds
            }
            numbers = {s: f.result() for s, f in futures.items()}
    else:
        numbers = {s: run_classify(s, specs, args.cache, recorded[s]) for s in args.seeds}
    results["specs"]["classify"] = asdict(CLASSIFY)
    results["classify_labels_per_book"] = list(LABELS)
    results["classify_headline_labels_per_book"] = HEADLINE
    results["classify_passage_tokens"] = PASSAGE
    results["classify_eval_stride"] = EVAL_STRIDE
    for seed, r in numbers.items():
        print(f"seed {seed}: {r['classify_seconds']:.0f} s")
        print(json.dumps(r), flush=True)
        old = results["seeds"][str(seed)]
        for key in [k for k in old if k.startswith("classify_")]:
            del old[key]  # numbers of an earlier design
        old.update(r)
    print(f"total {time.perf_counter() - tick:.0f} s wall")
    if not args.no_save:
        ck.RESULTS_PATH.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
        print(f"updated {ck.RESULTS_PATH.name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="*", default=list(SEEDS))
    parser.add_argument("--no-save", action="store_true", help="measure only, write nothing")
    parser.add_argument("--quick", action="store_true", help="a tenth of the steps (smoke test)")
    parser.add_argument("--jobs", type=int, default=1, help="seeds trained in parallel processes")
    parser.add_argument(
        "--only",
        choices=["classify"],
        help="re-run one stage and update its numbers in the shipped results",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="folder that keeps the pretrained bodies between runs",
    )
    args = parser.parse_args()
    if args.quick:
        global PRETRAIN, CLASSIFY, SFT, DPO
        PRETRAIN, CLASSIFY, SFT, DPO = (
            replace(s, steps=max(s.steps // 10, s.warmup_steps + 1))
            for s in (PRETRAIN, CLASSIFY, SFT, DPO)
        )
    if args.only == "classify":
        update_classification(args)
        return
    tick, cpu = time.perf_counter(), time.process_time()
    corpus, tok, config, words = setup()
    results: dict = {
        "model": asdict(config),
        "specs": {
            k: asdict(v)
            for k, v in dict(pretrain=PRETRAIN, classify=CLASSIFY, sft=SFT, dpo=DPO).items()
        },
        "beta": BETA,
        "tokens_per_char_val": len(tok.encode(corpus.val_text)) / len(corpus.val_text),
        "classify_labels_per_book": list(LABELS),
        "classify_headline_labels_per_book": HEADLINE,
        "classify_passage_tokens": PASSAGE,
        "classify_eval_stride": EVAL_STRIDE,
        "seeds": {},
    }
    # the count-based baseline on characters (chapter 5), on the same split
    vocab = CharVocab.from_text(corpus.train_text + corpus.val_text)
    sweep = best_ngram(
        vocab.encode(corpus.train_text), vocab.encode(corpus.val_text), orders=range(1, 8)
    )
    results["ngram"] = {
        "orders": list(sweep.orders),
        "val_nats_per_char": [float(v) for v in sweep.val_loss],
    }
    specs = (PRETRAIN, CLASSIFY, SFT, DPO)
    save = {seed: seed == 0 and not args.no_save for seed in args.seeds}
    if args.jobs > 1:  # one process per seed; each pins torch to one thread
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(args.jobs, mp_context=context) as pool:
            futures = {s: pool.submit(run_seed, s, save[s], specs) for s in args.seeds}
            numbers = {s: f.result() for s, f in futures.items()}
    else:
        numbers = {s: run_seed(s, save[s], specs) for s in args.seeds}
    for seed, r in numbers.items():
        results["seeds"][str(seed)] = r
        print(f"seed {seed}: {r['seconds']:.0f} s")
        print(json.dumps({k: v for k, v in r.items() if k != "shown"}, indent=1), flush=True)
    results["wall_seconds"] = round(time.perf_counter() - tick, 1)
    results["cpu_seconds_main_process"] = round(time.process_time() - cpu, 1)
    if not args.no_save:
        ck.TOKENIZER_PATH.write_text(tok.to_json(), encoding="utf-8")
        ck.RESULTS_PATH.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
        for p in [ck.TOKENIZER_PATH, ck.RESULTS_PATH, *map(ck.stage_path, ck.STAGES)]:
            print(f"wrote {Path(p).name} ({Path(p).stat().st_size / 1024:.0f} KiB)")
    print(f"total {results['wall_seconds']} s wall")


if __name__ == "__main__":
    main()
