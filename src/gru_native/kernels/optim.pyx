"""Bindings of the optimizer kernels: check every buffer that crosses into C (1-D, C-contiguous,
float32 or float64, all of one dtype and size, written ones writable and not aliased), then run the
kernel with the GIL released. Nothing is converted: the kernels update these very arrays in place."""

import numpy as np
cimport numpy as cnp
from cython cimport floating

from .arrays cimport data_ptr, typed
from .blas cimport bind_blas
from .threads cimport resolve_threads

cnp.import_array()
bind_blas()


cdef cnp.ndarray _buffer(a, str name, dtype=None, Py_ssize_t size=-1, bint write=False):
    """`a` itself, once it is a 1-D C-contiguous float array (of `dtype` and `size` if given)."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a NumPy array, got {type(a).__name__}")
    if not a.dtype.isnative and a.dtype.kind == "f":
        raise TypeError(f"{name} has the non-native byte order of dtype {a.dtype.str}: it is "
                        f"updated in place, never copied, so convert it first with "
                        f"{name}.astype({a.dtype.name!r})")
    if a.dtype != np.float32 and a.dtype != np.float64:
        raise TypeError(f"{name} must be float32 or float64, got dtype {a.dtype}")
    if dtype is not None and a.dtype != dtype:
        raise TypeError(f"{name} has dtype {a.dtype}, but params has {np.dtype(dtype)}")
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one flat buffer), got shape {a.shape}")
    if size >= 0 and a.shape[0] != size:
        raise ValueError(f"{name} has {a.shape[0]} elements, but params has {size}")
    if not a.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous (updated in place, never copied)")
    if not a.flags.aligned:
        raise ValueError(f"{name} must be aligned for {a.dtype} (updated in place, never copied)")
    if write and not a.flags.writeable:
        raise ValueError(f"{name} is read-only, but the step updates it in place")
    return a


cdef list _state(params, grads, dict slots):
    """Check params, grads and the optimizer's slots (None: not used) against each other."""
    p = _buffer(params, "params", None, -1, True)
    dtype, n = p.dtype, p.shape[0]
    g = _buffer(grads, "grads", dtype, n)
    checked = [("params", p)]
    for name, s in slots.items():
        if s is not None:
            checked.append((name, _buffer(s, name, dtype, n, True)))
    # What the step writes must not overlap anything else it reads or writes.
    for i, (name, a) in enumerate(checked):
        for other, b in checked[i + 1:] + [("grads", g)]:
            if np.may_share_memory(a, b):
                raise ValueError(f"{name} and {other} share memory; each must be its own buffer")
    return [p, g] + [slots[k] for k in slots]


cdef tuple _segments(segments, Py_ssize_t n):
    """(offsets, sizes) as size_t arrays, checked inside [0, n) and not overlapping."""
    if segments is None:
        return np.zeros(1, np.uintp), np.full(1, n, np.uintp)
    a = np.asarray(segments)
    if a.size == 0:
        a = a.reshape(0, 2).astype(np.int64)
    if a.dtype.kind not in "iu":
        raise TypeError(f"segments must be integer (offset, size) pairs, got dtype {a.dtype}")
    if a.ndim != 2 or a.shape[1] != 2:
        raise ValueError(f"segments must be a list of (offset, size) pairs, got shape {a.shape}")
    a = a.astype(np.int64)  # a uint64 too large for int64 turns negative and fails below
    off, size = a[:, 0], a[:, 1]
    bad = np.flatnonzero((off < 0) | (size < 0) | (off > n) | (size > n - off))
    if bad.size:
        i = bad[0]
        raise ValueError(f"segment {i} (offset {off[i]}, size {size[i]}) is not inside the "
                         f"buffer of {n} elements")
    order = np.argsort(off, kind="stable")
    so, ss, last = off[order], size[order], len(order) - 1
    clash = np.flatnonzero(so[:last] + ss[:last] > so[1:])
    if clash.size:
        i, j = order[clash[0]], order[clash[0] + 1]
        raise ValueError(f"segments {i} and {j} overlap")
    return np.ascontiguousarray(off, np.uintp), np.ascontiguousarray(size, np.uintp)


