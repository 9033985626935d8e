"""baselines/: the published numbers, the paper recipes, and kdzoo.baselines that reads them.

The CSV checks recompute the papers' averages from their columns (catching transcription
errors); the recipe checks hold every value to the method's real config fields, stages,
presets and augmenter arguments, and every value group to a source.
"""

from __future__ import annotations

import csv
import dataclasses
import importlib.util
import inspect
import json
import shutil
from collections import Counter, defaultdict
from pathlib import Path

import pandas as pd
import pytest

import kdzoo
import kdzoo.baselines as baselines
from kdzoo.augment import TangAugmenter, TinyBertAugmenter
from kdzoo.models.bert import PRESETS
from kdzoo.models.bilstm import BILSTM_PRESETS

pytestmark = pytest.mark.no_backend  # runs no Keras code: tested in the torch env only

ROOT = Path(__file__).parents[1]
ROWS = list(csv.DictReader((ROOT / "baselines" / "published.csv").open()))
RECIPES = json.loads((ROOT / "baselines" / "recipes.json").read_text())["methods"]
AVERAGES = {"glue-avg", "avg4", "glue-macro"}
OUTSIDE_TASKS = {"wnli", "imdb", "squad-v1.1", "squad-v2.0"}  # reported, not run by kdzoo
METRICS = {
    "accuracy",
    "f1",
    "exact_match",
    "matthews_correlation",
    "pearson",
    "spearman",
    "average",
    "delta",
    "cpu_inference_seconds",
}
ROLES = {"teacher", "student-only", "baseline"}
TINYBERT = "TinyBERT (Jiao et al. 2020, arXiv:1909.10351v5)"
DISTILBERT = "DistilBERT (Sanh et al. 2019, arXiv:1910.01108)"
GROUPS = {"method_config", "teacher", "student", "epochs", "batch_size", "max_length"}
GROUPS |= {"augmentation"}
AUGMENTERS = {"TinyBertAugmenter": TinyBertAugmenter, "TangAugmenter": TangAugmenter}


# -- published.csv ---------------------------------------------------------------------------


def test_rows_use_kdzoo_names():
    tasks = set(kdzoo.tasks()) | {"mnli-matched", "mnli-mismatched"} | AVERAGES | OUTSIDE_TASKS
    methods = set(kdzoo.methods()) | ROLES
    for r in ROWS:
        assert r["task"] in tasks, r
        assert r["method"] in methods, r
        assert r["split"] in ("dev", "test", "n/a"), r
        assert r["metric"] in METRICS, r
        assert r["paper"] and r["table"] and r["model"], r
        float(r["value"])
        if r["params_m"]:
            assert float(r["params_m"]) > 0, r
    assert len(ROWS) > 280


def test_one_row_per_paper_table_model_task_metric():
    keys = Counter((r["paper"], r["table"], r["model"], r["task"], r["metric"]) for r in ROWS)
    assert [k for k, n in keys.items() if n > 1] == []


def test_required_tables_are_covered():
    tables = {(r["paper"], r["table"]) for r in ROWS}
    for t in ("Table 1", "Tables 2-3", "Table 2", "Table 3", "Table 4", "Table 5", "Table 7"):
        assert (TINYBERT, t) in tables
    for t in ("Table 1", "Table 2", "Table 3", "Table 4"):
        assert (DISTILBERT, t) in tables
    # PKD as TinyBERT's Table 1 reports it (test server).
    pkd = {r["model"] for r in ROWS if r["paper"] == TINYBERT and r["method"] == "pkd"}
    assert {"BERT4-PKD", "BERT6-PKD"} <= pkd
    assert any(r["paper"].startswith("Tang") and r["method"] == "bilstm" for r in ROWS)
    # LAD: no published numbers were found (baselines/README.md says so).
    assert not any(r["method"] == "lad" for r in ROWS)


@pytest.mark.parametrize(("table", "average", "n"), [("Table 1", "glue-avg", 9)])
def test_tinybert_table_1_averages_recompute(table, average, n):
    cells = defaultdict(dict)
    for r in ROWS:
        if r["paper"].startswith("TinyBERT") and r["table"] == table:
            cells[r["model"]][r["task"]] = float(r["value"])
    checked = 0
    for model, values in cells.items():
        if average in values and len(values) == n + 1:
            columns = [v for k, v in values.items() if k != average]
            assert sum(columns) / n == pytest.approx(values[average], abs=0.06), model
            checked += 1
    assert checked == 9  # every system with all nine columns (PD6 and BERT6-PKD lack two)
    assert len(cells) == 11


