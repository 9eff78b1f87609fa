"""The shared checks of user-given values: each accepts its edge values, and rejects bool, NaN
and infinities, values out of range and values of the wrong type with an error that names the
argument and what it may be."""

import math
import re

import numpy as np
import pytest

from gru_native.validation import check_bool, check_choice, check_finite, check_int, check_real


# ---- check_int -------------------------------------------------------------------------------

@pytest.mark.parametrize("value, minimum, maximum", [
    (1, 1, None), (0, 0, None), (-3, -3, None), (7, 0, 7), (np.int64(5), 1, None),
    (np.uint8(0), 0, 1), (-10**30, None, None), (2**40, 1, None)])
def test_check_int_accepts_integers_from_minimum_to_maximum(value, minimum, maximum):
    got = check_int(value, "n", minimum, maximum)
    assert got == value and type(got) is int


@pytest.mark.parametrize("value, minimum, maximum, message", [
    (0, 1, None, "lookback must be a positive integer, got 0"),
    (-1, 0, None, "lookback must be a non-negative integer, got -1"),
    (1, 2, None, "lookback must be an integer >= 2, got 1"),
    (8, 0, 7, r"lookback must be an integer in \[0, 7\], got 8"),
    (-1, 0, 7, r"lookback must be an integer in \[0, 7\], got -1"),
])
def test_check_int_rejects_values_out_of_range(value, minimum, maximum, message):
    with pytest.raises(ValueError, match=message):
        check_int(value, "lookback", minimum, maximum)


@pytest.mark.parametrize("value", [True, False, np.True_, 2.0, 2.5, math.nan, math.inf, "3",
                                   None, [3], np.array(3.0)])
def test_check_int_rejects_bool_and_other_types(value):
    with pytest.raises(ValueError, match=re.escape(f"units must be a positive integer, got {value!r}")):
        check_int(value, "units", 1)
    with pytest.raises(TypeError, match="units must be a positive integer"):
        check_int(value, "units", 1, wrong_type=TypeError)


def test_check_int_without_bounds_takes_any_integer_and_a_wrong_type_error():
    assert check_int(-5, "axis") == -5
    with pytest.raises(TypeError, match="axis must be an integer, got '1'"):
        check_int("1", "axis", wrong_type=TypeError)
    # out of range stays a ValueError whatever the wrong type's error
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 0"):
        check_int(0, "batch_size", 1, wrong_type=TypeError)


# ---- check_real ------------------------------------------------------------------------------

@pytest.mark.parametrize("value, low, high, low_open, high_open", [
    (0, 0, None, False, False), (0.0, 0, 1, False, True), (1, 0, 1, False, False),
    (1e-300, 0, None, True, False), (np.float32(0.5), 0, 1, True, True), (np.int64(3), 0, None,
                                                                          False, False),
    (-2.5, -2.5, None, False, False), (1e300, 0, None, False, False)])
def test_check_real_accepts_finite_numbers_inside_the_bounds(value, low, high, low_open, high_open):
    got = check_real(value, "rate", low, high, low_open, high_open)
    assert got == float(value) and type(got) is float


@pytest.mark.parametrize("value, kwargs, message", [
    (1.0, dict(high=1, high_open=True), r"rate must be in \[0, 1\), got 1.0"),
    (0, dict(high=1, low_open=True, high_open=True), r"rate must be in \(0, 1\), got 0"),
    (-0.1, dict(high=1), r"rate must be in \[0, 1\], got -0.1"),
    (1.5, dict(high=1), r"rate must be in \[0, 1\], got 1.5"),
    (0, dict(low_open=True), "rate must be a positive number, got 0"),
    (-1e-9, {}, "rate must be a non-negative number, got -1e-09"),
    (math.nan, {}, "rate must be a non-negative number, got nan"),
    (math.inf, {}, "rate must be a non-negative number, got inf"),
    (-math.inf, {}, "rate must be a non-negative number, got -inf"),
    (np.float64(math.nan), dict(high=1), r"rate must be in \[0, 1\], got "),
])
def test_check_real_rejects_nan_infinities_and_values_out_of_range(value, kwargs, message):
    with pytest.raises(ValueError, match=message):
        check_real(value, "rate", 0, **kwargs)
    with pytest.raises(ValueError, match=message):  # out of range is never a TypeError
        check_real(value, "rate", 0, wrong_type=TypeError, **kwargs)


def test_check_real_names_other_lower_bounds():
    with pytest.raises(ValueError, match="delta must be a number > 0.5, got 0.5"):
        check_real(0.5, "delta", 0.5, low_open=True)
    with pytest.raises(ValueError, match="delta must be a number >= -1, got -2"):
        check_real(-2, "delta", -1)


@pytest.mark.parametrize("value", [True, False, np.False_, "0.1", None, 1j, [0.1]])
def test_check_real_rejects_bool_and_other_types(value):
    with pytest.raises(ValueError, match=r"learning_rate must be a positive number, got "):
        check_real(value, "learning_rate", 0, low_open=True)
    with pytest.raises(TypeError, match=r"learning_rate must be a positive number, got "):
        check_real(value, "learning_rate", 0, low_open=True, wrong_type=TypeError)


# ---- check_choice and check_bool -------------------------------------------------------------

def test_check_choice_returns_a_choice():
    assert check_choice("post", "padding", ("pre", "post")) == "post"
    assert check_choice(2, "verbose", ("auto", 0, 1, 2)) == 2
    assert check_choice(np.int64(1), "verbose", ("auto", 0, 1, 2)) == 1


@pytest.mark.parametrize("value", ["loud", "AUTO", 3, True, False, 1.0, np.True_, None])
def test_check_choice_rejects_anything_else_naming_every_choice(value):
    with pytest.raises(ValueError, match=re.escape(f"verbose must be 'auto', 0, 1 or 2, got {value!r}")):
        check_choice(value, "verbose", ("auto", 0, 1, 2))


def test_check_choice_names_one_or_two_choices():
    with pytest.raises(ValueError, match="padding must be 'pre' or 'post', got 'mid'"):
        check_choice("mid", "padding", ("pre", "post"))
    with pytest.raises(ValueError, match="mode must be 'fast', got 'slow'"):
        check_choice("slow", "mode", ("fast",))


def test_check_bool():
    assert check_bool(True, "shuffle") is True
    assert check_bool(np.False_, "shuffle") is False
    for value in (1, 0, "yes", None, 1.0):
        with pytest.raises(TypeError, match=re.escape(f"shuffle must be True or False, got {value!r}")):
            check_bool(value, "shuffle")


# ---- check_finite ----------------------------------------------------------------------------

def test_check_finite():
    check_finite(np.array([0.0, -1e308, 1e308]), "series")
    check_finite(np.array([True, False]), "series")
    check_finite(np.array([1, 2], np.int8), "series")
    for bad in (np.nan, np.inf, -np.inf):
        with pytest.raises(ValueError, match="series contains NaN or infinite values"):
            check_finite(np.array([0.0, bad], np.float32), "series")
    with pytest.raises(TypeError, match="series must be numeric, got dtype <U1"):
        check_finite(np.array(["a"]), "series")
    with pytest.raises(TypeError, match="series must be numeric, got dtype complex128"):
        check_finite(np.array([1j]), "series")
