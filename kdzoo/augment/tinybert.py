"""TinyBERT's data augmentation: replace words by BERT's MLM guesses or GloVe neighbours.

TinyBERT's task-specific distillation trains on an augmented training set, labelled by
the teacher. Algorithm 1 of the paper (Jiao et al. 2020, §3.1 and Appendix A) builds
N_a = 20 copies of each sentence; in each copy, every word is a candidate for
replacement:

- a word that is a single WordPiece is masked and BERT's masked-LM head proposes its
  K = 15 most probable tokens at that position;
- a word that BERT splits into several WordPieces gets its K nearest GloVe neighbours;
- with probability p_t = 0.4 the word is replaced by a candidate drawn uniformly.

The official code (``TinyBERT/data_augmentation.py``, whose behaviour
``shared/reference/methods.md`` §1.9 records) differs from the paper in several ways.
:class:`TinyBertAugmenter` follows the code by default and offers the paper behind a
switch:

==========================  ===========================  ==============================
switch                      default (official code)      other value
==========================  ===========================  ==============================
``candidates_once``         True: candidates once per    False (paper): recomputed on
                            word, on the original        each copy as it is being
                            sentence                     rewritten, word by word
``eligible``                ``"alphabetic_non_stop       ``"all"`` (paper): every word
                            words"``: only ``[a-z]+``    and punctuation mark
                            words not in a stopword
                            list
``pair_with_original``      True: the MLM reads          False (paper): the masked
                            ``[CLS] masked [SEP]         sentence alone
                            original [SEP]``, segments
                            0 / 1
``unique``                  True: ``[original] +         False (paper): ``[original] +
                            unique samples``, at most    n_samples`` copies, duplicates
                            ``n_samples + 1``            kept
``pair_mode``               ``"separate"`` (clean, see   ``"official"``: the code's
                            :meth:`augment_split`)       in-place mutation of field A
==========================  ===========================  ==============================

Always, as in the code: MLM candidates are the top K tokens minus those starting with
``##`` (so fewer than K can remain), GloVe neighbours exclude the word itself, and a
word with no candidates keeps itself. kdzoo also drops special tokens (``[PAD]``,
``[CLS]``, ...) from the MLM's top K: a pre-trained BERT-base practically never ranks
them that high, but a small or untrained MLM does, and a literal ``[SEP]`` inside a
sample would change how it is encoded.

**Batching.** The official code runs one forward pass per word. Here every
``(sentence, masked word)`` query of all the sentences is collected first, duplicates
are merged, and the MLM runs on them in batches of ``batch_size`` (sorted by length, so
little padding), with ``training=False``. ``batched=False`` keeps the code's one pass
per word (``benchmarks/bench_augment.py`` measures both; the tests check they give the
same candidates). Both modes pad the MLM input to a multiple of 8 tokens, and the
batched mode fills a short last batch with dummy rows: padded keys are masked, so this
changes no prediction, and it keeps the number of distinct shapes small (jax compiles
each new shape, about 2 s each for even a 2-layer model on a CPU). GloVe neighbours
are computed once per distinct word in both modes.

The samples are unlabelled: label them with the teacher
(:func:`kdzoo.augment.teacher_label`), never by copying the original's label, since a
replacement can flip it ("good" -> "bad").

Reference: Jiao et al. 2020, *TinyBERT: Distilling BERT for Natural Language
Understanding*, Findings of EMNLP, Algorithm 1 (arXiv 1909.10351).

Book chapter: ``book/augment/index.md``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from kdzoo.augment.vectors import as_keyed_vectors, neighbours
from kdzoo.data.base import Split, TaskSpec
from kdzoo.tokenization import basic_tokenize, check_tokenizer

__all__ = ["STOPWORDS", "TinyBertAugmenter"]

# Common English function words: articles, pronouns, prepositions, conjunctions,
# auxiliaries, quantifiers and negations. The official code keeps a similar hard-coded
# list; this one is kdzoo's own.
STOPWORDS: frozenset[str] = frozenset(
    """
    a an the this that these those
    i me my mine myself we us our ours ourselves you your yours yourself yourselves
    he him his himself she her hers herself it its itself they them their theirs
    themselves one ones
    who whom whose which what whatever whichever whoever
    am is are was were be been being have has had having do does did doing done
    will would shall should can could may might must ought
    and or but so yet for if then else than because as although though while
    whereas unless until since whether
    of in on at by to from with without into onto upon about above below over under
    between among through during before after against toward towards across along
    around behind beyond within via per off out up down
    not no nor never none neither either both each every all any some such
    only own same other another more most less least very too quite rather just also
    even still again once here there where when why how now ever
    s t d ll m o re ve y don doesn didn isn aren wasn weren hasn haven hadn won
    wouldn shan shouldn cannot couldn mightn mustn needn
    """.split()
)

_ELIGIBLE = ("alphabetic_non_stopwords", "all")
_PAIR_MODES = ("separate", "official")


class TinyBertAugmenter:
    """TinyBERT's augmentation (Algorithm 1), batched, with the official code's choices.

    Args:
        mlm_model: a kdzoo :class:`~kdzoo.models.BertModel` with ``mlm_head=True`` (for
            example a converted ``bert-base-uncased`` ``BertForMaskedLM`` via
            :func:`kdzoo.models.from_hf`). It is only run, with ``training=False``.
        tokenizer: the model's Hugging Face *fast* tokenizer (``BertTokenizerFast``).
        word_vectors: gensim ``KeyedVectors`` (GloVe via :func:`load_glove`, or the
            offline :func:`train_word2vec`), a gensim model, a GloVe path, or None. With
            None, words of several WordPieces keep themselves (a warning says so).
        p: probability p_t of replacing an eligible word (0.4 in paper and code).
        n_samples: copies per sentence, N_a. The paper uses 20 everywhere; the code's
            per-task values are 30 (CoLA, MRPC, STS-B, RTE), 20 (SST-2, QNLI) and 10
            (MNLI, QQP). Default 20.
        k: candidates per word, K = 15 in both.
        seed: seeds every random draw; the same seed and inputs give the same output.
        batch_size: MLM queries per forward pass. The MLM head computes
            ``batch_size x length x vocab`` logits, so keep it modest for BERT-base.
        max_length: MLM inputs are cut to this many tokens (the code cuts at 512);
            None uses the model's ``max_position_embeddings``. A word whose mask falls
            past the cut has no candidates.
        candidates_once: True (code): candidates are computed once per word on the
            original sentence and every copy draws from them, so the MLM runs once per
            word. False (paper): each copy is rewritten word by word and a
            single-piece word's candidates come from the MLM on the copy as rewritten so
            far, about ``n_samples`` times as many MLM queries.
        eligible: ``"alphabetic_non_stopwords"`` (code): only words of letters a-z (after
            lowercasing) that are not in ``stopwords`` may change; punctuation, numbers
            and function words never do. ``"all"`` (paper): every word may change.
        pair_with_original: True (code): the MLM input is ``[CLS] sentence with the word
            masked [SEP] original sentence [SEP]`` with segment ids 0 then 1: the MLM can
            read the masked word in segment B. False (paper): ``[CLS] masked sentence
            [SEP]``.
        unique: True (code): each sentence gives ``[original] + unique samples`` (a
            sample equal to the original or to an earlier one is dropped), at most
            ``n_samples + 1``. False: ``[original] + n_samples`` samples, duplicates
            kept, as Algorithm 1 writes it.
        pair_mode: how :meth:`augment_split` combines the two fields of a sentence pair;
            see there. ``"separate"`` (default) or ``"official"``.
        batched: True batches the MLM queries; False runs one forward pass per query,
            as the code does (slower, same candidates).
        lowercase: lowercase words before splitting; None follows the tokenizer's
            ``do_lower_case`` (True for an uncased BERT).
        stopwords: the stopword list for ``eligible="alphabetic_non_stopwords"``
            (default :data:`STOPWORDS`).
        progress: show a progress bar over the MLM batches.

    Samples are the basic-tokenized words joined by single spaces (lowercased for an
    uncased tokenizer), as in the code; the original is returned as given. Unlike the
    code, a sample that only re-spaces the original (nothing replaced) is not counted
    as new.
    """

    def __init__(
        self,
        mlm_model,
        tokenizer,
        word_vectors=None,
        *,
        p: float = 0.4,
        n_samples: int = 20,
        k: int = 15,
        seed: int = 0,
        batch_size: int = 32,
        max_length: int | None = None,
        candidates_once: bool = True,
        eligible: str = "alphabetic_non_stopwords",
        pair_with_original: bool = True,
        unique: bool = True,
        pair_mode: str = "separate",
        batched: bool = True,
        lowercase: bool | None = None,
        stopwords: frozenset[str] | set[str] = STOPWORDS,
        progress: bool = True,
    ):
        config = getattr(mlm_model, "config", None)
        if config is None or not getattr(config, "mlm_head", False):
            raise ValueError(
                "TinyBertAugmenter needs a masked-LM: build the model with "
                "BertModel(..., mlm_head=True), or convert a Hugging Face BertForMaskedLM "
                "checkpoint with kdzoo.models.from_hf."
            )
        if not getattr(tokenizer, "is_fast", False):
            raise TypeError(
                "TinyBertAugmenter needs a Hugging Face fast tokenizer (it maps words to "
                "WordPieces with word_ids()); load it with AutoTokenizer.from_pretrained("
                "..., use_fast=True) or build one with kdzoo.tokenization.train_wordpiece."
            )
        if tokenizer.mask_token_id is None:
            raise ValueError("the tokenizer has no [MASK] token; use a BERT tokenizer.")
        check_tokenizer(tokenizer, config)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p={p} is not a probability; use a value in [0, 1] (0.4).")
        if n_samples < 0 or k < 1 or batch_size < 1:
            raise ValueError(
                f"need n_samples >= 0, k >= 1 and batch_size >= 1; got n_samples="
                f"{n_samples}, k={k}, batch_size={batch_size}."
            )
        if eligible not in _ELIGIBLE:
            raise ValueError(f"eligible='{eligible}' is not one of {_ELIGIBLE}.")
        if pair_mode not in _PAIR_MODES:
            raise ValueError(f"pair_mode='{pair_mode}' is not one of {_PAIR_MODES}.")
        positions = config.max_position_embeddings
        if max_length is None:
            max_length = positions
        if not 3 <= max_length <= positions:
            raise ValueError(
                f"max_length={max_length} must be between 3 and the model's "
                f"max_position_embeddings ({positions})."
            )
        self.mlm_model = mlm_model
        self.tokenizer = tokenizer
        self.word_vectors = as_keyed_vectors(word_vectors)
        self.p, self.n_samples, self.k, self.seed = float(p), int(n_samples), int(k), seed
        self.batch_size, self.max_length = int(batch_size), int(max_length)
        self.candidates_once, self.eligible = candidates_once, eligible
        self.pair_with_original, self.unique = pair_with_original, unique
        self.pair_mode, self.batched, self.progress = pair_mode, batched, progress
        if lowercase is None:
            lowercase = bool(getattr(tokenizer, "do_lower_case", True))
        self.lowercase = lowercase
        self.stopwords = frozenset(stopwords)
        self._vocab = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
        special = set(tokenizer.all_special_ids)
        self._droppable = np.array(
            [i in special or t.startswith("##") for i, t in enumerate(self._vocab)]
        )
        self._glove_cache: dict[str, list[str]] = {}
        self._warned_no_vectors = False
        self.forward_passes = 0  # MLM forward passes run so far (for benchmarks / tests)

    # ------------------------------------------------------------------ public helpers

    def words(self, text: str) -> list[str]:
        """The words the augmenter sees: BERT's basic tokenization of ``text``."""
        return basic_tokenize(text, self.lowercase)

    def is_eligible(self, word: str) -> bool:
        """Whether ``word`` may be replaced under the ``eligible`` rule."""
        if self.eligible == "all":
            return True
        w = word.lower()
        return w.isascii() and w.isalpha() and w not in self.stopwords

    def mlm_queries(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        """The MLM inputs :meth:`word_candidates` builds, one per eligible single-piece word.

        Returns:
            A list of ``{"sentence": row in texts, "word": word index, "token_ids": [L],
            "segment_ids": [L], "mask_position": index of [MASK]}`` (int32 arrays, no
            padding), in sentence then word order.
        """
        out = []
        for s, text in enumerate(texts):
            words = self.words(text)
            ids, spans = self._pieces([words])[0]
            for i, word in enumerate(words):
                if self.is_eligible(word) and len(spans[i]) == 1:
                    q = self._query(ids, spans[i][0], ids)
                    if q is not None:
                        out.append({"sentence": s, "word": i, **q})
        return out

    def word_candidates(self, texts: Sequence[str]) -> list[list[list[str] | None]]:
        """The replacement candidates of every word, computed on the original sentences.

        Returns:
            Per sentence, per word of :meth:`words`: None for an ineligible word, else
            its candidates (MLM top-k without ``##`` and special tokens for a
            single-piece word, GloVe neighbours for a multi-piece one); ``[]`` means
            the word keeps itself.
        """
        words = [self.words(t) for t in texts]
        return self._candidates_once(words)

    # ------------------------------------------------------------------ augmentation

    def augment(self, texts: Sequence[str]) -> list[list[str]]:
        """Augment each text: ``[original] + samples`` per text (see ``unique``)."""
        return self._augment(list(texts), stream=0)

    def augment_split(self, split: Split, spec: TaskSpec) -> Split:
        """An unlabelled :class:`~kdzoo.data.base.Split` of the originals and their samples.

        Each text field is augmented separately, as the official code does. For a
        sentence pair (A, B) with samples a1..an of A and b1..bm of B:

        - ``pair_mode="separate"`` (default): ``(A, B)``, then ``(a_i, B)`` for each
          sample of A, then ``(A, b_j)`` for each sample of B: one side changes at a
          time, against the other's original.
        - ``pair_mode="official"``: the code's output. It rewrites the row in place:
          it writes ``(a, B)`` for a in ``[A, a1..an]``, after which field A holds its
          *last* value an, then ``(an, b)`` for b in ``[B, b1..bm]``. So B's samples
          are paired with A's last sample, not with A, and ``(an, B)`` is written
          twice.

        Returns:
            A Split with ``labels=None`` (label it with the teacher), ``pos_tags=None``,
            ``meta["source_index"]`` (the row of ``split`` each row came from) and
            ``meta["is_original"]`` (True for the unchanged original rows, which are
            included).
        """
        fields = spec.text_fields
        missing = [f for f in fields if f not in split.texts]
        if missing:
            raise KeyError(f"the split has no field(s) {missing}; it has {sorted(split.texts)}.")
        variants = [self._augment(split.texts[f], stream=j) for j, f in enumerate(fields)]
        texts: dict[str, list[str]] = {f: [] for f in fields}
        source: list[int] = []
        original: list[bool] = []

        def add(row: int, values: tuple[str, ...], is_original: bool) -> None:
            for f, v in zip(fields, values, strict=True):
                texts[f].append(v)
            source.append(row)
            original.append(is_original)

        for row in range(len(split)):
            if not spec.is_pair:
                for j, v in enumerate(variants[0][row]):
                    add(row, (v,), j == 0)
                continue
            va, vb = variants[0][row], variants[1][row]
            a, b = va[0], vb[0]
            if self.pair_mode == "separate":
                add(row, (a, b), True)
                for x in va[1:]:
                    add(row, (x, b), False)
                for y in vb[1:]:
                    add(row, (a, y), False)
            else:
                for j, x in enumerate(va):
                    add(row, (x, b), j == 0)
                for y in vb:
                    add(row, (va[-1], y), False)
        return Split(
            texts=texts,
            labels=None,
            pos_tags=None,
            meta={"source_index": source, "is_original": original},
        )

    # ------------------------------------------------------------------ internals

    def _augment(self, texts: list[str], stream: int) -> list[list[str]]:
        rng = np.random.default_rng([self.seed, stream])
        words = [self.words(t) for t in texts]
        # The same draws in both modes: rolls decide whether a word changes, picks
        # which candidate (index floor(pick * count)).
        draws = [
            (rng.random((self.n_samples, len(w))), rng.random((self.n_samples, len(w))))
            for w in words
        ]
        if self.candidates_once:
            candidates = self._candidates_once(words)
            samples = [
                [self._rewrite(w, c, rolls[j], picks[j]) for j in range(self.n_samples)]
                for w, c, (rolls, picks) in zip(words, candidates, draws, strict=True)
            ]
        else:
            samples = self._samples_per_copy(words, draws)
        out = []
        for text, w, ss in zip(texts, words, samples, strict=True):
            result = [text]
            seen = {text, " ".join(w)}
            for s in ss:
                sentence = " ".join(s)
                if not self.unique:
                    result.append(sentence)
                elif sentence not in seen:
                    seen.add(sentence)
                    result.append(sentence)
            out.append(result)
        return out

    def _rewrite(self, words, candidates, rolls, picks) -> list[str]:
        new = list(words)
        for i, c in enumerate(candidates):
            if c and rolls[i] < self.p:
                new[i] = c[int(picks[i] * len(c))]
        return new

    def _pieces(self, word_lists: list[list[str]]) -> list[tuple[list[int], list[list[int]]]]:
        """WordPiece ids of each word list and, per word, the indices of its pieces."""
        out: list[tuple[list[int], list[list[int]]]] = [([], [[] for _ in w]) for w in word_lists]
        rows = [r for r, w in enumerate(word_lists) if w]
        if not rows:
            return out
        enc = self.tokenizer(
            [word_lists[r] for r in rows], is_split_into_words=True, add_special_tokens=False
        )
        for n, r in enumerate(rows):
            ids, spans = enc["input_ids"][n], out[r][1]
            for piece, word in enumerate(enc.word_ids(n)):
                if word is not None:
                    spans[word].append(piece)
            out[r] = (list(ids), spans)
        return out

    def _query(self, ids: list[int], piece: int, original_ids: list[int]):
        """``[CLS] ids-with-piece-masked [SEP] (original [SEP])``, cut to max_length."""
        tok = self.tokenizer
        position = 1 + piece
        if position >= self.max_length:
            return None
        masked = list(ids)
        masked[piece] = tok.mask_token_id
        first = [tok.cls_token_id, *masked, tok.sep_token_id]
        token_ids, segment_ids = first, [0] * len(first)
        if self.pair_with_original:
            token_ids = [*token_ids, *original_ids, tok.sep_token_id]
            segment_ids = segment_ids + [1] * (len(original_ids) + 1)
        return {
            "token_ids": np.asarray(token_ids[: self.max_length], np.int32),
            "segment_ids": np.asarray(segment_ids[: self.max_length], np.int32),
            "mask_position": position,
        }

    def _neighbours(self, word: str) -> list[str]:
        if self.word_vectors is None:
            if not self._warned_no_vectors:
                self._warned_no_vectors = True
                warnings.warn(
                    f"'{word}' is several WordPieces but word_vectors=None, so such words "
                    "keep themselves. Pass GloVe vectors (kdzoo.augment.load_glove) or, "
                    "offline, kdzoo.augment.train_word2vec(corpus).",
                    stacklevel=4,
                )
            return []
        if word not in self._glove_cache:
            self._glove_cache[word] = neighbours(self.word_vectors, word, self.k)
        return self._glove_cache[word]

    def _candidates_once(self, words: list[list[str]]) -> list[list[list[str] | None]]:
        distinct = list(dict.fromkeys(tuple(w) for w in words))
        pieces = self._pieces([list(w) for w in distinct])
        table: dict[tuple[str, ...], list[list[str] | None]] = {}
        queries, slots = [], []
        for w, (ids, spans) in zip(distinct, pieces, strict=True):
            cands: list[list[str] | None] = []
            for i, word in enumerate(w):
                if not self.is_eligible(word):
                    cands.append(None)
                elif len(spans[i]) > 1:
                    cands.append(list(self._neighbours(word)))
                else:
                    cands.append([])
                    q = self._query(ids, spans[i][0], ids) if spans[i] else None
                    if q is not None:
                        queries.append(q)
                        slots.append((w, i))
            table[w] = cands
        for (w, i), c in zip(slots, self._run_queries(queries), strict=True):
            table[w][i] = c
        return [[None if c is None else list(c) for c in table[tuple(w)]] for w in words]

    def _samples_per_copy(self, words, draws) -> list[list[list[str]]]:
        """Algorithm 1 as the paper writes it: each copy rewritten word by word."""
        from tqdm.auto import tqdm

        n = self.n_samples
        current = [[list(w) for _ in range(n)] for w in words]
        original = self._pieces(words)
        kinds = []  # per sentence, per word: None (ineligible), "mlm" or a GloVe list
        for w, (_, spans) in zip(words, original, strict=True):
            kinds.append(
                [
                    None
                    if not self.is_eligible(word)
                    else ("mlm" if len(spans[i]) == 1 else self._neighbours(word))
                    for i, word in enumerate(w)
                ]
            )
        longest = max((len(w) for w in words), default=0)
        # One bar over the word positions, not one per position.
        for i in tqdm(range(longest), desc="augment (per copy)", disable=not self.progress):
            active = [s for s, w in enumerate(words) if i < len(w) and kinds[s][i] is not None]
            mlm = [(s, j) for s in active if kinds[s][i] == "mlm" for j in range(n)]
            pieces = self._pieces([current[s][j] for s, j in mlm])
            queries, slots = [], []
            for (s, j), (ids, spans) in zip(mlm, pieces, strict=True):
                q = self._query(ids, spans[i][0], original[s][0]) if spans[i] else None
                if q is not None:
                    queries.append(q)
                    slots.append((s, j))
            found = dict(zip(slots, self._run_queries(queries, False), strict=True))
            for s in active:
                rolls, picks = draws[s]
                for j in range(n):
                    c = kinds[s][i] if kinds[s][i] != "mlm" else found.get((s, j), [])
                    if c and rolls[j, i] < self.p:
                        current[s][j][i] = c[int(picks[j, i] * len(c))]
        return current

    def _run_queries(
        self, queries: list[dict[str, Any]], progress: bool | None = None
    ) -> list[list[str]]:
        """Top-k MLM candidates at each query's mask: batched, or one pass per query."""
        from keras import ops
        from tqdm.auto import tqdm

        if not queries:
            return []
        # Identical queries (the same sentence reached twice) run once.
        keys = [
            (q["token_ids"].tobytes(), q["segment_ids"].tobytes(), q["mask_position"])
            for q in queries
        ]
        distinct = list(dict.fromkeys(keys))
        index = {key: n for n, key in enumerate(distinct)}
        first = {}
        for key, q in zip(keys, queries, strict=True):
            first.setdefault(key, q)
        unique = [first[key] for key in distinct]
        if self.batched:
            order = sorted(range(len(unique)), key=lambda n: len(unique[n]["token_ids"]))
            chunks = [order[s : s + self.batch_size] for s in range(0, len(order), self.batch_size)]
        else:
            chunks = [[n] for n in range(len(unique))]
        limit = self.mlm_model.config.max_position_embeddings
        k = min(self.k, len(self._vocab))
        results: list[list[str]] = [[] for _ in unique]
        show = self.progress if progress is None else progress
        for chunk in tqdm(chunks, desc="MLM candidates", unit="batch", disable=not show):
            # Padded to a multiple of 8 in both modes: few distinct shapes to compile
            # (jax, tf.function), and the same shapes apart from the batch dimension.
            length = max(len(unique[n]["token_ids"]) for n in chunk)
            length = min(limit, -(-length // 8) * 8)
            b = len(chunk)
            # A short last batch is filled with dummy rows, for the same reason.
            rows_total = self.batch_size if self.batched else 1
            token_ids = np.full((rows_total, length), self.tokenizer.pad_token_id or 0, np.int32)
            segment_ids = np.zeros((rows_total, length), np.int32)
            padding_mask = np.zeros((rows_total, length), np.int32)
            padding_mask[:, 0] = 1  # dummy rows see one token: no fully masked row
            rows = np.zeros(b, np.int32)
            for r, n in enumerate(chunk):
                q = unique[n]
                m = len(q["token_ids"])
                token_ids[r, :m], segment_ids[r, :m], padding_mask[r, :m] = (
                    q["token_ids"],
                    q["segment_ids"],
                    1,
                )
                rows[r] = r * length + q["mask_position"]
            out = self.mlm_model(
                {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": padding_mask},
                training=False,
            )
            self.forward_passes += 1
            logits = out["mlm_logits"]
            flat = ops.reshape(logits, (rows_total * length, logits.shape[-1]))
            at_mask = np.asarray(ops.convert_to_numpy(ops.take(flat, rows, axis=0)), np.float32)
            for r, n in enumerate(chunk):
                top = _top_k(at_mask[r], k)
                results[n] = [self._vocab[t] for t in top if not self._droppable[t]]
        return [list(results[index[key]]) for key in keys]


def _top_k(row: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest values, largest first, ties broken by the lower index."""
    if k >= row.shape[0]:
        return np.lexsort((np.arange(row.shape[0]), -row))
    kth = np.partition(row, row.shape[0] - k)[row.shape[0] - k]
    idx = np.flatnonzero(row >= kth)
    return idx[np.lexsort((idx, -row[idx]))][:k]
