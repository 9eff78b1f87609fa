"""Saving and loading models: a NumPy .npz archive of plain arrays plus a JSON config, read back
with allow_pickle=False, so loading a file never runs code. Pickling a model uses the same
arrays (scikit-learn and joblib need pickle).

Saving is atomic (gru_native/file_writing.py). Loading checks everything it reads (the archive, the format
version, the config's structure, every array's dtype, shape and values) and raises a ValueError
naming what is wrong; it never returns a half-built model. It reads the config first, within
limits on its length, its layers and their nesting, and plans the model from it (its weights
declared, none allocated); the archive's entries are checked by name and each array's .npy
header against that plan before any data is read (archive.py); the model is then built once,
its weights filled from the file without running the initialisers.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any, Union

import numpy as np

from .. import losses, optimizers
from ..layers import InputLayer
from ..layers.base import as_shape, deserialize, layer_limits, serialize, uninitialized_weights
from .archive import Archive, ArchiveError, Arrays, reason
from ..file_writing import write_archive
from .calibration import factor_sizes
from .graph import Graph, flatten_tensors

_FORMAT = "gru_native.model/1"
_FORMAT_PREFIX = "gru_native.model/"
_OPTIMIZER_PREFIX = "optimizer/"
_CALIBRATION_PREFIX = "calibration/"  # then "{op}/kernel" or "{op}/recurrent_kernel"
_FACTORS = ("kernel", "recurrent_kernel")

# What a file may describe, far above any real model (a 10,000-layer config is about 5 MB):
# without limits, 137 KB of JSON listing a million layers loads for 18 s into 1.2 GB, and
# nested Bidirectional layers double at each level.
MAX_CONFIG_BYTES = 16 * 2**20
MAX_LAYERS = 10_000  # layers (nested ones included), and layer calls of a functional model
MAX_NESTING = 8  # layers inside layers (Bidirectional(GRU) is 2)
# What building layers, a model, an optimizer or a loss from a bad config raises.
_CONFIG_ERRORS = (TypeError, ValueError, KeyError, AttributeError, IndexError, OverflowError,
                  RecursionError)


# a file path, as open() takes it
PathLike = Union[str, bytes, os.PathLike[str], os.PathLike[bytes]]

# The model classes by the name their configs carry: Sequential, Functional (a graph). The
# classes register themselves, so that this module needs none of them.
_MODEL_CLASSES: dict = {}


def register_model_class(name, cls):
    _MODEL_CLASSES[name] = cls


def _serialize(obj):
    return {"class_name": type(obj).__name__, "config": obj.get_config()}


def _model_class(model_config):
    return _MODEL_CLASSES["Functional" if "nodes" in model_config else "Sequential"]


# ---- graphs as configs ---------------------------------------------------------------------

def graph_config(model):
    """A functional model's config: its layers, its nodes in run order (each the layer and its
    inputs as [layer name, node index, tensor index]), its inputs and outputs likewise."""
    layers = model.layers
    own_nodes = {id(layer): [] for layer in layers}
    for t in model.graph.inputs:
        own_nodes[id(t.layer)].append(t.node)
    for node in model.graph.nodes:
        own_nodes[id(node.layer)].append(node)

    def ref(t):
        return [t.layer.name, own_nodes[id(t.layer)].index(t.node), t.index]

    return {"name": model.name, "dtype": model.dtype.name,
            "layers": [serialize(layer) for layer in layers],
            "nodes": [dict({"layer": node.layer.name, "inputs": [ref(t) for t in node.inputs]},
                           **({"options": node.options} if node.options else {}))
                      for node in model.graph.nodes],
            "inputs": [ref(t) for t in model.graph.inputs],
            "outputs": [ref(t) for t in model.graph.outputs],
            "input_names": list(model.input) if isinstance(model.input, dict) else None,
            "output_names": list(model.output) if isinstance(model.output, dict) else None}


def graph_from_config(config):
    """(inputs, outputs) of the graph `graph_config` described, its layers built (their
    weights declared, not allocated): every layer call replayed on symbolic tensors."""
    layers = {}
    for c in config["layers"]:
        layer = deserialize(c)
        if layer.name in layers:
            raise ValueError(f"two layers are named {layer.name!r}")
        layers[layer.name] = layer
    made = {name: [] for name in layers}  # the output tensors of each layer's nodes here
    for layer in layers.values():
        if isinstance(layer, InputLayer):
            made[layer.name].append(layer.nodes[0].outputs)

    def tensor(ref):
        if not (isinstance(ref, list) and len(ref) == 3 and isinstance(ref[0], str)
                and all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in ref[1:])):
            raise ValueError(f"a tensor reference must be [layer name, node index, tensor index], "
                             f"got {ref!r:.200}")
        name, node, index = ref
        if name not in made or node >= len(made[name]) or index >= len(made[name][node]):
            raise ValueError(f"a node reads tensor {ref!r}, which no earlier node makes")
        return made[name][node][index]

    for entry in config["nodes"]:
        if not (isinstance(entry, dict) and {"layer", "inputs"} <= set(entry)
                and set(entry) <= {"layer", "inputs", "options"}
                and entry["layer"] in layers and isinstance(entry["inputs"], list)
                and isinstance(entry.get("options", {}), dict)):
            raise ValueError(f"a node must be {{'layer': a layer's name, 'inputs': [...], and "
                             f"optionally 'options': {{...}}}}, got {entry!r:.200}")
        layer = layers[entry["layer"]]
        inputs = [tensor(ref) for ref in entry["inputs"]]
        n_states = len(inputs) - 1 if hasattr(layer, "n_states") else 0
        out = layer._call(inputs, n_states, False, None, entry.get("options"))  # the layer checks them
        made[layer.name].append(out if isinstance(out, list) else [out])

    def structure(refs, names):
        tensors = [tensor(ref) for ref in refs]
        if names is None:
            return tensors if len(tensors) > 1 else tensors[0]
        if not (isinstance(names, list) and len(names) == len(tensors)
                and all(isinstance(n, str) for n in names)):
            raise ValueError(f"the names of the model's inputs or outputs must be a list of "
                             f"{len(tensors)} strings, got {names!r:.200}")
        return dict(zip(names, tensors))

    return (structure(config["inputs"], config.get("input_names")),
            structure(config["outputs"], config.get("output_names")))


# ---- writing --------------------------------------------------------------------------------

def model_to_arrays(model):
    """Everything that defines `model` (config, weights, optimizer state) as a dict of arrays."""
    config = {"format": _FORMAT, "model": model.get_config()}
    arrays = {}
    if model.built:
        arrays["params"] = _flat_weights(model)
    if model.optimizer is not None:
        config["compile"] = {
            "optimizer": _serialize(model.optimizer),
            "loss": _loss_config(model),
            "loss_weights": model.loss_weights,
            "metrics": [[m.name for m in ms] for ms in model.output_metrics],
            "weighted_metrics": [[m.name for m in ms] for ms in model.output_weighted_metrics],
        }
        for key, value in model.optimizer.get_state().items():
            arrays[_OPTIMIZER_PREFIX + key] = np.asarray(value)
    for i, pair in enumerate(model.get_calibration() or []):
        for name, factor in zip(_FACTORS, pair or ()):
            if factor is not None:
                arrays[f"{_CALIBRATION_PREFIX}{i}/{name}"] = factor
    arrays["config"] = _json_array(config)
    return arrays


def _json_array(value):
    return np.frombuffer(json.dumps(value).encode(), np.uint8)


def _flat_weights(model):
    """The model's weights, in order, as one array (its parameter buffer, or its part of a
    buffer it shares with another model)."""
    weights = model.weights
    return np.concatenate([w.ravel() for w in weights]) if weights else np.zeros(0, model.dtype)


def _layout(model):
    """[layer name, [shape of each weight]] for each layer with weights, in the order of the
    model's weights: what a weights file must match beyond its number of weights."""
    return [[layer.name, [list(w.shape) for w in layer.weights]] for layer in model.layers
            if layer.weight_specs()]


