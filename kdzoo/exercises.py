"""Coursework exercises: check a learner's loss, mapping or gate against kdzoo's reference.

The book's exercise pages ask the learner to write one piece of a distillation method
with ``keras.ops`` (a loss, a layer mapping, LAD's gate) and to call the matching
checker on it::

    from keras import ops
    from kdzoo.exercises import check_hinton_kd_loss

    def my_kd_loss(student_logits, teacher_logits, temperature):
        ...  # the learner's solution

    check_hinton_kd_loss(my_kd_loss)

A checker runs the learner's function and kdzoo's reference on a few random inputs
(NumPy ``Generator`` seeded by ``seed + trial``, small shapes, padded where a mask
matters; tensors made with ``keras.ops.convert_to_tensor``, so any Keras backend
works). When the values agree (``rtol=1e-4``, ``atol=1e-5`` in float32) it also
compares the gradients w.r.t. the student's input (or the projection kernel) with the
backend's autodiff (``rtol=1e-3``). When the values differ, it recomputes the
typical mistakes (sum instead of mean, a missing T², forgotten padding, LayerNorm over
the wrong axes, ...) on the same inputs and says which one the learner's output
matches, with the numbers and a hint. The result is a :class:`CheckResult`:
``passed``, the problem categories (``"shape"``, ``"reduction"``, ``"masking"``,
``"temperature"``, ``"gradient"``, ``"value"``, ``"mapping"``,
``"normalisation axes"``, ``"gate direction"``; ``"value"`` is used when no known
mistake explains the difference, or for a recognised mistake of no other kind) and a
plain-English message, one line per problem. It displays as Markdown in a notebook. A
failed check raises :class:`ExerciseFailure` (an ``AssertionError``) unless
``raise_on_failure=False``, so an exercise cell fails visibly and a grading script can
run the checks like tests.

Instructors: :data:`EXERCISES` lists every exercise with its book page, the reference
(a callable with the learner's signature), its checker and a one-line task;
:func:`list_exercises` gives the same as a table. Grade a submission with
``EXERCISES[name].checker(fn, raise_on_failure=False).passed``; vary ``seed`` and
``trials`` to draw other inputs.

Book chapter: ``book/exercises/index.md``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np
from keras import ops

from kdzoo import losses as _losses
from kdzoo import mapping as _mapping

__all__ = [
    "CATEGORIES",
    "EXERCISES",
    "CheckResult",
    "Exercise",
    "ExerciseFailure",
    "check_attention_score_mse",
    "check_hidden_state_mse",
    "check_highway_gate",
    "check_hinton_kd_loss",
    "check_logit_mse",
    "check_masked_cosine_loss",
    "check_patient_loss",
    "check_pkd_mapping",
    "check_soft_cross_entropy",
    "check_tinybert_mapping",
    "list_exercises",
]

RTOL, ATOL = 1e-4, 1e-5

#: Every problem category a :class:`CheckResult` can report.
CATEGORIES = (
    "shape",
    "reduction",
    "masking",
    "temperature",
    "gradient",
    "value",
    "mapping",
    "normalisation axes",
    "gate direction",
)


class ExerciseFailure(AssertionError):
    """A checker found a problem; the message says which and how to fix it."""


@dataclass
class CheckResult:
    """What a checker found.

    Attributes:
        passed: the learner's function agrees with the reference (value and gradient).
        exercise: the exercise name, e.g. ``"hinton_kd_loss"``.
        problems: the problem categories found, in order (see :data:`CATEGORIES`).
        message: plain English: a header line, then one line per problem.
        cases: how many random cases (or mapping cases) were checked.
    """

    passed: bool
    exercise: str
    problems: list[str] = field(default_factory=list)
    message: str = ""
    cases: int = 0

    def __str__(self) -> str:
        return self.message

    def _repr_markdown_(self) -> str:
        if self.passed:
            word = _cases_word(self.exercise, self.cases)
            return f"✓ `check_{self.exercise}` passed on {self.cases} {word}"
        lines = self.message.splitlines()[1:]
        items = []
        for line in lines:
            category, _, text = line.removeprefix("- ").partition(": ")
            items.append(f"- **{category}**: {text}")
        head = f"✗ `check_{self.exercise}` found {len(self.problems)} problem(s):"
        return "\n".join([head, "", *items])


def _cases_word(exercise: str, n: int) -> str:
    word = "case" if n == 1 else "cases"
    return word if exercise.endswith("mapping") else f"random {word}"


@dataclass(frozen=True)
class Exercise:
    """One exercise of the book.

    Attributes:
        name: the exercise name; the checker is ``check_<name>``.
        chapter: the book page that sets it, e.g. ``"intro/hinton"``.
        task: one line: what the learner implements.
        signature: the learner's function signature.
        reference: kdzoo's solution, a callable with the learner's signature.
        checker: ``checker(fn, *, trials=3, seed=0, raise_on_failure=True)``.
    """

    name: str
    chapter: str
    task: str
    signature: str
    reference: Callable[..., Any]
    checker: Callable[..., CheckResult]


# --------------------------------------------------------------------------- helpers


def _np(x) -> np.ndarray:
    """A backend tensor (or anything array-like) as a float64 NumPy array."""
    try:
        x = ops.convert_to_numpy(x)
    except Exception:  # not a tensor of this backend: a Python or NumPy number
        pass
    return np.asarray(x, dtype=np.float64)


def _tensors(args) -> list:
    return [ops.convert_to_tensor(a) if isinstance(a, np.ndarray) else a for a in args]


def _close(got: np.ndarray, want: np.ndarray) -> bool:
    return got.shape == want.shape and bool(np.allclose(got, want, rtol=RTOL, atol=ATOL))


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def _describe(info: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in info.items())


_SHAPE_WORDS = (
    "shape",
    "size of tensor",
    "dimension",
    "broadcast",
    "incompatible",
    "rank",
    "mat1 and mat2",
    "dot_general",
    "matmul",
    "must match",
)


def _looks_like_shape_error(exc: Exception) -> bool:
    text = f"{type(exc).__name__} {exc}".lower()
    return any(word in text for word in _SHAPE_WORDS)


def _short(exc: Exception, limit: int = 160) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _grad(fn, args, wrt_index: int, weights=None):
    """The gradient of ``fn(*args)`` with respect to ``args[wrt_index]``, as NumPy.

    ``fn`` returns a scalar, or a tensor that ``weights`` reduces to one
    (``sum(out * weights)``). Returns ``None`` when the output does not depend on that
    argument through autodiff (a stop_gradient, a detour through NumPy). This is
    checking tooling, not a model or a loss: Keras 3 has no backend-neutral gradient
    function, and the check must differentiate the learner's code under whichever
    backend runs it, so this one helper dispatches on ``keras.backend.backend()``.
    """
    backend = keras.backend.backend()
    tensors = _tensors(args)
    w = None if weights is None else ops.convert_to_tensor(weights)

    def value(x):
        call = list(tensors)
        call[wrt_index] = x
        out = fn(*call)
        return out if w is None else ops.sum(out * w)

    if backend == "torch":
        import torch

        x = tensors[wrt_index].detach().clone().requires_grad_(True)
        out = value(x)
        if not isinstance(out, torch.Tensor) or not out.requires_grad:
            return None
        (g,) = torch.autograd.grad(out.reshape(()), x, allow_unused=True)
        return None if g is None else g.detach().cpu().numpy().astype(np.float64)
    if backend == "tensorflow":
        import tensorflow as tf

        x = tf.identity(tensors[wrt_index])
        with tf.GradientTape() as tape:
            tape.watch(x)
            out = value(x)
        if not tf.is_tensor(out):
            return None
        g = tape.gradient(out, x)
        return None if g is None else g.numpy().astype(np.float64)
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        g = jax.grad(lambda x: jnp.reshape(value(x), ()))(tensors[wrt_index])
        return np.asarray(g, dtype=np.float64)
    raise NotImplementedError(f"gradient checks need torch, tensorflow or jax, not {backend}.")


def _np_log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def _batch_and_classes(rng) -> tuple[int, int]:
    b = int(rng.choice([3, 4]))
    c = int(rng.choice([x for x in (3, 4, 5) if x != b]))
    return b, c


def _padding_mask(rng, batch: int, length: int) -> np.ndarray:
    """A [B, L] 0/1 float32 mask: one full row, the others of distinct shorter lengths."""
    lengths = [length, *rng.choice(np.arange(2, length), size=batch - 1, replace=False)]
    lengths = [int(n) for n in rng.permutation(lengths)]
    return np.array([[1.0] * n + [0.0] * (length - n) for n in lengths], np.float32)


# --------------------------------------------------------------------------- tensor exercises


@dataclass(frozen=True)
class _Choice:
    """One way to compute one aspect of an exercise (an axis), right or wrong.

    ``hint`` may hold a ``[[...]]`` part that is only true when this is the only mistake
    (the factor by which the value is off); :func:`_render` keeps or drops it.
    """

    key: Any
    category: str | None = None  # None: the correct choice
    hint: str = ""


def _render(hint: str, *, alone: bool) -> str:
    return re.sub(r"\[\[(.*?)\]\]", r"\1" if alone else "", hint, flags=re.S)


@dataclass(frozen=True)
class _Spec:
    """A tensor exercise: inputs, reference, a NumPy model of the typical mistakes."""

    name: str
    arg_names: tuple[str, ...]
    make_inputs: Callable  # rng -> (args, info); args: float32 arrays and Python numbers
    reference: Callable
    model: Callable  # (*float64 args, **choices) -> the output under those choices
    axes: dict  # axis -> tuple of _Choice, the correct one first
    grad_wrt: tuple[int, ...] = (0,)
    shape_hint: str = ""

    def combos(self) -> list[dict]:
        """Every combination of choices but the correct one, fewest mistakes first."""
        names = list(self.axes)
        out = []
        for picks in itertools.product(*(self.axes[n] for n in names)):
            wrong = sum(p.category is not None for p in picks)
            if wrong:
                out.append((wrong, dict(zip(names, picks, strict=True))))
        out.sort(key=lambda item: item[0])  # stable: axis order breaks ties
        return [combo for _, combo in out]

    def model_of(self, args, combo: dict) -> np.ndarray:
        f64 = [np.asarray(a, np.float64) if isinstance(a, np.ndarray) else a for a in args]
        return np.asarray(self.model(*f64, **{k: c.key for k, c in combo.items()}), np.float64)


class _Report:
    """Problems in order of discovery, one message line per category."""

    def __init__(self, exercise: str):
        self.exercise = exercise
        self.lines: dict[str, list[str]] = {}

    def add(self, category: str, text: str) -> None:
        assert category in CATEGORIES, category
        self.lines.setdefault(category, []).append(text)

    def result(self, cases: int, raise_on_failure: bool) -> CheckResult:
        name = f"check_{self.exercise}"
        if not self.lines:
            message = f"✓ {name} passed on {cases} {_cases_word(self.exercise, cases)}"
            return CheckResult(True, self.exercise, [], message, cases)
        body = [f"- {cat}: {' '.join(texts)}" for cat, texts in self.lines.items()]
        message = "\n".join([f"✗ {name} found {len(body)} problem(s):", *body])
        result = CheckResult(False, self.exercise, list(self.lines), message, cases)
        if raise_on_failure:
            raise ExerciseFailure(message)
        return result


def _numbers(expected: np.ndarray, got: np.ndarray, info: dict) -> str:
    if expected.ndim == 0:
        e, g = float(expected), float(got)
        ratio = f", {g / e:.4g}× the expected value" if e and np.isfinite(g) else ""
        return f"(on {_describe(info)}: expected {_fmt(e)}, got {_fmt(g)}{ratio})"
    diff = np.abs(got - expected)
    idx = tuple(int(i) for i in np.unravel_index(np.argmax(diff), diff.shape))
    return (
        f"(on {_describe(info)}: max abs difference {diff.max():.3g} at index {idx}: "
        f"expected {_fmt(expected[idx])}, got {_fmt(got[idx])})"
    )


def _shape_text(expected: np.ndarray, got: np.ndarray) -> str:
    want = "a scalar, shape ()" if expected.ndim == 0 else f"shape {expected.shape}"
    text = f"expected {want}, got shape {got.shape}"
    if expected.ndim == 0 and got.size > 1:
        if _close(np.asarray(got.mean()), expected):
            text += "; the mean of your output is the expected loss: reduce over every axis"
        elif _close(np.asarray(got.sum()), expected):
            text += "; the sum of your output is the expected loss: reduce over every axis"
        else:
            text += "; reduce the loss to one number"
    return text


def _check_tensor(spec: _Spec, fn, trials: int, seed: int, raise_on_failure: bool):
    if trials < 1:
        raise ValueError(f"trials must be >= 1, got {trials}.")
    report = _Report(spec.name)
    cases = []  # (args, info, expected, got)
    for trial in range(trials):
        rng = np.random.default_rng(seed + trial)
        args, info = spec.make_inputs(rng)
        expected = _np(spec.reference(*_tensors(args)))
        try:
            raw = fn(*_tensors(args))
        except Exception as exc:
            shape = _looks_like_shape_error(exc)
            text = f"your function raised {type(exc).__name__} on {_describe(info)}: {_short(exc)}"
            if shape and spec.shape_hint:
                text += ". " + spec.shape_hint.format(**info)
            report.add("shape" if shape else "value", text)
            return report.result(trial + 1, raise_on_failure)
        try:
            got = _np(raw)
        except Exception:
            report.add("value", f"your function returned a {type(raw).__name__}, not a tensor")
            return report.result(trial + 1, raise_on_failure)
        if got.shape != expected.shape:
            if "shape" not in report.lines:
                report.add("shape", _shape_text(expected, got) + f" (on {_describe(info)})")
            if np.squeeze(got).shape != np.squeeze(expected).shape:
                return report.result(trial + 1, raise_on_failure)
            got = got.reshape(expected.shape)  # only singleton axes differ: compare values
        cases.append((args, info, expected, got))

    if all(_close(got, expected) for _, _, expected, got in cases):
        if not report.lines:
            _check_gradients(spec, fn, cases[0], report)
        return report.result(trials, raise_on_failure)

    _, info0, expected0, got0 = next(c for c in cases if not _close(c[3], c[2]))
    numbers = _numbers(expected0, got0, info0)
    for combo in spec.combos():
        try:
            match = all(_close(got, spec.model_of(args, combo)) for args, _, _, got in cases)
        except Exception:  # a combination that does not apply to these shapes
            continue
        if match:
            hints: dict[str, list[str]] = {}  # category -> hints, the numbers once per line
            wrong = [c for c in combo.values() if c.category is not None]
            for choice in wrong:
                hint = _render(choice.hint, alone=len(wrong) == 1).format(**info0)
                hints.setdefault(choice.category, []).append(hint)
            for category, texts in hints.items():
                report.add(category, f"{' '.join(texts)} {numbers}")
            return report.result(trials, raise_on_failure)
    report.add("value", f"none of the typical mistakes explains the difference {numbers}")
    return report.result(trials, raise_on_failure)


def _check_gradients(spec: _Spec, fn, case, report: _Report) -> None:
    args, info, expected, _ = case
    weights = None
    if expected.ndim:  # a tensor output: differentiate a fixed random projection of it
        weights = np.random.default_rng(12345).normal(size=expected.shape).astype(np.float32)
    for index in spec.grad_wrt:
        name = spec.arg_names[index]
        want = _grad(spec.reference, args, index, weights)
        try:
            got = _grad(fn, args, index, weights)
        except Exception as exc:
            report.add(
                "gradient",
                f"the value is right, but {keras.backend.backend()} could not differentiate "
                f"your function w.r.t. {name} ({type(exc).__name__}: {_short(exc)}): "
                "write it with keras.ops only, without NumPy or Python floats.",
            )
            return
        if got is None or (not np.any(got) and np.any(want)):
            report.add(
                "gradient",
                f"the value is right, but the gradient w.r.t. {name} is "
                f"{'None' if got is None else 'zero'} (expected a gradient of max abs "
                f"{np.abs(want).max():.3g}): {name} must stay differentiable; remove "
                "ops.stop_gradient (or a detour through NumPy) on it and on what is "
                "computed from it.",
            )
            return
        if not (got.shape == want.shape and np.allclose(got, want, rtol=1e-3, atol=1e-5)):
            diff = np.abs(got - want).max() if got.shape == want.shape else float("nan")
            report.add(
                "gradient",
                f"the value is right, but the gradient w.r.t. {name} differs from the "
                f"reference's (max abs difference {diff:.3g}, reference max "
                f"{np.abs(want).max():.3g}, on {_describe(info)}): part of the computation "
                "is cut from autodiff (ops.stop_gradient?) or not differentiable.",
            )
            return


# ---- Hinton


def _inputs_logits_t(rng):
    b, c = _batch_and_classes(rng)
    t = float(rng.choice([1.5, 2.5, 3.5]))
    s_logits = (rng.normal(size=(b, c)) * 2).astype(np.float32)
    t_logits = (rng.normal(size=(b, c)) * 2).astype(np.float32)
    return (s_logits, t_logits, t), {"B": b, "C": c, "T": t}


def _np_soft(s, t, T, *, divergence, soften, scale, reduction):
    ts = T if soften in ("both", "student") else 1.0
    tt = T if soften in ("both", "teacher") else 1.0
    lps, lpt = _np_log_softmax(s / ts), _np_log_softmax(t / tt)
    ps, pt = np.exp(lps), np.exp(lpt)
    per = {"kl": pt * (lpt - lps), "ce": -pt * lps, "reverse": ps * (lps - lpt)}[divergence]
    value = {"batch": per.sum(-1).mean(), "all": per.mean(), "sum": per.sum()}[reduction]
    return value * {"t2": T**2, "none": 1.0, "t": T}[scale]


_SOFTEN = (
    _Choice("both"),
    _Choice(
        "student",
        "temperature",
        "only the student's logits are divided by T: soften both distributions, "
        "softmax(z_S / T) and softmax(z_T / T).",
    ),
    _Choice(
        "teacher",
        "temperature",
        "only the teacher's logits are divided by T: soften both distributions, "
        "softmax(z_S / T) and softmax(z_T / T).",
    ),
    _Choice(
        "none",
        "temperature",
        "the temperature is not applied to the logits: divide both by T before the softmax.",
    ),
)

_HINTON = _Spec(
    name="hinton_kd_loss",
    arg_names=("student_logits", "teacher_logits", "temperature"),
    make_inputs=_inputs_logits_t,
    reference=lambda s, t, temperature: _losses.hinton_kd_loss(s, t, temperature),
    model=_np_soft,
    axes={
        "reduction": (
            _Choice("batch"),
            _Choice(
                "sum",
                "reduction",
                "you summed over the batch[[ (B = {B} times the expected value)]]: sum the "
                "KL over the classes, then average over the batch with ops.mean.",
            ),
            _Choice(
                "all",
                "reduction",
                "you averaged over batch × classes (PKD's code[[; 1/C = 1/{C} of the expected "
                "value]]): sum over the classes (axis -1), then average over the batch.",
            ),
        ),
        "scale": (
            _Choice("t2"),
            _Choice(
                "none",
                "temperature",
                "the T² factor is missing[[, so the value is 1/T² of the expected one "
                "(T = {T})]]: multiply by T² (Hinton's scaling, which keeps the gradients' size "
                "independent of T).",
            ),
            _Choice(
                "t",
                "temperature",
                "you multiplied by T, not T² (T = {T}): Hinton's scaling is T².",
            ),
        ),
        "soften": _SOFTEN,
        "divergence": (
            _Choice("kl"),
            _Choice(
                "ce",
                "value",
                "you computed the soft cross-entropy −Σ p_T log p_S; the reference is the KL "
                "divergence Σ p_T (log p_T − log p_S), which subtracts the teacher's entropy.",
            ),
            _Choice(
                "reverse",
                "value",
                "you computed KL(p_S ‖ p_T), the reverse direction: the teacher is the "
                "target, Σ p_T (log p_T − log p_S).",
            ),
        ),
    },
)

# ---- Tang


def _inputs_logits(rng):
    (s, t, _), info = _inputs_logits_t(rng)
    return (s, t), {"B": info["B"], "C": info["C"]}


def _np_logit_mse(s, t, *, form, reduction):
    d = s - t
    sq = np.abs(d) if form == "abs" else d**2
    return {
        "mean": sq.mean(),
        "sum": sq.sum(),
        "sum_classes": sq.sum(-1).mean(),
        "sum_batch": sq.sum(0).mean(),
    }[reduction]


_LOGIT_MSE = _Spec(
    name="logit_mse",
    arg_names=("student_logits", "teacher_logits"),
    make_inputs=_inputs_logits,
    reference=lambda s, t: _losses.logit_mse(s, t),
    model=_np_logit_mse,
    axes={
        "reduction": (
            _Choice("mean"),
            _Choice(
                "sum",
                "reduction",
                "you summed over batch and classes[[ (B·C = {B}·{C} times the expected value)]]: "
                "average over every entry with ops.mean, as the reference code's "
                "nn.MSELoss() does.",
            ),
            _Choice(
                "sum_classes",
                "reduction",
                "you summed over the classes and averaged over the batch only (C = {C} times "
                "the expected value): that is the paper's Eq. 2; the reference code's "
                "nn.MSELoss() averages over the classes as well.",
            ),
            _Choice(
                "sum_batch",
                "reduction",
                "you summed over the batch[[ (B = {B} times the expected value)]]: average over "
                "every entry with ops.mean.",
            ),
        ),
        "form": (
            _Choice("square"),
            _Choice(
                "abs",
                "value",
                "you averaged |z_S − z_T| (an L1 loss): square the differences.",
            ),
        ),
    },
)

# ---- DistilBERT


def _inputs_cosine(rng):
    b, length, h = int(rng.choice([3, 4])), int(rng.choice([5, 6])), 8
    mask = _padding_mask(rng, b, length)
    t = rng.normal(size=(b, length, h)).astype(np.float32)
    s = (t + rng.normal(size=(b, length, h))).astype(np.float32)
    lengths = [int(n) for n in mask.sum(1)]
    return (s, t, mask), {"B": b, "L": length, "H": h, "lengths": lengths}


def _np_masked_cosine(s, t, m, *, masking, reduction, form):
    norms = np.linalg.norm(s, axis=-1) * np.linalg.norm(t, axis=-1)
    cos = (s * t).sum(-1) / np.maximum(norms, 1e-8)
    per = 1.0 - cos if form == "loss" else cos
    w = {"ok": m, "ignored": np.ones_like(m), "zeroed": m, "inverted": 1.0 - m}[masking]
    den = np.ones_like(m) if masking == "zeroed" else w
    if reduction == "tokens":
        return (per * w).sum() / den.sum()
    if reduction == "sum":
        return (per * w).sum()
    return ((per * w).sum(1) / den.sum(1)).mean()  # per-example mean, then the batch


_MASKED_COSINE = _Spec(
    name="masked_cosine_loss",
    arg_names=("student_hidden", "teacher_hidden", "padding_mask"),
    make_inputs=_inputs_cosine,
    reference=lambda s, t, m: _losses.masked_cosine_loss(s, t, m),
    model=_np_masked_cosine,
    axes={
        "masking": (
            _Choice("ok"),
            _Choice(
                "ignored",
                "masking",
                "padding positions are counted: weight each position by padding_mask and "
                "average over the real tokens only.",
            ),
            _Choice(
                "zeroed",
                "masking",
                "you zeroed the padding positions but divided by every position, B·L = {B}·{L}: "
                "divide by the number of real tokens, ops.sum(padding_mask).",
            ),
            _Choice(
                "inverted",
                "masking",
                "you averaged over the padding positions: padding_mask is 1 for real tokens.",
            ),
        ),
        "reduction": (
            _Choice("tokens"),
            _Choice(
                "sum",
                "reduction",
                "you summed over the tokens: average over the real tokens (divide by "
                "ops.sum(padding_mask)).",
            ),
            _Choice(
                "examples",
                "reduction",
                "you averaged within each example, then over the batch: the reference "
                "averages over all real tokens of the batch at once (CosineEmbeddingLoss on "
                "the selected rows), so a long sentence weighs more than a short one.",
            ),
        ),
        "form": (
            _Choice("loss"),
            _Choice(
                "cos",
                "value",
                "you returned the cosine similarity: the loss is 1 − cos(h_S, h_T).",
            ),
        ),
    },
)

# ---- PKD


def _inputs_patient(rng):
    b, m, h = int(rng.choice([3, 4])), int(rng.choice([2, 3])), 8
    t = rng.normal(size=(b, m, h)).astype(np.float32)
    s = (t + rng.normal(size=(b, m, h)) + 0.5).astype(np.float32)
    return (s, t), {"B": b, "M": m, "H": h}


def _np_patient(s, t, *, normalize, reduction, form):
    axes = {"hidden": -1, "layers": 1, "joint": (1, 2), "none": None}[normalize]
    if axes is not None:
        s = s / np.maximum(np.sqrt((s**2).sum(axes, keepdims=True)), 1e-12)
        t = t / np.maximum(np.sqrt((t**2).sum(axes, keepdims=True)), 1e-12)
    sq = (s - t) ** 2
    if form == "distance":
        return np.sqrt(sq.sum(-1)).mean()
    return {
        "mean": sq.mean(),
        "sum_h": sq.sum(-1).mean(),
        "textbrewer": sq.sum(-1).mean(0).sum(),
        "sum": sq.sum(),
    }[reduction]


_PATIENT = _Spec(
    name="patient_loss",
    arg_names=("student_cls", "teacher_cls"),
    make_inputs=_inputs_patient,
    reference=lambda s, t: _losses.patient_loss(s, t),
    model=_np_patient,
    axes={
        "normalize": (
            _Choice("hidden"),
            _Choice(
                "none",
                "normalisation axes",
                "the [CLS] vectors are not normalised: divide each one by its L2 norm along "
                "the hidden axis (axis -1) first, as PKD's F.normalize(p=2, dim=2).",
            ),
            _Choice(
                "layers",
                "normalisation axes",
                "you normalised along the layer axis (axis 1): normalise each [CLS] vector "
                "along the hidden axis (axis -1).",
            ),
            _Choice(
                "joint",
                "normalisation axes",
                "you normalised over layers and hidden units jointly: normalise each [CLS] "
                "vector on its own, along the hidden axis (axis -1).",
            ),
        ),
        "reduction": (
            _Choice("mean"),
            _Choice(
                "sum_h",
                "reduction",
                "you summed over the hidden units[[ (H = {H} times the expected value)]]: the "
                "official code averages over batch, layers and hidden units (ops.mean of the "
                "squared differences).",
            ),
            _Choice(
                "textbrewer",
                "reduction",
                "you summed over hidden units and layers and averaged over the batch (the "
                "paper's Σ, TextBrewer's pkd_loss): the official code averages over batch, "
                "layers and hidden units.",
            ),
            _Choice(
                "sum",
                "reduction",
                "you summed over everything: average over batch, layers and hidden units.",
            ),
        ),
        "form": (
            _Choice("square"),
            _Choice(
                "distance",
                "value",
                "you averaged the distances ‖s − t‖: PKD uses squared differences.",
            ),
        ),
    },
)

# ---- TinyBERT


def _inputs_attention(rng):
    b, heads, length = int(rng.choice([3, 4])), 2, int(rng.choice([5, 6]))
    mask = _padding_mask(rng, b, length)
    additive = ((1.0 - mask) * -10000.0)[:, None, None, :]  # kdzoo's additive mask on keys
    s = (rng.normal(size=(b, heads, length, length)) * 3 + additive).astype(np.float32)
    t = (rng.normal(size=(b, heads, length, length)) * 3 + additive).astype(np.float32)
    lengths = [int(n) for n in mask.sum(1)]
    return (s, t), {"B": b, "h": heads, "L": length, "lengths": lengths}


def _np_attention(s, t, *, zero, scores, reduction):
    real = (s > -100) & (t > -100)
    if scores == "softmax":
        s, t = np.exp(_np_log_softmax(s)), np.exp(_np_log_softmax(t))
    else:
        if zero in ("both", "student"):
            s = np.where(s <= -100, 0.0, s)
        if zero in ("both", "teacher"):
            t = np.where(t <= -100, 0.0, t)
    sq = (s - t) ** 2
    return {
        "mean": sq.mean(),
        "sum": sq.sum(),
        "sum_heads": sq.mean(axis=(0, 2, 3)).sum(),
        "real": sq.sum() / real.sum(),
    }[reduction]


_ATTENTION = _Spec(
    name="attention_score_mse",
    arg_names=("student_scores", "teacher_scores"),
    make_inputs=_inputs_attention,
    reference=lambda s, t: _losses.attention_score_mse(s, t),
    model=_np_attention,
    axes={
        "zero": (
            _Choice("both"),
            _Choice(
                "none",
                "masking",
                "the padded key columns (−10000 from the additive mask) are not zeroed: set "
                "every score ≤ −100 to 0 in both tensors (ops.where(s <= -100, 0, s)) "
                "before the MSE.",
            ),
            _Choice(
                "student",
                "masking",
                "only the student's scores ≤ −100 are zeroed: zero them in the teacher's "
                "scores too.",
            ),
            _Choice(
                "teacher",
                "masking",
                "only the teacher's scores ≤ −100 are zeroed: zero them in the student's "
                "scores too.",
            ),
        ),
        "reduction": (
            _Choice("mean"),
            _Choice(
                "sum",
                "reduction",
                "you summed the squared differences: average over every entry (B·h·L·L).",
            ),
            _Choice(
                "sum_heads",
                "reduction",
                "you summed the per-head MSEs[[ (h = {h} times the expected value)]]: the "
                "paper's (1/h) Σ_i averages over the heads too, i.e. the mean over every entry.",
            ),
            _Choice(
                "real",
                "reduction",
                "you averaged over the unmasked entries only: the official code divides by "
                "all B·h·L·L entries, the zeroed ones included.",
            ),
        ),
        "scores": (
            _Choice("raw"),
            _Choice(
                "softmax",
                "value",
                "you compared softmax probabilities: TinyBERT's loss compares the "
                "pre-softmax scores.",
            ),
        ),
    },
)


def _inputs_hidden(rng):
    b, length, d_s, d_t = int(rng.choice([3, 4])), int(rng.choice([5, 6])), 6, 8
    s = rng.normal(size=(b, length, d_s)).astype(np.float32)
    t = rng.normal(size=(b, length, d_t)).astype(np.float32)
    kernel = (rng.normal(size=(d_s, d_t)) * 0.4).astype(np.float32)
    bias = (rng.normal(size=(d_t,)) * 0.5).astype(np.float32)
    return (s, t, kernel, bias), {"B": b, "L": length, "d_s": d_s, "d_t": d_t}


def _ref_hidden_state_mse(student_hidden, teacher_hidden, kernel, bias):
    """TinyBERT's hidden loss: ``hidden_state_mse(student_hidden @ kernel + bias, teacher)``."""
    projected = ops.matmul(ops.cast(student_hidden, "float32"), kernel) + bias
    return _losses.hidden_state_mse(projected, teacher_hidden)


