"""Chapter 4's checks: the reference passes, and each classic mistake is rejected by name.

The wrong implementations below are written the way a learner would write them,
independently of the check's own mistake functions, so that a test fails if a
check stops recognising a mistake it claims to name.
"""

from __future__ import annotations

import copy
import functools
import itertools

import numpy as np
import pytest

from dlbook.checks import pipelines as pc
from dlbook.checks.pipelines import (
    check_early_stopping,
    check_macro_f1,
    check_reload,
    check_tfidf_weights,
    check_validation_loss,
)

torch = pytest.importorskip("torch")

# ---------------------------------------------------------------------------
# Correct solutions, written as the solutions notebook writes them
# ---------------------------------------------------------------------------


def tfidf_weights(counts):
    n_docs = counts.shape[0]
    df = (counts > 0).sum(axis=0)
    x = counts * (np.log((1 + n_docs) / (1 + df)) + 1)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


def macro_f1(y_true, y_pred, n_classes):
    scores = []
    for k in range(n_classes):
        tp = np.sum((y_true == k) & (y_pred == k))
        fp = np.sum((y_true != k) & (y_pred == k))
        fn = np.sum((y_true == k) & (y_pred != k))
        scores.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
    return float(np.mean(scores))


def early_stopping(val_losses, patience, min_delta=0.0):
    best, best_epoch, bad = float("inf"), -1, 0
    for epoch, loss in enumerate(val_losses):
        if loss < best - min_delta:
            best, best_epoch, bad = loss, epoch, 0
        else:
            bad += 1
            if bad >= patience:
                break
    return best_epoch, epoch


def validation_loss(model, loader, loss_fn):
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for xb, yb in loader:
            total += loss_fn(model(xb), yb).item() * len(xb)
            count += len(xb)
    return total / count


def reload(model, make_model, path):
    torch.save(model.state_dict(), path)
    fresh = make_model()
    fresh.load_state_dict(torch.load(path, weights_only=True))
    return fresh.eval()


# name -> (check, dlbook's reference, a learner's correct solution)
CHECKS = {
    "tfidf_weights": (check_tfidf_weights, pc._tfidf_reference, tfidf_weights),
    "macro_f1": (check_macro_f1, pc._macro_f1_reference, macro_f1),
    "early_stopping": (check_early_stopping, pc._stopping_reference, early_stopping),
    "validation_loss": (check_validation_loss, pc._validation_reference, validation_loss),
    "reload": (check_reload, pc._reload_reference, reload),
}


def _nan_model(model, make_model, path):
    fresh = reload(model, make_model, path)
    with torch.no_grad():
        for p in fresh.parameters():
            p.fill_(float("nan"))
    return fresh


BROKEN = {
    "early_stopping": (
        lambda v, p, d=0.0: (float("nan"), early_stopping(v, p, d)[1]),
        lambda v, p, d=0.0: [list(early_stopping(v, p, d))[:1], early_stopping(v, p, d)[1]],
        lambda v, p, d=0.0: (np.array(early_stopping(v, p, d)), early_stopping(v, p, d)[1]),
    ),
    "reload": (
        _nan_model,
        lambda m, mk, path: [reload(m, mk, path)],
        lambda m, mk, path: torch.nn.Sequential(reload(m, mk, path), torch.nn.Linear(1, 2)),
    ),
}


def test_checks_are_deterministic_and_leave_global_rng_alone():
    state = np.random.get_state()[1].copy()
    torch_state = torch.random.get_rng_state().clone()
    wrong = lambda t, p, k: float(np.mean(t == p))  # noqa: E731
    assert str(check_macro_f1(wrong)) == str(check_macro_f1(wrong))
    check_validation_loss(validation_loss)
    check_reload(reload)
    assert np.array_equal(np.random.get_state()[1], state)
    assert torch.equal(torch.random.get_rng_state(), torch_state)


def test_written_out_mistake_functions_are_right_with_no_switch():
    rng = np.random.default_rng(0)
    for make_cases, ours, reference in [
        (pc._tfidf_cases, pc._tfidf, pc._tfidf_reference),
        (pc._f1_cases, pc._macro_f1, pc._macro_f1_reference),
        (pc._stop_cases, pc._stopping, pc._stopping_reference),
    ]:
        for case in make_cases(rng):
            np.testing.assert_allclose(
                np.asarray(ours(*case.args), dtype=float),
                np.asarray(reference(*case.args), dtype=float),
                rtol=1e-12,
                atol=1e-15,
            )


