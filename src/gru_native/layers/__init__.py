"""Layers with Keras' names, arguments and weight layouts."""

from .activation import Activation
from .base import Layer
from .bidirectional import Bidirectional
from .dense import Dense
from .dropout import Dropout
from .embedding import Embedding
from .gru import GRU
from .lstm import LSTM
from .masking import Masking

_CLASSES = {cls.__name__: cls for cls in (Activation, Bidirectional, Dense, Dropout, Embedding,
                                          GRU, LSTM, Masking)}


def serialize(layer):
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def deserialize(config):
    """A layer from {'class_name': ..., 'config': ...} as `serialize` writes it."""
    try:
        cls = _CLASSES[config["class_name"]]
    except KeyError:
        raise ValueError(f"unknown layer class {config.get('class_name')!r}; known: {sorted(_CLASSES)}") from None
    return cls.from_config(config["config"])


__all__ = ["Activation", "Bidirectional", "Dense", "Dropout", "Embedding", "GRU", "LSTM",
           "Layer", "Masking", "deserialize", "serialize"]
