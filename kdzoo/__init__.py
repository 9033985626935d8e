"""kdzoo: BERT knowledge distillation (TinyBERT and its baselines) on Keras 3.

``import kdzoo`` is light: Keras (and with it the backend chosen by ``KERAS_BACKEND``)
is imported on first use of one of these:

- :func:`kdzoo.compare` runs methods side by side and returns a results table;
  :func:`kdzoo.ablate` runs variants of one method beside the paper's ablations;
- :func:`kdzoo.distill` runs a method; :func:`kdzoo.methods` lists the methods;
  :func:`kdzoo.get_method` builds one with its config;
- :func:`kdzoo.tasks` lists the tasks; :func:`kdzoo.load_task` loads one;
- :mod:`kdzoo.models`, :mod:`kdzoo.losses`, :mod:`kdzoo.mapping`,
  :mod:`kdzoo.tokenization`, :mod:`kdzoo.distillers`.
"""

from __future__ import annotations

import importlib

from kdzoo._version import __version__

__all__ = [
    "Ablation",
    "DistillResult",
    "Distiller",
    "NonFiniteLossError",
    "Results",
    "__version__",
    "ablate",
    "compare",
    "distill",
    "get_method",
    "load_task",
    "methods",
    "tasks",
]

_LAZY = {
    "ablate": ("kdzoo.ablation", "ablate"),
    "Ablation": ("kdzoo.ablation", "Ablation"),
    "compare": ("kdzoo.comparison", "compare"),
    "Results": ("kdzoo.comparison", "Results"),
    "distill": ("kdzoo.api", "distill"),
    "DistillResult": ("kdzoo.api", "DistillResult"),
    "Distiller": ("kdzoo.distillers", "Distiller"),
    "NonFiniteLossError": ("kdzoo.distillers", "NonFiniteLossError"),
    "methods": ("kdzoo.zoo.base", "methods"),
    "get_method": ("kdzoo.zoo.base", "get_method"),
    "tasks": ("kdzoo.data.base", "tasks"),
    "load_task": ("kdzoo.data.base", "load_task"),
}


_SUBMODULES = {
    "ablation",
    "api",
    "augment",
    "baselines",
    "budgets",
    "comparison",
    "data",
    "distillers",
    "distribute",
    "exercises",
    "losses",
    "mapping",
    "models",
    "optim",
    "teachers",
    "tokenization",
    "zoo",
}


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"kdzoo.{name}")
    if name in _LAZY:
        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'kdzoo' has no attribute '{name}'")
