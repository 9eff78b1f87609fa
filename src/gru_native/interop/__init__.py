"""Interop: models from other frameworks' trained modules (torch, Keras). Uses only the public
names of gru_native."""

from .frameworks import from_keras, from_torch

__all__ = ["from_keras", "from_torch"]
