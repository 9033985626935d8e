"""Benchmark the teacher-output cache: a prediction-distillation step with and without it.

Without the cache every training step runs the teacher's forward pass; with it the
distiller reads the teacher's logits from :class:`kdzoo.data.cache.TeacherCache`, which
computed them once. The target (issue: tasks and data) is a cached step in the second
epoch taking at most 0.35x the time of an uncached one. This script trains Hinton KD
(``kd``, task stage) from the embedded teacher's shape (``mini-6l-128h``) into its
TinyBERT-shaped student (``mini-2l-64h``) on ``synth-nli``, both ways, and times the
second epoch (the first includes tracing and compilation)::

    KERAS_BACKEND=torch python benchmarks/bench_cache.py --examples 2000 --runs 3
    KERAS_BACKEND=torch python benchmarks/bench_cache.py --teacher bert-base \
        --student tinybert-4l --examples 256 --max-length 128 --runs 2 \
        --out /tmp/cache-bert-base.json   # the papers' shapes (what python -m benchmarks runs)

It prints one JSON object and writes ``benchmarks/results/cpu/cache-<backend>.json``. The
weights are random (speed does not depend on them); the one-off cost of filling the
cache is reported too.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import keras
from _machine import machine

from kdzoo import Distiller, get_method
from kdzoo.data.cache import TeacherCache
from kdzoo.data.embedded import embedded_corpus, load_embedded
from kdzoo.models import BertModel
from kdzoo.tokenization import encode, train_wordpiece


class _EpochTimer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds = time.perf_counter() - self.start  # the last epoch's


def _second_epoch(teacher, student_preset, x, y, vocab_size, batch_size, seed) -> float:
    keras.utils.set_random_seed(seed)
    student = BertModel(student_preset, vocab_size=vocab_size, num_labels=3)
    distiller = Distiller(get_method("kd"), teacher, student)
    distiller.compile(optimizer=keras.optimizers.AdamW(1e-3))
    timer = _EpochTimer()
    distiller.fit(x, y, batch_size=batch_size, epochs=2, verbose=0, callbacks=[timer])
    return timer.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=40)
    parser.add_argument("--teacher", default="mini-6l-128h")
    parser.add_argument("--student", default="mini-2l-64h")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    tokenizer = train_wordpiece(embedded_corpus(5000), vocab_size=1024)
    data = load_embedded("synth-nli", max_train_examples=args.examples)["train"]
    x = encode(
        tokenizer,
        data.texts["premise"],
        data.texts["hypothesis"],
        max_length=args.max_length,
    )
    y = data.labels
    keras.utils.set_random_seed(0)
    teacher = BertModel(args.teacher, vocab_size=len(tokenizer), num_labels=3)

    with tempfile.TemporaryDirectory() as tmp:
        cache = TeacherCache(tmp)
        start = time.perf_counter()
        outputs = cache.teacher_outputs(teacher, x, batch_size=256, progress=False)
        fill_seconds = time.perf_counter() - start
        x_cached = cache.attach(x, outputs)

    live, cached = [], []
    for run in range(args.runs):  # alternate, so both see the same machine load
        live.append(
            _second_epoch(teacher, args.student, x, y, len(tokenizer), args.batch_size, run)
        )
        cached.append(
            _second_epoch(teacher, args.student, x_cached, y, len(tokenizer), args.batch_size, run)
        )
    steps = -(-len(y) // args.batch_size)
    result = {
        "benchmark": "teacher-output cache: second-epoch step time of KD, cached / live",
        "teacher": args.teacher,
        "student": args.student,
        "examples": len(y),
        "batch_size": args.batch_size,
        "max_length": args.max_length,
        "runs": args.runs,
        "live_step_ms": 1000 * statistics.median(live) / steps,
        "cached_step_ms": 1000 * statistics.median(cached) / steps,
        "ratio": statistics.median(cached) / statistics.median(live),
        "target_ratio": 0.35,
        "cache_fill_seconds": fill_seconds,
        "live_epoch_seconds": live,
        "cached_epoch_seconds": cached,
        "machine": machine(),
    }
    result["meets_target"] = result["ratio"] <= result["target_ratio"]
    print(json.dumps(result, indent=2))
    out = (
        args.out
        or Path(__file__).parent / "results" / "cpu" / f"cache-{keras.backend.backend()}.json"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
