"""Patient Knowledge Distillation (Sun et al. 2019).

``loss = (1 − α) · CE(z_S, y) + α · T² · KL_mean(z_T/T ‖ z_S/T) + β · L_PT``

- the KD term is PyTorch's ``KLDivLoss(reduction="mean")``, averaged over batch ×
  classes, times T² (``src/KD_loss.py`` L7–22);
- ``L_PT`` (:func:`kdzoo.losses.patient_loss`) compares the L2-normalised [CLS] vectors
  of student layers 1..M−1 with the teacher layers of :func:`kdzoo.mapping.pkd_mapping`
  (``"skip"`` or ``"last"``); the last student layer learns through the logits only.
- the student starts from the bottom M layers of the teacher (``init="bottom"``; the
  official code loads the bottom layers of *pre-trained* BERT, which is the teacher
  before fine-tuning: pass that model as ``init_model`` to :func:`kdzoo.distill`).

Reference: S. Sun, Y. Cheng, Z. Gan, J. Liu. "Patient Knowledge Distillation for BERT
Model Compression." EMNLP-IJCNLP 2019. arXiv:1908.09355. Book chapter:
``book/methods/pkd.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

from keras import ops

from kdzoo.losses import patient_loss
from kdzoo.mapping import pkd_mapping
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
class PKDConfig(MethodConfig):
    """PKD defaults: the official ``kd.cls`` setting (``src/argument_parser.py``,
    ``get_predefine_argv`` L221–267): α 0.7, T 10, β 500, normalised, lr 1e-5, 4
    epochs, batch 32, max length 128.

    Attributes:
        alpha: weight of the KD term; 1 − α weighs the CE.
        temperature: T.
        beta: weight of the patient loss.
        strategy: ``"skip"`` (PKD-Skip) or ``"last"`` (PKD-Last).
        normalize: L2-normalise the [CLS] vectors.
        reduction: patient-loss reduction, ``"mean"`` (official) or ``"sum_hidden"``
            (TextBrewer).
        init: ``"bottom"`` (student layer i from teacher layer i) or ``"none"``.
    """

    alpha: float = 0.7
    temperature: float = 10.0
    beta: float = 500.0
    strategy: str = "skip"
    normalize: bool = True
    reduction: str = "mean"
    init: str = "bottom"
    learning_rate: float = 1e-5


@register
class PKD(Method):
    name = "pkd"
    config_class = PKDConfig
    stages = ("task",)
    reference = "Sun et al. 2019 (arXiv:1908.09355)"

    def check(self, teacher, student):
        tc, sc = teacher.config, student.config
        require_same_width(teacher, student, "PKD", "compares [CLS] vectors directly")
        pkd_mapping(tc.num_hidden_layers, sc.num_hidden_layers, self.config.strategy)

    def prepare_student(self, teacher, student):
        if self.config.init == "bottom":
            init_from_teacher(student, teacher, list(range(student.config.num_hidden_layers)))
        elif self.config.init != "none":
            raise ValueError(f"PKD init must be 'bottom' or 'none', not '{self.config.init}'.")

    def student_flags(self, stage):
        return {"output_hidden_states": True}

    def teacher_flags(self, stage):
        return {"output_hidden_states": True}

    def teacher_layers(self, stage, teacher_layers, student_layers):
        if self.config.teacher_dropout:
            return None
        hidden = pkd_mapping(teacher_layers, student_layers, self.config.strategy)
        return {"hidden": hidden, "attention": []}

    def term_names(self, stage):
        return ["ce_loss", "kd_loss", "patient_loss"]

    def loss_terms(self, stage, x, y, teacher_out, student_out, layers, training):
        c = self.config
        s_hidden, t_hidden = student_out["hidden_states"], teacher_out["hidden_states"]
        m, n = len(s_hidden) - 1, len(t_hidden) - 1
        teacher_layers = pkd_mapping(n, m, c.strategy)
        if teacher_layers:
            student_cls = ops.stack([s_hidden[j][:, 0] for j in range(1, m)], axis=1)  # [B,M-1,H]
            teacher_cls = ops.stack([t_hidden[j][:, 0] for j in teacher_layers], axis=1)
            pt = patient_loss(
                student_cls, teacher_cls, normalize=c.normalize, reduction=c.reduction
            )
        else:  # a one-layer student has no intermediate layer to be patient with
            pt = ops.zeros(())
        s, t = student_out["logits"], teacher_out["logits"]
        return {
            "ce_loss": (1 - c.alpha) * hard_label_loss(s, y),
            "kd_loss": c.alpha * soft_label_loss(s, t, c.temperature, mean_over_classes=True),
            "patient_loss": c.beta * pt,
        }
