"""The life of a small language model, on CPU and offline (chapter 7).

=============================================  ==============================================
name                                           what it is
=============================================  ==============================================
``corpus.load_corpus()``                       four books of the King James Bible, split
                                               90 / 10 at a verse boundary (``Corpus``)
``corpus.load_tang_poems()``                   the Three Hundred Tang Poems (Chinese)
``corpus.passages(ids_by_book, T, n, rng)``    passages and book labels (classification;
                                               ``stride`` for overlapping test windows)
``tasks.make_instructions(words, n, rng)``     generated instructions with known answers
``tasks.make_preferences(words, n, rng)``      (prompt, chosen, rejected): concise preferred
``torch_backend.pretrain`` ...                 the stages on the book's PyTorch GPT:
                                               ``pretrain``, ``finetune_classifier``,
                                               ``instruction_tune``, ``dpo_train``;
                                               ``finetune_classifier(..., freeze_body=True)``
                                               is a linear probe of the pretrained body
``torch_backend.nats_per_char`` ...            the measures: held-out nats per character,
                                               ``classification_accuracy``,
                                               ``instruction_metrics``, ``concise_rate``,
                                               ``kl_from_reference``, ``answer``
``checkpoints.load_stage(stage)``              the shipped models: "pretrained", "sft", "dpo"
``checkpoints.load_tokenizer()``               the shipped BPE tokenizer (V = 512)
``checkpoints.load_results()``                 every stage's numbers over three seeds
=============================================  ==============================================

``tools/train_llm_life.py`` trains every stage for three seeds and writes the
shipped files. The training code is PyTorch only (``torch_backend``): the book's
GPT trains on PyTorch, and the from-scratch pieces of this chapter, the tokenizer
(:mod:`dlbook.tokenizer`) and the losses (:mod:`dlbook.alignment`), have their own
packages. Importing this package does not import PyTorch.
"""

from __future__ import annotations

from dlbook.llm.corpus import BOOKS, load_corpus, load_tang_poems

__all__ = ["BOOKS", "load_corpus", "load_tang_poems"]
