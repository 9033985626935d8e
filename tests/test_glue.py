"""GLUE loading (original TSV layout, JSON/CSV files, the hub offline) and GLUE metrics.

Every file here is written by the tests themselves, in the layout the GLUE download
script produces, so that nothing needs the network.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest

from kdzoo.data import get_spec, load_task, tasks
from kdzoo.data.glue import GLUE_TASKS, load_glue
from kdzoo.data.metrics import (
    accuracy,
    compute_metrics,
    f1,
    matthews_corrcoef,
    pearson,
    spearman,
)
from kdzoo.hub import HubUnavailableError

pytestmark = pytest.mark.no_backend  # runs no Keras code: tested in the torch env only

# ----------------------------------------------------------------------------- fixtures

MNLI_TRAIN_HEADER = [
    "index",
    "promptID",
    "pairID",
    "genre",
    "sentence1_binary_parse",
    "sentence2_binary_parse",
    "sentence1_parse",
    "sentence2_parse",
    "sentence1",
    "sentence2",
    "label1",
    "gold_label",
]
MNLI_DEV_HEADER = [*MNLI_TRAIN_HEADER[:10], "label1", "label2", "label3", "label4", "label5"]
MNLI_DEV_HEADER.append("gold_label")

# (premise, hypothesis, gold label); a stray double quote must survive (QUOTE_NONE).
MNLI_TRAIN = [
    ("A man plays a guitar.", "A person makes music.", "entailment"),
    ("A man plays a guitar.", "The man is famous.", "neutral"),
    ("A man plays a guitar.", "Nobody is playing.", "contradiction"),
    ('"Wait," she said and left.', "She spoke.", "entailment"),
    ("Two dogs run on grass.", "The dogs are asleep.", "contradiction"),
    ("Two dogs run on grass.", "The dogs are brothers.", "neutral"),
    ("A child reads a book.", "A child is reading.", "entailment"),
    ("A child reads a book.", "The child is at school.", "neutral"),
]
MNLI_MATCHED = [
    ("The cat sleeps.", "An animal rests.", "entailment"),
    ("The cat sleeps.", "The cat is running.", "contradiction"),
    ("The cat sleeps.", "The cat is old.", "neutral"),
]
MNLI_MISMATCHED = [
    ("Rain fell all day.", "It was dry.", "contradiction"),
    ("Rain fell all day.", "It was wet outside.", "entailment"),
]
MNLI_IDS = {"entailment": 0, "neutral": 1, "contradiction": 2}  # GLUE / HF datasets order


def _write(path: Path, rows: list[list[str]], *, header: list[str] | None = None) -> Path:
    """A GLUE TSV: tab-separated, no quoting, '\\n' line ends."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ([header] if header else []) + rows
    path.write_text("".join("\t".join(r) + "\n" for r in lines), encoding="utf-8")
    return path


def _mnli_rows(examples, header):
    rows = []
    for i, (premise, hypothesis, gold) in enumerate(examples):
        fields = dict.fromkeys(header, "")
        fields.update(
            index=str(i),
            promptID=str(100 + i),
            pairID=f"{100 + i}e",
            genre="fiction",
            sentence1_binary_parse=f"( {premise} )",
            sentence2_binary_parse=f"( {hypothesis} )",
            sentence1_parse=f"(ROOT {premise})",
            sentence2_parse=f"(ROOT {hypothesis})",
            sentence1=premise,
            sentence2=hypothesis,
            label1=gold,
            gold_label=gold,
        )
        rows.append([fields[h] for h in header])
    return rows