def check_segments(segments, Py_ssize_t n):
    """segments (list of (offset, size) pairs) as an (nseg, 2) int64 array, checked against a
    buffer of n elements: inside it, not overlapping."""
    off, size = _segments(segments, n)
    return np.stack([off, size], axis=1).astype(np.int64).reshape(-1, 2)


def sum_squares(g, segments=None, *, n_threads=None):
    """Sum of squares of each segment of the 1-D buffer g, as float64 (nseg,); segments is a list
    of (offset, size) pairs, None for the whole buffer. The same for any number of threads."""
    ga = _buffer(g, "g")
    off, size = _segments(segments, ga.shape[0])
    cdef size_t nseg = off.shape[0]
    out = np.zeros(nseg, np.float64)
    work = np.empty(optim_norm_work_size(nseg, <size_t *>data_ptr(size)), np.float64)
    cdef int nt = resolve_threads(n_threads)
    if ga.dtype == np.float32:
        sum_squares_call[float](0, nt, ga, off, size, out, work)
    else:
        sum_squares_call[double](0, nt, ga, off, size, out, work)
    return out


def clip_by_norm(g, segments, double clipnorm, *, n_threads=None):
    """Keras' clipnorm in place: each segment of g (list of (offset, size); None: the whole
    buffer) becomes g * clipnorm / max(||g||, clipnorm)."""
    if not clipnorm > 0:
        raise ValueError(f"clipnorm must be > 0, got {clipnorm}")
    ga = _buffer(g, "grads", None, -1, True)
    off, size = _segments(segments, ga.shape[0])
    cdef size_t nseg = off.shape[0]
    work = np.empty(optim_norm_work_size(nseg, <size_t *>data_ptr(size)), np.float64)
    cdef int nt = resolve_threads(n_threads)
    if ga.dtype == np.float32:
        clip_by_norm_call[float](0, nt, ga, off, size, clipnorm, work)
    else:
        clip_by_norm_call[double](0, nt, ga, off, size, clipnorm, work)


def sgd_update(params, grads, momentum_slot=None, *, double learning_rate,
               double momentum=0.0, bint nesterov=False, double weight_decay=0.0,
               double grad_scale=1.0, double clipvalue=0.0, n_threads=None):
    """One SGD step (Keras' formula) over the whole buffer, in place. momentum_slot is required
    when momentum != 0 and ignored (may be None) otherwise."""
    if momentum != 0 and momentum_slot is None:
        raise ValueError(f"momentum={momentum} needs a momentum slot, got None")
    p, g, m = _state(params, grads, {"momentum": momentum_slot if momentum != 0 else None})
    cdef int nt = resolve_threads(n_threads)
    if p.dtype == np.float32:
        sgd_call[float](0, nt, p, g, m, learning_rate, momentum, nesterov, weight_decay,
                        grad_scale, clipvalue)
    else:
        sgd_call[double](0, nt, p, g, m, learning_rate, momentum, nesterov, weight_decay,
                         grad_scale, clipvalue)


def adam_update(params, grads, m, v, vhat=None, *, double learning_rate, double beta_1,
                double beta_2, double epsilon, long long step, double weight_decay=0.0,
                double grad_scale=1.0, double clipvalue=0.0, n_threads=None):
    """One Adam step (Keras' formula; AdamW when weight_decay > 0, AMSGrad when vhat is given)
    over the whole buffer, in place. step counts from 1."""
    if step < 1:
        raise ValueError(f"step must be >= 1 (Adam's bias correction divides by 1 - beta_1^step), "
                         f"got {step}")
    if m is None or v is None:
        raise TypeError("Adam needs its momentum (m) and velocity (v) slots, got None")
    p, g, ma, va, vh = _state(params, grads, {"m": m, "v": v, "vhat": vhat})
    cdef int nt = resolve_threads(n_threads)
    if p.dtype == np.float32:
        adam_call[float](0, nt, p, g, ma, va, vh, learning_rate, beta_1, beta_2, epsilon, step,
                         weight_decay, grad_scale, clipvalue)
    else:
        adam_call[double](0, nt, p, g, ma, va, vh, learning_rate, beta_1, beta_2, epsilon, step,
                          weight_decay, grad_scale, clipvalue)


