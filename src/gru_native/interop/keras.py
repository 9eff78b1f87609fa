"""from_keras: a Keras 3 model (Sequential or functional) as an equivalent gru_native model, with
the same layers, names and weights. Keras is not imported: a model is read through its
attributes, configs and weights. Keras' weight layouts are ours, so weights are copied as they
are.

A functional model is read as Keras keeps its graph: `model.inputs` and `model.outputs` are
KerasTensors, each with a `_keras_history` (operation, node_index, tensor_index) naming the
call that made it, `operation._inbound_nodes[node_index]`; a node holds the call's arguments
(`node.arguments.args` / `.kwargs`, bound here to the layer's call signature) and its outputs.
Each Keras layer becomes one of ours, and each of its nodes one call of that layer on the
converted tensors: a layer called twice stays one layer (shared weights) called twice.
"""

from __future__ import annotations

import heapq
import inspect
from typing import Any, Callable

import numpy as np

from ..layers import (GRU, LSTM, Activation, Add, Average, Bidirectional, Concatenate, Dense,
                      Dropout, Embedding, Flatten, Input, KerasTensor, Layer, Masking,
                      Maximum, Minimum, Multiply, Permute, RepeatVector, Reshape, Subtract,
                      TimeDistributed)
from ..models import Model, Sequential

# Each Keras layer class we convert: our class, and the arguments we take from its config (the
# rest, such as initializers and regularizers, do not change what a trained layer computes).
_RECURRENT = ("units", "activation", "recurrent_activation", "use_bias", "dropout",
              "recurrent_dropout", "return_sequences", "return_state", "go_backwards", "stateful",
              "zero_output_for_mask")