@pytest.fixture
def glue_root(tmp_path) -> Path:
    """A GLUE root with MNLI, SST-2, QQP, QNLI, RTE, MRPC, CoLA and STS-B, 2-20 rows each."""
    root = tmp_path / "glue_data"
    mnli = root / "MNLI"
    _write(mnli / "train.tsv", _mnli_rows(MNLI_TRAIN, MNLI_TRAIN_HEADER), header=MNLI_TRAIN_HEADER)
    for name, examples in (("dev_matched", MNLI_MATCHED), ("dev_mismatched", MNLI_MISMATCHED)):
        rows = _mnli_rows(examples, MNLI_DEV_HEADER)
        _write(mnli / f"{name}.tsv", rows, header=MNLI_DEV_HEADER)

    sst = [
        [f"sentence number {i} is {'good' if i % 3 else 'bad'}", str(int(i % 3 > 0))]
        for i in range(20)
    ]
    _write(root / "SST-2" / "train.tsv", sst, header=["sentence", "label"])
    _write(root / "SST-2" / "dev.tsv", sst[:4], header=["sentence", "label"])
    _write(
        root / "SST-2" / "test.tsv",
        [["0", "a test sentence"], ["1", "another"]],
        header=["index", "sentence"],
    )

    qqp_header = ["id", "qid1", "qid2", "question1", "question2", "is_duplicate"]
    qqp = [
        ["0", "1", "2", "How do I learn Python?", "What is the best way to learn Python?", "1"],
        ["1", "3", "4", "Why is the sky blue?", "How tall is Everest?", "0"],
        ["2", "5", "6", "What is love?"],  # truncated row, as in GLUE's QQP train
        ["3", "7", "8", "Is tea healthy?", "Is green tea good for you?", "1"],
    ]
    _write(root / "QQP" / "train.tsv", qqp, header=qqp_header)
    _write(root / "QQP" / "dev.tsv", [qqp[0], qqp[1]], header=qqp_header)

    qnli = [
        ["0", "Where is Paris?", "Paris is in France.", "entailment"],
        ["1", "Who wrote Hamlet?", "London is large.", "not_entailment"],
        ["2", "When did it rain?", "It rained on Monday.", "entailment"],
    ]
    _write(root / "QNLI" / "train.tsv", qnli, header=["index", "question", "sentence", "label"])
    _write(root / "QNLI" / "dev.tsv", qnli[:2], header=["index", "question", "sentence", "label"])

    rte = [
        ["0", "Cats are mammals.", "Cats are animals.", "entailment"],
        ["1", "Cats are mammals.", "Cats can fly.", "not_entailment"],
    ]
    _write(root / "RTE" / "train.tsv", rte, header=["index", "sentence1", "sentence2", "label"])
    _write(root / "RTE" / "dev.tsv", rte[::-1], header=["index", "sentence1", "sentence2", "label"])

    # MRPC as the GLUE script writes it: the header line of msr_paraphrase_train.txt,
    # which starts with a UTF-8 byte-order mark.
    mrpc_header = ["\ufeffQuality", "#1 ID", "#2 ID", "#1 String", "#2 String"]
    mrpc = [
        ["1", "702876", "702977", "He said the plan works.", "The plan works, he said."],
        ["0", "2108705", "2108831", "Shares rose 5 percent.", "The company hired staff."],
        ["1", "1330381", "1330521", "It rained in Oslo.", "Oslo had rain."],
    ]
    _write(root / "MRPC" / "train.tsv", mrpc, header=mrpc_header)
    _write(root / "MRPC" / "dev.tsv", mrpc[1:], header=mrpc_header)

    # CoLA: no header; source, label, original label (* if unacceptable), sentence.
    cola = [
        ["gj04", "1", "", "Our friends won't buy this analysis."],
        ["gj04", "0", "*", "One more pseudo generalization and I'm giving up."],
        ["gj04", "1", "", "The sailors rode the breeze clear of the rocks."],
        ["gj04", "0", "*", "They drank the pub."],
        ["gj04", "1", "", "The more we study verbs, the crazier they get."],
    ]
    _write(root / "CoLA" / "train.tsv", cola)
    _write(root / "CoLA" / "dev.tsv", cola[:3])
    _write(
        root / "CoLA" / "test.tsv",
        [["0", "Bill whistled past the house."]],
        header=["index", "sentence"],
    )

    sts_header = ["index", "genre", "filename", "year", "old_index", "source1", "source2"]
    sts_header += ["sentence1", "sentence2", "score"]
    sts_meta = ["main-captions", "MSRvid", "2012test"]
    sts = [
        [str(i), *sts_meta, f"000{i}", "none", "none", s1, s2, score]
        for i, (s1, s2, score) in enumerate(
            [
                ("A plane takes off.", "An air plane is taking off.", "5.000"),
                ("A man plays a flute.", "A man plays a bamboo flute.", "3.800"),
                ("A cat eats.", "A man runs.", "0.0"),
            ]
        )
    ]
    _write(root / "STS-B" / "train.tsv", sts, header=sts_header)
    _write(root / "STS-B" / "dev.tsv", sts[:2], header=sts_header)
    return root


