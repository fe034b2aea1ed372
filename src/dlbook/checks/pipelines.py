"""Checks for the exercises of chapter 4 (real training pipelines with the high-level APIs).

Each check compares a learner's function with dlbook's own and names the classic
mistakes::

    from dlbook.checks.pipelines import check_macro_f1
    check_macro_f1(macro_f1)   # PASS ✅ macro_f1: correct on 4 test cases.

References: :func:`dlbook.text.tfidf` with :func:`dlbook.text.idf`,
:func:`dlbook.metrics.macro_f1`, :func:`dlbook.pipelines.early_stopping_epochs`,
:func:`dlbook.pipelines.torch_backend.validate` and the state-dict round trip of
:mod:`dlbook.pipelines.torch_backend`.

The two PyTorch exercises cannot be judged by their return value alone: a
validation loop that forgets ``model.eval()`` or ``torch.no_grad()``, or that
updates the weights, may still return a plausible number. Their checks therefore
run the learner's function under a *probe* that records what happened while it
ran (was the model in training mode during its forward pass? was autograd on? did
a weight change? did a backward pass fill the gradients?) and compare that record,
a small vector, with the reference's. PyTorch is imported only when one of these checks runs.

Shape legend: N = documents or examples, V = vocabulary size, K = classes.
"""

from __future__ import annotations

import contextlib
import functools
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np

from dlbook import metrics, pipelines, text
from dlbook.checks._core import Case, CheckResult, FunctionCheck, describe_type
from dlbook.checks._kinds import slip_mistakes, stressed

# ---------------------------------------------------------------------------
# 1. tfidf_weights(counts (N, V)) -> (N, V)
# ---------------------------------------------------------------------------


def _tfidf_reference(counts):
    """dlbook's TF-IDF: smooth idf ln((1 + N) / (1 + df)) + 1, rows of unit L2 norm."""
    return text.tfidf(counts, text.idf(counts))


def _tfidf(counts, *, idf="smooth", df="docs", norm="l2", n="docs", eps=0.0):
    """TF-IDF written out, with switches for the classic slips (defaults: right)."""
    c = np.asarray(counts, dtype=float)
    N = c.shape[1 if n == "words" else 0]
    d = (c > 0).sum(axis=0) if df == "docs" else c.sum(axis=0)  # (V,)
    with np.errstate(all="ignore"):
        ratio = N / d if idf == "raw" else (1 + N) / (1 + d)
        w = (np.log10 if idf == "log10" else np.log)(ratio) + (0 if idf == "no_one" else 1)
        x = c * w  # (N, V)
        if norm == "none":
            return x
        if norm == "l1":
            n = np.abs(x).sum(axis=1, keepdims=True)
        else:
            n = np.sqrt((x * x).sum(axis=0 if norm == "columns" else 1, keepdims=True))
        return np.divide(x, n + eps, out=np.zeros_like(x), where=n + eps > 0)


def _poisson_counts(rng: np.random.Generator, N: int, V: int, scale: float = 1.0) -> np.ndarray:
    c = rng.poisson(rng.uniform(0.2, 2.5, size=V), size=(N, V)) * scale  # (N, V)
    c[:, 0] = np.maximum(c[:, 0], 1)  # a word in every document: its idf is exactly 1
    return c.astype(float)


def _tfidf_cases(rng: np.random.Generator) -> list[Case]:
    big = _poisson_counts(rng, 6, 9, scale=1e6)
    big[2] = 0.0  # an empty document
    cases = [
        Case((_poisson_counts(rng, 5, 7),), label="5 documents, 7 words"),
        Case((_poisson_counts(rng, 12, 4),), label="12 documents, 4 words"),
        Case((_poisson_counts(rng, 3, 11),), label="3 documents, 11 words"),
        Case((big,), label="huge counts (about 1e6) and an empty document (a zero row)"),
    ]
    return stressed(cases, 3)


_TFIDF_HINT = (
    "df = (counts > 0).sum(axis=0); idf = np.log((1 + N) / (1 + df)) + 1; "
    "x = counts * idf; then divide each row by its L2 norm, leaving zero rows at zero."
)

