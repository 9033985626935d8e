"""Teachers for the embedded offline tasks: MLM pre-training on the corpus, then fine-tuning.

Distillation needs a teacher that knows more than its student can learn from the labels
alone. The papers' teachers get that from pre-training: BERT reads a large corpus, then
sees a few labelled examples. With no network there is no BERT to download, so kdzoo
builds the same thing at small scale for each embedded task:

1. build a WordPiece vocabulary from the task's unlabelled corpus
   (:func:`kdzoo.data.embedded.embedded_corpus`): every word whole, except the derived
   adjectives, which it splits into root and suffix ("joy", "##some"), as BERT's
   vocabulary splits rare words (:func:`kdzoo.tokenization.lexicon_wordpiece`);
2. pre-train a small BERT (preset ``mini-6l-128h``) with masked-language modelling on
   that corpus (:func:`pretrain_mlm`): this model is also the MLM that TinyBERT's data
   augmentation asks for candidates;
3. copy its encoder into a classifier and fine-tune it on the task's few labels
   (:func:`finetune`).

:func:`embedded_teacher` runs the recipe once and caches the result on disk (Hugging
Face format: ``config.json``, ``model.safetensors`` and the tokenizer, so no pickle),
under a key that fingerprints the recipe and the data it generates; the book,
``kdzoo.compare`` and the tests all reuse it. The cache lives in ``$KDZOO_CACHE``
(default ``~/.cache/kdzoo``).

Book chapter: ``book/tasks/embedded.md``.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "EmbeddedTeacher",
    "TeacherRecipe",
    "cache_dir",
    "embedded_teacher",
    "finetune",
    "finetuned_teacher",
    "has_classifier",
    "mask_tokens",
    "pretrain_mlm",
    "recipe_for",
]


def cache_dir() -> Path:
    """kdzoo's cache directory: ``$KDZOO_CACHE`` or ``~/.cache/kdzoo``."""
    return Path(os.environ.get("KDZOO_CACHE", Path.home() / ".cache" / "kdzoo"))


# --------------------------------------------------------------------------- training


def mask_tokens(
    token_ids: np.ndarray,
    padding_mask: np.ndarray,
    *,
    mask_token_id: int,
    special_token_ids: Sequence[int],
    vocab_size: int,
    rng: np.random.Generator,
    probability: float = 0.15,
) -> tuple[np.ndarray, np.ndarray]:
    """BERT's masking: pick 15 % of real tokens; 80 % → [MASK], 10 % random, 10 % kept.

    Args:
        token_ids: int [N, L].
        padding_mask: [N, L], 1 for real tokens.
        mask_token_id, special_token_ids, vocab_size: from the tokenizer.
        rng: the NumPy generator that draws the positions.
        probability: the share of real, non-special tokens to predict.

    Returns:
        ``(masked ids [N, L], labels [N, L])``; labels hold the original id at the
        picked positions and -100 elsewhere (the convention of
        :func:`kdzoo.losses.mlm_cross_entropy`).
    """
    ids = np.asarray(token_ids)
    eligible = (np.asarray(padding_mask) > 0) & ~np.isin(ids, list(special_token_ids))
    picked = eligible & (rng.random(ids.shape) < probability)
    roll = rng.random(ids.shape)
    random_ids = rng.integers(0, vocab_size, ids.shape)
    masked = np.where(roll < 0.8, mask_token_id, np.where(roll < 0.9, random_ids, ids))
    masked = np.where(picked, masked, ids).astype(ids.dtype)
    labels = np.where(picked, ids, -100).astype(np.int32)
    return masked, labels


