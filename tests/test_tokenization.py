"""WordPiece training, Hugging Face tokenizer loading, encoding and the word vocabulary."""

from __future__ import annotations

import time

import numpy as np
import pytest

from kdzoo.hub import HubUnavailableError
from kdzoo.models import BertConfig
from kdzoo.tokenization import (
    WordVocab,
    basic_tokenize,
    check_tokenizer,
    encode,
    lexicon_wordpiece,
    load_tokenizer,
    train_wordpiece,
    trim_padding,
)

CORPUS = [
    "every dog chased a cat .",
    "no cat chased every dog .",
    "the striped cat is not sleeping .",
    "some birds can fly but penguins cannot .",
] * 20


def test_wordpiece_trains_saves_and_loads(tmp_path):
    from transformers import AutoTokenizer

    tok = train_wordpiece(CORPUS, vocab_size=80)
    assert len(tok) <= 80 and tok.convert_tokens_to_ids("[PAD]") == 0
    assert tok.mask_token == "[MASK]" and tok.cls_token_id is not None
    ids = tok("the striped cat chased penguins")["input_ids"]
    assert ids[0] == tok.cls_token_id and ids[-1] == tok.sep_token_id
    assert tok.unk_token_id not in ids
    tok.save_pretrained(tmp_path)
    again = AutoTokenizer.from_pretrained(tmp_path)
    assert len(again) == len(tok)
    assert again("the striped cat chased penguins")["input_ids"] == ids
    assert load_tokenizer(tmp_path)("every dog")["input_ids"] == tok("every dog")["input_ids"]


def test_unseen_words_split_into_pieces():
    tok = train_wordpiece(CORPUS, vocab_size=120)
    assert tok.tokenize("cats") == ["cat", "##s"]  # "cats" never occurs in the corpus


def test_lexicon_wordpiece_splits_only_the_words_it_is_told():
    pieces = {"catlike": ["cat", "##like"], "dogs": ["dog", "##s"]}
    tok = lexicon_wordpiece([*CORPUS, "a catlike dog", "two dogs"], pieces)
    assert tok.tokenize("a catlike dog") == ["a", "cat", "##like", "dog"]
    assert tok.tokenize("dogs") == ["dog", "##s"]
    assert "catlike" not in tok.get_vocab() and "dogs" not in tok.get_vocab()
    assert tok.tokenize("zebra") == ["z", "##e", "##b", "##r", "##a"]  # spelled, not [UNK]
    assert tok.convert_ids_to_tokens(0) == "[PAD]"
    # a word the texts never use still gets its pieces
    assert lexicon_wordpiece(CORPUS, {"doglike": ["dog", "##like"]}).tokenize("doglike") == [
        "dog",
        "##like",
    ]
    with pytest.raises(ValueError, match="do not spell"):
        lexicon_wordpiece(CORPUS, {"catlike": ["cat", "like"]})
    with pytest.raises(ValueError, match="do not spell"):
        lexicon_wordpiece(CORPUS, {"catlike": ["##cat", "##like"]})
    with pytest.raises(ValueError, match="prefix"):  # "cats" is a word: it wins the match
        lexicon_wordpiece(["cats", "catsup"], {"catsup": ["cat", "##sup"]})


def test_encode_pairs_and_padding():
    tok = train_wordpiece(CORPUS, vocab_size=80)
    enc = encode(tok, ["every dog", "a cat is not sleeping ."], ["no cat", "birds"], max_length=12)
    assert set(enc) == {"token_ids", "segment_ids", "padding_mask"}
    assert enc["token_ids"].shape == (2, 12) and enc["token_ids"].dtype == np.int32
    row = enc["segment_ids"][0]
    assert row[0] == 0 and row.max() == 1  # second sentence is segment 1
    n = enc["padding_mask"][0].sum()
    assert (enc["token_ids"][0, n:] == 0).all() and (enc["padding_mask"][0, n:] == 0).all()
    longest = encode(tok, ["every dog"], padding="longest", max_length=64)
    assert longest["token_ids"].shape[1] < 64
    with pytest.raises(ValueError, match="texts_pair has 1"):
        encode(tok, ["a", "b"], ["c"])