def _np_hidden(s, t, kernel, bias, *, projection, reduction):
    if projection == "ok":
        a, b = s @ kernel + bias, t
    elif projection == "no_bias":
        a, b = s @ kernel, t
    else:  # the teacher projected down to the student's width
        a, b = s, t @ kernel.T
    sq = (a - b) ** 2
    return {"mean": sq.mean(), "sum": sq.sum(), "sum_hidden": sq.sum(-1).mean()}[reduction]


_HIDDEN_PROJECTION = (
    "student_hidden @ kernel + bias maps [B, L, d_s = {d_s}] to the teacher's width "
    "d_t = {d_t} (kernel is [d_s, d_t], no transpose); the MSE then compares two [B, L, d_t] "
    "tensors."
)

_HIDDEN = _Spec(
    name="hidden_state_mse",
    arg_names=("student_hidden", "teacher_hidden", "kernel", "bias"),
    make_inputs=_inputs_hidden,
    reference=_ref_hidden_state_mse,
    model=_np_hidden,
    axes={
        "projection": (
            _Choice("ok"),
            _Choice(
                "teacher",
                "shape",
                "you projected the teacher down to the student's width with the transposed "
                "kernel: project the student up instead; " + _HIDDEN_PROJECTION,
            ),
            _Choice(
                "no_bias",
                "value",
                "the projection has no bias: student_hidden @ kernel + bias.",
            ),
        ),
        "reduction": (
            _Choice("mean"),
            _Choice(
                "sum",
                "reduction",
                "you summed the squared differences: average over every entry (ops.mean).",
            ),
            _Choice(
                "sum_hidden",
                "reduction",
                "you summed over the hidden units[[ (d_t = {d_t} times the expected value)]]: the "
                "official MSELoss averages over every entry.",
            ),
        ),
    },
    grad_wrt=(2, 0),
    shape_hint="Project the student first: " + _HIDDEN_PROJECTION,
)


