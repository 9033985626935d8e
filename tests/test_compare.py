"""kdzoo.compare and the `kdzoo compare` / `kdzoo distill` commands, on tiny teachers.

The numbers of a smoke-budget run mean nothing; these tests check the bookkeeping: every
method runs, the table is computed from the runs, everything is saved, a second call
skips finished runs, an interrupted stage resumes, and bad input gets a clear error.
"""

from __future__ import annotations

import json
import math

import keras
import numpy as np
import pandas as pd
import pytest

import kdzoo
from kdzoo import comparison as cmp
from kdzoo.api import distill
from kdzoo.budgets import get_budget
from kdzoo.cli import main
from kdzoo.teachers import TeacherRecipe, embedded_teacher

TINY = TeacherRecipe(
    preset="micro-2l-32h",
    vocab_size=200,
    corpus_size=400,
    corpus_max_length=32,
    pretrain_epochs=1,
    pretrain_lr=3e-3,
    pretrain_batch_size=32,
    max_length=32,
    finetune_epochs=1,
    finetune_lr=1e-3,
    task_kwargs={"train_size": 200, "dev_size": 64, "test_size": 10},
)
SIX = ["kd", "bilstm", "distilbert", "pkd", "tinybert", "lad"]
SAME_WIDTH = "micro-2l-32h"  # the tiny teacher's own shape: every method applies
# Two seeds in the torch env, where the backend-independent bookkeeping across seeds
# (mean ± std, one run directory per seed) is tested; one seed on tensorflow and jax,
# which test the six methods' training (a second seed there doubled the slowest fixture
# of those envs, 250 s of CI on tensorflow, and tested nothing new).
SEEDS = (0, 1) if keras.backend.backend() == "torch" else (0,)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    path = tmp_path_factory.mktemp("kdzoo-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KDZOO_CACHE", str(path))
        yield path


@pytest.fixture(scope="module")
def teacher(cache):
    return embedded_teacher("synth-sentiment", TINY, verbose=0)


def _six_call(teacher, out) -> dict:
    return dict(
        methods=SIX,
        task="synth-sentiment",
        teacher=teacher,
        student=SAME_WIDTH,
        seeds=SEEDS,
        budget="smoke",
        output_dir=out,
        verbose=0,
    )


def _one_seed(teacher, methods, **kwargs) -> dict:
    """compare's arguments for one quick seed of ``methods`` on the tiny teacher."""
    call = dict(
        methods=methods,
        task="synth-sentiment",
        teacher=teacher,
        student=SAME_WIDTH,
        seeds=(0,),
        budget="smoke",
        student_only=False,
        plot=False,
        verbose=0,
    )
    return {**call, **kwargs}


@pytest.fixture(scope="module")
def six(teacher, tmp_path_factory):
    out = tmp_path_factory.mktemp("compare") / "six"
    return kdzoo.compare(**_six_call(teacher, out)), out


def test_every_method_gets_a_row_beside_teacher_and_student_only(six):
    results, _ = six
    t = results.table
    assert list(t.index) == [
        "teacher",
        f"student-only ({SAME_WIDTH})",
        "student-only (tang-mini)",
        *SIX,
    ]
    assert set(t.loc[SIX, "seeds"]) == {len(SEEDS)}
    assert ((t["accuracy"] >= 0) & (t["accuracy"] <= 1)).all()


def test_table_is_computed_from_the_runs(six, teacher):
    results, _ = six
    t, runs = results.table, results.runs
    for name in SIX:
        acc = runs.loc[runs["name"] == name, "accuracy"]
        assert t.loc[name, "accuracy"] == pytest.approx(acc.mean())
        assert t.loc[name, "accuracy std"] == pytest.approx(acc.std(ddof=1), nan_ok=True)
        ratio = 100 * t.loc[name, "accuracy"] / t.loc["teacher", "accuracy"]
        assert t.loc[name, "retention %"] == pytest.approx(ratio)
        assert t.loc[name, "speedup_b32"] == pytest.approx(
            t.loc["teacher", "latency_b32_ms"] / t.loc[name, "latency_b32_ms"]
        )
    assert t.loc["teacher", "params"] == teacher.model.count_params()
    assert t.loc["kd", "size_mb"] == pytest.approx(t.loc["kd", "params"] * 4 / 1e6)
    assert (t["latency_b1_ms"] > 0).all() and (t["latency_b32_ms"] > 0).all()
    # The teacher row scores the teacher on the same dev examples.
    dev = kdzoo.load_task("synth-sentiment", **TINY.task_kwargs)["dev"]
    logits = teacher.model.predict(teacher.encode(dev), verbose=0)["logits"]
    assert t.loc["teacher", "accuracy"] == pytest.approx((logits.argmax(-1) == dev.labels).mean())


