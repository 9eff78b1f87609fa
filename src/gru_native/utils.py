"""Random state shared by initialisation, shuffling and dropout, so one seed reproduces a run;
and keras.utils' to_categorical."""

from __future__ import annotations

import contextlib
import contextvars
import random
from typing import Optional

import numpy as np
from numpy.typing import ArrayLike

_rng = np.random.default_rng()
# A generator that overrides _rng in one thread (context) only, so that concurrent fits of
# estimators with their own random_state neither share nor disturb a stream.
_local_rng = contextvars.ContextVar("gru_native_local_rng", default=None)


def set_random_seed(seed: int) -> None:
    """Seed gru_native (weights, shuffling, dropout), NumPy's global RNG and Python's `random`."""
    global _rng
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
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
    if num_classes is None:
        num_classes = top
    elif isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) \
            or num_classes < top:
        raise ValueError(f"num_classes must be an integer above every label (> {top - 1}), got "
                         f"{num_classes!r}")
    out = np.zeros(labels.shape + (int(num_classes),), np.float32)
    np.put_along_axis(out, labels[..., None], 1.0, axis=-1)
    return out
