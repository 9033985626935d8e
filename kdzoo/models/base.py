"""What every kdzoo model shares: dict outputs that still train with a plain ``fit``.

kdzoo models return a dict (``{"logits": ..., "hidden_states": [...], ...}``) so that
distillers can read any internal state. A user who just wants to fine-tune a model
should still be able to write::

    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.fit(x, y)

:class:`DictOutputModel` makes that work: when ``y`` is not itself a dict, the
compiled loss and metrics see only the model's primary output (``"logits"``, or
``"mlm_logits"`` for a masked-LM model). Passing ``y`` as a dict keyed by output
name uses Keras's usual multi-output rules instead.
"""

from __future__ import annotations

import keras

__all__ = ["DictOutputModel"]


class DictOutputModel(keras.Model):
    """A ``keras.Model`` whose ``call`` returns a dict with a primary output."""

    #: Output keys tried in order when the compiled loss needs a single tensor.
    primary_outputs: tuple[str, ...] = ("logits", "mlm_logits")

    def _primary(self, y, y_pred):
        if not isinstance(y_pred, dict) or isinstance(y, dict):
            return y_pred
        for key in self.primary_outputs:
            if key in y_pred:
                return y_pred[key]
        raise ValueError(
            f"{type(self).__name__} has no head to train with a single loss: its outputs "
            f"are {sorted(y_pred)}. Attach a head (for example num_labels=... or "
            "mlm_head=True), or pass `y` as a dict keyed by output name."
        )

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        return super().compute_loss(
            x=x,
            y=y,
            y_pred=self._primary(y, y_pred),
            sample_weight=sample_weight,
            training=training,
        )

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        return super().compute_metrics(x, y, self._primary(y, y_pred), sample_weight)