# ----------------------------------------------------------------------------- registry


def test_glue_tasks_are_registered_with_their_specs():
    expected = {"mnli", "sst2", "qqp", "qnli", "mrpc", "rte", "cola", "stsb"}
    assert expected <= set(tasks())
    for name in expected:
        spec = get_spec(name)
        assert spec is GLUE_TASKS[name]
        assert spec.source == "nyu-mll/glue"
        assert spec.description
    assert get_spec("mnli").label_names == ("entailment", "neutral", "contradiction")
    assert get_spec("mnli").eval_splits == ("dev_matched", "dev_mismatched")
    assert get_spec("qqp").metrics == ("f1", "accuracy")
    assert get_spec("cola").metrics == ("matthews_correlation",)
    assert get_spec("stsb").is_regression and get_spec("stsb").metrics == ("pearson", "spearman")


def test_unknown_task_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown task 'mnlii'") as err:
        load_task("mnlii")
    assert "mnli" in str(err.value).split("Valid tasks:")[1]
    assert "sst2" in str(err.value)


# ----------------------------------------------------------------------------- data_dir


def test_mnli_labels_follow_the_glue_order(glue_root):
    data = load_task("mnli", data_dir=glue_root)
    train = data["train"]
    assert set(data.splits) == {"train", "dev_matched", "dev_mismatched"}
    assert train.texts["premise"] == [p for p, _, _ in MNLI_TRAIN]
    assert train.texts["hypothesis"] == [h for _, h, _ in MNLI_TRAIN]
    # entailment=0, neutral=1, contradiction=2: fails if the order were alphabetical.
    np.testing.assert_array_equal(train.labels, [0, 1, 2, 0, 2, 1, 0, 1])
    np.testing.assert_array_equal(train.labels, [MNLI_IDS[g] for _, _, g in MNLI_TRAIN])
    assert train.labels.dtype == np.int32
    assert train.texts["premise"][3] == '"Wait," she said and left.'  # quotes are text
    first, second = train.columns(data.spec)
    assert first[0] == "A man plays a guitar." and second[0] == "A person makes music."


def test_mnli_has_both_dev_splits(glue_root):
    data = load_task("mnli", data_dir=glue_root)
    matched, mismatched = data["dev_matched"], data["dev_mismatched"]
    assert matched.texts["premise"] == [p for p, _, _ in MNLI_MATCHED]
    np.testing.assert_array_equal(matched.labels, [0, 2, 1])
    assert mismatched.texts["hypothesis"] == ["It was dry.", "It was wet outside."]
    np.testing.assert_array_equal(mismatched.labels, [2, 0])
    assert data.info["source"] == "data_dir"
    assert data.info["files"]["dev_mismatched"].endswith("MNLI/dev_mismatched.tsv")
    assert data.info["sizes"] == {"train": 8, "dev_matched": 3, "dev_mismatched": 2}
    with pytest.raises(KeyError, match="no split 'dev'"):
        data["dev"]


def test_data_dir_may_be_the_root_or_the_task_folder(glue_root):
    from_root = load_task("sst2", data_dir=glue_root)
    from_folder = load_task("sst2", data_dir=glue_root / "SST-2")
    assert from_root.info["path"] == from_folder.info["path"] == str(glue_root / "SST-2")
    for split in ("train", "dev", "test"):
        assert from_root[split].texts == from_folder[split].texts
    np.testing.assert_array_equal(from_root["train"].labels, from_folder["train"].labels)
    assert from_root["train"].labels[:4].tolist() == [0, 1, 1, 0]
    assert from_root["test"].labels is None  # GLUE test files are unlabelled
    assert from_root["test"].texts["sentence"] == ["a test sentence", "another"]


def test_data_dir_without_the_task_fails_with_the_layout(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"MNLI/train\.tsv"):
        load_task("mnli", data_dir=tmp_path)
    with pytest.raises(FileNotFoundError, match="not a directory"):
        load_task("mnli", data_dir=tmp_path / "nope")


def test_missing_dev_file_is_named(glue_root):
    (glue_root / "MNLI" / "dev_mismatched.tsv").unlink()
    with pytest.raises(FileNotFoundError, match=r"dev_mismatched\.tsv"):
        load_task("mnli", data_dir=glue_root)


