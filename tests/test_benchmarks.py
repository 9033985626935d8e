"""The benchmark harness (``python -m benchmarks``): it runs, writes valid results, and
computes the targets table correctly. No timing is asserted: speed targets live in the
committed results (benchmarks/results/), not in tests."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import BACKEND

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"


def _load(name: str, path: Path):
    sys.path.insert(0, str(BENCH))  # the scripts import their siblings by name
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCH))


harness = _load("kdzoo_bench_harness", BENCH / "__main__.py")
bench_step = _load("kdzoo_bench_step", BENCH / "bench_step.py")


def _smoke(tmp_path, *args):
    out = tmp_path / "results"
    env = {**os.environ, "KERAS_BACKEND": BACKEND}
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--smoke", "--runs", "1", "--out", str(out), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads((out / "bench.json").read_text())
    table = (out / "bench.md").read_text()
    return report, table, out


def _check_report(report, table, measures):
    assert report["smoke"] is True
    assert [r["id"] for r in report["targets"]] == [t[0] for t in harness.TARGETS]
    assert "| # | measure | target | value | backend | met |" in table
    for r in report["results"]:
        assert "error" not in r, r["error"]
        assert r["measure"] in measures
        assert r["machine"]["cores"] >= 1
    for r in (r for r in report["results"] if r["measure"] == "step"):
        if r["impl"] == "side-by-side":  # one process, each implementation's own times
            assert {"kdzoo", "torch"} <= set(r["steps"]) and r["peak_rss_mb"] > 0
            for v in r["steps"].values():
                assert len(v["step_ms_all"]) == r["warmup"] + r["runs"]
                assert v["step_ms"] > 0
            continue
        times = r["step_ms_all"]
        assert len(times) == r["warmup"] + r["runs"] and all(t > 0 for t in times)
        assert r["gemm_gflops"] > 0 and r["peak_rss_mb"] > 0
        if r["impl"].startswith("kdzoo"):  # every TinyBERT term of the joint step ran
            assert r["loss_terms"] == [
                "attention_loss",
                "embedding_loss",
                "hidden_loss",
                "prediction_loss",
            ]
    for r in (r for r in report["results"] if r["measure"] == "inference"):
        if r["impl"] == "side-by-side":
            for impls in r["models"].values():
                assert {"kdzoo", "hf"} <= set(impls)
                assert all(len(v["ms_all"]) == r["runs"] and v["ms"] > 0 for v in impls.values())
            continue
        assert all(m["ms"] > 0 for m in r["models"].values())


@pytest.mark.no_backend  # runs the scripts on every backend itself
def test_smoke_run_of_every_measure_with_the_references(tmp_path):
    """Every measure on torch, against the hand-written PyTorch loop, TextBrewer (when
    installed) and HF. The other backends' envs run their own kdzoo measurements below."""
    report, table, out = _smoke(tmp_path, "--backends", "torch")
    _check_report(report, table, set(harness.MEASURES))
    impls = {(r["measure"], r.get("impl")) for r in report["results"]}
    assert {("step", "kdzoo"), ("step", "kdzoo-cached"), ("step", "kdzoo-keras-adamw")} <= impls
    assert ("step", "torch") in impls
    assert ("inference", "hf") in impls
    assert ("step", "side-by-side") in impls and ("inference", "side-by-side") in impls
    if importlib.util.find_spec("textbrewer"):
        assert ("step", "textbrewer") in impls
    measured = {r["id"] for r in report["targets"] if r["value"] is not None}
    textbrewer = {"1c", "1d"} if importlib.util.find_spec("textbrewer") else set()
    assert measured == {"1a", "1b", "2a", "2b", "3", "4", "5"} | textbrewer
    assert (out / "augment-torch.json").exists() and (out / "cache-torch.json").exists()
    # 1a, 2a and 2b come from the one-process side-by-side measures (1c too with TextBrewer)
    backends = {r["id"]: r["backend"] for r in report["targets"]}
    assert {backends[t] for t in ("1a", "2a", "2b")} == {"torch, one process"}
    assert "The step side by side" in table and "Inference side by side" in table