def _np_soft_ce(s, t, T, *, divergence, soften, scale, reduction):
    return _np_soft(s, t, T, divergence=divergence, soften=soften, scale=scale, reduction=reduction)


_SOFT_CE = _Spec(
    name="soft_cross_entropy",
    arg_names=("student_logits", "teacher_logits", "temperature"),
    make_inputs=_inputs_logits_t,
    reference=lambda s, t, temperature: _losses.soft_cross_entropy(s, t, temperature),
    model=_np_soft_ce,
    axes={
        "reduction": (
            _Choice("all"),
            _Choice(
                "batch",
                "reduction",
                "you averaged over the batch only[[ (C = {C} times the expected value)]]: the "
                "official code averages over batch × classes, (−targets · log_probs).mean(), "
                "the paper's batch mean divided by C.",
            ),
            _Choice(
                "sum",
                "reduction",
                "you summed over batch and classes: average over both, ops.mean.",
            ),
        ),
        "scale": (
            _Choice("none"),
            _Choice(
                "t2",
                "temperature",
                "you multiplied by T²[[ (T² = {T}² times the expected value)]]: TinyBERT's "
                "prediction loss has no T² scaling.",
            ),
            _Choice(
                "t",
                "temperature",
                "you multiplied by T (T = {T}): TinyBERT's prediction loss is not scaled.",
            ),
        ),
        "soften": _SOFTEN,
        "divergence": (
            _Choice("ce"),
            _Choice(
                "kl",
                "value",
                "you computed the KL divergence Σ p_T (log p_T − log p_S); the reference is "
                "the cross-entropy −p_T · log p_S (it keeps the teacher's entropy term).",
            ),
            _Choice(
                "reverse",
                "value",
                "you computed KL(p_S ‖ p_T): the reference is the cross-entropy against the "
                "teacher's soft labels, −p_T · log p_S.",
            ),
        ),
    },
)

