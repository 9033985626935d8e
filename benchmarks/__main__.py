"""Run kdzoo's benchmarks side by side and write the results with their targets.

    python -m benchmarks                      # everything, every installed backend
    python -m benchmarks --only step,inference --backends torch,jax
    python -m benchmarks --smoke --out /tmp/b # tiny shapes: checks that it all runs

Each measurement runs in its own process (``benchmarks/bench_*.py``, one JSON object
each), so every backend starts clean and peak memory is per measurement. On torch two
more jobs run kdzoo and the references in one process, one step (or forward) of each
in turn (``--impl side-by-side``): a host whose speed drifts then moves both sides of a
ratio alike, so targets 1a, 1c, 2a and 2b are taken from them. The harness then
computes the ratios of the issue's targets table and writes
``<out>/bench.json`` (every raw result, the ratios, the machine) and ``<out>/bench.md``
(the same as tables). Times are medians of ``--runs`` runs after a warm-up, measured in
this one invocation, so the ratios compare like with like.

Smoke mode shrinks every shape (a 6-layer 128-wide teacher, a 2-layer student, a
128×128 GEMM, a few sentences), so its numbers mean nothing; CI runs it to check that
the harness and every script work and write valid results.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BACKENDS = ("torch", "tensorflow", "jax")
MEASURES = ("step", "inference", "augment", "cache")

# (id, measure, what, target, direction): the table.
TARGETS = [
    (
        "1a",
        "step",
        "TinyBERT task-distillation step, kdzoo (torch) ÷ hand-written PyTorch",
        1.10,
        "<=",
    ),
    ("1b", "step", "same, kdzoo's best backend ÷ hand-written PyTorch", 0.95, "<="),
    (
        "1c",
        "step",
        "same, kdzoo (torch) ÷ TextBrewer GeneralDistiller, teacher every step",
        1.0,
        "<=",
    ),
    ("1d", "step", "kdzoo with cached teacher states (best backend) ÷ TextBrewer", 0.35, "<="),
    ("2a", "inference", "kdzoo BERT-base inference (torch) ÷ HF BertModel", 1.10, "<="),
    ("2b", "inference", "TinyBERT4 over BERT-base speedup through kdzoo (torch)", 15.0, ">="),
    ("3", "step", "distillation step's FLOP/s ÷ GEMM peak (kdzoo, torch)", 0.70, ">="),
    ("4", "augment", "TinyBERT augmentation, batched ÷ one pass per word (sentences/s)", 8.0, ">="),
    ("5", "cache", "teacher cache: cached ÷ uncached KD step, second epoch (torch)", 0.35, "<="),
]

FULL = {
    # The step: 5 warm-up steps, after which torch's step times had settled.
    "step": ["--warmup", "5"],
    "inference": [],
    "augment": ["--sentences", "40", "--n-samples", "20"],
    "cache": [
        "--teacher",
        "bert-base",
        "--student",
        "tinybert-4l",
        "--examples",
        "128",
        "--max-length",
        "128",
        "--batch-size",
        "32",
    ],
}
# Smoke shapes shared by the step and inference measures: tiny models, short batches.
_SMOKE_SHAPES = (
    "--teacher mini-6l-128h --student mini-2l-64h --vocab-size 1000 --batch-size 4 "
    "--length 16 --warmup 1"
).split()
SMOKE = {
    "step": [*_SMOKE_SHAPES, "--gemm-size", "128"],
    "inference": [*_SMOKE_SHAPES, "--bilstm", "tang-mini"],
    "augment": ["--sentences", "3", "--n-samples", "2", "--preset", "micro-2l-32h"],
    "cache": ["--examples", "32", "--batch-size", "16", "--max-length", "16"],
}


def _installed(package: str) -> bool:
    return importlib.util.find_spec(package) is not None


def _backend_package(backend: str) -> str:
    return {"torch": "torch", "tensorflow": "tensorflow", "jax": "jax"}[backend]


def _run(script: str, backend: str, args: list[str], log) -> dict:
    """One measurement in a fresh process; its last stdout line is its JSON result."""
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [sys.executable, str(HERE / script), *args]
    start = time.perf_counter()
    proc = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    log(f"  {script} {' '.join(args[:2])} [{backend}]: {seconds:.0f} s, exit {proc.returncode}")
    lines = proc.stdout.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("{")]  # the object's first line
    if proc.returncode != 0 or not starts:
        tail = "\n".join((proc.stderr or proc.stdout).splitlines()[-15:])
        return {"error": f"{script} {' '.join(args)} failed on {backend}:\n{tail}"}
    result = json.loads("\n".join(lines[starts[-1] :]))
    result["wall_seconds"] = seconds
    return result


def collect(args, log=print) -> list[dict]:
    sizes = SMOKE if args.smoke else FULL
    runs = ["--runs", str(args.runs)]
    jobs: list[tuple[str, str, list[str]]] = []
    if "step" in args.only:
        for backend in args.backends:
            for impl in ("kdzoo", "kdzoo-cached"):
                jobs.append(("bench_step.py", backend, ["--impl", impl, *sizes["step"], *runs]))
        if "torch" in args.backends:  # Keras's own AdamW, beside the default fused one
            jobs.append(
                ("bench_step.py", "torch", ["--impl", "kdzoo-keras-adamw", *sizes["step"], *runs])
            )
        if args.references:
            for impl in ("torch", "textbrewer"):
                jobs.append(("bench_step.py", "torch", ["--impl", impl, *sizes["step"], *runs]))
            if "torch" in args.backends:
                jit = [] if args.smoke else ["--jit"]  # torch.compile takes minutes
                side = ["--impl", "side-by-side", *sizes["step"], *runs, *jit]
                jobs.append(("bench_step.py", "torch", side))
    if "inference" in args.only:
        for backend in args.backends:
            jobs.append(
                ("bench_inference.py", backend, ["--impl", "kdzoo", *sizes["inference"], *runs])
            )
        if args.references:
            jobs.append(
                ("bench_inference.py", "torch", ["--impl", "hf", *sizes["inference"], *runs])
            )
            if "torch" in args.backends:
                jit = [] if args.smoke else ["--jit"]  # torch.compile takes minutes
                side = ["--impl", "side-by-side", *sizes["inference"], *runs, *jit]
                jobs.append(("bench_inference.py", "torch", side))
    for measure, script in (("augment", "bench_augment.py"), ("cache", "bench_cache.py")):
        if measure in args.only:
            for backend in args.backends:
                out = Path(args.out) / f"{measure}-{backend}.json"
                jobs.append((script, backend, [*sizes[measure], *runs, "--out", str(out)]))

    # The step and inference jobs of one implementation each are compared across
    # processes, so a machine whose speed drifts (a shared or throttled host) moves
    # their ratios; --rounds R runs those jobs R times in turn, each round through every
    # job, and keeps the median. The side-by-side jobs and the other measures divide
    # times taken in one process, and run once.
    rounds = max(1, args.rounds)
    order = [
        (index, job)
        for r in range(rounds)
        for index, job in enumerate(jobs)
        if r == 0 or (job[0] in _ROUNDED and "side-by-side" not in job[2])
    ]
    by_job: dict[int, list[dict]] = {}
    for index, (script, backend, job_args) in order:
        if script == "bench_step.py" and "textbrewer" in job_args and not _installed("textbrewer"):
            by_job[index] = [
                {
                    "measure": "step",
                    "impl": "textbrewer",
                    "backend": "torch",
                    "error": "textbrewer is not installed: pip install 'kdzoo[bench]'",
                }
            ]
            log("  textbrewer: not installed, skipped (pip install 'kdzoo[bench]')")
            continue
        result = _run(script, backend, job_args, log)
        result.setdefault("measure", script.removeprefix("bench_").removesuffix(".py"))
        result.setdefault("backend", backend)
        by_job.setdefault(index, []).append(result)
    return [merge_rounds(by_job[i]) for i in sorted(by_job)]


_ROUNDED = ("bench_step.py", "bench_inference.py")


def merge_rounds(results: list[dict]) -> dict:
    """One job's results over several rounds, as one result: the round whose time is
    the median (a step), or each model's median time (inference); every round's time
    is kept under ``rounds``. A failed round makes the job failed."""
    if len(results) == 1 or any("error" in r for r in results):
        return next((r for r in results if "error" in r), results[0])
    if results[0]["measure"] == "step":
        times = [r["step_ms"] for r in results]
        merged = dict(sorted(results, key=lambda r: r["step_ms"])[len(results) // 2])
        merged["rounds"] = {"step_ms": times}
        return merged
    merged = json.loads(json.dumps(results[0]))
    merged["rounds"] = {}
    for name, model in merged["models"].items():
        times = [r["models"][name]["ms"] for r in results]
        model["ms"] = statistics.median(times)
        merged["rounds"][name] = times
    return merged


# ----------------------------------------------------------------------------- ratios


def _find(results, measure, impl=None, backend=None):
    for r in results:
        if r.get("measure") != measure or "error" in r:
            continue
        if impl is not None and r.get("impl") != impl:
            continue
        if backend is not None and r.get("backend") != backend:
            continue
        return r
    return None


def ratios(results: list[dict]) -> list[dict]:
    """The targets table: each row's value, or why it has none."""
    steps = {
        (r["impl"], r["backend"]): r
        for r in results
        if r.get("measure") == "step" and "error" not in r and r["impl"] != "side-by-side"
    }
    # kdzoo (torch) against the references measured in one process, step by step in
    # turn (bench_step.py --impl side-by-side): the ratios 1a and 1c come from it when
    # it ran, and from the separate processes otherwise.
    side = (_find(results, "step", impl="side-by-side") or {}).get("steps", {})
    hand = steps.get(("torch", "torch"))
    brewer = steps.get(("textbrewer", "torch"))
    kdzoo = {b: r for (impl, b), r in steps.items() if impl == "kdzoo"}
    cached = {b: r for (impl, b), r in steps.items() if impl == "kdzoo-cached"}
    best = min(kdzoo, key=lambda b: kdzoo[b]["step_ms"]) if kdzoo else None
    best_cached = min(cached, key=lambda b: cached[b]["step_ms"]) if cached else None

    def step_ratio(ours, ref):
        return None if ours is None or ref is None else ours["step_ms"] / ref["step_ms"]

    def torch_ratio(ref_side: str, ref_separate):
        # kdzoo's faster torch step: eager, or compiled (jit_compile=True) where it ran
        ours = min((k for k in ("kdzoo", "kdzoo-jit") if k in side), default=None,
                   key=lambda k: side[k]["step_ms"])  # fmt: skip
        if ours is not None and ref_side in side:
            how = "torch, jit_compile=True" if ours == "kdzoo-jit" else "torch"
            return step_ratio(side[ours], side[ref_side]), f"{how}, one process"
        return step_ratio(kdzoo.get("torch"), ref_separate), "torch"

    values: dict[str, tuple[float | None, str]] = {
        "1a": torch_ratio("torch", hand),
        "1b": (step_ratio(kdzoo.get(best), hand), best or ""),
        "1c": torch_ratio("textbrewer", brewer),
        "1d": (step_ratio(cached.get(best_cached), brewer), best_cached or ""),
        "3": (kdzoo["torch"]["efficiency"] if "torch" in kdzoo else None, "torch"),
    }
    inference = {
        r["backend"]: r
        for r in results
        if r.get("measure") == "inference" and r.get("impl") == "kdzoo" and "error" not in r
    }
    hf = _find(results, "inference", impl="hf")
    ours = inference.get("torch")
    teacher_key = next((k for k in (ours or {}).get("models", {}) if k.startswith("teacher")), None)
    student_key = next((k for k in (ours or {}).get("models", {}) if k.startswith("student")), None)
    values["2a"] = (
        ours["models"][teacher_key]["ms"] / hf["models"][teacher_key]["ms"]
        if ours and hf
        else None,
        "torch",
    )
    values["2b"] = (
        ours["models"][teacher_key]["ms"] / ours["models"][student_key]["ms"] if ours else None,
        "torch",
    )
    side_inference = _find(results, "inference", impl="side-by-side")
    if side_inference:  # kdzoo and HF in one process, forward by forward in turn
        models = side_inference["models"]
        teacher = next(v for k, v in models.items() if k.startswith("teacher"))
        student = next(v for k, v in models.items() if k.startswith("student"))
        values["2a"] = (teacher["kdzoo"]["ms"] / teacher["hf"]["ms"], "torch, one process")
        values["2b"] = (teacher["kdzoo"]["ms"] / student["kdzoo"]["ms"], "torch, one process")
    augment = {
        r["backend"]: r for r in results if r.get("measure") == "augment" and "error" not in r
    }
    if augment:
        b = "torch" if "torch" in augment else sorted(augment)[0]
        values["4"] = (augment[b].get("speedup"), b)
    cache = {r["backend"]: r for r in results if r.get("measure") == "cache" and "error" not in r}
    if cache:
        b = "torch" if "torch" in cache else sorted(cache)[0]
        values["5"] = (cache[b].get("ratio"), b)

    rows = []
    for tid, measure, what, target, direction in TARGETS:
        value, backend = values.get(tid, (None, ""))
        met = None if value is None else (value <= target if direction == "<=" else value >= target)
        rows.append(
            {
                "id": tid,
                "measure": measure,
                "what": what,
                "target": f"{direction} {target:g}",
                "value": value,
                "backend": backend,
                "met": met,
            }
        )
    return rows


