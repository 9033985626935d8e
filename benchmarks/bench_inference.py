"""Benchmark 2: inference, kdzoo's models against Hugging Face's and students against teachers.

``--impl kdzoo`` times, on ``KERAS_BACKEND``, a forward pass (``predict_on_batch``:
Keras's compiled predict function, no gradients) of a classification BERT-base, of
TinyBERT4 and of Tang et al.'s BiLSTM (``tang-sst2``: 300-d embeddings, 150 hidden).
``--impl hf`` times ``transformers.BertForSequenceClassification`` with the same
configurations (its default attention, ``torch.inference_mode``). ``--impl
side-by-side`` (torch) runs kdzoo's and HF's models in one process, one forward of each
in turn (and with ``--jit`` kdzoo's model compiled by ``torch.compile`` as well); the
ratios of targets 2a and 2b are taken from it. Batch 32, length 128, random weights and
tokens; the median of ``--runs`` passes after ``--warmup``.
Run both side by side with ``python -m benchmarks``; this script prints one JSON
object::

    KERAS_BACKEND=torch python benchmarks/bench_inference.py --impl kdzoo
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from bench_step import bert_forward_flops, hf_config, report

from kdzoo.models.bert import BertConfig

IMPLS = ("kdzoo", "hf", "side-by-side")


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


def hf_forward(args, c: BertConfig):
    """HF's ``BertForSequenceClassification`` with ``c``'s shape; returns ``(forward,
    model)``, where ``forward()`` runs one batch under ``torch.inference_mode``."""
    import torch
    from transformers import BertForSequenceClassification

    torch.manual_seed(0)
    model = BertForSequenceClassification(hf_config(c)).eval()
    raw = _inputs(c.vocab_size, args.batch_size, args.length)
    x = {
        "input_ids": torch.as_tensor(raw["token_ids"], dtype=torch.long),
        "token_type_ids": torch.as_tensor(raw["segment_ids"], dtype=torch.long),
        "attention_mask": torch.as_tensor(raw["padding_mask"], dtype=torch.long),
    }

    def forward():
        with torch.inference_mode():
            return model(**x).logits

    return forward, model


def run_hf(args, models: dict[str, BertConfig]) -> dict:
    out = {}
    for name, c in models.items():
        forward, model = hf_forward(args, c)
        times = _time(forward, args.runs, args.warmup)
        out[name] = _record(
            times,
            args.warmup,
            params=sum(p.numel() for p in model.parameters()),
            attention=model.config._attn_implementation,
        )
    return out


def run_side_by_side(args, models: dict[str, BertConfig]) -> dict:
    """kdzoo (torch) and HF in one process, one forward of each in turn (alternating
    which goes first), so that a host whose speed drifts moves both alike. With
    ``--jit`` a third entry, ``kdzoo-jit``, is the kdzoo model compiled with
    ``jit_compile=True`` (``torch.compile`` through Keras); its first call, the
    compilation, is reported as ``compile_seconds`` and kept out of the timing."""
    import os

    import keras

    from kdzoo.models import BertModel

    if os.environ.get("KERAS_BACKEND", "torch") != "torch":
        raise SystemExit("--impl side-by-side compares torch implementations: KERAS_BACKEND=torch")
    out = {}
    for name, cfg in models.items():
        keras.utils.set_random_seed(0)
        x = _inputs(cfg.vocab_size, args.batch_size, args.length)
        model = BertModel(cfg)
        forwards = {"kdzoo": lambda m=model, x=x: m.predict_on_batch(x)}
        forwards["hf"], _ = hf_forward(args, cfg)
        extra = {impl: {} for impl in forwards}
        if args.jit:
            compiled = BertModel(cfg)
            compiled.compile(jit_compile=True)
            start = time.perf_counter()
            compiled.predict_on_batch(x)
            extra["kdzoo-jit"] = {"compile_seconds": time.perf_counter() - start}
            forwards["kdzoo-jit"] = lambda m=compiled, x=x: m.predict_on_batch(x)
        # torch.compile may recompile on the first calls after the first: warm up longer.
        for forward in forwards.values():
            for _ in range(max(args.warmup, 3 if args.jit else 1)):
                forward()
        times = {impl: [] for impl in forwards}
        for i in range(args.runs):
            order = list(forwards) if i % 2 == 0 else list(reversed(forwards))
            for impl in order:
                start = time.perf_counter()
                forwards[impl]()
                times[impl].append(time.perf_counter() - start)
        out[name] = {impl: _record(ts, 0, **extra[impl]) for impl, ts in times.items()}
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
    parser.add_argument(
        "--jit",
        action="store_true",
        help="side-by-side: also time kdzoo compiled with jit_compile=True (torch.compile)",
    )
    args = parser.parse_args(argv)

    models = {}
    for role, preset in (("teacher", args.teacher), ("student", args.student)):
        cfg = BertConfig.from_preset(preset, num_labels=2)
        if args.vocab_size:
            cfg = BertConfig(**{**cfg.__dict__, "vocab_size": args.vocab_size})
        models[f"{role} ({preset})"] = cfg
    run = {"kdzoo": run_kdzoo, "hf": run_hf, "side-by-side": run_side_by_side}[args.impl]
    return report("inference", args.impl, args, models=run(args, models))


if __name__ == "__main__":
    main()