@pytest.mark.skipif(BACKEND == "torch", reason="the torch env runs the whole suite above")
def test_smoke_run_on_this_backend(tmp_path):
    report, table, _ = _smoke(
        tmp_path, "--backends", BACKEND, "--only", "step,inference", "--no-references"
    )
    _check_report(report, table, {"step", "inference"})
    assert {r["backend"] for r in report["results"]} == {BACKEND}
    assert {r["id"]: r["value"] for r in report["targets"]}["1b"] is None  # no reference


def _step(impl, backend, ms, efficiency=0.5):
    return {
        "measure": "step",
        "impl": impl,
        "backend": backend,
        "step_ms": ms,
        "efficiency": efficiency,
    }


def test_targets_table_from_results():
    results = [
        _step("kdzoo", "torch", 620.0, efficiency=0.71),
        _step("kdzoo", "jax", 500.0),
        _step("kdzoo-cached", "torch", 250.0),
        _step("kdzoo-cached", "jax", 200.0),
        _step("torch", "torch", 550.0),
        _step("textbrewer", "torch", 640.0),
        {"measure": "step", "impl": "kdzoo", "backend": "tensorflow", "error": "failed"},
        {
            "measure": "inference",
            "impl": "kdzoo",
            "backend": "torch",
            "models": {
                "teacher (bert-base)": {"ms": 2750.0},
                "student (tinybert-4l)": {"ms": 170.0},
            },
        },
        {
            "measure": "inference",
            "impl": "hf",
            "backend": "torch",
            "models": {
                "teacher (bert-base)": {"ms": 2500.0},
                "student (tinybert-4l)": {"ms": 160.0},
            },
        },
        {"measure": "augment", "backend": "torch", "speedup": 7.9},
        {"measure": "cache", "backend": "torch", "ratio": 0.24},
    ]
    rows = {r["id"]: r for r in harness.ratios(results)}
    expect = {
        "1a": (620 / 550, False, "torch"),
        "1b": (500 / 550, True, "jax"),  # the fastest backend that ran (tensorflow failed)
        "1c": (620 / 640, True, "torch"),
        "1d": (200 / 640, True, "jax"),
        "2a": (2750 / 2500, True, "torch"),  # 1.10 exactly meets "<= 1.1"
        "2b": (2750 / 170, True, "torch"),
        "3": (0.71, True, "torch"),
        "4": (7.9, False, "torch"),
        "5": (0.24, True, "torch"),
    }
    for tid, (value, met, backend) in expect.items():
        assert rows[tid]["value"] == pytest.approx(value), tid
        assert rows[tid]["met"] is met, tid
        assert rows[tid]["backend"] == backend, tid


