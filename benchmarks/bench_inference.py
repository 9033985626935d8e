"""Benchmark 2: inference, kdzoo's models against Hugging Face's and students against teachers.

``--impl kdzoo`` times, on ``KERAS_BACKEND``, a forward pass (``predict_on_batch``:
Keras's compiled predict function, no gradients) of a classification BERT-base, of
TinyBERT4 and of Tang et al.'s BiLSTM (``tang-sst2``: 300-d embeddings, 150 hidden).
``--impl hf`` times ``transformers.BertForSequenceClassification`` with the same
configurations (its default attention, ``torch.inference_mode``). Batch 32, length
128, random weights and tokens; the median of ``--runs`` passes after ``--warmup``.
Run both side by side with ``python -m benchmarks``; this script prints one JSON
object::

    KERAS_BACKEND=torch python benchmarks/bench_inference.py --impl kdzoo
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from bench_step import bert_forward_flops, report

from kdzoo.models.bert import BertConfig

IMPLS = ("kdzoo", "hf")


def _inputs(vocab_size: int, batch: int, length: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "token_ids": rng.integers(1, vocab_size, (batch, length)).astype(np.int32),
        "segment_ids": np.zeros((batch, length), np.int32),
        "padding_mask": np.ones((batch, length), np.int32),
    }


def _time(fn, runs: int, warmup: int) -> list[float]:
    times = []
    for _ in range(warmup + runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def _record(times: list[float], warmup: int, **extra) -> dict:
    return {
        "ms": 1000 * statistics.median(times[warmup:]),
        "ms_all": [1000 * t for t in times],
        **extra,
    }


def run_kdzoo(args, models: dict[str, BertConfig]) -> dict:
    import keras

    from kdzoo.models import BertModel, BiLSTMClassifier, BiLSTMConfig

    out = {}
    for name, cfg in models.items():
        keras.utils.set_random_seed(0)
        model = BertModel(cfg)
        x = _inputs(cfg.vocab_size, args.batch_size, args.length)
        times = _time(lambda m=model, x=x: m.predict_on_batch(x), args.runs, args.warmup)
        out[name] = _record(
            times,
            args.warmup,
            params=cfg.num_parameters(),
            gflop=bert_forward_flops(cfg, args.batch_size, args.length) / 1e9,
        )
    bilstm_cfg = BiLSTMConfig.from_preset(args.bilstm)
    if args.vocab_size:
        bilstm_cfg = BiLSTMConfig(**{**bilstm_cfg.to_dict(), "vocab_size": args.vocab_size})
    model = BiLSTMClassifier(bilstm_cfg)
    rng = np.random.default_rng(0)
    x = {
        "token_ids": rng.integers(1, bilstm_cfg.vocab_size, (args.batch_size, args.length)).astype(
            np.int32
        ),
        "padding_mask": np.ones((args.batch_size, args.length), np.int32),
    }
    times = _time(lambda: model.predict_on_batch(x), args.runs, args.warmup)
    model(x)
    out[f"bilstm ({args.bilstm})"] = _record(times, args.warmup, params=model.count_params())
    return out


def run_hf(args, models: dict[str, BertConfig]) -> dict:
    import torch
    from transformers import BertConfig as HFConfig
    from transformers import BertForSequenceClassification

    out = {}
    for name, c in models.items():
        torch.manual_seed(0)
        model = BertForSequenceClassification(
            HFConfig(
                vocab_size=c.vocab_size,
                hidden_size=c.hidden_size,
                num_hidden_layers=c.num_hidden_layers,
                num_attention_heads=c.num_attention_heads,
                intermediate_size=c.intermediate_size,
                max_position_embeddings=c.max_position_embeddings,
                num_labels=c.num_labels,
            )
        ).eval()
        raw = _inputs(c.vocab_size, args.batch_size, args.length)
        x = {
            "input_ids": torch.as_tensor(raw["token_ids"], dtype=torch.long),
            "token_type_ids": torch.as_tensor(raw["segment_ids"], dtype=torch.long),
            "attention_mask": torch.as_tensor(raw["padding_mask"], dtype=torch.long),
        }

        def forward(model=model, x=x):
            with torch.inference_mode():
                return model(**x).logits

        times = _time(forward, args.runs, args.warmup)
        out[name] = _record(
            times,
            args.warmup,
            params=sum(p.numel() for p in model.parameters()),
            attention=model.config._attn_implementation,
        )
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--impl", choices=IMPLS, required=True)
    parser.add_argument("--teacher", default="bert-base")
    parser.add_argument("--student", default="tinybert-4l")
    parser.add_argument("--bilstm", default="tang-sst2")
    parser.add_argument("--vocab-size", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--length", type=int, default=128)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    args = parser.parse_args(argv)

    models = {}
    for role, preset in (("teacher", args.teacher), ("student", args.student)):
        cfg = BertConfig.from_preset(preset, num_labels=2)
        if args.vocab_size:
            cfg = BertConfig(**{**cfg.__dict__, "vocab_size": args.vocab_size})
        models[f"{role} ({preset})"] = cfg
    run = run_kdzoo if args.impl == "kdzoo" else run_hf
    return report("inference", args.impl, args, models=run(args, models))


if __name__ == "__main__":
    main()
