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
    """Check that `value` is a Python or NumPy integer from minimum to maximum.

    Parameters
    ----------
    value : object
        The value to check (bool is not an integer here).
    name : str
        The argument's name, for the error message.
    minimum : int, optional
        The lowest allowed value (included); None: no bound.
    maximum : int, optional
        The highest allowed value (included); None: no bound. A maximum needs a minimum.
    wrong_type : type, default=ValueError
        The exception raised for a value that is not an integer (scikit-learn's estimators
        pass TypeError).

    Returns
    -------
    int
        The value as an int.

    Raises
    ------
    ValueError
        For a value out of range (and by default for one that is not an integer).
    """
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
    """Check that `value` is a finite real number from low to high.

    Parameters
    ----------
    value : object
        The value to check (bool is not a number here).
    name : str
        The argument's name, for the error message.
    low : float
        The lower bound.
    high : float, optional
        The upper bound; None: no upper bound.
    low_open : bool, default=False
        Exclude `low`.
    high_open : bool, default=False
        Exclude `high`.
    wrong_type : type, default=ValueError
        The exception raised for a value that is not a real number (scikit-learn's
        estimators pass TypeError).

    Returns
    -------
    float
        The value as a float.

    Raises
    ------
    ValueError
        For a value out of range, NaN or infinite (and by default for one that is not a
        real number).
    """
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
    """Check that `value` is one of `choices`.

    An integer choice takes integers only (True == 1 and 1.0 == 1, but verbose=True or 1.0
    is a mistake).

    Parameters
    ----------
    value : object
        The value to check.
    name : str
        The argument's name, for the error message.
    choices : sequence
        The allowed values.

    Returns
    -------
    object
        The value.

    Raises
    ------
    ValueError
        If `value` is not one of `choices` (the message lists them).
    """
    for c in choices:  # the choice itself (a default, a literal): predict checks three per call
        if value is c:
            return value
    if not any(_is_int(value) == _is_int(c) and value == c for c in choices):
        *rest, last = map(repr, choices)
        allowed = f"{', '.join(rest)} or {last}" if rest else last
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return value


def check_bool(value, name):
    """Check that `value` is True or False (NumPy's too), not 1 or 'yes'.

    Parameters
    ----------
    value : object
        The value to check.
    name : str
        The argument's name, for the error message.

    Returns
    -------
    bool
        The value as a bool.

    Raises
    ------
    TypeError
        If `value` is not a bool.
    """
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def c_array(a, dtype):
    """Return `a` as an aligned C-contiguous array of `dtype`: itself when it is one, else a copy.

    ``np.ascontiguousarray`` alone keeps a misaligned array (a view at an odd byte offset) as
    it is, and the kernels cannot read that.

    Parameters
    ----------
    a : array-like
        The array.
    dtype : dtype
        The dtype of the result.

    Returns
    -------
    ndarray
        `a` itself, or an aligned C-contiguous copy.
    """
    a = np.ascontiguousarray(a, dtype=dtype)
    return a if a.flags.aligned else a.copy()


def check_finite(array, name):
    """Check that an array is numeric and holds no NaN or infinite values.

    Parameters
    ----------
    array : ndarray
        The array to check.
    name : str
        The array's name, for the error message.

    Raises
    ------
    TypeError
        For a non-numeric array.
    ValueError
        For NaN or infinite values.
    """
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric, got dtype {array.dtype}")
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")


def all_finite(a):
    """Tell whether the float array `a` holds no NaN or infinity.

    One sum (they propagate into it), and an exact check only when the sum itself overflowed.

    Parameters
    ----------
    a : ndarray
        A float array.

    Returns
    -------
    bool
        True when every value is finite.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        return bool(np.isfinite(a.sum())) or bool(np.isfinite(a).all())
