"""Every method on the backend under test: it trains, it touches only what it should,
it is reproducible, and it computes the same losses as on torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import method_cases as mc
import numpy as np
import pytest
from conftest import BACKEND, count_calls, to_numpy

import kdzoo
from kdzoo import Distiller, get_method

HERE = Path(__file__).parent
FAST = {"learning_rate": 3e-3}  # the papers' rates are for thousands of steps
STAGE_LR = {
    "tinybert": {"intermediate_learning_rate": 3e-3, "general_learning_rate": 3e-3},
    "distilbert": {"task_learning_rate": 3e-3},
    "lad": {"gate_learning_rate": 3e-3},
}


def method_for(name, **extra):
    return get_method(name, **mc.CASES[name]["config"], **FAST, **STAGE_LR.get(name, {}), **extra)


def snapshot(variables):
    return {v.path: to_numpy(v).copy() for v in variables}


def run_stage(name, stage, epochs=4, seed=0):
    keras.utils.set_random_seed(seed)
    teacher, student = mc.models(name)
    method = method_for(name)
    d = Distiller(method, teacher, student, stage=stage, seq_length=mc.LENGTH, seed=seed)
    x, y = mc.batch(0)
    x = mc.inputs(name, x)
    y_fit = None if stage in method.unlabelled_stages else y
    d.compile(optimizer=method.optimizer(stage, 100, d.aux_layers))
    return d, x, y_fit, epochs


CASES = [(n, s) for n, stages in mc.STAGES.items() for s in stages]


@pytest.mark.parametrize(("name", "stage"), CASES)
def test_trains_and_touches_only_student_and_own_layers(name, stage):
    d, x, y, epochs = run_stage(name, stage)
    teacher_before = snapshot(d.teacher.weights)
    student_before = snapshot(d.student.trainable_weights)
    aux_vars = [v for layer in d.aux_layers.values() for v in layer.trainable_weights]
    aux_before = snapshot(aux_vars)
    # MLM masking is random: compare losses with a fixed seed state.
    before = d.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)["loss"]
    history = d.fit(x, y, batch_size=8, epochs=epochs, verbose=0, shuffle=False).history
    after = d.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)["loss"]
    assert after < before, (before, after, history)
    # Every loss term is its own metric.
    assert set(d.method.term_names(stage)) <= set(history)
    # The teacher is bit-for-bit unchanged.
    for path, value in snapshot(d.teacher.weights).items():
        np.testing.assert_array_equal(value, teacher_before[path], err_msg=path)
    # The student moved; so did the projections / gates, if the method has any.
    moved = [
        p
        for p, v in snapshot(d.student.trainable_weights).items()
        if not np.array_equal(v, student_before[p])
    ]
    assert moved
    if aux_vars and stage != "prediction":
        assert any(not np.array_equal(v, aux_before[p]) for p, v in snapshot(aux_vars).items())
    # Nothing else is trainable.
    own = {id(v) for v in d.student.trainable_weights} | {id(v) for v in aux_vars}
    assert {id(v) for v in d.trainable_weights} == own


@pytest.mark.parametrize(("name", "stage"), CASES)
def test_a_stage_that_claims_no_labels_trains_without_them(name, stage):
    """``uses_labels`` decides which stages may train on augmented transfer sets, whose
    rows have no gold label: a stage that says it needs none must run with y=None."""
    d, x, y, _ = run_stage(name, stage)
    method = d.method
    if method.uses_labels(stage):
        return
    with_labels = d.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)
    without = d.evaluate(x, None, batch_size=8, verbose=0, return_dict=True)
    if name != "distilbert":  # DistilBERT's general stage masks at random every call
        assert without["loss"] == pytest.approx(with_labels["loss"], rel=1e-5)


@pytest.mark.parametrize("name", ["tinybert", "lad", "bilstm"])
def test_compile_builds_the_optimizer_so_the_step_is_traced_once(name, monkeypatch):
    """The optimizer's variables exist after ``compile``. Otherwise tensorflow creates
    them while tracing the first step and traces it a second time (jax and torch build
    them at the start of ``fit``). Counted: the Python calls of ``compute_loss`` in the
    first ``fit`` of 3 steps (eager torch calls it every step)."""
    stage = mc.STAGES[name][-1] if name != "tinybert" else "intermediate"
    d, x, y, _ = run_stage(name, stage)
    assert d.optimizer.built
    variables = len(d.optimizer.variables)
    assert variables > len(d.trainable_variables)  # the moments, not just the step count
    calls = count_calls(monkeypatch, Distiller, "compute_loss")
    d.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert len(calls) == (3 if keras.backend.backend() == "torch" else 1)
    assert len(d.optimizer.variables) == variables


def _scope_names(d) -> dict:
    """Every layer's Keras name scope (``_parent_path``: None until a layer without
    weights is first called; a layer the step never calls keeps None)."""
    models = [d.teacher, d.student, *d.aux_layers.values()]
    return {
        (m.name, i, lay.name): lay._parent_path
        for m in models
        for i, lay in enumerate(m._flatten_layers())
    }


@pytest.mark.orchestration  # Keras names scopes in the same Python on every backend
@pytest.mark.parametrize(("name", "stage"), CASES)
def test_prepare_runs_what_the_step_runs(name, stage):
    """After ``prepare`` a training step sets no layer's name scope: a scope set inside
    a step compiled by ``torch.compile`` is one of the guards that make it compile again
    (kdzoo's; Keras's own trainer and optimizer keep two more, see ``prepare``). Eager
    step here: the same Python runs. And the step's losses are those without
    ``prepare`` (DistilBERT's general stage masks in inference mode too)."""
    d, x, y, _ = run_stage(name, stage, seed=3)
    d.compile(optimizer=d.optimizer, run_eagerly=True)
    d.prepare(x, y)
    before = _scope_names(d)
    logs = d.train_on_batch(_rows(x, 8), _rows(y, 8), return_dict=True)
    assert _scope_names(d) == before

    fresh, x, y, _ = run_stage(name, stage, seed=3)
    fresh.compile(optimizer=fresh.optimizer, run_eagerly=True)
    assert fresh.train_on_batch(_rows(x, 8), _rows(y, 8), return_dict=True) == logs


def test_prepare_leaves_the_random_state_alone():
    """DistilBERT's general stage masks tokens in inference mode too: ``prepare`` rewinds
    the distiller's seed state (a variable of the backend's), so a run draws the same
    masks with it as without. Every variable that existed before holds what it held."""
    d, x, y, _ = run_stage("distilbert", "general", seed=3)
    before = [(v, to_numpy(v).copy()) for v in d.variables]
    seed_state = to_numpy(d.seed_generator.state).copy()
    d.prepare(x, y)
    for v, value in before:
        np.testing.assert_array_equal(to_numpy(v), value, err_msg=v.path)
    np.testing.assert_array_equal(to_numpy(d.seed_generator.state), seed_state)
    d(_rows(x, 2), training=False)  # the masking alone moves it: what prepare undoes
    assert not np.array_equal(to_numpy(d.seed_generator.state), seed_state)


def _rows(a, n):
    return None if a is None else keras.tree.map_structure(lambda v: v[:n], a)


def test_which_stages_need_gold_labels():
    assert get_method("kd").uses_labels("task")
    assert not get_method("bilstm").uses_labels("task")  # alpha = 0: MSE on logits only
    assert get_method("bilstm", alpha=0.5).uses_labels("task")
    tiny = get_method("tinybert")
    assert not any(tiny.uses_labels(s) for s in tiny.stages)
    assert get_method("tinybert", prediction="hard").uses_labels("prediction")
    assert not get_method("distilbert").uses_labels("general")


@pytest.mark.parametrize("name", list(mc.STAGES))
def test_same_seed_same_losses(name):
    stage = mc.STAGES[name][0]
    runs = []
    for _ in range(2):
        d, x, y, _ = run_stage(name, stage, seed=7)
        runs.append(d.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=True).history["loss"])
    np.testing.assert_array_equal(runs[0], runs[1])


