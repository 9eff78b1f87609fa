"""Bindings of the dot-product attention kernels, with Keras' semantics and layout: query
(batch, Tq, D), value (batch, Tv, Dv), key (batch, Tv, D) or None (the value is the key), masks
boolean (True marks a valid step). Every argument is validated and each array converted once
to an aligned C-contiguous array of the computing dtype (the query's), then the kernel runs
with the GIL released on outputs and scratch allocated here."""

import numpy as np
cimport numpy as cnp
from cython cimport floating

from .arrays cimport as_array, compute_dtype, data_ptr, optional_array, typed
from .blas cimport bind_blas
from .threads cimport resolve_threads

cnp.import_array()
bind_blas()

_INT_MAX = 2**31 - 1


cdef tuple _operands(attention_shape *s, query, value, key):
    """(dtype, query, value, key) checked and converted, and `s` filled in (no causal); key is
    the value's array itself when None."""
    dtype = compute_dtype(query, "query")
    q, va = np.asarray(query), np.asarray(value)
    if q.ndim != 3 or 0 in q.shape[1:]:
        raise ValueError(f"query must have shape (batch, Tq, D), Tq and D >= 1, got {q.shape}")
    if va.ndim != 3 or va.shape[0] != q.shape[0] or 0 in va.shape[1:]:
        raise ValueError(f"value must have shape (batch, Tv, Dv) with the query's batch "
                         f"({q.shape[0]}), Tv and Dv >= 1, got {va.shape}")
    N, Tq, D = q.shape
    Tv, Dv = va.shape[1], va.shape[2]
    if max(N, Tq, D, Tv, Dv) > _INT_MAX:
        raise ValueError(f"query of shape {q.shape} and value of shape {va.shape} are too large "
                         f"for the kernels")
    if key is None and Dv != D:
        raise ValueError(f"value (also the key: no key given) must have the query's {D} "
                         f"features, got shape {va.shape}")
    s.N, s.Tq, s.Tv, s.D, s.Dv, s.causal = N, Tq, Tv, D, Dv, 0
    q = as_array(q, dtype, "query", q.shape)
    va = as_array(va, dtype, "value", va.shape)
    ka = va if key is None else as_array(key, dtype, "key", (N, Tv, D))
    return dtype, q, va, ka


cdef double _scale(scale) except? -1:
    """The scores' factor: 1 for None, else a real number (a 0-d array too)."""
    if scale is None:
        return 1.0
    a = np.asarray(scale)
    if a.shape != () or a.dtype.kind not in "biuf" or a.dtype == np.bool_:
        raise ValueError(f"scale must be a real number or None, got {scale!r}")
    return float(a)


cdef cnp.ndarray _mask(mask, str name, tuple shape):
    """A boolean mask as the kernels read it (one byte per step), or None."""
    return optional_array(mask, np.bool_, name, shape)


def attention_forward(query, value, key=None, *, scale=None, value_mask=None, query_mask=None,
                      bint causal=False, dropout_mask=None, n_threads=None):
    """Keras' dot-product Attention: scores = scale * query key^T (scale None: 1), less 1e9
    where value_mask (batch, Tv) is False or, with causal, beyond the query's step; weights =
    their softmax over the value steps; out = (weights * dropout_mask) value, zero where
    query_mask (batch, Tq) is False. dropout_mask (batch, Tq, Tv), None for none, holds the
    dropout's zeros and 1 / (1 - rate). Returns (out, weights, scores) in the query's dtype
    (float32 or float64): out (batch, Tq, Dv), weights (batch, Tq, Tv) for attention_backward,
    scores the weights times dropout_mask (the weights themselves without it), what Keras
    returns with return_attention_scores. `n_threads`: the threads to use at most (None: the
    package's setting)."""
    cdef attention_shape s
    dtype, q, va, ka = _operands(&s, query, value, key)
    s.causal = causal
    cdef double c = _scale(scale)
    vm = _mask(value_mask, "value_mask", (s.N, s.Tv))
    qm = _mask(query_mask, "query_mask", (s.N, s.Tq))
    drop = optional_array(dropout_mask, dtype, "dropout_mask", (s.N, s.Tq, s.Tv))
    cdef int nt = resolve_threads(n_threads)
    out = np.empty((s.N, s.Tq, s.Dv), dtype)
    weights = np.empty((s.N, s.Tq, s.Tv), dtype)
    used = None if drop is None else np.empty((s.N, s.Tq, s.Tv), dtype)
    if dtype == np.float32:
        forward_call[float](0, &s, nt, q, ka, va, c, vm, qm, drop, weights, used, out)
    else:
        forward_call[double](0, &s, nt, q, ka, va, c, vm, qm, drop, weights, used, out)
    return out, weights, weights if used is None else used


