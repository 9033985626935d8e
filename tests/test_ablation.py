"""Ablation.verdict: the noise rule, paired by seed, against a plain NumPy restatement.

These tests build the table by hand, so they run without training (ablate itself is
exercised end to end in test_compare.py)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kdzoo.ablation import Ablation


def _ablation(values: dict[str, list[float]], seeds=None, paper=None) -> Ablation:
    rows = {}
    for name, v in values.items():
        rows[name] = {
            "mean": float(np.mean(v)),
            "std": float(np.std(v, ddof=1)),
            "seeds": len(v),
            "values": list(v),
            "seed list": list(seeds[name] if seeds else range(len(v))),
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    ref = next(iter(values))
    table["delta"] = table["mean"] - table.loc[ref, "mean"]
    if paper is not None:
        table["paper"] = [paper.get(n, np.nan) for n in table.index]
        table["paper delta"] = table["paper"] - table.loc[ref, "paper"]
    return Ablation(
        method="m",
        task="t",
        headline="accuracy",
        table=table,
        published=None,
        output_dir=Path("."),
        reference=ref,
    )


def test_paired_seeds_separate_a_consistent_change_from_shared_seed_noise():
    # seed 0 is good for both variants, seeds 1 and 2 bad for both (as LAD's book runs):
    # unpaired, the spread (0.07) swamps the change; per seed, "uniform" is always lower.
    ab = _ablation(
        {"gated": [0.834, 0.717, 0.714], "uniform": [0.826, 0.692, 0.707]},
        paper={"gated": 80.0, "uniform": 79.0},
    )
    v = ab.verdict().loc["uniform"]
    diffs = np.array([0.826 - 0.834, 0.692 - 0.717, 0.707 - 0.714])
    assert v["paired"]
    assert v["ours Δ"] == pytest.approx(diffs.mean())
    assert v["noise"] == pytest.approx(diffs.std(ddof=1))
    assert v["verdict"] == "reproduces"
    assert "noise" in ab.report() and "per-seed differences" in ab.report()


def test_paired_changes_of_both_signs_are_within_noise():
    ab = _ablation({"ref": [0.80, 0.70, 0.75], "x": [0.82, 0.68, 0.76]}, paper={"ref": 1, "x": 0})
    assert ab.verdict().loc["x", "verdict"] == "within noise"


def test_a_consistent_change_against_the_paper_is_opposite():
    ab = _ablation({"ref": [0.80, 0.70, 0.75], "x": [0.83, 0.74, 0.78]}, paper={"ref": 1, "x": 0})
    assert ab.verdict().loc["x", "verdict"] == "opposite"


def test_without_a_paper_number_a_change_beyond_noise_says_so():
    ab = _ablation({"ref": [0.80, 0.70, 0.75], "x": [0.70, 0.61, 0.64]})
    assert ab.verdict().loc["x", "verdict"] == "no paper number"


def test_different_seeds_fall_back_to_the_larger_standard_deviation():
    values = {"ref": [0.834, 0.717, 0.714], "x": [0.826, 0.692, 0.707]}
    ab = _ablation(values, seeds={"ref": [0, 1, 2], "x": [3, 4, 5]})
    v = ab.verdict().loc["x"]
    assert not v["paired"]
    assert v["noise"] == pytest.approx(
        max(np.std(values["ref"], ddof=1), np.std(values["x"], ddof=1))
    )
    assert v["verdict"] == "within noise"
    assert "per-seed differences" not in ab.report()
