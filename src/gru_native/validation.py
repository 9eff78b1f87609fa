"""Checks of user-given values shared by every floor. Each returns the value (an int, a float, the
choice) or raises an error that names the argument and what it may be.

A value out of range is a ValueError. A value of the wrong type is a ValueError too by default, as
Keras raises; the scikit-learn estimators pass wrong_type=TypeError, scikit-learn's convention.
bool is never a number here: lookback=True is a mistake, not 1."""

from __future__ import annotations

import math
import numbers

import numpy as np


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _integers(minimum, maximum):
    """How a message names the integers from minimum to maximum (None: unbounded)."""
    if maximum is not None:
        return f"an integer in [{minimum}, {maximum}]"
    if minimum is None:
        return "an integer"
    return {0: "a non-negative integer", 1: "a positive integer"}.get(
        minimum, f"an integer >= {minimum}")


def check_int(value, name, minimum=None, maximum=None, wrong_type=ValueError):
    """value as an int: a Python or NumPy integer from minimum to maximum (both included; None:
    no bound; a maximum needs a minimum)."""
    allowed = _integers(minimum, maximum)
    if not _is_int(value):
        raise wrong_type(f"{name} must be {allowed}, got {value!r}")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return int(value)


def _reals(low, high, low_open, high_open):
    """How a message names the numbers between low and high."""
    if high is not None:
        return f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if low == 0:
        return "a positive number" if low_open else "a non-negative number"
    return f"a number {'>' if low_open else '>='} {low:g}"


def check_real(value, name, low, high=None, low_open=False, high_open=False,
               wrong_type=ValueError):
    """value as a float: a finite real number from low to high (high None: no upper bound),
    each bound excluded if its ``*_open`` flag is set."""
    allowed = _reals(low, high, low_open, high_open)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise wrong_type(f"{name} must be {allowed}, got {value!r}")
    v = float(value)
    above = v > low if low_open else v >= low
    below = high is None or (v < high if high_open else v <= high)
    if not (math.isfinite(v) and above and below):  # NaN fails every comparison
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return v


def check_choice(value, name, choices):
    """value if it is one of choices; an integer choice takes integers only (True == 1 and
    1.0 == 1, but verbose=True or 1.0 is a mistake)."""
    for c in choices:  # the choice itself (a default, a literal): predict checks three per call
        if value is c:
            return value
    if not any(_is_int(value) == _is_int(c) and value == c for c in choices):
        *rest, last = map(repr, choices)
        allowed = f"{', '.join(rest)} or {last}" if rest else last
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return value


def check_bool(value, name):
    """value as a bool: True or False (NumPy's too), not 1 or 'yes'."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def c_array(a, dtype):
    """`a` as an aligned C-contiguous array of `dtype`: itself when it is one, else a copy.
    np.ascontiguousarray alone keeps a misaligned array (a view at an odd byte offset) as it
    is, and the kernels cannot read that."""
    a = np.ascontiguousarray(a, dtype=dtype)
    return a if a.flags.aligned else a.copy()


def check_finite(array, name):
    """Raise a TypeError for a non-numeric array and a ValueError for NaN or infinite values,
    naming the array `name`."""
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric, got dtype {array.dtype}")
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")


def all_finite(a):
    """Whether the float array `a` holds no NaN or infinity: one sum (they propagate into it),
    and an exact check only when the sum itself overflowed."""
    with np.errstate(over="ignore", invalid="ignore"):
        return bool(np.isfinite(a.sum())) or bool(np.isfinite(a).all())