def test_methods_see_the_same_steps_per_stage(six):
    t = six[0].table
    one_stage = {t.loc[m, "steps"] for m in ["kd", "pkd", "lad", "bilstm"]}
    assert len(one_stage) == 1
    (steps,) = one_stage
    assert steps == math.ceil(200 / 32)  # smoke: 1 epoch of the 200 training examples
    # TinyBERT: general (corpus) + intermediate + prediction; the last two as long as kd's.
    general = math.ceil(get_budget("smoke").corpus_size / 32)
    assert t.loc["tinybert", "steps"] == general + 2 * steps
    config = json.loads(t.loc["tinybert", "config"])
    assert config["epochs"] == {"general": 1, "intermediate": 1, "prediction": 1}
    # Learning rates are the paper's, scaled by the budget's factor, up to its cap.
    assert config["learning_rate"] == pytest.approx(3e-5 * 20)
    distilbert = json.loads(t.loc["distilbert", "config"])
    assert distilbert["learning_rate"] == pytest.approx(1e-3)  # 5e-4 x 20, capped
    assert distilbert["task_learning_rate"] == pytest.approx(1e-3)


def test_everything_is_saved_and_loads_back(six):
    results, out = six
    for name in ["results.csv", "runs.csv", "results.json", "compare.json"]:
        assert (out / name).is_file()
    for png in results.plot():
        assert png.stat().st_size > 1000 and png.parent == out
    for name in SIX:
        run = out / "runs" / name / f"seed-{SEEDS[-1]}"
        assert (run / "student.weights.h5").is_file()
        assert "done in" in (run / "log.txt").read_text()
        assert len(pd.read_csv(run / "task.csv")) >= 1
    assert not list(out.rglob(".*.tmp"))  # no half-written files left behind
    loaded = cmp.Results.load(out)
    pd.testing.assert_frame_equal(loaded.table, results.table, check_dtype=False)
    assert "accuracy" in results.format()
    if len(SEEDS) > 1:
        assert "±" in results.format()


def test_training_curves_record_every_epoch_of_every_task_stage(six):
    curves = six[0].curves
    assert [p["stage"] for p in curves["tinybert"]] == ["intermediate", "prediction"]
    assert all(0 <= p["accuracy"] <= 1 for c in curves.values() for p in c)
    assert "train mse_loss" in curves["bilstm"][0]


def test_curves_end_at_the_reported_dev_metric(six):
    """The last point of each curve is the dev score in the table (seed 0's run)."""
    results, _ = six
    runs = results.runs.set_index(["name", "seed"])
    for name, curve in results.curves.items():
        assert curve[-1]["accuracy"] == pytest.approx(runs.loc[(name, 0), "accuracy"])


def test_a_second_call_skips_finished_runs(six, teacher, monkeypatch):
    results, out = six

    def no_training(*args, **kwargs):
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr("kdzoo.api.distill", no_training)
    monkeypatch.setattr("kdzoo.teachers.finetune", no_training)
    again = kdzoo.compare(**_six_call(teacher, out), plot=False)
    cols = ["accuracy", "accuracy std", "params", "steps", "train_s"]
    pd.testing.assert_frame_equal(again.table[cols], results.table[cols])


def test_another_configuration_is_refused_unless_overwrite(six, teacher):
    _, out = six
    with pytest.raises(ValueError, match=r"another compare configuration.*budget.*overwrite"):
        kdzoo.compare(
            methods=["kd"], task="synth-sentiment", teacher=teacher, budget="small", output_dir=out
        )
    # Changed method options would make the finished runs stale: refused too.
    changed = {**_six_call(teacher, out), "config": {"kd": {"temperature": 2.0}}}
    with pytest.raises(ValueError, match=r"differs in: config\)"):
        kdzoo.compare(**changed)


@pytest.mark.orchestration
def test_overwrite_replaces_the_old_results(teacher, tmp_path):
    kw = dict(task="synth-sentiment", teacher=teacher, student=SAME_WIDTH, seeds=(0,))
    kw.update(budget="smoke", output_dir=tmp_path, plot=False, verbose=0, student_only=False)
    kdzoo.compare(methods=["kd"], **kw)
    with pytest.raises(ValueError, match="another compare configuration"):
        kdzoo.compare(methods=["kd"], **{**kw, "max_length": 16})
    new = kdzoo.compare(methods=["kd"], overwrite=True, **{**kw, "max_length": 16})
    assert list(new.table.index) == ["teacher", "kd"]
    assert json.loads((tmp_path / "compare.json").read_text())["key"]["max_length"] == 16


