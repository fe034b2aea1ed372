"""Checks for the exercises of chapter 3 (convolutional networks).

Each check compares a learner's function with :mod:`dlbook.cnn.numpy_backend`
or :mod:`dlbook.normalization.numpy_backend` and recognises the classic
mistakes by name::

    from dlbook.checks.cnn import check_conv2d_forward
    check_conv2d_forward(conv2d_forward)   # ✅ conv2d_forward: correct on 4 test cases.

Shape legend: x is (B, C, H, W) (channels first); W is (F, C, KH, KW); b is (F,);
the output and ``grad_out`` are (B, F, Ho, Wo). Batch norm: x is (B, C) or
(B, C, H, W); gamma, beta and the running statistics are (C,).

The test cases are chosen so that every two named mistakes give different
outputs on at least two cases (``tests/checks/test_cnn_checks.py`` verifies
it), and each check has a numerically stressful case (large offsets, a
variance far below 1, a huge axis).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from dlbook.checks._core import Case, FunctionCheck, describe_type
from dlbook.checks._kinds import TypedCheck, slip_mistakes, stressed
from dlbook.cnn import conv_output_size
from dlbook.cnn import numpy_backend as cnn_np
from dlbook.normalization import numpy_backend as norm_np

# ---------------------------------------------------------------------------
# 1. conv2d_forward(x, W, b, stride, padding) -> (B, F, Ho, Wo)
# ---------------------------------------------------------------------------


def _conv_cases(rng: np.random.Generator) -> list[Case]:
    def data(x_shape: tuple[int, ...], w_shape: tuple[int, ...], offset: float = 0.0):
        x = offset + rng.normal(size=x_shape)
        return x, rng.normal(size=w_shape), rng.normal(size=w_shape[0])

    return [
        Case((*data((2, 3, 7, 7), (4, 3, 3, 3)), 2, 1), label="stride 2, padding 1"),
        Case((*data((1, 2, 8, 9), (3, 2, 2, 3)), 1, 2), label="a 2x3 kernel, padding 2"),
        Case((*data((2, 1, 9, 6), (2, 1, 3, 3)), 2, 0), label="stride 2 on an odd 9x6 image"),
        Case(
            (*data((3, 2, 6, 6), (2, 2, 3, 3), offset=1e4), 1, 1),
            label="pixels near 10,000 with zero padding around them",
            stress=True,
        ),
    ]


def _pad(x, before, after):
    """Pad the images of x with ``before`` zeros at the top/left, ``after`` at the bottom/right."""
    return np.pad(x, ((0, 0), (0, 0), (before, after), (before, after)))


def _conv(x, W, b, stride, padding, *, slip=""):
    """dlbook's conv2d, or the same with one classic slip."""
    if slip == "bottom right":
        x, padding = _pad(x, 0, 2 * padding), 0
    if slip == "stride 1 windows":  # as many windows as the output has, at (h, w) not (s*h, s*w)
        Ho, Wo = cnn_np.conv2d(x, W, b, stride, padding).shape[2:]
        return cnn_np.conv2d(x, W, b, 1, padding)[:, :, :Ho, :Wo]
    W = {"flipped": W[:, :, ::-1, ::-1], "kernel transposed": W.transpose(0, 1, 3, 2)}.get(slip, W)
    bias = np.zeros_like(b) if slip in ("no bias", "bias last axis") else b
    stride = 1 if slip == "no stride" else stride
    out = cnn_np.conv2d(x, W, bias, stride, 0 if slip == "no padding" else padding)
    if slip == "bias last axis":  # None where b cannot broadcast (the learner's code raises)
        return out + b if out.shape[-1] == b.shape[0] else None
    axes = {"channels last": (0, 2, 3, 1), "output transposed": (0, 1, 3, 2)}.get(slip)
    return out if axes is None else out.transpose(axes)


