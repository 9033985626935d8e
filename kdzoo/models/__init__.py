"""Models: a Keras 3 BERT that exposes its internals, and Tang et al.'s BiLSTM students.

- :class:`BertModel` / :class:`BertConfig` and the presets (:func:`presets`);
- :func:`from_hf` / :func:`to_hf` to convert Hugging Face BERT checkpoints;
- :class:`BiLSTMClassifier` / :class:`BiLSTMConfig`, single-sentence and siamese.
"""

from kdzoo.models.bert import PRESETS, BertConfig, BertModel, init_from_teacher, presets
from kdzoo.models.bilstm import BILSTM_PRESETS, BiLSTMClassifier, BiLSTMConfig, embedding_matrix
from kdzoo.models.huggingface import from_hf, to_hf

__all__ = [
    "BILSTM_PRESETS",
    "PRESETS",
    "BertConfig",
    "BertModel",
    "BiLSTMClassifier",
    "BiLSTMConfig",
    "embedding_matrix",
    "from_hf",
    "init_from_teacher",
    "presets",
    "to_hf",
]