def _results(make_cases, fn):
    return [np.asarray(fn(*copy.deepcopy(c.args)), dtype=float) for c in make_cases(None)]


SLIPS = {
    "tfidf": (
        pc._tfidf_cases,
        lambda s: functools.partial(pc._tfidf, **dict([s.split("=")])) if s else pc._tfidf,
        [
            "idf=raw",
            "idf=no_one",
            "idf=log10",
            "df=occurrences",
            "norm=none",
            "norm=l1",
            "norm=columns",
            "n=words",
            "",
        ],
    ),
    "macro_f1": (
        pc._f1_cases,
        lambda s: functools.partial(pc._macro_f1, slip=s),
        ["micro", "of_means", "weighted", "nanmean", "recall", "present", "in_true", "last_class"]
        + ["macro"],
    ),
    "early_stopping": (
        pc._stop_cases,
        lambda s: functools.partial(pc._stopping, slip=s),
        ["last", "previous", "no_delta", "late", "no_reset", "ties", "argmin", "argmin_all", ""],
    ),
    "validation_loss": (
        pc._validation_cases,
        lambda s: pc._probe_validation(functools.partial(pc._validation, slip=s)),
        ["no_eval", "no_grad", "update", "mean_of_means", "last", "first", "full_batches"]
        + ["backward", "both", ""],
    ),
    "reload": (
        pc._reload_cases,
        lambda s: pc._probe_reload(functools.partial(pc._reload, slip=s)),
        ["same_object", "no_eval", "params_only", "memory", ""],
    ),
}


@pytest.mark.parametrize("name", SLIPS)
def test_every_pair_of_mistakes_differs_on_at_least_two_cases(name):
    make_cases, slip_fn, slips = SLIPS[name]
    rng_cases = lambda _: make_cases(np.random.default_rng(0))  # noqa: E731
    res = {s: _results(rng_cases, slip_fn(s)) for s in slips}
    for a, b in itertools.combinations(slips, 2):
        differ = sum(
            x.shape != y.shape or not np.allclose(x, y, rtol=1e-6, atol=1e-9)
            for x, y in zip(res[a], res[b], strict=True)
        )
        assert differ >= 2, (name, a, b, differ)


# ---------------------------------------------------------------------------
# Learners' mistakes, written independently, each rejected by name
# ---------------------------------------------------------------------------


def _tfidf_with(idf_of, norm_axis=1, df_of=lambda c: (c > 0).sum(axis=0), norm=True):
    def fn(counts):
        n = counts.shape[0]
        with np.errstate(all="ignore"):
            x = counts * idf_of(n, df_of(counts))
            if not norm:
                return x
            s = np.sqrt((x**2).sum(axis=norm_axis, keepdims=True))
            return np.nan_to_num(x / s)

    return fn


@pytest.mark.parametrize(
    "student, words",
    [
        (_tfidf_with(lambda n, df: np.log(n / df) + 1), "unsmoothed idf"),
        (_tfidf_with(lambda n, df: np.log((1 + n) / (1 + df))), "forgot the + 1"),
        (_tfidf_with(lambda n, df: np.log10((1 + n) / (1 + df)) + 1), "log base 10"),
        (
            _tfidf_with(lambda n, df: np.log((1 + n) / (1 + df)) + 1, df_of=lambda c: c.sum(0)),
            "counts occurrences",
        ),
        (_tfidf_with(lambda n, df: np.log((1 + n) / (1 + df)) + 1, norm=False), "not normalised"),
        (_tfidf_with(lambda n, df: np.log((1 + n) / (1 + df)) + 1, norm_axis=0), "the columns"),
    ],
)
def test_tfidf_mistakes_are_named(student, words):
    result = check_tfidf_weights(student)
    assert not result.passed and words in result.message, str(result)


def test_tfidf_zero_row_nan_is_explained():
    def nan_rows(counts):
        x = counts * (np.log((1 + len(counts)) / (1 + (counts > 0).sum(0))) + 1)
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    result = check_tfidf_weights(nan_rows)
    assert not result.passed and "zero row" in result.hint, str(result)