def test_tinybert_ablation_averages_recompute():
    """Tables 2-4 and 7: avg4 is the mean of MNLI-m, MNLI-mm, MRPC and CoLA."""
    ablation_tables = {"Tables 2-3", "Table 2", "Table 3", "Table 4", "Table 7"}
    by_model = defaultdict(dict)
    for r in ROWS:
        if r["paper"].startswith("TinyBERT") and r["table"] in ablation_tables:
            by_model[r["table"], r["model"]][r["task"]] = float(r["value"])
    assert len(by_model) == 16  # 1 shared + 3 + 5 + 3 + 4
    for model, v in by_model.items():
        four = [v["mnli-matched"], v["mnli-mismatched"], v["mrpc"], v["cola"]]
        assert sum(four) / 4 == pytest.approx(v["avg4"], abs=0.06), model


def test_tinybert_repeated_rows_agree():
    """The full TinyBERT4 row of Tables 2-3 is Table 4's Uniform; Table 7's GD+TD is w/o DA."""

    def row(table, model):
        return {
            r["task"]: r["value"]
            for r in ROWS
            if r["paper"] == TINYBERT and r["table"] == table and r["model"] == model
        }

    assert row("Tables 2-3", "TinyBERT4") == row("Table 4", "TinyBERT4 Uniform")
    assert row("Table 7", "TinyBERT (GD+TD)") == row("Table 2", "TinyBERT4 w/o DA")


def _distilbert_columns(table, model):
    return {
        r["task"]: float(r["value"])
        for r in ROWS
        if r["paper"] == DISTILBERT and r["table"] == table and r["model"] == model
    }


@pytest.mark.parametrize("model", ["ELMo", "DistilBERT"])
def test_distilbert_table_1_score_recomputes(model):
    v = _distilbert_columns("Table 1", model)
    columns = [x for task, x in v.items() if task != "glue-macro"]
    assert len(columns) == 9
    assert sum(columns) / 9 == pytest.approx(v["glue-macro"], abs=0.06)


def test_distilbert_teacher_score_needs_the_readme_mnli():
    """The paper prints BERT-base MNLI 86.7 but a Score that fits the README's 84.7."""
    v = _distilbert_columns("Table 1", "BERT-base (teacher)")
    columns = {t: x for t, x in v.items() if t != "glue-macro"}
    assert sum(columns.values()) / 9 == pytest.approx(79.72, abs=0.01)
    readme = next(t for (p, t) in {(r["paper"], r["table"]) for r in ROWS} if "README" in t)
    columns["mnli-matched"] = _distilbert_columns(readme, "BERT-base-uncased (teacher)")[
        "mnli-matched"
    ]
    assert sum(columns.values()) / 9 == pytest.approx(v["glue-macro"], abs=0.06)
    readme_student = _distilbert_columns(readme, "DistilBERT-base-uncased")
    columns = [x for t, x in readme_student.items() if t != "glue-macro"]
    assert sum(columns) / 9 == pytest.approx(readme_student["glue-macro"], abs=0.06)


# -- loader: published() ------------------------------------------------------------------------


def test_published_returns_every_row_typed():
    df = baselines.published()
    assert len(df) == len(ROWS)
    assert list(df.columns) == list(ROWS[0])
    assert df["value"].dtype == float and df["params_m"].dtype == float
    assert df["params_m"].isna().sum() == sum(1 for r in ROWS if not r["params_m"])
    assert set(df["split"]) == {"dev", "test", "n/a"}  # "n/a" is not read as a missing value


def test_published_filters_by_task_and_method():
    sst2 = baselines.published("sst2")
    assert len(sst2) == sum(r["task"] == "sst2" for r in ROWS) > 0
    assert set(sst2["task"]) == {"sst2"}
    pkd = baselines.published(method="pkd")
    assert set(pkd["method"]) == {"pkd"}
    assert len(pkd) == sum(r["method"] == "pkd" for r in ROWS)
    both = baselines.published("rte", "tinybert")
    expected = [r["value"] for r in ROWS if r["task"] == "rte" and r["method"] == "tinybert"]
    assert [f"{v:.1f}" for v in both["value"]] == expected
    several = baselines.published(["cola", "stsb"], ["teacher", "distilbert"])
    assert set(several["task"]) == {"cola", "stsb"}
    assert set(several["method"]) == {"teacher", "distilbert"}


def test_published_keyword_filters():
    test_f1 = baselines.published(method="pkd", split="test", metric="f1")
    assert set(test_f1["task"]) == {"qqp", "mrpc"}
    assert set(test_f1["split"]) == {"test"}
    tang = baselines.published(paper="tang")
    assert len(tang) == sum(r["paper"].startswith("Tang") for r in ROWS)


