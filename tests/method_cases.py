"""Tiny teacher/student pairs for every method, shared by the method tests and the
cross-backend probe. Weights can be set from NumPy so that every backend starts from
the same numbers."""

from __future__ import annotations

import numpy as np

from kdzoo.models import BertModel, BiLSTMClassifier, BiLSTMConfig

VOCAB, LENGTH, N = 64, 10, 24
# The smallest shapes that exercise every mapping: a 4-layer teacher, 2-layer students.
TEACHER = dict(
    vocab_size=VOCAB,
    hidden_size=16,
    num_hidden_layers=4,
    num_attention_heads=2,
    intermediate_size=32,
    max_position_embeddings=LENGTH,
    num_labels=3,
    hidden_dropout_prob=0.0,
    attention_probs_dropout_prob=0.0,
)
STUDENT = dict(TEACHER, num_hidden_layers=2)
NARROW = dict(STUDENT, hidden_size=8, intermediate_size=16)  # TinyBERT: projection needed
MASK_ID, SPECIAL = 4, (0, 1, 2, 3, 4)

CASES = {
    "kd": dict(student=STUDENT, config={}),
    "pkd": dict(student=STUDENT, config={}),
    "lad": dict(student=STUDENT, config={}),
    "tinybert": dict(student=NARROW, config={}),
    "distilbert": dict(
        student=STUDENT, config={"mask_token_id": MASK_ID, "special_token_ids": SPECIAL}
    ),
    "bilstm": dict(student=None, config={}),
}
STAGES = {
    "kd": ["task"],
    "pkd": ["task"],
    "lad": ["task"],
    "bilstm": ["task"],
    "tinybert": ["general", "intermediate", "prediction"],
    "distilbert": ["general", "task"],
}


def batch(seed: int = 0):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(4, LENGTH + 1, N)
    mask = (np.arange(LENGTH)[None] < lengths[:, None]).astype(np.int32)
    ids = rng.integers(5, VOCAB, (N, LENGTH)).astype(np.int32) * mask
    ids[:, 0] = 2
    x = {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": mask}
    y = (ids[:, 1] % 3).astype(np.int32)  # learnable from the tokens
    return x, y


def models(name: str):
    mlm = name == "distilbert"
    teacher = BertModel(dict(TEACHER, mlm_head=mlm))
    if name == "bilstm":
        student = BiLSTMClassifier(
            BiLSTMConfig(
                vocab_size=VOCAB,
                num_labels=3,
                embedding_dim=8,
                hidden_size=8,
                fc_size=8,
                dropout=0.0,
            )
        )
    else:
        student = BertModel(dict(CASES[name]["student"], mlm_head=mlm))
    return teacher, student


def inputs(name: str, x):
    """BiLSTM students read words; here the same ids stand in for them."""
    if name == "bilstm":
        return {
            "student_inputs": {"token_ids": x["token_ids"], "padding_mask": x["padding_mask"]},
            "teacher_inputs": x,
        }
    return x


def set_weights_from_numpy(*models_, seed: int = 0, scale: float = 0.3) -> None:
    rng = np.random.default_rng(seed)
    for model in models_:
        for w in model.weights:
            w.assign(rng.normal(0.0, scale, tuple(w.shape)).astype(w.dtype))
