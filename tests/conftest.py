"""Shared fixtures. Every test runs on the backend named by KERAS_BACKEND (tox sets it)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

BACKEND = keras.backend.backend()


def pytest_report_header(config):
    return f"keras {keras.__version__}, backend: {BACKEND}"


def pytest_collection_modifyitems(config, items):
    """``@pytest.mark.orchestration`` tests check kdzoo's own Python bookkeeping around
    training (compare and ablate options, files, the CLI), which is the same on every
    backend; they run in the torch env. What differs per backend, the training itself,
    is tested everywhere (test_methods, and compare's six-method run in test_compare).
    ``no_backend`` modules (data, baselines, the hub guard) run no Keras code at all."""
    if BACKEND == "torch":
        return
    reasons = {
        "orchestration": "orchestration test: backend-independent, runs in the torch env",
        "no_backend": "runs no Keras code: tested once, in the torch env",
    }
    for item in items:
        for marker, reason in reasons.items():
            if marker in item.keywords:
                item.add_marker(pytest.mark.skip(reason=reason))
                break


def count_calls(monkeypatch, cls, name: str) -> list:
    """Patch ``cls.name`` to record each Python call; returns the (growing) record."""
    calls = []
    method = getattr(cls, name)

    def counted(self, *args, **kwargs):
        calls.append(1)
        return method(self, *args, **kwargs)

    monkeypatch.setattr(cls, name, counted)
    return calls


def to_numpy(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1234)


@pytest.fixture(scope="session")
def tiny_hf_config():
    """A small random BERT config with eager attention (sdpa returns no attentions)."""
    transformers = pytest.importorskip("transformers")
    return transformers.BertConfig(
        vocab_size=120,
        hidden_size=48,
        num_hidden_layers=3,
        num_attention_heads=4,
        intermediate_size=80,
        max_position_embeddings=40,
        type_vocab_size=2,
        # Larger than BERT's 0.02 so that activations are O(1): at 0.02, exact and
        # tanh GELU agree to 1e-5 and a parity test could not tell them apart.
        initializer_range=0.3,
        attn_implementation="eager",
        num_labels=3,
        id2label={0: "entailment", 1: "neutral", 2: "contradiction"},
        label2id={"entailment": 0, "neutral": 1, "contradiction": 2},
    )


def _save(model_cls, config, path, seed):
    import torch

    torch.manual_seed(seed)
    model = model_cls(config).eval()
    model.save_pretrained(path)
    return model


@pytest.fixture(scope="session")
def hf_classifier(tmp_path_factory, tiny_hf_config):
    from transformers import BertForSequenceClassification

    path = tmp_path_factory.mktemp("hf_cls")
    return _save(BertForSequenceClassification, tiny_hf_config, path, 0), path


@pytest.fixture(scope="session")
def hf_mlm(tmp_path_factory, tiny_hf_config):
    from transformers import BertForMaskedLM

    path = tmp_path_factory.mktemp("hf_mlm")
    return _save(BertForMaskedLM, tiny_hf_config, path, 1), path


@pytest.fixture(scope="session")
def hf_base(tmp_path_factory, tiny_hf_config):
    from transformers import BertModel

    path = tmp_path_factory.mktemp("hf_base")
    return _save(BertModel, tiny_hf_config, path, 2), path


@pytest.fixture
def padded_batch():
    """Three sequences of lengths 12, 7 and 3 padded to 12, with two segments."""
    rng = np.random.default_rng(0)
    lengths = [12, 7, 3]
    ids = np.zeros((3, 12), np.int32)
    seg = np.zeros((3, 12), np.int32)
    mask = np.zeros((3, 12), np.int32)
    for row, n in enumerate(lengths):
        ids[row, :n] = rng.integers(5, 120, n)
        ids[row, 0] = 2
        seg[row, n // 2 : n] = 1
        mask[row, :n] = 1
    return {"token_ids": ids, "segment_ids": seg, "padding_mask": mask}


@pytest.fixture
def offline(monkeypatch):
    """No hub: what a student's laptop on a train, or this CI, sees."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
