"""A disk cache of teacher outputs, so the teacher runs once per dataset, not per epoch.

The teacher is frozen, so its outputs on a fixed dataset never change. TinyBERT's
prediction stage, Tang et al.'s BiLSTM, KD, PKD and LAD read only the teacher's logits
(and PKD / TinyBERT / LAD some mapped intermediate states): computing those once
and reading them back removes the teacher's forward pass, most of a step's FLOPs, from
every later epoch, method and run.

:class:`TeacherCache` stores the teacher's logits and, on request, the hidden states and
attention scores of chosen layers, as ``safetensors`` (no pickle), under a key that
fingerprints the teacher's configuration and weights, the inputs (which also pins the
tokenizer and the max length) and anything else the caller names. Any change gives a
new key. Files are written atomically (a temporary file, then a rename).

:meth:`TeacherCache.attach` puts the cached outputs into the inputs dict under
``"teacher_outputs"``, where :class:`kdzoo.distillers.Distiller` reads them instead of
running the teacher.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["CachedLayers", "TeacherCache", "compute_teacher_outputs", "fingerprint"]


def _update_array(h, name: str, array) -> None:
    a = np.ascontiguousarray(np.asarray(array))
    h.update(f"{name}|{a.dtype.str}|{a.shape}".encode())
    h.update(a.tobytes())


def fingerprint(teacher, inputs: dict[str, Any], extra: dict[str, Any] | None = None) -> str:
    """A hex key for (teacher config and weights, inputs, extra); any change changes it."""
    from keras import ops

    h = hashlib.sha256()
    config = getattr(teacher, "config", None)
    config = config.to_dict() if hasattr(config, "to_dict") else repr(config)
    h.update(json.dumps(config, sort_keys=True, default=str).encode())
    for w in teacher.weights:
        _update_array(h, w.path, ops.convert_to_numpy(w))
    for key in sorted(inputs):
        _update_array(h, key, inputs[key])
    h.update(json.dumps(extra or {}, sort_keys=True, default=str).encode())
    return h.hexdigest()[:40]


class CachedLayers(Sequence):
    """A list-like view of cached per-layer tensors where only some layers are stored.

    ``len()`` is the teacher's full count, so layer mappings compute as usual; reading a
    layer that was not cached raises with the fix.
    """

    def __init__(self, layers: dict[str, Any], length: int, what: str):
        self._layers, self._length, self._what = layers, length, what

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._length))]
        index = index + self._length if index < 0 else index
        key = str(index)
        if key not in self._layers:
            raise KeyError(
                f"{self._what} {index} is not in the teacher cache (cached: "
                f"{sorted(int(k) for k in self._layers)}); build the cache with "
                f"{'hidden_layers' if self._what == 'hidden state' else 'attention_layers'}"
                f" including {index}."
            )
        return self._layers[key]


def compute_teacher_outputs(
    teacher,
    inputs: dict[str, np.ndarray],
    *,
    hidden_layers: Sequence[int] = (),
    attention_layers: Sequence[int] = (),
    batch_size: int = 64,
    progress: bool = True,
) -> dict[str, np.ndarray]:
    """Run ``teacher`` (``training=False``) over ``inputs`` in batches, without caching.

    Takes and returns what :meth:`TeacherCache.teacher_outputs` does; that method
    stores this function's result.
    """
    from keras import ops
    from tqdm.auto import tqdm

    hidden, attention = sorted(set(hidden_layers)), sorted(set(attention_layers))
    n = len(next(iter(inputs.values())))
    flags = {
        "output_hidden_states": bool(hidden),
        "output_attention_scores": bool(attention),
    }
    chunks: dict[str, list[np.ndarray]] = {}
    for start in tqdm(
        range(0, n, batch_size), desc="teacher outputs", unit="batch", disable=not progress
    ):
        batch = {k: v[start : start + batch_size] for k, v in inputs.items()}
        out = teacher(batch, training=False, **flags)
        got = {"logits": out["logits"]}
        for i in hidden:
            got[f"hidden_states/{i}"] = out["hidden_states"][i]
        for i in attention:
            got[f"attention_scores/{i}"] = out["attention_scores"][i]
        for k, v in got.items():
            chunks.setdefault(k, []).append(np.asarray(ops.convert_to_numpy(v)))
    return {k: np.concatenate(v) for k, v in chunks.items()}


class TeacherCache:
    """Teacher outputs on a dataset, computed once and kept in ``directory``.

    Args:
        directory: where the ``.safetensors`` files go (created if needed).
    """

    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        return self.directory / f"teacher-{key}.safetensors"

    def teacher_outputs(
        self,
        teacher,
        inputs: dict[str, np.ndarray],
        *,
        hidden_layers: Sequence[int] = (),
        attention_layers: Sequence[int] = (),
        batch_size: int = 64,
        extra: dict[str, Any] | None = None,
        progress: bool = True,
    ) -> dict[str, np.ndarray]:
        """The teacher's outputs on ``inputs``, from the cache or computed and stored.

        Args:
            teacher: a kdzoo model (run with ``training=False``).
            inputs: the model input dict (NumPy arrays), the whole dataset.
            hidden_layers: hidden-state indices to keep (0 = embeddings).
            attention_layers: attention-score indices to keep (0-based layers).
            batch_size: batch size of the forward passes.
            extra: anything else the outputs depend on (e.g. the tokenizer's name).
            progress: show a progress bar while computing.

        Returns:
            The outputs as NumPy arrays under the keys ``logits`` [N, C],
            ``hidden_states/<i>`` [N, L, H] and ``attention_scores/<i>`` [N, h, L, L].
        """
        from safetensors.numpy import load_file, save_file

        wanted = {"hidden": sorted(set(hidden_layers)), "attention": sorted(set(attention_layers))}
        key = fingerprint(teacher, inputs, {"extra": extra, "wanted": wanted})
        path = self.path(key)
        if path.exists():
            return load_file(str(path))
        arrays = compute_teacher_outputs(
            teacher,
            inputs,
            hidden_layers=wanted["hidden"],
            attention_layers=wanted["attention"],
            batch_size=batch_size,
            progress=progress,
        )
        fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        os.close(fd)
        try:
            save_file(arrays, tmp, metadata={"key": key})
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        return arrays

    def attach(self, inputs: dict[str, np.ndarray], outputs: dict[str, np.ndarray]) -> dict:
        """``inputs`` plus ``"teacher_outputs"`` in the nested form the Distiller reads."""
        nested: dict[str, Any] = {}
        for name, array in outputs.items():
            if "/" in name:
                group, index = name.split("/")
                nested.setdefault(group, {})[index] = array
            else:
                nested[name] = array
        return {**inputs, "teacher_outputs": nested}