_LAYERS: dict[str, tuple[type, tuple[str, ...]]] = {
    "GRU": (GRU, _RECURRENT + ("reset_after",)),
    "LSTM": (LSTM, _RECURRENT + ("unit_forget_bias",)),
    "Dense": (Dense, ("units", "activation", "use_bias")),
    "Embedding": (Embedding, ("input_dim", "output_dim", "mask_zero")),
    "Masking": (Masking, ("mask_value",)),
    "Dropout": (Dropout, ("rate",)),
    "Activation": (Activation, ("activation",)),
    "Concatenate": (Concatenate, ("axis",)),
    "Add": (Add, ()),
    "Subtract": (Subtract, ()),
    "Multiply": (Multiply, ()),
    "Average": (Average, ()),
    "Maximum": (Maximum, ()),
    "Minimum": (Minimum, ()),
    "RepeatVector": (RepeatVector, ("n",)),
    "Flatten": (Flatten, ("data_format",)),
    "Reshape": (Reshape, ("target_shape",)),
    "Permute": (Permute, ("dims",)),
}
# wrappers, whose config holds another layer
_WRAPPERS = ("Bidirectional", "TimeDistributed")
_MERGES = ("Concatenate", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum")
# a Sequential chains single-input layers
_SEQUENTIAL_LAYERS = tuple(k for k in _LAYERS if k not in _MERGES) + _WRAPPERS


def from_keras(model: Any) -> Model:
    """Convert a built Keras 3 model to an equivalent gru_native model.

    A :class:`~gru_native.models.Sequential` for a ``keras.Sequential``, a functional
    :class:`~gru_native.models.Model` for a functional one (several inputs and outputs, shared
    layers, recurrent layers with ``initial_state`` and ``return_state``), with the same
    layers, names and weights: same predictions (in float32 or float64, the Keras model's
    dtype). Keras is not imported: the model is read through its attributes, configs and
    weights.

    Layers: GRU, LSTM, Bidirectional, Dense, Embedding, Masking, Dropout, Activation, and in
    functional models also Concatenate, Add, Subtract, Multiply, Average, Maximum, Minimum,
    RepeatVector, Flatten, Reshape, Permute and TimeDistributed.

    Parameters
    ----------
    model : keras.Sequential or keras.Model
        A built Keras 3 Sequential or functional model (not a subclassed one).

    Returns
    -------
    Model
        The equivalent model: a Sequential for a ``keras.Sequential``, else a functional
        Model.

    Raises
    ------
    ValueError
        For a layer, a layer call or a configuration with no equivalent (the message names
        it), e.g. a layer we do not convert, or return_state=True in a Sequential model.
    TypeError
        For a model with no equivalent (the message names it): a subclassed model, an
        unbuilt one, or weights that are not float32 or float64.
    """
    kind = _model_kind(model)
    dtype = _dtype(model)
    if kind == "Sequential":
        return _from_sequential(model, dtype)
    return _from_functional(model, dtype)


# ---- the model ------------------------------------------------------------------------------
def _model_kind(model: Any) -> str:
    """'Sequential' or 'Functional' by the Keras class (or a base class) of `model`."""
    classes = [cls.__name__ for cls in type(model).__mro__]
    if not hasattr(model, "layers") or not hasattr(model, "get_weights"):
        raise TypeError(f"from_keras takes a built Keras model, got {type(model).__name__}")
    if "Sequential" in classes:
        return "Sequential"
    if "Functional" in classes:
        return "Functional"
    raise TypeError(f"from_keras converts Keras Sequential and functional models; "
                    f"{getattr(model, 'name', '?')!r} is a subclassed model "
                    f"({type(model).__name__}), whose graph is Python code")


def _dtype(model: Any) -> np.dtype:
    dtypes = {np.dtype(w.dtype).name for w in model.get_weights()} or {"float32"}
    if len(dtypes) != 1 or not dtypes <= {"float32", "float64"}:
        raise TypeError(f"from_keras converts float32 or float64 models, got {sorted(dtypes)}")
    return np.dtype(dtypes.pop())


def _from_sequential(model: Any, dtype: np.dtype) -> Sequential:
    if not hasattr(model, "input_shape"):
        raise TypeError(f"from_keras takes a built Keras Sequential model; {model.name!r} is not "
                        "built (give it an Input, or call it once)")
    layers = []
    for layer in model.layers:
        _check_supported(layer, _SEQUENTIAL_LAYERS)
        if type(layer).__name__ in ("GRU", "LSTM") and layer.get_config().get("return_state"):
            raise ValueError(f"layer {layer.name!r} has return_state=True: a Sequential model "
                             "has a single output")
        layers.append(_layer(layer, named=False))
    ours = Sequential(layers, name=model.name, dtype=dtype.name)
    ours.build(tuple(model.input_shape))
    ours.set_weights([np.ascontiguousarray(w, dtype) for w in model.get_weights()])
    return ours


def _from_functional(model: Any, dtype: np.dtype) -> Model:
    """The graph rebuilt call by call: Input tensors first, then each Keras node, after the
    nodes it reads, as one call of our layer for its Keras layer."""
    tensors: dict[tuple, KerasTensor] = {}  # by _history_key of the Keras tensor
    layers: dict[int, tuple[Any, Layer]] = {}  # id(Keras layer): (it, ours)
    for t in model.inputs:
        tensors[_history_key(t)] = _input(t)
    for node in _call_order(model):
        _call(node, tensors, layers, dtype)
    inputs = _structure(_inputs_struct(model), lambda t: tensors[_history_key(t)])
    outputs = _structure(_outputs_struct(model), lambda t: tensors[_history_key(t)])
    ours = Model(inputs, outputs, name=model.name, dtype=dtype.name)
    for theirs, layer in layers.values():
        _copy_weights(theirs, layer, dtype)
    return ours


def _inputs_struct(model: Any) -> Any:
    """The model's inputs as it was given them: one tensor, a list or a dict."""
    return getattr(model, "_inputs_struct", model.inputs)


def _outputs_struct(model: Any) -> Any:
    return getattr(model, "_outputs_struct", model.outputs)


def _structure(structure: Any, convert: Callable[[Any], Any]) -> Any:
    """`structure` (a tensor, or a list, tuple or dict of them) with each tensor converted."""
    if isinstance(structure, dict):
        return {k: convert(v) for k, v in structure.items()}
    if isinstance(structure, (list, tuple)):
        return [_structure(v, convert) for v in structure]
    return convert(structure)


def _flat(structure: Any) -> list:
    if isinstance(structure, dict):
        return [t for v in structure.values() for t in _flat(v)]
    if isinstance(structure, (list, tuple)):
        return [t for v in structure for t in _flat(v)]
    return [structure]


# ---- the graph ------------------------------------------------------------------------------
def _history_key(tensor: Any) -> tuple:
    """Which call made a Keras tensor: (id of the operation, node_index, tensor_index)."""
    history = getattr(tensor, "_keras_history", None)
    if history is None:
        raise TypeError(f"{tensor!r} is not a symbolic Keras tensor (it has no _keras_history)")
    operation, node_index, tensor_index = history
    return id(operation), node_index, tensor_index


def _producer(tensor: Any) -> Any:
    """The Keras node whose call made `tensor`."""
    operation, node_index, _ = tensor._keras_history
    return operation._inbound_nodes[node_index]


def _call_order(model: Any) -> list:
    """The Keras nodes from the model's inputs to its outputs (Input nodes left out), each after
    the nodes it reads, otherwise in the order of model.layers (Keras' order, by depth): the
    converted model then lists its layers as Keras does."""
    inputs = {_history_key(t) for t in model.inputs}
    reads: dict[int, list] = {}  # id(node): the nodes it reads
    nodes: dict[int, Any] = {}
    stack = [_producer(t) for t in model.outputs if _history_key(t) not in inputs]
    while stack:
        node = stack.pop()
        if id(node) in nodes:
            continue
        nodes[id(node)] = node
        _check_supported(node.operation, tuple(_LAYERS) + _WRAPPERS)
        data, states = _call_arguments(node)
        parents = [_producer(t) for t in _flat(data) + states if _history_key(t) not in inputs]
        reads[id(node)] = parents
        stack.extend(parents)
    rank = {id(layer): i for i, layer in enumerate(model.layers)}
    waiting = {k: {id(p) for p in parents} for k, parents in reads.items()}
    readers: dict[int, list[int]] = {}
    for k, parents in waiting.items():
        for p in parents:
            readers.setdefault(p, []).append(k)
    arrival = {k: i for i, k in enumerate(nodes)}  # ties: a layer's calls in the order found
    ready = [(rank.get(id(nodes[k].operation), len(rank)), -arrival[k], k)
             for k, w in waiting.items() if not w]
    heapq.heapify(ready)
    order = []
    while ready:
        *_, k = heapq.heappop(ready)
        order.append(nodes[k])
        for r in readers.get(k, ()):
            waiting[r].discard(k)
            if not waiting[r]:
                heapq.heappush(ready, (rank.get(id(nodes[r].operation), len(rank)), -arrival[r], r))
    return order


def _call_arguments(node: Any) -> tuple[Any, list]:
    """What a Keras node was called on: its data (a tensor, or a merge layer's list) and its
    initial states (a list, empty for none), from the call's arguments bound to the layer's
    call signature. Keras also records `training` and the masks it passed along (`mask=`, the
    `_keras_mask` of the data): our layers compute and pass the same masks themselves."""
    layer = node.operation
    args, kwargs = list(node.arguments.args), dict(node.arguments.kwargs)
    try:
        bound = inspect.signature(layer.call).bind(*args, **kwargs).arguments
    except TypeError:  # a call signature that does not name its arguments: the first one
        bound = {"inputs": args[0] if args else next(iter(kwargs.values()))}
    data = bound[next(iter(bound))]
    states = bound.get("initial_state")
    states = [] if states is None else _flat(states)
    _check_masks(layer, data, states, bound.get("mask"))
    known = {id(t) for t in _flat(data) + states + _flat(bound.get("mask"))}
    for name, value in bound.items():
        for t in _flat(value):
            if hasattr(t, "_keras_history") and id(t) not in known:
                raise ValueError(f"layer {layer.name!r} ({type(layer).__name__}) is called with "
                                 f"the tensor argument {name!r}, which from_keras does not convert")
    return data, states


def _check_masks(layer: Any, data: Any, states: list, mask: Any) -> None:
    """Refuse the calls whose masks ours would not match: a mask given explicitly (not the
    data's own), and a masked sequence called with initial_state, whose mask Keras 3 drops (it
    passes masks only to calls on one tensor) while our recurrent layers use it."""
    own = [getattr(t, "_keras_mask", None) for t in _flat(data)]
    given = _flat(mask) if mask is not None else [None] * len(own)
    if len(given) != len(own) or any(g is not None and g is not m for g, m in zip(given, own)):
        raise ValueError(f"layer {layer.name!r} ({type(layer).__name__}) is called with an "
                         "explicit mask=; from_keras converts masks that come from the layers "
                         "(Masking, Embedding(mask_zero=True)) only")
    if states and any(m is not None for m in own):
        raise ValueError(f"layer {layer.name!r} ({type(layer).__name__}) is called with "
                         "initial_state on a masked sequence: Keras 3 then ignores the mask, "
                         "gru_native uses it, so their predictions would differ")


def _input(tensor: Any) -> KerasTensor:
    """Our Input for a Keras Input tensor: same shape, dtype, name and batch size."""
    layer = tensor._keras_history[0]
    if type(layer).__name__ != "InputLayer":
        raise ValueError(f"the model input {tensor!r} does not come from a keras.Input")
    shape = tuple(tensor.shape)
    return Input(shape[1:], dtype=str(tensor.dtype), name=layer.name, batch_size=shape[0])


def _call(node: Any, tensors: dict, layers: dict, dtype: np.dtype) -> None:
    """One Keras node as a call of our layer on the converted tensors; its outputs recorded."""
    theirs = node.operation
    if id(theirs) not in layers:
        layers[id(theirs)] = (theirs, _layer(theirs, named=True))
    ours = layers[id(theirs)][1]
    data, states = _call_arguments(node)
    x = _structure(data, lambda t: tensors[_history_key(t)])
    try:
        if states:
            if not hasattr(ours, "n_states"):
                raise ValueError("only GRU and LSTM layers take initial_state here")
            out = ours(x, initial_state=[tensors[_history_key(t)] for t in states])
        else:
            out = ours(x)
    except (ValueError, TypeError) as e:
        raise type(e)(f"layer {theirs.name!r} ({type(theirs).__name__}): {e}") from e
    outputs = out if isinstance(out, list) else [out]
    if len(outputs) != len(node.outputs):
        raise ValueError(f"layer {theirs.name!r} ({type(theirs).__name__}) returns "
                         f"{len(node.outputs)} tensors in Keras, {len(outputs)} converted")
    for t, o in zip(node.outputs, outputs):
        tensors[_history_key(t)] = o


# ---- layers ---------------------------------------------------------------------------------
def _check_supported(layer: Any, kinds: tuple[str, ...]) -> None:
    kind = type(layer).__name__
    if kind not in kinds:
        what = (f"a nested model ({kind})" if hasattr(layer, "layers") and hasattr(layer, "inputs")
                else f"of class {kind}")
        raise ValueError(f"from_keras converts {', '.join(sorted(kinds))} layers; layer "
                         f"{getattr(layer, 'name', '?')!r} is {what}")


def _layer(layer: Any, named: bool) -> Layer:
    """Our layer for a Keras layer (a wrapper's inner layers too), from its config; `named`:
    with the Keras layer's name."""
    kind = type(layer).__name__
    name = {"name": layer.name} if named else {}
    try:
        if kind == "Bidirectional":
            return Bidirectional(_layer(layer.forward_layer, named), merge_mode=layer.merge_mode,
                                 backward_layer=_layer(layer.backward_layer, named), **name)
        if kind == "TimeDistributed":
            return TimeDistributed(_layer(layer.layer, named), **name)
        _check_supported(layer, tuple(_LAYERS) + _WRAPPERS)
        cls, arguments = _LAYERS[kind]
        config = layer.get_config()
        return cls(**{k: config[k] for k in arguments if k in config}, **name)
    except (ValueError, TypeError) as e:
        if str(e).startswith(("layer ", "from_keras ")):
            raise
        raise type(e)(f"layer {layer.name!r} ({kind}) has no gru_native equivalent: {e}") from e


def _copy_weights(theirs: Any, ours: Layer, dtype: np.dtype) -> None:
    try:
        ours.set_weights([np.ascontiguousarray(w, dtype) for w in theirs.get_weights()])
    except ValueError as e:
        raise ValueError(f"layer {theirs.name!r} ({type(theirs).__name__}): its weights do not "
                         f"fit the converted layer: {e}") from e


__all__ = ["from_keras"]