def test_published_mnli_finds_matched_and_mismatched():
    df = baselines.published("mnli", "tinybert")
    assert set(df["task"]) == {"mnli-matched", "mnli-mismatched"}
    t1 = df[(df["table"] == "Table 1") & (df["model"] == "TinyBERT4")]
    assert dict(zip(t1["task"], t1["value"], strict=True)) == {
        "mnli-matched": 82.5,
        "mnli-mismatched": 81.8,
    }
    assert len(baselines.published("mnli-mismatched")) < len(baselines.published("mnli"))


def test_published_unknown_method_lists_valid_names():
    with pytest.raises(ValueError, match="tinybret") as e:
        baselines.published(method="tinybret")
    for name in [*kdzoo.methods(), *ROLES]:
        assert name in str(e.value)


def test_published_methods_without_numbers_and_unreported_tasks_are_empty():
    assert baselines.published(method="lad").empty
    assert baselines.published("synth-nli").empty


def test_published_returns_a_copy():
    df = baselines.published("sst2")
    df.loc[:, "value"] = -1.0
    assert (baselines.published("sst2")["value"] > 0).all()


# -- recipes.json ---------------------------------------------------------------------------------


def _blocks():
    """(method, where, block) for every default and per-task block."""
    for method, entry in RECIPES.items():
        yield method, "default", entry["default"]
        for task, block in entry["tasks"].items():
            yield method, task, block


def test_recipes_cover_every_method():
    assert set(RECIPES) == set(kdzoo.methods())
    for method, entry in RECIPES.items():
        assert GROUPS <= set(entry["default"]), method
        assert entry["paper"], method


def test_recipe_tasks_are_kdzoo_tasks():
    for method, entry in RECIPES.items():
        assert set(entry["tasks"]) <= set(kdzoo.tasks()), method


def test_every_value_group_has_a_source():
    for method, where, block in _blocks():
        groups = set(block) - {"sources"}
        sources = block.get("sources", {})
        assert groups, (method, where)
        assert set(sources) == groups, (method, where)  # none missing, none stale
        for group, source in sources.items():
            assert isinstance(source, str) and len(source) > 10, (method, where, group)


@pytest.mark.parametrize("method", sorted(RECIPES))
def test_recipe_config_keys_are_config_fields(method):
    fields = {f.name: f for f in dataclasses.fields(kdzoo.get_method(method).config)}
    blocks = [(where, block) for name, where, block in _blocks() if name == method]
    assert len(blocks) == 1 + len(RECIPES[method]["tasks"])
    for where, block in blocks:
        config = block.get("method_config", {})
        unknown = set(config) - set(fields)
        assert not unknown, (method, where, unknown)
        for key, value in config.items():
            default = fields[key].default
            if isinstance(default, bool):
                assert isinstance(value, bool), (method, where, key)
            elif isinstance(default, (int, float)):
                assert isinstance(value, (int, float)) and not isinstance(value, bool), key
            elif isinstance(default, str):
                assert isinstance(value, str), (method, where, key)


@pytest.mark.parametrize("method", sorted(RECIPES))
def test_every_merged_recipe_builds_its_method(method):
    stages = set(kdzoo.get_method(method).stages)
    for task in [None, *RECIPES[method]["tasks"]]:
        r = baselines.paper_recipe(method, task)
        m = kdzoo.get_method(method, **r["method_config"])
        for key, value in r["method_config"].items():
            assert getattr(m.config, key) == value
        assert set(r["epochs"]) <= stages, (method, task)
        for group in ("batch_size", "max_length"):
            if isinstance(r[group], dict):
                assert set(r[group]) <= stages, (method, task, group)
        assert set(r["sources"]) == set(r) - {"method", "paper", "task", "sources", "notes"}


def test_recipe_presets_and_augmenters_exist():
    for method, where, block in _blocks():
        if "student" in block:
            assert block["student"] in PRESETS or block["student"] in BILSTM_PRESETS
        if "teacher" in block:
            assert block["teacher"]["preset"] in (*PRESETS, None), (method, where)
        aug = block.get("augmentation")
        if aug and "augmenter" in aug:
            params = inspect.signature(AUGMENTERS[aug["augmenter"]]).parameters
            assert set(aug["options"]) <= set(params), (method, where)
            assert set(aug["stages"]) <= set(kdzoo.get_method(method).stages)


