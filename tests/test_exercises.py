"""The coursework checkers: right answers pass, typical wrong answers get the right diagnosis.

Every learner solution here is written with plain ``keras.ops`` (never calling kdzoo's
reference), as a learner would, and runs on the backend that KERAS_BACKEND names.
"""

from __future__ import annotations

import numpy as np
import pytest
from keras import ops

from kdzoo import exercises as ex


def _f(x):
    return ops.cast(x, "float32")


# --------------------------------------------------------------------------- Hinton


def _kd(s, t, temperature, *, soften_s=True, soften_t=True, scale=None, reduce="batch"):
    ls = ops.log_softmax(s / temperature if soften_s else s, axis=-1)
    lt = ops.log_softmax(t / temperature if soften_t else t, axis=-1)
    per = ops.exp(lt) * (lt - ls)
    loss = {
        "batch": lambda: ops.mean(ops.sum(per, axis=-1)),
        "sum": lambda: ops.sum(per),
        "all": lambda: ops.mean(per),
        "none": lambda: ops.sum(per, axis=-1),
    }[reduce]()
    return loss * (temperature**2 if scale is None else scale)


def kd_correct(student_logits, teacher_logits, temperature):
    return _kd(student_logits, teacher_logits, temperature)


HINTON_WRONG = {
    "no_t2": (lambda s, t, T: _kd(s, t, T, scale=1.0), ["temperature"]),
    "student_only": (lambda s, t, T: _kd(s, t, T, soften_t=False), ["temperature"]),
    "no_temperature": (
        lambda s, t, T: _kd(s, t, T, soften_s=False, soften_t=False, scale=1.0),
        ["temperature"],
    ),
    "sum": (lambda s, t, T: _kd(s, t, T, reduce="sum"), ["reduction"]),
    "mean_classes": (lambda s, t, T: _kd(s, t, T, reduce="all"), ["reduction"]),
    "sum_no_t2": (lambda s, t, T: _kd(s, t, T, reduce="sum", scale=1.0), None),
    "per_example": (lambda s, t, T: _kd(s, t, T, reduce="none"), ["shape"]),
    "stop_gradient": (lambda s, t, T: _kd(ops.stop_gradient(s), t, T), ["gradient"]),
}

# --------------------------------------------------------------------------- Tang


def mse_correct(student_logits, teacher_logits):
    return ops.mean(ops.square(student_logits - teacher_logits))


MSE_WRONG = {
    "sum": (lambda s, t: ops.sum(ops.square(s - t)), ["reduction"]),
    "paper_sum_classes": (lambda s, t: ops.mean(ops.sum(ops.square(s - t), -1)), ["reduction"]),
    "batch_only": (lambda s, t: ops.mean(ops.square(s - t), axis=0), ["shape"]),
}

# --------------------------------------------------------------------------- DistilBERT


def _cos(s, t):
    return ops.sum(s * t, -1) / (ops.norm(s, axis=-1) * ops.norm(t, axis=-1))


def cosine_correct(student_hidden, teacher_hidden, padding_mask):
    per = 1.0 - _cos(student_hidden, teacher_hidden)
    return ops.sum(per * padding_mask) / ops.sum(padding_mask)


COSINE_WRONG = {
    "no_mask": (lambda s, t, m: ops.mean(1.0 - _cos(s, t)), ["masking"]),
    "zeroed_not_divided": (lambda s, t, m: ops.mean((1.0 - _cos(s, t)) * m), ["masking"]),
    "sum": (lambda s, t, m: ops.sum((1.0 - _cos(s, t)) * m), ["reduction"]),
    "per_example": (
        lambda s, t, m: ops.mean(ops.sum((1.0 - _cos(s, t)) * m, 1) / ops.sum(m, 1)),
        ["reduction"],
    ),
}

# --------------------------------------------------------------------------- PKD


def _unit(x):
    return x / ops.norm(x, axis=-1, keepdims=True)


def patient_correct(student_cls, teacher_cls):
    return ops.mean(ops.square(_unit(student_cls) - _unit(teacher_cls)))


