"""Teacher labels for augmented examples: the teacher's logits, computed once.

An augmented sentence is a new example whose label may differ from the original's
("the film was good" -> "the film was bad"), so kdzoo labels augmented rows with the
teacher, as TinyBERT (soft cross-entropy on the teacher's logits) and Tang et al.
(d-bert's ``join_logits.py`` writes the teacher's logits next to each row) do, and
never copies the original's label.

:func:`teacher_label` runs the teacher once over the encoded rows; with a
:class:`~kdzoo.data.cache.TeacherCache` it goes through the cache, so the logits are
computed once per (teacher, inputs) and read back from disk afterwards::

    aug = TinyBertAugmenter(mlm, tokenizer, vectors).augment_split(train, spec)
    inputs = encode(tokenizer, *aug.columns(spec), max_length=128)
    labels = teacher_label(teacher, inputs, cache=TeacherCache("cache/"))
    labels["logits"]  # [N, C], the distillation targets

Book chapter: ``book/augment/index.md``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kdzoo.data.cache import TeacherCache, compute_teacher_outputs

__all__ = ["teacher_label"]


def teacher_label(
    teacher,
    inputs: dict[str, np.ndarray],
    *,
    cache: TeacherCache | None = None,
    batch_size: int = 64,
    progress: bool = True,
    extra: dict[str, Any] | None = None,
) -> dict[str, np.ndarray]:
    """The teacher's logits (and class probabilities) on every row of ``inputs``.

    Args:
        teacher: a kdzoo model with a classification or regression head, run with
            ``training=False``.
        inputs: the model input dict from :func:`kdzoo.tokenization.encode`, arrays [N, L].
        cache: a :class:`~kdzoo.data.cache.TeacherCache`; the logits are read from it,
            or computed and stored there under the (teacher, inputs, extra) fingerprint.
        batch_size: rows per forward pass.
        progress: show a progress bar while the teacher runs.
        extra: anything else the outputs depend on, part of the cache key.

    Returns:
        ``{"logits": [N, C] float32, "probs": [N, C] float32}``, the probabilities the
        softmax of the logits; for a regression teacher (one output) only ``"logits"``
        [N, 1].
    """
    if cache is not None:
        out = cache.teacher_outputs(
            teacher, inputs, batch_size=batch_size, extra=extra, progress=progress
        )
    else:
        out = compute_teacher_outputs(teacher, inputs, batch_size=batch_size, progress=progress)
    logits = np.asarray(out["logits"], np.float32)
    problem = getattr(getattr(teacher, "config", None), "problem_type", None)
    if problem == "regression" or (problem is None and logits.shape[-1] == 1):
        return {"logits": logits}
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return {"logits": logits, "probs": (shifted / shifted.sum(axis=-1, keepdims=True))}
