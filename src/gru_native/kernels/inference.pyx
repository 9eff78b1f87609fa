"""A stack of GRU, LSTM and Dense layers run as one call into C, for prediction.

A model's `predict` on one short sequence costs a few microseconds of kernel work; going
through every layer in Python (a binding call, checks and new arrays per layer) would cost as
much again. An InferencePlan holds what every layer needs (shapes and pointers to the weights,
which stay in the model's parameter buffer, so weight updates are seen) and runs the whole
stack with the GIL released, through scratch memory it keeps between calls."""

import numpy as np
cimport numpy as cnp
from libc.stdlib cimport calloc, free
from libc.string cimport memcpy

from .arrays cimport compute_dtype, data_ptr
from .dense cimport dense_forward_f32, dense_forward_f64, dense_shape
from .interrupt cimport gru_interrupt_clear, gru_interrupt_watch, raise_if_interrupted
from .gru import bias_shape
from .gru cimport gru_forward_f32, gru_forward_f64, gru_forward_work_size, gru_shape
from .lstm cimport lstm_forward_f32, lstm_forward_f64, lstm_forward_work_size, lstm_shape
from .blas cimport bind_blas
from .threads cimport gru_get_num_threads

cnp.import_array()
bind_blas()
gru_interrupt_watch()

_INT_MAX = 2**31 - 1

cdef class PlanStates  # below: the states a stream carries

_OP_ITEMS = {"gru": 7, "lstm": 6, "dense": 3}  # the length of each kind's op tuple

cdef enum OpKind:
    OP_GRU
    OP_LSTM
    OP_DENSE

cdef struct Op:
    OpKind kind
    int features, units  # inputs and outputs per row (dense) or per step (GRU)
    int reset_after, reverse, return_sequences
    void *w
    void *u
    void *b


cdef cnp.ndarray _weight(a, dtype, str name, tuple shape):
    """A weight the plan points into: it must already be the aligned C-contiguous array of the
    computing dtype (a copy would not see later updates)."""
    if not isinstance(a, np.ndarray) or a.dtype != dtype or a.shape != shape \
            or not a.flags.c_contiguous or not a.flags.aligned:
        raise ValueError(f"{name} must be an aligned C-contiguous {np.dtype(dtype)} array of "
                         f"shape {shape}")
    return a


cdef tuple _kernel_shape(kernel, int i):
    """The shape of op i's kernel, once it is a 2-D array. Checked before any index: these
    bindings compile without bounds checks, so kernel.shape[1] of a 1-D kernel reads past the
    end of its shape tuple (a crash)."""
    if not isinstance(kernel, np.ndarray) or kernel.ndim != 2:
        raise ValueError(f"op {i}: kernel must be a 2-D array, got {type(kernel).__name__} of "
                         f"shape {getattr(kernel, 'shape', None)}")
    return kernel.shape


