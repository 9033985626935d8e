"""What a distillation method is, and the registry that names them.

A method is a recipe that :class:`kdzoo.distillers.Distiller` executes:

- its **config dataclass** holds the paper's defaults (each citing where it comes from);
- ``stages`` names the training stages in order (TinyBERT: general, intermediate,
  prediction);
- ``student_flags`` / ``teacher_flags`` say which internals each model must return;
- ``build_layers`` creates the trainable pieces that belong to the distiller and not
  to the student (projections, gates);
- ``loss_terms`` turns one batch's outputs into named, weighted loss terms, each
  logged as its own metric;
- ``prepare_student`` initialises the student from the teacher where the paper does;
- ``optimizer`` builds the stage's optimizer and schedule.

Book chapter: ``book/methods/index.md``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

import keras
from keras import ops

from kdzoo.losses import HintonDistillation, LogitMSEDistillation
from kdzoo.optim import make_optimizer

__all__ = ["Method", "MethodConfig", "get_method", "methods", "register"]

_REGISTRY: dict[str, type[Method]] = {}


def register(cls: type[Method]) -> type[Method]:
    """Class decorator: add a :class:`Method` to the registry under ``cls.name``."""
    _REGISTRY[cls.name] = cls
    return cls


def methods() -> list[str]:
    """The names of the registered distillation methods."""
    import kdzoo.zoo  # noqa: F401  (importing the package registers the methods)

    return sorted(_REGISTRY)


def get_method(name: str | Method, **config: Any) -> Method:
    """Instantiate method ``name`` with config overrides.

    Raises:
        ValueError: an unknown name (the message lists the valid ones), or an unknown
            config field (the message lists the method's fields).
    """
    if isinstance(name, Method):
        return name.with_config(**config) if config else name
    valid = methods()
    if name not in _REGISTRY:
        raise ValueError(f"unknown method '{name}'. Valid methods: {', '.join(valid)}.")
    return _REGISTRY[name](**config)


@dataclass
class MethodConfig:
    """Fields every method shares.

    Attributes:
        learning_rate: peak learning rate of the (last) stage.
        warmup: warm-up fraction of the linear schedule.
        weight_decay: AdamW weight decay (biases and LayerNorm excluded).
        teacher_dropout: run the teacher with dropout on during training, as
            TinyBERT's official scripts do (they never call ``eval()``). Off by default.
    """

    learning_rate: float = 5e-5
    warmup: float = 0.1
    weight_decay: float = 0.01
    teacher_dropout: bool = False


class Method:
    """Base class of a distillation method; see the module docstring."""

    name: ClassVar[str] = ""
    config_class: ClassVar[type[MethodConfig]] = MethodConfig
    stages: ClassVar[tuple[str, ...]] = ("task",)
    #: Stages that train on unlabelled text (no ``y``).
    unlabelled_stages: ClassVar[tuple[str, ...]] = ()
    #: The student needs an MLM head (built from a preset name by ``kdzoo.distill``).
    needs_mlm_head: ClassVar[bool] = False
    reference: ClassVar[str] = ""

    def __init__(self, **config: Any):
        fields = {f.name for f in dataclasses.fields(self.config_class)}
        unknown = set(config) - fields
        if unknown:
            raise ValueError(
                f"{self.name}: unknown option(s) {sorted(unknown)}; the "
                f"{self.config_class.__name__} fields are {sorted(fields)}."
            )
        self.config = self.config_class(**config)

    def with_config(self, **changes: Any) -> Method:
        return type(self)(**{**dataclasses.asdict(self.config), **changes})

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config})"

    # -- what the distiller asks of a method -------------------------------------------

    def check(self, teacher, student) -> None:
        """Raise a clear error if this teacher and student cannot be used together."""

    def student_flags(self, stage: str) -> dict[str, bool]:
        return {}

    def teacher_flags(self, stage: str) -> dict[str, bool]:
        return {}

    def teacher_layers(self, stage: str, teacher_layers: int, student_layers: int):
        """The teacher internals ``stage`` reads, so they can be cached once per dataset.

        Args:
            stage: one of ``stages``.
            teacher_layers, student_layers: the models' Transformer depths.

        Returns:
            ``{"hidden": [...], "attention": [...]}``, the indices to pass to
            :meth:`kdzoo.data.cache.TeacherCache.teacher_outputs` (hidden state 0 is
            the embeddings), or None when the teacher must run live: with
            ``teacher_dropout`` on, or at a stage that changes the inputs per batch
            (DistilBERT's masking). The default keeps every layer a flag asks for;
            methods override it with their layer mapping.
        """
        if self.config.teacher_dropout:
            return None
        flags = self.teacher_flags(stage)
        return {
            "hidden": list(range(teacher_layers + 1)) if flags.get("output_hidden_states") else [],
            "attention": list(range(teacher_layers))
            if flags.get("output_attention_scores")
            else [],
        }

    def uses_labels(self, stage: str) -> bool:
        """Whether ``stage``'s loss reads the gold labels ``y``. A stage that does not
        can train on an augmented transfer set, whose rows only the teacher labels."""
        return stage not in self.unlabelled_stages

    def build_layers(self, teacher, student, seq_length: int | None = None) -> dict:
        """Trainable layers owned by the distiller (projections, gates)."""
        return {}

    def with_tokenizer(self, tokenizer) -> Method:
        """This method with any token ids it needs taken from ``tokenizer``."""
        return self

    def prepare_student(self, teacher, student) -> None:
        """Initialise the student from the teacher, where the paper does."""

    def transform_inputs(self, stage: str, x, training, seed_generator, student):
        """Change the inputs before both models see them (DistilBERT's masking)."""
        return x, {}

    def term_names(self, stage: str) -> list[str]:
        """Names of the loss terms ``loss_terms`` returns at ``stage`` (one metric each)."""
        raise NotImplementedError

    def loss_terms(
        self, stage: str, x, y, teacher_out: dict, student_out: dict, layers: dict, training
    ) -> dict[str, Any]:
        """Named, already-weighted scalar loss terms; their sum is the loss."""
        raise NotImplementedError

    def optimizer(self, stage: str, total_steps: int, layers: dict):
        c = self.config
        return make_optimizer(
            "adamw", c.learning_rate, total_steps, warmup=c.warmup, weight_decay=c.weight_decay
        )


# -- small helpers the methods share ------------------------------------------------------


def require_same_width(teacher, student, method: str, why: str) -> None:
    """Raise unless the student is as wide as the teacher (no projection in ``method``)."""
    sw, tw = student.config.hidden_size, teacher.config.hidden_size
    if sw != tw:
        raise ValueError(
            f"{method} {why}: the student's hidden size ({sw}) must equal the teacher's "
            f"({tw}). Use a student preset of the teacher's width, or TinyBERT, whose "
            "projection bridges widths."
        )


def is_regression(logits) -> bool:
    return int(logits.shape[-1]) == 1


def hard_label_loss(logits, y):
    """Cross-entropy against integer labels, or MSE for a single regression output."""
    if is_regression(logits):
        return ops.mean(ops.square(ops.cast(logits[:, 0], "float32") - ops.cast(y, "float32")))
    return ops.mean(
        keras.losses.sparse_categorical_crossentropy(
            y, ops.cast(logits, "float32"), from_logits=True
        )
    )


def soft_label_loss(student_logits, teacher_logits, temperature, **kwargs):
    """Hinton's loss, or logit MSE for regression (where there is no distribution).

    Both go through kdzoo's ``keras.distillation.DistillationLoss`` subclasses, the
    same objects a Keras ``Distiller`` would use.
    """
    if is_regression(student_logits):
        return LogitMSEDistillation().compute_loss(teacher_logits, student_logits)
    return HintonDistillation(temperature, **kwargs).compute_loss(teacher_logits, student_logits)
