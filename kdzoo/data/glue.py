"""The eight GLUE tasks TinyBERT and its baselines report, from three sources.

:func:`load_glue` (also reached as ``kdzoo.data.load_task("mnli", ...)``) reads

1. ``data_dir=``: a local copy in the original GLUE TSV layout, as the GLUE
   download script writes it (``glue_data/MNLI/train.tsv``, ``dev_matched.tsv``, ...);
   the directory may be the GLUE root or the task's own folder;
2. ``data_files=``: a ``{split: path}`` dict of local ``.json``/``.jsonl``/``.csv``/
   ``.tsv`` files whose columns are the task's text fields plus ``label``;
3. neither: the Hugging Face hub (``nyu-mll/glue``), or its copy in the local
   ``datasets`` cache. Offline, with no cached copy, it fails at once with the two
   local options instead of retrying for half a minute.

Every source gives the same :class:`~kdzoo.data.base.TaskData`: splits ``"train"``,
the task's ``eval_splits`` (``"dev"``, or ``"dev_matched"``/``"dev_mismatched"`` for
MNLI) and, where present, ``"test"`` (MNLI: ``"test_matched"``/``"test_mismatched"``),
with integer label ids in the order of ``TaskSpec.label_names`` (float scores for
STS-B) and ``labels=None`` for unlabelled test splits.
"""

from __future__ import annotations

import contextlib
import csv
import itertools
import json
import os
import re
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kdzoo.data.base import Split, TaskData, TaskSpec, get_spec, register_task
from kdzoo.hub import HubUnavailableError, hub_is_offline

__all__ = ["GLUE_HUB_ID", "GLUE_TASKS", "load_glue"]

GLUE_HUB_ID = "nyu-mll/glue"

_STSB_RANGE = (0.0, 5.0)

GLUE_TASKS: dict[str, TaskSpec] = {
    spec.name: spec
    for spec in (
        TaskSpec(
            name="mnli",
            text_fields=("premise", "hypothesis"),
            label_names=("entailment", "neutral", "contradiction"),
            metrics=("accuracy",),
            eval_splits=("dev_matched", "dev_mismatched"),
            description="MultiNLI: does the premise entail or contradict the hypothesis, "
            "or neither (393k pairs).",
            source=GLUE_HUB_ID,
        ),
        TaskSpec(
            name="sst2",
            text_fields=("sentence",),
            label_names=("negative", "positive"),
            metrics=("accuracy",),
            description="SST-2: sentiment of a movie-review sentence (67k sentences).",
            source=GLUE_HUB_ID,
        ),
        TaskSpec(
            name="qqp",
            text_fields=("question1", "question2"),
            label_names=("not_duplicate", "duplicate"),
            metrics=("f1", "accuracy"),
            description="Quora Question Pairs: do two questions ask the same thing (364k pairs).",
            source=GLUE_HUB_ID,
        ),
        TaskSpec(
            name="qnli",
            text_fields=("question", "sentence"),
            label_names=("entailment", "not_entailment"),
            metrics=("accuracy",),
            description="Question NLI: does the sentence answer the question (105k pairs).",
            source=GLUE_HUB_ID,
        ),
        TaskSpec(
            name="mrpc",
            text_fields=("sentence1", "sentence2"),
            label_names=("not_equivalent", "equivalent"),
            metrics=("f1", "accuracy"),
            description="MRPC: are two news sentences paraphrases (3.7k pairs).",
            source=GLUE_HUB_ID,
        ),
        TaskSpec(
            name="rte",
            text_fields=("sentence1", "sentence2"),
            label_names=("entailment", "not_entailment"),
            metrics=("accuracy",),
            description="Recognizing Textual Entailment: does sentence1 entail sentence2 "
            "(2.5k pairs).",
            source=GLUE_HUB_ID,
        ),
        TaskSpec(
            name="cola",
            text_fields=("sentence",),
            label_names=("unacceptable", "acceptable"),
            metrics=("matthews_correlation",),
            description="CoLA: is the sentence grammatically acceptable English (8.5k sentences).",
            source=GLUE_HUB_ID,
        ),
        TaskSpec(
            name="stsb",
            text_fields=("sentence1", "sentence2"),
            label_names=None,
            metrics=("pearson", "spearman"),
            description="STS Benchmark: how similar two sentences are, a score from 0 to 5 "
            "(5.7k pairs).",
            source=GLUE_HUB_ID,
        ),
    )
}
"""The GLUE task specs by name; each is also registered with :func:`register_task`."""


