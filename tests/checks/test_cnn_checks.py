"""Chapter 3's checks: the reference passes, and each classic mistake is rejected by name.

The wrong implementations below are written the way a learner would write them,
independently of the check's own mistake functions, so that a test fails if a
check stops recognising a mistake it claims to name.
"""

from __future__ import annotations

import copy
import itertools
import math

import numpy as np
import pytest

from dlbook.checks import cnn as cnn_checks
from dlbook.checks._core import matches
from dlbook.checks.cnn import (
    check_batch_norm_eval,
    check_conv2d_backward_weights,
    check_conv2d_forward,
    check_conv_output_size,
    check_max_pool_backward,
)

# ---------------------------------------------------------------------------
# Correct solutions, written as the solutions notebook writes them
# ---------------------------------------------------------------------------


def _windows(x, KH, KW, stride, padding):
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (KH, KW), axis=(2, 3))
    return win[:, :, ::stride, ::stride]  # (B, C, Ho, Wo, KH, KW)


def conv2d_forward(x, W, b, stride, padding):
    win = _windows(x, W.shape[2], W.shape[3], stride, padding)
    out = np.einsum("bchwij,fcij->bfhw", win, W)
    return out + b[None, :, None, None]


def conv2d_backward_weights(x, W, grad_out, stride, padding):
    win = _windows(x, W.shape[2], W.shape[3], stride, padding)
    return np.einsum("bfhw,bchwij->fcij", grad_out, win)


def max_pool_backward(x, grad_out, k):
    B, C, H, W = x.shape
    Ho, Wo = H // k, W // k
    win = x[:, :, : Ho * k, : Wo * k].reshape(B, C, Ho, k, Wo, k)
    win = win.transpose(0, 1, 2, 4, 3, 5).reshape(B, C, Ho, Wo, k * k)
    mask = np.zeros_like(win)
    np.put_along_axis(mask, win.argmax(axis=-1)[..., None], 1.0, axis=-1)
    d = mask * grad_out[..., None]  # (B, C, Ho, Wo, k k)
    d = d.reshape(B, C, Ho, Wo, k, k).transpose(0, 1, 2, 4, 3, 5).reshape(B, C, Ho * k, Wo * k)
    dx = np.zeros_like(x)
    dx[:, :, : Ho * k, : Wo * k] = d
    return dx


def conv_output_size(n, kernel_size, stride, padding):
    return (n + 2 * padding - kernel_size) // stride + 1


def batch_norm_eval(x, gamma, beta, running_mean, running_var, eps):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    xhat = (x - running_mean.reshape(shape)) / np.sqrt(running_var.reshape(shape) + eps)
    return gamma.reshape(shape) * xhat + beta.reshape(shape)


# name -> (check, dlbook's reference, a learner's correct solution); test_every_check.py
# runs the problems every check must explain (stub, crash, NaN, type, shape, runaway) on these.
CHECKS = {
    "conv2d_forward": (check_conv2d_forward, cnn_checks.CONV_FORWARD.reference, conv2d_forward),
    "conv2d_backward_weights": (
        check_conv2d_backward_weights,
        cnn_checks.GRAD_W.reference,
        conv2d_backward_weights,
    ),
    "max_pool_backward": (
        check_max_pool_backward,
        cnn_checks.MAX_POOL_BACKWARD.reference,
        max_pool_backward,
    ),
    "conv_output_size": (
        check_conv_output_size,
        cnn_checks.OUTPUT_SIZE.reference,
        conv_output_size,
    ),
    "batch_norm_eval": (check_batch_norm_eval, cnn_checks.BN_EVAL.reference, batch_norm_eval),
}


@pytest.mark.parametrize("name", list(cnn_checks.ALL_CHECKS))
def test_every_pair_of_mistakes_differs_on_two_cases(name):
    """No parameter coincidence hides a mistake behind another (or behind the right answer)."""
    check = cnn_checks.ALL_CHECKS[name]
    cases = check.make_cases(np.random.default_rng(check.seed))
    assert len(check.mistakes) >= 3

    def outputs(fn):
        return [np.asarray(fn(*copy.deepcopy(c.args), **c.kwargs)) for c in cases]

    results = {m.explanation: outputs(m.fn) for m in check.mistakes}
    results["(correct)"] = outputs(check.reference)
    for (a, ra), (b, rb) in itertools.combinations(results.items(), 2):
        differ = sum(not matches(x, y, check.rtol, check.atol) for x, y in zip(ra, rb, strict=True))
        assert differ >= 2, f"{name}: {a!r} and {b!r} differ on only {differ} case(s)"


