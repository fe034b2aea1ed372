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


# ---------------------------------------------------------------------------
# Second round: answers written as learners write them, beyond the named mistakes
# ---------------------------------------------------------------------------


def _conv_loops_window_at_h(x, W, b, stride, padding):
    """Loops with the right output size, but window (h, w) cut at pixel (h, w)."""
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    F, _, KH, KW = W.shape
    Ho = (xp.shape[2] - KH) // stride + 1
    Wo = (xp.shape[3] - KW) // stride + 1
    out = np.zeros((x.shape[0], F, Ho, Wo))
    for h in range(Ho):
        for w in range(Wo):
            out[:, :, h, w] = np.einsum("bcij,fcij->bf", xp[:, :, h : h + KH, w : w + KW], W) + b
    return out


def _conv_edge_padding(x, W, b, stride, padding):
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)), mode="edge")
    return conv2d_forward(xp, W, b, stride, 0)


def _conv_im2col_channels_last(x, W, b, stride, padding):
    win = _windows(x, W.shape[2], W.shape[3], stride, padding)
    B, _, Ho, Wo, _, _ = win.shape
    cols = win.transpose(0, 2, 3, 4, 5, 1).reshape(B * Ho * Wo, -1)  # (c last): not W's order
    y = cols @ W.reshape(W.shape[0], -1).T + b
    return y.reshape(B, Ho, Wo, -1).transpose(0, 3, 1, 2)


def _conv_int_buffer(x, W, b, stride, padding):
    y = conv2d_forward(x, W, b, stride, padding)
    out = np.zeros(y.shape, dtype=int)  # forgot dtype=float
    out[...] = y
    return out


def _conv_shape_shadows_kernel(x, W, b, stride, padding):
    B, C, H, W = x.shape  # W is now the image width, not the kernels
    return conv2d_forward(x, W, b, stride, padding)


def _conv_true_division_sizes(x, W, b, stride, padding):
    Ho = (x.shape[2] + 2 * padding - W.shape[2]) / stride + 1
    return np.zeros((x.shape[0], W.shape[0], Ho, Ho))


@pytest.mark.parametrize(
    "student, words",
    [
        (_conv_loops_window_at_h, "starts at pixel (h, w) instead of (stride*h, stride*w)"),
        (_conv_edge_padding, "wrong values"),
        (_conv_im2col_channels_last, "wrong values"),
        (_conv_int_buffer, "integer dtype int64"),
        (_conv_shape_shadows_kernel, "'int' object"),
        (_conv_true_division_sizes, "TypeError"),
        (lambda x, W, b, s, p: conv2d_forward(x, W, b, s, p).squeeze(), "shape (3, 11, 11)"),
        (lambda x, W, b, s, p: conv2d_forward(x, W[:, ::-1], b, s, p), "wrong values"),
        (lambda x, W, b, s, p: conv2d_forward(x, W, 2 * b, s, p), "wrong values"),
        (lambda x, W, b, s, p: conv2d_forward(x, W, b, p, s), "shape"),
    ],
)
def test_conv2d_forward_second_round_mistakes(student, words):
    result = check_conv2d_forward(student)
    assert not result.passed
    assert words in f"{result.message} {result.hint}", str(result)


def _conv_scipy(x, W, b, stride, padding):
    from scipy.signal import correlate2d

    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    out = [
        [
            sum(correlate2d(xp[n, c], W[f, c], mode="valid") for c in range(x.shape[1]))[
                ::stride, ::stride
            ]
            + b[f]
            for f in range(W.shape[0])
        ]
        for n in range(x.shape[0])
    ]
    return np.array(out)


def _conv_fft(x, W, b, stride, padding):
    from scipy.signal import fftconvolve

    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    full = fftconvolve(xp[:, None], W[None, :, :, ::-1, ::-1], mode="valid", axes=(3, 4))
    return full.sum(axis=2)[:, :, ::stride, ::stride] + b[None, :, None, None]


def _conv_torch(x, W, b, stride, padding):
    torch = pytest.importorskip("torch")
    t = torch.from_numpy
    return torch.nn.functional.conv2d(t(x), t(W), t(b), stride=stride, padding=padding).numpy()


@pytest.mark.parametrize(
    "student",
    [
        _conv_scipy,
        _conv_fft,
        _conv_torch,
        lambda x, W, b, s, p: conv2d_forward(*(np.longdouble(a) for a in (x, W, b)), s, p),
    ],
)
def test_conv2d_forward_second_round_correct_answers_pass(student):
    result = check_conv2d_forward(student)
    assert result.passed, str(result)