# x / (norm + eps) with a visible eps (an eps up to about 1e-7 passes: float32 precision)
_TFIDF_EPS = (
    "you added an epsilon to the norm, x / (norm + eps): it avoids 0/0 but shifts every "
    "value; divide only where the norm is positive, np.divide(x, norm, "
    "out=np.zeros_like(x), where=norm > 0), so zero rows stay zero and the others are exact."
)

# (switch of _tfidf, its value) -> what the learner did
_TFIDF_SLIPS = {
    ("idf", "raw"): "you used the unsmoothed idf ln(N / df) + 1: scikit-learn's default adds one "
    "to both, ln((1 + N) / (1 + df)) + 1, as if one extra document held every word.",
    ("idf", "no_one"): "you forgot the + 1 after the logarithm: a word that occurs in every "
    "document then gets weight 0 and vanishes from the features.",
    ("idf", "log10"): "you used log base 10: the idf uses the natural logarithm, np.log.",
    ("df", "occurrences"): "your document frequency counts occurrences (counts.sum(axis=0)); df "
    "counts the documents that contain the word at least once, (counts > 0).sum(axis=0).",
    ("norm", "none"): "your rows are not normalised: divide each document's vector by its L2 "
    "norm, so that long and short documents become comparable.",
    ("norm", "l1"): "you divided by the L1 norm (the sum); TF-IDF rows get unit L2 norm, "
    "sqrt of the sum of squares.",
    ("norm", "columns"): "you normalised the columns (axis 0); each row, one document, gets "
    "unit norm (axis=1, keepdims=True).",
    ("n", "words"): "you took N from the wrong axis (counts.shape[1], the number of words): N "
    "is the number of documents, counts.shape[0].",
    **{("eps", eps): _TFIDF_EPS for eps in (1e-6, 1e-5, 1e-4, 1e-3, 1e-2)},
}


TFIDF_WEIGHTS = FunctionCheck(
    name="tfidf_weights",
    reference=_tfidf_reference,
    make_cases=_tfidf_cases,
    task="Return counts * idf with idf = ln((1 + N) / (1 + df)) + 1, rows scaled to unit norm.",
    nan_hint="An empty document has norm 0 and 0/0 is NaN: leave a zero row at zero.",
    mistakes=slip_mistakes(_tfidf, _TFIDF_SLIPS, _TFIDF_HINT),
    rtol=1e-7,
    atol=1e-12,
)


check_tfidf_weights = TFIDF_WEIGHTS.checker(
    "Check ``fn(counts (N, V)) -> (N, V)``: scikit-learn's default TF-IDF weights."
)

# ---------------------------------------------------------------------------
# 2. macro_f1(y_true, y_pred, n_classes) -> float
# ---------------------------------------------------------------------------


_macro_f1_reference = metrics.macro_f1  # the mean F1 over all classes, 0/0 read as 0


def _macro_f1(y_true, y_pred, n_classes, *, slip="macro"):
    """Averaged F1 written out, with switches for the classic slips (default: right)."""
    K = n_classes
    tp = np.array([np.sum((y_true == k) & (y_pred == k)) for k in range(K)], dtype=float)
    pred = np.array([np.sum(y_pred == k) for k in range(K)], dtype=float)
    true = np.array([np.sum(y_true == k) for k in range(K)], dtype=float)
    with np.errstate(all="ignore"):
        P, R = tp / pred, tp / true
        F = 2 * P * R / (P + R)
    F0, P0, R0 = np.nan_to_num(F), np.nan_to_num(P), np.nan_to_num(R)
    return {
        "macro": lambda: F0.mean(),
        "micro": lambda: np.mean(y_true == y_pred),
        "of_means": lambda: 2 * P0.mean() * R0.mean() / (P0.mean() + R0.mean()),
        "weighted": lambda: np.sum(F0 * true) / true.sum(),
        "nanmean": lambda: np.nanmean(F),
        "recall": lambda: R0.mean(),
        "present": lambda: F0[(true + pred) > 0].mean(),
        "in_true": lambda: F0[true > 0].mean(),
        "last_class": lambda: F0[:-1].mean(),
    }[slip]()


