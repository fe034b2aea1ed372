"""Tokenizers: byte-level byte-pair encoding (BPE) from scratch (chapter 7).

=============================================  ==============================================
name                                           what it is
=============================================  ==============================================
``pretokenize(text)``                          GPT-2 style pre-tokens (words with their space,
                                               digits, punctuation, white space)
``pair_counts(ids)``                           adjacent pair -> count, overlapping included
``most_frequent_pair(counts)``                 the largest count; ties to the smallest pair
``merge_pair(ids, pair, new_id)``              one merge, left to right, no overlaps
``train_bpe(text, n_merges, special_tokens)``  learn merges -> :class:`BPETokenizer`
``BPETokenizer``                               ``encode(text) -> ids (N,)``, ``decode(ids)``,
                                               ``vocab_size``, ``to_json`` / ``from_json``
``load_gpt2_tokenizer()``                      GPT-2's 50,257 tokens from the shipped ranks
``tokens_per_char(tokenizer, text)``           sequence length per character
=============================================  ==============================================

Unlike the other concept packages there is one implementation and no framework
backend: tokenization is bookkeeping on integers, with no gradient and nothing a
tensor library would speed up. Pure Python and NumPy, so importing it is light.
"""

from __future__ import annotations

from dlbook.tokenizer.bpe import (
    ENDOFTEXT,
    BPETokenizer,
    load_gpt2_tokenizer,
    merge_pair,
    most_frequent_pair,
    pair_counts,
    pretokenize,
    tokens_per_char,
    train_bpe,
)

__all__ = [
    "ENDOFTEXT",
    "BPETokenizer",
    "load_gpt2_tokenizer",
    "merge_pair",
    "most_frequent_pair",
    "pair_counts",
    "pretokenize",
    "tokens_per_char",
    "train_bpe",
]
