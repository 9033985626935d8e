"""The teacher-output cache: keys, reuse, atomic files, and distillers reading from it."""

from __future__ import annotations

import method_cases as mc
import numpy as np
import pytest
from conftest import to_numpy

from kdzoo import Distiller, get_method
from kdzoo.data.cache import TeacherCache, fingerprint
from kdzoo.mapping import tinybert_mapping


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
    ("name", "stage"), [("kd", "task"), ("tinybert", "intermediate"), ("pkd", "task")]
)
def test_distiller_with_cache_matches_running_the_teacher(tmp_path, name, stage):
    teacher, student = mc.models(name)
    x, y = mc.batch(0)
    method = get_method(name, **mc.CASES[name]["config"])
    n, m = teacher.config.num_hidden_layers, student.config.num_hidden_layers
    if name == "tinybert":
        mapping = tinybert_mapping(n, m)
        hidden, attention = mapping["hidden"], mapping["attention"]
    elif name == "pkd":
        hidden, attention = [2], []
    else:
        hidden, attention = [], []
    cache = TeacherCache(tmp_path)
    outputs = cache.teacher_outputs(
        teacher, x, hidden_layers=hidden, attention_layers=attention, progress=False
    )
    live = Distiller(method, teacher, student, stage=stage)
    live.compile(optimizer="sgd")
    expected = live.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)
    cached = Distiller(method, teacher, student, stage=stage, layers=live.aux_layers)
    cached.compile(optimizer="sgd")
    teacher.call = None  # the cached run must not need the teacher
    got = cached.evaluate(cache.attach(x, outputs), y, batch_size=8, verbose=0, return_dict=True)
    for term, value in expected.items():
        assert got[term] == pytest.approx(value, rel=1e-5, abs=1e-6), term


def test_missing_layer_explains(tmp_path):
    teacher, student = mc.models("tinybert")
    x, y = mc.batch(0)
    cache = TeacherCache(tmp_path)
    outputs = cache.teacher_outputs(teacher, x, progress=False)  # logits only
    d = Distiller(get_method("tinybert"), teacher, student, stage="intermediate")
    d.compile(optimizer="sgd")
    with pytest.raises(ValueError, match="hidden_layers="):
        d.evaluate(cache.attach(x, outputs), y, batch_size=8, verbose=0)
