"""Checks for the exercises of chapter 5 (recurrent networks and language models).

Each check compares a learner's function with dlbook's own implementation and
recognises the classic mistakes by name::

    from dlbook.checks.rnn import check_rnn_step
    check_rnn_step(rnn_step)   # PASS ✅ rnn_step: correct on 5 test cases.

The references are the cells and the backpropagation through time of
:mod:`dlbook.rnn.numpy_backend` (which ``tests/rnn`` compares with PyTorch's
autograd), :func:`dlbook.optim.clipping.clip_grad_norm` (torch's
``clip_grad_norm_``), and :mod:`dlbook.lm.metrics` and :mod:`dlbook.lm.sampling`.
Weights are in the book's (in, out) layout, with PyTorch's gate order (LSTM: i,
f, g, o), as :mod:`dlbook.rnn.init` describes.
A sampled token cannot equal a reference draw unless it is drawn the same way, so
the sampling check draws thousands of tokens from a seeded generator: the same
tokens as the reference pass at once, and other draws are judged by their
frequencies, with tolerances derived in the comments.

Shape legend: B = batch, D = input features, H = hidden units, T = time steps
(3 in the BPTT exercise, time first there), N = tokens, V = vocabulary size.
"""

from __future__ import annotations

import functools
import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from dlbook.checks._core import (
    Call,
    Case,
    CheckResult,
    FunctionCheck,
    array_equal,
    call_student,
    describe_type,
    fail,
    first_mismatch,
    matches,
    on_output,
    type_hint,
)
from dlbook.checks._kinds import (
    ArrayList,
    DictCheck,
    JudgedCheck,
    Judgement,
    SeededRng,
    again_problem,
    array_problem,
    as_number,
    slip_mistakes,
    stressed,
)
from dlbook.lm import metrics as lm_metrics
from dlbook.lm import sampling as lm_sampling
from dlbook.nn.numpy_backend import log_softmax, sigmoid
from dlbook.optim.clipping import clip_grad_norm
from dlbook.rnn import numpy_backend as rnn_np

# ---------------------------------------------------------------------------
# Helpers shared by the checks of this chapter
# ---------------------------------------------------------------------------


def _random_weights(rng: np.random.Generator, D: int, H: int, G: int = 1) -> tuple:
    """(W_ih, W_hh, b_ih, b_hh) with pre-activations of order 1, where tanh, σ and x differ."""
    return (
        rng.normal(size=(D, G * H)) / np.sqrt(D),  # (D, G*H)
        rng.normal(size=(H, G * H)) / np.sqrt(H),  # (H, G*H)
        0.5 * rng.normal(size=G * H),  # (G*H,)
        0.5 * rng.normal(size=G * H),  # (G*H,)
    )


def _cell_case(rng, B: int, D: int, H: int, label: str, size: float = 1.0, G: int = 1) -> Case:
    """x (B, D) of scale ``size``, h (B, H), an LSTM's c (B, H) when G = 4, then the weights."""
    x = size * rng.normal(size=(B, D))  # (B, D)
    h = np.tanh(rng.normal(size=(B, H)))  # (B, H): a state from an earlier step
    c = [2.0 * rng.normal(size=(B, H))] if G == 4 else []  # (B, H): a cell can leave (-1, 1)
    return Case((x, h, *c, *_random_weights(rng, D, H, G)), label=label, stress=size > 1)


_LAYOUT = (
    "The book stores weights (in, out): x (B, D) @ W_ih (D, H) and h (B, H) @ W_hh (H, H) "
    "give (B, H) with no transpose. PyTorch stores the transposes (weight_ih_l0 = W_ih.T) "
    "and computes x @ weight_ih_l0.T."
)


# ---------------------------------------------------------------------------
# 1. rnn_step(x, h, W_ih, W_hh, b_ih, b_hh) -> h_new (B, H)
# ---------------------------------------------------------------------------


def _rnn_step_reference(x, h, W_ih, W_hh, b_ih, b_hh):
    """dlbook's vanilla RNN cell: tanh(x W_ih + b_ih + h W_hh + b_hh), shape (B, H)."""
    return rnn_np.rnn_cell_forward(x, h, dict(W_ih=W_ih, W_hh=W_hh, b_ih=b_ih, b_hh=b_hh))[0]


def _rnn_step_cases(rng: np.random.Generator) -> list[Case]:
    return [
        _cell_case(rng, 2, 4, 4, "D = H = 4, where W_ih and W_hh are both square"),
        _cell_case(rng, 4, 3, 5, "a batch of 4, D = 3 inputs, H = 5 hidden units"),
        _cell_case(rng, 1, 6, 2, "one sequence (B = 1), D = 6, H = 2"),
        _cell_case(rng, 3, 3, 3, "D = H = 3, square again"),
        _cell_case(rng, 2, 3, 4, "large inputs: pre-activations in the thousands", size=2000.0),
    ]


def _rnn(*args, act="tanh", drop=(), transpose=(), swap=False, squash="once"):
    """A vanilla RNN step written out, with switches for the classic slips (defaults: right)."""
    x, h, W_ih, W_hh, b_ih, b_hh = args  # the exercise's arguments
    W_ih, W_hh = (W_hh, W_ih) if swap else (W_ih, W_hh)  # swap: x with W_hh, h with W_ih
    W_ih = W_ih.T if "W_ih" in transpose else W_ih  # PyTorch's layout
    W_hh = W_hh.T if "W_hh" in transpose else W_hh
    if squash == "each":  # the input and the state squashed apart
        return np.tanh(x @ W_ih + b_ih) + np.tanh(h @ W_hh + b_hh)
    if squash == "before_biases":
        return np.tanh(x @ W_ih + h @ W_hh) + b_ih + b_hh
    terms = {"x W_ih": x @ W_ih, "b_ih": b_ih, "h W_hh": h @ W_hh, "b_hh": b_hh}
    a = sum(term for name, term in terms.items() if name not in drop)  # (B, H)
    h_new = {  # tanh, and what is used in its place by mistake
        "tanh": np.tanh,
        "exp_tanh": lambda a: (np.exp(a) - np.exp(-a)) / (np.exp(a) + np.exp(-a)),  # NaN past 710
        "sigmoid": sigmoid,
        "relu": lambda a: np.maximum(a, 0.0),
        "none": np.asarray,
    }[act](a)
    return h_new.T if "h_new" in transpose else h_new  # (H, B): one column per example