def pretrain_mlm(
    model,
    inputs: dict[str, np.ndarray],
    tokenizer,
    *,
    epochs: int = 3,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
    warmup: float = 0.06,
    seed: int = 0,
    verbose: int | str = "auto",
) -> dict[str, list[float]]:
    """Masked-language-model pre-training, with fresh masks every epoch (RoBERTa's
    dynamic masking) and BERT's 80/10/10 replacement.

    Args:
        model: a kdzoo ``BertModel`` with ``mlm_head=True``.
        inputs: the encoded corpus (:func:`kdzoo.tokenization.encode`).
        tokenizer: the Hugging Face tokenizer that encoded it (for the special ids).
        epochs, batch_size, learning_rate, warmup: the AdamW schedule
            (:func:`kdzoo.optim.make_optimizer`).
        seed: seeds the masks and the data order.
        verbose: Keras's progress output.

    Returns:
        The loss per epoch, ``{"loss": [...]}``.
    """
    from kdzoo.losses import mlm_cross_entropy
    from kdzoo.optim import make_optimizer
    from kdzoo.training import build_optimizer

    if model.mlm is None:
        raise ValueError("pretrain_mlm needs a model with an MLM head (mlm_head=True).")
    n = len(inputs["token_ids"])
    steps = math.ceil(n / batch_size) * epochs
    model.compile(
        optimizer=make_optimizer("adamw", learning_rate, steps, warmup=warmup),
        loss=lambda labels, logits: mlm_cross_entropy(logits, labels),
    )
    build_optimizer(model)  # tensorflow: the step is traced once, not twice
    rng = np.random.default_rng([seed, 7])
    history: dict[str, list[float]] = {"loss": []}
    for epoch in range(epochs):
        masked, labels = mask_tokens(
            inputs["token_ids"],
            inputs["padding_mask"],
            mask_token_id=tokenizer.mask_token_id,
            special_token_ids=tokenizer.all_special_ids,
            vocab_size=model.config.vocab_size,
            rng=rng,
        )
        fit = model.fit(
            {**inputs, "token_ids": masked},
            labels,
            batch_size=batch_size,
            initial_epoch=epoch,
            epochs=epoch + 1,
            shuffle=True,
            verbose=verbose,
        )
        history["loss"] += fit.history["loss"]
    return history


def finetune(
    model,
    x: dict[str, np.ndarray],
    y: np.ndarray,
    *,
    epochs: int = 3,
    batch_size: int = 32,
    learning_rate: float = 1e-4,
    warmup: float = 0.1,
    validation_data: tuple | None = None,
    callbacks: list | None = None,
    verbose: int | str = "auto",
    seed: int | None = None,
    checkpoint: str | os.PathLike | None = None,
    checkpoint_every: int | None = None,
    distribution=None,
    jit_compile: bool | str = "auto",
) -> dict[str, list[float]]:
    """Fine-tune a classifier (or regressor) on labelled data with AdamW and warm-up.

    Args:
        model: a kdzoo model with ``num_labels`` set.
        x: model inputs; ``y``: int class ids [N] (or float scores for regression).
        epochs, batch_size, learning_rate, warmup: the schedule.
        validation_data: ``(x, y)`` evaluated after every epoch.
        callbacks: Keras callbacks for ``fit``.
        verbose: Keras's progress output.
        seed: with a seed (or a checkpoint), training goes through
            :func:`kdzoo.training.fit`: the data order comes from the seed, the same as
            :func:`kdzoo.distill`'s with that seed, on every backend. Without, Keras's
            ``fit(shuffle=True)`` orders the data (the embedded teachers were built so,
            and their cache keys assume it).
        checkpoint: a file that makes the run resumable (see :func:`kdzoo.training.fit`).
        checkpoint_every: steps between checkpoints inside an epoch.
        distribution: data-parallel, as in :func:`kdzoo.distill` (``batch_size`` is
            the global batch); the model is replicated and ``model`` gets the trained
            weights after every epoch.
        jit_compile: compile the training step, as in :func:`kdzoo.distill`.

    Returns:
        Keras's ``History.history`` (every epoch, those before a resume included).
    """
    import keras

    from kdzoo.distribute import SyncBack, resolve, scope
    from kdzoo.optim import make_optimizer
    from kdzoo.training import jit_compile_setting

    jit_compile = jit_compile_setting(jit_compile)
    regression = model.config.num_labels == 1
    steps = math.ceil(len(y) / batch_size) * epochs
    plan, caller = resolve(distribution), model
    if plan is not None:
        plan.per_replica(batch_size)
        model = plan.replicate(model)
        callbacks = [SyncBack([(model, caller)]), *(callbacks or [])]
    with scope(plan):
        optimizer = make_optimizer("adamw", learning_rate, steps, warmup=warmup)
        model.compile(
            optimizer=optimizer if plan is None else plan.prepare_optimizer(optimizer),
            loss=keras.losses.MeanSquaredError()
            if regression
            else keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=[] if regression else ["accuracy"],
            jit_compile=jit_compile,
        )
    if seed is not None or checkpoint is not None or plan is not None:
        from kdzoo.training import StopOnNonFiniteLoss, fit

        with scope(plan):
            return fit(
                model,
                x,
                y,
                epochs=epochs,
                batch_size=batch_size,
                seed=seed or 0,
                checkpoint=checkpoint,
                every=checkpoint_every,
                callbacks=[*(callbacks or []), StopOnNonFiniteLoss("fine-tuning")],
                validation_data=validation_data,
                verbose=verbose,
                replicas=1 if plan is None else plan.replicas,
            ).history
    from kdzoo.training import build_for_fit

    build_for_fit(model, (keras.tree.map_structure(lambda a: a[:batch_size], x), y[:batch_size]))
    history = model.fit(
        x,
        y,
        batch_size=batch_size,
        epochs=epochs,
        shuffle=True,
        validation_data=validation_data,
        callbacks=callbacks,
        verbose=verbose,
    )
    return history.history


