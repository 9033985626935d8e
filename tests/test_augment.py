"""Data augmentation: TinyBERT's and Tang et al.'s augmenters, word vectors, teacher labels.

The model-side checks restate the MLM query with the tokenizer (``encode`` of the masked
text and the original as a pair) and rank the model's logits with a plain argsort; the
vector checks restate cosine neighbours with NumPy; the rates are compared with
binomial tolerances.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import keras
import numpy as np
import pytest
from conftest import to_numpy

from kdzoo.augment import (
    STOPWORDS,
    TangAugmenter,
    TinyBertAugmenter,
    as_keyed_vectors,
    load_glove,
    neighbours,
    teacher_label,
    train_word2vec,
)
from kdzoo.data.base import Split
from kdzoo.data.cache import TeacherCache
from kdzoo.data.embedded import embedded_corpus, load_embedded
from kdzoo.models import BertModel
from kdzoo.tokenization import encode, train_wordpiece

K = 6


@pytest.fixture(scope="module")
def corpus():
    return embedded_corpus(300)


@pytest.fixture(scope="module")
def tok(corpus):
    # A small vocabulary, so that many words are several WordPieces.
    return train_wordpiece(corpus, vocab_size=150)


@pytest.fixture(scope="module")
def mlm(tok):
    keras.utils.set_random_seed(0)
    return BertModel("micro-2l-32h", vocab_size=len(tok), mlm_head=True)


@pytest.fixture(scope="module")
def kv(corpus):
    return train_word2vec(corpus, vector_size=16, epochs=2, seed=0)


@pytest.fixture(scope="module")
def texts(corpus):
    short = [t for t in corpus if len(t.split()) <= 5]
    return [*list(dict.fromkeys(short))[:4], "the dog , 42 birds and every cat ."]


def make(mlm, tok, kv, **kwargs):
    # batch_size 4: the tests' queries fall into a few shapes (jax compiles each once).
    kwargs = {"k": K, "n_samples": 6, "batch_size": 4, "progress": False, **kwargs}
    return TinyBertAugmenter(mlm, tok, kv, **kwargs)


def pieces(tok, word):
    return tok([[word]], is_split_into_words=True, add_special_tokens=False)["input_ids"][0]


def special_or_continuation(tok, token):
    return token.startswith("##") or token in tok.all_special_tokens


# --------------------------------------------------------------------------- TinyBERT


def test_batched_and_unbatched_give_the_same_candidates(mlm, tok, kv, texts):
    batched = make(mlm, tok, kv)
    faithful = make(mlm, tok, kv, batched=False)
    expected = faithful.word_candidates(texts)
    assert batched.word_candidates(texts) == expected
    queries = faithful.mlm_queries(texts)
    distinct = {(q["token_ids"].tobytes(), q["segment_ids"].tobytes()) for q in queries}
    assert faithful.forward_passes == len(distinct) > 4
    assert batched.forward_passes == -(-len(distinct) // 4)  # batches of 4


def test_batched_and_unbatched_agree_when_candidates_follow_each_copy(mlm, tok, kv, texts):
    kwargs = {"candidates_once": False, "n_samples": 3, "p": 0.6}
    batched = make(mlm, tok, kv, **kwargs).augment(texts[:2])
    faithful = make(mlm, tok, kv, batched=False, **kwargs).augment(texts[:2])
    assert batched == faithful
    assert any(len(v) > 1 for v in batched)


@pytest.mark.parametrize("pair_with_original", [True, False])
def test_mlm_queries_and_candidates_restated(mlm, tok, kv, texts, pair_with_original):
    aug = make(mlm, tok, kv, batched=False, pair_with_original=pair_with_original)
    queries = aug.mlm_queries(texts)
    candidates = aug.word_candidates(texts)
    assert queries
    for q in queries:
        words = aug.words(texts[q["sentence"]])
        word = words[q["word"]]
        assert len(pieces(tok, word)) == 1 and word not in STOPWORDS and word.isalpha()
        masked = " ".join([*words[: q["word"]], "[MASK]", *words[q["word"] + 1 :]])
        pair = [" ".join(words)] if pair_with_original else None
        n = len(encode(tok, [masked], pair, padding="longest")["token_ids"][0])
        # Padded to a multiple of 8, as the augmenter runs it; checked unpadded.
        ref = encode(tok, [masked], pair, max_length=-(-n // 8) * 8)
        np.testing.assert_array_equal(q["token_ids"], ref["token_ids"][0, :n])
        np.testing.assert_array_equal(q["segment_ids"], ref["segment_ids"][0, :n])
        assert not ref["padding_mask"][0, n:].any()
        assert (q["segment_ids"] == 1).any() == pair_with_original
        position = int(np.flatnonzero(ref["token_ids"][0] == tok.mask_token_id)[0])
        assert q["mask_position"] == position
        logits = to_numpy(mlm(ref, training=False)["mlm_logits"])[0, position]
        top = tok.convert_ids_to_tokens(np.argsort(-logits, kind="stable")[:K].tolist())
        expected = [t for t in top if not special_or_continuation(tok, t)]
        got = candidates[q["sentence"]][q["word"]]
        assert got == expected
        assert len(got) <= K and not any(t.startswith("##") for t in got)


def test_pair_with_original_changes_the_mlm_input(mlm, tok, kv, texts):
    with_pair = make(mlm, tok, kv).mlm_queries(texts[:1])[0]
    alone = make(mlm, tok, kv, pair_with_original=False).mlm_queries(texts[:1])[0]
    n = len(alone["token_ids"])
    np.testing.assert_array_equal(with_pair["token_ids"][:n], alone["token_ids"])
    tail = with_pair["token_ids"][n:]
    original = tok(texts[0])["input_ids"][1:]  # the sentence and [SEP], unmasked
    np.testing.assert_array_equal(tail, original)
    assert with_pair["segment_ids"].tolist() == [0] * n + [1] * len(tail)
    assert not alone["segment_ids"].any()


def test_multi_piece_words_get_their_vector_neighbours(mlm, tok, kv, texts):
    aug = make(mlm, tok, kv)
    normed = kv.vectors / np.linalg.norm(kv.vectors, axis=1, keepdims=True)
    checked = 0
    for text, cands in zip(texts, aug.word_candidates(texts), strict=True):
        for word, c in zip(aug.words(text), cands, strict=True):
            if c is None or len(pieces(tok, word)) == 1:
                continue
            if word not in kv.key_to_index:
                assert c == []  # no vector, no candidates: the word keeps itself
                continue
            sims = normed @ normed[kv.key_to_index[word]]
            sims[kv.key_to_index[word]] = -np.inf
            expected = [kv.index_to_key[i] for i in np.argsort(-sims, kind="stable")[:K]]
            assert c == expected and word not in c
            checked += 1
    assert checked >= 3


def test_a_word_without_vectors_keeps_itself(mlm, tok, texts):
    aug = make(mlm, tok, None, p=1.0)
    with pytest.warns(UserWarning, match="train_word2vec"):
        cands = aug.word_candidates(texts)
    multi = [
        (s, i)
        for s, text in enumerate(texts)
        for i, w in enumerate(aug.words(text))
        if cands[s][i] is not None and len(pieces(tok, w)) > 1
    ]
    assert multi and all(cands[s][i] == [] for s, i in multi)
    for s, i in multi:
        for sample in aug.augment([texts[s]])[0][1:]:
            assert sample.split()[i] == aug.words(texts[s])[i]


def test_ineligible_words_never_change_unless_all_are_eligible(mlm, tok, kv, texts):
    text = texts[-1]  # "the dog , 42 birds and every cat ."
    official = make(mlm, tok, kv, p=1.0, n_samples=20)
    words = official.words(text)
    frozen = [i for i, w in enumerate(words) if w in STOPWORDS or not w.isalpha()]
    assert {words[i] for i in frozen} == {"the", ",", "42", "and", "every", "."}
    cands = official.word_candidates([text])[0]
    assert all(cands[i] is None for i in frozen)
    for sample in official.augment([text])[0][1:]:
        assert [sample.split()[i] for i in frozen] == [words[i] for i in frozen]
    everything = make(mlm, tok, kv, p=1.0, n_samples=20, eligible="all")
    assert all(c is not None for c in everything.word_candidates([text])[0])
    changed = {
        i
        for sample in everything.augment([text])[0][1:]
        for i in frozen
        if sample.split()[i] != words[i]
    }
    assert changed


def test_replacement_rate_is_p(mlm, tok, kv, texts):
    p, n = 0.4, 400
    aug = make(mlm, tok, kv, p=p, n_samples=n, unique=False)
    out = aug.augment(texts[:3])
    observed = expected = variance = 0.0
    for text, cands, samples in zip(texts[:3], aug.word_candidates(texts[:3]), out, strict=True):
        words = aug.words(text)
        assert len(samples) == n + 1
        for i, c in enumerate(cands):
            if not c:
                continue
            q = p * (1 - c.count(words[i]) / len(c))  # the same word may be drawn
            expected += n * q
            variance += n * q * (1 - q)
            observed += sum(s.split()[i] != words[i] for s in samples[1:])
    assert expected > 100
    assert abs(observed - expected) < 4 * np.sqrt(variance)


def test_output_is_the_original_then_unique_samples(mlm, tok, kv, texts):
    n = 8
    out = make(mlm, tok, kv, n_samples=n, p=0.3).augment(texts)
    for text, variants in zip(texts, out, strict=True):
        assert variants[0] == text
        assert 1 <= len(variants) <= n + 1
        assert len(set(variants)) == len(variants)
    assert any(len(v) > 2 for v in out)
    raw = make(mlm, tok, kv, n_samples=n, p=0.3, unique=False).augment(texts)
    assert all(len(v) == n + 1 for v in raw)
    assert any(len(set(v)) < len(v) for v in raw)  # duplicates kept


def test_same_seed_same_samples_other_seed_other_samples(mlm, tok, kv, texts):
    a = make(mlm, tok, kv, seed=3).augment(texts)
    assert make(mlm, tok, kv, seed=3).augment(texts) == a
    assert make(mlm, tok, kv, seed=4).augment(texts) != a


def test_pairs_augment_each_side_separately(mlm, tok, kv):
    data = load_embedded("synth-nli", train_size=40, dev_size=2, test_size=2)
    full, spec = data["train"], data.spec
    short = [r for r in range(len(full)) if len(full.texts["premise"][r].split()) <= 6][:6]
    split = Split(texts={f: [v[r] for r in short] for f, v in full.texts.items()})
    aug = make(mlm, tok, kv, n_samples=4, p=0.5)
    out = aug.augment_split(split, spec)
    assert out.labels is None
    premises = aug.augment(split.texts["premise"])  # field A is the first random stream
    first_changed = second_changed = 0
    for r in range(len(split)):
        rows = [j for j, s in enumerate(out.meta["source_index"]) if s == r]
        a, b = split.texts["premise"][r], split.texts["hypothesis"][r]
        pairs = [(out.texts["premise"][j], out.texts["hypothesis"][j]) for j in rows]
        assert pairs[0] == (a, b) and out.meta["is_original"][rows[0]]
        assert not any(out.meta["is_original"][j] for j in rows[1:])
        assert [x for x, y in pairs[1:] if y == b and x != a] == premises[r][1:]
        for x, y in pairs[1:]:
            assert (x == a) != (y == b)  # exactly one side changed
            first_changed += x != a
            second_changed += y != b
    assert first_changed and second_changed

    official = make(mlm, tok, kv, n_samples=4, p=0.5, pair_mode="official")
    quirk = official.augment_split(split, spec)
    for r in range(len(split)):
        a_variants = premises[r]
        b_variants = [split.texts["hypothesis"][r]] + [
            out.texts["hypothesis"][j]
            for j, s in enumerate(out.meta["source_index"])
            if s == r and out.texts["hypothesis"][j] != split.texts["hypothesis"][r]
        ]
        b = split.texts["hypothesis"][r]
        expected = [(x, b) for x in a_variants] + [(a_variants[-1], y) for y in b_variants]
        rows = [j for j, s in enumerate(quirk.meta["source_index"]) if s == r]
        assert [(quirk.texts["premise"][j], quirk.texts["hypothesis"][j]) for j in rows] == (
            expected
        )


def test_single_sentence_split(mlm, tok, kv):
    data = load_embedded("synth-sentiment", train_size=4, dev_size=2, test_size=2)
    out = make(mlm, tok, kv, n_samples=3).augment_split(data["train"], data.spec)
    assert out.labels is None and out.pos_tags is None
    expected = make(mlm, tok, kv, n_samples=3).augment(data["train"].texts["sentence"])
    assert out.texts["sentence"] == [v for variants in expected for v in variants]
    assert out.meta["source_index"] == [r for r, v in enumerate(expected) for _ in v]


def test_clear_errors(mlm, tok, kv):
    with pytest.raises(ValueError, match="mlm_head=True"):
        TinyBertAugmenter(BertModel("micro-2l-32h", vocab_size=len(tok)), tok)
    with pytest.raises(ValueError, match="vocab_size"):
        TinyBertAugmenter(BertModel("micro-2l-32h", mlm_head=True), tok)
    with pytest.raises(ValueError, match="eligible"):
        make(mlm, tok, kv, eligible="nouns")


# --------------------------------------------------------------------------- vectors

GLOVE = {
    "king": [0.5, 0.2, 0.1],
    "queen": [0.45, 0.25, 0.12],
    "apple": [-0.3, 0.8, 0.0],
    "pear": [-0.28, 0.75, 0.05],
    "car": [0.0, -0.1, 0.9],
}


def write_glove(path: Path, rows=GLOVE) -> Path:
    path.write_text("".join(f"{w} {' '.join(map(str, v))}\n" for w, v in rows.items()))
    return path


def test_glove_round_trip_limit_and_neighbours(tmp_path):
    path = write_glove(tmp_path / "glove.txt")
    kv = load_glove(path)
    assert kv.index_to_key == list(GLOVE)
    for w, v in GLOVE.items():
        np.testing.assert_allclose(kv[w], v, rtol=1e-6)
    assert load_glove(path, limit=3).index_to_key == ["king", "queen", "apple"]
    spaced = tmp_path / "spaced.txt"  # trailing spaces and a blank line are tolerated
    spaced.write_text(path.read_text().replace("\n", " \n", 2) + "\n")
    np.testing.assert_array_equal(load_glove(spaced).vectors, kv.vectors)
    assert as_keyed_vectors(str(path)).index_to_key == list(GLOVE)
    assert as_keyed_vectors(kv) is kv
    m = np.array(list(GLOVE.values()))
    m /= np.linalg.norm(m, axis=1, keepdims=True)
    sims = m @ m[2]
    sims[2] = -np.inf
    assert neighbours(kv, "apple", 2) == [list(GLOVE)[i] for i in np.argsort(-sims)[:2]]
    assert neighbours(kv, "apple", 2)[0] == "pear"
    assert "king" not in neighbours(kv, "king", 4) and len(neighbours(kv, "king", 4)) == 4
    assert neighbours(kv, "zebra", 3) == []
    with pytest.raises(TypeError, match="load_glove"):
        as_keyed_vectors(42)


@pytest.mark.parametrize(
    ("bad", "match"), [("bad 0.1 x 0.3", "not all numbers"), ("bad 0.1", "expected a word and 3")]
)
def test_glove_malformed_line_names_file_and_line(tmp_path, bad, match):
    path = write_glove(tmp_path / "broken.txt")
    lines = path.read_text().splitlines()
    lines.insert(3, bad)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=rf"broken\.txt, line 4: .*{match}"):
        load_glove(path)
    assert len(load_glove(path, limit=3)) == 3  # the bad line is past the limit


def test_word2vec_is_deterministic(corpus, kv):
    again = train_word2vec(corpus, vector_size=16, epochs=2, seed=0)
    assert again.index_to_key == kv.index_to_key
    np.testing.assert_array_equal(again.vectors, kv.vectors)
    other = train_word2vec(corpus, vector_size=16, epochs=2, seed=1)
    assert not np.allclose(other.vectors, kv.vectors)
    # The same vectors in a fresh process with another hash seed.
    code = (
        "import hashlib; from kdzoo.data.embedded import embedded_corpus; "
        "from kdzoo.augment import train_word2vec; "
        "kv = train_word2vec(embedded_corpus(300), vector_size=16, epochs=2, seed=0); "
        "print(hashlib.sha256(kv.vectors.tobytes()).hexdigest())"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split()[-1] == hashlib.sha256(kv.vectors.tobytes()).hexdigest()


# --------------------------------------------------------------------------- Tang et al.


@pytest.fixture(scope="module")
def sentiment():
    data = load_embedded("synth-sentiment", train_size=60, dev_size=2, test_size=2)
    return data["train"], data.spec


@pytest.fixture(scope="module")
def nli():
    data = load_embedded("synth-nli", train_size=30, dev_size=2, test_size=2)
    return data["train"], data.spec


def copies(out: Split, field: str):
    """(original words, copy words) for every non-original row."""
    for j, src in enumerate(out.meta["source_index"]):
        if not out.meta["is_original"][j]:
            yield src, out.texts[field][j].split(), j


@pytest.mark.parametrize("pos_first", [False, True])
def test_tang_mask_rate(sentiment, pos_first):
    split, spec = sentiment
    aug = TangAugmenter(
        p_mask=0.3,
        p_pos=0.2,
        p_ng=0.0,
        n_iter=20,
        unique=False,
        progress=False,
        pos_first=pos_first,
    )
    out = aug.augment_split(split, spec)
    assert out.labels is None
    words = [w for _, w, _ in copies(out, "sentence")]
    n = sum(len(w) for w in words)
    masked = sum(x == "[MASK]" for w in words for x in w)
    assert len(words) == 20 * len(split)
    assert abs(masked / n - 0.3) < 4 * np.sqrt(0.3 * 0.7 / n)


def test_tang_pos_replacement_keeps_the_tag(sentiment):
    split, spec = sentiment
    tags_of: dict[str, set[str]] = {}
    for text, tags in zip(split.texts["sentence"], split.pos_tags["sentence"], strict=True):
        for w, t in zip(text.split(), tags, strict=True):
            tags_of.setdefault(w, set()).add(t)
    aug = TangAugmenter(p_mask=0.0, p_pos=0.5, p_ng=0.0, n_iter=10, unique=False, progress=False)
    out = aug.augment_split(split, spec)
    replaced = 0
    for src, new, j in copies(out, "sentence"):
        old, old_tags = split.texts["sentence"][src].split(), split.pos_tags["sentence"][src]
        assert out.pos_tags["sentence"][j] == old_tags
        for w, o, t in zip(new, old, old_tags, strict=True):
            if w != o:
                assert t in tags_of[w]
                replaced += 1
    assert replaced > 100


def test_tang_ngram_windows_are_contiguous(sentiment):
    split, spec = sentiment
    aug = TangAugmenter(
        p_mask=0.0,
        p_pos=0.0,
        p_ng=1.0,
        ngram_range=(2, 4),
        n_iter=10,
        unique=False,
        progress=False,
    )
    out = aug.augment_split(split, spec)
    lengths = Counter()
    for src, new, _ in copies(out, "sentence"):
        old = split.texts["sentence"][src].split()
        assert 2 <= len(new) <= 4 and len(old) >= 2  # or whole, when shorter than n
        assert any(old[s : s + len(new)] == new for s in range(len(old)))
        lengths[len(new)] += 1
    assert set(lengths) == {2, 3, 4}


def test_tang_pairs_perturb_one_side_or_both(nli):
    split, spec = nli
    n_iter = 30
    aug = TangAugmenter(
        p_mask=0.3, p_pos=0.0, p_ng=0.0, n_iter=n_iter, unique=False, progress=False
    )
    out = aug.augment_split(split, spec)
    which = Counter(
        p for p, o in zip(out.meta["perturbed"], out.meta["is_original"], strict=True) if not o
    )
    n = n_iter * len(split)
    assert sum(which.values()) == n
    for key in ("premise", "hypothesis", "premise+hypothesis"):
        assert abs(which[key] - n / 3) < 4 * np.sqrt(n * (1 / 3) * (2 / 3)), which
    for j, p in enumerate(out.meta["perturbed"]):
        src = out.meta["source_index"][j]
        if p == "premise":
            assert out.texts["hypothesis"][j] == split.texts["hypothesis"][src]
        if p == "hypothesis":
            assert out.texts["premise"][j] == split.texts["premise"][src]


def test_tang_drops_duplicates_and_fully_changed_copies(sentiment):
    split, _ = sentiment
    texts = split.texts["sentence"][:10]
    everything = TangAugmenter(p_mask=1.0, p_pos=0.0, p_ng=0.0, progress=False)
    assert everything.augment(texts) == [[t] for t in texts]
    out = TangAugmenter(p_mask=0.2, p_pos=0.0, p_ng=0.3, n_iter=30, progress=False).augment(texts)
    for text, variants in zip(texts, out, strict=True):
        assert variants[0] == text and len(set(variants)) == len(variants) <= 31
    assert any(len(v) > 5 for v in out)


def test_tang_same_seed_same_copies(nli):
    split, spec = nli
    a = TangAugmenter(seed=1, n_iter=5, progress=False).augment_split(split, spec)
    b = TangAugmenter(seed=1, n_iter=5, progress=False).augment_split(split, spec)
    c = TangAugmenter(seed=2, n_iter=5, progress=False).augment_split(split, spec)
    assert a.texts == b.texts and a.meta == b.meta
    assert a.texts != c.texts


def test_tang_without_tags_or_tagger_says_how_to_get_one(sentiment, monkeypatch):
    split, spec = sentiment
    untagged = Split(texts=split.texts)
    monkeypatch.setitem(sys.modules, "nltk", None)
    monkeypatch.setitem(sys.modules, "spacy", None)
    with pytest.raises(RuntimeError, match=r"pip install nltk.*averaged_perceptron_tagger_eng"):
        TangAugmenter(progress=False).augment_split(untagged, spec)
    # Masking alone needs no tags.
    out = TangAugmenter(p_pos=0.0, n_iter=3, progress=False).augment_split(untagged, spec)
    assert out.pos_tags is None and len(out) > len(split)


def test_tang_uses_a_custom_tagger(sentiment):
    split, spec = sentiment
    calls = []

    def by_length(words):
        calls.append(words)
        return ["LONG" if len(w) > 4 else "SHORT" for w in words]

    untagged = Split(texts=split.texts)
    aug = TangAugmenter(
        p_mask=0.0,
        p_pos=0.5,
        p_ng=0.0,
        n_iter=5,
        tagger=by_length,
        unique=False,
        progress=False,
    )
    out = aug.augment_split(untagged, spec)
    assert calls
    replaced = 0
    for src, new, j in copies(out, "sentence"):
        old = split.texts["sentence"][src].split()
        assert out.pos_tags["sentence"][j] == by_length(old)
        for w, o in zip(new, old, strict=True):
            replaced += w != o
            assert (len(w) > 4) == (len(o) > 4)
    assert replaced > 20


# --------------------------------------------------------------------------- teacher labels


class CountingTeacher:
    """Delegates to a model and counts forward passes."""

    def __init__(self, model):
        self.model, self.calls = model, 0
        self.config = model.config

    @property
    def weights(self):
        return self.model.weights

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.model(*args, **kwargs)


def test_teacher_label_matches_a_forward_pass_and_uses_the_cache(tok, texts, tmp_path):
    keras.utils.set_random_seed(1)
    teacher = CountingTeacher(BertModel("micro-2l-32h", vocab_size=len(tok), num_labels=3))
    inputs = encode(tok, texts * 2, max_length=24)  # 10 rows, two batches of 5
    direct = np.concatenate(
        [to_numpy(teacher.model(x, training=False)["logits"]) for x in batches(inputs, 5)]
    )
    plain = teacher_label(teacher, inputs, batch_size=5, progress=False)
    assert plain["logits"].dtype == np.float32 and plain["logits"].shape == (10, 3)
    np.testing.assert_allclose(plain["logits"], direct, atol=1e-5)
    e = np.exp(direct - direct.max(-1, keepdims=True))
    np.testing.assert_allclose(plain["probs"], e / e.sum(-1, keepdims=True), atol=1e-6)

    cache = TeacherCache(tmp_path)
    teacher.calls = 0
    first = teacher_label(teacher, inputs, cache=cache, batch_size=5, progress=False)
    assert teacher.calls == 2 and len(list(tmp_path.glob("*.safetensors"))) == 1
    second = teacher_label(teacher, inputs, cache=cache, batch_size=5, progress=False)
    assert teacher.calls == 2  # read back, the teacher did not run
    np.testing.assert_array_equal(first["logits"], second["logits"])
    np.testing.assert_allclose(first["logits"], direct, atol=1e-5)


def batches(inputs, size):
    n = len(inputs["token_ids"])
    return [{k: v[s : s + size] for k, v in inputs.items()} for s in range(0, n, size)]


def test_teacher_label_regression_has_no_probs(tok, texts):
    teacher = BertModel("micro-2l-32h", vocab_size=len(tok), num_labels=1)
    out = teacher_label(teacher, encode(tok, texts, max_length=24), progress=False)
    assert set(out) == {"logits"} and out["logits"].shape == (len(texts), 1)
    assert np.isfinite(out["logits"]).all()
