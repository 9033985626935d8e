"""Calibrate the embedded tasks: the teacher against students trained on labels alone.

The embedded tasks must leave a gap for distillation to close: a TinyBERT-shaped
student trained on the labels alone should score at least 5 points below the teacher,
and a BiLSTM further below. This script measures that with the real recipe::

    KERAS_BACKEND=torch python benchmarks/calibrate_embedded.py synth-sentiment synth-nli \
        --out benchmarks/results/calibrate_embedded.json

For each task it builds (or loads from the cache) the teacher of
:func:`kdzoo.teachers.embedded_teacher`, trains each student from scratch on the same
labelled split, and reports dev accuracy overall and separately on the examples with
by what the labelled split never shows but the corpus the teacher was pre-trained on
does: a held-out word, or a held-out combination of pieces it does show (a derived
adjective). The students train as ``kdzoo.compare``'s student-only rows at the
``small`` budget do (3 epochs, AdamW at 1e-3 with warm-up, batch 32, seeded order).
For a pair task it also trains a BiLSTM on the second text alone (the hypothesis): how
much of the label leaks through it (chance on synth-nli: 0.333, since every hypothesis
comes with one premise of each label; 0.61 before that construction).
Times are wall-clock seconds on this machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import keras
import numpy as np
from _machine import machine

import kdzoo
from kdzoo.data.embedded import embedded_corpus
from kdzoo.models import BertModel, BiLSTMClassifier, BiLSTMConfig
from kdzoo.teachers import RECIPES, embedded_teacher, finetune
from kdzoo.tokenization import WordVocab, trim_padding


def _scores(logits, split) -> dict[str, float]:
    """Dev accuracy: overall, by what the labelled split never showed
    (``meta["held_out"]``: "seen", a held-out "combination" of pieces, a held-out
    "word"), and by the rule behind each example (``meta["phenomenon"]``)."""
    right = np.asarray(logits).argmax(-1) == np.asarray(split.labels)
    kind = np.asarray(split.meta["held_out"])
    out = {"accuracy": float(right.mean())}
    for k in ("seen", "combination", "word"):
        if (kind == k).any():
            out[k] = float(right[kind == k].mean())
    phenomenon = np.asarray(split.meta["phenomenon"])
    out["by_phenomenon"] = {
        str(p): round(float(right[phenomenon == p].mean()), 3) for p in np.unique(phenomenon)
    }
    return out


def _train(model, x, y, *, lr, epochs, batch_size, seed):
    """Train as kdzoo.compare's student-only rows do (AdamW with warm-up, seeded order)."""
    start = time.perf_counter()
    finetune(
        model, x, y, epochs=epochs, batch_size=batch_size, learning_rate=lr, verbose=0, seed=seed
    )
    return time.perf_counter() - start