_CONV_SLIPS = {  # slip -> what the learner is told
    "flipped": "you flipped the kernel (a convolution in the textbook sense); deep-learning "
    "libraries compute a cross-correlation, with the kernel as it is.",
    "no padding": "you ignored `padding`.",
    "no stride": "you ignored `stride`: your windows start at every pixel, not every `stride` "
    "pixels.",
    "stride 1 windows": "your output has the right shape, but window (h, w) starts at pixel "
    "(h, w) instead of (stride*h, stride*w).",
    "no bias": "you forgot the bias b.",
    "bottom right": "you padded only at the bottom and right (2 * padding zeros there, none at "
    "the top and left).",
    "bias last axis": "you added b along the last axis: `out + b` lines b (F,) up with the width "
    "Wo, not with the filter axis 1.",
    "channels last": "your output is channels last, (B, Ho, Wo, F); this book's layout is "
    "(B, F, Ho, Wo).",
    "kernel transposed": "you transposed each kernel: you multiply window[c, i, j] by "
    "W[f, c, j, i], and your windows are KW x KH instead of KH x KW.",
    "output transposed": "your output's last two axes are swapped: (B, F, Wo, Ho) instead of "
    "(B, F, Ho, Wo).",
}

_STRIDE_HINT = "Output (h, w) reads the window whose top-left corner is (stride*h, stride*w)."
_CONV_HINTS = {  # "no stride" and "stride 1 windows": _STRIDE_HINT
    "flipped": "Multiply window[c, i, j] by W[f, c, i, j] for the same (i, j): no [::-1].",
    "no padding": "Pad first: np.pad(x, ((0, 0), (0, 0), (p, p), (p, p))) adds p zeros on each "
    "side.",
    "no bias": "Add b[f] to every output of filter f: out + b[None, :, None, None].",
    "bottom right": "Put `padding` zeros on every side: ((p, p), (p, p)) for the last two axes.",
    "bias last axis": "Reshape b to (1, F, 1, 1): out + b[None, :, None, None].",
    "channels last": "Name the output axes in the order b, f, h, w: np.einsum(..., '...->bfhw'), "
    "or .transpose(0, 3, 1, 2) at the end.",
    "kernel transposed": "Cut KH x KW windows (W.shape[2:], in that order) and pair the axes i, "
    "j of the window with W[f, c, i, j].",
    "output transposed": "Keep the window grid's axes in order: '...->bfhw' with h the row, w "
    "the column.",
}

CONV_FORWARD = FunctionCheck(
    name="conv2d_forward",
    reference=cnn_np.conv2d,
    make_cases=_conv_cases,
    task="Return out (B, F, Ho, Wo) with out[b, f, h, w] = b[f] + sum over c, i, j of "
    "W[f, c, i, j] * x_pad[b, c, stride*h + i, stride*w + j].",
    mistakes=slip_mistakes(_conv, _CONV_SLIPS, _STRIDE_HINT, hints=_CONV_HINTS),
    error_hint="Ho = (H + 2 * padding - KH) // stride + 1, and likewise Wo.",
)


check_conv2d_forward = CONV_FORWARD.checker(
    "Check ``fn(x, W, b, stride, padding) -> out`` against dlbook's conv2d.", time_budget=10.0
)

# ---------------------------------------------------------------------------
# 2. conv2d_backward_weights(x, W, grad_out, stride, padding) -> dL/dW (F, C, KH, KW)
# ---------------------------------------------------------------------------


def _grad_w_cases(rng: np.random.Generator) -> list[Case]:
    cases = _conv_cases(rng)
    for case in cases:  # the same inputs, with a grad_out in place of b
        x, W, _, s, p = case.args
        case.args = (x, W, rng.normal(size=cnn_np.conv2d(*case.args).shape), s, p)
    return cases


def _grad_w(x, W, grad_out, stride, padding, *, slip=""):
    """dL/dW from dlbook's conv2d_backward, or the same with one classic slip."""
    if slip == "no stride":  # windows taken at stride 1: the first Ho x Wo of them
        (Ho, Wo), (KH, KW) = grad_out.shape[2:], W.shape[2:]
        x = _pad(x, padding, padding)[:, :, : Ho + KH - 1, : Wo + KW - 1]
        stride, padding = 1, 0
    if slip == "unpadded":
        x, padding = _pad(x, 0, 2 * padding), 0
    dW = cnn_np.conv2d_backward(x, W, grad_out, stride, padding)[1]
    if slip == "mean":
        return dW / x.shape[0]
    if slip == "flipped":
        return dW[:, :, ::-1, ::-1]
    axes = {"FC swapped": (1, 0, 2, 3), "ij swapped": (0, 1, 3, 2)}.get(slip)
    return dW if axes is None else dW.transpose(axes)