_RNN_HINT = "h_new = np.tanh(x @ W_ih + b_ih + h @ W_hh + b_hh)."
_BIASES = ("b_hh", "b_ih")
_RNN_SLIPS = {  # (switch of _rnn, its value) -> what the learner did
    ("act", "exp_tanh"): "your tanh overflows: written with np.exp, (e^a − e^−a) / (e^a + e^−a) "
    "is inf / inf = NaN once |a| passes about 710.",
    ("act", "none"): "you forgot the tanh: h_new is the pre-activation, which nothing keeps from "
    "growing step after step.",
    ("act", "sigmoid"): "you used the sigmoid instead of tanh: a vanilla RNN's state lies in "
    "(−1, 1), centred on 0; σ keeps it in (0, 1).",
    ("act", "relu"): "you used ReLU instead of tanh: nothing then bounds the state, and repeated "
    "multiplication by W_hh can make it explode.",
    ("drop", ("h W_hh",)): "you forgot the recurrent term h @ W_hh: without it the new state does "
    "not depend on the previous one, so the network has no memory.",
    **{
        ("drop", (bias,)): f"you forgot the bias {bias}: PyTorch's RNN (and this book's) adds "
        "two biases, b_ih and b_hh."
        for bias in _BIASES
    },
    ("drop", ("b_ih", "b_hh")): "you forgot both biases b_ih and b_hh.",
    ("transpose", ("W_hh",)): "you multiplied h by W_hh.T: W_hh is square, so the shapes cannot "
    "show it, but the transpose gives other values. " + _LAYOUT,
    ("transpose", ("W_ih",)): "you multiplied x by W_ih.T: with D = H the shapes cannot show it, "
    "but the transpose gives other values. " + _LAYOUT,
    ("transpose", ("W_ih", "W_hh")): "you used PyTorch's layout, x @ W_ih.T and h @ W_hh.T: the "
    "shapes cannot show it when the matrices are square, but the values differ. " + _LAYOUT,
    ("swap", True): "you swapped the weight matrices: x goes with W_ih (input to hidden), h with "
    "W_hh (hidden to hidden).",
    ("squash", "before_biases"): "you added the biases after the tanh: they belong inside, with "
    "the two products, h_new = tanh(x W_ih + b_ih + h W_hh + b_hh).",
    ("squash", "each"): "you applied tanh to each term separately, tanh(x W_ih + b_ih) + "
    "tanh(h W_hh + b_hh): the input and the state are added first, then squashed once, so "
    "that h_new stays in (−1, 1).",
    ("transpose", ("h_new",)): "your h_new is (H, B), one column per example: the column "
    "convention of many textbooks, h = tanh(W x + b). The book keeps one row per example.",
}
_RNN_HINTS = {
    ("act", "exp_tanh"): "Use np.tanh, which is exact for every input. " + _RNN_HINT,
    **{
        ("drop", (bias,)): "Add both biases (their sum acts as one): " + _RNN_HINT
        for bias in _BIASES
    },
    ("transpose", ("h_new",)): _LAYOUT,
}

RNN_STEP = FunctionCheck(
    name="rnn_step",
    reference=_rnn_step_reference,
    make_cases=_rnn_step_cases,
    task="Return h_new = tanh(x @ W_ih + b_ih + h @ W_hh + b_hh), of shape (B, H).",
    nan_hint="np.tanh never overflows: if you wrote tanh with np.exp, use np.tanh.",
    error_hint=_LAYOUT,
    mistakes=slip_mistakes(_rnn, _RNN_SLIPS, _RNN_HINT, hints=_RNN_HINTS),
)


check_rnn_step = RNN_STEP.checker(
    "Check ``fn(x, h, W_ih, W_hh, b_ih, b_hh) -> h_new``: one step of a vanilla RNN."
)

# ---------------------------------------------------------------------------
# 2. bptt_3_steps(xs, h0, W_ih, W_hh, b_ih, b_hh, dh3) -> dict of gradients
# ---------------------------------------------------------------------------
#
# h_t = tanh(a_t), a_t = x_t W_ih + b_ih + h_{t-1} W_hh + b_hh for t = 1, 2, 3, and
# the loss reaches only h_3 (dL/dh_3 = dh3). Walking back from t = 3:
#   da_t = dh_t * (1 - h_t^2);  dW_ih += x_t^T da_t;  dW_hh += h_{t-1}^T da_t;
#   db += sum over the batch of da_t;  dh_{t-1} = da_t W_hh^T.

BPTT_KEYS = ("dW_ih", "dW_hh", "db_ih", "db_hh", "dh0")


def _bptt_reference(xs, h0, W_ih, W_hh, b_ih, b_hh, dh3):
    """dlbook's RNN layer and its BPTT, with dL/dh_3 = dh3: (dW_ih, dW_hh, db_ih, db_hh, dh0)."""
    (T, B, D), H = xs.shape, h0.shape[1]  # xs is time first, as in the exercise
    model = rnn_np.RNN(D, H, dtype="float64")
    model.set_weights(dict(W_ih=W_ih, W_hh=W_hh, b_ih=b_ih, b_hh=b_hh))
    x = np.transpose(xs, (1, 0, 2))  # (B, T, D): the layer is batch-first
    no_outputs = np.zeros((B, T, H))  # the loss reaches no output but the last state
    _, grads, _, dh0 = rnn_np.sequence_loss_and_grads(model, x, h0, no_outputs, dh3)
    return grads["W_ih"], grads["W_hh"], grads["b_ih"], grads["b_hh"], dh0


def _bptt(
    *args, slope="h", back="W_hh.T", walk=(3, 2, 1), accumulate=True, dW_hh_from="h_prev", end=""
):
    """Three steps of BPTT written out, with switches for the classic slips (defaults: right)."""
    xs, h0, W_ih, W_hh, b_ih, b_hh, dh3 = args  # the exercise's arguments
    hs, pre = [h0], [None]  # hs[t] = h_t (B, H) for t = 0..3; pre[t] = a_t (B, H)
    for x in xs:  # x (B, D)
        pre.append(x @ W_ih + b_ih + hs[-1] @ W_hh + b_hh)
        hs.append(np.tanh(pre[-1]))
    dW_ih, dW_hh, db = 0.0, 0.0, 0.0
    dhs = [dh3]  # dL/dh_t (B, H) for the steps walked so far, the last one current
    for t in walk:  # t = 3, 2, 1
        # tanh'(a_t) = 1 - tanh(a_t)^2 = 1 - h_t^2, and what is used in its place by mistake
        tanh_of = {"h": hs[t], "a": pre[t], "tanh_h": np.tanh(hs[t]), "h_prev": hs[t - 1]}
        da = dhs[-1] * (1.0 if slope == "none" else 1 - tanh_of[slope] ** 2)  # (B, H)
        state = {"h_prev": hs[t - 1], "h_new": hs[t], "skip_h0": hs[t - 1] * (t > 1)}[dW_hh_from]
        if not accumulate:  # dW = ... at every step instead of dW += ...
            dW_ih, dW_hh, db = 0.0, 0.0, 0.0
        dW_ih, dW_hh, db = dW_ih + xs[t - 1].T @ da, dW_hh + state.T @ da, db + da.sum(axis=0)
        carry = {  # dL/dh_{t-1} = da_t W_hh^T, and what is used in its place by mistake
            "W_hh.T": da @ W_hh.T,
            "W_hh": da @ W_hh,
            "identity": da,
            "same": dhs[-1],
            "plus_dh3": da @ W_hh.T + dh3,  # as if the loss also reached h_2 and h_1
        }
        dhs.append(dhs[-1] @ W_hh.T if back == "no_slope" else carry[back])
    dh0 = {  # dL/dh0, and what is returned in its place by mistake
        "dh0=da_1": da,
        "dh0*(1-h0²)": dhs[-1] * (1 - h0**2),
        "dh0=dh_1": dhs[-2],
        "dh0=0": np.zeros_like(h0),
    }.get(end, dhs[-1])
    db_hh = np.zeros_like(db) if end == "db_hh=0" else db
    return dW_ih, dW_hh.T if end == "dW_hh.T" else dW_hh, db, db_hh, dh0


