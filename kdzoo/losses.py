"""Every loss of the five papers, as pure functions of tensors written with ``keras.ops``.

A loss here knows no model: it takes logits, hidden states or attention scores and
returns a scalar. Each docstring gives the paper's equation, a ``Formula:`` line (what
the function computes, index by index), the argument shapes, the reference and the
book chapter. Where the official code computes something other than the paper, the
default follows the code and a switch gives the paper (or the other reference), and
both are documented. ``tests/test_losses.py`` checks every default and every switch
against an independent NumPy restatement on all three backends.

=========================  ==========================================================
paper                      functions
=========================  ==========================================================
Hinton et al. 2015         :func:`hinton_kd_loss`
Tang et al. 2019           :func:`logit_mse`, :func:`tang_loss`
TinyBERT (Jiao et al.)     :func:`hidden_state_mse` (embeddings and hidden states),
                           :func:`attention_score_mse`, :func:`soft_cross_entropy`
DistilBERT (Sanh et al.)   :func:`token_kl_divergence`, :func:`mlm_cross_entropy`,
                           :func:`masked_cosine_loss`
PKD (Sun et al.)           :func:`patient_loss` (and :func:`hinton_kd_loss` with
                           ``mean_over_classes=True``)
LAD (Lin et al.)           :func:`highway_gate` / :class:`HighwayGate`,
                           :func:`aggregate_teacher_layers`, :func:`aggregated_hidden_mse`
=========================  ==========================================================

Where kdzoo meets ``keras.distillation``: the logit-level terms are also offered as
``keras.distillation.DistillationLoss`` subclasses (:class:`HintonDistillation`,
:class:`LogitMSEDistillation`), so a Keras ``Distiller`` over your own functional
models can use kdzoo's exact computations, and kdzoo's ``kd`` and ``bilstm`` methods
compute their soft terms through them. kdzoo goes further than ``keras.distillation``
for everything else: token-level logits with padding masks, pre-softmax attention
scores with TinyBERT's threshold, projected hidden states, [CLS] patience features and
LAD's gated aggregation need the internals of subclassed models, a layer mapping and
trainable projections or gates, so they are plain functions here and
:mod:`kdzoo.distillers` combines them.

Book chapter: ``book/losses/index.md``.
"""

from __future__ import annotations

import keras
from keras import ops

__all__ = [
    "HighwayGate",
    "HintonDistillation",
    "LogitMSEDistillation",
    "aggregate_teacher_layers",
    "aggregated_hidden_mse",
    "attention_score_mse",
    "hidden_state_mse",
    "highway_gate",
    "hinton_kd_loss",
    "logit_mse",
    "masked_cosine_loss",
    "mlm_cross_entropy",
    "patient_loss",
    "soft_cross_entropy",
    "tang_loss",
    "token_kl_divergence",
]


def _f32(x):
    return ops.cast(x, "float32")


def _check_temperature(temperature):
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}.")


# --------------------------------------------------------------------------- Hinton


