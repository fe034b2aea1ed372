"""How fast are dlbook's NumPy and TensorFlow backends against PyTorch, step for step?

Times one training step (forward, loss, backward; every gradient) of four
models in the three backends, float32, on the CPU, one thread each
(``dlbook.pin_threads(1)``), and prints the median seconds and the ratios
NumPy / PyTorch and TF / PyTorch:

* MLP: ``dlbook.nn`` ``loss_and_grads``, sizes [64, 256, 256, 10], batch 128;
* LSTM: ``dlbook.rnn`` ``sequence_loss_and_grads``, D = 32, H = 128, (B, T) = (16, 32);
* attention: ``dlbook.attention`` ``mha_loss_and_grads``, C = 128, 4 heads,
  (B, T) = (16, 64), causal;
* GPT: ``dlbook.gpt`` ``loss_and_grads``, chapter 6's configuration (V = 23,
  block 64, 2 layers, 4 heads, C = 64), (B, T) = (32, 64).

It then times the torch GPT against a nanoGPT-style GPT (fused QKV ``c_attn``,
``F.scaled_dot_product_attention``, ``nn.Linear`` with fused bias; after
Karpathy's nanoGPT) at the same configuration, forward + cross-entropy +
backward. Runs are interleaved (one step of each contender per round) so
that a change of machine load hits every contender alike, and the median over
rounds is reported. A benchmark, not a test: the numbers depend on the machine.

    .venv/bin/python benchmarks/bench.py [--repeats 15] [--only gpt]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

import dlbook

Step = Callable[[], object]


def _interleaved_medians(steps: dict[str, Step], repeats: int) -> dict[str, float]:
    """Median seconds per step of each contender, timed round-robin after one warm-up."""
    for step in steps.values():
        step()
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            start = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - start)
    return {name: float(np.median(t)) for name, t in times.items()}


def mlp_steps() -> dict[str, Step]:
    rng = np.random.default_rng(0)
    sizes = [64, 256, 256, 10]
    x = rng.normal(size=(128, 64)).astype(np.float32)
    y = rng.integers(0, 10, 128)
    steps = {}
    for name in dlbook.BACKENDS:
        nn = dlbook.load_backend("nn", name)
        model = nn.MLP(sizes, "relu", seed=0, dtype="float32")
        steps[name] = lambda nn=nn, model=model: nn.loss_and_grads(model, x, y)
    return steps


def lstm_steps() -> dict[str, Step]:
    rng = np.random.default_rng(0)
    B, T, D, H = 16, 32, 32, 128
    x = rng.normal(size=(B, T, D)).astype(np.float32)
    d_out = rng.normal(size=(B, T, H)).astype(np.float32)
    d_final = tuple(rng.normal(size=(B, H)).astype(np.float32) for _ in range(2))
    steps = {}
    for name in dlbook.BACKENDS:
        rnn = dlbook.load_backend("rnn", name)
        model = rnn.LSTM(D, H, seed=0, dtype="float32")
        steps[name] = lambda rnn=rnn, model=model: rnn.sequence_loss_and_grads(
            model, x, None, d_out, d_final
        )
    return steps


def attention_steps() -> dict[str, Step]:
    rng = np.random.default_rng(0)
    B, T, C, H = 16, 64, 128, 4
    x = rng.normal(size=(B, T, C)).astype(np.float32)
    d_out = rng.normal(size=(B, T, C)).astype(np.float32)
    steps = {}
    for name in dlbook.BACKENDS:
        att = dlbook.load_backend("attention", name)
        model = att.MultiHeadAttention(C, H, seed=0, dtype="float32")
        mask = att.causal_mask(T)
        steps[name] = lambda att=att, model=model, mask=mask: att.mha_loss_and_grads(
            model, x, mask, d_out
        )
    return steps


def _gpt_config():
    from dlbook.gpt.config import GPTConfig

    return GPTConfig(vocab_size=23, block_size=64, n_layer=2, n_head=4, n_embd=64)


def _gpt_batch(config, B: int = 32):
    rng = np.random.default_rng(0)
    ids = rng.integers(0, config.vocab_size, (B, config.block_size))
    return ids, rng.integers(0, config.vocab_size, (B, config.block_size))


def gpt_steps() -> dict[str, Step]:
    config = _gpt_config()
    ids, targets = _gpt_batch(config)
    steps = {}
    for name in dlbook.BACKENDS:
        gpt = dlbook.load_backend("gpt", name)
        model = gpt.GPT(config, seed=0, dtype="float32")
        steps[name] = lambda gpt=gpt, model=model: gpt.loss_and_grads(model, ids, targets)
    return steps


def nanogpt_steps() -> dict[str, Step]:
    """dlbook's torch GPT against a nanoGPT-style one: forward, cross-entropy, backward."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    from dlbook.gpt import torch_backend

    config = _gpt_config()
    C, H = config.n_embd, config.n_head

    class Attention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.c_attn, self.c_proj = nn.Linear(C, 3 * C), nn.Linear(C, C)

        def forward(self, x):
            B, T, _ = x.shape
            q, k, v = self.c_attn(x).split(C, dim=2)  # (B, T, C) each
            q, k, v = (t.view(B, T, H, C // H).transpose(1, 2) for t in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (B, H, T, D)
            return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ln_1, self.attn, self.ln_2 = nn.LayerNorm(C), Attention(), nn.LayerNorm(C)
            self.mlp = nn.Sequential(nn.Linear(C, 4 * C), nn.GELU(), nn.Linear(4 * C, C))

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            return x + self.mlp(self.ln_2(x))

    class NanoGPT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.wte = nn.Embedding(config.vocab_size, C)
            self.wpe = nn.Embedding(config.block_size, C)
            self.h = nn.ModuleList([Block() for _ in range(config.n_layer)])
            self.ln_f = nn.LayerNorm(C)
            self.lm_head = nn.Linear(C, config.vocab_size, bias=False)

        def forward(self, idx):
            pos = torch.arange(idx.shape[1], device=idx.device)
            x = self.wte(idx) + self.wpe(pos)  # (B, T, C)
            for block in self.h:
                x = block(x)
            return self.lm_head(self.ln_f(x))  # (B, T, V)

    ids, targets = (torch.as_tensor(a) for a in _gpt_batch(config))
    ours, theirs = torch_backend.GPT(config, seed=0), NanoGPT()

    def step(model) -> Step:
        def run() -> float:
            model.zero_grad(set_to_none=True)
            logits = model(ids)
            loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten())
            loss.backward()
            return loss.item()

        return run

    n_ours = sum(p.numel() for p in ours.parameters())
    n_theirs = sum(p.numel() for p in theirs.parameters())
    assert n_ours == n_theirs, (n_ours, n_theirs)  # the same model size, parameter for parameter
    return {"dlbook": step(ours), "nanoGPT": step(theirs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--only", choices=["mlp", "lstm", "attention", "gpt", "nanogpt"])
    args = parser.parse_args()
    dlbook.seed_everything(0, threads=1)  # imports torch and TF, pins every pool to 1 thread
    cases = {
        "mlp": mlp_steps,
        "lstm": lstm_steps,
        "attention": attention_steps,
        "gpt": gpt_steps,
        "nanogpt": nanogpt_steps,
    }
    print(f"median seconds per step, {args.repeats} interleaved rounds, 1 thread, float32")
    print(f"{'step':<10} {'numpy':>9} {'torch':>9} {'tf':>9} {'np/torch':>9} {'tf/torch':>9}")
    for name, build in cases.items():
        if args.only and name != args.only:
            continue
        med = _interleaved_medians(build(), args.repeats)
        if name == "nanogpt":
            ratio = med["dlbook"] / med["nanoGPT"]
            print(
                f"GPT step, dlbook torch {med['dlbook'] * 1e3:.1f} ms vs nanoGPT-style "
                f"{med['nanoGPT'] * 1e3:.1f} ms: ratio {ratio:.2f}"
            )
            continue
        np_ratio, tf_ratio = med["numpy"] / med["torch"], med["tensorflow"] / med["torch"]
        print(
            f"{name:<10} {med['numpy']:9.4f} {med['torch']:9.4f} {med['tensorflow']:9.4f} "
            f"{np_ratio:9.2f} {tf_ratio:9.2f}"
        )


if __name__ == "__main__":
    main()
