"""Resumable, reproducible ``fit``: the seed fixes the data order, and a checkpoint holds
everything needed to continue a run from the step where it stopped.

Keras's ``fit(shuffle=True)`` draws each epoch's order from the backend's own random
generator, and ``keras.callbacks.BackupAndRestore`` restores the weights, the optimizer
and the epoch, but not the position inside the epoch, the random state of dropout or
masking, or the metrics accumulated so far. A run killed in its third hour then repeats
up to an epoch of work and continues on different batches than an uninterrupted run.

:func:`fit` closes those gaps while still calling ``model.fit`` (so every backend trains
the same way, and Keras callbacks and progress bars work as usual):

- **Data order.** :class:`Batches` feeds ``fit`` one endless stream of batches: batch
  ``i`` of the stream is batch ``i mod n`` of epoch ``i // n``, whose order is a NumPy
  permutation drawn from ``(seed, epoch)``. The order is therefore the same on
  torch, tensorflow and jax, and any position can be reached without replaying the ones
  before it.
- **Checkpoints.** A :class:`Checkpointer` callback writes one ``.npz`` file every
  ``every`` steps and at the end of every epoch: every variable of the model except the
  frozen ones (so the teacher is not copied, but the random-seed states of its dropout
  are), the optimizer's variables (its step counter included, so learning-rate schedules
  continue), the metric accumulators of the epoch in progress, the backend's global
  random state where Keras draws from it (torch's dropout), and a JSON record (step,
  epoch, history of finished epochs, training seconds). The file is written atomically
  and never holds non-finite weights: a diverging run keeps its last good checkpoint.
- **Resuming.** :func:`fit` with an existing checkpoint restores it and trains the rest
  of the interrupted epoch (restoring its metric accumulators, so the epoch's logged
  means equal an uninterrupted run's), then the remaining epochs. The result equals an
  uninterrupted run with the same seed, up to float rounding (on CPU it is bit-for-bit).

Checkpoints are read with ``allow_pickle=False``: loading one runs no code.

Book chapter: ``book/appendix/reliability.md``.
"""

from __future__ import annotations

import json
import math
import time
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np

from kdzoo._io import atomic_write

__all__ = [
    "Batches",
    "Checkpointer",
    "FitResult",
    "NonFiniteLossError",
    "StopOnNonFiniteLoss",
    "build_for_fit",
    "build_optimizer",
    "fit",
    "jit_compile_setting",
    "num_examples",
    "read_checkpoint",
]

_FORMAT = "kdzoo-checkpoint-1"
# The data order's entry in the seed sequence (seed, 0, epoch): kept fixed, so that the
# order of a seed does not change between kdzoo versions.
_ORDER_STREAM = 0


def num_examples(x) -> int:
    """Rows in ``x``: an array or a (nested) dict of arrays with a shared first axis."""
    leaves = [leaf for leaf in keras.tree.flatten(x) if leaf is not None]
    if not leaves:
        raise ValueError("the inputs hold no arrays.")
    return len(leaves[0])


class Batches(keras.utils.PyDataset):
    """Shuffled batches of ``(x, y)`` as one endless stream, reproducible from a seed.

    Batch ``i`` of the stream is batch ``(start + i) mod n`` of epoch
    ``(start + i) // n``, with ``n = ceil(rows / batch_size)``; each epoch's order is a
    permutation drawn from ``(seed, epoch)`` with NumPy, the same on every
    backend. Give ``fit`` ``steps_per_epoch=n`` (or fewer for the rest of an
    interrupted epoch).

    Args:
        x: an array or a (nested) dict of arrays, rows on the first axis.
        y: labels, or None (unlabelled stages).
        batch_size: rows per batch (the last batch of an epoch may be smaller).
        seed: the run's seed.
        start: the stream position of the first batch.
        multiple_of: trim the last batch of an epoch to a multiple of this (the replicas
            of a data-parallel run, which each take an equal share of every batch).
    """

    def __init__(self, x, y=None, *, batch_size, seed=0, start=0, multiple_of=1):
        super().__init__()
        self.x, self.y = x, y
        self.rows = num_examples(x)
        if self.rows == 0:
            raise ValueError("there are no examples to train on.")
        self.batch_size = int(batch_size)
        self.steps_per_epoch = math.ceil(self.rows / self.batch_size)
        self.seed, self.start = int(seed), int(start)
        self.multiple_of = int(multiple_of)
        last = self.rows - (self.steps_per_epoch - 1) * self.batch_size
        #: examples of every epoch that no batch holds (the trimmed end of the last batch)
        self.dropped = last % self.multiple_of
        if self.dropped == last:  # nothing left of the last batch: no such batch
            if self.steps_per_epoch == 1:
                raise ValueError(
                    f"{self.rows} examples cannot be split over {self.multiple_of} replicas."
                )
            self.steps_per_epoch -= 1
        self._orders: dict[int, np.ndarray] = {}

    @property
    def num_batches(self):
        return None  # endless: the epochs are cut by fit's steps_per_epoch

    def order(self, epoch: int) -> np.ndarray:
        """The row order of ``epoch``."""
        if epoch not in self._orders:
            if len(self._orders) > 2:
                self._orders.clear()
            rng = np.random.default_rng([self.seed, _ORDER_STREAM, epoch])
            self._orders[epoch] = rng.permutation(self.rows)
        return self._orders[epoch]

    def rows_of(self, position: int) -> np.ndarray:
        """The row indices of the batch at stream ``position``."""
        epoch, batch = divmod(position, self.steps_per_epoch)
        rows = self.order(epoch)[batch * self.batch_size : (batch + 1) * self.batch_size]
        return rows[: len(rows) - len(rows) % self.multiple_of]

    def __getitem__(self, index):
        rows = self.rows_of(self.start + index)

        def take(a):
            return None if a is None else np.asarray(a[rows])

        x = keras.tree.map_structure(take, self.x, none_is_leaf=True)
        return x if self.y is None else (x, take(self.y))


