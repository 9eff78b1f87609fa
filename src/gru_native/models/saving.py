"""Saving and loading models: a NumPy .npz archive of plain arrays plus a JSON config, read back
with allow_pickle=False, so loading a file never runs code. Pickling a model uses the same
arrays (scikit-learn and joblib need pickle).

Saving is atomic: the archive is written to a temporary file next to the target, flushed to
disk, then renamed over the target, so a crash or a kill in the middle of a save leaves the
previous file as it was. Loading checks everything it reads (the archive, the format version,
the config's structure, every array's dtype, shape and values) and raises a ValueError naming
what is wrong; it never returns a half-built model.
"""

from __future__ import annotations

import json
import os
import secrets
import zipfile
import zlib
from typing import Any, Union

import numpy as np

from .. import losses, optimizers
from ..layers import InputLayer
from ..layers.base import as_shape, deserialize, serialize
from .graph import Graph, flatten_tensors

_FORMAT = "gru_native.model/1"
_FORMAT_PREFIX = "gru_native.model/"
_OPTIMIZER_PREFIX = "optimizer/"

# What reading a damaged or foreign archive raises (zipfile, zlib, numpy's .npy reader); a
# missing file, a directory or a file we may not read is reported by open() as it is.
_READ_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError,
                ValueError, MemoryError, NotImplementedError, RuntimeError)
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


def _reason(error):
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    if len(text) > 200:
        text = text[:200] + "..."
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


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
        }
        for key, value in model.optimizer.get_state().items():
            arrays[_OPTIMIZER_PREFIX + key] = np.asarray(value)
    arrays["config"] = np.frombuffer(json.dumps(config).encode(), np.uint8)
    return arrays


def _flat_weights(model):
    """The model's weights, in order, as one array (its parameter buffer, or its part of a
    buffer it shares with another model)."""
    weights = model.weights
    return np.concatenate([w.ravel() for w in weights]) if weights else np.zeros(0, model.dtype)


def _loss_config(model):
    configs = [None if loss is None else _serialize(loss) for loss in model.losses]
    return configs[0] if len(configs) == 1 else configs


def _set_flat_weights(model, params):
    start = 0
    for w in model.weights:
        w[...] = params[start:start + w.size].reshape(w.shape)
        start += w.size


def _create_temporary(directory, name):
    """A new file next to the target, created as open(path, 'wb') would create the target (mode
    0o666 less the umask); returns (fd, path)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        path = os.path.join(directory, f".{name[:100]}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(path, flags, 0o666), path
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a temporary file in {directory!r}")


def _fsync_directory(directory):
    """Make the rename durable (POSIX); best effort where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_atomically(filepath, arrays):
    """Write `arrays` as an .npz archive to `filepath` (str or os.PathLike, any file name): into
    a temporary file in the same directory, flushed and fsynced, then renamed over the target.
    Whatever happens before the rename (an exception, a kill, a full disk), the previous file is
    untouched; on an exception the temporary file is removed."""
    path = os.path.realpath(os.fsdecode(os.fspath(filepath)))  # through a symlink, as open()
    directory, name = os.path.split(path)
    fd, temporary = _create_temporary(directory, name)
    try:
        try:
            mode = os.stat(path).st_mode & 0o7777  # an existing file keeps its permissions
        except OSError:
            mode = None
        with os.fdopen(fd, "wb") as f:
            fd = None
            if mode is not None:
                try:
                    os.chmod(temporary, mode)
                except OSError:
                    pass
            np.savez(f, **arrays)  # a file object: np.savez would append '.npz' to a path
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        if fd is not None:
            os.close(fd)
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
    _fsync_directory(directory)


def save_model(model, filepath):
    """Write `model` (config, weights, optimizer state) to `filepath`, atomically."""
    _write_atomically(filepath, model_to_arrays(model))


def save_weights(model, filepath):
    """Write the weights of `model` (built) to `filepath`, atomically."""
    if not model.built:
        raise ValueError("the model has no weights yet: build it (give input_shape, or "
                         "fit/predict once) before save_weights")
    _write_atomically(filepath, {"params": _flat_weights(model)})


# ---- reading --------------------------------------------------------------------------------