# --------------------------------------------------------------------------- recipe


@dataclass(frozen=True)
class TeacherRecipe:
    """How an embedded task's teacher is built. Every field enters the cache key.

    Attributes:
        preset: the teacher's BERT preset.
        vocab_size: None (default): the corpus's words, derived adjectives split into
            their pieces (:func:`~kdzoo.tokenization.lexicon_wordpiece`); a number: a
            WordPiece vocabulary of that size trained on the corpus
            (:func:`~kdzoo.tokenization.train_wordpiece`), which splits by counts.
        corpus_size: sentences of :func:`~kdzoo.data.embedded.embedded_corpus`.
        corpus_max_length: tokens per corpus sentence in pre-training.
        pretrain_epochs, pretrain_lr, pretrain_batch_size: MLM pre-training.
        pretrain_dropout: dropout (hidden and attention) during pre-training. BERT
            uses 0.1; at this scale 0 is what lets the MLM learn the associations
            across a sentence in a few epochs (a 2-layer, 128-wide MLM on a corpus with
            40 % reaction sentences, the probe of ``benchmarks/probe_mlm.py``: with 0.1
            it had not linked adjectives to reactions after 6 epochs, with 0 it had
            for 16 of 20 adjectives, and for 20 of 20 after 10).
        max_length: tokens per task example.
        finetune_epochs, finetune_lr, finetune_batch_size: fine-tuning.
        finetune_dropout: dropout while fine-tuning (BERT's 0.1).
        seed: seeds the task data, the corpus, initialisation and training.
        task_kwargs: passed to :func:`kdzoo.load_task` (e.g. ``train_size``).
    """

    preset: str = "mini-6l-128h"
    vocab_size: int | None = None
    corpus_size: int = 12000
    corpus_max_length: int = 40
    pretrain_epochs: int = 4
    pretrain_lr: float = 1e-3
    pretrain_batch_size: int = 64
    pretrain_dropout: float = 0.0
    max_length: int = 64
    finetune_epochs: int = 5
    finetune_lr: float = 3e-4
    finetune_batch_size: int = 32
    finetune_dropout: float = 0.1
    seed: int = 0
    task_kwargs: dict[str, Any] = field(default_factory=dict)

    def key(self, task: str) -> str:
        """The fine-tuned teacher's key: the recipe, the pre-trained MLM's key and a
        fingerprint of the task data the recipe generates."""
        payload = json.dumps({"task": task, **dataclasses.asdict(self)}, sort_keys=True)
        payload += self.pretrain_key()
        payload += _data_fingerprint(task, self.seed, json.dumps(self.task_kwargs, sort_keys=True))
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def pretrain_key(self) -> str:
        """The key of the pre-trained MLM, which every embedded task shares: the
        pre-training fields of the recipe and a fingerprint of the corpus, so that a
        change to the grammar builds a new MLM."""
        fields = ("preset", "vocab_size", "corpus_size", "corpus_max_length")
        fields += ("pretrain_epochs", "pretrain_lr", "pretrain_batch_size", "pretrain_dropout")
        fields += ("seed",)
        payload = json.dumps({f: getattr(self, f) for f in fields}, sort_keys=True)
        payload += _corpus_fingerprint(self.corpus_size, self.seed)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


