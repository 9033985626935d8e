"""GLUE metrics in plain NumPy: accuracy, F1, Matthews correlation, Pearson, Spearman.

Each function takes two 1-D arrays of the same length and returns a Python float.
:func:`compute_metrics` turns a model's outputs (logits, or scores for regression)
into the metrics a :class:`~kdzoo.data.base.TaskSpec` names, keyed by those names.

Degenerate inputs follow GLUE's reference implementation (scikit-learn / SciPy) where
it is defined and return 0.0 where it is not: a correlation of a constant vector is
0/0, reported as 0.0 (no linear association) rather than ``nan``, so that a collapsed
model scores 0 instead of breaking a results table.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from kdzoo.data.base import TaskSpec

__all__ = [
    "METRICS",
    "accuracy",
    "compute_metrics",
    "f1",
    "matthews_corrcoef",
    "pearson",
    "spearman",
]


def _pair(predictions, labels, *, dtype=None) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(predictions, dtype=dtype)
    y = np.asarray(labels, dtype=dtype)
    if p.ndim != 1 or y.ndim != 1:
        raise ValueError(
            f"metrics take 1-D arrays; got shapes {p.shape} and {y.shape}. "
            "Take the argmax of logits first, or use compute_metrics()."
        )
    if p.shape != y.shape:
        raise ValueError(f"predictions ({len(p)}) and labels ({len(y)}) differ in length.")
    if len(p) == 0:
        raise ValueError("cannot compute a metric on zero examples.")
    return p, y


def accuracy(predictions, labels) -> float:
    """Fraction of exact matches: ``mean(pred == label)``.

    Args:
        predictions: [N] predicted class ids.
        labels: [N] gold class ids.

    Returns:
        The accuracy in [0, 1].
    """
    p, y = _pair(predictions, labels)
    return float(np.mean(p == y))


def f1(predictions, labels) -> float:
    """Binary F1 of the positive class 1: ``2·TP / (2·TP + FP + FN)``.

    This is what GLUE reports for MRPC and QQP (scikit-learn's ``f1_score`` with
    ``average="binary"``). With no positive prediction and no positive label the
    ratio is 0/0; it is reported as 0.0, as scikit-learn does.

    Args:
        predictions: [N] predicted class ids (0 or 1).
        labels: [N] gold class ids (0 or 1).

    Returns:
        The F1 score in [0, 1].
    """
    p, y = _pair(predictions, labels)
    p, y = p == 1, y == 1
    tp = np.sum(p & y)
    fp = np.sum(p & ~y)
    fn = np.sum(~p & y)
    denominator = 2 * tp + fp + fn
    return float(2 * tp / denominator) if denominator else 0.0


def matthews_corrcoef(predictions, labels) -> float:
    """Matthews correlation coefficient, GLUE's CoLA metric (multi-class form).

    With the confusion matrix's per-class true counts ``t_k``, predicted counts
    ``p_k``, ``c`` correct predictions and ``s`` examples::

        MCC = (c·s − Σ p_k·t_k) / sqrt((s² − Σ p_k²) · (s² − Σ t_k²))

    which for two classes is ``(TP·TN − FP·FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN))``.
    When either factor under the root is 0 (constant predictions or constant labels)
    the coefficient is undefined; it is reported as 0.0, as scikit-learn does.

    Args:
        predictions: [N] predicted class ids.
        labels: [N] gold class ids.

    Returns:
        The coefficient in [-1, 1].
    """
    p, y = _pair(predictions, labels)
    classes, codes = np.unique(np.concatenate([y, p]), return_inverse=True)
    k = len(classes)
    y_codes, p_codes = codes[: len(y)], codes[len(y) :]
    t_k = np.bincount(y_codes, minlength=k).astype(np.float64)
    p_k = np.bincount(p_codes, minlength=k).astype(np.float64)
    c = float(np.sum(y_codes == p_codes))
    s = float(len(y))
    cov_yp = c * s - np.dot(p_k, t_k)
    cov_pp = s * s - np.dot(p_k, p_k)
    cov_yy = s * s - np.dot(t_k, t_k)
    if cov_pp == 0 or cov_yy == 0:
        return 0.0
    return float(cov_yp / np.sqrt(cov_pp * cov_yy))


def pearson(predictions, labels) -> float:
    """Pearson correlation: ``Σ(x−x̄)(y−ȳ) / sqrt(Σ(x−x̄)² · Σ(y−ȳ)²)``.

    GLUE's first STS-B metric. If either vector is constant the ratio is 0/0 (SciPy
    returns ``nan``); it is reported as 0.0. Non-finite inputs (a diverged model)
    give ``nan``, so that they are not mistaken for a score.

    Args:
        predictions: [N] predicted scores.
        labels: [N] gold scores.

    Returns:
        The coefficient in [-1, 1], 0.0 for a constant input, ``nan`` for non-finite input.
    """
    x, y = _pair(predictions, labels, dtype=np.float64)
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        return float("nan")
    x = x - x.mean()
    y = y - y.mean()
    denominator = np.sqrt(np.dot(x, x) * np.dot(y, y))
    if denominator == 0:
        return 0.0
    return float(np.clip(np.dot(x, y) / denominator, -1.0, 1.0))


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks of ``x``; tied values share the mean of the ranks they span."""
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)  # rank of the last member of each group of equal values
    starts = ends - counts + 1  # rank of the first
    return ((starts + ends) / 2.0)[inverse]