# --------------------------------------------------------------------------- guards


class NonFiniteLossError(FloatingPointError):
    """A loss term became NaN or infinite during training."""


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Stop at the first step whose loss, or one of its terms, is NaN or infinite.

    Keras's ``TerminateOnNaN`` stops quietly; this raises :class:`NonFiniteLossError`
    naming the stage, the epoch, the step and the terms that went bad (the Distiller
    reports each term as its own metric), so the fix can start from the right term (a
    learning rate too high for that loss, a NaN in the teacher's cached outputs, a
    zero-norm state in a cosine loss). It runs before :class:`Checkpointer`, so the bad
    step is never checkpointed and a resumable run keeps its last good checkpoint.

    Args:
        stage: the stage's name, for the message.
    """

    def __init__(self, stage: str = ""):
        super().__init__()
        self.stage, self.epoch, self.step = stage, 0, 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        bad = {k: float(v) for k, v in (logs or {}).items() if not math.isfinite(float(v))}
        if not bad:
            return
        self.model.stop_training = True
        terms = {k: v for k, v in bad.items() if k != "loss"} or bad
        where = f"stage '{self.stage}', " if self.stage else ""
        raise NonFiniteLossError(
            f"{where}epoch {self.epoch + 1}, step {self.step} (batch {batch + 1} of the "
            f"epoch): {', '.join(f'{k} = {v}' for k, v in terms.items())}. Training "
            "stopped; a resumable run keeps its last good checkpoint. Usual causes: a "
            "learning rate too high for this loss (lower it), NaN or inf in the inputs or "
            "the teacher's cached outputs, or a teacher and student that disagree in scale."
        )


# --------------------------------------------------------------------------- checkpoints


def jit_compile_setting(value) -> bool | str:
    """Check a ``jit_compile`` argument and return it for ``keras.Model.compile``.

    ``"auto"`` is Keras's default: torch runs the step eagerly, tensorflow traces it with
    ``tf.function`` (XLA only where a GPU is present), jax always jits it. ``True``
    compiles the step: ``torch.compile`` on torch, XLA on tensorflow. On torch the
    compilation is mostly tracing Keras's Python, so it hardly depends on the model's
    size: about 3 minutes on 2 CPU cores (the first two steps both compile), after which
    a BERT-base → TinyBERT4 step runs about 13 % faster (690 against 790 ms;
    ``benchmarks/README.md``), so it pays off after about 2,000 steps.
    ``False`` runs it without compilation (on jax, un-jitted: slow). A compiled step is
    compiled again for each new input shape: a smaller last batch costs one more
    compilation (on torch, one with a dynamic batch size that serves every later size).

    Raises:
        ValueError: anything but ``True``, ``False`` or ``"auto"``.
    """
    if value is True or value is False or value == "auto":
        return value
    raise ValueError(f"jit_compile takes True, False or 'auto', not {value!r}.")


def build_optimizer(model: keras.Model) -> None:
    """Create ``model``'s optimizer variables now, if all of its layers are built.

    Keras on tensorflow leaves this to the first trace of the train step, and a traced
    function that creates variables is traced a second time: every ``fit`` traced its
    step twice (tracing, not computing, is most of a short ``fit`` with small models).
    jax and torch build the optimizer at the start of ``fit`` from the same variables,
    so the result is the same on every backend. :class:`kdzoo.distillers.Distiller`
    calls this from ``compile`` and :func:`fit` before training. Nothing happens while
    a layer is unbuilt (its variables would be missing); ``fit`` then builds as usual.
    """
    if model.optimizer is None or model.optimizer.built:
        return
    if all(layer.built for layer in model._flatten_layers(include_self=False)):
        model.optimizer.build(model.trainable_variables)


def build_for_fit(model: keras.Model, data_batch) -> None:
    """Build, before ``fit``, what tensorflow would create inside its first trace of the
    train step (and then trace the step again): the optimizer's variables
    (:func:`build_optimizer`) and compiled metrics (a fine-tuned model's accuracy).
    jax and torch build both at the start of ``fit``, as this does.

    Args:
        model: a compiled model whose layers are built.
        data_batch: ``(x, y)``, one batch; only its shapes and dtypes are used.
    """
    build_optimizer(model)
    compiled_metrics = getattr(model, "_compile_metrics", None)
    if compiled_metrics is not None and not compiled_metrics.built:
        model._symbolic_build(data_batch=data_batch)


def _state_variables(model, exclude) -> list:
    frozen = {id(v) for v in exclude}
    return [v for v in model.variables if id(v) not in frozen]


def _numpy(variables) -> list[np.ndarray]:
    # v.numpy() also reads tf.distribute's variables (a metric's SyncOnRead total is
    # read as the replicas' sum); v.value is faster elsewhere.
    def read(v):
        try:
            return keras.ops.convert_to_numpy(v.value)
        except ValueError:
            return np.asarray(v.numpy())

    return [read(v) for v in variables]


def _global_rng_state() -> list[np.ndarray]:
    """The backend's global random state, where Keras draws from it: on torch, dropout
    layers without a seed of their own take Keras's fast path, ``torch.nn.functional.
    dropout``, which draws from torch's global generators instead of a Keras seed state."""
    if keras.backend.backend() != "torch":
        return []
    import torch

    states = [torch.get_rng_state()]
    if torch.cuda.is_available():
        states.extend(torch.cuda.get_rng_state_all())
    return [s.cpu().numpy() for s in states]


def _set_global_rng_state(states: list[np.ndarray]) -> None:
    if keras.backend.backend() != "torch" or not states:
        return
    import torch

    torch.set_rng_state(torch.from_numpy(np.asarray(states[0], np.uint8)))
    if torch.cuda.is_available() and len(states) > 1:
        torch.cuda.set_rng_state_all([torch.from_numpy(s) for s in states[1:]])


def read_checkpoint(path: str | Path) -> tuple[dict, dict[str, list[np.ndarray]]]:
    """Read a checkpoint written by :class:`Checkpointer`: its record and its arrays.

    Raises:
        ValueError: the file is corrupt, truncated or not a kdzoo checkpoint.
    """
    try:
        with np.load(path, allow_pickle=False) as saved:
            files = {name: saved[name] for name in saved.files}
        meta = json.loads(str(files.pop("meta")))
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as err:
        raise ValueError(
            f"{path} is corrupt or truncated ({type(err).__name__}: {err}). Delete it to "
            "start this stage again from its beginning."
        ) from err
    if meta.get("format") != _FORMAT:
        raise ValueError(f"{path} is not a kdzoo checkpoint ({meta.get('format')!r}).")
    groups: dict[str, list[np.ndarray]] = {"state": [], "optimizer": [], "metrics": [], "rng": []}
    for group, arrays in groups.items():
        names = sorted(n for n in files if n.startswith(f"{group}/"))
        arrays.extend(files[n] for n in names)
    return meta, groups


def _assign(path, variables, arrays, what: str) -> None:
    if len(arrays) != len(variables):
        raise ValueError(
            f"{path} holds {len(arrays)} {what} arrays, but this run has {len(variables)} "
            f"{what} variables: it was written by another model or method. Use another "
            "checkpoint directory, or delete this one to start over."
        )
    for v, a in zip(variables, arrays, strict=True):
        if tuple(a.shape) != tuple(v.shape):
            raise ValueError(
                f"{path}: {what} variable {v.path} has shape {tuple(v.shape)}, the "
                f"checkpoint {tuple(a.shape)}: it was written by another model or method."
            )
    for v, a in zip(variables, arrays, strict=True):
        v.assign(a)


class Checkpointer(keras.callbacks.Callback):
    """Write a resumable checkpoint every ``every`` steps and at the end of every epoch.

    Args:
        path: the checkpoint file (``.npz``), replaced atomically at each write.
        steps_per_epoch: batches per epoch.
        every: steps between checkpoints inside an epoch (None: epoch ends only).
        exclude: variables not to save (the frozen teacher's weights).
        start_step: the step the run starts from (a resumed run's checkpoint step).
        history: the finished epochs' logs, from the checkpoint being resumed.
        seconds: training seconds already spent before this run.
        metrics: metric accumulators to restore at the start of the first epoch (those
            of the interrupted epoch), or None.
        rng: the backend's global random state to restore before the first step.
        stage: the stage's name, recorded in the checkpoint.
    """

    def __init__(
        self,
        path,
        steps_per_epoch: int,
        every: int | None = None,
        exclude=(),
        start_step: int = 0,
        history: list[dict] | None = None,
        seconds: float = 0.0,
        metrics: list[np.ndarray] | None = None,
        rng: list[np.ndarray] | None = None,
        stage: str = "",
    ):
        super().__init__()
        self.stage = stage
        self.path = None if path is None else Path(path)
        self.steps_per_epoch, self.every = int(steps_per_epoch), every
        self.exclude = list(exclude)
        self.step, self.history, self.seconds = int(start_step), list(history or []), seconds
        self._metrics = metrics
        self._rng = rng or None
        self._rng_pending = False
        self._clock = time.perf_counter()

    def elapsed(self) -> float:
        return self.seconds + time.perf_counter() - self._clock

    def on_train_begin(self, logs=None):
        self._rng_pending = True

    def on_epoch_begin(self, epoch, logs=None):
        if self._metrics is not None:  # the interrupted epoch's running means
            _assign(self.path, self.model.metrics_variables, self._metrics, "metric")
            self._metrics = None
        if self._rng_pending and self._rng is None:
            self._rng = _global_rng_state()

    def on_train_batch_begin(self, batch, logs=None):
        # torch's DataLoader draws a seed from the global generator whenever fit starts
        # iterating (after on_epoch_begin): undo that draw, so that a run split into
        # several fit calls (a resumed one) draws the same dropout masks as one call.
        if self._rng_pending:
            _set_global_rng_state(self._rng or [])
            self._rng, self._rng_pending = None, False

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        at_epoch_end = self.step % self.steps_per_epoch == 0  # on_epoch_end writes
        if self.every and self.step % self.every == 0 and not at_epoch_end:
            self.save()

    def on_epoch_end(self, epoch, logs=None):
        self.history.append({k: float(v) for k, v in (logs or {}).items()})
        self.save()

    def save(self) -> None:
        if self.path is None:
            return
        model = self.model  # on jax this first syncs the training state into the variables
        state = _numpy(_state_variables(model, self.exclude))
        optimizer = _numpy(model.optimizer.variables)
        bad = [i for i, a in enumerate(state + optimizer) if not np.isfinite(a).all()]
        if bad:
            raise NonFiniteLossError(
                f"step {self.step}: {len(bad)} weight or optimizer arrays hold NaN or inf; "
                f"the last good checkpoint {self.path} is kept. Lower the learning rate."
            )
        meta = {
            "format": _FORMAT,
            "stage": self.stage,
            "step": self.step,
            "epoch": self.step // self.steps_per_epoch,
            "batch": self.step % self.steps_per_epoch,
            "steps_per_epoch": self.steps_per_epoch,
            "history": self.history,
            "seconds": self.elapsed(),
        }
        arrays = {"meta": np.array(json.dumps(meta))}
        for group, values in (
            ("state", state),
            ("optimizer", optimizer),
            ("metrics", _numpy(model.metrics_variables)),
            ("rng", _global_rng_state()),
        ):
            arrays.update({f"{group}/{i:05d}": a for i, a in enumerate(values)})
        atomic_write(self.path, lambda tmp: np.savez(tmp, **arrays))


# --------------------------------------------------------------------------- fit


@dataclass
class FitResult:
    """What :func:`fit` returns.

    Attributes:
        history: every logged value per epoch (``History.history``), all epochs of
            the run, those before a resume included.
        seconds: training seconds, summed over the interrupted and resumed runs (the
            work lost between the last checkpoint and a kill is not counted).
        resumed_from: the checkpoint step the run continued from, or None.
    """

    history: dict[str, list[float]] = field(default_factory=dict)
    seconds: float = 0.0
    resumed_from: int | None = None


def fit(
    model: keras.Model,
    x,
    y=None,
    *,
    epochs: int,
    batch_size: int,
    seed: int = 0,
    checkpoint: str | Path | None = None,
    every: int | None = None,
    exclude=(),
    callbacks: list | None = None,
    validation_data=None,
    verbose="auto",
    stage: str = "",
    replicas: int = 1,
) -> FitResult:
    """Train a compiled ``model`` like ``model.fit``, reproducibly and resumably.

    Args:
        model: a compiled Keras model (a :class:`kdzoo.distillers.Distiller`, or a
            student fine-tuned on labels).
        x, y: the training data (arrays or dicts of arrays; y may be None).
        epochs, batch_size: as in ``fit``.
        seed: fixes the data order.
        checkpoint: the checkpoint file; when it exists the run resumes from it.
        every: steps between checkpoints inside an epoch (None: epoch ends only).
        exclude: variables not to checkpoint (a frozen teacher's weights).
        callbacks: Keras callbacks. A resumed interrupted epoch is trained by its own
            ``fit`` call, so callbacks see ``on_train_begin`` once more.
        validation_data: evaluated after each epoch, as in ``fit``.
        verbose: as in ``fit``.
        stage: the stage's name, recorded in the checkpoint.
        replicas: the replicas of a data-parallel run (:mod:`kdzoo.distribute`): every
            batch, the validation batches included, is a multiple of this; the few
            examples that trims from the end of an epoch are named in a warning.

    Returns:
        A :class:`FitResult`.
    """
    batches = Batches(x, y, batch_size=batch_size, seed=seed, multiple_of=replicas)
    n = batches.steps_per_epoch
    validation_steps = None
    if replicas > 1 and validation_data is not None:
        validation = Batches(*validation_data, batch_size=batch_size, multiple_of=replicas)
        validation_data, validation_steps = validation, validation.steps_per_epoch
    for what, b in (("training", batches), ("validation", validation_data)):
        if isinstance(b, Batches) and b.dropped:
            warnings.warn(
                f"{b.dropped} of the {b.rows} {what} examples are left out of every epoch: "
                f"the last batch is trimmed to a multiple of the {replicas} replicas.",
                stacklevel=2,
            )
    # Before any checkpoint is restored: tensorflow would otherwise create the compiled
    # metrics in its first trace, after on_epoch_begin, where the Checkpointer restores them.
    build_for_fit(model, batches[0])
    start, history, seconds, metrics, rng, resumed = 0, [], 0.0, None, None, None
    if checkpoint is not None and Path(checkpoint).exists():
        meta, arrays = read_checkpoint(checkpoint)
        if meta["steps_per_epoch"] != n:
            raise ValueError(
                f"{checkpoint} was written with {meta['steps_per_epoch']} steps per epoch, "
                f"this run has {n}: the data or the batch size changed. Use another "
                "checkpoint directory, or delete this one to start over."
            )
        if not model.optimizer.built:  # build_for_fit skips it while a layer is unbuilt
            model.optimizer.build(model.trainable_variables)
        _assign(checkpoint, _state_variables(model, exclude), arrays["state"], "state")
        _assign(checkpoint, model.optimizer.variables, arrays["optimizer"], "optimizer")
        rng = arrays["rng"]
        start, history, seconds = meta["step"], meta["history"], meta["seconds"]
        metrics = arrays["metrics"] if meta["batch"] else None
        resumed = start
    saver = Checkpointer(
        checkpoint, n, every, exclude, start_step=start, history=history, seconds=seconds,
        metrics=metrics, rng=rng, stage=stage,
    )  # fmt: skip
    # The guard runs before the saver: a non-finite step is never checkpointed.
    guards = [c for c in callbacks or [] if isinstance(c, StopOnNonFiniteLoss)]
    others = [c for c in callbacks or [] if not isinstance(c, StopOnNonFiniteLoss)]
    for guard in guards:
        guard.step = start
    epoch, batch = divmod(start, n)
    # Part 1: the rest of an interrupted epoch; part 2: the remaining whole epochs.
    parts = []
    if batch:
        parts.append((epoch, n - batch, start))
        epoch += 1
    if epoch < epochs:
        parts.append((epoch, n, epoch * n))
    for first_epoch, steps, position in parts:
        batches.start = position
        model.fit(
            batches,
            epochs=epochs if steps == n else first_epoch + 1,
            initial_epoch=first_epoch,
            steps_per_epoch=steps,
            callbacks=[*others, *guards, saver],
            validation_data=validation_data,
            validation_steps=validation_steps,
            shuffle=False,  # Batches shuffles, from the seed
            verbose=verbose,
        )
    merged: dict[str, list[float]] = {}
    for logs in saver.history:
        for k, v in logs.items():
            merged.setdefault(k, []).append(v)
    return FitResult(history=merged, seconds=saver.elapsed(), resumed_from=resumed)