def test_trim_padding_keeps_one_length_and_every_real_token():
    tok = train_wordpiece(CORPUS, vocab_size=80)
    short = encode(tok, ["every dog", "a cat"], max_length=32)
    long = encode(tok, ["the striped cat is not sleeping ."], max_length=32)
    a, b = trim_padding(short, long)
    longest = int(long["padding_mask"].sum())
    for trimmed, full in ((a, short), (b, long)):
        assert set(trimmed) == set(full)
        for k in full:
            assert trimmed[k].shape == (len(full[k]), longest)
            np.testing.assert_array_equal(trimmed[k], full[k][:, :longest])
        assert full["padding_mask"][:, longest:].sum() == 0  # only padding was cut
    (alone,) = trim_padding(short)
    assert alone["token_ids"].shape[1] == int(short["padding_mask"].sum(1).max()) < longest


def test_vocabulary_mismatch_is_explained():
    tok = train_wordpiece(CORPUS, vocab_size=80)
    with pytest.raises(ValueError, match=r"tokenizer has \d+ tokens but the model's vocab_size"):
        check_tokenizer(tok, BertConfig.from_preset("micro-2l-32h"))
    with pytest.raises(ValueError, match="vocab_size"):
        encode(tok, ["every dog"], config=BertConfig.from_preset("micro-2l-32h"))
    check_tokenizer(tok, BertConfig.from_preset("micro-2l-32h", vocab_size=len(tok)))


def test_hub_tokenizer_offline_fails_fast(offline):
    start = time.perf_counter()
    with pytest.raises(HubUnavailableError, match="Pass a local directory"):
        load_tokenizer("kdzoo-tests/no-such-tokenizer")
    assert time.perf_counter() - start < 5.0


def test_word_vocab(tmp_path):
    assert basic_tokenize("Hello, World!") == ["hello", ",", "world", "!"]
    vocab = WordVocab.build(CORPUS, min_freq=2)
    assert vocab.itos[:3] == ["<pad>", "<unk>", "[MASK]"] and vocab.stoi["cat"] > 2
    enc = vocab.encode(["The cat flew", ""], max_length=5)
    assert enc["token_ids"][0, 2] == 1  # "flew" is unknown
    assert enc["padding_mask"].tolist() == [[1, 1, 1, 0, 0], [0, 0, 0, 0, 0]]
    vocab.save(tmp_path / "v.json")
    assert WordVocab.load(tmp_path / "v.json").itos == vocab.itos
    assert len(WordVocab.build(CORPUS, max_size=5)) == 5


def test_special_tokens_stay_whole():
    # Tang et al.'s masking writes "[MASK]" into the text; it must stay one word.
    assert basic_tokenize("The [MASK] sat, [SEP] Down") == [
        "the",
        "[MASK]",
        "sat",
        ",",
        "[SEP]",
        "down",
    ]
    assert basic_tokenize("[mask]") == ["[", "mask", "]"]  # only the exact special token
    assert basic_tokenize("a [MASK] b", never_split=()) == ["a", "[", "mask", "]", "b"]
    vocab = WordVocab.build(CORPUS)
    assert vocab.encode(["the [MASK]"], max_length=3)["token_ids"][0].tolist() == [
        vocab.stoi["the"],
        2,
        0,
    ]


def test_too_long_for_the_model_truncates_and_warns_once():
    import warnings

    tok = train_wordpiece(CORPUS, vocab_size=80)
    config = BertConfig.from_preset("micro-2l-32h", vocab_size=len(tok), max_position_embeddings=8)
    long_text = " ".join(CORPUS[:4])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        enc = encode(tok, [long_text], max_length=32, config=config)
        encode(tok, [long_text], max_length=32, config=config)
    assert enc["token_ids"].shape == (1, 8)
    assert sum("longer than the model's 8 positions" in str(w.message) for w in caught) == 1


def test_model_rejects_inputs_longer_than_its_positions():
    from kdzoo.models import BertModel

    model = BertModel("micro-2l-32h", max_position_embeddings=8)
    with pytest.raises(ValueError, match="has 8 positions"):
        model({"token_ids": np.ones((1, 12), np.int32)})
