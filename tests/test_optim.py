"""kdzoo's optimizers: the schedule, and FusedAdamW against Keras's AdamW and an
independent NumPy restatement."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from conftest import BACKEND, to_numpy

from kdzoo.optim import FusedAdamW, WarmupLinear, make_optimizer

STEPS = 5


def _variables():
    rng = np.random.default_rng(0)
    return [
        keras.Variable(rng.standard_normal((7, 5)).astype("float32"), name="kernel"),
        keras.Variable(rng.standard_normal((5,)).astype("float32"), name="bias"),
    ]


def _grads(step):
    rng = np.random.default_rng(100 + step)
    scale = 10.0 if step == 2 else 1.0  # one step whose kernel gradient gets clipped
    return [
        (scale * rng.standard_normal((7, 5))).astype("float32"),
        rng.standard_normal((5,)).astype("float32"),
    ]


def _train(optimizer):
    variables = _variables()
    optimizer.exclude_from_weight_decay(var_names=["bias"])
    history = []
    for step in range(STEPS):
        grads = [keras.ops.convert_to_tensor(g) for g in _grads(step)]
        optimizer.apply(grads, variables)
        history.append([to_numpy(v).copy() for v in variables])
    return history


def _numpy_adamw(lr_at, weight_decay, beta_1, beta_2, epsilon, clipnorm):
    """Keras's AdamW written out: decay, then the moments, with ε before the correction."""
    params = [to_numpy(v).astype(np.float64) for v in _variables()]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    history = []
    for step in range(STEPS):
        lr, t = lr_at(step), step + 1
        for i, g in enumerate(_grads(step)):
            g = g.astype(np.float64)
            norm = np.sqrt((g**2).sum())
            if clipnorm is not None and norm > clipnorm:
                g = g * clipnorm / norm
            if i == 0:  # the bias (i == 1) is excluded from weight decay
                params[i] = params[i] - params[i] * weight_decay * lr
            m[i] = beta_1 * m[i] + (1 - beta_1) * g
            v[i] = beta_2 * v[i] + (1 - beta_2) * g * g
            alpha = lr * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
            params[i] = params[i] - alpha * m[i] / (np.sqrt(v[i]) + epsilon)
        history.append([p.copy() for p in params])
    return history


@pytest.mark.parametrize("clipnorm", [None, 1.0])
def test_adamw_matches_keras_and_numpy(clipnorm):
    schedule = WarmupLinear(1e-2, total_steps=STEPS, warmup=0.4)
    settings = dict(weight_decay=0.1, beta_2=0.98, epsilon=1e-6, clipnorm=clipnorm)
    ours = _train(FusedAdamW(learning_rate=schedule, **settings))
    theirs = _train(keras.optimizers.AdamW(learning_rate=schedule, **settings))
    lr_at = lambda step: float(to_numpy(schedule(step)))  # noqa: E731
    expected = _numpy_adamw(lr_at, 0.1, 0.9, 0.98, 1e-6, clipnorm)
    for step in range(STEPS):
        for a, b, c in zip(ours[step], theirs[step], expected[step], strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=f"step {step}")
            np.testing.assert_allclose(a, c, rtol=1e-5, atol=1e-6, err_msg=f"step {step}")
    assert not np.allclose(ours[-1][0], to_numpy(_variables()[0]))  # it trained


@pytest.mark.skipif(BACKEND != "torch", reason="the fused kernel is torch's")
def test_adamw_runs_torch_fused_kernel(monkeypatch):
    import torch

    calls = []
    fused = torch._fused_adamw_

    def counting(params, *args, **kwargs):
        calls.append((len(params), kwargs["weight_decay"]))
        return fused(params, *args, **kwargs)

    monkeypatch.setattr(torch, "_fused_adamw_", counting)
    _train(FusedAdamW(learning_rate=1e-3, weight_decay=0.01))
    # One call per step for the decaying kernel and one for the excluded bias.
    assert sorted(calls[:2]) == [(1, 0.0), (1, 0.01)] and len(calls) == 2 * STEPS


@pytest.mark.skipif(BACKEND != "torch", reason="torch.compile is torch's")
def test_adamw_steps_aside_inside_torch_compile():
    """Inside ``torch.compile`` (a model compiled with ``jit_compile=True`` on torch)
    the update is Keras's arithmetic, traced: torch's fused kernel updates the tensors
    in place, which the compiled graph rejects. The compiled updates equal NumPy's."""
    import torch

    optimizer = FusedAdamW(learning_rate=1e-2, weight_decay=0.1, beta_2=0.98, epsilon=1e-6)
    variables = _variables()
    optimizer.exclude_from_weight_decay(var_names=["bias"])
    optimizer.build(variables)
    compiled = torch.compile(lambda grads: optimizer.apply(grads, variables))
    expected = _numpy_adamw(lambda step: 1e-2, 0.1, 0.9, 0.98, 1e-6, None)
    for step in range(STEPS):
        compiled([keras.ops.convert_to_tensor(g) for g in _grads(step)])
        for v, e in zip(variables, expected[step], strict=True):
            np.testing.assert_allclose(to_numpy(v), e, rtol=1e-5, atol=1e-6, err_msg=f"step {step}")


