"""``kdzoo.compare``: the methods side by side on one task, under the same conditions.

(The function lives in this module, ``kdzoo.comparison``, and is exported as
``kdzoo.compare``.)

::

    import kdzoo
    results = kdzoo.compare(methods=["kd", "tinybert", "pkd"], task="synth-nli",
                            budget="small", output_dir="runs/nli")
    results.table          # one row per method: metric ± std, retention, size, speed
    results.published      # the papers' numbers for this task and these methods
    results.plot()         # metric vs latency, and the training curves (PNG)

Every method runs with its paper-default configuration scaled to the budget
(:mod:`kdzoo.budgets`); all see the same training data, seeds and steps per stage. The
table also holds a ``teacher`` row and a ``student-only`` row for each student
architecture: the same student trained on the labels alone.

What runs where:

- **Embedded tasks** (``synth-*``) use the built-in teacher
  (:func:`kdzoo.teachers.embedded_teacher`: MLM pre-training on the task's corpus, then
  fine-tuning; built on first use, then cached) and the corpus for the general stages.
- **GLUE tasks** take ``teacher=`` (a Hugging Face checkpoint directory or hub name,
  fine-tuned on the task, or pre-trained, which kdzoo then fine-tunes; by default
  ``bert-base-uncased`` fine-tuned on the task) and ``task_kwargs`` for
  :func:`kdzoo.load_task` (``data_dir=...``). General stages run only with ``corpus=``
  texts.
- General stages (TinyBERT's general distillation, DistilBERT's pre-training
  distillation) run once per (method, student) and are shared by all seeds, as the
  papers release one general model and vary only the task stages.
- The teacher's outputs on the training split are computed once and cached
  (:class:`kdzoo.data.cache.TeacherCache`): its logits, and the hidden states and
  attention maps each method's task stages read (``Method.teacher_layers``), so no
  task stage runs the teacher. Stages that change the inputs every batch (DistilBERT's
  masked general stage) or run the teacher with dropout run it live.

Everything is saved in ``output_dir``: ``results.csv`` / ``results.json`` (the table),
``runs.csv`` (one row per method and seed), per run a ``log.txt``, Keras CSV logs and
the student's weights, and the figures. Running the same call again skips finished
runs; an interrupted run resumes from its last checkpoint (every 500 steps and every
epoch: see :func:`kdzoo.distill`), and ends as it would have without the interruption.
A directory that holds another configuration is refused unless ``overwrite=True``.
Every file is written atomically.

Book chapter: ``book/compare.md``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import math
import os
import shutil
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kdzoo._io import atomic_write, write_json, write_text
from kdzoo.budgets import Budget, get_budget

__all__ = ["Results", "compare", "default_student", "measure_latency"]

#: The teacher of GLUE tasks when ``compare`` gets none: the papers' BERT-base, which
#: kdzoo fine-tunes on the task first (3 epochs at 2e-5 with the ``paper`` budget).
DEFAULT_GLUE_TEACHER = "bert-base-uncased"

#: Steps between a run's checkpoints inside an epoch (each epoch's end writes one too).
CHECKPOINT_EVERY = 500

#: Student presets per method for the embedded tasks' teacher (``mini-6l-128h``).
EMBEDDED_STUDENTS = {
    "kd": "mini-2l-64h",
    "tinybert": "mini-2l-64h",
    "pkd": "mini-3l-128h",
    "lad": "mini-3l-128h",
    "distilbert": "mini-3l-128h",
    "bilstm": "tang-mini",
}
#: Student presets per method for a BERT-base teacher (the papers' students).
BERT_BASE_STUDENTS = {
    "kd": "tinybert-4l",
    "tinybert": "tinybert-4l",
    "pkd": "bert-6l",
    "lad": "bert-6l",
    "distilbert": "distilbert-6l",
    "bilstm": "tang-sst2",
}


def default_student(method: str, teacher_config=None) -> str:
    """The student preset ``compare`` uses for ``method`` with this teacher."""
    table = BERT_BASE_STUDENTS
    if teacher_config is not None and teacher_config.hidden_size < 768:
        table = EMBEDDED_STUDENTS
    return table[method]


# --------------------------------------------------------------------------- small helpers


def _is_bilstm(preset: str) -> bool:
    from kdzoo.models import BILSTM_PRESETS

    return preset in BILSTM_PRESETS


def measure_latency(model, inputs: dict, batch_size: int, runs: int = 20) -> float:
    """Median wall time in ms of ``model.predict_on_batch`` on ``batch_size`` examples.

    Two untimed calls come first (compilation, caches). ``predict_on_batch`` runs the
    backend's compiled predict function, as serving would.
    """
    n = len(next(iter(inputs.values())))
    idx = np.arange(batch_size) % n
    batch = {k: v[idx] for k, v in inputs.items()}
    for _ in range(2):
        model.predict_on_batch(batch)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        model.predict_on_batch(batch)
        times.append(time.perf_counter() - start)
    return 1000.0 * float(np.median(times))


class _Log:
    """A run's ``log.txt``: timestamped lines, appended (a resumed run continues it)."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)

    def __call__(self, message: str) -> None:
        with open(self.path, "a") as f:
            f.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')}  {message}\n")


# --------------------------------------------------------------------------- the task


