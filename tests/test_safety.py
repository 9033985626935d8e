"""Safe loading, checked over the whole source: nothing kdzoo reads can run code.

kdzoo stores weights as safetensors or ``.npz`` read with ``allow_pickle=False``,
configurations as JSON, and Keras models as ``.keras`` loaded with safe mode on. The
one PyTorch pickle it may meet (a hub repository without safetensors) is read with
``torch.load(weights_only=True)``, tested in test_huggingface. These checks keep it so.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.no_backend

ROOT = Path(__file__).parent.parent
SOURCES = sorted(
    p
    for folder in ("kdzoo", "benchmarks", "book")
    for p in (ROOT / folder).rglob("*")
    if p.suffix in (".py", ".md") and "_build" not in p.parts
)

FORBIDDEN = {
    r"\bimport\s+(cloud)?pickle\b|\bpickle\.loads?\(": "pickle runs code when it loads",
    r"\bjoblib\.load\(|\bdill\.": "joblib and dill unpickle",
    r"allow_pickle\s*=\s*True": "np.load must not unpickle",
    r"trust_remote_code\s*=\s*True": "remote code must never run",
    r"safe_mode\s*=\s*False": "Keras's safe mode stays on",
}


def _code(path: Path) -> str:
    """The file's code, comments and docstring prose included (a rule names the call)."""
    return path.read_text(encoding="utf-8")


def test_the_scan_sees_the_sources():
    names = {p.name for p in SOURCES}
    assert {"api.py", "training.py", "huggingface.py", "cache.py"} <= names
    assert len(SOURCES) > 50


@pytest.mark.parametrize("pattern", list(FORBIDDEN))
def test_no_unsafe_loading(pattern):
    hits = [
        f"{p.relative_to(ROOT)}:{n}: {line.strip()}"
        for p in SOURCES
        for n, line in enumerate(_code(p).splitlines(), 1)
        if re.search(pattern, line)
    ]
    assert not hits, f"{FORBIDDEN[pattern]}:\n" + "\n".join(hits)


def test_every_torch_load_is_weights_only():
    calls = [
        (p, m.group(0))
        for p in SOURCES
        for m in re.finditer(r"torch\.load\((?:[^()]|\([^()]*\))*\)", _code(p))
    ]
    assert calls, "kdzoo reads PyTorch .bin checkpoints somewhere; the scan must find it"
    unsafe = [f"{p.relative_to(ROOT)}: {c}" for p, c in calls if "weights_only=True" not in c]
    assert not unsafe, "torch.load without weights_only=True:\n" + "\n".join(unsafe)


def test_the_rules_catch_what_they_forbid():
    """The patterns are not vacuous: each matches the thing it forbids."""
    bad = [
        "import pickle",
        "joblib.load(f)",
        "np.load(p, allow_pickle=True)",
        "AutoModel.from_pretrained(n, trust_remote_code=True)",
        "keras.saving.load_model(p, safe_mode=False)",
    ]
    for pattern, line in zip(FORBIDDEN, bad, strict=True):
        assert re.search(pattern, line), (pattern, line)
    assert not re.search(next(iter(FORBIDDEN)), "np.load(path)  # never unpickles")
