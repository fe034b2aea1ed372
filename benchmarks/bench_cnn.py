"""How fast is the from-scratch NumPy LeNet against PyTorch's, on the CPU?

Times one forward + backward pass of chapter 3's LeNet (``dlbook.cnn.CNN()``,
3 x 32 x 32 inputs, batch 64, float32) in the NumPy backend and in PyTorch,
both on one thread (``dlbook.seed_everything`` pins the thread pools), and
prints the median times and their ratio. A benchmark, not a test: the numbers
depend on the machine and on its load.

    .venv/bin/python benchmarks/bench_cnn.py [--batch 64] [--repeats 20]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import dlbook
from dlbook import cnn


def _median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up: allocations, torch's first-call overheads
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64, help="images per pass")
    parser.add_argument("--repeats", type=int, default=20, help="timed passes per backend")
    args = parser.parse_args()
    rng = dlbook.seed_everything(0)
    x = rng.normal(size=(args.batch, 3, 32, 32)).astype(np.float32)  # (B, C, H, W)
    y = rng.integers(0, 10, size=args.batch)  # (B,)
    times = {}
    for name in ("numpy", "torch"):
        backend = cnn.backend(name)
        model = backend.CNN(seed=0)
        times[name] = _median_seconds(
            lambda b=backend, m=model: b.loss_and_grads(m, x, y), args.repeats
        )
    import torch

    print(
        f"LeNet forward + backward, batch {args.batch}, float32, "
        f"{torch.get_num_threads()} thread(s)"
    )
    for name, t in times.items():
        print(f"  {name:6s} {1e3 * t:8.2f} ms")
    print(f"  NumPy / PyTorch = {times['numpy'] / times['torch']:.2f}x")


if __name__ == "__main__":
    main()
