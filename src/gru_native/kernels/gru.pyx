"""Bindings of the GRU kernels: validate every array that crosses into C, convert it once to a
C-contiguous array of the computing dtype, then run the kernel with the GIL released."""

import numpy as np
cimport numpy as cnp
from cython cimport floating

from .arrays cimport as_array, c_array, compute_dtype, data_ptr, optional_array, typed
from .interrupt cimport gru_interrupt_watch, raise_if_interrupted, start_interruptible
from .blas cimport bind_blas
from .threads cimport resolve_threads

cnp.import_array()
bind_blas()
gru_interrupt_watch()

_INT_MAX = 2**31 - 1


cdef tuple recurrent_operands(x, kernel, int gates, str kind):
    """(dtype, x, kernel) of a recurrent layer's call, checked: x 3-D and not empty, the
    kernel (features, gates * units); both as given (converted later, to their exact shapes)."""
    dtype = compute_dtype(kernel, f"{kind} kernel")
    xa = np.asarray(x)
    if xa.ndim != 3:
        raise ValueError(f"x must be 3-D (batch, timesteps, features), got shape {xa.shape}")
    if 0 in xa.shape:
        raise ValueError(f"x must have at least one sequence, step and feature, got shape {xa.shape}")
    kernel_a = np.asarray(kernel)
    if kernel_a.ndim != 2 or kernel_a.shape[1] % gates or kernel_a.shape[1] == 0:
        raise ValueError(f"kernel must have shape (features, {gates} * units), got {kernel_a.shape}")
    if xa.shape[0] * xa.shape[1] > _INT_MAX:
        raise ValueError(f"x of shape {xa.shape} is too large for the kernels")
    return dtype, xa, kernel_a


cdef cnp.ndarray lengths_array(lengths, int B, int T):
    if lengths is None:
        return None
    a = np.asarray(lengths)
    if a.dtype.kind not in "iu":
        raise TypeError(f"lengths must be integers, got dtype {a.dtype}")
    if a.shape != (B,):
        raise ValueError(f"lengths must have shape ({B},), one per sequence, got {a.shape}")
    if B and (a.min() < 0 or a.max() > T):
        raise ValueError(f"lengths must lie in [0, {T}] (the number of steps), got "
                         f"[{a.min()}, {a.max()}]")
    return c_array(a, np.intc)


def bias_shape(units, reset_after):
    """Shape of a GRU bias: input and recurrent rows when reset_after, else one row."""
    if reset_after:
        return (2, 3 * units)
    return (3 * units,)


cdef class GRUWorkspace:
    """Scratch memory one recurrent layer (GRU or LSTM) reuses from call to call.

    With it, steady-state training allocates nothing large: it holds the work arrays of forward
    and backward and the saved activations. A training forward through a workspace invalidates
    the cache of the one before it. (Its attributes are declared in _gru.pxd, for _lstm.pyx.)
    """

    def __cinit__(self):
        self.buffers = {}
        self.generation = 0

    def __reduce__(self):  # a copy starts with empty scratch
        return (GRUWorkspace, ())


cdef cnp.ndarray scratch(GRUWorkspace ws, str name, size_t size, dtype):
    """`size` elements of scratch: fresh without a workspace, else its buffer `name`, grown
    when too small."""
    if ws is None:
        return np.empty(size, dtype)
    buf = ws.buffers.get(name)
    if buf is None or buf.dtype != dtype or buf.size < size:
        buf = np.empty(size, dtype)
        ws.buffers[name] = buf
    return buf[:size]


cdef class GRUCache:
    """What a training forward keeps for the backward of the same call."""
    cdef gru_shape shape
    cdef readonly object dtype
    cdef cnp.ndarray x, kernel, recurrent_kernel, lengths, hmask, saved
    cdef GRUWorkspace workspace
    cdef long generation


