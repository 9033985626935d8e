"""DistilBERT (Sanh et al. 2019): a half-depth student initialised from the teacher.

- **Initialisation** (:meth:`prepare_student`): embeddings and teacher layers
  ``[0, 2, 4, 7, 9, 11]`` for 12→6 (``scripts/extract_distilbert.py``), or every other
  layer (the paper's "one layer out of two"); ``init="auto"`` takes the official list
  for 12→6 and every k-th layer otherwise.
- **General stage** (unlabelled text, both models with an MLM head): the triple loss
  ``α_ce · T² · KL_tokens + α_mlm · MLM-CE + α_cos · (1 − cos)`` on dynamically
  masked inputs (15 % of the real, non-special tokens; 80 % ``[MASK]``, 10 % random,
  10 % kept). Both models see the same masked tokens.
- **Task stage**: Hinton KD on the logits plus CE.

kdzoo selects tokens to mask independently with probability 0.15; the official
``prepare_batch_mlm`` draws exactly ⌈0.15 · Σ lengths⌉ positions per batch with
frequency smoothing (``--mlm_smoothing 0.7``). The book chapter discusses it.

Reference: V. Sanh, L. Debut, J. Chaumond, T. Wolf. "DistilBERT, a distilled version
of BERT." arXiv:1910.01108. Book chapter: ``book/methods/distilbert.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
from keras import ops

from kdzoo.losses import masked_cosine_loss, mlm_cross_entropy, token_kl_divergence
from kdzoo.mapping import distilbert_init_layers
from kdzoo.models.bert import init_from_teacher
from kdzoo.zoo.base import (
    Method,
    MethodConfig,
    hard_label_loss,
    register,
    require_same_width,
    soft_label_loss,
)


@dataclass
class DistilBERTConfig(MethodConfig):
    """DistilBERT defaults (the README's single-GPU command and ``train.py``).

    Attributes:
        temperature: T = 2 (``train.py``).
        alpha_ce, alpha_mlm, alpha_cos: 5.0 / 2.0 / 1.0 (README command).
        restrict_ce_to_mask: the KL over MLM positions only (``--restrict_ce_to_mask``)
            instead of every real token.
        mlm_probability: 0.15; word_mask / random / keep 0.8 / 0.1 / 0.1.
        mask_token_id, special_token_ids: from the tokenizer (``kdzoo.distill`` fills
            them); required for the general stage.
        init: ``"auto"``, ``"official"``, ``"every_other"`` or ``"none"``.
        task_soft_weight, task_hard_weight: the task stage's Hinton KD weights.
        learning_rate: 5e-4 (``train.py``) for the general stage; the task stage uses
            ``task_learning_rate`` 5e-5.
    """

    temperature: float = 2.0
    alpha_ce: float = 5.0
    alpha_mlm: float = 2.0
    alpha_cos: float = 1.0
    restrict_ce_to_mask: bool = False
    mlm_probability: float = 0.15
    mask_token_id: int | None = None
    special_token_ids: tuple[int, ...] | None = None
    init: str = "auto"
    task_soft_weight: float = 0.5
    task_hard_weight: float = 0.5
    learning_rate: float = 5e-4
    task_learning_rate: float = 5e-5
    warmup: float = 0.05


@register
class DistilBERT(Method):
    name = "distilbert"
    config_class = DistilBERTConfig
    stages = ("general", "task")
    unlabelled_stages = ("general",)
    needs_mlm_head = True
    reference = "Sanh et al. 2019 (arXiv:1910.01108)"

    def check(self, teacher, student):
        require_same_width(
            teacher,
            student,
            "DistilBERT",
            "initialises from teacher layers and compares states by cosine",
        )

    def with_tokenizer(self, tokenizer):
        if self.config.mask_token_id is not None or tokenizer is None:
            return self
        return self.with_config(
            mask_token_id=tokenizer.mask_token_id,
            special_token_ids=tuple(tokenizer.all_special_ids),
        )

    def prepare_student(self, teacher, student):
        init = self.config.init
        if init == "none":
            return
        n, m = teacher.config.num_hidden_layers, student.config.num_hidden_layers
        if init == "auto":
            init = "official" if (n, m) == (12, 6) else "every_other"
        init_from_teacher(student, teacher, distilbert_init_layers(n, m, init))

    def teacher_layers(self, stage, teacher_layers, student_layers):
        if stage == "general":  # the teacher reads each batch's fresh masking
            return None
        return super().teacher_layers(stage, teacher_layers, student_layers)

    def term_names(self, stage):
        if stage == "general":
            return ["kd_loss", "mlm_loss", "cosine_loss"]
        return ["ce_loss", "kd_loss"]

    def transform_inputs(self, stage, x, training, seed_generator, student):
        if stage != "general":
            return x, {}
        c = self.config
        if c.mask_token_id is None or c.special_token_ids is None:
            raise ValueError(
                "DistilBERT's general stage masks tokens: set mask_token_id and "
                "special_token_ids (kdzoo.distill takes them from the tokenizer)."
            )
        ids = ops.cast(x["token_ids"], "int32")
        real = ops.cast(x.get("padding_mask", ops.ones_like(ids)), "bool")
        for special in c.special_token_ids:
            real = ops.logical_and(real, ops.not_equal(ids, special))
        shape = ops.shape(ids)
        pick = ops.logical_and(
            real, keras.random.uniform(shape, seed=seed_generator) < c.mlm_probability
        )
        roll = keras.random.uniform(shape, seed=seed_generator)
        random_ids = keras.random.randint(shape, 0, student.config.vocab_size, seed=seed_generator)
        new = ops.where(
            roll < 0.8,
            ops.full_like(ids, c.mask_token_id),
            ops.where(roll < 0.9, ops.cast(random_ids, "int32"), ids),
        )
        masked = ops.where(pick, new, ids)
        labels = ops.where(pick, ids, ops.full_like(ids, -100))
        return {**x, "token_ids": masked}, {"masked_token_ids": masked, "mlm_labels": labels}

    def loss_terms(self, stage, x, y, teacher_out, student_out, layers, training):
        c = self.config
        if stage == "task":
            s, t = student_out["logits"], teacher_out["logits"]
            return {
                "ce_loss": c.task_hard_weight * hard_label_loss(s, y),
                "kd_loss": c.task_soft_weight * soft_label_loss(s, t, c.temperature),
            }
        student_x = x.get("student_inputs", x)
        ids = student_x["token_ids"]
        padding = ops.cast(student_x.get("padding_mask", ops.ones_like(ids)), "float32")
        labels = student_out["mlm_labels"]
        kl_mask = (
            ops.cast(ops.not_equal(labels, -100), "float32") if c.restrict_ce_to_mask else padding
        )
        return {
            "kd_loss": c.alpha_ce
            * token_kl_divergence(
                student_out["mlm_logits"], teacher_out["mlm_logits"], kl_mask, c.temperature
            ),
            "mlm_loss": c.alpha_mlm * mlm_cross_entropy(student_out["mlm_logits"], labels),
            "cosine_loss": c.alpha_cos
            * masked_cosine_loss(
                student_out["sequence_output"], teacher_out["sequence_output"], padding
            ),
        }

    def optimizer(self, stage, total_steps, layers):
        from kdzoo.optim import make_optimizer

        c = self.config
        if stage == "general":  # AdamW β2 0.98, ε 1e-6, no weight decay (distiller.py)
            return make_optimizer(
                "adamw",
                c.learning_rate,
                total_steps,
                warmup=c.warmup,
                weight_decay=0.0,
                beta_2=0.98,
                clipnorm=None,
                global_clipnorm=5.0,
            )
        return make_optimizer(
            "adamw", c.task_learning_rate, total_steps, warmup=0.1, weight_decay=c.weight_decay
        )
