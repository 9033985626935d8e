"""Tokenisation for BERT models (WordPiece) and for the BiLSTM students (words).

- :func:`load_tokenizer` loads a Hugging Face tokenizer from a local directory or,
  when online, the hub (failing fast offline).
- :func:`train_wordpiece` trains a WordPiece vocabulary on your own texts (the
  embedded offline tasks use it) and returns a Hugging Face ``BertTokenizerFast``
  that saves with ``save_pretrained`` and loads with ``AutoTokenizer``.
- :func:`encode` turns texts into the ``token_ids`` / ``segment_ids`` /
  ``padding_mask`` dict that :class:`kdzoo.models.BertModel` takes.
- :class:`WordVocab` is the word-level vocabulary of the BiLSTM students.

Note for transformers 5: ``BertTokenizerFast(vocab_file=...)`` silently ignores the
file and builds a 5-token vocabulary. kdzoo passes ``vocab=`` instead.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kdzoo.hub import resolve_pretrained

__all__ = [
    "WordVocab",
    "basic_tokenize",
    "check_tokenizer",
    "encode",
    "lexicon_wordpiece",
    "load_tokenizer",
    "train_wordpiece",
    "trim_padding",
]

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
_WARNED: set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _WARNED:
        _WARNED.add(message)
        warnings.warn(message, stacklevel=3)


def load_tokenizer(name_or_path: str | os.PathLike):
    """Load a Hugging Face tokenizer from a directory or (online) a hub name."""
    from transformers import AutoTokenizer

    directory = resolve_pretrained(
        name_or_path,
        allow_patterns=["*.json", "*.txt", "*.model"],
        what="tokenizer",
    )
    return AutoTokenizer.from_pretrained(str(directory))


def train_wordpiece(
    texts: Iterable[str],
    vocab_size: int = 4096,
    *,
    lowercase: bool = True,
    min_frequency: int = 1,
):
    """Train a WordPiece vocabulary and wrap it as a Hugging Face fast tokenizer.

    Args:
        texts: the training corpus, one text per item.
        vocab_size: the largest vocabulary to learn (special tokens included).
        lowercase: lowercase and strip accents, as ``bert-base-uncased`` does.
        min_frequency: drop merges seen fewer times than this.

    Returns:
        A ``transformers.BertTokenizerFast`` with ``[PAD]`` at id 0, ready for
        ``save_pretrained`` / ``AutoTokenizer.from_pretrained``.
    """
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertTokenizerFast

    trainer = BertWordPieceTokenizer(lowercase=lowercase, strip_accents=lowercase or None)
    trainer.train_from_iterator(
        texts,
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=list(SPECIAL_TOKENS),
        show_progress=False,
    )
    return BertTokenizerFast(vocab=trainer.get_vocab(), do_lower_case=lowercase)


def lexicon_wordpiece(
    texts: Iterable[str], pieces: Mapping[str, Sequence[str]], *, lowercase: bool = True
):
    """A WordPiece tokenizer whose vocabulary is every word of ``texts``, except the
    words of ``pieces``, which it holds only as those pieces.

    BERT's vocabulary holds frequent words whole and splits rare ones ("joysome" →
    "joy", "##some"). :func:`train_wordpiece` decides which words to split from their
    counts; this one is told, so that a small generated corpus gets exactly the splits
    its grammar intends. The vocabulary also holds every letter and its "##" form, so
    any other word is still spelled out, not mapped to ``[UNK]``.

    Args:
        texts: the corpus, one text per item (split as by :func:`basic_tokenize`).
        pieces: word → its pieces, e.g. ``{"joysome": ["joy", "##some"]}``; joined
            without "##", the pieces must spell the word. Their pieces enter the
            vocabulary even if ``texts`` never uses the word.
        lowercase: lowercase and strip accents, as ``bert-base-uncased`` does.

    Returns:
        A ``transformers.BertTokenizerFast`` with ``[PAD]`` at id 0.

    Raises:
        ValueError: pieces that do not spell their word, or a whole word of the
            vocabulary that would take WordPiece's greedy longest match away from a
            split (then the split would not be the one asked for).
    """
    import string

    from transformers import BertTokenizerFast

    for word, parts in pieces.items():
        spelled = "".join(p.removeprefix("##") for p in parts)
        marks = [p.startswith("##") for p in parts]
        if spelled != word or marks != [False] + [True] * (len(parts) - 1):
            raise ValueError(f"pieces {list(parts)} do not spell '{word}' as WordPiece would.")
    counts = Counter(w for t in texts for w in basic_tokenize(t, lowercase))
    vocab = list(SPECIAL_TOKENS)
    vocab += [*string.ascii_lowercase, *(f"##{c}" for c in string.ascii_lowercase)]
    for word in sorted(counts, key=lambda w: (-counts[w], w)):
        vocab += pieces.get(word, [word])
    vocab += [p for parts in pieces.values() for p in parts]  # also words texts lack
    vocab = list(dict.fromkeys(vocab))
    tokenizer = BertTokenizerFast(
        vocab={w: i for i, w in enumerate(vocab)}, do_lower_case=lowercase
    )
    for word, parts in pieces.items():
        if tokenizer.tokenize(word) != list(parts):
            raise ValueError(
                f"'{word}' would be split as {tokenizer.tokenize(word)}, not {list(parts)}: "
                "a longer whole word of the vocabulary is a prefix of it."
            )
    return tokenizer


def check_tokenizer(tokenizer, config) -> None:
    """Raise if ``tokenizer`` produces ids that the model's embedding cannot hold."""
    n = len(tokenizer)
    if n != config.vocab_size:
        raise ValueError(
            f"the tokenizer has {n} tokens but the model's vocab_size is "
            f"{config.vocab_size}; ids would index the wrong embedding rows. Build the "
            f"model with vocab_size=len(tokenizer) ({n}), or load the tokenizer that was "
            "saved with this model."
        )