def test_conv2d_forward_torch_tensor_is_refused_with_a_numpy_hint():
    torch = pytest.importorskip("torch")

    def student(x, W, b, s, p):
        t = torch.from_numpy
        return torch.nn.functional.conv2d(t(x), t(W), t(b), stride=s, padding=p)

    result = check_conv2d_forward(student)
    assert not result.passed
    assert "torch.Tensor" in result.message and "NumPy" in result.hint, str(result)


def _gw_no_batch_sum(x, W, g, s, p):
    win = _windows(x, W.shape[2], W.shape[3], s, p)
    return np.einsum("bfhw,bchwij->bfcij", g, win)


def _gw_edge_padding(x, W, g, s, p):
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), mode="edge")
    return conv2d_backward_weights(xp, W, g, s, 0)


def _gw_square_kernels_only(x, W, g, s, p):
    K = W.shape[2]
    return np.einsum("bfhw,bchwij->fcij", g, _windows(x, K, K, s, p))


@pytest.mark.parametrize(
    "student, words",
    [
        (_gw_no_batch_sum, "forget to sum over an axis"),
        (_gw_edge_padding, "wrong values"),
        (_gw_square_kernels_only, "a 2x3 kernel"),
        (lambda x, W, g, s, p: np.zeros_like(W), "is all zeros"),
        (lambda x, W, g, s, p: W - 0.1 * conv2d_backward_weights(x, W, g, s, p), "wrong values"),
        (lambda x, W, g, s, p: conv2d_backward_weights(x, W, g, s, p) * W, "wrong values"),
        (lambda *a: conv2d_backward_weights(*a).astype(int), "integer dtype"),
    ],
)
def test_conv2d_backward_weights_second_round_mistakes(student, words):
    result = check_conv2d_backward_weights(student)
    assert not result.passed
    assert words in f"{result.message} {result.hint}", str(result)


def _gw_loop_over_kernel(x, W, g, s, p):
    """One kernel tap at a time: the strided slice of x_pad that tap (i, j) sees."""
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    Ho, Wo = g.shape[2:]
    dW = np.zeros_like(W)
    for i, j in itertools.product(range(W.shape[2]), range(W.shape[3])):
        patch = xp[:, :, i : i + s * Ho : s, j : j + s * Wo : s]  # (B, C, Ho, Wo)
        dW[:, :, i, j] = np.einsum("bfhw,bchw->fc", g, patch)
    return dW


def _gw_torch_autograd(x, W, g, s, p):
    torch = pytest.importorskip("torch")
    w = torch.from_numpy(W.copy()).requires_grad_()
    torch.nn.functional.conv2d(torch.from_numpy(x), w, stride=s, padding=p).backward(
        torch.from_numpy(g)
    )
    return w.grad.numpy()


@pytest.mark.parametrize(
    "student",
    [
        _gw_loop_over_kernel,
        _gw_torch_autograd,
        lambda *a: np.broadcast_to(conv2d_backward_weights(*a), a[1].shape),  # a read-only view
        lambda *a: np.asfortranarray(conv2d_backward_weights(*a)),
        lambda x, W, g, s, p: conv2d_backward_weights(
            x.astype(np.float32), W.astype(np.float32), g.astype(np.float32), s, p
        ),
    ],
)
def test_conv2d_backward_weights_second_round_correct_answers_pass(student):
    result = check_conv2d_backward_weights(student)
    assert result.passed, str(result)