PATIENT_WRONG = {
    "no_normalise": (lambda s, t: ops.mean(ops.square(s - t)), ["normalisation axes"]),
    "sum_hidden": (
        lambda s, t: ops.mean(ops.sum(ops.square(_unit(s) - _unit(t)), -1)),
        ["reduction"],
    ),
}


def pkd_correct(teacher_layers, student_layers, strategy):
    k = teacher_layers // student_layers
    if strategy == "skip":
        return [k * j for j in range(1, student_layers)]
    return list(range(teacher_layers - student_layers + 1, teacher_layers))


def pkd_zero_based(teacher_layers, student_layers, strategy):
    return [i - 1 for i in pkd_correct(teacher_layers, student_layers, strategy)]


def pkd_with_top(teacher_layers, student_layers, strategy):
    k = teacher_layers // student_layers
    if strategy == "skip":
        return [k * j for j in range(1, student_layers + 1)]
    return list(range(teacher_layers - student_layers + 1, teacher_layers + 1))


# --------------------------------------------------------------------------- TinyBERT


def _zero(x):
    return ops.where(x <= -100.0, ops.zeros_like(x), x)


def attention_correct(student_scores, teacher_scores):
    return ops.mean(ops.square(_zero(student_scores) - _zero(teacher_scores)))


ATTENTION_WRONG = {
    "no_zeroing": (lambda s, t: ops.mean(ops.square(s - t)), ["masking"]),
    "student_only": (lambda s, t: ops.mean(ops.square(_zero(s) - t)), ["masking"]),
    "sum_heads": (
        lambda s, t: ops.sum(ops.mean(ops.square(_zero(s) - _zero(t)), axis=(0, 2, 3))),
        ["reduction"],
    ),
}


def hidden_correct(student_hidden, teacher_hidden, kernel, bias):
    return ops.mean(ops.square(ops.matmul(student_hidden, kernel) + bias - teacher_hidden))


HIDDEN_WRONG = {
    "no_projection": (lambda s, t, k, b: ops.mean(ops.square(s - t)), ["shape"]),
    "transposed": (
        lambda s, t, k, b: ops.mean(ops.square(ops.matmul(s, ops.transpose(k)) + b - t)),
        ["shape"],
    ),
    "teacher_down": (
        lambda s, t, k, b: ops.mean(ops.square(s - ops.matmul(t, ops.transpose(k)))),
        ["shape"],
    ),
    "sum": (lambda s, t, k, b: ops.sum(ops.square(ops.matmul(s, k) + b - t)), ["reduction"]),
    "stop_gradient": (
        lambda s, t, k, b: ops.mean(ops.square(ops.stop_gradient(ops.matmul(s, k) + b) - t)),
        ["gradient"],
    ),
}


def _ce(s, t, temperature, *, reduce="all", scale=1.0):
    ls = ops.log_softmax(s / temperature, axis=-1)
    per = -ops.softmax(t / temperature, axis=-1) * ls
    loss = ops.mean(per) if reduce == "all" else ops.mean(ops.sum(per, -1))
    return loss * scale


def soft_ce_correct(student_logits, teacher_logits, temperature):
    return _ce(student_logits, teacher_logits, temperature)


SOFT_CE_WRONG = {
    "batch_mean": (lambda s, t, T: _ce(s, t, T, reduce="batch"), ["reduction"]),
    "t2": (lambda s, t, T: _ce(s, t, T, scale=T**2), ["temperature"]),
}


def tinybert_correct(teacher_layers, student_layers):
    k = teacher_layers // student_layers
    layers = [k * j for j in range(1, student_layers + 1)]
    return {"attention": [g - 1 for g in layers], "hidden": [0, *layers]}


def tinybert_no_embeddings(teacher_layers, student_layers):
    return {
        **tinybert_correct(teacher_layers, student_layers),
        "hidden": [g for g in tinybert_correct(teacher_layers, student_layers)["hidden"] if g],
    }


def tinybert_one_based(teacher_layers, student_layers):
    out = tinybert_correct(teacher_layers, student_layers)
    return {**out, "attention": [g + 1 for g in out["attention"]]}


