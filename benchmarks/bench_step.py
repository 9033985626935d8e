"""Benchmarks 1 and 3: one TinyBERT task-distillation step, four ways.

The step: a BERT-base-shaped teacher (random weights) and a TinyBERT4 student; the
intermediate losses (embeddings and hidden states through a learnable projection,
pre-softmax attention scores with the official ≤ −100 zeroing, uniform mapping
g(m) = 3m) plus the prediction loss (soft cross-entropy, T = 1) in one step, as
TextBrewer's ``GeneralDistiller`` trains them; batch 8, length 64; AdamW.

``--impl`` picks what runs in this process:

- ``kdzoo``: :class:`kdzoo.Distiller` with ``tinybert`` at the intermediate stage and
  ``intermediate_prediction_weight=1``, on ``KERAS_BACKEND``, through ``train_on_batch``
  (Keras's compiled train function: ``jax.jit``, ``tf.function`` or eager torch).
  Its optimizer is kdzoo's (:func:`kdzoo.optim.make_optimizer`: AdamW, weight decay
  0.01 off biases and LayerNorms, no clipping, as the hand-written loop; on torch its
  update is torch's fused AdamW kernel, see :class:`kdzoo.optim.FusedAdamW`).
- ``kdzoo-cached``: the same with the teacher's logits and mapped states read from
  :class:`kdzoo.data.cache.TeacherCache` (what epochs two onward do): no teacher pass.
- ``kdzoo-keras-adamw`` (torch): ``kdzoo`` with ``make_optimizer(..., fused=False)``,
  Keras's own AdamW, which on torch updates tensor by tensor (kdzoo's default before
  the fused kernel): what the fused update saves.
- ``torch``: a hand-written PyTorch + transformers loop computing the same losses, as a
  user would write it (``torch.optim.AdamW`` with its defaults). transformers returns
  attention probabilities, so the loop registers an attention function that hands
  back the pre-softmax scores instead.
- ``textbrewer``: TextBrewer's ``GeneralDistiller`` with the equivalent
  ``intermediate_matches`` (``attention_mse``; ``hidden_mse`` with a linear projection
  per match) and ``kd_loss_type="ce"``, timed between the batches its loop asks for.
- ``side-by-side`` (torch): ``kdzoo``, ``torch`` and ``textbrewer`` in one process, one
  step of each in turn; the ratios of targets 1a and 1c are taken from it, since
  separate processes on a host whose speed drifts differ by several percent. With
  ``--jit``, a fourth entry ``kdzoo-jit``: kdzoo's distiller compiled with
  ``jit_compile=True`` (``torch.compile`` of the whole step, the optimizer's update
  included); its first step, the compilation, is reported as ``compile_seconds`` and
  kept out of the timing (so is its second, which compiles again: it is a warm-up step,
  its time in ``step_ms_all``).

Each run times one step; the result is the median of ``--runs`` steps after
``--warmup`` steps. The process also times a square float32 GEMM with the same
library, the machine's attainable peak, and reports the step's achieved FLOP/s against
it (FLOPs counted from the shapes: teacher forward, student forward and backward as
3× forward, projections). Peak memory is the process's maximum resident set size.
Run all of them side by side with ``python -m benchmarks``; this script prints one
JSON object::

    KERAS_BACKEND=jax python benchmarks/bench_step.py --impl kdzoo
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import tempfile
import time

import numpy as np
from _machine import machine

from kdzoo.mapping import tinybert_mapping
from kdzoo.models.bert import BertConfig

IMPLS = ("kdzoo", "kdzoo-cached", "kdzoo-keras-adamw", "torch", "textbrewer", "side-by-side")


# ----------------------------------------------------------------------------- shapes


def shapes(args) -> tuple[BertConfig, BertConfig]:
    teacher = BertConfig.from_preset(args.teacher, num_labels=2)
    student = BertConfig.from_preset(args.student, num_labels=2)
    if args.vocab_size:
        teacher = BertConfig(**{**teacher.__dict__, "vocab_size": args.vocab_size})
        student = BertConfig(**{**student.__dict__, "vocab_size": args.vocab_size})
    return teacher, student


def bert_forward_flops(c: BertConfig, batch: int, length: int) -> float:
    """Multiply-adds × 2 of a BERT encoder forward pass (embedding lookups are free).

    Per token and layer: Q, K, V and output projections 4·2H², the feed-forward 2·2HI,
    the scores QKᵀ and the weighted sum PV 2·2LH. Plus pooler and classifier.
    """
    h, i, n = c.hidden_size, c.intermediate_size, c.num_hidden_layers
    per_token = n * (8 * h * h + 4 * h * i + 4 * length * h)
    return batch * length * per_token + batch * (2 * h * h + 2 * h * (c.num_labels or 0))


def step_flops(teacher: BertConfig, student: BertConfig, batch: int, length: int) -> dict:
    mapping = tinybert_mapping(teacher.num_hidden_layers, student.num_hidden_layers, "uniform")
    projection = len(mapping["hidden"]) * 2 * student.hidden_size * teacher.hidden_size
    teacher_fwd = bert_forward_flops(teacher, batch, length)
    student_fwd = bert_forward_flops(student, batch, length) + batch * length * projection
    return {
        "teacher_forward": teacher_fwd,
        "student_forward_backward": 3 * student_fwd,
        "total": teacher_fwd + 3 * student_fwd,
        "total_without_teacher": 3 * student_fwd,
    }


def inputs(c: BertConfig, batch: int, length: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    ids = rng.integers(1000 if c.vocab_size > 2000 else 5, c.vocab_size, (batch, length))
    ids[:, 0] = 101 if c.vocab_size > 2000 else 2  # [CLS]
    return {
        "token_ids": ids.astype(np.int32),
        "segment_ids": np.zeros((batch, length), np.int32),
        "padding_mask": np.ones((batch, length), np.int32),
        "labels": rng.integers(0, 2, batch).astype(np.int32),
    }


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def report(measure: str, impl: str, args, **fields) -> dict:
    """Print and return one measurement's JSON: the fields every benchmark script shares
    (what ran, on which backend, the shapes and runs, peak memory, the machine)."""
    kdzoo = impl.startswith("kdzoo")
    result = {
        "measure": measure,
        "impl": impl,
        "backend": os.environ.get("KERAS_BACKEND", "torch") if kdzoo else "torch",
        "batch_size": args.batch_size,
        "length": args.length,
        "runs": args.runs,
        "warmup": args.warmup,
        **fields,
        "peak_rss_mb": peak_rss_mb(),
        "machine": machine(),
    }
    print(json.dumps(result))
    return result


def _median_ms(seconds: list[float]) -> float:
    return 1000 * statistics.median(seconds)


# ----------------------------------------------------------------------------- GEMM peak


GEMM_WARMUP, GEMM_RUNS = 3, 10  # the clock settles over the first few products


def gemm_peak_keras(n: int) -> float:
    """GFLOP/s of an n×n×n float32 matmul through ``keras.ops`` on this backend (median)."""
    import keras

    rng = np.random.default_rng(0)
    a = keras.ops.convert_to_tensor(rng.standard_normal((n, n), np.float32))
    b = keras.ops.convert_to_tensor(rng.standard_normal((n, n), np.float32))
    times = []
    for _ in range(GEMM_WARMUP + GEMM_RUNS):
        start = time.perf_counter()
        keras.ops.convert_to_numpy(keras.ops.matmul(a, b)[0, 0])  # waits for the result
        times.append(time.perf_counter() - start)
    return 2 * n**3 / statistics.median(times[GEMM_WARMUP:]) / 1e9


def gemm_peak_torch(n: int) -> float:
    import torch

    a, b = torch.randn(n, n), torch.randn(n, n)
    times = []
    for _ in range(GEMM_WARMUP + GEMM_RUNS):
        start = time.perf_counter()
        torch.matmul(a, b)
        times.append(time.perf_counter() - start)
    return 2 * n**3 / statistics.median(times[GEMM_WARMUP:]) / 1e9


# ----------------------------------------------------------------------------- kdzoo


def kdzoo_step(args, cached: bool = False, keras_adamw: bool = False, jit: bool = False):
    """Build kdzoo's distiller for the benchmark step; returns ``(step, info)``, where
    ``step()`` runs one ``train_on_batch`` and returns its logs. ``jit``: compiled with
    ``jit_compile=True``."""
    import keras

    from kdzoo import Distiller, get_method
    from kdzoo.data.cache import TeacherCache
    from kdzoo.models import BertModel
    from kdzoo.optim import make_optimizer

    t_cfg, s_cfg = shapes(args)
    keras.utils.set_random_seed(0)
    teacher, student = BertModel(t_cfg), BertModel(s_cfg)
    method = get_method("tinybert", intermediate_prediction_weight=1.0)
    distiller = Distiller(method, teacher, student, stage="intermediate", seed=0)
    fused = False if keras_adamw else None  # None: kdzoo's default (fused on torch)
    optimizer = make_optimizer("adamw", 1e-4, constant=True, clipnorm=None, fused=fused)
    distiller.compile(optimizer=optimizer, jit_compile=True if jit else "auto")
    batch = inputs(t_cfg, args.batch_size, args.length)
    y = batch.pop("labels")
    x = batch
    fill_seconds = None
    if cached:
        layers = method.teacher_layers(
            "intermediate", t_cfg.num_hidden_layers, s_cfg.num_hidden_layers
        )
        wanted = {"hidden_layers": layers["hidden"], "attention_layers": layers["attention"]}
        with tempfile.TemporaryDirectory() as tmp:
            cache = TeacherCache(tmp)
            start = time.perf_counter()
            cache.teacher_outputs(teacher, x, batch_size=args.batch_size, progress=False, **wanted)
            fill_seconds = time.perf_counter() - start
            # Epochs two onward: the same call finds the file and reads it back.
            x = cache.attach(x, cache.teacher_outputs(teacher, x, progress=False, **wanted))

    distiller.prepare(x, y)  # as kdzoo.distill does before fit

    def step():
        return distiller.train_on_batch(x, y, return_dict=True)  # values are Python floats

    info = {
        "optimizer": f"{type(optimizer).__module__}.{type(optimizer).__name__}",
        "cache_fill_seconds": fill_seconds,
    }
    return step, info


def run_kdzoo(args, cached: bool, keras_adamw: bool = False) -> dict:
    step, info = kdzoo_step(args, cached, keras_adamw)
    times = []
    for _ in range(args.warmup + args.runs):
        start = time.perf_counter()
        logs = step()
        times.append(time.perf_counter() - start)
    assert np.isfinite(logs["loss"]), logs
    return {
        "step_ms": _median_ms(times[args.warmup :]),
        "step_ms_all": [1000 * t for t in times],
        "loss_terms": sorted(k for k in logs if k != "loss"),
        **info,
        "gemm_gflops": gemm_peak_keras(args.gemm_size),
    }


# ----------------------------------------------------------------------------- PyTorch


def hf_config(c: BertConfig):
    """transformers' ``BertConfig`` with the shape of kdzoo's ``c``."""
    from transformers import BertConfig as HFConfig

    return HFConfig(
        vocab_size=c.vocab_size,
        hidden_size=c.hidden_size,
        num_hidden_layers=c.num_hidden_layers,
        num_attention_heads=c.num_attention_heads,
        intermediate_size=c.intermediate_size,
        max_position_embeddings=c.max_position_embeddings,
        num_labels=c.num_labels,
    )


def _torch_models(args):
    import torch
    from transformers import AttentionInterface, BertForSequenceClassification

    def pre_softmax_scores(
        module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs
    ):
        """Eager attention that returns the scores QKᵀ/√d + mask instead of the probabilities."""
        scores = torch.matmul(query, key.transpose(2, 3)) * scaling
        if attention_mask is not None:
            scores = scores + attention_mask
        probs = torch.nn.functional.dropout(
            torch.softmax(scores, dim=-1), p=dropout, training=module.training
        )
        return torch.matmul(probs, value).transpose(1, 2).contiguous(), scores

    AttentionInterface.register("pre_softmax_scores", pre_softmax_scores)

    def hf(c: BertConfig):
        config = hf_config(c)
        config._attn_implementation = "pre_softmax_scores"
        return BertForSequenceClassification(config)

    torch.manual_seed(0)
    t_cfg, s_cfg = shapes(args)
    teacher, student = hf(t_cfg).eval(), hf(s_cfg).train()
    for p in teacher.parameters():
        p.requires_grad_(False)
    raw = inputs(t_cfg, args.batch_size, args.length)
    batch = {
        "input_ids": torch.as_tensor(raw["token_ids"], dtype=torch.long),
        "token_type_ids": torch.as_tensor(raw["segment_ids"], dtype=torch.long),
        "attention_mask": torch.as_tensor(raw["padding_mask"], dtype=torch.long),
    }
    return teacher, student, batch, t_cfg, s_cfg


def torch_step(args):
    """The hand-written PyTorch + transformers step; returns ``step()`` (the loss)."""
    import torch
    import torch.nn.functional as F

    teacher, student, batch, t_cfg, s_cfg = _torch_models(args)
    mapping = tinybert_mapping(t_cfg.num_hidden_layers, s_cfg.num_hidden_layers, "uniform")
    fit_dense = torch.nn.Linear(s_cfg.hidden_size, t_cfg.hidden_size)
    optimizer = torch.optim.AdamW([*student.parameters(), *fit_dense.parameters()], lr=1e-4)
    flags = {"output_hidden_states": True, "output_attentions": True}

    def zeroed(scores):
        return torch.where(scores <= -100, torch.zeros_like(scores), scores)

    def step():
        with torch.no_grad():
            t = teacher(**batch, **flags)
        s = student(**batch, **flags)
        loss = 0.0
        for j, tj in enumerate(mapping["hidden"]):
            loss = loss + F.mse_loss(fit_dense(s.hidden_states[j]), t.hidden_states[tj])
        for i, ti in enumerate(mapping["attention"]):
            loss = loss + F.mse_loss(zeroed(s.attentions[i]), zeroed(t.attentions[ti]))
        soft = torch.softmax(t.logits, dim=-1)
        loss = loss + (-soft * torch.log_softmax(s.logits, dim=-1)).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return float(loss.detach())

    return step


def run_torch(args) -> dict:
    step = torch_step(args)
    times = []
    for _ in range(args.warmup + args.runs):
        start = time.perf_counter()
        loss = step()
        times.append(time.perf_counter() - start)
    assert np.isfinite(loss)
    return {
        "step_ms": _median_ms(times[args.warmup :]),
        "step_ms_all": [1000 * t for t in times],
        "optimizer": "torch.optim.AdamW (defaults)",
        "gemm_gflops": gemm_peak_torch(args.gemm_size),
    }


# ----------------------------------------------------------------------------- TextBrewer


class _TimedBatches:
    """Hands the same batch to a training loop n times and times the loop's step on
    each: from handing it out to the loop's next request. ``between(i)``, when given,
    runs after step i, outside the timed span."""

    def __init__(self, batch, n: int, between=None):
        self.batch, self.n, self.between, self.times = batch, n, between, []

    def __len__(self) -> int:
        return self.n

    def __iter__(self):
        for i in range(self.n):
            start = time.perf_counter()
            yield self.batch
            self.times.append(time.perf_counter() - start)
            if self.between is not None:
                self.between(i)


def run_textbrewer(args, between=None) -> dict:
    import logging

    import torch
    from textbrewer import DistillationConfig, GeneralDistiller, TrainingConfig

    logging.getLogger("Distillation").setLevel(logging.WARNING)
    teacher, student, batch, t_cfg, s_cfg = _torch_models(args)
    mapping = tinybert_mapping(t_cfg.num_hidden_layers, s_cfg.num_hidden_layers, "uniform")
    matches = [
        {
            "layer_T": tj,
            "layer_S": j,
            "feature": "hidden",
            "loss": "hidden_mse",
            "weight": 1,
            "proj": ["linear", s_cfg.hidden_size, t_cfg.hidden_size],
        }
        for j, tj in enumerate(mapping["hidden"])
    ] + [
        {"layer_T": ti, "layer_S": i, "feature": "attention", "loss": "attention_mse", "weight": 1}
        for i, ti in enumerate(mapping["attention"])
    ]

    def adaptor(batch, outputs):
        return {
            "logits": outputs.logits,
            "hidden": outputs.hidden_states,
            "attention": outputs.attentions,
        }

    optimizer = torch.optim.AdamW(student.parameters(), lr=1e-4)
    loader = _TimedBatches(batch, args.warmup + args.runs, between)
    with tempfile.TemporaryDirectory() as tmp:
        distiller = GeneralDistiller(
            TrainingConfig(device="cpu", output_dir=tmp, log_dir=None, ckpt_frequency=1),
            DistillationConfig(
                temperature=1,
                kd_loss_type="ce",
                kd_loss_weight=1,
                hard_label_weight=0,
                intermediate_matches=matches,
            ),
            teacher,
            student,
            adaptor,
            adaptor,
        )
        with distiller:
            distiller.train(
                optimizer, loader, num_epochs=1, output_hidden_states=True, output_attentions=True
            )
    times = loader.times
    return {
        "step_ms": _median_ms(times[args.warmup :]),
        "step_ms_all": [1000 * t for t in times],
        "optimizer": "torch.optim.AdamW (defaults), projections added by TextBrewer",
        "gemm_gflops": gemm_peak_torch(args.gemm_size),
    }


# ----------------------------------------------------------------------------- side by side


def run_side_by_side(args) -> dict:
    """kdzoo (torch), the hand-written loop, TextBrewer (when installed) and, with
    ``--jit``, kdzoo compiled, in one process, one step of each in turn, so that a host
    whose speed drifts moves them all alike. TextBrewer's loop drives the rounds (each
    of its steps is followed by one step of each of the others, in forward and reverse
    order by turns)."""
    import importlib.util

    if os.environ.get("KERAS_BACKEND", "torch") != "torch":
        raise SystemExit("--impl side-by-side compares torch implementations: KERAS_BACKEND=torch")
    kdzoo, _ = kdzoo_step(args)
    steps = {"kdzoo": lambda: kdzoo()["loss"], "torch": torch_step(args)}  # each: the loss
    extra: dict[str, dict] = {}
    if args.jit:
        compiled, _ = kdzoo_step(args, jit=True)
        start = time.perf_counter()
        compiled()  # the first call compiles
        extra["kdzoo-jit"] = {"compile_seconds": time.perf_counter() - start}
        steps["kdzoo-jit"] = lambda: compiled()["loss"]
    times_ms: dict[str, list[float]] = {name: [] for name in steps}
    losses: dict[str, float] = {}

    def one_round(i: int) -> None:
        for name in steps if i % 2 == 0 else reversed(steps):
            start = time.perf_counter()
            losses[name] = steps[name]()
            times_ms[name].append(1000 * (time.perf_counter() - start))

    if importlib.util.find_spec("textbrewer"):
        times_ms["textbrewer"] = run_textbrewer(args, between=one_round)["step_ms_all"]
    else:
        for i in range(args.warmup + args.runs):
            one_round(i)
    assert all(np.isfinite(v) for v in losses.values()), losses
    return {
        "steps": {
            name: {
                "step_ms": statistics.median(ts[args.warmup :]),
                "step_ms_all": ts,
                **extra.get(name, {}),
            }
            for name, ts in times_ms.items()
        },
        "order": "per round: TextBrewer, then the others (kdzoo, the hand-written loop, "
        "kdzoo-jit with --jit), in forward and reverse order by turns",
    }


# ----------------------------------------------------------------------------- main


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--impl", choices=IMPLS, required=True)
    parser.add_argument("--teacher", default="bert-base")
    parser.add_argument("--student", default="tinybert-4l")
    parser.add_argument("--vocab-size", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--length", type=int, default=64)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--gemm-size", type=int, default=2048)
    parser.add_argument(
        "--jit",
        action="store_true",
        help="side-by-side: also time kdzoo compiled with jit_compile=True (torch.compile)",
    )
    args = parser.parse_args(argv)

    impl = args.impl
    shape = {"teacher": args.teacher, "student": args.student}
    if impl == "side-by-side":
        return report("step", impl, args, **shape, **run_side_by_side(args))
    result = (
        run_kdzoo(args, cached=impl == "kdzoo-cached", keras_adamw=impl == "kdzoo-keras-adamw")
        if impl.startswith("kdzoo")
        else run_torch(args)
        if impl == "torch"
        else run_textbrewer(args)
    )
    t_cfg, s_cfg = shapes(args)
    flops = step_flops(t_cfg, s_cfg, args.batch_size, args.length)
    counted = flops["total_without_teacher"] if impl == "kdzoo-cached" else flops["total"]
    achieved = counted / (result["step_ms"] / 1000) / 1e9
    return report(
        "step",
        impl,
        args,
        **shape,
        **result,
        step_gflop=counted / 1e9,
        achieved_gflops=achieved,
        gemm_size=args.gemm_size,
        efficiency=achieved / result["gemm_gflops"],
    )


if __name__ == "__main__":
    main()
