"""One distiller for every method: a ``keras.Model`` that overrides ``compute_loss`` only.

:class:`Distiller` wraps a frozen teacher, a student, and the trainable layers that
belong to the distillation rather than to either model (TinyBERT's projections,
LAD's gates). What to compute comes from a :class:`kdzoo.zoo.Method`; how to
train is plain Keras, so ``fit`` / ``evaluate`` / ``predict`` behave the same on
torch, tensorflow and jax::

    method = kdzoo.get_method("tinybert")
    d = Distiller(method, teacher, student, stage="intermediate")
    d.compile(optimizer=method.optimizer("intermediate", total_steps, d.aux_layers))
    d.prepare(x, y)                  # builds everything, runs it once (as kdzoo.distill)
    d.fit(x, y, epochs=3)            # logs loss, attention_loss, hidden_loss, ...
    d.student.save("student.keras")  # the student alone

``compile(..., jit_compile=True)`` compiles the whole step, the optimizer's update
included (``torch.compile`` on torch, XLA on tensorflow; jax always jits it); see
:func:`kdzoo.training.jit_compile_setting` for when that pays off.

Where kdzoo goes beyond ``keras.distillation``: its ``Distiller`` matches one
final output (``LogitsDistillation``) or named layer outputs of functional models
(``FeatureDistillation``). kdzoo's methods need the internals of subclassed models
(every hidden state, pre-softmax attention scores, [CLS] vectors of chosen layers),
a layer mapping between models of different depth, trainable projections and
gates owned by the distiller, inputs that differ between teacher and student (a
BiLSTM's words vs BERT's WordPieces), precomputed teacher outputs, dynamic MLM
masking shared by both models, and several stages. The losses are kdzoo's pure
functions in :mod:`kdzoo.losses`.

Inputs ``x`` are the model input dict, shared by both models; or a dict with
``"student_inputs"`` and ``"teacher_inputs"`` when they differ; optionally with
``"teacher_logits"`` [B, C] precomputed, in which case a method that needs only the
teacher's logits does not run the teacher at all; or with ``"teacher_outputs"`` from
:class:`kdzoo.data.cache.TeacherCache` (logits plus mapped hidden states and attention
scores), which replaces the teacher's forward pass for every method.

Book chapter: ``book/methods/index.md``.
"""

from __future__ import annotations

import keras
from keras import ops, tree

from kdzoo.data.cache import CachedLayers
from kdzoo.distribute import scale_loss
from kdzoo.training import NonFiniteLossError, StopOnNonFiniteLoss, build_optimizer

__all__ = ["Distiller", "NonFiniteLossError", "StopOnNonFiniteLoss"]

_SPLIT_KEYS = ("student_inputs", "teacher_inputs", "teacher_logits", "teacher_outputs")


def _constant(value):
    """A precomputed teacher output as a tensor outside the gradient. ``fit`` hands over
    tensors; ``train_on_batch`` on torch passes NumPy arrays through unchanged."""
    return ops.stop_gradient(ops.convert_to_tensor(value))


def _check_vocabularies(teacher, student) -> None:
    """A BERT teacher and a BERT student read the same token ids: same vocabulary size."""
    from kdzoo.models.bert import BertConfig

    t, s = getattr(teacher, "config", None), getattr(student, "config", None)
    if not (isinstance(t, BertConfig) and isinstance(s, BertConfig)):
        return  # a BiLSTM student reads words through its own vocabulary
    if t.vocab_size != s.vocab_size:
        raise ValueError(
            f"the teacher's vocabulary has {t.vocab_size} tokens and the student's "
            f"{s.vocab_size}; both read the same token ids, so one of them would look up "
            f"the wrong embedding rows. Build the student with "
            f"vocab_size={t.vocab_size} (the teacher's tokenizer), e.g. "
            f"BertModel(preset, vocab_size=teacher.config.vocab_size)."
        )


