"""Data preparation for recurrent models, with Keras' names: `sequence` (make_windows,
pad_sequences), `text` (Keras 2's Tokenizer), and SequenceScaler (a scikit-learn transformer)."""

from . import sequence, text
from ..sklearn.base import NotFittedError
from ..sklearn.scaler import SequenceScaler
from .sequence import make_windows, pad_sequences
from .text import Tokenizer

__all__ = ["NotFittedError", "SequenceScaler", "Tokenizer", "make_windows", "pad_sequences", "sequence", "text"]
