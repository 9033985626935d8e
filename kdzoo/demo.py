"""The smallest real distillation run: ``kdzoo demo``.

Offline, in about a minute on two CPU cores, this

1. generates a small sentiment task with negation and contrast ("the plot was not
   dull but the ending felt clumsy"), deterministically from a seed;
2. trains a WordPiece tokenizer on it;
3. fine-tunes a BERT teacher (preset ``mini-2l-128h``);
4. trains a much smaller student (``micro-2l-32h``) twice with the same seed: on the
   labels alone, and with Hinton's soft targets through ``keras.distillation``;
5. prints dev accuracy, parameter counts and times.

It is the quick check that an installation works end to end. The methods of the
papers (TinyBERT, PKD, DistilBERT, LAD, Tang et al.) and the side-by-side
comparison build on the same models.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import keras
import numpy as np

from kdzoo.models import BertModel
from kdzoo.tokenization import encode, train_wordpiece

__all__ = ["DemoResult", "make_sentiment_task", "run_demo"]

_SUBJECTS = ["the film", "the plot", "this movie", "the acting", "the ending", "the script",
             "the music", "the cast"]
_VERBS = ["was", "is", "seemed", "felt"]
_ADVERBS = ["", "very ", "really ", "quite ", "truly "]
_POSITIVE = ["good", "great", "fun", "brilliant", "moving", "charming", "clever", "sharp"]
_NEGATIVE = ["bad", "dull", "boring", "awful", "clumsy", "tedious", "flat", "silly"]


def _clause(rng: np.random.Generator) -> tuple[str, int]:
    positive = rng.random() < 0.5
    negated = rng.random() < 0.4
    adjective = rng.choice(_POSITIVE if positive else _NEGATIVE)
    text = (f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {'not ' if negated else ''}"
            f"{rng.choice(_ADVERBS)}{adjective}")
    return text, int(positive != negated)


def make_sentiment_task(n: int, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """``n`` sentences and binary labels. With "but", the second clause decides."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for _ in range(n):
        first, label = _clause(rng)
        if rng.random() < 0.5:
            second, label = _clause(rng)
            first = f"{first} but {second}"
        texts.append(first + " .")
        labels.append(label)
    return texts, np.asarray(labels, np.int32)


@dataclass
class DemoResult:
    teacher_accuracy: float
    student_accuracy: float
    distilled_accuracy: float
    teacher_parameters: int
    student_parameters: int
    seconds: float

    def __str__(self) -> str:
        t, s = self.teacher_parameters, self.student_parameters
        return "\n".join([
            f"{'model':<28}{'dev accuracy':>14}{'parameters':>14}",
            f"{'teacher (mini-2l-128h)':<28}{self.teacher_accuracy:>14.3f}{t:>14,}",
            f"{'student, labels only':<28}{self.student_accuracy:>14.3f}{s:>14,}",
            f"{'student, distilled (KD)':<28}{self.distilled_accuracy:>14.3f}{s:>14,}",
            f"student/teacher size: {s / t:.1%}; total time {self.seconds:.0f} s",
        ])


class LogitsOnly(keras.Model):
    """A view of a kdzoo model that returns its ``logits`` tensor.

    ``keras.distillation.Distiller`` expects models with one tensor output.
    """

    def __init__(self, inner: keras.Model):
        super().__init__(name=f"{inner.name}_logits")
        self.inner = inner

    def call(self, inputs, training=None):
        return self.inner(inputs, training=training)["logits"]


def run_demo(
    seed: int = 0,
    n_train: int = 3000,
    n_dev: int = 600,
    teacher_epochs: int = 3,
    student_epochs: int = 4,
    temperature: float = 2.0,
    verbose: int = 1,
) -> DemoResult:
    """Train a teacher, then a student with and without distillation; see module doc."""
    start = time.perf_counter()
    train_texts, y_train = make_sentiment_task(n_train, seed)
    dev_texts, y_dev = make_sentiment_task(n_dev, seed + 10_000)
    tokenizer = train_wordpiece(train_texts, vocab_size=512)
    x_train = encode(tokenizer, train_texts, max_length=24)
    x_dev = encode(tokenizer, dev_texts, max_length=24)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def accuracy(model) -> float:
        logits = model.predict(x_dev, batch_size=128, verbose=0)["logits"]
        return float((logits.argmax(-1) == y_dev).mean())

    def say(msg):
        if verbose:
            print(msg, flush=True)

    keras.utils.set_random_seed(seed)
    say("[1/3] fine-tuning the teacher (mini-2l-128h)")
    teacher = BertModel("mini-2l-128h", vocab_size=len(tokenizer), num_labels=2)
    teacher.compile(optimizer=keras.optimizers.AdamW(1e-3), loss=loss, metrics=["accuracy"])
    teacher.fit(x_train, y_train, batch_size=32, epochs=teacher_epochs, verbose=verbose)

    def student():
        keras.utils.set_random_seed(seed + 1)
        return BertModel("micro-2l-32h", vocab_size=len(tokenizer), num_labels=2)

    say("[2/3] training the student on the labels alone (micro-2l-32h)")
    alone = student()
    alone.compile(optimizer=keras.optimizers.AdamW(1e-3), loss=loss)
    alone.fit(x_train, y_train, batch_size=32, epochs=student_epochs, verbose=verbose)

    say(f"[3/3] distilling the teacher into the student (Hinton KD, T={temperature})")
    distilled = student()
    distiller = keras.distillation.Distiller(
        teacher=LogitsOnly(teacher),
        student=LogitsOnly(distilled),
        distillation_losses=keras.distillation.LogitsDistillation(temperature=temperature),
        student_loss_weight=0.5,
    )
    distiller.compile(optimizer=keras.optimizers.AdamW(1e-3), loss=loss)
    distiller.fit(x_train, y_train, batch_size=32, epochs=student_epochs, verbose=verbose)

    return DemoResult(
        teacher_accuracy=accuracy(teacher),
        student_accuracy=accuracy(alone),
        distilled_accuracy=accuracy(distilled),
        teacher_parameters=teacher.count_params(),
        student_parameters=distilled.count_params(),
        seconds=time.perf_counter() - start,
    )
