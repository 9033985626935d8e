"""Losses against independent NumPy restatements, on the backend under test."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import to_numpy

from kdzoo.losses import hinton_kd_loss


def np_log_softmax(z):
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


@pytest.mark.parametrize("temperature", [1.0, 2.0, 8.0])
@pytest.mark.parametrize("scale_by_t2", [True, False])
@pytest.mark.parametrize("divergence", ["kl", "ce"])
def test_hinton_kd_loss_matches_numpy(temperature, scale_by_t2, divergence):
    rng = np.random.default_rng(0)
    s, t = rng.normal(size=(5, 4)) * 3, rng.normal(size=(5, 4)) * 3
    log_ps, log_pt = np_log_softmax(s / temperature), np_log_softmax(t / temperature)
    pt = np.exp(log_pt)
    terms = pt * (log_pt - log_ps) if divergence == "kl" else -pt * log_ps
    expected = terms.sum(-1).mean() * (temperature**2 if scale_by_t2 else 1.0)
    got = hinton_kd_loss(
        s.astype("float32"),
        t.astype("float32"),
        temperature,
        scale_by_t2=scale_by_t2,
        divergence=divergence,
    )
    np.testing.assert_allclose(to_numpy(got), expected, rtol=1e-5)


def test_kl_is_zero_when_student_equals_teacher():
    z = np.random.default_rng(1).normal(size=(3, 5)).astype("float32")
    assert abs(float(to_numpy(hinton_kd_loss(z, z, 3.0)))) < 1e-6


def test_bad_arguments():
    z = np.zeros((2, 3), "float32")
    with pytest.raises(ValueError, match="temperature must be > 0"):
        hinton_kd_loss(z, z, 0.0)
    with pytest.raises(ValueError, match="'kl' or 'ce'"):
        hinton_kd_loss(z, z, divergence="mse")
