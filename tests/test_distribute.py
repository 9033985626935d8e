"""Data-parallel distillation (kdzoo.distribute) on virtual devices.

jax gets two host devices from ``XLA_FLAGS=--xla_force_host_platform_device_count=2``
and tensorflow two logical CPUs; both must be set before the backend starts, so the
runs happen in a subprocess (tests/_distributed_probe.py). Each case compares a
distillation over 2 devices, global batch 8, with the same run on 1 device with batch
8: TinyBERT's two task stages with the teacher live; LAD (its gates on a second
optimizer); TinyBERT's intermediate stage from cached teacher outputs with clipping on
every step. And
``kdzoo.compare(distribution=2)`` runs a method and a student-only row.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

BACKEND = keras.backend.backend()

PROBE = Path(__file__).with_name("_distributed_probe.py")


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    if BACKEND == "torch":
        pytest.skip("torch has no data-parallel engine in Keras (test_torch_is_refused)")
    out = tmp_path_factory.mktemp("distributed")
    env = {**os.environ, "KERAS_BACKEND": BACKEND}
    # Two host devices, first: XLA stops reading flags at a malformed one, and the tox
    # env's one-thread flags end with one (intra_op_parallelism_threads=1, no dashes).
    flags = env.get("XLA_FLAGS", "")
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count=2 {flags}".strip()
    run = subprocess.run(
        [sys.executable, str(PROBE), str(out)], env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr[-3000:]
    cases = ("live", "lad", "cached-clipped", "compare")
    return {m: json.loads((out / f"{m}.json").read_text()) for m in cases}


@pytest.mark.parametrize("case", ["live", "lad", "cached-clipped"])
def test_two_devices_match_one_device(probe, case):
    result = probe[case]
    d = result["distribution"]
    assert d["replicas"] == 2 and len(d["devices"]) == 2
    assert (
        d["engine"]
        == {
            "jax": "keras.distribution.DataParallel",
            "tensorflow": "tf.distribute.MirroredStrategy",
        }[BACKEND]
    )
    stages = {"live": ["intermediate", "prediction"], "lad": ["task"]}.get(case, ["intermediate"])
    assert d["batch_size"] == {s: {"global": 8, "per_replica": 4} for s in stages}
    assert result["one_distribution"] is None
    assert result["moved"]  # both runs trained
    assert result["steps"] == len(stages) * 4  # stages x 1 epoch x 4 steps
    assert result["loss_max_abs_diff"] < 1e-4, result["per_step_diff"]
    assert result["weight_max_abs_diff"] < 1e-5


def test_compare_runs_data_parallel(probe):
    """compare(distribution=2): the student-only row (fine-tuned under the engine) and
    the KD row (distilled under it) record the engine they ran on."""
    rows = {r["name"]: r for r in probe["compare"]}
    assert set(rows) == {"teacher", "student-only (micro-2l-32h)", "kd"}
    for row in (rows["student-only (micro-2l-32h)"], rows["kd"]):
        config = json.loads(row["config"])
        assert config["distribution"]["replicas"] == 2
        assert 0.0 <= row["accuracy"] <= 1.0


def test_the_command_line_flag(tmp_path, capsys):
    from kdzoo.cli import main

    args = ["compare", "--task", "synth-sentiment", "--methods", "kd", "--out", str(tmp_path)]
    assert main([*args, "--distribution", "two"]) == 1
    assert "--distribution takes 'data-parallel' or a number" in capsys.readouterr().err
    if BACKEND == "torch":  # refused before any work (no teacher is built)
        assert main([*args, "--distribution", "data-parallel"]) == 1
        assert "KERAS_BACKEND=jax" in capsys.readouterr().err
        assert not (tmp_path / "runs").exists()


def test_torch_is_refused():
    if BACKEND != "torch":
        pytest.skip("the torch backend's error")
    import kdzoo
    from kdzoo.models import BertModel

    teacher = BertModel("micro-2l-32h", vocab_size=64, num_labels=3)
    student = BertModel("micro-2l-32h", vocab_size=64, num_labels=3)
    x = {"token_ids": np.ones((8, 6), "int32"), "padding_mask": np.ones((8, 6), "int32")}
    with pytest.raises(ValueError, match=r"KERAS_BACKEND=jax.*KERAS_BACKEND=tensorflow"):
        kdzoo.distill("kd", teacher, student, data=(x, np.zeros(8, "int32")), distribution=2)


def test_plan_checks():
    import kdzoo
    from kdzoo.distribute import DataParallel, resolve

    assert kdzoo.distribute.data_parallel  # reachable as the docs write it

    plan = DataParallel(backend="jax", engine=None, replicas=2)
    assert plan.per_replica(32) == 16
    with pytest.raises(ValueError, match=r"global batch.*multiple of the 2 replicas"):
        plan.per_replica(7)
    assert resolve(None) is None and resolve(plan) is plan
    with pytest.raises(ValueError, match="data-parallel"):
        resolve("model-parallel")


def test_too_many_devices_explains():
    if BACKEND == "torch":
        pytest.skip("no engine on torch")
    from kdzoo.distribute import data_parallel

    with pytest.raises(ValueError, match="virtual CPU devices"):
        data_parallel(64)


@pytest.mark.parametrize(("rows", "batches", "last", "dropped"), [(13, 2, 4, 1), (9, 1, 8, 1)])
def test_batches_trim_to_a_multiple_of_the_replicas(rows, batches, last, dropped):
    from kdzoo.training import Batches

    b = Batches(np.arange(rows), batch_size=8, multiple_of=2)
    assert b.steps_per_epoch == batches and b.dropped == dropped
    sizes = [len(b.rows_of(i)) for i in range(b.steps_per_epoch)]
    assert sizes[-1] == last and all(s % 2 == 0 for s in sizes)
    seen = np.concatenate([b.rows_of(i) for i in range(b.steps_per_epoch)])
    assert len(set(seen.tolist())) == rows - dropped
