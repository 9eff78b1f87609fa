"""The dense kernels (csrc/dense*.c through src/gru_native/_dense.pyx) against NumPy in float64,
with shapes of ones and odd primes, and the bindings' checks."""

import numpy as np
import pytest

import gru_native
from gru_native.kernels.dense import dense_backward, dense_forward
from helpers import check_dense

SHAPES = [  # N, in, out
    (1, 1, 1),
    (1, 7, 3),
    (13, 1, 5),
    (5, 11, 1),
    (37, 23, 29),
    (257, 61, 97),  # enough work for every thread
    (3, 101, 211),  # more output columns than rows: the backward splits columns
]


@pytest.fixture
def restore_threads():
    n = gru_native.get_num_threads()
    yield
    gru_native.set_num_threads(n)




def operands(rng, N, I, O, dtype):
    x, w, b, dy = (rng.normal(size=shape).astype(dtype) for shape in [(N, I), (I, O), (O,), (N, O)])
    return x, w, b, dy


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("use_bias", [True, False])
@pytest.mark.parametrize("N,I,O", SHAPES)
def test_matches_numpy(rng, N, I, O, dtype, use_bias):
    x, w, b, dy = operands(rng, N, I, O, dtype)
    x64, w64, b64, dy64 = (a.astype(np.float64) for a in (x, w, b, dy))
    y = dense_forward(x, w, b if use_bias else None)
    check_dense(y, x64 @ w64 + (b64 if use_bias else 0), dtype, "y")
    dx, dw, db = dense_backward(x, w, dy)
    check_dense(dx, dy64 @ w64.T, dtype, "dx")
    check_dense(dw, x64.T @ dy64, dtype, "dkernel")
    check_dense(db, dy64.sum(0), dtype, "dbias")
    none, dw2, db2 = dense_backward(x, w, dy, need_dx=False)
    assert none is None
    np.testing.assert_array_equal(dw2, dw)
    np.testing.assert_array_equal(db2, db)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_threads_agree_and_repeat_exactly(restore_threads, rng, dtype):
    x, w, b, dy = operands(rng, 301, 67, 89, dtype)
    runs = {}
    for threads in (1, 2, 2):
        gru_native.set_num_threads(threads)
        out = (dense_forward(x, w, b),) + dense_backward(x, w, dy)
        if threads in runs:  # same call, same threads: bit for bit
            for a, c in zip(runs[threads], out):
                np.testing.assert_array_equal(a, c)
        runs[threads] = out
    # Splitting the rows may change the BLAS's blocking, hence the last bits.
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for a, c in zip(runs[1], runs[2]):
        assert np.abs(a - c).max() <= tol * max(1.0, np.abs(a).max())


def test_no_rows(rng):
    w = rng.normal(size=(3, 4))
    y = dense_forward(np.zeros((0, 3)), w, np.ones(4))
    assert y.shape == (0, 4)
    dx, dw, db = dense_backward(np.zeros((0, 3)), w, np.zeros((0, 4)))
    assert dx.shape == (0, 3)
    np.testing.assert_array_equal(dw, np.zeros((3, 4)))
    np.testing.assert_array_equal(db, np.zeros(4))


def test_inputs_are_converted_to_the_kernels_dtype(rng):
    x, w, b, dy = operands(rng, 6, 5, 4, np.float32)
    y = dense_forward(x, w, b)
    wide = np.zeros((12, 10))
    wide[::2, ::2] = x  # a non-contiguous float64 view of the same values
    np.testing.assert_array_equal(dense_forward(wide[::2, ::2], w, b.astype(np.float64)), y)
    np.testing.assert_array_equal(dense_forward(x, np.asfortranarray(w), b), y)
    ints = np.arange(30).reshape(6, 5) % 4
    np.testing.assert_array_equal(dense_forward(ints, w, b), dense_forward(ints.astype(np.float32), w, b))
    dx, dw, db = dense_backward(wide[::2, ::2], w, dy.astype(np.float64))
    assert dx.dtype == dw.dtype == db.dtype == np.float32
    ref = dense_backward(x, w, dy)
    for a, c in zip((dx, dw, db), ref):
        np.testing.assert_array_equal(a, c)


@pytest.mark.parametrize("kw,error,match", [
    (dict(kernel=np.zeros((5, 4), np.int32)), TypeError, "float32 or float64"),
    (dict(kernel=np.zeros(4, np.float32)), ValueError, r"kernel must have shape \(features, units\)"),
    (dict(kernel=np.zeros((0, 4), np.float32)), ValueError, "both >= 1"),
    (dict(kernel=np.zeros((5, 0), np.float32)), ValueError, "both >= 1"),
    (dict(x=np.zeros((6, 5, 1))), ValueError, "x must be 2-D"),
    (dict(x=np.zeros((6, 4))), ValueError, r"x must have shape \(6, 5\)"),
    (dict(x=np.zeros((6, 5), complex)), TypeError, "x has dtype complex128"),
    (dict(x=np.array([["a"] * 5] * 6)), TypeError, "x has dtype"),
    (dict(bias=np.zeros(5)), ValueError, r"bias must have shape \(4,\)"),
    (dict(bias=np.zeros((1, 4))), ValueError, r"bias must have shape \(4,\)"),
    (dict(bias=np.zeros(4, complex)), TypeError, "bias has dtype complex128"),
])
def test_forward_rejects_bad_arrays(kw, error, match):
    args = dict(x=np.zeros((6, 5)), kernel=np.zeros((5, 4), np.float32), bias=np.zeros(4))
    args.update(kw)
    with pytest.raises(error, match=match):
        dense_forward(**args)


@pytest.mark.parametrize("kw,error,match", [
    (dict(dy=np.zeros((6, 3))), ValueError, r"dy must have shape \(6, 4\)"),
    (dict(dy=np.zeros((5, 4))), ValueError, r"dy must have shape \(6, 4\)"),
    (dict(dy=np.zeros(24)), ValueError, r"dy must have shape \(6, 4\)"),
    (dict(dy=np.zeros((6, 4), complex)), TypeError, "dy has dtype complex128"),
    (dict(x=np.zeros((6, 3))), ValueError, r"x must have shape \(6, 5\)"),
    (dict(kernel=np.zeros((5, 4), np.float16)), TypeError, "float32 or float64"),
])
def test_backward_rejects_bad_arrays(kw, error, match):
    args = dict(x=np.zeros((6, 5)), kernel=np.zeros((5, 4)), dy=np.zeros((6, 4)))
    args.update(kw)
    with pytest.raises(error, match=match):
        dense_backward(**args)
