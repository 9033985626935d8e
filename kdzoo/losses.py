"""Distillation losses as pure functions of tensors, written with ``keras.ops``.

A loss here knows no model: it takes logits or hidden states and returns a scalar.
Each docstring gives the paper's equation, a ``Formula:`` line, the argument
shapes and the reference. Book chapter: ``book/losses/index.md``.
"""

from __future__ import annotations

from keras import ops

__all__ = ["hinton_kd_loss"]


def hinton_kd_loss(
    student_logits,
    teacher_logits,
    temperature: float = 1.0,
    *,
    scale_by_t2: bool = True,
    divergence: str = "kl",
):
    """Hinton et al.'s soft-target loss between teacher and student logits.

    Paper (Hinton, Vinyals, Dean 2015, §2): the student matches the teacher's
    distribution softened by a temperature T; the gradients shrink as 1/T², so the
    loss is multiplied by T² to keep its scale when T changes.

    Formula: ``T² · mean_b Σ_c p_T[b,c] · (log p_T[b,c] - log p_S[b,c])`` with
    ``p = softmax(z / T)`` (``divergence="kl"``); ``divergence="ce"`` drops the
    ``p_T log p_T`` term (same gradient, offset by the teacher's entropy).

    Args:
        student_logits: [B, C] student logits.
        teacher_logits: [B, C] teacher logits (treated as constants by the caller).
        temperature: T > 0.
        scale_by_t2: multiply by T² (Hinton's scaling). Off gives the raw divergence.
        divergence: ``"kl"`` or ``"ce"`` (soft-target cross-entropy).

    Returns:
        Scalar loss, averaged over the batch.

    Reference: G. Hinton, O. Vinyals, J. Dean. "Distilling the Knowledge in a Neural
    Network." NIPS Deep Learning Workshop, 2015. arXiv:1503.02531.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}.")
    if divergence not in ("kl", "ce"):
        raise ValueError(f"divergence must be 'kl' or 'ce', got '{divergence}'.")
    log_p_s = ops.log_softmax(ops.cast(student_logits, "float32") / temperature, axis=-1)
    log_p_t = ops.log_softmax(ops.cast(teacher_logits, "float32") / temperature, axis=-1)
    p_t = ops.exp(log_p_t)
    per_class = p_t * (log_p_t - log_p_s) if divergence == "kl" else -p_t * log_p_s
    loss = ops.mean(ops.sum(per_class, axis=-1))
    return loss * (temperature**2) if scale_by_t2 else loss