def calibrate(task: str, args) -> list[dict]:
    recipe = RECIPES[task]
    changes = {k: v for k, v in vars(args).items() if k in recipe.__dataclass_fields__}
    changes = {k: v for k, v in changes.items() if v is not None}
    if args.train_size:
        changes["task_kwargs"] = {**recipe.task_kwargs, "train_size": args.train_size}
    recipe = dataclasses.replace(recipe, **changes)
    teacher = embedded_teacher(task, recipe, verbose=args.verbose)
    spec = kdzoo.data.get_spec(task)
    data = kdzoo.load_task(task, seed=recipe.seed, **recipe.task_kwargs)
    train, dev = data["train"], data[spec.eval_splits[0]]
    x_train, x_dev = trim_padding(teacher.encode(train, spec), teacher.encode(dev, spec))
    rows = [
        {
            "task": task,
            "model": f"teacher {recipe.preset}",
            "params": teacher.model.config.num_parameters(),
            **_scores(teacher.model.predict(x_dev, batch_size=256, verbose=0)["logits"], dev),
            "pretrain_seconds": teacher.info["pretraining"]["seconds"],
            "seconds": teacher.info["seconds"],
        }
    ]
    print(json.dumps(rows[-1]), flush=True)

    for preset, seed in [(p, s) for p in args.students for s in args.seeds]:
        keras.utils.set_random_seed(seed)
        student = BertModel(
            preset,
            vocab_size=len(teacher.tokenizer),
            num_labels=spec.num_labels,
            max_position_embeddings=max(recipe.max_length, 64),
        )
        seconds = _train(
            student,
            x_train,
            train.labels,
            lr=args.student_lr,
            epochs=args.student_epochs,
            batch_size=32,
            seed=seed,
        )
        logits = student.predict(x_dev, batch_size=256, verbose=0)["logits"]
        rows.append(
            {
                "task": task,
                "model": f"student {preset} (labels only)",
                "seed": seed,
                "params": student.config.num_parameters(),
                **_scores(logits, dev),
                "seconds": seconds,
            }
        )
        print(json.dumps(rows[-1]), flush=True)

    # As kdzoo.compare builds it: the training texts and the corpus.
    texts = [t for column in train.columns(spec) if column for t in column]
    vocab = WordVocab.build(texts + embedded_corpus(recipe.corpus_size, seed=recipe.seed))

    def bilstm_rows(model: str, inputs, pair: bool) -> None:
        """Train the BiLSTM on ``inputs(split)`` per seed; append its rows."""
        for seed in args.seeds:
            keras.utils.set_random_seed(seed)
            config = BiLSTMConfig.from_preset(
                "tang-mini", vocab_size=len(vocab), num_labels=spec.num_labels, pair=pair
            )
            bilstm = BiLSTMClassifier(config)
            seconds = _train(
                bilstm,
                inputs(train),
                train.labels,
                lr=args.bilstm_lr or args.student_lr,
                epochs=args.student_epochs,
                batch_size=32,
                seed=seed,
            )
            logits = bilstm.predict(inputs(dev), batch_size=256, verbose=0)["logits"]
            rows.append(
                {
                    "task": task,
                    "model": model,
                    "seed": seed,
                    "params": int(bilstm.count_params()),
                    **_scores(logits, dev),
                    "seconds": seconds,
                }
            )
            print(json.dumps(rows[-1]), flush=True)

    bilstm_rows(
        "student bilstm (labels only)",
        lambda split: vocab.encode_pair(*split.columns(spec), recipe.max_length),
        pair=spec.is_pair,
    )
    # A pair task's labels must follow from the pair, not from the second text alone
    # (MNLI's hypothesis-only artefacts): a BiLSTM that reads only the hypothesis
    # measures how much of the label leaks through it (chance: 1 / num_labels).
    if spec.is_pair:
        bilstm_rows(
            f"bilstm, {spec.text_fields[1]} only (labels only)",
            lambda split: vocab.encode(split.columns(spec)[1], recipe.max_length),
            pair=False,
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tasks", nargs="*", default=list(RECIPES))
    parser.add_argument("--students", nargs="+", default=["mini-2l-64h"])
    parser.add_argument("--student-epochs", type=int, default=3)
    parser.add_argument("--student-lr", type=float, default=1e-3)
    parser.add_argument("--bilstm-lr", type=float, help="default: --student-lr")
    parser.add_argument(
        "--seeds",
        type=lambda t: [int(x) for x in t.split(",")],
        default=[0],
        help="student seeds, e.g. 0,1,2 (the teacher is one model)",
    )
    parser.add_argument("--preset", help="override the recipe's teacher preset")
    parser.add_argument("--pretrain-epochs", dest="pretrain_epochs", type=int)
    parser.add_argument("--finetune-epochs", dest="finetune_epochs", type=int)
    parser.add_argument("--finetune-lr", dest="finetune_lr", type=float)
    parser.add_argument("--train-size", type=int, help="labelled training examples")
    parser.add_argument("--verbose", type=int, default=0)
    parser.add_argument("--out", type=Path, help="write the rows here as JSON")
    args = parser.parse_args()

    rows = [row for task in args.tasks for row in calibrate(task, args)]
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "machine": machine(),
            "student_epochs": args.student_epochs,
            "student_lr": args.student_lr,
            "bilstm_lr": args.bilstm_lr or args.student_lr,
            "seeds": args.seeds,
        }
        args.out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
