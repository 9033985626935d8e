"""The BiLSTM students of Tang et al. (2019), in Keras 3 on every backend.

"Distilling Task-Specific Knowledge from BERT into Simple Neural Networks"
(Tang, Lu, Liu, Mou, Vechtomova, Lin; arXiv:1903.12136). Two students:

- **single sentence**: embedding -> BiLSTM -> [forward final state; backward final
  state] (2H) -> Dense + ReLU -> dropout -> logits;
- **sentence pair** (siamese): the same BiLSTM encodes both sentences to h1, h2; the
  features ``[h1, h2, h1*h2, |h1-h2|]`` (8H) -> Dense + ReLU -> dropout -> logits.

The reference code (castorini/d-bert, ``siamese_rnn.py``) orders the pair features
``[h1, h2, |h1-h2|, h1*h2]`` and applies no dropout in the siamese forward pass;
``features="code"`` and ``dropout=0.0`` reproduce it. The order does not change what
the network can learn, only which fc1 rows see which feature.

Embeddings (``embedding_mode``), as in the reference code's modes:

- ``"rand"``: trainable, uniform(-0.25, 0.25);
- ``"static"`` / ``"non-static"``: from pre-trained vectors, frozen / trainable;
- ``"multichannel"``: a frozen copy and a trainable copy of the pre-trained vectors,
  concatenated (2 x ``embedding_dim`` into the LSTM).

Pre-trained vectors come from a gensim ``KeyedVectors`` (word2vec, or GloVe text via
``KeyedVectors.load_word2vec_format(path, no_header=True)``) through
:func:`embedding_matrix`. Padding (id 0) is masked: padded and unpadded inputs give
the same logits.

Book chapter: ``book/methods/tang.md``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np
from keras import ops

from kdzoo.models.base import DictOutputModel

__all__ = ["BILSTM_PRESETS", "BiLSTMClassifier", "BiLSTMConfig", "embedding_matrix"]

_MODES = ("rand", "static", "non-static", "multichannel")


@dataclass
class BiLSTMConfig:
    """Shape of a :class:`BiLSTMClassifier`.

    Attributes:
        vocab_size: words in the :class:`kdzoo.tokenization.WordVocab` (id 0 = pad).
        num_labels: output classes (1 for regression).
        pair: build the siamese sentence-pair student.
        embedding_dim: width of each embedding channel.
        hidden_size: LSTM units per direction (H).
        fc_size: width of the ReLU layer.
        dropout: dropout before the output layer.
        embedding_mode: ``"rand"``, ``"static"``, ``"non-static"`` or ``"multichannel"``.
        features: pair feature order, ``"paper"`` ``[h1, h2, h1*h2, |h1-h2|]`` or
            ``"code"`` ``[h1, h2, |h1-h2|, h1*h2]``.
        id2label: label names.
        preset: the preset this config came from, if any.
    """

    vocab_size: int
    num_labels: int = 2
    pair: bool = False
    embedding_dim: int = 300
    hidden_size: int = 150
    fc_size: int = 200
    dropout: float = 0.1
    embedding_mode: str = "rand"
    features: str = "paper"
    id2label: dict[int, str] | None = None
    preset: str | None = field(default=None, compare=False)

    def __post_init__(self):
        if self.embedding_mode not in _MODES:
            raise ValueError(
                f"unknown embedding_mode '{self.embedding_mode}'; choose one of {_MODES}."
            )
        if self.features not in ("paper", "code"):
            raise ValueError(f"features must be 'paper' or 'code', not '{self.features}'.")
        if self.id2label is not None:
            self.id2label = {int(k): str(v) for k, v in self.id2label.items()}

    @classmethod
    def from_preset(cls, name: str, **overrides: Any) -> BiLSTMConfig:
        if name not in BILSTM_PRESETS:
            raise ValueError(
                f"unknown BiLSTM preset '{name}'. Valid presets: {', '.join(BILSTM_PRESETS)}."
            )
        return cls(**{**BILSTM_PRESETS[name]["config"], "preset": name, **overrides})

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        if d["id2label"] is not None:
            d["id2label"] = {str(k): v for k, v in d["id2label"].items()}
        return d

    def num_parameters(self, trainable_only: bool = False) -> int:
        """Weights, from the shapes alone; ``trainable_only`` skips frozen embeddings."""
        d, h = self.embedding_dim, self.hidden_size
        channels = 2 if self.embedding_mode == "multichannel" else 1
        frozen = self.embedding_mode in ("static", "multichannel")
        emb = self.vocab_size * d * channels
        if trainable_only and frozen:
            emb -= self.vocab_size * d
        lstm = 2 * 4 * ((channels * d + h) * h + h)
        feats = (8 if self.pair else 2) * h
        head = (
            feats * self.fc_size + self.fc_size + self.fc_size * self.num_labels + self.num_labels
        )
        return emb + lstm + head


BILSTM_PRESETS: dict[str, dict[str, Any]] = {
    "tang-mini": {
        "config": dict(
            vocab_size=2048,
            num_labels=2,
            embedding_dim=64,
            hidden_size=64,
            fc_size=64,
            dropout=0.1,
            embedding_mode="rand",
        ),
        "description": "kdzoo's BiLSTM for the embedded tasks: E=64, H=64, fc 64 "
        "(set vocab_size, num_labels and pair from the task).",
    },
    "tang-sst2": {
        "config": dict(
            vocab_size=30000,
            num_labels=2,
            hidden_size=150,
            fc_size=200,
            dropout=0.1,
            embedding_mode="rand",
        ),
        "description": "d-bert confs/birnn_sst2.json: single sentence, H=150, fc 200.",
    },
    "tang-mnli": {
        "config": dict(
            vocab_size=30000,
            num_labels=3,
            pair=True,
            hidden_size=150,
            fc_size=200,
            dropout=0.2,
            embedding_mode="multichannel",
        ),
        "description": "d-bert confs/siarnn_mnli_match.json: siamese, multichannel.",
    },
    "tang-qqp": {
        "config": dict(
            vocab_size=30000,
            num_labels=2,
            pair=True,
            hidden_size=300,
            fc_size=200,
            dropout=0.2,
            embedding_mode="multichannel",
        ),
        "description": "d-bert confs/siarnn_qqb.json: siamese, H=300.",
    },
}


def embedding_matrix(keyed_vectors, vocab, seed: int = 0) -> np.ndarray:
    """Rows of ``keyed_vectors`` for each word of ``vocab``; others uniform(-0.25, 0.25).

    Args:
        keyed_vectors: a gensim ``KeyedVectors``.
        vocab: a :class:`kdzoo.tokenization.WordVocab`.
        seed: seed for the rows of out-of-vocabulary words.

    Returns:
        float32 array [len(vocab), vector_size]; row 0 (padding) is zero.
    """
    rng = np.random.default_rng(seed)
    dim = keyed_vectors.vector_size
    out = rng.uniform(-0.25, 0.25, (len(vocab), dim)).astype(np.float32)
    out[0] = 0.0
    for word, i in vocab.stoi.items():
        if word in keyed_vectors.key_to_index:
            out[i] = keyed_vectors[word]
    return out


@keras.saving.register_keras_serializable(package="kdzoo")
class BiLSTMClassifier(DictOutputModel):
    """Tang et al.'s BiLSTM student, single-sentence or siamese.

    Args:
        config: a :class:`BiLSTMConfig`, a preset name, or a config dict.
        embeddings: optional pre-trained matrix [vocab_size, embedding_dim] (see
            :func:`embedding_matrix`); required by the ``static``, ``non-static`` and
            ``multichannel`` modes.
        **overrides: config fields to change.

    Inputs: ``{"token_ids", "padding_mask"}`` [B, L] (from
    :meth:`kdzoo.tokenization.WordVocab.encode`); pair students also take
    ``"token_ids_b"`` and ``"padding_mask_b"`` for the second sentence.
    Outputs: ``{"logits": [B, num_labels], "features": [B, 2H or 8H]}``.
    """

    def __init__(self, config: BiLSTMConfig | str | dict, embeddings=None, **overrides):
        keras_kwargs = {
            k: overrides.pop(k) for k in ("name", "dtype", "trainable") if k in overrides
        }
        if isinstance(config, str):
            config = BiLSTMConfig.from_preset(config, **overrides)
        elif isinstance(config, dict):
            config = BiLSTMConfig(**{**config, **overrides})
        elif overrides:
            config = dataclasses.replace(config, **overrides)
        super().__init__(**keras_kwargs)
        c = self.config = config
        if embeddings is not None:
            embeddings = np.asarray(embeddings, dtype=np.float32)
            if embeddings.shape != (c.vocab_size, c.embedding_dim):
                raise ValueError(
                    f"embeddings have shape {embeddings.shape}; the config needs "
                    f"({c.vocab_size}, {c.embedding_dim}) (vocab_size, embedding_dim)."
                )
        elif c.embedding_mode != "rand":
            raise ValueError(
                f"embedding_mode='{c.embedding_mode}' needs pre-trained vectors: pass "
                "embeddings=kdzoo.models.bilstm.embedding_matrix(keyed_vectors, vocab)."
            )

        def _embedding(name, trainable):
            layer = keras.layers.Embedding(
                c.vocab_size,
                c.embedding_dim,
                embeddings_initializer=keras.initializers.RandomUniform(-0.25, 0.25),
                name=name,
            )
            layer.trainable = trainable
            return layer

        if c.embedding_mode == "multichannel":
            self.embedding_channels = [
                _embedding("static_embedding", False),
                _embedding("embedding", True),
            ]
        else:
            self.embedding_channels = [_embedding("embedding", c.embedding_mode != "static")]
        self.encoder = keras.layers.Bidirectional(
            keras.layers.LSTM(c.hidden_size), merge_mode="concat", name="bilstm"
        )
        self.fc = keras.layers.Dense(c.fc_size, activation="relu", name="fc")
        self.dropout = keras.layers.Dropout(c.dropout, name="dropout")
        self.classifier = keras.layers.Dense(c.num_labels, name="classifier")
        self.build()
        if embeddings is not None:
            for emb in self.embedding_channels:
                emb.embeddings.assign(embeddings)

    def build(self, input_shape=None):
        c = self.config
        channels = len(self.embedding_channels)
        for emb in self.embedding_channels:
            emb.build((None, None))
        self.encoder.build((None, None, channels * c.embedding_dim))
        self.fc.build((None, (8 if c.pair else 2) * c.hidden_size))
        self.classifier.build((None, c.fc_size))
        self.built = True

    def encode(self, token_ids, padding_mask=None, training=None):
        """One sentence [B, L] -> [B, 2H]: the final forward and backward states."""
        token_ids = ops.cast(token_ids, "int32")
        mask = (token_ids != 0) if padding_mask is None else ops.cast(padding_mask, "bool")
        x = ops.concatenate([emb(token_ids) for emb in self.embedding_channels], axis=-1)
        return self.encoder(x, mask=mask, training=training)  # [B, 2H]

    def call(self, inputs, training=None):
        h1 = self.encode(inputs["token_ids"], inputs.get("padding_mask"), training)
        if self.config.pair:
            if "token_ids_b" not in inputs:
                raise ValueError(
                    "the siamese BiLSTM needs the second sentence as 'token_ids_b' (and "
                    "'padding_mask_b'); got keys " + str(sorted(inputs)) + "."
                )
            h2 = self.encode(inputs["token_ids_b"], inputs.get("padding_mask_b"), training)
            prod, diff = h1 * h2, ops.abs(h1 - h2)
            parts = (
                [h1, h2, prod, diff] if self.config.features == "paper" else [h1, h2, diff, prod]
            )
            features = ops.concatenate(parts, axis=-1)  # [B, 8H]
        else:
            features = h1  # [B, 2H]
        hidden = self.dropout(self.fc(features), training=training)
        return {"logits": self.classifier(hidden), "features": features}

    def get_config(self):
        return {"config": self.config.to_dict(), "name": self.name}

    @classmethod
    def from_config(cls, config):
        cfg = dict(config["config"])
        if cfg.get("embedding_mode") != "rand":
            # Saved weights overwrite these placeholders when the model is loaded.
            cfg_obj = BiLSTMConfig(**cfg)
            placeholder = np.zeros((cfg_obj.vocab_size, cfg_obj.embedding_dim), np.float32)
            return cls(cfg_obj, embeddings=placeholder, name=config.get("name"))
        return cls(BiLSTMConfig(**cfg), name=config.get("name"))
