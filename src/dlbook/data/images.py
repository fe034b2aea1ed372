"""Image datasets that need no network, for the convolutional networks of chapter 3.

Shape legend: N = images, C = channels, S = height = width; images are
channels-first, (N, C, S, S), as everywhere in dlbook.

* :func:`load_digit_images`: scikit-learn's bundled 8x8 digits, in the fixed
  70/15/15 split of :func:`dlbook.data.load_digits_split`, upscaled to S x S
  (32 by default, LeNet's input size) by bilinear interpolation, and repeated
  over C channels (3 by default, for the seed's LeNet, built for colour images).
  The repeated channels carry no new information; they keep the architecture.
* :func:`make_pattern_images`: a generated task built to reward convolution:
  one of K small binary patterns, all with the same number of lit pixels, at a
  uniformly random position on a noisy canvas. The class is *which* pattern,
  wherever it is.
* :func:`augment`: random shifts, small rotations and pixel noise for a batch.

CIFAR-10, the usual first image benchmark, needs a download (170 MB), which the
book avoids: every chapter runs offline.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dlbook._validate import check_float_dtype
from dlbook.data.digits import DataSplit, load_digits_split
from dlbook.seeding import make_rng


@dataclass(frozen=True)
class ImageSplit(DataSplit):
    """A :class:`DataSplit` whose examples are images (N, C, S, S)."""

    def __repr__(self) -> str:
        shape = tuple(self.x_train.shape[1:])
        return (
            f"ImageSplit(train={len(self.y_train)}, val={len(self.y_val)}, "
            f"test={len(self.y_test)}, image={shape}, classes={self.n_classes})"
        )

    def flat(self) -> DataSplit:
        """The same split with every image flattened to a row (N, C S S), for an MLP."""
        f = [a.reshape(len(a), -1) for a in (self.x_train, self.x_val, self.x_test)]  # (N, D)
        return DataSplit(f[0], self.y_train, f[1], self.y_val, f[2], self.y_test, self.n_classes)


def _standardize(parts: list[np.ndarray], dtype: str) -> list[np.ndarray]:
    """Shift and scale every part by the mean and std of the first (the training set)."""
    mean, std = float(parts[0].mean()), float(parts[0].std())
    return [((p - mean) / std).astype(dtype) for p in parts]


def load_digit_images(
    split_seed: int = 0, *, size: int = 32, channels: int = 3, dtype: str = "float32"
) -> ImageSplit:
    """scikit-learn's digits as (N, channels, size, size) images, standardised.

    >>> load_digit_images()
    ImageSplit(train=1258, val=269, test=270, image=(3, 32, 32), classes=10)
    """
    from scipy.ndimage import zoom

    check_float_dtype(dtype)
    if not isinstance(size, int) or size < 8 or not isinstance(channels, int) or channels < 1:
        raise ValueError(f"size must be an int >= 8 and channels >= 1, got {size!r}, {channels!r}.")
    d = load_digits_split(split_seed, dtype="float64", standardize=False)  # pixels in [0, 1]
    parts = []
    for x in (d.x_train, d.x_val, d.x_test):
        img = x.reshape(-1, 8, 8)  # (N, 8, 8)
        big = zoom(img, (1, size / 8, size / 8), order=1, grid_mode=True, mode="nearest")
        parts.append(np.repeat(big[:, None], channels, axis=1))  # (N, C, S, S)
    xs = _standardize(parts, dtype)
    return ImageSplit(xs[0], d.y_train, xs[1], d.y_val, xs[2], d.y_test, n_classes=10)


def pattern_templates(
    n_classes: int = 4, pattern_size: int = 5, lit: int = 9, seed: int = 0
) -> np.ndarray:
    """K distinct binary patterns (K, P, P), each with exactly ``lit`` pixels at 1."""
    rng = make_rng(seed)
    out: list[np.ndarray] = []
    while len(out) < n_classes:
        p = np.zeros(pattern_size * pattern_size)
        p[rng.choice(p.size, size=lit, replace=False)] = 1.0
        p = p.reshape(pattern_size, pattern_size)  # (P, P)
        if not any(np.array_equal(p, q) for q in out):
            out.append(p)
    return np.stack(out)  # (K, P, P)


def make_pattern_images(
    n_train: int = 2000,
    n_val: int = 500,
    n_test: int = 1000,
    *,
    size: int = 32,
    n_classes: int = 4,
    pattern_size: int = 5,
    noise: float = 0.3,
    seed: int = 0,
    dtype: str = "float32",
) -> ImageSplit:
    """One of ``n_classes`` small patterns at a random position on a noisy canvas (N, 1, S, S).

    Every pattern lights the same number of pixels, so the brightness of an image
    says nothing about its class; only the local arrangement does, and it may
    sit anywhere. A dense network must learn each pattern at every position
    separately; a convolution learns it once. The patterns are fixed
    (:func:`pattern_templates` with seed 0); ``seed`` draws the positions,
    labels and noise.
    """
    check_float_dtype(dtype)
    if pattern_size > size:
        raise ValueError(f"pattern_size {pattern_size} does not fit a canvas of size {size}.")
    templates = pattern_templates(n_classes, pattern_size)  # (K, P, P)
    rng = make_rng(seed)
    n = n_train + n_val + n_test
    y = rng.integers(0, n_classes, size=n)  # (N,)
    top = rng.integers(0, size - pattern_size + 1, size=(n, 2))  # (N, 2): row, column
    x = noise * rng.normal(size=(n, size, size))  # (N, S, S)
    rows = top[:, 0, None, None] + np.arange(pattern_size)[None, :, None]  # (N, P, 1)
    cols = top[:, 1, None, None] + np.arange(pattern_size)[None, None, :]  # (N, 1, P)
    x[np.arange(n)[:, None, None], rows, cols] += templates[y]  # paste each pattern
    x = x[:, None]  # (N, 1, S, S)
    cut = [0, n_train, n_train + n_val, n]
    parts = _standardize([x[a:b] for a, b in zip(cut[:-1], cut[1:], strict=True)], dtype)
    ys = [y[a:b] for a, b in zip(cut[:-1], cut[1:], strict=True)]
    return ImageSplit(parts[0], ys[0], parts[1], ys[1], parts[2], ys[2], n_classes=n_classes)


def shift_images(x: np.ndarray, dy: int, dx: int, fill: float | None = None) -> np.ndarray:
    """Move every image of x (N, C, S, S) down by ``dy`` and right by ``dx`` pixels.

    Pixels shifted in from outside take ``fill`` (default: the image's minimum,
    the background of a standardised image).
    """
    x = np.asarray(x)
    out = np.full_like(x, x.min() if fill is None else fill)
    H, W = x.shape[-2:]
    src = x[..., max(0, -dy) : H - max(0, dy), max(0, -dx) : W - max(0, dx)]
    out[..., max(0, dy) : max(0, dy) + src.shape[-2], max(0, dx) : max(0, dx) + src.shape[-1]] = src
    return out


def augment(
    x: np.ndarray,
    rng: np.random.Generator,
    *,
    max_shift: int = 2,
    max_degrees: float = 0.0,
    noise: float = 0.0,
) -> np.ndarray:
    """A randomly altered copy of the batch x (B, C, S, S): what a training step sees.

    Each image is shifted by up to ``max_shift`` pixels along each axis (filling
    with the background), rotated by up to ``max_degrees`` about its centre
    (bilinear; skipped when 0), and gets Gaussian pixel noise of std ``noise``.
    The label does not change: a digit moved by two pixels is the same digit.
    """
    from scipy.ndimage import rotate

    x = np.asarray(x)
    B, background = len(x), x.min()
    out = np.empty_like(x)
    shifts = rng.integers(-max_shift, max_shift + 1, size=(B, 2))  # (B, 2)
    angles = rng.uniform(-max_degrees, max_degrees, size=B)  # (B,)
    for k in range(B):  # a loop over the images of a batch, not over pixels
        img = shift_images(x[k], int(shifts[k, 0]), int(shifts[k, 1]), fill=background)
        if max_degrees > 0:
            img = rotate(img, angles[k], axes=(1, 2), reshape=False, order=1, cval=background)
        out[k] = img
    if noise > 0:
        out = out + noise * rng.normal(size=x.shape).astype(x.dtype)
    return out.astype(x.dtype, copy=False)