def _per_class(y_true, y_pred, k):
    tp = np.sum((y_true == k) & (y_pred == k))
    p = tp / max(np.sum(y_pred == k), 1)
    r = tp / max(np.sum(y_true == k), 1)
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


@pytest.mark.parametrize(
    "student, words",
    [
        (lambda t, p, K: float(np.mean(t == p)), "micro F1"),
        (
            lambda t, p, K: (lambda P, R: 2 * P * R / (P + R))(
                *np.mean([_per_class(t, p, k)[:2] for k in range(K)], axis=0)
            ),
            "mean precision and the mean recall",
        ),
        (
            lambda t, p, K: float(
                sum(_per_class(t, p, k)[2] * np.sum(t == k) for k in range(K)) / len(t)
            ),
            "weighted",
        ),
        (
            lambda t, p, K: float(
                np.mean([_per_class(t, p, k)[2] for k in range(K) if np.any(p == k)])
            ),
            "skipped the classes",
        ),
        (lambda t, p, K: float(np.mean([_per_class(t, p, k)[1] for k in range(K)])), "recall"),
    ],
)
def test_macro_f1_mistakes_are_named(student, words):
    result = check_macro_f1(student)
    assert not result.passed and words in result.message, str(result)


def _stop_with(compare_prev=False, use_delta=True, late=False, reset=True, last=False):
    def fn(val_losses, patience, min_delta=0.0):
        best, best_epoch, bad, prev = float("inf"), -1, 0, float("inf")
        for epoch, loss in enumerate(val_losses):
            ref = prev if compare_prev else best
            if loss < ref - (min_delta if use_delta else 0.0):
                best, best_epoch = loss, epoch
                if reset:
                    bad = 0
            else:
                bad += 1
            prev = loss
            if (bad > patience) if late else (bad >= patience):
                break
        return (epoch if last else best_epoch), epoch

    return fn


@pytest.mark.parametrize(
    "student, words",
    [
        (_stop_with(last=True), "last epoch as the best"),
        (_stop_with(compare_prev=True), "previous epoch"),
        (_stop_with(use_delta=False), "ignored min_delta"),
        (_stop_with(late=True), "one epoch late"),
        (_stop_with(reset=False), "never resets"),
    ],
)
def test_early_stopping_mistakes_are_named(student, words):
    result = check_early_stopping(student)
    assert not result.passed and words in result.message, str(result)


def _val_forgets_eval(model, loader, loss_fn):
    total = 0.0
    with torch.no_grad():
        for xb, yb in loader:
            total += float(loss_fn(model(xb), yb)) * len(xb)
    return total / sum(len(xb) for xb, _ in loader)


def _val_forgets_no_grad(model, loader, loss_fn):
    model.eval()
    total = sum(loss_fn(model(xb), yb).item() * len(xb) for xb, yb in loader)
    return total / sum(len(xb) for xb, _ in loader)


def _val_trains(model, loader, loss_fn):
    model.eval()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    total = 0.0
    for xb, yb in loader:
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        total += loss.item() * len(xb)
    return total / sum(len(xb) for xb, _ in loader)


def _val_mean_of_means(model, loader, loss_fn):
    model.eval()
    with torch.no_grad():
        return float(np.mean([loss_fn(model(xb), yb).item() for xb, yb in loader]))


def _val_last(model, loader, loss_fn):
    model.eval()
    with torch.no_grad():
        for xb, yb in loader:
            loss = loss_fn(model(xb), yb)
    return loss.item()


@pytest.mark.parametrize(
    "student, words",
    [
        (_val_forgets_eval, "forgot model.eval()"),
        (_val_forgets_no_grad, "forgot torch.no_grad()"),
        (_val_trains, "changes the weights"),
        (_val_mean_of_means, "averaged the batch means"),
        (_val_last, "last batch only"),
    ],
)
def test_validation_mistakes_are_named(student, words):
    result = check_validation_loss(student)
    assert not result.passed and words in result.message, str(result)


def test_a_validation_loss_returned_as_a_tensor_is_accepted():
    def as_tensor(model, loader, loss_fn):
        return torch.tensor(validation_loss(model, loader, loss_fn))

    assert check_validation_loss(as_tensor).passed


def _reload_same(model, make_model, path):
    torch.save(model.state_dict(), path)
    return model