def _bptt_cases(rng: np.random.Generator) -> list[Case]:
    def case(B: int, D: int, H: int, label: str, h0_zero: bool = False) -> Case:
        xs = rng.normal(size=(3, B, D))  # (T, B, D), time first
        h0 = np.zeros((B, H)) if h0_zero else np.tanh(rng.normal(size=(B, H)))  # (B, H)
        W = _random_weights(rng, D, H)
        dh3 = rng.normal(size=(B, H))  # dL/dh_3 (B, H)
        return Case((xs, h0, *W, dh3), label=label, stress=h0_zero)

    return [
        case(4, 3, 5, "3 steps, a batch of 4, D = 3, H = 5"),
        case(2, 4, 4, "D = H = 4, where every weight matrix is square"),
        case(3, 2, 3, "starting from h0 = 0", h0_zero=True),
    ]


_BPTT_HINT = (
    "For t = 3, 2, 1: da = dh * (1 - h_t**2); dW_ih += x_t.T @ da; dW_hh += h_{t-1}.T @ da; "
    "db += da.sum(axis=0); dh = da @ W_hh.T. At the end, dh is dh0."
)


_BPTT_SLIPS = {  # (switch of _bptt, its value) -> what the learner did
    ("walk", (3,)): "your gradients hold only the last step's contribution: W is shared by the "
    "three steps, so its gradient sums all three, and dL/dh must be carried back "
    "to h_2 and h_1 through W_hh.",
    ("accumulate", False): "your gradients hold only the first step's contribution: you overwrote "
    "them at every step (dW = ...) instead of accumulating them (dW += ...).",
    ("slope", "none"): "you forgot the tanh derivative: dL/da_t = dL/dh_t ⊙ (1 − h_t²).",
    ("slope", "a"): "you computed 1 − a_t² from the pre-activation a_t: tanh'(a) = 1 − tanh(a)², "
    "so tanh'(a_t) = 1 − h_t², with the step's output h_t = tanh(a_t).",
    ("slope", "tanh_h"): "you computed tanh'(h_t) = 1 − tanh(h_t)²: the derivative is taken at the "
    "pre-activation, tanh'(a_t) = 1 − tanh(a_t)² = 1 − h_t².",
    ("slope", "h_prev"): "your tanh derivative is one step off: step t needs 1 − h_t² (its "
    "output), you used 1 − h_{t−1}² (its input).",
    ("back", "same"): "every step used dh3 as its dL/dh: the gradient reaching an earlier state "
    "must be carried back, dL/dh_{t−1} = (dL/dh_t ⊙ (1 − h_t²)) @ W_hh.T.",
    ("back", "identity"): "you passed da back to h_{t−1} without multiplying by W_hh.T: h_{t−1} "
    "enters step t as h_{t−1} @ W_hh, so its gradient is da @ W_hh.T.",
    ("back", "W_hh"): "you carried the gradient back through W_hh instead of W_hh.T: the forward "
    "pass computes h_{t−1} @ W_hh, so the backward pass computes da @ W_hh.T. "
    "W_hh is square, so the shapes cannot show it.",
    ("back", "no_slope"): "you carried dL/dh_t back through W_hh.T without the tanh derivative: "
    "the road back to h_{t−1} passes through the tanh too, dh_{t−1} = da_t @ W_hh.T.",
    ("back", "plus_dh3"): "you added dh3 again at every step: the loss reaches only h_3, so "
    "the gradient reaches h_2 and h_1 only through W_hh, dL/dh_{t−1} = da_t @ W_hh.T. (A loss "
    "on every output would add that step's own dL/dh_t, not dh3.)",
    ("dW_hh_from", "h_new"): "dW_hh multiplies da_t by h_t, the output of step t; W_hh multiplied "
    "the state that step t read, h_{t−1}: dW_hh += h_{t−1}.T @ da_t.",
    ("dW_hh_from", "skip_h0"): "dW_hh has no contribution from step 1: h0 is multiplied by W_hh "
    "at the first step too, so dW_hh += h0.T @ da_1.",
    ("walk", (1, 2, 3)): "you walked forward in time (t = 1, 2, 3), starting from dh3 at the first "
    "step: dh3 is the gradient of h_3, so the walk back starts at t = 3 and ends at t = 1.",
    # the `end` of _bptt spoils one output (_BPTT_ONLY)
    ("end", "dW_hh.T"): "your dW_hh is transposed: you computed da_t.T @ h_{t−1}; W_hh is (H, H) "
    "either way, so the shapes cannot show it. dW_hh += h_{t−1}.T @ da_t, like "
    "dW_ih += x_t.T @ da_t.",
    ("end", "db_hh=0"): "`db_hh` is zero, but b_hh is added at every step just like b_ih, so its "
    "gradient is the same: db_hh = db_ih.",
    ("end", "dh0=da_1"): "`dh0` is da_1, the gradient of the first pre-activation: h0 enters as "
    "h0 @ W_hh, so carry it back once more, dh0 = da_1 @ W_hh.T.",
    ("end", "dh0*(1-h0²)"): "`dh0` is multiplied by 1 − h0²: the tanh derivative belongs to the "
    "steps 1 to 3, whose outputs are tanh's; h0 is an input, so dh0 = da_1 @ W_hh.T.",
    ("end", "dh0=dh_1"): "`dh0` is the gradient of h_1, one step short: carry it back once more, "
    "dh0 = da_1 @ W_hh.T.",
    ("end", "dh0=0"): "`dh0` is zero, but h0 feeds the first step, so the loss depends on it: "
    "dh0 = da_1 @ W_hh.T.",
}
_BPTT_ONLY = {("end", "dW_hh.T"): 1, ("end", "db_hh=0"): 3} | {  # the others spoil dh0
    ("end", end): 4 for end in ("dh0=da_1", "dh0*(1-h0²)", "dh0=dh_1", "dh0=0")
}
_BPTT_HINTS = {
    ("end", "dh0=0"): "dh0 is what truncated BPTT would pass to the segment before. " + _BPTT_HINT
}

BPTT_3_STEPS = DictCheck(
    name="bptt_3_steps",
    reference=_bptt_reference,
    make_cases=_bptt_cases,
    output_names=BPTT_KEYS,
    task="Run the 3 steps forward, keeping every h_t, then walk back from t = 3 to 1, adding "
    "each step's contribution to the weight gradients. Return a dict with the keys "
    f"{', '.join(BPTT_KEYS)}.",
    nan_hint="Nothing in BPTT divides: is an array made with np.empty (uninitialised)?",
    error_hint="xs is time first: xs[t - 1] is x_t, of shape (B, D). " + _LAYOUT,
    mistakes=slip_mistakes(
        _bptt, _BPTT_SLIPS, _BPTT_HINT, hints=_BPTT_HINTS, outputs=len(BPTT_KEYS), only=_BPTT_ONLY
    ),
)


check_bptt_3_steps = BPTT_3_STEPS.checker(
    'Check ``fn(xs, h0, W_ih, W_hh, b_ih, b_hh, dh3) -> {"dW_ih": ..., ..., "dh0": ...}``.'
)

# ---------------------------------------------------------------------------
# 3. lstm_cell(x, h, c, W_ih, W_hh, b_ih, b_hh) -> (h_new, c_new), gates (i, f, g, o)
# ---------------------------------------------------------------------------


