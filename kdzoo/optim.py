"""Learning-rate schedules and optimizers the papers use, in ``keras.ops``.

- :class:`WarmupLinear`: linear warm-up then linear decay to zero (BERT, TinyBERT's
  prediction stage, DistilBERT, LAD, PKD).
- :func:`make_optimizer`: AdamW (or Adadelta for Tang et al.) with that schedule, with
  weight decay off for biases and LayerNorm parameters as in the reference code.

kdzoo uses Keras's AdamW rather than BertAdam (TinyBERT, PKD), whose quirks are no bias
correction, per-tensor clipping and a zero first step; the book's TinyBERT chapter
discusses the difference.
"""

from __future__ import annotations

import keras
from keras import ops

__all__ = ["WarmupLinear", "make_optimizer"]


@keras.saving.register_keras_serializable(package="kdzoo")
class WarmupLinear(keras.optimizers.schedules.LearningRateSchedule):
    """``lr · step / w`` for the first ``w = warmup · total`` steps, then linear to 0.

    Args:
        learning_rate: the peak learning rate.
        total_steps: steps of the whole run.
        warmup: fraction of ``total_steps`` spent warming up (0 for none).
        constant: keep ``learning_rate`` throughout (TinyBERT's intermediate stage).
    """

    def __init__(
        self, learning_rate: float, total_steps: int, warmup: float = 0.1, constant: bool = False
    ):
        self.learning_rate, self.total_steps = float(learning_rate), max(int(total_steps), 1)
        self.warmup, self.constant = float(warmup), bool(constant)

    def __call__(self, step):
        lr = ops.convert_to_tensor(self.learning_rate, "float32")
        if self.constant:
            return lr
        step = ops.cast(step, "float32")
        total = float(self.total_steps)
        warm = max(self.warmup * total, 1e-9)
        up = step / warm
        down = ops.maximum((total - step) / max(total - warm, 1e-9), 0.0)
        return lr * ops.where(step < warm, up, down)

    def get_config(self):
        return {
            "learning_rate": self.learning_rate,
            "total_steps": self.total_steps,
            "warmup": self.warmup,
            "constant": self.constant,
        }


def make_optimizer(
    name: str = "adamw",
    learning_rate: float = 5e-5,
    total_steps: int = 1000,
    *,
    warmup: float = 0.1,
    constant: bool = False,
    weight_decay: float = 0.01,
    clipnorm: float | None = 1.0,
    global_clipnorm: float | None = None,
    beta_2: float = 0.999,
    epsilon: float = 1e-6,
):
    """An optimizer with the :class:`WarmupLinear` schedule.

    Args:
        name: ``"adamw"`` or ``"adadelta"`` (Tang et al.; no schedule, rho 0.95).
        learning_rate: peak learning rate.
        total_steps: for the schedule.
        warmup: warm-up fraction.
        constant: constant learning rate (no warm-up, no decay).
        weight_decay: decoupled weight decay; biases and LayerNorm are excluded.
        clipnorm: clip each gradient tensor to this norm, as BertAdam does (None: off).
        global_clipnorm: clip the global gradient norm instead (DistilBERT: 5).
        beta_2, epsilon: Adam's second-moment decay and epsilon.
    """
    if name == "adadelta":
        return keras.optimizers.Adadelta(learning_rate=learning_rate, rho=0.95, epsilon=epsilon)
    if name != "adamw":
        raise ValueError(f"unknown optimizer '{name}'; choose 'adamw' or 'adadelta'.")
    schedule = WarmupLinear(learning_rate, total_steps, warmup, constant)
    opt = keras.optimizers.AdamW(
        learning_rate=schedule,
        weight_decay=weight_decay,
        beta_2=beta_2,
        epsilon=epsilon,
        clipnorm=clipnorm,
        global_clipnorm=global_clipnorm,
    )
    opt.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    return opt