@dataclass(frozen=True)
class _TsvLayout:
    """Where a task lives in the original GLUE TSV download.

    Attributes:
        folder: the task's folder under the GLUE root, e.g. ``"SST-2"``.
        columns: ``{text field: TSV column}``.
        label_column: the TSV column holding the label (string names or ids).
        files: ``{split: file name}`` in the task folder.
        headerless: column names of train/dev files that have no header row (CoLA);
            test files always have one.
    """

    folder: str
    columns: dict[str, str]
    label_column: str
    files: dict[str, str]
    headerless: tuple[str, ...] | None = None


_DEV_TEST = {"train": "train.tsv", "dev": "dev.tsv", "test": "test.tsv"}

_TSV: dict[str, _TsvLayout] = {
    "mnli": _TsvLayout(
        "MNLI",
        {"premise": "sentence1", "hypothesis": "sentence2"},
        "gold_label",
        {
            "train": "train.tsv",
            "dev_matched": "dev_matched.tsv",
            "dev_mismatched": "dev_mismatched.tsv",
            "test_matched": "test_matched.tsv",
            "test_mismatched": "test_mismatched.tsv",
        },
    ),
    "sst2": _TsvLayout("SST-2", {"sentence": "sentence"}, "label", _DEV_TEST),
    "qqp": _TsvLayout(
        "QQP", {"question1": "question1", "question2": "question2"}, "is_duplicate", _DEV_TEST
    ),
    "qnli": _TsvLayout(
        "QNLI", {"question": "question", "sentence": "sentence"}, "label", _DEV_TEST
    ),
    "mrpc": _TsvLayout(
        "MRPC", {"sentence1": "#1 String", "sentence2": "#2 String"}, "Quality", _DEV_TEST
    ),
    "rte": _TsvLayout(
        "RTE", {"sentence1": "sentence1", "sentence2": "sentence2"}, "label", _DEV_TEST
    ),
    "cola": _TsvLayout(
        "CoLA",
        {"sentence": "sentence"},
        "label",
        _DEV_TEST,
        headerless=("source", "label", "original_label", "sentence"),
    ),
    "stsb": _TsvLayout(
        "STS-B", {"sentence1": "sentence1", "sentence2": "sentence2"}, "score", _DEV_TEST
    ),
}

# kdzoo split name -> split name in the hub dataset.
_HUB_SPLITS: dict[str, dict[str, str]] = {
    name: (
        {
            "train": "train",
            "dev_matched": "validation_matched",
            "dev_mismatched": "validation_mismatched",
            "test_matched": "test_matched",
            "test_mismatched": "test_mismatched",
        }
        if name == "mnli"
        else {"train": "train", "dev": "validation", "test": "test"}
    )
    for name in GLUE_TASKS
}

_INT = re.compile(r"[+-]?\d+")


# --------------------------------------------------------------------------- labels


def _label_help(spec: TaskSpec) -> str:
    if spec.label_names is None:
        return f"a score from {_STSB_RANGE[0]:g} to {_STSB_RANGE[1]:g}"
    ids = ", ".join(f"{i}={name}" for i, name in enumerate(spec.label_names))
    return f"one of {list(spec.label_names)} or an id ({ids})"


