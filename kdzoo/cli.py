"""The ``kdzoo`` command line.

    kdzoo info                  versions, the Keras backend, and what works offline
    kdzoo presets               the model presets with their parameter counts
    kdzoo methods               the distillation methods and their papers
    kdzoo tasks                 the tasks (GLUE and the embedded offline ones)
    kdzoo demo                  the smallest real distillation run (offline, ~1 min)
    kdzoo compare               methods side by side on one task: table, figures, files
    kdzoo distill               one method on one task; saves the student

Pick the backend with the ``KERAS_BACKEND`` environment variable (torch,
tensorflow or jax), or with ``--backend`` before the subcommand.
"""

from __future__ import annotations

import argparse
import os
import sys


def _cmd_info(args) -> int:
    import importlib.metadata as md

    import keras

    from kdzoo import __version__
    from kdzoo.hub import hub_is_offline

    print(f"kdzoo {__version__}")
    print(f"keras {keras.__version__}, backend: {keras.backend.backend()}")
    for pkg in ("torch", "tensorflow-cpu", "tensorflow", "jax", "transformers", "datasets"):
        try:
            print(f"{pkg} {md.version(pkg)}")
        except md.PackageNotFoundError:
            pass
    offline = hub_is_offline()
    print(f"Hugging Face hub: {'unreachable (offline)' if offline else 'reachable'}")
    return 0


def _cmd_presets(args) -> int:
    from kdzoo.models import BILSTM_PRESETS, BiLSTMConfig, presets

    rows = presets()
    print(
        f"{'BERT preset':<16}{'layers':>7}{'hidden':>7}{'ffn':>6}{'heads':>6}{'vocab':>7}"
        f"{'parameters':>13}  description"
    )
    for r in rows:
        print(
            f"{r['preset']:<16}{r['layers']:>7}{r['hidden']:>7}{r['ffn']:>6}{r['heads']:>6}"
            f"{r['vocab']:>7}{r['parameters']:>13,}  {r['description']}"
        )
    print()
    print(f"{'BiLSTM preset':<16}{'parameters':>13}  description")
    for name, p in BILSTM_PRESETS.items():
        n = BiLSTMConfig.from_preset(name).num_parameters()
        print(f"{name:<16}{n:>13,}  {p['description']}")
    return 0


def _cmd_methods(args) -> int:
    from kdzoo.zoo.base import get_method, methods

    for name in methods():
        m = get_method(name)
        print(f"{name:<12}{', '.join(m.stages):<34}{m.reference}")
    return 0


def _cmd_tasks(args) -> int:
    from kdzoo.data.base import get_spec, tasks

    for name in tasks():
        spec = get_spec(name)
        labels = "regression" if spec.is_regression else "/".join(spec.label_names)
        print(
            f"{name:<17}{'pair' if spec.is_pair else 'single':<8}{labels:<36}"
            f"{', '.join(spec.metrics):<24}{spec.source}"
        )
    return 0


def _cmd_demo(args) -> int:
    from kdzoo.demo import run_demo

    result = run_demo(seed=args.seed, verbose=0 if args.quiet else 1)
    print()
    print(result)
    return 0


def _split_list(text: str | None) -> list[str]:
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def _students(text: str | None):
    """``--student mini-2l-64h`` for every method, or ``kd=mini-2l-64h,pkd=mini-3l-128h``."""
    if not text:
        return None
    if "=" not in text:
        return text
    pairs = [item.split("=", 1) for item in _split_list(text)]
    bad = [p[0] for p in pairs if len(p) != 2 or not p[1]]
    if bad:
        raise ValueError(f"--student: give METHOD=PRESET pairs; could not read {bad}.")
    return {k.strip(): v.strip() for k, v in pairs}


def _run_options(args) -> dict:
    """The ``compare`` arguments that ``kdzoo compare`` and ``kdzoo distill`` share."""
    return dict(
        task=args.task,
        teacher=args.teacher,
        student=_students(args.student),
        budget=args.budget,
        output_dir=args.out,
        overwrite=args.overwrite,
        task_kwargs={"data_dir": args.data_dir} if args.data_dir else {},
        max_length=args.max_length,
        augment=_augment(args),
        verbose=0 if args.quiet else 1,
        distribution=_distribution(args.distribution),
        jit_compile=True if args.jit_compile else "auto",
    )


def _distribution(text: str | None):
    """``--distribution``: ``data-parallel`` (every device) or a number of devices."""
    if text is None or text == "data-parallel":
        return text
    if text.isdigit() and int(text) > 0:
        return int(text)
    raise ValueError(f"--distribution takes 'data-parallel' or a number of devices, not '{text}'.")


def _augment(args):
    """``--augment`` / ``--no-augment`` / ``--augment-copies`` / ``--glove`` as compare's
    ``augment=`` (None: the budget's default)."""
    resources = {}
    if args.augment_copies is not None:
        resources["copies"] = args.augment_copies
    if args.glove:
        resources["word_vectors"] = args.glove
    if args.augment is False:
        if resources:
            raise ValueError("--no-augment cannot be combined with --augment-copies or --glove.")
        return False
    if resources:
        return resources
    return args.augment


def _cmd_compare(args) -> int:
    from kdzoo.comparison import compare

    try:
        seeds = [int(s) for s in _split_list(args.seeds)]
    except ValueError:
        raise ValueError(
            f"--seeds takes integers separated by commas, not '{args.seeds}'."
        ) from None
    results = compare(
        methods=_split_list(args.methods), seeds=seeds, plot=not args.no_plot, **_run_options(args)
    )
    print(results.format())
    if len(results.published):
        cols = ["model", "method", "task", "metric", "value", "paper", "table"]
        print("\nPublished numbers (baselines/):")
        print(results.published[cols].to_string(index=False))
    print(f"\nSaved in {results.output_dir}/ (results.csv, runs.csv, figures, per-run logs)")
    return 0


