"""Bindings of the dense kernels: validate every array that crosses into C, convert it once to a
C-contiguous array of the computing dtype, then run the kernel with the GIL released."""

import numpy as np
cimport numpy as cnp
from cython cimport floating

from .arrays cimport as_array, compute_dtype, typed
from .blas cimport bind_blas
from .threads cimport resolve_threads

cnp.import_array()
bind_blas()

_INT_MAX = 2**31 - 1


cdef tuple _operands(x, kernel):
    """(dtype, x, kernel) checked and converted; x (N, in) may have no rows, the kernel may not be
    empty."""
    dtype = compute_dtype(kernel, "dense kernel")
    w = np.asarray(kernel)
    if w.ndim != 2 or w.shape[0] == 0 or w.shape[1] == 0:
        raise ValueError(f"kernel must have shape (features, units), both >= 1, got {w.shape}")
    xa = np.asarray(x)
    if xa.ndim != 2:
        raise ValueError(f"x must be 2-D (rows, features), got shape {xa.shape}")
    if max(xa.shape[0], w.shape[0], w.shape[1]) > _INT_MAX:
        raise ValueError(f"x of shape {xa.shape} with kernel {w.shape} is too large for the kernels")
    xa = as_array(xa, dtype, "x", (xa.shape[0], w.shape[0]))
    return dtype, xa, as_array(w, dtype, "kernel", w.shape)


def dense_forward(x, kernel, bias=None, *, n_threads=None):
    """y = x @ kernel + bias: x (N, in), kernel (in, out), bias (out,) or None for no bias.
    The computing dtype is the kernel's (float32 or float64); returns y (N, out). `n_threads`:
    the threads to use at most (None: the package's setting)."""
    dtype, xa, w = _operands(x, kernel)
    cdef dense_shape s
    s.N, s.IN, s.OUT = xa.shape[0], w.shape[0], w.shape[1]
    b = None if bias is None else as_array(bias, dtype, "bias", (s.OUT,))
    y = np.empty((s.N, s.OUT), dtype)
    cdef int nt = resolve_threads(n_threads)
    if dtype == np.float32:
        forward_call[float](0, &s, nt, xa, w, b, y)
    else:
        forward_call[double](0, &s, nt, xa, w, b, y)
    return y


def dense_backward(x, kernel, dy, bint need_dx=True, *, n_threads=None):
    """Gradients of y = x @ kernel + bias given dy (N, out) = dL/dy: returns (dx, dkernel, dbias)
    with dx = dy @ kernel^T (None unless need_dx), dkernel = x^T dy, dbias = dy summed over rows."""
    dtype, xa, w = _operands(x, kernel)
    cdef dense_shape s
    s.N, s.IN, s.OUT = xa.shape[0], w.shape[0], w.shape[1]
    dya = as_array(dy, dtype, "dy", (s.N, s.OUT))
    dx = np.empty((s.N, s.IN), dtype) if need_dx else None
    dw = np.empty((s.IN, s.OUT), dtype)
    db = np.empty(s.OUT, dtype)
    cdef int nt = resolve_threads(n_threads)
    if dtype == np.float32:
        backward_call[float](0, &s, nt, xa, w, dya, dx, dw, db)
    else:
        backward_call[double](0, &s, nt, xa, w, dya, dx, dw, db)
    return dx, dw, db


cdef void forward_call(floating kind, const dense_shape *s, int nt, cnp.ndarray x, cnp.ndarray w,
                       cnp.ndarray b, cnp.ndarray y):
    """dense_forward's kernel call, in the precision `kind` (a 0 of it) names."""
    cdef const floating *px = typed(x, kind), *pw = typed(w, kind), *pb = typed(b, kind)
    cdef floating *py = typed(y, kind)
    with nogil:
        run_dense_forward(s, nt, px, pw, pb, py)


cdef void backward_call(floating kind, const dense_shape *s, int nt, cnp.ndarray x,
                        cnp.ndarray w, cnp.ndarray dy, cnp.ndarray dx, cnp.ndarray dw,
                        cnp.ndarray db):
    """dense_backward's kernel call, in the precision `kind` (a 0 of it) names."""
    cdef const floating *px = typed(x, kind), *pw = typed(w, kind), *pdy = typed(dy, kind)
    cdef floating *pdx = typed(dx, kind), *pdw = typed(dw, kind), *pdb = typed(db, kind)
    with nogil:
        run_dense_backward(s, nt, px, pw, pdy, pdx, pdw, pdb)