def rmsprop_update(params, grads, velocity, momentum_slot=None, average_gradient=None, *,
                   double learning_rate, double rho, double momentum=0.0, double epsilon,
                   double weight_decay=0.0, double grad_scale=1.0, double clipvalue=0.0,
                   n_threads=None):
    """One RMSprop step (Keras' formula) over the whole buffer, in place. momentum_slot is
    required when momentum > 0; average_gradient given means centered."""
    if velocity is None:
        raise TypeError("RMSprop needs its velocity slot, got None")
    if momentum > 0 and momentum_slot is None:
        raise ValueError(f"momentum={momentum} needs a momentum slot, got None")
    p, g, va, mo, av = _state(params, grads, {
        "velocity": velocity, "momentum": momentum_slot if momentum > 0 else None,
        "average_gradient": average_gradient})
    cdef int nt = resolve_threads(n_threads)
    if p.dtype == np.float32:
        rmsprop_call[float](0, nt, p, g, va, mo, av, learning_rate, rho, momentum, epsilon,
                            weight_decay, grad_scale, clipvalue)
    else:
        rmsprop_call[double](0, nt, p, g, va, mo, av, learning_rate, rho, momentum, epsilon,
                             weight_decay, grad_scale, clipvalue)


# The kernel calls, each in the precision `kind` (a 0 of it) names.

cdef void sum_squares_call(floating kind, int nt, cnp.ndarray g, cnp.ndarray off, cnp.ndarray size,
                           cnp.ndarray out, cnp.ndarray work):
    cdef const floating *pg = typed(g, kind)
    cdef size_t nseg = off.shape[0]
    cdef const size_t *po = <size_t *>data_ptr(off), *ps = <size_t *>data_ptr(size)
    cdef double *pout = <double *>data_ptr(out), *pw = <double *>data_ptr(work)
    with nogil:
        run_sum_squares(nt, pg, nseg, po, ps, pout, pw)


cdef void clip_by_norm_call(floating kind, int nt, cnp.ndarray g, cnp.ndarray off,
                            cnp.ndarray size, double clipnorm, cnp.ndarray work):
    cdef floating *pg = typed(g, kind)
    cdef size_t nseg = off.shape[0]
    cdef const size_t *po = <size_t *>data_ptr(off), *ps = <size_t *>data_ptr(size)
    cdef double *pw = <double *>data_ptr(work)
    with nogil:
        run_clip_by_norm(nt, pg, nseg, po, ps, clipnorm, pw)


cdef void sgd_call(floating kind, int nt, cnp.ndarray p, cnp.ndarray g, cnp.ndarray m, double lr,
                   double momentum, bint nesterov, double weight_decay, double grad_scale,
                   double clipvalue):
    cdef size_t n = p.shape[0]
    cdef floating *pp = typed(p, kind), *pm = typed(m, kind)
    cdef const floating *pg = typed(g, kind)
    with nogil:
        run_sgd(nt, n, pp, pg, pm, lr, momentum, nesterov, weight_decay, grad_scale, clipvalue)


cdef void adam_call(floating kind, int nt, cnp.ndarray p, cnp.ndarray g, cnp.ndarray m,
                    cnp.ndarray v, cnp.ndarray vhat, double lr, double beta_1, double beta_2,
                    double epsilon, long long step, double weight_decay, double grad_scale,
                    double clipvalue):
    cdef size_t n = p.shape[0]
    cdef floating *pp = typed(p, kind), *pm = typed(m, kind), *pv = typed(v, kind)
    cdef floating *pvh = typed(vhat, kind)
    cdef const floating *pg = typed(g, kind)
    with nogil:
        run_adam(nt, n, pp, pg, pm, pv, pvh, lr, beta_1, beta_2, epsilon, step, weight_decay,
                 grad_scale, clipvalue)


cdef void rmsprop_call(floating kind, int nt, cnp.ndarray p, cnp.ndarray g, cnp.ndarray v,
                       cnp.ndarray mom, cnp.ndarray avg, double lr, double rho, double momentum,
                       double epsilon, double weight_decay, double grad_scale, double clipvalue):
    cdef size_t n = p.shape[0]
    cdef floating *pp = typed(p, kind), *pv = typed(v, kind), *pmo = typed(mom, kind)
    cdef floating *pav = typed(avg, kind)
    cdef const floating *pg = typed(g, kind)
    with nogil:
        run_rmsprop(nt, n, pp, pg, pv, pmo, pav, lr, rho, momentum, epsilon, weight_decay,
                    grad_scale, clipvalue)