def _lstm_reference(x, h, c, W_ih, W_hh, b_ih, b_hh):
    """dlbook's LSTM cell, gate blocks in PyTorch's order (i, f, g, o): (h_new, c_new)."""
    return rnn_np.lstm_cell_forward(x, (h, c), dict(W_ih=W_ih, W_hh=W_hh, b_ih=b_ih, b_hh=b_hh))[0]


def _lstm(*args, order="ifgo", acts="sigmoid/tanh", cell="f*c+i*g", h_of="c_new"):
    """An LSTM cell written out, with switches for the classic slips (defaults: right)."""
    x, h, c, W_ih, W_hh, b_ih, b_hh = args  # the exercise's arguments
    blocks = np.split(x @ W_ih + b_ih + h @ W_hh + b_hh, 4, axis=1)  # 4 x (B, H)
    a = dict(zip(order, blocks, strict=True))  # which block the learner takes for which gate
    # `acts` names the activation of the gates i, f, o, then that of the candidate g
    gate_act, g_act = ({"tanh": np.tanh, "sigmoid": sigmoid}[name] for name in acts.split("/"))
    i, f, o = (gate_act(a[k]) for k in "ifo")  # (B, H) each
    g = g_act(a["g"])  # (B, H)
    c_new = {
        "f*c+i*g": f * c + i * g,
        "i*g": i * g,
        "c+i*g": c + i * g,
        "f*h+i*g": f * h + i * g,
        "f*c+g": f * c + g,
        "f*c+(1-f)*g": f * c + (1 - f) * g,
    }[cell]
    if h_of == "tanh(o*c_new)":  # the gate applied before the squashing
        return np.tanh(o * c_new), c_new
    if h_of == "no_o":  # the output gate left out
        return np.tanh(c_new), c_new
    return o * {"c_new": np.tanh(c_new), "no_tanh": c_new, "old_c": np.tanh(c)}[h_of], c_new


def _lstm_cases(rng: np.random.Generator) -> list[Case]:
    return [
        _cell_case(rng, 3, 4, 5, "a batch of 3, D = 4, H = 5 (so W_ih is (4, 20))", G=4),
        _cell_case(rng, 2, 2, 3, "B = 2, D = 2, H = 3", G=4),
        _cell_case(rng, 1, 5, 4, "one sequence (B = 1), D = 5, H = 4", G=4),
        _cell_case(rng, 2, 3, 2, "large inputs: pre-activations in the hundreds", 300.0, G=4),
    ]


_LSTM_HINT = (
    "i, f, g, o = np.split(x @ W_ih + b_ih + h @ W_hh + b_hh, 4, axis=1); i, f, o through σ, "
    "g through tanh; c_new = f * c + i * g; h_new = o * np.tanh(c_new)."
)
_ORDER_NAMES = {
    "ifog": " (the order of CS231n's assignment and of Karpathy's char-rnn)",
    "igfo": " (the order of TensorFlow 1's LSTMCell, whose i, j, f, o has j = g)",
}
_ORDER_HINT = (
    "Columns 0:H of the gates are i, H:2H f, 2H:3H g, 3H:4H o: "
    "i, f, g, o = np.split(gates, 4, axis=1), then each gate in its own place: "
    "c_new = f * c + i * g, h_new = o * np.tanh(c_new)."
)
# (switch of _lstm, its value) -> what the learner did; first the 23 wrong orders of the gates
_ORDER_SLIPS = {
    ("order", order): f"you split the gates in the order {', '.join(order)}"
    f"{_ORDER_NAMES.get(order, '')}; the weights follow PyTorch's order, i, f, g, o."
    for order in map("".join, itertools.permutations("ifgo"))
    if order != "ifgo"
}
_LSTM_SLIPS = {
    ("acts", "sigmoid/sigmoid"): "you squashed the candidate g with a sigmoid: g = tanh(a_g) "
    "lies in (−1, 1), so that a step can lower the cell as well as raise it; only the gates "
    "i, f, o use σ.",
    ("acts", "tanh/sigmoid"): "you swapped tanh and σ: the gates i, f, o are σ, fractions in "
    "(0, 1) of what passes, and the candidate g is tanh.",
    ("acts", "tanh/tanh"): "your gates i, f, o use tanh: a gate is a σ, a fraction in (0, 1) "
    "of what passes; tanh lets it turn negative.",
    # slips in h_new alone: c_new is right, so they are named on h_new only
    ("h_of", "no_tanh"): "h_new = o ⊙ c_new: you forgot the tanh, h_new = o ⊙ tanh(c_new).",
    ("h_of", "old_c"): "h_new uses the old cell c: it shows the cell just updated, "
    "h_new = o ⊙ tanh(c_new).",
    ("h_of", "tanh(o*c_new)"): "h_new = tanh(o ⊙ c_new): the output gate acts after the "
    "squashing, h_new = o ⊙ tanh(c_new).",
    ("h_of", "no_o"): "h_new = tanh(c_new): you left out the output gate, h_new = o ⊙ tanh(c_new).",
    ("cell", "i*g"): "your c_new has no f ⊙ c term: the cell forgets everything at every step, "
    "which defeats the LSTM's memory. c_new = f ⊙ c + i ⊙ g.",
    ("cell", "c+i*g"): "you kept the old cell without the forget gate: "
    "c_new = f ⊙ c + i ⊙ g, not c + i ⊙ g.",
    ("cell", "f*h+i*g"): "you used h instead of c in c_new: the cell carries its own state, "
    "c_new = f ⊙ c + i ⊙ g.",
    ("cell", "f*c+g"): "you added g without the input gate: c_new = f ⊙ c + i ⊙ g.",
    ("cell", "f*c+(1-f)*g"): "you coupled the input gate to the forget gate, (1 − f) ⊙ g (a "
    "variant of the LSTM, and the GRU's way): this cell has its own input gate, "
    "c_new = f ⊙ c + i ⊙ g.",
}
_ON_H_NEW = {key: 0 for key in _LSTM_SLIPS if key[0] == "h_of"}

_SWAPPED = (  # (h_new, c_new) returned the wrong way round: the text for each output
    "you returned (c_new, h_new): the order is (h_new, c_new), like PyTorch's (h, c).",
    "your second output is h_new, where the cell state c_new belongs: the cell returns "
    "(h_new, c_new), like PyTorch's (h, c).",
)

LSTM_CELL = FunctionCheck(
    name="lstm_cell",
    reference=_lstm_reference,
    make_cases=_lstm_cases,
    output_names=("h_new", "c_new"),
    task="Return (h_new, c_new): split the (B, 4H) gates into i, f, g, o, then "
    "c_new = f * c + i * g and h_new = o * tanh(c_new).",
    nan_hint="Use np.tanh and a stable sigmoid, 1 / (1 + np.exp(-a)).",
    error_hint="The book stores weights (in, out): x (B, D) @ W_ih (D, 4H) and "
    "h (B, H) @ W_hh (H, 4H) give the (B, 4H) gates with no transpose.",
    mistakes=[
        *slip_mistakes(_lstm, _ORDER_SLIPS, _ORDER_HINT, outputs=2),
        *slip_mistakes(_lstm, _LSTM_SLIPS, _LSTM_HINT, outputs=2, only=_ON_H_NEW),
        # named on h_new only: a second output equal to h_new may follow a right h_new
        *(
            on_output(text, lambda *a: _lstm(*a)[::-1], k, "End with `return h_new, c_new`.")
            for k, text in enumerate(_SWAPPED)
        ),
    ],
)