@pytest.mark.orchestration
def test_an_interrupted_compare_resumes_to_the_same_table(teacher, tmp_path, monkeypatch):
    """A compare stopped in the middle of a run's epoch and called again finishes with
    the table and curves of a call that was never stopped (student-only run included)."""
    from kdzoo import training

    monkeypatch.setattr(cmp, "CHECKPOINT_EVERY", 2)
    call = _one_seed(teacher, ["kd"], student_only=True)
    plain = kdzoo.compare(**call, output_dir=tmp_path / "plain")
    original = training.Checkpointer.on_train_batch_end
    seen = []

    def stop_at_the_fifth_step(self, batch, logs=None):
        original(self, batch, logs)
        seen.append(self.step)
        if len(seen) == 5:
            raise KeyboardInterrupt  # as a kill would stop it

    monkeypatch.setattr(training.Checkpointer, "on_train_batch_end", stop_at_the_fifth_step)
    with pytest.raises(KeyboardInterrupt):
        kdzoo.compare(**call, output_dir=tmp_path / "b")
    monkeypatch.setattr(training.Checkpointer, "on_train_batch_end", original)
    progress = list((tmp_path / "b").rglob("*-progress.npz"))
    assert len(progress) == 1 and training.read_checkpoint(progress[0])[0]["step"] == 4
    begin, starts = training.Checkpointer.on_train_begin, []

    def record_start(self, logs=None):
        starts.append(self.step)
        begin(self, logs)

    monkeypatch.setattr(training.Checkpointer, "on_train_begin", record_start)
    resumed = kdzoo.compare(**call, output_dir=tmp_path / "b")
    assert starts[0] == 4  # the stopped run continued from its checkpoint, not from 0
    headline = resumed.headline
    assert list(resumed.table.index) == list(plain.table.index)
    assert any(row.startswith("student-only") for row in plain.table.index)
    for row in plain.table.index:
        assert resumed.table.loc[row, headline] == plain.table.loc[row, headline]
    assert resumed.curves.keys() == plain.curves.keys()
    for name, curve in plain.curves.items():
        again = resumed.curves[name]
        assert [p["epoch"] for p in again] == [p["epoch"] for p in curve]
        assert [p[headline] for p in again] == [p[headline] for p in curve]


def test_a_directory_that_is_not_a_compare_run_is_refused(tmp_path):
    (tmp_path / "thesis.tex").write_text("precious")
    with pytest.raises(ValueError, match="not a kdzoo compare directory"):
        kdzoo.compare(methods=["kd"], task="synth-sentiment", output_dir=tmp_path)
    assert (tmp_path / "thesis.tex").read_text() == "precious"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"methods": ["kd", "tinybertt"]}, r"unknown method 'tinybertt'.*lad.*tinybert"),
        ({"task": "mnlii"}, r"mnlii.*mnli"),
        ({"budget": "huge"}, r"unknown budget 'huge'.*smoke, small, book, paper"),
        ({"methods": []}, "at least one method"),
        ({"config": {"pkd": {"beta": 1}}}, r"config names method\(s\) \['pkd'\]"),
    ],
)
def test_bad_arguments_fail_before_any_work(kwargs, message, tmp_path):
    call = {"methods": ["kd"], "task": "synth-sentiment", "output_dir": tmp_path / "x"}
    with pytest.raises(ValueError, match=message):
        kdzoo.compare(**{**call, **kwargs})
    assert not (tmp_path / "x").exists()


def test_a_method_that_cannot_apply_says_why_and_what_works(teacher, tmp_path):
    with pytest.raises(ValueError) as err:
        kdzoo.compare(
            methods=["pkd"],
            task="synth-sentiment",
            teacher=teacher,
            student="mini-2l-64h",
            budget="smoke",
            output_dir=tmp_path,
        )
    text = str(err.value)
    assert "pkd cannot use student 'mini-2l-64h'" in text
    assert "hidden size (64) must equal the teacher's (32)" in text
    assert "Student presets that work with this teacher: " in text and SAME_WIDTH in text


