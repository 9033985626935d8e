"""Convert between Hugging Face BERT checkpoints and :class:`kdzoo.models.BertModel`.

Both directions read and write ``safetensors`` through NumPy, so conversion works
on every Keras backend and needs no PyTorch. One table, :func:`_weight_table`,
names every weight on both sides; :func:`from_hf` and :func:`to_hf` both walk it,
so they cannot drift apart.

Supported checkpoints: ``BertModel``, ``BertForSequenceClassification``,
``BertForMaskedLM`` and ``BertForPreTraining`` (its next-sentence head is dropped),
as a local directory or, when online, a hub name.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from kdzoo.hub import resolve_pretrained
from kdzoo.models.bert import BertConfig, BertModel

__all__ = ["from_hf", "to_hf"]

_CONFIG_FIELDS = (
    "vocab_size",
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "intermediate_size",
    "hidden_act",
    "hidden_dropout_prob",
    "attention_probs_dropout_prob",
    "max_position_embeddings",
    "type_vocab_size",
    "layer_norm_eps",
    "initializer_range",
    "pad_token_id",
    "classifier_dropout",
    "tie_word_embeddings",
)
# Hub downloads: safetensors first; the PyTorch pickle only when a repo has no safetensors.
_SAFETENSORS_PATTERNS = ["config.json", "*.safetensors", "*.safetensors.index.json"]
_BIN_PATTERNS = ["config.json", "pytorch_model.bin"]


def _weight_table(model: BertModel) -> Iterator[tuple[str, Any, bool]]:
    """Yield ``(hf_key, keras_variable, transpose)`` for every weight of ``model``.

    Encoder keys carry no ``bert.`` prefix here; head keys (``classifier.``,
    ``cls.``) are top-level, as in ``BertFor*`` checkpoints. Hugging Face stores
    ``Linear`` weights as [out, in] and Keras ``Dense`` kernels as [in, out], hence
    ``transpose``.
    """

    def dense(prefix, layer):
        yield f"{prefix}.weight", layer.kernel, True
        yield f"{prefix}.bias", layer.bias, False

    def norm(prefix, layer):
        yield f"{prefix}.weight", layer.gamma, False
        yield f"{prefix}.bias", layer.beta, False

    emb = model.embeddings
    yield "embeddings.word_embeddings.weight", emb.token_embedding.embeddings, False
    yield "embeddings.position_embeddings.weight", emb.position_embedding.embeddings, False
    if emb.segment_embedding is not None:
        yield "embeddings.token_type_embeddings.weight", emb.segment_embedding.embeddings, False
    yield from norm("embeddings.LayerNorm", emb.layer_norm)
    for i, layer in enumerate(model.encoder_layers):
        p = f"encoder.layer.{i}"
        yield from dense(f"{p}.attention.self.query", layer.attention.query)
        yield from dense(f"{p}.attention.self.key", layer.attention.key)
        yield from dense(f"{p}.attention.self.value", layer.attention.value)
        yield from dense(f"{p}.attention.output.dense", layer.attention_output)
        yield from norm(f"{p}.attention.output.LayerNorm", layer.attention_layer_norm)
        yield from dense(f"{p}.intermediate.dense", layer.intermediate)
        yield from dense(f"{p}.output.dense", layer.output_dense)
        yield from norm(f"{p}.output.LayerNorm", layer.output_layer_norm)
    if model.pooler is not None:
        yield from dense("pooler.dense", model.pooler)
    if model.classifier is not None:
        yield from dense("classifier", model.classifier)
    if model.mlm is not None:
        yield from dense("cls.predictions.transform.dense", model.mlm.transform)
        yield from norm("cls.predictions.transform.LayerNorm", model.mlm.layer_norm)
        if model.mlm.tied:
            yield "cls.predictions.bias", model.mlm.bias, False
        else:
            yield from dense("cls.predictions.decoder", model.mlm.decoder)


# --------------------------------------------------------------------------- reading


def _normalise_key(key: str) -> str:
    for prefix in ("bert.", "model."):
        if key.startswith(prefix):
            key = key[len(prefix) :]
    # Checkpoints from the original TensorFlow conversion name LayerNorm gamma/beta.
    return key.replace("LayerNorm.gamma", "LayerNorm.weight").replace(
        "LayerNorm.beta", "LayerNorm.bias"
    )


def _read_weights(directory: Path) -> dict[str, np.ndarray]:
    single = directory / "model.safetensors"
    index = directory / "model.safetensors.index.json"
    if single.exists() or index.exists():
        from safetensors.numpy import load_file

        files = (
            [single]
            if single.exists()
            else sorted(
                {directory / f for f in json.loads(index.read_text())["weight_map"].values()}
            )
        )
        tensors = {}
        for f in files:
            tensors.update(load_file(str(f)))
        return tensors
    bin_file = directory / "pytorch_model.bin"
    if bin_file.exists():
        try:
            import torch
        except ImportError as e:
            raise ImportError(
                f"{bin_file} is a PyTorch pickle; reading it needs torch. Install "
                "kdzoo[torch], or convert the checkpoint to model.safetensors."
            ) from e
        state = torch.load(bin_file, map_location="cpu", weights_only=True)
        return {k: v.float().numpy() for k, v in state.items()}
    raise FileNotFoundError(
        f"no weights in {directory}: expected model.safetensors (or a sharded "
        "model.safetensors.index.json, or pytorch_model.bin)."
    )


def _read_config(directory: Path) -> dict[str, Any]:
    path = directory / "config.json"
    if not path.exists():
        raise FileNotFoundError(f"{directory} has no config.json; is it a Hugging Face checkpoint?")
    hf = json.loads(path.read_text())
    model_type = hf.get("model_type")
    if model_type != "bert":
        raise ValueError(
            f"unsupported model_type '{model_type}': kdzoo loads BERT-family checkpoints "
            "(model_type 'bert': BertModel, BertForSequenceClassification, "
            "BertForMaskedLM, BertForPreTraining)."
        )
    pos = hf.get("position_embedding_type", "absolute")
    if pos != "absolute":
        raise ValueError(f"unsupported position_embedding_type '{pos}'; kdzoo supports 'absolute'.")
    return hf


def from_hf(
    name_or_path: str | os.PathLike,
    *,
    num_labels: int | None = None,
    id2label: dict[int, str] | None = None,
    mlm_head: bool | None = None,
    **overrides: Any,
) -> BertModel:
    """Load a Hugging Face BERT checkpoint into a :class:`BertModel`.

    The heads in the checkpoint come along: the pooler, the classifier (with
    ``num_labels``, ``id2label`` and ``problem_type``) and the MLM head.

    Args:
        name_or_path: a local checkpoint directory, or a hub name when online.
        num_labels: attach a classification head with this many labels. When the
            checkpoint has no classifier (a pre-trained ``BertModel`` or
            ``BertForMaskedLM``), the new head (and pooler, if missing) starts from
            random N(0, 0.02) weights, ready for fine-tuning.
        id2label: label names for a new head.
        mlm_head: keep (True) or drop (False) the MLM head; by default kept if present.
        **overrides: other :class:`BertConfig` fields, for example
            ``hidden_dropout_prob=0.0``.

    Raises:
        ValueError: the checkpoint is not BERT, or shapes do not match.
        kdzoo.hub.HubUnavailableError: a hub name was given while offline.
    """
    directory = resolve_pretrained(
        name_or_path, allow_patterns=_SAFETENSORS_PATTERNS, what="BERT checkpoint"
    )
    if not any(directory.glob("*.safetensors")) and not Path(name_or_path).is_dir():
        directory = resolve_pretrained(name_or_path, allow_patterns=_BIN_PATTERNS)
    hf = _read_config(directory)
    weights = {_normalise_key(k): v for k, v in _read_weights(directory).items()}

    fields = {k: hf[k] for k in _CONFIG_FIELDS if k in hf and hf[k] is not None}
    has_classifier = "classifier.weight" in weights
    if num_labels is None and has_classifier:
        num_labels = int(weights["classifier.weight"].shape[0])
        if id2label is None and hf.get("id2label"):
            id2label = {int(k): v for k, v in hf["id2label"].items()}
        if hf.get("problem_type") in ("single_label_classification", "regression"):
            fields["problem_type"] = hf["problem_type"]
    if id2label is not None and num_labels is not None and len(id2label) != num_labels:
        id2label = None  # HF fills LABEL_i defaults; a mismatch means they were not set
    has_mlm = "cls.predictions.transform.dense.weight" in weights
    config = BertConfig(
        **{
            **fields,
            "use_pooler": "pooler.dense.weight" in weights or bool(num_labels),
            "num_labels": num_labels,
            "id2label": id2label,
            "mlm_head": has_mlm if mlm_head is None else mlm_head,
            **overrides,  # overrides win over the checkpoint's config
        }
    )
    if config.mlm_head and not has_mlm:
        raise ValueError(
            f"mlm_head=True but {name_or_path} has no MLM head (no cls.predictions.* weights); "
            "load a BertForMaskedLM or BertForPreTraining checkpoint."
        )
    if (
        config.mlm_head
        and config.tie_word_embeddings
        and "cls.predictions.decoder.weight" in weights
    ):
        dec = weights["cls.predictions.decoder.weight"]
        emb = weights["embeddings.word_embeddings.weight"]
        if dec.shape == emb.shape and not np.allclose(dec, emb):
            config = config.replace(tie_word_embeddings=False)

    model = BertModel(config)
    for key, variable, transpose in _weight_table(model):
        if key not in weights:
            if key.startswith(("classifier.", "pooler.")):
                continue  # a new head on a pre-trained encoder keeps its random init
            raise ValueError(f"{name_or_path}: checkpoint lacks weight '{key}'.")
        value = weights[key].T if transpose else weights[key]
        if tuple(value.shape) != tuple(variable.shape):
            raise ValueError(
                f"{name_or_path}: weight '{key}' has shape {tuple(value.shape)} but the "
                f"model expects {tuple(variable.shape)}."
            )
        variable.assign(value.astype(variable.dtype))
    return model


# --------------------------------------------------------------------------- writing


def _hf_config(model: BertModel) -> dict[str, Any]:
    c = model.config
    cfg: dict[str, Any] = {k: getattr(c, k) for k in _CONFIG_FIELDS}
    cfg.update(model_type="bert", position_embedding_type="absolute")
    # HF's BertModel always has token-type embeddings; a one-row zero table adds nothing.
    cfg["type_vocab_size"] = max(c.type_vocab_size, 1)
    if c.num_labels:
        cfg["architectures"] = ["BertForSequenceClassification"]
        id2label = c.id2label or {i: f"LABEL_{i}" for i in range(c.num_labels)}
        cfg["id2label"] = {str(i): name for i, name in id2label.items()}
        cfg["label2id"] = {name: i for i, name in id2label.items()}
        cfg["problem_type"] = c.problem_type
    elif c.mlm_head:
        cfg["architectures"] = ["BertForMaskedLM"]
    else:
        cfg["architectures"] = ["BertModel"]
    return cfg


def to_hf(model: BertModel, directory: str | os.PathLike, tokenizer=None) -> Path:
    """Write ``model`` as a Hugging Face checkpoint (``config.json`` + ``model.safetensors``).

    ``transformers.AutoModelForSequenceClassification.from_pretrained(directory)``
    (or ``AutoModelForMaskedLM`` / ``AutoModel``, following the heads) loads it and
    gives the same outputs.

    Args:
        model: the kdzoo model.
        directory: output directory (created if needed).
        tokenizer: a Hugging Face tokenizer saved alongside; its vocabulary size
            must match the model's.

    Raises:
        ValueError: the tokenizer does not fit the model, or the model has both a
            classification and an MLM head (no single HF class holds both).
    """
    from safetensors.numpy import save_file

    from kdzoo.tokenization import check_tokenizer

    c = model.config
    if c.num_labels and c.mlm_head:
        raise ValueError(
            "this model has both a classification and an MLM head; Hugging Face has no "
            "class with both. Drop one (for example BertModel(config.replace(mlm_head=False))) "
            "and copy the weights, or save the two heads separately."
        )
    if tokenizer is not None:
        check_tokenizer(tokenizer, c)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    prefix = "bert." if (c.num_labels or c.mlm_head) else ""
    tensors = {}
    for key, variable, transpose in _weight_table(model):
        value = np.asarray(variable.numpy(), dtype=np.float32)
        full = key if key.startswith(("classifier.", "cls.")) else prefix + key
        tensors[full] = np.ascontiguousarray(value.T if transpose else value)
    if c.type_vocab_size == 0:
        tensors[prefix + "embeddings.token_type_embeddings.weight"] = np.zeros(
            (1, c.hidden_size), np.float32
        )
    save_file(tensors, str(directory / "model.safetensors"), metadata={"format": "pt"})
    (directory / "config.json").write_text(json.dumps(_hf_config(model), indent=2) + "\n")
    if tokenizer is not None:
        tokenizer.save_pretrained(str(directory))
    return directory
