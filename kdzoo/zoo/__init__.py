"""The zoo: one file per distillation method, and the registry; :func:`kdzoo.methods` lists them.

Each method is one file with its own config dataclass of the paper's defaults:
``kd`` (Hinton), ``bilstm`` (Tang et al.), ``distilbert``, ``pkd``, ``tinybert``, ``lad``.
"""

from kdzoo.zoo import bilstm, distilbert, kd, lad, pkd, tinybert  # noqa: F401  (register)
from kdzoo.zoo.base import Method, MethodConfig, get_method, methods, register

__all__ = ["Method", "MethodConfig", "get_method", "methods", "register"]