def _loss_config(model):
    configs = [None if loss is None else _serialize(loss) for loss in model.losses]
    return configs[0] if len(configs) == 1 else configs


def _set_flat_weights(model, params):
    start = 0
    for w in model.weights:
        w[...] = params[start:start + w.size].reshape(w.shape)
        start += w.size
    model.parameters.written()


def save_model(model, filepath):
    """Write `model` (config, weights, optimizer state) to `filepath`, atomically."""
    write_archive(filepath, model_to_arrays(model))


def save_weights(model, filepath):
    """Write the weights of `model` (built) and their layout to `filepath`, atomically."""
    if not model.built:
        raise ValueError("the model has no weights yet: build it (give input_shape, or "
                         "fit/predict once) before save_weights")
    write_archive(filepath, {"params": _flat_weights(model), "layout": _json_array(_layout(model))})


# ---- reading: the config --------------------------------------------------------------------

def _read_json(source, name):
    """Entry `name` of `source`, UTF-8 JSON as a 1-D uint8 array of at most MAX_CONFIG_BYTES,
    parsed (its size checked from its header before it is read)."""
    dtype, shape = source.header(name)
    if dtype != np.uint8 or len(shape) != 1:
        raise ValueError(f"not a gru_native file: its {name!r} must be a 1-D uint8 array (UTF-8 "
                         f"JSON), got dtype {dtype} and shape {shape}")
    if shape[0] > MAX_CONFIG_BYTES:
        raise ValueError(f"its {name!r} is {shape[0]} bytes long, more than the limit of "
                         f"{MAX_CONFIG_BYTES}")
    try:
        return json.loads(source.read(name).tobytes().decode("utf-8"))
    except (ValueError, RecursionError) as e:  # UnicodeDecodeError and JSONDecodeError included
        raise ValueError(f"its {name} is not valid JSON ({reason(e)})") from e


