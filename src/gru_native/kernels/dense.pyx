"""Bindings of the dense kernels: validate every array that crosses into C, convert it once to a
C-contiguous array of the computing dtype, then run the kernel with the GIL released."""

import numpy as np
cimport numpy as cnp

from .arrays cimport as_array, compute_dtype, data_ptr
from .blas cimport bind_blas
from .threads cimport gru_get_num_threads

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


def dense_forward(x, kernel, bias=None):
    """y = x @ kernel + bias: x (N, in), kernel (in, out), bias (out,) or None for no bias.
    The computing dtype is the kernel's (float32 or float64); returns y (N, out)."""
    dtype, xa, w = _operands(x, kernel)
    cdef dense_shape s
    s.N, s.IN, s.OUT = xa.shape[0], w.shape[0], w.shape[1]
    b = None if bias is None else as_array(bias, dtype, "bias", (s.OUT,))
    y = np.empty((s.N, s.OUT), dtype)
    cdef int nt = gru_get_num_threads()
    cdef void *px = data_ptr(xa)
    cdef void *pw = data_ptr(w)
    cdef void *pb = data_ptr(b)
    cdef void *py = data_ptr(y)
    if dtype == np.float32:
        with nogil:
            dense_forward_f32(&s, nt, <float *>px, <float *>pw, <float *>pb, <float *>py)
    else:
        with nogil:
            dense_forward_f64(&s, nt, <double *>px, <double *>pw, <double *>pb, <double *>py)
    return y


def dense_backward(x, kernel, dy, bint need_dx=True):
    """Gradients of y = x @ kernel + bias given dy (N, out) = dL/dy: returns (dx, dkernel, dbias)
    with dx = dy @ kernel^T (None unless need_dx), dkernel = x^T dy, dbias = dy summed over rows."""
    dtype, xa, w = _operands(x, kernel)
    cdef dense_shape s
    s.N, s.IN, s.OUT = xa.shape[0], w.shape[0], w.shape[1]
    dya = as_array(dy, dtype, "dy", (s.N, s.OUT))
    dx = np.empty((s.N, s.IN), dtype) if need_dx else None
    dw = np.empty((s.IN, s.OUT), dtype)
    db = np.empty(s.OUT, dtype)
    cdef int nt = gru_get_num_threads()
    cdef void *px = data_ptr(xa)
    cdef void *pw = data_ptr(w)
    cdef void *pdy = data_ptr(dya)
    cdef void *pdx = data_ptr(dx)
    cdef void *pdw = data_ptr(dw)
    cdef void *pdb = data_ptr(db)
    if dtype == np.float32:
        with nogil:
            dense_backward_f32(&s, nt, <float *>px, <float *>pw, <float *>pdy, <float *>pdx,
                               <float *>pdw, <float *>pdb)
    else:
        with nogil:
            dense_backward_f64(&s, nt, <double *>px, <double *>pw, <double *>pdy, <double *>pdx,
                               <double *>pdw, <double *>pdb)
    return dx, dw, db
