"""Embedded-task teachers: MLM masking, pre-training, fine-tuning and the on-disk cache."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import count_calls

from kdzoo import teachers
from kdzoo.data.base import get_spec
from kdzoo.data.metrics import compute_metrics
from kdzoo.teachers import TeacherRecipe, embedded_teacher, mask_tokens

TINY = TeacherRecipe(
    preset="micro-2l-32h",
    vocab_size=200,
    corpus_size=400,
    corpus_max_length=32,
    pretrain_epochs=2,
    pretrain_lr=3e-3,
    pretrain_batch_size=32,
    max_length=48,
    finetune_epochs=1,
    finetune_lr=1e-3,
    task_kwargs={"train_size": 200, "dev_size": 100, "test_size": 10},
)


def test_mask_tokens_follows_bert():
    rng = np.random.default_rng(0)
    ids = rng.integers(10, 100, (400, 50)).astype(np.int32)
    ids[:, 0], ids[:, -1] = 2, 3  # [CLS] ... [SEP]
    padding = np.ones_like(ids)
    padding[:, 40:] = 0
    masked, labels = mask_tokens(
        ids,
        padding,
        mask_token_id=4,
        special_token_ids=(0, 1, 2, 3, 4),
        vocab_size=100,
        rng=np.random.default_rng(1),
    )
    picked = labels != -100
    # only real, non-special tokens are picked, about 15 % of them
    assert not picked[:, 0].any() and not picked[:, 40:].any()
    assert abs(picked[:, 1:40].mean() - 0.15) < 0.01
    np.testing.assert_array_equal(labels[picked], ids[picked])
    np.testing.assert_array_equal(masked[~picked], ids[~picked])
    # of the picked ones: 80 % [MASK], about 10 % kept, the rest random
    assert abs((masked[picked] == 4).mean() - 0.8) < 0.03
    kept = (masked[picked] == ids[picked]).mean()
    assert 0.08 < kept < 0.13


def test_embedded_teacher_builds_once_then_loads(tmp_path, monkeypatch):
    monkeypatch.setenv("KDZOO_CACHE", str(tmp_path))
    built = embedded_teacher("synth-sentiment", TINY, verbose=0)
    assert built.path.parent == tmp_path / "teachers"
    info = json.loads((built.path / "kdzoo_info.json").read_text())
    assert info["seconds"] > 0
    mlm_dir = next((tmp_path / "pretrained").glob("mlm-*"))
    mlm_info = json.loads((mlm_dir / "kdzoo_info.json").read_text())
    assert mlm_info["mlm_loss"][-1] < mlm_info["mlm_loss"][0]  # pre-training learned
    assert not list(tmp_path.rglob(".*-*"))  # no temporary directories left behind

    # A second call reads the cache: nothing trains.
    def no_training(*args, **kwargs):
        raise AssertionError("the cached teacher was trained again")

    monkeypatch.setattr(teachers, "pretrain_mlm", no_training)
    monkeypatch.setattr(teachers, "finetune", no_training)
    loaded = embedded_teacher("synth-sentiment", TINY, verbose=0)
    assert loaded.path == built.path and loaded.info["dev"] == info["dev"]

    from kdzoo import load_task

    dev = load_task("synth-sentiment", **TINY.task_kwargs)["dev"]
    x = loaded.encode(dev)
    np.testing.assert_allclose(
        np.asarray(built.model.predict(x, verbose=0)["logits"]),
        np.asarray(loaded.model.predict(x, verbose=0)["logits"]),
        atol=1e-5,
    )
    # the recorded dev score is the saved model's
    spec = get_spec("synth-sentiment")
    logits = np.asarray(loaded.model.predict(x, verbose=0)["logits"])
    assert compute_metrics(spec, logits, dev.labels) == pytest.approx(info["dev"], abs=1e-6)
    assert loaded.mlm.config.mlm_head and loaded.model.config.num_labels == 2
    assert loaded.model.config.id2label == {0: "negative", 1: "positive"}
    assert len(loaded.tokenizer) == loaded.model.config.vocab_size
    # pre-trained without dropout, fine-tuned with it; the MLM's record comes along
    assert loaded.mlm.config.hidden_dropout_prob == TINY.pretrain_dropout == 0.0
    assert loaded.model.config.hidden_dropout_prob == TINY.finetune_dropout > 0
    assert loaded.model.config.attention_probs_dropout_prob == TINY.finetune_dropout
    assert loaded.info["pretraining"]["mlm_loss"] == mlm_info["mlm_loss"]

    # Both tasks share one pre-trained MLM; a new recipe is a new teacher.
    other = TeacherRecipe(**{**TINY.__dict__, "finetune_lr": 2e-3})
    assert other.key("synth-sentiment") != TINY.key("synth-sentiment")
    assert other.pretrain_key() == TINY.pretrain_key()


@pytest.fixture
def fresh_fingerprints():
    teachers._corpus_fingerprint.cache_clear()
    teachers._data_fingerprint.cache_clear()
    yield
    teachers._corpus_fingerprint.cache_clear()
    teachers._data_fingerprint.cache_clear()


def test_teacher_keys_follow_the_generated_data(monkeypatch, fresh_fingerprints):
    from kdzoo.data import embedded

    key, mlm_key = TINY.key("synth-sentiment"), TINY.pretrain_key()
    teachers._corpus_fingerprint.cache_clear()
    teachers._data_fingerprint.cache_clear()
    assert TINY.key("synth-sentiment") == key  # regenerated: the same data, the same key
    # A grammar change (here: one adjective renamed) changes the corpus and the task
    # data, so it builds a new MLM and a new teacher, not the cached ones.
    renamed = [w if w != "dull" else "dreary" for w in embedded._NEGATIVE]
    monkeypatch.setattr(embedded, "_NEGATIVE", renamed)
    teachers._corpus_fingerprint.cache_clear()
    teachers._data_fingerprint.cache_clear()
    assert TINY.pretrain_key() != mlm_key
    assert TINY.key("synth-sentiment") != key


def test_the_fine_tuned_teacher_starts_from_the_pretrained_encoder(tmp_path, monkeypatch):
    monkeypatch.setenv("KDZOO_CACHE", str(tmp_path))
    captured = {}

    def spy(model, *args, **kwargs):
        captured["embedding"] = np.asarray(model.embeddings.token_embedding.embeddings)
        return {"loss": [0.0]}

    monkeypatch.setattr(teachers, "finetune", spy)
    teacher = embedded_teacher("synth-nli", TINY, verbose=0)
    np.testing.assert_allclose(
        captured["embedding"], np.asarray(teacher.mlm.embeddings.token_embedding.embeddings)
    )


def test_embedded_teacher_rejects_glue_tasks():
    with pytest.raises(ValueError, match="not an embedded task"):
        embedded_teacher("mnli")


@pytest.mark.parametrize("seed", [None, 0])  # model.fit; kdzoo.training.fit
def test_fine_tuning_traces_its_step_once(seed, monkeypatch):
    """The optimizer and the accuracy metric exist before the first step, so tensorflow
    traces the train step once (it traced it twice when they were created inside the
    first trace); jax compiles it once; eager torch runs it every step (8 here)."""
    import keras

    from kdzoo.models import BertModel

    model = BertModel("micro-2l-32h", vocab_size=64, num_labels=2)
    rng = np.random.default_rng(0)
    x = {
        "token_ids": rng.integers(5, 60, (64, 12)).astype("int32"),
        "padding_mask": np.ones((64, 12), "int32"),
    }
    y = rng.integers(0, 2, 64).astype("int32")
    calls = count_calls(monkeypatch, BertModel, "train_step")
    history = teachers.finetune(
        model, x, y, epochs=2, batch_size=16, learning_rate=1e-3, verbose=0, seed=seed
    )
    assert len(history["accuracy"]) == 2
    assert len(calls) == (8 if keras.backend.backend() == "torch" else 1)
