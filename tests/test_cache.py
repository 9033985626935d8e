"""The teacher-output cache: keys, reuse, atomic files, and distillers reading from it."""

from __future__ import annotations

import method_cases as mc
import numpy as np
import pytest
from conftest import to_numpy

from kdzoo import Distiller, get_method
from kdzoo.data.cache import TeacherCache, fingerprint


def test_fingerprint_tracks_weights_inputs_and_extra():
    teacher, _ = mc.models("kd")
    x, _ = mc.batch(0)
    key = fingerprint(teacher, x, {"max_length": 10})
    assert key == fingerprint(teacher, x, {"max_length": 10})
    assert key != fingerprint(teacher, x, {"max_length": 12})
    assert key != fingerprint(teacher, mc.batch(1)[0], {"max_length": 10})
    w = teacher.classifier.bias
    w.assign(to_numpy(w) + 1.0)
    assert key != fingerprint(teacher, x, {"max_length": 10})


def test_computed_once_then_read_back(tmp_path):
    teacher, _ = mc.models("kd")
    x, _ = mc.batch(0)
    cache = TeacherCache(tmp_path)
    first = cache.teacher_outputs(teacher, x, hidden_layers=[0, 2], batch_size=7, progress=False)
    np.testing.assert_allclose(first["logits"], to_numpy(teacher(x)["logits"]), atol=1e-5)
    assert first["hidden_states/2"].shape == (mc.N, mc.LENGTH, 16)
    files = list(tmp_path.iterdir())
    assert len(files) == 1 and files[0].suffix == ".safetensors"  # no temporary left

    def refuse(*args, **kwargs):
        raise AssertionError("a cache hit must not run the teacher")

    teacher.call = refuse
    again = cache.teacher_outputs(teacher, x, hidden_layers=[0, 2], progress=False)
    for k in first:
        np.testing.assert_array_equal(first[k], again[k])


@pytest.mark.parametrize(
    ("name", "stage"), [(n, s) for n, stages in mc.STAGES.items() for s in stages]
)
def test_distiller_with_cache_matches_running_the_teacher(tmp_path, name, stage):
    """Each method's ``teacher_layers`` names everything its loss reads: a distiller fed
    only those cached layers computes every loss term as one that runs the teacher."""
    teacher, student = mc.models(name)
    x, y = mc.batch(0)
    method = get_method(name, **mc.CASES[name]["config"])
    n = teacher.config.num_hidden_layers
    m = 2 if name == "bilstm" else student.config.num_hidden_layers
    wanted = method.teacher_layers(stage, n, m)
    if name == "distilbert" and stage == "general":
        assert wanted is None  # fresh masking every batch: the teacher must run live
        return
    assert get_method(name, teacher_dropout=True).teacher_layers(stage, n, m) is None
    cache = TeacherCache(tmp_path)
    outputs = cache.teacher_outputs(
        teacher,
        x,
        hidden_layers=wanted["hidden"],
        attention_layers=wanted["attention"],
        progress=False,
    )
    stored = {k.split("/")[0] for k in outputs} - {"logits"}
    assert stored <= {"hidden_states", "attention_scores"}
    live_x = mc.inputs(name, x)
    live = Distiller(method, teacher, student, stage=stage, seq_length=mc.LENGTH)
    live.compile(optimizer="sgd")
    expected = live.evaluate(live_x, y, batch_size=8, verbose=0, return_dict=True)
    cached = Distiller(
        method, teacher, student, stage=stage, layers=live.aux_layers, seq_length=mc.LENGTH
    )
    cached.compile(optimizer="sgd")
    teacher.call = None  # the cached run must not need the teacher
    cached_x = cache.attach(live_x if name == "bilstm" else x, outputs)
    got = cached.evaluate(cached_x, y, batch_size=8, verbose=0, return_dict=True)
    for term, value in expected.items():
        assert got[term] == pytest.approx(value, rel=1e-5, abs=1e-6), term


def test_lad_uniform_reads_only_its_mapped_layers_from_the_cache(tmp_path):
    teacher, student = mc.models("lad")
    x, y = mc.batch(0)
    method = get_method("lad", aggregation="uniform")
    wanted = method.teacher_layers("task", 4, 2)
    assert wanted["hidden"] == [2, 4]
    cache = TeacherCache(tmp_path)
    outputs = cache.teacher_outputs(teacher, x, hidden_layers=wanted["hidden"], progress=False)
    live = Distiller(method, teacher, student, seq_length=mc.LENGTH)
    live.compile(optimizer="sgd")
    expected = live.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)
    cached = Distiller(method, teacher, student, seq_length=mc.LENGTH)
    cached.compile(optimizer="sgd")
    got = cached.evaluate(cache.attach(x, outputs), y, batch_size=8, verbose=0, return_dict=True)
    assert got["hidden_loss"] == pytest.approx(expected["hidden_loss"], rel=1e-5)


def test_mapped_layers_are_the_minimum():
    """PKD and TinyBERT cache only the layers their mapping reads (12 -> 4 here)."""
    assert get_method("pkd").teacher_layers("task", 12, 4) == {"hidden": [3, 6, 9], "attention": []}
    assert get_method("pkd", strategy="last").teacher_layers("task", 12, 4)["hidden"] == [9, 10, 11]
    tiny = get_method("tinybert")
    assert tiny.teacher_layers("intermediate", 12, 4) == {
        "hidden": [0, 3, 6, 9, 12],
        "attention": [2, 5, 8, 11],
    }
    assert tiny.teacher_layers("prediction", 12, 4) == {"hidden": [], "attention": []}
    no_attention = get_method("tinybert", attention_weight=0.0)
    assert no_attention.teacher_layers("intermediate", 12, 4)["attention"] == []
    assert get_method("lad").teacher_layers("task", 12, 6)["hidden"] == list(range(1, 13))


def test_missing_layer_explains(tmp_path):
    teacher, student = mc.models("tinybert")
    x, y = mc.batch(0)
    cache = TeacherCache(tmp_path)
    outputs = cache.teacher_outputs(teacher, x, progress=False)  # logits only
    d = Distiller(get_method("tinybert"), teacher, student, stage="intermediate")
    d.compile(optimizer="sgd")
    with pytest.raises(ValueError, match="hidden_layers="):
        d.evaluate(cache.attach(x, outputs), y, batch_size=8, verbose=0)