def _parse_label(value: Any, spec: TaskSpec, where: str) -> int | float:
    """A label id (classification) or score (regression) from a name, id or number."""

    raw = value

    def bad(reason: str = "") -> ValueError:
        return ValueError(
            f"{where}: label {raw!r} is not a valid {spec.name} label{reason}; "
            f"valid labels: {_label_help(spec)}."
        )

    if isinstance(value, str):
        value = value.strip()
    if spec.label_names is None:
        if isinstance(value, bool):
            raise bad()
        try:
            score = float(value)
        except (TypeError, ValueError):
            raise bad() from None
        if not (_STSB_RANGE[0] <= score <= _STSB_RANGE[1]):
            raise bad(" (out of range)")
        return score
    if isinstance(value, str):
        if value in spec.label_names:
            return spec.label_names.index(value)
        if not _INT.fullmatch(value):
            raise bad()
        value = int(value)
    elif isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise bad()
    if not 0 <= value < spec.num_labels:
        raise bad(" (out of range)")
    return int(value)


def _labels_array(labels: list, spec: TaskSpec) -> np.ndarray:
    return np.asarray(labels, np.float32 if spec.is_regression else np.int32)


# --------------------------------------------------------------------------- reading


def _decoded_lines(path: Path) -> Iterator[str]:
    """The lines of ``path`` decoded as strict UTF-8, without line endings or a BOM."""
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise ValueError(
                    f"{path}, line {lineno}: not valid UTF-8 (byte {raw[e.start]:#04x} at "
                    f"column {e.start + 1}). Re-save the file as UTF-8."
                ) from None
            if lineno == 1:
                line = line.removeprefix("\ufeff")
            yield line.rstrip("\n").rstrip("\r")


def _numbered_rows(path: Path, **reader_kwargs: Any) -> Iterator[tuple[int, list[str]]]:
    """``(line number, fields)`` for each CSV/TSV record; csv errors name the line."""
    reader = csv.reader(_decoded_lines(path), **reader_kwargs)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise ValueError(
                f"{path}, line {reader.line_num}: cannot parse the row ({e})."
            ) from None
        yield reader.line_num, row


def _tsv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """GLUE TSV: tab-separated, no quoting (quotes are text), UTF-8, one record per line."""
    return _numbered_rows(path, delimiter="\t", quoting=csv.QUOTE_NONE)


def _missing_column(path: Path, column: str, present: list[str], expected: str) -> ValueError:
    return ValueError(
        f"{path} has no column '{column}'; its columns are {present}. Expected {expected}."
    )


def _is_placeholder(label: Any) -> bool:
    """Whether ``label`` is -1, the hub's (and its exports') label of unlabelled test rows."""
    try:
        return float(str(label).strip()) == -1.0
    except ValueError:
        return False


class _SplitBuilder:
    """Collects one split's texts and labels, checking each value as it comes."""

    def __init__(self, spec: TaskSpec, path: Path, split: str, labelled: bool):
        self.spec, self.path, self.split, self.labelled = spec, path, split, labelled
        self.texts: dict[str, list[str]] = {f: [] for f in spec.text_fields}
        self.labels: list[int | float] = []
        self.unlabelled = 0  # test rows whose label is the -1 placeholder

    def add(self, texts: Mapping[str, Any], label: Any, where: str) -> None:
        for name in self.spec.text_fields:
            value = texts[name]
            if value is None:
                raise ValueError(f"{where}: field '{name}' is empty (null).")
            self.texts[name].append(value if isinstance(value, str) else str(value))
        if not self.labelled:
            return
        if self.split.startswith("test") and _is_placeholder(label):
            self.unlabelled += 1
            self.labels.append(-1)
            return
        self.labels.append(_parse_label(label, self.spec, where))

    def build(self) -> Split:
        if not self.texts[self.spec.text_fields[0]]:
            raise ValueError(
                f"{self.spec.name}: the {self.split} split of {self.path} is empty (no examples)."
            )
        labels = None
        if self.labelled and self.unlabelled < len(self.labels):
            if self.unlabelled:
                raise ValueError(
                    f"{self.path}: the {self.split} split mixes the test placeholder label -1 "
                    f"with real labels ({self.unlabelled} of {len(self.labels)} rows are -1)."
                )
            labels = _labels_array(self.labels, self.spec)
        return Split(texts=self.texts, labels=labels)