def test_cola_has_no_header_row(glue_root):
    data = load_task("cola", data_dir=glue_root)
    train = data["train"]
    assert len(train) == 5  # the first line is an example, not a header
    assert train.texts["sentence"][0] == "Our friends won't buy this analysis."
    np.testing.assert_array_equal(train.labels, [1, 0, 1, 0, 1])
    assert data["test"].texts["sentence"] == ["Bill whistled past the house."]
    assert data["test"].labels is None


def test_cola_copy_with_a_header_row_is_accepted(glue_root):
    path = glue_root / "CoLA" / "train.tsv"
    path.write_text("source\tlabel\toriginal_label\tsentence\n" + path.read_text())
    train = load_task("cola", data_dir=glue_root)["train"]
    assert len(train) == 5
    np.testing.assert_array_equal(train.labels, [1, 0, 1, 0, 1])


def test_stsb_scores_are_floats(glue_root):
    data = load_task("stsb", data_dir=glue_root)
    train = data["train"]
    assert train.labels.dtype == np.float32
    np.testing.assert_allclose(train.labels, [5.0, 3.8, 0.0])
    assert train.texts["sentence2"][1] == "A man plays a bamboo flute."
    np.testing.assert_allclose(data["dev"].labels, [5.0, 3.8])


def test_mrpc_original_columns_with_bom(glue_root):
    data = load_task("mrpc", data_dir=glue_root)
    train = data["train"]
    assert train.texts["sentence1"] == [
        "He said the plan works.",
        "Shares rose 5 percent.",
        "It rained in Oslo.",
    ]
    assert train.texts["sentence2"][0] == "The plan works, he said."
    np.testing.assert_array_equal(train.labels, [1, 0, 1])
    np.testing.assert_array_equal(data["dev"].labels, [0, 1])


def test_qqp_skips_truncated_rows_with_a_warning(glue_root):
    with pytest.warns(UserWarning, match="skipped 1 row"):
        data = load_task("qqp", data_dir=glue_root)
    train = data["train"]
    assert train.texts["question1"] == [
        "How do I learn Python?",
        "Why is the sky blue?",
        "Is tea healthy?",
    ]
    np.testing.assert_array_equal(train.labels, [1, 0, 1])
    assert data.info["skipped_rows"] == {"train": 1}


@pytest.mark.parametrize("task, folder", [("qnli", "QNLI"), ("rte", "RTE")])
def test_qnli_and_rte_string_labels(glue_root, task, folder):
    data = load_task(task, data_dir=glue_root / folder)
    first = data.spec.text_fields[0]
    if task == "qnli":
        assert data["train"].texts[first] == [
            "Where is Paris?",
            "Who wrote Hamlet?",
            "When did it rain?",
        ]
        np.testing.assert_array_equal(data["train"].labels, [0, 1, 0])
    else:
        assert data["dev"].texts["sentence2"] == ["Cats can fly.", "Cats are animals."]
        np.testing.assert_array_equal(data["dev"].labels, [1, 0])


def test_subsets_are_deterministic_and_aligned(glue_root):
    full = load_task("sst2", data_dir=glue_root)["train"]
    truth = dict(zip(full.texts["sentence"], full.labels.tolist(), strict=True))
    a = load_task("sst2", data_dir=glue_root, max_train_examples=7, max_eval_examples=2, seed=3)
    b = load_task("sst2", data_dir=glue_root, max_train_examples=7, max_eval_examples=2, seed=3)
    c = load_task("sst2", data_dir=glue_root, max_train_examples=7, seed=4)
    assert len(a["train"]) == 7 and len(a["dev"]) == 2 and len(c["dev"]) == 4
    assert a["train"].texts == b["train"].texts
    np.testing.assert_array_equal(a["train"].labels, b["train"].labels)
    assert a["train"].texts != c["train"].texts
    for text, label in zip(a["train"].texts["sentence"], a["train"].labels, strict=True):
        assert truth[text] == label
    assert a.info["sizes"]["train"] == 7


def test_bad_subset_size_is_refused(glue_root):
    with pytest.raises(ValueError, match="max_train_examples"):
        load_task("sst2", data_dir=glue_root, max_train_examples=0)


