"""LoRA on PyTorch: the functions of ``numpy_backend``, and adapters for whole models.

Shape legend: N rows, I input width, O output width, R rank, B batch, T time.

**Wrapping a layer.** :class:`LoRALinear` takes an existing ``nn.Linear`` and keeps its
``weight`` and ``bias`` (the very same, now frozen, ``Parameter`` objects) next to a
small :class:`LoRAAdapter` that adds s (x A) B to the layer's output. The GPT of
:mod:`dlbook.gpt.torch_backend` computes its attention projections with ``nn.Linear``
layers (``h[i].attn.W_q`` ...), so :func:`add_lora` swaps those for ``LoRALinear``
and nothing in the GPT changes: its ``forward``, KV cache and ``get_weights`` (which
returns the frozen base weights) work as before. The MLP's matrices are raw
parameters used in ``x @ W_1``, which no wrapper can reach, so only the attention
projections (``attn.W_q``, ``attn.W_k``, ``attn.W_v``, ``attn.W_o``) take adapters.

**Folding in.** :func:`merge_lora_` replaces each ``LoRALinear`` by a plain ``nn.Linear``
whose weight is W + s A B (stored transposed, as torch does): the model is an
ordinary GPT again, with the fine-tuned behaviour and no extra inference cost.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dlbook._lazy import import_torch
from dlbook._torch import as_tensor
from dlbook._validate import check_bias_shape
from dlbook.gpt.train import evaluate, train_step
from dlbook.lm.char_model import check_ids, random_windows
from dlbook.lora import DEFAULT_TARGETS, check_alpha_rank, check_lora_shapes, init_lora
from dlbook.optim.schedules import WarmupCosine, apply_schedule
from dlbook.seeding import make_rng

torch = import_torch()
nn = torch.nn
F = torch.nn.functional


# ---------------------------------------------------------------------------
# The functions, as in numpy_backend
# ---------------------------------------------------------------------------


def lora_forward(x: Any, W: Any, A: Any, B: Any, alpha: float, b: Any = None) -> Any:
    """y = x W + b + (alpha / r) (x A) B for x (..., I), W (I, O), A (I, R), B (R, O)."""
    x = as_tensor(x, validate=False)
    W, A, B = (as_tensor(a, validate=False, device=x.device) for a in (W, A, B))
    check_lora_shapes(tuple(W.shape), tuple(A.shape), tuple(B.shape))
    y = x @ W + check_alpha_rank(A, alpha) * ((x @ A) @ B)  # (..., O)
    if b is None:
        return y
    b = as_tensor(b, validate=False, device=x.device)
    check_bias_shape(tuple(b.shape), W.shape[1])
    return y + b


def merge_lora(W: Any, A: Any, B: Any, alpha: float) -> Any:
    """W' = W + (alpha / r) A B, a new (I, O) tensor; the inputs are unchanged."""
    W = as_tensor(W, validate=False)
    A, B = (
        as_tensor(A, validate=False, device=W.device),
        as_tensor(B, validate=False, device=W.device),
    )
    check_lora_shapes(tuple(W.shape), tuple(A.shape), tuple(B.shape))
    return W + check_alpha_rank(A, alpha) * (A @ B)  # (I, O)


def lora_loss_and_grads(
    x: Any, W: Any, A: Any, B: Any, alpha: float, b: Any, d_y: Any
) -> tuple[float, dict[str, np.ndarray]]:
    """loss = sum(y * d_y) and the gradients {"A", "B", "x"} by autograd, as NumPy arrays."""
    x, A, B = (
        as_tensor(a, validate=False).detach().clone().requires_grad_(True) for a in (x, A, B)
    )
    y = lora_forward(x, W, A, B, alpha, b)
    loss = (y * as_tensor(d_y, validate=False, device=y.device)).sum()
    loss.backward()
    grads = {n: t.grad.detach().cpu().numpy() for n, t in (("A", A), ("B", B), ("x", x))}
    return float(loss.item()), grads


# ---------------------------------------------------------------------------
# Adapters for nn.Linear layers and for the GPT
# ---------------------------------------------------------------------------


class LoRAAdapter(nn.Module):
    """The trainable part: ``forward(x (..., I)) -> s (x A) B (..., O)``."""

    def __init__(self, A: np.ndarray, B: np.ndarray, alpha: float, *, like: Any) -> None:
        super().__init__()
        self.r, self.alpha = int(A.shape[1]), float(alpha)
        self.scaling = check_alpha_rank(A, alpha)  # s = alpha / r
        kw = {"device": like.device, "dtype": like.dtype}
        self.A = nn.Parameter(torch.as_tensor(A, **kw))  # (I, R), random
        self.B = nn.Parameter(torch.as_tensor(B, **kw))  # (R, O), zero at the start

    def forward(self, x: Any) -> Any:
        return self.scaling * ((x @ self.A) @ self.B)  # (..., R) then (..., O)

    def delta(self) -> Any:
        """s A B (I, O): what the adapter adds to the weight in the canonical layout."""
        return self.scaling * (self.A @ self.B)