def _reload_no_eval(model, make_model, path):
    torch.save(model.state_dict(), path)
    fresh = make_model()
    fresh.load_state_dict(torch.load(path, weights_only=True))
    return fresh


def _reload_params_only(model, make_model, path):
    torch.save({k: v.detach() for k, v in model.named_parameters()}, path)
    fresh = make_model()
    fresh.load_state_dict(torch.load(path, weights_only=True), strict=False)
    return fresh.eval()


@pytest.mark.parametrize(
    "student, words",
    [
        (_reload_same, "returned the original model"),
        (_reload_no_eval, "training mode"),
        (_reload_params_only, "parameters only"),
    ],
)
def test_reload_mistakes_are_named(student, words):
    result = check_reload(student)
    assert not result.passed and words in result.message, str(result)


# ---------------------------------------------------------------------------
# Wrong answers found by trying the checks as learners do (and unusual right ones)
# ---------------------------------------------------------------------------


def _tfidf_n_from_words(counts):
    n_docs = counts.shape[1]  # the wrong axis
    x = counts * (np.log((1 + n_docs) / (1 + (counts > 0).sum(axis=0))) + 1)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


def _tfidf_eps(eps):
    def fn(counts):
        x = counts * (np.log((1 + len(counts)) / (1 + (counts > 0).sum(axis=0))) + 1)
        return x / (np.linalg.norm(x, axis=1, keepdims=True) + eps)

    return fn


def _tfidf_sklearn(counts):
    from sklearn.feature_extraction.text import TfidfTransformer

    return TfidfTransformer().fit_transform(counts).toarray()


def _tfidf_term_frequencies(counts):
    tf = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)  # the row scale cancels
    x = tf * (np.log((1 + len(counts)) / (1 + (counts > 0).sum(axis=0))) + 1)
    norms = np.sqrt((x**2).sum(axis=1, keepdims=True))
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


@pytest.mark.parametrize(
    "student, words",
    [
        (_tfidf_n_from_words, "wrong axis"),
        (_tfidf_eps(1e-5), "epsilon to the norm"),
        (_tfidf_eps(1e-3), "epsilon to the norm"),
    ],
)
def test_tfidf_more_mistakes_are_named(student, words):
    result = check_tfidf_weights(student)
    assert not result.passed and words in result.message, str(result)


@pytest.mark.parametrize("student", [_tfidf_eps(1e-9), _tfidf_sklearn, _tfidf_term_frequencies])
def test_tfidf_unusual_right_answers_pass(student):
    result = check_tfidf_weights(student)
    assert result.passed, str(result)


def _f1_over(classes_of):
    def fn(y_true, y_pred, n_classes):
        return float(
            np.mean([_per_class(y_true, y_pred, k)[2] for k in classes_of(y_true, y_pred)])
        )

    return fn


def _f1_sklearn_default(y_true, y_pred, n_classes):
    from sklearn.metrics import f1_score

    return f1_score(y_true, y_pred, average="macro", zero_division=0)


def _f1_sklearn_labels(y_true, y_pred, n_classes):
    from sklearn.metrics import f1_score

    return f1_score(y_true, y_pred, average="macro", labels=range(n_classes), zero_division=0)


def _f1_confusion(y_true, y_pred, n_classes):
    cm = np.zeros((n_classes, n_classes))
    np.add.at(cm, (y_true, y_pred), 1)
    tp, denom = np.diag(cm), cm.sum(axis=0) + cm.sum(axis=1)
    return np.float32(np.mean(np.divide(2 * tp, denom, out=np.zeros(n_classes), where=denom > 0)))


def _f1_zero_division_one(y_true, y_pred, n_classes):
    scores = []
    for k in range(n_classes):
        tp, pred, true = (
            np.sum((y_true == k) & (y_pred == k)),
            np.sum(y_pred == k),
            np.sum(y_true == k),
        )
        p, r = (tp / pred if pred else 1.0), (tp / true if true else 1.0)
        scores.append(2 * p * r / (p + r) if p + r else 0.0)
    return float(np.mean(scores))