@dataclass
class _Prepared:
    """The task, its teacher and every input array, built once per ``compare`` call."""

    task: str
    spec: Any
    teacher: Any
    teacher_id: str
    tokenizer: Any
    max_length: int
    train: Any
    evals: dict[str, Any]
    x_train: dict
    y_train: np.ndarray
    x_evals: dict[str, dict]
    corpus_x: dict | None
    mlm_teacher: Any
    corpus: Sequence[str] | None = None
    teacher_info: dict = field(default_factory=dict)
    _word_inputs: dict = field(default_factory=dict, repr=False)
    verbose: int = 0
    _teacher_inputs: dict = field(default_factory=dict, repr=False)
    distribution: Any = None  # a kdzoo.distribute.DataParallel, or None
    jit_compile: bool | str = "auto"  # every training step's, as kdzoo.distill's

    @functools.cached_property
    def words(self):
        """The BiLSTM students' word vocabulary: training texts and corpus, not dev."""
        from kdzoo.tokenization import WordVocab

        texts = [t for col in self.train.columns(self.spec) if col for t in col]
        return WordVocab.build(texts + list(self.corpus or []))

    def inputs(self, split: str, bilstm: bool) -> dict:
        """Model inputs of ``split`` ("train" or an eval split), encoded once."""
        if not bilstm:
            return self.x_train if split == "train" else self.x_evals[split]
        if split not in self._word_inputs:
            data = self.train if split == "train" else self.evals[split]
            first, second = data.columns(self.spec)
            self._word_inputs[split] = self.words.encode_pair(first, second, self.max_length)
        return self._word_inputs[split]

    def encode(self, split) -> dict:
        """BERT inputs of a :class:`~kdzoo.data.base.Split`, at this comparison's
        ``max_length``, trimmed to its longest row."""
        from kdzoo.tokenization import encode, trim_padding

        first, second = split.columns(self.spec)
        full = encode(
            self.tokenizer, first, second, max_length=self.max_length, config=self.teacher.config
        )
        return trim_padding(full)[0]

    def sequence_length(self, bilstm: bool) -> int:
        """Tokens (or words, for a BiLSTM) per example: the longest, not max_length."""
        return int(self.inputs("train", bilstm)["token_ids"].shape[1])

    def with_teacher(self, x: dict, wanted: dict | None) -> dict:
        """BERT inputs ``x`` with the teacher's outputs on every row, from the teacher
        cache: the hidden states and attention maps ``wanted`` names (see
        :func:`_cached_layers`), or only its logits when ``wanted`` is None, empty, or
        too big to hold (above ``_MAX_CACHED_BYTES``; the Distiller then runs the
        teacher live for the layers). Held in memory for the training split, which
        every run of every method reads."""
        from kdzoo.data.cache import TeacherCache
        from kdzoo.teachers import cache_dir

        if wanted is not None and _cache_bytes(wanted, self.teacher.config, x) > _MAX_CACHED_BYTES:
            wanted = None
        hidden, attention = (wanted or {}).get("hidden", []), (wanted or {}).get("attention", [])
        memo = (x is self.x_train, tuple(hidden), tuple(attention))
        if memo[0] and memo in self._teacher_inputs:
            return self._teacher_inputs[memo]
        cache = TeacherCache(cache_dir() / "teacher-outputs")
        outputs = cache.teacher_outputs(
            self.teacher,
            x,
            hidden_layers=hidden,
            attention_layers=attention,
            extra={"teacher": self.teacher_id},
            progress=bool(self.verbose),
        )
        if hidden or attention:
            out = cache.attach(x, outputs)
        else:
            out = {**x, "teacher_logits": outputs["logits"]}
        if memo[0]:
            self._teacher_inputs = {memo: out}  # one set at a time: LAD's can be large
        return out


def _cached_layers(method, stages, teacher, student) -> dict | None:
    """The teacher layers ``stages`` read, or None when one of them must run it live."""
    n, m = teacher.config.num_hidden_layers, student.config.num_hidden_layers
    wanted: dict[str, set[int]] = {"hidden": set(), "attention": set()}
    for stage in stages:
        layers = method.teacher_layers(stage, n, m)
        if layers is None:
            return None
        for group in wanted:
            wanted[group].update(layers[group])
    return {group: sorted(v) for group, v in wanted.items()}


def _prepare(task, teacher, budget: Budget, task_kwargs, corpus, max_length, verbose):
    from kdzoo.data.base import get_spec, load_task
    from kdzoo.teachers import EmbeddedTeacher, TeacherRecipe, embedded_teacher
    from kdzoo.tokenization import encode, trim_padding

    spec = get_spec(task)
    embedded = spec.source == "embedded"
    mlm_teacher, info = None, {}
    if embedded and (teacher is None or isinstance(teacher, (TeacherRecipe, EmbeddedTeacher))):
        if isinstance(teacher, EmbeddedTeacher):
            et = teacher
        else:
            et = embedded_teacher(task, teacher, verbose=verbose)
        model, tokenizer, mlm_teacher = et.model, et.tokenizer, et.mlm
        max_length = max_length or et.recipe.max_length
        data = load_task(task, seed=et.recipe.seed, **{**et.recipe.task_kwargs, **task_kwargs})
        teacher_id = f"kdzoo embedded teacher {et.path.name}"
        info = {
            "seconds": et.info.get("seconds", 0.0)
            + et.info.get("pretraining", {}).get("seconds", 0.0),
            "preset": et.recipe.preset,
        }
        if corpus is None:
            from kdzoo.data.embedded import embedded_corpus

            corpus = embedded_corpus(et.recipe.corpus_size, seed=et.recipe.seed)
    else:
        max_length = max_length or 128
        data = load_task(task, **task_kwargs)
        if teacher is None:
            teacher = DEFAULT_GLUE_TEACHER
        model, tokenizer, teacher_id = _load_teacher(
            teacher, spec, data["train"], budget, max_length, verbose
        )

    train = data["train"].subset(budget.max_train_examples, seed=0)
    evals = {s: data[s].subset(budget.max_eval_examples, seed=0) for s in spec.eval_splits}

    def enc(split):
        first, second = split.columns(spec)
        return encode(tokenizer, first, second, max_length=max_length, config=model.config)

    # one fixed length for train and eval: the longest example, not max_length
    x_train, *x_evals = trim_padding(enc(train), *(enc(split) for split in evals.values()))
    corpus_x = None
    if corpus is not None and budget.general_epochs != 0:
        texts = list(corpus)[: budget.corpus_size]
        (corpus_x,) = trim_padding(
            encode(tokenizer, texts, max_length=max_length, config=model.config)
        )
    return _Prepared(
        task=task,
        spec=spec,
        teacher=model,
        teacher_id=teacher_id,
        tokenizer=tokenizer,
        max_length=max_length,
        train=train,
        evals=evals,
        x_train=x_train,
        y_train=np.asarray(train.labels),
        x_evals=dict(zip(evals, x_evals, strict=True)),
        corpus_x=corpus_x,
        mlm_teacher=mlm_teacher,
        corpus=corpus,
        teacher_info=info,
        verbose=int(verbose),
    )


def _load_teacher(teacher, spec, train, budget: Budget, max_length: int, verbose):
    """A GLUE teacher: a kdzoo model with ``.tokenizer``, or a checkpoint dir / hub name.

    A checkpoint saved without a classifier (a pre-trained BERT) is first fine-tuned on
    the task's training split (:func:`kdzoo.teachers.finetuned_teacher`, cached).
    """
    from kdzoo.models import from_hf
    from kdzoo.teachers import finetuned_teacher, has_classifier
    from kdzoo.tokenization import load_tokenizer

    if not isinstance(teacher, (str, os.PathLike)):
        tokenizer = getattr(teacher, "tokenizer", None)
        if tokenizer is None:
            raise ValueError(
                "a teacher model passed to compare needs its tokenizer: set "
                "teacher.tokenizer, or pass the checkpoint directory instead."
            )
        return teacher, tokenizer, f"model {teacher.name}"
    if not has_classifier(teacher):
        model, tokenizer, path = finetuned_teacher(
            teacher,
            spec,
            train.subset(budget.max_train_examples, seed=0),
            max_length=max_length,
            epochs=budget.epochs or 3,
            learning_rate=budget.scale_learning_rate(2e-5),
            batch_size=budget.batch_size or 32,
            verbose=verbose,
        )
        return model, tokenizer, f"{teacher} fine-tuned on {spec.name} by kdzoo ({path.name})"
    model = from_hf(teacher)
    _check_labels(model.config, spec, str(teacher))
    return model, load_tokenizer(teacher), str(teacher)