# ---- LAD


def _inputs_gate(rng):
    b, s_len, d = int(rng.choice([3, 4])), 5, 4
    prev = rng.normal(size=(b, s_len, d)).astype(np.float32)
    teacher = (rng.normal(size=(b, s_len, d)) * 1.5 + 0.5).astype(np.float32)
    kernel = rng.normal(size=(d, d)).astype(np.float32)
    bias = (rng.normal(size=(d,)) * 0.5).astype(np.float32)
    gamma = (1.0 + rng.normal(size=(s_len, d)) * 0.2).astype(np.float32)
    beta = (rng.normal(size=(s_len, d)) * 0.2).astype(np.float32)
    return (prev, teacher, kernel, bias, gamma, beta), {"B": b, "S": s_len, "D": d}


def _np_gate(prev, th, kernel, bias, gamma, beta, *, axes, direction, gate_input, eps, ddof):
    src = th if gate_input == "teacher" else prev
    w = kernel.T if gate_input == "kernel_t" else kernel
    g = 1.0 / (1.0 + np.exp(-(src @ w + bias)))
    mixed = th * g + prev * (1.0 - g) if direction == "ok" else th * (1.0 - g) + prev * g
    red = {"joint": (1, 2), "last": -1, "seq": 1, "none": None}[axes]
    if red is None:
        return mixed
    mean = mixed.mean(red, keepdims=True)
    var = mixed.var(red, keepdims=True, ddof=ddof)
    return (mixed - mean) / np.sqrt(var + eps) * gamma + beta