# ----------------------------------------------------------------------------- errors


def test_missing_column_names_file_column_and_columns(glue_root):
    header = [h for h in MNLI_DEV_HEADER if h != "gold_label"]
    path = _write(glue_root / "MNLI" / "dev_matched.tsv", [["x"] * len(header)], header=header)
    with pytest.raises(ValueError, match="gold_label") as err:
        load_task("mnli", data_dir=glue_root)
    message = str(err.value)
    assert str(path) in message
    assert "'sentence1'" in message and "label5" in message  # the columns present


def test_label_outside_the_label_set_names_file_line_and_labels(glue_root):
    rows = _mnli_rows(MNLI_MATCHED, MNLI_DEV_HEADER)
    rows[1][-1] = "entailed"
    path = _write(glue_root / "MNLI" / "dev_matched.tsv", rows, header=MNLI_DEV_HEADER)
    with pytest.raises(ValueError, match="line 3") as err:
        load_task("mnli", data_dir=glue_root)
    message = str(err.value)
    assert str(path) in message and "'entailed'" in message
    assert "'entailment', 'neutral', 'contradiction'" in message


def test_label_id_out_of_range(glue_root):
    _write(
        glue_root / "SST-2" / "dev.tsv", [["fine", "1"], ["odd", "2"]], header=["sentence", "label"]
    )
    with pytest.raises(ValueError, match=r"dev\.tsv, line 3: label '2'.*out of range"):
        load_task("sst2", data_dir=glue_root)


def test_stsb_score_out_of_range(glue_root):
    path = glue_root / "STS-B" / "dev.tsv"
    path.write_text(path.read_text().replace("3.800", "7.5"))
    with pytest.raises(ValueError, match=r"line 3: label '7.5'.*from 0 to 5"):
        load_task("stsb", data_dir=glue_root)


@pytest.mark.parametrize("content", ["", "sentence\tlabel\n"])
def test_empty_train_file(glue_root, content):
    path = glue_root / "SST-2" / "train.tsv"
    path.write_text(content)
    with pytest.raises(ValueError, match=r"train split of .*train\.tsv is empty") as err:
        load_task("sst2", data_dir=glue_root)
    assert str(path) in str(err.value)


def test_empty_headerless_cola_file(glue_root):
    (glue_root / "CoLA" / "train.tsv").write_text("")
    with pytest.raises(ValueError, match=r"train split of .* is empty"):
        load_task("cola", data_dir=glue_root)


def test_undecodable_line_names_file_and_line(glue_root):
    path = glue_root / "SST-2" / "train.tsv"
    path.write_bytes(b"sentence\tlabel\ngood film\t1\ncaf\xe9 au lait\t1\n")
    with pytest.raises(ValueError, match="not valid UTF-8") as err:
        load_task("sst2", data_dir=glue_root)
    assert f"{path}, line 3" in str(err.value)


# ----------------------------------------------------------------------------- data_files


def test_data_files_jsonl_json_and_csv(tmp_path):
    train = tmp_path / "train.jsonl"
    train.write_text(
        "\n".join(
            json.dumps(r)
            for r in [
                {"premise": "A", "hypothesis": "B", "label": "neutral"},
                {"premise": "C", "hypothesis": "D", "label": 2},
                {"premise": "E", "hypothesis": "F", "label": "entailment", "idx": 7},
            ]
        )
    )
    matched = tmp_path / "matched.json"  # a JSON array of records
    matched.write_text(json.dumps([{"premise": "G", "hypothesis": "H", "label": "contradiction"}]))
    mismatched = tmp_path / "mismatched.csv"
    mismatched.write_text('premise,hypothesis,label\n"I, too",J,1\nK,"L ""quoted""",0\n')
    test = tmp_path / "test.jsonl"  # an export of the hub's unlabelled test split
    test.write_text(json.dumps({"premise": "M", "hypothesis": "N", "label": -1}) + "\n")
    data = load_glue(
        get_spec("mnli"),
        data_files={
            "train": train,
            "dev_matched": matched,
            "dev_mismatched": str(mismatched),
            "test_matched": test,
        },
    )
    assert data["train"].texts == {"premise": ["A", "C", "E"], "hypothesis": ["B", "D", "F"]}
    np.testing.assert_array_equal(data["train"].labels, [1, 2, 0])
    np.testing.assert_array_equal(data["dev_matched"].labels, [2])
    assert data["dev_mismatched"].texts["premise"] == ["I, too", "K"]
    assert data["dev_mismatched"].texts["hypothesis"][1] == 'L "quoted"'
    np.testing.assert_array_equal(data["dev_mismatched"].labels, [1, 0])
    assert data["test_matched"].labels is None
    assert data.info == {
        "source": "data_files",
        "files": {
            "train": str(train),
            "dev_matched": str(matched),
            "dev_mismatched": str(mismatched),
            "test_matched": str(test),
        },
        "sizes": {"train": 3, "dev_matched": 1, "dev_mismatched": 2, "test_matched": 1},
    }


