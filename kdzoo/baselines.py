"""The papers' published numbers and full-scale recipes, read from ``baselines/``.

- :func:`published` returns rows of ``baselines/published.csv``: what TinyBERT,
  DistilBERT, PKD and Tang et al. report, one row per (paper, table, model, task,
  metric), each with its source and how to read it.
- :func:`paper_recipe` returns a method's full-scale hyperparameters from
  ``baselines/recipes.json``, the task's overrides merged into the defaults, every value
  group with its source. ``recipe["method_config"]`` goes to
  ``kdzoo.get_method(name, **config)``; the other groups (``epochs``, ``batch_size``,
  ``max_length``, ``student``, ``teacher``, ``augmentation``, ...) are for the caller.
- :func:`baselines_dir` says where the files were found.

``baselines/`` is the single source of truth. A wheel ships it as the package data of
``kdzoo._baselines`` (``pyproject.toml`` maps that package onto the directory); a source
checkout or an editable install reads the directory itself.

This is a bottom-layer module: it imports the standard library and pandas only.
The schema of both files is documented in ``baselines/README.md``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["baselines_dir", "paper_recipe", "published"]

_FILES = ("published.csv", "recipes.json")
_MNLI = ("mnli-matched", "mnli-mismatched")
_ROLES = ("teacher", "student-only", "baseline")


def baselines_dir() -> Path:
    """The directory holding ``published.csv`` and ``recipes.json``.

    An installed wheel has them in ``kdzoo/_baselines/``; a source checkout (and an
    editable install of it) in the top-level ``baselines/`` next to ``kdzoo/``.

    Raises:
        FileNotFoundError: neither place has both files.
    """
    here = Path(__file__).resolve().parent
    candidates = (here / "_baselines", here.parent / "baselines")
    for directory in candidates:
        if all((directory / name).is_file() for name in _FILES):
            return directory
    raise FileNotFoundError(
        f"kdzoo's baselines ({', '.join(_FILES)}) are in neither "
        f"{candidates[0]} (installed wheel) nor {candidates[1]} (source checkout); "
        "reinstall kdzoo, or run from a checkout that has baselines/."
    )


@lru_cache(maxsize=1)
def _table() -> pd.DataFrame:
    # keep_default_na=False: "n/a" (split of a timing row) and empty notes stay strings.
    df = pd.read_csv(baselines_dir() / "published.csv", dtype=str, keep_default_na=False)
    df["value"] = pd.to_numeric(df["value"])
    df["params_m"] = pd.to_numeric(df["params_m"].replace("", None))
    return df


@lru_cache(maxsize=1)
def _recipes() -> dict[str, Any]:
    with (baselines_dir() / "recipes.json").open(encoding="utf-8") as f:
        return json.load(f)


def _as_set(value: str | Iterable[str]) -> set[str]:
    return {value} if isinstance(value, str) else set(value)


def published(
    task: str | Iterable[str] | None = None,
    method: str | Iterable[str] | None = None,
    *,
    paper: str | None = None,
    split: str | None = None,
    metric: str | None = None,
) -> pd.DataFrame:
    """Published numbers, filtered; every filter left at None keeps every row.

    Args:
        task: a task name as in the CSV (``"sst2"``, ``"cola"``, ``"glue-avg"``, ...), or
            several. ``"mnli"`` selects both ``mnli-matched`` and ``mnli-mismatched``
            rows (the papers report both; kdzoo's MNLI task is one name). A task no paper
            reports (``"synth-nli"``) gives an empty frame.
        method: a kdzoo method name (``"tinybert"``, ``"pkd"``, ...) or a role
            (``"teacher"``, ``"student-only"``, ``"baseline"``), or several. A method
            with a recipe but no numbers (``"lad"``, ``"kd"``) gives an empty frame.
        paper: keep rows whose ``paper`` contains this text, case-insensitively
            (``"TinyBERT"``).
        split: ``"dev"``, ``"test"`` or ``"n/a"`` (measurements with no split).
        metric: e.g. ``"accuracy"``, ``"f1"``, ``"average"``. Note that a task can carry
            rows of several metrics, including ``cpu_inference_seconds`` (not a score).

    Returns:
        A new DataFrame with the CSV's columns (``paper, table, split, model, method,
        params_m, task, metric, value, note``) in file order, ``value`` and
        ``params_m`` as floats (``params_m`` NaN where the source gives none).

    Raises:
        ValueError: a method name that is neither in the CSV, nor a method with a
            recipe, nor a role (the message lists the valid names).
    """
    df = _table()
    keep = pd.Series(True, index=df.index)
    if task is not None:
        tasks = _as_set(task)
        if "mnli" in tasks:
            tasks |= set(_MNLI)
        keep &= df["task"].isin(tasks)
    if method is not None:
        methods = _as_set(method)
        valid = set(df["method"]) | set(_recipes()["methods"]) | set(_ROLES)
        unknown = methods - valid
        if unknown:
            raise ValueError(
                f"unknown method(s) {sorted(unknown)}. Valid names: {', '.join(sorted(valid))}."
            )
        keep &= df["method"].isin(methods)
    if paper is not None:
        keep &= df["paper"].str.contains(paper, case=False, regex=False)
    if split is not None:
        keep &= df["split"] == split
    if metric is not None:
        keep &= df["metric"] == metric
    return df[keep].reset_index(drop=True).copy()


def _merge(base: dict, override: dict) -> tuple[dict, set[str]]:
    """``override`` merged into a copy of ``base``; dicts merge key by key, recursively.

    Returns the merged dict and the top-level keys that were merged (both dicts) rather
    than replaced.
    """
    out = copy.deepcopy(base)
    merged = set()
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)[0]
            merged.add(key)
        else:
            out[key] = copy.deepcopy(value)
    return out, merged


def paper_recipe(method: str, task: str | None = None) -> dict[str, Any]:
    """A method's full-scale recipe from ``baselines/recipes.json``.

    Args:
        method: a method with a recipe: ``bilstm``, ``distilbert``, ``kd``, ``lad``,
            ``pkd``, ``tinybert``.
        task: a kdzoo task name. Its overrides (e.g. TinyBERT's 10 intermediate epochs
            on MNLI, PKD's per-task alpha and T) are merged into the defaults; dict-valued
            groups merge key by key. ``"mnli-matched"`` / ``"mnli-mismatched"`` read as
            ``"mnli"``. None, or a task with no overrides, gives the defaults.

    Returns:
        A new dict: ``method``, ``paper``, ``task``, the value groups (``method_config``,
        ``teacher``, ``student``, ``epochs``, ``batch_size``, ``max_length``,
        ``augmentation``, and where present ``corpus`` / ``gradient_accumulation``),
        ``sources`` (one string per group; where a task changed part of a group, the
        default's source and the task's, joined by ``" | <task>: "``) and ``notes``.
        ``None`` marks a value no source gives. ``epochs``, and ``batch_size`` /
        ``max_length`` when they are dicts, are keyed by the method's stage names.

    Raises:
        ValueError: a method with no recipe (the message lists the valid ones).
    """
    recipes = _recipes()["methods"]
    if method not in recipes:
        raise ValueError(
            f"no paper recipe for method '{method}'. Valid methods: {', '.join(sorted(recipes))}."
        )
    entry = recipes[method]
    key = "mnli" if task in _MNLI else task
    default = copy.deepcopy(entry["default"])
    sources = default.pop("sources")
    override = copy.deepcopy(entry.get("tasks", {}).get(key, {})) if key is not None else {}
    task_sources = override.pop("sources", {})
    groups, merged = _merge(default, override)
    for group, source in task_sources.items():
        if group in merged and group in sources:
            sources[group] = f"{sources[group]} | {key}: {source}"
        else:
            sources[group] = source
    return {
        "method": method,
        "paper": entry["paper"],
        "task": task,
        **groups,
        "sources": sources,
        "notes": list(entry.get("notes", [])),
    }