def _check_labels(config, spec, where: str) -> None:
    """Refuse a teacher whose named labels are in another order than the task's."""
    if spec.is_regression:
        if config.num_labels != 1:
            raise ValueError(
                f"{spec.name} is a regression task; {where} has {config.num_labels} outputs."
            )
        return
    if config.num_labels != spec.num_labels:
        raise ValueError(
            f"{where} has {config.num_labels} labels, but {spec.name} has "
            f"{spec.num_labels}: {list(spec.label_names)}."
        )
    names = [str((config.id2label or {}).get(i, "")).lower() for i in range(spec.num_labels)]
    if all(n and not n.startswith("label_") for n in names):
        expected = [n.lower() for n in spec.label_names]
        if names != expected and sorted(names) == sorted(expected):
            raise ValueError(
                f"{where} orders its labels {names}, but {spec.name}'s label ids are "
                f"{expected}. Its predictions would be scored against the wrong labels; "
                "re-map the classifier rows (or use a checkpoint in GLUE's order)."
            )
        if sorted(names) != sorted(expected):
            warnings.warn(
                f"{where} names its labels {names}, {spec.name} {expected}; kdzoo cannot "
                f"check that label id i means the same class in both and assumes it does. "
                "If not, re-map the classifier rows before distilling.",
                stacklevel=3,
            )


# --------------------------------------------------------------------------- one run


def _method_config(name: str, budget: Budget, overrides: Mapping[str, Any], recipe: dict) -> dict:
    """The method's config for this budget.

    ``paper``: the recipe's ``method_config`` (``baselines/recipes.json``). Otherwise the
    method's defaults with every AdamW learning rate scaled by the budget
    (:meth:`kdzoo.budgets.Budget.scale_learning_rate`).
    """
    from kdzoo.zoo.base import get_method

    if budget.name == "paper":
        config = dict(recipe.get("method_config") or {})
    else:
        defaults = dataclasses.asdict(get_method(name).config)
        optimizer = defaults.get("optimizer", "adamw")
        config = {
            k: budget.scale_learning_rate(v)
            for k, v in defaults.items()
            if k.endswith("learning_rate") and optimizer == "adamw"
        }
    config.update(overrides)
    return config


def _recipe_value(value, stage: str, default):
    """A recipe value that may be per stage (``{stage: v}``) or missing (``None``)."""
    if isinstance(value, Mapping):
        value = value.get(stage)
    return default if value is None else value


def _new_student(preset: str, prep: _Prepared, *, mlm_head: bool = False):
    from kdzoo.models import BertModel, BiLSTMClassifier, BiLSTMConfig

    spec = prep.spec
    if _is_bilstm(preset):
        config = BiLSTMConfig.from_preset(
            preset, vocab_size=len(prep.words), num_labels=spec.num_labels, pair=spec.is_pair
        )
        return BiLSTMClassifier(config)
    tc = prep.teacher.config
    return BertModel(
        preset,
        vocab_size=tc.vocab_size,
        num_labels=spec.num_labels,
        id2label=spec.id2label,
        max_position_embeddings=max(prep.max_length, tc.max_position_embeddings),
        mlm_head=mlm_head,
    )


def _load_curve(run_dir: Path) -> list[dict]:
    """The learning curve an interrupted run saved (``curve.json``), or []."""
    path = run_dir / "curve.json"
    return json.loads(path.read_text()) if path.exists() else []


def _training_seconds(checkpoint: Path) -> float:
    """Seconds in training, read from the finished run's last checkpoint (written at
    its last epoch's end), so that they count those of earlier, interrupted runs."""
    from kdzoo.training import read_checkpoint

    return float(read_checkpoint(checkpoint)[0]["seconds"])