def _read_arrays(path, names=None):
    """The arrays of the .npz archive at `path` as {name: ndarray} (only `names` when given),
    or ValueError when it is not a readable NumPy archive."""
    with open(path, "rb") as f:  # a missing or unreadable file raises as it is
        magic = f.read(4)
        f.seek(0)
        if magic not in (b"PK\x03\x04", b"PK\x05\x06"):
            what = "an empty file" if not magic else "not a zip archive"
            raise ValueError(f"cannot read {path!r}: {what}, not a gru_native file (a NumPy "
                             ".npz archive)")
        try:
            data = np.load(f, allow_pickle=False)
            if not isinstance(data, np.lib.npyio.NpzFile):
                raise ValueError("not a NumPy .npz archive")
            with data:
                arrays = {}
                for name in data.files:
                    if names is not None and name not in names:
                        continue
                    value = data[name]
                    if not isinstance(value, np.ndarray):
                        raise ValueError(f"its entry {name!r} is not a NumPy array")
                    arrays[name] = value
        except _READ_ERRORS as e:
            raise ValueError(f"cannot read {path!r}: not a gru_native file, or a truncated or "
                             f"corrupted one ({_reason(e)})") from e
    return arrays


def _check_config_array(a):
    a = np.asarray(a)
    if a.dtype != np.uint8 or a.ndim != 1:
        raise ValueError(f"not a gru_native model: its 'config' must be a 1-D uint8 array (UTF-8 "
                         f"JSON), got dtype {a.dtype} and shape {a.shape}")
    try:
        config = json.loads(a.tobytes().decode("utf-8"))
    except (ValueError, RecursionError) as e:  # UnicodeDecodeError and JSONDecodeError included
        raise ValueError(f"its config is not valid JSON ({_reason(e)})") from e
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
    if not isinstance(c, dict) or set(c) - {"loss_weights"} != {"optimizer", "loss", "metrics"}:
        raise ValueError("the compile config must be an object with the keys 'optimizer', "
                         f"'loss', 'loss_weights' and 'metrics', got {c!r:.200}")
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
    metrics = c["metrics"]
    if not (isinstance(metrics, list) and all(
            isinstance(m, str) or (isinstance(m, list) and all(isinstance(n, str) for n in m))
            for m in metrics)):
        raise ValueError(f"the compile config's metrics must be a list of names (or of lists "
                         f"of names, one per output), got {metrics!r:.200}")


def _planned_size(model_config):
    """The number of weights of the model `model_config` describes, None when it describes an
    unbuilt model. Only declares the layers' weights (Sequential.from_config's build rule),
    allocates and initialises nothing, so a config claiming a huge model costs nothing."""
    if "nodes" in model_config:
        inputs, outputs = graph_from_config(model_config)
        graph = Graph(flatten_tensors(inputs, "inputs")[0], flatten_tensors(outputs, "outputs")[0])
        return sum(layer.count_params() for layer in graph.layers())
    layers = [deserialize(c) for c in model_config["layers"]]
    if layers and layers[0].input_shape_arg is not None:
        shape = layers[0].input_shape_arg
    elif layers and "build_input_shape" in model_config:
        shape = as_shape(tuple(model_config["build_input_shape"])[1:], "build_input_shape")
    else:
        return None
    for layer in layers:
        shape = layer.build(shape)
    return sum(layer.count_params() for layer in layers)


def _check_params(params, size, dtype):
    """`params` as the weights of a model of `size` weights of `dtype`, or ValueError."""
    params = np.asarray(params)
    if params.dtype.kind != "f" or not np.can_cast(params.dtype, dtype, "safe"):
        raise ValueError(f"the weights ('params') have dtype {params.dtype}; expected {dtype} "
                         "(or a floating dtype that casts to it safely)")
    if params.shape != (size,):
        raise ValueError(f"the weights ('params') have shape {params.shape}, but the model has "
                         f"{size} weights: shape ({size},)")
    bad = int(np.count_nonzero(~np.isfinite(params)))
    if bad:
        raise ValueError(f"the weights ('params') hold {bad} NaN or infinite values")
    return params


def _check_optimizer_state(state, dtype):
    """The arrays of the optimizer state, checked for what set_state does not check itself: slot
    arrays (all but iterations and learning_rate) must be finite floating arrays that cast
    safely to the model's dtype."""
    for key, a in state.items():
        a = np.asarray(a)
        if key in ("iterations", "learning_rate"):
            if a.shape != () or a.dtype.kind not in ("iu" if key == "iterations" else "iuf"):
                kind = "an integer" if key == "iterations" else "a real number"
                raise ValueError(f"the optimizer state {key!r} must be {kind} (a scalar), got "
                                 f"dtype {a.dtype} and shape {a.shape}")
            continue
        if a.dtype.kind != "f" or not np.can_cast(a.dtype, dtype, "safe"):
            raise ValueError(f"the optimizer state {key!r} has dtype {a.dtype}; expected {dtype}")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"the optimizer state {key!r} holds NaN or infinite values")