def test_checks_are_deterministic_and_leave_global_rng_alone():
    state = np.random.get_state()[1].copy()
    wrong = lambda x, W, b, s, p: conv2d_forward(x, W, b, s, p) + 1  # noqa: E731
    assert str(check_conv2d_forward(wrong)) == str(check_conv2d_forward(wrong))
    assert np.array_equal(np.random.get_state()[1], state)


# ---------------------------------------------------------------------------
# 1. conv2d_forward
# ---------------------------------------------------------------------------


def _conv_no_pad(x, W, b, stride, padding):
    return conv2d_forward(x, W, b, stride, 0)


def _conv_true_convolution(x, W, b, stride, padding):
    return conv2d_forward(x, W[:, :, ::-1, ::-1], b, stride, padding)


def _conv_loop_no_stride(x, W, b, stride, padding):
    return conv2d_forward(x, W, b, 1, padding)


def _conv_pad_bottom_right(x, W, b, stride, padding):
    xp = np.pad(x, ((0, 0), (0, 0), (0, 2 * padding), (0, 2 * padding)))
    return conv2d_forward(xp, W, b, stride, 0)


def _conv_bias_unreshaped(x, W, b, stride, padding):
    return conv2d_forward(x, W, 0 * b, stride, padding) + b  # b lines up with the last axis


def _conv_channels_last(x, W, b, stride, padding):
    win = _windows(x, W.shape[2], W.shape[3], stride, padding)
    return np.einsum("bchwij,fcij->bhwf", win, W) + b


def _conv_kernel_dims_swapped(x, W, b, stride, padding):
    win = _windows(x, W.shape[3], W.shape[2], stride, padding)  # (KW, KH) windows
    return np.einsum("bchwij,fcji->bfhw", win, W) + b[None, :, None, None]


def _conv_output_hw_swapped(x, W, b, stride, padding):
    win = _windows(x, W.shape[2], W.shape[3], stride, padding)
    return np.einsum("bchwij,fcij->bfwh", win, W) + b[None, :, None, None]


def _conv_square_kernels_only(x, W, b, stride, padding):
    K = W.shape[2]
    return (
        np.einsum("bchwij,fcij->bfhw", _windows(x, K, K, stride, padding), W)
        + b[None, :, None, None]
    )


@pytest.mark.parametrize(
    "student, words",
    [
        (_conv_true_convolution, "flipped the kernel"),
        (_conv_bias_unreshaped, "added b along the last axis"),
        (_conv_channels_last, "channels last"),
        (_conv_kernel_dims_swapped, "transposed each kernel"),
        (_conv_output_hw_swapped, "last two axes are swapped"),
        (_conv_square_kernels_only, "a 2x3 kernel"),
        (lambda x, W, b, s, p: conv2d_forward(x, W, b, s, 1), "padding 2"),
        (lambda x, W, b, s, p: conv2d_forward(x, W, b, s, p).tolist(), "list"),
        (_conv_no_pad, "ignored `padding`"),
        (_conv_loop_no_stride, "ignored `stride`"),
        (lambda x, W, b, s, p: conv2d_forward(x, W, 0 * b, s, p), "forgot the bias"),
        (_conv_pad_bottom_right, "only at the bottom and right"),
        (lambda x, W, b, s, p: conv2d_forward(x, W, b, s, p).sum(axis=1), "shape"),
        (lambda x, W, b, s, p: conv2d_forward(x, W, b, s, p) + 1e-3, "wrong values"),
    ],
)
def test_conv2d_forward_mistakes(student, words):
    result = check_conv2d_forward(student)
    assert not result.passed
    assert words in f"{result.message} {result.hint}", str(result)


