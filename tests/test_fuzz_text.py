"""Fuzzing the text pipeline with hypothesis: arbitrary unicode, empty strings, very long
inputs and pairs with one side empty give well-formed inputs, never a crash."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kdzoo.data.embedded import embedded_corpus
from kdzoo.tokenization import WordVocab, basic_tokenize, encode, train_wordpiece, trim_padding

pytestmark = pytest.mark.no_backend  # no Keras code: tokenizers and NumPy only

CORPUS = embedded_corpus(300)
TOKENIZER = train_wordpiece(CORPUS, vocab_size=300)
VOCAB = WordVocab.build(CORPUS)
LENGTH = 24

# Any unicode (surrogates cannot be encoded to UTF-8, so no tokenizer takes them),
# runs of whitespace, BERT's special tokens, the corpus's own words, and long texts.
_any = st.text(st.characters(blacklist_categories=("Cs",)), max_size=80)
_words = st.lists(st.sampled_from([*sorted(VOCAB.stoi), "[MASK]", "[SEP]", "  ", "\t\n"]))
texts = st.one_of(
    _any,
    st.just(""),
    _words.map(" ".join),
    st.builds(lambda t, n: t * n, _any, st.integers(50, 400)),  # very long
)
FUZZ = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _prefix_mask(mask: np.ndarray) -> None:
    """Real tokens first, padding after: each row is ones then zeros."""
    for row in mask:
        n = int(row.sum())
        assert row[:n].all() and not row[n:].any()


@FUZZ
@given(texts)
def test_basic_tokenize_gives_whole_nonblank_words(text):
    words = basic_tokenize(text)
    assert all(isinstance(w, str) and w and not any(c.isspace() for c in w) for w in words)
    assert basic_tokenize(" ".join(words)) == basic_tokenize(" ".join(words))


@FUZZ
@given(st.lists(texts, min_size=1, max_size=4))
def test_word_vocab_encodes_any_text(batch):
    out = VOCAB.encode(batch, max_length=LENGTH)
    ids, mask = out["token_ids"], out["padding_mask"]
    assert ids.shape == mask.shape == (len(batch), LENGTH)
    assert ids.min() >= 0 and ids.max() < len(VOCAB)
    np.testing.assert_array_equal(mask, ids != 0)
    _prefix_mask(mask)
    for text, row in zip(batch, mask, strict=True):  # every word kept, up to the length
        assert row.sum() == min(len(basic_tokenize(text)), LENGTH)


@FUZZ
@given(st.lists(st.tuples(texts, texts), min_size=1, max_size=4))
def test_word_vocab_pairs_with_an_empty_side(pairs):
    a, b = [p[0] for p in pairs], [p[1] for p in pairs]
    out = VOCAB.encode_pair(a, b, max_length=LENGTH)
    assert set(out) == {"token_ids", "padding_mask", "token_ids_b", "padding_mask_b"}
    assert len({v.shape for v in out.values()}) == 1  # one trimmed length for both sides
    assert out["token_ids"].shape[1] >= 1
    _prefix_mask(out["padding_mask"])
    _prefix_mask(out["padding_mask_b"])


@FUZZ
@given(st.lists(st.tuples(texts, texts), min_size=1, max_size=4), st.booleans())
def test_wordpiece_encode_any_text_and_pairs(pairs, as_pair):
    a = [p[0] for p in pairs]
    b = [p[1] for p in pairs] if as_pair else None
    out = encode(TOKENIZER, a, b, max_length=LENGTH)
    ids, seg, mask = out["token_ids"], out["segment_ids"], out["padding_mask"]
    assert ids.shape == seg.shape == mask.shape == (len(pairs), LENGTH)
    assert ids.min() >= 0 and ids.max() < len(TOKENIZER)
    _prefix_mask(mask)
    cls, sep, pad = (TOKENIZER.convert_tokens_to_ids(t) for t in ("[CLS]", "[SEP]", "[PAD]"))
    for (x, y), row_ids, row_seg, row_mask in zip(pairs, ids, seg, mask, strict=True):
        n = int(row_mask.sum())
        assert n >= (3 if as_pair else 2)  # [CLS] ... [SEP] (... [SEP]) even when empty
        assert row_ids[0] == cls and row_ids[n - 1] == sep
        assert (row_ids[n:] == pad).all()
        # A literal "[SEP]" in the text is the special token, as in BERT's tokenizer
        # (Tang et al.'s masking relies on "[MASK]" being read that way).
        if "[SEP]" not in x + (y if as_pair else ""):
            assert list(row_ids[:n]).count(sep) == (2 if as_pair else 1)
        if not as_pair:
            assert not row_seg.any()
    (trimmed,) = trim_padding(out)
    assert trimmed["token_ids"].shape[1] == max(1, int(mask.sum(1).max()))


def test_mismatched_pair_lengths_are_a_clear_error():
    with pytest.raises(ValueError, match="texts has 2 items but texts_pair has 1"):
        encode(TOKENIZER, ["a", "b"], ["c"], max_length=LENGTH)
    with pytest.raises(ValueError, match="texts has 2 items but texts_pair has 1"):
        VOCAB.encode_pair(["a", "b"], ["c"])