class LoRALinear(nn.Module):
    """A frozen ``nn.Linear`` plus a :class:`LoRAAdapter`: y = x W + b + s (x A) B.

    ``weight`` (O, I) and ``bias`` are the wrapped layer's own parameters (frozen here),
    so code that reads ``layer.weight`` keeps working. A ~ N(0, std^2) is drawn from
    ``rng`` (default std 1 / sqrt(I)) and B = 0, so at the start the output equals
    the base layer's exactly.
    """

    def __init__(
        self,
        base: Any,
        r: int = 4,
        alpha: float = 8.0,
        *,
        rng: np.random.Generator | int = 0,
        std: float | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(base, nn.Linear) or isinstance(base, LoRALinear):
            raise TypeError(f"LoRALinear wraps a torch.nn.Linear, got {type(base).__name__}.")
        self.in_features, self.out_features = base.in_features, base.out_features
        self.weight = base.weight  # (O, I): torch's layout, the canonical W transposed
        self.bias = base.bias
        for p in self.parameters():
            p.requires_grad_(False)
        A, B = init_lora(self.in_features, self.out_features, r, rng, std=std)
        self.adapter = LoRAAdapter(A, B, alpha, like=self.weight)

    def forward(self, x: Any) -> Any:
        return F.linear(x, self.weight, self.bias) + self.adapter(x)  # (..., O)

    def merged(self) -> Any:
        """A new ``nn.Linear`` with weight W + s A B (transposed) and the same bias."""
        w = self.weight
        layer = nn.Linear(
            self.in_features,
            self.out_features,
            bias=self.bias is not None,
            device=w.device,
            dtype=w.dtype,
        )
        with torch.no_grad():
            layer.weight.copy_(w + self.adapter.delta().T)  # (O, I)
            if self.bias is not None:
                layer.bias.copy_(self.bias)
        return layer


def _matching_modules(model: Any, targets: Sequence[str]) -> list[tuple[Any, str, Any]]:
    """(parent, attribute, module) for every module whose dotted name ends with a target."""
    found, names = [], dict(model.named_modules())
    for target in targets:
        hits = [n for n in names if n == target or n.endswith("." + target)]
        if not hits:
            linears = sorted(
                {n.split(".", 2)[-1] for n, m in names.items() if isinstance(m, nn.Linear)}
            )
            raise ValueError(
                f"No module of the model is called {target!r}. LoRA wraps nn.Linear layers; "
                f"this model's are {linears[:8]} (the GPT's MLP uses raw parameters, which "
                "cannot be wrapped)."
            )
        for n in hits:
            parent_name, _, attr = n.rpartition(".")
            found.append((names[parent_name], attr, names[n]))
    return found


def add_lora(
    model: Any,
    targets: Sequence[str] = DEFAULT_TARGETS,
    r: int = 4,
    alpha: float = 8.0,
    seed: int = 0,
    *,
    std: float | None = None,
) -> Any:
    """Freeze every parameter of ``model`` and wrap each target layer in a :class:`LoRALinear`.

    ``targets`` are ends of module names: ``"attn.W_q"`` matches ``h.0.attn.W_q``,
    ``h.1.attn.W_q`` and so on. The adapters' A matrices are drawn, in model order,
    from one generator seeded with ``seed``. Returns ``model`` (changed in place);
    only the adapters' A and B are trainable afterwards.
    """
    if isinstance(targets, str):
        targets = (targets,)
    matches = _matching_modules(model, targets)
    for _, _, module in matches:
        if isinstance(module, LoRALinear):
            raise ValueError("This model already has LoRA adapters; merge_lora_ them first.")
        if not isinstance(module, nn.Linear):
            raise TypeError(f"LoRA wraps nn.Linear layers; a target is a {type(module).__name__}.")
    model.requires_grad_(False)
    rng = make_rng(seed)
    for parent, attr, module in matches:
        setattr(parent, attr, LoRALinear(module, r, alpha, rng=rng, std=std))
    return model


def lora_layers(model: Any) -> dict[str, LoRALinear]:
    """Dotted name -> every :class:`LoRALinear` in ``model``."""
    return {n: m for n, m in model.named_modules() if isinstance(m, LoRALinear)}


def trainable_fraction(model: Any) -> tuple[int, int]:
    """(trainable, total) parameter counts; adapters included in both."""
    params = list(model.parameters())
    trainable = sum(p.numel() for p in params if p.requires_grad)
    return int(trainable), int(sum(p.numel() for p in params))


def merge_lora_(model: Any) -> Any:
    """Fold every adapter into its weight, W <- W + s A B, and remove the adapters.

    Each :class:`LoRALinear` becomes a plain ``nn.Linear``; the outputs are unchanged
    (up to float round-off). Afterwards every parameter is trainable again, as in
    a freshly built model. Returns ``model`` (changed in place).
    """
    layers = lora_layers(model)
    if not layers:
        raise ValueError("The model has no LoRA adapters to merge (see add_lora).")
    modules = dict(model.named_modules())
    for name, layer in layers.items():
        parent_name, _, attr = name.rpartition(".")
        setattr(modules[parent_name], attr, layer.merged())
    model.requires_grad_(True)
    return model


# ---------------------------------------------------------------------------
# Fine-tuning: full or LoRA, on the shifted task
# ---------------------------------------------------------------------------


@dataclass
class FinetuneLog:
    """What one fine-tuning run did."""

    train_loss: list[float] = field(default_factory=list)  # mean nats/char per step
    val_loss: float | None = None  # evaluate(model, val_ids) at the end, nats/char
    trainable: int = 0  # parameters the optimiser updated
    total: int = 0  # parameters of the model, adapters included
    seconds: float = 0.0  # wall time of the training loop


def finetune(
    model: Any,
    train_ids: Any,
    steps: int,
    lr: float,
    *,
    val_ids: Any = None,
    batch_size: int = 16,
    warmup_steps: int = 20,
    weight_decay: float = 0.0,
    grad_clip: float | None = 1.0,
    seed: int = 0,
    progress: bool = True,
) -> tuple[Any, FinetuneLog]:
    """Train the parameters of ``model`` that require grad; return (model, log).

    AdamW on random windows of ``train_ids``, the learning rate following
    :class:`~dlbook.optim.schedules.WarmupCosine` down to lr / 10. Full fine-tuning
    passes a plain GPT (all parameters train); LoRA passes ``add_lora(model)``
    (only the adapters train). The model is changed in place.
    """
    from tqdm.auto import trange

    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("No parameter of the model requires grad: there is nothing to train.")
    T, V = model.config.block_size, model.config.vocab_size
    train = check_ids(train_ids, "train_ids", V, T + 2)
    rng = make_rng(seed)
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    schedule = WarmupCosine(lr, warmup_steps, steps, eta_min=lr / 10)
    log = FinetuneLog()
    log.trainable, log.total = trainable_fraction(model)
    model.train()
    tick = time.perf_counter()
    for step in trange(steps, desc="fine-tuning", disable=not progress):
        xb, yb = random_windows(train, T, batch_size, rng)  # (B, T) each
        x, y = (torch.as_tensor(a, device=model.device) for a in (xb, yb))
        apply_schedule(opt, schedule, step)
        log.train_loss.append(train_step(model, opt, x, y, grad_clip)[0])
    log.seconds = time.perf_counter() - tick
    model.eval()
    if val_ids is not None:
        log.val_loss = evaluate(model, val_ids)
    return model, log


def compare_finetuning(
    load: Callable[[], Any],
    train_ids: Any,
    val_ids: Any,
    *,
    steps: int = 200,
    lr_full: float = 3e-3,
    lr_lora: float = 1e-2,
    targets: Sequence[str] = DEFAULT_TARGETS,
    r: int = 4,
    alpha: float = 8.0,
    batch_size: int = 16,
    seed: int = 0,
    progress: bool = True,
) -> dict[str, tuple[Any, FinetuneLog]]:
    """No fine-tuning, full fine-tuning and LoRA from the same pretrained model.

    ``load()`` returns a fresh pretrained GPT (e.g. ``lambda: load_chapter_gpt()[0]``).
    Returns {"pretrained", "full", "lora"} -> (model, log); the pretrained entry has
    no training, only its ``val_loss``. Each run sees the same windows (same ``seed``).
    """
    base = load()
    log = FinetuneLog(val_loss=evaluate(base, val_ids))
    log.trainable, log.total = 0, trainable_fraction(base)[1]
    out = {"pretrained": (base, log)}
    kw = {"val_ids": val_ids, "batch_size": batch_size, "seed": seed, "progress": progress}
    out["full"] = finetune(load(), train_ids, steps, lr_full, **kw)
    lora_model = add_lora(load(), targets, r=r, alpha=alpha, seed=seed)
    out["lora"] = finetune(lora_model, train_ids, steps, lr_lora, **kw)
    return out


__all__ = [
    "FinetuneLog",
    "LoRAAdapter",
    "LoRALinear",
    "add_lora",
    "compare_finetuning",
    "finetune",
    "init_lora",
    "lora_forward",
    "lora_layers",
    "lora_loss_and_grads",
    "merge_lora",
    "merge_lora_",
    "trainable_fraction",
]