def model_from_arrays(arrays):
    """The model `model_to_arrays` described, compiled as it was; ValueError naming what is
    wrong when the arrays do not describe one."""
    arrays = dict(arrays)
    if "config" not in arrays:
        raise ValueError("not a gru_native model: it has no 'config' entry")
    config = _check_config_array(arrays.pop("config"))
    params = arrays.pop("params", None)
    state = {key[len(_OPTIMIZER_PREFIX):]: np.asarray(arrays.pop(key)) for key in list(arrays)
             if key.startswith(_OPTIMIZER_PREFIX)}
    if arrays:
        raise ValueError(f"it has unexpected entries {sorted(arrays)}")
    model_config = config["model"]
    dtype = np.dtype(model_config["dtype"])

    try:
        size = _planned_size(model_config)
    except _CONFIG_ERRORS as e:
        raise ValueError(f"its model config is invalid ({_reason(e)})") from e
    if size is None and params is not None:
        raise ValueError("it holds weights ('params') but its config describes an unbuilt model "
                         "(no input shape)")
    if size is not None and params is None:
        raise ValueError("its config describes a built model but it holds no weights ('params')")
    if params is not None:
        params = _check_params(params, size, dtype)
    if state and "compile" not in config:
        raise ValueError("it holds optimizer state but no compile config")
    if state:
        _check_optimizer_state(state, dtype)

    try:
        model = _model_class(model_config).from_config(model_config)
    except _CONFIG_ERRORS as e:
        raise ValueError(f"its model config is invalid ({_reason(e)})") from e
    if model.built != (size is not None) or (size is not None and model.count_params() != size):
        raise ValueError("the model built from its config does not match its weights")
    if params is not None:
        _set_flat_weights(model, params)

    if "compile" in config:
        c = config["compile"]
        try:
            loss = [None if item is None else losses.get(item) for item in c["loss"]] \
                if isinstance(c["loss"], list) else (None if c["loss"] is None else losses.get(c["loss"]))
            metrics = c["metrics"]
            if len(metrics) == 1 and isinstance(metrics[0], list):
                metrics = metrics[0]
            model.compile(optimizer=optimizers.get(c["optimizer"]), loss=loss,
                          loss_weights=c.get("loss_weights"), metrics=metrics)
        except _CONFIG_ERRORS as e:
            raise ValueError(f"its compile config is invalid ({_reason(e)})") from e
        if state:
            try:
                model.optimizer.set_state(state)
            except (TypeError, ValueError) as e:
                raise ValueError(f"its optimizer state does not fit the optimizer "
                                 f"{type(model.optimizer).__name__} ({_reason(e)})") from e
    return model


def load_model(filepath: PathLike) -> Any:
    """A model written by `model.save`, compiled as it was, ready to predict or resume.
    Raises ValueError naming what is wrong for a file that is not a sound gru_native model file
    (FileNotFoundError and other errors opening it as they are)."""
    path = os.fsdecode(os.fspath(filepath))
    arrays = _read_arrays(path)
    try:
        return model_from_arrays(arrays)
    except ValueError as e:
        raise ValueError(f"cannot load a model from {path!r}: {e}") from e


def load_weights(model, filepath):
    """Set the weights of `model` (built) from a file written by `save_weights` (or `save`).
    Checks everything first: on any error the model is left as it was."""
    path = os.fsdecode(os.fspath(filepath))
    if not model.built:
        raise ValueError("build the model (give input_shape, or fit/predict once) before "
                         "load_weights")
    arrays = _read_arrays(path, names=("params",))
    if "params" not in arrays:
        raise ValueError(f"cannot load weights from {path!r}: not a gru_native weights file (it "
                         "has no 'params' array)")
    try:
        params = _check_params(arrays["params"], model.count_params(), model.dtype)
    except ValueError as e:
        raise ValueError(f"cannot load weights from {path!r}: {e}") from e
    _set_flat_weights(model, params)