# ----------------------------------------------------------------------------- output


def _fmt(value, digits=2):
    return "—" if value is None else f"{value:.{digits}f}"


def _section(title: str, columns: tuple[str, ...], rows: list[tuple]) -> list[str]:
    """A Markdown section with one table, or nothing when there are no rows."""
    if not rows:
        return []
    head = ["", f"## {title}", "", f"| {' | '.join(columns)} |", "|" + "---|" * len(columns)]
    return head + [f"| {' | '.join(map(str, row))} |" for row in rows]


def markdown(report: dict) -> str:
    m = report["machine"]
    kind = "smoke: shapes too small to mean anything" if report["smoke"] else "full"
    rounds = report.get("rounds", 1)
    rounds = (
        f"; the step and inference processes ran {rounds} times in turn, the median kept"
        if rounds > 1
        else ""
    )
    lines = [
        f"# kdzoo benchmarks ({kind})",
        "",
        f"{m.get('cpu', '?')}, {m.get('cores', '?')} cores, Python {m.get('python', '?')}; "
        f"{', '.join(f'{k} {v}' for k, v in m.get('versions', {}).items() if v)}. "
        f"Medians after a warm-up ({report['runs']} runs in the last invocation; each result "
        f"records its own{rounds}); {report['date']}; "
        f"`{report['command']}`.",
        "",
        "## Targets",
        "",
        "| # | measure | target | value | backend | met |",
        "|---|---|---|---|---|---|",
    ]
    for r in report["targets"]:
        met = "—" if r["met"] is None else ("yes" if r["met"] else "**no**")
        lines.append(
            f"| {r['id']} | {r['what']} | {r['target']} | {_fmt(r['value'])} | "
            f"{r['backend']} | {met} |"
        )

    def measured(measure):
        return [r for r in report["results"] if r.get("measure") == measure and "error" not in r]

    step_rows = [
        (r["impl"], r["backend"], f"{r['step_ms']:.1f}", f"{r['step_gflop']:.1f}",
         f"{r['achieved_gflops']:.1f}", f"{r['gemm_gflops']:.1f}", f"{r['efficiency']:.2f}",
         f"{r['peak_rss_mb']:.0f}")
        for r in measured("step") if r["impl"] != "side-by-side"
    ]  # fmt: skip
    side_step_rows = []
    for r in (r for r in measured("step") if r["impl"] == "side-by-side"):
        kd = r["steps"]["kdzoo"]["step_ms"]
        side_step_rows += [
            (impl, f"{v['step_ms']:.1f}", _fmt(kd / v["step_ms"]),
             f"{v['compile_seconds']:.0f}" if "compile_seconds" in v else "—")
            for impl, v in r["steps"].items()
        ]  # fmt: skip
    side_inference_rows = []
    for r in (r for r in measured("inference") if r["impl"] == "side-by-side"):
        teacher = next(v for k, v in r["models"].items() if k.startswith("teacher"))
        for name, impls in r["models"].items():
            for impl, v in impls.items():
                compiled = v.get("compile_seconds")
                side_inference_rows.append(
                    (impl, name, f"{v['ms']:.1f}", f"{teacher[impl]['ms'] / v['ms']:.1f}×",
                     _fmt(v["ms"] / impls["hf"]["ms"]),
                     "—" if compiled is None else f"{compiled:.0f}")
                )  # fmt: skip
    inference_rows = []
    for r in (r for r in measured("inference") if r["impl"] != "side-by-side"):
        teacher_ms = next(v["ms"] for k, v in r["models"].items() if k.startswith("teacher"))
        inference_rows += [
            (r["impl"], r["backend"], name, f"{v['ms']:.1f}", f"{teacher_ms / v['ms']:.1f}×",
             f"{r['peak_rss_mb']:.0f}")
            for name, v in r["models"].items()
        ]  # fmt: skip
    augment_rows = [
        (r["backend"], f"{r['batched']['sentences_per_second']:.1f}",
         f"{r['unbatched']['sentences_per_second']:.1f}", f"{r['speedup']:.2f}")
        for r in measured("augment")
    ]  # fmt: skip
    cache_rows = [
        (r["backend"], f"{r['teacher']} → {r['student']}", f"{r['live_step_ms']:.1f}",
         f"{r['cached_step_ms']:.1f}", f"{r['ratio']:.2f}")
        for r in measured("cache")
    ]  # fmt: skip
    lines += _section(
        "1, 3. Distillation step",
        ("implementation", "backend", "step ms", "GFLOP", "GFLOP/s", "GEMM GFLOP/s",
         "efficiency", "peak RSS MB"),
        step_rows,
    )  # fmt: skip
    lines += _section(
        "1. The step side by side (torch, one process, one step of each in turn)",
        ("implementation", "step ms", "kdzoo (eager) ÷ this", "compile s"),
        side_step_rows,
    )
    lines += _section(
        "2. Inference side by side (torch, one process, one forward of each in turn)",
        ("implementation", "model", "ms", "speedup over its teacher", "÷ HF", "compile s"),
        side_inference_rows,
    )
    lines += _section(
        "2. Inference",
        ("implementation", "backend", "model", "ms", "speedup over the teacher", "peak RSS MB"),
        inference_rows,
    )
    lines += _section(
        "4. Augmentation",
        ("backend", "batched sentences/s", "unbatched sentences/s", "speedup"),
        augment_rows,
    )
    lines += _section(
        "5. Teacher cache",
        ("backend", "teacher → student", "live step ms", "cached step ms", "ratio"),
        cache_rows,
    )
    errors = [r for r in report["results"] if "error" in r]
    if errors:
        lines += ["", "## Not measured", ""] + [f"- {r['error'].splitlines()[0]}" for r in errors]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--only",
        default=",".join(MEASURES),
        help=f"comma-separated measures ({', '.join(MEASURES)})",
    )
    parser.add_argument(
        "--backends",
        default=None,
        help="comma-separated Keras backends (default: every installed one)",
    )
    parser.add_argument("--runs", type=int, default=5, help="timed runs per measurement (≥ 5)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run the step and inference processes this many times, in turn, and keep "
        "the median (odd numbers; for a machine whose speed drifts)",
    )
    parser.add_argument("--smoke", action="store_true", help="tiny shapes: check that it runs")
    parser.add_argument(
        "--no-references",
        dest="references",
        action="store_false",
        help="skip the hand-written PyTorch loop, TextBrewer and HF",
    )
    parser.add_argument(
        "--keep-others",
        action="store_true",
        help="keep the other measures' results already in <out>/bench.json",
    )
    parser.add_argument(
        "--out",
        default=str(HERE / "results" / "cpu"),
        help="directory for bench.json, bench.md and the per-measure files",
    )
    args = parser.parse_args(argv)
    args.only = [m.strip() for m in args.only.split(",") if m.strip()]
    unknown = sorted(set(args.only) - set(MEASURES))
    if unknown:
        parser.error(f"unknown measure(s) {unknown}; valid: {', '.join(MEASURES)}")
    if args.backends is None:
        args.backends = [b for b in BACKENDS if _installed(_backend_package(b))]
    else:
        args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
        bad = [b for b in args.backends if b not in BACKENDS]
        if bad:
            parser.error(f"unknown backend(s) {bad}; valid: {', '.join(BACKENDS)}")
    if args.references and not _installed("torch"):
        parser.error("the reference implementations need torch; install it or pass --no-references")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    print(f"kdzoo benchmarks: {', '.join(args.only)} on {', '.join(args.backends)} -> {out}")
    started = time.perf_counter()
    results = collect(args)
    previous = out / "bench.json"
    if args.keep_others and previous.exists():  # keep the measures not run this time
        old = json.loads(previous.read_text())
        if old.get("smoke") == args.smoke:
            results = [r for r in old["results"] if r.get("measure") not in args.only] + results
    machine = next((r["machine"] for r in results if "machine" in r), {})
    report = {
        "smoke": args.smoke,
        "runs": args.runs,
        "rounds": args.rounds,
        "date": time.strftime("%Y-%m-%d"),
        "command": "python -m benchmarks " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": {
            **machine,
            "backend": None,
            "platform": machine.get("platform", platform.platform()),
        },
        "targets": ratios(results),
        "results": results,
        "seconds": time.perf_counter() - started,
    }
    (out / "bench.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "bench.md").write_text(markdown(report))
    print(markdown(report))
    failed = [r for r in results if "error" in r and "not installed" not in r["error"]]
    for r in failed:
        print(r["error"], file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