class Distiller(keras.Model):
    """Train ``student`` from a frozen ``teacher`` with ``method`` at ``stage``.

    Args:
        method: a :class:`kdzoo.zoo.Method` (see :func:`kdzoo.get_method`).
        teacher: the teacher model (frozen here: ``trainable = False``).
        student: the student model.
        stage: one of ``method.stages`` (default: the last, the task stage).
        layers: the method's extra layers, to share them between stages; built with
            ``method.build_layers`` when None.
        seq_length: fixed sequence length, for layers that need one (LAD's gates).
        seed: seed of the distiller's own randomness (MLM masking).
    """

    def __init__(
        self,
        method,
        teacher,
        student,
        stage: str | None = None,
        layers=None,
        seq_length: int | None = None,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(name=kwargs.pop("name", f"{method.name}_distiller"), **kwargs)
        stage = stage or method.stages[-1]
        if stage not in method.stages:
            raise ValueError(
                f"{method.name} has no stage '{stage}'; its stages are {list(method.stages)}."
            )
        method.check(teacher, student)
        _check_vocabularies(teacher, student)
        self.method, self.stage = method, stage
        self.teacher, self.student = teacher, student
        self.teacher.trainable = False
        self.aux_layers = dict(
            layers if layers is not None else method.build_layers(teacher, student, seq_length)
        )
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.trackers = {n: keras.metrics.Mean(name=n) for n in method.term_names(stage)}

    def compile(self, *args, **kwargs):
        """``keras.Model.compile``, then the optimizer's variables are built at once
        (:func:`kdzoo.training.build_optimizer`: tensorflow traces the step once, not
        twice)."""
        super().compile(*args, **kwargs)
        build_optimizer(self)

    def prepare(self, x, y=None) -> None:
        """Run everything the training step runs, once, eagerly, on the first two rows
        of ``x`` in inference mode: the student, the teacher (or its cached outputs) and
        the method's losses; then build the optimizer. :func:`kdzoo.distill` calls it
        before every stage.

        It builds every variable before ``fit`` (a resumed run assigns them all first),
        meets a wrong input (a cache without the stage's layers, say) before any
        training, and names every layer's scope: Keras names a layer's scope at its
        first call, and a weightless layer (a ``Dropout``) first called inside a step
        compiled by ``torch.compile`` (``jit_compile=True``) changes the model's state
        there, one of the guards that make the second step compile again. (Two more are
        Keras's: its torch trainer's ``zero_grad`` finds no gradients on the first step
        only, and its optimizer's ``apply`` changes state on the first call; so on
        torch the second step still compiles, ``benchmarks/README.md``.) It updates no
        metric and leaves the random state as it found it (inference mode draws no
        dropout; DistilBERT's masking, which draws in every mode, is rewound): a run is
        the same with and without it.

        Args:
            x: the distiller's inputs (any number of rows; two are used).
            y: the labels, or None.
        """
        x = tree.map_structure(lambda a: a[:2], x)
        y = None if y is None else tree.map_structure(lambda a: a[:2], y)
        seed_state = ops.copy(self.seed_generator.state.value)  # DistilBERT masks anyway
        y_pred = self(x, training=False)
        teacher_out = self.teacher_outputs(x, y_pred, training=False)
        self.method.loss_terms(self.stage, x, y, teacher_out, y_pred, self.aux_layers, False)
        self.seed_generator.state.assign(seed_state)
        build_optimizer(self)

    # -- inputs -------------------------------------------------------------------------

    @staticmethod
    def _split(x):
        if not isinstance(x, dict):
            return x, x, None
        logits = x.get("teacher_logits")
        if "student_inputs" in x:
            return x["student_inputs"], x.get("teacher_inputs"), logits
        shared = {k: v for k, v in x.items() if k not in _SPLIT_KEYS}
        return shared, shared, logits

    # -- forward and loss ---------------------------------------------------------------

    def call(self, x, training=None):
        student_x, _, _ = self._split(x)
        student_x, extras = self.method.transform_inputs(
            self.stage, student_x, training, self.seed_generator, self.student
        )
        out = self.student(student_x, training=training, **self.method.student_flags(self.stage))
        return {**out, **extras}

    def _cached(self, cached, flags):
        n = self.teacher.config.num_hidden_layers
        out = {"logits": _constant(cached["logits"])}
        for group, flag, length, what in (
            ("hidden_states", "output_hidden_states", n + 1, "hidden state"),
            ("attention_scores", "output_attention_scores", n, "attention map"),
        ):
            if group in cached:
                layers = {k: _constant(v) for k, v in cached[group].items()}
                out[group] = CachedLayers(layers, length, what)
            elif flags.get(flag):
                raise ValueError(
                    f"{self.method.name} ({self.stage}) needs the teacher's {group}, but the "
                    f"teacher cache holds only {sorted(cached)}; build it with "
                    f"{'hidden_layers' if group == 'hidden_states' else 'attention_layers'}=..."
                )
        return out

    def teacher_outputs(self, x, y_pred, training):
        """The teacher's outputs for this batch, as constants."""
        _, teacher_x, logits = self._split(x)
        flags = self.method.teacher_flags(self.stage)
        if isinstance(x, dict) and "teacher_outputs" in x:
            return self._cached(x["teacher_outputs"], flags)
        if logits is not None and not any(flags.values()):
            return {"logits": _constant(logits)}
        if teacher_x is None:
            raise ValueError(
                "the teacher has no inputs: pass 'teacher_inputs' beside 'student_inputs', "
                "or precomputed 'teacher_logits' for a method that needs only logits."
            )
        if "masked_token_ids" in y_pred:  # both models see the same masked tokens
            teacher_x = {**teacher_x, "token_ids": y_pred["masked_token_ids"]}
        dropout = bool(training) and self.method.config.teacher_dropout
        out = self.teacher(teacher_x, training=dropout, **flags)
        return tree.map_structure(ops.stop_gradient, out)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        if y_pred is None:
            y_pred = self(x, training=training)
        teacher_out = self.teacher_outputs(x, y_pred, training)
        terms = self.method.loss_terms(
            self.stage, x, y, teacher_out, y_pred, self.aux_layers, training
        )
        if set(terms) != set(self.trackers):
            raise RuntimeError(
                f"{self.method.name}: loss terms {sorted(terms)} differ from the declared "
                f"{sorted(self.trackers)}."
            )
        total = 0.0
        for name, value in terms.items():
            self.trackers[name].update_state(value)
            total = total + value
        # Under tf.distribute the replicas' gradients are summed: each replica's loss
        # is divided by their number (a no-op on one device and on jax).
        return scale_loss(total)

    @property
    def metrics(self):
        return [*super().metrics, *self.trackers.values()]