def hinton_kd_loss(
    student_logits,
    teacher_logits,
    temperature: float = 1.0,
    *,
    scale_by_t2: bool = True,
    divergence: str = "kl",
    mean_over_classes: bool = False,
):
    """Hinton et al.'s soft-target loss between teacher and student logits.

    Paper (Hinton, Vinyals, Dean 2015, §2): the student matches the teacher's
    distribution softened by a temperature T; the soft-target gradients shrink as
    1/T², so the loss is multiplied by T² to keep its scale as T changes.

    Formula: ``T² · mean_b Σ_c p_T[b,c] · (log p_T[b,c] − log p_S[b,c])`` with
    ``p = softmax(z / T)`` (``divergence="kl"``). ``divergence="ce"`` drops the
    ``p_T log p_T`` term: the same gradient, offset by the teacher's entropy.
    ``mean_over_classes=True`` divides by B·C instead of B, as PyTorch's
    ``KLDivLoss(reduction="mean")`` in the official PKD code does.

    Args:
        student_logits: [B, C] student logits.
        teacher_logits: [B, C] teacher logits (constants: the caller stops gradients).
        temperature: T > 0.
        scale_by_t2: multiply by T² (Hinton's scaling; PKD, DistilBERT and LAD use it).
        divergence: ``"kl"`` or ``"ce"`` (soft-target cross-entropy).
        mean_over_classes: average over batch × classes (PKD's code) instead of batch.

    Returns:
        Scalar loss.

    Reference: G. Hinton, O. Vinyals, J. Dean. "Distilling the Knowledge in a Neural
    Network." NIPS Deep Learning Workshop, 2015. arXiv:1503.02531.
    Book chapter: ``book/intro/hinton.md``.
    """
    _check_temperature(temperature)
    if divergence not in ("kl", "ce"):
        raise ValueError(f"divergence must be 'kl' or 'ce', got '{divergence}'.")
    log_p_s = ops.log_softmax(_f32(student_logits) / temperature, axis=-1)
    log_p_t = ops.log_softmax(_f32(teacher_logits) / temperature, axis=-1)
    p_t = ops.exp(log_p_t)
    per_class = p_t * (log_p_t - log_p_s) if divergence == "kl" else -p_t * log_p_s
    loss = ops.mean(per_class) if mean_over_classes else ops.mean(ops.sum(per_class, axis=-1))
    return loss * (temperature**2) if scale_by_t2 else loss


# --------------------------------------------------------------------------- Tang et al.


def logit_mse(student_logits, teacher_logits, *, reduction: str = "mean"):
    """Mean squared error between student and teacher logits (Tang et al. 2019).

    Paper (Tang et al. 2019, Eq. 2): ``L_distill = ||z^(B) − z^(S)||²₂``, the squared
    L2 distance of the logit vectors, averaged over the batch.

    Formula: ``mean_{b,c} (z_S[b,c] − z_T[b,c])²`` (``reduction="mean"``, the
    reference code's ``nn.MSELoss()``, castorini/d-bert ``distill_birnn.py``), or
    ``mean_b Σ_c (z_S[b,c] − z_T[b,c])²`` (``reduction="sum_classes"``, the paper).
    The two differ by the factor C.

    Args:
        student_logits: [B, C].
        teacher_logits: [B, C].
        reduction: ``"mean"`` (code) or ``"sum_classes"`` (paper).

    Reference: R. Tang, Y. Lu, L. Liu, L. Mou, O. Vechtomova, J. Lin. "Distilling
    Task-Specific Knowledge from BERT into Simple Neural Networks." arXiv:1903.12136.
    Book chapter: ``book/methods/tang.md``.
    """
    sq = ops.square(_f32(student_logits) - _f32(teacher_logits))
    if reduction == "mean":
        return ops.mean(sq)
    if reduction == "sum_classes":
        return ops.mean(ops.sum(sq, axis=-1))
    raise ValueError(f"reduction must be 'mean' or 'sum_classes', got '{reduction}'.")


