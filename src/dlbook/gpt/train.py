"""Training the PyTorch GPT on the chapter corpus, generating with a KV cache, counting FLOPs.

Shape legend: B = batch, T = block size (tokens per window), C = n_embd, L = n_layer,
V = vocab size, N = parameters that take part in matrix products.

The API imitates :mod:`dlbook.lm.char_model`, so the chapter compares the two
models with one loop: a config dataclass, ``train_gpt(config, train_ids, val_ids)
-> (model, log)`` with the same :class:`~dlbook.lm.char_model.TrainLog`, and
``sample(model, vocab, prompt, n_chars, temperature)``.

**Validation.** A GPT sees at most T tokens, so "the loss on the whole text with
the state carried along" does not exist for it. ``val_loss`` scores the second
half of fixed windows of T characters (every scored character has at least T/2
of context), :func:`evaluate` slides a window of T over the whole text with a
stride of T/2 and scores each character once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from dlbook._lazy import import_torch
from dlbook._validate import check_int
from dlbook.gpt.config import GPTConfig
from dlbook.gpt.torch_backend import GPT
from dlbook.lm.char_model import TrainLog, check_ids, random_windows, validation_windows
from dlbook.lm.sampling import sample_with_temperature, top_k_filter
from dlbook.optim.schedules import WarmupCosine, apply_schedule
from dlbook.seeding import make_rng

torch = import_torch()
F = torch.nn.functional


@dataclass
class GPTTrainConfig:
    """Model size and training schedule of a character-level GPT."""

    vocab_size: int | None = None  # V; None: 1 + the largest id in train_ids
    block_size: int = 64  # T: characters per training window, the longest context
    n_layer: int = 2  # L: transformer blocks
    n_head: int = 4  # H: attention heads per block
    n_embd: int = 64  # C: width of the residual stream
    batch_size: int = 32  # B: windows per gradient step
    lr: float = 3e-3  # AdamW peak learning rate, reached after the warm-up
    lr_min: float = 3e-4  # the cosine ends here
    warmup_steps: int = 50  # linear warm-up from lr / 3 (torch LinearLR's default start)
    steps: int = 1000  # gradient steps
    weight_decay: float = 0.01  # AdamW's decoupled decay (applied to every matrix and vector)
    grad_clip: float | None = 1.0  # max global gradient norm; None: measure, never clip
    seed: int = 0  # seeds the weights and the windows drawn
    eval_every: int = 100  # steps between validation measurements (and one at the end)
    eval_windows: int = 64  # validation windows per measurement
    progress: bool = True  # a tqdm progress bar over the steps

    def model_config(self, vocab_size: int) -> GPTConfig:
        """The :class:`GPTConfig` these fields describe."""
        return GPTConfig(
            vocab_size=self.vocab_size or vocab_size,
            block_size=self.block_size,
            n_layer=self.n_layer,
            n_head=self.n_head,
            n_embd=self.n_embd,
        )


# The chapter's GPT (L=2, C=64, H=4, T=64, B=32: 0.11M parameters; 1500 steps = 3.1M characters).
# Measured on load_corpus() (V = 23), 2-core CPU: evaluate(val) = 1.439 nats/char (LSTM of
# CHAPTER_CONFIGS: 1.443; entropy rate 1.417; 2500 steps reach 1.437). Time: 25-40 s at
# 80-140k tokens/s depending on the machine's load; the chapter must run in 90 s in total,
# so the step count leaves headroom. 658,560 training FLOPs per token; MFU ~0.3 of a
# measured matmul peak of ~220 GFLOP/s when the machine is idle.
CHAPTER_CONFIG = GPTTrainConfig(
    block_size=64,
    n_layer=2,
    n_head=4,
    n_embd=64,
    batch_size=32,
    lr=5e-3,
    lr_min=2.5e-4,
    warmup_steps=100,
    steps=1500,
    eval_every=500,
)


def build_model(config: GPTTrainConfig, vocab_size: int, dtype: str = "float32") -> GPT:
    """A fresh :class:`GPT` for ``config``, its weights drawn from ``config.seed``."""
    return GPT(config.model_config(vocab_size), seed=config.seed, dtype=dtype)


def window_loss(model: GPT, x: np.ndarray, y: np.ndarray, warmup: int) -> float:
    """Mean nats/char over positions t >= warmup of windows x, y (n, W)."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        logits = model(torch.as_tensor(x, device=model.device))  # (n, W, V)
        y_t = torch.as_tensor(y, device=model.device)
        loss = F.cross_entropy(logits[:, warmup:].flatten(0, 1), y_t[:, warmup:].flatten())
    model.train(was_training)
    return float(loss)


