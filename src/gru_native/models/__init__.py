"""The models floor: the engine that runs graphs of layer calls (Sequential is a chain), the
training loop, summary, saving, streaming and the inference plan. Imports layers and kernels."""

from .saving import load_model
from .sequential import Sequential

__all__ = ["Sequential", "load_model"]
