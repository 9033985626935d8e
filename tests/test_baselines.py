"""baselines/published.csv: well-formed, on kdzoo's names, and consistent with itself."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import pytest

import kdzoo

ROWS = list(csv.DictReader((Path(__file__).parents[1] / "baselines" / "published.csv").open()))
AVERAGES = {"glue-avg", "avg4", "glue-macro"}


def test_rows_use_kdzoo_names():
    tasks = set(kdzoo.tasks()) | {"mnli-matched", "mnli-mismatched"} | AVERAGES
    methods = set(kdzoo.methods()) | {"teacher", "student-only", "baseline"}
    for r in ROWS:
        assert r["task"] in tasks, r
        assert r["method"] in methods, r
        assert r["split"] in ("dev", "test"), r
        float(r["value"])
    assert len(ROWS) > 150


@pytest.mark.parametrize(("table", "average", "n"), [("Table 1", "glue-avg", 9)])
def test_tinybert_table_1_averages_recompute(table, average, n):
    cells = defaultdict(dict)
    for r in ROWS:
        if r["paper"].startswith("TinyBERT") and r["table"] == table:
            cells[r["model"]][r["task"]] = float(r["value"])
    checked = 0
    for model, values in cells.items():
        if average in values and len(values) == n + 1:
            columns = [v for k, v in values.items() if k != average]
            assert sum(columns) / n == pytest.approx(values[average], abs=0.06), model
            checked += 1
    assert checked >= 7


def test_tinybert_ablation_averages_recompute():
    by_model = defaultdict(dict)
    for r in ROWS:
        if r["paper"].startswith("TinyBERT") and r["split"] == "dev":
            by_model[r["model"]][r["task"]] = float(r["value"])
    assert len(by_model) == 12
    for model, v in by_model.items():
        four = [v["mnli-matched"], v["mnli-mismatched"], v["mrpc"], v["cola"]]
        assert sum(four) / 4 == pytest.approx(v["avg4"], abs=0.06), model