def _conv_loops(x, W, b, stride, padding):
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    F, _, KH, KW = W.shape
    Ho = (xp.shape[2] - KH) // stride + 1
    Wo = (xp.shape[3] - KW) // stride + 1
    out = np.zeros((x.shape[0], F, Ho, Wo))
    for n in range(x.shape[0]):
        for f in range(F):
            for h in range(Ho):
                for w in range(Wo):
                    patch = xp[n, :, stride * h : stride * h + KH, stride * w : stride * w + KW]
                    out[n, f, h, w] = np.sum(patch * W[f]) + b[f]
    return out


def _conv_im2col(x, W, b, stride, padding):
    win = _windows(x, W.shape[2], W.shape[3], stride, padding)
    B, _, Ho, Wo, _, _ = win.shape
    cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(B * Ho * Wo, -1)
    y = cols @ W.reshape(W.shape[0], -1).T + b
    return y.reshape(B, Ho, Wo, -1).transpose(0, 3, 1, 2)


@pytest.mark.parametrize(
    "student",
    [
        _conv_loops,
        _conv_im2col,
        lambda x, W, b, s, p: (
            np.tensordot(
                _windows(x, W.shape[2], W.shape[3], s, p), W, axes=([1, 4, 5], [1, 2, 3])
            ).transpose(0, 3, 1, 2)
            + b[:, None, None]
        ),
        lambda x, W, b, s, p: conv2d_forward(x, W, b, s, p).astype(np.float32),
        lambda x, W, b, s, p: conv2d_forward(
            x.astype(np.float32), W.astype(np.float32), b.astype(np.float32), s, p
        ),
    ],
)
def test_conv2d_forward_unusual_correct_answers_pass(student):
    result = check_conv2d_forward(student)
    assert result.passed, str(result)


# ---------------------------------------------------------------------------
# 2. conv2d_backward_weights
# ---------------------------------------------------------------------------


def _gw_mean(x, W, g, s, p):
    win = _windows(x, W.shape[2], W.shape[3], s, p)
    return np.einsum("bfhw,bchwij->fcij", g, win) / x.shape[0]


def _gw_no_stride(x, W, g, s, p):
    Ho, Wo = g.shape[2:]
    win = _windows(x, W.shape[2], W.shape[3], 1, p)[:, :, :Ho, :Wo]
    return np.einsum("bfhw,bchwij->fcij", g, win)


def _gw_kernel_axes_swapped(x, W, g, s, p):
    win = _windows(x, W.shape[2], W.shape[3], s, p)
    return np.einsum("bfhw,bchwij->fcji", g, win)


def _gw_into_W(x, W, g, s, p):
    W[...] = conv2d_backward_weights(x, W, g, s, p)  # reuses W's memory
    return W


def _gw_no_pad(x, W, g, s, p):
    xp = np.pad(x, ((0, 0), (0, 0), (0, 2 * p), (0, 2 * p)))  # windows from the top-left of x
    return conv2d_backward_weights(xp, W, g, s, 0)


@pytest.mark.parametrize(
    "student, words",
    [
        (_gw_mean, "averaged over the batch"),
        (lambda *a: conv2d_backward_weights(*a)[:, :, ::-1, ::-1], "flipped by 180 degrees"),
        (_gw_no_stride, "stride 1"),
        (_gw_no_pad, "ignore the padding"),
        (lambda *a: conv2d_backward_weights(*a).transpose(1, 0, 2, 3), "axes swapped"),
        (lambda *a: -conv2d_backward_weights(*a), "wrong sign"),
        (_gw_kernel_axes_swapped, "row and column axes swapped"),
        (lambda x, W, g, s, p: conv2d_backward_weights(x, W, g, s, p) / g[0, 0].size, "times"),
        (lambda x, W, g, s, p: conv2d_backward_weights(x[:1], W, g[:1], s, p), "wrong values"),
        (_gw_into_W, "changed its input `W` in place"),
    ],
)
def test_conv2d_backward_weights_mistakes(student, words):
    result = check_conv2d_backward_weights(student)
    assert not result.passed
    assert words in f"{result.message} {result.hint}", str(result)