@pytest.mark.parametrize(
    "student, words",
    [
        (_f1_over(lambda t, p: np.unique(np.concatenate([t, p]))), "occur in the labels"),
        (_f1_over(lambda t, p: np.unique(t)), "occur in the labels"),
        (_f1_sklearn_default, "occur in the labels"),
        (_f1_zero_division_one, "wrong values"),
    ],
)
def test_macro_f1_more_mistakes_are_named(student, words):
    result = check_macro_f1(student)
    assert not result.passed and words in result.message, str(result)


@pytest.mark.parametrize("student", [_f1_sklearn_labels, _f1_confusion])
def test_macro_f1_unusual_right_answers_pass(student):
    result = check_macro_f1(student)
    assert result.passed, str(result)


def _stop_ties(val_losses, patience, min_delta=0.0):
    best, best_epoch, bad = float("inf"), -1, 0
    for epoch, loss in enumerate(val_losses):
        if loss <= best - min_delta:
            best, best_epoch, bad = loss, epoch, 0
        else:
            bad += 1
            if bad >= patience:
                break
    return best_epoch, epoch


def _stop_then(best_of=None, stop_when_done=None):
    def fn(val_losses, patience, min_delta=0.0):
        best, best_epoch, bad = float("inf"), -1, 0
        for epoch, loss in enumerate(val_losses):
            if loss < best - min_delta:
                best, best_epoch, bad = loss, epoch, 0
            else:
                bad += 1
                if bad >= patience:
                    break
        else:
            epoch = stop_when_done(val_losses) if stop_when_done else epoch
        if best_of is not None:
            best_epoch = int(np.argmin(best_of(val_losses, epoch)))
        return best_epoch, epoch

    return fn


def _stop_first_is_best(val_losses, patience, min_delta=0.0):
    best, best_epoch, bad = val_losses[0], 0, 0
    for epoch, loss in enumerate(val_losses):  # epoch 0 compared with itself
        if loss < best - min_delta:
            best, best_epoch, bad = loss, epoch, 0
        else:
            bad += 1
            if bad >= patience:
                return best_epoch, epoch
    return best_epoch, len(val_losses) - 1


def _stop_best_plus_patience(val_losses, patience, min_delta=0.0):
    best_epoch = early_stopping(val_losses, patience, min_delta)[0]
    return best_epoch, best_epoch + patience


def _stop_gain(val_losses, patience, min_delta=0.0):
    best, best_epoch, wait, epoch = float("inf"), 0, 0, 0
    while epoch < len(val_losses):
        if best - val_losses[epoch] > min_delta:
            best, best_epoch, wait = val_losses[epoch], epoch, 0
        else:
            wait += 1
            if wait == patience:
                break
        epoch += 1
    return np.int64(best_epoch), min(epoch, len(val_losses) - 1)


@pytest.mark.parametrize(
    "student, words",
    [
        (_stop_ties, "strictly below"),
        (_stop_then(best_of=lambda v, stop: v[: stop + 1]), "(argmin)"),
        (_stop_then(best_of=lambda v, stop: v), "after training stopped"),
        (_stop_then(stop_when_done=len), "`stop_epoch` has wrong values"),
        (_stop_then(stop_when_done=lambda v: None), "`stop_epoch` is None"),
        (_stop_first_is_best, "`stop_epoch` has wrong values"),
        (_stop_best_plus_patience, "never fires"),
    ],
)
def test_early_stopping_more_mistakes_are_named(student, words):
    result = check_early_stopping(student)
    assert not result.passed and words in result.message, str(result)


def test_early_stopping_unusual_right_answer_passes():
    assert check_early_stopping(_stop_gain).passed


def _val_first_batch(model, loader, loss_fn):
    model.eval()
    with torch.no_grad():
        for xb, yb in loader:
            return loss_fn(model(xb), yb).item()


def _val_full_batches(model, loader, loss_fn):
    model.eval()
    total = 0.0
    with torch.no_grad():
        for xb, yb in loader:
            total += loss_fn(model(xb), yb).item() * loader.batch_size
    return total / len(loader.dataset)


def _val_backward(model, loader, loss_fn):
    model.eval()
    total = 0.0
    for xb, yb in loader:
        loss = loss_fn(model(xb), yb)
        loss.backward()
        total += loss.item() * len(xb)
    return total / len(loader.dataset)


def _val_copy_in_train_mode(model, loader, loss_fn):
    return _val_forgets_eval(copy.deepcopy(model), loader, loss_fn)


