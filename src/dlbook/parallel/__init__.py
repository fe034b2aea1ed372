"""Training at scale: mixed precision, accumulation, checkpointing and parallelism (chapter 9).

Most of this chapter's techniques are properties of one framework, so the
backends are not three copies of one API. What lives where:

============================================  ======================================================
module                                        contents
============================================  ======================================================
:mod:`~dlbook.parallel.mixed_precision`       float16's range, ``unscale_grads``, ``update_scale``
                                              (the dynamic loss scale), how many gradients flush
                                              to 0: NumPy only
:mod:`~dlbook.parallel.numpy_backend`         simulated ranks: ``ring_all_reduce`` (reduce-scatter
                                              + all-gather), column- and row-parallel matmuls, the
                                              Megatron MLP, simulated data parallelism
:mod:`~dlbook.parallel.pipeline`              ``simulate_pipeline(p, m)``, ``bubble_fraction``:
                                              pure Python
:mod:`~dlbook.parallel.data_parallel`         the experiment shared by the backends
                                              (``DataParallelConfig``), ZeRO's bytes per parameter
:mod:`~dlbook.parallel.launch`                ``run_processes``: fresh Python processes, always
                                              reaped
:mod:`~dlbook.parallel.torch_backend`         bf16 autocast and fp16 loss scaling on the digits
                                              MLP, gradient accumulation, activation checkpointing
                                              of the GPT, DDP and ZeRO-1 on ``torch.distributed``
                                              (gloo, CPU): torch only
:mod:`~dlbook.parallel.tensorflow_backend`    ``MirroredStrategy`` over logical CPU devices: TF only
============================================  ======================================================

**The shared API.** Data parallelism exists in all three backends, with the same
two functions: ``train_single(config, x, y)`` (one device, the whole batch) and
``train_data_parallel(config, x, y)`` (``config.world_size`` ranks, B / p rows
each). Both return the final weights in the canonical layout, and the tests
check that all six agree in float64.

Importing this package, ``mixed_precision``, ``numpy_backend``, ``pipeline``,
``data_parallel`` or ``launch`` loads neither PyTorch nor TensorFlow.
"""

from __future__ import annotations

from types import ModuleType

from dlbook.parallel.data_parallel import DataParallelConfig, zero_bytes_per_parameter

# The names every backend module of this concept exports, with the same parameters
# (a backend may add trailing optional ones); tests/test_shared_api.py checks it.
SHARED_API = (
    "train_single",
    "train_data_parallel",
)

__all__ = ["SHARED_API", "DataParallelConfig", "backend", "zero_bytes_per_parameter"]


def backend(name: str) -> ModuleType:
    """``dlbook.parallel.<name>_backend`` for name in numpy, torch, tensorflow (or np, tf)."""
    from dlbook.backends import load_backend

    return load_backend("parallel", name)
