"""A GPT from scratch in NumPy: every forward next to a hand-written backward.

Shape legend: B = batch, T = time (tokens per sequence), C = n_embd, V = vocab size,
Dm = MLP hidden width (4C), L = n_layer.

Nothing here is new machinery: the block is assembled from the book's pieces,
:func:`dlbook.nn.numpy_backend.linear` / ``gelu`` / ``cross_entropy`` with their
``*_backward``, :func:`dlbook.normalization.numpy_backend.layer_norm` with its
backward, and :class:`dlbook.attention.numpy_backend.MultiHeadAttention` with its
own ``backward``. The chain rule through the residual stream is one line: the
gradient of ``x + f(x)`` is the upstream gradient plus f's backward of it.
``tests/gpt/test_numpy_gpt.py`` checks every gradient by finite differences.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlbook.attention.numpy_backend import MultiHeadAttention, causal_mask
from dlbook.gpt.config import (
    GPTConfig,
    check_ids,
    check_targets,
    check_weights,
    init_weights,
    weight_shapes,
)
from dlbook.nn.numpy_backend import (
    cross_entropy,
    cross_entropy_backward,
    gelu_backward,
    linear,
    linear_backward,
    normal_cdf,
)
from dlbook.normalization import DEFAULT_EPS
from dlbook.normalization.numpy_backend import layer_norm, layer_norm_backward


def _scatter_add_rows(table: np.ndarray, ids: np.ndarray, rows: np.ndarray) -> None:
    """``table[ids[b, t]] += rows[b, t]`` for every (b, t), repeated ids summed.

    This is ``np.add.at(table, ids, rows)``, the clearest form, which adds one
    row at a time (10x slower). Here the B*T rows are sorted by id and each
    run of equal ids is summed at once by ``np.add.reduceat``.
    """
    flat = ids.ravel()  # (B*T,)
    order = np.argsort(flat, kind="stable")  # (B*T,) rows grouped by token id
    uniq, starts = np.unique(flat[order], return_index=True)  # (U,) ids, first row of each
    grouped = rows.reshape(flat.size, -1)[order]  # (B*T, C)
    table[uniq] += np.add.reduceat(grouped, starts, axis=0)  # (U, C): one sum per id


class GPT:
    """A pre-LayerNorm GPT with explicit ``forward`` and ``backward``.

    ``params`` holds every canonical weight except the attention's, which live in
    each block's :class:`MultiHeadAttention` (``self.attn[i]``); ``get_weights``
    gathers both under the canonical names. ``grads`` accumulates like PyTorch's
    ``.grad``: call :meth:`zero_grad` between steps (``loss_and_grads`` does).
    """

    def __init__(self, config: GPTConfig, *, seed: int = 0, dtype: str = "float32") -> None:
        self.config, self.dtype, self.eps = config, str(dtype), DEFAULT_EPS
        C, H = config.n_embd, config.n_head
        self.attn = [
            MultiHeadAttention(C, H, seed=seed, dtype=self.dtype, bias=config.bias)
            for _ in range(config.n_layer)
        ]
        self.params: dict[str, np.ndarray] = {}
        self.set_weights(init_weights(config, seed=seed, dtype=self.dtype))
        self.grads = {k: np.zeros(s, dtype=self.dtype) for k, s in weight_shapes(config).items()}
        self._cache: dict[str, Any] | None = None

    # -- forward ---------------------------------------------------------------------------

    def _mlp(self, p: str, x: np.ndarray, cache: dict) -> np.ndarray:
        """(N, C) -> (N, C): W_2 GELU(x W_1 + b_1) + b_2, caching what backward needs."""
        P, Dm = self.params, self.config.d_mlp
        h = linear(x, P[p + "W_1"], P.get(p + "b_1", np.zeros(Dm, self.dtype)))  # (N, Dm)
        cdf = normal_cdf(h)  # (N, Dm) Phi(h), kept: gelu_backward needs it again
        a = h * cdf  # (N, Dm) gelu(h) = h Phi(h)
        cache.update(mlp_in=x, mlp_h=h, mlp_cdf=cdf, mlp_a=a)
        return linear(a, P[p + "W_2"], P.get(p + "b_2", np.zeros(x.shape[1], self.dtype)))

    def forward(self, ids: Any) -> np.ndarray:
        """ids (B, T) integers -> logits (B, T, V) for the token after each position."""
        ids = check_ids(ids, self.config)  # (B, T), every id in [0, V)
        B, T = ids.shape  # batch, time
        C, P = self.config.n_embd, self.params
        x = P["tok_emb"][ids] + P["pos_emb"][:T]  # (B, T, C)
        mask = causal_mask(T)  # (T, T), True where a query may attend a key
        blocks = []
        for i, attn in enumerate(self.attn):
            c: dict[str, Any] = {"x1": x}
            a = layer_norm(x, P[f"h{i}.ln1.gamma"], P[f"h{i}.ln1.beta"], self.eps)  # (B, T, C)
            x = x + attn.forward(a, mask=mask)  # (B, T, C)
            c["x2"] = x
            m = layer_norm(x, P[f"h{i}.ln2.gamma"], P[f"h{i}.ln2.beta"], self.eps)  # (B, T, C)
            x = x + self._mlp(f"h{i}.mlp.", m.reshape(B * T, C), c).reshape(B, T, C)
            blocks.append(c)
        xf = layer_norm(x, P["ln_f.gamma"], P["ln_f.beta"], self.eps)  # (B, T, C)
        self._cache = {"ids": ids, "blocks": blocks, "x_final": x, "xf": xf}
        return xf @ P["head.W"]  # (B, T, V)

    __call__ = forward

    # -- backward --------------------------------------------------------------------------

    def _mlp_backward(self, p: str, g: np.ndarray, c: dict) -> np.ndarray:
        """(N, C) upstream gradient -> (N, C) gradient of the MLP's input; accumulates grads."""
        G = self.grads
        da, dW2, db2 = linear_backward(c["mlp_a"], self.params[p + "W_2"], g)
        dh = gelu_backward(c["mlp_h"], da, c["mlp_cdf"])  # (N, Dm)
        dx, dW1, db1 = linear_backward(c["mlp_in"], self.params[p + "W_1"], dh)
        G[p + "W_1"] += dW1
        G[p + "W_2"] += dW2
        if self.config.bias:
            G[p + "b_1"] += db1
            G[p + "b_2"] += db2
        return dx

    def _ln_backward(self, name: str, x: np.ndarray, g: np.ndarray) -> np.ndarray:
        dx, dgamma, dbeta = layer_norm_backward(x, self.params[name + ".gamma"], g, self.eps)
        self.grads[name + ".gamma"] += dgamma
        self.grads[name + ".beta"] += dbeta
        return dx

    def _attn_backward(self, i: int, g: np.ndarray) -> np.ndarray:
        attn = self.attn[i]
        attn.zero_grad()  # the module accumulates too: read only this call's part
        dx = attn.backward(g)  # (B, T, C)
        for k, v in attn.grads.items():
            self.grads[f"h{i}.attn.{k}"] += v
        return dx

    def backward(self, d_logits: np.ndarray) -> None:
        """Accumulate dL/dweight into ``self.grads`` given d_logits = dL/dlogits (B, T, V)."""
        if self._cache is None:
            raise RuntimeError("Call forward before backward: backward needs the cached values.")
        cache, P, G = self._cache, self.params, self.grads
        ids = cache["ids"]
        B, T = ids.shape
        C = self.config.n_embd
        G["head.W"] += cache["xf"].reshape(B * T, C).T @ d_logits.reshape(B * T, -1)  # (C, V)
        dxf = d_logits @ P["head.W"].T  # (B, T, C)
        dx = self._ln_backward("ln_f", cache["x_final"], dxf)  # (B, T, C): residual stream
        for i in reversed(range(self.config.n_layer)):
            c = cache["blocks"][i]
            # x3 = x2 + MLP(LN2(x2)): the gradient reaches x2 directly and through the MLP
            dm = self._mlp_backward(f"h{i}.mlp.", dx.reshape(B * T, C), c).reshape(B, T, C)
            dx = dx + self._ln_backward(f"h{i}.ln2", c["x2"], dm)
            # x2 = x1 + MHA(LN1(x1))
            da = self._attn_backward(i, dx)
            dx = dx + self._ln_backward(f"h{i}.ln1", c["x1"], da)
        G["pos_emb"][:T] += dx.sum(axis=0)  # (T, C): every sequence adds to the same rows
        _scatter_add_rows(G["tok_emb"], ids, dx)  # a token used twice gets both gradients

    def zero_grad(self) -> None:
        for g in self.grads.values():
            g.fill(0.0)

    # -- weights ---------------------------------------------------------------------------

    def get_weights(self) -> dict[str, np.ndarray]:
        """Copies of every weight under its canonical name (see :mod:`dlbook.gpt.config`)."""
        out = {k: v.copy() for k, v in self.params.items()}
        for i, attn in enumerate(self.attn):
            out.update({f"h{i}.attn.{k}": v.copy() for k, v in attn.get_weights().items()})
        return {k: out[k] for k in weight_shapes(self.config)}

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Load canonical weights (names and shapes checked first), cast to the model's dtype."""
        check_weights(weights, self.config)
        for name in weight_shapes(self.config):
            if ".attn." not in name:
                self.params[name] = np.array(weights[name], dtype=self.dtype)
        for i, attn in enumerate(self.attn):
            p = f"h{i}.attn."
            attn.set_weights(
                {
                    k[len(p) :]: np.asarray(v, self.dtype)
                    for k, v in weights.items()
                    if k.startswith(p)
                }
            )


def loss_and_grads(model: GPT, ids: Any, targets: Any) -> tuple[float, dict[str, np.ndarray]]:
    """Mean cross-entropy over all B*T predictions, and its gradient for every weight."""
    logits = model.forward(ids)  # (B, T, V)
    B, T, V = logits.shape
    targets = check_targets(targets, (B, T), model.config).reshape(B * T)  # (B*T,)
    loss = cross_entropy(logits.reshape(B * T, V), targets)
    d_logits = cross_entropy_backward(logits.reshape(B * T, V), targets)  # (B*T, V), /(B*T)
    model.zero_grad()
    model.backward(d_logits.reshape(B, T, V))
    return loss, {k: v.copy() for k, v in model.grads.items()}
