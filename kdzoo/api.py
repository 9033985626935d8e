"""``kdzoo.distill``: run one distillation method, all its stages, with ``fit``.

::

    import kdzoo
    result = kdzoo.distill("tinybert", teacher=teacher, student="tinybert-4l",
                           data=(x_train, y_train), corpus=x_unlabelled, epochs=3)
    result.student.save("tinybert.keras")
    result.history["prediction"]["prediction_loss"]

Book chapter: ``book/methods/index.md``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np

from kdzoo._io import atomic_write, write_json
from kdzoo.distillers import Distiller
from kdzoo.distribute import SyncBack, scope
from kdzoo.distribute import resolve as resolve_distribution
from kdzoo.training import StopOnNonFiniteLoss, fit, jit_compile_setting, num_examples
from kdzoo.zoo.base import Method, get_method

__all__ = ["DistillResult", "distill", "load_state", "save_state"]


@dataclass
class DistillResult:
    """What :func:`distill` returns.

    Attributes:
        student: the trained student (save it with ``student.save(...)``).
        history: per stage, Keras's ``History.history``: every loss term per epoch.
        method: the method with its final configuration.
        layers: the distiller's own trained layers (projections, gates).
        stages: the stages that ran, in order.
        seconds: training seconds per stage, summed over interrupted and resumed runs
            (a stage read back from its checkpoint reports the seconds it took then).
        distribution: for a data-parallel run, the engine, the replicas and devices,
            and per stage the global and per-replica batch sizes; None on one device.
    """

    student: keras.Model
    history: dict[str, dict[str, list[float]]]
    method: Method
    layers: dict = field(default_factory=dict)
    stages: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    distribution: dict | None = None


def _check_data(name: str, x, y=None) -> None:
    """Refuse an empty dataset, or one holding NaN or inf, before any training starts."""
    if num_examples(x) == 0:
        raise ValueError(f"{name} is empty: there is nothing to train on.")
    leaves = keras.tree.flatten_with_path({"x": x, "y": y})
    for path, leaf in leaves:
        array = np.asarray(leaf) if leaf is not None else None
        if array is None or not np.issubdtype(array.dtype, np.floating):
            continue
        bad = ~np.isfinite(array)
        if bad.any():
            row = int(np.argwhere(bad)[0][0])
            where = "/".join(str(p) for p in path[1:]) or "labels"
            kind = "y" if path[0] == "y" else "x"
            raise ValueError(
                f"{name} holds NaN or inf in {kind} '{where}' ({int(bad.sum())} values; the "
                f"first in row {row}). Drop or repair those rows before distilling."
            )


def _seq_length(x) -> int | None:
    if not isinstance(x, dict):
        return None
    x = x.get("student_inputs", x)
    ids = x.get("token_ids") if isinstance(x, dict) else None
    return None if ids is None else int(np.shape(ids)[1])


def _resolve_teacher(teacher):
    if isinstance(teacher, keras.Model):
        return teacher
    from kdzoo.models import from_hf

    return from_hf(teacher)


def _resolve_student(student, teacher, method: Method):
    if isinstance(student, keras.Model):
        return student
    from kdzoo.models import BertModel

    tc = teacher.config
    return BertModel(
        student,
        vocab_size=tc.vocab_size,
        num_labels=tc.num_labels,
        id2label=tc.id2label,
        mlm_head=method.needs_mlm_head and tc.mlm_head,
    )


def _state_variables(student, layers) -> tuple[list, list]:
    """The weights of the student and the layers, then their random-seed states."""
    models = [student, *keras.tree.flatten(layers)]
    weights = [w for m in models for w in m.weights]
    known = {id(w) for w in weights}
    seeds = [v for m in models for v in m.variables if id(v) not in known]
    return weights, seeds


def save_state(path: str | os.PathLike, student, layers: dict | None = None) -> Path:
    """Save the student's and the distiller layers' weights, and their dropout seed
    states, to ``path`` (``.npz``), atomically."""
    weights, seeds = _state_variables(student, layers or {})
    arrays = {
        f"{i:05d}": keras.ops.convert_to_numpy(v.value) for i, v in enumerate(weights + seeds)
    }
    return atomic_write(path, lambda tmp: np.savez(tmp, **arrays))


def load_state(path: str | os.PathLike, student, layers: dict | None = None) -> None:
    """Load what :func:`save_state` saved into the same student and layers.

    Files from kdzoo versions that saved the weights alone still load (the seed states
    are then left as they are).

    Raises:
        ValueError: the file is corrupt or truncated, or was saved from another model.
    """
    weights, seeds = _state_variables(student, layers or {})
    try:
        with np.load(path) as saved:  # never unpickles: allow_pickle is off
            arrays = {name: saved[name] for name in saved.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise ValueError(
            f"{path} is corrupt or truncated ({type(err).__name__}: {err}). Delete it "
            "(and the .json beside it) to train that stage again."
        ) from err
    variables = weights + seeds if len(arrays) == len(weights) + len(seeds) else weights
    if len(arrays) != len(variables):
        raise ValueError(
            f"{path} holds {len(arrays)} arrays, but this student and its layers "
            f"have {len(weights)} weights: it was saved from another model."
        )
    for i, v in enumerate(variables):
        array = arrays[f"{i:05d}"]
        if tuple(array.shape) != tuple(v.shape):
            raise ValueError(
                f"{path}: variable {v.path} has shape {tuple(v.shape)}, saved "
                f"{tuple(array.shape)}: it was saved from another model."
            )
    for i, v in enumerate(variables):
        v.assign(arrays[f"{i:05d}"])


def _fingerprint(*arrays_trees) -> str:
    """A hash of the data: every array's shape, type and bytes."""
    digest = hashlib.blake2b(digest_size=16)
    for path, leaf in keras.tree.flatten_with_path(arrays_trees):
        if leaf is None:
            continue
        array = np.ascontiguousarray(leaf)  # copies only a non-contiguous view
        digest.update(f"{path}{array.shape}{array.dtype}".encode())
        # the buffer itself, not a tobytes() copy: cached teacher states can be GBs
        digest.update(repr(array.tolist()).encode() if array.dtype == object else array.data)
    return digest.hexdigest()


