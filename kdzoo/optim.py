"""Learning-rate schedules and optimizers the papers use, in ``keras.ops``.

- :class:`WarmupLinear`: linear warm-up then linear decay to zero (BERT, TinyBERT's
  prediction stage, DistilBERT, LAD, PKD).
- :func:`make_optimizer`: AdamW (or Adadelta for Tang et al.) with that schedule, with
  weight decay off for biases and LayerNorm parameters as in the reference code.
- :class:`FusedAdamW`: Keras's AdamW whose update runs as one fused kernel on torch
  (:func:`make_optimizer`'s default there).

kdzoo uses Keras's AdamW rather than BertAdam (TinyBERT, PKD), whose quirks are no bias
correction, per-tensor clipping and a zero first step; the book's TinyBERT chapter
discusses the difference.
"""

from __future__ import annotations

import math

import keras
from keras import ops

__all__ = ["Adadelta", "AdamW", "DenseGradients", "FusedAdamW", "WarmupLinear", "make_optimizer"]


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


def _dense(gradient):
    """An embedding's sparse gradient (tensorflow's ``IndexedSlices``, one row per
    looked-up token, a token's rows repeated) as the dense gradient it stands for:
    the rows of a repeated token summed."""
    if type(gradient).__name__ != "IndexedSlices":
        return gradient
    return ops.scatter(ops.expand_dims(gradient.indices, -1), gradient.values, gradient.dense_shape)


class DenseGradients:
    """Optimizer mixin: apply an embedding's gradient as the dense one (tensorflow).

    On tensorflow an embedding's gradient arrives as ``IndexedSlices`` and Keras's Adam
    updates its moments slice by slice: a token that occurs k times in the batch adds
    k squared rows to ``v`` instead of the square of their sum, so its step differs
    from the one torch and jax take (up to √k times the learning rate on the first
    step). Densifying first gives every backend the same update, and the same one on 1
    device and under ``tf.distribute``, whose all-reduce sums the rows.
    :func:`make_optimizer` uses it on tensorflow only: torch and jax gradients are
    dense already, and on torch a subclass would leave Keras's own torch AdamW.
    """

    def apply(self, grads, trainable_variables=None):
        return super().apply([_dense(g) for g in grads], trainable_variables)


@keras.saving.register_keras_serializable(package="kdzoo")
class AdamW(DenseGradients, keras.optimizers.AdamW):
    """Keras's AdamW with :class:`DenseGradients`."""


@keras.saving.register_keras_serializable(package="kdzoo")
class Adadelta(DenseGradients, keras.optimizers.Adadelta):
    """Keras's Adadelta (Tang et al.) with :class:`DenseGradients`."""


