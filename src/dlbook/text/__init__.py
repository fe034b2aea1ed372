"""Text as numbers: offline topic documents and TF-IDF from scratch (chapter 4).

Everything here is NumPy and the standard library: turning text into a matrix of
features needs no framework, and the features feed any backend's model. So, as
:mod:`dlbook.metrics`, this package has no backend modules; ``tests/text``
checks :class:`Tfidf` against scikit-learn's ``TfidfVectorizer`` to 1e-12.

Shape legend: N = documents, V = vocabulary size, K = topics.

==================================================  =========================================
``TopicDocsConfig``                                 the knobs of the document generator
``make_topic_documents(n, config, seed)``           N documents, their topics, the source
``TopicSource.log_likelihood(docs)``                (N, K) exact log-likelihood of each topic
``TopicSource.bayes_predict(docs)``                 the best possible classifier's answers
``tokenize(doc)``                                   lower-case words of 2+ letters
``build_vocabulary(token_lists)``                   word -> column, in alphabetical order
``count_matrix(token_lists, vocabulary)``           (N, V) term counts
``idf(counts)``                                     (V,) ln((1 + N) / (1 + df)) + 1
``tfidf(counts, idf)``                              (N, V) counts x idf, rows of unit L2 norm
``Tfidf().fit(docs).transform(docs)``               the four steps, as one object
==================================================  =========================================

**Why generated documents.** The usual example, 20 newsgroups, is downloaded on
first use, and this book runs offline. The generator writes documents whose
topics overlap on purpose (topics share keywords, and most words are topic-free
filler), and, since it knows its own word probabilities, it can say how well
the best possible classifier does: the ceiling any model is measured against.
"""

from __future__ import annotations

from dlbook.text.documents import TopicDocsConfig, TopicSource, make_topic_documents
from dlbook.text.tfidf import Tfidf, build_vocabulary, count_matrix, idf, tfidf, tokenize

__all__ = [
    "Tfidf",
    "TopicDocsConfig",
    "TopicSource",
    "build_vocabulary",
    "count_matrix",
    "idf",
    "make_topic_documents",
    "tfidf",
    "tokenize",
]