def _fields(config):
    """A config dataclass's fields as a flat dict (values kept as they are)."""
    if not dataclasses.is_dataclass(config):
        return config
    return {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}


def _describe(model) -> dict:
    config = _fields(getattr(model, "config", None))
    return {"class": type(model).__name__, "config": config, "weights": len(model.weights)}


def _per_stage(value, stage: str, default):
    return value.get(stage, default) if isinstance(value, dict) else value


def _stage_records(method, student, stages, epochs, batch_size, seed, data, corpus) -> dict:
    """What each stage's checkpoints are written for; a different call must not resume
    them. Per stage, so a general stage and the task stages may share a directory."""
    base = {
        "method": method.name,
        "config": _fields(method.config),
        "student": _describe(student),
        "seed": seed,
    }
    prints: dict[str, str | None] = {}
    records = {}
    for stage in stages:
        key = "corpus" if stage in method.unlabelled_stages else "data"
        if key not in prints:
            inputs = corpus if key == "corpus" else data
            prints[key] = None if inputs is None else _fingerprint(inputs)
        records[stage] = {
            **base,
            "epochs": _per_stage(epochs, stage, 1),
            "batch_size": _per_stage(batch_size, stage, 32),
            key: prints[key],
        }
    return json.loads(json.dumps(records, default=str))


def _claim(directory: Path, records: dict, resume: bool) -> None:
    """Check that ``directory`` holds these stages' checkpoints (or none); record them."""
    path = directory / "run.json"
    saved = json.loads(path.read_text()) if path.exists() else {}
    for stage, record in records.items():
        if not resume:
            for name in (f"{stage}.npz", f"{stage}.json", f"{stage}-progress.npz"):
                (directory / name).unlink(missing_ok=True)
        elif stage in saved and saved[stage] != record:
            old = saved[stage]
            differs = sorted(k for k in record.keys() | old.keys() if record.get(k) != old.get(k))
            raise ValueError(
                f"{directory} holds the checkpoints of stage '{stage}' for another "
                f"configuration (it differs in: {', '.join(differs)}). Resuming them would "
                "mix two runs. Use another checkpoint_dir, or pass resume=False to delete "
                "them and start over."
            )
    write_json(path, {**saved, **records})


