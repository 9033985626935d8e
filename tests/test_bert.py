"""kdzoo's Keras BERT on its own: presets, outputs, errors, fit and .keras saving."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from conftest import to_numpy

from kdzoo.models import PRESETS, BertConfig, BertModel, presets


def small_batch(vocab=512, b=4, length=10):
    rng = np.random.default_rng(0)
    mask = np.ones((b, length), np.int32)
    mask[1, 6:] = 0
    ids = rng.integers(5, vocab, (b, length)).astype(np.int32) * mask
    return {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": mask}


# Building every 768-wide preset would add a minute; the formula is the same code path,
# so it is checked on bert-base, TinyBERT4 and the small presets.
@pytest.mark.parametrize(
    "name", ["bert-base", "tinybert-4l", *(n for n in PRESETS if n.startswith(("mini", "micro")))]
)
@pytest.mark.parametrize("heads", [{}, {"num_labels": 3, "mlm_head": True}])
def test_preset_parameter_count_matches_built_model(name, heads):
    cfg = BertConfig.from_preset(name, **heads)
    assert BertModel(cfg).count_params() == cfg.num_parameters()


def test_published_parameter_counts():
    """The presets have the sizes the papers quote."""
    counts = {row["preset"]: row["parameters"] for row in presets()}
    assert counts["bert-base"] == 109_482_240  # HF BertModel bert-base-uncased: 109.48M
    # TinyBERT4 is "14.5M" with its 312->768 projection (not part of the model).
    assert 14.0e6 < counts["tinybert-4l"] + 312 * 768 + 768 < 14.7e6
    assert 66.5e6 < counts["bert-6l"] < 67.5e6  # TinyBERT6 / BERT6-PKD: 67.0M
    # BERT4-PKD / DistilBERT4: TinyBERT's Table 1 says 52.2M, the count without the pooler.
    no_pooler = BertConfig.from_preset("bert-4l", use_pooler=False).num_parameters()
    assert 52.15e6 < no_pooler < 52.25e6
    assert counts["distilbert-6l"] == counts["bert-6l"] - 2 * 768


def test_unknown_preset_lists_valid_ones():
    with pytest.raises(ValueError, match=r"unknown BERT preset 'bert-huge'.*tinybert-4l"):
        BertModel("bert-huge")


def test_hidden_not_divisible_by_heads():
    with pytest.raises(ValueError, match="not divisible by num_attention_heads=5"):
        BertConfig(hidden_size=312, num_attention_heads=5)


def test_outputs_and_shapes():
    model = BertModel("micro-2l-32h", num_labels=3, mlm_head=True)
    out = model(
        small_batch(),
        output_hidden_states=True,
        output_attention_scores=True,
        output_attention_probs=True,
    )
    assert len(out["hidden_states"]) == 3
    assert all(tuple(h.shape) == (4, 10, 32) for h in out["hidden_states"])
    assert len(out["attention_scores"]) == len(out["attention_probs"]) == 2
    assert tuple(out["attention_scores"][0].shape) == (4, 4, 10, 10)
    assert tuple(out["logits"].shape) == (4, 3)
    assert tuple(out["mlm_logits"].shape) == (4, 10, 512)
    probs = to_numpy(out["attention_probs"][1])
    np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-5)
    assert probs[1, :, :, 6:].max() < 1e-6  # padded keys get no attention
    # Only what was asked for is returned.
    assert set(model(small_batch())) == {"sequence_output", "pooled_output", "logits", "mlm_logits"}


def test_hf_input_names_are_accepted():
    model = BertModel("micro-2l-32h", num_labels=2)
    b = small_batch()
    hf_names = {
        "input_ids": b["token_ids"],
        "token_type_ids": b["segment_ids"],
        "attention_mask": b["padding_mask"],
    }
    np.testing.assert_allclose(to_numpy(model(b)["logits"]), to_numpy(model(hf_names)["logits"]))


def test_padding_does_not_change_real_tokens():
    model = BertModel("micro-2l-32h", num_labels=2)
    short = {"token_ids": np.array([[2, 7, 9, 3]]), "padding_mask": np.ones((1, 4))}
    long = {
        "token_ids": np.array([[2, 7, 9, 3, 0, 0, 0]]),
        "padding_mask": np.array([[1, 1, 1, 1, 0, 0, 0]]),
    }
    np.testing.assert_allclose(
        to_numpy(model(short)["logits"]), to_numpy(model(long)["logits"]), atol=1e-5
    )


def test_mlm_head_is_tied_to_token_embeddings():
    model = BertModel("micro-2l-32h", mlm_head=True)
    names = [w.path for w in model.weights]
    assert len(names) == len(set(names))
    assert model.count_params() == model.config.num_parameters()
    before = to_numpy(model(small_batch())["mlm_logits"])
    emb = model.embeddings.token_embedding.embeddings
    emb.assign(to_numpy(emb) * 2.0)
    assert not np.allclose(before, to_numpy(model(small_batch())["mlm_logits"]))


def test_trains_with_fit_and_plain_loss():
    """compile/fit with an ordinary loss: it applies to the 'logits' output."""
    rng = np.random.default_rng(0)
    ids = rng.integers(5, 60, (64, 8)).astype(np.int32)
    y = (ids[:, 1] > 32).astype(np.int32)  # label = is the second token "high"?
    x = {"token_ids": ids, "padding_mask": np.ones_like(ids)}
    model = BertModel(
        "micro-2l-32h", num_labels=2, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0
    )
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    hist = model.fit(x, y, batch_size=16, epochs=15, verbose=0)
    assert hist.history["loss"][-1] < 0.5 * hist.history["loss"][0]
    assert model.evaluate(x, y, verbose=0, return_dict=True)["accuracy"] > 0.9


def test_fit_without_head_explains():
    model = BertModel("micro-2l-32h")
    model.compile(optimizer="adam", loss="mse")
    with pytest.raises(ValueError, match="Attach a head"):
        model.fit(small_batch(), np.zeros((4, 1)), verbose=0)


@pytest.mark.parametrize(
    "heads", [{"num_labels": 3, "id2label": {0: "a", 1: "b", 2: "c"}}, {"mlm_head": True}]
)
def test_keras_save_and_load(tmp_path, heads):
    model = BertModel("micro-2l-32h", **heads)
    path = tmp_path / "bert.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)  # safe_mode stays on
    assert isinstance(loaded, BertModel) and loaded.config == model.config
    key = "logits" if "num_labels" in heads else "mlm_logits"
    np.testing.assert_allclose(
        to_numpy(model(small_batch())[key]), to_numpy(loaded(small_batch())[key]), atol=1e-6
    )


def test_dropout_only_in_training():
    model = BertModel("micro-2l-32h", num_labels=2, hidden_dropout_prob=0.5)
    b = small_batch()
    a1, a2 = to_numpy(model(b)["logits"]), to_numpy(model(b)["logits"])
    np.testing.assert_array_equal(a1, a2)
    t1 = to_numpy(model(b, training=True)["logits"])
    assert not np.allclose(a1, t1)


def test_config_round_trip():
    cfg = BertConfig.from_preset("tinybert-4l", num_labels=3, id2label={0: "x", 1: "y", 2: "z"})
    assert BertConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="unknown BertConfig fields"):
        BertConfig.from_dict({**cfg.to_dict(), "n_layers": 3})
    with pytest.raises(ValueError, match="one name per label"):
        BertConfig(num_labels=2, id2label={0: "a", 1: "b", 2: "c"})