_GRAD_W_SLIPS = {  # slip -> what the learner is told
    "mean": "you averaged over the batch instead of summing: dL/dW is B times larger.",
    "flipped": "your gradient is the kernel flipped by 180 degrees.",
    "no stride": "you took the windows at stride 1, ignoring `stride`.",
    "unpadded": "your windows ignore the padding: pad x by `padding` zeros on every side first, "
    "as in the forward pass.",
    "FC swapped": "your gradient has the filter and channel axes swapped: (C, F, KH, KW) "
    "instead of (F, C, KH, KW).",
    "ij swapped": "your gradient has the kernel's row and column axes swapped: (F, C, KW, KH) "
    "instead of (F, C, KH, KW).",
}

_GRAD_W_HINTS = {
    "mean": "Each example adds its own contribution: sum over b, h and w (no division).",
    "flipped": "dW[f, c, i, j] pairs g[b, f, h, w] with x_pad[b, c, stride*h + i, stride*w + j].",
    "no stride": "Output (h, w) came from the window at (stride*h, stride*w): use the same "
    "windows.",
    "unpadded": "Use np.pad(x, ((0, 0), (0, 0), (p, p), (p, p))) before cutting the windows.",
    "FC swapped": "dL/dW has the shape of W, (F, C, KH, KW).",
    "ij swapped": "dW[f, c, i, j]: i is the row inside the window (KH of them), j the column.",
}

GRAD_W = FunctionCheck(
    name="conv2d_backward_weights",
    reference=_grad_w,
    make_cases=_grad_w_cases,
    task="Return dW (F, C, KH, KW) with dW[f, c, i, j] = sum over b, h, w of "
    "grad_out[b, f, h, w] * x_pad[b, c, stride*h + i, stride*w + j].",
    mistakes=slip_mistakes(_grad_w, _GRAD_W_SLIPS, hints=_GRAD_W_HINTS),
)


check_conv2d_backward_weights = GRAD_W.checker(
    "Check ``fn(x, W, grad_out, stride, padding) -> dL/dW``.", time_budget=10.0
)

# ---------------------------------------------------------------------------
# 3. max_pool_backward(x, grad_out, k) -> dL/dx, non-overlapping k x k windows
# ---------------------------------------------------------------------------


def _pool_cases(rng: np.random.Generator) -> list[Case]:
    def data(shape: tuple[int, ...], k: int, offset: float = 0.0) -> tuple[Any, ...]:
        x = offset + rng.normal(size=shape)  # distinct values: no ties at the maximum
        return x, rng.normal(size=cnn_np.max_pool2d(x, k).shape), k

    return [
        Case(data((2, 3, 8, 8), 2), label="2x2 windows on 8x8 images"),
        Case(data((1, 2, 7, 9), 2), label="2x2 windows on an odd 7x9 image"),
        Case(data((2, 2, 9, 9), 3), label="3x3 windows"),
        Case(data((2, 2, 6, 6), 2, offset=1e6), label="pixels near 1,000,000", stress=True),
    ]


def _pool_backward(x, grad_out, k, *, slip=""):
    """dlbook's max-pool backward pass, or the same with one classic slip."""
    if slip in ("average", "copied"):  # the backward pass of average pooling, maybe times k*k
        dx = cnn_np.avg_pool2d_backward(x, grad_out, k)
        return dx * k * k if slip == "copied" else dx
    if slip not in ("flat reshape", "transposed in window"):
        g = np.ones_like(grad_out) if slip == "mask only" else grad_out
        return cnn_np.max_pool2d_backward(-x if slip == "minimum" else x, g, k)
    B, C, H, W = x.shape
    Ho, Wo = H // k, W // k
    covered = x[:, :, : Ho * k, : Wo * k]
    if slip == "flat reshape":  # x.reshape(B, C, Ho, Wo, k, k), which does not cut out windows
        blocks = covered.reshape(B, C, Ho, Wo, k, k)
        mask = blocks == blocks.max(axis=(4, 5), keepdims=True)  # (B, C, Ho, Wo, k, k)
        d = mask * grad_out[..., None, None]
    else:  # the gradient sent to (column, row) of each window's arg-max
        win = covered.reshape(B, C, Ho, k, Wo, k)
        mask = win == win.max(axis=(3, 5), keepdims=True)  # (B, C, Ho, k, Wo, k)
        d = mask.transpose(0, 1, 2, 5, 4, 3) * grad_out[:, :, :, None, :, None]
    dx = np.zeros_like(x)
    dx[:, :, : Ho * k, : Wo * k] = d.reshape(B, C, Ho * k, Wo * k)
    return dx