def _gw_loops(x, W, g, s, p):
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    KH, KW = W.shape[2:]
    dW = np.zeros_like(W)
    for h in range(g.shape[2]):
        for w in range(g.shape[3]):
            patch = xp[:, :, s * h : s * h + KH, s * w : s * w + KW]  # (B, C, KH, KW)
            dW += np.einsum("bf,bcij->fcij", g[:, :, h, w], patch)
    return dW


def _gw_dilated_grad(x, W, g, s, p):
    """Cross-correlate the padded input with grad_out dilated by the stride."""
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    B, F, Ho, Wo = g.shape
    gd = np.zeros((B, F, (Ho - 1) * s + 1, (Wo - 1) * s + 1))
    gd[:, :, ::s, ::s] = g
    v = np.lib.stride_tricks.sliding_window_view(xp, gd.shape[2:], axis=(2, 3))
    return np.einsum("bfhw,bcijhw->fcij", gd, v[:, :, : W.shape[2], : W.shape[3]])


@pytest.mark.parametrize(
    "student",
    [
        _gw_loops,
        _gw_dilated_grad,
        lambda x, W, g, s, p: conv2d_backward_weights(
            x.astype(np.float32), W, g.astype(np.float32), s, p
        ),
    ],
)
def test_conv2d_backward_weights_unusual_correct_answers_pass(student):
    result = check_conv2d_backward_weights(student)
    assert result.passed, str(result)


# ---------------------------------------------------------------------------
# 3. max_pool_backward
# ---------------------------------------------------------------------------


def _upsample(g, x, k):
    up = np.repeat(np.repeat(g, k, axis=2), k, axis=3)
    out = np.zeros_like(x)
    out[:, :, : up.shape[2], : up.shape[3]] = up
    return out


def _pool_blocks_not_windows(x, g, k):
    B, C, H, W = x.shape
    Ho, Wo = H // k, W // k
    win = x[:, :, : Ho * k, : Wo * k].reshape(B, C, Ho, Wo, k, k)  # no transpose
    mask = win == win.max(axis=(4, 5), keepdims=True)
    dx = np.zeros_like(x)
    dx[:, :, : Ho * k, : Wo * k] = (mask * g[..., None, None]).reshape(B, C, Ho * k, Wo * k)
    return dx


def _pool_loops_divmod_swapped(x, g, k):
    dx = np.zeros_like(x)
    B, C, Ho, Wo = g.shape
    for n, c, h, w in itertools.product(range(B), range(C), range(Ho), range(Wo)):
        idx = np.argmax(x[n, c, h * k : h * k + k, w * k : w * k + k])
        i, j = idx % k, idx // k  # should be idx // k, idx % k
        dx[n, c, h * k + i, w * k + j] = g[n, c, h, w]
    return dx


def _pool_isclose(x, g, k):
    B, C, H, W = x.shape
    Ho, Wo = H // k, W // k
    win = x[:, :, : Ho * k, : Wo * k].reshape(B, C, Ho, k, Wo, k)
    mask = np.isclose(win, win.max(axis=(3, 5), keepdims=True))  # rtol 1e-5: too loose
    dx = np.zeros_like(x)
    dx[:, :, : Ho * k, : Wo * k] = (mask * g[:, :, :, None, :, None]).reshape(B, C, H - H % k, -1)
    return dx


def _pool_into_x(x, g, k):
    dx = max_pool_backward(x, g, k)
    x[...] = dx  # reuses x's memory
    return x


