"""Resumable, reproducible training (kdzoo.training, distill's checkpoints), every backend.

The central test kills a distillation with SIGKILL in the middle of its second stage and
resumes it: the resumed run must end with the same weights, dev logits and loss history
as a run that was never stopped, having lost at most one checkpoint interval.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

import kdzoo
from kdzoo._io import atomic_write
from kdzoo.api import distill
from kdzoo.models import BertModel
from kdzoo.training import Batches, read_checkpoint

HERE = Path(__file__).parent


# -- SIGKILL in the middle of a stage ------------------------------------------------------


def _probe(out: Path, mode: str, kill_step: int | None = None) -> subprocess.CompletedProcess:
    args = [sys.executable, str(HERE / "_resume_probe.py"), str(out), mode]
    if kill_step is not None:
        args.append(str(kill_step))
    env = {**os.environ, "PYTHONPATH": str(HERE.parent)}
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=600)


def _finished(run: subprocess.CompletedProcess) -> None:
    assert run.returncode == 0, run.stderr[-3000:]


def test_a_run_killed_mid_stage_resumes_to_the_same_weights(tmp_path):
    sys.path.insert(0, str(HERE))
    from _resume_probe import BATCH, EPOCHS, EVERY

    per_epoch = 64 // BATCH
    per_stage = per_epoch * EPOCHS
    kill_step = per_stage + per_epoch + 3  # prediction stage, epoch 2, batch 3

    _finished(_probe(tmp_path, "plain"))
    killed = _probe(tmp_path, "checkpointed", kill_step)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    checkpoint = tmp_path / "checkpoint"
    assert (checkpoint / "intermediate.npz").is_file()  # the first stage had finished
    meta, _ = read_checkpoint(checkpoint / "prediction-progress.npz")
    in_stage = kill_step - per_stage
    assert 0 < in_stage - meta["step"] <= EVERY  # at most one interval is lost
    assert meta["batch"] != 0 and meta["stage"] == "prediction"  # inside an epoch
    assert not list(checkpoint.glob(".*tmp*"))  # no half-written file

    _finished(_probe(tmp_path, "checkpointed"))  # resume
    assert not (checkpoint / "prediction-progress.npz").exists()
    plain = np.load(tmp_path / "plain-weights.npz")
    resumed = np.load(tmp_path / "checkpointed-weights.npz")
    assert plain.files == resumed.files
    for name in plain.files:
        np.testing.assert_allclose(resumed[name], plain[name], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(
        np.load(tmp_path / "checkpointed-dev-logits.npy"),
        np.load(tmp_path / "plain-dev-logits.npy"),
        rtol=1e-6,
        atol=1e-7,
    )
    a = json.loads((tmp_path / "plain-history.json").read_text())
    b = json.loads((tmp_path / "checkpointed-history.json").read_text())
    assert a.keys() == b.keys() == {"intermediate", "prediction"}
    for stage in a:
        assert a[stage].keys() == b[stage].keys()
        for term in a[stage]:
            assert len(b[stage][term]) == EPOCHS
            np.testing.assert_allclose(b[stage][term], a[stage][term], rtol=1e-6)


# -- in-process pieces -----------------------------------------------------------------------


def _setup(rows=48, dropout=0.1):
    rng = np.random.default_rng(1)
    x = {
        "token_ids": rng.integers(5, 60, (rows, 10)).astype("int32"),
        "padding_mask": np.ones((rows, 10), "int32"),
    }
    y = rng.integers(0, 2, rows).astype("int32")
    keras.utils.set_random_seed(0)
    teacher = BertModel("micro-2l-32h", vocab_size=64, num_labels=2)
    student = BertModel("micro-2l-32h", vocab_size=64, num_labels=2, hidden_dropout_prob=dropout)
    return teacher, student, x, y


def _weights(model):
    return [keras.ops.convert_to_numpy(w) for w in model.weights]


class _Stop(Exception):
    pass


class _StopAt(keras.callbacks.Callback):
    def __init__(self, step):
        super().__init__()
        self.step, self.seen = step, 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.step:
            raise _Stop


def test_batches_are_a_seeded_stream_of_epoch_permutations():
    x = {"ids": np.arange(10)[:, None]}
    y = np.arange(10)
    stream = Batches(x, y, batch_size=4, seed=5)
    assert stream.steps_per_epoch == 3
    for epoch in range(3):
        rows = np.concatenate([stream.rows_of(epoch * 3 + b) for b in range(3)])
        assert sorted(rows) == list(range(10))  # each epoch sees every row once
    assert not np.array_equal(stream.order(0), stream.order(1))  # reshuffled per epoch
    assert np.array_equal(Batches(x, y, batch_size=4, seed=5).order(1), stream.order(1))
    assert not np.array_equal(Batches(x, y, batch_size=4, seed=6).order(0), stream.order(0))
    later = Batches(x, y, batch_size=4, seed=5, start=4)  # a resumed stream
    bx, by = later[0]
    np.testing.assert_array_equal(by, y[stream.rows_of(4)])
    np.testing.assert_array_equal(bx["ids"][:, 0], by)  # x and y rows stay together
    assert len(stream[2][1]) == 2  # the last batch of an epoch holds the remainder


def test_same_seed_same_weights_other_seed_other_weights():
    runs = {}
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        teacher, student, x, y = _setup()
        distill("kd", teacher, student, data=(x, y), epochs=2, batch_size=8, seed=seed, verbose=0)
        runs[name] = _weights(student)
    for a, b in zip(runs["a"], runs["b"], strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, c) for a, c in zip(runs["a"], runs["c"], strict=True))


def test_checkpoints_do_not_change_the_result(tmp_path):
    teacher, student, x, y = _setup()
    distill("kd", teacher, student, data=(x, y), epochs=2, batch_size=8, verbose=0)
    teacher, again, x, y = _setup()
    distill(
        "kd", teacher, again, data=(x, y), epochs=2, batch_size=8, verbose=0,
        checkpoint_dir=tmp_path, checkpoint_every=2,
    )  # fmt: skip
    for a, b in zip(_weights(student), _weights(again), strict=True):
        np.testing.assert_array_equal(a, b)


def test_an_interrupted_fine_tuning_resumes_exactly(tmp_path):
    """compare's student-only runs fine-tune through the same resumable fit."""
    from kdzoo.teachers import finetune

    _, plain, x, y = _setup()
    finetune(plain, x, y, epochs=3, batch_size=8, seed=2, verbose=0)
    path = tmp_path / "task-progress.npz"
    _, first, x, y = _setup()
    with pytest.raises(_Stop):
        finetune(
            first, x, y, epochs=3, batch_size=8, seed=2, verbose=0, checkpoint=path,
            checkpoint_every=4, callbacks=[_StopAt(10)],
        )  # fmt: skip
    assert read_checkpoint(path)[0]["step"] == 8
    _, resumed, x, y = _setup()
    history = finetune(
        resumed, x, y, epochs=3, batch_size=8, seed=2, verbose=0, checkpoint=path,
        checkpoint_every=4,
    )  # fmt: skip
    assert len(history["loss"]) == 3
    for a, b in zip(_weights(plain), _weights(resumed), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_a_checkpoint_dir_of_another_configuration_is_refused(tmp_path):
    teacher, student, x, y = _setup()
    kw = dict(data=(x, y), epochs=1, batch_size=8, verbose=0, checkpoint_dir=tmp_path)
    distill("kd", teacher, student, **kw)
    with pytest.raises(ValueError, match=r"another configuration \(it differs in: config\)"):
        distill("kd", teacher, student, temperature=2.0, **kw)
    with pytest.raises(ValueError, match="differs in: data"):
        distill("kd", teacher, student, **{**kw, "data": (x, 1 - y)})
    with pytest.raises(ValueError, match="resume=False"):
        distill("kd", teacher, student, **{**kw, "epochs": 2})
    # resume=False deletes that stage's checkpoints and trains it again
    result = distill("kd", teacher, student, temperature=2.0, resume=False, **kw)
    assert result.method.config.temperature == 2.0
    assert json.loads((tmp_path / "run.json").read_text())["task"]["config"]["temperature"] == 2


def test_a_corrupt_progress_checkpoint_is_named(tmp_path):
    teacher, student, x, y = _setup()
    with pytest.raises(_Stop):
        distill(
            "kd", teacher, student, data=(x, y), epochs=2, batch_size=8, verbose=0,
            checkpoint_dir=tmp_path, checkpoint_every=2, callbacks=[_StopAt(3)],
        )  # fmt: skip
    path = tmp_path / "task-progress.npz"
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ValueError, match=r"task-progress\.npz is corrupt or truncated"):
        distill(
            "kd", teacher, student, data=(x, y), epochs=2, batch_size=8, verbose=0,
            checkpoint_dir=tmp_path, checkpoint_every=2,
        )  # fmt: skip