def _cmd_distill(args) -> int:
    from kdzoo.comparison import compare

    results = compare(
        methods=[args.method],
        seeds=[args.seed],
        student_only=False,
        plot=False,
        **_run_options(args),
    )
    print(results.format())
    print(f"\nThe student's weights: {results.output_dir}/runs/{args.method}/seed-{args.seed}/")
    return 0


def _add_run_options(p: argparse.ArgumentParser) -> None:
    from kdzoo.budgets import BUDGETS

    p.add_argument("--task", required=True, help="a task from `kdzoo tasks`")
    p.add_argument(
        "--teacher",
        help="Hugging Face checkpoint (directory or hub name) fine-tuned on the task, or a "
        "pre-trained one that kdzoo fine-tunes first; omit for an embedded task's built-in "
        "teacher, or for bert-base-uncased fine-tuned on a GLUE task",
    )
    p.add_argument(
        "--student",
        help="a BERT preset for every method, or METHOD=PRESET pairs separated by commas "
        "(default: each method's paper-shaped student; see `kdzoo presets`)",
    )
    p.add_argument(
        "--budget",
        default="small",
        choices=list(BUDGETS),
        help="; ".join(f"{b.name}: {b.description}" for b in BUDGETS.values()),
    )
    p.add_argument("--out", required=True, help="output directory (results, logs, figures)")
    p.add_argument("--data-dir", help="a local GLUE copy in the original TSV layout")
    p.add_argument("--max-length", type=int, help="tokens per example")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace results of a different configuration in --out",
    )
    p.add_argument(
        "--augment",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="distil TinyBERT and the BiLSTM on their papers' augmented transfer sets "
        "(default: on for the paper budget, off for smoke and small)",
    )
    p.add_argument(
        "--augment-copies",
        type=int,
        help="augmented copies per training example (implies --augment)",
    )
    p.add_argument(
        "--glove",
        help="GloVe text file for TinyBERT's augmentation of multi-piece words (implies "
        "--augment; embedded tasks default to a word2vec trained on their corpus)",
    )
    p.add_argument(
        "--distribution",
        metavar="data-parallel|N",
        help="train data-parallel on the backend's own engine over every device (or the "
        "first N): jax's keras.distribution.DataParallel or tensorflow's "
        "tf.distribute.MirroredStrategy; not available on torch. Batch sizes stay global; "
        "learning rates are not scaled",
    )
    p.add_argument(
        "--jit-compile",
        action="store_true",
        help="compile every training step (torch.compile on torch, XLA on tensorflow; jax "
        "always compiles): each run first compiles, about 3 minutes on torch with 2 CPU "
        "cores, then its steps run faster (13%% for BERT-base -> TinyBERT4). Worth it "
        "beyond a few thousand steps",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kdzoo",
        description="BERT knowledge distillation: TinyBERT and its baselines on Keras 3.",
    )
    parser.add_argument(
        "--backend",
        choices=["torch", "tensorflow", "jax"],
        help="Keras backend (default: $KERAS_BACKEND, else Keras's default)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("info", help="versions, backend and hub reachability").set_defaults(
        func=_cmd_info
    )
    sub.add_parser("presets", help="model presets and parameter counts").set_defaults(
        func=_cmd_presets
    )
    sub.add_parser("methods", help="distillation methods").set_defaults(func=_cmd_methods)
    sub.add_parser("tasks", help="tasks and their metrics").set_defaults(func=_cmd_tasks)
    demo = sub.add_parser("demo", help="the smallest real distillation run (offline)")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--quiet", action="store_true", help="no per-epoch progress bars")
    demo.set_defaults(func=_cmd_demo)

    cmp = sub.add_parser(
        "compare",
        help="methods side by side on one task (table, figures, files)",
        description="Run distillation methods on one task over seeds and print a table: "
        "metric mean ± std, retention of the teacher, parameters, size, latency, speedup "
        "and training time, with the published numbers. Finished runs in --out are "
        "skipped; an interrupted run resumes from its last checkpoint.",
    )
    cmp.add_argument(
        "--methods",
        default="kd,bilstm,distilbert,pkd,tinybert,lad",
        help="methods separated by commas (see `kdzoo methods`; default: all six)",
    )
    cmp.add_argument("--seeds", default="0,1,2", help="seeds separated by commas (default 0,1,2)")
    _add_run_options(cmp)
    cmp.add_argument("--no-plot", action="store_true", help="do not draw the figures")
    cmp.set_defaults(func=_cmd_compare)

    dst = sub.add_parser(
        "distill",
        help="one method on one task; saves the student",
        description="Distil the task's teacher into a student with one method, under a "
        "budget, and save the student, its logs and its scores in --out.",
    )
    dst.add_argument("method", help="a method from `kdzoo methods`")
    dst.add_argument("--seed", type=int, default=0)
    _add_run_options(dst)
    dst.set_defaults(func=_cmd_distill)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.backend:
        if "keras" in sys.modules and os.environ.get("KERAS_BACKEND") != args.backend:
            print("error: --backend must be chosen before Keras is imported", file=sys.stderr)
            return 2
        os.environ["KERAS_BACKEND"] = args.backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        return args.func(args)
    except (ValueError, OSError, KeyError) as err:  # OSError: missing files, hub offline
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"kdzoo {args.command}: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