def _check_config(config):
    if not isinstance(config, dict):
        raise ValueError(f"its config must be a JSON object, got {type(config).__name__}")
    fmt = config.get("format")
    if fmt != _FORMAT:
        if fmt is None:
            raise ValueError("not a gru_native model: its config has no format version")
        if isinstance(fmt, str) and fmt.startswith(_FORMAT_PREFIX):
            raise ValueError(f"unsupported format version {fmt!r}: this gru_native reads "
                             f"{_FORMAT!r}")
        raise ValueError(f"not a gru_native model (format {fmt!r})")
    unknown = set(config) - {"format", "model", "compile"}
    if unknown:
        raise ValueError(f"its config has unexpected keys {sorted(unknown)}")
    if "model" not in config:
        raise ValueError("its config has no 'model' entry")
    _check_model_config(config["model"])
    if "compile" in config:
        _check_compile_config(config["compile"])
    return config


def _check_model_config(mc):
    if not isinstance(mc, dict):
        raise ValueError(f"the model config must be a JSON object, got {type(mc).__name__}")
    graph_keys = {"nodes", "inputs", "outputs", "input_names", "output_names"}
    unknown = set(mc) - {"name", "dtype", "layers", "build_input_shape"} - graph_keys
    if "nodes" in mc:
        unknown |= {"build_input_shape"} & set(mc)
        for key in ("nodes", "inputs", "outputs"):
            if not isinstance(mc.get(key), list):
                raise ValueError(f"the model config needs {key!r} as a list, got {mc.get(key)!r:.200}")
    if unknown:
        raise ValueError(f"the model config has unexpected keys {sorted(unknown)}")
    for key, kind in (("name", str), ("dtype", str), ("layers", list)):
        if not isinstance(mc.get(key), kind):
            raise ValueError(f"the model config needs {key!r} as a {kind.__name__}, got "
                             f"{mc.get(key)!r}")
    for key in ("layers", "nodes"):
        if len(mc.get(key, ())) > MAX_LAYERS:
            raise ValueError(f"the model config has {len(mc[key])} {key}, more than the limit "
                             f"of {MAX_LAYERS}")
    if mc["dtype"] not in ("float32", "float64"):
        raise ValueError(f"the model config has dtype {mc['dtype']!r}; expected 'float32' or "
                         "'float64'")
    for i, layer in enumerate(mc["layers"]):
        if not (isinstance(layer, dict) and isinstance(layer.get("class_name"), str)
                and isinstance(layer.get("config"), dict)):
            raise ValueError(f"layer {i} of the model config must be an object with a "
                             f"'class_name' string and a 'config' object, got {layer!r:.200}")
    if "build_input_shape" in mc:
        shape = mc["build_input_shape"]
        if not (isinstance(shape, list) and len(shape) >= 2 and all(
                d is None or (isinstance(d, int) and not isinstance(d, bool) and d >= 1)
                for d in shape)):
            raise ValueError(f"the model config's build_input_shape must be a list of positive "
                             f"integers or nulls, got {shape!r:.200}")