def test_side_by_side_results_give_the_torch_ratios():
    """When the one-process measures ran, 1a, 1c, 2a and 2b are taken from them, not from
    the separate processes (which stay in the results, for memory and FLOP/s)."""
    results = [
        _step("kdzoo", "torch", 900.0, efficiency=0.71),
        _step("torch", "torch", 800.0),
        _step("textbrewer", "torch", 850.0),
        {
            "measure": "step",
            "impl": "side-by-side",
            "backend": "torch",
            "steps": {
                "kdzoo": {"step_ms": 840.0},
                "torch": {"step_ms": 800.0},
                "textbrewer": {"step_ms": 860.0},
            },
        },
        {
            "measure": "inference",
            "impl": "kdzoo",
            "backend": "torch",
            "models": {"teacher (b)": {"ms": 5000.0}, "student (s)": {"ms": 370.0}},
        },
        {
            "measure": "inference",
            "impl": "hf",
            "backend": "torch",
            "models": {"teacher (b)": {"ms": 4000.0}, "student (s)": {"ms": 300.0}},
        },
        {
            "measure": "inference",
            "impl": "side-by-side",
            "backend": "torch",
            "models": {
                "teacher (b)": {"kdzoo": {"ms": 4800.0}, "hf": {"ms": 4500.0}},
                "student (s)": {"kdzoo": {"ms": 300.0}, "hf": {"ms": 280.0}},
            },
        },
    ]
    rows = {r["id"]: r for r in harness.ratios(results)}
    expect = {
        "1a": (840 / 800, True),
        "1c": (840 / 860, True),
        "2a": (4800 / 4500, True),
        "2b": (4800 / 300, True),
    }
    for tid, (value, met) in expect.items():
        assert rows[tid]["value"] == pytest.approx(value), tid
        assert rows[tid]["met"] is met, tid
        assert rows[tid]["backend"] == "torch, one process", tid
    assert rows["3"]["value"] == 0.71  # FLOP/s still from kdzoo's own process
    table = harness.markdown(
        {
            "smoke": True,
            "runs": 5,
            "date": "today",
            "command": "python -m benchmarks",
            "machine": {},
            "targets": list(rows.values()),
            "results": [
                {**r, "step_gflop": 1, "achieved_gflops": 1, "gemm_gflops": 2, "peak_rss_mb": 1}
                for r in results
            ],
        }
    )
    assert "| kdzoo | 840.0 | 1.00 | — |" in table and "| textbrewer | 860.0 | 0.98 | — |" in table
    assert "| hf | teacher (b) | 4500.0 | 1.0× | 1.00 | — |" in table


@pytest.mark.parametrize("jit_ms, picked", [(700.0, "kdzoo-jit"), (900.0, "kdzoo")])
def test_a_compiled_kdzoo_step_gives_1a_and_1c_where_it_is_faster(jit_ms, picked):
    """With --jit the side-by-side step also times kdzoo compiled (jit_compile=True); 1a
    and 1c take kdzoo's faster torch step and say which, and the table shows both with
    the compilation's seconds."""
    steps = {
        "kdzoo": {"step_ms": 840.0},
        "torch": {"step_ms": 800.0},
        "textbrewer": {"step_ms": 860.0},
        "kdzoo-jit": {"step_ms": jit_ms, "compile_seconds": 94.4},
    }
    results = [{"measure": "step", "impl": "side-by-side", "backend": "torch", "steps": steps}]
    rows = {r["id"]: r for r in harness.ratios(results)}
    how = "torch, jit_compile=True" if picked == "kdzoo-jit" else "torch"
    for tid, ref in (("1a", "torch"), ("1c", "textbrewer")):
        ours = steps[picked]["step_ms"]
        assert rows[tid]["value"] == pytest.approx(ours / steps[ref]["step_ms"]), tid
        assert rows[tid]["backend"] == f"{how}, one process", tid
    table = harness.markdown(
        {"smoke": False, "runs": 5, "date": "today", "command": "python -m benchmarks",
         "machine": {}, "targets": list(rows.values()), "results": results}
    )  # fmt: skip
    assert f"| kdzoo-jit | {jit_ms:.1f} | {840 / jit_ms:.2f} | 94 |" in table


def test_textbrewer_loop_is_timed_without_the_work_between_its_steps(monkeypatch):
    """_TimedBatches times each of the loop's steps from handing out the batch to the
    next request, and runs ``between`` after each step outside that span (a fake clock:
    each loop step takes 1 s, each ``between`` 100 s)."""
    import types

    clock = types.SimpleNamespace(now=0.0)
    monkeypatch.setattr(bench_step, "time", types.SimpleNamespace(perf_counter=lambda: clock.now))
    seen = []

    def between(i):
        seen.append(i)
        clock.now += 100

    batches = bench_step._TimedBatches("batch", 3, between=between)
    for batch in batches:  # the "training loop"
        assert batch == "batch"
        clock.now += 1
    assert seen == [0, 1, 2] and len(batches) == 3
    assert batches.times == [1.0, 1.0, 1.0]


def test_targets_without_results_are_unmeasured_not_met():
    rows = harness.ratios([_step("kdzoo", "torch", 600.0)])
    by_id = {r["id"]: r for r in rows}
    assert by_id["1a"]["value"] is None and by_id["1a"]["met"] is None
    assert by_id["3"]["value"] == 0.5 and by_id["3"]["met"] is False


