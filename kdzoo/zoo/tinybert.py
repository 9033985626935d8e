"""TinyBERT (Jiao et al. 2020): Transformer distillation in three stages.

1. **general** (unlabelled corpus): embedding + attention + hidden-state losses;
2. **intermediate** (task data): the same losses, at a constant learning rate
   (``task_distill.py`` without ``--pred_distill``, ``schedule='none'``);
3. **prediction** (task data): soft cross-entropy against the teacher's logits.

Losses (:mod:`kdzoo.losses`), summed over the mapped layers as the official code does:

- attention: :func:`~kdzoo.losses.attention_score_mse` on pre-softmax scores, scores
  ≤ −100 zeroed (``attention_mask_mode="official"``) or a mask-aware mean;
- hidden states and embeddings: :func:`~kdzoo.losses.hidden_state_mse` after a learnable
  projection W (student width → teacher width). The official code shares one
  ``fit_dense`` (with bias) across all M+1 states (``projection="shared"``); the paper
  writes separate W_e and W_h, and TextBrewer uses one per layer
  (``projection="per_layer"``). The projections belong to the distiller, not the student.
- prediction: :func:`~kdzoo.losses.soft_cross_entropy`, mean over batch × classes, no T²;
  for regression the official code fits the gold labels with MSE.

Ablation switches (Table 3): ``embedding_weight=0`` (w/o Embd), ``attention_weight=0``
(w/o Attn), ``hidden_weight=0`` (w/o Hidn), ``transformer_layers=False`` (w/o Trm:
embeddings only in the intermediate stages), ``prediction="hard"`` (w/o Pred: CE on the
labels). Layer mapping (Table 4): ``mapping="uniform" | "top" | "bottom"``.

Reference: X. Jiao et al. "TinyBERT: Distilling BERT for Natural Language
Understanding." Findings of EMNLP 2020. arXiv:1909.10351. Book chapter:
``book/methods/tinybert.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
from keras import ops

from kdzoo.losses import attention_score_mse, hidden_state_mse, soft_cross_entropy
from kdzoo.mapping import check_same_heads, tinybert_mapping
from kdzoo.optim import make_optimizer
from kdzoo.zoo.base import Method, MethodConfig, hard_label_loss, is_regression, register

_INTERMEDIATE = ("general", "intermediate")


@dataclass
class TinyBERTConfig(MethodConfig):
    """TinyBERT defaults (paper §4.2 and the official README / ``task_distill.py``).

    Attributes:
        mapping: ``"uniform"`` (g(m) = 3m for 12→4), ``"top"`` or ``"bottom"`` (Table 4).
        rounding: ``None``, or ``"floor"`` for depths that do not divide.
        projection: ``"shared"`` (official ``fit_dense``), ``"per_layer"`` or ``"none"``
            (same widths only).
        embedding_weight, attention_weight, hidden_weight: λ of each term (all 1, §4.2).
        transformer_layers: False drops attention and hidden losses (w/o Trm).
        attention_mask_mode: ``"official"`` (threshold −100, mean over B·h·L·L) or
            ``"masked"`` (mean over real query–key pairs).
        prediction: ``"soft"`` (teacher's logits) or ``"hard"`` (gold labels, w/o Pred).
        temperature: t = 1 (§4.2).
        mean_over_classes: the official B·C mean of the soft CE (False: the paper's B).
        intermediate_prediction_weight: λ of the prediction loss added to the
            intermediate stage. 0 (default) is the official two-step task distillation,
            intermediate layers first and the prediction layer after. TextBrewer's
            TinyBERT examples train both at once (``GeneralDistiller`` with
            ``intermediate_matches`` and ``kd_loss_weight``); kdzoo's benchmarks use 1 to
            time the same step as TextBrewer and a hand-written loop.
        learning_rate: 3e-5, the prediction stage (README; Table: {1,2,3}e-5).
        intermediate_learning_rate: 5e-5, constant (``task_distill.py`` default).
        general_learning_rate: 5e-5 (``general_distill.py`` default).
    """

    mapping: str = "uniform"
    rounding: str | None = None
    projection: str = "shared"
    embedding_weight: float = 1.0
    attention_weight: float = 1.0
    hidden_weight: float = 1.0
    transformer_layers: bool = True
    attention_mask_mode: str = "official"
    prediction: str = "soft"
    temperature: float = 1.0
    mean_over_classes: bool = True
    intermediate_prediction_weight: float = 0.0
    learning_rate: float = 3e-5
    intermediate_learning_rate: float = 5e-5
    general_learning_rate: float = 5e-5


@register
class TinyBERT(Method):
    name = "tinybert"
    config_class = TinyBERTConfig
    stages = ("general", "intermediate", "prediction")
    unlabelled_stages = ("general",)
    reference = "Jiao et al. 2020 (arXiv:1909.10351)"

    # -- configuration checks -----------------------------------------------------------

    def _weights(self) -> dict[str, float]:
        c = self.config
        trm = 1.0 if c.transformer_layers else 0.0
        return {
            "embedding_loss": c.embedding_weight,
            "attention_loss": c.attention_weight * trm,
            "hidden_loss": c.hidden_weight * trm,
        }

    def check(self, teacher, student):
        c = self.config
        if c.attention_mask_mode not in ("official", "masked"):
            raise ValueError("attention_mask_mode must be 'official' or 'masked'.")
        if c.prediction not in ("soft", "hard"):
            raise ValueError("prediction must be 'soft' or 'hard'.")
        if c.projection not in ("shared", "per_layer", "none"):
            raise ValueError("projection must be 'shared', 'per_layer' or 'none'.")
        tc, sc = teacher.config, student.config
        tinybert_mapping(tc.num_hidden_layers, sc.num_hidden_layers, c.mapping, rounding=c.rounding)
        if c.intermediate_prediction_weight < 0:
            raise ValueError("intermediate_prediction_weight must be >= 0.")
        if self._weights()["attention_loss"] > 0:
            check_same_heads(tc.num_attention_heads, sc.num_attention_heads)
        if c.projection == "none" and sc.hidden_size != tc.hidden_size:
            raise ValueError(
                f"projection='none' needs equal widths, but the student is {sc.hidden_size} "
                f"wide and the teacher {tc.hidden_size}; use projection='shared'."
            )

    # -- layers and flags ---------------------------------------------------------------

    def build_layers(self, teacher, student, seq_length=None):
        c, sw, tw = self.config, student.config.hidden_size, teacher.config.hidden_size
        init = keras.initializers.RandomNormal(stddev=student.config.initializer_range)

        def dense(name):
            layer = keras.layers.Dense(tw, kernel_initializer=init, name=name)
            layer.build((None, None, sw))
            return layer

        if c.projection == "shared":
            return {"fit_dense": dense("fit_dense")}
        if c.projection == "per_layer":
            return {
                f"fit_dense_{j}": dense(f"fit_dense_{j}")
                for j in range(student.config.num_hidden_layers + 1)
            }
        return {}

    def _project(self, layers, j, h):
        if "fit_dense" in layers:
            return layers["fit_dense"](h)
        if layers:
            return layers[f"fit_dense_{j}"](h)
        return h

    def student_flags(self, stage):
        if stage not in _INTERMEDIATE:
            return {}
        w = self._weights()  # ask only for what a switched-on loss reads
        return {
            "output_hidden_states": w["embedding_loss"] > 0 or w["hidden_loss"] > 0,
            "output_attention_scores": w["attention_loss"] > 0,
        }

    teacher_flags = student_flags

    def uses_labels(self, stage):
        c = self.config
        joint = stage == "intermediate" and c.intermediate_prediction_weight > 0
        return (stage == "prediction" or joint) and c.prediction == "hard"

    def teacher_layers(self, stage, teacher_layers, student_layers):
        if self.config.teacher_dropout:
            return None
        if stage not in _INTERMEDIATE:
            return {"hidden": [], "attention": []}
        c = self.config
        mapping = tinybert_mapping(teacher_layers, student_layers, c.mapping, rounding=c.rounding)
        w = self._weights()
        hidden = [0] if w["embedding_loss"] > 0 else []
        hidden += mapping["hidden"][1:] if w["hidden_loss"] > 0 else []
        attention = mapping["attention"] if w["attention_loss"] > 0 else []
        return {"hidden": hidden, "attention": attention}

    def term_names(self, stage):
        if stage == "prediction":
            return ["prediction_loss"]
        names = [n for n, w in self._weights().items() if w > 0]
        if not names:
            raise ValueError("every TinyBERT intermediate loss is switched off.")
        if stage == "intermediate" and self.config.intermediate_prediction_weight > 0:
            names.append("prediction_loss")
        return names

    # -- losses -------------------------------------------------------------------------

    def loss_terms(self, stage, x, y, teacher_out, student_out, layers, training):
        c = self.config
        if stage == "prediction":
            return {"prediction_loss": self._prediction_loss(y, teacher_out, student_out)}

        s_hid, t_hid = student_out["hidden_states"], teacher_out["hidden_states"]
        mapping = tinybert_mapping(len(t_hid) - 1, len(s_hid) - 1, c.mapping, rounding=c.rounding)
        weights = self._weights()
        terms = {}
        if weights["embedding_loss"] > 0:
            terms["embedding_loss"] = weights["embedding_loss"] * hidden_state_mse(
                self._project(layers, 0, s_hid[0]), t_hid[0]
            )
        if weights["hidden_loss"] > 0:
            total = 0.0
            for j, tj in enumerate(mapping["hidden"][1:], start=1):
                total = total + hidden_state_mse(self._project(layers, j, s_hid[j]), t_hid[tj])
            terms["hidden_loss"] = weights["hidden_loss"] * total
        if weights["attention_loss"] > 0:
            mask = None
            if c.attention_mask_mode == "masked":
                sx = x.get("student_inputs", x)
                mask = sx.get("padding_mask", ops.ones_like(sx["token_ids"]))
            total = 0.0
            s_att, t_att = student_out["attention_scores"], teacher_out["attention_scores"]
            for i, ti in enumerate(mapping["attention"]):
                total = total + attention_score_mse(s_att[i], t_att[ti], mask)
            terms["attention_loss"] = weights["attention_loss"] * total
        if stage == "intermediate" and c.intermediate_prediction_weight > 0:
            terms["prediction_loss"] = c.intermediate_prediction_weight * self._prediction_loss(
                y, teacher_out, student_out
            )
        return terms

    def _prediction_loss(self, y, teacher_out, student_out):
        c, s = self.config, student_out["logits"]
        if c.prediction == "hard" or is_regression(s):
            return hard_label_loss(s, y)
        return soft_cross_entropy(
            s, teacher_out["logits"], c.temperature, mean_over_classes=c.mean_over_classes
        )

    def optimizer(self, stage, total_steps, layers):
        c = self.config
        if stage == "intermediate":  # schedule='none' in task_distill.py
            return make_optimizer(
                "adamw",
                c.intermediate_learning_rate,
                total_steps,
                constant=True,
                weight_decay=c.weight_decay,
            )
        lr = c.general_learning_rate if stage == "general" else c.learning_rate
        return make_optimizer(
            "adamw", lr, total_steps, warmup=c.warmup, weight_decay=c.weight_decay
        )