def _check_compile_config(c):
    if not isinstance(c, dict) or set(c) - {"loss_weights", "weighted_metrics"} != {
            "optimizer", "loss", "metrics"}:
        raise ValueError("the compile config must be an object with the keys 'optimizer', "
                         "'loss', 'metrics' and optionally 'loss_weights' and "
                         f"'weighted_metrics', got {c!r:.200}")
    if not isinstance(c["optimizer"], (dict, str)):
        raise ValueError(f"the compile config's optimizer must be a name or a config object, "
                         f"got {c['optimizer']!r:.200}")
    losses_ = c["loss"] if isinstance(c["loss"], list) else [c["loss"]]
    if not all(loss is None or isinstance(loss, (dict, str)) for loss in losses_):
        raise ValueError(f"the compile config's loss must be null, a name or a config object "
                         f"(or a list of them), got {c['loss']!r:.200}")
    weights = c.get("loss_weights")
    if weights is not None and not (isinstance(weights, list) and all(
            isinstance(w, (int, float)) and not isinstance(w, bool) for w in weights)):
        raise ValueError(f"the compile config's loss_weights must be a list of numbers, got "
                         f"{weights!r:.200}")
    for key in ("metrics", "weighted_metrics"):
        metrics = c.get(key, [])
        if not (isinstance(metrics, list) and all(
                isinstance(m, str) or (isinstance(m, list) and all(isinstance(n, str) for n in m))
                for m in metrics)):
            raise ValueError(f"the compile config's {key} must be a list of names (or of lists "
                             f"of names, one per output), got {metrics!r:.200}")


def _planned_layout(model_config):
    """The layout (`_layout`) of the model `model_config` describes, None when it describes an
    unbuilt model. Only declares the layers' weights (Sequential.from_config's build rule),
    allocates and initialises nothing, so a config claiming a huge model costs nothing."""
    with layer_limits(MAX_LAYERS, MAX_NESTING):
        if "nodes" in model_config:
            inputs, outputs = graph_from_config(model_config)
            layers = Graph(flatten_tensors(inputs, "inputs")[0],
                           flatten_tensors(outputs, "outputs")[0]).layers()
        else:
            layers = [deserialize(c) for c in model_config["layers"]]
            if layers and layers[0].input_shape_arg is not None:
                shape = layers[0].input_shape_arg
            elif layers and "build_input_shape" in model_config:
                shape = as_shape(tuple(model_config["build_input_shape"])[1:], "build_input_shape")
            else:
                return None
            for layer in layers:
                shape = layer.build(shape)
    return [[layer.name, [list(spec.shape) for spec in layer.weight_specs()]]
            for layer in layers if layer.weight_specs()]


def _size(layout):
    return sum(math.prod(shape) for _, shapes in layout for shape in shapes)


def _check_layout(layout):
    """A weights file's layout, as `_layout` writes it, or ValueError."""
    if not (isinstance(layout, list) and len(layout) <= MAX_LAYERS and all(
            isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str)
            and isinstance(entry[1], list) and all(
                isinstance(shape, list) and all(
                    isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)
                for shape in entry[1])
            for entry in layout)):
        raise ValueError(f"its 'layout' must be a list of at most {MAX_LAYERS} [layer name, "
                         f"[weight shape, ...]], got {layout!r:.200}")
    return layout


def _check_same_layout(model_layout, file_layout):
    """ValueError naming the first layer whose weights differ in shape from the file's."""
    if len(file_layout) != len(model_layout):
        raise ValueError(f"the model has {len(model_layout)} layers with weights, the file "
                         f"{len(file_layout)}")
    for (name, shapes), (file_name, file_shapes) in zip(model_layout, file_layout):
        if shapes != file_shapes:
            raise ValueError(f"layer {name!r} has weights of shapes {_shapes(shapes)}, but the "
                             f"file's layer {file_name!r} has {_shapes(file_shapes)}")


def _shapes(shapes):
    return "[" + ", ".join(str(tuple(shape)) for shape in shapes) + "]"


# ---- reading: the arrays --------------------------------------------------------------------

def _read_params(source, size, dtype):
    """The weights ('params') of a model of `size` weights of `dtype`: the header is checked
    before the data is read, then the values."""
    got, shape = source.header("params")
    if got.kind != "f" or not np.can_cast(got, dtype, "safe"):
        raise ValueError(f"the weights ('params') have dtype {got}; expected {dtype} "
                         "(or a floating dtype that casts to it safely)")
    if tuple(shape) != (size,):
        raise ValueError(f"the weights ('params') have shape {tuple(shape)}, but the model has "
                         f"{size} weights: shape ({size},)")
    params = source.read("params")
    bad = int(np.count_nonzero(~np.isfinite(params)))
    if bad:
        raise ValueError(f"the weights ('params') hold {bad} NaN or infinite values")
    return params


