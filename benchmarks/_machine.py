"""What every benchmark records about the machine it ran on (imported by the scripts)."""

from __future__ import annotations

import importlib.metadata
import os
import platform
from pathlib import Path

import keras


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine() -> dict:
    backend = keras.backend.backend()
    backend_package = {"tensorflow": "tensorflow-cpu", "torch": "torch", "jax": "jax"}[backend]
    versions = {
        p: _version(p) for p in ("kdzoo", "keras", "numpy", "transformers", "tokenizers", "gensim")
    }
    versions[backend] = _version(backend_package) or _version(backend)
    return {
        "backend": backend,
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": versions,
        # Thread settings of the run, where set (torch on a busy 2-core machine is much
        # slower and noisier with 2 threads than with OMP_NUM_THREADS=1).
        "threads_env": {
            k: os.environ[k]
            for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "XLA_FLAGS")
            if k in os.environ
        },
    }