def _read_glue_tsv(path: Path, spec: TaskSpec, layout: _TsvLayout, split: str) -> tuple[Split, int]:
    """One split from an original GLUE TSV; returns it and the number of skipped rows."""
    rows = _tsv_rows(path)
    is_test = split.startswith("test")
    header: list[str] | None = None
    pending: list[tuple[int, list[str]]] = []
    if layout.headerless is not None and not is_test:
        first = next(rows, None)
        if first is not None and {"sentence", layout.label_column} <= set(first[1]):
            header = first[1]  # a re-exported copy with a header row: accept it
        else:
            header = list(layout.headerless)
            pending = [first] if first is not None else []
    else:
        first = next(rows, None)
        if first is None:
            raise ValueError(
                f"{spec.name}: the {split} split of {path} is empty (not even a header)."
            )
        header = [h.strip() for h in first[1]]
    needed = list(layout.columns.values())
    labelled = layout.label_column in header or not is_test
    if labelled:
        needed.append(layout.label_column)
    expected = (
        f"the original GLUE {layout.folder} layout with columns {needed}"
        + (" and no header row" if layout.headerless and not is_test else "")
        + "; for files with other columns use data_files= (JSON/CSV with columns "
        f"{[*spec.text_fields, 'label']})"
    )
    for column in needed:
        if column not in header:
            raise _missing_column(path, column, header, expected)
    index = {name: header.index(name) for name in needed}
    width = max(index.values()) + 1
    builder = _SplitBuilder(spec, path, split, labelled)
    skipped: list[int] = []
    for lineno, row in itertools.chain(pending, rows):
        if not row or (len(row) == 1 and not row[0].strip()):
            continue  # blank line
        if len(row) < width:
            skipped.append(lineno)  # GLUE's QQP train has a few truncated rows
            continue
        texts = {f: row[index[col]] for f, col in layout.columns.items()}
        label = row[index[layout.label_column]] if labelled else None
        builder.add(texts, label, f"{path}, line {lineno}")
    if skipped:
        warnings.warn(
            f"{path}: skipped {len(skipped)} row(s) with fewer than {width} fields "
            f"(first at line {skipped[0]}).",
            stacklevel=4,
        )
    return builder.build(), len(skipped)


