"""What every task looks like to the rest of kdzoo, wherever its data comes from.

A :class:`TaskSpec` describes a task (its text fields, its labels in order, its
metrics); a :class:`TaskData` holds its splits, each a :class:`Split` of texts and
labels. GLUE tasks (:mod:`kdzoo.data.glue`) and the embedded offline tasks
(:mod:`kdzoo.data.embedded`) both register a spec and a loader here, so
:func:`tasks` lists them all and :func:`load_task` loads any of them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Split", "TaskData", "TaskSpec", "load_task", "register_task", "tasks"]


@dataclass(frozen=True)
class TaskSpec:
    """A task's fixed description.

    Attributes:
        name: registry name, e.g. ``"mnli"``.
        text_fields: one field (single sentence) or two (sentence pair), in input order.
        label_names: class names in label-id order (None for regression).
        metrics: metric names as GLUE reports them; the first is the headline metric.
        eval_splits: the evaluation splits, e.g. ``("dev",)`` or
            ``("dev_matched", "dev_mismatched")`` for MNLI.
        description: one line for listings.
        source: where the data comes from (hub id, or ``"embedded"``).
    """

    name: str
    text_fields: tuple[str, ...]
    label_names: tuple[str, ...] | None
    metrics: tuple[str, ...]
    eval_splits: tuple[str, ...] = ("dev",)
    description: str = ""
    source: str = ""

    @property
    def is_regression(self) -> bool:
        return self.label_names is None

    @property
    def num_labels(self) -> int:
        return 1 if self.label_names is None else len(self.label_names)

    @property
    def is_pair(self) -> bool:
        return len(self.text_fields) == 2

    @property
    def id2label(self) -> dict[int, str] | None:
        return None if self.label_names is None else dict(enumerate(self.label_names))


@dataclass
class Split:
    """One split: parallel lists of texts per field, labels, optional POS tags.

    Attributes:
        texts: ``{field: [text, ...]}`` with one entry per ``TaskSpec.text_fields``.
        labels: int [N] class ids, float [N] scores, or None (unlabelled test split).
        pos_tags: optional ``{field: [[tag per whitespace token], ...]}`` (embedded
            tasks supply them for Tang et al.'s POS-guided replacement).
        meta: optional per-example annotations ``{name: [value, ...]}``, e.g. the
            phenomenon behind each embedded example; subsets keep them aligned.
    """

    texts: dict[str, list[str]]
    labels: np.ndarray | None = None
    pos_tags: dict[str, list[list[str]]] | None = None
    meta: dict[str, list] | None = None

    def __len__(self) -> int:
        return len(next(iter(self.texts.values())))

    def subset(self, n: int | None, seed: int = 0) -> Split:
        """A deterministic random subset of ``n`` examples (all of them if n is None)."""
        if n is None or n >= len(self):
            return self
        idx = np.sort(np.random.default_rng(seed).permutation(len(self))[:n])
        return Split(
            texts={k: [v[i] for i in idx] for k, v in self.texts.items()},
            labels=None if self.labels is None else self.labels[idx],
            pos_tags=None
            if self.pos_tags is None
            else {k: [v[i] for i in idx] for k, v in self.pos_tags.items()},
            meta=None
            if self.meta is None
            else {k: [v[i] for i in idx] for k, v in self.meta.items()},
        )

    def columns(self, spec: TaskSpec) -> tuple[list[str], list[str] | None]:
        """``(first texts, second texts or None)`` in the spec's field order."""
        first = self.texts[spec.text_fields[0]]
        second = self.texts[spec.text_fields[1]] if spec.is_pair else None
        return first, second


@dataclass
class TaskData:
    """A loaded task: its spec and its splits (``"train"``, the eval splits, ``"test"``)."""

    spec: TaskSpec
    splits: dict[str, Split]
    info: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, split: str) -> Split:
        if split not in self.splits:
            raise KeyError(
                f"{self.spec.name} has no split '{split}'; it has {sorted(self.splits)}."
            )
        return self.splits[split]


_TASKS: dict[str, tuple[TaskSpec, Callable[..., TaskData]]] = {}


def register_task(spec: TaskSpec, loader: Callable[..., TaskData]) -> None:
    """Register ``loader(spec, **kwargs) -> TaskData`` under ``spec.name``."""
    _TASKS[spec.name] = (spec, loader)


def _ensure_registered() -> None:
    # Importing the task modules registers their tasks.
    for module in ("kdzoo.data.embedded", "kdzoo.data.glue"):
        importlib.import_module(module)


def tasks() -> list[str]:
    """The names of every task kdzoo can load."""
    _ensure_registered()
    return sorted(_TASKS)


def get_spec(name: str) -> TaskSpec:
    _ensure_registered()
    if name not in _TASKS:
        raise ValueError(f"unknown task '{name}'. Valid tasks: {', '.join(sorted(_TASKS))}.")
    return _TASKS[name][0]


def load_task(name: str, **kwargs: Any) -> TaskData:
    """Load task ``name``; the keyword arguments go to its loader (see its docs)."""
    spec = get_spec(name)
    return _TASKS[name][1](spec, **kwargs)