def test_a_teacher_with_labels_in_another_order_is_refused():
    from types import SimpleNamespace

    from kdzoo.data.base import get_spec

    spec = get_spec("mnli")
    wrong = SimpleNamespace(
        num_labels=3, id2label={0: "contradiction", 1: "entailment", 2: "neutral"}
    )
    with pytest.raises(ValueError, match=r"orders its labels.*wrong labels"):
        cmp._check_labels(wrong, spec, "ckpt")
    right = SimpleNamespace(num_labels=3, id2label=dict(enumerate(spec.label_names)))
    cmp._check_labels(right, spec, "ckpt")
    generic = SimpleNamespace(num_labels=3, id2label={i: f"LABEL_{i}" for i in range(3)})
    cmp._check_labels(generic, spec, "ckpt")  # unnamed labels cannot be checked
    other_names = SimpleNamespace(num_labels=3, id2label={0: "yes", 1: "maybe", 2: "no"})
    with pytest.warns(UserWarning, match=r"names its labels \['yes', 'maybe', 'no'\]"):
        cmp._check_labels(other_names, spec, "ckpt")
    with pytest.raises(ValueError, match="has 2 labels"):
        cmp._check_labels(SimpleNamespace(num_labels=2, id2label=None), spec, "ckpt")


def test_a_failed_write_leaves_the_old_file_whole(tmp_path, monkeypatch):
    from pathlib import Path

    from kdzoo._io import write_json

    path = tmp_path / "results.json"
    write_json(path, {"accuracy": 0.5, "note": "x" * 100})
    write_text = Path.write_text

    def disk_full_halfway(self, text, *args, **kwargs):
        write_text(self, text[: len(text) // 2])  # half the bytes reach the disk
        raise OSError("No space left on device")

    monkeypatch.setattr(Path, "write_text", disk_full_halfway)
    with pytest.raises(OSError):
        write_json(path, {"accuracy": 0.9, "note": "y" * 100})
    monkeypatch.undo()
    assert json.loads(path.read_text()) == {"accuracy": 0.5, "note": "x" * 100}
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]  # no temporary left


def test_curves_and_plots_use_the_headline_column_of_multi_split_tasks(tmp_path):
    """MNLI scores two dev splits: the curves must be keyed like the table's headline."""
    from types import SimpleNamespace

    from kdzoo.data.base import get_spec

    spec = get_spec("mnli")
    headline = cmp._column(spec, spec.eval_splits[0], spec.metrics[0])
    assert headline == "accuracy (dev_matched)"
    prep = SimpleNamespace(
        spec=spec,
        evals={s: SimpleNamespace(labels=np.array([0, 1, 2, 1])) for s in spec.eval_splits},
        inputs=lambda split, bilstm: {"x": np.zeros(4)},
    )
    logits = np.eye(3)[[0, 1, 2, 2]]
    student = SimpleNamespace(predict=lambda x, **kw: {"logits": logits})
    curve: list = []
    callback = cmp._dev_curve(student, prep, False, curve, tmp_path)
    callback.on_epoch_end(0, {"loss": 0.6})
    callback.on_epoch_end(0, {"loss": 0.5})  # an epoch trained again after a kill
    assert curve == [{"stage": "task", "epoch": 1, headline: 0.75, "train loss": 0.5}]
    assert cmp._load_curve(tmp_path) == curve  # saved for a resumed run
    row = {headline: 0.75, f"{headline} std": float("nan"), "latency_b32_ms": 3.0}
    results = cmp.Results(
        task="mnli",
        table=pd.DataFrame([{**row, "size_mb": 1.0}], index=["kd"]),
        runs=pd.DataFrame({"seed": [0]}),
        published=pd.DataFrame(),
        curves={"kd": curve},
        output_dir=tmp_path,
        headline=headline,
    )
    assert [p.name for p in results.plot()] == ["metric_vs_latency.png", "training_curves.png"]


# -- resumable distillation (kdzoo.distill's checkpoint_dir) -------------------------------


class _Stop(Exception):
    pass


class _Epochs(keras.callbacks.Callback):
    def __init__(self, stop_after=None):
        super().__init__()
        self.started, self.stop_after = [], stop_after

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.stop_after:  # killed after `stop_after` whole epochs
            raise _Stop
        self.started.append(epoch)


def _tiny_kd_setup():
    from kdzoo.models import BertModel

    rng = np.random.default_rng(0)
    x = {
        "token_ids": rng.integers(5, 60, (64, 12)).astype("int32"),
        "padding_mask": np.ones((64, 12), "int32"),
    }
    y = rng.integers(0, 2, 64).astype("int32")
    keras.utils.set_random_seed(0)
    teacher = BertModel("micro-2l-32h", vocab_size=64, num_labels=2)
    student = BertModel("micro-2l-32h", vocab_size=64, num_labels=2)
    return teacher, student, x, y


def test_an_interrupted_stage_resumes_from_its_last_epoch(tmp_path):
    teacher, student, x, y = _tiny_kd_setup()
    kw = dict(data=(x, y), epochs=4, batch_size=16, checkpoint_dir=tmp_path, verbose=0)
    first = _Epochs(stop_after=2)
    with pytest.raises(_Stop):
        distill("kd", teacher, student, callbacks=[first], **kw)
    assert first.started == [0, 1]
    second = _Epochs()
    result = distill("kd", teacher, student, callbacks=[second], **kw)
    assert second.started == [2, 3]  # epochs 1-2 were not trained again
    assert (tmp_path / "task.npz").is_file()
    # A finished stage is read back, not trained: same weights, same history.
    third = _Epochs()
    _, fresh, _, _ = _tiny_kd_setup()
    again = distill("kd", teacher, fresh, callbacks=[third], **kw)
    assert third.started == []
    for a, b in zip(student.weights, fresh.weights, strict=True):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))
    assert again.history == result.history


