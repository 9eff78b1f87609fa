"""Bindings of the LSTM kernels, as those of the GRU (_gru.pyx): validate every array that
crosses into C, convert it once to a C-contiguous array of the computing dtype, then run the
kernel with the GIL released. Scratch memory comes from the same workspaces as the GRU's."""

import numpy as np
cimport numpy as cnp

from .arrays cimport as_array, data_ptr, optional_array
from .blas cimport bind_blas
from .gru cimport GRUWorkspace, lengths_array, output_array, recurrent_operands, scratch
from .interrupt cimport gru_interrupt_clear, gru_interrupt_watch, raise_if_interrupted
from .threads cimport gru_get_num_threads

cnp.import_array()
bind_blas()
gru_interrupt_watch()

LSTMWorkspace = GRUWorkspace  # one kind of scratch memory for every recurrent layer


cdef class LSTMCache:
    """What a training forward keeps for the backward of the same call."""
    cdef lstm_shape shape
    cdef readonly object dtype
    cdef cnp.ndarray x, kernel, recurrent_kernel, lengths, hmask, saved
    cdef GRUWorkspace workspace
    cdef long generation


def lstm_forward(x, kernel, recurrent_kernel, bias=None, h0=None, c0=None, lengths=None, *,
                 bint reverse=False, bint return_sequences=True, bint training=False,
                 recurrent_mask=None, GRUWorkspace workspace=None):
    """Run an LSTM layer over a batch of sequences.

    x (B, T, I); kernel (I, 4H) and recurrent_kernel (H, 4H) in Keras layout (gates i, f, c,
    o); bias (4H,) or None for no bias; h0, c0 (B, H) or None for zeros; lengths (B,) valid
    steps per sequence, or None for all T; recurrent_mask (B, H) multiplies the state where it
    enters the recurrent product (recurrent dropout), or None. The computing dtype is the
    kernel's (float32 or float64). Returns (y, h_last, c_last, cache): y (B, T, H) (None unless return_sequences),
    the final states (B, H) each, and what lstm_backward needs (None unless training).
    """
    dtype, xa, kernel_a = recurrent_operands(x, kernel, 4, "LSTM")
    cdef int B = xa.shape[0], T = xa.shape[1], I = xa.shape[2], H = kernel_a.shape[1] // 4
    cdef lstm_shape s
    s.T, s.B, s.F, s.H, s.reverse = T, B, I, H, reverse
    s.masked_state = recurrent_mask is not None
    xa = as_array(xa, dtype, "x", (B, T, I))
    w = as_array(kernel_a, dtype, "kernel", (I, 4 * H))
    u = as_array(recurrent_kernel, dtype, "recurrent_kernel", (H, 4 * H))
    b = np.zeros(4 * H, dtype) if bias is None else as_array(bias, dtype, "bias", (4 * H,))
    h0a = optional_array(h0, dtype, "h0", (B, H))
    c0a = optional_array(c0, dtype, "c0", (B, H))
    lens = lengths_array(lengths, B, T)
    hmask = optional_array(recurrent_mask, dtype, "recurrent_mask", (B, H))

    y = np.empty((B, T, H), dtype) if return_sequences else None
    h_last, c_last = np.empty((B, H), dtype), np.empty((B, H), dtype)
    saved = scratch(workspace, "saved", lstm_cache_size(&s), dtype) if training else None
    work = scratch(workspace, "forward", lstm_forward_work_size(&s), dtype)
    cdef int nt = gru_get_num_threads()
    cdef void *px = data_ptr(xa)
    cdef void *pw = data_ptr(w)
    cdef void *pu = data_ptr(u)
    cdef void *pb = data_ptr(b)
    cdef void *ph0 = data_ptr(h0a)
    cdef void *pc0 = data_ptr(c0a)
    cdef void *py = data_ptr(y)
    cdef void *ph = data_ptr(h_last)
    cdef void *pcl = data_ptr(c_last)
    cdef void *pc = data_ptr(saved)
    cdef void *pwork = data_ptr(work)
    cdef int *pl = <int *>data_ptr(lens)
    cdef void *pm = data_ptr(hmask)
    gru_interrupt_clear()
    if dtype == np.float32:
        with nogil:
            lstm_forward_f32(&s, nt, <float *>px, <float *>pw, <float *>pu, <float *>pb,
                             <float *>ph0, <float *>pc0, pl, <float *>pm, <float *>py,
                             <float *>ph, <float *>pcl, <float *>pc, <float *>pwork)
    else:
        with nogil:
            lstm_forward_f64(&s, nt, <double *>px, <double *>pw, <double *>pu, <double *>pb,
                             <double *>ph0, <double *>pc0, pl, <double *>pm, <double *>py,
                             <double *>ph, <double *>pcl, <double *>pc, <double *>pwork)
    raise_if_interrupted()
    cdef LSTMCache cache = None
    if training:
        cache = LSTMCache()
        cache.shape, cache.dtype, cache.x, cache.kernel = s, dtype, xa, w
        cache.recurrent_kernel, cache.lengths, cache.hmask, cache.saved = u, lens, hmask, saved
        if workspace is not None:
            workspace.generation += 1
            cache.workspace, cache.generation = workspace, workspace.generation
    return y, h_last, c_last, cache