# --------------------------------------------------------------------------- LAD


def _gate(prev, th, kernel, bias, gamma, beta, *, axes=(1, 2), swap=False):
    g = ops.sigmoid(ops.matmul(prev, kernel) + bias)
    mixed = th * (1.0 - g) + prev * g if swap else th * g + prev * (1.0 - g)
    mean = ops.mean(mixed, axis=axes, keepdims=True)
    var = ops.mean(ops.square(mixed - mean), axis=axes, keepdims=True)
    return (mixed - mean) / ops.sqrt(var + 1e-5) * gamma + beta


def gate_correct(prev, teacher_hidden, kernel, bias, gamma, beta):
    return _gate(prev, teacher_hidden, kernel, bias, gamma, beta)


GATE_WRONG = {
    "layernorm_last_axis": (lambda *a: _gate(*a, axes=-1), ["normalisation axes"]),
    "swapped": (lambda *a: _gate(*a, swap=True), ["gate direction"]),
    "both": (lambda *a: _gate(*a, axes=-1, swap=True), ["normalisation axes", "gate direction"]),
    "transposed_output": (lambda *a: ops.transpose(_gate(*a), (0, 2, 1)), ["shape"]),
}

# --------------------------------------------------------------------------- the table

CORRECT = {
    "hinton_kd_loss": kd_correct,
    "logit_mse": mse_correct,
    "masked_cosine_loss": cosine_correct,
    "patient_loss": patient_correct,
    "pkd_mapping": pkd_correct,
    "attention_score_mse": attention_correct,
    "hidden_state_mse": hidden_correct,
    "soft_cross_entropy": soft_ce_correct,
    "tinybert_mapping": tinybert_correct,
    "highway_gate": gate_correct,
}

WRONG = [
    (name, label, fn, problems)
    for name, table in (
        ("hinton_kd_loss", HINTON_WRONG),
        ("logit_mse", MSE_WRONG),
        ("masked_cosine_loss", COSINE_WRONG),
        ("patient_loss", PATIENT_WRONG),
        ("attention_score_mse", ATTENTION_WRONG),
        ("hidden_state_mse", HIDDEN_WRONG),
        ("soft_cross_entropy", SOFT_CE_WRONG),
        ("highway_gate", GATE_WRONG),
    )
    for label, (fn, problems) in table.items()
] + [
    ("pkd_mapping", "zero_based", pkd_zero_based, ["mapping"]),
    ("pkd_mapping", "top_layer_included", pkd_with_top, ["mapping"]),
    ("tinybert_mapping", "no_embeddings", tinybert_no_embeddings, ["mapping"]),
    ("tinybert_mapping", "one_based_attention", tinybert_one_based, ["mapping"]),
]


@pytest.mark.parametrize("name", list(CORRECT))
def test_correct_solution_passes(name):
    checker = getattr(ex, f"check_{name}")
    result = checker(CORRECT[name])
    assert result.passed and result.problems == [], result.message
    assert result.message.startswith(f"✓ check_{name} passed on")
    assert "✓" in result._repr_markdown_() and str(result) == result.message


@pytest.mark.parametrize(
    ("name", "fn", "problems"),
    [pytest.param(n, f, p, id=f"{n}-{label}") for n, label, f, p in WRONG],
)
def test_wrong_answer_is_diagnosed(name, fn, problems):
    result = getattr(ex, f"check_{name}")(fn, raise_on_failure=False)
    assert not result.passed
    assert set(result.problems) <= set(ex.CATEGORIES)
    if problems is None:  # two mistakes at once: both are named
        assert {"reduction", "temperature"} <= set(result.problems), result.message
    else:
        assert result.problems == problems, result.message
    lines = result.message.splitlines()
    assert len(lines) == 1 + len(result.problems)  # a header, then one line per problem
    assert "✗" in result._repr_markdown_()