def test_load_state_refuses_another_model(tmp_path):
    from kdzoo.api import load_state, save_state
    from kdzoo.models import BertModel

    small = BertModel("micro-2l-32h", vocab_size=64, num_labels=2)
    small(_tiny_kd_setup()[2])
    save_state(tmp_path / "s.npz", small)
    other = BertModel("micro-2l-32h", vocab_size=80, num_labels=2)
    other(_tiny_kd_setup()[2])
    with pytest.raises(ValueError, match="saved from another model"):
        load_state(tmp_path / "s.npz", other)


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_load_state_names_a_corrupt_checkpoint(tmp_path, damage):
    from kdzoo.api import load_state, save_state
    from kdzoo.models import BertModel

    model = BertModel("micro-2l-32h", vocab_size=64, num_labels=2)
    model(_tiny_kd_setup()[2])
    path = save_state(tmp_path / "s.npz", model)
    data = path.read_bytes()
    path.write_bytes(
        {"truncated": data[: len(data) // 2], "garbage": b"not a checkpoint" * 8, "empty": b""}[
            damage
        ]
    )
    before = [keras.ops.convert_to_numpy(w).copy() for w in model.weights]
    with pytest.raises(ValueError, match=r"corrupt or truncated.*Delete it"):
        load_state(path, model)
    for w, b in zip(model.weights, before, strict=True):  # nothing half-loaded
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(w), b)


# -- the command line ----------------------------------------------------------------------


