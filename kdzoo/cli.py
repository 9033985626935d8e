"""The ``kdzoo`` command line.

    kdzoo info                  versions, the Keras backend, and what works offline
    kdzoo presets               the model presets with their parameter counts
    kdzoo methods               the distillation methods and their papers
    kdzoo tasks                 the tasks (GLUE and the embedded offline ones)
    kdzoo demo                  the smallest real distillation run (offline, ~1 min)

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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.backend:
        if "keras" in sys.modules and os.environ.get("KERAS_BACKEND") != args.backend:
            print("error: --backend must be chosen before Keras is imported", file=sys.stderr)
            return 2
        os.environ["KERAS_BACKEND"] = args.backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
