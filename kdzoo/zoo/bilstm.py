"""Tang et al. (2019): a BiLSTM student trained on the teacher's logits.

``loss = α · CE(z_S, y) + (1 − α) · MSE(z_S, z_T)``, the MSE averaged over batch ×
classes as in the reference code. α defaults to 0 (MSE only), PaddleNLP's default;
castorini/d-bert adds CE and MSE with weight 1 each (α = 0.5, doubled learning
rate). The student sees words (``kdzoo.tokenization.WordVocab``), the teacher
WordPieces: pass ``{"student_inputs": ..., "teacher_inputs": ...}``, or precomputed
``"teacher_logits"`` so that the teacher never runs (Tang et al. label their
augmented transfer set once, offline). Augmented examples have no gold labels:
distil them with α = 0.

Reference: R. Tang et al. "Distilling Task-Specific Knowledge from BERT into Simple
Neural Networks." arXiv:1903.12136. Book chapter: ``book/methods/tang.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

from kdzoo.losses import LogitMSEDistillation
from kdzoo.optim import make_optimizer
from kdzoo.zoo.base import Method, MethodConfig, hard_label_loss, register


@dataclass
class TangConfig(MethodConfig):
    """Tang et al. defaults.

    Attributes:
        alpha: weight of the cross-entropy (0: the paper's distillation-only runs on the
            augmented set; PaddleNLP ``args.py`` default).
        mse_reduction: ``"mean"`` over batch × classes (code) or ``"sum_classes"`` (paper Eq. 2).
        optimizer: ``"adadelta"`` (rho 0.95; d-bert and PaddleNLP) or ``"adamw"``.
        learning_rate: 1.0 for Adadelta (PaddleNLP).
    """

    alpha: float = 0.0
    mse_reduction: str = "mean"
    optimizer: str = "adadelta"
    learning_rate: float = 1.0


@register
class BiLSTM(Method):
    name = "bilstm"
    config_class = TangConfig
    stages = ("task",)
    reference = "Tang et al. 2019 (arXiv:1903.12136)"

    def term_names(self, stage):
        return ["ce_loss", "mse_loss"] if self.config.alpha > 0 else ["mse_loss"]

    def uses_labels(self, stage):
        return self.config.alpha > 0

    def loss_terms(self, stage, x, y, teacher_out, student_out, layers, training):
        c = self.config
        s, t = student_out["logits"], teacher_out["logits"]
        mse = LogitMSEDistillation(c.mse_reduction).compute_loss(t, s)
        if c.alpha == 0:
            return {"mse_loss": mse}
        return {"ce_loss": c.alpha * hard_label_loss(s, y), "mse_loss": (1 - c.alpha) * mse}

    def optimizer(self, stage, total_steps, layers):
        c = self.config
        return make_optimizer(
            c.optimizer, c.learning_rate, total_steps, warmup=c.warmup, weight_decay=c.weight_decay
        )
