"""The stages of an LLM's life on the book's PyTorch GPT: pretrain, fine-tune, align, evaluate.

Shape legend: B = batch, T = tokens per sequence, C = n_embd, V = vocab size,
K = classes, N = examples.

Every stage uses :class:`dlbook.gpt.torch_backend.GPT` through its public API
(``forward``, ``get_weights`` / ``set_weights``, ``ln_f``) and one training loop,
:func:`train_loop`: AdamW with a warm-up and cosine schedule, the global gradient
norm clipped to 1. The stages differ only in their data and their loss:

* **pretraining**: next-token cross-entropy on random windows of the text;
* **classification**: the mean of the final LayerNorm's outputs over a passage,
  times a new (C, K) head, against the book label;
* **instruction tuning**: next-token cross-entropy on prompt + response, with the
  loss masked to the response tokens (:mod:`dlbook.alignment`);
* **DPO**: the DPO loss on the summed response log-probabilities of the policy
  and of a frozen copy of the instruction-tuned model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from dlbook._lazy import import_torch
from dlbook.alignment import torch_backend as align
from dlbook.gpt import torch_backend as gpt_torch
from dlbook.gpt.config import GPTConfig
from dlbook.gpt.train import evaluate, generate
from dlbook.llm.tasks import VERBOSE_PREFIX, Example, PreferencePair, parse_response
from dlbook.lm.char_model import random_windows
from dlbook.optim.schedules import WarmupCosine, apply_schedule
from dlbook.seeding import make_rng
from dlbook.tokenizer.bpe import ENDOFTEXT, BPETokenizer

torch = import_torch()
F = torch.nn.functional


@dataclass(frozen=True)
class TrainSpec:
    """How long and how fast one stage trains."""

    steps: int  # gradient steps
    batch_size: int = 32  # B: windows, examples or preference pairs per step
    lr: float = 1e-3  # AdamW peak learning rate
    warmup_steps: int = 20  # linear warm-up from lr / 3, then a cosine to lr / 10
    weight_decay: float = 0.01  # AdamW's decoupled weight decay
    grad_clip: float = 1.0  # maximum global gradient norm


def train_loop(
    params: Any,
    spec: TrainSpec,
    loss_of_batch: Callable[[np.random.Generator], Any],
    seed: int,
    desc: str = "training",
    progress: bool = False,
) -> list[float]:
    """Minimise ``loss_of_batch(rng)`` (a 0-d tensor) for ``spec.steps`` steps; the losses."""
    from tqdm.auto import trange

    params = [p for p in params if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=spec.lr, weight_decay=spec.weight_decay)
    schedule = WarmupCosine(spec.lr, spec.warmup_steps, spec.steps, eta_min=spec.lr / 10)
    rng, losses = make_rng(seed), []
    with torch.random.fork_rng(devices=[]):  # dropout draws never touch global state
        torch.manual_seed(seed)
        for step in trange(spec.steps, desc=desc, disable=not progress):
            apply_schedule(opt, schedule, step)
            loss = loss_of_batch(rng)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, spec.grad_clip)
            opt.step()
            losses.append(float(loss.detach()))
    return losses


def new_gpt(config: GPTConfig, seed: int) -> gpt_torch.GPT:
    """A freshly initialised GPT (GPT-2's initialisation, drawn from ``seed``)."""
    return gpt_torch.GPT(config, seed=seed)


def copy_gpt(model: gpt_torch.GPT) -> gpt_torch.GPT:
    """An independent copy of ``model`` (same config, same weights)."""
    twin = gpt_torch.GPT(model.config, seed=0)
    twin.set_weights(model.get_weights())
    return twin.train(model.training)


# ---------------------------------------------------------------------------
# Pretraining and its measure: nats per character
# ---------------------------------------------------------------------------


def pretrain(
    config: GPTConfig, train_ids: np.ndarray, spec: TrainSpec, seed: int, progress: bool = False
) -> tuple[gpt_torch.GPT, list[float]]:
    """Next-token prediction on random windows of T tokens of ``train_ids``."""
    model = new_gpt(config, seed).train()
    T, dev = config.block_size, model.device

    def loss_of_batch(rng: np.random.Generator) -> Any:
        x, y = random_windows(train_ids, T, spec.batch_size, rng)  # (B, T) each
        logits = model(torch.as_tensor(x, device=dev))  # (B, T, V)
        return F.cross_entropy(logits.flatten(0, 1), torch.as_tensor(y, device=dev).flatten())

    losses = train_loop(model.parameters(), spec, loss_of_batch, seed, "pretraining", progress)
    return model.eval(), losses


def nats_per_char(model: gpt_torch.GPT, tokenizer: BPETokenizer, text: str) -> float:
    """Held-out loss per character: total nats over the tokens / characters they cover.

    :func:`dlbook.gpt.train.evaluate` gives the mean nats per predicted token (every
    token but the first); times the number of predictions it is the total, which is
    divided by the characters of those tokens. A per-character loss compares models
    with different tokenizers; a per-token loss does not (a longer token is harder
    to predict but covers more text).
    """
    ids = tokenizer.encode(text)
    first = len(tokenizer.decode(ids[:1]))
    return evaluate(model, ids) * (len(ids) - 1) / (len(text) - first)


# ---------------------------------------------------------------------------
# Fine-tuning for classification
# ---------------------------------------------------------------------------


class GPTClassifier(torch.nn.Module):
    """A GPT body, its final LayerNorm's outputs averaged over the passage, and a (C, K) head."""

    def __init__(self, gpt: gpt_torch.GPT, n_classes: int, seed: int = 0) -> None:
        super().__init__()
        self.gpt = gpt
        self.head = torch.nn.Linear(gpt.config.n_embd, n_classes, device=gpt.device)
        with torch.no_grad():  # the head starts like every dlbook weight: N(0, 0.02^2), bias 0
            w = make_rng(seed).normal(0.0, 0.02, (n_classes, gpt.config.n_embd))
            self.head.weight.copy_(torch.as_tensor(w, dtype=self.head.weight.dtype))
            self.head.bias.zero_()
        self._features: list[Any] = []
        gpt.ln_f.register_forward_hook(lambda mod, inp, out: self._features.append(out))

    def forward(self, ids: Any) -> Any:
        """ids (B, T) -> class logits (B, K)."""
        self._features.clear()
        self.gpt(torch.as_tensor(ids, device=self.gpt.device))  # the hook keeps ln_f's output
        h = self._features.pop()  # (B, T, C)
        return self.head(h.mean(dim=1))  # (B, K)


def finetune_classifier(
    gpt: gpt_torch.GPT,
    x: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    spec: TrainSpec,
    seed: int,
    freeze_body: bool = False,
    progress: bool = False,
) -> tuple[GPTClassifier, list[float]]:
    """Train ``GPTClassifier(gpt)`` on passages x (N, T) with labels y (N,).

    Every weight trains, unless ``freeze_body``: then only the head does (a *linear
    probe* of the body's averaged features), and the body runs without dropout.
    """
    clf = GPTClassifier(gpt, n_classes, seed).train()
    if freeze_body:
        gpt.eval().requires_grad_(False)
    dev = gpt.device

    def loss_of_batch(rng: np.random.Generator) -> Any:
        idx = rng.integers(0, len(x), size=spec.batch_size)  # (B,)
        return F.cross_entropy(clf(x[idx]), torch.as_tensor(y[idx], device=dev))

    losses = train_loop(clf.parameters(), spec, loss_of_batch, seed, "classifier", progress)
    return clf.eval(), losses


def classification_accuracy(clf: GPTClassifier, x: np.ndarray, y: np.ndarray) -> float:
    """Share of passages x (N, T) whose predicted class is y (N,)."""
    with torch.no_grad():
        pred = clf(x).argmax(dim=-1).cpu().numpy()  # (N,)
    return float(np.mean(pred == np.asarray(y)))


# ---------------------------------------------------------------------------
# Instruction tuning with a masked loss
# ---------------------------------------------------------------------------


def encode_pairs(
    tokenizer: BPETokenizer, prompts: Sequence[str], responses: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inputs x, targets y and response mask m, each (N, L): prompt + response, right-padded.

    Prompt and response are encoded apart and concatenated, so the mask's edge falls on
    a token boundary. x[n, t] predicts y[n, t] = token t + 1; m[n, t] = 1 where that
    target is a response token. Padding (the end-of-text id) has m = 0.
    """
    return _pad_pairs(
        [tokenizer.encode(p) for p in prompts],
        [tokenizer.encode(r) for r in responses],
        tokenizer.special_id(ENDOFTEXT),
    )


def _pad_pairs(
    prompts: Sequence[np.ndarray], responses: Sequence[np.ndarray], pad: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`encode_pairs` on token ids."""
    seqs = [np.concatenate([a, b]) for a, b in zip(prompts, responses, strict=True)]
    starts = [len(a) for a in prompts]
    L = max(len(s) for s in seqs) - 1
    x = np.full((len(seqs), L), pad, dtype=np.int64)  # (N, L)
    y, m = x.copy(), np.zeros((len(seqs), L))
    for n, (s, k) in enumerate(zip(seqs, starts, strict=True)):
        x[n, : len(s) - 1], y[n, : len(s) - 1] = s[:-1], s[1:]
        m[n, k - 1 : len(s) - 1] = 1.0  # targets k .. end are the response
    return x, y, m


def instruction_tune(
    model: gpt_torch.GPT,
    tokenizer: BPETokenizer,
    examples: Sequence[Example],
    spec: TrainSpec,
    seed: int,
    mask_prompt: bool = True,
    text_ids: np.ndarray | None = None,
    text_batch: int = 8,
    progress: bool = False,
) -> list[float]:
    """Fine-tune ``model`` in place on prompt -> response; the loss on the response only.

    With ``mask_prompt=False`` the loss also covers the prompt tokens, so part of the
    model's effort goes into predicting the (random) instructions themselves. With
    ``text_ids``, each step adds the next-token loss on ``text_batch`` windows of that
    text (*rehearsal*), so that the model keeps what pretraining taught it; without
    it, a small model quickly forgets the text it was pretrained on.
    """
    x, y, m = encode_pairs(tokenizer, [e.prompt for e in examples], [e.response for e in examples])
    if not mask_prompt:
        m = (x != tokenizer.special_id(ENDOFTEXT)).astype(float)  # every real token
    model.train()
    dev, T = model.device, model.config.block_size

    def loss_of_batch(rng: np.random.Generator) -> Any:
        idx = rng.integers(0, len(x), size=spec.batch_size)
        logits = model(torch.as_tensor(x[idx], device=dev))  # (B, L, V)
        loss = align.masked_cross_entropy(logits, y[idx], m[idx])
        if text_ids is not None:
            xt, yt = random_windows(text_ids, T, text_batch, rng)  # (B', T) each
            lt = model(torch.as_tensor(xt, device=dev))  # (B, T, V)
            loss = loss + F.cross_entropy(lt.flatten(0, 1), torch.as_tensor(yt).flatten())
        return loss

    losses = train_loop(model.parameters(), spec, loss_of_batch, seed, "SFT", progress)
    model.eval()
    return losses


def response_logprobs(
    model: gpt_torch.GPT, tokenizer: BPETokenizer, prompts: Sequence[str], responses: Sequence[str]
) -> np.ndarray:
    """log p(response | prompt) under ``model``, summed over the response tokens, (N,)."""
    return _logprobs(model, *encode_pairs(tokenizer, prompts, responses))


def _logprobs(model: gpt_torch.GPT, x: np.ndarray, y: np.ndarray, m: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        logits = model(torch.as_tensor(x, device=model.device)).double()  # (N, L, V)
        return align.sequence_logprob(logits, y, m).cpu().numpy()


# ---------------------------------------------------------------------------
# Direct preference optimisation
# ---------------------------------------------------------------------------


def dpo_train(
    policy: gpt_torch.GPT,
    reference: gpt_torch.GPT,
    tokenizer: BPETokenizer,
    pairs: Sequence[PreferencePair],
    spec: TrainSpec,
    beta: float,
    seed: int,
    progress: bool = False,
) -> list[float]:
    """Train ``policy`` in place with the DPO loss against the frozen ``reference``."""
    prompts = [p.prompt for p in pairs]
    chosen, rejected = [p.chosen for p in pairs], [p.rejected for p in pairs]
    ref_c = response_logprobs(reference, tokenizer, prompts, chosen)  # (N,)
    ref_r = response_logprobs(reference, tokenizer, prompts, rejected)  # (N,)
    xc, yc, mc = encode_pairs(tokenizer, prompts, chosen)
    xr, yr, mr = encode_pairs(tokenizer, prompts, rejected)
    policy.train()
    dev = policy.device

    def loss_of_batch(rng: np.random.Generator) -> Any:
        idx = rng.integers(0, len(pairs), size=spec.batch_size)
        pc = align.sequence_logprob(policy(torch.as_tensor(xc[idx], device=dev)), yc[idx], mc[idx])
        pr = align.sequence_logprob(policy(torch.as_tensor(xr[idx], device=dev)), yr[idx], mr[idx])
        return align.dpo_loss(pc, pr, ref_c[idx], ref_r[idx], beta)

    losses = train_loop(policy.parameters(), spec, loss_of_batch, seed, "DPO", progress)
    policy.eval()
    return losses


# ---------------------------------------------------------------------------
# Evaluation: answers, accuracy, the preferred behaviour, KL from the reference
# ---------------------------------------------------------------------------


def _response_ids(
    model: gpt_torch.GPT,
    tokenizer: BPETokenizer,
    prompts: Sequence[np.ndarray],
    max_new: int,
    temperature: float,
    rng: np.random.Generator,
) -> list[np.ndarray]:
    """Generated ids after each prompt, cut after the first end-of-text id (kept)."""
    eot = tokenizer.special_id(ENDOFTEXT)
    out: list[np.ndarray] = [np.zeros(0, dtype=np.int64)] * len(prompts)
    for length in sorted({len(e) for e in prompts}):
        group = [i for i, e in enumerate(prompts) if len(e) == length]
        ids, _ = generate(
            model, np.stack([prompts[i] for i in group]), max_new, True, temperature, None, rng
        )
        for row, i in zip(ids[:, length:], group, strict=True):
            stop = np.flatnonzero(row == eot)
            out[i] = row[: stop[0] + 1] if len(stop) else row
    return out


def answer(
    model: gpt_torch.GPT,
    tokenizer: BPETokenizer,
    prompts: Sequence[str],
    max_new: int = 12,
    temperature: float = 0.0,
    rng: np.random.Generator | int = 0,
) -> list[str]:
    """The model's response to each prompt (the text before its end-of-text), greedy by default.

    Prompts of equal token length are decoded together in one batch.
    """
    encoded = [tokenizer.encode(p) for p in prompts]
    ids = _response_ids(model, tokenizer, encoded, max_new, temperature, make_rng(rng))
    return [tokenizer.decode(r).split(ENDOFTEXT)[0] for r in ids]


def instruction_metrics(
    model: gpt_torch.GPT, tokenizer: BPETokenizer, examples: Sequence[Example]
) -> dict[str, float]:
    """Greedy answers scored: accuracy (the right answer, either style) and concise share."""
    responses = answer(model, tokenizer, [e.prompt for e in examples])
    parsed = [parse_response(r) for r in responses]
    correct = [a == e.answer for (a, _), e in zip(parsed, examples, strict=True)]
    return {
        "accuracy": float(np.mean(correct)),
        "concise_greedy": float(np.mean([not v for _, v in parsed])),
    }


def concise_rate(model: gpt_torch.GPT, tokenizer: BPETokenizer, prompts: Sequence[str]) -> float:
    """Mean over prompts of 1 - p(the response starts with " the answer is"), exactly.

    The probability of the verbose opening is the product of the model's
    probabilities of its tokens, read off one forward pass (teacher forcing): no
    sampling noise. Since every training response starts either verbosely or not,
    this is the probability of the concise style.
    """
    lp = response_logprobs(model, tokenizer, prompts, [" " + VERBOSE_PREFIX] * len(prompts))
    return float(np.mean(1.0 - np.exp(lp)))


def kl_from_reference(
    policy: gpt_torch.GPT,
    reference: gpt_torch.GPT,
    tokenizer: BPETokenizer,
    prompts: Sequence[str],
    n_samples: int = 4,
    max_new: int = 12,
    seed: int = 0,
) -> float:
    """Monte Carlo KL(policy || reference) over whole responses, nats, mean over prompts.

    KL = E_{y ~ policy}[log policy(y|x) - log reference(y|x)]: draw ``n_samples``
    responses per prompt at temperature 1 (up to the end-of-text token, which is
    scored, or ``max_new`` tokens), and average the log-ratio.
    """
    many = [tokenizer.encode(p) for p in prompts for _ in range(n_samples)]
    drawn = _response_ids(policy, tokenizer, many, max_new, 1.0, make_rng(seed))
    x, y, m = _pad_pairs(many, drawn, tokenizer.special_id(ENDOFTEXT))
    return float(np.mean(_logprobs(policy, x, y, m) - _logprobs(reference, x, y, m)))