@keras.saving.register_keras_serializable(package="kdzoo")
class FusedAdamW(AdamW):
    """Keras's AdamW whose update, on the torch backend, runs as one fused kernel.

    The arithmetic is Keras's: decoupled weight decay ``θ ← θ(1 − η·λ)`` for the
    variables that decay, then ``m ← β₁m + (1 − β₁)g``, ``v ← β₂v + (1 − β₂)g²`` and
    ``θ ← θ − η·√(1 − β₂ᵗ)/(1 − β₁ᵗ) · m/(√v + ε)``. On jax and tensorflow this class is
    exactly ``keras.optimizers.AdamW`` (their compilers fuse the update already). On
    torch, Keras updates through ``torch._foreach_*`` ops, which on a CPU run one kernel
    per tensor and allocate temporaries: 87 ms per step for TinyBERT4's 14.4 M
    parameters, against 9 ms for torch's fused AdamW kernel
    (``benchmarks/README.md``). Here the torch update calls that kernel, with ε passed
    as ``ε / √(1 − β₂ᵗ)``: torch adds ε after the bias correction, Keras before, and
    this keeps Keras's update. It is the one place kdzoo calls a backend's own API, as
    Keras's own torch optimizers do. Without torch's kernel (amsgrad, EMA, gradient
    accumulation, or a torch without ``_fused_adamw_``) and inside ``torch.compile``
    (a model compiled with ``jit_compile=True``), it falls back to Keras's arithmetic.

    :func:`make_optimizer` returns it by default on torch (``fused=False`` gives Keras's
    own AdamW). Its updates agree with Keras's to float rounding (tests/test_optim.py);
    over a training run rounding differences grow, as they do between machines and
    thread counts. The book's committed runs and the compare table in the README were
    trained with Keras's AdamW, before this became the default. (A subclass of Keras's
    AdamW also leaves Keras's own torch implementation, so its fallback path is the
    slower generic one.)
    """

    def _fused(self) -> bool:
        if keras.backend.backend() != "torch":
            return False
        if self.amsgrad or self.use_ema:
            return False
        if self.gradient_accumulation_steps:
            return False
        import torch

        if torch.compiler.is_compiling():
            # Inside torch.compile (``jit_compile=True`` on torch): torch's kernel updates
            # the tensors in place, which the compiled graph rejects; Keras's arithmetic
            # is traced instead, and the compiler fuses it.
            return False
        return hasattr(torch, "_fused_adamw_")

    def _apply_weight_decay(self, variables):
        if not self._fused():
            return super()._apply_weight_decay(variables)
        # Folded into the fused update below.

    def _backend_update_step(self, grads, trainable_variables, learning_rate):
        if not self._fused():
            return super()._backend_update_step(grads, trainable_variables, learning_rate)
        import torch

        step = float(ops.convert_to_numpy(self.iterations)) + 1.0
        lr = float(ops.convert_to_numpy(learning_rate))
        eps = self.epsilon / math.sqrt(1.0 - self.beta_2**step)
        groups: dict[bool, tuple[list, list, list, list]] = {}
        for grad, variable in zip(grads, trainable_variables, strict=True):
            i = self._get_variable_index(variable)
            decays = bool(self.weight_decay) and self._use_weight_decay(variable)
            params, gs, ms, vs = groups.setdefault(decays, ([], [], [], []))
            params.append(variable.value)
            gs.append(grad.contiguous())
            ms.append(self._momentums[i].value)
            vs.append(self._velocities[i].value)
        with torch.no_grad():
            for decays, (params, gs, ms, vs) in groups.items():
                torch._fused_adamw_(
                    params,
                    gs,
                    ms,
                    vs,
                    [],
                    [torch.tensor(step) for _ in params],
                    lr=lr,
                    beta1=self.beta_1,
                    beta2=self.beta_2,
                    weight_decay=self.weight_decay if decays else 0.0,
                    eps=eps,
                    amsgrad=False,
                    maximize=False,
                )


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
    fused: bool | None = None,
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
        fused: return :class:`FusedAdamW`, whose update on torch is one fused kernel
            (a TinyBERT4 student's update: 9 ms instead of 87). None (the default): on
            torch only; on jax and tensorflow it is Keras's AdamW either way. False:
            Keras's own AdamW on every backend.
    """
    tf = keras.backend.backend() == "tensorflow"  # sparse gradients: DenseGradients
    if name == "adadelta":
        cls = Adadelta if tf else keras.optimizers.Adadelta
        return cls(learning_rate=learning_rate, rho=0.95, epsilon=epsilon)
    if name != "adamw":
        raise ValueError(f"unknown optimizer '{name}'; choose 'adamw' or 'adadelta'.")
    schedule = WarmupLinear(learning_rate, total_steps, warmup, constant)
    if fused is None:
        fused = keras.backend.backend() == "torch"
    opt = (FusedAdamW if fused else AdamW if tf else keras.optimizers.AdamW)(
        learning_rate=schedule,
        weight_decay=weight_decay,
        beta_2=beta_2,
        epsilon=epsilon,
        clipnorm=clipnorm,
        global_clipnorm=global_clipnorm,
    )
    opt.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    return opt
