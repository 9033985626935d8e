"""Every loss, default and switched, against an independent NumPy restatement.

The NumPy side restates what the official code computes (float64), written from the
formulas in ../shared/reference/methods.md, not from kdzoo's code. Inputs are padded
batches where a mask matters. Tolerance: 1e-5 relative in float32.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import to_numpy

from kdzoo import losses as L

RTOL = 1e-5
rng = np.random.default_rng(0)
LENGTHS = [7, 4, 2]
B, S = len(LENGTHS), 7
MASK = np.array([[1] * n + [0] * (S - n) for n in LENGTHS], np.float64)


def f32(x):
    return np.asarray(x, np.float32)


def close(got, expected):
    np.testing.assert_allclose(to_numpy(got), expected, rtol=RTOL, atol=1e-7)


def np_log_softmax(z, axis=-1):
    z = z - z.max(axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis, keepdims=True))


# ------------------------------------------------------------------ Hinton / TinyBERT pred

S_LOGITS, T_LOGITS = rng.normal(size=(5, 4)) * 3, rng.normal(size=(5, 4)) * 3


@pytest.mark.parametrize("temperature", [1.0, 2.0, 8.0])
@pytest.mark.parametrize("scale_by_t2", [True, False])
@pytest.mark.parametrize("divergence", ["kl", "ce"])
@pytest.mark.parametrize("mean_over_classes", [False, True])
def test_hinton_kd_loss(temperature, scale_by_t2, divergence, mean_over_classes):
    log_ps = np_log_softmax(S_LOGITS / temperature)
    log_pt = np_log_softmax(T_LOGITS / temperature)
    pt = np.exp(log_pt)
    terms = pt * (log_pt - log_ps) if divergence == "kl" else -pt * log_ps
    expected = terms.mean() if mean_over_classes else terms.sum(-1).mean()
    expected *= temperature**2 if scale_by_t2 else 1.0
    close(
        L.hinton_kd_loss(
            f32(S_LOGITS),
            f32(T_LOGITS),
            temperature,
            scale_by_t2=scale_by_t2,
            divergence=divergence,
            mean_over_classes=mean_over_classes,
        ),
        expected,
    )


def test_pkd_kd_term_is_torch_kldiv_mean_times_t2():
    """PKD: KLDivLoss(reduction='mean')(log_softmax(y/T), softmax(t/T)) * T*T."""
    import torch

    t = 10.0
    ref = (
        torch.nn.KLDivLoss(reduction="mean")(
            torch.log_softmax(torch.tensor(S_LOGITS) / t, -1),
            torch.softmax(torch.tensor(T_LOGITS) / t, -1),
        )
        * t
        * t
    )
    close(L.hinton_kd_loss(f32(S_LOGITS), f32(T_LOGITS), t, mean_over_classes=True), ref.item())


def test_kl_is_zero_for_identical_logits():
    z = f32(S_LOGITS)
    assert abs(float(to_numpy(L.hinton_kd_loss(z, z, 3.0)))) < 1e-6


@pytest.mark.parametrize("mean_over_classes", [True, False])
def test_tinybert_soft_cross_entropy(mean_over_classes):
    ce = -np.exp(np_log_softmax(T_LOGITS)) * np_log_softmax(S_LOGITS)
    expected = ce.mean() if mean_over_classes else ce.sum(-1).mean()
    close(
        L.soft_cross_entropy(f32(S_LOGITS), f32(T_LOGITS), mean_over_classes=mean_over_classes),
        expected,
    )
    # The official reduction is the paper's divided by the number of classes.
    if mean_over_classes:
        np.testing.assert_allclose(expected * 4, ce.sum(-1).mean())


# ------------------------------------------------------------------ Tang et al.


@pytest.mark.parametrize("reduction", ["mean", "sum_classes"])
def test_logit_mse(reduction):
    sq = (S_LOGITS - T_LOGITS) ** 2
    expected = sq.mean() if reduction == "mean" else sq.sum(-1).mean()
    close(L.logit_mse(f32(S_LOGITS), f32(T_LOGITS), reduction=reduction), expected)


@pytest.mark.parametrize("alpha", [0.0, 0.3, 1.0])
def test_tang_loss(alpha):
    labels = np.array([0, 3, 1, 2, 2])
    ce = -np_log_softmax(S_LOGITS)[np.arange(5), labels].mean()
    expected = alpha * ce + (1 - alpha) * ((S_LOGITS - T_LOGITS) ** 2).mean()
    close(L.tang_loss(f32(S_LOGITS), f32(T_LOGITS), labels, alpha=alpha), expected)


def test_tang_loss_needs_labels_for_ce():
    with pytest.raises(ValueError, match="needs the gold labels"):
        L.tang_loss(f32(S_LOGITS), f32(T_LOGITS), alpha=0.5)


# ------------------------------------------------------------------ TinyBERT intermediate


def bert_like_scores(seed):
    """Scores as a BERT computes them: QKᵀ/√d plus (1 - mask)·(-10000) on the keys."""
    r = np.random.default_rng(seed)
    raw = r.normal(size=(B, 3, S, S)) * 4
    raw[0, 0, 1, 2] = -150.0  # a genuine score below the threshold: zeroed too
    return raw + (1.0 - MASK)[:, None, None, :] * -10000.0


def test_attention_score_mse_official():
    s, t = bert_like_scores(1), bert_like_scores(2)
    s0, t0 = np.where(s <= -100, 0, s), np.where(t <= -100, 0, t)
    expected = ((s0 - t0) ** 2).mean()  # denominator B·h·L·L, padding rows included
    close(L.attention_score_mse(f32(s), f32(t)), expected)
    # Padding-query rows count: changing one changes the loss.
    s2 = s.copy()
    s2[2, 0, 5, :2] += 1.0
    assert float(to_numpy(L.attention_score_mse(f32(s2), f32(t)))) != pytest.approx(expected)


def test_attention_score_mse_mask_aware():
    s, t = bert_like_scores(1), bert_like_scores(2)
    num, den = 0.0, 0.0
    for b, n in enumerate(LENGTHS):
        num += ((s[b, :, :n, :n] - t[b, :, :n, :n]) ** 2).sum()
        den += 3 * n * n
    close(L.attention_score_mse(f32(s), f32(t), MASK), num / den)


@pytest.mark.parametrize("masked", [False, True])
def test_hidden_state_mse(masked):
    hs, ht = rng.normal(size=(B, S, 6)), rng.normal(size=(B, S, 6))
    if masked:
        diffs = [((hs[b, :n] - ht[b, :n]) ** 2) for b, n in enumerate(LENGTHS)]
        expected = sum(d.sum() for d in diffs) / (sum(LENGTHS) * 6)
    else:
        expected = ((hs - ht) ** 2).mean()
    close(L.hidden_state_mse(f32(hs), f32(ht), MASK if masked else None), expected)


# ------------------------------------------------------------------ DistilBERT

V = 11
TOK_S, TOK_T = rng.normal(size=(B, S, V)) * 2, rng.normal(size=(B, S, V)) * 2


@pytest.mark.parametrize("temperature", [1.0, 2.0])
def test_token_kl_divergence_over_padding_mask(temperature):
    import torch

    sel = MASK.astype(bool)
    s = torch.tensor(TOK_S[sel]) / temperature
    t = torch.tensor(TOK_T[sel]) / temperature
    ref = torch.nn.KLDivLoss(reduction="batchmean")(torch.log_softmax(s, -1), torch.softmax(t, -1))
    close(
        L.token_kl_divergence(f32(TOK_S), f32(TOK_T), MASK, temperature),
        ref.item() * temperature**2,
    )


def test_token_kl_divergence_over_mlm_positions():
    mlm = np.zeros_like(MASK)
    mlm[0, 2] = mlm[1, 1] = 1
    log_ps, log_pt = np_log_softmax(TOK_S / 2), np_log_softmax(TOK_T / 2)
    kl = (np.exp(log_pt) * (log_pt - log_ps)).sum(-1)
    close(L.token_kl_divergence(f32(TOK_S), f32(TOK_T), mlm, 2.0), (kl * mlm).sum() / 2 * 4)


def test_mlm_cross_entropy():
    labels = np.full((B, S), -100)
    labels[0, 1], labels[1, 3], labels[2, 0] = 4, 7, 10
    sel = labels != -100
    expected = -np_log_softmax(TOK_S)[sel, labels[sel]].mean()
    close(L.mlm_cross_entropy(f32(TOK_S), labels), expected)


def test_masked_cosine_loss():
    import torch

    hs, ht = rng.normal(size=(B, S, 6)), rng.normal(size=(B, S, 6))
    sel = MASK.astype(bool)
    ref = torch.nn.CosineEmbeddingLoss()(
        torch.tensor(hs[sel]), torch.tensor(ht[sel]), torch.ones(int(sel.sum()))
    )
    close(L.masked_cosine_loss(f32(hs), f32(ht), MASK), ref.item())


# ------------------------------------------------------------------ PKD


@pytest.mark.parametrize("normalize", [True, False])
@pytest.mark.parametrize("reduction", ["mean", "sum_hidden"])
def test_patient_loss(normalize, reduction):
    s_raw, t_raw = rng.normal(size=(B, 5, 8)) * 3, rng.normal(size=(B, 5, 8)) * 3
    s, t = s_raw, t_raw
    if normalize:
        s = s_raw / np.linalg.norm(s_raw, axis=-1, keepdims=True)
        t = t_raw / np.linalg.norm(t_raw, axis=-1, keepdims=True)
    sq = (s - t) ** 2
    # official: F.mse_loss over B·K·H; TextBrewer: per layer, sum over H, mean over B.
    expected = sq.mean() if reduction == "mean" else sq.sum(-1).mean(0).sum()
    close(
        L.patient_loss(f32(s_raw), f32(t_raw), normalize=normalize, reduction=reduction), expected
    )


# ------------------------------------------------------------------ LAD


def np_gate(prev, th, w, b, gamma, beta, eps=1e-5):
    g = 1 / (1 + np.exp(-(prev @ w + b)))
    x = th * g + prev * (1 - g)
    mu = x.mean(axis=(1, 2), keepdims=True)
    var = x.var(axis=(1, 2), keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * gamma + beta


def test_highway_gate_layer_norm_over_sequence_and_features():
    d = 6
    prev, th = rng.normal(size=(B, S, d)), rng.normal(size=(B, S, d))
    w, b = rng.normal(size=(d, d)), rng.normal(size=d)
    gamma, beta = rng.normal(size=(S, d)), rng.normal(size=(S, d))
    got = L.highway_gate(f32(prev), f32(th), f32(w), f32(b), f32(gamma), f32(beta))
    # A tensor, not a scalar loss: entries near zero need an absolute float32 tolerance.
    np.testing.assert_allclose(
        to_numpy(got), np_gate(prev, th, w, b, gamma, beta), rtol=RTOL, atol=1e-6
    )


def test_lad_aggregation_and_hidden_loss():
    d, n_teacher = 4, 6
    teacher = [rng.normal(size=(B, S, d)) for _ in range(n_teacher)]
    gates = [L.HighwayGate(S, d) for _ in range(n_teacher - 1)]
    for g in gates:
        g.build()
        g.bias.assign(f32(rng.normal(size=d)))
    agg = L.aggregate_teacher_layers([f32(h) for h in teacher], gates)
    # NumPy: A_1 = H_1 unchanged, A_l = gate_l(A_{l-1}, H_l).
    expected = [teacher[0]]
    for g, h in zip(gates, teacher[1:], strict=True):
        w, b, gm, bt = (to_numpy(v) for v in (g.kernel, g.bias, g.gamma, g.beta))
        expected.append(np_gate(expected[-1], h, w, b, gm, bt))
    for got, exp in zip(agg, expected, strict=True):
        np.testing.assert_allclose(to_numpy(got), exp, rtol=1e-4, atol=1e-5)
    # Student of 3 layers matched to A_2, A_4, A_6; loss = μ Σ_j mean(...) / M.
    student = [rng.normal(size=(B, S, d)) for _ in range(3)]
    matched = [expected[1], expected[3], expected[5]]
    want = 500 * sum(((s - a) ** 2).mean() for s, a in zip(student, matched, strict=True)) / 3
    close(
        L.aggregated_hidden_mse([f32(s) for s in student], [f32(a) for a in matched], weight=500),
        want,
    )
    rev = L.aggregate_teacher_layers([f32(h) for h in teacher], gates, reverse=True)
    np.testing.assert_allclose(to_numpy(rev[-1]), teacher[-1], rtol=1e-6)  # top passes through


def test_lad_errors():
    with pytest.raises(ValueError, match="need 3 gates"):
        L.aggregate_teacher_layers([f32(np.zeros((1, 2, 2)))] * 4, [])
    with pytest.raises(ValueError, match="match one aggregate"):
        L.aggregated_hidden_mse([f32(np.zeros((1, 2, 2)))], [])


def test_bad_arguments():
    z = f32(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="temperature must be > 0"):
        L.hinton_kd_loss(z, z, 0.0)
    with pytest.raises(ValueError, match="'kl' or 'ce'"):
        L.hinton_kd_loss(z, z, divergence="mse")
    with pytest.raises(ValueError, match="'mean' or 'sum_classes'"):
        L.logit_mse(z, z, reduction="sum")
    with pytest.raises(ValueError, match="'mean' or 'sum_hidden'"):
        L.patient_loss(z[None], z[None], reduction="sum")


def test_losses_plug_into_keras_distillation():
    """kdzoo's logit losses work inside keras.distillation.Distiller (functional models)."""
    import keras

    x = rng.normal(size=(64, 6)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")

    def mlp(width):
        return keras.Sequential(
            [keras.Input((6,)), keras.layers.Dense(width, activation="relu"), keras.layers.Dense(2)]
        )

    teacher, student = mlp(32), mlp(4)
    teacher.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    teacher.fit(x, y, epochs=20, verbose=0)
    for loss in (L.HintonDistillation(temperature=2.0), L.LogitMSEDistillation()):
        d = keras.distillation.Distiller(
            teacher, student, distillation_losses=loss, student_loss_weight=0.0
        )
        d.compile(
            optimizer=keras.optimizers.Adam(1e-2),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        hist = d.fit(x, y, epochs=10, batch_size=16, verbose=0).history["distillation_loss"]
        assert hist[-1] < hist[0]
        expected = loss.compute_loss(teacher(x), student(x))
        assert float(to_numpy(expected)) >= 0.0