_GATE = _Spec(
    name="highway_gate",
    arg_names=("prev", "teacher_hidden", "kernel", "bias", "gamma", "beta"),
    make_inputs=_inputs_gate,
    reference=lambda *args: _losses.highway_gate(*args),
    model=_np_gate,
    axes={
        "axes": (
            _Choice("joint"),
            _Choice(
                "last",
                "normalisation axes",
                "the LayerNorm runs over the last axis only (per position): LAD's LayerNorm "
                "normalises each example jointly over all positions and features "
                "(normalized_shape=[S, D]), so take the mean and variance over axes (1, 2).",
            ),
            _Choice(
                "seq",
                "normalisation axes",
                "the LayerNorm runs over the sequence axis only: take the mean and variance "
                "jointly over axes (1, 2), normalized_shape=[S, D].",
            ),
            _Choice(
                "none",
                "normalisation axes",
                "there is no LayerNorm: normalise the mixture over axes (1, 2), then scale by "
                "gamma and shift by beta.",
            ),
        ),
        "direction": (
            _Choice("ok"),
            _Choice(
                "swapped",
                "gate direction",
                "the gate is applied the wrong way round: G weights the teacher layer, "
                "H_T · G + prev · (1 − G), with G = σ(prev · W + b).",
            ),
        ),
        "gate_input": (
            _Choice("prev"),
            _Choice(
                "teacher",
                "value",
                "the gate is computed from the teacher layer: G = σ(prev · W + b) reads the "
                "aggregate so far.",
            ),
            _Choice(
                "kernel_t",
                "value",
                "the kernel is transposed: G = σ(prev @ kernel + bias), kernel as given.",
            ),
        ),
        "eps": (
            _Choice(1e-5),
            _Choice(
                1e-3,
                "value",
                "LayerNorm epsilon 1e-3 (Keras' LayerNormalization default): LAD uses "
                "PyTorch's 1e-5.",
            ),
        ),
        "ddof": (
            _Choice(0),
            _Choice(
                1,
                "value",
                "the variance is the unbiased one (divided by n − 1): LayerNorm divides by "
                "the number of entries.",
            ),
        ),
    },
    grad_wrt=(2,),
)