_POOL_SLIPS = {  # slip -> what the learner is told
    "average": "you shared each window's gradient equally among its cells: that is the "
    "backward pass of average pooling.",
    "copied": "you copied each window's gradient to every cell of the window.",
    "mask only": "you returned the mask of maxima without multiplying by grad_out (the chain "
    "rule).",
    "flat reshape": "you reshaped x to (B, C, Ho, Wo, k, k) without moving the axes: those "
    "blocks are not the k x k windows (each mixes pixels from several windows).",
    "minimum": "you sent the gradient to each window's minimum instead of its maximum.",
    "transposed in window": "you put each gradient at the transposed place inside its window: "
    "the arg-max's row and column are swapped (idx // k is the row, idx % k the column).",
}

_POOL_HINTS = {
    "average": "Only the maximum reached the output, so only it gets the gradient.",
    "copied": "Multiply by a mask that is 1 at the window's maximum and 0 elsewhere.",
    "mask only": "dL/dx = grad_out of the window at its arg-max, 0 elsewhere.",
    "flat reshape": "Reshape to (B, C, Ho, k, Wo, k): axis 3 is the row inside the window, "
    "axis 5 the column; take the max over axes (3, 5).",
    "minimum": "Use argmax (or x == window max), not argmin.",
    "transposed in window": "With a window flattened row by row, np.unravel_index(idx, (k, k)) "
    "gives (row, column) = divmod(idx, k).",
}

MAX_POOL_BACKWARD = FunctionCheck(
    name="max_pool_backward",
    reference=lambda x, grad_out, kernel_size: cnn_np.max_pool2d_backward(x, grad_out, kernel_size),
    make_cases=_pool_cases,
    task="Return dx shaped like x: grad_out[b, c, h, w] at the arg-max of window (h, w), "
    "0 everywhere else (and 0 for rows or columns that no window covers).",
    mistakes=slip_mistakes(_pool_backward, _POOL_SLIPS, hints=_POOL_HINTS),
    error_hint="With an odd size, only the first (H // k) * k rows are covered by windows.",
)


check_max_pool_backward = MAX_POOL_BACKWARD.checker(
    "Check ``fn(x, grad_out, kernel_size) -> dL/dx`` for non-overlapping max-pooling.",
    time_budget=10.0,
)

# ---------------------------------------------------------------------------
# 4. conv_output_size(n, kernel_size, stride, padding) -> int
# ---------------------------------------------------------------------------


def _size_cases(rng: np.random.Generator) -> list[Case]:
    # chosen so that no two named mistakes coincide on the first case that shows them
    # (e.g. with 2 * padding == stride, ignoring the padding gives the same as forgetting + 1)
    rows = [
        ((32, 5, 1, 0), "LeNet's first layer"),
        ((23, 4, 2, 1), "stride 2 with padding, one pixel left over"),
        ((10, 5, 2, 2), "a 5-wide kernel, stride 2, padding 2"),
        ((224, 11, 4, 2), "AlexNet's first layer"),
        ((21, 5, 4, 1), "stride 4"),
        ((16, 3, 2, 1), "a 3-wide kernel, stride 2, padding 1"),
        ((224, 7, 2, 3), "ResNet's first layer"),
        ((1_000_001, 7, 3, 3), "an axis of a million pixels"),
    ]
    return [Case(args, label=label, stress=args[0] > 1000) for args, label in rows]


def _size_kind(got: Any) -> tuple[str, str]:
    return (
        f"your count is right but it is {describe_type(got)}: a number of outputs is an "
        "integer (np.zeros((Ho, Wo)) refuses floats)",
        "Use floor division `//` rather than true division `/` (which gives a float, and a "
        "fraction when the windows do not fit), or return int(...).",
    )