def _imbalanced(rng: np.random.Generator, n: int, probs: list[float], acc: float, never: int):
    """Labels drawn with ``probs``; predictions right with probability ``acc``, never ``never``."""
    K = len(probs)
    t = rng.choice(K, size=n, p=probs)
    p = np.where(rng.random(n) < acc, t, rng.integers(0, K, size=n))
    p = np.where(p == never, (never + 1) % K, p)  # class `never` is never predicted
    return t, p, K


def _f1_cases(rng: np.random.Generator) -> list[Case]:
    a = _imbalanced(rng, 60, [0.5, 0.3, 0.15, 0.05], 0.7, never=3)
    b = _imbalanced(rng, 200, [0.1] * 10, 0.5, never=7)
    c = _imbalanced(rng, 40, [0.25] * 4 + [0.0], 0.6, never=-1)
    d = _imbalanced(rng, 100_000, [0.97, 0.02, 0.01, 0.0], 0.9, never=3)
    e = _imbalanced(rng, 30, [0.3, 0.3, 0.2, 0.2, 0.0, 0.0], 0.7, never=4)
    return [
        Case(a, label="60 examples, 4 imbalanced classes, class 3 never predicted"),
        Case(b, label="200 examples, 10 classes, class 7 never predicted"),
        Case(c, label="40 examples, 5 classes, class 4 predicted but never true"),
        Case(d, label="100,000 examples, 97 % of them class 0, class 3 absent", stress=True),
        Case(e, label="30 examples, 6 classes: class 4 absent, class 5 never true"),
    ]


_F1_HINT = (
    "For each class k: tp = sum((y_true == k) & (y_pred == k)); precision = tp / (predicted "
    "as k), recall = tp / (truly k), 0 when the denominator is 0; F1_k = 2 P R / (P + R) "
    "(0 when P + R = 0); return the plain mean over all n_classes."
)


_ONLY_PRESENT = (
    "you averaged over the classes that occur in the labels (np.unique, or scikit-learn's "
    "f1_score without labels=): average over all n_classes classes; a class that is never "
    "true has F1 0 (0/0 read as 0), and it still counts."
)


MACRO_F1 = FunctionCheck(
    name="macro_f1",
    reference=_macro_f1_reference,
    make_cases=_f1_cases,
    task="Return the mean over the n_classes classes of each class's F1.",
    nan_hint="A class that is never predicted has precision 0/0: count it as 0, not NaN.",
    mistakes=slip_mistakes(
        _macro_f1,
        hint=_F1_HINT,
        explanations=dict(
            micro="you computed micro F1, which for single-label data equals the accuracy: "
            "macro F1 computes F1 per class first and then averages, so rare classes count.",
            of_means="you took the F1 of the mean precision and the mean recall: average the "
            "per-class F1 scores instead (the two differ).",
            weighted="you weighted each class's F1 by its number of examples (scikit-learn's "
            "average='weighted'): macro F1 gives every class the same weight.",
            nanmean="you skipped the classes whose F1 is 0/0 (np.nanmean): a class that is never "
            "predicted has F1 = 0 and must pull the average down.",
            recall="you returned the mean recall (balanced accuracy), not the mean F1.",
            present=_ONLY_PRESENT,
            in_true=_ONLY_PRESENT,
            last_class="you left out the last class: range(n_classes - 1) stops one class short; "
            "loop over range(n_classes).",
        ),
    ),
    rtol=1e-6,  # a metric computed in float32 (torch, torchmetrics) is right
    atol=1e-12,
)


check_macro_f1 = MACRO_F1.checker(
    "Check ``fn(y_true (N,), y_pred (N,), n_classes) -> float``: macro-averaged F1."
)

# ---------------------------------------------------------------------------
# 3. early_stopping(val_losses, patience, min_delta) -> (best_epoch, stop_epoch)
# ---------------------------------------------------------------------------


# dlbook's rule: improve = below best - min_delta; stop after ``patience`` bad epochs
_stopping_reference = pipelines.early_stopping_epochs