def _json_records(path: Path) -> Iterator[tuple[str, Any]]:
    """``(location, record)`` from a JSON-lines file, a JSON array, or a dict of columns."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        lineno = data.count(b"\n", 0, e.start) + 1
        raise ValueError(
            f"{path}, line {lineno}: not valid UTF-8 (byte {data[e.start]:#04x}). "
            "Re-save the file as UTF-8."
        ) from None
    text = text.removeprefix("\ufeff")
    whole: Any = None
    if path.suffix.lower() == ".json":
        try:
            whole = json.loads(text)
        except json.JSONDecodeError as e:
            if not (e.msg == "Extra data" and text.lstrip().startswith("{")):
                raise ValueError(f"{path}, line {e.lineno}: not valid JSON ({e.msg}).") from None
    if isinstance(whole, list):
        for i, record in enumerate(whole, 1):
            yield f"{path}, record {i}", record
        return
    if isinstance(whole, dict):
        if whole and all(isinstance(v, list) for v in whole.values()):  # {column: [values]}
            lengths = {len(v) for v in whole.values()}
            if len(lengths) > 1:
                raise ValueError(f"{path}: the columns have different lengths {sorted(lengths)}.")
            for i in range(lengths.pop()):
                yield f"{path}, record {i + 1}", {k: v[i] for k, v in whole.items()}
        else:
            yield f"{path}, record 1", whole
        return
    if whole is not None:
        raise ValueError(f"{path}: expected JSON records, got a JSON {type(whole).__name__}.")
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}, line {lineno}: not valid JSON ({e.msg}).") from None
        yield f"{path}, line {lineno}", record


def _table_records(path: Path) -> Iterator[tuple[str, Any]]:
    """``(location, record)`` from a CSV (standard quoting) or TSV (GLUE, no quoting) file."""
    if path.suffix.lower() == ".tsv":
        rows = _tsv_rows(path)
    else:
        rows = _numbered_rows(path)
    first = next(rows, None)
    if first is None:
        return
    header = [h.strip() for h in first[1]]
    yield "header", header
    for lineno, row in rows:
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if len(row) != len(header):
            raise ValueError(
                f"{path}, line {lineno}: {len(row)} fields, but the header has {len(header)}."
            )
        yield f"{path}, line {lineno}", dict(zip(header, row, strict=True))


_FILE_KINDS = {
    ".json": _json_records,
    ".jsonl": _json_records,
    ".csv": _table_records,
    ".tsv": _table_records,
}


def _read_data_file(path: Path, spec: TaskSpec, split: str) -> Split:
    """One split from a ``data_files`` file: columns ``spec.text_fields`` + ``label``."""
    kind = _FILE_KINDS.get(path.suffix.lower())
    if kind is None:
        raise ValueError(
            f"{path}: unsupported file type '{path.suffix}'; data_files takes "
            f"{sorted(_FILE_KINDS)} files."
        )
    is_test = split.startswith("test")
    needed = [*spec.text_fields, "label"]
    expected = f"columns {needed} (label: {_label_help(spec)})"
    records = kind(path)
    builder: _SplitBuilder | None = None
    for where, record in records:
        if where == "header":  # CSV/TSV: check the columns once
            if not is_test and "label" not in record:
                raise _missing_column(path, "label", record, expected)
            for column in spec.text_fields:
                if column not in record:
                    raise _missing_column(path, column, record, expected)
            continue
        if not isinstance(record, dict):
            raise ValueError(f"{where}: expected a JSON object, got {type(record).__name__}.")
        if builder is None:  # first JSON record (or first CSV row): decide on labels
            present = list(record)
            for column in spec.text_fields if is_test else needed:
                if column not in record:
                    raise _missing_column(path, column, present, expected)
            builder = _SplitBuilder(spec, path, split, labelled="label" in record)
        missing = [c for c in spec.text_fields if c not in record]
        if builder.labelled and "label" not in record:
            missing.append("label")
        if missing:
            raise ValueError(f"{where}: the record has no {missing} (it has {list(record)}).")
        builder.add(record, record.get("label"), where)
    if builder is None:
        raise ValueError(f"{spec.name}: the {split} split of {path} is empty (no records).")
    return builder.build()


# --------------------------------------------------------------------------- sources


def _task_dir(data_dir: Path, layout: _TsvLayout) -> Path:
    """The task's folder: ``data_dir/<folder>`` for a GLUE root, else ``data_dir`` itself."""
    if not data_dir.is_dir():
        raise FileNotFoundError(
            f"data_dir {data_dir} is not a directory. Pass the GLUE root (holding "
            f"{layout.folder}/) or the {layout.folder} folder itself."
        )
    if data_dir.name.lower() == layout.folder.lower():
        return data_dir
    for child in (data_dir / layout.folder, *sorted(data_dir.iterdir())):
        if child.is_dir() and child.name.lower() == layout.folder.lower():
            return child
    if (data_dir / layout.files["train"]).is_file():
        return data_dir  # a task folder under another name
    raise FileNotFoundError(
        f"data_dir {data_dir} holds neither a {layout.folder}/ folder nor "
        f"{layout.files['train']}. Pass the GLUE root (as the GLUE download script writes it, "
        f"with {layout.folder}/{layout.files['train']}) or the {layout.folder} folder itself."
    )


def _load_data_dir(spec: TaskSpec, data_dir: Path) -> tuple[dict[str, Split], dict[str, Any]]:
    layout = _TSV[spec.name]
    folder = _task_dir(data_dir, layout)
    required = ["train", *spec.eval_splits]
    missing = [layout.files[s] for s in required if not (folder / layout.files[s]).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{folder} lacks {missing}. The GLUE {layout.folder} folder needs "
            f"{[layout.files[s] for s in required]} (test files are optional)."
        )
    splits: dict[str, Split] = {}
    files: dict[str, str] = {}
    skipped: dict[str, int] = {}
    for split, name in layout.files.items():
        path = folder / name
        if split not in required and not path.is_file():
            continue
        splits[split], n_skipped = _read_glue_tsv(path, spec, layout, split)
        files[split] = str(path)
        if n_skipped:
            skipped[split] = n_skipped
    info: dict[str, Any] = {"source": "data_dir", "path": str(folder), "files": files}
    if skipped:
        info["skipped_rows"] = skipped
    return splits, info