def gru_forward(x, kernel, recurrent_kernel, bias=None, h0=None, lengths=None, *,
                bint reset_after=True, bint reverse=False, bint return_sequences=True,
                bint training=False, recurrent_mask=None, GRUWorkspace workspace=None,
                n_threads=None):
    """Run a GRU layer over a batch of sequences.

    The computing dtype is the kernel's (float32 or float64); the other arrays are converted to
    it once.

    Parameters
    ----------
    x : array_like of shape (batch, timesteps, features)
        The input sequences.
    kernel : array_like of shape (features, 3 * units)
        The input weights, in Keras' layout and gate order (z, r, n).
    recurrent_kernel : array_like of shape (units, 3 * units)
        The recurrent weights, same layout.
    bias : array_like of shape (2, 3 * units) if reset_after else (3 * units,), default=None
        The biases; None for no bias.
    h0 : array_like of shape (batch, units), default=None
        The initial states; None for zeros.
    lengths : array_like of shape (batch,), default=None
        The valid steps of each sequence; None for all timesteps.
    reset_after : bool, default=True
        Keras' ``reset_after=True`` (the PyTorch/cuDNN formula) or ``False`` (Cho et al. 2014).
    reverse : bool, default=False
        Run the sequences from their last valid step to their first.
    return_sequences : bool, default=True
        Return the output of every step, not only the final states.
    training : bool, default=False
        Keep what :func:`gru_backward` needs.
    recurrent_mask : array_like of shape (batch, units), default=None
        Multiplies the state where it enters the recurrent products (recurrent dropout); None
        for none.
    workspace : GRUWorkspace, default=None
        Lends the scratch memory, to reuse it across calls.
    n_threads : int, default=None
        The threads to use at most; None: the package's setting
        (:func:`~gru_native.set_num_threads`).

    Returns
    -------
    y : ndarray of shape (batch, timesteps, units) or None
        Every step's output; None unless ``return_sequences``.
    h_last : ndarray of shape (batch, units)
        The final states.
    cache : GRUCache or None
        What :func:`gru_backward` needs; None unless ``training``.

    Raises
    ------
    ValueError
        An array of the wrong shape, or holding NaN or infinite values.
    TypeError
        An array of a dtype that does not convert.
    """
    dtype, xa, kernel_a = recurrent_operands(x, kernel, 3, "GRU")
    cdef int B = xa.shape[0], T = xa.shape[1], I = xa.shape[2], H = kernel_a.shape[1] // 3
    cdef gru_shape s
    s.T, s.B, s.F, s.H, s.reset_after, s.reverse = T, B, I, H, reset_after, reverse
    s.masked_state = recurrent_mask is not None
    xa = as_array(xa, dtype, "x", (B, T, I))
    w = as_array(kernel_a, dtype, "kernel", (I, 3 * H))
    u = as_array(recurrent_kernel, dtype, "recurrent_kernel", (H, 3 * H))
    b_shape = bias_shape(H, reset_after)
    b = np.zeros(b_shape, dtype) if bias is None else as_array(bias, dtype, "bias", b_shape)
    h0a = optional_array(h0, dtype, "h0", (B, H))
    lens = lengths_array(lengths, B, T)
    hmask = optional_array(recurrent_mask, dtype, "recurrent_mask", (B, H))

    y = np.empty((B, T, H), dtype) if return_sequences else None
    h_last = np.empty((B, H), dtype)
    saved = scratch(workspace, "saved", gru_cache_size(&s), dtype) if training else None
    work = scratch(workspace, "forward", gru_forward_work_size(&s), dtype)
    cdef int nt = resolve_threads(n_threads)
    start_interruptible()
    if dtype == np.float32:
        forward_call[float](0, &s, nt, xa, w, u, b, h0a, lens, hmask, y, h_last, saved, work)
    else:
        forward_call[double](0, &s, nt, xa, w, u, b, h0a, lens, hmask, y, h_last, saved, work)
    raise_if_interrupted()
    cdef GRUCache cache = None
    if training:
        cache = GRUCache()
        cache.shape, cache.dtype, cache.x, cache.kernel = s, dtype, xa, w
        cache.recurrent_kernel, cache.lengths, cache.hmask, cache.saved = u, lens, hmask, saved
        if workspace is not None:
            workspace.generation += 1
            cache.workspace, cache.generation = workspace, workspace.generation
    return y, h_last, cache


cdef cnp.ndarray output_array(out, dtype, str name, tuple shape):
    """A caller's array to write a result into, or a new one."""
    if out is None:
        return np.empty(shape, dtype)
    if not isinstance(out, np.ndarray) or out.shape != shape or out.dtype != dtype \
            or not out.flags.c_contiguous or not out.flags.writeable or not out.flags.aligned:
        raise ValueError(f"{name} must be a writeable C-contiguous {np.dtype(dtype)} array of "
                         f"shape {shape}, aligned")
    return out


