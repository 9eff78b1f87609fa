"""Bindings of the Conv1D kernels, with Keras' semantics and layout: x (batch, steps,
in_channels), kernel (kernel_size, in_channels // groups, filters), y (batch, out_steps,
filters). Every argument is validated, the padding resolved into the zeros before the first
step and the output length, each array converted once to a C-contiguous array of the computing
dtype (the kernel's), then the kernel runs with the GIL released on scratch allocated here."""

import operator

import numpy as np
cimport numpy as cnp
from cython cimport floating

from .arrays cimport as_array, compute_dtype, typed
from .blas cimport bind_blas
from .threads cimport resolve_threads

cnp.import_array()
bind_blas()

_INT_MAX = 2**31 - 1
_PADDINGS = ("valid", "same", "causal")  # conv1d.h's CONV1D_* in this order


cdef object _count(value, str name):
    """`value` as a Python int >= 1 (NumPy integers too, bools not)."""
    if isinstance(value, bool) or not hasattr(type(value), "__index__"):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    n = operator.index(value)
    if n < 1:
        raise ValueError(f"{name} must be >= 1, got {n}")
    return n


cdef tuple _geometry(steps, kernel_size, strides, padding, dilation_rate, str what):
    """(out_steps, pad_left, strides, dilation_rate) as Keras 3 computes them (conv1d.h's
    conv1d_geometry, which the inference plan also runs). `what` names the operands when no
    output step remains or they are too large."""
    k = _count(kernel_size, "kernel_size")
    s = _count(strides, "strides")
    d = _count(dilation_rate, "dilation_rate")
    if s > 1 and d > 1:  # Keras' BaseConv refuses it, in these words
        raise ValueError("`strides > 1` not supported in conjunction with `dilation_rate > 1`. "
                         f"Received: strides={s} and dilation_rate={d}")
    mode = padding.lower() if isinstance(padding, str) else None
    if mode not in _PADDINGS:
        raise ValueError(f"padding must be one of {_PADDINGS}, got {padding!r}")
    if max(steps, k, s, d) > _INT_MAX:
        raise ValueError(f"{what} is too large for the kernels")
    cdef long long left
    out = conv1d_geometry(_PADDINGS.index(mode), steps, k, s, d, &left)
    if out < 1:
        raise ValueError(f"{what} with kernel_size={k}, strides={s}, dilation_rate={d} and "
                         f"padding={mode!r} give no output steps")
    return out, left, s, d


def conv1d_output_length(steps, kernel_size, strides=1, padding="valid", dilation_rate=1):
    """The output steps of a Conv1D over `steps` input steps (Keras 3's arithmetic); raises
    ValueError when there would be none."""
    steps = _count(steps, "steps")
    return _geometry(steps, kernel_size, strides, padding, dilation_rate, f"steps={steps}")[0]