def test_paper_recipe_merges_task_overrides():
    default = baselines.paper_recipe("tinybert")
    assert default["epochs"] == {"general": 3, "intermediate": 20, "prediction": 3}
    assert baselines.paper_recipe("tinybert", "mnli")["epochs"]["intermediate"] == 10
    cola = baselines.paper_recipe("tinybert", "cola")
    assert cola["epochs"] == {"general": 3, "intermediate": 50, "prediction": 3}
    assert cola["max_length"] == {"general": 128, "intermediate": 64, "prediction": 64}
    assert "cola:" in cola["sources"]["epochs"] and "20 epochs" in cola["sources"]["epochs"]
    stsb = baselines.paper_recipe("tinybert", "stsb")["augmentation"]
    assert stsb["stages"] == ["intermediate"] and stsb["options"]["n_samples"] == 20

    pkd = baselines.paper_recipe("pkd", "mnli")["method_config"]
    assert (pkd["alpha"], pkd["temperature"], pkd["beta"], pkd["normalize"]) == (
        0.5,
        10.0,
        100.0,
        False,
    )
    assert pkd["strategy"] == "skip"  # kept from the default
    assert baselines.paper_recipe("pkd", "mrpc")["method_config"]["beta"] == 1.0
    assert baselines.paper_recipe("pkd")["method_config"]["beta"] == 500.0

    lad = baselines.paper_recipe("lad", "qqp")
    assert lad["method_config"]["soft_weight"] == 0.7 and lad["epochs"] == {"task": 5}
    assert baselines.paper_recipe("bilstm", "qqp")["student"] == "tang-qqp"


def test_paper_recipe_task_names():
    assert (
        baselines.paper_recipe("pkd", "mnli-matched")["method_config"]
        == (baselines.paper_recipe("pkd", "mnli")["method_config"])
    )
    synth = baselines.paper_recipe("tinybert", "synth-nli")
    default = baselines.paper_recipe("tinybert")
    assert synth["task"] == "synth-nli"
    assert {k: v for k, v in synth.items() if k != "task"} == {
        k: v for k, v in default.items() if k != "task"
    }


def test_paper_recipe_unknown_method_lists_valid_ones():
    with pytest.raises(ValueError, match="no paper recipe for method 'bert'") as e:
        baselines.paper_recipe("bert")
    for name in kdzoo.methods():
        assert name in str(e.value)


def test_paper_recipe_returns_a_copy():
    r = baselines.paper_recipe("tinybert", "mnli")
    r["epochs"]["intermediate"] = 999
    r["method_config"].clear()
    again = baselines.paper_recipe("tinybert", "mnli")
    assert again["epochs"]["intermediate"] == 10 and again["method_config"]


# -- where the files are found, and packaging --------------------------------------------------


def test_baselines_dir_holds_this_checkouts_files():
    """A checkout or editable install reads baselines/ itself; a wheel its shipped copy."""
    found = baselines.baselines_dir()
    assert found in {
        (ROOT / "baselines").resolve(),
        (Path(baselines.__file__).parent / "_baselines").resolve(),
    }
    for name in ("published.csv", "recipes.json"):
        assert (found / name).read_bytes() == (ROOT / "baselines" / name).read_bytes()


def test_baselines_dir_in_an_installed_wheel_layout(tmp_path):
    """A wheel puts the files in kdzoo/_baselines/, which wins over any checkout."""
    pkg = tmp_path / "site" / "kdzoo"
    (pkg / "_baselines").mkdir(parents=True)
    shutil.copy(ROOT / "kdzoo" / "baselines.py", pkg / "baselines.py")
    for name in ("published.csv", "recipes.json"):
        shutil.copy(ROOT / "baselines" / name, pkg / "_baselines" / name)
    spec = importlib.util.spec_from_file_location("_wheel_baselines", pkg / "baselines.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.baselines_dir() == (pkg / "_baselines").resolve()
    assert len(module.published("mnli")) == len(baselines.published("mnli"))
    (pkg / "_baselines" / "recipes.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"recipes\.json"):
        module.baselines_dir()


def test_pyproject_ships_baselines_and_every_package():
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert setuptools["package-dir"] == {"kdzoo._baselines": "baselines"}
    shipped = setuptools["package-data"]["kdzoo._baselines"]
    for name in ("published.csv", "recipes.json"):
        assert any(Path(name).match(pattern) for pattern in shipped)
    on_disk = {
        ".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "kdzoo").rglob("__init__.py")
    }
    assert on_disk | {"kdzoo._baselines"} == set(setuptools["packages"])


def test_loader_is_a_bottom_layer_module():
    source = (ROOT / "kdzoo" / "baselines.py").read_text()
    imports = [
        line.split()[1]
        for line in source.splitlines()
        if line.startswith(("import ", "from ")) and not line.startswith("from __future__")
    ]
    assert all(not name.startswith("kdzoo") for name in imports), imports
    assert "pandas" in imports
    assert isinstance(baselines.published(), pd.DataFrame)