def test_data_files_stsb_csv_and_columnar_json(tmp_path):
    csv_path = tmp_path / "train.csv"
    csv_path.write_text("sentence1,sentence2,label\na,b,4.5\nc,d,0\n")
    json_path = tmp_path / "dev.json"
    json_path.write_text(json.dumps({"sentence1": ["e"], "sentence2": ["f"], "label": [2.25]}))
    data = load_task("stsb", data_files={"train": csv_path, "dev": json_path})
    np.testing.assert_allclose(data["train"].labels, [4.5, 0.0])
    np.testing.assert_allclose(data["dev"].labels, [2.25])
    assert data["dev"].texts == {"sentence1": ["e"], "sentence2": ["f"]}


def test_data_files_errors(tmp_path):
    no_label = tmp_path / "a.csv"
    no_label.write_text("sentence,target\nfine,1\n")
    with pytest.raises(ValueError, match=r"no column 'label'.*\['sentence', 'target'\]"):
        load_task("sst2", data_files={"train": no_label})

    bad = tmp_path / "b.jsonl"
    bad.write_text('{"sentence": "ok", "label": 1}\n{"sentence": "no", "label": "neutral"}\n')
    with pytest.raises(
        ValueError, match=r"b\.jsonl, line 2: label 'neutral'.*'negative', 'positive'"
    ):
        load_task("sst2", data_files={"train": bad})

    empty = tmp_path / "c.jsonl"
    empty.write_text("\n")
    with pytest.raises(ValueError, match=r"train split of .*c\.jsonl is empty"):
        load_task("sst2", data_files={"train": empty})

    latin1 = tmp_path / "d.jsonl"
    latin1.write_bytes(b'{"sentence": "ok", "label": 1}\n{"sentence": "caf\xe9", "label": 1}\n')
    with pytest.raises(ValueError, match=r"d\.jsonl, line 2: not valid UTF-8"):
        load_task("sst2", data_files={"train": latin1})

    with pytest.raises(ValueError, match=r"unknown split\(s\) \['validation'\].*'dev'"):
        load_task("sst2", data_files={"validation": no_label})
    with pytest.raises(ValueError, match="unsupported file type"):
        load_task("sst2", data_files={"train": _touch(tmp_path / "e.parquet")})
    with pytest.raises(FileNotFoundError, match="is not a file"):
        load_task("sst2", data_files={"train": tmp_path / "missing.jsonl"})
    with pytest.raises(ValueError, match="not both"):
        load_task("sst2", data_dir=tmp_path, data_files={"train": no_label})


def _touch(path: Path) -> Path:
    path.write_bytes(b"")
    return path


# ----------------------------------------------------------------------------- the hub


@pytest.fixture
def datasets_cache(tmp_path, monkeypatch) -> Path:
    """An empty, private ``datasets`` cache, so that no real cached copy interferes."""
    datasets = pytest.importorskip("datasets")
    cache = tmp_path / "hf_datasets_cache"
    cache.mkdir()
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", cache)
    return cache


def test_offline_hub_fails_fast_and_names_the_local_options(offline, datasets_cache):
    start = time.perf_counter()
    with pytest.raises(HubUnavailableError) as err:
        load_task("mnli")
    assert time.perf_counter() - start < 5.0
    message = str(err.value)
    assert "data_dir=" in message and "MNLI/dev_matched.tsv" in message
    assert "data_files=" in message and "'premise', 'hypothesis', 'label'" in message


