"""Datasets that need no network: scikit-learn's digits, generated 2-D toys, the chapter corpus."""

from dlbook.data.batching import minibatches
from dlbook.data.corpus import CharSource, Corpus, SourceConfig, Topic, load_corpus, make_source
from dlbook.data.digits import DataSplit, load_digits_split
from dlbook.data.toy import make_blobs, make_circles, make_moons, make_spirals, make_xor

__all__ = [
    "CharSource",
    "Corpus",
    "SourceConfig",
    "Topic",
    "load_corpus",
    "make_source",
    "DataSplit",
    "load_digits_split",
    "minibatches",
    "make_blobs",
    "make_circles",
    "make_moons",
    "make_spirals",
    "make_xor",
]
