"""Linear probes on a GPT's hidden states (chapter 11).

==============================================  =============================================
``labels.sentence_topics(text)``                 topic of each character's sentence, -1 where
                                                 the text so far cannot tell it
``labels.character_control_labels(text, K,``     a control task: a random class per character
``rng)``                                         type (Hewitt and Liang 2019)
``linear.fit_linear_probe(features, labels,``    multinomial logistic regression by L-BFGS,
``n_classes, l2=1e-3)``                          NumPy + SciPy; returns a :class:`LinearProbe`
``linear.probe_accuracy_by_layer(...)``          one probe per layer, test accuracy each
``torch_backend.residual_stream(model, ids)``    x_0 .. x_L by forward hooks, (L + 1, B, T, C)
``torch_backend.topic_probe_data(model,``        features (L + 1, N, C) and topics (N,) at the
``vocab, text, window=None)``                    labelled positions of a text
==============================================  =============================================

Only the hidden-state extraction needs a framework, and only PyTorch is provided: the
chapter's GPT is a torch model. ``import dlbook.probes`` loads neither torch nor TF.
"""

from __future__ import annotations

from dlbook.probes.labels import UNKNOWN, character_control_labels, sentence_topics
from dlbook.probes.linear import LinearProbe, fit_linear_probe, probe_accuracy_by_layer

__all__ = [
    "UNKNOWN",
    "LinearProbe",
    "character_control_labels",
    "fit_linear_probe",
    "probe_accuracy_by_layer",
    "sentence_topics",
]
