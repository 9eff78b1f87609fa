"""Input: the entry of a functional model, as keras.Input / keras.layers.InputLayer."""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np
from numpy.typing import DTypeLike

from ..kernels.plan_ops import LayerOps
from ..validation import check_int
from .base import Layer, as_shape
from .node import KerasTensor, Node


class InputLayer(Layer):
    """Holds the shape and dtype of a model input; its one node has no inputs and one output."""

    def __init__(self, shape: Optional[Sequence[Optional[int]]] = None,
                 dtype: Optional[DTypeLike] = None, batch_size: Optional[int] = None,
                 name: Optional[str] = None, **kwargs: Any) -> None:
        input_shape = kwargs.pop("input_shape", None)  # the name in saved configs
        if shape is None:
            shape = input_shape
        if shape is None:
            raise ValueError("Input needs a shape (without the batch axis), e.g. shape=(10, 3)")
        super().__init__(name=name, **kwargs)
        self.shape = as_shape(shape, "shape")
        self.dtype = np.dtype("float32" if dtype is None else dtype).name
        self.batch_size = None if batch_size is None else check_int(batch_size, "batch_size", 1)
        self.build(self.shape)
        node = Node(self, [])
        node.outputs = [KerasTensor((batch_size,) + self.shape, self.dtype, node, 0, self.name)]
        self.nodes.append(node)

    @property
    def integer_inputs(self) -> bool:
        return np.dtype(self.dtype).kind in "iu"

    def inference_ops(self, inputs, new_slot):
        return LayerOps([], list(inputs[:1]))  # the identity

    def get_config(self):
        return {"name": self.name, "shape": list(self.shape), "dtype": self.dtype,
                "batch_size": self.batch_size}


def Input(shape: Sequence[Optional[int]], dtype: Optional[DTypeLike] = None,
          name: Optional[str] = None, batch_size: Optional[int] = None) -> KerasTensor:
    """A symbolic model input of `shape` (without the batch axis), as keras.Input."""
    return InputLayer(shape=shape, dtype=dtype, batch_size=batch_size, name=name).output
