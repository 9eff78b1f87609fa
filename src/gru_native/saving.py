"""Saving and loading models: a NumPy .npz archive of plain arrays plus a JSON config, read back
with allow_pickle=False, so loading a file never runs code. Pickling a model uses the same
arrays (scikit-learn and joblib need pickle)."""

import json

import numpy as np

from . import losses, optimizers

_FORMAT = "gru_native.model/1"


def _serialize(obj):
    return {"class_name": type(obj).__name__, "config": obj.get_config()}


def model_to_arrays(model):
    """Everything that defines `model` (config, weights, optimizer state) as a dict of arrays."""
    config = {"format": _FORMAT, "model": model.get_config()}
    arrays = {}
    if model.built:
        arrays["params"] = model._params.copy()
    if model.optimizer is not None:
        config["compile"] = {
            "optimizer": _serialize(model.optimizer),
            "loss": None if model.loss is None else _serialize(model.loss),
            "metrics": [m.name for m in model.compiled_metrics],
        }
        for key, value in model.optimizer.get_state().items():
            arrays["optimizer/" + key] = np.asarray(value)
    arrays["config"] = np.frombuffer(json.dumps(config).encode(), np.uint8)
    return arrays


def model_from_arrays(arrays):
    from .models import Sequential

    config = json.loads(bytes(np.asarray(arrays["config"], np.uint8)).decode())
    if config.get("format") != _FORMAT:
        raise ValueError(f"not a gru_native model (format {config.get('format')!r})")
    model = Sequential.from_config(config["model"])
    if "params" in arrays:
        params = np.asarray(arrays["params"])
        if not model.built or params.shape != model._params.shape:
            raise ValueError("the saved weights do not fit the saved model config")
        model._params[...] = params
    if "compile" in config:
        c = config["compile"]
        model.compile(optimizer=optimizers.get(c["optimizer"]),
                      loss=None if c["loss"] is None else losses.get(c["loss"]),
                      metrics=c["metrics"])
        state = {k[len("optimizer/"):]: np.asarray(v) for k, v in arrays.items()
                 if k.startswith("optimizer/")}
        if state:
            model.optimizer.set_state(state)
    return model


def save_model(model, filepath):
    """Write `model` (config, weights, optimizer state) to `filepath`."""
    with open(filepath, "wb") as f:  # a file object: np.savez would append '.npz' to a path
        np.savez(f, **model_to_arrays(model))


def load_model(filepath):
    """A model written by `Sequential.save`, compiled as it was, ready to predict or resume."""
    with np.load(filepath, allow_pickle=False) as data:
        return model_from_arrays({k: data[k] for k in data.files})


def save_weights(model, filepath):
    with open(filepath, "wb") as f:
        np.savez(f, params=model._params)


def load_weights(model, filepath):
    with np.load(filepath, allow_pickle=False) as data:
        params = data["params"]
    if params.shape != model._params.shape:
        raise ValueError(f"the file holds {params.size} weights, the model has {model._params.size}")
    if not np.all(np.isfinite(params)):
        raise ValueError("the file holds NaN or infinite weights")
    model._params[...] = params
