"""Bindings of the LSTM kernels, as those of the GRU (_gru.pyx): validate every array that
crosses into C, convert it once to a C-contiguous array of the computing dtype, then run the
kernel with the GIL released. Scratch memory comes from the same workspaces as the GRU's."""

import numpy as np
cimport numpy as cnp
from cython cimport floating

from .arrays cimport as_array, data_ptr, optional_array, typed
from .blas cimport bind_blas
from .gru cimport GRUWorkspace, lengths_array, output_array, recurrent_operands, scratch
from .interrupt cimport gru_interrupt_watch, raise_if_interrupted, start_interruptible
from .threads cimport resolve_threads

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
                 recurrent_mask=None, GRUWorkspace workspace=None, n_threads=None):
    """Run an LSTM layer over a batch of sequences.

    x (B, T, I); kernel (I, 4H) and recurrent_kernel (H, 4H) in Keras layout (gates i, f, c,
    o); bias (4H,) or None for no bias; h0, c0 (B, H) or None for zeros; lengths (B,) valid
    steps per sequence, or None for all T; recurrent_mask (B, H) multiplies the state where it
    enters the recurrent product (recurrent dropout), or None. The computing dtype is the
    kernel's (float32 or float64); `n_threads` the threads to use at most (None: the package's
    setting). Returns (y, h_last, c_last, cache): y (B, T, H) (None unless return_sequences),
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
    cdef int nt = resolve_threads(n_threads)
    start_interruptible()
    if dtype == np.float32:
        forward_call[float](0, &s, nt, xa, w, u, b, h0a, c0a, lens, hmask, y, h_last, c_last,
                            saved, work)
    else:
        forward_call[double](0, &s, nt, xa, w, u, b, h0a, c0a, lens, hmask, y, h_last, c_last,
                             saved, work)
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
                  bint need_dx=True, bint need_dh0=False, GRUWorkspace workspace=None, out=None,
                  n_threads=None):
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
    cdef int nt = resolve_threads(n_threads)
    start_interruptible()
    if dtype == np.float32:
        backward_call[float](0, &s, nt, cache, dya, dha, dca, dx, dh0, dc0, dw, du, db, work)
    else:
        backward_call[double](0, &s, nt, cache, dya, dha, dca, dx, dh0, dc0, dw, du, db, work)
    raise_if_interrupted()
    return dx, dh0, dc0, dw, du, db


cdef void forward_call(floating kind, const lstm_shape *s, int nt, cnp.ndarray x, cnp.ndarray w,
                       cnp.ndarray u, cnp.ndarray b, cnp.ndarray h0, cnp.ndarray c0,
                       cnp.ndarray lengths, cnp.ndarray hmask, cnp.ndarray y, cnp.ndarray h_last,
                       cnp.ndarray c_last, cnp.ndarray saved, cnp.ndarray work):
    """lstm_forward's kernel call, in the precision `kind` (a 0 of it) names."""
    cdef const floating *px = typed(x, kind), *pw = typed(w, kind), *pu = typed(u, kind)
    cdef const floating *pb = typed(b, kind), *ph0 = typed(h0, kind), *pc0 = typed(c0, kind)
    cdef const floating *pm = typed(hmask, kind)
    cdef floating *py = typed(y, kind), *ph = typed(h_last, kind), *pcl = typed(c_last, kind)
    cdef floating *pc = typed(saved, kind), *pwork = typed(work, kind)
    cdef const int *pl = <int *>data_ptr(lengths)
    with nogil:
        run_lstm_forward(s, nt, px, pw, pu, pb, ph0, pc0, pl, pm, py, ph, pcl, pc, pwork)


cdef void backward_call(floating kind, const lstm_shape *s, int nt, LSTMCache cache,
                        cnp.ndarray dy, cnp.ndarray dh_last, cnp.ndarray dc_last, cnp.ndarray dx,
                        cnp.ndarray dh0, cnp.ndarray dc0, cnp.ndarray dw, cnp.ndarray du,
                        cnp.ndarray db, cnp.ndarray work):
    """lstm_backward's kernel call, in the precision `kind` (a 0 of it) names."""
    cdef const floating *px = typed(cache.x, kind), *pw = typed(cache.kernel, kind)
    cdef const floating *pu = typed(cache.recurrent_kernel, kind)
    cdef const floating *pm = typed(cache.hmask, kind), *pc = typed(cache.saved, kind)
    cdef const floating *pdy = typed(dy, kind), *pdh = typed(dh_last, kind)
    cdef const floating *pdc = typed(dc_last, kind)
    cdef floating *pdx = typed(dx, kind), *pdh0 = typed(dh0, kind), *pdc0 = typed(dc0, kind)
    cdef floating *pdw = typed(dw, kind), *pdu = typed(du, kind), *pdb = typed(db, kind)
    cdef floating *pwork = typed(work, kind)
    cdef const int *pl = <int *>data_ptr(cache.lengths)
    with nogil:
        run_lstm_backward(s, nt, px, pw, pu, pl, pm, pc, pdy, pdh, pdc, pdx, pdh0, pdc0, pdw, pdu,
                          pdb, pwork)
