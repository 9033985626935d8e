"""Hinton KD: cross-entropy on the labels plus the softened teacher distribution.

``loss = hard_weight · CE(z_S, y) + soft_weight · T² · KL(softmax(z_T/T) ‖ softmax(z_S/T))``

For a regression head (one output) the soft term is the MSE to the teacher's output.

Reference: G. Hinton, O. Vinyals, J. Dean. "Distilling the Knowledge in a Neural
Network." 2015. arXiv:1503.02531. Book chapter: ``book/intro/hinton.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

from kdzoo.zoo.base import Method, MethodConfig, hard_label_loss, register, soft_label_loss


@dataclass
class KDConfig(MethodConfig):
    """Hinton KD defaults.

    Attributes:
        temperature: T. Hinton et al. (§2–3) use values from 2 to 20; 4 is TextBrewer's
            ``DistillationConfig`` default.
        soft_weight: weight of the T²-scaled soft-target term.
        hard_weight: weight of the cross-entropy on the labels. Hinton et al. (§2)
            found "considerably lower" hard-label weights best; 0.5/0.5 is the common
            even split (as in PKD's α search and LAD's scripts).
        learning_rate: 5e-5 (BERT fine-tuning).
    """

    temperature: float = 4.0
    soft_weight: float = 0.5
    hard_weight: float = 0.5


@register
class KD(Method):
    name = "kd"
    config_class = KDConfig
    stages = ("task",)
    reference = "Hinton, Vinyals, Dean 2015 (arXiv:1503.02531)"

    def term_names(self, stage):
        return ["ce_loss", "kd_loss"]

    def loss_terms(self, stage, x, y, teacher_out, student_out, layers, training):
        c = self.config
        s, t = student_out["logits"], teacher_out["logits"]
        return {
            "ce_loss": c.hard_weight * hard_label_loss(s, y),
            "kd_loss": c.soft_weight * soft_label_loss(s, t, c.temperature),
        }