@functools.lru_cache(maxsize=8)
def _corpus_fingerprint(size: int, seed: int) -> str:
    from kdzoo.data.embedded import embedded_corpus

    return hashlib.sha256("\n".join(embedded_corpus(size, seed=seed)).encode()).hexdigest()


@functools.lru_cache(maxsize=8)
def _data_fingerprint(task: str, seed: int, task_kwargs: str) -> str:
    from kdzoo.data.base import load_task

    data = load_task(task, seed=seed, **json.loads(task_kwargs))
    h = hashlib.sha256()
    for name in sorted(data.splits):
        for column in sorted(data[name].texts):
            h.update("\n".join(data[name].texts[column]).encode())
        h.update(np.asarray(data[name].labels).tobytes())
    return h.hexdigest()


#: The recipe per embedded task; see the task docstrings for what it reaches.
RECIPES: dict[str, TeacherRecipe] = {
    "synth-sentiment": TeacherRecipe(max_length=32),
    # Comparing two sentences is learned slowly: with BERT's dropout and 5 epochs at
    # 3e-4 the teacher fits 0.70 of its training pairs (dev 0.702); without dropout,
    # 8 epochs at 5e-4 reach 0.82 (dev 0.771); 1e-3 diverges (one class).
    "synth-nli": TeacherRecipe(
        max_length=40, finetune_epochs=8, finetune_lr=5e-4, finetune_dropout=0.0
    ),
}


def recipe_for(task: str) -> TeacherRecipe:
    """The recipe :func:`embedded_teacher` builds ``task``'s teacher with by default."""
    return RECIPES.get(task, TeacherRecipe())


@dataclass
class EmbeddedTeacher:
    """A built (or cached) teacher for an embedded task.

    Attributes:
        task: the task name.
        model: the fine-tuned classifier (a kdzoo ``BertModel``).
        mlm: the MLM it was fine-tuned from (TinyBERT's augmentation asks it for
            candidates; DistilBERT's general stage distils it).
        tokenizer: the WordPiece tokenizer trained on the corpus.
        recipe: how it was built.
        path: its cache directory (Hugging Face format, loadable with
            :func:`kdzoo.models.from_hf` or ``transformers``).
        info: dev metrics, training times and losses recorded when it was built;
            ``info["pretraining"]`` holds the same for the MLM.
    """

    task: str
    model: Any
    mlm: Any
    tokenizer: Any
    recipe: TeacherRecipe
    path: Path
    info: dict[str, Any]

    def encode(self, split, spec=None) -> dict[str, np.ndarray]:
        """Encode a :class:`~kdzoo.data.base.Split` of this task for the teacher."""
        from kdzoo.data.base import get_spec
        from kdzoo.tokenization import encode

        spec = spec or get_spec(self.task)
        first, second = split.columns(spec)
        return encode(self.tokenizer, first, second, max_length=self.recipe.max_length)


