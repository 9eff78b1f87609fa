"""Random state shared by initialisation, shuffling and dropout, so one seed reproduces a run."""

from __future__ import annotations

import contextlib
import contextvars
import random

import numpy as np

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
