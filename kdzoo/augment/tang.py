"""Tang et al.'s augmentation: masking, POS-guided replacement and n-gram sampling.

Tang et al. (2019) distil BERT into a BiLSTM on a transfer set made of the training
sentences and perturbed copies of them, labelled by the teacher. Each copy is made in
two steps:

1. for every word draw one uniform number ``roll``: ``roll < p_mask`` replaces the word
   by ``[MASK]``; ``p_mask <= roll < p_mask + p_pos`` replaces it by a random word with
   the same part-of-speech tag, drawn from a table built over the training texts (so
   frequent words are drawn more often); otherwise the word stays;
2. with probability ``p_ng`` only a random n-gram window of the result is kept, with n
   drawn uniformly from ``ngram_range``.

A copy is dropped if every word in it changed or if it duplicates the original or an
earlier copy; ``n_iter`` copies are tried per example.

The references disagree on the defaults (``shared/reference/methods.md`` §4.3):

=================  ==============  =================  ===================  ===========
setting            paper           d-bert single      d-bert pairs         kdzoo
=================  ==============  =================  ===================  ===========
p_mask, p_pos      0.1, 0.1        0.1, 0.1           0.1, 0.1             0.1, 0.1
p_ng               0.25            0 (off)            0 (off)              0.25
n                  1..5            1..5               1..5                 (1, 5)
n_iter             per task        20                 10                   20
order of checks    —               mask, then POS     POS, then mask       mask first
=================  ==============  =================  ===================  ===========

PaddleNLP's reimplementation masks (0.1) and samples n-grams (0.25) with n in [2, 6],
without POS replacement. kdzoo takes the paper's p_ng = 0.25 (d-bert's default of 0
switches the paper's third operation off), the paper's and d-bert's n in 1..5, and
d-bert's ``n_iter=20`` and mask-first order; ``pos_first=True`` gives the paired
script's order (it only matters when both probabilities are non-zero: the two ranges
of ``roll`` swap places, the rates stay the same).

**Sentence pairs** follow d-bert's paired script: for each copy, with probability 2/3
one side is perturbed (first or second, 50/50), otherwise both; a copy with an empty
side is dropped. The window is sampled per perturbed side.

**Words and tags.** Words are whitespace tokens, the unit of
:attr:`kdzoo.data.base.Split.pos_tags`. Tags come from the split when it has them
(the embedded tasks do), else from ``tagger`` (a callable ``words -> tags``), else from
an installed tagger (NLTK's ``pos_tag`` with its model, or spaCy's
``en_core_web_sm``); without any, :class:`TangAugmenter` says how to get one. With
``p_pos=0`` no tags are needed. kdzoo adds no tagger dependency.

The copies are unlabelled: label them with the teacher
(:func:`kdzoo.augment.teacher_label`). d-bert writes the teacher's logits into the
augmented TSV; PaddleNLP copies the original label, which a mask or a replacement can
make wrong.

Reference: Tang et al. 2019, *Distilling Task-Specific Knowledge from BERT into Simple
Neural Networks*, §3.3 (arXiv 1903.12136); code ``castorini/d-bert``,
``dbert/distill/run/augment_data.py`` and ``augment_paired_data.py``.

Book chapter: ``book/augment/index.md``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np

from kdzoo.data.base import Split, TaskSpec

__all__ = ["TangAugmenter", "default_tagger"]

Tagger = Callable[[list[str]], list[str]]


def default_tagger() -> Tagger:
    """An installed POS tagger: NLTK's ``pos_tag`` (with its model) or spaCy's.

    Raises:
        RuntimeError: neither is usable; the message says how to install one.
    """
    try:
        import nltk
    except ImportError:
        nltk = None
    if nltk is not None:
        for model in ("averaged_perceptron_tagger_eng", "averaged_perceptron_tagger"):
            try:
                nltk.data.find(f"taggers/{model}")
            except LookupError:
                continue
            return lambda words: [tag for _, tag in nltk.pos_tag(list(words))]
    try:
        import spacy
        from spacy.tokens import Doc

        nlp = spacy.load("en_core_web_sm")
    except (ImportError, OSError):
        nlp = None
    if nlp is not None:

        def spacy_tags(words: list[str]) -> list[str]:
            doc = Doc(nlp.vocab, words=list(words))
            for _, component in nlp.pipeline:
                doc = component(doc)
            return [token.pos_ for token in doc]

        return spacy_tags
    raise RuntimeError(
        "TangAugmenter's POS-guided replacement needs POS tags: the split has no pos_tags, "
        "no tagger= was given, and no tagger is installed. Either pass tagger= (a function "
        'words -> tags), or `pip install nltk` and run python -c "import nltk; '
        "nltk.download('averaged_perceptron_tagger_eng')\", or `pip install spacy` and "
        "`python -m spacy download en_core_web_sm`, or set p_pos=0."
    )


class TangAugmenter:
    """Tang et al.'s transfer-set augmentation, for single sentences and pairs.

    Args:
        p_mask: probability of replacing a word by ``mask_token`` (0.1 everywhere).
        p_pos: probability of replacing a word by a random word of the same POS tag
            (0.1 everywhere).
        p_ng: probability of keeping only an n-gram window of a copy (paper 0.25,
            d-bert 0; default 0.25).
        ngram_range: inclusive ``(low, high)`` range of n, drawn uniformly (paper and
            d-bert 1..5, PaddleNLP 2..6). A copy shorter than n is kept whole.
        n_iter: copies tried per example (d-bert: 20 single, 10 pairs; default 20).
        seed: seeds every draw; the same seed and inputs give the same output.
        tagger: a callable ``list[str] words -> list[str] tags``, used when the texts
            come without tags. None tries NLTK, then spaCy (see :func:`default_tagger`).
        mask_token: the replacement of a masked word. ``"[MASK]"`` is one token for a
            BERT tokenizer; a word-level vocabulary may split it.
        pos_first: check the POS range of ``roll`` before the mask range, as d-bert's
            paired script does (False: mask first, as its single-sentence script).
        one_side_prob: for pairs, the probability of perturbing one side only (d-bert
            2/3); otherwise both sides are perturbed.
        unique: True (d-bert): drop a copy in which every word of a perturbed side
            changed, or that duplicates the original or an earlier copy. False keeps
            every copy (except those with an empty side), to inspect the raw draws.
        progress: show a progress bar over the examples.
    """

    def __init__(
        self,
        p_mask: float = 0.1,
        p_pos: float = 0.1,
        p_ng: float = 0.25,
        ngram_range: tuple[int, int] = (1, 5),
        n_iter: int = 20,
        seed: int = 0,
        tagger: Tagger | None = None,
        mask_token: str = "[MASK]",
        *,
        pos_first: bool = False,
        one_side_prob: float = 2 / 3,
        unique: bool = True,
        progress: bool = True,
    ):
        for name, value in (("p_mask", p_mask), ("p_pos", p_pos), ("p_ng", p_ng)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name}={value} is not a probability; use a value in [0, 1].")
        if p_mask + p_pos > 1.0:
            raise ValueError(f"p_mask + p_pos = {p_mask + p_pos} > 1; they share one roll.")
        low, high = ngram_range
        if not 1 <= low <= high:
            raise ValueError(f"ngram_range={ngram_range} needs 1 <= low <= high.")
        if n_iter < 0:
            raise ValueError(f"n_iter={n_iter} must be >= 0.")
        self.p_mask, self.p_pos, self.p_ng = float(p_mask), float(p_pos), float(p_ng)
        self.ngram_range = (int(low), int(high))
        self.n_iter, self.seed, self.tagger, self.mask_token = int(n_iter), seed, tagger, mask_token
        self.pos_first, self.one_side_prob = pos_first, float(one_side_prob)
        self.unique, self.progress = unique, progress
        self.table: dict[str, np.ndarray] | None = None

    # ------------------------------------------------------------------ POS table

    def tag(self, texts: Sequence[str], pos_tags: Sequence[Sequence[str]] | None = None):
        """Whitespace words of each text and their tags (given, or from the tagger).

        Returns:
            ``(words, tags)``: lists per text; ``tags`` is None when ``p_pos == 0`` and
            no tags were given (no tagger needed then).
        """
        words = [t.split() for t in texts]
        if pos_tags is None:
            if self.p_pos == 0.0:
                return words, None
            tagger = self.tagger if self.tagger is not None else default_tagger()
            cache: dict[tuple[str, ...], list[str]] = {}
            tags = []
            for w in words:
                key = tuple(w)
                if key not in cache:
                    cache[key] = list(tagger(list(w))) if w else []
                tags.append(cache[key])
        else:
            tags = [list(t) for t in pos_tags]
            if len(tags) != len(words):
                raise ValueError(f"{len(texts)} texts but {len(tags)} tag lists.")
        for row, (w, t) in enumerate(zip(words, tags, strict=True)):
            if len(w) != len(t):
                raise ValueError(
                    f"text {row} has {len(w)} whitespace words but {len(t)} POS tags "
                    f"({' '.join(w)[:60]!r}); tags must align with text.split()."
                )
        return words, tags

    def fit(self, texts: Sequence[str], pos_tags: Sequence[Sequence[str]] | None = None):
        """Build the POS table ``{tag: words}`` over ``texts`` (with repeats: by frequency).

        Without ``fit``, each ``augment`` / ``augment_split`` call builds its table over
        its own input. Call ``fit`` to draw replacements from other texts (e.g. the
        whole training set while augmenting part of it); it is kept until the next fit.
        """
        words, tags = self.tag(texts, pos_tags)
        self.table = _pos_table(words, tags)
        return self

    # ------------------------------------------------------------------ sampling

    def perturb(
        self,
        words: list[str],
        tags: list[str] | None,
        rng: np.random.Generator,
        table: dict[str, np.ndarray] | None = None,
    ):
        """One copy of ``words``: ``(new words, their tags or None, changed flags)``.

        ``table`` is the POS table to draw from (default: the one :meth:`fit` built).
        """
        table = self.table if table is None else table
        n = len(words)
        new, changed = list(words), np.zeros(n, bool)
        rolls = rng.random(n)
        first, second = (self.p_pos, self.p_mask) if self.pos_first else (self.p_mask, self.p_pos)
        for i, roll in enumerate(rolls):
            if roll < first + second:
                is_pos = (roll < first) == self.pos_first
                if is_pos:
                    if tags is None:
                        raise ValueError("POS replacement needs tags; see TangAugmenter.tag.")
                    pool = (table or {}).get(tags[i])
                    if pool is None or len(pool) == 0:
                        continue
                    new[i] = pool[rng.integers(len(pool))]
                else:
                    new[i] = self.mask_token
                changed[i] = new[i] != words[i]
        new_tags = None if tags is None else list(tags)
        if rng.random() < self.p_ng:
            size = int(rng.integers(self.ngram_range[0], self.ngram_range[1] + 1))
            if size < n:
                start = int(rng.integers(0, n - size + 1))
                new, changed = new[start : start + size], changed[start : start + size]
                if new_tags is not None:
                    new_tags = new_tags[start : start + size]
        return new, new_tags, changed

    def _copies(self, rows_words, rows_tags, rng, table):
        """For each example (a tuple of sides), its copies as ``(sides, tags, perturbed)``."""
        from tqdm.auto import tqdm

        out = []
        pair = len(rows_words[0]) == 2 if rows_words else False
        for sides, side_tags in tqdm(
            list(zip(rows_words, rows_tags, strict=True)),
            desc="Tang augmentation",
            unit="example",
            disable=not self.progress,
        ):
            seen = {tuple(" ".join(w) for w in sides)}
            copies = []
            for _ in range(self.n_iter):
                if not pair:
                    which = (0,)
                elif rng.random() < self.one_side_prob:
                    which = (0,) if rng.random() < 0.5 else (1,)
                else:
                    which = (0, 1)
                new_sides, new_tags, degenerate = list(sides), list(side_tags), False
                for s in which:
                    w, t, changed = self.perturb(sides[s], side_tags[s], rng, table)
                    new_sides[s], new_tags[s] = w, t
                    degenerate |= len(w) > 0 and bool(changed.all())
                if any(len(w) == 0 for w in new_sides):
                    continue
                key = tuple(" ".join(w) for w in new_sides)
                if self.unique and (degenerate or key in seen):
                    continue
                seen.add(key)
                copies.append((key, new_tags, which))
            out.append(copies)
        return out

    def augment(
        self, texts: Sequence[str], pos_tags: Sequence[Sequence[str]] | None = None
    ) -> list[list[str]]:
        """Augment single sentences: ``[original] + copies`` per text.

        Args:
            texts: the sentences.
            pos_tags: per text, a tag per whitespace word; None tags them with the tagger
                (only when ``p_pos > 0``).
        """
        words, tags = self.tag(texts, pos_tags)
        table = self.table if self.table is not None else _pos_table(words, tags)
        tags = tags if tags is not None else [None] * len(words)
        rng = np.random.default_rng(self.seed)
        copies = self._copies([(w,) for w in words], [(t,) for t in tags], rng, table)
        return [[text] + [key[0] for key, _, _ in c] for text, c in zip(texts, copies, strict=True)]

    def augment_split(self, split: Split, spec: TaskSpec) -> Split:
        """An unlabelled :class:`~kdzoo.data.base.Split` of the originals and their copies.

        Tags come from ``split.pos_tags`` when present. The POS table is built over all
        text fields of ``split`` unless :meth:`fit` was called before.

        Returns:
            A Split with ``labels=None`` (label it with the teacher); ``pos_tags`` for
            every row when tags were available (a masked word keeps the tag of the word
            it hides, a replaced word has its tag by construction, a window keeps its
            words' tags), else None; ``meta["source_index"]`` (the row of ``split``),
            ``meta["is_original"]`` and ``meta["perturbed"]`` (the perturbed fields
            joined by ``+``, ``""`` for an original row).
        """
        fields = spec.text_fields
        missing = [f for f in fields if f not in split.texts]
        if missing:
            raise KeyError(f"the split has no field(s) {missing}; it has {sorted(split.texts)}.")
        given = split.pos_tags or {}
        tagged = [self.tag(split.texts[f], given.get(f)) for f in fields]
        has_tags = all(t is not None for _, t in tagged)
        table = self.table
        if table is None:
            all_words = [w for words, _ in tagged for w in words]
            all_tags = [t for _, tags in tagged for t in tags] if has_tags else None
            table = _pos_table(all_words, all_tags)
        n = len(split)
        rows_words = [tuple(words[r] for words, _ in tagged) for r in range(n)]
        rows_tags = [
            tuple(tags[r] if tags is not None else None for _, tags in tagged) for r in range(n)
        ]
        copies = self._copies(rows_words, rows_tags, np.random.default_rng(self.seed), table)
        texts: dict[str, list[str]] = {f: [] for f in fields}
        tags_out: dict[str, list[list[str]]] = {f: [] for f in fields}
        source, original, perturbed = [], [], []
        for r in range(n):
            rows = [(tuple(split.texts[f][r] for f in fields), rows_tags[r], ())]
            rows += [(key, t, which) for key, t, which in copies[r]]
            for values, t, which in rows:
                for j, f in enumerate(fields):
                    texts[f].append(values[j])
                    if has_tags:
                        tags_out[f].append(list(t[j]))
                source.append(r)
                original.append(not which)
                perturbed.append("+".join(fields[j] for j in which))
        return Split(
            texts=texts,
            labels=None,
            pos_tags=tags_out if has_tags else None,
            meta={"source_index": source, "is_original": original, "perturbed": perturbed},
        )


def _pos_table(words, tags) -> dict[str, np.ndarray]:
    """``{tag: words with repeats}`` over tagged texts; sorted, so order-independent."""
    if tags is None:
        return {}
    counts: dict[str, Counter] = {}
    for w, t in zip(words, tags, strict=True):
        for word, tag in zip(w, t, strict=True):
            counts.setdefault(tag, Counter())[word] += 1
    return {
        tag: np.array([w for w in sorted(c) for _ in range(c[w])], dtype=object)
        for tag, c in counts.items()
    }
