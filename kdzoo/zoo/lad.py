"""LAD (Lin, Chen, Kao 2023): every teacher layer, aggregated by gates, teaches the student.

A chain of highway gates (:class:`kdzoo.losses.HighwayGate`) folds the teacher's N
layers into aggregates ``A_1 = H_T^1``, ``A_l = gate_l(A_{l−1}, H_T^l)``; student layer
j learns ``A_{j·k}`` with k = N / M (:func:`kdzoo.mapping.lad_mapping`). The gates'
LayerNorm runs over [S, D], so inputs need a fixed length. The gates train jointly with
the student, through the hidden loss only, with their own optimizer and learning rate
(a ``keras.optimizers.MultiOptimizer``).

``loss = γ · CE(z_S, y) + α · T² · KL_batchmean + μ · Σ_j mean((H_S^j − A_{t(j)})²) / M``

The student's encoder layers start from teacher layers k, 2k, .., N (``init="even"``)
or 1..M (``"first"``); its embeddings keep their random initialisation, as in the
official ``_student_bert.py``.

Reference: Y.-J. Lin, K.-Y. Chen, H.-Y. Kao. "LAD: Layer-Wise Adaptive Distillation
for BERT Model Compression." Sensors 23(3):1483, 2023; code IKMLab/LAD. Book chapter:
``book/methods/lad.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras

from kdzoo.losses import HighwayGate, aggregate_teacher_layers, aggregated_hidden_mse
from kdzoo.mapping import lad_mapping
from kdzoo.models.bert import init_from_teacher
from kdzoo.optim import make_optimizer
from kdzoo.zoo.base import (
    Method,
    MethodConfig,
    hard_label_loss,
    register,
    require_same_width,
    soft_label_loss,
)


@dataclass
class LADConfig(MethodConfig):
    """LAD defaults (``run_lad_distil_epoch.py``): hard 0.8, soft 0.2, τ 1, μ 1,
    lr 3e-5, gate lr 1e-5, warm-up 0.3 (the per-task scripts use τ 10–20 and μ 500–1000).

    Attributes:
        hard_weight: γ, weight of the CE on labels.
        soft_weight: α, weight of the KL·τ² term.
        temperature: τ.
        hidden_weight: μ (``--hidden_mse_weight``).
        gate_learning_rate: the gates' own learning rate.
        reverse: aggregate from the top layer down (``--reverse_gate``).
        init: ``"even"``, ``"first"`` or ``"none"``.
        rounding: ``None`` or ``"floor"`` for depths that do not divide.
        aggregation: ``"gated"`` (LAD: each student layer learns the gated aggregate
            of all teacher layers up to its mapped one) or ``"uniform"`` (no gates:
            student layer m learns teacher layer g(m) alone, the uniform mapping that
            LAD is compared with; everything else the same).
    """

    hard_weight: float = 0.8
    soft_weight: float = 0.2
    temperature: float = 1.0
    hidden_weight: float = 1.0
    gate_learning_rate: float = 1e-5
    reverse: bool = False
    init: str = "even"
    rounding: str | None = None
    aggregation: str = "gated"
    learning_rate: float = 3e-5
    warmup: float = 0.3


@register
class LAD(Method):
    name = "lad"
    config_class = LADConfig
    stages = ("task",)
    reference = "Lin, Chen, Kao 2023 (Sensors 23(3):1483)"

    def check(self, teacher, student):
        tc, sc = teacher.config, student.config
        require_same_width(
            teacher, student, "LAD", "compares student layers with teacher aggregates"
        )
        lad_mapping(tc.num_hidden_layers, sc.num_hidden_layers, rounding=self.config.rounding)

    def build_layers(self, teacher, student, seq_length=None):
        if self.config.aggregation not in ("gated", "uniform"):
            raise ValueError(
                f"LAD aggregation must be 'gated' or 'uniform', not '{self.config.aggregation}'."
            )
        if self.config.aggregation == "uniform":
            return {}  # no gates to train
        if seq_length is None:
            raise ValueError(
                "LAD's gates normalise over [sequence, hidden]: pass seq_length (inputs must "
                "be padded to a fixed length, e.g. encode(..., padding='max_length'))."
            )
        n, d = teacher.config.num_hidden_layers, teacher.config.hidden_size
        gates = {}
        for layer in range(2, n + 1):
            gate = HighwayGate(seq_length, d, name=f"lad_gate_{layer}")
            gate.build()
            gates[f"lad_gate_{layer}"] = gate
        return gates

    def prepare_student(self, teacher, student):
        c = self.config
        n, m = teacher.config.num_hidden_layers, student.config.num_hidden_layers
        if c.init == "none":
            return
        if c.init == "even":
            layers = [i - 1 for i in lad_mapping(n, m, rounding=c.rounding)]
        elif c.init == "first":
            layers = list(range(m))
        else:
            raise ValueError(f"LAD init must be 'even', 'first' or 'none', not '{c.init}'.")
        init_from_teacher(student, teacher, layers, embeddings=False, mlm_head=False)

    def student_flags(self, stage):
        return {"output_hidden_states": True}

    teacher_flags = student_flags

    def teacher_layers(self, stage, teacher_layers, student_layers):
        if self.config.teacher_dropout:
            return None
        c = self.config
        if c.aggregation == "uniform":  # only the mapped layers
            mapped = lad_mapping(teacher_layers, student_layers, rounding=c.rounding)
            return {"hidden": mapped, "attention": []}
        # every layer feeds the gated aggregation; the embeddings do not
        return {"hidden": list(range(1, teacher_layers + 1)), "attention": []}

    def term_names(self, stage):
        return ["ce_loss", "kd_loss", "hidden_loss"]

    def loss_terms(self, stage, x, y, teacher_out, student_out, layers, training):
        c = self.config
        t_hidden = teacher_out["hidden_states"]
        n = len(t_hidden) - 1
        s_layers = student_out["hidden_states"][1:]
        if c.aggregation == "uniform":  # each mapped teacher layer alone (read no other)
            mapped = set(lad_mapping(n, len(s_layers), rounding=c.rounding))
            aggregates = [t_hidden[i] if i in mapped else None for i in range(1, n + 1)]
        else:
            t_layers = t_hidden[1:]
            gates = [layers[f"lad_gate_{i}"] for i in range(2, len(t_layers) + 1)]
            if c.reverse:
                gates = gates[::-1]
            aggregates = aggregate_teacher_layers(t_layers, gates, reverse=c.reverse)
        targets = [aggregates[i - 1] for i in lad_mapping(n, len(s_layers), rounding=c.rounding)]
        s, t = student_out["logits"], teacher_out["logits"]
        return {
            "ce_loss": c.hard_weight * hard_label_loss(s, y),
            "kd_loss": c.soft_weight * soft_label_loss(s, t, c.temperature),
            "hidden_loss": aggregated_hidden_mse(s_layers, targets, weight=c.hidden_weight),
        }

    def optimizer(self, stage, total_steps, layers):
        c = self.config
        student_opt = make_optimizer(
            "adamw", c.learning_rate, total_steps, warmup=c.warmup, weight_decay=c.weight_decay
        )
        if not layers:
            return student_opt
        gate_opt = make_optimizer(
            "adamw", c.gate_learning_rate, total_steps, warmup=c.warmup, weight_decay=c.weight_decay
        )
        multi = getattr(keras.optimizers, "MultiOptimizer", None)
        if multi is None:
            raise RuntimeError(
                "LAD trains its gates at their own learning rate with "
                "keras.optimizers.MultiOptimizer (Keras >= 3.13); upgrade Keras."
            )
        return multi(lambda v: gate_opt if v.path.startswith("lad_gate_") else student_opt)
