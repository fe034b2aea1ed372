"""The offline image datasets of chapter 3 and the augmentation."""

from __future__ import annotations

import numpy as np
import pytest

from dlbook.data.digits import load_digits_split
from dlbook.data.images import (
    augment,
    load_digit_images,
    make_pattern_images,
    pattern_templates,
    shift_images,
)


def test_digit_images_keep_the_split_and_are_standardised() -> None:
    d = load_digit_images()
    flat = load_digits_split()
    assert repr(d) == "ImageSplit(train=1258, val=269, test=270, image=(3, 32, 32), classes=10)"
    np.testing.assert_array_equal(d.y_test, flat.y_test)
    assert d.x_train.dtype == np.float32
    assert abs(float(d.x_train.mean())) < 1e-4 and abs(float(d.x_train.std()) - 1) < 1e-4
    np.testing.assert_array_equal(d.x_train[:, 0], d.x_train[:, 2])  # repeated channels
    assert d.flat().x_train.shape == (1258, 3072)


def test_digit_images_at_another_size() -> None:
    d = load_digit_images(size=16, channels=1, dtype="float64")
    assert d.x_val.shape == (269, 1, 16, 16) and d.x_val.dtype == np.float64


def test_patterns_have_equal_brightness_and_vary_in_position() -> None:
    t = pattern_templates(4, 5, 9)
    assert t.shape == (4, 5, 5) and (t.sum(axis=(1, 2)) == 9).all()
    p = make_pattern_images(200, 50, 100, noise=0.0, seed=3)
    assert p.x_train.shape == (200, 1, 32, 32) and p.n_classes == 4
    raw = make_pattern_images(200, 50, 100, noise=0.0, seed=3, dtype="float64").x_train
    bright = raw.reshape(200, -1).max(axis=1, keepdims=True) == raw.reshape(200, -1)
    assert (bright.sum(axis=1) == 9).all()  # every image lights exactly 9 pixels
    first = np.argmax(bright, axis=1)
    assert len(np.unique(first)) > 100  # the patterns sit at many positions
    again = make_pattern_images(200, 50, 100, noise=0.0, seed=3)
    np.testing.assert_array_equal(p.x_test, again.x_test)


def test_shift_images_moves_content_and_fills_the_background() -> None:
    x = np.zeros((1, 1, 5, 5))
    x[0, 0, 1, 1] = 1.0
    y = shift_images(x, 2, -1)
    assert y[0, 0, 3, 0] == 1.0 and y.sum() == 1.0


def test_augment_is_reproducible_and_keeps_shapes() -> None:
    x = load_digit_images(size=16).x_train[:8]
    a = augment(x, np.random.default_rng(0), max_shift=2, max_degrees=10.0, noise=0.1)
    b = augment(x, np.random.default_rng(0), max_shift=2, max_degrees=10.0, noise=0.1)
    np.testing.assert_array_equal(a, b)
    assert a.shape == x.shape and a.dtype == x.dtype and not np.array_equal(a, x)
    same = augment(x, np.random.default_rng(0), max_shift=0)
    np.testing.assert_array_equal(same, x)


def test_bad_arguments_are_explained() -> None:
    with pytest.raises(ValueError, match="dtype"):
        load_digit_images(dtype="float16")
    with pytest.raises(ValueError, match="does not fit"):
        make_pattern_images(pattern_size=40)