cdef class InferencePlan:
    """`ops` is a list of ('gru', kernel, recurrent_kernel, bias, reset_after, reverse,
    return_sequences), ('lstm', kernel, recurrent_kernel, bias, reverse, return_sequences) and
    ('dense', kernel, bias) tuples in Keras layouts (bias may be None for a dense op; a GRU or
    LSTM without bias passes zeros). `run(x)` returns the last op's output."""
    cdef Op *ops
    cdef int n_ops
    cdef list weights  # keeps the arrays the ops point into alive
    cdef object dtype
    cdef int typenum
    cdef cnp.ndarray scratch
    cdef bint busy
    cdef readonly int features

    def __cinit__(self, ops, dtype):
        self.dtype = np.dtype(dtype)
        if self.dtype != np.float32 and self.dtype != np.float64:
            raise TypeError(f"an inference plan computes in float32 or float64, not {self.dtype}")
        self.typenum = self.dtype.num
        if not ops:
            raise ValueError("an inference plan needs at least one op")
        self.ops = <Op *>calloc(len(ops), sizeof(Op))
        if self.ops == NULL:
            raise MemoryError(f"could not allocate {len(ops)} inference ops")
        self.n_ops = len(ops)
        self.weights = []
        cdef int width = -1, i = 0, F, H
        cdef bint sequence = True  # whether the data between ops still has a time axis
        for i, op in enumerate(ops):
            if not isinstance(op, (tuple, list)) or len(op) == 0:  # (no bounds check on op[0])
                raise ValueError(f"op {i} must be a tuple starting with its kind, got {op!r}")
            if op[0] in _OP_ITEMS and len(op) != _OP_ITEMS[op[0]]:
                raise ValueError(f"op {i}: a {op[0]!r} op is a tuple of {_OP_ITEMS[op[0]]} items, "
                                 f"got {len(op)}")
            if op[0] == "gru":
                _, kernel, recurrent, bias, reset_after, reverse, return_sequences = op
                if not sequence:
                    raise ValueError(f"op {i}: a GRU needs sequences, but op {i - 1} returns "
                                     "one vector per sequence")
                shape = _kernel_shape(kernel, i)
                F, H = shape[0], shape[1] // 3
                bias_rows = bias_shape(H, reset_after)
                arrays = [_weight(kernel, self.dtype, "kernel", (F, 3 * H)),
                          _weight(recurrent, self.dtype, "recurrent_kernel", (H, 3 * H)),
                          _weight(bias, self.dtype, "bias", bias_rows)]
                self.ops[i].kind = OP_GRU
                self.ops[i].reset_after, self.ops[i].reverse = reset_after, reverse
                self.ops[i].return_sequences = return_sequences
                sequence = return_sequences
            elif op[0] == "lstm":
                _, kernel, recurrent, bias, reverse, return_sequences = op
                if not sequence:
                    raise ValueError(f"op {i}: an LSTM needs sequences, but op {i - 1} returns "
                                     "one vector per sequence")
                shape = _kernel_shape(kernel, i)
                F, H = shape[0], shape[1] // 4
                arrays = [_weight(kernel, self.dtype, "kernel", (F, 4 * H)),
                          _weight(recurrent, self.dtype, "recurrent_kernel", (H, 4 * H)),
                          _weight(bias, self.dtype, "bias", (4 * H,))]
                self.ops[i].kind = OP_LSTM
                self.ops[i].reverse, self.ops[i].return_sequences = reverse, return_sequences
                sequence = return_sequences
            elif op[0] == "dense":
                _, kernel, bias = op
                F, H = _kernel_shape(kernel, i)
                arrays = [_weight(kernel, self.dtype, "kernel", (F, H)), None,
                          None if bias is None else _weight(bias, self.dtype, "bias", (H,))]
                self.ops[i].kind = OP_DENSE
            else:
                raise ValueError(f"op {i}: unknown kind {op[0]!r}; known: 'gru', 'lstm', 'dense'")
            if width != -1 and F != width:
                raise ValueError(f"op {i} takes {F} features, but op {i - 1} gives {width}")
            self.ops[i].features, self.ops[i].units = F, H
            self.ops[i].w = data_ptr(arrays[0])
            self.ops[i].u = data_ptr(arrays[1])
            self.ops[i].b = data_ptr(arrays[2])
            self.weights.append(arrays)
            width = H
        self.features = self.ops[0].features
        self.scratch = None
        self.busy = False

    def __dealloc__(self):
        free(self.ops)

    def run(self, x, PlanStates states=None):
        """The stack's output for x (B, T, features), a C-contiguous array of the plan's dtype
        with only finite values (checked here). `states` (from new_states) holds the states each
        recurrent op starts from and receives those it ends with (streaming)."""
        cdef cnp.ndarray xa = self._checked(x, 3, "batch, timesteps, ")
        return self._call(xa, xa.shape[0], xa.shape[1], states, False)

    def step(self, x, PlanStates states not None):
        """One timestep of a stream: x (B, features) as in `run`, the last op's output for it
        (B, units), and the states updated in place. The shortest path through the plan: a
        streamed step is a few microseconds of kernel work."""
        cdef cnp.ndarray xa = self._checked(x, 2, "batch, ")
        return self._call(xa, xa.shape[0], 1, states, True)

    cdef cnp.ndarray _checked(self, x, int ndim, str layout):
        """x as the plan takes it: an aligned C-contiguous array of its dtype, `ndim` dimensions
        ending in its features, none of them empty, every value finite."""
        if not isinstance(x, np.ndarray) or cnp.PyArray_TYPE(<cnp.ndarray>x) != self.typenum \
                or not cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>x) \
                or not cnp.PyArray_ISALIGNED(<cnp.ndarray>x):
            raise TypeError(f"x must be an aligned C-contiguous {self.dtype} array")
        cdef cnp.ndarray xa = <cnp.ndarray>x
        if xa.ndim != ndim or xa.shape[ndim - 1] != self.features or xa.size == 0:
            raise ValueError(f"x must have shape ({layout}{self.features}) with at least one "
                             f"sequence{' and step' if ndim == 3 else ''}, got {x.shape}")
        if xa.size // self.features > _INT_MAX:
            raise ValueError(f"x of shape {x.shape} is too large for the kernels")
        if not _all_finite(xa):
            raise ValueError("x contains NaN or infinite values")
        return xa

    cdef cnp.ndarray _call(self, cnp.ndarray xa, int B, int T, PlanStates states, bint one_step):
        """Run the stack on checked x; the output has no time axis when the last recurrent op
        returns only its final state, or for one streamed step."""
        if states is not None and (states.plan is not self or states.batch_size != B):
            raise ValueError(f"these states are for batches of {states.batch_size} through "
                             "another plan" if states.plan is not self else
                             f"these states are for batches of {states.batch_size}, not {B}")

        # Sizes: every op's output, the largest recurrent work area (+ its final states), the
        # result's shape.
        cdef gru_shape g
        cdef lstm_shape l
        cdef size_t work = 0, between = 0
        cdef int steps = T, i  # steps per sequence in the data between ops: T, or 1 after a
        for i in range(self.n_ops):  # recurrent op that returns only its last state
            if self.ops[i].kind == OP_GRU:
                _gru_shape(&g, &self.ops[i], B, T)
                work = max(work, gru_forward_work_size(&g) + <size_t>B * g.H)
            elif self.ops[i].kind == OP_LSTM:
                _lstm_shape(&l, &self.ops[i], B, T)
                work = max(work, lstm_forward_work_size(&l) + 2 * <size_t>B * l.H)
            if self.ops[i].kind != OP_DENSE and not self.ops[i].return_sequences:
                steps = 0
            if i < self.n_ops - 1:
                between = max(between, <size_t>B * max(steps, 1) * self.ops[i].units)
        cdef cnp.npy_intp dims[3]
        dims[0], dims[1], dims[2] = B, T, self.ops[self.n_ops - 1].units
        if steps and not one_step:
            out = cnp.PyArray_EMPTY(3, dims, self.typenum, 0)
        else:
            dims[1] = dims[2]
            out = cnp.PyArray_EMPTY(2, dims, self.typenum, 0)

        # Scratch: [work | ping | pong]; a second thread running the plan at once gets its own.
        scratch = self.scratch
        cdef bint own = not self.busy
        if not own or scratch is None or scratch.size < work + 2 * between:
            scratch = np.empty(work + 2 * between, self.dtype)
            if own:
                self.scratch = scratch
        if own:
            self.busy = True
        gru_interrupt_clear()
        try:
            self._run(B, T, data_ptr(xa), data_ptr(out), data_ptr(scratch), work, between,
                      NULL if states is None else states.ptrs)
        finally:
            if own:
                self.busy = False
        raise_if_interrupted()
        return out

    def new_states(self, int batch_size):
        """Zero states for streaming batches of `batch_size` through this plan (PlanStates)."""
        return PlanStates(self, batch_size)

    cdef void _run(self, int B, int T, void *x, void *out, void *scratch, size_t work,
                   size_t between, void **states) noexcept:
        cdef size_t item = self.dtype.itemsize
        cdef char *base = <char *>scratch
        cdef void *buffers[2]
        buffers[0] = base + work * item
        buffers[1] = base + (work + between) * item
        cdef int nt = gru_get_num_threads(), i, rows = B * T
        cdef bint f32 = self.dtype == np.float32
        cdef gru_shape g
        cdef lstm_shape l
        cdef dense_shape d
        cdef void *src = x
        cdef void *dst
        cdef void *h_last
        cdef void *c_last
        cdef void *h0
        cdef void *c0
        cdef char *finals
        cdef Op *op
        with nogil:
            for i in range(self.n_ops):
                op = &self.ops[i]
                dst = out if i == self.n_ops - 1 else buffers[i % 2]
                if op.kind == OP_GRU:
                    _gru_shape(&g, op, B, T)
                    h0 = states[2 * i] if states != NULL else NULL
                    h_last = h0 if h0 != NULL else (
                        dst if not op.return_sequences else base + gru_forward_work_size(&g) * item)
                    if f32:
                        gru_forward_f32(&g, nt, <float *>src, <float *>op.w, <float *>op.u,
                                        <float *>op.b, <float *>h0, NULL, NULL,
                                        <float *>dst if op.return_sequences else NULL,
                                        <float *>h_last, NULL, <float *>base)
                    else:
                        gru_forward_f64(&g, nt, <double *>src, <double *>op.w, <double *>op.u,
                                        <double *>op.b, <double *>h0, NULL, NULL,
                                        <double *>dst if op.return_sequences else NULL,
                                        <double *>h_last, NULL, <double *>base)
                    if not op.return_sequences:
                        rows = B
                        if h_last != dst:  # the state carried on is also the op's output
                            memcpy(dst, h_last, <size_t>B * g.H * item)
                elif op.kind == OP_LSTM:
                    _lstm_shape(&l, op, B, T)
                    finals = base + lstm_forward_work_size(&l) * item  # h_last, c_last scratch
                    h0 = states[2 * i] if states != NULL else NULL
                    c0 = states[2 * i + 1] if states != NULL else NULL
                    h_last = h0 if h0 != NULL else (dst if not op.return_sequences else finals)
                    c_last = c0 if c0 != NULL else finals + <size_t>B * l.H * item
                    if f32:
                        lstm_forward_f32(&l, nt, <float *>src, <float *>op.w, <float *>op.u,
                                         <float *>op.b, <float *>h0, <float *>c0, NULL, NULL,
                                         <float *>dst if op.return_sequences else NULL,
                                         <float *>h_last, <float *>c_last, NULL, <float *>base)
                    else:
                        lstm_forward_f64(&l, nt, <double *>src, <double *>op.w, <double *>op.u,
                                         <double *>op.b, <double *>h0, <double *>c0, NULL, NULL,
                                         <double *>dst if op.return_sequences else NULL,
                                         <double *>h_last, <double *>c_last, NULL,
                                         <double *>base)
                    if not op.return_sequences:
                        rows = B
                        if h_last != dst:
                            memcpy(dst, h_last, <size_t>B * l.H * item)
                else:
                    d.N, d.IN, d.OUT = rows, op.features, op.units
                    if f32:
                        dense_forward_f32(&d, nt, <float *>src, <float *>op.w, <float *>op.b,
                                          <float *>dst)
                    else:
                        dense_forward_f64(&d, nt, <double *>src, <double *>op.w, <double *>op.b,
                                          <double *>dst)
                src = dst


