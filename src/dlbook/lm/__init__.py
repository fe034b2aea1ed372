"""Character-level language modelling without a framework (chapters 5 and 6).

Everything here is NumPy: the vocabulary, the count-based n-gram baseline, the
metrics and the sampling rules are shared by every backend's neural model, so a
PyTorch LSTM and a TensorFlow one are scored and sampled by the same code. The
text comes from :func:`dlbook.data.corpus.load_corpus`, whose best possible loss
(its entropy rate) is known exactly.

==============================================  ============================================
``CharVocab(alphabet)``, ``.from_text(text)``   characters <-> int64 ids: ``encode``,
                                                ``decode``, ``len``
``NGramModel(n, V, smoothing=, k=)``            count-based model: ``fit(ids)``,
                                                ``prob(context)`` (V,), ``log_prob(ids)``,
                                                ``cross_entropy(ids)`` (nats/char)
``best_ngram(train, val, orders)``              one model per order; train and validation
                                                loss of each (:class:`NGramSweep`)
``log_softmax(logits, axis=-1)``                stable ``z - logsumexp(z)``
``cross_entropy_from_logits(logits, targets)``  mean nats; logits (N, V) or (B, T, V)
``perplexity(nats)``, ``bits_per_char(nats)``   ``exp(L)`` and ``L / ln 2``
``softmax_with_temperature(logits, T)``         ``softmax(logits / T)``, last axis
``sample_with_temperature(logits, T, rng)``     one draw per row; ``greedy=True`` is argmax
``top_k_filter(logits, k)``                     all but the k largest logits set to ``-inf``
==============================================  ============================================

Importing this package does not import PyTorch or TensorFlow.
"""

from __future__ import annotations

from dlbook.lm.metrics import bits_per_char, cross_entropy_from_logits, log_softmax, perplexity
from dlbook.lm.ngram import NGramModel, NGramSweep, best_ngram
from dlbook.lm.sampling import sample_with_temperature, softmax_with_temperature, top_k_filter
from dlbook.lm.vocab import CharVocab

__all__ = [
    "CharVocab",
    "NGramModel",
    "NGramSweep",
    "best_ngram",
    "bits_per_char",
    "cross_entropy_from_logits",
    "log_softmax",
    "perplexity",
    "sample_with_temperature",
    "softmax_with_temperature",
    "top_k_filter",
]
