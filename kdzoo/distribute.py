"""Data-parallel distillation on the backend's own engine.

kdzoo does not ship a parallel engine of its own. ``distill(..., distribution=...)``
and ``compare(..., distribution=...)`` hand the work to the engine the Keras backend
already has:

- jax: ``keras.distribution.DataParallel``, over every device jax sees (or a list);
- tensorflow: ``tf.distribute.MirroredStrategy``, over every GPU, else every logical
  CPU;
- torch: none. Keras 3 has no data-parallel engine for the torch backend
  (``keras.distribution`` runs on jax, ``tf.distribute`` on tensorflow), and kdzoo
  refuses with an error that says so and names the two backends that can.

What kdzoo does around the engine (:class:`DataParallel`):

- **Replicas.** The teacher and the student are rebuilt under the engine's scope, with
  the caller's weights, so that their variables are replicated; the method's own
  layers (TinyBERT's projections, LAD's gates), the distiller and the optimizer are
  built there too. The trained weights are copied back into the caller's student
  after every epoch and at the end (:class:`SyncBack`), so ``distill`` trains it in
  place, as without distribution, and a callback that holds it (a dev-set curve)
  sees each epoch's weights (on jax it evaluates it under :func:`single_device`);
  inside a step, ``callback.model.student`` is the replica being trained. The teacher is
  replicated, not sharded: a BERT-base teacher fits on every device, and data
  parallelism is what the issue of scale is about.
- **Batch sizes.** ``batch_size`` is always the *global* batch: the examples of one
  optimizer step over all replicas. Each replica gets ``batch_size / replicas`` of
  them (it must divide evenly). A run over 2 devices with a global batch of 64 takes
  the same steps as a 1-device run with batch 64; the learning rate is never scaled
  for you. The last batch of an epoch is trimmed to a multiple of the replica count
  (a warning says how many examples that drops).
- **Loss scaling.** ``tf.distribute`` sums the replicas' gradients, so a replica's
  loss is divided by the replica count (as Keras does for compiled losses); jax
  computes the global batch's loss in one program and needs nothing.
- **Teacher cache.** Cached teacher outputs travel in the inputs, so each replica
  reads the slice of the cache that belongs to its examples.
- **Gradient clipping** sees the global batch's gradient, not a replica's
  (:meth:`DataParallel.prepare_optimizer`), and an embedding's sparse gradient is
  applied as the dense one (``kdzoo.optim.DenseGradients``), so a run over
  several devices follows the one-device run step by step (``tests/test_distribute.py``).

Book chapter: ``book/appendix/full-scale.md``.
"""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass, field
from typing import Any

import keras

__all__ = [
    "DataParallel",
    "SyncBack",
    "data_parallel",
    "replicas_in_sync",
    "scale_loss",
    "single_device",
]

ENGINES = {
    "jax": "keras.distribution.DataParallel",
    "tensorflow": "tf.distribute.MirroredStrategy",
}


class SyncBack(keras.callbacks.Callback):
    """Copy the replicas' weights into the caller's models after every epoch and at
    the end, so that callbacks holding the caller's student (a dev-set curve, say)
    see the weights trained so far. ``pairs``: (replica, caller's model or layer)."""

    def __init__(self, pairs):
        super().__init__()
        self.pairs = list(pairs)

    def copy(self):
        for replica, target in self.pairs:
            if replica is not target:
                target.set_weights(replica.get_weights())

    def on_epoch_end(self, epoch, logs=None):
        self.copy()

    def on_train_end(self, logs=None):
        self.copy()


@contextlib.contextmanager
def single_device():
    """Step out of the engine for a moment: run the caller's one-device model (whose
    weights :class:`SyncBack` keeps current) inside a data-parallel ``fit``, e.g. a
    callback that evaluates it on a dev set. On jax the global distribution would
    otherwise split its inputs over devices its weights are not on; tensorflow and
    torch need nothing."""
    if keras.backend.backend() != "jax":
        yield
        return
    current = keras.distribution.distribution()
    keras.distribution.set_distribution(None)
    try:
        yield
    finally:
        keras.distribution.set_distribution(current)