def _size(n, k, s, p, *, slip=""):
    """(n + 2p - k) // s + 1 window positions, or that count with one classic slip."""
    span = n + {"padding once": p, "no padding": 0, "padding after": 0}.get(slip, 2 * p) - k
    return {
        "no + 1": span // s,
        "+ 1 inside": (span + 1) // s,
        "true division": span / s + 1,
        "no stride": span + 1,
        "padding after": span // s + 1 + 2 * p,
        "round up": math.ceil(span / s) + 1,
        "round": round(span / s) + 1,
    }.get(slip, span // s + 1)


_SIZE_SLIPS = {  # slip -> what the learner is told
    "no + 1": "you forgot the + 1: the first window is at position 0.",
    "padding once": "you counted the padding once; it is added on both sides (2 * padding).",
    "no padding": "you ignored the padding: the padded axis has n + 2 * padding cells.",
    "+ 1 inside": "you put the + 1 inside the floor division: (n + 2p - k + 1) // s is not "
    "(n + 2p - k) // s + 1 when the stride is above 1.",
    "true division": "you used true division `/`, which gives a fraction when the windows do "
    "not fit exactly.",
    "no stride": "you ignored the stride.",
    "padding after": "you added the padding after dividing by the stride: the 2 * padding zeros "
    "widen the axis before the windows are counted.",
    "round up": "you rounded up; PyTorch and Keras ('valid') drop a window that does not fit, "
    "so round down.",
    "round": "you rounded to the nearest whole number; a window that does not fit is dropped.",
}

_SIZE_HINTS = {
    "no + 1": "Positions 0, s, 2s, ... up to n + 2p - k: that is (n + 2p - k) // s + 1 of them.",
    "padding once": "The padded axis has n + 2 * padding cells.",
    "no padding": "Add 2 * padding to n before subtracting the kernel size.",
    "+ 1 inside": "Divide the span n + 2p - k by the stride first, then add 1 for the window "
    "at position 0.",
    "true division": "Round down with `//`: a window that does not fit is dropped.",
    "no stride": "Divide the span n + 2p - k by the stride (with //) before adding 1.",
    "padding after": "(n + 2 * padding - kernel_size) // stride + 1: padding inside the division.",
    "round up": "Use `//`, which rounds down.",
    "round": "Use `//`, which rounds down: a window that sticks out past the padding is dropped.",
}

OUTPUT_SIZE = TypedCheck(
    name="conv_output_size",
    reference=conv_output_size,
    make_cases=_size_cases,
    task="Return the number of window positions, (n + 2 * padding - kernel_size) // stride + 1.",
    mistakes=slip_mistakes(_size, _SIZE_SLIPS, hints=_SIZE_HINTS),
    atol=1e-9,
    rtol=0.0,
    kinds="iu",
    wrong_kind=_size_kind,
)


check_conv_output_size = OUTPUT_SIZE.checker(
    "Check ``fn(n, kernel_size, stride, padding) -> int``."
)

# ---------------------------------------------------------------------------
# 5. batch_norm_eval(x, gamma, beta, running_mean, running_var, eps) -> y
# ---------------------------------------------------------------------------


def _bn_cases(rng: np.random.Generator) -> list[Case]:
    def data(shape: tuple[int, ...], mean_scale: float, var_low: float, var_high: float):
        C = shape[1]
        mean = mean_scale * (1 + rng.random(C))  # (C,)
        var = rng.uniform(var_low, var_high, size=C)  # (C,)
        x = mean.reshape((1, C) + (1,) * (len(shape) - 2)) + rng.normal(size=shape)
        return x, rng.normal(size=C) + 1.5, rng.normal(size=C), mean, var

    cases = [
        Case((*data((6, 3), 1.0, 0.5, 2.0), 1e-3), label="a (6, 3) batch of features"),
        Case((*data((4, 3, 5, 5), 2.0, 0.5, 4.0), 1e-5), label="a batch of 3-channel images"),
        Case((*data((2, 4, 3, 3), 0.5, 1e-4, 1e-3), 1e-3), label="tiny running variances"),
        Case(
            (*data((5, 2, 2, 2), 1e4, 4.0, 9.0), 1e-5), label="values and running means near 10,000"
        ),
    ]
    return stressed(cases, 2, 3)


def _bn(x, gamma, beta, mean, var, eps, *, slip=""):
    """Batch norm in evaluation mode, or the same with one classic slip."""
    if slip == "batch statistics":  # training mode
        return norm_np.batch_norm(x, gamma, beta, eps)
    shape = (1, -1) + (1,) * (x.ndim - 2)  # (C,) arrays broadcast over channel axis 1
    gamma, beta, mean, var = (v.reshape(shape) for v in (gamma, beta, mean, var))
    mean = np.zeros_like(mean) if slip == "not centred" else mean
    std = {
        "eps outside": np.sqrt(var) + eps,
        "eps outside the inverse": 1 / (1 / np.sqrt(var) + eps),
        "no eps": np.sqrt(var),
        "variance": var + eps,
    }.get(slip, np.sqrt(var + eps))
    xhat = (x - mean) / std
    if slip == "no affine":
        return xhat
    gamma, beta = {
        "no beta": (gamma, np.zeros_like(beta)),
        "no gamma": (np.ones_like(gamma), beta),
        "beta first": (gamma, gamma * beta),
        "swapped": (beta, gamma),
    }.get(slip, (gamma, beta))
    return gamma * xhat + beta


_EPS_OUTSIDE = "you added eps outside the square root: sqrt(var) + eps instead of sqrt(var + eps)."
_AFFINE_HINT = "Return gamma * xhat + beta, each broadcast over channel axis 1."

_BN_SLIPS = {  # slip -> what the learner is told
    "batch statistics": "you normalised with the batch's own mean and variance (training "
    "mode); in evaluation mode batch norm uses the running statistics.",
    "eps outside": _EPS_OUTSIDE,
    "eps outside the inverse": _EPS_OUTSIDE,
    "no eps": "you left out eps: it keeps the division safe when a running variance is tiny, "
    "and PyTorch and Keras always add it.",
    "variance": "you divided by the variance instead of the standard deviation.",
    "no affine": "you forgot gamma and beta: the normalised values must be scaled and shifted.",
    "not centred": "you did not subtract running_mean: batch norm centres each channel before "
    "it divides by the standard deviation.",
    "no beta": "you forgot beta: after scaling by gamma, shift by beta.",
    "no gamma": "you forgot gamma: the normalised values must be scaled by gamma before beta "
    "is added.",
    "beta first": "you added beta before scaling: gamma * (xhat + beta) instead of "
    "gamma * xhat + beta.",
    "swapped": "you swapped gamma and beta: gamma scales, beta shifts.",
}

_BN_HINTS = {
    "batch statistics": "Use running_mean and running_var: then an example's output does not "
    "depend on the rest of its batch.",
    "eps outside": "Divide by np.sqrt(running_var + eps), as PyTorch does.",
    "eps outside the inverse": "Divide by np.sqrt(running_var + eps), as PyTorch does.",
    "no eps": "Divide by np.sqrt(running_var + eps).",
    "variance": "Take the square root: (x - mean) / sqrt(var + eps).",
    "not centred": "xhat = (x - running_mean) / sqrt(running_var + eps), with running_mean "
    "reshaped to (1, C) or (1, C, 1, 1).",
    "beta first": "Scale first, then shift: y = gamma * xhat + beta.",
    "swapped": "y = gamma * xhat + beta.",
}

BN_EVAL = FunctionCheck(
    name="batch_norm_eval",
    reference=norm_np.batch_norm_eval,
    make_cases=_bn_cases,
    task="Return gamma * (x - running_mean) / sqrt(running_var + eps) + beta, every (C,) "
    "array broadcast over channel axis 1.",
    mistakes=slip_mistakes(_bn, _BN_SLIPS, _AFFINE_HINT, hints=_BN_HINTS),
    error_hint="A (C,) array broadcasts against the *last* axis; reshape it to (1, C) or "
    "(1, C, 1, 1) first.",
)


check_batch_norm_eval = BN_EVAL.checker(
    "Check ``fn(x, gamma, beta, running_mean, running_var, eps) -> y`` (evaluation mode).",
    time_budget=10.0,
)

# name -> (check object, mistakes): for tests/checks/test_cnn_checks.py
ALL_CHECKS = {
    "conv2d_forward": CONV_FORWARD,
    "conv2d_backward_weights": GRAD_W,
    "max_pool_backward": MAX_POOL_BACKWARD,
    "conv_output_size": OUTPUT_SIZE,
    "batch_norm_eval": BN_EVAL,
}

__all__ = [
    "check_batch_norm_eval",
    "check_conv2d_backward_weights",
    "check_conv2d_forward",
    "check_conv_output_size",
    "check_max_pool_backward",
]