def _stopping(val_losses, patience, min_delta=0.0, *, slip=""):
    """The rule written out, with switches for the classic slips (no slip: right)."""
    best, best_epoch, bad, prev, epoch = np.inf, -1, 0, np.inf, -1
    for epoch, loss in enumerate(val_losses):
        delta = 0.0 if slip == "no_delta" else min_delta
        ref = prev if slip == "previous" else best
        if loss < ref - delta or (slip == "ties" and loss == ref - delta):
            best, best_epoch = loss, epoch
            bad = bad if slip == "no_reset" else 0
        else:
            bad += 1
        prev = loss
        if bad >= patience + (slip == "late"):
            break
    if slip == "argmin":  # the lowest loss trained, improvement or not
        best_epoch = int(np.argmin(val_losses[: epoch + 1]))
    if slip == "argmin_all":  # the lowest loss of the list, even after the stop
        best_epoch = int(np.argmin(val_losses))
    return (epoch if slip == "last" else best_epoch), epoch


def _stop_cases(rng: np.random.Generator) -> list[Case]:
    return [
        Case(
            ([5.0, 4.0, 3.0, 3.2, 2.9, 3.3, 3.1, 3.4, 3.0, 3.5, 2.0], 3, 0.0),
            label="a noisy plateau after epoch 2, patience 3",
        ),
        Case(
            ([2.0, 1.5, 1.49, 1.6, 1.48, 1.47, 1.7, 1.8, 1.46, 1.9, 1.95], 3, 0.05),
            label="small gains under min_delta = 0.05, patience 3",
        ),
        Case(
            ([9.0, 7.0, 8.0, 7.5, 6.0, 6.5, 6.2, 6.4, 6.3, 6.6, 6.7, 1.0], 4, 0.0),
            label="ups and downs, patience 4",
        ),
        Case(
            ([1e8 + d for d in (9.0, 3.0, 2.0, 2.5, 1.9, 2.4, 2.6, 2.2, 2.3, 1.0)], 3, 0.5),
            label="losses near 1e8 that differ by less than 10, min_delta = 0.5",
            stress=True,
        ),
        Case(
            ([4.0, 3.0, 3.0, 3.5, 2.5, 2.5, 2.5], 3, 0.0),
            label="losses that tie with the best, and the rule never fires",
        ),
        Case(
            ([2.0, 1.5, 2.0, 1.6, 1.5, 1.7, 1.0], 3, 0.5),
            label="the first epoch is the best; 1.5 ties with best - min_delta",
        ),
        Case(
            ([3.0, 2.0, 1.7, 2.5, 1.55, 1.6, 1.58, 1.62, 1.0], 3, 0.4),
            label="a gain of less than min_delta, then a true improvement, patience 3",
        ),
    ]


_STOP_HINT = (
    "Keep best (start at inf), best_epoch and a counter: if loss < best - min_delta, "
    "set best, best_epoch and reset the counter to 0; else add 1, and stop (break) "
    "as soon as the counter reaches patience. Return (best_epoch, the epoch you stopped at)."
)


EARLY_STOPPING = FunctionCheck(
    name="early_stopping",
    reference=_stopping_reference,
    make_cases=_stop_cases,
    output_names=("best_epoch", "stop_epoch"),
    task="Return (best_epoch, stop_epoch), both counted from 0.",
    mistakes=slip_mistakes(
        _stopping,
        hint=_STOP_HINT,
        outputs=2,
        explanations=dict(
            last="you returned the last epoch as the best: the weights to keep are those of the "
            "epoch with the lowest validation loss, not the last ones trained.",
            previous="you compared each loss with the previous epoch's instead of the best so far: "
            "a small rebound then counts as progress, and training runs on at a worse loss.",
            no_delta="you ignored min_delta: an improvement must beat the best loss by more than "
            "min_delta to reset the patience counter.",
            late="you stopped one epoch late: training stops when the counter *reaches* "
            "patience (>=), not when it exceeds it.",
            no_reset="your counter never resets: after an improvement the count of epochs without "
            "improvement starts again at 0.",
            ties="you counted a loss equal to best - min_delta as an improvement (<=): an epoch "
            "improves only when its loss is strictly below best - min_delta (<).",
            argmin="your best_epoch is the epoch of the lowest loss (argmin), improvement or not: "
            "a loss that beats the best by less than min_delta is no improvement, so best and "
            "best_epoch stay where they were.",
            argmin_all="your best_epoch is the argmin of all the losses, also of the epochs after "
            "training stopped: those were never trained. Keep best_epoch as you go, and move it "
            "only on an improvement.",
        ),
    ),
    rtol=0.0,
    atol=0.0,
)