check_lstm_cell = LSTM_CELL.checker(
    "Check ``fn(x, h, c, W_ih, W_hh, b_ih, b_hh) -> (h_new, c_new)``, gates (i, f, g, o)."
)

# ---------------------------------------------------------------------------
# 4. clip_by_global_norm(grads, max_norm) -> (clipped, total_norm)
# ---------------------------------------------------------------------------
#
# `clipped` is a list of arrays of different shapes: it is judged as one vector
# of all their entries (so that a known mistake is recognised by its values),
# after its structure, and `total_norm` as a number.


_clip_reference = clip_grad_norm  # dlbook.optim.clipping's, as torch's clip_grad_norm_


def _norm(grads) -> float:
    return float(np.sqrt(sum(np.sum(g * g) for g in grads)))


def _shrunk(grads, total: float, max_norm: float) -> list[np.ndarray]:
    """torch's rule with ``total`` as the norm: scale by max_norm / (total + 1e-6) if below 1."""
    coef = max_norm / (total + 1e-6)
    return [g * coef for g in grads] if coef < 1 else [g.copy() for g in grads]


def _flat(arrays: Sequence[np.ndarray]) -> np.ndarray:
    return np.concatenate([np.ravel(a) for a in arrays]) if len(arrays) else np.zeros(0)


_CLIP_HINT = (
    "total_norm = sqrt(sum of g**2 over every entry of every gradient); if it exceeds "
    "max_norm, multiply every gradient by the same factor max_norm / (total_norm + 1e-6)."
)


def _clip(grads, m, slip=""):
    """Clipping by the global norm written out, with switches for the classic slips."""
    total = {  # the global norm, and what is used in its place by mistake
        "no_sqrt": _norm(grads) ** 2,
        "sum_of_norms": sum(_norm([g]) for g in grads),
        "last_only": _norm(grads[-1:]),
    }.get(slip, _norm(grads))
    clipped = {  # the gradients, scaled otherwise than by _shrunk by mistake
        "each_own": lambda: [_shrunk([g], _norm([g]), m)[0] for g in grads],
        "always": lambda: [g * (m / (total + 1e-6)) for g in grads],
        "np_clip": lambda: [np.clip(g, -m, m) for g in grads],
        "inverse": lambda: [g * (total / m) for g in grads] if total > m else grads,
    }.get(slip, lambda: _shrunk(grads, total, m))()
    return _flat(clipped), _norm(clipped) if slip == "norm_after" else total


_CLIP_SLIPS = {  # (slip of _clip) -> what the learner did
    "each_own": "you clipped each gradient by its own norm: clipping by the global norm scales "
    "all of them by one factor, max_norm / total_norm, which keeps the direction of the "
    "whole update.",
    "always": "you scaled the gradients up: their total norm is below max_norm, and clipping "
    "only ever shrinks.",
    "np_clip": "you clipped each entry into [−max_norm, max_norm] (np.clip): that is "
    "clip_grad_value, which changes the direction of the gradient; clipping by the norm "
    "rescales it whole.",
    "no_sqrt": "your total_norm is the sum of the squares: you forgot the square root.",
    "sum_of_norms": "you added up the norms of the gradients, |g1| + |g2| + ...: the global norm "
    "is the norm of all entries together, √(|g1|² + |g2|² + ...).",
    "last_only": "your total_norm is the norm of the last gradient only: in the loop you "
    "overwrote it (total = ...) instead of adding up the squares of every gradient "
    "(total += ...), then took one square root at the end.",
    "inverse": "you multiplied by total_norm / max_norm, the inverse of the clipping factor: "
    "the gradients grew.",
    "norm_after": "you returned the norm after clipping; torch's clip_grad_norm_ returns the norm "
    "before clipping, the one compared with max_norm (and the one worth logging to "
    "spot exploding gradients).",
}
_CLIP_HINTS = {
    "always": "Scale only when total_norm > max_norm; otherwise return copies of the gradients.",
    "norm_after": "Measure total_norm first, then clip, and return that first measure.",
}


def _structure_problem(clipped: Any, grads: Sequence[np.ndarray]) -> Judgement:
    """`clipped` must be a list of arrays shaped like the gradients, finite."""
    n = len(grads)
    if not isinstance(clipped, (list, tuple)):
        hint = (
            "Return a list with one array per gradient, shaped like it: "
            "[g * scale for g in grads] (np.concatenate is only for measuring the norm), "
            "first: `return clipped, total_norm`."
        )
        return (
            f"`clipped` is {describe_type(clipped)}, but a list of {n} arrays, one per "
            "gradient, was expected",
            type_hint(clipped) if clipped is None else hint,
        )
    if len(clipped) != n:
        return (
            f"`clipped` holds {len(clipped)} arrays, but there are {n} gradients",
            "Return one clipped array per gradient, in the same order.",
        )
    for j, (got, g) in enumerate(zip(clipped, grads, strict=True)):
        problem = array_problem(got, g.shape, f"`clipped[{j}]`")
        if problem is not None:
            nan = "NaN" in problem[0]
            return (problem[0], "Is the norm 0, or a division by 0?" if nan else problem[1])
    return None


def _norm_problem(total: Any, n_grads: int) -> Judgement:
    """`total_norm` must be one finite number."""
    norm = as_number(total)
    if norm is None:
        hint = type_hint(total) if total is None else "Return one number: float(...)."
        if isinstance(total, (np.ndarray, list, tuple)) and np.size(total) == n_grads:
            hint = (
                "You returned one norm per gradient? total_norm is one number, the norm of "
                "all the gradients together."
            )
        return f"`total_norm` is {describe_type(total)}, but a number was expected", hint
    if not np.isfinite(norm):
        return "`total_norm` is NaN or inf", "Sum the squares of the entries, then np.sqrt."
    return None


def _judge_clip(check: JudgedCheck, outputs: tuple[Any, ...], case: Case) -> Judgement:
    """The structure, then the number, then the values; a known mistake is named if one matches."""
    grads, _ = case.args
    problem = _structure_problem(outputs[0], grads) or _norm_problem(outputs[1], len(grads))
    if problem is not None:
        return problem
    clipped, norm = list(outputs[0]), float(as_number(outputs[1]))
    expected, expected_norm = check.reference(*case.args)
    tol = (check.rtol, check.atol)
    if not matches(_flat(clipped), _flat(expected), *tol):  # `clipped` first
        j = next(j for j, e in enumerate(expected) if not matches(clipped[j], e, *tol))
        detail = f"In `clipped[{j}]`, " + first_mismatch(clipped[j], expected[j], *tol)
        mistake = check.named_mistake(_flat(clipped), 0, case, view=_flat)
        wrong = (
            f"`clipped` has wrong values: the joint norm of your clipped gradients is "
            f"{_norm(clipped):.6g}, where {_norm(expected):.6g} is expected."
        )
    elif not matches(np.asarray(norm), np.asarray(expected_norm), *tol):
        detail = f"You return total_norm = {norm:.6g} where {expected_norm:.6g} is expected"
        mistake = check.named_mistake(np.asarray(norm), 1, case, view=np.asarray)
        wrong = "`total_norm` is wrong."
    else:
        return None
    if mistake is not None:
        return f"{mistake.explanation} {detail}", mistake.hint
    return f"{wrong} {detail}", _CLIP_HINT