@pytest.mark.parametrize(
    "student, words",
    [
        (_val_first_batch, "first batch only"),
        (_val_full_batches, "full batch size"),
        (_val_backward, "loss.backward()"),
        (_val_copy_in_train_mode, "forgot model.eval()"),
        (lambda m, lo, f: [validation_loss(m, lo, f)], "returned a Python list"),
    ],
)
def test_validation_more_mistakes_are_named(student, words):
    result = check_validation_loss(student)
    assert not result.passed and words in result.message, str(result)


def _val_dataset(model, loader, loss_fn):
    model.eval()
    total = 0.0
    with torch.inference_mode():
        for xb, yb in loader:
            total += loss_fn(model(xb), yb).item() * xb.shape[0]
    return total / len(loader.dataset)


def _val_on_a_copy(model, loader, loss_fn):
    return validation_loss(copy.deepcopy(model), loader, loss_fn)


def _val_restores_mode(model, loader, loss_fn):
    was_training = model.training
    loss = validation_loss(model, loader, loss_fn)
    model.train(was_training)
    return np.float64(loss)


@pytest.mark.parametrize("student", [_val_dataset, _val_on_a_copy, _val_restores_mode])
def test_validation_unusual_right_answers_pass(student):
    result = check_validation_loss(student)
    assert result.passed, str(result)


def _reload_copy(model, make_model, path):
    return copy.deepcopy(model).eval()


def _reload_returns_report(model, make_model, path):
    torch.save(model.state_dict(), path)
    return make_model().load_state_dict(torch.load(path, weights_only=True))


def _reload_eval_unbound(model, make_model, path):
    torch.save(model.state_dict(), path)
    fresh = make_model()
    fresh.load_state_dict(torch.load(path, weights_only=True))
    return fresh.eval


@pytest.mark.parametrize(
    "student, words",
    [
        (_reload_copy, "saved nothing at `path`"),
        (_reload_returns_report, "report of load_state_dict"),
        (_reload_eval_unbound, "with the parentheses"),
    ],
)
def test_reload_more_mistakes_are_named(student, words):
    result = check_reload(student)
    assert not result.passed and words in result.message, str(result)


def test_reload_with_frozen_weights_passes():
    assert check_reload(lambda m, mk, path: reload(m, mk, path).requires_grad_(False)).passed


def test_saving_the_whole_model_object_is_told_to_save_the_state_dict():
    def whole_model(model, make_model, path):
        torch.save(model, path)
        return torch.load(path, weights_only=False).eval()

    result = check_reload(whole_model)
    assert not result.passed and "raised" in result.message, str(result)
    assert "save model.state_dict() to that path (not the model object" in result.hint


def test_reload_to_a_file_of_its_own_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    def own_file(model, make_model, path):
        return reload(model, make_model, "model.pt")

    result = check_reload(own_file)
    assert not result.passed and "saved nothing at `path`" in result.message, str(result)


def _val_training_loop_without_backward(model, loader, loss_fn):
    total, count = 0.0, 0
    for xb, yb in loader:
        total += loss_fn(model(xb), yb).item() * len(xb)
        count += len(xb)
    return total / count


def _val_training_step_in_train_mode(model, loader, loss_fn):
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    total = 0.0
    for xb, yb in loader:
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        total += loss.item() * len(xb)
    return total / len(loader.dataset)


@pytest.mark.parametrize(
    "student, words",
    [
        (_val_training_loop_without_backward, "forgot both model.eval() and torch.no_grad()"),
        (_val_training_step_in_train_mode, "changes the weights"),
    ],
)
def test_validation_loops_copied_from_training_are_named(student, words):
    result = check_validation_loss(student)
    assert not result.passed and words in result.message, str(result)


# ---------------------------------------------------------------------------
# Second round: more wrong answers, and more unusual right ones
# ---------------------------------------------------------------------------


def _reload_from_memory(model, make_model, path):
    state = model.state_dict()
    torch.save(state, path)
    fresh = make_model()
    fresh.load_state_dict(state)  # the dict in memory, not the file
    return fresh.eval()


def _reload_from_a_deep_copy(model, make_model, path):
    state = copy.deepcopy(model.state_dict())
    torch.save(state, path)
    fresh = make_model()
    fresh.load_state_dict(state)
    return fresh.eval()


