"""Sequential: a linear stack of layers, as keras.Sequential, run by the Model engine as a chain
of layer calls from one Input."""

from __future__ import annotations

from typing import Any, Iterable, Optional, Sequence, Union

import numpy as np
from numpy.typing import DTypeLike

from ..layers import InputLayer, KerasTensor, Layer
from ..layers.base import as_shape, deserialize, serialize
from . import saving
from .model import Model


class Sequential(Model):
    """A linear stack of layers, as keras.Sequential: a Model whose graph is a chain.

    ``Sequential(layers)``: the first layer's ``input_shape=``, a leading ``Input(...)``, or the
    first data (fit / predict) gives the input shape; until then the model is unbuilt. Training,
    prediction and saving are `Model`'s.

    Parameters
    ----------
    layers : list of Layer, optional
        The layers in order, optionally after an ``Input(...)``; more can be added with `add`.
    name : str, optional
        The model's name; by default a unique one ('sequential', 'sequential_1', ...).
    dtype : {'float32', 'float64'}, default='float32'
        The computing precision of every layer.

    Raises
    ------
    TypeError
        For an entry that is not a gru_native layer.
    ValueError
        For an Input after the first entry, or a layer with return_state=True (a Sequential
        model has a single output).

    Examples
    --------
    >>> import numpy as np
    >>> from gru_native.layers import GRU, Dense
    >>> from gru_native.models import Sequential
    >>> from gru_native.utils import set_random_seed
    >>> set_random_seed(0)
    >>> x = np.random.default_rng(0).normal(size=(32, 10, 3)).astype("float32")
    >>> y = x[:, :, 0].mean(axis=1, keepdims=True)
    >>> model = Sequential([GRU(8, input_shape=(10, 3))])
    >>> model.add(Dense(1))
    >>> model.input_shape, model.output_shape
    ((None, 10, 3), (None, 1))
    >>> model.compile(optimizer="adam", loss="mse")
    >>> history = model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    >>> model.predict(x, verbose=0).shape
    (32, 1)
    """

    def __init__(self, layers: Optional[Iterable[Union[Layer, KerasTensor]]] = None,
                 name: Optional[str] = None, dtype: DTypeLike = "float32") -> None:
        super().__init__(name=name, dtype=dtype)
        self._stack: list[Layer] = []
        self._input_layer: Optional[InputLayer] = None
        self._own_nodes: list = []  # this model's calls of its layers (replaced on a rebuild)
        for layer in layers or []:  # stacked first and built once: building on each add is quadratic
            self._append(layer)
        shape = self._known_input_shape() if self._stack else None
        if shape is not None:
            self.build(shape)

    show_connections = False
    onnx_names = ("input", "output")

    def _default_name(self) -> str:
        return "sequential"

    @property
    def layers(self) -> list[Layer]:
        """The stacked layers (as Keras, without the Input layer)."""
        return list(self._stack)

    def add(self, layer: Union[Layer, KerasTensor]) -> None:
        """Add a layer on top of the stack, as keras.Sequential.add.

        The model is built again when the input shape is known; a layer that does not fit
        leaves the model as it was.

        Parameters
        ----------
        layer : Layer or KerasTensor
            The layer to stack, or an ``Input(...)`` as the first entry.

        Raises
        ------
        TypeError
            For an entry that is not a gru_native layer.
        ValueError
            For an Input after the first entry, or a layer with return_state=True (a
            Sequential model has a single output).
        """
        previous = self.input_shape if self.built else None
        if not self._append(layer):
            return
        shape = self._known_input_shape()
        if shape is not None:
            try:
                self.build(shape)
            except BaseException:  # a layer that does not fit, or no memory: the model stays as it was
                self._stack.pop()
                self.built = False
                if previous is not None:  # the layers still hold their weights: the same buffer
                    self.build(previous)
                raise

    def _append(self, layer: Union[Layer, KerasTensor]) -> bool:
        """Stack `layer` (or take an Input) without building; True when a layer was stacked."""
        if isinstance(layer, KerasTensor) and isinstance(layer.layer, InputLayer):
            layer = layer.layer
        if isinstance(layer, InputLayer):
            if self._stack or self._input_layer is not None:
                raise ValueError("an Input can only be the first entry of a Sequential model")
            self._input_layer = layer
            return False
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential takes gru_native layers, got {type(layer).__name__}")
        if getattr(layer, "return_state", False):
            raise ValueError(f"layer {layer.name!r} has return_state=True: a Sequential model has "
                             "a single output")
        self._stack.append(layer)
        return True

    def _known_input_shape(self) -> Optional[tuple]:
        if self.built:
            return self.input_shape
        if self._input_layer is not None:
            return (None,) + self._input_layer.shape
        first = self._stack[0]
        if first.input_shape_arg is not None:
            return (None,) + first.input_shape_arg
        return None

    def build(self, input_shape: Sequence[Optional[int]]) -> None:
        """Build every layer for inputs of `input_shape`, as keras.Sequential.build.

        Parameters
        ----------
        input_shape : sequence of int or None
            The input shape, batch axis first (as Keras), e.g. ``(None, timesteps, features)``.

        Raises
        ------
        ValueError
            If the model has no layers, or for a shape that does not fit them.
        """
        if not self._stack:
            raise ValueError("the model has no layers")
        shape = as_shape(tuple(input_shape)[1:], "input_shape")
        for layer in self._stack:  # this model's earlier calls, if any, make way for the new chain
            layer.nodes = [node for node in layer.nodes if node not in self._own_nodes]
        if self._input_layer is None or self._input_layer.shape != shape:
            dtype = "int32" if self._stack[0].integer_inputs else self.dtype.name
            self._input_layer = InputLayer(shape=shape, dtype=dtype, name=f"{self.name}_input")
        x = self._input_layer.output
        nodes = []
        for layer in self._stack:
            x = layer(x)
            nodes.append(layer.nodes[-1])
        self._own_nodes = nodes
        self._set_graph(self._input_layer.output, x)

    def _build_from_data(self, x):
        if not self._stack:
            raise ValueError("the model has no layers")
        try:
            array = np.asarray(x)
        except ValueError:
            raise ValueError("x is ragged (its sequences have different shapes): pad them to one "
                             "length and pass mask=, or use the estimators, which take lists of "
                             "sequences") from None
        if array.ndim < 2:
            raise ValueError(f"x must have a batch axis and features, got shape {array.shape}")
        self.build((None,) + array.shape[1:])
        return array

    def get_config(self) -> dict[str, Any]:
        """Return the model's config, as keras.Sequential.get_config.

        Returns
        -------
        dict
            The name, dtype and each layer's config, and the input shape once built
            (``build_input_shape``).
        """
        config: dict[str, Any] = {"name": self.name, "dtype": self.dtype.name,
                                  "layers": [serialize(layer) for layer in self._stack]}
        if self.built:
            config["build_input_shape"] = list(self.input_shape)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Sequential:
        """Create a model from its config, as keras.Sequential.from_config.

        Parameters
        ----------
        config : dict
            A config from `get_config`.

        Returns
        -------
        Sequential
            A new model with the config's layers (new weights), built when the config has
            its input shape.
        """
        model = cls([deserialize(c) for c in config["layers"]], name=config["name"],
                    dtype=config["dtype"])
        if not model.built and "build_input_shape" in config:
            model.build(tuple(config["build_input_shape"]))
        return model


saving.register_model_class("Sequential", Sequential)