def _cache_sst2(cache: Path, names=("negative", "positive")) -> None:
    """What ``load_dataset("nyu-mll/glue", "sst2")`` leaves in the datasets cache."""
    import datasets
    from datasets.arrow_writer import ArrowWriter

    features = datasets.Features(
        {
            "sentence": datasets.Value("string"),
            "label": datasets.ClassLabel(names=list(names)),
            "idx": datasets.Value("int32"),
        }
    )
    folder = cache / "nyu-mll___glue" / "sst2" / "0.0.0" / "0123abcd"
    folder.mkdir(parents=True)
    rows = {
        "train": (["good", "bad", "fine"], [1, 0, 1]),
        "validation": (["ok", "meh"], [1, 0]),
        "test": (["x", "y"], [-1, -1]),
    }
    split_dict = datasets.SplitDict(dataset_name="glue")
    for split, (texts, labels) in rows.items():
        table = datasets.Dataset.from_dict(
            {"sentence": texts, "label": labels, "idx": list(range(len(texts)))},
            features=features,
        ).data.table
        with ArrowWriter(features=features, path=str(folder / f"glue-{split}.arrow")) as writer:
            writer.write_table(table)
            n, n_bytes = writer.finalize()
        split_dict.add(datasets.SplitInfo(name=split, num_examples=n, num_bytes=n_bytes))
    info = datasets.DatasetInfo(features=features, config_name="sst2", dataset_name="glue")
    info.splits = split_dict
    info.write_to_directory(str(folder))


def test_offline_hub_uses_a_cached_copy(offline, datasets_cache):
    _cache_sst2(datasets_cache)
    data = load_task("sst2", max_train_examples=2)
    assert data.info["source"] == "hub" and data.info["offline"] is True
    assert len(data["train"]) == 2
    assert data["dev"].texts["sentence"] == ["ok", "meh"]
    np.testing.assert_array_equal(data["dev"].labels, [1, 0])
    assert data["test"].labels is None  # the hub's -1 placeholders


def test_unreachable_hub_without_offline_variables_reads_the_cache(datasets_cache, monkeypatch):
    """The probe finds no hub; datasets is switched to offline mode just for the call."""
    import datasets

    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    for var in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", False)
    _cache_sst2(datasets_cache)
    start = time.perf_counter()
    data = load_task("sst2")
    assert time.perf_counter() - start < 10.0
    np.testing.assert_array_equal(data["train"].labels, [1, 0, 1])
    assert datasets.config.HF_HUB_OFFLINE is False  # restored
    assert "HF_DATASETS_OFFLINE" not in os.environ


def test_hub_label_order_is_checked(offline, datasets_cache):
    _cache_sst2(datasets_cache, names=("positive", "negative"))
    with pytest.raises(ValueError, match="label ids would not match"):
        load_task("sst2")


# ----------------------------------------------------------------------------- metrics


def test_accuracy_and_f1_by_hand():
    pred = [1, 1, 0, 1, 0, 0, 1]
    gold = [1, 0, 0, 1, 1, 0, 1]
    # TP=3 (0,3,6), FP=1 (1), FN=1 (4), TN=2: F1 = 6 / (6 + 1 + 1)
    assert accuracy(pred, gold) == pytest.approx(5 / 7)
    assert f1(pred, gold) == pytest.approx(0.75)
    assert f1([0, 0], [0, 0]) == 0.0
    assert f1([0, 0, 0], [1, 0, 1]) == 0.0


def test_matthews_by_hand():
    pred = [1, 1, 0, 1, 0, 0, 1]
    gold = [1, 0, 0, 1, 1, 0, 1]
    tp, tn, fp, fn = 3, 2, 1, 1
    expected = (tp * tn - fp * fn) / np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    assert matthews_corrcoef(pred, gold) == pytest.approx(expected)  # 5/12
    assert matthews_corrcoef(gold, gold) == pytest.approx(1.0)
    assert matthews_corrcoef([1 - g for g in gold], gold) == pytest.approx(-1.0)
    assert matthews_corrcoef([1] * 7, gold) == 0.0  # constant predictions
    # Three classes, against the formula written out with the confusion matrix.
    p3 = [0, 1, 2, 2, 1, 0, 2, 1]
    y3 = [0, 1, 2, 1, 1, 0, 0, 2]
    cm = np.zeros((3, 3))
    for t, p in zip(y3, p3, strict=True):
        cm[t, p] += 1
    t_k, p_k, c, s = cm.sum(1), cm.sum(0), np.trace(cm), cm.sum()
    want = (c * s - p_k @ t_k) / np.sqrt((s**2 - p_k @ p_k) * (s**2 - t_k @ t_k))
    assert matthews_corrcoef(p3, y3) == pytest.approx(want)