def test_make_optimizer_adamw_excludes_norms_and_biases():
    opt = make_optimizer("adamw", 1e-3, 10, fused=False)  # Keras's own AdamW
    assert isinstance(opt, keras.optimizers.AdamW) and not isinstance(opt, FusedAdamW)
    fused = make_optimizer("adamw", 1e-3, 10, fused=True)
    assert isinstance(fused, FusedAdamW)
    # The default: the fused kernel on torch; Keras's AdamW on jax and tensorflow.
    default = make_optimizer("adamw", 1e-3, 10)
    assert isinstance(default, FusedAdamW) == (BACKEND == "torch")
    assert isinstance(FusedAdamW.from_config(fused.get_config()), FusedAdamW)
    gamma = keras.Variable(np.ones(3, "float32"), name="gamma")
    kernel = keras.Variable(np.ones((3, 3), "float32"), name="kernel")
    opt.build([gamma, kernel])
    assert not opt._use_weight_decay(gamma) and opt._use_weight_decay(kernel)
    with pytest.raises(ValueError, match="adamw"):
        make_optimizer("sgd")


def test_warmup_linear_schedule():
    s = WarmupLinear(1.0, total_steps=10, warmup=0.2)
    values = [float(to_numpy(s(step))) for step in (0, 1, 2, 6, 10, 12)]
    np.testing.assert_allclose(values, [0.0, 0.5, 1.0, 0.5, 0.0, 0.0], atol=1e-6)
    constant = WarmupLinear(3e-5, total_steps=10, constant=True)
    assert float(to_numpy(constant(7))) == pytest.approx(3e-5)


@pytest.mark.parametrize("name", ["adamw", "adadelta"])
def test_repeated_tokens_get_the_dense_update(name):
    """A token looked up several times in a batch: its embedding row takes the step of
    the summed gradient on every backend. (Keras's Adam on tensorflow updates the moments
    row by row of the IndexedSlices; its first step would then be 3x the learning rate
    for a token seen 9 times with equal gradients.)"""
    keras.utils.set_random_seed(0)
    embedding = keras.layers.Embedding(4, 2)
    ids = np.array([[1] * 9 + [2]], "int32")
    model = keras.Sequential([keras.Input((10,), dtype="int32"), embedding])
    lr = 0.1
    opt = make_optimizer(name, lr, 10, constant=True, weight_decay=0.0, clipnorm=None)
    before = to_numpy(embedding.embeddings).copy()
    # loss = sum of the looked-up vectors: every occurrence's gradient is (1, 1)
    model.compile(optimizer=opt, loss=lambda y, out: keras.ops.sum(out, axis=(1, 2)))
    model.train_on_batch(ids, np.zeros((1,), "float32"))
    step = before - to_numpy(embedding.embeddings)
    if name == "adamw":  # Adam's first step: lr · g / |g| per element
        np.testing.assert_allclose(step[[1, 2]], lr, rtol=1e-4)
    else:  # Adadelta's first step grows with the gradient: row 1's gradient is 9x row 2's
        g = np.array([9.0, 1.0])
        rho, eps = 0.95, opt.epsilon
        expected = np.sqrt(eps) / np.sqrt((1 - rho) * g**2 + eps) * g * lr
        np.testing.assert_allclose(step[[1, 2], 0], expected, rtol=1e-3)
    np.testing.assert_array_equal(step[[0, 3]], 0.0)  # rows not looked up stay


def test_dense_gradients_only_where_gradients_are_sparse():
    """tensorflow gets DenseGradients; jax has dense gradients. On torch, AdamW is
    FusedAdamW (its own torch update) and Keras's AdamW with ``fused=False``; Adadelta
    keeps Keras's own torch class (a subclass would fall back to Keras's slower generic
    update)."""
    from kdzoo.optim import DenseGradients

    for name in ("adamw", "adadelta"):
        opt = make_optimizer(name, 1e-3, 10)
        if BACKEND == "torch" and name == "adamw":
            assert isinstance(opt, FusedAdamW)
            continue
        assert isinstance(opt, DenseGradients) == (BACKEND == "tensorflow"), name
        if BACKEND == "torch":
            assert type(opt).__module__.startswith("keras.src.backend.torch"), type(opt)
    if BACKEND == "torch":
        keras_own = make_optimizer("adamw", 1e-3, 10, fused=False)
        assert type(keras_own).__module__.startswith("keras.src.backend.torch")
