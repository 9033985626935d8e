"""Tang et al.'s BiLSTM students: masking, siamese features, embeddings, fit, saving."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from conftest import to_numpy

from kdzoo.models import BILSTM_PRESETS, BiLSTMClassifier, BiLSTMConfig, embedding_matrix
from kdzoo.tokenization import WordVocab

SMALL = dict(vocab_size=40, embedding_dim=8, hidden_size=6, fc_size=5, num_labels=3, dropout=0.0)


def pair_inputs(a, b, pad_a=0, pad_b=0):
    a, b = np.array([a + [0] * pad_a]), np.array([b + [0] * pad_b])
    return {"token_ids": a, "padding_mask": a != 0, "token_ids_b": b, "padding_mask_b": b != 0}


@pytest.mark.parametrize("pair", [False, True])
def test_padding_is_masked(pair):
    model = BiLSTMClassifier(BiLSTMConfig(**SMALL, pair=pair))
    short = to_numpy(model(pair_inputs([3, 4, 5], [7, 8]))["logits"])
    padded = to_numpy(model(pair_inputs([3, 4, 5], [7, 8], pad_a=4, pad_b=2))["logits"])
    np.testing.assert_allclose(short, padded, atol=1e-6)
    # Without the mask the padding would be read as words and change the result.
    unmasked = pair_inputs([3, 4, 5], [7, 8], pad_a=4, pad_b=2)
    unmasked["padding_mask"] = np.ones_like(unmasked["padding_mask"])
    unmasked["padding_mask_b"] = np.ones_like(unmasked["padding_mask_b"])
    assert not np.allclose(short, to_numpy(model(unmasked)["logits"]), atol=1e-6)


def test_backward_direction_reads_the_first_word():
    """The backward half of the state must depend on the first word (it ends there)."""
    model = BiLSTMClassifier(BiLSTMConfig(**SMALL))
    h = model.config.hidden_size
    f1 = to_numpy(model(pair_inputs([3, 4, 5], [1], pad_a=2))["features"])
    f2 = to_numpy(model(pair_inputs([9, 4, 5], [1], pad_a=2))["features"])
    assert not np.allclose(f1[:, h:], f2[:, h:])


def test_siamese_features():
    model = BiLSTMClassifier(BiLSTMConfig(**SMALL, pair=True))
    x = pair_inputs([3, 4, 5], [7, 8, 9, 10])
    h1 = to_numpy(model.encode(x["token_ids"], x["padding_mask"]))
    h2 = to_numpy(model.encode(x["token_ids_b"], x["padding_mask_b"]))
    feats = to_numpy(model(x)["features"])
    np.testing.assert_allclose(
        feats, np.concatenate([h1, h2, h1 * h2, np.abs(h1 - h2)], -1), atol=1e-6
    )
    code = BiLSTMClassifier(BiLSTMConfig(**SMALL, pair=True, features="code"))
    code.set_weights(model.get_weights())
    np.testing.assert_allclose(
        to_numpy(code(x)["features"]),
        np.concatenate([h1, h2, np.abs(h1 - h2), h1 * h2], -1),
        atol=1e-6,
    )


def test_pair_model_needs_second_sentence():
    model = BiLSTMClassifier(BiLSTMConfig(**SMALL, pair=True))
    with pytest.raises(ValueError, match="token_ids_b"):
        model({"token_ids": np.array([[3, 4]])})


def keyed_vectors(words, dim=8, seed=0):
    from gensim.models import KeyedVectors

    kv = KeyedVectors(vector_size=dim)
    kv.add_vectors(words, np.random.default_rng(seed).normal(size=(len(words), dim)))
    return kv


def test_multichannel_embeddings_from_gensim():
    texts = ["the cat sat", "the dog ran", "a cat ran fast"]
    vocab = WordVocab.build(texts)
    kv = keyed_vectors(["cat", "dog", "the", "zebra"])
    matrix = embedding_matrix(kv, vocab)
    np.testing.assert_allclose(matrix[vocab.stoi["cat"]], kv["cat"])
    assert not matrix[0].any()  # padding row
    cfg = BiLSTMConfig(
        vocab_size=len(vocab),
        embedding_dim=8,
        hidden_size=4,
        fc_size=4,
        num_labels=2,
        embedding_mode="multichannel",
    )
    model = BiLSTMClassifier(cfg, embeddings=matrix)
    static, trainable = model.embedding_channels
    assert not static.trainable and trainable.trainable
    assert model.count_params() == cfg.num_parameters()
    assert sum(np.prod(w.shape) for w in model.trainable_weights) == cfg.num_parameters(
        trainable_only=True
    )
    x = vocab.encode(texts * 4, max_length=5)
    y = np.array([0, 1, 1] * 4)
    model.compile(
        optimizer=keras.optimizers.Adam(0.05),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    model.fit(x, y, epochs=3, verbose=0)
    np.testing.assert_allclose(to_numpy(static.embeddings), matrix)  # frozen copy unchanged
    assert not np.allclose(to_numpy(trainable.embeddings), matrix)  # tuned copy moved


def test_pretrained_modes_need_vectors():
    with pytest.raises(ValueError, match="needs pre-trained vectors"):
        BiLSTMClassifier(BiLSTMConfig(**{**SMALL, "embedding_mode": "static"}))
    with pytest.raises(ValueError, match="unknown embedding_mode"):
        BiLSTMConfig(**{**SMALL, "embedding_mode": "frozen"})
    with pytest.raises(ValueError, match=r"unknown BiLSTM preset 'tang-xl'.*tang-sst2"):
        BiLSTMConfig.from_preset("tang-xl")


def test_learns_a_word_order_task():
    """Label = does 'not' come before 'good'? Needs the sequence, not a bag of words."""
    rng = np.random.default_rng(0)
    texts, labels = [], []
    for _ in range(200):
        words = ["film", "was", "very", "quite"]
        rng.shuffle(words)
        first, second = ("not", "good") if rng.random() < 0.5 else ("good", "not")
        texts.append(" ".join([first, *words[:2], second]))
        labels.append(int(first == "not"))
    vocab = WordVocab.build(texts)
    model = BiLSTMClassifier(
        BiLSTMConfig(
            vocab_size=len(vocab), embedding_dim=16, hidden_size=16, fc_size=16, num_labels=2
        )
    )
    model.compile(
        optimizer=keras.optimizers.Adam(0.01),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    x, y = vocab.encode(texts, max_length=8), np.array(labels)
    model.fit(x, y, batch_size=32, epochs=8, verbose=0)
    assert model.evaluate(x, y, verbose=0, return_dict=True)["accuracy"] > 0.95


def test_keras_save_and_load(tmp_path):
    kv = keyed_vectors(["a", "b", "c"])
    vocab = WordVocab(["a", "b", "c"])
    cfg = BiLSTMConfig(
        vocab_size=len(vocab),
        embedding_dim=8,
        hidden_size=4,
        fc_size=4,
        pair=True,
        embedding_mode="multichannel",
    )
    model = BiLSTMClassifier(cfg, embeddings=embedding_matrix(kv, vocab))
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    x = pair_inputs([2, 3], [4, 2, 3])
    np.testing.assert_allclose(
        to_numpy(model(x)["logits"]), to_numpy(loaded(x)["logits"]), atol=1e-6
    )


def test_presets_match_reference_configs():
    assert BILSTM_PRESETS["tang-sst2"]["config"]["hidden_size"] == 150
    mnli = BiLSTMConfig.from_preset("tang-mnli")
    assert mnli.pair and mnli.embedding_mode == "multichannel"
    # Tang et al.: the BiLSTM student has ~0.96M weights besides its embeddings.
    sst2 = BiLSTMConfig.from_preset("tang-sst2")
    non_embedding = sst2.num_parameters() - sst2.vocab_size * sst2.embedding_dim
    assert 0.4e6 < non_embedding < 1.0e6
