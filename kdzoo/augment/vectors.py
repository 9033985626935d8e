"""Word vectors for augmentation: GloVe files, any gensim ``KeyedVectors``, a word2vec stand-in.

TinyBERT's augmentation replaces a word that BERT splits into several WordPieces by one
of its K nearest GloVe neighbours. The official code (``TinyBERT/data_augmentation.py``)
loads only the first 100,000 lines of the GloVe file, L2-normalises the vectors, ranks
every word by dot product with the query (so by cosine similarity), leaves the word
itself out and keeps the top K = 15. A word outside those 100k lines has no candidates.

- :func:`load_glove` reads a GloVe text file (no header) into gensim ``KeyedVectors``,
  the first ``limit`` lines as the official code does.
- :func:`as_keyed_vectors` accepts ``KeyedVectors``, a gensim model with ``.wv`` or a
  GloVe path, so the augmenters take any of them.
- :func:`train_word2vec` trains a small gensim Word2Vec on your own corpus (for example
  :func:`kdzoo.data.embedded.embedded_corpus`): the offline stand-in for GloVe, since
  GloVe is an 800 MB download. With one worker and a seed it is deterministic.
- :func:`neighbours` gives the top-k cosine neighbours of a word, itself excluded.

Reference: Pennington et al. 2014, *GloVe: Global Vectors for Word Representation*;
Jiao et al. 2020 (TinyBERT), Algorithm 1.

Book chapter: ``book/augment/index.md``.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from kdzoo.tokenization import basic_tokenize

__all__ = ["as_keyed_vectors", "load_glove", "neighbours", "train_word2vec"]


def load_glove(path: str | os.PathLike, limit: int | None = 100_000):
    """Read a GloVe text file into gensim ``KeyedVectors``.

    Each line is a word followed by its floats, separated by spaces, with no header
    line. Blank lines are skipped; a word seen twice keeps its first vector. A word
    that itself contains spaces (a few lines of the Common Crawl 840B file) is
    recovered from the line's length, since every vector has the same size.

    Args:
        path: the ``.txt`` file, e.g. ``glove.6B.300d.txt``.
        limit: read only the first ``limit`` lines, the most frequent words (the
            official TinyBERT code reads 100,000); None reads the whole file.

    Returns:
        ``gensim.models.KeyedVectors`` with float32 vectors [V, D] as in the file.
        Similarities are cosine (gensim normalises for ``most_similar``), which is
        the official code's dot product of L2-normalised vectors.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: a malformed line; the message names the file and the line number.
    """
    from gensim.models import KeyedVectors

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no GloVe file at {path}. Download one (e.g. glove.6B.zip from "
            "https://nlp.stanford.edu/projects/glove/) or, offline, train a stand-in with "
            "kdzoo.augment.train_word2vec(kdzoo.data.embedded.embedded_corpus())."
        )
    words: list[str] = []
    rows: list[np.ndarray] = []
    seen: set[str] = set()
    dim = None
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if limit is not None and lineno > limit:
                break
            fields = line.rstrip().split(" ")  # some files end lines with a space
            if not line.strip():
                continue
            if dim is None:
                dim = len(fields) - 1
                if dim < 1:
                    raise ValueError(
                        f"{path}, line {lineno}: a word with no numbers ({line[:60]!r}). A "
                        "GloVe text file has a word then its floats on every line, no header."
                    )
            if len(fields) < dim + 1:
                raise ValueError(
                    f"{path}, line {lineno}: expected a word and {dim} numbers, got "
                    f"{len(fields)} fields ({line[:60]!r}...). Is this a GloVe text file "
                    "(word then floats, space-separated, no header)? A word2vec-format "
                    "file with a header line loads with KeyedVectors.load_word2vec_format."
                )
            word = " ".join(fields[: len(fields) - dim])
            try:
                vector = np.asarray(fields[len(fields) - dim :], dtype=np.float32)
            except ValueError:
                raise ValueError(
                    f"{path}, line {lineno}: the {dim} values after the word "
                    f"{word!r} are not all numbers ({line[:60]!r}...)."
                ) from None
            if word in seen:
                continue
            seen.add(word)
            words.append(word)
            rows.append(vector)
    if not words:
        raise ValueError(f"{path} holds no vectors.")
    kv = KeyedVectors(vector_size=dim)
    kv.add_vectors(words, np.stack(rows))
    return kv


def as_keyed_vectors(vectors):
    """``KeyedVectors`` from KeyedVectors, a gensim model (its ``.wv``), a GloVe path or None."""
    from gensim.models import KeyedVectors

    if vectors is None or isinstance(vectors, KeyedVectors):
        return vectors
    if isinstance(getattr(vectors, "wv", None), KeyedVectors):
        return vectors.wv
    if isinstance(vectors, str | os.PathLike):
        return load_glove(vectors)
    raise TypeError(
        f"word vectors must be gensim KeyedVectors, a gensim model with .wv, or the path "
        f"of a GloVe text file; got {type(vectors).__name__}. Use kdzoo.augment.load_glove "
        "or kdzoo.augment.train_word2vec to make some."
    )


def _stable_hash(text: str) -> int:
    # gensim's default is Python's hash(), salted per process (PYTHONHASHSEED).
    return zlib.crc32(text.encode("utf-8"))


def train_word2vec(
    sentences: Iterable[str],
    vector_size: int = 100,
    *,
    window: int = 5,
    min_count: int = 1,
    epochs: int = 5,
    sg: int = 1,
    seed: int = 0,
    lowercase: bool = True,
):
    """Train a gensim Word2Vec on ``sentences`` and return its ``KeyedVectors``.

    The offline stand-in for GloVe. Sentences are split into words by
    :func:`kdzoo.tokenization.basic_tokenize`, the split BERT's basic tokenizer (and
    the augmenters) use. Training runs on one worker with a fixed ``seed`` and a hash
    that does not depend on ``PYTHONHASHSEED``, so the same corpus and arguments give
    the same vectors in every process.

    Args:
        sentences: the corpus, one text per item.
        vector_size: dimension D of the vectors.
        window: context window (words on each side).
        min_count: ignore words seen fewer times.
        epochs: passes over the corpus.
        sg: 1 for skip-gram, 0 for CBOW.
        seed: seeds the initial vectors and the negative sampling.
        lowercase: lowercase before splitting, as an uncased BERT does.

    Returns:
        ``gensim.models.KeyedVectors`` with [V, vector_size] float32 vectors.
    """
    from gensim.models import Word2Vec

    corpus = [basic_tokenize(s, lowercase) for s in sentences]
    corpus = [words for words in corpus if words]
    if not corpus:
        raise ValueError("train_word2vec got no words; pass a non-empty list of sentences.")
    model = Word2Vec(
        sentences=corpus,
        vector_size=vector_size,
        window=window,
        min_count=min_count,
        epochs=epochs,
        sg=sg,
        seed=seed,
        workers=1,
        hashfxn=_stable_hash,
    )
    return model.wv


def neighbours(kv, word: str, k: int) -> list[str]:
    """The ``k`` nearest words to ``word`` by cosine similarity, ``word`` excluded.

    Args:
        kv: gensim ``KeyedVectors`` (or None: no vectors, no neighbours).
        word: the query word.
        k: how many neighbours.

    Returns:
        Up to ``k`` words, most similar first; ``[]`` for a word not in ``kv``.
    """
    if kv is None or k <= 0 or word not in kv.key_to_index:
        return []
    return [w for w, _ in kv.most_similar(word, topn=k) if w != word]
