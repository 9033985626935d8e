"""Parity with Hugging Face transformers, on the backend under test.

A small random ``BertFor*`` checkpoint is written locally; kdzoo loads it and must
reproduce transformers' logits, every hidden state and every attention map within
1e-4 on a batch with padding. Pre-softmax scores, which transformers does not
return, are checked against a NumPy re-computation from the HF weights.
"""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
import torch
from conftest import to_numpy

from kdzoo.hub import HubUnavailableError
from kdzoo.models import BertModel, from_hf, to_hf

ATOL = 1e-4


def hf_forward(model, batch):
    with torch.no_grad():
        return model(
            input_ids=torch.as_tensor(batch["token_ids"], dtype=torch.long),
            token_type_ids=torch.as_tensor(batch["segment_ids"], dtype=torch.long),
            attention_mask=torch.as_tensor(batch["padding_mask"], dtype=torch.long),
            output_hidden_states=True,
            output_attentions=True,
        )


def kd_forward(model, batch):
    return model(
        batch,
        output_hidden_states=True,
        output_attention_scores=True,
        output_attention_probs=True,
    )


def reference_scores(hf_model, hidden_in, mask, layer):
    """QKᵀ/√d + (1 - mask)·(-10000), from the HF weights, in NumPy float64."""
    sd = {k: v.double().numpy() for k, v in hf_model.state_dict().items()}
    p = f"bert.encoder.layer.{layer}.attention.self."
    p = p if p + "query.weight" in sd else p[len("bert.") :]
    heads = hf_model.config.num_attention_heads
    x = hidden_in.astype(np.float64)
    b, length, h = x.shape
    d = h // heads

    def proj(name):
        y = x @ sd[p + name + ".weight"].T + sd[p + name + ".bias"]
        return y.reshape(b, length, heads, d).transpose(0, 2, 1, 3)

    q, k = proj("query"), proj("key")
    bias = (1.0 - mask[:, None, None, :]) * -10000.0
    return q @ k.transpose(0, 1, 3, 2) / np.sqrt(d) + bias


def test_classifier_parity(hf_classifier, padded_batch):
    hf_model, path = hf_classifier
    model = from_hf(path)
    assert model.config.num_labels == 3
    assert model.config.id2label == {0: "entailment", 1: "neutral", 2: "contradiction"}
    ref, out = hf_forward(hf_model, padded_batch), kd_forward(model, padded_batch)

    np.testing.assert_allclose(to_numpy(out["logits"]), ref.logits.numpy(), atol=ATOL)
    assert len(out["hidden_states"]) == len(ref.hidden_states) == 4
    for ours, theirs in zip(out["hidden_states"], ref.hidden_states, strict=True):
        np.testing.assert_allclose(to_numpy(ours), theirs.numpy(), atol=ATOL)
    assert len(out["attention_probs"]) == len(ref.attentions) == 3
    for ours, theirs in zip(out["attention_probs"], ref.attentions, strict=True):
        np.testing.assert_allclose(to_numpy(ours), theirs.numpy(), atol=ATOL)
    # Pre-softmax scores against an independent re-computation from the HF weights.
    for layer, scores in enumerate(out["attention_scores"]):
        expected = reference_scores(
            hf_model, ref.hidden_states[layer].numpy(), padded_batch["padding_mask"], layer
        )
        np.testing.assert_allclose(to_numpy(scores), expected, rtol=1e-5, atol=ATOL)


def test_scores_mask_keys_not_queries(hf_classifier, padded_batch):
    """Padded keys hold score - 10000; padded query rows keep ordinary scores."""
    _, path = hf_classifier
    scores = to_numpy(kd_forward(from_hf(path), padded_batch)["attention_scores"][0])
    row = 2  # length 3
    assert scores[row, :, :, 3:].max() < -9000  # padded key columns, every query
    assert scores[row, :, 5, :3].min() > -100  # a padding query over real keys


