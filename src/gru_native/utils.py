"""Random state shared by initialisation, shuffling and dropout, so one seed reproduces a run."""

import random

import numpy as np

_rng = np.random.default_rng()


def set_random_seed(seed):
    """Seed gru_native (weights, shuffling, dropout), NumPy's global RNG and Python's `random`."""
    global _rng
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    _rng = np.random.default_rng(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def rng():
    """The generator every random draw of gru_native comes from."""
    return _rng
