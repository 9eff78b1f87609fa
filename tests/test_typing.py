"""The package ships its type information (PEP 561): the py.typed marker, stubs of the compiled
modules whose names it re-exports, and annotations of the public API that resolve at runtime."""

import ast
import importlib
import importlib.resources
import inspect
import os
import sys
import typing

import numpy as np
import pytest

import gru_native
from gru_native import (GRU, Activation, Bidirectional, Dense, Dropout, Embedding, Layer, Masking,
                        Sequential, load_model)
from gru_native.callbacks import History

STUBS = {"gru": ("GRUCache", "GRUWorkspace", "gru_backward", "gru_forward"),
         "threads": ("BLAS_BACKEND", "get_num_threads", "set_num_threads")}


def _hints(function):
    """typing.get_type_hints of `function`, which also checks that every annotation resolves."""
    return typing.get_type_hints(function)


def _assert_fully_annotated(function):
    """Every parameter but self/cls, and the return value, carry an annotation."""
    hints = _hints(function)
    parameters = [name for name in inspect.signature(function).parameters if name not in ("self", "cls")]
    missing = [name for name in parameters + ["return"] if name not in hints]
    assert not missing, f"{function.__qualname__} has no annotation for {missing}"
    return hints


def _bound(type_var, module):
    """The class a TypeVar is bound to (its bound may be a forward reference)."""
    bound = type_var.__bound__
    if isinstance(bound, typing.ForwardRef):
        bound = eval(bound.__forward_arg__, vars(sys.modules[module]))
    return bound


# ---- the marker and the stubs ---------------------------------------------------------------

def test_the_installed_package_ships_py_typed():
    marker = importlib.resources.files("gru_native").joinpath("py.typed")
    assert marker.is_file()
    assert "partial" not in marker.read_text()  # the whole package is typed, not part of it