def _dev_curve(student, prep: _Prepared, bilstm: bool, curve: list, run_dir: Path):
    """A Keras callback: after every epoch, append the student's headline dev metric
    (under the table's column name) and Keras's training logs to ``curve``, and save it
    to ``run_dir/curve.json`` so that a resumed run keeps the curve of its first part
    (an epoch trained again after a kill replaces its earlier point)."""
    import keras

    from kdzoo.data.metrics import compute_metrics
    from kdzoo.distribute import single_device

    spec = prep.spec
    split_name, metric = spec.eval_splits[0], spec.metrics[0]
    split, column = prep.evals[split_name], _column(spec, split_name, metric)

    class DevCurve(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            with single_device():  # the caller's student, outside a data-parallel fit
                out = student.predict(prep.inputs(split_name, bilstm), batch_size=256, verbose=0)
            value = compute_metrics(spec, out["logits"], split.labels)[metric]
            stage = getattr(self.model, "stage", "task")  # a Distiller knows its stage
            # Keras's logs are training-set numbers: prefixed, so that they never stand
            # in for the dev metric (fit's "accuracy" is the training accuracy).
            train = {f"train {k}": float(v) for k, v in (logs or {}).items()}
            point = {"stage": stage, "epoch": epoch + 1, column: float(value), **train}
            curve[:] = [p for p in curve if (p["stage"], p["epoch"]) != (stage, epoch + 1)]
            curve.append(point)
            write_json(run_dir / "curve.json", curve)

    return DevCurve()


def _evaluate(student, prep: _Prepared, bilstm: bool) -> dict[str, float]:
    from kdzoo.data.metrics import compute_metrics

    scores = {}
    for name, split in prep.evals.items():
        logits = student.predict(prep.inputs(name, bilstm), batch_size=256, verbose=0)["logits"]
        for metric, value in compute_metrics(prep.spec, logits, split.labels).items():
            scores[_column(prep.spec, name, metric)] = float(value)
    return scores


def _column(spec, split: str, metric: str) -> str:
    return metric if len(spec.eval_splits) == 1 else f"{metric} ({split})"


def _stage_epochs(method, budget: Budget, recipe: dict) -> dict[str, int]:
    out = {}
    for stage in method.stages:
        n = budget.general_epochs if stage in method.unlabelled_stages else budget.epochs
        if n is None:  # the paper budget: the recipe's (3 where no source gives one)
            n = _recipe_value(recipe.get("epochs"), stage, 3)
        out[stage] = int(n)
    return out


# --------------------------------------------------------------------------- results


@dataclass
class Results:
    """What :func:`compare` returns (and :meth:`load` reads back from ``output_dir``).

    Attributes:
        table: one row per method (plus ``teacher`` and ``student-only`` rows): each
            metric's mean and std over seeds, retention (% of the teacher's headline
            metric), parameters, size (MB, float32), latency at batch 1 and 32 (ms),
            speedup over the teacher, training time (s), steps and the configuration.
        runs: one row per (method, seed) with that run's numbers.
        published: the papers' numbers for this task and these methods, with sources.
        curves: per method, the headline dev metric and losses after every epoch.
        output_dir: where everything is saved.
    """

    task: str
    table: Any
    runs: Any
    published: Any
    curves: dict[str, list[dict]]
    output_dir: Path
    headline: str

    def __repr__(self) -> str:
        return self.format()

    def _repr_html_(self) -> str:
        return self.display_table().to_html()

    def display_table(self):
        """The table with ``mean ± std`` strings, for reading."""
        t = self.table.copy()
        for col in [c for c in t.columns if f"{c} std" in t.columns]:
            t[col] = [
                "" if math.isnan(m) else (f"{m:.4f}" if math.isnan(s) else f"{m:.4f} ± {s:.4f}")
                for m, s in zip(t[col], t[f"{col} std"], strict=True)
            ]
            t = t.drop(columns=f"{col} std")
        return t.drop(columns=["config"])

    def format(self) -> str:
        import pandas as pd

        with pd.option_context("display.width", 200, "display.max_columns", 30):
            return f"kdzoo.compare on {self.task}\n{self.display_table().to_string()}"

    def plot(self, show: bool = False) -> list[Path]:
        """Save ``metric_vs_latency.png`` and ``training_curves.png`` in ``output_dir``."""
        import matplotlib

        if not show:
            matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        paths = []
        t = self.table
        fig, ax = plt.subplots(figsize=(7, 4.5))
        sizes = 2000 * t["size_mb"] / t["size_mb"].max()
        for (name, row), size in zip(t.iterrows(), sizes, strict=True):
            ax.scatter(row["latency_b32_ms"], row[self.headline], s=size, alpha=0.45)
            ax.errorbar(
                row["latency_b32_ms"],
                row[self.headline],
                yerr=0 if math.isnan(row[f"{self.headline} std"]) else row[f"{self.headline} std"],
                fmt="none",
                ecolor="black",
                capsize=3,
            )
            ax.annotate(str(name), (row["latency_b32_ms"], row[self.headline]), fontsize=8)
        ax.set_xlabel("latency at batch 32 (ms)")
        ax.set_ylabel(f"{self.headline} (dev)")
        ax.set_title(f"{self.task}: {self.headline} vs latency (bubble area = model size)")
        ax.grid(alpha=0.3)
        fig.tight_layout()
        paths.append(self._save(fig, "metric_vs_latency.png"))

        fig, ax = plt.subplots(figsize=(7, 4.5))
        for name, curve in self.curves.items():
            points = [p for p in curve if p["stage"] not in ("general",)]
            if points:
                ax.plot(
                    range(1, len(points) + 1), [p[self.headline] for p in points], "o-", label=name
                )
        ax.set_xlabel("epoch (task stages, in order)")
        ax.set_ylabel(f"{self.headline} (dev, seed {self._first_seed()})")
        ax.set_title(f"{self.task}: training curves")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        paths.append(self._save(fig, "training_curves.png"))
        if show:
            plt.show()
        plt.close("all")
        return paths

    def _first_seed(self):
        return int(self.runs["seed"].min()) if len(self.runs) else 0

    def _save(self, fig, name: str) -> Path:
        return atomic_write(self.output_dir / name, lambda tmp: fig.savefig(tmp, dpi=120))

    @classmethod
    def load(cls, output_dir: str | os.PathLike) -> Results:
        """Read the results a finished :func:`compare` call saved in ``output_dir``."""
        import pandas as pd

        output_dir = Path(output_dir)
        meta = json.loads((output_dir / "results.json").read_text())
        return cls(
            task=meta["task"],
            table=pd.read_csv(output_dir / "results.csv", index_col=0),
            runs=pd.read_csv(output_dir / "runs.csv"),
            published=pd.DataFrame(meta["published"]),
            curves=meta["curves"],
            output_dir=output_dir,
            headline=meta["headline"],
        )


def _summarise(rows: list[dict], order: list[str], headline: str, metric_cols: list[str]):
    import pandas as pd

    runs = pd.DataFrame(rows)
    out = []
    teacher = runs[runs["name"] == "teacher"].iloc[0]
    for name in order:
        group = runs[runs["name"] == name]
        if group.empty:
            continue
        row: dict[str, Any] = {"method": name, "student": group["student"].iloc[0]}
        for col in metric_cols:
            row[col] = float(group[col].mean())
            row[f"{col} std"] = float(group[col].std(ddof=1)) if len(group) > 1 else float("nan")
        row["retention %"] = 100.0 * row[headline] / float(teacher[headline])
        row["seeds"] = len(group)
        row["params"] = int(group["params"].iloc[0])
        row["size_mb"] = row["params"] * 4 / 1e6
        for b in (1, 32):
            row[f"latency_b{b}_ms"] = float(group[f"latency_b{b}_ms"].median())
            row[f"speedup_b{b}"] = float(teacher[f"latency_b{b}_ms"]) / row[f"latency_b{b}_ms"]
        row["train_s"] = float(group["train_s"].mean())
        row["steps"] = int(group["steps"].iloc[0])
        row["config"] = group["config"].iloc[0]
        out.append(row)
    return pd.DataFrame(out).set_index("method"), runs


# --------------------------------------------------------------------------- compare


def compare(
    methods: Sequence[str] = ("kd", "bilstm", "distilbert", "pkd", "tinybert", "lad"),
    task: str = "synth-nli",
    *,
    teacher=None,
    student: str | Mapping[str, str] | None = None,
    seeds: Sequence[int] = (0, 1, 2),
    budget: str | Budget = "small",
    output_dir: str | os.PathLike = "kdzoo_runs",
    overwrite: bool = False,
    config: Mapping[str, Mapping[str, Any]] | None = None,
    task_kwargs: Mapping[str, Any] | None = None,
    corpus: Sequence[str] | None = None,
    max_length: int | None = None,
    student_only: bool = True,
    augment: bool | Mapping[str, Any] | None = None,
    stages: Mapping[str, Sequence[str]] | None = None,
    plot: bool = True,
    verbose: int = 1,
    distribution=None,
    jit_compile: bool | str = "auto",
) -> Results:
    """Run ``methods`` on ``task`` over ``seeds`` and tabulate them; see the module doc.

    Args:
        methods: names from :func:`kdzoo.methods`.
        task: a name from :func:`kdzoo.tasks` (GLUE, or an embedded ``synth-*`` task).
        teacher: a Hugging Face checkpoint (directory or hub name) fine-tuned on the
            task; a pre-trained one without a classifier, which kdzoo fine-tunes on the
            task first and caches; or a kdzoo model with a ``tokenizer`` attribute. For
            GLUE, None means :data:`DEFAULT_GLUE_TEACHER` (``bert-base-uncased``)
            fine-tuned on the task, as in the papers. For an embedded task:
            None (the built-in teacher), a :class:`kdzoo.teachers.TeacherRecipe` (built
            with it, and cached) or a :class:`kdzoo.teachers.EmbeddedTeacher`.
        student: a preset name for every BERT method, or ``{method: preset}``; by
            default each method's paper-shaped student (:func:`default_student`).
        seeds: one run per seed and method.
        budget: ``"smoke"``, ``"small"``, ``"paper"`` or a :class:`kdzoo.budgets.Budget`.
        output_dir: where results, logs, checkpoints and figures are saved.
        overwrite: replace results of a different configuration in ``output_dir``.
        config: per-method config overrides, ``{"kd": {"temperature": 2}}``.
        task_kwargs: passed to :func:`kdzoo.load_task` (e.g. ``data_dir=``).
        corpus: unlabelled texts for the general stages (embedded tasks: their corpus).
        max_length: tokens per example (default: the teacher recipe's, or 128).
        student_only: add a ``student-only`` row per student architecture.
        stages: per method, the stages to run (default: all of them), e.g.
            ``{"tinybert": ["intermediate", "prediction"]}`` skips general
            distillation (TinyBERT's "w/o GD" ablation).
        augment: distil TinyBERT and the BiLSTM on their papers' augmented transfer
            sets (the training split plus copies labelled by the teacher). None: the
            budget's default (off for ``"smoke"``/``"small"``, so that every method
            sees the same examples; on for ``"paper"``). A dict turns it on and names
            resources: ``mlm`` (TinyBERT's masked LM: a checkpoint or kdzoo model;
            default the embedded task's MLM, or ``bert-base-uncased``), ``word_vectors``
            (GloVe path or ``KeyedVectors``; default a word2vec trained on the embedded
            corpus), ``tagger`` (Tang et al.'s POS tagger for text without tags) and
            ``copies`` (copies per example; default the budget's).
        plot: save the two figures at the end.
        distribution: train every run data-parallel on the backend's engine, as
            :func:`kdzoo.distill` does (``"data-parallel"``, a number of devices, or
            :func:`kdzoo.distribute.data_parallel`); the budget's batch sizes are global
            batches and the learning rates are not scaled. Timings then measure the
            distributed run; inference latency is still measured on one device.
        jit_compile: compile every run's training step, as :func:`kdzoo.distill`
            does (``"auto"``, ``True`` or ``False``). The training times include the
            compilation, which on torch takes about 3 minutes per run and stage on 2 CPU
            cores whatever the model's size: worth it on long runs only.
        verbose: 0 silent; 1 the overall progress bar (method x seed) and one Keras line
            per epoch; 2 also Keras's progress bar within each epoch.

    Returns:
        :class:`Results`.

    Raises:
        ValueError: an unknown method, task or budget; a method that cannot use this
            teacher and student (the message says why and names presets that work);
            an ``output_dir`` holding another configuration.
    """
    from tqdm.auto import tqdm

    from kdzoo.data.base import get_spec
    from kdzoo.distribute import resolve as resolve_distribution
    from kdzoo.training import jit_compile_setting
    from kdzoo.zoo.base import get_method

    budget = get_budget(budget)
    methods = list(methods)
    if not methods:
        raise ValueError("compare needs at least one method; see kdzoo.methods().")
    for name in methods:
        get_method(name)  # unknown names raise, listing the valid ones
    spec = get_spec(task)  # unknown tasks raise, listing the valid ones
    plan_dp = resolve_distribution(distribution)  # torch refuses here, before any work
    jit_compile = jit_compile_setting(jit_compile)
    seeds = [int(s) for s in seeds]
    config = {k: dict(v) for k, v in (config or {}).items()}
    for what, given in (("config", config), ("stages", stages or {})):
        unknown = sorted(set(given) - set(methods))
        if unknown:
            raise ValueError(f"{what} names method(s) {unknown} that are not in methods={methods}.")
    output_dir = Path(output_dir)
    key = {
        "task": task,
        "teacher": _teacher_key(teacher, spec),
        "student": student if not isinstance(student, Mapping) else dict(student),
        "budget": dataclasses.asdict(budget),
        "task_kwargs": {k: str(v) for k, v in (task_kwargs or {}).items()},
        "max_length": max_length,
        "config": config,
        "corpus": None if corpus is None else _fingerprint_texts(corpus),
        "augment": _augment_key(augment),
        "stages": {k: list(v) for k, v in (stages or {}).items()},
    }
    key = json.loads(json.dumps(key, default=str))  # as compare.json will hold it
    _claim(output_dir, key, overwrite)

    prep = _prepare(task, teacher, budget, dict(task_kwargs or {}), corpus, max_length, verbose)
    prep.distribution = plan_dp
    prep.jit_compile = jit_compile
    plans = [
        _plan(name, student, budget, config.get(name, {}), prep, augment, (stages or {}).get(name))
        for name in methods
    ]
    headline = _column(spec, spec.eval_splits[0], spec.metrics[0])
    metric_cols = [_column(spec, s, m) for s in spec.eval_splits for m in spec.metrics]

    students = []
    for p in plans:
        if student_only and p["student"] not in students:
            students.append(p["student"])
    jobs = [("teacher", None, 0)]
    jobs += [(f"student-only ({s})", {"student": s}, seed) for s in students for seed in seeds]
    jobs += [(p["name"], p, seed) for p in plans for seed in seeds]

    rows, curves = [], {}
    bar = tqdm(jobs, desc=f"compare on {task}", unit="run", disable=not verbose)
    for name, plan, seed in bar:
        bar.set_postfix_str(f"{name} seed {seed}")
        if name == "teacher":
            row = _teacher_row(prep, budget)
        elif plan.get("method") is None:
            row = _student_only_run(name, plan["student"], seed, prep, budget, output_dir, verbose)
        else:
            row = _method_run(plan, seed, prep, budget, output_dir, verbose, augment)
        curve = row.pop("curve", None)
        if curve and name not in curves:
            curves[name] = curve
        rows.append(row)
    bar.close()

    order = ["teacher", *[f"student-only ({s})" for s in students], *methods]
    table, runs = _summarise(rows, order, headline, metric_cols)
    published = _published(task, methods)
    results = Results(
        task=task,
        table=table,
        runs=runs,
        published=published,
        curves=curves,
        output_dir=output_dir,
        headline=headline,
    )
    write_text(output_dir / "results.csv", table.to_csv())
    write_text(output_dir / "runs.csv", runs.to_csv(index=False))
    write_json(
        output_dir / "results.json",
        {
            "task": task,
            "headline": headline,
            "key": key,
            "table": json.loads(table.to_json(orient="index")),
            "published": published.to_dict(orient="records"),
            "curves": curves,
        },
    )
    if plot:
        results.plot()
    return results


def _fingerprint_texts(texts: Sequence[str]) -> str:
    import hashlib

    h = hashlib.sha256()
    for t in texts:
        h.update(t.encode() + b"\0")
    return f"{len(texts)} texts, sha256 {h.hexdigest()[:16]}"


def _teacher_key(teacher, spec) -> str | None:
    if teacher is None:
        if spec.source != "embedded":
            return None
        from kdzoo.teachers import recipe_for

        # The built-in teacher's cache key: it changes with its recipe and with the
        # generated data, so runs distilled from an older teacher are not reused.
        return f"embedded teacher {recipe_for(spec.name).key(spec.name)}"
    if dataclasses.is_dataclass(teacher) and not isinstance(teacher, type):
        return repr(teacher)  # a TeacherRecipe
    path = getattr(teacher, "path", None)  # an EmbeddedTeacher
    return str(path if path is not None else getattr(teacher, "name", teacher))


def _claim(output_dir: Path, key: dict, overwrite: bool) -> None:
    """Own ``output_dir`` for this configuration, or refuse it (see ``overwrite``)."""
    marker = output_dir / "compare.json"
    if marker.exists():
        held = json.loads(marker.read_text())["key"]
        if held != key:
            if not overwrite:
                diff = sorted(k for k in set(held) | set(key) if held.get(k) != key.get(k))
                raise ValueError(
                    f"{output_dir} holds the results of another compare configuration "
                    f"(it differs in: {', '.join(diff)}). Use another output_dir, or pass "
                    "overwrite=True (--overwrite) to delete them."
                )
            for child in ("runs", "general"):
                shutil.rmtree(output_dir / child, ignore_errors=True)
            for f in ("results.csv", "runs.csv", "results.json"):
                (output_dir / f).unlink(missing_ok=True)
    elif output_dir.exists() and any(output_dir.iterdir()) and not overwrite:
        raise ValueError(
            f"{output_dir} exists and is not a kdzoo compare directory; choose an empty or "
            "new output_dir, or pass overwrite=True."
        )
    from kdzoo import __version__

    write_json(marker, {"key": key, "kdzoo": __version__})


def _plan(
    name: str,
    student,
    budget: Budget,
    overrides: dict,
    prep: _Prepared,
    augment=None,
    stages: Sequence[str] | None = None,
) -> dict:
    """Resolve one method: its student, its config, and a clear error if it cannot run."""
    from kdzoo.zoo.base import get_method

    recipe = {}
    if budget.name == "paper":
        from kdzoo.baselines import paper_recipe

        recipe = paper_recipe(name, prep.task)
    if isinstance(student, Mapping):
        preset = (
            student.get(name) or recipe.get("student") or default_student(name, prep.teacher.config)
        )
    elif student is not None and name != "bilstm":
        preset = student
    else:
        preset = recipe.get("student") or default_student(name, prep.teacher.config)
    method_config = _method_config(name, budget, overrides, recipe)
    method = get_method(name, **method_config)
    unknown = [s for s in stages or () if s not in method.stages]
    if unknown or (stages is not None and not stages):
        raise ValueError(
            f"stages for {name} must be a non-empty subset of {list(method.stages)}; "
            f"got {list(stages)}."
        )
    chosen = [s for s in method.stages if stages is None or s in stages]
    if name == "bilstm":
        if not _is_bilstm(preset):
            raise ValueError(f"bilstm distils into a BiLSTM preset, not '{preset}'.")
    else:
        _check_applies(method, prep, preset)
    return {
        "name": name,
        "method": method,
        "student": preset,
        "config": method_config,
        "epochs": _stage_epochs(method, budget, recipe),
        "batch_size": {
            s: budget.batch_size or int(_recipe_value(recipe.get("batch_size"), s, 32))
            for s in method.stages
        },
        "augmentation": _augmentation(name, method, prep.task, budget, augment, chosen),
        "stages": chosen,
    }


# --------------------------------------------------------------------------- augmentation

#: The option of each augmenter that counts copies per example.
_COPIES = {"TinyBertAugmenter": "n_samples", "TangAugmenter": "n_iter"}
#: Cache a transfer set's teacher hidden states and attention maps up to this size;
#: above it (GLUE at the paper budget) the teacher runs live on each batch.
_MAX_CACHED_BYTES = 2 * 2**30


def _augment_setting(augment, budget: Budget):
    """``compare(augment=...)`` as ``(on, resources)``."""
    if augment is None:
        return budget.augment, {}
    if isinstance(augment, Mapping):
        unknown = sorted(set(augment) - {"mlm", "word_vectors", "tagger", "copies"})
        if unknown:
            raise ValueError(
                f"augment has unknown key(s) {unknown}; it takes mlm, word_vectors, "
                "tagger and copies."
            )
        return True, dict(augment)
    return bool(augment), {}


def _augment_key(augment):
    """``augment`` for the configuration key: objects (models, vectors, taggers) by type,
    so that the same call makes the same key."""
    if not isinstance(augment, Mapping):
        return augment
    plain = (str, int, float, bool, os.PathLike)
    return {k: str(v) if isinstance(v, plain) else type(v).__name__ for k, v in augment.items()}


def _augmentation(
    name: str, method, task: str, budget: Budget, augment, stages: Sequence[str] | None = None
) -> dict | None:
    """The recipe's augmentation for this method, scaled to the budget; None when the
    paper distils without one or ``augment`` is off."""
    from kdzoo.baselines import paper_recipe

    on, resources = _augment_setting(augment, budget)
    spec = paper_recipe(name, task).get("augmentation") if on else None
    if not spec:
        return None
    options = dict(spec["options"])
    copies = resources.get("copies") or budget.augment_copies
    if copies is not None:
        options[_COPIES[spec["augmenter"]]] = int(copies)
    task_stages = [s for s in stages or method.stages if s not in method.unlabelled_stages]
    if not set(task_stages) <= set(spec["stages"]):
        raise ValueError(
            f"{name}'s recipe augments stages {spec['stages']}, but compare can only "
            f"augment all its task stages {task_stages}."
        )
    labelled = [s for s in task_stages if method.uses_labels(s)]
    if labelled:
        raise ValueError(
            f"{name} cannot distil on augmented data: its stage(s) {labelled} read gold "
            "labels, and augmented examples have only the teacher's. Use the paper's "
            "distillation-only setting (TinyBERT prediction='soft'; BiLSTM alpha=0), or "
            "augment=False."
        )
    return {"augmenter": spec["augmenter"], "options": options}


def _augmenter(aug: dict, prep: _Prepared, resources: dict, verbose):
    from kdzoo.augment import TangAugmenter, TinyBertAugmenter, train_word2vec

    options = {**aug["options"], "progress": bool(verbose)}
    if aug["augmenter"] == "TangAugmenter":
        if "ngram_range" in options:
            options["ngram_range"] = tuple(options["ngram_range"])
        # embedded tasks carry POS tags; other text goes through the tagger (or NLTK /
        # spaCy, whichever is installed; the augmenter says how to get one)
        return TangAugmenter(**options, tagger=resources.get("tagger"))
    mlm, tokenizer = resources.get("mlm"), prep.tokenizer
    if mlm is None:
        mlm = prep.mlm_teacher if prep.mlm_teacher is not None else "bert-base-uncased"
    if isinstance(mlm, (str, os.PathLike)):
        from kdzoo.models import from_hf
        from kdzoo.tokenization import load_tokenizer

        mlm, tokenizer = from_hf(mlm, mlm_head=True), load_tokenizer(mlm)
    vectors = resources.get("word_vectors")
    if vectors is None and prep.spec.source == "embedded" and prep.corpus is not None:
        vectors = train_word2vec(prep.corpus)  # the offline stand-in for GloVe
    return TinyBertAugmenter(mlm, tokenizer, vectors, **options)


def _transfer_set(aug: dict, prep: _Prepared, resources: dict, output_dir: Path, verbose):
    """The training split plus its augmented copies, built once and kept in kdzoo's
    cache: every seed, run and compare directory with the same training split, teacher
    and augmentation reads the same transfer set (the papers augment once)."""
    from kdzoo.data.base import Split
    from kdzoo.teachers import cache_dir

    texts = [t for col in prep.train.columns(prep.spec) if col for t in col]
    what = [json.dumps(aug, sort_keys=True), prep.teacher_id, json.dumps(_augment_key(resources))]
    key = _fingerprint_texts(what + texts)[-16:]
    # kdzoo's cache, so that every compare (and every ablation variant) on the same
    # training split with the same augmentation shares one transfer set
    path = cache_dir() / "augmented" / f"{prep.task}-{aug['augmenter']}-{key}.json"
    if path.exists():
        held = json.loads(path.read_text())
        return Split(texts=held["texts"], meta={"source_index": held["source_index"]})
    split = _augmenter(aug, prep, resources, verbose).augment_split(prep.train, prep.spec)
    write_json(
        path,
        {"augmentation": aug, "texts": split.texts, "source_index": split.meta["source_index"]},
    )
    return split


def _train_inputs(plan: dict, prep: _Prepared, student, bilstm: bool, split=None) -> dict:
    """The task stages' inputs, with the teacher's outputs on every row: the training
    split (``split=None``) or an augmented transfer set. A BiLSTM reads words and the
    teacher's logits; a BERT student also gets the cached layers its stages read."""
    bert_x = prep.x_train if split is None else prep.encode(split)
    if bilstm:
        if split is None:
            words = prep.inputs("train", True)
        else:
            first, second = split.columns(prep.spec)
            words = prep.words.encode_pair(first, second, prep.max_length)
        logits = prep.with_teacher(bert_x, None)["teacher_logits"]
        return {"student_inputs": words, "teacher_logits": logits}
    task_stages = [s for s in plan["stages"] if s not in plan["method"].unlabelled_stages]
    return prep.with_teacher(
        bert_x, _cached_layers(plan["method"], task_stages, prep.teacher, student)
    )


def _cache_bytes(wanted: dict, config, x: dict) -> int:
    n, length = x["token_ids"].shape
    per_row = len(wanted["hidden"]) * length * config.hidden_size
    per_row += len(wanted["attention"]) * config.num_attention_heads * length * length
    return 4 * n * per_row


def _check_applies(method, prep: _Prepared, preset: str) -> None:
    from types import SimpleNamespace

    from kdzoo.models.bert import PRESETS, BertConfig

    def stub(p):
        return SimpleNamespace(
            config=BertConfig.from_preset(p, vocab_size=prep.teacher.config.vocab_size)
        )

    try:
        method.check(prep.teacher, stub(preset))
    except ValueError as err:
        working = []
        for p in PRESETS:
            try:
                method.check(prep.teacher, stub(p))
                working.append(p)
            except ValueError:
                pass
        hint = (
            f" Student presets that work with this teacher: {', '.join(working)}."
            if working
            else " No kdzoo preset works with this teacher."
        )
        raise ValueError(f"{method.name} cannot use student '{preset}': {err}{hint}") from None


def _teacher_row(prep: _Prepared, budget: Budget) -> dict:
    scores = _evaluate(prep.teacher, prep, bilstm=False)
    x = prep.x_evals[prep.spec.eval_splits[0]]
    return {
        "name": "teacher",
        "seed": 0,
        "student": prep.teacher_info.get("preset", prep.teacher_id),
        **scores,
        "params": int(prep.teacher.count_params()),
        "latency_b1_ms": measure_latency(prep.teacher, x, 1, budget.latency_runs),
        "latency_b32_ms": measure_latency(prep.teacher, x, 32, budget.latency_runs),
        "train_s": float(prep.teacher_info.get("seconds", float("nan"))),
        "steps": 0,
        "config": json.dumps({"teacher": prep.teacher_id}),
    }


def _finish_row(name, seed, preset, student, prep, budget, seconds, steps, config, curve):
    bilstm = _is_bilstm(preset)
    x = prep.inputs(prep.spec.eval_splits[0], bilstm)
    return {
        "name": name,
        "seed": seed,
        "student": preset,
        **_evaluate(student, prep, bilstm),
        "params": int(student.count_params()),
        "latency_b1_ms": measure_latency(student, x, 1, budget.latency_runs),
        "latency_b32_ms": measure_latency(student, x, 32, budget.latency_runs),
        "train_s": seconds,
        "steps": steps,
        "config": json.dumps(config, sort_keys=True, default=str),
        "curve": curve,
    }


@contextlib.contextmanager
def _expected_warnings():
    """Silence Keras's warning about heads a stage does not train (by design).

    The general stages leave the classifier untrained and the task stages DistilBERT's
    MLM head; Keras warns "Gradients do not exist for variables" for each.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Gradients do not exist for variables")
        yield


def _execution_note(prep) -> dict:
    """How a run's steps ran, where it differs from the default, for the run's recorded
    configuration: a data-parallel run's engine and devices; a compiled step."""
    plan = prep.distribution
    note = {} if plan is None else {"distribution": plan.describe()}
    if prep.jit_compile != "auto":
        note["jit_compile"] = prep.jit_compile
    return note


def _run_dir(output_dir: Path, name: str, seed: int) -> Path:
    safe = name.replace(" ", "_").replace("(", "").replace(")", "")
    return output_dir / "runs" / safe / f"seed-{seed}"


def _finished(run_dir: Path) -> dict | None:
    path = run_dir / "result.json"
    return json.loads(path.read_text()) if path.exists() else None


def _student_only_run(name, preset, seed, prep, budget, output_dir, verbose) -> dict:
    import keras

    from kdzoo.teachers import finetune

    run_dir = _run_dir(output_dir, name, seed)
    done = _finished(run_dir)
    if done:
        return done
    log = _Log(run_dir / "log.txt")
    bilstm = _is_bilstm(preset)
    epochs = budget.epochs or 3
    batch_size = budget.batch_size or 32
    lr = budget.student_only_learning_rate
    config = {
        "labels only": True,
        "optimizer": "adamw",
        "learning_rate": lr,
        "epochs": epochs,
        "sequence_length": prep.sequence_length(bilstm),
        **_execution_note(prep),
    }
    log(f"start {name} seed {seed}: {config}")
    keras.utils.set_random_seed(seed)
    student = _new_student(preset, prep)
    steps = math.ceil(len(prep.y_train) / batch_size) * epochs
    curve = _load_curve(run_dir)
    callbacks = [
        _dev_curve(student, prep, bilstm, curve, run_dir),
        keras.callbacks.CSVLogger(str(run_dir / "task.csv"), append=True),
    ]
    # Reseed right before training, as kdzoo.distill does: the student-only run then
    # draws the same data order as a method's run with the same seed.
    keras.utils.set_random_seed(seed)
    finetune(
        student,
        prep.inputs("train", bilstm),
        prep.y_train,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=lr,
        callbacks=callbacks,
        verbose=_keras_verbose(verbose),
        seed=seed,
        checkpoint=run_dir / "checkpoint" / "task-progress.npz",
        checkpoint_every=CHECKPOINT_EVERY,
        distribution=prep.distribution,
        jit_compile=prep.jit_compile,
    )
    seconds = _training_seconds(run_dir / "checkpoint" / "task-progress.npz")
    student.save_weights(str(run_dir / "student.weights.h5"))
    row = _finish_row(name, seed, preset, student, prep, budget, seconds, steps, config, curve)
    log(f"done in {seconds:.1f} s: {json.dumps({k: v for k, v in row.items() if k != 'curve'})}")
    write_json(run_dir / "result.json", row)
    return row


def _general_stage(plan, prep, output_dir, verbose) -> dict | None:
    """Run the method's general stage once, shared by every seed; None if it cannot run.

    The result is saved as ``general/<method>-<student>/state.npz`` (student and the
    method's layers) with ``general.json`` (time, steps, losses); later calls read it.
    """
    import keras

    from kdzoo.api import distill, save_state

    method, preset = plan["method"], plan["student"]
    general = [s for s in plan["stages"] if s in method.unlabelled_stages]
    if not general or prep.corpus_x is None or plan["epochs"][general[0]] == 0:
        return None
    teacher = prep.mlm_teacher if method.needs_mlm_head else prep.teacher
    if teacher is None:
        return None  # DistilBERT's general stage distils an MLM teacher
    directory = _general_dir(output_dir, plan)
    info_path = directory / "general.json"
    if info_path.exists():
        return json.loads(info_path.read_text())
    keras.utils.set_random_seed(0)
    student = _new_student(preset, prep, mlm_head=method.needs_mlm_head)
    layers = method.build_layers(prep.teacher, student, prep.max_length)
    with _expected_warnings():
        result = distill(
            method,
            teacher,
            student,
            corpus=prep.corpus_x,
            stages=general,
            epochs=plan["epochs"],
            batch_size=plan["batch_size"],
            seed=0,
            tokenizer=prep.tokenizer,
            layers=layers,
            checkpoint_dir=directory / "checkpoint",
            checkpoint_every=CHECKPOINT_EVERY,
            verbose=_keras_verbose(verbose),
            distribution=prep.distribution,
            jit_compile=prep.jit_compile,
        )
    info = {
        "seconds": sum(result.seconds.values()),
        "steps": _steps(len(prep.corpus_x["token_ids"]), plan, general),
        "history": result.history,
    }
    save_state(directory / "state.npz", student, layers)
    write_json(info_path, info)
    return info


def _keras_verbose(verbose: int) -> int:
    """compare's verbosity as Keras's: 0 silent, 2 one line per epoch, 1 a bar."""
    return {0: 0, 1: 2}.get(int(verbose), 1)


def _steps(n_examples: int, plan: dict, stages) -> int:
    return sum(math.ceil(n_examples / plan["batch_size"][s]) * plan["epochs"][s] for s in stages)


def _general_dir(output_dir: Path, plan: dict) -> Path:
    return output_dir / "general" / f"{plan['name']}-{plan['student']}"


def _method_run(plan, seed, prep, budget, output_dir, verbose, augment=None) -> dict:
    import keras

    from kdzoo.api import distill, load_state
    from kdzoo.training import num_examples

    name, method, preset = plan["name"], plan["method"], plan["student"]
    run_dir = _run_dir(output_dir, name, seed)
    done = _finished(run_dir)
    if done:
        return done
    log = _Log(run_dir / "log.txt")
    general = _general_stage(plan, prep, output_dir, verbose)
    bilstm = name == "bilstm"
    keras.utils.set_random_seed(seed)
    student = _new_student(preset, prep, mlm_head=method.needs_mlm_head)
    layers = None
    if general is not None:
        layers = method.build_layers(prep.teacher, student, prep.max_length)
        load_state(_general_dir(output_dir, plan) / "state.npz", student, layers)
    general_info = general or {}
    task_stages = [s for s in plan["stages"] if s not in method.unlabelled_stages]
    skipped = [s for s in method.stages if s not in plan["stages"]]
    config = {
        **plan["config"],
        "student": preset,
        "epochs": {s: plan["epochs"][s] for s in plan["stages"]},
        "batch_size": {s: plan["batch_size"][s] for s in plan["stages"]},
        "general stage": "ran once, shared by seeds" if general else "skipped (no corpus)",
        "sequence_length": prep.sequence_length(bilstm),
        **_execution_note(prep),
    }
    if skipped:
        config["skipped stages"] = skipped
        if set(skipped) & set(method.unlabelled_stages):
            config["general stage"] = "skipped (not in stages)"
    aug = plan.get("augmentation")
    if aug is not None:
        resources = _augment_setting(augment, budget)[1]
        transfer = _transfer_set(aug, prep, resources, output_dir, verbose)
        x, y = _train_inputs(plan, prep, student, bilstm, transfer), None
        config["augmentation"] = {**aug, "rows": len(transfer)}
    else:
        if name in ("tinybert", "bilstm"):
            config["augmentation"] = "off (compare(augment=True) turns it on)"
        x, y = _train_inputs(plan, prep, student, bilstm), prep.y_train
    log(f"start {name} seed {seed}: {json.dumps(config, default=str)}")
    curve = _load_curve(run_dir)
    callbacks = [
        _dev_curve(student, prep, bilstm, curve, run_dir),
        keras.callbacks.CSVLogger(str(run_dir / "task.csv"), append=True),
    ]
    with _expected_warnings():
        result = distill(
            method,
            prep.teacher,
            student,
            data=(x, y),
            stages=task_stages,
            epochs=plan["epochs"],
            batch_size=plan["batch_size"],
            seed=seed,
            tokenizer=prep.tokenizer,
            init_student=general is None,
            layers=layers,
            callbacks=callbacks,
            checkpoint_dir=run_dir / "checkpoint",
            checkpoint_every=CHECKPOINT_EVERY,
            verbose=_keras_verbose(verbose),
            distribution=prep.distribution,
            jit_compile=prep.jit_compile,
        )
    seconds = sum(result.seconds.values()) + general_info.get("seconds", 0.0)
    n_rows = num_examples(x)
    steps = _steps(n_rows, plan, task_stages) + general_info.get("steps", 0)
    student.save_weights(str(run_dir / "student.weights.h5"))
    row = _finish_row(name, seed, preset, student, prep, budget, seconds, steps, config, curve)
    log(f"done in {seconds:.1f} s: {json.dumps({k: v for k, v in row.items() if k != 'curve'})}")
    write_json(run_dir / "result.json", row)
    return row


def _published(task: str, methods: list[str]):
    from kdzoo.baselines import published

    return published(task=task, method=["teacher", *methods])
