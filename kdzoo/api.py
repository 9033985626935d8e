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
from kdzoo.distillers import Distiller, StopOnNonFiniteLoss
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
    """

    student: keras.Model
    history: dict[str, dict[str, list[float]]]
    method: Method
    layers: dict = field(default_factory=dict)
    stages: list[str] = field(default_factory=list)


def _num_examples(x) -> int:
    leaf = x
    while isinstance(leaf, dict):
        leaf = next(iter(leaf.values()))
    return len(leaf)


def _check_data(name: str, x, y=None) -> None:
    """Refuse an empty dataset, or one holding NaN or inf, before any training starts."""
    if _num_examples(x) == 0:
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


def _state_variables(student, layers) -> list:
    return [*student.weights, *(w for layer in keras.tree.flatten(layers) for w in layer.weights)]


def save_state(path: str | os.PathLike, student, layers: dict | None = None) -> Path:
    """Save the student's and the distiller layers' weights to ``path`` (``.npz``), atomically."""
    arrays = {
        f"{i:05d}": keras.ops.convert_to_numpy(v.value)
        for i, v in enumerate(_state_variables(student, layers or {}))
    }
    return atomic_write(path, lambda tmp: np.savez(tmp, **arrays))


def load_state(path: str | os.PathLike, student, layers: dict | None = None) -> None:
    """Load what :func:`save_state` saved into the same student and layers.

    Raises:
        ValueError: the file is corrupt or truncated, or was saved from another model.
    """
    variables = _state_variables(student, layers or {})
    try:
        with np.load(path) as saved:  # never unpickles: allow_pickle is off
            arrays = {name: saved[name] for name in saved.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise ValueError(
            f"{path} is corrupt or truncated ({type(err).__name__}: {err}). Delete it "
            "(and the .json beside it) to train that stage again."
        ) from err
    if len(arrays) != len(variables):
        raise ValueError(
            f"{path} holds {len(arrays)} arrays, but this student and its layers "
            f"have {len(variables)} variables: it was saved from another model."
        )
    for i, v in enumerate(variables):
        array = arrays[f"{i:05d}"]
        if tuple(array.shape) != tuple(v.shape):
            raise ValueError(
                f"{path}: variable {v.path} has shape {tuple(v.shape)}, saved "
                f"{tuple(array.shape)}: it was saved from another model."
            )
        v.assign(array)


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
    verbose: int | str = "auto",
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
        seed: seeds initialisation, data order, dropout and masking.
        tokenizer: a Hugging Face tokenizer, for the ids DistilBERT masks with.
        init_student: initialise the student from teacher layers where the method does.
        layers: the method's own layers (projections, gates) from an earlier call, e.g.
            TinyBERT's projection after a separate general stage; built when None.
        callbacks: Keras callbacks passed to every stage's ``fit``. kdzoo adds
            ``kdzoo.distillers.StopOnNonFiniteLoss``: a NaN or infinite loss term
            stops the run with an error naming the stage, step and term.
        checkpoint_dir: makes the run resumable. Each finished stage saves the student
            and the method's layers there (``<stage>.npz``) and is skipped when the call
            is repeated; the stage in progress keeps a Keras ``BackupAndRestore`` backup
            (weights, optimizer and epoch) after every epoch, from which it resumes.
        verbose: Keras's progress output.
        **config: fields of the method's config dataclass, e.g. ``temperature=2``.

    Returns:
        A :class:`DistillResult`.
    """
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
    if layers is None:
        layers = method.build_layers(teacher, student, seq_length)
    if init_student:
        method.prepare_student(teacher, student)
    checkpoint_dir = None if checkpoint_dir is None else Path(checkpoint_dir)
    if checkpoint_dir is not None:
        checkpoint_dir.mkdir(parents=True, exist_ok=True)

    history: dict[str, dict[str, list[float]]] = {}
    for stage in stages:
        if checkpoint_dir is not None and (checkpoint_dir / f"{stage}.npz").exists():
            load_state(checkpoint_dir / f"{stage}.npz", student, layers)
            history[stage] = json.loads((checkpoint_dir / f"{stage}.json").read_text())
            continue
        unlabelled = stage in method.unlabelled_stages
        x, y = (corpus, None) if unlabelled else (data[0], data[1])
        if x is None:
            raise ValueError(f"stage '{stage}' needs {'corpus' if unlabelled else 'data'}.")
        n_epochs = epochs.get(stage, 1) if isinstance(epochs, dict) else epochs
        stage_batch = batch_size.get(stage, 32) if isinstance(batch_size, dict) else batch_size
        steps = math.ceil(_num_examples(x) / stage_batch) * n_epochs
        distiller = Distiller(method, teacher, student, stage=stage, layers=layers, seed=seed)
        distiller.compile(optimizer=method.optimizer(stage, steps, layers))
        stage_callbacks = [*(callbacks or []), StopOnNonFiniteLoss(stage)]
        if checkpoint_dir is not None:
            # BackupAndRestore needs a built model (TensorFlow checks): run two examples.
            distiller(keras.tree.map_structure(lambda a: a[:2], x), training=False)
            stage_callbacks.append(
                keras.callbacks.BackupAndRestore(str(checkpoint_dir / f"{stage}-backup"))
            )
        fit = distiller.fit(
            x,
            y,
            batch_size=stage_batch,
            epochs=n_epochs,
            shuffle=True,
            verbose=verbose,
            callbacks=stage_callbacks,
            validation_data=None if unlabelled else validation_data,
        )
        history[stage] = {k: [float(v) for v in vs] for k, vs in fit.history.items()}
        if checkpoint_dir is not None:
            save_state(checkpoint_dir / f"{stage}.npz", student, layers)
            write_json(checkpoint_dir / f"{stage}.json", history[stage])
    return DistillResult(
        student=student, history=history, method=method, layers=layers, stages=list(stages)
    )