def encode(
    tokenizer,
    texts: Sequence[str],
    texts_pair: Sequence[str] | None = None,
    *,
    max_length: int = 128,
    padding: str = "max_length",
    config=None,
) -> dict[str, np.ndarray]:
    """Tokenise single sentences or sentence pairs into kdzoo's input dict.

    Args:
        tokenizer: a Hugging Face tokenizer.
        texts: first sentences, [B].
        texts_pair: second sentences, [B], for pair tasks.
        max_length: truncate to and (with ``padding="max_length"``) pad to this length.
            TinyBERT's attention loss and LAD's [S, D] LayerNorm assume a fixed length.
        padding: ``"max_length"`` or ``"longest"`` (pad to the longest in the batch).
        config: a model config whose vocabulary size is checked against the tokenizer.

    Returns:
        ``{"token_ids", "segment_ids", "padding_mask"}``, int32 arrays of shape [B, L].
    """
    if config is not None:
        check_tokenizer(tokenizer, config)
        if max_length > config.max_position_embeddings:
            _warn_once(
                f"max_length={max_length} is longer than the model's "
                f"{config.max_position_embeddings} positions; truncating to "
                f"{config.max_position_embeddings}."
            )
            max_length = config.max_position_embeddings
    texts = list(texts)
    if texts_pair is not None:
        texts_pair = list(texts_pair)
        if len(texts_pair) != len(texts):
            raise ValueError(f"texts has {len(texts)} items but texts_pair has {len(texts_pair)}.")
    enc = tokenizer(
        texts,
        texts_pair,
        max_length=max_length,
        truncation=True,
        padding=padding,
        return_token_type_ids=True,
        return_attention_mask=True,
    )
    return {
        "token_ids": np.asarray(enc["input_ids"], dtype=np.int32),
        "segment_ids": np.asarray(enc["token_type_ids"], dtype=np.int32),
        "padding_mask": np.asarray(enc["attention_mask"], dtype=np.int32),
    }


def trim_padding(*inputs: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], ...]:
    """Cut the padding columns that no row of any of ``inputs`` uses.

    Every [N, L] array of every dict is sliced to the longest real sequence among them
    all, so the dicts keep one common, fixed length (TinyBERT's attention loss and
    LAD's gates need one) without computing on columns that are padding everywhere.
    Short task sentences encoded at a generous ``max_length`` lose most of their cost.

    Args:
        inputs: dicts from :func:`encode`, each with a ``"padding_mask"`` [N, L].

    Returns:
        the dicts, in order, with arrays of shape [N, L'] where L' is the longest row.
    """
    longest = max(int(x["padding_mask"].sum(axis=1).max(initial=1)) for x in inputs)
    return tuple({k: v[:, :longest] for k, v in x.items()} for x in inputs)


# --------------------------------------------------------------------------- words


def basic_tokenize(
    text: str, lowercase: bool = True, never_split: Sequence[str] = SPECIAL_TOKENS
) -> list[str]:
    """Split ``text`` into words and punctuation, the way BERT's basic tokenizer does.

    Tokens in ``never_split`` (BERT's special tokens by default) stay whole and keep
    their case, so ``"the [MASK] was good"`` gives ``["the", "[MASK]", "was", "good"]``
    (as ``never_split`` in BERT's own basic tokenizer); the masking augmentation of
    Tang et al. relies on it.
    """
    from tokenizers import normalizers, pre_tokenizers

    normalizer = normalizers.BertNormalizer(lowercase=True) if lowercase else None
    splitter = pre_tokenizers.BertPreTokenizer()
    pattern = "(" + "|".join(re.escape(t) for t in never_split) + ")" if never_split else None
    out: list[str] = []
    for i, piece in enumerate(re.split(pattern, text) if pattern else [text]):
        if i % 2:  # a never-split token (the separators re.split keeps)
            out.append(piece)
            continue
        if normalizer is not None:
            piece = normalizer.normalize_str(piece)
        out += [w for w, _ in splitter.pre_tokenize_str(piece)]
    return out


