"""A GPT (decoder-only, pre-LayerNorm transformer) in three backends, and its training.

=====================================  ==============================================
name                                   what it is
=====================================  ==============================================
``config.GPTConfig``                   size of the model (V, T, L, H, C), one field each
``config.count_parameters(config)``    parameter count by formula, per part and total
``config.init_weights(config, seed)``  GPT-2 init as canonical NumPy arrays (shared)
``<backend>.GPT(config, seed=0)``      ``forward(ids (B, T)) -> logits (B, T, V)``,
                                       ``get_weights`` / ``set_weights`` (canonical)
``numpy_backend.GPT.backward``         hand-written backward through every layer
``<backend>.loss_and_grads``           mean cross-entropy over B*T and every gradient
``torch_backend.GPT.forward(past=)``   the KV cache: new tokens attend to stored K, V
``train.train_gpt``                    AdamW + warm-up/cosine on the chapter corpus
``train.generate`` / ``train.sample``  greedy or sampled continuation, KV cache or not
``train.model_flops_per_token``        6N + 6 L T C, and ``mfu`` against a measured peak
=====================================  ==============================================

The model, in one line per block (x is the residual stream, (B, T, C))::

    x = tok_emb[ids] + pos_emb[:T]
    x = x + MHA(LN1(x), causal mask);   x = x + W_2 GELU(W_1 LN2(x))     (L times)
    logits = LN_f(x) @ head.W

``backend(name)`` returns the module of one backend; importing this package pulls
in neither PyTorch nor TensorFlow.
"""

from __future__ import annotations

from types import ModuleType

from dlbook.backends import load_backend
from dlbook.gpt.config import GPTConfig, count_parameters, init_weights

# The names every backend module of this concept exports, with the same parameters
# (a backend may add trailing optional ones); tests/test_shared_api.py checks it.
SHARED_API = (
    "GPT",
    "loss_and_grads",
)

__all__ = ["SHARED_API", "GPTConfig", "backend", "count_parameters", "init_weights"]


def backend(name: str) -> ModuleType:
    """``dlbook.gpt.<name>_backend`` for name in numpy, torch, tensorflow (or np, tf)."""
    return load_backend("gpt", name)
