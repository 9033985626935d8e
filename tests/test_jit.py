"""``jit_compile``: kdzoo.distill, kdzoo.compare and ``--jit-compile`` compile the
training step (torch.compile on torch, XLA on tensorflow, jax.jit on jax), and a
compiled step trains like the eager one."""

from __future__ import annotations

import os

import keras
import numpy as np
import pytest
from conftest import BACKEND

import kdzoo
from kdzoo.models import BertModel
from kdzoo.training import jit_compile_setting

N, BATCH = 12, 8  # the last batch of each epoch holds 4: a compiled step sees a new shape


class _RecordJit(keras.callbacks.Callback):
    """Records the distiller's ``jit_compile`` at the start of each stage."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def on_train_begin(self, logs=None):
        self.seen.append(self.model.jit_compile)


def _run(jit_compile, epochs=2):
    """TinyBERT's intermediate stage (hidden states through the projection, attention
    scores, embeddings) on micro models without dropout (a compiled graph draws its own
    random numbers)."""
    no_dropout = {"hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0}
    keras.utils.set_random_seed(0)
    teacher = BertModel("micro-2l-32h", vocab_size=64, num_labels=3, **no_dropout)
    student = BertModel("micro-2l-32h", vocab_size=64, num_labels=3, **no_dropout)
    rng = np.random.default_rng(0)
    x = {
        "token_ids": rng.integers(5, 64, (N, 10)).astype("int32"),
        "padding_mask": (np.arange(10) < rng.integers(4, 11, (N, 1))).astype("int32"),
    }
    y = rng.integers(0, 3, N).astype("int32")
    recorder = _RecordJit()
    result = kdzoo.distill(
        "tinybert",
        teacher,
        student,
        data=(x, y),
        stages=["intermediate"],
        epochs=epochs,
        batch_size=BATCH,
        callbacks=[recorder],
        verbose=0,
        jit_compile=jit_compile,
    )
    return result.history, recorder.seen


@pytest.mark.skipif(
    BACKEND == "torch" and not os.environ.get("KDZOO_TORCH_COMPILE_TESTS"),
    reason="torch.compile of the micro distiller's step takes about 4 minutes on 2 CPUs "
    "(tracing Keras, not the model's size): run with KDZOO_TORCH_COMPILE_TESTS=1; in CI "
    "test_torch_compiles_the_step_through_keras checks that the step is compiled",
)
def test_a_compiled_step_trains_like_the_eager_one():
    """Two epochs, each with a smaller last batch (a new shape for the compiled step):
    the same losses as the eager step."""
    eager, eager_seen = _run(False)
    compiled, compiled_seen = _run(True)
    assert eager_seen == [False] and compiled_seen == [True]
    assert set(compiled) == {"intermediate"}
    for stage, logs in eager.items():
        assert set(compiled[stage]) == set(logs)
        for term, values in logs.items():
            assert len(values) == 2  # both epochs, the partial last batches included
            np.testing.assert_allclose(
                compiled[stage][term], values, rtol=2e-4, atol=1e-6, err_msg=f"{stage} {term}"
            )


def test_auto_is_keras_own_choice():
    """``"auto"`` leaves the choice to Keras: eager torch, tf.function without XLA on a
    CPU, jax.jit."""
    _, seen = _run("auto", epochs=1)
    expected = {"torch": False, "tensorflow": False, "jax": True}[BACKEND]
    if BACKEND == "tensorflow":
        import tensorflow as tf

        expected = any(d.device_type != "CPU" for d in tf.config.list_physical_devices())
    assert seen == [expected]


@pytest.mark.parametrize("value", ["yes", 1, None, "True"])
def test_other_values_are_refused_before_any_work(value, tmp_path):
    with pytest.raises(ValueError, match="jit_compile takes True, False or 'auto'"):
        jit_compile_setting(value)
    with pytest.raises(ValueError, match="jit_compile takes True, False or 'auto'"):
        kdzoo.distill("kd", "no-such-teacher", "no-such-student", jit_compile=value)
    with pytest.raises(ValueError, match="jit_compile takes True, False or 'auto'"):
        kdzoo.compare(["kd"], task="synth-sentiment", output_dir=tmp_path, jit_compile=value)
    assert not any(tmp_path.iterdir())


def test_torch_compiles_the_step_through_keras(monkeypatch):
    """On torch, ``jit_compile=True`` reaches Keras, which wraps the distiller's step in
    ``torch.compile``. Recorded here without compiling (a stand-in returns the function
    unchanged): the compiled run itself takes minutes, see the test above."""
    if BACKEND != "torch":
        pytest.skip("torch.compile is the torch backend's")
    import torch

    compiled = []

    def record(fn, *args, **kwargs):
        compiled.append(fn.__name__)
        return fn

    monkeypatch.setattr(torch, "compile", record)
    _, seen = _run(True, epochs=1)
    assert seen == [True]
    assert compiled == ["one_step_on_data"]
    compiled.clear()
    _run("auto", epochs=1)
    assert compiled == []