def spearman(predictions, labels) -> float:
    """Spearman rank correlation: Pearson correlation of the ranks.

    ``rho = pearson(rank(x), rank(y))``, where tied values get the average of the
    ranks they span (SciPy's ``spearmanr``). GLUE's second STS-B metric. A constant
    input gives 0.0 (SciPy: ``nan``); non-finite input gives ``nan``.

    Args:
        predictions: [N] predicted scores.
        labels: [N] gold scores.

    Returns:
        The coefficient in [-1, 1], 0.0 for a constant input, ``nan`` for non-finite input.
    """
    x, y = _pair(predictions, labels, dtype=np.float64)
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        return float("nan")
    return pearson(_average_ranks(x), _average_ranks(y))


METRICS: dict[str, Callable[..., float]] = {
    "accuracy": accuracy,
    "f1": f1,
    "matthews_correlation": matthews_corrcoef,
    "pearson": pearson,
    "spearman": spearman,
}
"""Metric functions by the names a :class:`~kdzoo.data.base.TaskSpec` uses."""


def compute_metrics(spec: TaskSpec, predictions, labels) -> dict[str, float]:
    """The metrics ``spec.metrics`` names, computed from a model's outputs.

    Args:
        spec: the task; its ``metrics`` are computed, in order.
        predictions: classification: logits or probabilities [N, C] (the argmax is
            taken), or class ids [N] of integer dtype. Regression: scores [N] or [N, 1].
        labels: [N] gold class ids or scores (a split's ``labels``).

    Returns:
        ``{metric name: value}`` with exactly the keys of ``spec.metrics``.

    Raises:
        ValueError: unlabelled data, shapes that do not fit the task, or a metric
            name kdzoo does not know.
    """
    if labels is None:
        raise ValueError(
            f"{spec.name}: no labels to score against (a test split is unlabelled); "
            "evaluate on a dev split instead."
        )
    preds = np.asarray(predictions)
    gold = np.asarray(labels)
    if spec.is_regression:
        if preds.ndim == 2 and preds.shape[1] == 1:
            preds = preds[:, 0]
        if preds.ndim != 1:
            raise ValueError(
                f"{spec.name} is a regression task: predictions must be scores [N] or [N, 1]; "
                f"got shape {preds.shape}."
            )
        preds = preds.astype(np.float64)
        gold = gold.astype(np.float64)
    elif preds.ndim == 2:
        if preds.shape[1] != spec.num_labels:
            raise ValueError(
                f"{spec.name} has {spec.num_labels} labels {spec.label_names}, but the "
                f"predictions have {preds.shape[1]} columns (shape {preds.shape})."
            )
        preds = np.argmax(preds, axis=-1)
    elif preds.ndim != 1 or not np.issubdtype(preds.dtype, np.integer):
        raise ValueError(
            f"{spec.name}: predictions must be logits [N, {spec.num_labels}] or integer "
            f"class ids [N]; got shape {preds.shape} and dtype {preds.dtype}."
        )
    unknown = [name for name in spec.metrics if name not in METRICS]
    if unknown:
        raise ValueError(
            f"{spec.name}: unknown metric(s) {unknown}; kdzoo computes {sorted(METRICS)}."
        )
    return {name: METRICS[name](preds, gold) for name in spec.metrics}
