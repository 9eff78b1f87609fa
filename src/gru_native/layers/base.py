"""The Layer contract, and the one contiguous buffer that holds every weight of a model.

A layer declares its weights in `build` (`add_weight`), is then bound to views into the model's
parameter and gradient buffers, and runs as a pair of calls: `forward(x, mask, training)` keeps
what its backward needs and returns (y, mask), `backward(dy, need_dx)` writes its gradient views
and returns dx. A model's engine calls a layer through `call_node` / `backward_node`, which take
and return lists (several inputs: merge layers, a recurrent layer's initial states; several
outputs: return_state); single-input layers need only forward and backward. Called on symbolic
tensors (from `Input`), a layer records a node of a graph instead of computing.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import numbers
import re
from collections import namedtuple
from typing import Any, Callable, Iterable, Optional, Sequence, TypeVar, Union

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from .. import activations
from .. import initializers
from .. import utils
from ..kernels.plan_ops import ACTIVATIONS, LayerOps
from ..validation import check_bool
from .node import KerasTensor, Node, is_symbolic

# trainable=False: a weight the layer itself updates and no optimizer moves (moving statistics)
WeightSpec = namedtuple("WeightSpec", "name shape initializer trainable", defaults=(True,))

# A shape without the batch axis: a tuple of ints, None for an unknown length.
Shape = tuple[Optional[int], ...]
# What layers take for an initializer: a name ('glorot_uniform', ...), a config dict
# {"class_name": ..., "config": ...} or an Initializer.
InitializerLike = Union[str, dict[str, Any], initializers.Initializer]
# What layers take for an activation: a name ('relu', 'tanh', ...), None for 'linear', or an
# object with forward(z) and backward(da, a, z).
ActivationLike = Union[str, activations.Activation, None]

_L = TypeVar("_L", bound="Layer")

_name_counts: dict[str, int] = {}
#: Every Layer subclass by class name, for deserialize (filled as the classes are defined).
LAYER_CLASSES: dict[str, type] = {}


def _snake_case(name):
    """Keras' rule: 'GRU' -> 'gru', 'Bidirectional' -> 'bidirectional', 'MyLayer' -> 'my_layer'."""
    name = re.sub(r"(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def unique_name(base: str) -> str:
    """Keras' automatic names: 'gru', then 'gru_1', 'gru_2', ..."""
    n = _name_counts.get(base, 0)
    _name_counts[base] = n + 1
    return base if n == 0 else f"{base}_{n}"


def as_shape(shape: Iterable[Optional[int]], what: str) -> Shape:
    """A shape without the batch axis, as a tuple of ints or None (unknown length): integers
    only, as Keras (int() would take True, 2.5 or '3')."""
    try:
        dims = tuple(shape)
    except TypeError:
        raise TypeError(f"{what} must be a tuple such as (timesteps, features), got {shape!r}") from None
    if not all(d is None or (isinstance(d, numbers.Integral) and not isinstance(d, bool))
               for d in dims):
        raise TypeError(f"{what} must be a tuple of integers (None for an unknown length), got "
                        f"{shape!r}")
    shape = tuple(None if d is None else int(d) for d in dims)
    if any(d is not None and d < 1 for d in shape):
        raise ValueError(f"{what} must have positive dimensions, got {shape}")
    return shape


class Layer:
    """The base of every layer, and the contract a model's engine calls.

    A layer holds its name, input shape, weights and their gradients (views into the model's
    parameter buffers once bound), and makes the calls on symbolic tensors that make a graph.
    A subclass declares its weights in `build` (with `add_weight`) and computes in `forward`
    and `backward`.

    Called on symbolic tensors (from :func:`~gru_native.layers.Input`), a layer records a
    node of a graph and returns its symbolic outputs; called on arrays, it runs on its own
    (building itself, with weights of its own, if needed).

    Parameters
    ----------
    name : str, optional
        The layer's name. By default Keras' automatic name, the class name in snake case:
        'gru', then 'gru_1', 'gru_2', ...
    input_shape : tuple of int or None, optional
        The shape of the inputs without the batch axis, such as ``(timesteps, features)``
        (None for an unknown length); it gives a Sequential model's first layer its input.
    trainable : bool, default=True
        Whether an optimizer moves the layer's weights; False freezes them all.
    dtype : str or numpy dtype, optional
        The dtype of the layer's symbolic outputs and of the weights it allocates when it
        builds itself on arrays (default float32).

    Raises
    ------
    TypeError
        For an `input_shape` that is not a tuple of integers or None, or a `trainable` that
        is not a bool.
    ValueError
        For an `input_shape` with a dimension below 1.
    """

    multi_input = False  # True for layers called on a list of inputs (the merge layers)
    integer_inputs = False  # True for layers that take integer ids (Embedding)
    call_options: dict[str, Any] = {}  # the arguments of the call this layer runs (see with_options)
    call_option_names: tuple[str, ...] = ()  # the boolean call arguments with_options takes
    input_shape: Optional[Shape]
    output_shape: Optional[Shape]
    weights: list[np.ndarray]
    grads: list[np.ndarray]
    _specs: list[WeightSpec]

    def __init__(self, name: Optional[str] = None,
                 input_shape: Optional[Sequence[Optional[int]]] = None, trainable: bool = True,
                 dtype: Optional[DTypeLike] = None) -> None:
        self.name = name if name is not None else unique_name(_snake_case(type(self).__name__))
        self.input_shape_arg = None if input_shape is None else as_shape(input_shape, "input_shape")
        self.trainable = check_bool(trainable, "trainable")
        self.dtype = dtype
        self.built = False
        self.input_shape = self.output_shape = None  # without the batch axis
        self.weights, self.grads = [], []
        self._specs = []
        self.nodes: list[Node] = []  # the calls on symbolic tensors, in order
        self.parameters: Optional[Parameters] = None  # the buffer holding its weights

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        LAYER_CLASSES[cls.__name__] = cls

    # ---- building -------------------------------------------------------------------------
    def build(self, input_shape: Shape) -> Shape:
        """Declare the weights for inputs of `input_shape`; return the output shape.

        The base method forgets earlier declarations and sets the input and output shapes: a
        subclass calls it, then declares its weights with `add_weight`.

        Parameters
        ----------
        input_shape : tuple of int or None
            The shape of the inputs without the batch axis (None for an unknown length); a
            list of such shapes for a layer called on several inputs.

        Returns
        -------
        tuple of int or None
            The shape of the output, without the batch axis.
        """
        self._specs = []
        self.input_shape = input_shape
        self.output_shape = self.compute_output_shape(input_shape)
        self.built = True
        return self.output_shape

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        """Return the shape of the output for inputs of `input_shape`.

        The base layer's output has the shape of its input.

        Parameters
        ----------
        input_shape : tuple of int or None
            The shape of the inputs without the batch axis (None for an unknown length); a
            list of such shapes for a layer called on several inputs.

        Returns
        -------
        tuple of int or None
            The shape of the output, without the batch axis.
        """
        return input_shape

    def add_weight(self, name: str, shape: Sequence[int], initializer: InitializerLike,
                   trainable: bool = True) -> None:
        """Declare a weight of the layer, in `build`.

        The weight's array exists once a model (or the layer's first call on arrays) allocates
        the buffers and `bind` gives the layer its views.

        Parameters
        ----------
        name : str
            The weight's name (Keras' names: 'kernel', 'recurrent_kernel', 'bias', ...).
        shape : sequence of int
            The weight's shape.
        initializer : str, dict or Initializer
            Its initialiser: a name ('glorot_uniform', ...), a config dict
            ``{"class_name": ..., "config": ...}`` or an
            :class:`~gru_native.initializers.Initializer`.
        trainable : bool, default=True
            False for a weight the layer updates itself and no optimizer moves (moving
            statistics).
        """
        self._specs.append(WeightSpec(name, tuple(shape), initializers.get(initializer),
                                      trainable))

    def weight_specs(self) -> list[WeightSpec]:
        """Return the declarations of the layer's weights, in order.

        Returns
        -------
        list of WeightSpec
            A ``WeightSpec(name, shape, initializer, trainable)`` per weight, in the order of
            the layer's weights in the model's buffers.
        """
        return list(self._specs)

    def bind(self, params: Iterable[np.ndarray], grads: Iterable[np.ndarray]) -> None:
        """Take views into the model's buffers, one per weight spec, in order.

        Parameters
        ----------
        params : iterable of ndarray
            The views holding the weights, one per entry of `weight_specs`, in its order.
        grads : iterable of ndarray
            The views holding their gradients, in the same order.
        """
        self.weights, self.grads = list(params), list(grads)

    # ---- running --------------------------------------------------------------------------
    def forward(self, x: np.ndarray, mask: Optional[np.ndarray] = None,
                training: bool = False) -> tuple[Any, Optional[np.ndarray]]:
        """Compute the output of a batch, keeping what `backward` needs.

        Parameters
        ----------
        x : ndarray
            The input batch, such as ``(batch, timesteps, features)``; a list of arrays for a
            layer called on several inputs.
        mask : ndarray of bool, optional
            True where a step of `x` is valid, of shape ``(batch, timesteps)``; a list (None
            for an input without one) for several inputs.
        training : bool, default=False
            Whether the call is a training step (dropout and batch statistics apply).

        Returns
        -------
        y : ndarray
            The output batch.
        mask : ndarray of bool or None
            The output's mask, None when it has none.

        Raises
        ------
        NotImplementedError
            In the base class: a subclass computes.
        """
        raise NotImplementedError

    def backward(self, dy: np.ndarray, need_dx: bool = True) -> Optional[np.ndarray]:
        """Write the weights' gradients from the output's; return the input's gradient.

        It runs after `forward`, from what that call kept.

        Parameters
        ----------
        dy : ndarray
            The gradient of the loss w.r.t. the output of the last `forward`.
        need_dx : bool, default=True
            Whether the input's gradient is needed (not for a layer called on the model's
            inputs).

        Returns
        -------
        ndarray or None
            The gradient w.r.t. the input (a list for several inputs), None when `need_dx` is
            False.

        Raises
        ------
        NotImplementedError
            In the base class: a subclass computes.
        """
        raise NotImplementedError

    def inference_ops(self, inputs: Sequence[int], new_slot: Callable[[], int]) -> Optional[LayerOps]:
        """Return what one call of this layer computes at prediction, as inference-plan ops.

        The ops are records (``gru_native.kernels.plan_ops``) over slots, the arrays of a
        model's inference plan. The base layer has no such form.

        Parameters
        ----------
        inputs : sequence of int
            The slot of each of the call's input tensors (a recurrent layer's x, then its
            initial states).
        new_slot : callable
            ``new_slot()`` numbers a new slot.

        Returns
        -------
        LayerOps or None
            ``LayerOps(ops, the slot of each output)``, or None when the layer has no such
            form (the model then predicts through `forward`).
        """
        return None

    def __call__(self, inputs: Any, training: bool = False, mask: Any = None) -> Any:
        """On KerasTensors, record a node of a graph and return its symbolic outputs; on arrays,
        run the layer on its own (building it, with weights of its own, if needed)."""
        flat = list(inputs) if self.multi_input and isinstance(inputs, (list, tuple)) else [inputs]
        return self._call(flat, 0, training, mask)

    def _call(self, flat: list, n_states: int, training: bool, mask: Any,
              options: Optional[dict[str, Any]] = None) -> Any:
        """A call on `flat` inputs, the last `n_states` of them initial states, with the call
        arguments `options` (see with_options)."""
        if is_symbolic(flat):
            return self._call_symbolic(flat, n_states, options or {})
        arrays = [np.asarray(v) for v in flat]
        data = arrays[:len(arrays) - n_states]
        if not self.built:
            shapes = [as_shape(a.shape[1:], "the input's shape") for a in data]
            self.build(shapes if self.multi_input else shapes[0])
            allocate([self], np.float32 if self.dtype is None else np.dtype(self.dtype))
        if self.multi_input and isinstance(mask, (list, tuple)):
            masks = list(mask) + [None] * (len(arrays) - len(mask))
        else:
            masks = [mask] + [None] * (len(arrays) - 1)
        caller = self.with_options(options) if options else self
        outputs, _ = caller.call_node(arrays, masks, training)
        return outputs[0] if len(outputs) == 1 else outputs

    def with_options(self: _L, options: dict[str, Any]) -> _L:
        """Return this layer running its calls with the call arguments `options`.

        The call arguments are those a layer's ``__call__`` takes beyond its inputs
        (Attention's ``use_causal_mask``): booleans named in ``call_option_names`` (none for
        most layers).

        Parameters
        ----------
        options : dict
            ``{name: bool}``: the call arguments.

        Returns
        -------
        Layer
            A twin of this layer (the same weights) running calls with `options`; the layer
            itself when `options` is empty.

        Raises
        ------
        ValueError
            For an argument the layer does not take, or a value that is not a bool.
        """
        if not options:
            return self
        names = self.call_option_names
        if set(options) - set(names) or not all(isinstance(v, bool) for v in options.values()):
            takes = f"the call arguments {names} as booleans" if names else "no call arguments"
            raise ValueError(f"layer {self.name!r} ({type(self).__name__}) takes {takes}, got "
                             f"{options!r}")
        caller = self.twin()
        caller.call_options = dict(options)
        return caller

    def _call_symbolic(self, inputs: list[KerasTensor], n_states: int,
                       options: dict[str, Any]) -> Any:
        data = inputs[:len(inputs) - n_states]
        shapes = [as_shape(t.shape[1:], f"layer {self.name!r}: input shape") for t in data]
        shape = shapes if self.multi_input else shapes[0]
        if not self.multi_input and len(data) != 1:
            raise ValueError(f"layer {self.name!r} ({type(self).__name__}) takes one input, got "
                             f"{len(data)}")
        try:
            if self.built:
                self.check_input_shape(shape)
            else:
                self.build(shape)
            caller = self.with_options(options) if options else self
            out_shapes = caller.node_output_shapes(shape, [t.shape[1:] for t in inputs[len(data):]])
        except ValueError as e:
            if f"{self.name!r}" in str(e):
                raise
            raise ValueError(f"layer {self.name!r} ({type(self).__name__}): {e}") from None
        node = Node(self, inputs, options)
        dtype = "float32" if self.dtype is None else self.dtype
        node.outputs = [KerasTensor((inputs[0].shape[0],) + tuple(s), dtype, node, i,
                                    self.name if len(out_shapes) == 1 else f"{self.name}_{i}")
                        for i, s in enumerate(out_shapes)]
        self.nodes.append(node)
        return node.outputs[0] if len(node.outputs) == 1 else list(node.outputs)

    def check_input_shape(self, shape: Any) -> None:
        """Raise ValueError when a built layer is called on inputs of another shape.

        The rank and the feature (last) axis must agree, as Keras' input specs ask.

        Parameters
        ----------
        shape : tuple of int or None
            The shape of the new inputs without the batch axis; a list of such shapes for a
            layer called on several inputs.

        Raises
        ------
        ValueError
            When the rank or the features differ from those the layer was built for.
        """
        want = self.input_shape
        pairs = list(zip(shape, want)) if self.multi_input else [(shape, want)]
        for got, expected in pairs:
            if len(got) != len(expected) or (got and got[-1] != expected[-1]):
                raise ValueError(f"layer {self.name!r} ({type(self).__name__}) was built for "
                                 f"inputs of shape {(None,) + tuple(want) if not self.multi_input else want}, "
                                 f"got {(None,) + tuple(shape) if not self.multi_input else shape}")

    def node_output_shapes(self, input_shape: Any, state_shapes: list) -> list[Shape]:
        """Return the shapes of what a call returns: one, unless it returns states.

        Parameters
        ----------
        input_shape : tuple of int or None
            The shape of the call's input without the batch axis; a list of such shapes for a
            layer called on several inputs.
        state_shapes : list of tuple
            The shapes of the initial states the call is given (a recurrent layer's), without
            the batch axis.

        Returns
        -------
        list of tuple
            The shape of each output, without the batch axis.

        Raises
        ------
        ValueError
            When the call is given initial states: the base layer takes none.
        """
        if state_shapes:
            raise ValueError(f"layer {self.name!r} ({type(self).__name__}) takes no initial_state")
        return [self.compute_output_shape(input_shape)]

    @property
    def input(self) -> Any:
        """The input tensor(s) of this layer's first call on symbolic tensors."""
        node = self._first_node()
        return node.inputs[0] if len(node.inputs) == 1 else list(node.inputs)

    @property
    def output(self) -> Any:
        """The output tensor(s) of this layer's first call on symbolic tensors."""
        node = self._first_node()
        return node.outputs[0] if len(node.outputs) == 1 else list(node.outputs)

    def _first_node(self) -> Node:
        if not self.nodes:
            raise AttributeError(f"layer {self.name!r} has never been called on symbolic tensors, "
                                 "so it has no input or output")
        return self.nodes[0]

    # ---- the engine's calls -------------------------------------------------------------
    def call_node(self, inputs: list, masks: list, training: bool) -> tuple[list, list]:
        """Run the forward of one node: lists of input arrays and masks in, lists out.

        Parameters
        ----------
        inputs : list of ndarray
            The node's input arrays in call order (a merge layer's inputs, or a recurrent
            layer's x followed by its initial states).
        masks : list of ndarray or None
            The mask of each input, None for an input without one.
        training : bool
            Whether the call is a training step.

        Returns
        -------
        outputs : list of ndarray
            The node's outputs.
        masks : list of ndarray or None
            The mask of each output.
        """
        x = inputs if self.multi_input else inputs[0]
        y, mask = self.forward(x, masks if self.multi_input else masks[0], training)
        return [y], [mask]

    def backward_node(self, d_outputs: list, need_dx: bool, dy_is_logits: bool = False) -> list:
        """Run the backward of the node just run: the outputs' gradients in, the inputs' out.

        Parameters
        ----------
        d_outputs : list of ndarray or None
            A gradient per output (None for none: then zeros).
        need_dx : bool
            Whether the inputs' gradients are needed.
        dy_is_logits : bool, default=False
            Whether ``d_outputs[0]`` is the gradient w.r.t. `fused_logits` (a loss fused with
            this layer's final activation).

        Returns
        -------
        list of ndarray or None
            The gradient of each of the node's inputs, in call order.
        """
        dy = d_outputs[0]
        if dy_is_logits:
            dx = self.backward(dy, need_dx=need_dx, dy_is_logits=True)
        else:
            dx = self.backward(dy, need_dx=need_dx)
        return dx if self.multi_input else [dx]

    def fused_logits(self, activation: str) -> Optional[np.ndarray]:
        """Return the last forward's pre-activation output if the layer ends in `activation`.

        A loss fused with that activation takes these logits.

        Parameters
        ----------
        activation : str
            The name of the activation the loss is fused with ('sigmoid', 'softmax').

        Returns
        -------
        ndarray or None
            The pre-activation output of the last `forward` when this layer ends in the
            activation named `activation`, else None (always None for the base layer).
        """
        return None

    def twin(self: _L) -> _L:
        """Return this layer for another node of a graph (a layer called twice).

        Returns
        -------
        Layer
            A copy with the same weight and gradient views and its own per-call state
            (caches, scratch).
        """
        return copy.copy(self)

    # ---- weights --------------------------------------------------------------------------
    def get_weights(self) -> list[np.ndarray]:
        """Return copies of the layer's weights, as Keras' ``get_weights``.

        Returns
        -------
        list of ndarray
            A copy of each weight, in the order of `weight_specs` (Keras' layouts).
        """
        return [w.copy() for w in self.weights]

    def set_weights(self, weights: Iterable[ArrayLike]) -> None:
        """Set the layer's weights from arrays, as Keras' ``set_weights``.

        Parameters
        ----------
        weights : iterable of array-like
            A value per weight, in the order of `get_weights`, each of its weight's shape.

        Raises
        ------
        ValueError
            For another number of arrays than the layer has weights, an array of another
            shape than its weight, or NaN or infinite values; every array is checked before
            any weight changes.
        """
        weights = list(weights)
        if len(weights) != len(self.weights):
            raise ValueError(f"layer {self.name!r} has {len(self.weights)} weights, got {len(weights)}")
        for spec, w, value in zip(self.weight_specs(), self.weights, weights):
            value = np.asarray(value)
            if value.shape != w.shape:
                raise ValueError(f"layer {self.name!r}: weight {spec.name!r} has shape {w.shape}, "
                                 f"got {value.shape}")
            if not np.all(np.isfinite(value)):
                raise ValueError(f"layer {self.name!r}: weight {spec.name!r} has NaN or infinite values")
        for w, value in zip(self.weights, weights):
            w[...] = value
        if self.parameters is not None:
            self.parameters.written()

    def count_params(self) -> int:
        """Return the number of values in the layer's weights, trainable or not.

        Returns
        -------
        int
            The number of weight values.
        """
        return sum(int(np.prod(s.shape)) for s in self.weight_specs())

    def count_non_trainable_params(self) -> int:
        """Return the number of values in the weights no optimizer moves.

        Those are all of a frozen layer's (trainable=False), else those declared so
        (BatchNormalization's moving statistics).

        Returns
        -------
        int
            The number of non-trainable weight values.
        """
        return sum(int(np.prod(s.shape)) for s in self.weight_specs()
                   if not (self.trainable and s.trainable))

    @property
    def non_trainable_weights(self) -> list[np.ndarray]:
        """The weight views no optimizer moves.

        All of a frozen layer's (trainable=False), else those declared so
        (BatchNormalization's moving statistics).
        """
        return [w for spec, w in zip(self.weight_specs(), self.weights)
                if not (self.trainable and spec.trainable)]

    # ---- saving ---------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """Return the layer's configuration, from which `from_config` makes it again.

        Returns
        -------
        dict
            The constructor's arguments: ``name``, ``trainable``, ``input_shape`` when it was
            given, and those of the subclass.
        """
        config: dict[str, Any] = {"name": self.name, "trainable": self.trainable}
        if self.input_shape_arg is not None:
            config["input_shape"] = list(self.input_shape_arg)
        return config

    @classmethod
    def from_config(cls: type[_L], config: dict[str, Any]) -> _L:
        """Make a layer from the configuration `get_config` returns.

        Parameters
        ----------
        config : dict
            The constructor's arguments, as `get_config` returns them.

        Returns
        -------
        Layer
            A new layer of this class (unbuilt: its weights are not part of the config).
        """
        return cls(**config)


def true_options(**flags: Any) -> dict[str, bool]:
    """The boolean call arguments that are set, as with_options takes them: those left at
    False are the defaults, so a node records only what differs."""
    return {name: True for name, value in flags.items() if value}


def plan_activation(activation) -> Optional[str]:
    """The name under which an inference plan runs `activation` in C, or None (a custom one)."""
    name = getattr(activation, "name", None)
    if name not in ACTIVATIONS or type(activation) is not type(activations.get(name)):
        return None
    return name


def _aligned_zeros(n, dtype, alignment=64):
    """Zeros starting on a cache line (NumPy only guarantees 16 bytes): a kernel's vector loads
    of a weight row then do not straddle two lines. A batch-1 GRU step at H=256 reads its
    0.8 MB recurrent kernel in 6.7 us aligned, 7.5 us not."""
    dtype = np.dtype(dtype)
    raw = np.zeros(n * dtype.itemsize + alignment, np.uint8)
    start = -raw.ctypes.data % alignment
    return raw[start:start + n * dtype.itemsize].view(dtype)


_allocation_count = 0

# Set while a model is loaded: its weights come from the file, so running the initialisers
# (a QR decomposition per recurrent kernel: 4.6 s for a GRU(2048)) would be wasted.
_initializing = contextvars.ContextVar("gru_native_initializing", default=True)


@contextlib.contextmanager
def uninitialized_weights():
    """Under this context, `allocate` leaves new weights at zero instead of running their
    initialisers: for a caller that fills every weight itself (loading a file)."""
    token = _initializing.set(False)
    try:
        yield
    finally:
        _initializing.reset(token)


def allocations() -> int:
    """How many times `allocate` has bound layers to a new buffer (a model whose count is
    unchanged knows its layers are still where it put them)."""
    return _allocation_count


class Parameters(namedtuple("Parameters", "params grads segments writes")):
    """A model's weights in one flat buffer (`params`), their gradients in another of the same
    layout (`grads`), the (offset, size) of each weight in both (`segments`), and a count of
    the package's writes into `params` (`writes`, one int64: optimizer steps, set_weights,
    loads), which a reduced-precision stream reads to know when to check its packed weights."""

    __slots__ = ()

    def written(self) -> None:
        """Count one write into params."""
        self.writes[0] += 1


def allocate(layers, dtype, rng=None, keep=False):
    """Give `layers` (built) their weights as views into one parameter buffer and one gradient
    buffer of the same layout, initialised from `rng` (keep=True: layers already bound keep the
    values they hold; under `uninitialized_weights`, the others are left at zero). Returns the
    Parameters."""
    global _allocation_count
    rng = utils.rng() if rng is None else rng
    initialize = _initializing.get()
    specs = [(layer, spec) for layer in layers for spec in layer.weight_specs()]
    total = sum(int(np.prod(spec.shape)) for _, spec in specs)
    params, grads = _aligned_zeros(total, dtype), _aligned_zeros(total, dtype)
    segments, offset = [], 0
    views = {id(layer): ([], []) for layer in layers}
    for layer, spec in specs:
        size = int(np.prod(spec.shape))
        p = params[offset:offset + size].reshape(spec.shape)
        bound = keep and len(layer.weights) == len(layer.weight_specs())
        if bound:
            p[...] = layer.weights[len(views[id(layer)][0])]
        elif initialize:
            p[...] = spec.initializer(spec.shape, rng)
        views[id(layer)][0].append(p)
        views[id(layer)][1].append(grads[offset:offset + size].reshape(spec.shape))
        segments.append((offset, size))
        offset += size
    parameters = Parameters(params, grads, segments, np.zeros(1, np.int64))
    _allocation_count += 1
    for layer in layers:
        layer.bind(*views[id(layer)])
        layer.parameters = parameters  # the buffer a model made of these layers can share
    return parameters


def serialize(layer: Layer) -> dict[str, Any]:
    """Describe a layer as ``{'class_name': ..., 'config': ...}``.

    :func:`~gru_native.layers.deserialize` turns the description back into the layer (its
    configuration, not its weights).

    Parameters
    ----------
    layer : Layer
        The layer to describe.

    Returns
    -------
    dict
        ``{'class_name': the layer's class name, 'config': layer.get_config()}``.
    """
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


class _LayerLimits:
    """How many layers `deserialize` may make, and how deep their configs may nest."""

    def __init__(self, max_layers, max_nesting):
        self.max_layers, self.max_nesting = max_layers, max_nesting
        self.made = self.depth = 0


_layer_limits = contextvars.ContextVar("gru_native_layer_limits", default=None)


@contextlib.contextmanager
def layer_limits(max_layers: int, max_nesting: int):
    """Under this context, `deserialize` raises ValueError past `max_layers` layers in all, or
    layers nested more than `max_nesting` deep (a Bidirectional holds two layers: nesting them
    doubles the layers at each level), so that a small config cannot describe a huge model."""
    token = _layer_limits.set(_LayerLimits(max_layers, max_nesting))
    try:
        yield
    finally:
        _layer_limits.reset(token)


def deserialize(config: dict[str, Any]) -> Layer:
    """Make a layer from ``{'class_name': ..., 'config': ...}`` as `serialize` writes it.

    The class is looked up by name among every Layer subclass defined
    (:data:`~gru_native.layers.LAYER_CLASSES`).

    Parameters
    ----------
    config : dict
        ``{'class_name': ..., 'config': ...}``, as :func:`~gru_native.layers.serialize`
        writes it.

    Returns
    -------
    Layer
        A new layer of that class, made by its ``from_config``.

    Raises
    ------
    ValueError
        For an unknown class name; under a limit on what a file may describe (while a model
        is loaded), for more layers than the limit or layers nested deeper than it.
    """
    try:
        cls = LAYER_CLASSES[config["class_name"]]
    except KeyError:
        raise ValueError(f"unknown layer class {config.get('class_name')!r}; known: "
                         f"{sorted(LAYER_CLASSES)}") from None
    limits = _layer_limits.get()
    if limits is None:
        return cls.from_config(config["config"])
    limits.made += 1
    if limits.made > limits.max_layers:
        raise ValueError(f"the config describes more than {limits.max_layers} layers (the limit "
                         "on what a file may describe)")
    if limits.depth >= limits.max_nesting:
        raise ValueError(f"the config nests layers more than {limits.max_nesting} deep (the "
                         "limit on what a file may describe)")
    limits.depth += 1
    try:
        return cls.from_config(config["config"])
    finally:
        limits.depth -= 1
