"""Checks of user-given values shared by every floor: each raises a clear ValueError or
TypeError naming the argument."""

from __future__ import annotations

import numbers

import numpy as np


def check_int(value, name, minimum):
    # bool is an int subclass, but lookback=True is a mistake, not 1
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        kind = "a positive" if minimum == 1 else "a non-negative"
        raise ValueError(f"{name} must be {kind} integer, got {value!r}")
    return int(value)


def check_finite(array, name):
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric, got dtype {array.dtype}")
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")

