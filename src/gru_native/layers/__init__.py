"""Layers with Keras' names, arguments and weight layouts."""

from .activation import Activation
from .base import LAYER_CLASSES, Layer, deserialize, serialize
from .bidirectional import Bidirectional
from .dense import Dense
from .dropout import Dropout
from .embedding import Embedding
from .gru import GRU
from .input_layer import Input, InputLayer
from .node import KerasTensor, Node
from .lstm import LSTM
from .masking import Masking
from .merge import Add, Average, Concatenate, Maximum, Merge, Minimum, Multiply, Subtract
from .repeat_vector import RepeatVector
from .reshaping import Flatten, Permute, Reshape
from .time_distributed import TimeDistributed

__all__ = ["LAYER_CLASSES", "Activation", "Add", "Average", "Bidirectional", "Concatenate",
           "Dense", "Dropout", "Input", "InputLayer", "KerasTensor", "Node",
           "Embedding", "Flatten", "GRU", "LSTM", "Layer", "Masking", "Maximum", "Merge",
           "Minimum", "Multiply", "Permute", "RepeatVector", "Reshape", "Subtract",
           "TimeDistributed", "deserialize", "serialize"]