def tang_loss(
    student_logits, teacher_logits, labels=None, *, alpha: float = 0.0, reduction: str = "mean"
):
    """Tang et al.'s objective: ``α·CE(z_S, y) + (1 − α)·MSE(z_S, z_T)``.

    Paper (Tang et al. 2019, Eq. 3): ``L = α·L_CE + (1 − α)·L_distill``. The PaddleNLP
    reimplementation defaults to α = 0 (MSE only); castorini/d-bert adds the two
    terms with weight 1 each, which is ``2 · tang_loss(alpha=0.5)``.

    Formula: ``α · mean_b(−log softmax(z_S)[b, y_b]) + (1 − α) · logit_mse(z_S, z_T)``.

    Args:
        student_logits: [B, C].
        teacher_logits: [B, C].
        labels: [B] integer labels; needed when ``alpha > 0``. Augmented examples have
            no gold label: use ``alpha=0`` for them.
        alpha: weight of the cross-entropy term, in [0, 1].
        reduction: passed to :func:`logit_mse`.

    Reference: Tang et al. 2019, arXiv:1903.12136. Book chapter: ``book/methods/tang.md``.
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}.")
    mse = logit_mse(student_logits, teacher_logits, reduction=reduction)
    if alpha == 0.0:
        return mse
    if labels is None:
        raise ValueError("tang_loss with alpha > 0 needs the gold labels.")
    ce = ops.mean(
        keras.losses.sparse_categorical_crossentropy(labels, _f32(student_logits), from_logits=True)
    )
    return alpha * ce + (1.0 - alpha) * mse


# --------------------------------------------------------------------------- TinyBERT


def hidden_state_mse(student_hidden, teacher_hidden, padding_mask=None):
    """MSE between (projected) student hidden states and teacher hidden states.

    Paper (Jiao et al. 2020, Eq. 8 and 9): ``L_hidn = MSE(H^S W_h, H^T)`` and
    ``L_embd = MSE(E^S W_e, E^T)``; the caller applies the learnable projection W
    (``kdzoo.distillers`` owns it) and passes ``H^S W``.

    Formula: ``mean_{b,l,d} (H_S[b,l,d] − H_T[b,l,d])²`` over every position, padding
    included, as the official code (``task_distill.py`` L958–962) does. With
    ``padding_mask``, the mean runs over real tokens only:
    ``Σ_{b,l,d} m[b,l] (H_S − H_T)² / (D · Σ_{b,l} m[b,l])``.

    Args:
        student_hidden: [B, L, D], already projected to the teacher's width D.
        teacher_hidden: [B, L, D].
        padding_mask: optional [B, L], 1 for real tokens.

    Reference: X. Jiao et al. "TinyBERT: Distilling BERT for Natural Language
    Understanding." Findings of EMNLP 2020. arXiv:1909.10351.
    Book chapter: ``book/methods/tinybert.md``.
    """
    sq = ops.square(_f32(student_hidden) - _f32(teacher_hidden))
    if padding_mask is None:
        return ops.mean(sq)
    m = _f32(padding_mask)[:, :, None]
    return ops.sum(sq * m) / (ops.sum(m) * ops.cast(ops.shape(sq)[-1], "float32"))


def attention_score_mse(
    student_scores, teacher_scores, padding_mask=None, *, threshold: float = -100.0
):
    """TinyBERT's attention loss on **pre-softmax** scores.

    Paper (Jiao et al. 2020, Eq. 7): ``L_attn = (1/h) Σ_i MSE(A_i^S, A_i^T)`` with
    ``A = QKᵀ/√d_k``, the unnormalised scores, which the paper found to converge
    faster than softmax(A).

    Formula (default, ``padding_mask=None``, the official code, ``task_distill.py``
    L949–956): ``S' = where(S ≤ threshold, 0, S)``, the same for T, then
    ``mean_{b,h,q,k} (S' − T')²``. With kdzoo's additive −10000 mask, padded key
    columns fall below −100 and become 0 in both tensors: they add nothing to the
    sum but still count in the denominator B·h·L·L; rows of padding *queries* are
    kept. Any genuine score ≤ −100 is zeroed as well.

    Formula (mask-aware, ``padding_mask`` given): no threshold; the mean over the
    real query–key pairs, ``Σ m_q m_k (S − T)² / (h · Σ_b len_b²)``, as TextBrewer's
    masked ``attention_mse``.

    Args:
        student_scores: [B, h, L, L] pre-softmax scores (``BertModel`` output
            ``attention_scores``). Student and teacher need the same head count.
        teacher_scores: [B, h, L, L].
        padding_mask: optional [B, L]; selects the mask-aware mean.
        threshold: entries ≤ this are zeroed in the official mode.

    Reference: Jiao et al. 2020, arXiv:1909.10351. Book chapter:
    ``book/methods/tinybert.md`` (the attention loss).
    """
    s, t = _f32(student_scores), _f32(teacher_scores)
    if padding_mask is None:
        s = ops.where(s <= threshold, ops.zeros_like(s), s)
        t = ops.where(t <= threshold, ops.zeros_like(t), t)
        return ops.mean(ops.square(s - t))
    m = _f32(padding_mask)
    pair = m[:, None, :, None] * m[:, None, None, :]  # [B, 1, L, L]
    heads = ops.cast(ops.shape(s)[1], "float32")
    return ops.sum(ops.square(s - t) * pair) / (heads * ops.sum(pair))


def soft_cross_entropy(
    student_logits, teacher_logits, temperature: float = 1.0, *, mean_over_classes: bool = True
):
    """TinyBERT's prediction-layer loss: cross-entropy against the teacher's soft labels.

    Paper (Jiao et al. 2020, Eq. 10): ``L_pred = CE(z^T/t, z^S/t)`` with t = 1, the
    mean over the batch.

    Formula (default, the official code ``task_distill.py`` L905–908):
    ``mean_{b,c} (−softmax(z_T/T)[b,c] · log_softmax(z_S/T)[b,c])``, the mean over
    batch **and classes**, i.e. the batch-mean CE divided by C, with no T².
    ``mean_over_classes=False`` gives the paper's batch mean.

    Args:
        student_logits: [B, C].
        teacher_logits: [B, C].
        temperature: T > 0 (TinyBERT uses 1).
        mean_over_classes: divide by B·C (code) instead of B (paper).

    Reference: Jiao et al. 2020, arXiv:1909.10351. Book chapter:
    ``book/methods/tinybert.md`` (the prediction loss).
    """
    return hinton_kd_loss(
        student_logits,
        teacher_logits,
        temperature,
        scale_by_t2=False,
        divergence="ce",
        mean_over_classes=mean_over_classes,
    )


# --------------------------------------------------------------------------- DistilBERT


def token_kl_divergence(student_logits, teacher_logits, mask, temperature: float = 2.0):
    """DistilBERT's distillation loss over the selected token positions.

    Paper (Sanh et al. 2019, §2): ``L_ce = Σ_i t_i · log(s_i)`` over the teacher's soft
    target probabilities t_i, with the same temperature for both models.

    Formula (the official ``distiller.py``, ``KLDivLoss(reduction="batchmean")`` on
    the selected rows, times T²): ``T² · Σ_{(b,l): m=1} Σ_v p_T (log p_T − log p_S) /
    Σ m``, the KL summed over the vocabulary, averaged over the selected tokens.
    Select with ``mask``: the padding mask (the default in the code) or the MLM
    target positions (``--restrict_ce_to_mask``).

    Args:
        student_logits: [B, L, V] student MLM logits.
        teacher_logits: [B, L, V] teacher MLM logits.
        mask: [B, L], 1 for the positions that count.
        temperature: T > 0 (DistilBERT uses 2).

    Reference: V. Sanh, L. Debut, J. Chaumond, T. Wolf. "DistilBERT, a distilled
    version of BERT." arXiv:1910.01108. Book chapter: ``book/methods/distilbert.md``.
    """
    _check_temperature(temperature)
    log_p_s = ops.log_softmax(_f32(student_logits) / temperature, axis=-1)
    log_p_t = ops.log_softmax(_f32(teacher_logits) / temperature, axis=-1)
    kl = ops.sum(ops.exp(log_p_t) * (log_p_t - log_p_s), axis=-1)  # [B, L]
    m = _f32(mask)
    return ops.sum(kl * m) / ops.maximum(ops.sum(m), 1.0) * temperature**2


def mlm_cross_entropy(mlm_logits, labels, *, ignore_index: int = -100):
    """Masked-language-model cross-entropy over the target positions.

    Formula: ``mean_{(b,l): y ≠ ignore} −log softmax(z[b,l])[y[b,l]]``, as
    ``CrossEntropyLoss(ignore_index=-100)`` in DistilBERT's ``distiller.py``.

    Args:
        mlm_logits: [B, L, V].
        labels: [B, L] token ids at the targets and ``ignore_index`` elsewhere.
        ignore_index: the label of positions that do not count.

    Reference: J. Devlin et al. "BERT." NAACL 2019; Sanh et al. 2019.
    Book chapter: ``book/methods/distilbert.md``.
    """
    labels = ops.cast(labels, "int32")
    valid = ops.not_equal(labels, ignore_index)
    safe = ops.where(valid, labels, ops.zeros_like(labels))
    nll = keras.losses.sparse_categorical_crossentropy(safe, _f32(mlm_logits), from_logits=True)
    v = _f32(valid)
    return ops.sum(nll * v) / ops.maximum(ops.sum(v), 1.0)


def masked_cosine_loss(student_hidden, teacher_hidden, padding_mask):
    """DistilBERT's cosine loss between last hidden states, over real tokens.

    Formula: ``mean_{(b,l): m=1} (1 − cos(h_S[b,l], h_T[b,l]))``, as
    ``CosineEmbeddingLoss(target=1)`` on the rows ``attention_mask`` selects in the
    official ``distiller.py``. The paper does not say which layer; the code uses the
    last one.

    Args:
        student_hidden: [B, L, D] (same width as the teacher's).
        teacher_hidden: [B, L, D].
        padding_mask: [B, L], 1 for real tokens.

    Reference: Sanh et al. 2019, arXiv:1910.01108. Book chapter:
    ``book/methods/distilbert.md``.
    """
    s, t = _f32(student_hidden), _f32(teacher_hidden)
    eps = 1e-8  # as torch.nn.functional.cosine_similarity
    norms = ops.maximum(ops.norm(s, axis=-1) * ops.norm(t, axis=-1), eps)
    cos = ops.sum(s * t, axis=-1) / norms  # [B, L]
    m = _f32(padding_mask)
    return ops.sum((1.0 - cos) * m) / ops.maximum(ops.sum(m), 1.0)


# --------------------------------------------------------------------------- PKD


def patient_loss(student_cls, teacher_cls, *, normalize: bool = True, reduction: str = "mean"):
    """PKD's patient loss between the [CLS] states of mapped layers.

    Paper (Sun et al. 2019, Eq. 7): ``L_PT = Σ_i Σ_j || h_S / ||h_S||₂ − h_T / ||h_T||₂ ||²₂``
    over examples i and mapped layers j.

    Formula (default, the official ``src/KD_loss.py`` ``patience_loss``):
    L2-normalise along H (if ``normalize``), then ``mean_{b,k,h} (s − t)²``, the mean
    over batch, layers **and the hidden size**; the β grid of 10–1000 in the official
    scripts fits this scaling. ``reduction="sum_hidden"`` sums over H, averages over
    the batch and sums over layers (TextBrewer's ``pkd_loss``, one match per layer):
    ``Σ_k mean_b Σ_h (s − t)²``.

    Args:
        student_cls: [B, K, H] [CLS] vectors of the K mapped student layers.
        teacher_cls: [B, K, H] [CLS] vectors of the K mapped teacher layers.
        normalize: L2-normalise each vector first (PKD's default).
        reduction: ``"mean"`` (official) or ``"sum_hidden"`` (TextBrewer).

    Reference: S. Sun, Y. Cheng, Z. Gan, J. Liu. "Patient Knowledge Distillation for
    BERT Model Compression." EMNLP-IJCNLP 2019. arXiv:1908.09355.
    Book chapter: ``book/methods/pkd.md``.
    """
    s, t = _f32(student_cls), _f32(teacher_cls)
    if normalize:  # F.normalize(p=2, dim=2): x / max(||x||, 1e-12)
        s = s / ops.maximum(ops.norm(s, axis=-1, keepdims=True), 1e-12)
        t = t / ops.maximum(ops.norm(t, axis=-1, keepdims=True), 1e-12)
    sq = ops.square(s - t)
    if reduction == "mean":
        return ops.mean(sq)
    if reduction == "sum_hidden":
        return ops.sum(ops.mean(ops.sum(sq, axis=-1), axis=0))
    raise ValueError(f"reduction must be 'mean' or 'sum_hidden', got '{reduction}'.")


# --------------------------------------------------------------------------- LAD


def highway_gate(prev, teacher_hidden, kernel, bias, gamma, beta, *, epsilon: float = 1e-5):
    """LAD's gate block: mix one more teacher layer into the running aggregate.

    Formula (``IKMLab/LAD`` ``fine_tune/model/_gate.py``, ``HighwayGate``):
    ``G = σ(prev · W + b)``, ``out = LayerNorm_[S,D](H_T · G + prev · (1 − G))``. The
    LayerNorm normalises **jointly over all positions and features** of each example
    (``normalized_shape=[S, D]``) with affine parameters γ, β of shape [S, D], so it
    needs fixed-length padding. :func:`aggregate_teacher_layers` chains the gates.

    Args:
        prev: [B, S, D] the aggregate so far.
        teacher_hidden: [B, S, D] the next teacher layer.
        kernel: [D, D] gate weights W (applied as ``prev @ W``).
        bias: [D].
        gamma: [S, D] LayerNorm scale.
        beta: [S, D] LayerNorm shift.
        epsilon: LayerNorm epsilon (PyTorch's default 1e-5, as in the LAD code).

    Returns:
        [B, S, D], the new aggregate.

    Reference: Y.-J. Lin, K.-Y. Chen, H.-Y. Kao. "LAD: Layer-Wise Adaptive
    Distillation for BERT Model Compression." Sensors 23(3):1483, 2023.
    Book chapter: ``book/methods/lad.md``.
    """
    prev, th = _f32(prev), _f32(teacher_hidden)
    g = ops.sigmoid(ops.matmul(prev, kernel) + bias)  # [B, S, D]
    mixed = th * g + prev * (1.0 - g)
    mean = ops.mean(mixed, axis=(1, 2), keepdims=True)
    var = ops.mean(ops.square(mixed - mean), axis=(1, 2), keepdims=True)
    return (mixed - mean) / ops.sqrt(var + epsilon) * gamma + beta


@keras.saving.register_keras_serializable(package="kdzoo")
class HighwayGate(keras.layers.Layer):
    """The trainable weights of one LAD gate around :func:`highway_gate`.

    Initialisation follows the LAD code: W Xavier-uniform, b zero, γ one, β zero.

    Args:
        seq_length: S, the fixed sequence length (the LayerNorm runs over [S, D]).
        hidden_size: D.
    """

    def __init__(self, seq_length: int, hidden_size: int, epsilon: float = 1e-5, **kwargs):
        super().__init__(**kwargs)
        self.seq_length, self.hidden_size, self.epsilon = seq_length, hidden_size, epsilon

    def build(self, input_shape=None):
        s, d = self.seq_length, self.hidden_size
        self.kernel = self.add_weight(shape=(d, d), initializer="glorot_uniform", name="kernel")
        self.bias = self.add_weight(shape=(d,), initializer="zeros", name="bias")
        self.gamma = self.add_weight(shape=(s, d), initializer="ones", name="gamma")
        self.beta = self.add_weight(shape=(s, d), initializer="zeros", name="beta")
        self.built = True

    def call(self, prev, teacher_hidden):
        return highway_gate(
            prev,
            teacher_hidden,
            self.kernel,
            self.bias,
            self.gamma,
            self.beta,
            epsilon=self.epsilon,
        )

    def get_config(self):
        return {
            **super().get_config(),
            "seq_length": self.seq_length,
            "hidden_size": self.hidden_size,
            "epsilon": self.epsilon,
        }


def aggregate_teacher_layers(teacher_hiddens, gates, *, reverse: bool = False):
    """LAD's iterative aggregation of all teacher layers.

    Formula (``IKMLab/LAD`` ``train_LAD.py`` L242–308): ``A_1 = H_T^1`` and
    ``A_l = gate_l(A_{l−1}, H_T^l)`` for l = 2..N. In the official code the first of
    its N gates receives an all-zero ``prev`` and returns the teacher layer
    unchanged, so its weights never matter; kdzoo builds the N − 1 gates that do.
    ``reverse=True`` (``--reverse_gate``) aggregates from the top layer down.

    Args:
        teacher_hiddens: N tensors [B, S, D], the teacher's layer outputs (no embeddings).
        gates: N − 1 callables ``gate(prev, teacher_hidden)``, e.g. :class:`HighwayGate`.
        reverse: aggregate from layer N down to layer 1.

    Returns:
        N aggregates [B, S, D]; entry l − 1 is ``A_l``.

    Reference: Lin, Chen, Kao 2023, Sensors 23(3):1483. Book chapter:
    ``book/methods/lad.md``.
    """
    layers = list(teacher_hiddens)[::-1] if reverse else list(teacher_hiddens)
    if len(gates) != len(layers) - 1:
        raise ValueError(
            f"{len(layers)} teacher layers need {len(layers) - 1} gates, got {len(gates)}."
        )
    out = [_f32(layers[0])]
    for gate, hidden in zip(gates, layers[1:], strict=True):
        out.append(gate(out[-1], hidden))
    return out[::-1] if reverse else out


def aggregated_hidden_mse(student_hiddens, aggregated, *, weight: float = 1.0):
    """LAD's hidden loss: each student layer against its gated teacher aggregate.

    Formula (``IKMLab/LAD`` ``fine_tune/util/train_LAD.py`` L93–112):
    ``Σ_j μ · mean_{b,s,d} (H_S^j − A_{t(j)})² / M`` over the M student layers, with
    no padding mask. Gradients reach both the student and the gates.

    Args:
        student_hiddens: M tensors [B, S, D], the student's layer outputs (no embeddings).
        aggregated: M tensors [B, S, D], the aggregates matched to those layers.
        weight: μ, ``--hidden_mse_weight`` in the LAD scripts (500 or 1000 there).

    Reference: Lin, Chen, Kao 2023, Sensors 23(3):1483. Book chapter:
    ``book/methods/lad.md``.
    """
    if len(student_hiddens) != len(aggregated):
        raise ValueError(
            f"{len(student_hiddens)} student layers but {len(aggregated)} aggregates; "
            "match one aggregate to each student layer."
        )
    m = len(student_hiddens)
    total = 0.0
    for s, a in zip(student_hiddens, aggregated, strict=True):
        total = total + ops.mean(ops.square(_f32(s) - _f32(a)))
    return weight * total / m


# --------------------------------------------------------------------------- keras.distillation

_DistillationLoss = getattr(getattr(keras, "distillation", None), "DistillationLoss", object)


class HintonDistillation(_DistillationLoss):
    """:func:`hinton_kd_loss` as a ``keras.distillation.DistillationLoss``.

    Use it with ``keras.distillation.Distiller`` on models with one logits output::

        keras.distillation.Distiller(teacher, student,
                                     distillation_losses=HintonDistillation(temperature=4))
    """

    def __init__(
        self,
        temperature: float = 4.0,
        scale_by_t2: bool = True,
        divergence: str = "kl",
        mean_over_classes: bool = False,
    ):
        self.temperature, self.scale_by_t2 = temperature, scale_by_t2
        self.divergence, self.mean_over_classes = divergence, mean_over_classes

    def compute_loss(self, teacher_outputs, student_outputs, **kwargs):
        return hinton_kd_loss(
            student_outputs,
            teacher_outputs,
            self.temperature,
            scale_by_t2=self.scale_by_t2,
            divergence=self.divergence,
            mean_over_classes=self.mean_over_classes,
        )

    def get_config(self):
        return {
            "temperature": self.temperature,
            "scale_by_t2": self.scale_by_t2,
            "divergence": self.divergence,
            "mean_over_classes": self.mean_over_classes,
        }


class LogitMSEDistillation(_DistillationLoss):
    """:func:`logit_mse` (Tang et al.) as a ``keras.distillation.DistillationLoss``."""

    def __init__(self, reduction: str = "mean"):
        self.reduction = reduction

    def compute_loss(self, teacher_outputs, student_outputs, **kwargs):
        return logit_mse(student_outputs, teacher_outputs, reduction=self.reduction)

    def get_config(self):
        return {"reduction": self.reduction}