def _clip_cases(rng: np.random.Generator) -> list[Case]:
    def case(grads: list[np.ndarray], max_norm: float, what: str) -> Case:
        label = f"{what}, total norm {_norm(grads):.3g}, max_norm = {max_norm:g}"
        return Case((ArrayList(grads), max_norm), label=label)

    shapes = [(3, 4), (5,), (2, 3, 2)]
    cases = [
        case([rng.normal(size=s) for s in shapes], 1.0, "3 gradients"),
        case([0.05 * rng.normal(size=s) for s in shapes], 1.0, "3 small gradients"),
        case([3.0 * rng.normal(size=10)], 2.0, "a single gradient"),
        case([0.1 * rng.normal(size=(4, 4)), 20.0 * rng.normal(size=3)], 5.0, "a tiny and a huge"),
    ]
    return stressed(cases, 3)


CLIP_BY_GLOBAL_NORM = JudgedCheck(
    inplace_hint="Build new arrays, `[g * scale for g in grads]`, instead of `g *= scale` "
    "or assigning into the list.",
    name="clip_by_global_norm",
    reference=_clip_reference,
    make_cases=_clip_cases,
    output_names=("clipped", "total_norm"),
    task="Return (clipped, total_norm): total_norm is the norm of all entries of all "
    "gradients; if it exceeds max_norm, every gradient is multiplied by "
    "max_norm / (total_norm + 1e-6).",
    mistakes=slip_mistakes(
        _clip, _CLIP_SLIPS, _CLIP_HINT, hints=_CLIP_HINTS, outputs=2, only={"norm_after": 1}
    ),
    judge=_judge_clip,
)


check_clip_by_global_norm = CLIP_BY_GLOBAL_NORM.checker(
    "Check ``fn(grads, max_norm) -> (clipped, total_norm)`` against ``clip_grad_norm_``."
)

# ---------------------------------------------------------------------------
# 5. perplexity_from_logits(logits (N, V), targets (N,)) -> float
# ---------------------------------------------------------------------------


def _perplexity_reference(logits, targets):
    """exp of dlbook.lm.metrics' mean cross-entropy in nats: a number >= 1."""
    return lm_metrics.perplexity(lm_metrics.cross_entropy_from_logits(logits, targets))


def _perplexity(z, t, nll="stable", then="exp_mean", eps=0.0):
    """Perplexity written out, with switches for the classic slips (defaults: right)."""
    rows = np.arange(len(t))
    losses = {  # -log p of each target (N,), and what is used in its place by mistake
        "stable": lambda: -log_softmax(z)[rows, t],
        "logits": lambda: -z[rows, t],
        "eps": lambda: -np.log(np.exp(log_softmax(z))[rows, t] + eps),  # log(p + ε)
        "columns": lambda: -log_softmax(z)[:, t],  # (N, N)
        "global_max": lambda: np.log(np.exp(z - z.max()).sum(1)) - (z - z.max())[rows, t],
        "axis0": lambda: -log_softmax(z, axis=0)[rows, t],
        "softmax": lambda: -np.log(np.exp(z) / np.exp(z).sum(1, keepdims=True))[rows, t],
        "logsumexp": lambda: np.log(np.exp(z).sum(1)) - z[rows, t],
    }[nll]()
    return {  # exp of the mean loss, and what is made of the losses in its place by mistake
        "exp_mean": lambda nats: np.exp(np.mean(nats)),
        "exp_sum": lambda nats: np.exp(np.sum(nats)),
        "exp_minus_mean": lambda nats: np.exp(-np.mean(nats)),
        "inverse_mean_p": lambda nats: 1.0 / np.mean(np.exp(-nats)),
        "mean": np.mean,
        "two_to_mean": lambda nats: 2.0 ** np.mean(nats),
        "bits": lambda nats: np.mean(nats) / np.log(2.0),
        "exp_bits": lambda nats: np.exp(np.mean(nats) / np.log(2.0)),
        "mean_exp": lambda nats: np.mean(np.exp(nats)),
        "exp_each": np.exp,
    }[then](losses)


def _perplexity_cases(rng: np.random.Generator) -> list[Case]:
    def case(logits: np.ndarray, label: str, stress: bool = False) -> Case:
        N, V = logits.shape
        return Case((logits, rng.integers(0, V, size=N)), label=label, stress=stress)

    return [
        case(rng.normal(size=(6, 5)), "6 tokens, a vocabulary of V = 5"),
        case(np.zeros((5, 7)), "equal logits, p = 1/7 for every token: the perplexity is 7"),
        case(3.0 * rng.normal(size=(4, 10)), "a confident model, logits of scale 3, V = 10"),
        case(1000.0 + 5.0 * rng.normal(size=(3, 4)), "large logits near 1000", stress=True),
        case(
            np.array([[1000.0], [0.0], [-1000.0], [500.0]]) + 5.0 * rng.normal(size=(4, 6)),
            "rows near 1000, 0, -1000 and 500: each row needs its own max",
            stress=True,
        ),
    ]


_PPL_HINT = (
    "Perplexity = exp(mean cross-entropy): log_p = z - logsumexp(z) row by row (subtract "
    "the max first), nll = -log_p[np.arange(N), targets], return np.exp(nll.mean())."
)
_BITS = "(Bits per character = nats / ln 2, and e^nats = 2^bits: one perplexity, two units.)"

_PPL_SLIPS = {  # (switch of _perplexity, its value) -> what the learner did
    **{
        (("nll", "eps"), ("eps", eps)): "you computed log(p + ε): the ε lowers the loss of "
        "every unlikely token. The log-softmax, z − logsumexp(z), never reaches log 0: no ε."
        for eps in (1e-5, 1e-6, 1e-7, 1e-8, 1e-9)
    },
    ("nll", "logits"): "you used the logits as log-probabilities: a logit is a score, and "
    "log p = z − logsumexp(z) (the log-softmax) turns it into a log-probability.",
    ("then", "exp_sum"): "you exponentiated the summed loss instead of the mean: perplexity is exp "
    "of the average cross-entropy per token, so it does not grow with the number of tokens.",
    ("then", "exp_minus_mean"): "you returned exp(mean log p), which is 1 / perplexity: the "
    "cross-entropy is −log p, so perplexity = exp(−mean log p) ≥ 1.",
    ("nll", "columns"): "you indexed log_p[:, targets], an (N, N) array (every token's row at "
    "every target), and averaged all of it: pick one entry per row, "
    "log_p[np.arange(N), targets].",
    ("then", "inverse_mean_p"): "you returned 1 / mean(p), the inverse of the average probability "
    "of the targets: perplexity is the inverse of their geometric mean, exp(−mean log p).",
    ("nll", "global_max"): "you subtracted the largest logit of the whole array, not each row's: "
    "a row far below it gets exp(−1000) = 0 everywhere, and log 0 = −inf.",
    ("then", "mean"): "you returned the cross-entropy in nats: you forgot to exponentiate.",
    ("then", "two_to_mean"): "you raised 2 to a cross-entropy measured in nats: 2^H is the "
    "perplexity when H is in bits; with natural logs (np.log) it is e^H. " + _BITS,
    ("then", "bits"): "you returned the cross-entropy in bits per token (nats / ln 2), not the "
    "perplexity. " + _BITS,
    ("then", "exp_bits"): "you raised e to a cross-entropy measured in bits: with log2 the "
    "perplexity is 2^H. " + _BITS,
    ("then", "mean_exp"): "you averaged the per-token perplexities, mean(exp(nll)), instead of "
    "exponentiating the mean loss, exp(mean(nll)): by Jensen's inequality the first is larger.",
    ("then", "exp_each"): "you returned one perplexity per token: average the cross-entropy over "
    "the tokens first, then exponentiate once.",
    ("nll", "axis0"): "your log-softmax normalises over the tokens (axis 0) instead of over the "
    "vocabulary (axis 1).",
    ("nll", "softmax"): "your softmax is not numerically stable: exp(1000) overflows to inf, "
    "and inf / inf is NaN.",
    ("nll", "logsumexp"): "your log-sum-exp is not numerically stable: log(sum(exp(z))) is "
    "log(inf) for logits near 1000.",
}
_PPL_HINTS = {
    ("nll", "global_max"): "m = logits.max(axis=1, keepdims=True): one max per row. " + _PPL_HINT,
    ("nll", "axis0"): "Each row of logits is one token's scores over the V words: axis=1.",
    ("nll", "softmax"): "Subtract each row's max before np.exp: softmax(z) = softmax(z - max).",
    ("nll", "logsumexp"): "logsumexp(z) = m + log(sum(exp(z - m))) with m = the row's max.",
}

