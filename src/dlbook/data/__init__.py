"""Datasets that need no network: scikit-learn's bundled digits, and generated 2-D toys."""

from dlbook.data.batching import minibatches
from dlbook.data.digits import DataSplit, load_digits_split
from dlbook.data.toy import make_blobs, make_circles, make_moons, make_spirals, make_xor

__all__ = [
    "DataSplit",
    "load_digits_split",
    "minibatches",
    "make_blobs",
    "make_circles",
    "make_moons",
    "make_spirals",
    "make_xor",
]
