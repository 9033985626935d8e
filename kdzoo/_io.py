"""Atomic file writes: a reader (or a crash) never sees a half-written file.

Each writer writes a temporary file in the target's directory and renames it over the
target (``os.replace`` is atomic on POSIX and Windows). If writing fails, the temporary
file is removed and the old target, if any, is left whole.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["atomic_write", "write_json", "write_text"]


def atomic_write(path: str | os.PathLike, write: Callable[[Path], Any]) -> Path:
    """Call ``write(tmp)`` to fill a temporary file, then move it to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The temporary name keeps the suffix: np.savez and savefig choose formats by it.
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    except OSError as err:  # a full disk, a lost mount, no permission
        raise OSError(
            err.errno,
            f"could not write {path} ({err.strerror or err}); nothing was written, and the "
            "previous file, if any, is intact. Free some disk space, or write elsewhere.",
        ) from err
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically."""
    return atomic_write(path, lambda tmp: tmp.write_text(text))


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def write_json(path: str | os.PathLike, data: Any) -> Path:
    """Write ``data`` as indented JSON (NumPy scalars and arrays allowed), atomically."""
    return write_text(path, json.dumps(data, indent=2, default=_jsonable) + "\n")
