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
    """The layer of a model input, as ``keras.layers.InputLayer``: its shape and dtype.

    Its one node has no inputs and one output, the tensor :func:`~gru_native.layers.Input`
    returns (the layer's ``output``).

    Parameters
    ----------
    shape : tuple of int or None
        The input's shape without the batch axis, such as ``(timesteps, features)`` (None for
        an unknown length). Required (or ``input_shape``).
    dtype : str or numpy dtype, optional
        The input's dtype (default 'float32'; an integer dtype for ids, as Embedding takes).
    batch_size : int, optional
        A fixed batch size, the first axis of the output tensor's shape (None: any).
    name : str, optional
        The layer's name (default: Keras' automatic name, 'input_layer', 'input_layer_1', ...).
    **kwargs
        ``input_shape``, the name of `shape` in saved configs, used when `shape` is None; and
        the other arguments of :class:`~gru_native.layers.Layer` (``trainable``).

    Raises
    ------
    TypeError
        For a shape that is not a tuple of integers or None.
    ValueError
        Without a shape, or for a dimension or a `batch_size` below 1.
    """

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
        """Whether the input holds integers (an integer dtype), such as Embedding's ids."""
        return np.dtype(self.dtype).kind in "iu"

    def inference_ops(self, inputs, new_slot):
        """Return the input's inference-plan ops: none, its slot is the output's (the identity).

        Parameters
        ----------
        inputs : sequence of int
            The slot holding the model input.
        new_slot : callable
            ``new_slot()`` numbers a new slot (not called).

        Returns
        -------
        LayerOps
            No op, and the input's slot as the output's.
        """
        return LayerOps([], list(inputs[:1]))  # the identity

    def get_config(self):
        """Return the input's configuration, from which `from_config` makes it again.

        Returns
        -------
        dict
            ``name``, ``shape``, ``dtype`` and ``batch_size``.
        """
        return {"name": self.name, "shape": list(self.shape), "dtype": self.dtype,
                "batch_size": self.batch_size}


def Input(shape: Sequence[Optional[int]], dtype: Optional[DTypeLike] = None,
          name: Optional[str] = None, batch_size: Optional[int] = None) -> KerasTensor:
    """Make a symbolic model input of `shape` (without the batch axis), as ``keras.Input``.

    A functional model starts from such tensors: calling layers on them records the graph
    between the inputs and the outputs given to :class:`~gru_native.models.Model`.

    Parameters
    ----------
    shape : tuple of int or None
        The input's shape without the batch axis, such as ``(timesteps, features)`` (None for
        an unknown length).
    dtype : str or numpy dtype, optional
        The input's dtype (default 'float32'; an integer dtype for ids, as Embedding takes).
    name : str, optional
        The input's name (default: Keras' automatic name, 'input_layer', 'input_layer_1',
        ...).
    batch_size : int, optional
        A fixed batch size, the first axis of the tensor's shape (None: any).

    Returns
    -------
    KerasTensor
        The symbolic input, of shape ``(batch_size, *shape)``.

    Raises
    ------
    TypeError
        For a shape that is not a tuple of integers or None.
    ValueError
        For a dimension or a `batch_size` below 1.
    """
    return InputLayer(shape=shape, dtype=dtype, batch_size=batch_size, name=name).output