@pytest.mark.parametrize("module", sorted(STUBS))
def test_the_compiled_modules_re_exported_names_have_stubs(module):
    stub = importlib.resources.files("gru_native.kernels").joinpath(f"{module}.pyi")
    assert stub.is_file()
    tree = ast.parse(stub.read_text())
    declared = {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    declared |= {node.target.id for node in tree.body if isinstance(node, ast.AnnAssign)}
    for name in STUBS[module]:
        assert name in declared, f"{module}.pyi does not declare {name}"
        assert getattr(gru_native, name) is getattr(importlib.import_module(f"gru_native.kernels.{module}"), name)


def _stub_parameters(node):
    """(name, kind, has a default) of each parameter of a stub's function definition."""
    args, kind = node.args, inspect.Parameter
    positional = args.posonlyargs + args.args
    first_default = len(positional) - len(args.defaults)
    out = [(a.arg, kind.POSITIONAL_ONLY if i < len(args.posonlyargs) else kind.POSITIONAL_OR_KEYWORD,
            i >= first_default) for i, a in enumerate(positional)]
    if args.vararg:
        out.append((args.vararg.arg, kind.VAR_POSITIONAL, False))
    out += [(a.arg, kind.KEYWORD_ONLY, d is not None) for a, d in zip(args.kwonlyargs, args.kw_defaults)]
    if args.kwarg:
        out.append((args.kwarg.arg, kind.VAR_KEYWORD, False))
    return out


@pytest.mark.parametrize("module", sorted(STUBS))
def test_the_stubs_match_the_compiled_functions(module):
    """The stubs' functions take the parameters (names, kinds, defaults) the compiled ones do."""
    compiled = importlib.import_module(f"gru_native.kernels.{module}")
    tree = ast.parse(importlib.resources.files("gru_native.kernels").joinpath(f"{module}.pyi").read_text())
    functions = [node for node in tree.body if isinstance(node, ast.FunctionDef)
                 and node.name != "__getattr__"]
    assert functions
    for node in functions:
        signature = inspect.signature(getattr(compiled, node.name))
        runtime = [(p.name, p.kind, p.default is not p.empty) for p in signature.parameters.values()]
        assert _stub_parameters(node) == runtime, node.name


# ---- annotations of the public API ---------------------------------------------------------

def test_sequential_fit_and_predict_hints():
    fit = _assert_fully_annotated(Sequential.fit)
    assert fit["return"] is History
    assert fit["epochs"] is int and fit["shuffle"] is bool
    predict = _assert_fully_annotated(Sequential.predict)
    outputs = typing.Union[np.ndarray, list[np.ndarray], dict[str, np.ndarray]]
    assert predict["return"] == outputs  # one array, or a list / dict for several outputs
    assert _hints(Sequential.predict_on_batch)["return"] == outputs


@pytest.mark.parametrize("name", ["add", "build", "compile", "fit", "evaluate", "predict",
                                  "train_on_batch", "test_on_batch", "predict_on_batch",
                                  "reset_states", "get_weights", "set_weights", "count_params",
                                  "summary", "get_config", "from_config", "save", "save_weights",
                                  "load_weights", "__init__"])
def test_sequential_public_methods_are_annotated(name):
    _assert_fully_annotated(getattr(Sequential, name))


def test_sequential_weights_property_hint():
    assert _hints(Sequential.weights.fget)["return"] == list[np.ndarray]
    assert _hints(Sequential.count_params)["return"] is int
    assert _hints(Sequential.from_config)["return"] is Sequential


def test_layer_constructor_hints():
    gru = _assert_fully_annotated(GRU.__init__)
    assert gru["units"] is int and gru["return"] is type(None)
    assert gru["return_sequences"] is bool and gru["dropout"] is float
    dense = _assert_fully_annotated(Dense.__init__)
    assert dense["units"] is int and dense["use_bias"] is bool
    assert type(None) in typing.get_args(dense["activation"])  # None: linear
    merge = _hints(Bidirectional.__init__)["merge_mode"]
    assert set(typing.get_args(merge)) == {"concat", "sum", "ave", "mul"}
    for cls in (Bidirectional, Embedding, Masking, Dropout, Activation, Layer):
        _assert_fully_annotated(cls.__init__)


def test_layer_public_methods_are_annotated():
    for name in ("build", "compute_output_shape", "get_weights", "set_weights", "count_params",
                 "get_config", "from_config", "__call__"):
        _assert_fully_annotated(getattr(Layer, name))
    assert _hints(Layer.get_weights)["return"] == list[np.ndarray]


def test_estimator_hints():
    from gru_native import GRUClassifier, GRUForecaster, GRURegressor

    fit = _assert_fully_annotated(GRURegressor.fit)
    returned = fit["return"]
    # fit returns self: a TypeVar bound to the estimators' base, so fit(...).predict types check
    assert isinstance(returned, typing.TypeVar) and fit["self"] is returned
    assert issubclass(GRURegressor, _bound(returned, GRURegressor.fit.__module__))
    assert issubclass(GRUClassifier, _bound(returned, GRURegressor.fit.__module__))
    assert _assert_fully_annotated(GRURegressor.predict)["return"] is np.ndarray
    init = _assert_fully_annotated(GRURegressor.__init__)
    assert set(typing.get_args(init["optimizer"])) == {"adam", "adamw", "rmsprop", "sgd"}
    for name in ("partial_fit", "predict", "predict_proba", "predict_log_proba"):
        _assert_fully_annotated(getattr(GRUClassifier, name))
    for name in ("__init__", "fit", "predict"):
        _assert_fully_annotated(getattr(GRUForecaster, name))
    from gru_native.sklearn.forecaster import Forecasts
    assert _hints(GRUForecaster.predict)["return"] == Forecasts  # an array for an array


def test_load_model_and_helpers_hints():
    hints = _assert_fully_annotated(load_model)
    assert hints["return"] is typing.Any  # a Sequential or a functional Model, as the file holds
    accepted = typing.get_args(hints["filepath"])
    assert str in accepted and os.PathLike[str] in accepted
    assert _assert_fully_annotated(gru_native.utils.set_random_seed)["seed"] is int


def test_optimizer_and_preprocessing_hints():
    from gru_native import optimizers, preprocessing

    for cls in (optimizers.SGD, optimizers.Adam, optimizers.AdamW, optimizers.RMSprop):
        assert _assert_fully_annotated(cls.__init__)["learning_rate"] == \
            typing.Union[float, optimizers.schedules.LearningRateSchedule]
    for function in (preprocessing.make_windows, preprocessing.pad_sequences,
                     preprocessing.SequenceScaler.__init__, preprocessing.SequenceScaler.fit,
                     preprocessing.SequenceScaler.transform,
                     preprocessing.SequenceScaler.inverse_transform,
                     preprocessing.Tokenizer.__init__, preprocessing.Tokenizer.fit_on_texts,
                     preprocessing.Tokenizer.texts_to_sequences,
                     preprocessing.Tokenizer.sequences_to_texts):
        _assert_fully_annotated(function)
    assert _hints(preprocessing.Tokenizer.texts_to_sequences)["return"] == list[list[int]]