_SPECS = {
    spec.name: spec
    for spec in (
        _HINTON,
        _LOGIT_MSE,
        _MASKED_COSINE,
        _PATIENT,
        _ATTENTION,
        _HIDDEN,
        _SOFT_CE,
        _GATE,
    )
}


# --------------------------------------------------------------------------- mapping exercises


def _as_ints(value) -> list[int] | None:
    try:
        ints = [int(i) for i in value]
    except Exception:
        return None
    if any(i != float(j) for i, j in zip(ints, value, strict=True)):
        return None
    return ints


def _divisible_cases(rng, trials: int) -> list[tuple[int, int]]:
    out = []
    for _ in range(trials):
        n = int(rng.choice([6, 8, 12, 16, 24]))
        m = int(rng.choice([d for d in range(2, n + 1) if n % d == 0]))
        out.append((n, m))
    return out


def _run_mapping(name, fn, cases, call, expected_of, explain, raise_on_failure):
    """Run ``fn`` on every case; ``explain(case, got)`` says what is wrong with an answer.

    Wrong cases with the same explanation share it: up to three are shown as expected vs
    got, then the explanation once.
    """
    report = _Report(name)
    wrong: dict[str, list[str]] = {}  # explanation -> "case: expected .., got .."
    for case in cases:
        try:
            got = call(fn, case)
        except Exception as exc:
            note = f"your function raised {type(exc).__name__}: {_short(exc)}"
            wrong.setdefault(note, []).append(_case_name(case))
            continue
        want = expected_of(case)
        if got != want:
            head = f"{_case_name(case)}: expected {want}, got {got!r}"
            wrong.setdefault(explain(case, got), []).append(head)
    parts = []
    for note, heads in wrong.items():
        more = f" (and {len(heads) - 3} more)" if len(heads) > 3 else ""
        parts.append(f"{'; '.join(heads[:3])}{more}: {note}.")
    if parts:
        report.add("mapping", " ".join(parts))
    return report.result(len(cases), raise_on_failure)


def _case_name(case) -> str:
    n, m, *rest = case
    return f"{n}→{m}" + (f" {rest[0]!r}" if rest else "")


def _pkd_call(fn, case):
    got = fn(*case)
    ints = _as_ints(got)
    return ints if ints is not None else got


def _pkd_explain(case, got) -> str:
    n, m, strategy = case
    want = _mapping.pkd_mapping(n, m, strategy)
    if not isinstance(got, list):
        return "return a list of ints"
    other = "last" if strategy == "skip" else "skip"
    if got == _mapping.pkd_mapping(n, m, other):
        return f"that is PKD-{other.title()}'s mapping, not PKD-{strategy.title()}'s"
    if got == [g - 1 for g in want]:
        return (
            "off by one: these are hidden-state indices, where entry l is the output of "
            "teacher layer l (0 is the embeddings)"
        )
    if got == [g + 1 for g in want]:
        return "off by one: every index is one too high"
    if len(got) == m and (got[:-1] == want or got[1:] == want):
        return (
            "the patient loss covers the student's layers 1..M−1 (the last one learns "
            "through the logits), so the list has M − 1 entries"
        )
    if sorted(got) == want:
        return "list the layers in increasing order"
    if strategy == "skip":
        return "PKD-Skip takes every k-th teacher layer, k = N / M: [k, 2k, .., (M−1)·k]"
    return "PKD-Last takes the M − 1 teacher layers below the top: [N − M + 1, .., N − 1]"


def _tinybert_call(fn, case):
    got = fn(*case)
    if not isinstance(got, dict):
        return got
    return {k: (_as_ints(v) if _as_ints(v) is not None else v) for k, v in got.items()}