def _load_data_files(
    spec: TaskSpec, data_files: Mapping[str, str | os.PathLike]
) -> tuple[dict[str, Split], dict[str, Any]]:
    valid = list(_HUB_SPLITS[spec.name])
    if not isinstance(data_files, Mapping) or not data_files:
        raise ValueError(
            f"data_files must be a non-empty dict {{split: path}} with splits from {valid}; "
            f"got {data_files!r}."
        )
    unknown = [s for s in data_files if s not in valid]
    if unknown:
        raise ValueError(f"data_files has unknown split(s) {unknown}; {spec.name} splits: {valid}.")
    splits: dict[str, Split] = {}
    files: dict[str, str] = {}
    for split in valid:
        if split not in data_files:
            continue
        path = Path(data_files[split]).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"data_files['{split}']: {path} is not a file.")
        splits[split] = _read_data_file(path, spec, split)
        files[split] = str(path)
    return splits, {"source": "data_files", "files": files}


def _offline_message(spec: TaskSpec) -> str:
    layout = _TSV[spec.name]
    example = ", ".join(f"{layout.folder}/{layout.files[s]}" for s in ("train", *spec.eval_splits))
    dev = spec.eval_splits[0]
    return (
        f"cannot load GLUE task '{spec.name}' from the Hugging Face hub ({GLUE_HUB_ID}, config "
        f"'{spec.name}'): the hub is unreachable (offline or HF_HUB_OFFLINE=1) and the dataset "
        "is not in the local datasets cache. Load it from local files instead: "
        f"data_dir='glue_data' (the original GLUE TSV layout: {example}), or "
        f"data_files={{'train': 'train.jsonl', '{dev}': '{dev}.jsonl'}} (JSON/JSONL/CSV with "
        f"columns {[*spec.text_fields, 'label']}). Or go online once to cache it."
    )


def _hub_cached(config: str) -> bool:
    """Whether ``datasets`` holds a prepared copy of ``nyu-mll/glue`` ``config`` locally."""
    import datasets

    root = Path(datasets.config.HF_DATASETS_CACHE).expanduser()
    builder = root / GLUE_HUB_ID.replace("/", "___") / config
    return any(builder.glob("*/*/dataset_info.json"))


@contextlib.contextmanager
def _datasets_offline(enabled: bool) -> Iterator[None]:
    """Make ``datasets`` skip the hub (and its retries) and read its cache, if ``enabled``.

    ``datasets`` reads ``HF_DATASETS_OFFLINE`` when it is imported, so its config
    flag is set too for the duration of the call.
    """
    if not enabled:
        yield
        return
    import datasets

    saved_flag = datasets.config.HF_HUB_OFFLINE
    saved_env = os.environ.get("HF_DATASETS_OFFLINE")
    datasets.config.HF_HUB_OFFLINE = True
    os.environ["HF_DATASETS_OFFLINE"] = "1"
    try:
        yield
    finally:
        datasets.config.HF_HUB_OFFLINE = saved_flag
        if saved_env is None:
            os.environ.pop("HF_DATASETS_OFFLINE", None)
        else:
            os.environ["HF_DATASETS_OFFLINE"] = saved_env