def _torch_error() -> ValueError:
    return ValueError(
        "data-parallel distillation is not available with KERAS_BACKEND=torch: Keras 3 "
        "has no distribution engine for the torch backend (keras.distribution runs on "
        "jax, tf.distribute on tensorflow), and kdzoo does not write one of its own. "
        "Run the same command with KERAS_BACKEND=jax (keras.distribution.DataParallel) "
        "or KERAS_BACKEND=tensorflow (tf.distribute.MirroredStrategy); the models and "
        "methods are the same on every backend."
    )


@dataclass
class DataParallel:
    """A data-parallel plan: the engine, its replicas and how batches split.

    Build one with :func:`data_parallel`.

    Attributes:
        backend: the Keras backend.
        engine: the engine object (a ``keras.distribution.DataParallel`` or a
            ``tf.distribute.Strategy``).
        replicas: devices the batch is split across.
        devices: the devices' names.
    """

    backend: str
    engine: Any
    replicas: int
    devices: list[str] = field(default_factory=list)

    @contextlib.contextmanager
    def scope(self):
        """Variables created inside are replicated over the devices."""
        with self.engine.scope():
            yield

    def per_replica(self, global_batch: int, what: str = "batch_size") -> int:
        """``global_batch`` split over the replicas; it must divide evenly."""
        if global_batch % self.replicas:
            raise ValueError(
                f"{what}={global_batch} is the global batch (all replicas together) and "
                f"must be a multiple of the {self.replicas} replicas, so that every "
                f"replica gets the same number of examples; e.g. "
                f"{what}={max(self.replicas, global_batch // self.replicas * self.replicas)}."
            )
        return global_batch // self.replicas

    def replicate(self, model):
        """A copy of ``model`` built under :meth:`scope`, with ``model``'s weights.

        kdzoo's models build their variables when constructed, so ``from_config``
        inside the scope creates them replicated."""
        with self.scope():
            copy = model.__class__.from_config(model.get_config())
        if len(copy.weights) != len(model.weights):
            raise TypeError(
                f"cannot replicate {type(model).__name__}: a copy from its config has "
                f"{len(copy.weights)} weights, the model {len(model.weights)}."
            )
        copy.set_weights(model.get_weights())
        copy.trainable = model.trainable
        return copy

    def replicate_layer(self, layer):
        """A copy of a built layer (a projection, a gate) under :meth:`scope`, with its
        weights."""
        with self.scope():
            copy = layer.__class__.from_config(layer.get_config())
            build = layer.get_build_config()
            if build:
                copy.build_from_config(build)
            elif not copy.built:
                copy.build()
        if len(copy.weights) != len(layer.weights):
            raise TypeError(f"cannot replicate the layer {layer.name}: its weights differ.")
        copy.set_weights(layer.get_weights())
        return copy

    def prepare_optimizer(self, optimizer):
        """Make gradient clipping see the global batch's gradient.

        Keras 3's optimizer clips gradients in ``apply`` and only then hands them to
        ``tf.distribute``, which sums the replicas': with ``clipnorm`` (kdzoo's default,
        BertAdam's per-tensor clipping) or ``global_clipnorm`` each replica clips its
        own part, and the result differs from the same run on one device (the long-
        standing tensorflow/tensorflow#33929). On tensorflow this wraps the
        optimizer's clipping: sum the replicas' gradients first (the global batch's
        gradient, since each replica's loss is divided by their number), clip that,
        and hand each replica its share back for the engine's own sum. One extra
        all-reduce per step; nothing changes without clipping or on jax, whose step
        computes the global gradient before the optimizer sees it.
        """
        for inner in getattr(optimizer, "_inner_optimizers", ()):  # MultiOptimizer (LAD)
            self.prepare_optimizer(inner)
        clips = any(getattr(optimizer, a, None) for a in ("clipnorm", "global_clipnorm"))
        if self.backend != "tensorflow" or not (clips or getattr(optimizer, "clipvalue", None)):
            return optimizer
        import tensorflow as tf

        clip = optimizer._clip_gradients
        n = self.replicas

        def clip_global(grads):
            context = tf.distribute.get_replica_context()
            if context is None or n == 1:
                return clip(grads)
            present = [i for i, g in enumerate(grads) if g is not None]
            # dense: an embedding's sparse gradient (IndexedSlices) is summed as a whole
            dense = [tf.convert_to_tensor(grads[i]) for i in present]
            summed = context.all_reduce("sum", dense)
            clipped = clip(summed)
            out = list(grads)
            for i, g in zip(present, clipped, strict=True):
                out[i] = g / n
            return out

        optimizer._clip_gradients = clip_global
        return optimizer

    def describe(self) -> dict:
        return {"engine": ENGINES[self.backend], "replicas": self.replicas, "devices": self.devices}


