"""Lazy prediction over dask collections: a dask array (or a list / dict of them, one per
input) maps to one task per chunk of rows; a dask DataFrame of windows (one row each) maps
over its partitions. The predicting object (a model or an estimator) is one key of the graph,
so a distributed scheduler sends it to each worker once, not with every task. dask is imported
only here, when such a collection is given."""

from __future__ import annotations

import functools
import uuid
from typing import Any, Callable

import numpy as np


def is_dask_collection(x: Any) -> bool:
    """Tell whether x is a dask collection, or a non-empty list / tuple / dict of them.

    Parameters
    ----------
    x : object
        The object to test.

    Returns
    -------
    bool
        True for a dask collection, or a non-empty list / tuple / dict of them.
    """
    if isinstance(x, dict):
        return bool(x) and all(is_dask_collection(v) for v in x.values())
    if isinstance(x, (list, tuple)):
        return bool(x) and all(is_dask_collection(v) for v in x)
    return type(x).__module__.partition(".")[0] == "dask" and hasattr(x, "__dask_graph__")


def _call(obj: Any, method: str, kwargs: dict, structure: Any, *blocks: np.ndarray) -> tuple:
    """`obj.method` on one chunk (its inputs rebuilt as given: one, a list or a dict), its
    outputs flattened to a tuple."""
    return tuple(_flat(getattr(obj, method)(_rebuilt(list(blocks), structure), **kwargs))[0])


def _flat(out: Any) -> tuple[list, Any]:
    """(the arrays of one, a list or a dict of arrays, how to rebuild the structure)."""
    if isinstance(out, dict):
        return list(out.values()), tuple(out)
    if isinstance(out, (list, tuple)):
        return list(out), len(out)
    return [out], None


def _rebuilt(parts: list, structure: Any) -> Any:
    if structure is None:
        return parts[0]
    if isinstance(structure, tuple):
        return dict(zip(structure, parts))
    return parts


def predict_lazily(obj: Any, method: str, x: Any, **kwargs: Any) -> Any:
    """Compute ``obj.method(x, **kwargs)`` as a lazy dask collection.

    A dask array (or a list / dict of them, one per input) maps to one task per chunk of
    rows; a dask DataFrame of windows (one row each) maps over its partitions. `obj` is one
    key of the graph, so a distributed scheduler sends it to each worker once, not with every
    task.

    Parameters
    ----------
    obj : object
        The predicting object: a model or an estimator.
    method : str
        The name of its method to call, e.g. 'predict'.
    x : dask array, list or dict of dask arrays, or dask DataFrame
        The inputs.
    **kwargs
        Passed on to the method.

    Returns
    -------
    dask array, list or dict of dask arrays, dask Series or dask DataFrame
        For dask arrays, arrays of the outputs' structure (one, a list or a dict) chunked
        along the rows as x; for a dask DataFrame, a dask Series (one output column) or
        DataFrame over the same partitions.

    Raises
    ------
    ValueError
        For a dask array whose chunk sizes are unknown (call ``x.compute_chunk_sizes()``
        first), or inputs with different numbers of rows.
    """
    import dask

    obj_key = dask.delayed(obj, name=f"{type(obj).__name__}-{uuid.uuid4().hex}", traverse=False)
    if hasattr(x, "map_partitions"):
        return _predict_frame(obj_key, obj, method, x, kwargs)
    import dask.array as da

    arrays, in_structure = _flat(x)
    first = arrays[0]
    if any(np.isnan(n) for n in first.chunks[0]):
        raise ValueError("the dask array's chunk sizes are unknown: call "
                         "x.compute_chunk_sizes() first")
    for a in arrays[1:]:
        if a.shape[0] != first.shape[0]:
            raise ValueError(f"the inputs have different numbers of rows: {first.shape[0]} "
                             f"and {a.shape[0]}")
    # one chunk across every other axis, the first input's chunks along the rows
    arrays = [a.rechunk({0: first.chunks[0], **{i: -1 for i in range(1, a.ndim)}})
              for a in arrays]
    # the outputs' structure, shapes and types, from one row of zeros
    examples = [np.zeros((1,) + a.shape[1:], a.dtype) for a in arrays]
    sample, structure = _flat(getattr(obj, method)(_rebuilt(examples, in_structure), **kwargs))
    rows = first.chunks[0]
    blocks = [a.to_delayed().ravel() for a in arrays]
    outputs: list[list] = [[] for _ in sample]
    for i, n in enumerate(rows):
        part = dask.delayed(_call, pure=True, nout=len(sample))(
            obj_key, method, kwargs, in_structure, *(b[i] for b in blocks))
        for k, (piece, s) in enumerate(zip(part, sample)):
            outputs[k].append(da.from_delayed(piece, shape=(n,) + s.shape[1:], dtype=s.dtype))
    return _rebuilt([da.concatenate(o) for o in outputs], structure)


def _predict_frame(obj_key: Any, obj: Any, method: str, x: Any, kwargs: dict) -> Any:
    """A dask DataFrame whose rows are windows, predicted partition by partition."""
    import pandas as pd

    example_frame = pd.DataFrame({c: np.zeros(1, t) for c, t in x.dtypes.items()})
    example = np.asarray(getattr(obj, method)(example_frame, **kwargs))
    meta = (pd.Series(example[:0], name=method) if example.ndim == 1
            else pd.DataFrame(example[:0].reshape(0, -1)))
    return x.map_partitions(_frame_call, obj_key, method, kwargs, meta=meta)


def _frame_call(part: Any, obj: Any, method: str, kwargs: dict) -> Any:
    import pandas as pd

    out = np.asarray(getattr(obj, method)(part, **kwargs))
    if out.ndim == 1:
        return pd.Series(out, index=part.index, name=method)
    return pd.DataFrame(out.reshape(len(out), -1), index=part.index)


def lazy_over_dask(method: Callable) -> Callable:
    """Make a prediction method return a lazy collection when given a dask collection.

    Parameters
    ----------
    method : callable
        A method ``method(self, X, **kwargs)``.

    Returns
    -------
    callable
        The method that, given a dask collection, returns the lazy collection of its results
        (`predict_lazily`) instead of computing them.
    """
    @functools.wraps(method)
    def wrapper(self: Any, X: Any, **kwargs: Any) -> Any:
        if is_dask_collection(X):
            return predict_lazily(self, method.__name__, X, **kwargs)
        return method(self, X, **kwargs)
    return wrapper