def gru_backward(GRUCache cache not None, dy=None, dh_last=None, *, bint need_dx=True,
                 bint need_dh0=False, GRUWorkspace workspace=None, out=None, n_threads=None):
    """Backward through time of the :func:`gru_forward` call that made `cache`.

    Parameters
    ----------
    cache : GRUCache
        What the training forward kept.
    dy : array_like of shape (batch, timesteps, units), default=None
        The gradient of the loss with respect to the outputs; None for zero.
    dh_last : array_like of shape (batch, units), default=None
        The gradient with respect to the final states; None for zero.
    need_dx : bool, default=True
        Compute the gradient with respect to the inputs.
    need_dh0 : bool, default=False
        Compute the gradient with respect to the initial states.
    workspace : GRUWorkspace, default=None
        Lends the scratch memory, to reuse it across calls.
    out : tuple of 3 ndarrays or None, default=None
        ``(dkernel, drecurrent_kernel, dbias)`` arrays (any may be None) that receive the weight
        gradients in place.
    n_threads : int, default=None
        The threads to use at most; None: the package's setting.

    Returns
    -------
    dx : ndarray of shape (batch, timesteps, features) or None
        None unless ``need_dx``.
    dh0 : ndarray of shape (batch, units) or None
        None unless ``need_dh0``.
    dkernel : ndarray of shape (features, 3 * units)
    drecurrent_kernel : ndarray of shape (units, 3 * units)
    dbias : ndarray
        In the bias layout of the forward.

    Raises
    ------
    RuntimeError
        The cache was overwritten by a later training forward through the same workspace.
    """
    if cache.workspace is not None and cache.workspace.generation != cache.generation:
        raise RuntimeError("this GRU cache was overwritten by a later training forward through "
                           "the same workspace")
    cdef gru_shape s = cache.shape
    cdef int B = s.B, T = s.T, I = s.F, H = s.H
    dtype = cache.dtype
    dya = optional_array(dy, dtype, "dy", (B, T, H))
    dha = optional_array(dh_last, dtype, "dh_last", (B, H))
    dx = np.empty((B, T, I), dtype) if need_dx else None
    dh0 = np.empty((B, H), dtype) if need_dh0 else None
    out_w, out_u, out_b = (None, None, None) if out is None else out
    dw = output_array(out_w, dtype, "dkernel", (I, 3 * H))
    du = output_array(out_u, dtype, "drecurrent_kernel", (H, 3 * H))
    db = output_array(out_b, dtype, "dbias", bias_shape(H, s.reset_after))
    work = scratch(workspace, "backward", gru_backward_work_size(&s), dtype)
    cdef int nt = resolve_threads(n_threads)
    start_interruptible()
    if dtype == np.float32:
        backward_call[float](0, &s, nt, cache, dya, dha, dx, dh0, dw, du, db, work)
    else:
        backward_call[double](0, &s, nt, cache, dya, dha, dx, dh0, dw, du, db, work)
    raise_if_interrupted()
    return dx, dh0, dw, du, db


cdef void forward_call(floating kind, const gru_shape *s, int nt, cnp.ndarray x, cnp.ndarray w,
                       cnp.ndarray u, cnp.ndarray b, cnp.ndarray h0, cnp.ndarray lengths,
                       cnp.ndarray hmask, cnp.ndarray y, cnp.ndarray h_last, cnp.ndarray saved,
                       cnp.ndarray work):
    """gru_forward's kernel call, in the precision `kind` (a 0 of it) names."""
    cdef const floating *px = typed(x, kind), *pw = typed(w, kind), *pu = typed(u, kind)
    cdef const floating *pb = typed(b, kind), *ph0 = typed(h0, kind), *pm = typed(hmask, kind)
    cdef floating *py = typed(y, kind), *ph = typed(h_last, kind), *pc = typed(saved, kind)
    cdef floating *pwork = typed(work, kind)
    cdef const int *pl = <int *>data_ptr(lengths)
    with nogil:
        run_gru_forward(s, nt, px, pw, pu, pb, ph0, pl, pm, py, ph, pc, pwork)


cdef void backward_call(floating kind, const gru_shape *s, int nt, GRUCache cache,
                        cnp.ndarray dy, cnp.ndarray dh_last, cnp.ndarray dx, cnp.ndarray dh0,
                        cnp.ndarray dw, cnp.ndarray du, cnp.ndarray db, cnp.ndarray work):
    """gru_backward's kernel call, in the precision `kind` (a 0 of it) names."""
    cdef const floating *px = typed(cache.x, kind), *pw = typed(cache.kernel, kind)
    cdef const floating *pu = typed(cache.recurrent_kernel, kind)
    cdef const floating *pm = typed(cache.hmask, kind), *pc = typed(cache.saved, kind)
    cdef const floating *pdy = typed(dy, kind), *pdh = typed(dh_last, kind)
    cdef floating *pdx = typed(dx, kind), *pdh0 = typed(dh0, kind), *pdw = typed(dw, kind)
    cdef floating *pdu = typed(du, kind), *pdb = typed(db, kind), *pwork = typed(work, kind)
    cdef const int *pl = <int *>data_ptr(cache.lengths)
    with nogil:
        run_gru_backward(s, nt, px, pw, pu, pl, pm, pc, pdy, pdh, pdx, pdh0, pdw, pdu, pdb, pwork)


def fast_sigmoid_f32(x):
    """The float32 sigmoid of the gate passes, on an array (to test its error bound)."""
    a = np.ascontiguousarray(x, dtype=np.float32)
    out = np.empty_like(a)
    gru_sigmoid_f32(<float *>data_ptr(a), <float *>data_ptr(out), a.size)
    return out


def fast_tanh_f32(x):
    """The float32 tanh of the gate passes, on an array (to test its error bound)."""
    a = np.ascontiguousarray(x, dtype=np.float32)
    out = np.empty_like(a)
    gru_tanh_f32(<float *>data_ptr(a), <float *>data_ptr(out), a.size)
    return out
