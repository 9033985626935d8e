"""Training budgets for :func:`kdzoo.compare`: how much training each method gets.

A budget scales every method's paper-default configuration in the same way, so that
all methods see the same data, seeds and number of steps per stage:

- ``"smoke"``: a few hundred examples and one epoch per stage. It checks that the whole
  pipeline runs (tests, CI); its numbers mean nothing.
- ``"small"``: the whole training split of an embedded task, 3 epochs per task stage and
  one pass over part of the corpus for the general stages, on 2 CPUs in minutes. The
  papers' learning rates were tuned for fine-tuning pre-trained BERTs for thousands of
  steps; small students trained for a few hundred steps need larger ones, so every
  AdamW learning rate of every method is multiplied by the same ``lr_scale`` (their
  ratios, e.g. TinyBERT's intermediate vs prediction stage, stay the paper's).
- ``"book"``: smaller than ``"small"`` (2,000 training examples, 2 epochs per stage),
  so that the Jupyter Book can execute every ablation over three seeds when it is
  built. Its differences are noisier than ``"small"``'s.
- ``"paper"``: the papers' own recipes (``baselines/recipes.json``): epochs, batch
  sizes per stage, learning rates, and the augmented transfer sets of TinyBERT and
  Tang et al. Meant for a GPU and real GLUE data.

Augmentation is off by default in ``"smoke"`` and ``"small"`` (every method trains on
the same examples); ``compare(augment=True)`` turns it on with ``augment_copies`` copies
per example.

Book chapter: ``book/compare.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BUDGETS", "Budget", "get_budget"]


@dataclass(frozen=True)
class Budget:
    """How much training every method gets.

    Attributes:
        name: the budget's name.
        epochs: epochs of every task stage (TinyBERT's intermediate and prediction
            stages each get this many; None: the paper recipe's).
        general_epochs: epochs of every general stage on the unlabelled corpus (0 skips
            the general stages).
        max_train_examples: a deterministic subset of the training split (None: all).
        max_eval_examples: a deterministic subset of each evaluation split (None: all).
        corpus_size: unlabelled sentences for the general stages (None: all).
        batch_size: examples per step (None: the paper recipe's).
        lr_scale: factor on every AdamW learning rate of every method.
        max_learning_rate: the most a scaled learning rate may be (None: no cap).
        student_only_learning_rate: AdamW learning rate of the ``student-only`` rows
            (BERT fine-tuning's 5e-5 times ``lr_scale``).
        latency_runs: timed forward passes per latency measurement (median reported).
        description: one line for listings.
        augment: whether methods whose paper distils on an augmented transfer set
            (TinyBERT, Tang et al.'s BiLSTM) do so by default; ``compare(augment=...)``
            overrides it. Off for the small budgets, so that every method sees the
            same training examples; on for ``"paper"``.
        augment_copies: augmented copies per training example (TinyBERT's N_a, Tang et
            al.'s n_iter); None: the paper recipe's (20 or 10 per task).
    """

    name: str
    epochs: int | None
    general_epochs: int | None
    max_train_examples: int | None
    max_eval_examples: int | None
    corpus_size: int | None
    batch_size: int | None
    lr_scale: float
    latency_runs: int
    description: str
    max_learning_rate: float | None = 1e-3
    augment: bool = False
    augment_copies: int | None = 2

    def scale_learning_rate(self, learning_rate: float) -> float:
        """``learning_rate × lr_scale``, capped at ``max_learning_rate``."""
        scaled = learning_rate * self.lr_scale
        return scaled if self.max_learning_rate is None else min(scaled, self.max_learning_rate)

    @property
    def student_only_learning_rate(self) -> float:
        return self.scale_learning_rate(5e-5)


BUDGETS: dict[str, Budget] = {
    "smoke": Budget(
        name="smoke",
        epochs=1,
        general_epochs=1,
        max_train_examples=256,
        max_eval_examples=256,
        corpus_size=256,
        batch_size=32,
        lr_scale=20.0,
        latency_runs=3,
        description="checks that everything runs (seconds per method); numbers mean nothing",
        augment_copies=1,
    ),
    "small": Budget(
        name="small",
        epochs=3,
        general_epochs=1,
        max_train_examples=None,
        max_eval_examples=None,
        corpus_size=8000,
        batch_size=32,
        lr_scale=20.0,
        latency_runs=20,
        description="embedded tasks on 2 CPUs in minutes: 3 epochs per task stage",
    ),
    "book": Budget(
        name="book",
        epochs=2,
        general_epochs=1,
        max_train_examples=2000,
        max_eval_examples=None,
        corpus_size=4000,
        batch_size=32,
        lr_scale=20.0,
        latency_runs=5,
        description="the book's executed ablations: 2,000 training examples, 2 epochs per "
        "stage; a few seconds per run on 2 CPUs",
        augment_copies=2,
    ),
    "paper": Budget(
        name="paper",
        epochs=None,
        general_epochs=None,
        max_train_examples=None,
        max_eval_examples=None,
        corpus_size=None,
        batch_size=None,
        lr_scale=1.0,
        latency_runs=50,
        description="the papers' recipes (baselines/recipes.json); a GPU and GLUE data",
        max_learning_rate=None,
        augment=True,
        augment_copies=None,
    ),
}


def get_budget(budget: str | Budget) -> Budget:
    """A budget by name (or the budget itself). Unknown names list the valid ones."""
    if isinstance(budget, Budget):
        return budget
    if budget not in BUDGETS:
        raise ValueError(f"unknown budget '{budget}'. Valid budgets: {', '.join(BUDGETS)}.")
    return BUDGETS[budget]
