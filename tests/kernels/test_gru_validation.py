"""The bindings (src/gru_native/_gru.pyx) reject bad arrays with exceptions that name the
problem, and convert acceptable ones (other dtypes, strides) without changing the result."""

import numpy as np
import pytest

import gru_native
from helpers import random_gru


@pytest.fixture
def call(rng):
    x, W, U, b, h0 = random_gru(rng, 5, 3, 4, 2, True, np.float32)
    return dict(x=x, kernel=W, recurrent_kernel=U, bias=b, h0=h0)


def forward(**kw):
    return gru_native.gru_forward(**kw)


@pytest.mark.parametrize("name,value,error,match", [
    ("x", np.zeros((2, 5)), ValueError, "x must be 3-D"),
    ("x", np.zeros((0, 5, 3)), ValueError, "at least one sequence"),
    ("x", np.zeros((2, 0, 3)), ValueError, "at least one sequence"),
    ("x", np.zeros((2, 5, 4)), ValueError, r"x must have shape \(2, 5, 4\)|kernel"),
    ("x", np.zeros((2, 5, 3), complex), TypeError, "x has dtype complex128"),
    ("x", np.array([[["a"] * 3] * 5] * 2), TypeError, "x has dtype"),
    ("kernel", np.zeros((3, 10), np.float32), ValueError, "3 \\* units"),
    ("kernel", np.zeros((3, 12), np.int32), TypeError, "float32 or float64"),
    ("recurrent_kernel", np.zeros((5, 12), np.float32), ValueError, r"recurrent_kernel must have shape \(4, 12\)"),
    ("bias", np.zeros(12, np.float32), ValueError, r"bias must have shape \(2, 12\)"),
    ("h0", np.zeros((3, 4)), ValueError, r"h0 must have shape \(2, 4\)"),
])
def test_bad_arrays_raise(call, name, value, error, match):
    call[name] = value
    with pytest.raises(error, match=match):
        forward(**call)


@pytest.mark.parametrize("lengths,error,match", [
    (np.array([1.0, 2.0]), TypeError, "lengths must be integers"),
    (np.array([1, 2, 3]), ValueError, r"lengths must have shape \(2,\)"),
    (np.array([1, 6]), ValueError, r"lengths must lie in \[0, 5\]"),
    (np.array([-1, 2]), ValueError, r"lengths must lie in \[0, 5\]"),
])
def test_bad_lengths_raise(call, lengths, error, match):
    with pytest.raises(error, match=match):
        forward(lengths=lengths, **call)


def test_bias_shape_follows_the_variant(call):
    call["bias"] = np.zeros(12, np.float32)
    forward(reset_after=False, **call)  # (3H,) is right for reset_after=False
    call["bias"] = np.zeros((2, 12), np.float32)
    with pytest.raises(ValueError, match=r"bias must have shape \(12,\)"):
        forward(reset_after=False, **call)


def test_backward_checks_gradient_shapes(call):
    _, _, cache = forward(training=True, **call)
    with pytest.raises(ValueError, match=r"dy must have shape \(2, 5, 4\)"):
        gru_native.gru_backward(cache, np.zeros((2, 4, 4)))
    with pytest.raises(ValueError, match=r"dh_last must have shape \(2, 4\)"):
        gru_native.gru_backward(cache, None, np.zeros(4))
    with pytest.raises(TypeError):
        gru_native.gru_backward(None)


def test_strided_and_other_dtypes_are_converted_not_misread(call):
    y, h, _ = forward(**call)
    wide = np.zeros((2, 10, 6), np.float64)
    wide[:, ::2, ::2] = call["x"]  # a non-contiguous float64 view of the same values
    strided = dict(call, x=wide[:, ::2, ::2], h0=np.asfortranarray(call["h0"]))
    y2, h2, _ = forward(**strided)
    np.testing.assert_array_equal(y, y2)
    np.testing.assert_array_equal(h, h2)
    ints = dict(call, x=np.arange(30).reshape(2, 5, 3) % 3)
    y3, _, _ = forward(**ints)
    y4, _, _ = forward(**dict(call, x=(np.arange(30).reshape(2, 5, 3) % 3).astype(np.float32)))
    np.testing.assert_array_equal(y3, y4)


def test_weights_in_the_other_byte_order_compute_in_their_precision(call):
    """Big-endian float32 weights (on a little-endian machine) are float32 weights: copied to
    native order, as x is."""
    swapped = {k: call[k].astype(call[k].dtype.newbyteorder())  # the same values, bytes swapped
               for k in ("kernel", "recurrent_kernel", "bias")}
    y, h, _ = forward(**call)
    y2, h2, _ = forward(**dict(call, **swapped))
    assert y2.dtype == y.dtype
    np.testing.assert_array_equal(y, y2)
    np.testing.assert_array_equal(h, h2)


def test_no_bias_is_zero_bias(call):
    y, h, _ = forward(**dict(call, bias=None))
    y0, h0, _ = forward(**dict(call, bias=np.zeros((2, 12), np.float32)))
    np.testing.assert_array_equal(y, y0)


def test_inference_outputs(call):
    y, h, cache = forward(return_sequences=False, **call)
    assert y is None and cache is None and h.shape == (2, 4) and h.dtype == np.float32
    ys, hs, _ = forward(**call)
    np.testing.assert_array_equal(h, hs)
    np.testing.assert_array_equal(ys[:, -1], hs)


def test_workspace_reuse_gives_the_same_results_and_guards_stale_caches(call, rng):
    ws = gru_native.GRUWorkspace()
    dy = rng.normal(size=(2, 5, 4)).astype(np.float32)
    y, h, cache = forward(training=True, **call)
    want = gru_native.gru_backward(cache, dy)
    for _ in range(2):
        y2, h2, cache2 = forward(training=True, workspace=ws, **call)
        np.testing.assert_array_equal(y2, y)
        out = (np.empty((3, 12), np.float32), np.empty((4, 12), np.float32), np.empty((2, 12), np.float32))
        got = gru_native.gru_backward(cache2, dy, workspace=ws, out=out)
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)
        for g, o in zip(got[2:], out):
            assert g is o
    _, _, newer = forward(training=True, workspace=ws, **call)
    with pytest.raises(RuntimeError, match="overwritten"):
        gru_native.gru_backward(cache2, dy)
    gru_native.gru_backward(newer, dy)


def test_backward_out_arrays_are_checked(call):
    _, _, cache = forward(training=True, **call)
    bad = [(np.empty((3, 12), np.float64), None, None),
           (None, np.empty((4, 11), np.float32), None),
           (None, None, np.empty((2, 12), np.float32)[:, ::-1])]
    for out in bad:
        with pytest.raises(ValueError, match="must be a writeable C-contiguous"):
            gru_native.gru_backward(cache, None, np.ones((2, 4)), out=out)