PERPLEXITY_FROM_LOGITS = FunctionCheck(
    name="perplexity_from_logits",
    reference=_perplexity_reference,
    make_cases=_perplexity_cases,
    task="Return exp of the mean cross-entropy (in nats) of the targets under "
    "softmax(logits), one number.",
    nan_hint="exp(1000) overflows and exp(-1000) underflows to 0: compute log-softmax as "
    "z - m - log(sum(exp(z - m))) with m = each row's own max (axis=1, keepdims=True).",
    mistakes=slip_mistakes(_perplexity, _PPL_SLIPS, _PPL_HINT, hints=_PPL_HINTS),
)


check_perplexity_from_logits = PERPLEXITY_FROM_LOGITS.checker(
    "Check ``fn(logits (N, V), targets (N,)) -> perplexity``, exp of the mean nats."
)

# ---------------------------------------------------------------------------
# 6. sample_with_temperature(logits (V,), temperature, rng) -> int
# ---------------------------------------------------------------------------
#
# The exercise defines the draw: p = softmax(logits / T), then rng.choice(V, p=p).
# dlbook.lm.sampling draws by inverse CDF from one rng.random() per token, as
# rng.choice does, so the two give the same tokens from the same generator.
# The check calls the learner's function DRAWS times with one seeded generator:
# * the generator must have moved (the draw comes from `rng`);
# * the same DRAWS tokens as the reference's pass at once;
# * any other sampler (the Gumbel-max trick, an inverse CDF of its own) is judged
#   by the frequencies: with n draws, the frequency of a token of probability p
#   has standard deviation sqrt(p (1 - p) / n), at most 0.0071 for n = 5000. The
#   tolerance, 6 of them plus 0.001 (as for dropout's fraction of zeros), rejects
#   a correct sampler with probability about 1e-8 per token. In the first two test
#   cases every known wrong distribution differs from the right one by at least
#   0.17 in some token, more than 5 tolerances (the third case tests stability);
# * a sampler that passes on frequencies must give the same tokens again from a
#   generator in the same state.

DRAWS = 5000  # calls per test case
REPEAT = 200  # draws repeated to test that the same generator state gives the same tokens


@dataclass(frozen=True)
class DistributionMistake:
    """A wrong sampler recognised by the distribution of its draws."""

    explanation: str  # e.g. "you multiplied the logits by T."
    probs: Callable[[np.ndarray, float], np.ndarray]  # the distribution it draws from (V,)
    hint: str = ""


def _p(logits: np.ndarray, T: float) -> np.ndarray:
    """softmax(logits / T), (V,), from dlbook.lm.sampling."""
    return np.asarray(lm_sampling.softmax_with_temperature(logits, T), dtype=float)


_SAMPLE_HINT = (
    "z = logits / temperature; p = np.exp(z - z.max()); p = p / p.sum(); "
    "return int(rng.choice(len(logits), p=p))."
)
_distribution = functools.partial(DistributionMistake, hint=_SAMPLE_HINT)
_INDEX = "rng.choice(len(logits), p=p) draws an index; rng.choice(logits, p=p) draws a logit."

SAMPLING_MISTAKES = [
    _distribution(
        "you multiplied the logits by T instead of dividing (or raised the probabilities "
        "to the power T, which is the same): T < 1 should sharpen the distribution and "
        "T > 1 flatten it, and multiplying does the opposite.",
        lambda z, T: _p(z * T, 1.0),
    ),
    _distribution(
        "your draws follow softmax(logits): the temperature is missing or has no effect "
        "(subtracting T, or dividing p by T and renormalising, changes nothing): divide the "
        "logits, logits / T.",
        lambda z, T: _p(z, 1.0),
    ),
    _distribution(
        "you always pick the most likely token (argmax): that is greedy decoding, not sampling.",
        lambda z, T: np.eye(len(z))[int(np.argmax(z))],
    ),
    DistributionMistake(
        "you raised the probabilities to the power 1/T without renormalising: p ** (1/T) "
        "sums to more than 1 when T > 1, so the last tokens are never reached.",
        # an inverse CDF on p ** (1/T): the cumulative sum stops at 1
        lambda z, T: np.diff(np.minimum(np.cumsum(_p(z, 1.0) ** (1.0 / T)), 1.0), prepend=0.0),
        "p ** (1 / T) / (p ** (1 / T)).sum() is exactly softmax(logits / T). " + _SAMPLE_HINT,
    ),
    _distribution(
        "your draws are uniform: every token is equally likely, whatever the logits.",
        lambda z, T: np.full(len(z), 1.0 / len(z)),
    ),
]


def _token_problem(value: Any, V: int) -> Judgement:
    """A token must be one integer in 0..V-1."""
    if isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "iu":
        value = value[()]
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        if 0 <= int(value) < V:
            return None
        return (
            f"you returned token {int(value)}, but a vocabulary of {V} has the indices "
            f"0 to {V - 1}",
            f"Indices count from 0. {_INDEX} If you search a cumulative sum, the probabilities "
            f"must sum to 1 first. {_SAMPLE_HINT}",
        )
    if isinstance(value, np.ndarray) and value.shape == (V,):
        return (
            f"you returned an array of shape ({V},), one value per token (the "
            "probabilities?), but one token index was expected",
            "Draw one index from the probabilities: " + _SAMPLE_HINT,
        )
    if isinstance(value, np.ndarray) and value.size == 1:
        return (
            f"you returned an array of shape {value.shape}, but one integer was expected",
            "Call rng.choice(V, p=p) without size=..., or return int(...) of it.",
        )
    if isinstance(value, (float, np.floating)):
        return (
            f"you returned a float ({float(value):g}), but a token index is an integer",
            "Return int(...) of the index you draw: " + _INDEX,
        )
    return (
        f"you returned {describe_type(value)}, but one integer (a token index) was expected",
        type_hint(value) if value is None else _SAMPLE_HINT,
    )