cdef class PlanStates:
    """The recurrent states a stream carries through an InferencePlan: zeros of (batch_size,
    units) for each GRU op's h and each LSTM op's h and c, and the C pointers to them (h of op i
    at 2i, c at 2i + 1), made once so that a step validates and allocates nothing."""
    cdef readonly InferencePlan plan
    cdef readonly int batch_size
    cdef readonly list arrays  # in op order
    cdef void **ptrs

    def __cinit__(self, InferencePlan plan not None, int batch_size):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.plan, self.batch_size, self.arrays = plan, batch_size, []
        self.ptrs = <void **>calloc(2 * plan.n_ops, sizeof(void *))
        if self.ptrs == NULL:
            raise MemoryError("could not allocate the state pointers")
        for i in range(plan.n_ops):
            for k in range({OP_GRU: 1, OP_LSTM: 2}.get(plan.ops[i].kind, 0)):
                a = np.zeros((batch_size, plan.ops[i].units), plan.dtype)
                self.arrays.append(a)
                self.ptrs[2 * i + k] = data_ptr(a)

    def __dealloc__(self):
        free(self.ptrs)

    def reset(self):
        """Back to zero states."""
        for a in self.arrays:
            a.fill(0)


cdef inline void _lstm_shape(lstm_shape *l, const Op *op, int B, int T) noexcept nogil:
    l.T, l.B, l.F, l.H, l.reverse, l.masked_state = T, B, op.features, op.units, op.reverse, 0


cdef inline void _gru_shape(gru_shape *g, const Op *op, int B, int T) noexcept nogil:
    g.T, g.B, g.F, g.H = T, B, op.features, op.units
    g.reset_after, g.reverse, g.masked_state = op.reset_after, op.reverse, 0


cdef bint _all_finite(cnp.ndarray x):
    """Whether x (C-contiguous float32 or float64) holds no NaN or infinity: one pass in C."""
    cdef size_t n = x.size, i
    cdef float *f
    cdef double *d
    cdef float accf = 0
    cdef double accd = 0
    if cnp.PyArray_TYPE(x) == cnp.NPY_FLOAT32:
        f = <float *>cnp.PyArray_DATA(x)
        for i in range(n):  # 0 * v is NaN exactly when v is NaN or infinite
            accf += 0 * f[i]
        return accf == 0
    d = <double *>cnp.PyArray_DATA(x)
    for i in range(n):
        accd += 0 * d[i]
    return accd == 0
