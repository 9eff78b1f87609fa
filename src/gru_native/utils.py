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
    """Seed gru_native (weights, shuffling, dropout), NumPy's global RNG and Python's `random`."""
    global _rng
    seed = check_int(seed, "seed", 0)
    _rng = np.random.default_rng(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def rng():
    """The generator every random draw of gru_native comes from."""
    local = _local_rng.get()
    return _rng if local is None else local


@contextlib.contextmanager
def local_rng(generator):
    """Draw gru_native's random numbers from `generator` inside the block, in this thread only;
    the seeded stream of set_random_seed resumes unchanged after it."""
    if not isinstance(generator, np.random.Generator):
        raise TypeError(f"generator must be a numpy.random.Generator, got {type(generator).__name__}")
    token = _local_rng.set(generator)
    try:
        yield generator
    finally:
        _local_rng.reset(token)


def to_categorical(x: ArrayLike, num_classes: Optional[int] = None) -> np.ndarray:
    """Class labels as one-hot float32 rows, as keras.utils.to_categorical: shape x.shape +
    (num_classes,), a trailing axis of size 1 dropped first; num_classes defaults to max + 1."""
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

    `sequences` is a list of sequences of scalars, giving an array of shape (n, maxlen), or of
    feature vectors of one shape, giving ``(n, maxlen, *feature_shape)``. maxlen defaults to the
    longest length. Shorter sequences get `value` before them ('pre') or after ('post');
    longer ones lose their first steps ('pre') or their last ('post').
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
