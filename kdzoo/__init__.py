"""kdzoo: BERT knowledge distillation (TinyBERT and its baselines) on Keras 3."""

from kdzoo._version import __version__

__all__ = ["__version__"]
