"""Layers with Keras' names, arguments and weight layouts."""

from .activation import Activation
from .attention import Attention
from .base import LAYER_CLASSES, Layer, deserialize, serialize
from .bidirectional import Bidirectional
from .conv1d import Conv1D
from .dense import Dense
from .dropout import Dropout, SpatialDropout1D
from .embedding import Embedding
from .gru import GRU
from .input_layer import Input, InputLayer
from .node import KerasTensor, Node
from .normalization import BatchNormalization, LayerNormalization
from .lstm import LSTM
from .masking import Masking
from .merge import Add, Average, Concatenate, Maximum, Merge, Minimum, Multiply, Subtract
from .multi_head_attention import MultiHeadAttention
from .pooling import (AveragePooling1D, GlobalAveragePooling1D, GlobalMaxPooling1D,
                      MaxPooling1D)
from .repeat_vector import RepeatVector
from .reshaping import Flatten, Permute, Reshape
from .time_distributed import TimeDistributed

__all__ = ["LAYER_CLASSES", "Activation", "Add", "Attention", "Average", "AveragePooling1D",
           "BatchNormalization", "Bidirectional", "Concatenate", "Conv1D", "Dense", "Dropout",
           "Embedding", "Flatten", "GRU", "GlobalAveragePooling1D", "GlobalMaxPooling1D", "Input",
           "InputLayer", "KerasTensor", "LSTM", "Layer", "LayerNormalization", "Masking",
           "MaxPooling1D", "Maximum", "Merge", "Minimum", "MultiHeadAttention", "Multiply", "Node",
           "Permute", "RepeatVector", "Reshape", "SpatialDropout1D", "Subtract", "TimeDistributed",
           "deserialize", "serialize"]
