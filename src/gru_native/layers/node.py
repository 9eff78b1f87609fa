"""Symbolic tensors and the nodes that make them: calling a layer on KerasTensors records a Node
(the layer, its input tensors, its output tensors) instead of computing, as Keras' functional
API does. A model is the graph of nodes between its Input tensors and its outputs."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any, Optional

import numpy as np

if TYPE_CHECKING:
    from .base import Layer

_node_ids = itertools.count()


class KerasTensor:
    """A symbolic tensor, as Keras' ``KerasTensor``: a shape and dtype, and the call that makes it.

    What :func:`~gru_native.layers.Input` and a layer called on KerasTensors return: its shape
    (the batch axis first, None), its dtype, and the node (and output index) that makes it.
    A functional model is the graph between its Input tensors and its output tensors.

    Parameters
    ----------
    shape : tuple of int or None
        The shape, the batch axis first (None for an unknown size).
    dtype : str or numpy dtype
        The dtype, kept as its name ('float32', ...).
    node : Node, optional
        The node whose call makes this tensor.
    index : int, default=0
        Which of the node's outputs this tensor is.
    name : str, optional
        The tensor's name (its layer's name, with ``_i`` for the i-th of several outputs).
    """

    def __init__(self, shape: tuple, dtype: Any, node: Optional[Node] = None, index: int = 0,
                 name: Optional[str] = None) -> None:
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype).name
        self.node, self.index = node, index
        self.name = name

    @property
    def ndim(self) -> int:
        """The number of axes, the batch axis included."""
        return len(self.shape)

    @property
    def layer(self) -> Layer:
        """The layer whose call made this tensor."""
        return self.node.layer

    def __repr__(self) -> str:
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"


class Node:
    """One call of a layer in a graph: the layer, its input tensors, and its output tensors.

    Nodes are numbered as they are made (``id``), which orders every node after the ones it
    reads. The layer's call sets ``outputs``, what the call returns (a list of
    :class:`~gru_native.layers.KerasTensor`).

    Parameters
    ----------
    layer : Layer
        The layer called.
    inputs : list of KerasTensor
        Its input tensors in call order (a merge layer's list, or a recurrent layer's x
        followed by its initial states).
    options : dict, optional
        The call's other arguments (Attention's ``use_causal_mask``, ...).
    """

    def __init__(self, layer: Layer, inputs: list[KerasTensor],
                 options: Optional[dict[str, Any]] = None) -> None:
        self.id = next(_node_ids)
        self.layer = layer
        self.inputs = list(inputs)
        self.options = dict(options or {})
        self.outputs: list[KerasTensor] = []

    def __repr__(self) -> str:
        return f"<Node {self.id} of {self.layer.name!r}>"


def is_symbolic(values: list) -> bool:
    """Whether a call's inputs are KerasTensors (all of them: mixing raises)."""
    symbolic = [isinstance(v, KerasTensor) for v in values]
    if any(symbolic) and not all(symbolic):
        raise TypeError("a layer call mixes symbolic tensors (from Input) and arrays: give it "
                        "one kind")
    return bool(symbolic) and symbolic[0]