def _read_optimizer_state(source, names, optimizer, size, dtype):
    """The optimizer state entries `names` (without their prefix): their names checked against
    what `optimizer` keeps and their headers against `size` and `dtype` before any is read.
    Their values are the optimizer's to check (set_state)."""
    want = set(optimizer.state_names())
    if not (want - {"learning_rate"}) <= names <= want:
        raise ValueError(f"its optimizer state does not fit the optimizer "
                         f"{type(optimizer).__name__}: it must have the keys "
                         f"{sorted(want - {'learning_rate'})} (and optionally 'learning_rate'), "
                         f"got {sorted(names)}")
    for key in names:
        got, shape = source.header(_OPTIMIZER_PREFIX + key)
        if key in ("iterations", "learning_rate"):
            if shape != () or got.kind not in ("iu" if key == "iterations" else "iuf"):
                kind = "an integer" if key == "iterations" else "a real number"
                raise ValueError(f"the optimizer state {key!r} must be {kind} (a scalar), got "
                                 f"dtype {got} and shape {shape}")
        elif got.kind != "f" or not np.can_cast(got, dtype, "safe"):
            raise ValueError(f"the optimizer state {key!r} has dtype {got}; expected {dtype}")
        elif tuple(shape) != (size,):
            raise ValueError(f"the optimizer state {key!r} has shape {tuple(shape)}; expected "
                             f"({size},)")
    return {key: source.read(_OPTIMIZER_PREFIX + key) for key in names}


def _model_from(source):
    """The model the entries of `source` (an Archive or Arrays) describe, compiled as it was;
    ValueError naming what is wrong when they do not describe one."""
    if "config" not in source.names:
        raise ValueError("not a gru_native model: it has no 'config' entry")
    state_names = {name[len(_OPTIMIZER_PREFIX):] for name in source.names
                   if name.startswith(_OPTIMIZER_PREFIX)}
    calibration_names = {name for name in source.names if name.startswith(_CALIBRATION_PREFIX)}
    unexpected = source.names - {"config", "params"} - calibration_names \
        - {_OPTIMIZER_PREFIX + n for n in state_names}
    if unexpected:
        raise ValueError(f"it has unexpected entries {sorted(unexpected)}")
    config = _check_config(_read_json(source, "config"))
    model_config = config["model"]
    dtype = np.dtype(model_config["dtype"])

    try:
        layout = _planned_layout(model_config)
    except _CONFIG_ERRORS as e:
        raise ValueError(f"its model config is invalid ({reason(e)})") from e
    if layout is None and "params" in source.names:
        raise ValueError("it holds weights ('params') but its config describes an unbuilt model "
                         "(no input shape)")
    if layout is not None and "params" not in source.names:
        raise ValueError("its config describes a built model but it holds no weights ('params')")
    if state_names and "compile" not in config:
        raise ValueError("it holds optimizer state but no compile config")
    params = None if layout is None else _read_params(source, _size(layout), dtype)

    try:  # built once, its weights left for the file to fill
        with layer_limits(MAX_LAYERS, MAX_NESTING), uninitialized_weights():
            model = _model_class(model_config).from_config(model_config)
    except _CONFIG_ERRORS as e:
        raise ValueError(f"its model config is invalid ({reason(e)})") from e
    if model.built != (layout is not None) or (layout is not None and _layout(model) != layout):
        raise ValueError("the model built from its config does not match its weights")
    if params is not None:
        _set_flat_weights(model, params)
    if calibration_names:
        _read_calibration(source, calibration_names, model)
    if "compile" in config:
        _compile(model, config["compile"])
        if state_names:
            state = _read_optimizer_state(source, state_names, model.optimizer,
                                          _size(layout or []), dtype)
            try:
                model.optimizer.set_state(state)
            except (TypeError, ValueError) as e:
                raise ValueError(f"its optimizer state does not fit the optimizer "
                                 f"{type(model.optimizer).__name__} ({reason(e)})") from e
    return model


