"""Data augmentation for task-specific distillation: TinyBERT's and Tang et al.'s.

Both papers distil on a transfer set larger than the training set: the training
sentences plus perturbed copies, labelled by the teacher.

- :class:`TinyBertAugmenter` (TinyBERT, Algorithm 1): replace words by a BERT MLM's
  top-K guesses (single WordPiece words) or GloVe neighbours (the others), with the
  MLM batched over every word of every sentence.
- :class:`TangAugmenter` (Tang et al. 2019): masking, POS-guided replacement and n-gram
  sampling.
- :func:`load_glove`, :func:`train_word2vec`, :func:`neighbours`: word vectors for the
  former (word2vec trained on your corpus is the offline stand-in for GloVe).
- :func:`teacher_label`: the teacher's logits on the augmented rows, through the
  teacher-output cache.

Each augmenter's ``augment_split(split, spec)`` returns an unlabelled
:class:`~kdzoo.data.base.Split` (originals included) whose ``meta["source_index"]``
names the original row of each new one.

Book chapter: ``book/augment/index.md``.
"""

from __future__ import annotations

from kdzoo.augment.labels import teacher_label
from kdzoo.augment.tang import TangAugmenter, default_tagger
from kdzoo.augment.tinybert import STOPWORDS, TinyBertAugmenter
from kdzoo.augment.vectors import as_keyed_vectors, load_glove, neighbours, train_word2vec

__all__ = [
    "STOPWORDS",
    "TangAugmenter",
    "TinyBertAugmenter",
    "as_keyed_vectors",
    "default_tagger",
    "load_glove",
    "neighbours",
    "teacher_label",
    "train_word2vec",
]
