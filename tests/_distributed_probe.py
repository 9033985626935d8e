"""TinyBERT task distillation on 1 device and data-parallel on 2, for
tests/test_distribute.py, run in a subprocess (virtual devices must be set up before
the backend starts).

    python tests/_distributed_probe.py OUT

jax gets 2 host devices from XLA_FLAGS (set by the test); tensorflow splits its CPU
into 2 logical devices here. Both runs of a case use the same global batch (2·b = 8),
the same data order and the same initial weights, one epoch per stage. Three cases:
``live`` runs TinyBERT's two task stages with the teacher every step; ``lad`` distils
with LAD (its gates trained by a second optimizer, Keras's MultiOptimizer);
``cached-clipped`` runs the intermediate stage on the teacher's outputs read from a
:class:`kdzoo.data.cache.TeacherCache` and clips every gradient tensor to a norm of
1e-3, so that clipping acts on every step (it must see the global batch's gradient,
not a replica's). Writes OUT/<case>.json with both runs' first steps, the largest
differences of the per-step losses and of the final weights, and what the distributed
run reported; and OUT/compare.json, the rows of ``kdzoo.compare(distribution=2)``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

if os.environ.get("KERAS_BACKEND") == "tensorflow":
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras
import numpy as np

import kdzoo
from kdzoo.data.cache import TeacherCache
from kdzoo.models import BertModel

ROWS, LENGTH, BATCH = 32, 12, 8  # 4 steps per epoch


class StepLosses(keras.callbacks.Callback):
    """Every logged value after every step (Keras logs the epoch's running means)."""

    def __init__(self):
        super().__init__()
        self.steps: list[dict[str, float]] = []

    def on_train_batch_end(self, batch, logs=None):
        self.steps.append({k: float(v) for k, v in (logs or {}).items()})


def case(out: Path, mode: str) -> None:
    if mode == "cached-clipped":
        from kdzoo.zoo import tinybert

        make = tinybert.make_optimizer
        tinybert.make_optimizer = lambda *a, **k: make(*a, **{**k, "clipnorm": 1e-3})
    rng = np.random.default_rng(0)
    x = {
        "token_ids": rng.integers(5, 60, (ROWS, LENGTH)).astype("int32"),
        "padding_mask": np.ones((ROWS, LENGTH), "int32"),
    }
    y = rng.integers(0, 3, ROWS).astype("int32")
    keras.utils.set_random_seed(0)
    no_dropout = {"hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0}
    teacher = BertModel(
        "micro-2l-32h", vocab_size=64, num_labels=3, num_hidden_layers=4, **no_dropout
    )
    student0 = BertModel("micro-2l-32h", vocab_size=64, num_labels=3, **no_dropout)
    if mode.startswith("cached"):
        method = kdzoo.get_method("tinybert")
        wanted = method.teacher_layers("intermediate", 4, 2)
        cache = TeacherCache(out / "cache")
        outputs = cache.teacher_outputs(
            teacher,
            x,
            hidden_layers=wanted["hidden"],
            attention_layers=wanted["attention"],
            progress=False,
        )
        x = cache.attach(x, outputs)

    runs = {}
    for name, distribution in (("one", None), ("two", 2)):
        student = BertModel.from_config(student0.get_config())
        student.set_weights(student0.get_weights())
        steps = StepLosses()
        result = kdzoo.distill(
            "lad" if mode == "lad" else "tinybert",
            teacher,
            student,
            data=(x, y),
            # The cache's stage: the mapped hidden states and attention scores.
            stages=["intermediate"] if mode == "cached-clipped" else None,
            epochs=1,
            batch_size=BATCH,
            seed=0,
            callbacks=[steps],
            verbose=0,
            distribution=distribution,
        )
        runs[name] = {
            "steps": steps.steps,
            "weights": [np.asarray(w) for w in student.get_weights()],
            "layers": [np.asarray(w) for v in result.layers.values() for w in v.get_weights()],
            "distribution": result.distribution,
            "moved": not all(
                np.array_equal(a, b)
                for a, b in zip(student.get_weights(), student0.get_weights(), strict=True)
            ),
        }
    one, two = runs["one"], runs["two"]
    loss_diff = max(
        abs(a[k] - b[k]) for a, b in zip(one["steps"], two["steps"], strict=True) for k in a
    )
    weight_diff = max(
        float(np.max(np.abs(a - b)))
        for a, b in zip(one["weights"] + one["layers"], two["weights"] + two["layers"], strict=True)
    )
    result = {
        "per_step_diff": [
            max(abs(a[k] - b[k]) for k in a)
            for a, b in zip(one["steps"], two["steps"], strict=True)
        ],
        "steps": len(one["steps"]),
        "first_steps": {"one": one["steps"][:3], "two": two["steps"][:3]},
        "loss_max_abs_diff": loss_diff,
        "weight_max_abs_diff": weight_diff,
        "moved": one["moved"] and two["moved"],
        "distribution": two["distribution"],
        "one_distribution": one["distribution"],
    }
    (out / f"{mode}.json").write_text(json.dumps(result, indent=1, default=str))


def compare_case(out: Path) -> None:
    """``kdzoo.compare`` with ``distribution=2``: a KD row and a student-only row
    (fine-tuned under the engine too) on a tiny embedded teacher."""
    from kdzoo.teachers import TeacherRecipe, embedded_teacher

    os.environ["KDZOO_CACHE"] = str(out / "kdzoo-cache")
    recipe = TeacherRecipe(
        preset="micro-2l-32h",
        vocab_size=200,
        corpus_size=400,
        pretrain_epochs=1,
        max_length=32,
        finetune_epochs=1,
        task_kwargs={"train_size": 200, "dev_size": 64, "test_size": 10},
    )
    teacher = embedded_teacher("synth-sentiment", recipe, verbose=0)
    results = kdzoo.compare(
        methods=["kd"],
        task="synth-sentiment",
        teacher=teacher,
        student="micro-2l-32h",
        seeds=(0,),
        budget="smoke",
        output_dir=out / "compare",
        plot=False,
        verbose=0,
        distribution=2,
    )
    rows = results.runs.to_dict("records")
    (out / "compare.json").write_text(json.dumps(rows, default=str))


def main() -> None:
    out = Path(sys.argv[1])
    compare_case(out)
    # cached-clipped last: it patches the optimizer
    for mode in ("live", "lad", "cached-clipped"):
        case(out, mode)


if __name__ == "__main__":
    main()
