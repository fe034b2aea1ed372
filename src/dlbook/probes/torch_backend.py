"""Reading a PyTorch GPT's residual stream, for probes (chapter 11).

Shape legend: L = blocks, B = windows of text, T = characters per window, C = width of
the residual stream, N = labelled positions.

The residual stream of :class:`dlbook.gpt.torch_backend.GPT` is the x that every block
reads and adds to: x_0 = token + position embedding, x_{l+1} = block_l(x_l). We catch
it with *forward hooks* (a pre-hook on block 0 for x_0, a hook after each block), so the
model's own forward runs unchanged and nothing of it is re-implemented here. The hooks
are removed again, also on error.

Only a PyTorch backend exists: the chapter's trained GPT is a torch model
(:func:`dlbook.serving.load_chapter_gpt`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlbook._lazy import import_torch
from dlbook.probes.labels import UNKNOWN, sentence_topics

torch = import_torch()


def residual_stream(model: Any, ids: Any) -> np.ndarray:
    """x_0 .. x_L of ``model`` on ``ids`` (B, T): a NumPy array (L + 1, B, T, C).

    x_0 is the embedding (input of block 0), x_l the output of block l - 1; the final
    LayerNorm and the head are not included.
    """
    ids = torch.as_tensor(np.asarray(ids), dtype=torch.int64, device=model.device)
    if ids.ndim != 2:
        raise ValueError(f"ids must have shape (B, T), got {tuple(ids.shape)}.")
    states: list[Any] = []

    def grab_input(module: Any, args: tuple[Any, ...]) -> None:
        states.append(args[0].detach())  # (B, T, C): x_0

    def grab_output(module: Any, args: tuple[Any, ...], output: Any) -> None:
        states.append(output[0].detach())  # a block returns (x, kv): keep x, (B, T, C)

    handles = [model.h[0].register_forward_pre_hook(grab_input)]
    handles += [block.register_forward_hook(grab_output) for block in model.h]
    was_training = model.training
    try:
        model.eval()  # dropout off
        with torch.no_grad():
            model(ids)
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return torch.stack(states).float().cpu().numpy()  # (L + 1, B, T, C)


def topic_probe_data(
    model: Any, vocab: Any, text: str, window: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Residual streams, sentence topics and characters at every labelled position of ``text``.

    The text is cut into consecutive windows of ``window`` characters (default: the
    model's block size; a tail shorter than a window is dropped), each window is run
    through the model on its own, and each window is labelled by
    :func:`dlbook.probes.labels.sentence_topics` on that window alone, so a label is
    only given where the model has seen the topic word. Returns features (L + 1, N, C),
    labels (N,) and the characters at those positions (N,) (a NumPy array of str), in
    text order.
    """
    T = int(model.config.block_size if window is None else window)
    if not 1 <= T <= model.config.block_size:
        raise ValueError(f"window must lie in [1, {model.config.block_size}], got {window!r}.")
    n_windows = len(text) // T
    if n_windows == 0:
        raise ValueError(f"text has {len(text)} characters, fewer than one window of {T}.")
    pieces = [text[i * T : (i + 1) * T] for i in range(n_windows)]
    ids = np.stack([vocab.encode(p) for p in pieces])  # (B, T)
    labels = np.stack([sentence_topics(p) for p in pieces])  # (B, T)
    keep = labels != UNKNOWN  # (B, T)
    chars = np.array([list(p) for p in pieces])  # (B, T)
    states = residual_stream(model, ids)  # (L + 1, B, T, C)
    return states[:, keep], labels[keep], chars[keep]  # (L + 1, N, C), (N,), (N,)


def _loss(model: Any, ids: Any, targets: Any) -> float:
    """Mean next-character cross-entropy of ``model`` over all B*T positions, in nats."""
    with torch.no_grad():
        logits = model(ids)  # (B, T, V)
        return float(torch.nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten()))


def _run_with_head_replaced(
    model: Any, ids: Any, targets: Any, layer: int, head: int, replace: Any
) -> float:
    """The loss when ``replace(merged_heads, v)`` rewrites head ``head``'s slice in ``layer``.

    ``merged_heads`` (B, T, C) is what the block's output projection W_o receives; ``v``
    (B, T, C) the block's values. Hooks are removed afterwards, also on error.
    """
    attn = model.h[layer].attn
    D = attn.d_head
    cols = slice(head * D, (head + 1) * D)  # head h owns channels h*D .. (h+1)*D - 1
    seen: dict[str, Any] = {}

    def keep_values(module: Any, args: tuple[Any, ...], output: Any) -> None:
        seen["v"] = output  # (B, T, C), before the split into heads

    def rewrite(module: Any, args: tuple[Any, ...]) -> tuple[Any, ...]:
        merged = args[0].clone()  # (B, T, C)
        merged[..., cols] = replace(merged[..., cols], seen["v"][..., cols])
        return (merged,)

    handles = [attn.W_v.register_forward_hook(keep_values)]
    handles.append(attn.W_o.register_forward_pre_hook(rewrite))
    try:
        return _loss(model, ids, targets)
    finally:
        for handle in handles:
            handle.remove()


def head_interventions(model: Any, ids: Any, targets: Any) -> dict[str, np.ndarray]:
    """How much the loss rises when each head is changed, two ways: (L, H) arrays, in nats.

    * ``"mean_ablation"``: the head's output is replaced by its average over all positions
      of the batch, so it carries no information about the input at all;
    * ``"uniform_attention"``: the head keeps its values but attends *uniformly* to every
      visible position (causal running mean of v), instead of with its learnt weights.

    Also returns ``"clean_loss"`` (a 0-d array). ids, targets: (B, T) integer arrays.
    """
    ids = torch.as_tensor(np.asarray(ids), dtype=torch.int64, device=model.device)
    targets = torch.as_tensor(np.asarray(targets), dtype=torch.int64, device=model.device)
    if ids.ndim != 2 or ids.shape != targets.shape:
        raise ValueError(
            f"ids and targets must both have shape (B, T), got {tuple(ids.shape)} and "
            f"{tuple(targets.shape)}."
        )
    was_training = model.training
    model.eval()
    try:
        clean = _loss(model, ids, targets)
        L, H = model.config.n_layer, model.config.n_head
        T = ids.shape[1]
        counts = torch.arange(1, T + 1, device=model.device).reshape(1, T, 1)  # (1, T, 1)

        def mean_out(head: Any, v: Any) -> Any:
            return head.mean(dim=(0, 1), keepdim=True).expand_as(head)  # (B, T, D)

        def uniform(head: Any, v: Any) -> Any:
            return v.cumsum(dim=1) / counts  # (B, T, D): mean of v over positions <= t

        out = {}
        for name, replace in (("mean_ablation", mean_out), ("uniform_attention", uniform)):
            out[name] = (
                np.array(
                    [
                        [
                            _run_with_head_replaced(model, ids, targets, l, h, replace)
                            for h in range(H)
                        ]
                        for l in range(L)
                    ]
                )
                - clean
            )
    finally:
        model.train(was_training)
    out["clean_loss"] = np.array(clean)
    return out


__all__ = ["head_interventions", "residual_stream", "topic_probe_data"]
