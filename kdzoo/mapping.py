"""Layer mappings: which teacher layer teaches which student layer.

Plain functions that return index lists; no model, no tensors. Index conventions, the
same everywhere in kdzoo:

- **hidden-state indices** count from the embedding output: entry 0 is the embeddings
  and entry l (1..N) the output of layer l, as in ``BertModel``'s ``hidden_states``
  and Hugging Face's ``hidden_states``;
- **attention indices** are 0-based into the N per-layer attention maps: entry i is
  the attention of layer i + 1.

Depths that do not divide raise an error unless the caller opts into the documented
rounding rule ``rounding="floor"`` (``k = N // M``, the rule the LAD code applies
silently).

Book chapter: ``book/methods/tinybert.md`` (layer mapping).
"""

from __future__ import annotations

__all__ = [
    "check_same_heads",
    "distilbert_init_layers",
    "lad_mapping",
    "pkd_mapping",
    "tinybert_mapping",
]


def _block(teacher_layers: int, student_layers: int, rounding: str | None, what: str) -> int:
    if student_layers < 1 or teacher_layers < student_layers:
        raise ValueError(
            f"{what}: a student of {student_layers} layers cannot learn from a teacher of "
            f"{teacher_layers}; the student needs 1..{teacher_layers} layers."
        )
    if teacher_layers % student_layers:
        if rounding != "floor":
            divisors = ", ".join(
                str(d) for d in range(1, teacher_layers + 1) if not teacher_layers % d
            )
            raise ValueError(
                f"{what}: the teacher's {teacher_layers} layers do not divide into "
                f"{student_layers} student layers. Use a student depth that divides "
                f"{teacher_layers} ({divisors}), "
                f"or pass rounding='floor' to use k = {teacher_layers} // {student_layers} = "
                f"{teacher_layers // student_layers} and leave the top teacher layers unused."
            )
    elif rounding not in (None, "floor"):
        raise ValueError(f"rounding must be None or 'floor', got {rounding!r}.")
    return teacher_layers // student_layers


def tinybert_mapping(
    teacher_layers: int,
    student_layers: int,
    strategy: str = "uniform",
    *,
    rounding: str | None = None,
) -> dict[str, list[int]]:
    """TinyBERT's mapping g(m) from student layer m to teacher layer g(m).

    - ``"uniform"`` (paper: g(m) = k·m; official ``task_distill.py`` L941–962), with
      k = N / M: attention index ``i·k + k − 1`` for i = 0..M−1 (teacher layers
      k, 2k, .., N) and hidden index ``j·k`` for j = 0..M, embeddings included.
      12→4: attention [2, 5, 8, 11], hidden [0, 3, 6, 9, 12].
    - ``"top"`` (paper §4.6, Table 4: g(m) = m + N − M): the top M teacher layers.
    - ``"bottom"`` (g(m) = m): the bottom M teacher layers.

    In every strategy the embeddings map to the embeddings (g(0) = 0).

    Returns:
        ``{"attention": [...M indices...], "hidden": [...M + 1 indices...]}``.
    """
    k = _block(teacher_layers, student_layers, rounding, "TinyBERT mapping")
    m = student_layers
    if strategy == "uniform":
        layers = [k * j for j in range(1, m + 1)]
    elif strategy == "top":
        layers = [j + teacher_layers - m for j in range(1, m + 1)]
    elif strategy == "bottom":
        layers = list(range(1, m + 1))
    else:
        raise ValueError(
            f"unknown TinyBERT mapping '{strategy}'; choose 'uniform', 'top' or 'bottom'."
        )
    return {"attention": [g - 1 for g in layers], "hidden": [0, *layers]}


def pkd_mapping(
    teacher_layers: int,
    student_layers: int,
    strategy: str = "skip",
    *,
    rounding: str | None = None,
) -> list[int]:
    """PKD's teacher layers (hidden-state indices) for the student's layers 1..M−1.

    The patient loss skips the last student layer, which learns through the logits,
    so the list has M − 1 entries (``NLI_KD_training.py`` L259–261).

    - ``"skip"`` (PKD-Skip): every k-th teacher layer, ``[k, 2k, .., (M−1)·k]``.
      12→6 gives [2, 4, 6, 8, 10], 24→6 [4, 8, 12, 16, 20] and 24→3 [8, 16], the
      index sets of the official scripts (``run_student_patience.py``).
    - ``"last"`` (PKD-Last): the M − 1 layers below the top,
      ``[N − M + 1, .., N − 1]``; 12→6 gives [7, 8, 9, 10, 11] and 12→3 [10, 11],
      the official script's set for a 3-layer student.
    """
    k = _block(teacher_layers, student_layers, rounding, "PKD mapping")
    m = student_layers
    if strategy == "skip":
        return [k * j for j in range(1, m)]
    if strategy == "last":
        return list(range(teacher_layers - m + 1, teacher_layers))
    raise ValueError(f"unknown PKD strategy '{strategy}'; choose 'skip' or 'last'.")


def distilbert_init_layers(
    teacher_layers: int = 12, student_layers: int = 6, strategy: str = "official"
) -> list[int]:
    """Which teacher layers (0-based) initialise DistilBERT's student layers.

    - ``"official"``: ``[0, 2, 4, 7, 9, 11]`` for 12→6, the list in every copy of
      ``scripts/extract_distilbert.py``;
    - ``"every_other"``: the paper's "one layer out of two", ``[0, 2, .., 2(M−1)]``,
      and in general every k-th layer from the bottom.
    """
    if strategy == "official":
        if (teacher_layers, student_layers) != (12, 6):
            raise ValueError(
                "the official DistilBERT layer list [0, 2, 4, 7, 9, 11] is for a 12-layer "
                f"teacher and a 6-layer student, not {teacher_layers}→{student_layers}; "
                "use strategy='every_other'."
            )
        return [0, 2, 4, 7, 9, 11]
    if strategy == "every_other":
        k = _block(teacher_layers, student_layers, None, "DistilBERT initialisation")
        return [k * j for j in range(student_layers)]
    raise ValueError(
        f"unknown DistilBERT strategy '{strategy}'; choose 'official' or 'every_other'."
    )


def lad_mapping(
    teacher_layers: int, student_layers: int, *, rounding: str | None = None
) -> list[int]:
    """LAD: the aggregate A_l (1-based l) that each student layer j = 1..M learns.

    ``skip = N // M``; student layer j matches ``A_{j·skip}`` (``train_LAD.py``,
    ``teacher_indices = range(skip − 1, N, skip)``, 0-based). 12→6 gives
    [2, 4, .., 12], 12→4 [3, 6, 9, 12]. The official code floors silently for depths
    that do not divide; kdzoo asks for ``rounding="floor"``.
    """
    k = _block(teacher_layers, student_layers, rounding, "LAD mapping")
    return [k * j for j in range(1, student_layers + 1)]


def check_same_heads(teacher_heads: int, student_heads: int) -> None:
    """Raise unless an attention loss can compare the two models head by head."""
    if teacher_heads != student_heads:
        raise ValueError(
            f"the attention loss compares attention maps head by head, but the teacher has "
            f"{teacher_heads} heads and the student {student_heads}. Give the student "
            f"num_attention_heads={teacher_heads} (TinyBERT4 keeps 12 heads at width 312), "
            "or switch the attention loss off (attention_weight=0)."
        )