@dataclass
class SamplingCheck(JudgedCheck):
    """The check of a sampler: many draws from one seeded generator, judged by ``judge``.

    ``rng.choice`` refuses probabilities that are NaN or do not sum to 1; those
    errors name a mistake of their own.
    """

    draws: int = DRAWS  # calls per test case

    def _call_failure(self, call: Call, budget: float, where: str) -> CheckResult | None:
        if isinstance(call.error, ValueError):
            for phrase, (message, hint) in _CHOICE_ERRORS.items():
                if phrase in str(call.error):
                    return fail(self.name, f"{message} {where}.", hint)
        return super()._call_failure(call, budget, where)

    def draw_many(self, logits: np.ndarray, T: float, seed: int, n: int) -> tuple:
        """n tokens from the learner, all drawn with one ``default_rng(seed)``.

        Returns (draws (n,), whether the generator moved, None) or (None, False, problem).
        """
        rng = np.random.default_rng(seed)
        before = rng.bit_generator.state
        fn, V = self.run_state.fn, len(logits)
        budget = self.run_state.deadline - time.perf_counter()
        call = call_student(lambda: [fn(logits.copy(), T, rng) for _ in range(n)], (), {}, budget)
        problem = again_problem(call) or next(  # each token must be one integer in 0..V-1
            filter(None, (_token_problem(value, V) for value in call.value)), None
        )
        if problem is not None:
            return None, False, problem
        return np.array([int(v) for v in call.value]), rng.bit_generator.state != before, None


_CHOICE_ERRORS = {  # a phrase of rng.choice's ValueError -> (message, hint)
    "sum to 1": (
        "rng.choice refused your probabilities: they do not sum to 1",
        "Did you raise softmax(logits) to the power 1/T, or exponentiate logits / T, without "
        "dividing by the sum? " + _SAMPLE_HINT,
    ),
    "contain NaN": (
        "your probabilities contain NaN: exp(logits / T) overflows to inf for a small T "
        "(logits / T in the thousands), and inf / inf is NaN",
        "Subtract the max before np.exp: softmax(z) = softmax(z - z.max()). " + _SAMPLE_HINT,
    ),
    "non-negative": (
        "rng.choice refused your probabilities: some are negative",
        "Did you pass the logits themselves as p? " + _SAMPLE_HINT,
    ),
}


def _frequency_tolerance(p: np.ndarray, n: int) -> np.ndarray:
    """6 standard deviations of the frequencies of tokens of probabilities p in n draws."""
    return 6.0 * np.sqrt(p * (1 - p) / n) + 1e-3


def _measured(freq: np.ndarray, p: np.ndarray, n: int) -> str:
    k = int(np.argmax(np.abs(freq - p)))
    return (
        f"Token {k} came up in {freq[k]:.1%} of {n} draws, where softmax(logits / T) "
        f"gives it {p[k]:.1%}"
    )


def _frequency_problem(check: SamplingCheck, logits, T, seed, draws) -> Judgement:
    """Draws other than the reference's: right if their frequencies follow p, reproducibly."""
    n, p = len(draws), _p(logits, T)
    freq = np.bincount(draws, minlength=len(logits)) / n
    if np.all(np.abs(freq - p) <= _frequency_tolerance(p, n)):
        again, _, problem = check.draw_many(logits, T, seed, REPEAT)
        if problem is None and not array_equal(again, draws[:REPEAT]):
            problem = (
                "two runs from generators in the same state gave different tokens: part of "
                "your randomness does not come from `rng`",
                "Draw only with the `rng` you are given (no np.random.*). " + _SAMPLE_HINT,
            )
        return problem
    for mistake in SAMPLING_MISTAKES:
        q = mistake.probs(logits, T)
        if np.all(np.abs(freq - q) <= _frequency_tolerance(q, n)):
            return f"{mistake.explanation} {_measured(freq, p, n)}", mistake.hint
    tolerance = float(np.max(_frequency_tolerance(p, n)))
    return (
        f"your draws do not follow softmax(logits / T). {_measured(freq, p, n)} "
        f"(± {tolerance:.1%})",
        _SAMPLE_HINT,
    )


def _judge_sampling(check: JudgedCheck, outputs: tuple[Any, ...], case: Case) -> Judgement:
    assert isinstance(check, SamplingCheck)
    logits, T, rng = case.args
    problem = _token_problem(outputs[0], len(logits))
    if problem is None:
        draws, moved, problem = check.draw_many(logits, T, rng.seed, check.draws)
    if problem is not None:
        return problem
    if not moved:  # greedy decoding, or randomness from elsewhere
        if np.all(draws == draws[0]) and draws[0] == int(np.argmax(logits)):
            return (
                f"your function always returns token {int(draws[0])}, the most likely one, "
                "and never draws from `rng`: that is greedy decoding (argmax), not sampling",
                _SAMPLE_HINT,
            )
        return (
            f"after {len(draws)} calls the generator `rng` is still in its first state: your "
            "function does not draw from it (np.random.*, or a generator of its own?)",
            "Draw with the `rng` you are given, so that the caller decides the randomness. "
            + _SAMPLE_HINT,
        )
    reference = np.random.default_rng(rng.seed)  # the same state as the learner's
    expected = [check.reference(logits.copy(), T, reference) for _ in range(check.draws)]
    same = array_equal(draws, expected)
    return None if same else _frequency_problem(check, logits, T, rng.seed, draws)


_sampling_reference = lm_sampling.sample_with_temperature  # rng.choice(V, p=softmax(z / T))


def _sampling_cases(rng: np.random.Generator) -> list[Case]:
    specs = [  # (logits, T, label); case k draws from SeededRng(k + 1); the last one is stress
        ([4.0, 2.5, 1.0, 0.0, -1.0, -2.5, 3.0, 0.5], 2.0, "8 tokens, T = 2 (flatter than softmax)"),
        ([2.0, 1.0, 0.5, 0.0, -1.0], 0.5, "5 tokens, T = 0.5 (sharper than softmax)"),
        (
            [3.0, 20.0, -5.0, 17.0, 0.0, 19.0],
            0.01,
            "logits up to 20 with T = 0.01, so logits / T reach 2000",
        ),
    ]
    return [
        Case((np.array(z), T, SeededRng(k + 1)), label=label, stress=k == 2)
        for k, (z, T, label) in enumerate(specs)
    ]


SAMPLE_WITH_TEMPERATURE = SamplingCheck(
    name="sample_with_temperature",
    reference=_sampling_reference,
    make_cases=_sampling_cases,
    task="p = softmax(logits / temperature) (subtract the max first); return "
    "int(rng.choice(len(logits), p=p)).",
    judge=_judge_sampling,
)


check_sample_with_temperature = SAMPLE_WITH_TEMPERATURE.checker(
    "Check ``fn(logits (V,), temperature, rng) -> int`` over thousands of seeded draws.",
    time_budget=10.0,
)

__all__ = [
    "BPTT_KEYS",
    "DistributionMistake",
    "SamplingCheck",
    "check_bptt_3_steps",
    "check_clip_by_global_norm",
    "check_lstm_cell",
    "check_perplexity_from_logits",
    "check_rnn_step",
    "check_sample_with_temperature",
]
