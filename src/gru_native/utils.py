"""Random state shared by initialisation, shuffling and dropout, so one seed reproduces a run;
and keras.utils' to_categorical, pad_sequences, PyDataset and timeseries_dataset_from_array."""

from __future__ import annotations

import contextlib
import contextvars
import random
from typing import Any, Literal, Optional, Sequence, Union

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from .data.py_dataset import PyDataset
from .data.timeseries import timeseries_dataset_from_array
from .validation import check_choice, check_int

_rng = np.random.default_rng()
# A generator that overrides _rng in one thread (context) only, so that concurrent fits of
# estimators with their own random_state neither share nor disturb a stream.
_local_rng = contextvars.ContextVar("gru_native_local_rng", default=None)


def set_random_seed(seed: int) -> None:
    """Seed gru_native (weights, shuffling, dropout), NumPy's global RNG and Python's ``random``.

    Parameters
    ----------
    seed : int
        The seed, >= 0.

    Raises
    ------
    ValueError
        For a seed that is not a non-negative integer.
    """
    global _rng
    seed = check_int(seed, "seed", 0)
    _rng = np.random.default_rng(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def rng():
    """Return the generator every random draw of gru_native comes from.

    Returns
    -------
    numpy.random.Generator
        The generator of `local_rng` inside its block in this thread, else the one seeded by
        `set_random_seed`.
    """
    local = _local_rng.get()
    return _rng if local is None else local


@contextlib.contextmanager
def local_rng(generator):
    """Draw gru_native's random numbers from `generator` inside the block, in this thread only.

    The seeded stream of `set_random_seed` resumes unchanged after it.

    Parameters
    ----------
    generator : numpy.random.Generator
        The generator to draw from.

    Yields
    ------
    numpy.random.Generator
        The `generator` given, for ``with local_rng(g) as g:``.

    Raises
    ------
    TypeError
        If `generator` is not a ``numpy.random.Generator``.
    """
    if not isinstance(generator, np.random.Generator):
        raise TypeError(f"generator must be a numpy.random.Generator, got {type(generator).__name__}")
    token = _local_rng.set(generator)
    try:
        yield generator
    finally:
        _local_rng.reset(token)


def to_categorical(x: ArrayLike, num_classes: Optional[int] = None) -> np.ndarray:
    """Turn class labels into one-hot float32 rows, as keras.utils.to_categorical.

    Parameters
    ----------
    x : array-like of int
        Class labels: non-negative integers (or floats with integer values).
    num_classes : int, optional
        The number of classes, above every label; by default the largest label + 1.

    Returns
    -------
    ndarray of float32
        Shape ``x.shape + (num_classes,)``, a trailing axis of size 1 of x dropped first.

    Raises
    ------
    ValueError
        For labels that are not integers or are negative, or a num_classes not above every
        label.
    """
    labels = np.asarray(x)
    if labels.dtype.kind not in "iu" and not (labels.dtype.kind == "f" and np.array_equal(labels, np.round(labels))):
        raise ValueError(f"to_categorical takes integer class labels, got dtype {labels.dtype}")
    labels = labels.astype(np.int64)
    if labels.ndim > 1 and labels.shape[-1] == 1:
        labels = labels[..., 0]
    if labels.size and labels.min() < 0:
        raise ValueError(f"class labels must be non-negative, got {labels.min()}")
    top = int(labels.max()) + 1 if labels.size else 0
    # a num_classes given must exceed every label
    num_classes = top if num_classes is None else check_int(num_classes, "num_classes", top)
    out = np.zeros(labels.shape + (num_classes,), np.float32)
    np.put_along_axis(out, labels[..., None], 1.0, axis=-1)
    return out


def pad_sequences(sequences: Sequence[Union[Sequence[Any], np.ndarray]], maxlen: Optional[int] = None,
                  dtype: DTypeLike = "int32", padding: Literal["pre", "post"] = "pre",
                  truncating: Literal["pre", "post"] = "pre", value: Any = 0.0) -> np.ndarray:
    """Pad sequences to one length, as keras.utils.pad_sequences.

    Shorter sequences get `value` before them ('pre') or after ('post'); longer ones lose
    their first steps ('pre') or their last ('post').

    Parameters
    ----------
    sequences : list of sequences
        Sequences of scalars, or of feature vectors of one shape.
    maxlen : int, optional
        The length to pad or truncate to; by default the longest length.
    dtype : str or dtype, default='int32'
        The dtype of the result (object or a string dtype for a string `value`).
    padding : {'pre', 'post'}, default='pre'
        Pad before or after each sequence.
    truncating : {'pre', 'post'}, default='pre'
        Drop the first or the last steps of longer sequences.
    value : scalar, default=0.0
        The padding value.

    Returns
    -------
    ndarray
        Shape (n, maxlen) for sequences of scalars, ``(n, maxlen, *feature_shape)`` for
        sequences of feature vectors.

    Raises
    ------
    ValueError
        For something that is not a list of sequences, an empty list without `maxlen`, steps
        of different shapes, a string value with a numeric dtype, or a bad padding,
        truncating or maxlen.
    """
    if not hasattr(sequences, "__len__"):
        raise ValueError(f"sequences must be a list of sequences, got {type(sequences).__name__}")
    check_choice(padding, "padding", ("pre", "post"))
    check_choice(truncating, "truncating", ("pre", "post"))
    is_text_dtype = np.issubdtype(dtype, np.str_) or np.issubdtype(dtype, np.bytes_)
    if isinstance(value, str) and dtype is not object and not is_text_dtype:
        raise ValueError(f"a string value needs dtype=object or a string dtype, got {dtype!r}")
    lengths = []
    for i, seq in enumerate(sequences):
        try:
            lengths.append(len(seq))
        except TypeError:
            raise ValueError("sequences must be a list of sequences; the one at position "
                             f"{i} is {seq!r}") from None
    if maxlen is None:
        if not lengths:
            raise ValueError("sequences is empty: give maxlen to get an array of shape (0, maxlen)")
        maxlen = max(lengths)
    maxlen = check_int(maxlen, "maxlen", 0)
    # as Keras: the first non-empty sequence sets the shape of a step
    step_shape = next((np.asarray(seq).shape[1:] for seq, n in zip(sequences, lengths) if n), ())

    rows = []
    for i, (seq, n) in enumerate(zip(sequences, lengths)):
        if n == 0 or maxlen == 0:
            continue
        kept = np.asarray(seq[n - maxlen:] if truncating == "pre" and n > maxlen else seq[:maxlen],
                          dtype=dtype)
        if kept.shape[1:] != step_shape:
            raise ValueError(f"the steps of the sequence at position {i} have shape "
                             f"{kept.shape[1:]}, the ones before have {step_shape}")
        rows.append(kept)

    x = np.full((len(lengths), maxlen) + step_shape, value, dtype=dtype)
    kept_lengths = np.minimum(np.array(lengths, dtype=np.intp), maxlen)[:, None]
    positions = np.arange(maxlen)
    filled = positions >= maxlen - kept_lengths if padding == "pre" else positions < kept_lengths
    if rows:  # the filled cells, in row-major order, are the kept steps one sequence after another
        x[filled] = np.concatenate(rows)
    return x