def lstm_backward(LSTMCache cache not None, dy=None, dh_last=None, dc_last=None, *,
                  bint need_dx=True, bint need_dh0=False, GRUWorkspace workspace=None, out=None):
    """Backward through time of the lstm_forward call that made `cache`.

    dy (B, T, H) gradient w.r.t. y, dh_last and dc_last (B, H) w.r.t. the final states; any may
    be None (zero). Returns (dx, dh0, dc0, dkernel, drecurrent_kernel, dbias); dx unless
    need_dx and dh0, dc0 unless need_dh0 are None. `out`, a tuple (dkernel, drecurrent_kernel,
    dbias) of arrays (any may be None), receives the weight gradients in place.
    """
    if cache.workspace is not None and cache.workspace.generation != cache.generation:
        raise RuntimeError("this LSTM cache was overwritten by a later training forward through "
                           "the same workspace")
    cdef lstm_shape s = cache.shape
    cdef int B = s.B, T = s.T, I = s.F, H = s.H
    dtype = cache.dtype
    dya = optional_array(dy, dtype, "dy", (B, T, H))
    dha = optional_array(dh_last, dtype, "dh_last", (B, H))
    dca = optional_array(dc_last, dtype, "dc_last", (B, H))
    dx = np.empty((B, T, I), dtype) if need_dx else None
    dh0 = np.empty((B, H), dtype) if need_dh0 else None
    dc0 = np.empty((B, H), dtype) if need_dh0 else None
    out_w, out_u, out_b = (None, None, None) if out is None else out
    dw = output_array(out_w, dtype, "dkernel", (I, 4 * H))
    du = output_array(out_u, dtype, "drecurrent_kernel", (H, 4 * H))
    db = output_array(out_b, dtype, "dbias", (4 * H,))
    work = scratch(workspace, "backward", lstm_backward_work_size(&s), dtype)
    cdef int nt = gru_get_num_threads()
    cdef void *px = data_ptr(cache.x)
    cdef void *pw = data_ptr(cache.kernel)
    cdef void *pu = data_ptr(cache.recurrent_kernel)
    cdef void *pc = data_ptr(cache.saved)
    cdef void *pdy = data_ptr(dya)
    cdef void *pdh = data_ptr(dha)
    cdef void *pdc = data_ptr(dca)
    cdef void *pdx = data_ptr(dx)
    cdef void *pdh0 = data_ptr(dh0)
    cdef void *pdc0 = data_ptr(dc0)
    cdef void *pdw = data_ptr(dw)
    cdef void *pdu = data_ptr(du)
    cdef void *pdb = data_ptr(db)
    cdef void *pwork = data_ptr(work)
    cdef int *pl = <int *>data_ptr(cache.lengths)
    cdef void *pm = data_ptr(cache.hmask)
    gru_interrupt_clear()
    if dtype == np.float32:
        with nogil:
            lstm_backward_f32(&s, nt, <float *>px, <float *>pw, <float *>pu, pl, <float *>pm,
                              <float *>pc,
                              <float *>pdy, <float *>pdh, <float *>pdc, <float *>pdx,
                              <float *>pdh0, <float *>pdc0, <float *>pdw, <float *>pdu,
                              <float *>pdb, <float *>pwork)
    else:
        with nogil:
            lstm_backward_f64(&s, nt, <double *>px, <double *>pw, <double *>pu, pl,
                              <double *>pm, <double *>pc, <double *>pdy, <double *>pdh, <double *>pdc,
                              <double *>pdx, <double *>pdh0, <double *>pdc0, <double *>pdw,
                              <double *>pdu, <double *>pdb, <double *>pwork)
    raise_if_interrupted()
    return dx, dh0, dc0, dw, du, db
