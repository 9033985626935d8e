"""Benchmark TinyBERT augmentation: batched MLM queries vs one forward pass per word.

The official TinyBERT code runs its masked LM once per word. kdzoo collects every
``(sentence, masked word)`` query first and runs them in batches. This script times
:meth:`kdzoo.augment.TinyBertAugmenter.augment` both ways on the same sentences, model
and seed, after a warm-up run of each (which also compiles jax's shapes), alternating
the two modes run by run so both see the same machine load, and reports the median of
``--runs`` runs::

    KERAS_BACKEND=jax python benchmarks/bench_augment.py --sentences 40 --runs 5

It prints one JSON object and writes it to ``benchmarks/results/cpu/augment-<backend>.json``.
The model is a randomly initialised ``mini-2l-128h`` BERT with an MLM head (speed does
not depend on the weights), the tokenizer WordPiece trained on
:func:`kdzoo.data.embedded.embedded_corpus`, the vectors a word2vec stand-in for GloVe.
Both modes must give identical samples; the script checks it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import keras
from _machine import machine

from kdzoo.augment import TinyBertAugmenter, train_word2vec
from kdzoo.data.embedded import embedded_corpus, load_embedded
from kdzoo.models import BertModel
from kdzoo.tokenization import train_wordpiece


def _time(augmenters: dict[str, TinyBertAugmenter], texts: list[str], runs: int):
    """Warm up each mode, then alternate them run by run (both see the same machine load)."""
    outputs = {name: a.augment(texts) for name, a in augmenters.items()}  # warm-up
    seconds: dict[str, list[float]] = {name: [] for name in augmenters}
    passes: dict[str, int] = {}
    for _ in range(runs):
        for name, a in augmenters.items():
            a.forward_passes = 0
            start = time.perf_counter()
            outputs[name] = a.augment(texts)
            seconds[name].append(time.perf_counter() - start)
            passes[name] = a.forward_passes
    results = {}
    for name, times in seconds.items():
        median = statistics.median(times)
        results[name] = {
            "seconds": [round(t, 4) for t in times],
            "median_seconds": round(median, 4),
            "sentences_per_second": round(len(texts) / median, 2),
            "forward_passes": passes[name],
        }
    return outputs, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=40)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--preset", default="mini-2l-128h")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--n-samples", type=int, default=20)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    corpus = embedded_corpus(5000)
    tokenizer = train_wordpiece(corpus, vocab_size=1024)
    keras.utils.set_random_seed(0)
    model = BertModel(args.preset, vocab_size=len(tokenizer), mlm_head=True)
    vectors = train_word2vec(corpus, vector_size=50, seed=0)
    data = load_embedded("synth-sentiment", train_size=max(200, 2 * args.sentences))
    texts = list(dict.fromkeys(data["train"].texts["sentence"]))[: args.sentences]

    common = dict(n_samples=args.n_samples, seed=0, batch_size=args.batch_size, progress=False)
    batched = TinyBertAugmenter(model, tokenizer, vectors, batched=True, **common)
    faithful = TinyBertAugmenter(model, tokenizer, vectors, batched=False, **common)
    queries = len(batched.mlm_queries(texts))
    load_before = os.getloadavg()[0]
    outputs, results = _time({"batched": batched, "unbatched": faithful}, texts, args.runs)
    load_after = os.getloadavg()[0]
    out_b, res_b = outputs["batched"], results["batched"]
    res_f = results["unbatched"]
    if out_b != outputs["unbatched"]:
        raise SystemExit("batched and unbatched augmentation differ; the benchmark is void.")

    result = {
        "benchmark": "tinybert-augmentation",
        "machine": machine(),
        "config": {
            "model": args.preset,
            "vocab_size": len(tokenizer),
            "sentences": len(texts),
            "words_per_sentence": round(sum(len(batched.words(t)) for t in texts) / len(texts), 2),
            "mlm_queries": queries,
            "n_samples": args.n_samples,
            "k": batched.k,
            "p": batched.p,
            "batch_size": args.batch_size,
            "pair_with_original": batched.pair_with_original,
            "runs": args.runs,
            "outputs_per_sentence": round(sum(map(len, out_b)) / len(texts), 2),
        },
        # Other processes on the machine: the 1-minute load average around the runs.
        "load_average": [round(load_before, 2), round(load_after, 2)],
        "batched": res_b,
        "unbatched": res_f,
        "speedup": round(res_b["sentences_per_second"] / res_f["sentences_per_second"], 2),
    }
    text = json.dumps(result, indent=2)
    print(text)
    path = (
        args.out
        or Path(__file__).parent
        / "results"
        / "cpu"
        / f"augment-{result['machine']['backend']}.json"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")


if __name__ == "__main__":
    main()