def _pool_empty_like(x, g, k):
    dx = np.empty_like(x)  # the rows and columns no window covers keep whatever was there
    Hc, Wc = (x.shape[2] // k) * k, (x.shape[3] // k) * k
    dx[:, :, :Hc, :Wc] = max_pool_backward(x, g, k)[:, :, :Hc, :Wc]
    dx[:, :, Hc:] = 1.0
    dx[:, :, :, Wc:] = 1.0
    return dx


def _pool_loops_window_at_h(x, g, k):
    dx = np.zeros_like(x)
    B, C, Ho, Wo = g.shape
    for n, c, h, w in itertools.product(range(B), range(C), range(Ho), range(Wo)):
        window = x[n, c, h : h + k, w : w + k]  # should start at (k*h, k*w)
        i, j = np.unravel_index(np.argmax(window), window.shape)
        dx[n, c, h + i, w + j] += g[n, c, h, w]
    return dx


def _pool_loops_no_offset(x, g, k):
    dx = np.zeros_like(x)
    B, C, Ho, Wo = g.shape
    for n, c, h, w in itertools.product(range(B), range(C), range(Ho), range(Wo)):
        window = x[n, c, h * k : h * k + k, w * k : w * k + k]
        i, j = np.unravel_index(np.argmax(window), window.shape)
        dx[n, c, i, j] += g[n, c, h, w]  # should be h * k + i, w * k + j
    return dx


def _pool_global_max(x, g, k):
    mask = x == x.max(axis=(2, 3), keepdims=True)  # the image's maximum, not each window's
    return mask * g.sum(axis=(2, 3), keepdims=True)


@pytest.mark.parametrize(
    "student, words",
    [
        (_pool_empty_like, "where 0 is expected"),
        (_pool_loops_window_at_h, "wrong values"),
        (_pool_loops_no_offset, "wrong values"),
        (_pool_global_max, "wrong values"),
        (lambda x, g, k: max_pool_backward(np.abs(x), g, k), "wrong values"),
        (lambda x, g, k: max_pool_backward(x, g, k) * x, "wrong values"),
        (lambda x, g, k: -max_pool_backward(x, g, k), "wrong sign"),
        (lambda x, g, k: g, "shape (2, 3, 4, 4)"),
        (lambda x, g, k: max_pool_backward(x, g, k) != 0, "dtype bool"),
        # float32 inputs: near 1,000,000 neighbours round to the same float32, so ties appear
        (lambda x, g, k: max_pool_backward(x.astype(np.float32), g, k), "float32"),
    ],
)
def test_max_pool_backward_second_round_mistakes(student, words):
    result = check_max_pool_backward(student)
    assert not result.passed
    assert words in f"{result.message} {result.hint}", str(result)


def _pool_repeat(x, g, k):
    B, C, H, W = x.shape
    Hc, Wc = (H // k) * k, (W // k) * k
    pooled = x[:, :, :Hc, :Wc].reshape(B, C, H // k, k, W // k, k).max(axis=(3, 5))
    up = np.repeat(np.repeat(pooled, k, axis=2), k, axis=3)  # (B, C, Hc, Wc)
    dx = np.zeros_like(x)
    dx[:, :, :Hc, :Wc] = (x[:, :, :Hc, :Wc] == up) * np.kron(g, np.ones((k, k)))
    return dx


def _pool_torch_autograd(x, g, k):
    torch = pytest.importorskip("torch")
    xt = torch.from_numpy(x.copy()).requires_grad_()
    torch.nn.functional.max_pool2d(xt, k).backward(torch.from_numpy(g))
    return xt.grad.numpy()


def _pool_greater_equal(x, g, k):
    B, C, H, W = x.shape
    Ho, Wo = H // k, W // k
    win = x[:, :, : Ho * k, : Wo * k].reshape(B, C, Ho, k, Wo, k)
    mask = win >= win.max(axis=(3, 5), keepdims=True)
    dx = np.zeros_like(x)
    dx[:, :, : Ho * k, : Wo * k] = (mask * g[:, :, :, None, :, None]).reshape(B, C, Ho * k, -1)
    return dx


@pytest.mark.parametrize(
    "student",
    [_pool_repeat, _pool_torch_autograd, _pool_greater_equal],
)
def test_max_pool_backward_second_round_correct_answers_pass(student):
    result = check_max_pool_backward(student)
    assert result.passed, str(result)


@pytest.mark.parametrize(
    "student, words, not_words",
    [
        (lambda n, k, s, p: round((n + 2 * p - k) / s) + 1, "nearest whole number", "rounded up"),
        (lambda n, k, s, p: (n + p**2 - k) // s + 1, "ResNet", "rounded up"),
        (lambda n, k, s, p: (n + 2 * p - k + 1) // s + 1, "wrong values", "+ 1"),
        (lambda n, k, s, p: -(-(n + 2 * p - k) // s), "wrong values", "rounded"),
        (lambda n, k, s, p: (n + 2 * p - s) // k + 1, "wrong values", "ignored the stride"),
        # the size of 'same' padding, whatever the padding asked for
        (lambda n, k, s, p: (n + s - 1) // s, "wrong values", "ignored the padding"),
        (lambda n, k, s, p: np.float32((n + 2 * p - k) // s + 1), "integer", "wrong values"),
        (lambda n, k, s, p: ((n + 2 * p - k) // s + 1,), "tuple", "wrong values"),
        (lambda n, k, s, p: np.array([(n + 2 * p - k) // s + 1]), "shape (1,)", "wrong values"),
        (lambda n, k, s, p: True, "wrong values", "integer"),
    ],
)
def test_conv_output_size_second_round_mistakes(student, words, not_words):
    result = check_conv_output_size(student)
    assert not result.passed
    text = f"{result.message} {result.hint}"
    assert words in text and not_words not in text, str(result)


def _size_from_torch(n, kernel_size, stride, padding):
    torch = pytest.importorskip("torch")
    x, w = torch.zeros(1, 1, n), torch.zeros(1, 1, kernel_size)
    return torch.nn.functional.conv1d(x, w, stride=stride, padding=padding).shape[-1]


@pytest.mark.parametrize(
    "student",
    [
        _size_from_torch,
        lambda n, k, s, p: np.array((n + 2 * p - k) // s + 1),  # a 0-d array
        lambda n, k, s, p: np.int32((n + 2 * p - k) // s + 1),
        lambda n, k, s, p: np.uint64((n + 2 * p - k) // s + 1),
        lambda n, k, s, p: divmod(n + 2 * p - k, s)[0] + 1,
        lambda n, k, s, p: math.ceil((n + 2 * p - k + 1) / s),
        lambda n, k, s, p: max(0, (n + 2 * p - k) // s + 1),
        lambda n, k, s, p: int(np.float32(n + 2 * p - k) / np.float32(s)) + 1,
    ],
)
def test_conv_output_size_second_round_correct_answers_pass(student):
    result = check_conv_output_size(student)
    assert result.passed, str(result)


def _bn_momentum_update(x, gamma, beta, m, v, eps):
    """Updates the running statistics with this batch first: that is training mode."""
    axes = (0, *range(2, x.ndim))
    m2, v2 = 0.9 * m + 0.1 * x.mean(axis=axes), 0.9 * v + 0.1 * x.var(axis=axes)
    return batch_norm_eval(x, gamma, beta, m2, v2, eps)


def _bn_images_only(x, gamma, beta, m, v, eps):
    g, b, m, v = (a[:, None, None] for a in (gamma, beta, m, v))  # right for (B, C, H, W) only
    return g * (x - m) / np.sqrt(v + eps) + b


def _bn_layer_norm(x, gamma, beta, m, v, eps):
    axes = tuple(range(1, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    mu, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
    return gamma.reshape(shape) * (x - mu) / np.sqrt(var + eps) + beta.reshape(shape)


@pytest.mark.parametrize(
    "student, words, not_words",
    [
        # eps copied from PyTorch's or Keras' default instead of the argument
        (lambda x, g, b, m, v, e: batch_norm_eval(x, g, b, m, v, 1e-5), "eps: 0.001", "float32"),
        (lambda x, g, b, m, v, e: batch_norm_eval(x, g, b, m, v, 1e-3), "eps: 1e-05", "float32"),
        (lambda x, g, b, m, v, e: batch_norm_eval(x, g, b, m, v, 2 * e), "wrong values", "float32"),
        (_bn_momentum_update, "wrong values", "float32"),
        (_bn_images_only, "shape (3, 6, 3)", "float32"),
        (_bn_layer_norm, "wrong values", "training"),
        (lambda x, g, b, m, v, e: batch_norm_eval(x, g, b, v, m, e), "wrong values", "float32"),
        (lambda x, g, b, m, v, e: batch_norm_eval(x, g, b, m, v**2, e), "wrong values", "variance"),
        (lambda x, g, b, m, v, e: x, "wrong values", "float32"),
        # float32 inputs lose the digits that matter when x and running_mean are near 10,000
        (lambda *a: batch_norm_eval(*(t.astype(np.float32) for t in a[:5]), a[5]), "float32", ""),
    ],
)
def test_batch_norm_eval_second_round_mistakes(student, words, not_words):
    result = check_batch_norm_eval(student)
    assert not result.passed
    text = f"{result.message} {result.hint}"
    assert words in text and (not not_words or not_words not in text), str(result)


def _bn_torch(x, gamma, beta, m, v, eps):
    torch = pytest.importorskip("torch")
    t = torch.from_numpy
    return torch.nn.functional.batch_norm(
        t(x), t(m), t(v), t(gamma), t(beta), training=False, eps=eps
    ).numpy()


def _bn_expand_dims(x, gamma, beta, m, v, eps):
    axes = tuple(range(1, x.ndim - 1))  # () for (B, C); (1, 2) for (B, C, H, W)
    g, b, m, v = (np.expand_dims(a, axes) for a in (gamma, beta, m, v))
    return g * (x - m) / np.sqrt(v + eps) + b


@pytest.mark.parametrize(
    "student",
    [
        _bn_torch,
        _bn_expand_dims,
        lambda x, g, b, m, v, e: ((x.swapaxes(1, -1) - m) / np.sqrt(v + e) * g + b).swapaxes(1, -1),
        lambda *a: batch_norm_eval(*(np.longdouble(t) for t in a)),
    ],
)
def test_batch_norm_eval_second_round_correct_answers_pass(student):
    result = check_batch_norm_eval(student)
    assert result.passed, str(result)