def test_fast_path_matches_explicit_attention(hf_classifier, padded_batch):
    _, path = hf_classifier
    model = from_hf(path)
    plain = model(padded_batch)  # fused dot_product_attention, nothing kept
    assert "hidden_states" not in plain and "attention_scores" not in plain
    full = kd_forward(model, padded_batch)
    np.testing.assert_allclose(to_numpy(plain["logits"]), to_numpy(full["logits"]), atol=1e-5)
    np.testing.assert_allclose(
        to_numpy(plain["sequence_output"]), to_numpy(full["hidden_states"][-1]), atol=1e-5
    )


def test_mlm_parity_and_round_trip(hf_mlm, padded_batch, tmp_path):
    from transformers import AutoModelForMaskedLM

    hf_model, path = hf_mlm
    model = from_hf(path)
    assert model.config.mlm_head and not model.config.use_pooler
    ref = hf_forward(hf_model, padded_batch)
    np.testing.assert_allclose(
        to_numpy(model(padded_batch)["mlm_logits"]), ref.logits.numpy(), atol=ATOL
    )
    to_hf(model, tmp_path / "out")
    again = AutoModelForMaskedLM.from_pretrained(tmp_path / "out", attn_implementation="eager")
    np.testing.assert_allclose(
        hf_forward(again.eval(), padded_batch).logits.numpy(), ref.logits.numpy(), atol=ATOL
    )


def test_base_model_parity(hf_base, padded_batch):
    hf_model, path = hf_base
    model = from_hf(path)
    assert model.config.num_labels is None and model.config.use_pooler
    ref = hf_forward(hf_model, padded_batch)
    out = model(padded_batch)
    np.testing.assert_allclose(
        to_numpy(out["sequence_output"]), ref.last_hidden_state.numpy(), atol=ATOL
    )
    np.testing.assert_allclose(to_numpy(out["pooled_output"]), ref.pooler_output.numpy(), atol=ATOL)


def test_to_hf_round_trip_classifier(hf_classifier, padded_batch, tmp_path):
    from transformers import AutoModelForSequenceClassification

    _, path = hf_classifier
    model = from_hf(path)
    # Change the weights so that the round trip cannot pass by re-reading the input.
    model.classifier.bias.assign(np.array([0.5, -0.25, 1.0], np.float32))
    ours = to_numpy(model(padded_batch)["logits"])
    to_hf(model, tmp_path / "ckpt")
    reloaded = AutoModelForSequenceClassification.from_pretrained(
        tmp_path / "ckpt", attn_implementation="eager"
    ).eval()
    np.testing.assert_allclose(hf_forward(reloaded, padded_batch).logits.numpy(), ours, atol=ATOL)
    assert reloaded.config.id2label == {0: "entailment", 1: "neutral", 2: "contradiction"}
    # ... and back into kdzoo.
    np.testing.assert_allclose(
        to_numpy(from_hf(tmp_path / "ckpt")(padded_batch)["logits"]), ours, atol=ATOL
    )


def test_to_hf_from_kdzoo_preset_without_token_types(tmp_path, padded_batch):
    """A DistilBERT-style model (no segment embedding) still converts."""
    from transformers import AutoModelForSequenceClassification

    model = BertModel("micro-2l-32h", type_vocab_size=0, num_labels=2)
    batch = dict(padded_batch, token_ids=padded_batch["token_ids"] % 100)
    to_hf(model, tmp_path)
    reloaded = AutoModelForSequenceClassification.from_pretrained(
        tmp_path, attn_implementation="eager"
    ).eval()
    batch["segment_ids"] = np.zeros_like(batch["segment_ids"])
    np.testing.assert_allclose(
        hf_forward(reloaded, batch).logits.numpy(), to_numpy(model(batch)["logits"]), atol=ATOL
    )


def test_new_head_on_pretrained_encoder(hf_mlm):
    _, path = hf_mlm
    model = from_hf(path, num_labels=2, mlm_head=False, id2label={0: "neg", 1: "pos"})
    assert model.config.num_labels == 2 and model.pooler is not None and model.mlm is None
    assert model.config.id2label == {0: "neg", 1: "pos"}


