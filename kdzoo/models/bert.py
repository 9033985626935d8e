"""BERT in Keras 3, written with ``keras.ops`` only, that shows its insides.

One readable file, in the spirit of Hugging Face's ``modeling_bert.py`` and nanoGPT.
The same code runs unchanged on the torch, tensorflow and jax backends.

Every distillation method in kdzoo reads something different out of a BERT:
TinyBERT the pre-softmax attention scores and every hidden state, PKD the [CLS]
vector of chosen layers, DistilBERT the MLM logits and the last hidden state,
LAD all teacher layers. So :class:`BertModel` returns a dict, and computes the
expensive internals only when a caller asks for them::

    model = BertModel("tinybert-4l", num_labels=3)
    out = model(inputs, output_hidden_states=True, output_attention_scores=True)
    out["logits"]                # [B, num_labels]
    out["hidden_states"]         # N+1 x [B, L, H]; index 0 is the embedding output
    out["attention_scores"]      # N x [B, heads, L, L], QKᵀ/√d + additive mask
    out["attention_probs"]       # (with output_attention_probs=True) post-softmax

Inputs use KerasHub's names: a dict with ``token_ids``, ``segment_ids`` and
``padding_mask`` (the Hugging Face names ``input_ids``, ``token_type_ids`` and
``attention_mask`` are accepted too).

The additive mask is ``(1 - padding_mask) * -10000``, broadcast as [B, 1, 1, L], as in
the original BERT and TinyBERT code: it masks keys (columns) only, and padding-query
rows keep their scores. TinyBERT's attention loss depends on exactly these values
(it zeroes scores <= -100), so kdzoo reproduces them rather than using ``-inf``.

Book chapter: ``book/models/bert.md``. Hugging Face conversion: :mod:`kdzoo.models.huggingface`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import keras
from keras import ops

from kdzoo.models.base import DictOutputModel

__all__ = ["PRESETS", "BertConfig", "BertModel", "init_from_teacher", "presets"]

MASK_VALUE = -10000.0
"""Additive attention-mask value for padded keys, as in the original BERT code."""


# --------------------------------------------------------------------------- config


@dataclass
class BertConfig:
    """Shape and behaviour of a :class:`BertModel`.

    Field names follow Hugging Face's ``BertConfig`` so that checkpoints convert
    without a renaming table. Build one from a preset with
    :meth:`BertConfig.from_preset`.

    Attributes:
        vocab_size: number of WordPiece tokens.
        hidden_size: width H of every hidden state.
        num_hidden_layers: number of Transformer layers N.
        num_attention_heads: heads per layer; must divide ``hidden_size``.
        intermediate_size: width of the feed-forward layer.
        hidden_act: ``"gelu"`` (exact, erf), ``"gelu_new"`` (tanh approximation) or
            ``"relu"``.
        hidden_dropout_prob: dropout on embeddings and sub-layer outputs.
        attention_probs_dropout_prob: dropout on the attention probabilities.
        max_position_embeddings: longest sequence the model accepts.
        type_vocab_size: number of segment ids; 0 means no token-type embedding
            (DistilBERT).
        layer_norm_eps: LayerNorm epsilon.
        initializer_range: standard deviation of the N(0, σ) weight initialiser.
        pad_token_id: id of ``[PAD]``.
        use_pooler: whether to build the tanh pooler over the [CLS] state.
        num_labels: attach a sequence-classification (or, with 1, regression) head.
        id2label: label names of the head, ``{0: "entailment", ...}``.
        problem_type: ``"single_label_classification"`` or ``"regression"``;
            inferred from ``num_labels`` when None.
        classifier_dropout: dropout before the classifier (defaults to
            ``hidden_dropout_prob``).
        mlm_head: attach a masked-LM head (``mlm_logits`` output).
        tie_word_embeddings: the MLM decoder reuses the token-embedding matrix.
        preset: the preset this config came from, if any (informational).
    """

    vocab_size: int = 30522
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    initializer_range: float = 0.02
    pad_token_id: int = 0
    use_pooler: bool = True
    num_labels: int | None = None
    id2label: dict[int, str] | None = None
    problem_type: str | None = None
    classifier_dropout: float | None = None
    mlm_head: bool = False
    tie_word_embeddings: bool = True
    preset: str | None = field(default=None, compare=False)

    def __post_init__(self):
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(
                f"hidden_size={self.hidden_size} is not divisible by "
                f"num_attention_heads={self.num_attention_heads}: every head needs the "
                f"same width. Choose a head count that divides {self.hidden_size} "
                f"(for example {_divisors_hint(self.hidden_size)})."
            )
        if self.hidden_act not in _ACTIVATIONS:
            raise ValueError(
                f"unsupported hidden_act '{self.hidden_act}'; choose one of {sorted(_ACTIVATIONS)}."
            )
        if self.id2label is not None:
            self.id2label = {int(k): str(v) for k, v in self.id2label.items()}
            if self.num_labels is None:
                self.num_labels = len(self.id2label)
            if len(self.id2label) != self.num_labels:
                raise ValueError(
                    f"id2label has {len(self.id2label)} entries but num_labels="
                    f"{self.num_labels}; give one name per label."
                )
        if self.num_labels is not None and self.problem_type is None:
            self.problem_type = (
                "regression" if self.num_labels == 1 else "single_label_classification"
            )
        if self.problem_type not in (None, "single_label_classification", "regression"):
            raise ValueError(
                f"unsupported problem_type '{self.problem_type}'; use "
                "'single_label_classification' or 'regression'."
            )

    @property
    def head_size(self) -> int:
        """Width of one attention head, ``hidden_size // num_attention_heads``."""
        return self.hidden_size // self.num_attention_heads

    @classmethod
    def from_preset(cls, name: str, **overrides: Any) -> BertConfig:
        """Build the config of preset ``name``, with some fields overridden.

        Raises:
            ValueError: ``name`` is not a preset; the message lists the valid ones.
        """
        if name not in PRESETS:
            raise ValueError(f"unknown BERT preset '{name}'. Valid presets: {', '.join(PRESETS)}.")
        return cls(**{**PRESETS[name]["config"], "preset": name, **overrides})

    def replace(self, **changes: Any) -> BertConfig:
        """Return a copy with ``changes`` applied (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        if d["id2label"] is not None:  # JSON keys are strings
            d["id2label"] = {str(k): v for k, v in d["id2label"].items()}
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BertConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown BertConfig fields {sorted(unknown)}.")
        return cls(**d)

    def num_parameters(self) -> int:
        """Number of weights, computed from the shapes alone (no model is built)."""
        h, i, v = self.hidden_size, self.intermediate_size, self.vocab_size
        n = (v + self.max_position_embeddings + self.type_vocab_size) * h + 2 * h
        per_layer = 4 * (h * h + h) + (h * i + i) + (i * h + h) + 2 * (2 * h)
        n += self.num_hidden_layers * per_layer
        if self.use_pooler:
            n += h * h + h
        if self.num_labels:
            n += h * self.num_labels + self.num_labels
        if self.mlm_head:
            n += (h * h + h) + 2 * h + v + (0 if self.tie_word_embeddings else h * v)
        return n


def _divisors_hint(n: int) -> str:
    ds = [d for d in range(2, 17) if n % d == 0]
    return ", ".join(map(str, ds[-4:])) if ds else "1"


def _gelu(x):
    return ops.gelu(x, approximate=False)


def _gelu_tanh(x):
    return ops.gelu(x, approximate=True)


_ACTIVATIONS = {
    "gelu": _gelu,
    "gelu_new": _gelu_tanh,
    "gelu_pytorch_tanh": _gelu_tanh,
    "relu": ops.relu,
}


# --------------------------------------------------------------------------- presets

PRESETS: dict[str, dict[str, Any]] = {
    "bert-base": {
        "config": dict(
            num_hidden_layers=12, hidden_size=768, intermediate_size=3072, num_attention_heads=12
        ),
        "description": "BERT-base (Devlin et al. 2019): the teacher of every paper here.",
    },
    "tinybert-4l": {
        "config": dict(
            num_hidden_layers=4, hidden_size=312, intermediate_size=1200, num_attention_heads=12
        ),
        "description": "TinyBERT4 (Jiao et al. 2020, §4.2): 4L, 312H, FFN 1200, 12 heads.",
    },
    "tinybert-6l": {
        "config": dict(
            num_hidden_layers=6, hidden_size=768, intermediate_size=3072, num_attention_heads=12
        ),
        "description": "TinyBERT6 (Jiao et al. 2020): 6L, 768H.",
    },
    "bert-6l": {
        "config": dict(
            num_hidden_layers=6, hidden_size=768, intermediate_size=3072, num_attention_heads=12
        ),
        "description": "6-layer, 768-wide student (BERT6-PKD, LAD).",
    },
    "bert-4l": {
        "config": dict(
            num_hidden_layers=4, hidden_size=768, intermediate_size=3072, num_attention_heads=12
        ),
        "description": "4-layer, 768-wide student (BERT4-PKD, DistilBERT4).",
    },
    "bert-3l": {
        "config": dict(
            num_hidden_layers=3, hidden_size=768, intermediate_size=3072, num_attention_heads=12
        ),
        "description": "3-layer, 768-wide student (BERT3-PKD).",
    },
    "distilbert-6l": {
        "config": dict(
            num_hidden_layers=6,
            hidden_size=768,
            intermediate_size=3072,
            num_attention_heads=12,
            type_vocab_size=0,
        ),
        "description": "DistilBERT (Sanh et al. 2019): 6L, 768H, no token-type embeddings.",
    },
    # Small presets for the embedded offline tasks: a teacher and its students keep
    # the paper's ratios (TinyBERT: 1/3 of the depth and a narrower width; PKD and
    # DistilBERT: half the depth at full width) and the same head count, which
    # TinyBERT's attention loss requires.
    "mini-6l-128h": {
        "config": dict(
            num_hidden_layers=6,
            hidden_size=128,
            intermediate_size=512,
            num_attention_heads=4,
            vocab_size=4096,
            max_position_embeddings=128,
        ),
        "description": "Teacher for the embedded offline tasks (kdzoo.teachers).",
    },
    "mini-3l-128h": {
        "config": dict(
            num_hidden_layers=3,
            hidden_size=128,
            intermediate_size=512,
            num_attention_heads=4,
            vocab_size=4096,
            max_position_embeddings=128,
        ),
        "description": "Half-depth, full-width student of mini-6l-128h (PKD / DistilBERT).",
    },
    "mini-2l-64h": {
        "config": dict(
            num_hidden_layers=2,
            hidden_size=64,
            intermediate_size=256,
            num_attention_heads=4,
            vocab_size=4096,
            max_position_embeddings=128,
        ),
        "description": "TinyBERT-shaped student of mini-6l-128h (1/3 depth, half width).",
    },
    "mini-2l-128h": {
        "config": dict(
            num_hidden_layers=2,
            hidden_size=128,
            intermediate_size=512,
            num_attention_heads=4,
            vocab_size=4096,
            max_position_embeddings=128,
        ),
        "description": "A small BERT for the demo teacher and the augmentation benchmark.",
    },
    "micro-2l-32h": {
        "config": dict(
            num_hidden_layers=2,
            hidden_size=32,
            intermediate_size=64,
            num_attention_heads=4,
            vocab_size=512,
            max_position_embeddings=64,
        ),
        "description": "A 37K-weight BERT for unit tests and the demo.",
    },
}


def presets() -> list[dict[str, Any]]:
    """List the presets with their shapes and parameter counts (default vocabulary)."""
    rows = []
    for name, p in PRESETS.items():
        cfg = BertConfig.from_preset(name)
        rows.append(
            {
                "preset": name,
                "layers": cfg.num_hidden_layers,
                "hidden": cfg.hidden_size,
                "ffn": cfg.intermediate_size,
                "heads": cfg.num_attention_heads,
                "vocab": cfg.vocab_size,
                "parameters": cfg.num_parameters(),
                "description": p["description"],
            }
        )
    return rows


# --------------------------------------------------------------------------- layers


def _init(config: BertConfig):
    return keras.initializers.RandomNormal(stddev=config.initializer_range)


def _dense(config: BertConfig, units: int, name: str, activation=None):
    return keras.layers.Dense(
        units, activation=activation, kernel_initializer=_init(config), name=name
    )


def _layer_norm(config: BertConfig, name: str):
    return keras.layers.LayerNormalization(epsilon=config.layer_norm_eps, name=name)


class BertEmbeddings(keras.layers.Layer):
    """token + position (+ segment) embeddings, then LayerNorm and dropout."""

    def __init__(self, config: BertConfig, **kwargs):
        super().__init__(**kwargs)
        c = config
        self.token_embedding = keras.layers.Embedding(
            c.vocab_size, c.hidden_size, embeddings_initializer=_init(c), name="token_embedding"
        )
        self.position_embedding = keras.layers.Embedding(
            c.max_position_embeddings,
            c.hidden_size,
            embeddings_initializer=_init(c),
            name="position_embedding",
        )
        self.segment_embedding = (
            keras.layers.Embedding(
                c.type_vocab_size,
                c.hidden_size,
                embeddings_initializer=_init(c),
                name="segment_embedding",
            )
            if c.type_vocab_size > 0
            else None
        )
        self.layer_norm = _layer_norm(c, "layer_norm")
        self.dropout = keras.layers.Dropout(c.hidden_dropout_prob, name="dropout")
        self.hidden_size = c.hidden_size

    def build(self, input_shape=None):
        self.token_embedding.build((None, None))
        self.position_embedding.build((None, None))
        if self.segment_embedding is not None:
            self.segment_embedding.build((None, None))
        self.layer_norm.build((None, None, self.hidden_size))
        self.built = True

    def call(self, token_ids, segment_ids, training=None):
        seq_len = ops.shape(token_ids)[1]
        x = self.token_embedding(token_ids)  # [B, L, H]
        x = x + self.position_embedding(ops.arange(seq_len))[None]  # + [1, L, H]
        if self.segment_embedding is not None:
            x = x + self.segment_embedding(segment_ids)  # + [B, L, H]
        return self.dropout(self.layer_norm(x), training=training)


class BertSelfAttention(keras.layers.Layer):
    """Multi-head self-attention that can hand back its scores and probabilities."""

    def __init__(self, config: BertConfig, **kwargs):
        super().__init__(**kwargs)
        c = config
        self.num_heads, self.head_size, self.hidden_size = (
            c.num_attention_heads,
            c.head_size,
            c.hidden_size,
        )
        self.query = _dense(c, c.hidden_size, "query")
        self.key = _dense(c, c.hidden_size, "key")
        self.value = _dense(c, c.hidden_size, "value")
        self.dropout_rate = c.attention_probs_dropout_prob
        self.dropout = keras.layers.Dropout(self.dropout_rate, name="dropout")

    def build(self, input_shape=None):
        for dense in (self.query, self.key, self.value):
            dense.build((None, None, self.hidden_size))
        self.built = True

    def _heads(self, x):  # [B, L, H] -> [B, L, heads, d]
        b, length = ops.shape(x)[0], ops.shape(x)[1]
        return ops.reshape(x, (b, length, self.num_heads, self.head_size))

    def call(self, x, mask_bias, training=None, return_scores=False, return_probs=False):
        """Attend over ``x`` [B, L, H] with additive ``mask_bias`` [B, 1, 1, L].

        Returns ``(context [B, L, H], scores or None, probs or None)``; scores and
        probabilities are [B, heads, L, L].
        """
        b, length = ops.shape(x)[0], ops.shape(x)[1]
        q, k, v = self._heads(self.query(x)), self._heads(self.key(x)), self._heads(self.value(x))
        scale = 1.0 / math.sqrt(self.head_size)
        needs_dropout = bool(training) and self.dropout_rate > 0
        if not (return_scores or return_probs or needs_dropout):
            # Fast path: the fused kernel of the backend, nothing kept.
            context = ops.dot_product_attention(q, k, v, bias=mask_bias, scale=scale)
            return ops.reshape(context, (b, length, self.hidden_size)), None, None
        q, k, v = (ops.transpose(t, (0, 2, 1, 3)) for t in (q, k, v))  # [B, heads, L, d]
        scores = ops.matmul(q, ops.transpose(k, (0, 1, 3, 2))) * scale + mask_bias
        probs = ops.softmax(scores, axis=-1)  # [B, heads, L, L]
        context = ops.matmul(self.dropout(probs, training=training), v)  # [B, heads, L, d]
        context = ops.reshape(ops.transpose(context, (0, 2, 1, 3)), (b, length, self.hidden_size))
        return context, (scores if return_scores else None), (probs if return_probs else None)


class BertLayer(keras.layers.Layer):
    """One Transformer encoder layer (post-LayerNorm, as in BERT)."""

    def __init__(self, config: BertConfig, **kwargs):
        super().__init__(**kwargs)
        c = config
        self.hidden_size, self.intermediate_size = c.hidden_size, c.intermediate_size
        self.attention = BertSelfAttention(c, name="attention")
        self.attention_output = _dense(c, c.hidden_size, "attention_output")
        self.attention_dropout = keras.layers.Dropout(c.hidden_dropout_prob)
        self.attention_layer_norm = _layer_norm(c, "attention_layer_norm")
        self.intermediate = _dense(c, c.intermediate_size, "intermediate")
        self.activation = _ACTIVATIONS[c.hidden_act]
        self.output_dense = _dense(c, c.hidden_size, "output")
        self.output_dropout = keras.layers.Dropout(c.hidden_dropout_prob)
        self.output_layer_norm = _layer_norm(c, "output_layer_norm")

    def build(self, input_shape=None):
        h, i = self.hidden_size, self.intermediate_size
        self.attention.build()
        self.attention_output.build((None, None, h))
        self.attention_layer_norm.build((None, None, h))
        self.intermediate.build((None, None, h))
        self.output_dense.build((None, None, i))
        self.output_layer_norm.build((None, None, h))
        self.built = True

    def call(self, x, mask_bias, training=None, return_scores=False, return_probs=False):
        context, scores, probs = self.attention(
            x,
            mask_bias,
            training=training,
            return_scores=return_scores,
            return_probs=return_probs,
        )
        attended = self.attention_dropout(self.attention_output(context), training=training)
        x = self.attention_layer_norm(x + attended)  # [B, L, H]
        ffn = self.output_dense(self.activation(self.intermediate(x)))  # [B, L, I] -> [B, L, H]
        x = self.output_layer_norm(x + self.output_dropout(ffn, training=training))
        return x, scores, probs


class BertMLMHead(keras.layers.Layer):
    """Transform (dense, activation, LayerNorm), then the vocabulary decoder.

    With tied embeddings the decoder is the transposed token-embedding matrix plus
    a bias, as in BERT's pre-training head.
    """

    def __init__(self, config: BertConfig, **kwargs):
        super().__init__(**kwargs)
        c = config
        self.hidden_size, self.vocab_size, self.tied = (
            c.hidden_size,
            c.vocab_size,
            c.tie_word_embeddings,
        )
        self.transform = _dense(c, c.hidden_size, "transform")
        self.activation = _ACTIVATIONS[c.hidden_act]
        self.layer_norm = _layer_norm(c, "layer_norm")
        self.decoder = None if self.tied else _dense(c, c.vocab_size, "decoder")

    def build(self, input_shape=None):
        self.transform.build((None, None, self.hidden_size))
        self.layer_norm.build((None, None, self.hidden_size))
        if self.tied:
            self.bias = self.add_weight(shape=(self.vocab_size,), initializer="zeros", name="bias")
        else:
            self.decoder.build((None, None, self.hidden_size))
        self.built = True

    def call(self, x, token_embeddings=None):
        """``x`` [B, L, H] -> logits [B, L, V]; ``token_embeddings`` [V, H] when tied."""
        x = self.layer_norm(self.activation(self.transform(x)))  # [B, L, H]
        if not self.tied:
            return self.decoder(x)
        return ops.matmul(x, ops.transpose(token_embeddings)) + self.bias


# --------------------------------------------------------------------------- model


@keras.saving.register_keras_serializable(package="kdzoo")
class BertModel(DictOutputModel):
    """BERT encoder with optional pooler, classification/regression and MLM heads.

    Args:
        config: a :class:`BertConfig`, a preset name, or a config dict.
        **overrides: config fields to change, for example ``num_labels=3`` or
            ``vocab_size=len(tokenizer)``.

    Call it with a dict of ``token_ids`` [B, L] (and optionally ``segment_ids`` and
    ``padding_mask``, which default to zeros and ones). It returns a dict:

    - ``sequence_output`` [B, L, H] and, with a pooler, ``pooled_output`` [B, H];
    - ``logits`` [B, num_labels] when a classification/regression head is attached;
    - ``mlm_logits`` [B, L, vocab] when an MLM head is attached;
    - ``hidden_states``: N+1 x [B, L, H] when ``output_hidden_states=True``;
    - ``attention_scores``: N x [B, heads, L, L], pre-softmax QKᵀ/√d + mask, when
      ``output_attention_scores=True``;
    - ``attention_probs``: N x [B, heads, L, L] when ``output_attention_probs=True``.

    Without those flags no internal state is kept, and attention runs through the
    backend's fused kernel (``keras.ops.dot_product_attention``).
    """

    def __init__(self, config: BertConfig | str | dict = "bert-base", **overrides):
        keras_kwargs = {
            k: overrides.pop(k) for k in ("name", "dtype", "trainable") if k in overrides
        }
        if isinstance(config, str):
            config = BertConfig.from_preset(config, **overrides)
        elif isinstance(config, dict):
            config = BertConfig.from_dict({**config, **overrides})
        elif overrides:
            config = config.replace(**overrides)
        super().__init__(**keras_kwargs)
        self.config = config
        c = config
        self.embeddings = BertEmbeddings(c, name="embeddings")
        self.encoder_layers = [BertLayer(c, name=f"layer_{i}") for i in range(c.num_hidden_layers)]
        self.pooler = (
            _dense(c, c.hidden_size, "pooler", activation="tanh") if c.use_pooler else None
        )
        if c.num_labels:
            rate = c.hidden_dropout_prob if c.classifier_dropout is None else c.classifier_dropout
            self.classifier_dropout = keras.layers.Dropout(rate, name="classifier_dropout")
            self.classifier = _dense(c, c.num_labels, "classifier")
        else:
            self.classifier = None
        self.mlm = BertMLMHead(c, name="mlm_head") if c.mlm_head else None
        self.build()

    def build(self, input_shape=None):
        h = self.config.hidden_size
        self.embeddings.build()
        for layer in self.encoder_layers:
            layer.build()
        if self.pooler is not None:
            self.pooler.build((None, h))
        if self.classifier is not None:
            self.classifier.build((None, h))
        if self.mlm is not None:
            self.mlm.build()
        self.built = True

    # -- inputs ---------------------------------------------------------------------

    _ALIASES: ClassVar[dict[str, str]] = {
        "input_ids": "token_ids",
        "token_type_ids": "segment_ids",
        "attention_mask": "padding_mask",
    }

    def _standardize(self, inputs):
        if not isinstance(inputs, dict):
            inputs = {"token_ids": inputs}
        inputs = {self._ALIASES.get(k, k): v for k, v in inputs.items()}
        if "token_ids" not in inputs:
            raise ValueError(
                "BertModel expects a dict with 'token_ids' (and optionally 'segment_ids' "
                f"and 'padding_mask'); got keys {sorted(inputs)}."
            )
        token_ids = ops.cast(inputs["token_ids"], "int32")
        length = token_ids.shape[1]
        if length is not None and length > self.config.max_position_embeddings:
            raise ValueError(
                f"inputs have {length} tokens but the model has "
                f"{self.config.max_position_embeddings} positions; encode with "
                f"max_length={self.config.max_position_embeddings} (kdzoo.tokenization.encode "
                "truncates) or use a model with more max_position_embeddings."
            )
        segment_ids = inputs.get("segment_ids")
        segment_ids = (
            ops.zeros_like(token_ids) if segment_ids is None else ops.cast(segment_ids, "int32")
        )
        padding_mask = inputs.get("padding_mask")
        padding_mask = ops.ones_like(token_ids) if padding_mask is None else padding_mask
        return token_ids, segment_ids, padding_mask

    # -- forward --------------------------------------------------------------------

    def call(
        self,
        inputs,
        training=None,
        output_hidden_states: bool = False,
        output_attention_scores: bool = False,
        output_attention_probs: bool = False,
    ):
        token_ids, segment_ids, padding_mask = self._standardize(inputs)
        dtype = self.compute_dtype
        # [B, L] -> additive [B, 1, 1, L]: 0 for real keys, -10000 for padded keys.
        mask_bias = (1.0 - ops.cast(padding_mask, dtype))[:, None, None, :] * MASK_VALUE

        x = self.embeddings(token_ids, segment_ids, training=training)  # [B, L, H]
        hidden_states, scores, probs = [x], [], []
        for layer in self.encoder_layers:
            x, s, p = layer(
                x,
                mask_bias,
                training=training,
                return_scores=output_attention_scores,
                return_probs=output_attention_probs,
            )
            hidden_states.append(x)
            scores.append(s)
            probs.append(p)

        out = {"sequence_output": x}
        if output_hidden_states:
            out["hidden_states"] = hidden_states
        if output_attention_scores:
            out["attention_scores"] = scores
        if output_attention_probs:
            out["attention_probs"] = probs
        if self.pooler is not None:
            out["pooled_output"] = self.pooler(x[:, 0])  # [B, H]
        if self.classifier is not None:
            if self.pooler is None:
                raise ValueError("a classification head needs the pooler (use_pooler=True).")
            pooled = self.classifier_dropout(out["pooled_output"], training=training)
            out["logits"] = self.classifier(pooled)  # [B, C]
        if self.mlm is not None:
            out["mlm_logits"] = self.mlm(x, self.embeddings.token_embedding.embeddings)
        return out

    # -- serialization --------------------------------------------------------------

    def get_config(self):
        return {"config": self.config.to_dict(), "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(BertConfig.from_dict(config["config"]), name=config.get("name"))


def init_from_teacher(
    student: BertModel,
    teacher: BertModel,
    teacher_layers: list[int],
    *,
    embeddings: bool = True,
    pooler: bool = True,
    mlm_head: bool = True,
) -> None:
    """Copy teacher weights into ``student``: DistilBERT's and PKD's initialisation.

    Student layer i receives teacher layer ``teacher_layers[i]`` (0-based). The token,
    position and (if both have one) segment embeddings and their LayerNorm, the pooler
    and the MLM head are copied too unless switched off. Shapes must match: the student
    must have the teacher's width.

    Raises:
        ValueError: the widths differ, or the list does not name one teacher layer per
            student layer.
    """
    if student.config.hidden_size != teacher.config.hidden_size:
        raise ValueError(
            f"cannot initialise a {student.config.hidden_size}-wide student from a "
            f"{teacher.config.hidden_size}-wide teacher; initialisation from teacher layers "
            "needs the same hidden size (DistilBERT and PKD students keep the teacher's width)."
        )
    n = student.config.num_hidden_layers
    if len(teacher_layers) != n or max(teacher_layers) >= teacher.config.num_hidden_layers:
        raise ValueError(
            f"teacher_layers={teacher_layers} must name {n} of the teacher's "
            f"{teacher.config.num_hidden_layers} layers (0-based)."
        )

    def copy(dst, src):
        for d, s in zip(dst.weights, src.weights, strict=True):
            # Through NumPy: on jax, assigning the array itself would make both variables
            # share one buffer, which jit's buffer donation then rejects.
            d.assign(ops.convert_to_numpy(s))

    if embeddings:
        se, te = student.embeddings, teacher.embeddings
        for name in ("token_embedding", "position_embedding", "layer_norm"):
            copy(getattr(se, name), getattr(te, name))
        if se.segment_embedding is not None and te.segment_embedding is not None:
            copy(se.segment_embedding, te.segment_embedding)
    for i, j in enumerate(teacher_layers):
        copy(student.encoder_layers[i], teacher.encoder_layers[j])
    if pooler and student.pooler is not None and teacher.pooler is not None:
        copy(student.pooler, teacher.pooler)
    if mlm_head and student.mlm is not None and teacher.mlm is not None:
        copy(student.mlm, teacher.mlm)