def _reload_saves_then_copies(model, make_model, path):
    torch.save(model.state_dict(), path)
    return copy.deepcopy(model).eval()


@pytest.mark.parametrize(
    "student", [_reload_from_memory, _reload_from_a_deep_copy, _reload_saves_then_copies]
)
def test_reload_that_never_reads_the_file_is_named(student):
    result = check_reload(student)
    assert not result.passed and "never read the file" in result.message, str(result)


def _reload_with_file_objects(model, make_model, path):
    with open(path, "wb") as f:
        torch.save(model.state_dict(), f)
    fresh = make_model()
    with open(path, "rb") as f:
        fresh.load_state_dict(torch.load(f, map_location="cpu", weights_only=True))
    fresh.train(False)
    return fresh


def _reload_with_dlbook(model, make_model, path):
    from dlbook.pipelines import torch_backend

    torch_backend.save_weights(model, path)
    return torch_backend.load_weights(make_model(), path)


def _reload_eval_first(model, make_model, path):
    torch.save(model.state_dict(), path)
    fresh = make_model().eval()
    fresh.load_state_dict(torch.load(path, weights_only=True), assign=True)
    return fresh


@pytest.mark.parametrize(
    "student", [_reload_with_file_objects, _reload_with_dlbook, _reload_eval_first]
)
def test_reload_unusual_right_answers_pass(student):
    result = check_reload(student)
    assert result.passed, str(result)


def _stop_best_follows_every_lower_loss(val_losses, patience, min_delta=0.0):
    best, best_epoch, bad = float("inf"), -1, 0
    for epoch, loss in enumerate(val_losses):
        if loss < best - min_delta:
            best_epoch, bad = epoch, 0
        else:
            bad += 1
        best = min(best, loss)  # also after a gain smaller than min_delta
        if bad >= patience:
            break
    return best_epoch, epoch


def test_early_stopping_best_that_follows_small_gains_fails():
    result = check_early_stopping(_stop_best_follows_every_lower_loss)
    assert not result.passed and "`best_epoch` has wrong values" in result.message, str(result)
    assert "min_delta" in result.message and "previous" not in result.message, str(result)


def _f1_one_class_short(y_true, y_pred, n_classes):
    return float(np.mean([_per_class(y_true, y_pred, k)[2] for k in range(n_classes - 1)]))


def test_macro_f1_range_one_short_is_named():
    result = check_macro_f1(_f1_one_class_short)
    assert not result.passed and "left out the last class" in result.message, str(result)
    assert "nanmean" not in result.message, str(result)


def _f1_torch_float32(y_true, y_pred, n_classes):
    t = torch.nn.functional.one_hot(torch.as_tensor(y_true), n_classes).float()  # (N, K)
    p = torch.nn.functional.one_hot(torch.as_tensor(y_pred), n_classes).float()  # (N, K)
    tp, denom = (t * p).sum(0), t.sum(0) + p.sum(0)
    return torch.where(denom > 0, 2 * tp / denom.clamp(min=1), 0.0).mean().item()


def test_macro_f1_computed_in_float32_passes():
    result = check_macro_f1(_f1_torch_float32)
    assert result.passed, str(result)


def _val_layers_to_eval(model, loader, loss_fn):
    for layer in model.children():
        layer.eval()
    return _val_forgets_eval(model, loader, loss_fn)


def _val_no_grad_decorator(model, loader, loss_fn):
    @torch.no_grad()
    def run():
        model.train(False)
        preds = torch.cat([model(xb) for xb, _ in loader])
        return loss_fn(preds, torch.cat([yb for _, yb in loader]))

    return run()


@pytest.mark.parametrize("student", [_val_layers_to_eval, _val_no_grad_decorator])
def test_validation_second_round_right_answers_pass(student):
    result = check_validation_loss(student)
    assert result.passed, str(result)


def _tfidf_matrix_float32(counts):
    c = counts.astype(np.float32)
    x = c * (np.log((1 + len(c)) / (1 + (c > 0).sum(axis=0))) + 1).astype(np.float32)
    norms = np.sqrt((x * x).sum(axis=1, keepdims=True))
    return np.matrix(np.divide(x, norms, out=np.zeros_like(x), where=norms > 0))


def test_tfidf_float32_matrix_passes():
    result = check_tfidf_weights(_tfidf_matrix_float32)
    assert result.passed, str(result)
