"""Interop: models from other frameworks' trained modules, one module per framework (torch.py,
keras.py). Uses only the public names of gru_native."""

from .keras import from_keras
from .torch import from_torch

__all__ = ["from_keras", "from_torch"]