def attention_backward(query, value, key, weights, d_out, d_scores=None, *, scale=None,
                       query_mask=None, dropout_mask=None, bint need_dscale=False,
                       n_threads=None):
    """Gradients of attention_forward for the same query, value, key, scale, query_mask and
    dropout_mask, given its weights and d_out (batch, Tq, Dv) = dL/dout and d_scores (batch,
    Tq, Tv) = dL/dscores, either None for zero. Returns (dquery, dvalue, dkey, dscale): dkey
    None when key is None (its gradient is then summed into dvalue), dscale (dL/dscale, a
    scalar of the dtype) None unless need_dscale. The value mask and causal are in the weights.
    For a given n_threads the results repeat bit for bit."""
    cdef attention_shape s
    dtype, q, va, ka = _operands(&s, query, value, key)
    cdef double c = _scale(scale)
    qm = _mask(query_mask, "query_mask", (s.N, s.Tq))
    drop = optional_array(dropout_mask, dtype, "dropout_mask", (s.N, s.Tq, s.Tv))
    w = as_array(weights, dtype, "weights", (s.N, s.Tq, s.Tv))
    dy = optional_array(d_out, dtype, "d_out", (s.N, s.Tq, s.Dv))
    dw = optional_array(d_scores, dtype, "d_scores", (s.N, s.Tq, s.Tv))
    cdef int nt = resolve_threads(n_threads)
    dq = np.empty(q.shape, dtype)
    dv = np.empty(va.shape, dtype)
    dk = dv if key is None else np.empty(ka.shape, dtype)
    dscale = np.zeros((), dtype) if need_dscale else None
    work = np.empty(attention_backward_work_size(&s, nt), dtype)
    if dtype == np.float32:
        backward_call[float](0, &s, nt, q, ka, va, c, qm, drop, w, dy, dw, dq, dk, dv, dscale,
                             work)
    else:
        backward_call[double](0, &s, nt, q, ka, va, c, qm, drop, w, dy, dw, dq, dk, dv, dscale,
                              work)
    return dq, dv, None if key is None else dk, None if dscale is None else dscale[()]


cdef void forward_call(floating kind, const attention_shape *s, int nt, cnp.ndarray q,
                       cnp.ndarray k, cnp.ndarray v, double scale, cnp.ndarray value_mask,
                       cnp.ndarray query_mask, cnp.ndarray drop, cnp.ndarray weights,
                       cnp.ndarray used, cnp.ndarray out):
    """attention_forward's kernel call, in the precision `kind` (a 0 of it) names."""
    cdef const floating *pq = typed(q, kind), *pk = typed(k, kind), *pv = typed(v, kind)
    cdef const floating *pdrop = typed(drop, kind)
    cdef const unsigned char *pvm = <const unsigned char *>data_ptr(value_mask)
    cdef const unsigned char *pqm = <const unsigned char *>data_ptr(query_mask)
    cdef floating *pw = typed(weights, kind), *pused = typed(used, kind), *pout = typed(out, kind)
    with nogil:
        run_attention_forward(s, nt, pq, pk, pv, <floating>scale, pvm, pqm, pdrop, pw, pused,
                              pout)


cdef void backward_call(floating kind, const attention_shape *s, int nt, cnp.ndarray q,
                        cnp.ndarray k, cnp.ndarray v, double scale, cnp.ndarray query_mask,
                        cnp.ndarray drop, cnp.ndarray weights, cnp.ndarray dout,
                        cnp.ndarray dused, cnp.ndarray dq, cnp.ndarray dk, cnp.ndarray dv,
                        cnp.ndarray dscale, cnp.ndarray work):
    """attention_backward's kernel call, in the precision `kind` (a 0 of it) names."""
    cdef const floating *pq = typed(q, kind), *pk = typed(k, kind), *pv = typed(v, kind)
    cdef const floating *pdrop = typed(drop, kind), *pw = typed(weights, kind)
    cdef const floating *pdout = typed(dout, kind), *pdused = typed(dused, kind)
    cdef const unsigned char *pqm = <const unsigned char *>data_ptr(query_mask)
    cdef floating *pdq = typed(dq, kind), *pdk = typed(dk, kind), *pdv = typed(dv, kind)
    cdef floating *pdscale = typed(dscale, kind), *pwork = typed(work, kind)
    with nogil:
        run_attention_backward(s, nt, pq, pk, pv, <floating>scale, pqm, pdrop, pw, pdout, pdused,
                               pdq, pdk, pdv, pdscale, pwork)