def _read_calibration(source, names, model):
    """Give `model` the int8 calibration of the entries `names`: one per factor of its int8
    plan, names and headers checked before any is read, values by set_calibration."""
    try:
        sizes = factor_sizes(model)
    except ValueError as e:
        raise ValueError(f"it holds an int8 calibration, which its model cannot take ({e})") from e
    want = {f"{_CALIBRATION_PREFIX}{i}/{name}": k for i, pair in enumerate(sizes)
            for name, k in zip(_FACTORS, pair or ()) if k is not None}
    if names != set(want):
        raise ValueError(f"its int8 calibration must have the entries {sorted(want)}, got "
                         f"{sorted(names)}")
    for name, k in want.items():
        got, shape = source.header(name)
        if got != np.float32 or tuple(shape) != (k, k):
            raise ValueError(f"the calibration factor {name!r} must be float32 of shape "
                             f"({k}, {k}), got {got} of shape {tuple(shape)}")
    calibration = [None if pair is None else tuple(
        None if k is None else source.read(f"{_CALIBRATION_PREFIX}{i}/{name}")
        for name, k in zip(_FACTORS, pair)) for i, pair in enumerate(sizes)]
    try:
        model.set_calibration(calibration)
    except ValueError as e:
        raise ValueError(f"its int8 calibration is invalid ({e})") from e


def _compile(model, c):
    """Compile `model` as the checked compile config `c` says."""
    try:
        loss = [None if item is None else losses.get(item) for item in c["loss"]] \
            if isinstance(c["loss"], list) else (None if c["loss"] is None else losses.get(c["loss"]))
        metrics, weighted = (_single_output_list(c.get(key, []))
                             for key in ("metrics", "weighted_metrics"))
        model.compile(optimizer=optimizers.get(c["optimizer"]), loss=loss,
                      loss_weights=c.get("loss_weights"), metrics=metrics,
                      weighted_metrics=weighted)
    except _CONFIG_ERRORS as e:
        raise ValueError(f"its compile config is invalid ({reason(e)})") from e


def _single_output_list(metrics):
    """The saved per-output lists of metric names as compile takes them."""
    return metrics[0] if len(metrics) == 1 and isinstance(metrics[0], list) else metrics


def model_from_arrays(arrays):
    """The model `model_to_arrays` described (a dict of arrays), compiled as it was."""
    return _model_from(Arrays(arrays))


def load_model(filepath: PathLike) -> Any:
    """Load a model written by `Model.save`, compiled as it was, ready to predict or resume.

    Parameters
    ----------
    filepath : str or os.PathLike
        The file to read.

    Returns
    -------
    Model
        The model (a Sequential or functional Model, as it was saved), with its weights and
        its optimizer's state.

    Raises
    ------
    ValueError
        Naming what is wrong, for a file that is not a sound gru_native model file.
    FileNotFoundError
        If the file does not exist (this and other errors opening the file are raised as
        they are).
    """
    path = os.fsdecode(os.fspath(filepath))
    with Archive(path) as archive:
        try:
            return _model_from(archive)
        except ArchiveError:  # names the file already
            raise
        except ValueError as e:
            raise ValueError(f"cannot load a model from {path!r}: {e}") from e


def load_weights(model, filepath):
    """Set the weights of `model` (built) from a file written by `save_weights` (or `save`),
    checked layer by layer. Checks everything first: on any error the model is left as it was."""
    path = os.fsdecode(os.fspath(filepath))
    if not model.built:
        raise ValueError("build the model (give input_shape, or fit/predict once) before "
                         "load_weights")
    with Archive(path) as archive:
        if "params" not in archive.names:
            raise ValueError(f"cannot load weights from {path!r}: not a gru_native weights file "
                             "(it has no 'params' array)")
        try:
            params = _read_weights(archive, model)
        except ArchiveError:
            raise
        except ValueError as e:
            raise ValueError(f"cannot load weights from {path!r}: {e}") from e
    _set_flat_weights(model, params)


def _read_weights(source, model):
    """The weights in `source` (a weights file, or a model file) for `model`: the file's layout
    (a model file's from its config) checked against the model's before the weights are read.
    A weights file written before layouts were saved is checked by its size alone."""
    names = source.names
    unexpected = names - {"params", "layout", "config"} - {
        name for name in names if name.startswith((_OPTIMIZER_PREFIX, _CALIBRATION_PREFIX))}
    if unexpected:
        raise ValueError(f"it has unexpected entries {sorted(unexpected)}")
    if "layout" in names:
        layout = _check_layout(_read_json(source, "layout"))
    elif "config" in names:
        try:
            layout = _planned_layout(_check_config(_read_json(source, "config"))["model"])
        except _CONFIG_ERRORS as e:
            raise ValueError(f"its model config is invalid ({reason(e)})") from e
    else:
        layout = None
    if layout is not None:
        _check_same_layout(_layout(model), layout)
    return _read_params(source, model.count_params(), model.dtype)
