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

import math
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np

from kdzoo.distillers import Distiller
from kdzoo.zoo.base import Method, get_method

__all__ = ["DistillResult", "distill"]


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


def distill(
    method: str | Method,
    teacher,
    student,
    data: tuple | None = None,
    *,
    corpus=None,
    stages: list[str] | None = None,
    epochs: int | dict[str, int] = 1,
    batch_size: int = 32,
    validation_data: tuple | None = None,
    seed: int = 0,
    tokenizer=None,
    init_student: bool = True,
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
        batch_size: examples per step.
        validation_data: ``(x, y)`` evaluated after each epoch of the task stages.
        seed: seeds initialisation, data order, dropout and masking.
        tokenizer: a Hugging Face tokenizer, for the ids DistilBERT masks with.
        init_student: initialise the student from teacher layers where the method does.
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

    method.check(teacher, student)
    seq_length = _seq_length(data[0] if data is not None else corpus)
    layers = method.build_layers(teacher, student, seq_length)
    if init_student:
        method.prepare_student(teacher, student)

    history: dict[str, dict[str, list[float]]] = {}
    for stage in stages:
        unlabelled = stage in method.unlabelled_stages
        x, y = (corpus, None) if unlabelled else (data[0], data[1])
        if x is None:
            raise ValueError(f"stage '{stage}' needs {'corpus' if unlabelled else 'data'}.")
        n_epochs = epochs.get(stage, 1) if isinstance(epochs, dict) else epochs
        steps = math.ceil(_num_examples(x) / batch_size) * n_epochs
        distiller = Distiller(method, teacher, student, stage=stage, layers=layers, seed=seed)
        distiller.compile(optimizer=method.optimizer(stage, steps, layers))
        fit = distiller.fit(
            x,
            y,
            batch_size=batch_size,
            epochs=n_epochs,
            shuffle=True,
            verbose=verbose,
            validation_data=None if unlabelled else validation_data,
        )
        history[stage] = fit.history
    return DistillResult(
        student=student, history=history, method=method, layers=layers, stages=list(stages)
    )