def test_overrides_replace_checkpoint_config(hf_mlm):
    # Fine-tuning from an MLM pre-trained without dropout turns dropout back on.
    _, path = hf_mlm
    saved = json.loads((path / "config.json").read_text())["hidden_dropout_prob"]
    model = from_hf(path, hidden_dropout_prob=saved + 0.25, mlm_head=False)
    assert model.config.hidden_dropout_prob == pytest.approx(saved + 0.25)
    assert from_hf(path).config.hidden_dropout_prob == pytest.approx(saved)


def test_regression_head_round_trip(tmp_path, padded_batch):
    from transformers import AutoModelForSequenceClassification

    model = BertModel("micro-2l-32h", num_labels=1)
    assert model.config.problem_type == "regression"
    batch = dict(padded_batch, token_ids=padded_batch["token_ids"] % 100)
    to_hf(model, tmp_path)
    ours = to_numpy(model(batch)["logits"])
    assert json.loads((tmp_path / "config.json").read_text())["problem_type"] == "regression"
    reloaded = AutoModelForSequenceClassification.from_pretrained(tmp_path).eval()
    assert reloaded.config.num_labels == 1
    np.testing.assert_allclose(hf_forward(reloaded, batch).logits.numpy(), ours, atol=ATOL)
    assert from_hf(tmp_path).config.problem_type == "regression"


def test_rejects_non_bert(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "roberta"}))
    with pytest.raises(ValueError, match="unsupported model_type 'roberta': kdzoo loads BERT"):
        from_hf(tmp_path)


def test_missing_weights_file(tmp_path, hf_classifier):
    _, path = hf_classifier
    (tmp_path / "config.json").write_text((path / "config.json").read_text())
    with pytest.raises(FileNotFoundError, match=r"model\.safetensors"):
        from_hf(tmp_path)


def test_hub_name_offline_fails_fast(offline):
    start = time.perf_counter()
    with pytest.raises(HubUnavailableError, match="local directory"):
        from_hf("kdzoo-tests/no-such-bert")
    assert time.perf_counter() - start < 5.0  # not the 23-46 s of hub retries


def test_to_hf_checks_tokenizer(tmp_path):
    from kdzoo.tokenization import train_wordpiece

    tok = train_wordpiece(["a small corpus of words"] * 10, vocab_size=60)
    model = BertModel("micro-2l-32h")
    with pytest.raises(ValueError, match=r"vocab_size=len\(tokenizer\)"):
        to_hf(model, tmp_path, tokenizer=tok)
    model = BertModel("micro-2l-32h", vocab_size=len(tok))
    to_hf(model, tmp_path, tokenizer=tok)
    assert (tmp_path / "tokenizer.json").exists()


def test_sharded_safetensors(hf_classifier, padded_batch, tmp_path):
    hf_model, _ = hf_classifier
    hf_model.save_pretrained(tmp_path, max_shard_size="40KB")
    assert (tmp_path / "model.safetensors.index.json").exists()
    ref = hf_forward(hf_model, padded_batch).logits.numpy()
    np.testing.assert_allclose(to_numpy(from_hf(tmp_path)(padded_batch)["logits"]), ref, atol=ATOL)


def test_pytorch_bin_loads_with_weights_only(hf_classifier, padded_batch, tmp_path):
    """Old checkpoints ship pytorch_model.bin; kdzoo reads it with weights_only=True."""
    hf_model, path = hf_classifier
    (tmp_path / "config.json").write_text((path / "config.json").read_text())
    torch.save(hf_model.state_dict(), tmp_path / "pytorch_model.bin")
    ref = hf_forward(hf_model, padded_batch).logits.numpy()
    np.testing.assert_allclose(to_numpy(from_hf(tmp_path)(padded_batch)["logits"]), ref, atol=ATOL)


def test_pickle_with_code_is_refused(hf_classifier, tmp_path):
    """A .bin that would run code when unpickled is rejected, not executed."""
    _, path = hf_classifier
    (tmp_path / "config.json").write_text((path / "config.json").read_text())

    class Exploit:
        def __reduce__(self):
            return (print, ("this must never run",))

    torch.save({"x": Exploit()}, tmp_path / "pytorch_model.bin")
    with pytest.raises(Exception, match=r"[Ww]eights only load failed|Unsupported global"):
        from_hf(tmp_path)