@pytest.mark.parametrize("name", list(mc.STAGES))
def test_saved_student_reloads_alone(name, tmp_path):
    d, x, y, _ = run_stage(name, mc.STAGES[name][-1])
    d.fit(x, y, batch_size=8, epochs=1, verbose=0)
    student_x = x.get("student_inputs", x)
    path = tmp_path / "student.keras"
    d.student.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is type(d.student)
    assert len(loaded.weights) == len(d.student.weights)  # no teacher, no projections
    np.testing.assert_allclose(
        to_numpy(loaded(student_x)["logits"]), to_numpy(d.student(student_x)["logits"]), atol=1e-6
    )


def test_losses_agree_with_torch_backend():
    """Identical weights and inputs give the same loss terms here as on torch (1e-4)."""
    sys.path.insert(0, str(HERE))
    from _method_probe import probe

    here = probe()
    env = dict(os.environ, KERAS_BACKEND="torch", PYTHONPATH=str(HERE))
    out = subprocess.run(
        [sys.executable, str(HERE / "_method_probe.py")],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    torch_values = json.loads(out.stdout)
    assert set(here) == set(torch_values)
    for case, terms in here.items():
        for term, value in terms.items():
            assert value == pytest.approx(torch_values[case][term], rel=1e-4, abs=1e-6), (
                f"{case} {term} on {BACKEND}: {value} vs torch {torch_values[case][term]}"
            )


# ------------------------------------------------------------------ the registry and API


def test_registry_lists_the_six_methods():
    assert set(kdzoo.methods()) >= {"kd", "bilstm", "distilbert", "pkd", "tinybert", "lad"}


def test_unknown_method_and_option():
    with pytest.raises(ValueError, match=r"unknown method 'tinybertt'. Valid methods: .*tinybert"):
        get_method("tinybertt")
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['temprature'\].*temperature"):
        get_method("kd", temprature=2)


def test_attention_loss_needs_equal_heads():
    teacher = mc.models("kd")[0]
    student = kdzoo.models.BertModel(dict(mc.NARROW, num_attention_heads=4))
    with pytest.raises(ValueError, match="head by head"):
        Distiller(get_method("tinybert"), teacher, student, stage="intermediate")
    # Without the attention loss the same pair is fine.
    Distiller(get_method("tinybert", attention_weight=0.0), teacher, student, stage="intermediate")


def test_depth_must_divide():
    teacher = mc.models("kd")[0]
    student = kdzoo.models.BertModel(dict(mc.NARROW, num_hidden_layers=3))
    with pytest.raises(ValueError, match="do not divide"):
        Distiller(get_method("tinybert"), teacher, student, stage="intermediate")


def test_bilstm_uses_precomputed_teacher_logits():
    """With teacher_logits in the inputs the teacher never runs."""
    teacher, student = mc.models("bilstm")
    x, y = mc.batch(0)
    logits = to_numpy(teacher(x)["logits"])

    def refuse(*args, **kwargs):
        raise AssertionError("the teacher must not run")

    teacher.call = refuse
    d = Distiller(get_method("bilstm"), teacher, student)
    d.compile(optimizer="adam")
    xs = {
        "student_inputs": {"token_ids": x["token_ids"], "padding_mask": x["padding_mask"]},
        "teacher_logits": logits,
    }
    d.fit(xs, y, batch_size=8, epochs=1, verbose=0)


def test_distill_runs_all_tinybert_stages_with_corpus():
    teacher, student = mc.models("tinybert")
    x, y = mc.batch(0)
    corpus, _ = mc.batch(1)
    result = kdzoo.distill(
        "tinybert", teacher, student, (x, y), corpus=corpus, epochs=1, batch_size=8, verbose=0
    )
    assert result.stages == ["general", "intermediate", "prediction"]
    assert "attention_loss" in result.history["general"]
    assert "prediction_loss" in result.history["prediction"]
    assert set(result.layers) == {"fit_dense"}
    only_task = kdzoo.distill(
        "tinybert", teacher, student, (x, y), epochs=1, batch_size=8, verbose=0
    )
    assert only_task.stages == ["intermediate", "prediction"]


def test_distilbert_initialises_student_from_teacher_layers():
    teacher, student = mc.models("distilbert")
    get_method("distilbert").prepare_student(teacher, student)  # 4 -> 2: every other, [0, 2]
    for i, j in enumerate([0, 2]):
        for a, b in zip(
            student.encoder_layers[i].weights, teacher.encoder_layers[j].weights, strict=True
        ):
            np.testing.assert_array_equal(to_numpy(a), to_numpy(b))
    np.testing.assert_array_equal(
        to_numpy(student.embeddings.token_embedding.embeddings),
        to_numpy(teacher.embeddings.token_embedding.embeddings),
    )


def test_lad_uniform_aggregation_is_the_ungated_baseline():
    """aggregation="uniform": no gates, and student layer j learns teacher layer g(j)."""
    from kdzoo.losses import aggregated_hidden_mse
    from kdzoo.mapping import lad_mapping

    teacher, student = mc.models("lad")
    x, y = mc.batch(0)
    method = get_method("lad", aggregation="uniform")
    d = Distiller(method, teacher, student, seq_length=mc.LENGTH)
    assert d.aux_layers == {}
    t_hidden = teacher(x, output_hidden_states=True)["hidden_states"]
    s_hidden = student(x, output_hidden_states=True)["hidden_states"]
    n, m = len(t_hidden) - 1, len(s_hidden) - 1
    targets = [t_hidden[g] for g in lad_mapping(n, m)]
    expected = aggregated_hidden_mse(s_hidden[1:], targets)
    terms = method.loss_terms(
        "task",
        x,
        y,
        {**teacher(x), "hidden_states": t_hidden},
        {**student(x), "hidden_states": s_hidden},
        {},
        False,
    )
    assert to_numpy(terms["hidden_loss"]) == pytest.approx(to_numpy(expected), rel=1e-5)
    gated = get_method("lad").teacher_layers("task", n, m)["hidden"]
    assert method.teacher_layers("task", n, m)["hidden"] == lad_mapping(n, m) != gated
    with pytest.raises(ValueError, match="'gated' or 'uniform'"):
        get_method("lad", aggregation="mean").build_layers(teacher, student, mc.LENGTH)


def test_lad_gates_have_their_own_learning_rate():
    teacher, student = mc.models("lad")
    method = get_method("lad", learning_rate=3e-3, gate_learning_rate=0.0)
    d = Distiller(method, teacher, student, seq_length=mc.LENGTH)
    d.compile(optimizer=method.optimizer("task", 10, d.aux_layers))
    gates = [v for g in d.aux_layers.values() for v in g.trainable_weights]
    assert len(d.aux_layers) == 3  # teacher layers 2..4; layer 1 passes through
    before = snapshot(gates), snapshot(d.student.trainable_weights)
    x, y = mc.batch(0)
    d.fit(x, y, batch_size=8, epochs=1, verbose=0)
    for path, value in snapshot(gates).items():
        np.testing.assert_array_equal(value, before[0][path])  # gate lr 0: frozen
    assert any(
        not np.array_equal(v, before[1][p])
        for p, v in snapshot(d.student.trainable_weights).items()
    )


@pytest.mark.parametrize("name", ["pkd", "lad", "distilbert"])
def test_width_mismatch_explains(name):
    teacher, _ = mc.models(name)
    narrow = kdzoo.models.BertModel(dict(mc.NARROW, mlm_head=name == "distilbert"))
    with pytest.raises(ValueError, match=r"hidden size \(8\) must equal the teacher's \(16\)"):
        Distiller(get_method(name, **mc.CASES[name]["config"]), teacher, narrow, seq_length=10)


def test_distilbert_takes_mask_ids_from_the_tokenizer():
    from kdzoo.tokenization import train_wordpiece

    tok = train_wordpiece(["every dog chased a cat", "no bird can fly"] * 5, vocab_size=60)
    method = get_method("distilbert").with_tokenizer(tok)
    assert method.config.mask_token_id == tok.mask_token_id
    assert set(method.config.special_token_ids) == set(tok.all_special_ids)
    assert get_method("kd").with_tokenizer(tok).config == get_method("kd").config


def test_tinybert_joint_prediction_adds_the_soft_cross_entropy_to_the_intermediate_stage():
    """intermediate_prediction_weight λ: the intermediate terms are unchanged and
    λ · soft CE (mean over batch × classes) joins them, as TextBrewer trains."""
    keras.utils.set_random_seed(0)
    teacher, student = mc.models("tinybert")
    x, y = mc.batch(0)
    plain = Distiller(get_method("tinybert"), teacher, student, stage="intermediate")
    joint_method = get_method("tinybert", intermediate_prediction_weight=0.5)
    joint = Distiller(joint_method, teacher, student, stage="intermediate", layers=plain.aux_layers)
    assert joint.method.term_names("intermediate")[-1] == "prediction_loss"
    assert not joint.method.uses_labels("intermediate")  # soft targets: no gold labels

    def terms(d):
        y_pred = d(x, training=False)
        t_out = d.teacher_outputs(x, y_pred, training=False)
        got = d.method.loss_terms(d.stage, x, y, t_out, y_pred, d.aux_layers, False)
        return {k: float(to_numpy(v)) for k, v in got.items()}, y_pred, t_out

    plain_terms = terms(plain)[0]
    joint_terms, y_pred, t_out = terms(joint)
    for name, value in plain_terms.items():
        np.testing.assert_allclose(joint_terms[name], value, rtol=1e-5)
    s, t = to_numpy(y_pred["logits"]).astype(np.float64), to_numpy(t_out["logits"])
    p_t = np.exp(t - t.max(-1, keepdims=True))
    p_t /= p_t.sum(-1, keepdims=True)
    log_p_s = s - s.max(-1, keepdims=True)
    log_p_s -= np.log(np.exp(log_p_s).sum(-1, keepdims=True))
    expected = 0.5 * np.mean(-p_t * log_p_s)
    np.testing.assert_allclose(joint_terms["prediction_loss"], expected, rtol=1e-5)
    with pytest.raises(ValueError, match="intermediate_prediction_weight"):
        Distiller(get_method("tinybert", intermediate_prediction_weight=-1), teacher, student)


def test_non_finite_loss_stops_with_the_stage_step_and_term(tmp_path):
    """A diverging run stops at the first non-finite step, names the term, and keeps
    the finished stages' checkpoints."""
    teacher, student = mc.models("tinybert")
    x, y = mc.batch(0)
    method = get_method("tinybert", intermediate_learning_rate=1e30, learning_rate=1e30)
    with pytest.raises(kdzoo.NonFiniteLossError) as err:
        kdzoo.distill(
            method, teacher, student, (x, y), epochs=3, batch_size=8, verbose=0,
            checkpoint_dir=tmp_path,
        )  # fmt: skip
    message = str(err.value)
    assert "stage 'intermediate'" in message and "step" in message
    assert any(term in message for term in ("attention_loss", "hidden_loss", "embedding_loss"))
    assert "learning rate" in message  # it says what to try
    assert not (tmp_path / "intermediate.npz").exists()  # no checkpoint of a bad stage


def test_non_finite_guard_passes_finite_training():
    teacher, student = mc.models("kd")
    x, y = mc.batch(0)
    result = kdzoo.distill("kd", teacher, student, (x, y), epochs=1, batch_size=8, verbose=0)
    assert all(np.isfinite(v).all() for v in result.history[result.stages[-1]].values())


def test_teacher_and_student_vocabularies_must_match():
    teacher, _ = mc.models("kd")
    student = kdzoo.models.BertModel(dict(mc.STUDENT, vocab_size=mc.VOCAB + 3))
    with pytest.raises(ValueError, match=f"vocabulary has {mc.VOCAB} tokens and the student"):
        Distiller(get_method("kd"), teacher, student)


def test_distill_refuses_empty_data_and_nan_before_training():
    teacher, student = mc.models("kd")
    x, y = mc.batch(0)
    empty = {k: v[:0] for k, v in x.items()}
    with pytest.raises(ValueError, match="data is empty"):
        kdzoo.distill("kd", teacher, student, (empty, y[:0]), verbose=0)
    logits = to_numpy(teacher(x)["logits"]).copy()
    logits[5, 1] = np.nan
    bad = {"student_inputs": x, "teacher_logits": logits}
    with pytest.raises(
        ValueError, match=r"NaN or inf in x 'teacher_logits' \(1 values; the first in row 5\)"
    ):
        kdzoo.distill("kd", teacher, student, (bad, y), verbose=0)
    y_bad = y.astype("float32")
    y_bad[3] = np.inf
    with pytest.raises(ValueError, match="NaN or inf in y"):
        kdzoo.distill("kd", teacher, student, (x, y_bad), verbose=0)
