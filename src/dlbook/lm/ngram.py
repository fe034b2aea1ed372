"""Count-based n-gram language models: the baseline every neural model must beat.

An n-gram model predicts character ``x_t`` from the ``n - 1`` characters before it,

    p(x_t | x_1..x_{t-1}) ~= p(x_t | h),   h = x_{t-n+1}..x_{t-1}  (the context),

with probabilities read off counts ``c(h x)`` in the training text. Two smoothings:

* ``"add_k"``: ``p(x | h) = (c(h x) + k) / (c(h) + k V)``. ``k = 0`` is the maximum
  likelihood estimate ``c(h x) / c(h)``; it gives probability 0, and an infinite
  loss, to every n-gram absent from the training text.
* ``"kneser_ney"`` (default): interpolated Kneser-Ney (Chen & Goodman, 1999).
  Subtract a discount ``D`` from every count and give the freed mass to the
  (n-1)-gram model, recursively down to the uniform distribution:

      p_m(x | h) = [max(c_m(h x) - D_m, 0) + D_m T_m(h) p_{m-1}(x | h')] / C_m(h),

  where ``h'`` drops the oldest character of ``h``, ``C_m(h) = sum_x c_m(h x)``,
  ``T_m(h)`` is the number of distinct ``x`` seen after ``h``, and ``p_0 = 1 / V``.
  The top order counts occurrences; lower orders count *continuation* counts, the
  number of distinct characters seen before the m-gram, because they only matter
  when the longer context was rare. ``D_m = n_1 / (n_1 + 2 n_2)``, from the numbers
  of m-grams seen once and twice (0.5 if none is seen once; at most 0.95). An
  unseen context (``C_m(h) = 0``) falls back to ``p_{m-1}``.

**Start of a text.** The first ``n - 1`` characters have shorter histories; the
model predicts character ``t < n - 1`` with its order ``t + 1`` distribution (the
``t`` characters available), so that :meth:`NGramModel.log_prob` is the
log-probability of the *whole* text and every character is scored.

Counting is vectorised: an m-gram is the integer ``sum_j x_j V^(m-1-j)`` (oldest
character most significant) and ``np.unique`` counts them all at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

SMOOTHINGS = ("kneser_ney", "add_k")


class NGramModel:
    """An order-``n`` character model: ``NGramModel(3, V).fit(ids)``, then ``cross_entropy``."""

    def __init__(
        self, n: int, vocab_size: int, *, smoothing: str = "kneser_ney", k: float = 0.1
    ) -> None:
        self.n = _check_int(n, "n", 1)  # order: the context is the n - 1 previous characters
        self.vocab_size = _check_int(vocab_size, "vocab_size", 1)  # V, size of the alphabet
        if self.vocab_size**self.n >= 2**62:
            raise ValueError(f"V^n = {vocab_size}^{n} overflows the int64 n-gram codes.")
        if smoothing not in SMOOTHINGS:
            raise ValueError(f"smoothing must be one of {SMOOTHINGS}, got {smoothing!r}.")
        if not np.isfinite(k) or k < 0:
            raise ValueError(f"k must be a non-negative number (add-k smoothing), got {k!r}.")
        self.smoothing = smoothing  # "kneser_ney" or "add_k"
        self.k = float(k)  # pseudo-count of add-k smoothing
        self._tables: list[_Counts] = []  # index m - 1 holds the m-gram counts

    def __repr__(self) -> str:
        smooth = f"'add_k', k={self.k:g}" if self.smoothing == "add_k" else "'kneser_ney'"
        fitted = "fitted" if self._tables else "not fitted"
        return f"NGramModel(n={self.n}, vocab_size={self.vocab_size}, smoothing={smooth}, {fitted})"

    def fit(self, ids: object) -> NGramModel:
        """Count every m-gram of ``ids`` for m = 1..n. Returns the model itself."""
        x = _check_ids(ids, self.vocab_size, "ids")
        if len(x) < self.n:
            raise ValueError(f"Need at least n = {self.n} characters to fit, got {len(x)}.")
        V = self.vocab_size
        grams = [_gram_codes(x, m, V) for m in range(1, self.n + 1)]  # codes of all m-grams
        self._tables = []
        for m in range(1, self.n + 1):
            codes, counts = np.unique(grams[m - 1], return_counts=True)
            if self.smoothing == "kneser_ney" and m < self.n:
                # continuation count: distinct characters seen before the m-gram
                longer = np.unique(grams[m])  # distinct (m+1)-grams
                codes, counts = np.unique(longer % V**m, return_counts=True)
            self._tables.append(_Counts.build(codes, counts, V))
        return self

    def prob(self, context: object = ()) -> np.ndarray:
        """``p(. | context)``, shape (V,), from the last ``n - 1`` ids of ``context``."""
        h = _check_ids(context, self.vocab_size, "context")
        h = h[max(0, len(h) - (self.n - 1)) :]  # the last n - 1 ids, or all if fewer
        V = self.vocab_size
        window = np.concatenate([np.repeat(h[None, :], V, axis=0), np.arange(V)[:, None]], 1)
        return self._probs(window, len(h) + 1)

    def log_prob(self, ids: object) -> float:
        """``log p(ids)`` in nats: the sum of ``log p(x_t | history)`` over every character."""
        with np.errstate(divide="ignore"):  # an impossible character: log 0 = -inf, on purpose
            return float(np.log(self.token_probs(ids)).sum())

    def cross_entropy(self, ids: object) -> float:
        """Mean ``-log p(x_t | history)``, nats per character, on (held-out) ``ids``."""
        x = _check_ids(ids, self.vocab_size, "ids")
        if len(x) == 0:
            raise ValueError("cross_entropy needs at least one character.")
        return -self.log_prob(x) / len(x)

    def token_probs(self, ids: object) -> np.ndarray:
        """``p(x_t | history)`` for every position t of ``ids``, shape (T,)."""
        self._check_fitted()
        x = _check_ids(ids, self.vocab_size, "ids")
        T, p = len(x), np.empty(len(x))
        for t in range(min(self.n - 1, T)):  # the start: shorter histories
            p[t] = self._probs(x[None, : t + 1], t + 1)[0]
        if T >= self.n:
            windows = np.lib.stride_tricks.sliding_window_view(x, self.n)  # (T-n+1, n)
            p[self.n - 1 :] = self._probs(windows, self.n)
        return p

    def _probs(self, windows: np.ndarray, order: int) -> np.ndarray:
        """``p(w[-1] | w[:-1])`` for each row w of ``windows`` (R, order), model order ``order``."""
        self._check_fitted()
        V = self.vocab_size
        R = len(windows)
        if self.smoothing == "add_k":
            table = self._tables[order - 1]
            c_hx, c_h, _ = table.lookup(_row_codes(windows, V), V)
            with np.errstate(invalid="ignore", divide="ignore"):
                p = (c_hx + self.k) / (c_h + self.k * V)
            return np.where(c_h + self.k > 0, p, 1.0 / V)  # unseen context, k = 0: uniform
        p = np.full(R, 1.0 / V)  # p_0, the uniform distribution
        for m in range(1, order + 1):  # p_1, p_2, ..., p_order, each from the one below
            table = self._tables[m - 1]
            c_hx, c_h, types = table.lookup(_row_codes(windows[:, order - m :], V), V)
            D = table.discount
            with np.errstate(invalid="ignore", divide="ignore"):
                pm = (np.maximum(c_hx - D, 0.0) + D * types * p) / c_h
            p = np.where(c_h > 0, pm, p)  # unseen context: keep the lower order
        return p

    def _check_fitted(self) -> None:
        if not self._tables:
            raise RuntimeError("This NGramModel is not fitted yet: call model.fit(train_ids).")


@dataclass(frozen=True)
class _Counts:
    """The m-gram counts of one order, sorted by code, with per-context totals."""

    codes: np.ndarray  # (G,) sorted codes of the m-grams that were seen
    counts: np.ndarray  # (G,) their counts c_m(h x)
    ctx_codes: np.ndarray  # (H,) sorted codes of the contexts h (code // V)
    ctx_totals: np.ndarray  # (H,) C_m(h) = sum_x c_m(h x)
    ctx_types: np.ndarray  # (H,) T_m(h) = number of x with c_m(h x) > 0
    discount: float  # D_m = n1 / (n1 + 2 n2)

    @classmethod
    def build(cls, codes: np.ndarray, counts: np.ndarray, V: int) -> _Counts:
        ctx, inverse, types = np.unique(codes // V, return_inverse=True, return_counts=True)
        totals = np.bincount(inverse, weights=counts, minlength=len(ctx))
        n1, n2 = np.sum(counts == 1), np.sum(counts == 2)
        D = n1 / (n1 + 2 * n2) if n1 > 0 else 0.5  # no singletons (e.g. periodic text): 0.5
        D = min(D, 0.95)  # D = 1 would leave nothing for the m-grams seen once
        return cls(codes, counts.astype(np.float64), ctx, totals, types.astype(np.float64), D)

    def lookup(self, codes: np.ndarray, V: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``c(h x)``, ``C(h)`` and ``T(h)`` for an array of m-gram codes (0 when unseen)."""
        (c_hx,) = _find(self.codes, codes, self.counts)
        C_h, T_h = _find(self.ctx_codes, codes // V, self.ctx_totals, self.ctx_types)
        return c_hx, C_h, T_h


def _find(keys: np.ndarray, query: np.ndarray, *values: np.ndarray) -> list[np.ndarray]:
    """``v[keys == q]`` for each q of ``query`` and each v of ``values``; 0 where q is absent."""
    i = np.minimum(np.searchsorted(keys, query), len(keys) - 1)  # keys sorted, never empty
    found = keys[i] == query
    return [np.where(found, v[i], 0.0) for v in values]


def _row_codes(windows: np.ndarray, V: int) -> np.ndarray:
    """Integer code of each row: ``sum_j w_j V^(m-1-j)``, oldest character most significant."""
    code = np.zeros(len(windows), dtype=np.int64)
    for j in range(windows.shape[1]):
        code = code * V + windows[:, j]
    return code


def _gram_codes(x: np.ndarray, m: int, V: int) -> np.ndarray:
    """Codes of all ``len(x) - m + 1`` m-grams of ``x``."""
    return _row_codes(np.lib.stride_tricks.sliding_window_view(x, m), V)


@dataclass(frozen=True)
class NGramSweep:
    """Train and validation loss of n-gram models of several orders."""

    orders: tuple[int, ...]  # the orders n that were fitted
    train_loss: np.ndarray  # (len(orders),) nats/char on the training text (in-sample)
    val_loss: np.ndarray  # (len(orders),) nats/char on the validation text
    best_order: int  # the order with the lowest validation loss
    best_model: NGramModel  # that model, fitted on the training text

    def __repr__(self) -> str:
        rows = ", ".join(f"{n}: {v:.3f}" for n, v in zip(self.orders, self.val_loss, strict=True))
        return f"NGramSweep(val_loss={{{rows}}}, best_order={self.best_order})"


def best_ngram(
    train_ids: object,
    val_ids: object,
    orders: Iterable[int] = range(1, 7),
    *,
    vocab_size: int | None = None,
    smoothing: str = "kneser_ney",
    k: float = 0.1,
) -> NGramSweep:
    """Fit one model per order on ``train_ids``; pick the order with the lowest validation loss.

    ``vocab_size`` defaults to ``max id + 1`` over both texts; pass ``len(vocab)`` instead
    when the texts may not use every character.
    """
    orders = tuple(_check_int(n, "order", 1) for n in orders)
    if not orders:
        raise ValueError("orders is empty: pass e.g. orders=range(1, 7).")
    train = _check_ids(train_ids, None, "train_ids")
    val = _check_ids(val_ids, None, "val_ids")
    V = vocab_size if vocab_size is not None else int(max(train.max(), val.max())) + 1
    models = [NGramModel(n, V, smoothing=smoothing, k=k).fit(train) for n in orders]
    train_loss = np.array([m.cross_entropy(train) for m in models])
    val_loss = np.array([m.cross_entropy(val) for m in models])
    best = int(np.argmin(val_loss))
    return NGramSweep(orders, train_loss, val_loss, orders[best], models[best])


def _check_int(n: object, name: str, minimum: int) -> int:
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(n).__name__} {n!r}.")
    if n < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {n}.")
    return int(n)


def _check_ids(ids: object, vocab_size: int | None, name: str) -> np.ndarray:
    """A 1-D int64 array of ids in [0, vocab_size)."""
    if isinstance(ids, str):
        raise TypeError(f"{name} must be integer ids, not a str: encode it, vocab.encode(text).")
    x = np.asarray(ids)
    if x.size == 0:
        return np.zeros(0, dtype=np.int64)
    if x.ndim != 1 or not np.issubdtype(x.dtype, np.integer):
        raise ValueError(
            f"{name} must be a 1-D array of integer character ids, got shape {x.shape} "
            f"and dtype {x.dtype}."
        )
    top = vocab_size if vocab_size is not None else np.iinfo(np.int64).max
    if x.min() < 0 or x.max() >= top:
        raise ValueError(
            f"{name} must lie in [0, {top}) (the vocabulary size); found values from "
            f"{x.min()} to {x.max()}."
        )
    return x.astype(np.int64)