def test_weights_gone_non_finite_keep_the_last_good_checkpoint(tmp_path):
    teacher, student, x, y = _setup(dropout=0.0)

    class Poison(keras.callbacks.Callback):
        seen = 0

        def on_train_batch_end(self, batch, logs=None):
            Poison.seen += 1
            if Poison.seen == 3:  # after the checkpoint at step 2
                weight = self.model.student.weights[0]
                weight.assign(np.full(weight.shape, np.nan, "float32"))

    with pytest.raises(kdzoo.NonFiniteLossError, match="last good checkpoint"):
        distill(
            "kd", teacher, student, data=(x, y), epochs=2, batch_size=8, verbose=0,
            checkpoint_dir=tmp_path, checkpoint_every=2, callbacks=[Poison()],
        )  # fmt: skip
    meta, arrays = read_checkpoint(tmp_path / "task-progress.npz")
    assert meta["step"] == 2
    assert all(np.isfinite(a).all() for a in arrays["state"] + arrays["optimizer"])


def test_a_failed_write_leaves_no_half_written_file(tmp_path):
    target = tmp_path / "state.npz"
    atomic_write(target, lambda tmp: np.savez(tmp, a=np.ones(3)))

    def full_disk(tmp):
        tmp.write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError, match=r"could not write .*state\.npz.*previous file.*intact"):
        atomic_write(target, full_disk)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.npz"]
    np.testing.assert_array_equal(np.load(target)["a"], np.ones(3))