def _load_hub(spec: TaskSpec) -> tuple[dict[str, Split], dict[str, Any]]:
    offline = hub_is_offline()
    cached = _hub_cached(spec.name)
    if offline and not cached:
        raise HubUnavailableError(_offline_message(spec))
    import datasets

    with _datasets_offline(offline):
        dataset = datasets.load_dataset(GLUE_HUB_ID, spec.name)
    names = getattr(dataset["train"].features.get("label"), "names", None)
    if spec.label_names is not None and names is not None and tuple(names) != spec.label_names:
        raise ValueError(
            f"{GLUE_HUB_ID}/{spec.name} labels are {names}, but kdzoo's {spec.name} spec has "
            f"{list(spec.label_names)} in that order; the label ids would not match."
        )
    splits: dict[str, Split] = {}
    for split, hub_split in _HUB_SPLITS[spec.name].items():
        if hub_split not in dataset:
            if split == "train" or split in spec.eval_splits:
                raise ValueError(
                    f"{GLUE_HUB_ID}/{spec.name} has no '{hub_split}' split "
                    f"(it has {sorted(dataset)})."
                )
            continue
        table = dataset[hub_split]
        texts = {f: list(table[f]) for f in spec.text_fields}
        labels = np.asarray(table["label"])
        if len(labels) == 0:
            raise ValueError(f"{spec.name}: the {split} split of {GLUE_HUB_ID} is empty.")
        unlabelled = split.startswith("test") and bool(np.all(labels == -1))
        splits[split] = Split(
            texts=texts,
            labels=None
            if unlabelled
            else labels.astype(np.float32 if spec.is_regression else np.int32),
        )
    info = {"source": "hub", "dataset": GLUE_HUB_ID, "config": spec.name, "offline": offline}
    return splits, info


def _check_limit(name: str, value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"{name} must be a positive int or None; got {value!r}.")


def load_glue(
    spec: TaskSpec | str,
    *,
    data_dir: str | os.PathLike | None = None,
    data_files: Mapping[str, str | os.PathLike] | None = None,
    max_train_examples: int | None = None,
    max_eval_examples: int | None = None,
    seed: int = 0,
) -> TaskData:
    """Load a GLUE task from a local GLUE download, local JSON/CSV files, or the hub.

    Args:
        spec: the task's spec (or its name, e.g. ``"mnli"``).
        data_dir: a directory in the original GLUE TSV layout: the GLUE root holding
            e.g. ``MNLI/`` (``train.tsv``, ``dev_matched.tsv``, ``dev_mismatched.tsv``), or
            the task folder itself. String labels are mapped to ids in the order of
            ``spec.label_names``; rows with missing fields (QQP's train has a few) are
            skipped with a warning and counted in ``info["skipped_rows"]``.
        data_files: ``{split: path}`` of ``.json``/``.jsonl``/``.csv``/``.tsv`` files with
            columns ``spec.text_fields`` + ``label`` (an id, a label name, or for STS-B a
            score). Splits: ``"train"``, ``spec.eval_splits``, ``"test"`` (MNLI:
            ``"test_matched"``/``"test_mismatched"``); any subset of them.
        max_train_examples: keep a deterministic random subset of this many training
            examples (all if None).
        max_eval_examples: the same for every other split.
        seed: the seed of those subsets.

    Returns:
        The task's :class:`TaskData`: ``"train"``, the eval splits and any test
        splits; ``info`` says where the data came from (``source``, ``files``/``path``).

    Raises:
        ValueError: both sources given; a file that is empty, lacks a column, is not
            UTF-8, or holds a label outside the task's label set (the message names the
            file and line).
        FileNotFoundError: ``data_dir`` or a file in ``data_files`` does not exist.
        HubUnavailableError: neither source given, the hub is unreachable and the
            dataset is not cached.
    """
    if isinstance(spec, str):
        spec = get_spec(spec)
    if spec.name not in _TSV:
        raise ValueError(f"'{spec.name}' is not a GLUE task; GLUE tasks: {sorted(_TSV)}.")
    if data_dir is not None and data_files is not None:
        raise ValueError("pass data_dir= (GLUE TSV layout) or data_files= (JSON/CSV), not both.")
    _check_limit("max_train_examples", max_train_examples)
    _check_limit("max_eval_examples", max_eval_examples)
    if data_dir is not None:
        splits, info = _load_data_dir(spec, Path(data_dir).expanduser())
    elif data_files is not None:
        splits, info = _load_data_files(spec, data_files)
    else:
        splits, info = _load_hub(spec)
    splits = {
        name: split.subset(max_train_examples if name == "train" else max_eval_examples, seed)
        for name, split in splits.items()
    }
    info["sizes"] = {name: len(split) for name, split in splits.items()}
    return TaskData(spec=spec, splits=splits, info=info)


for _spec in GLUE_TASKS.values():
    register_task(_spec, load_glue)
del _spec