def distill(
    method: str | Method,
    teacher,
    student,
    data: tuple | None = None,
    *,
    corpus=None,
    stages: list[str] | None = None,
    epochs: int | dict[str, int] = 1,
    batch_size: int | dict[str, int] = 32,
    validation_data: tuple | None = None,
    seed: int = 0,
    tokenizer=None,
    init_student: bool = True,
    layers: dict | None = None,
    callbacks: list | None = None,
    checkpoint_dir: str | os.PathLike | None = None,
    checkpoint_every: int | None = 500,
    resume: bool = True,
    verbose: int | str = "auto",
    distribution=None,
    jit_compile: bool | str = "auto",
    **config: Any,
) -> DistillResult:
    """Distil ``teacher`` into ``student`` with ``method``, stage after stage.

    Args:
        method: a name from :func:`kdzoo.methods` or a :class:`kdzoo.zoo.Method`.
        teacher: a kdzoo model, or a Hugging Face checkpoint directory / hub name.
        student: a kdzoo model, or a BERT preset name (built with the teacher's
            vocabulary and labels).
        data: ``(x, y)`` for the task stages; ``x`` is a model input dict (see
            :class:`kdzoo.distillers.Distiller` for separate student / teacher inputs
            and precomputed ``teacher_logits``).
        corpus: unlabelled inputs for the general stages (TinyBERT, DistilBERT); without
            it those stages are skipped.
        stages: the stages to run (default: every stage with data, in order).
        epochs: epochs per stage, or a dict ``{stage: epochs}``.
        batch_size: examples per step, or a dict ``{stage: batch_size}`` (TinyBERT's
            general stage uses 256, its task stages 32).
        validation_data: ``(x, y)`` evaluated after each epoch of the task stages.
        seed: seeds initialisation, data order, dropout and masking: the same call gives
            the same weights on the same backend and machine. The data order is the
            same on every backend, and for every method and stage with that seed (runs
            compared side by side see the same batches); the random draws of
            initialisation and dropout are each backend's own.
        tokenizer: a Hugging Face tokenizer, for the ids DistilBERT masks with.
        init_student: initialise the student from teacher layers where the method does.
        layers: the method's own layers (projections, gates) from an earlier call, e.g.
            TinyBERT's projection after a separate general stage; built when None.
        callbacks: Keras callbacks passed to every stage's ``fit``. kdzoo adds
            :class:`~kdzoo.training.StopOnNonFiniteLoss`: a NaN or infinite loss term
            stops the run with an error naming the stage, step and term.
        checkpoint_dir: makes the run resumable (see ``book/appendix/reliability.md``).
            The stage in progress writes ``<stage>-progress.npz`` every
            ``checkpoint_every`` steps and at the end of every epoch: the student, the
            method's layers, the optimizer, the dropout and masking seed states, the data
            position and the epoch's running metrics, so a run killed at any moment
            resumes from its last checkpoint and ends with the same weights as a run
            that was never stopped. A finished stage saves ``<stage>.npz`` and is read
            back instead of trained when the call is repeated. ``run.json`` records each
            stage's configuration; a call that differs for a stage already there is
            refused.
        checkpoint_every: steps between checkpoints inside an epoch (None: epoch ends).
        resume: continue from the checkpoints in ``checkpoint_dir`` (the default);
            False deletes those of the stages this call runs, and starts them over.
        verbose: Keras's progress output.
        distribution: run data-parallel on the backend's own engine
            (:mod:`kdzoo.distribute`): ``"data-parallel"`` for every device, a number
            of devices, or :func:`kdzoo.distribute.data_parallel` (...). jax uses
            ``keras.distribution.DataParallel``, tensorflow
            ``tf.distribute.MirroredStrategy``; torch has no engine and is refused.
            ``batch_size`` stays the global batch (each replica gets
            ``batch_size / replicas``) and the learning rate is not scaled. The teacher
            and student are replicated; the caller's student gets the trained weights.
        jit_compile: compile every stage's training step, as ``keras.Model.compile``
            does (:func:`kdzoo.training.jit_compile_setting`): ``"auto"`` (Keras's
            default), ``True`` (``torch.compile`` on torch, XLA on tensorflow: pays off
            on long runs, since the first step compiles) or ``False``.
        **config: fields of the method's config dataclass, e.g. ``temperature=2``.

    Returns:
        A :class:`DistillResult`.
    """
    jit_compile = jit_compile_setting(jit_compile)
    keras.utils.set_random_seed(seed)
    method = get_method(method, **config)
    if tokenizer is not None:
        method = method.with_tokenizer(tokenizer)
    teacher = _resolve_teacher(teacher)
    student = _resolve_student(student, teacher, method)
    if stages is None:
        stages = [
            s
            for s in method.stages
            if (corpus is not None if s in method.unlabelled_stages else data is not None)
        ]
    unknown = [s for s in stages if s not in method.stages]
    if unknown:
        raise ValueError(
            f"{method.name} has no stage(s) {unknown}; its stages are {list(method.stages)}."
        )
    if not stages:
        raise ValueError("nothing to train on: pass data=(x, y) and/or corpus=x.")

    if data is not None:
        _check_data("data", data[0], data[1])
    if corpus is not None:
        _check_data("corpus", corpus)
    method.check(teacher, student)
    seq_length = _seq_length(data[0] if data is not None else corpus)
    plan = resolve_distribution(distribution)
    caller_student, caller_layers = student, layers
    with scope(plan):
        if layers is None:  # built under the engine's scope: replicated
            layers = method.build_layers(teacher, student, seq_length)
    if init_student:
        method.prepare_student(teacher, student)
    batch_sizes = {}  # per stage: the global batch and each replica's share
    if plan is not None:
        for stage in stages:
            size = _per_stage(batch_size, stage, 32)
            share = plan.per_replica(size, f"batch_size ({stage})")
            batch_sizes[stage] = {"global": size, "per_replica": share}
        teacher, student = plan.replicate(teacher), plan.replicate(student)
        if caller_layers is not None:  # built by the caller, outside the scope
            layers = {k: plan.replicate_layer(v) for k, v in layers.items()}
    sync = []  # the caller's student (and layers) follow the replicas epoch by epoch
    if plan is not None:
        pairs = [(student, caller_student)]
        pairs += [(layers[k], v) for k, v in (caller_layers or {}).items()]
        sync = [SyncBack(pairs)]
    checkpoint_dir = None if checkpoint_dir is None else Path(checkpoint_dir)
    if checkpoint_dir is not None:
        checkpoint_dir.mkdir(parents=True, exist_ok=True)
        records = _stage_records(method, student, stages, epochs, batch_size, seed, data, corpus)
        _claim(checkpoint_dir, records, resume)

    history: dict[str, dict[str, list[float]]] = {}
    seconds: dict[str, float] = {}
    with scope(plan):
        for stage in stages:
            if checkpoint_dir is not None and (checkpoint_dir / f"{stage}.npz").exists():
                load_state(checkpoint_dir / f"{stage}.npz", student, layers)
                saved = json.loads((checkpoint_dir / f"{stage}.json").read_text())
                history[stage] = saved.get("history", saved)
                seconds[stage] = saved.get("seconds", 0.0)
                continue
            unlabelled = stage in method.unlabelled_stages
            x, y = (corpus, None) if unlabelled else (data[0], data[1])
            if x is None:
                raise ValueError(f"stage '{stage}' needs {'corpus' if unlabelled else 'data'}.")
            n_epochs = _per_stage(epochs, stage, 1)
            stage_batch = _per_stage(batch_size, stage, 32)
            steps = math.ceil(num_examples(x) / stage_batch) * n_epochs
            distiller = Distiller(method, teacher, student, stage=stage, layers=layers, seed=seed)
            optimizer = method.optimizer(stage, steps, layers)
            if plan is not None:
                optimizer = plan.prepare_optimizer(optimizer)
            distiller.compile(optimizer=optimizer, jit_compile=jit_compile)
            progress = None if checkpoint_dir is None else checkpoint_dir / f"{stage}-progress.npz"
            # Every variable built and every layer called once before fit (always, so that
            # a run draws the same random numbers with and without checkpoints).
            distiller.prepare(x, y)
            run = fit(
                distiller,
                x,
                y,
                replicas=1 if plan is None else plan.replicas,
                epochs=n_epochs,
                batch_size=stage_batch,
                seed=seed,  # every method and stage sees the same order for the same seed
                checkpoint=progress,
                every=checkpoint_every,
                exclude=teacher.weights,
                callbacks=[*sync, *(callbacks or []), StopOnNonFiniteLoss(stage)],
                validation_data=None if unlabelled else validation_data,
                verbose=verbose,
                stage=stage,
            )
            history[stage], seconds[stage] = run.history, run.seconds
            if checkpoint_dir is not None:
                save_state(checkpoint_dir / f"{stage}.npz", student, layers)
                write_json(
                    checkpoint_dir / f"{stage}.json",
                    {"history": history[stage], "seconds": seconds[stage]},
                )
                progress.unlink(missing_ok=True)
    info = None
    if plan is not None:  # the caller's models get what the replicas learned
        sync[0].copy()  # also for stages read back from checkpoints
        layers = caller_layers if caller_layers is not None else layers
        student = caller_student
        info = {**plan.describe(), "batch_size": batch_sizes}
    return DistillResult(
        student=student,
        history=history,
        method=method,
        layers=layers,
        stages=list(stages),
        seconds=seconds,
        distribution=info,
    )