def _atomic_dir(final: Path, build) -> Path:
    """Run ``build(tmp_dir)`` and move the result to ``final`` in one rename."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}-"))
    try:
        build(tmp)
        if final.exists():  # another process finished first: keep theirs
            shutil.rmtree(tmp)
        else:
            os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def _say(verbose, message: str) -> None:
    if verbose:
        print(f"kdzoo: {message}", flush=True)


def pretrained_mlm(
    recipe: TeacherRecipe | None = None, *, rebuild: bool = False, verbose: int | str = 1
):
    """The MLM pre-trained on the embedded corpus, and its tokenizer (built once, cached).

    Returns:
        ``(mlm, tokenizer, directory)``.
    """
    import keras

    from kdzoo.data.embedded import WORD_PIECES, embedded_corpus
    from kdzoo.models import BertModel, from_hf, to_hf
    from kdzoo.tokenization import (
        encode,
        lexicon_wordpiece,
        load_tokenizer,
        train_wordpiece,
        trim_padding,
    )

    recipe = recipe or TeacherRecipe()
    final = cache_dir() / "pretrained" / f"mlm-{recipe.pretrain_key()}"
    if rebuild and final.exists():
        shutil.rmtree(final)
    if not final.exists():

        def build(tmp: Path) -> None:
            _say(verbose, f"pre-training the embedded MLM ({recipe.preset}); cached in {final}")
            corpus = embedded_corpus(recipe.corpus_size, seed=recipe.seed)
            if recipe.vocab_size is None:
                tokenizer = lexicon_wordpiece(corpus, WORD_PIECES)
            else:
                tokenizer = train_wordpiece(corpus, vocab_size=recipe.vocab_size)
            keras.utils.set_random_seed(recipe.seed)
            mlm = BertModel(
                recipe.preset,
                vocab_size=len(tokenizer),
                mlm_head=True,
                use_pooler=False,
                hidden_dropout_prob=recipe.pretrain_dropout,
                attention_probs_dropout_prob=recipe.pretrain_dropout,
            )
            inputs = trim_padding(encode(tokenizer, corpus, max_length=recipe.corpus_max_length))[0]
            start = time.perf_counter()
            history = pretrain_mlm(
                mlm,
                inputs,
                tokenizer,
                epochs=recipe.pretrain_epochs,
                batch_size=recipe.pretrain_batch_size,
                learning_rate=recipe.pretrain_lr,
                seed=recipe.seed,
                verbose=verbose,
            )
            info = {
                "mlm_loss": history["loss"],
                "seconds": time.perf_counter() - start,
                "backend": keras.backend.backend(),
            }
            to_hf(mlm, tmp, tokenizer)
            (tmp / "kdzoo_info.json").write_text(json.dumps(info, indent=2))

        _atomic_dir(final, build)
    tokenizer = load_tokenizer(final)
    return from_hf(final), tokenizer, final


def embedded_teacher(
    task: str,
    recipe: TeacherRecipe | None = None,
    *,
    rebuild: bool = False,
    verbose: int | str = 1,
) -> EmbeddedTeacher:
    """The teacher of an embedded task: built on first use, then read from the cache.

    The first call pre-trains the shared MLM (if no task did yet) and fine-tunes it on
    the task's training split; both are saved under :func:`cache_dir`. Later calls, on
    any backend, load them in a second.

    Args:
        task: an embedded task name (``"synth-nli"``, ``"synth-sentiment"``).
        recipe: how to build it (default :data:`RECIPES` [task]); any change builds a
            new teacher under a new key.
        rebuild: build again even if cached.
        verbose: progress output while building.

    Raises:
        ValueError: ``task`` is not an embedded task.
    """
    import keras

    from kdzoo.data.base import get_spec, load_task
    from kdzoo.data.metrics import compute_metrics
    from kdzoo.models import from_hf, to_hf
    from kdzoo.tokenization import load_tokenizer, trim_padding

    spec = get_spec(task)
    if spec.source != "embedded":
        raise ValueError(
            f"'{task}' is not an embedded task; embedded_teacher builds teachers only for "
            f"{', '.join(RECIPES)}. For GLUE, pass a fine-tuned checkpoint as the teacher."
        )
    recipe = recipe or recipe_for(task)
    final = cache_dir() / "teachers" / f"{task}-{recipe.key(task)}"
    if rebuild and final.exists():
        shutil.rmtree(final)
    mlm, tokenizer, mlm_dir = pretrained_mlm(recipe, verbose=verbose)
    if not final.exists():

        def build(tmp: Path) -> None:
            _say(verbose, f"fine-tuning the {task} teacher; cached in {final}")
            data = load_task(task, seed=recipe.seed, **recipe.task_kwargs)
            keras.utils.set_random_seed(recipe.seed)
            model = from_hf(
                mlm_dir,
                num_labels=spec.num_labels,
                id2label=spec.id2label,
                mlm_head=False,
                hidden_dropout_prob=recipe.finetune_dropout,
                attention_probs_dropout_prob=recipe.finetune_dropout,
            )
            teacher = EmbeddedTeacher(task, model, mlm, tokenizer, recipe, tmp, {})
            x = trim_padding(teacher.encode(data["train"], spec))[0]
            y = data["train"].labels
            start = time.perf_counter()
            history = finetune(
                model,
                x,
                y,
                epochs=recipe.finetune_epochs,
                batch_size=recipe.finetune_batch_size,
                learning_rate=recipe.finetune_lr,
                verbose=verbose,
            )
            seconds = time.perf_counter() - start
            dev = data[spec.eval_splits[0]]
            logits = model.predict(teacher.encode(dev, spec), batch_size=256, verbose=0)
            info = {
                "dev": compute_metrics(spec, logits["logits"], dev.labels),
                "train_loss": history["loss"],
                "seconds": seconds,
                "backend": keras.backend.backend(),
            }
            to_hf(model, tmp, tokenizer)
            (tmp / "kdzoo_info.json").write_text(json.dumps(info, indent=2, default=float))

        _atomic_dir(final, build)
    info = json.loads((final / "kdzoo_info.json").read_text())
    info["pretraining"] = json.loads((mlm_dir / "kdzoo_info.json").read_text())
    return EmbeddedTeacher(task, from_hf(final), mlm, load_tokenizer(final), recipe, final, info)


# --------------------------------------------------------------------------- GLUE teachers


def has_classifier(checkpoint: str | os.PathLike) -> bool:
    """Whether a Hugging Face checkpoint was saved with a sequence-classification head
    (``BertForSequenceClassification``), i.e. is already fine-tuned on some task."""
    from kdzoo.hub import resolve_pretrained

    directory = resolve_pretrained(checkpoint, what="teacher checkpoint")
    config_path = Path(directory) / "config.json"
    if not config_path.exists():
        raise FileNotFoundError(f"{directory} has no config.json; is it a Hugging Face checkpoint?")
    archs = json.loads(config_path.read_text()).get("architectures") or []
    return any(a.endswith("ForSequenceClassification") for a in archs)


def finetuned_teacher(
    checkpoint: str | os.PathLike,
    spec,
    train,
    *,
    max_length: int = 128,
    epochs: int = 3,
    learning_rate: float = 2e-5,
    batch_size: int = 32,
    seed: int = 0,
    verbose: int | str = 1,
):
    """A pre-trained BERT checkpoint fine-tuned on a task's training split, cached.

    This is the papers' teacher: BERT-base fine-tuned on the task (3 epochs at 2e-5,
    batch 32, length 128, as in BERT's GLUE recipe) before any distillation. The result
    is saved as a Hugging Face checkpoint under ``cache_dir()/teachers`` and reused
    while the base weights, the training data and these settings stay the same.

    Args:
        checkpoint: a pre-trained checkpoint without a classifier (directory or hub
            name, e.g. ``"bert-base-uncased"``).
        spec: the task's :class:`~kdzoo.data.base.TaskSpec` (labels, fields).
        train: the training :class:`~kdzoo.data.base.Split`.
        max_length, epochs, learning_rate, batch_size, seed: the fine-tuning.
        verbose: progress messages and Keras output.

    Returns:
        ``(model, tokenizer, directory)``, the directory holding the fine-tuned
        checkpoint.
    """
    import keras

    from kdzoo.hub import resolve_pretrained
    from kdzoo.models import from_hf, to_hf
    from kdzoo.tokenization import encode, load_tokenizer

    tokenizer = load_tokenizer(checkpoint)
    first, second = train.columns(spec)
    x = encode(tokenizer, first, second, max_length=max_length)
    settings = {"task": spec.name, "epochs": epochs, "lr": learning_rate, "batch": batch_size}
    settings.update(seed=seed, max_length=max_length)
    h = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    directory = resolve_pretrained(checkpoint, what="teacher checkpoint")
    for f in sorted(p for p in Path(directory).iterdir() if p.is_file()):
        h.update(f.name.encode() + f.read_bytes())  # the checkpoint as saved
    for name in sorted(x):
        h.update(name.encode() + np.ascontiguousarray(x[name]).tobytes())
    h.update(np.asarray(train.labels).tobytes())
    key = h.hexdigest()[:16]
    final = cache_dir() / "teachers" / f"finetuned-{spec.name}-{key}"
    if not final.exists():
        _say(verbose, f"fine-tuning {checkpoint} on {spec.name} as the teacher; cached in {final}")

        def build(tmp: Path) -> None:
            keras.utils.set_random_seed(seed)
            id2label = None if spec.is_regression else dict(enumerate(spec.label_names))
            model = from_hf(
                checkpoint, num_labels=spec.num_labels, id2label=id2label, mlm_head=False
            )
            finetune(
                model,
                x,
                np.asarray(train.labels),
                epochs=epochs,
                batch_size=batch_size,
                learning_rate=learning_rate,
                verbose=verbose if verbose != 1 else "auto",
            )
            to_hf(model, tmp, tokenizer)

        _atomic_dir(final, build)
    return from_hf(final), load_tokenizer(final), final