def test_pearson_and_spearman_by_hand():
    x = [1.0, 2.0, 3.0, 4.0]
    y = [2.0, 4.0, 5.0, 4.0]
    # means 2.5 and 3.75; Σdx·dy = 3.5, Σdx² = 5, Σdy² = 4.75
    assert pearson(x, y) == pytest.approx(3.5 / np.sqrt(5 * 4.75))
    # ranks of y, the tied 4s sharing (2 + 3) / 2: 2 -> 1, 4 -> 2.5, 5 -> 4
    ry = [1.0, 2.5, 4.0, 2.5]
    rx = [1.0, 2.0, 3.0, 4.0]
    assert spearman(x, y) == pytest.approx(pearson(rx, ry))
    assert spearman(x, y) == pytest.approx(3.0 / np.sqrt(5 * 4.5))
    assert spearman([1, 10, 100, 1000], [3, 4, 5, 6]) == pytest.approx(1.0)  # monotone
    assert pearson([1, 10, 100, 1000], [3, 4, 5, 6]) < 0.95
    assert pearson([2.0, 2.0, 2.0], [1.0, 2.0, 3.0]) == 0.0  # constant: nan -> 0.0
    assert spearman([1.0, 2.0, 3.0], [5.0, 5.0, 5.0]) == 0.0
    assert np.isnan(pearson([1.0, np.nan, 3.0], [1.0, 2.0, 3.0]))


def test_metrics_against_scipy():
    from scipy import stats  # a dependency of gensim, so always installed

    rng = np.random.default_rng(0)
    x = rng.integers(0, 6, 50).astype(float)  # many ties
    y = x + rng.normal(0, 1.5, 50)
    assert pearson(x, y) == pytest.approx(stats.pearsonr(x, y)[0], abs=1e-12)
    assert spearman(x, y) == pytest.approx(stats.spearmanr(x, y)[0], abs=1e-12)
    assert spearman(x, np.round(y)) == pytest.approx(stats.spearmanr(x, np.round(y))[0], abs=1e-12)


def test_compute_metrics_keys_and_shapes():
    logits = np.array([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [0.0, 0.0, 5.0], [4.0, 0.0, 0.0]])
    labels = np.array([0, 1, 1, 0])
    assert compute_metrics(get_spec("mnli"), logits, labels) == {"accuracy": 0.75}

    qqp = compute_metrics(
        get_spec("qqp"), np.array([[0.0, 1.0], [1.0, 0.0], [0.0, 2.0]]), [1, 1, 0]
    )
    assert list(qqp) == ["f1", "accuracy"]
    assert qqp["f1"] == pytest.approx(0.5) and qqp["accuracy"] == pytest.approx(1 / 3)

    cola = compute_metrics(get_spec("cola"), np.array([1, 1, 0, 0]), [1, 0, 0, 0])
    assert list(cola) == ["matthews_correlation"]
    assert cola["matthews_correlation"] == pytest.approx(1 / np.sqrt(3))

    scores = np.array([[0.5], [2.0], [4.5]])
    sts = compute_metrics(get_spec("stsb"), scores, [1.0, 2.0, 5.0])
    assert list(sts) == ["pearson", "spearman"]
    assert sts["spearman"] == pytest.approx(1.0)
    assert sts["pearson"] == pytest.approx(pearson(scores[:, 0], [1.0, 2.0, 5.0]))
    assert all(isinstance(v, float) for v in sts.values())

    with pytest.raises(ValueError, match="3 labels"):
        compute_metrics(get_spec("mnli"), np.zeros((2, 2)), [0, 1])
    with pytest.raises(ValueError, match="unlabelled"):
        compute_metrics(get_spec("sst2"), np.zeros((2, 2)), None)
    with pytest.raises(ValueError, match="differ in length"):
        compute_metrics(get_spec("sst2"), np.zeros((3, 2)), [0, 1])