class WordVocab:
    """A word-level vocabulary for the BiLSTM students.

    Id 0 is ``<pad>``, id 1 is ``<unk>`` and id 2 is ``[MASK]`` (the mask token of Tang
    et al.'s augmentation, which the vocabulary always holds); words are lowercased and
    split as by :func:`basic_tokenize`. Build one with :meth:`build` (or
    :meth:`from_keyed_vectors` to cover a word2vec / GloVe file), save it as JSON.
    """

    PAD, UNK, MASK = "<pad>", "<unk>", "[MASK]"
    RESERVED = (PAD, UNK, MASK)

    def __init__(self, words: Sequence[str], lowercase: bool = True):
        words = list(words)
        if tuple(words[:3]) != self.RESERVED:
            words = [*self.RESERVED, *(w for w in words if w not in self.RESERVED)]
        if len(set(words)) != len(words):
            raise ValueError("WordVocab words must be unique.")
        self.itos = words
        self.stoi = {w: i for i, w in enumerate(words)}
        self.lowercase = lowercase

    def __len__(self) -> int:
        return len(self.itos)

    @classmethod
    def build(
        cls,
        texts: Iterable[str],
        *,
        min_freq: int = 1,
        max_size: int | None = None,
        lowercase: bool = True,
    ) -> WordVocab:
        """Count words in ``texts``; keep those seen ``min_freq`` times, most frequent first."""
        counts = Counter(w for t in texts for w in basic_tokenize(t, lowercase))
        ranked = sorted(
            (w for w, c in counts.items() if c >= min_freq), key=lambda w: (-counts[w], w)
        )
        if max_size is not None:
            ranked = ranked[: max(0, max_size - len(cls.RESERVED))]
        return cls(ranked, lowercase=lowercase)

    @classmethod
    def from_keyed_vectors(
        cls, kv, texts: Iterable[str] | None = None, **build_kwargs
    ) -> WordVocab:
        """Vocabulary of ``texts`` (if given) extended with every word in gensim ``kv``."""
        base = (
            cls.build(texts, **build_kwargs).itos[len(cls.RESERVED) :] if texts is not None else []
        )
        seen = set(base)
        return cls(base + [w for w in kv.index_to_key if w not in seen])

    def encode(self, texts: Sequence[str], max_length: int = 64) -> dict[str, np.ndarray]:
        """Return ``{"token_ids", "padding_mask"}`` [B, max_length], right-padded."""
        ids = np.zeros((len(texts), max_length), np.int32)
        for row, text in enumerate(texts):
            toks = basic_tokenize(text, self.lowercase)[:max_length]
            ids[row, : len(toks)] = [self.stoi.get(w, 1) for w in toks]
        return {"token_ids": ids, "padding_mask": (ids != 0).astype(np.int32)}

    def encode_pair(
        self,
        texts: Sequence[str],
        texts_pair: Sequence[str] | None = None,
        max_length: int = 64,
        *,
        trim: bool = True,
    ) -> dict[str, np.ndarray]:
        """Inputs of a BiLSTM student: one sentence, or both sides of a siamese pair.

        Args:
            texts: first sentences, [B].
            texts_pair: second sentences, [B], or None for single-sentence tasks.
            max_length: the most words kept per sentence.
            trim: cut the padding to the longest sentence (of either side), so an LSTM
                runs no steps over padding columns that every row shares.

        Returns:
            ``{"token_ids", "padding_mask"}`` [B, L], plus ``"token_ids_b"`` and
            ``"padding_mask_b"`` for pairs (the keys :class:`~kdzoo.models.BiLSTMClassifier`
            reads).
        """
        out = self.encode(texts, max_length)
        if texts_pair is not None:
            if len(texts_pair) != len(texts):
                raise ValueError(
                    f"texts has {len(texts)} items but texts_pair has {len(texts_pair)}."
                )
            b = self.encode(texts_pair, max_length)
            out.update(token_ids_b=b["token_ids"], padding_mask_b=b["padding_mask"])
        if trim:
            longest = max(
                [1] + [int(v.sum(1).max(initial=0)) for k, v in out.items() if "mask" in k]
            )
            out = {k: v[:, :longest] for k, v in out.items()}
        return out

    def save(self, path: str | os.PathLike) -> None:
        Path(path).write_text(json.dumps({"lowercase": self.lowercase, "words": self.itos}))

    @classmethod
    def load(cls, path: str | os.PathLike) -> WordVocab:
        d: dict[str, Any] = json.loads(Path(path).read_text())
        return cls(d["words"], lowercase=d["lowercase"])