def _tinybert_explain(case, got) -> str:
    n, m = case
    want = _mapping.tinybert_mapping(n, m)
    if not isinstance(got, dict) or set(got) != {"attention", "hidden"}:
        return "return a dict with the keys 'attention' and 'hidden'"
    layers = [n // m * j for j in range(1, m + 1)]  # teacher layers k, 2k, .., N
    notes = []
    att, hid = got["attention"], got["hidden"]
    if att != want["attention"]:
        if att == layers:
            notes.append(
                "attention indices are 0-based into the N attention maps: teacher layer g's "
                "map is index g − 1"
            )
        elif att == want["hidden"]:
            notes.append("attention has no embeddings entry: M indices, one per student layer")
        elif att == [g - 1 for g in want["attention"]]:
            notes.append("attention is off by one: the last index is N − 1")
        else:
            notes.append(
                "attention holds the maps of teacher layers k, 2k, .., N (k = N / M), "
                "0-based: [k − 1, 2k − 1, .., N − 1]"
            )
    if hid != want["hidden"]:
        if hid == layers:
            notes.append(
                "hidden misses the embeddings: hidden index 0 is the embedding output, "
                "matched to the student's embeddings, so hidden has M + 1 entries starting at 0"
            )
        elif hid == want["attention"] or hid == [0, *want["attention"]]:
            notes.append(
                "hidden uses 0-based layer indices: hidden-state index l is the output of "
                "layer l and 0 the embeddings"
            )
        elif hid == [g + 1 for g in want["hidden"]]:
            notes.append("hidden is off by one: every index is one too high")
        else:
            notes.append("hidden holds the embeddings, then every k-th layer: [0, k, 2k, .., N]")
    return "; ".join(notes)


# --------------------------------------------------------------------------- the checkers


def check_hinton_kd_loss(
    fn, *, trials: int = 3, seed: int = 0, raise_on_failure: bool = True
) -> CheckResult:
    """Check Hinton et al.'s soft-target loss.

    The learner implements ``fn(student_logits [B, C], teacher_logits [B, C],
    temperature) -> scalar``: ``T² · mean_b KL(softmax(z_T / T) ‖ softmax(z_S / T))``,
    the reference :func:`kdzoo.losses.hinton_kd_loss` with its defaults.

    Recognised mistakes: a non-scalar output (``"shape"``); a sum over the batch or a
    mean over batch × classes (``"reduction"``); a missing T², T instead of T², the
    temperature on one side only or on neither (``"temperature"``); cross-entropy or
    the reverse KL instead of KL (``"value"``); the right value with a wrong or zero
    gradient w.r.t. the student logits, e.g. an ``ops.stop_gradient`` (``"gradient"``).
    Book page: ``intro/hinton``.
    """
    return _check_tensor(_HINTON, fn, trials, seed, raise_on_failure)


def check_logit_mse(
    fn, *, trials: int = 3, seed: int = 0, raise_on_failure: bool = True
) -> CheckResult:
    """Check Tang et al.'s logit MSE.

    The learner implements ``fn(student_logits [B, C], teacher_logits [B, C]) -> scalar``:
    ``mean_{b,c} (z_S − z_T)²``, the reference :func:`kdzoo.losses.logit_mse` (the
    reference code's ``nn.MSELoss()``).

    Recognised mistakes: a non-scalar output, e.g. the mean over the batch only, shape
    [C] (``"shape"``); a sum over everything, a sum over the classes averaged over the
    batch (the paper's Eq. 2), a sum over the batch (``"reduction"``); an L1 loss
    (``"value"``); a zero or wrong gradient w.r.t. the student logits (``"gradient"``).
    Book page: ``methods/tang``.
    """
    return _check_tensor(_LOGIT_MSE, fn, trials, seed, raise_on_failure)


def check_masked_cosine_loss(
    fn, *, trials: int = 3, seed: int = 0, raise_on_failure: bool = True
) -> CheckResult:
    """Check DistilBERT's cosine loss over real tokens.

    The learner implements ``fn(student_hidden [B, L, H], teacher_hidden [B, L, H],
    padding_mask [B, L]) -> scalar`` (``padding_mask`` float32, 1 for real tokens): the
    mean of ``1 − cos(h_S, h_T)`` over the real tokens of the batch, the reference
    :func:`kdzoo.losses.masked_cosine_loss`.

    Recognised mistakes: padding positions counted, padding zeroed but counted in the
    denominator, the mask inverted (``"masking"``); a sum over tokens, a per-example
    mean then the batch mean (``"reduction"``); the similarity instead of 1 − cos
    (``"value"``); a non-scalar output (``"shape"``); a zero or wrong gradient w.r.t.
    the student hidden states (``"gradient"``). Book page: ``methods/distilbert``.
    """
    return _check_tensor(_MASKED_COSINE, fn, trials, seed, raise_on_failure)


def check_patient_loss(
    fn, *, trials: int = 3, seed: int = 0, raise_on_failure: bool = True
) -> CheckResult:
    """Check PKD's patient loss.

    The learner implements ``fn(student_cls [B, M, H], teacher_cls [B, M, H]) -> scalar``:
    L2-normalise every [CLS] vector along H, then ``mean_{b,m,h} (s − t)²``, the
    reference :func:`kdzoo.losses.patient_loss` with its defaults (the official code).

    Recognised mistakes: no normalisation, or normalisation along the layer axis or over
    layers × hidden jointly (``"normalisation axes"``); a sum over the hidden units, the
    paper's / TextBrewer's sum over hidden units and layers, a sum over everything
    (``"reduction"``); unsquared distances (``"value"``); a non-scalar output
    (``"shape"``); a zero or wrong gradient w.r.t. the student's vectors
    (``"gradient"``). Book page: ``methods/pkd``.
    """
    return _check_tensor(_PATIENT, fn, trials, seed, raise_on_failure)


def check_pkd_mapping(
    fn, *, trials: int = 3, seed: int = 0, raise_on_failure: bool = True
) -> CheckResult:
    """Check PKD's layer mapping.

    The learner implements ``fn(teacher_layers: int, student_layers: int, strategy: str)
    -> list[int]`` for ``strategy`` ``"skip"`` and ``"last"``: the teacher's
    hidden-state indices for the student's layers 1..M−1, the reference
    :func:`kdzoo.mapping.pkd_mapping`. Checked on 12→6, 12→3, 24→6, 24→3 with both
    strategies, plus ``trials`` random depths that divide.

    Recognised mistakes (all ``"mapping"``, each shown as expected vs got for the failing
    (N, M, strategy)): off by one either way (0-based layer indices), the other
    strategy, M entries instead of M − 1 (the top layer included), the wrong order, or
    anything else with the rule restated.
    Book page: ``methods/pkd``.
    """
    fixed = [(n, m, s) for n, m in ((12, 6), (12, 3), (24, 6), (24, 3)) for s in ("skip", "last")]
    rng = np.random.default_rng(seed)
    extra = [(n, m, str(rng.choice(["skip", "last"]))) for n, m in _divisible_cases(rng, trials)]
    cases = list(dict.fromkeys(fixed + extra))
    return _run_mapping(
        "pkd_mapping",
        fn,
        cases,
        _pkd_call,
        lambda case: _mapping.pkd_mapping(*case),
        _pkd_explain,
        raise_on_failure,
    )


def check_attention_score_mse(
    fn, *, trials: int = 3, seed: int = 0, raise_on_failure: bool = True
) -> CheckResult:
    """Check TinyBERT's attention loss on pre-softmax scores (the official mode).

    The learner implements ``fn(student_scores [B, h, L, L], teacher_scores
    [B, h, L, L]) -> scalar``: scores ≤ −100 set to 0 in both tensors, then the mean of
    the squared differences over every entry, the reference
    :func:`kdzoo.losses.attention_score_mse` with ``padding_mask=None``. The inputs carry
    padded key columns with kdzoo's additive −10000 mask, so the zeroing matters.

    Recognised mistakes: no zeroing, or zeroing in one tensor only (``"masking"``); a sum,
    a sum of the per-head means, a mean over the unmasked entries only
    (``"reduction"``); softmax probabilities instead of scores (``"value"``); a
    non-scalar output (``"shape"``); a zero or wrong gradient w.r.t. the student's
    scores (``"gradient"``). Book page: ``methods/tinybert``.
    """
    return _check_tensor(_ATTENTION, fn, trials, seed, raise_on_failure)


def check_hidden_state_mse(
    fn, *, trials: int = 3, seed: int = 0, raise_on_failure: bool = True
) -> CheckResult:
    """Check TinyBERT's hidden-state loss with its learnable projection.

    The learner implements ``fn(student_hidden [B, L, d_s], teacher_hidden [B, L, d_t],
    kernel [d_s, d_t], bias [d_t]) -> scalar``: the MSE over every entry between
    ``student_hidden @ kernel + bias`` and the teacher's states (d_s = 6, d_t = 8 here),
    the reference :func:`kdzoo.losses.hidden_state_mse` without a padding mask.

    Recognised mistakes: the projection forgotten or transposed, which fails on the
    widths, or the teacher projected down with ``kernel.T`` (``"shape"``); a sum, a sum
    over the hidden units (``"reduction"``); no bias (``"value"``); a non-scalar output
    (``"shape"``); a zero or wrong gradient w.r.t. the kernel or the student's states,
    e.g. an ``ops.stop_gradient`` on the projection (``"gradient"``).
    Book page: ``methods/tinybert``.
    """
    return _check_tensor(_HIDDEN, fn, trials, seed, raise_on_failure)


def check_soft_cross_entropy(
    fn, *, trials: int = 3, seed: int = 0, raise_on_failure: bool = True
) -> CheckResult:
    """Check TinyBERT's prediction-layer loss.

    The learner implements ``fn(student_logits [B, C], teacher_logits [B, C],
    temperature) -> scalar``: ``mean_{b,c} (−softmax(z_T / T) · log_softmax(z_S / T))``,
    the mean over batch **and classes** with no T², the reference
    :func:`kdzoo.losses.soft_cross_entropy` with its defaults (the official code).

    Recognised mistakes: the batch mean (the paper's) or a sum (``"reduction"``); a T²
    or T factor, the temperature on one side only or on neither (``"temperature"``);
    the KL divergence or the reverse KL instead of the cross-entropy (``"value"``); a
    non-scalar output (``"shape"``); a zero or wrong gradient w.r.t. the student logits
    (``"gradient"``). Book page: ``methods/tinybert``.
    """
    return _check_tensor(_SOFT_CE, fn, trials, seed, raise_on_failure)


def check_tinybert_mapping(
    fn, *, trials: int = 3, seed: int = 0, raise_on_failure: bool = True
) -> CheckResult:
    """Check TinyBERT's uniform layer mapping.

    The learner implements ``fn(teacher_layers: int, student_layers: int) ->
    {"attention": [...], "hidden": [...]}``: M 0-based attention indices ``k − 1, 2k − 1,
    .., N − 1`` and M + 1 hidden-state indices ``0, k, .., N`` (k = N / M), the reference
    :func:`kdzoo.mapping.tinybert_mapping` with ``strategy="uniform"``. Checked on 12→4,
    6→2, 12→6, 12→3, 24→6, plus ``trials`` random depths that divide.

    Recognised mistakes (all ``"mapping"``, each shown as expected vs got): the
    embeddings missing from hidden, hidden in 0-based layer indices, 1-based attention
    indices or other off-by-ones, the embeddings in attention, a return value that is
    not a dict with those two keys.
    Book page: ``methods/tinybert``.
    """
    fixed = [(12, 4), (6, 2), (12, 6), (12, 3), (24, 6)]
    cases = list(dict.fromkeys(fixed + _divisible_cases(np.random.default_rng(seed), trials)))
    return _run_mapping(
        "tinybert_mapping",
        fn,
        cases,
        _tinybert_call,
        lambda case: _mapping.tinybert_mapping(*case),
        _tinybert_explain,
        raise_on_failure,
    )


def check_highway_gate(
    fn, *, trials: int = 3, seed: int = 0, raise_on_failure: bool = True
) -> CheckResult:
    """Check LAD's gate block.

    The learner implements ``fn(prev [B, S, D], teacher_hidden [B, S, D], kernel [D, D],
    bias [D], gamma [S, D], beta [S, D]) -> [B, S, D]``: ``G = σ(prev @ kernel + bias)``,
    ``LayerNorm_[S, D](teacher_hidden · G + prev · (1 − G)) · gamma + beta`` with
    epsilon 1e-5, the LayerNorm over positions and features jointly, the reference
    :func:`kdzoo.losses.highway_gate`.

    Recognised mistakes: the LayerNorm over the last axis only, over the sequence axis
    only, or missing (``"normalisation axes"``); G and 1 − G swapped (``"gate
    direction"``); the gate computed from the teacher layer, a transposed kernel,
    Keras' epsilon 1e-3, the unbiased variance (``"value"``); a wrong output shape
    (``"shape"``); a zero or wrong gradient w.r.t. the kernel (``"gradient"``).
    Book page: ``methods/lad``.
    """
    return _check_tensor(_GATE, fn, trials, seed, raise_on_failure)


# --------------------------------------------------------------------------- registry


def _exercise(name, chapter, task, signature, reference, checker) -> Exercise:
    return Exercise(name, chapter, task, signature, reference, checker)


EXERCISES: dict[str, Exercise] = {
    e.name: e
    for e in (
        _exercise(
            "hinton_kd_loss",
            "intro/hinton",
            "Hinton's soft-target loss: T² · batch mean of KL(teacher ‖ student) at temperature T.",
            "fn(student_logits, teacher_logits, temperature) -> scalar",
            _HINTON.reference,
            check_hinton_kd_loss,
        ),
        _exercise(
            "logit_mse",
            "methods/tang",
            "Tang et al.'s logit MSE, averaged over batch and classes.",
            "fn(student_logits, teacher_logits) -> scalar",
            _LOGIT_MSE.reference,
            check_logit_mse,
        ),
        _exercise(
            "masked_cosine_loss",
            "methods/distilbert",
            "DistilBERT's cosine loss 1 − cos(h_S, h_T), averaged over the real tokens.",
            "fn(student_hidden, teacher_hidden, padding_mask) -> scalar",
            _MASKED_COSINE.reference,
            check_masked_cosine_loss,
        ),
        _exercise(
            "patient_loss",
            "methods/pkd",
            "PKD's patient loss: MSE between L2-normalised [CLS] vectors of mapped layers.",
            "fn(student_cls, teacher_cls) -> scalar",
            _PATIENT.reference,
            check_patient_loss,
        ),
        _exercise(
            "pkd_mapping",
            "methods/pkd",
            "PKD-Skip and PKD-Last: the teacher layers for the student's layers 1..M−1.",
            "fn(teacher_layers, student_layers, strategy) -> list[int]",
            _mapping.pkd_mapping,
            check_pkd_mapping,
        ),
        _exercise(
            "attention_score_mse",
            "methods/tinybert",
            "TinyBERT's attention loss: scores ≤ −100 zeroed, then the MSE over every entry.",
            "fn(student_scores, teacher_scores) -> scalar",
            _ATTENTION.reference,
            check_attention_score_mse,
        ),
        _exercise(
            "hidden_state_mse",
            "methods/tinybert",
            "TinyBERT's hidden loss: MSE(student_hidden @ kernel + bias, teacher_hidden).",
            "fn(student_hidden, teacher_hidden, kernel, bias) -> scalar",
            _HIDDEN.reference,
            check_hidden_state_mse,
        ),
        _exercise(
            "soft_cross_entropy",
            "methods/tinybert",
            "TinyBERT's prediction loss: soft cross-entropy averaged over batch and classes.",
            "fn(student_logits, teacher_logits, temperature) -> scalar",
            _SOFT_CE.reference,
            check_soft_cross_entropy,
        ),
        _exercise(
            "tinybert_mapping",
            "methods/tinybert",
            "TinyBERT's uniform mapping: attention and hidden-state indices for N → M layers.",
            "fn(teacher_layers, student_layers) -> {'attention': [...], 'hidden': [...]}",
            lambda teacher_layers, student_layers: _mapping.tinybert_mapping(
                teacher_layers, student_layers
            ),
            check_tinybert_mapping,
        ),
        _exercise(
            "highway_gate",
            "methods/lad",
            "LAD's gate: σ(prev W + b) mixes in a teacher layer, then LayerNorm over [S, D].",
            "fn(prev, teacher_hidden, kernel, bias, gamma, beta) -> [B, S, D]",
            _GATE.reference,
            check_highway_gate,
        ),
    )
}


def list_exercises():
    """The exercises as a ``pandas.DataFrame``: name, chapter, checker, signature, task."""
    import pandas as pd

    return pd.DataFrame(
        [
            {
                "name": e.name,
                "chapter": e.chapter,
                "checker": f"check_{e.name}",
                "signature": e.signature,
                "task": e.task,
            }
            for e in EXERCISES.values()
        ]
    )