def data_parallel(devices: int | list | None = None) -> DataParallel:
    """The backend's data-parallel engine over ``devices`` (default: every device).

    Args:
        devices: None for every device the backend sees (jax: ``jax.devices()``;
            tensorflow: every GPU, else every logical CPU), a number to take the first
            ones, or a list of device names.

    Raises:
        ValueError: on the torch backend (no engine), or for more devices than there are.
    """
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        available = jax.devices()
        chosen = _choose(available, devices, str)
        engine = keras.distribution.DataParallel(devices=chosen)
        names = [str(d) for d in chosen]
    elif backend == "tensorflow":
        import tensorflow as tf

        available = [d.name for d in tf.config.list_logical_devices("GPU")]
        available = available or [d.name for d in tf.config.list_logical_devices("CPU")]
        names = _choose(available, devices, str)
        # NCCL (the default all-reduce) needs GPUs; CPUs reduce on one device.
        reduce = None if "GPU" in names[0] else tf.distribute.ReductionToOneDevice()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            engine = tf.distribute.MirroredStrategy(names, cross_device_ops=reduce)
    else:
        raise _torch_error()
    return DataParallel(backend=backend, engine=engine, replicas=len(names), devices=names)


def _choose(available: list, devices, name) -> list:
    if devices is None:
        return list(available)
    if isinstance(devices, int):
        if devices > len(available):
            raise ValueError(
                f"asked for {devices} devices; the backend sees {len(available)}: "
                f"{[name(d) for d in available]}. On one machine without accelerators, "
                "virtual CPU devices stand in (jax: XLA_FLAGS="
                "--xla_force_host_platform_device_count=N before jax starts; tensorflow: "
                "tf.config.set_logical_device_configuration)."
            )
        return list(available[:devices])
    wanted = [str(d) for d in devices]
    by_name = {name(d): d for d in available}
    missing = [d for d in wanted if d not in by_name]
    if missing:
        raise ValueError(f"no devices {missing}; the backend sees {sorted(by_name)}.")
    return [by_name[d] for d in wanted]


def scope(plan: DataParallel | None):
    """``plan``'s scope, or a no-op context for a one-device run (``plan`` None)."""
    return plan.scope() if plan is not None else contextlib.nullcontext()


def resolve(distribution) -> DataParallel | None:
    """``distribution=`` as ``distill`` and ``compare`` take it: None (one device),
    ``"data-parallel"`` (every device), a number of devices, or a :class:`DataParallel`."""
    if distribution is None or isinstance(distribution, DataParallel):
        return distribution
    if distribution in ("data-parallel", "auto"):
        return data_parallel()
    if isinstance(distribution, int) and not isinstance(distribution, bool):
        return data_parallel(distribution)
    raise ValueError(
        f"distribution={distribution!r}: pass None, 'data-parallel' (every device), a "
        "number of devices, or kdzoo.distribute.data_parallel(...)."
    )


def replicas_in_sync() -> int:
    """Replicas whose gradients the engine will sum: > 1 only inside a replica of
    ``tf.distribute`` (jax's DataParallel computes the global batch in one program)."""
    if keras.backend.backend() != "tensorflow":
        return 1
    import tensorflow as tf

    return int(tf.distribute.get_strategy().num_replicas_in_sync)


def scale_loss(loss):
    """A replica's loss, divided by the replicas whose gradients ``tf.distribute``
    sums, so that the step follows the global batch's mean loss (what Keras does for
    compiled losses)."""
    n = replicas_in_sync()
    return loss if n == 1 else loss / n