@pytest.mark.parametrize(
    "student, words",
    [
        (lambda x, g, k: _upsample(g, x, k) / (k * k), "average pooling"),
        (lambda x, g, k: _upsample(g, x, k), "every cell of the window"),
        (lambda x, g, k: max_pool_backward(x, np.ones_like(g), k), "without multiplying"),
        (lambda x, g, k: max_pool_backward(-x, g, k), "minimum"),
        (_pool_blocks_not_windows, "without moving the axes"),
        (_pool_loops_divmod_swapped, "transposed place inside its window"),
        (_pool_isclose, "pixels near 1,000,000"),
        (lambda x, g, k: max_pool_backward(x, g, 2), "3x3 windows"),
        (_pool_into_x, "changed its input `x` in place"),
        (lambda x, g, k: max_pool_backward(x, g, k)[:, :, : (x.shape[2] // k) * k], "shape"),
    ],
)
def test_max_pool_backward_mistakes(student, words):
    result = check_max_pool_backward(student)
    assert not result.passed
    assert words in f"{result.message} {result.hint}", str(result)


def _pool_loops(x, g, k):
    dx = np.zeros_like(x)
    B, C, Ho, Wo = g.shape
    for n, c, h, w in itertools.product(range(B), range(C), range(Ho), range(Wo)):
        window = x[n, c, h * k : h * k + k, w * k : w * k + k]
        i, j = np.unravel_index(np.argmax(window), window.shape)
        dx[n, c, h * k + i, w * k + j] = g[n, c, h, w]
    return dx


def _pool_ceil_mode(x, g, k):
    """Pad to whole windows with -inf; the padded windows have no gradient to give."""
    B, C, H, W = x.shape
    Hc, Wc = -(-H // k) * k, -(-W // k) * k
    xp = np.pad(x, ((0, 0), (0, 0), (0, Hc - H), (0, Wc - W)), constant_values=-np.inf)
    win = xp.reshape(B, C, Hc // k, k, Wc // k, k)
    gp = np.zeros((B, C, Hc // k, Wc // k))
    gp[:, :, : g.shape[2], : g.shape[3]] = g
    dx = (win == win.max(axis=(3, 5), keepdims=True)) * gp[:, :, :, None, :, None]
    return dx.reshape(B, C, Hc, Wc)[:, :, :H, :W]


@pytest.mark.parametrize(
    "student",
    [
        _pool_loops,
        _pool_ceil_mode,
        lambda x, g, k: max_pool_backward(x, g, k).astype(np.float32),
    ],
)
def test_max_pool_backward_unusual_correct_answers_pass(student):
    result = check_max_pool_backward(student)
    assert result.passed, str(result)


# ---------------------------------------------------------------------------
# 4. conv_output_size
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "student, words",
    [
        (lambda n, k, s, p: (n + 2 * p - k) // s, "forgot the + 1"),
        (lambda n, k, s, p: (n + p - k) // s + 1, "padding once"),
        (lambda n, k, s, p: (n + 2 * p - k) / s + 1, "true division"),
        (lambda n, k, s, p: n + 2 * p - k + 1, "ignored the stride"),
        (lambda n, k, s, p: math.ceil((n + 2 * p - k) / s) + 1, "rounded up"),
        (lambda n, k, s, p: n - k + 1, "wrong values"),
        (lambda n, k, s, p: (n - k) // s + 1, "ignored the padding"),
        (lambda n, k, s, p: (n + 2 * p - k + 1) // s, "inside the floor division"),
        (lambda n, k, s, p: (n - k) // s + 1 + 2 * p, "after dividing by the stride"),
        (lambda n, k, s, p: float((n + 2 * p - k) // s + 1), "integer"),
        (lambda n, k, s, p: np.floor((n + 2 * p - k) / s) + 1, "float64"),
        (lambda n, k, s, p: [(n + 2 * p - k) // s + 1], "list"),
        (lambda n, k, s, p: str((n + 2 * p - k) // s + 1), "str"),
    ],
)
def test_conv_output_size_mistakes(student, words):
    result = check_conv_output_size(student)
    assert not result.passed
    assert words in f"{result.message} {result.hint}", str(result)


def _count_windows(n, kernel_size, stride, padding):
    count, start = 0, 0
    while start + kernel_size <= n + 2 * padding:
        count, start = count + 1, start + stride
    return count


@pytest.mark.parametrize(
    "student",
    [
        _count_windows,
        lambda n, k, s, p: int((n + 2 * p - k) / s) + 1,
        lambda n, k, s, p: math.floor((n + 2 * p - k) / s) + 1,
        lambda n, k, s, p: (n + 2 * p - k + s) // s,
        lambda n, k, s, p: len(range(0, n + 2 * p - k + 1, s)),
        lambda n, k, s, p: np.int64((n + 2 * p - k) // s + 1),
    ],
)
def test_conv_output_size_unusual_correct_answers_pass(student):
    result = check_conv_output_size(student)
    assert result.passed, str(result)


# ---------------------------------------------------------------------------
# 5. batch_norm_eval
# ---------------------------------------------------------------------------


def _bn_batch_stats(x, gamma, beta, m, v, eps):
    axes = (0, *range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    mu, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
    return gamma.reshape(shape) * (x - mu) / np.sqrt(var + eps) + beta.reshape(shape)


def _bn_shift_then_scale(x, gamma, beta, m, v, eps):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    xhat = (x - m.reshape(shape)) / np.sqrt(v.reshape(shape) + eps)
    return gamma.reshape(shape) * (xhat + beta.reshape(shape))


def _bn_in_place(x, gamma, beta, m, v, eps):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    x -= m.reshape(shape)
    x /= np.sqrt(v.reshape(shape) + eps)
    return gamma.reshape(shape) * x + beta.reshape(shape)


def _bn(x, gamma, beta, m, v, eps, denom):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    xhat = (x - m.reshape(shape)) / denom(v.reshape(shape), eps)
    return gamma.reshape(shape) * xhat + beta.reshape(shape)


@pytest.mark.parametrize(
    "student, words",
    [
        (_bn_batch_stats, "batch's own mean and variance"),
        (lambda *a: _bn(*a, lambda v, e: np.sqrt(v) + e), "eps outside the square root"),
        (lambda *a: _bn(*a, lambda v, e: v + e), "variance instead of the standard deviation"),
        (lambda x, g, b, m, v, e: batch_norm_eval(x, 1 + 0 * g, 0 * b, m, v, e), "forgot gamma"),
        (lambda x, g, b, m, v, e: batch_norm_eval(x, b, g, m, v, e), "swapped gamma and beta"),
        (lambda x, g, b, m, v, e: (x - m) / np.sqrt(v + e) * g + b, "broadcast"),
        (lambda *a: _bn(*a, lambda v, e: np.sqrt(v)), "left out eps"),
        (lambda *a: _bn(*a, lambda v, e: 1 / (1 / np.sqrt(v) + e)), "eps outside"),
        (lambda x, g, b, m, v, e: batch_norm_eval(x, g, 0 * b, m, v, e), "forgot beta"),
        (lambda x, g, b, m, v, e: batch_norm_eval(x, 1 + 0 * g, b, m, v, e), "forgot gamma"),
        (_bn_shift_then_scale, "added beta before scaling"),
        (lambda x, g, b, m, v, e: batch_norm_eval(x, g, b, 0 * m, v, e), "subtract running_mean"),
        (_bn_in_place, "changed its input `x` in place"),
    ],
)
def test_batch_norm_eval_mistakes(student, words):
    result = check_batch_norm_eval(student)
    assert not result.passed
    assert words in f"{result.message} {result.hint}", str(result)


def _bn_loop_over_channels(x, gamma, beta, m, v, eps):
    y = np.empty_like(x)
    for c in range(x.shape[1]):
        y[:, c] = gamma[c] * (x[:, c] - m[c]) / math.sqrt(v[c] + eps) + beta[c]
    return y


def _bn_folded(x, gamma, beta, m, v, eps):
    """One multiply-add per value: scale = gamma / std, shift = beta - mean * scale."""
    shape = (1, -1) + (1,) * (x.ndim - 2)
    scale = gamma / np.sqrt(v + eps)
    return x * scale.reshape(shape) + (beta - m * scale).reshape(shape)


@pytest.mark.parametrize(
    "student",
    [
        _bn_loop_over_channels,
        _bn_folded,
        lambda x, g, b, m, v, e: np.moveaxis(
            (np.moveaxis(x, 1, -1) - m) / np.sqrt(v + e) * g + b, -1, 1
        ),
        lambda *a: batch_norm_eval(*a).astype(np.float32),
    ],
)
def test_batch_norm_eval_unusual_correct_answers_pass(student):
    result = check_batch_norm_eval(student)
    assert result.passed, str(result)