def test_step_flops_teacher_share_as_in_the_issue():
    """BERT-base teacher, TinyBERT4 student, batch 8, length 64: the teacher's forward
    pass is about 83 % of the step's FLOPs, and a step about 106 GFLOP."""
    from kdzoo.models.bert import BertConfig

    teacher = BertConfig.from_preset("bert-base", num_labels=2)
    student = BertConfig.from_preset("tinybert-4l", num_labels=2)
    flops = bench_step.step_flops(teacher, student, 8, 64)
    assert flops["teacher_forward"] / flops["total"] == pytest.approx(0.83, abs=0.01)
    # Independent count for the teacher: 2 × weight-matrix parameters per token, plus
    # QKᵀ and PV (2 · 2 · L · H per token and layer).
    weights = 12 * (4 * 768 * 768 + 2 * 768 * 3072)
    per_token = 2 * weights + 12 * 4 * 64 * 768
    pooler_classifier = 2 * 768 * 768 + 2 * 768 * 2
    assert flops["teacher_forward"] == 8 * 64 * per_token + 8 * pooler_classifier


@pytest.mark.no_backend  # the harness's bookkeeping; no Keras code
def test_rounds_interleave_the_cross_process_jobs_and_keep_the_median(monkeypatch):
    """--rounds R runs every step and inference job once per round, round after round
    (so a drift in the machine's speed reaches every implementation alike), the other
    measures once; each job's result is its median round."""
    import argparse

    calls = []
    step_ms = {"kdzoo": [500.0, 900.0, 520.0], "torch": [400.0, 700.0, 410.0]}

    def fake_run(script, backend, args, log):
        calls.append((script, args[1] if args[0] == "--impl" else None))
        impl = args[1] if args[0] == "--impl" else None
        seen = sum(1 for c in calls if c == calls[-1]) - 1
        if script == "bench_step.py":
            times = step_ms.get(impl, [300.0, 310.0, 320.0])
            return {"measure": "step", "impl": impl, "step_ms": times[seen]}
        if script == "bench_inference.py":
            ms = [2500.0, 3000.0, 2600.0][seen]
            return {"measure": "inference", "impl": impl, "models": {"teacher": {"ms": ms}}}
        return {"measure": "cache", "ratio": 0.3}

    monkeypatch.setattr(harness, "_run", fake_run)
    monkeypatch.setattr(harness, "_installed", lambda package: package != "textbrewer")
    args = argparse.Namespace(
        smoke=True,
        runs=5,
        rounds=3,
        only=["step", "inference", "cache"],
        backends=["torch"],
        references=True,
        out="/tmp/unused",
    )
    results = harness.collect(args, log=lambda line: None)
    round_one = [
        ("bench_step.py", "kdzoo"),
        ("bench_step.py", "kdzoo-cached"),
        ("bench_step.py", "kdzoo-keras-adamw"),
        ("bench_step.py", "torch"),
        ("bench_inference.py", "kdzoo"),
        ("bench_inference.py", "hf"),
    ]
    once = [("bench_step.py", "side-by-side"), ("bench_inference.py", "side-by-side")]
    first = [*round_one[:4], once[0], *round_one[4:], once[1]]
    assert calls == [*first, ("bench_cache.py", None), *round_one, *round_one]
    by_impl = {(r["measure"], r.get("impl")): r for r in results}
    assert by_impl[("step", "kdzoo")]["step_ms"] == 520.0
    assert by_impl[("step", "kdzoo")]["rounds"] == {"step_ms": [500.0, 900.0, 520.0]}
    assert by_impl[("step", "torch")]["step_ms"] == 410.0
    assert by_impl[("inference", "kdzoo")]["models"]["teacher"]["ms"] == 2600.0
    assert "error" in by_impl[("step", "textbrewer")]  # not installed: said once
    assert by_impl[("cache", None)]["ratio"] == 0.3
    assert len(results) == 10