cdef tuple _operands(conv1d_shape *s, x, kernel, strides, padding, dilation_rate, groups):
    """(dtype, x, kernel) checked and converted, and `s` filled in; x may have no samples."""
    dtype = compute_dtype(kernel, "conv1d kernel")
    w = np.asarray(kernel)
    if w.ndim != 3 or 0 in w.shape:
        raise ValueError("kernel must have shape (kernel_size, in_channels // groups, filters), "
                         f"all >= 1, got {w.shape}")
    xa = np.asarray(x)
    if xa.ndim != 3:
        raise ValueError(f"x must be 3-D (batch, steps, in_channels), got shape {xa.shape}")
    g = _count(groups, "groups")
    N, T, C = xa.shape
    K, F = w.shape[0], w.shape[2]
    if F % g or C % g:
        raise ValueError(f"groups={g} must divide the filters ({F}, of kernel {w.shape}) and "
                         f"the input channels ({C}, of x {xa.shape})")
    if C // g != w.shape[1]:
        raise ValueError(f"x of shape {xa.shape} has {C} channels, but the kernel of shape "
                         f"{w.shape} with groups={g} takes {w.shape[1] * g}")
    what = f"x of shape {xa.shape} and kernel of shape {w.shape}"
    out, left, stride, dilation = _geometry(T, K, strides, padding, dilation_rate, what)
    if max(N, T, C, F, K * (C // g), out, left, stride, dilation) > _INT_MAX:
        raise ValueError(f"{what} is too large for the kernels")
    s.N, s.T, s.C, s.F, s.K, s.groups = N, T, C, F, K, g
    s.stride, s.dilation, s.pad_left, s.T_out = stride, dilation, left, out
    return dtype, as_array(xa, dtype, "x", xa.shape), as_array(w, dtype, "kernel", w.shape)


def conv1d_forward(x, kernel, bias=None, *, strides=1, padding="valid", dilation_rate=1,
                   groups=1, n_threads=None):
    """y = conv1d(x, kernel) + bias as Keras' Conv1D computes it (channels last): x (batch,
    steps, in_channels), kernel (kernel_size, in_channels // groups, filters), bias (filters,)
    or None for no bias; padding "valid", "same" or "causal". Returns y (batch, out_steps,
    filters) in the kernel's dtype (float32 or float64). `n_threads`: the threads to use at
    most (None: the package's setting)."""
    cdef conv1d_shape s
    dtype, xa, w = _operands(&s, x, kernel, strides, padding, dilation_rate, groups)
    b = None if bias is None else as_array(bias, dtype, "bias", (s.F,))
    cdef int nt = resolve_threads(n_threads)
    y = np.empty((s.N, s.T_out, s.F), dtype)
    work = np.empty(conv1d_forward_work_size(&s, nt), dtype)
    if dtype == np.float32:
        forward_call[float](0, &s, nt, xa, w, b, y, work)
    else:
        forward_call[double](0, &s, nt, xa, w, b, y, work)
    return y


def conv1d_backward(x, kernel, dy, *, strides=1, padding="valid", dilation_rate=1, groups=1,
                    bint need_dx=True, n_threads=None):
    """Gradients of conv1d_forward given dy (batch, out_steps, filters) = dL/dy, for the same
    x, kernel and options: returns (dx, dkernel, dbias), dx None unless need_dx, dbias the sum
    of dy over the batch and steps (also when the layer has no bias). For a given n_threads the
    results repeat bit for bit."""
    cdef conv1d_shape s
    dtype, xa, w = _operands(&s, x, kernel, strides, padding, dilation_rate, groups)
    dya = as_array(dy, dtype, "dy", (s.N, s.T_out, s.F))
    cdef int nt = resolve_threads(n_threads)
    dx = np.empty((s.N, s.T, s.C), dtype) if need_dx else None
    dw = np.empty(w.shape, dtype)
    db = np.empty(s.F, dtype)
    work = np.empty(conv1d_backward_work_size(&s, nt), dtype)
    if dtype == np.float32:
        backward_call[float](0, &s, nt, xa, w, dya, dx, dw, db, work)
    else:
        backward_call[double](0, &s, nt, xa, w, dya, dx, dw, db, work)
    return dx, dw, db


cdef void forward_call(floating kind, const conv1d_shape *s, int nt, cnp.ndarray x,
                       cnp.ndarray w, cnp.ndarray b, cnp.ndarray y, cnp.ndarray work):
    """conv1d_forward's kernel call, in the precision `kind` (a 0 of it) names."""
    cdef const floating *px = typed(x, kind), *pw = typed(w, kind), *pb = typed(b, kind)
    cdef floating *py = typed(y, kind), *pwork = typed(work, kind)
    with nogil:
        run_conv1d_forward(s, nt, px, pw, pb, py, pwork)


cdef void backward_call(floating kind, const conv1d_shape *s, int nt, cnp.ndarray x,
                        cnp.ndarray w, cnp.ndarray dy, cnp.ndarray dx, cnp.ndarray dw,
                        cnp.ndarray db, cnp.ndarray work):
    """conv1d_backward's kernel call, in the precision `kind` (a 0 of it) names."""
    cdef const floating *px = typed(x, kind), *pw = typed(w, kind), *pdy = typed(dy, kind)
    cdef floating *pdx = typed(dx, kind), *pdw = typed(dw, kind), *pdb = typed(db, kind)
    cdef floating *pwork = typed(work, kind)
    with nogil:
        run_conv1d_backward(s, nt, px, pw, pdy, pdx, pdw, pdb, pwork)