check_early_stopping = EARLY_STOPPING.checker(
    "Check ``fn(val_losses, patience, min_delta) -> (best_epoch, stop_epoch)``."
)

# ---------------------------------------------------------------------------
# Probes for the PyTorch exercises
# ---------------------------------------------------------------------------


def _as_number(value: Any) -> Any:
    """A Python float from a float, a NumPy scalar or a 0-d tensor; anything else unchanged."""
    if hasattr(value, "detach") and getattr(value, "ndim", None) == 0:
        return float(value.detach())
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "fiu":
        return float(value)
    if isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool):
        return float(value)
    return value


def _not_returned(name: str, value: Any, wanted: str, advice: str) -> TypeError:
    """The error a probe raises when the learner's function returned the wrong kind of thing."""
    if value is None:
        advice = "did you forget the `return` statement?"
    what = value if isinstance(value, str) else describe_type(value)
    return TypeError(f"{name} returned {what}, not {wanted}: {advice}")


def _probe_validation(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn(model, loader, loss_fn)`` -> [loss, trained mode?, autograd on?, weights changed?,
    gradients written?]; a TypeError when fn returns no number.

    When the weights changed the loss entry and the mode are 0: the loss then depends
    on the learning rate of the learner's accidental update, and the flags say enough."""

    @functools.wraps(_validation_reference)
    def probed(model, loader, loss_fn):
        import torch

        training: list[bool] = []  # a layer in training mode, at each forward pass
        grad: list[bool] = []  # torch.is_grad_enabled() at each forward pass

        def hook(module: Any, args: Any) -> None:
            # a function, not a method: copy.deepcopy(model) keeps it, so a learner's
            # copy of the model is watched too (and the lists are never deep-copied)
            training.append(any(m.training for m in module.modules() if not [*m.children()]))
            grad.append(torch.is_grad_enabled())

        handle = model.register_forward_pre_hook(hook)
        before = {n: p.detach().clone() for n, p in model.named_parameters()}
        grads_before = [p.grad is None for p in model.parameters()]
        try:
            value = _as_number(fn(model, loader, loss_fn))
        finally:
            handle.remove()
        if not isinstance(value, float):
            raise _not_returned(
                "validation_loss", value, "one number", "return the mean loss as a Python float"
            )
        changed = any(not torch.equal(before[n], p) for n, p in model.named_parameters())
        # did a backward pass fill the .grad of a parameter that had none?
        pairs = zip(grads_before, model.parameters(), strict=True)
        wrote_grads = any(none and p.grad is not None for none, p in pairs)
        # (running statistics that moved follow from the training mode, also on a copy)
        flags = [any(training), any(grad), changed, wrote_grads]
        if changed:  # a loop that trains reports no meaningful loss, in either mode
            value, flags[0] = 0.0, False
        return np.array([value, *map(float, flags)])

    return probed


# ---------------------------------------------------------------------------
# 4. validation_loss(model, loader, loss_fn) -> float
# ---------------------------------------------------------------------------


def _validation_reference(model, loader, loss_fn):
    """dlbook's validation pass: eval mode, no_grad, the mean weighted by batch size."""
    from dlbook.pipelines import torch_backend

    return torch_backend.validate(model, loader, loss_fn)


def _validation(model, loader, loss_fn, *, slip=""):
    """The validation loop written out, with switches for the classic slips (none: right)."""
    import torch

    if slip not in ("no_eval", "both"):
        model.eval()
    with_grad = slip in ("no_grad", "update", "backward", "both")
    guard = contextlib.nullcontext() if with_grad else torch.no_grad()
    losses, sizes = [], []
    with guard:
        for xb, yb in loader:
            loss = loss_fn(model(xb), yb)
            if slip == "backward":
                loss.backward()
            if slip == "update":  # a training step pasted into the validation loop
                model.zero_grad()
                loss.backward()
                with torch.no_grad():
                    for p in model.parameters():
                        p -= 0.1 * p.grad
            losses.append(loss.item())
            sizes.append(len(xb))
    if slip == "mean_of_means":
        return float(np.mean(losses))
    if slip in ("first", "last"):
        return losses[0 if slip == "first" else -1]
    if slip == "full_batches":  # loss * loader.batch_size: as if every batch were full
        return float(np.sum(losses) * sizes[0] / np.sum(sizes))
    return float(np.dot(losses, sizes) / np.sum(sizes))


class _Model:
    """Builds the small batch-norm regressor of the test cases; shown as a short description."""

    def __init__(self, d_in: int, seed: int, train_steps: int = 3, offset: float = 1.0) -> None:
        self.d_in, self.seed, self.train_steps = d_in, seed, train_steps
        self.offset = offset  # the mean of the inputs that move the running statistics

    def __call__(self) -> Any:
        import torch

        torch_gen = torch.Generator().manual_seed(self.seed)
        with torch.random.fork_rng(devices=[]):  # nn.Linear's own init draws globally
            model = _net_class()(
                torch.nn.Linear(self.d_in, 16),
                torch.nn.BatchNorm1d(16),
                torch.nn.ReLU(),
                torch.nn.Linear(16, 1),
            )
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(torch.randn(p.shape, generator=torch_gen) * 0.5)
            model.train()
            for _ in range(self.train_steps):  # move the running statistics off 0 and 1
                model(torch.randn(32, self.d_in, generator=torch_gen) * 2 + self.offset)
        return model  # in training mode, as after a training epoch (and as nn.Module starts)

    def __repr__(self) -> str:
        return f"make_model (Linear({self.d_in}, 16), BatchNorm1d, ReLU, Linear(16, 1))"


@functools.cache
def _net_class() -> type:
    """``nn.Sequential`` with a one-line repr (built on first use: torch loads lazily)."""
    import torch

    class Net(torch.nn.Sequential):
        def __repr__(self) -> str:
            return "model (Linear, BatchNorm1d, ReLU, Linear)"

    return Net


class _Loader(list):
    """A list of (x, y) batches, shown as a short description.

    Like a ``DataLoader`` it has ``dataset`` (all the examples) and ``batch_size``."""

    @property
    def dataset(self) -> Any:
        import torch

        xs, ys = zip(*self, strict=True)
        return torch.utils.data.TensorDataset(torch.cat(xs), torch.cat(ys))

    @property
    def batch_size(self) -> int:
        return len(self[0][0])

    def __repr__(self) -> str:
        sizes = ", ".join(str(len(xb)) for xb, _ in self)
        return f"loader of {len(self)} batches (sizes {sizes})"


def _loader(d_in: int, sizes: list[int], seed: int, offset: float = 0.0) -> _Loader:
    import torch

    gen = torch.Generator().manual_seed(seed)
    out = _Loader()
    for n in sizes:
        x = torch.randn(n, d_in, generator=gen) + offset
        out.append((x, x[:, :1] ** 2 + 0.1 * torch.randn(n, 1, generator=gen)))
    return out


class _MSE:
    """``torch.nn.MSELoss()``, shown by name."""

    def __call__(self, pred: Any, target: Any) -> Any:
        import torch

        return torch.nn.functional.mse_loss(pred, target)

    def __repr__(self) -> str:
        return "loss_fn = nn.MSELoss()"


def _validation_cases(rng: np.random.Generator) -> list[Case]:
    return [
        Case(
            (_Model(3, 0)(), _loader(3, [32, 32, 7], 1), _MSE()),
            label="3 batches, the last of 7 examples",
        ),
        Case(
            (_Model(5, 1)(), _loader(5, [16, 16, 16, 3], 2), _MSE()),
            label="4 batches, the last of 3 examples",
        ),
        Case(
            (_Model(4, 2)(), _loader(4, [50, 9], 3, offset=100.0), _MSE()),
            label="inputs around 100 (batch norm's statistics matter), batches 50 and 9",
            stress=True,
        ),
    ]


_VAL_HINT = (
    "model.eval(); then, inside `with torch.no_grad():`, add loss.item() * len(xb) over "
    "the batches and divide by the number of examples. No backward, no optimizer step."
)


VALIDATION_LOSS = FunctionCheck(
    name="validation_loss",
    reference=_probe_validation(_validation_reference),
    make_cases=_validation_cases,
    task="Return the mean validation loss, in eval mode, under torch.no_grad().",
    error_hint="The check passes a model, a list of (xb, yb) batches (with .dataset and "
    ".batch_size, like a DataLoader) and nn.MSELoss(); return one Python float.",
    mistakes=slip_mistakes(
        _validation,
        hint=_VAL_HINT,
        wrap=_probe_validation,
        explanations=dict(
            no_eval="you forgot model.eval(): in training mode batch norm normalises with the "
            "statistics of each validation batch and overwrites its running statistics "
            "(dropout would also drop units), so the loss is not the model's.",
            both="you forgot both model.eval() and torch.no_grad(): in training mode batch "
            "norm normalises with each batch's statistics and overwrites its running statistics "
            "(dropout drops units), and autograd records a graph for every batch.",
            no_grad="you forgot torch.no_grad(): the loss is right, but autograd recorded a graph "
            "for every batch, which costs memory and time for nothing.",
            update="your validation loop changes the weights (backward and a step): validation "
            "must only measure; training on validation data leaks it into the model.",
            mean_of_means="you averaged the batch means: the short last batch then weighs as much "
            "as a full one. Weight each batch's loss by its size.",
            last="you returned the loss of the last batch only: accumulate over all batches.",
            first="you returned the loss of the first batch only (a `return` inside the loop?): "
            "accumulate over all batches, and return after the loop.",
            full_batches="you weighted every batch by the full batch size (loader.batch_size): "
            "the last batch is shorter, so weight each batch's loss by len(xb).",
            backward="you called loss.backward() in the validation loop: no weight changed, but "
            "every weight's .grad now holds gradients of the validation loss, which the next "
            "optimizer step would apply.",
        ),
    ),
    rtol=1e-5,
    atol=1e-7,
)


def check_validation_loss(fn: Callable[..., Any], *, time_budget: float = 30.0) -> CheckResult:
    """Check ``fn(model, loader, loss_fn) -> float``: a PyTorch validation pass."""
    probed = _probe_validation(fn) if callable(fn) else fn
    return VALIDATION_LOSS.run(probed, time_budget=time_budget)


# ---------------------------------------------------------------------------
# 5. reload(model, make_model, path) -> a new model with model's weights
# ---------------------------------------------------------------------------


def _reload_reference(model, make_model, path):
    """Save the state dict, build a fresh model, load it (weights_only=True), eval mode."""
    from dlbook.pipelines import torch_backend

    torch_backend.save_weights(model, path)
    return torch_backend.load_weights(make_model(), path)


def _reload(model, make_model, path, *, slip=""):
    """The round trip written out, with switches for the classic slips (none: right)."""
    import torch

    state = dict(model.named_parameters()) if slip == "params_only" else model.state_dict()
    torch.save(state, path)
    if slip == "same_object":
        return model
    fresh = make_model()  # a new nn.Module starts in training mode
    loaded = state if slip == "memory" else torch.load(path, weights_only=True)
    fresh.load_state_dict(loaded, strict=slip != "params_only")
    return fresh if slip == "no_eval" else fresh.eval()


_PROBE_X = 1.5 + np.random.default_rng(12).normal(size=(6, 4))  # (6, 4) fixed new inputs


def _probe_reload(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn(model, make_model, path)`` -> the returned model's predictions on new inputs
    *after* the original was changed, whether it is in training mode and whether torch.load
    ran; an error when nothing was saved at ``path`` or fn returns no model."""

    @functools.wraps(_reload_reference)
    def probed(model, make_model):
        import torch

        watch = mock.patch.object(torch, "load", wraps=torch.load)  # did fn read a file?
        with tempfile.TemporaryDirectory() as tmp, watch as load:
            path = Path(tmp) / "weights.pt"
            out = fn(model, make_model, str(path))
            saved = path.is_file()
        if not isinstance(out, torch.nn.Module):
            advice = "return the new model alone, `return fresh.eval()`"
            if hasattr(out, "missing_keys"):  # what load_state_dict returns
                out = "the report of load_state_dict (missing and unexpected keys)"
                advice = "load_state_dict changes the new model in place; return the model itself"
            elif callable(out):
                advice = "call it: `return fresh.eval()`, with the parentheses"
            raise _not_returned("reload", out, "the new model (an nn.Module)", advice)
        if not saved:
            raise FileNotFoundError(
                "reload saved nothing at `path`: save the state dict there, "
                "torch.save(model.state_dict(), path), and load it from there"
            )
        with torch.no_grad():
            for p in model.parameters():  # the original trains on; the copy must not follow
                p.add_(1.0)
            x = torch.as_tensor(_PROBE_X, dtype=torch.float32)
            pred = out(x).reshape(-1).numpy().astype(np.float64)  # (6,)
        return np.concatenate([pred, [float(out.training), float(load.called)]])

    return probed


def _reload_cases(rng: np.random.Generator) -> list[Case]:
    return [
        Case(
            (_Model(4, s, train_steps=t, offset=offset)(), _Model(4, 100 + s, train_steps=0)),
            label=label,
            stress=offset > 1,
        )
        for s, t, offset, label in [
            (0, 3, 1.0, "a trained model with batch norm"),
            (1, 5, 1.0, "another trained model"),
            (2, 1, 1.0, "a model whose running statistics moved once"),
            (3, 20, 1e3, "running statistics far from 0 and 1 (batch norm saw inputs near 1,000)"),
        ]
    ]


_RELOAD_HINT = (
    "torch.save(model.state_dict(), path); fresh = make_model(); "
    "fresh.load_state_dict(torch.load(path, weights_only=True)); return fresh.eval()."
)


RELOAD = FunctionCheck(
    name="reload",
    reference=_probe_reload(_reload_reference),
    make_cases=_reload_cases,
    task="Save model's state dict to path, load it into make_model(), return it in eval mode.",
    error_hint="The check passes a model, make_model (call it for a fresh model) and a path; "
    "save model.state_dict() to that path (not the model object, which cannot always be "
    "pickled) and return the new model.",
    mistakes=slip_mistakes(
        _reload,
        hint=_RELOAD_HINT,
        wrap=_probe_reload,
        explanations=dict(
            same_object="you returned the original model, not a reloaded copy: when the original "
            "keeps training, 'the saved model' changes with it.",
            no_eval="your reloaded model is in training mode: call .eval() before inference, or "
            "batch norm (and dropout) behave as in training.",
            params_only="you saved the parameters only (named_parameters): batch norm's "
            "running mean and variance are buffers, which model.state_dict() includes. Save the "
            "state dict.",
            memory="your new model never read the file: torch.load was not called, so its weights "
            "came from memory. Load them back with torch.load(path, weights_only=True).",
        ),
    ),
    rtol=1e-5,
    atol=1e-6,
)


def check_reload(fn: Callable[..., Any], *, time_budget: float = 30.0) -> CheckResult:
    """Check ``fn(model, make_model, path) -> model``: a state-dict round trip through a file."""
    return RELOAD.run(_probe_reload(fn) if callable(fn) else fn, time_budget=time_budget)


__all__ = [
    "EARLY_STOPPING",
    "MACRO_F1",
    "RELOAD",
    "TFIDF_WEIGHTS",
    "VALIDATION_LOSS",
    "check_early_stopping",
    "check_macro_f1",
    "check_reload",
    "check_tfidf_weights",
    "check_validation_loss",
]
