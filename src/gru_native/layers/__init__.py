"""Layers with Keras' names, arguments and weight layouts."""

from .activation import Activation
from .base import LAYER_CLASSES, Layer, deserialize, serialize
from .bidirectional import Bidirectional
from .dense import Dense
from .dropout import Dropout, SpatialDropout1D
from .embedding import Embedding
from .gru import GRU
from .input_layer import Input, InputLayer
from .node import KerasTensor, Node
from .lstm import LSTM
from .masking import Masking
from .merge import Add, Average, Concatenate, Maximum, Merge, Minimum, Multiply, Subtract
from .pooling import (AveragePooling1D, GlobalAveragePooling1D, GlobalMaxPooling1D,
                      MaxPooling1D)
from .repeat_vector import RepeatVector
from .reshaping import Flatten, Permute, Reshape
from .time_distributed import TimeDistributed

__all__ = ["LAYER_CLASSES", "Activation", "Add", "Average", "AveragePooling1D", "Bidirectional",
           "Concatenate", "Dense", "Dropout", "Embedding", "Flatten", "GRU",
           "GlobalAveragePooling1D", "GlobalMaxPooling1D", "Input", "InputLayer", "KerasTensor",
           "LSTM", "Layer", "Masking", "MaxPooling1D", "Maximum", "Merge", "Minimum", "Multiply",
           "Node", "Permute", "RepeatVector", "Reshape", "SpatialDropout1D", "Subtract",
           "TimeDistributed", "deserialize", "serialize"]