def test_compare_help_documents_every_option(capsys):
    with pytest.raises(SystemExit) as e:
        main(["compare", "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for option in ["--methods", "--task", "--teacher", "--student", "--seeds", "--budget"]:
        assert option in out
    assert "--out" in out and "--overwrite" in out and "smoke" in out
    assert "--augment" in out and "--no-augment" in out and "--glove" in out


def test_cli_augment_flags_become_compare_arguments():
    from kdzoo.cli import _augment, build_parser

    def parse(*flags):
        args = ["compare", "--task", "synth-nli", "--out", "x", *flags]
        return _augment(build_parser().parse_args(args))

    assert parse() is None  # the budget decides
    assert parse("--augment") is True and parse("--no-augment") is False
    assert parse("--augment-copies", "4") == {"copies": 4}
    assert parse("--glove", "g.txt") == {"word_vectors": "g.txt"}
    with pytest.raises(ValueError, match="--no-augment cannot"):
        parse("--no-augment", "--glove", "g.txt")


def test_cli_errors_exit_non_zero_with_the_reason(capsys, tmp_path):
    code = main(["compare", "--methods", "kd,nope", "--task", "sst2", "--out", str(tmp_path)])
    assert code == 1
    assert "unknown method 'nope'" in capsys.readouterr().err
    code = main(["compare", "--seeds", "0,x", "--task", "sst2", "--out", str(tmp_path)])
    assert code == 1 and "--seeds takes integers" in capsys.readouterr().err
    code = main(["distill", "kd", "--task", "sst2", "--out", str(tmp_path / "y")])
    assert code == 1 and "data_dir=" in capsys.readouterr().err  # no GLUE data offline


@pytest.mark.orchestration
def test_a_pretrained_glue_checkpoint_is_fine_tuned_once_as_the_teacher(
    tmp_path, monkeypatch, offline
):
    """GLUE's teacher by default is bert-base-uncased fine-tuned on the task; the same
    path turns any checkpoint without a classifier into a cached, fine-tuned teacher."""
    transformers = pytest.importorskip("transformers")
    from kdzoo import teachers

    glue, ckpt = _tiny_glue(tmp_path, transformers, head=False)
    monkeypatch.setenv("KDZOO_CACHE", str(tmp_path / "cache"))
    call = dict(
        methods=["kd"],
        task="sst2",
        teacher=str(ckpt),
        student=SAME_WIDTH,
        seeds=(0,),
        budget="smoke",
        task_kwargs={"data_dir": str(glue)},
        max_length=16,
        student_only=False,
        plot=False,
        verbose=0,
    )
    first = kdzoo.compare(**call, output_dir=tmp_path / "a").table
    assert "fine-tuned on sst2 by kdzoo" in first.loc["teacher", "config"]
    (built,) = (tmp_path / "cache" / "teachers").iterdir()
    assert teachers.has_classifier(built) and not teachers.has_classifier(ckpt)

    def refuse(*args, **kwargs):
        raise AssertionError("the fine-tuned teacher must come from the cache")

    monkeypatch.setattr(teachers, "finetune", refuse)
    again = kdzoo.compare(**call, output_dir=tmp_path / "b").table
    assert again.loc["teacher", "accuracy"] == first.loc["teacher", "accuracy"]
    # no teacher given: bert-base-uncased from the hub, which fails fast offline
    with pytest.raises(OSError, match="bert-base-uncased"):
        kdzoo.compare(**{**call, "teacher": None}, output_dir=tmp_path / "c")


def _tiny_glue(tmp_path, transformers, head: bool = True):
    """SST-2 TSV files and a tiny BERT checkpoint (fine-tuned head or none) with its
    tokenizer, written here."""
    from kdzoo.tokenization import train_wordpiece

    rng = np.random.default_rng(0)
    words = ["good", "bad", "film", "plot", "very", "not", "the", "was"]
    rows = [" ".join(rng.choice(words, 6)) for _ in range(48)]
    sst = tmp_path / "glue" / "SST-2"
    sst.mkdir(parents=True)
    for split, n in [("train", 40), ("dev", 8)]:
        lines = ["sentence\tlabel"] + [f"{r}\t{int('good' in r)}" for r in rows[:n]]
        (sst / f"{split}.tsv").write_text("\n".join(lines) + "\n")
    tokenizer = train_wordpiece(rows, vocab_size=60)
    config = transformers.BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=32,
        num_labels=2,
        id2label={0: "negative", 1: "positive"},
        label2id={"negative": 0, "positive": 1},
    )
    ckpt = tmp_path / "teacher"
    model_class = (
        transformers.BertForSequenceClassification if head else transformers.BertForMaskedLM
    )
    model_class(config).save_pretrained(ckpt)
    tokenizer.save_pretrained(ckpt)
    return tmp_path / "glue", ckpt


@pytest.mark.orchestration
def test_cli_compare_on_local_glue_with_a_local_checkpoint(tmp_path, capsys):
    """The GLUE path end to end: TSV files and an HF checkpoint that the test writes."""
    transformers = pytest.importorskip("transformers")
    _, ckpt = _tiny_glue(tmp_path, transformers)
    out = tmp_path / "run"
    args = ["compare", "--methods", "kd", "--task", "sst2", "--seeds", "0", "--budget", "smoke"]
    args += ["--teacher", str(ckpt), "--data-dir", str(tmp_path / "glue"), "--max-length", "16"]
    args += ["--student", SAME_WIDTH, "--out", str(out), "--quiet", "--no-plot"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "kd" in printed and "teacher" in printed and "Published numbers" in printed
    table = pd.read_csv(out / "results.csv", index_col=0)
    assert list(table.index) == ["teacher", f"student-only ({SAME_WIDTH})", "kd"]


def test_the_paper_budget_runs_the_recipes_of_baselines():
    from kdzoo.baselines import paper_recipe
    from kdzoo.zoo.base import get_method

    paper = get_budget("paper")
    recipe = paper_recipe("tinybert", "mnli")
    config = cmp._method_config("tinybert", paper, {}, recipe)
    assert config == recipe["method_config"]  # no scaling, no cap
    method = get_method("tinybert", **config)
    assert cmp._stage_epochs(method, paper, recipe) == {
        "general": 3,
        "intermediate": 10,  # the large-task setting for MNLI
        "prediction": 3,
    }
    pkd = cmp._method_config("pkd", paper, {"beta": 100.0}, paper_recipe("pkd", "rte"))
    assert pkd["learning_rate"] == 1e-5 and pkd["beta"] == 100.0  # overrides win
    small = cmp._method_config("pkd", get_budget("small"), {}, {})
    assert small == {"learning_rate": pytest.approx(2e-4)}  # 1e-5 x 20


@pytest.mark.orchestration
def test_augment_distils_tinybert_and_bilstm_on_teacher_labelled_transfer_sets(teacher, tmp_path):
    call = _one_seed(teacher, ["tinybert", "bilstm", "kd"], output_dir=tmp_path / "aug")
    t = kdzoo.compare(**call, augment={"copies": 2}).table
    n = 200  # training examples of the tiny task
    for name in ["tinybert", "bilstm"]:
        aug = json.loads(t.loc[name, "config"])["augmentation"]
        assert aug["rows"] > n  # originals plus up to 2 copies each
        assert aug["augmenter"] in ("TinyBertAugmenter", "TangAugmenter")
        count = "n_samples" if aug["augmenter"] == "TinyBertAugmenter" else "n_iter"
        assert aug["options"][count] == 2
    # kd has no augmentation in its paper, and trains on the 200 examples
    assert "augmentation" not in json.loads(t.loc["kd", "config"])
    assert t.loc["kd", "steps"] == math.ceil(n / 32)
    assert t.loc["bilstm", "steps"] == math.ceil(
        json.loads(t.loc["bilstm", "config"])["augmentation"]["rows"] / 32
    )
    from kdzoo.teachers import cache_dir

    files = sorted((cache_dir() / "augmented").iterdir())  # shared by every compare
    assert len(files) == 2
    for f in files:
        held = json.loads(f.read_text())
        assert "labels" not in held  # only the teacher labels augmented rows
        assert sorted(set(held["source_index"])) == list(range(n))
    # without augment the small budgets keep every method on the same examples
    plain = kdzoo.compare(**{**call, "output_dir": tmp_path / "plain"}).table
    assert plain.loc["bilstm", "steps"] == math.ceil(n / 32)
    assert json.loads(plain.loc["bilstm", "config"])["augmentation"].startswith("off")


@pytest.mark.orchestration
def test_augment_refuses_a_setting_that_needs_gold_labels(teacher, tmp_path):
    with pytest.raises(ValueError, match="read gold labels"):
        kdzoo.compare(
            methods=["bilstm"],
            task="synth-sentiment",
            teacher=teacher,
            config={"bilstm": {"alpha": 0.5}},
            seeds=(0,),
            budget="smoke",
            output_dir=tmp_path,
            augment=True,
            verbose=0,
        )
    with pytest.raises(ValueError, match="unknown key"):
        kdzoo.compare(
            methods=["bilstm"],
            task="synth-sentiment",
            teacher=teacher,
            budget="smoke",
            output_dir=tmp_path / "b",
            augment={"glove": "x"},
            verbose=0,
        )


def test_the_paper_budget_keeps_per_stage_batch_sizes_and_augments():
    from types import SimpleNamespace

    from kdzoo.models.bert import BertConfig

    prep = SimpleNamespace(
        task="mnli",
        teacher=SimpleNamespace(config=BertConfig.from_preset("bert-base", num_labels=3)),
    )
    plan = cmp._plan("tinybert", None, get_budget("paper"), {}, prep)
    assert plan["student"] == "tinybert-4l"
    assert plan["batch_size"] == {"general": 256, "intermediate": 32, "prediction": 32}
    assert plan["augmentation"]["augmenter"] == "TinyBertAugmenter"
    assert plan["augmentation"]["options"]["n_samples"] == 20
    bilstm = cmp._plan("bilstm", None, get_budget("paper"), {}, prep)
    assert bilstm["batch_size"] == {"task": 16}  # d-bert's MNLI configuration
    assert bilstm["augmentation"]["options"]["n_iter"] == 10  # pairs: 10 copies
    assert cmp._plan("tinybert", None, get_budget("small"), {}, prep)["augmentation"] is None


@pytest.mark.orchestration
def test_progress_shows_the_overall_bar_and_a_keras_line_per_epoch(teacher, tmp_path, capfd):
    kdzoo.compare(**_one_seed(teacher, ["kd"], output_dir=tmp_path, verbose=1))
    out, err = capfd.readouterr()
    assert "compare on synth-sentiment" in err  # tqdm: method x seed
    assert "ms/step" in out and "kd_loss" in out  # Keras: one line per epoch


@pytest.mark.orchestration
def test_stages_runs_a_subset_and_says_so(teacher, tmp_path):
    call = _one_seed(teacher, ["tinybert"])
    t = kdzoo.compare(
        **call, output_dir=tmp_path / "a", stages={"tinybert": ["intermediate", "prediction"]}
    ).table
    config = json.loads(t.loc["tinybert", "config"])
    assert config["skipped stages"] == ["general"]
    assert config["general stage"] == "skipped (not in stages)"
    assert set(config["epochs"]) == {"intermediate", "prediction"}
    assert t.loc["tinybert", "steps"] == 2 * math.ceil(200 / 32)  # no corpus steps
    with pytest.raises(ValueError, match="non-empty subset"):
        kdzoo.compare(**call, output_dir=tmp_path / "b", stages={"tinybert": ["task"]})
    with pytest.raises(ValueError, match=r"stages names method\(s\) \['kd'\]"):
        kdzoo.compare(**call, output_dir=tmp_path / "c", stages={"kd": ["task"]})


@pytest.mark.orchestration
def test_ablate_tabulates_variants_beside_the_paper(teacher, tmp_path, monkeypatch):
    variants = {
        "TinyBERT4": {},
        "w/o GD": {"stages": ["intermediate", "prediction"]},
        "w/o Attn": {"config": {"attention_weight": 0.0}},
    }
    call = dict(
        task="synth-sentiment",
        teacher=teacher,
        student=SAME_WIDTH,
        seeds=(0, 1),
        budget="smoke",
        output_dir=tmp_path,
        published={
            "TinyBERT4": "TinyBERT4",
            "w/o GD": "TinyBERT4 w/o GD",
            "w/o Attn": "TinyBERT4 w/o Attn",
        },
        verbose=0,
    )
    ab = kdzoo.ablate("tinybert", variants, **call)
    t = ab.table
    assert list(t.index) == list(variants)
    assert t.loc["TinyBERT4", "delta"] == 0.0
    for name in variants:
        values = t.loc[name, "values"]
        assert len(values) == 2 and t.loc[name, "mean"] == pytest.approx(np.mean(values), abs=1e-4)
        assert t.loc[name, "delta"] == pytest.approx(
            t.loc[name, "mean"] - t.loc["TinyBERT4", "mean"]
        )
    # the paper's TinyBERT4 ablation averages (Tables 2-3, avg of MNLI-m/mm, MRPC, CoLA)
    assert t["paper"].tolist() == [75.6, 72.5, 71.0]
    assert t["paper delta"].tolist() == pytest.approx([0.0, -3.1, -4.6])
    assert "attention_weight" in t.loc["w/o Attn", "config"]
    assert "skipped stages" in t.loc["w/o GD", "config"]
    verdict = ab.verdict()
    assert list(verdict.index) == ["w/o GD", "w/o Attn"]
    assert set(verdict["verdict"]) <= {"reproduces", "within noise", "opposite"}
    assert "w/o GD" in ab.format() and "paper" in ab.format()
    ab.plot()
    assert (tmp_path / "ablation.png").stat().st_size > 0

    def refuse(*args, **kwargs):
        raise AssertionError("finished variants must be read back, not re-run")

    monkeypatch.setattr("kdzoo.api.distill", refuse)
    again = kdzoo.ablate("tinybert", {"TinyBERT4": {}}, **{**call, "published": None})
    assert again.table.loc["TinyBERT4", "mean"] == t.loc["TinyBERT4", "mean"]
    with pytest.raises(ValueError, match="unknown key"):
        kdzoo.ablate("tinybert", {"x": {"epochs": 3}}, **call)


@pytest.mark.orchestration
def test_jit_compile_reaches_every_run_and_is_recorded(teacher, tmp_path, monkeypatch):
    """compare(jit_compile=True) reaches the distillation and the student-only
    fine-tuning, and each run's recorded configuration says so. The runs train
    uncompiled here (the wrappers record the value, then pass "auto"): compiling is
    tested in test_jit."""
    from kdzoo import api, teachers

    seen = []

    def recording(real):
        def call(*args, jit_compile="auto", **kwargs):
            seen.append((real.__name__, jit_compile))
            return real(*args, jit_compile="auto", **kwargs)

        return call

    monkeypatch.setattr(api, "distill", recording(api.distill))
    monkeypatch.setattr(teachers, "finetune", recording(teachers.finetune))
    call = _one_seed(teacher, ["kd"], student_only=True, output_dir=tmp_path)
    table = kdzoo.compare(**call, jit_compile=True).table
    assert seen == [("finetune", True), ("distill", True)]
    for row in ("student-only (micro-2l-32h)", "kd"):
        assert json.loads(table.loc[row, "config"])["jit_compile"] is True


def test_cli_jit_compile_flag_becomes_the_compare_argument():
    from kdzoo.cli import _run_options, build_parser

    def parse(*flags):
        args = ["compare", "--task", "synth-nli", "--out", "x", *flags]
        return _run_options(build_parser().parse_args(args))["jit_compile"]

    assert parse() == "auto" and parse("--jit-compile") is True