def test_messages_are_concrete():
    no_t2 = ex.check_hinton_kd_loss(HINTON_WRONG["no_t2"][0], raise_on_failure=False)
    assert "1/T² of the expected one" in no_t2.message and "multiply by T²" in no_t2.message
    assert "expected" in no_t2.message and "got" in no_t2.message

    gate = ex.check_highway_gate(GATE_WRONG["layernorm_last_axis"][0], raise_on_failure=False)
    assert "axes (1, 2)" in gate.message and "max abs difference" in gate.message

    pkd = ex.check_pkd_mapping(pkd_zero_based, raise_on_failure=False)
    assert "expected [2, 4, 6, 8, 10], got [1, 3, 5, 7, 9]" in pkd.message

    tiny = ex.check_tinybert_mapping(tinybert_no_embeddings, raise_on_failure=False)
    assert "12→4: expected {'attention': [2, 5, 8, 11], 'hidden': [0, 3, 6, 9, 12]}" in (
        tiny.message
    )
    assert "embeddings" in tiny.message


def test_unknown_mistake_reports_value_with_the_difference():
    result = ex.check_logit_mse(lambda s, t: mse_correct(s, t) + 0.5, raise_on_failure=False)
    assert result.problems == ["value"]
    assert "expected" in result.message and "got" in result.message


def test_a_learner_exception_is_reported():
    def stub(s, t):
        raise NotImplementedError("write me")

    result = ex.check_logit_mse(stub, raise_on_failure=False)
    assert result.problems == ["value"] and "NotImplementedError" in result.message


def test_raise_on_failure():
    with pytest.raises(ex.ExerciseFailure) as info:
        ex.check_soft_cross_entropy(SOFT_CE_WRONG["t2"][0])
    assert isinstance(info.value, AssertionError)
    assert "temperature" in str(info.value) and "no T² scaling" in str(info.value)
    with pytest.raises(ex.ExerciseFailure, match="mapping"):
        ex.check_tinybert_mapping(tinybert_one_based)


def test_registry_and_table():
    chapters = {
        "hinton_kd_loss": "intro/hinton",
        "logit_mse": "methods/tang",
        "masked_cosine_loss": "methods/distilbert",
        "patient_loss": "methods/pkd",
        "pkd_mapping": "methods/pkd",
        "attention_score_mse": "methods/tinybert",
        "hidden_state_mse": "methods/tinybert",
        "soft_cross_entropy": "methods/tinybert",
        "tinybert_mapping": "methods/tinybert",
        "highway_gate": "methods/lad",
    }
    assert {name: e.chapter for name, e in ex.EXERCISES.items()} == chapters
    for name, e in ex.EXERCISES.items():
        assert e.checker is getattr(ex, f"check_{name}") and e.task and e.signature
    table = ex.list_exercises()
    assert list(table["name"]) == list(chapters) and list(table["chapter"]) == list(
        chapters.values()
    )
    import kdzoo

    assert kdzoo.exercises is ex


@pytest.mark.parametrize("name", [n for n in CORRECT if not n.endswith("mapping")])
def test_reference_passes_its_own_check_and_matches_the_mistake_model(name):
    """The registry's reference passes, and the NumPy model of the mistakes, with every
    choice right, is the reference (else the diagnoses would be off)."""
    assert ex.EXERCISES[name].checker(ex.EXERCISES[name].reference).passed
    spec = ex._SPECS[name]
    correct = {axis: choices[0] for axis, choices in spec.axes.items()}
    for seed in range(2):
        args, _ = spec.make_inputs(np.random.default_rng(seed))
        want = ex._np(spec.reference(*ex._tensors(args)))
        assert ex._close(spec.model_of(args, correct), want)


def test_a_detour_through_numpy_has_no_gradient():
    def numpy_mse(s, t):
        return np.mean((ops.convert_to_numpy(s) - ops.convert_to_numpy(t)) ** 2)

    result = ex.check_logit_mse(numpy_mse, raise_on_failure=False)
    assert result.problems == ["gradient"], result.message


def test_seed_and_trials_choose_the_cases():
    result = ex.check_patient_loss(patient_correct, trials=1, seed=7)
    assert result.passed and result.cases == 1
    assert result.message == "✓ check_patient_loss passed on 1 random case"