def train_step(
    model: GPT, opt: Any, x: Any, y: Any, grad_clip: float | None
) -> tuple[float, float]:
    """One step of `opt` on a batch x, y (B, T): (loss, gradient norm before clipping)."""
    logits = model(x)  # (B, T, V)
    loss = F.cross_entropy(logits.flatten(0, 1), y.flatten())  # mean over B*T characters
    opt.zero_grad(set_to_none=True)
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip or float("inf"))
    opt.step()
    return float(loss.detach()), float(norm)


def train_gpt(config: GPTTrainConfig, train_ids: Any, val_ids: Any) -> tuple[GPT, TrainLog]:
    """Train a :class:`GPT` on random windows of ``train_ids`` with AdamW.

    The learning rate follows :class:`~dlbook.optim.schedules.WarmupCosine` (set
    before each step), the global gradient norm is clipped to ``grad_clip``, and
    the validation loss is recorded every ``eval_every`` steps and after the last.
    """
    from tqdm.auto import trange

    V = config.vocab_size or int(np.max(train_ids)) + 1
    T = config.block_size
    train = check_ids(train_ids, "train_ids", V, T + 2)
    rng = make_rng(config.seed)
    model = build_model(config, V)
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    schedule = WarmupCosine(config.lr, config.warmup_steps, config.steps, eta_min=config.lr_min)
    if val_ids is not None:
        val = check_ids(val_ids, "val_ids", V, T + 1)
        val_x, val_y = validation_windows(val, T // 2, config.eval_windows)  # (n, T) each
    log, train_seconds, start = TrainLog(), 0.0, time.perf_counter()
    model.train()
    with torch.random.fork_rng(devices=[]):  # dropout draws, if any, never touch global state
        torch.manual_seed(config.seed)
        for step in trange(config.steps, desc="training GPT", disable=not config.progress):
            tick = time.perf_counter()
            xb, yb = random_windows(train, T, config.batch_size, rng)  # (B, T) each
            x, y = (torch.as_tensor(a, device=model.device) for a in (xb, yb))
            log.lr.append(apply_schedule(opt, schedule, step))
            loss, norm = train_step(model, opt, x, y, config.grad_clip)
            train_seconds += time.perf_counter() - tick
            log.train_loss.append(loss)
            log.grad_norm.append(norm)
            if val_ids is not None and (
                (step + 1) % config.eval_every == 0 or step + 1 == config.steps
            ):
                log.eval_steps.append(step + 1)
                log.val_loss.append(window_loss(model, val_x, val_y, T // 2))
    log.seconds = time.perf_counter() - start
    log.tokens_per_second = config.steps * config.batch_size * T / train_seconds
    model.eval()
    return model, log


def evaluate(model: GPT, ids: Any) -> float:
    """Cross-entropy rate on a whole text, nats/char: windows of T, stride T/2.

    The first window scores all its positions; each later one only its last T/2,
    which have at least T/2 characters of context. Every prediction is scored once.
    """
    T = model.config.block_size
    arr = check_ids(ids, "ids", model.config.vocab_size, 2)
    n, stride = len(arr) - 1, max(T // 2, 1)  # n predictions: of arr[1], .., arr[n]
    total, done = 0.0, 0
    model.eval()
    with torch.no_grad():
        while done < n:
            hi = min(done + (T if done == 0 else stride), n)  # score predictions done .. hi-1
            lo = max(0, hi - T)  # the window's first input
            x = torch.as_tensor(arr[lo:hi][None], device=model.device)  # (1, <=T)
            y = torch.as_tensor(arr[done + 1 : hi + 1], device=model.device)  # (scored,)
            logits = model(x)[0, done - lo :]  # (scored, V): the rest is context only
            total += float(F.cross_entropy(logits, y, reduction="sum"))
            done = hi
    return total / n


# ---------------------------------------------------------------------------
# Generation, with and without the KV cache
# ---------------------------------------------------------------------------


def _pick(logits: np.ndarray, temperature: float, top_k: int | None, rng: Any) -> np.ndarray:
    """Next ids (B,) from logits (B, V): argmax at temperature 0, else a draw."""
    if top_k is not None:
        logits = top_k_filter(logits, top_k)
    if temperature == 0:
        return np.argmax(logits, axis=-1)
    return np.atleast_1d(sample_with_temperature(logits, temperature, rng))


def generate(
    model: GPT,
    ids: Any,
    n_new: int,
    use_kv_cache: bool = True,
    temperature: float = 0.0,
    top_k: int | None = None,
    rng: np.random.Generator | int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Extend ids (B, T0) by ``n_new`` tokens; return (ids (B, T0 + n_new), logits (B, n_new, V)).

    Without the cache every step recomputes the whole (cropped) context: O(T) tokens
    through the model per new token. With it, each step feeds only the newest token,
    whose query attends to the keys and values stored for all earlier ones. When
    the context outgrows the block, every position shifts by one, so no stored key is
    valid any more: the cache is rebuilt from the last T tokens, which is exactly the
    cropped recomputation (learned absolute positions cannot slide a cache).
    """
    n_new = check_int(n_new, "n_new", minimum=0)  # as the NumPy serving backend
    T, rng = model.config.block_size, make_rng(rng)
    out = np.array(ids, dtype=np.int64, ndmin=2)  # (B, T0)
    steps: list[np.ndarray] = []
    cache, fed = None, None  # fed: the ids not yet in the cache
    model.eval()
    with torch.no_grad():
        for _ in range(n_new):
            if not use_kv_cache:
                logits = model(torch.as_tensor(out[:, -T:], device=model.device))
            else:
                if cache is None or cache[0][0].shape[2] + fed.shape[1] > T:
                    cache, fed = None, out[:, -T:]  # (B, <=T): prefill
                x = torch.as_tensor(fed, device=model.device)
                logits, cache = model(x, past=cache, use_cache=True)
            z = logits[:, -1].double().cpu().numpy()  # (B, V)
            steps.append(z)
            nxt = _pick(z, temperature, top_k, rng)  # (B,)
            out = np.concatenate([out, nxt[:, None]], axis=1)
            fed = nxt[:, None]
    return out, np.stack(steps, axis=1) if steps else np.zeros((len(out), 0, 0))


def sample(
    model: GPT,
    vocab: Any,
    prompt: str,
    n_chars: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    rng: np.random.Generator | int = 0,
) -> str:
    """The ``n_chars`` characters after ``prompt``, drawn with the KV cache (0 = greedy)."""
    if not isinstance(prompt, str) or not prompt:
        raise ValueError("sample needs a non-empty prompt: the model predicts from what it read.")
    ids, _ = generate(model, vocab.encode(prompt)[None], n_chars, True, temperature, top_k, rng)
    return vocab.decode(ids[0, len(prompt) :])


# ---------------------------------------------------------------------------
# FLOPs, throughput and model FLOP utilisation
# ---------------------------------------------------------------------------


def model_flops_per_token(config: GPTConfig, T: int | None = None) -> int:
    """Training FLOPs per token: 6N + 6 L T C (Kaplan et al. 2020; PaLM's appendix B).

    N counts the parameters that enter matrix products: all but the two embedding
    tables, which are only looked up. The forward pass costs 2N per token (one
    multiply and one add per weight) plus 2 L T C for the attention scores QK^T and
    the weighted sum AV (each 2 T C / 2 on average under the causal mask, i.e. a
    full 2 T C per token for both when counted as the dense products are); the
    backward pass costs twice the forward. So 3 * (2N + 2 L T C).

    The formula lives once, in :func:`dlbook.scale.flops.flops_per_token`: this is
    its ``total`` with ``causal=True``.
    """
    from dlbook.scale.flops import flops_per_token

    return flops_per_token(config, T, causal=True)["total"]


def measure_matmul_flops(n: int = 1024, repeats: int = 5) -> float:
    """This machine's float32 matmul speed in FLOP/s: median of ``repeats`` timed (n, n) @ (n, n).

    One product costs 2 n^3 FLOPs. The median of a few repetitions (after a warm-up
    run) resists a neighbour's burst of work on a shared machine.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b  # warm-up: thread pool, caches
    times = []
    for _ in range(repeats):
        tick = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - tick)
    return 2 * n**3 / float(np.median(times))


def mfu(tokens_per_second: float, flops_per_token: float, peak: float) -> float:
    """Model FLOP utilisation: achieved FLOP/s (tokens/s x FLOPs/token) over the peak FLOP/s."""
    if not peak > 0:
        raise ValueError(f"peak must be a positive FLOP/s, got {peak!r}.")
    return tokens_per_second * flops_per_token / peak
