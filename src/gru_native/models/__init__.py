"""The models floor: the engine that runs graphs of layer calls (Model; Sequential is a chain),
the training loop, summary, saving, streaming and the inference plan. Imports layers and kernels."""

from .model import Model
from .saving import load_model
from .sequential import Sequential

__all__ = ["Model", "Sequential", "load_model"]
