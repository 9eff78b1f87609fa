"""A graph of GRU, LSTM, Dense, Conv1D, activation, merge, repeat, pooling and normalisation ops
run as one call into C, for prediction.

A model's `predict` on one short sequence costs a few microseconds of kernel work; going
through every layer in Python (a binding call, checks and new arrays per layer) would cost as
much again. An InferencePlan holds typed op records (kernels/plan_ops.py) over integer slots
(the tensors between ops), checks every record and slot once when it is made, and runs the
whole graph with the GIL released through one scratch arena it keeps between calls (up to
SCRATCH_KEPT_BYTES). The weights stay in the model's parameter buffer (the plan points into
them), so weight updates are seen."""

import numpy as np
cimport numpy as cnp
from libc.stdint cimport uint32_t, uint64_t
from libc.stdlib cimport calloc, free, malloc
from libc.string cimport memcpy

from cython cimport floating

from .arrays cimport as_array, data_ptr
from .conv1d cimport (CONV1D_CAUSAL, CONV1D_SAME, CONV1D_VALID, conv1d_forward_work_size,
                      conv1d_geometry, conv1d_shape)
from .dense cimport dense_shape, run_dense_forward
from .interrupt cimport gru_interrupt_watch, raise_if_interrupted, start_interruptible
from .gru import bias_shape
from .gru cimport gru_forward_reduced_f32, gru_inference_work_size, gru_shape, run_gru_forward
from .lstm cimport (lstm_forward_reduced_f32, lstm_inference_work_size, lstm_shape,
                    run_lstm_forward)
from .reduced cimport (REDUCED_BFLOAT16, REDUCED_INT8, reduced_calibrate, reduced_free,
                       reduced_matrix, reduced_new, reduced_sync)
from .blas cimport bind_blas
from .threads cimport resolve_threads
from .plan_ops import (ACTIVATIONS, CONV_PADDINGS, MERGE_KINDS, NORM_KINDS, OP_TYPES, PADDINGS,
                       POOL_KINDS, ActivationOp, ConvOp, DenseOp, MergeOp, NormOp, PoolOp,
                       RecurrentOp, RepeatOp)

cdef extern from "plan.h" nogil:
    void plan_activation_f32(int kind, size_t rows, size_t width, const float *x, float *y)
    void plan_activation_f64(int kind, size_t rows, size_t width, const double *x, double *y)
    void plan_merge_f32(int kind, int n, const float *const *xs, size_t count, float *y)
    void plan_merge_f64(int kind, int n, const double *const *xs, size_t count, double *y)
    void plan_concat_f32(int n, const float *const *xs, const size_t *chunks, size_t outer,
                         float *y)
    void plan_concat_f64(int n, const double *const *xs, const size_t *chunks, size_t outer,
                         double *y)
    void plan_repeat_f32(size_t B, int n, size_t width, const float *x, float *y)
    void plan_repeat_f64(size_t B, int n, size_t width, const double *x, double *y)
    void plan_pool_f32(int kind, size_t B, int T, int T_out, size_t C, int pool, int strides,
                       const float *x, float *y)
    void plan_pool_f64(int kind, size_t B, int T, int T_out, size_t C, int pool, int strides,
                       const double *x, double *y)
    void plan_normalize_f32(size_t rows, size_t width, const float *mean, const float *variance,
                            float eps, const float *gamma, const float *beta, const float *x,
                            float *y)
    void plan_normalize_f64(size_t rows, size_t width, const double *mean,
                            const double *variance, double eps, const double *gamma,
                            const double *beta, const double *x, double *y)
    void plan_conv1d_f32(const conv1d_shape *s, int max_threads, int activation, const float *x,
                         const float *w, const float *b, float *y, float *work)
    void plan_conv1d_f64(const conv1d_shape *s, int max_threads, int activation,
                         const double *x, const double *w, const double *b, double *y,
                         double *work)
    void plan_dense_reduced_f32(const reduced_matrix *q, int max_threads, size_t rows, int k,
                                int n, const float *x, const float *b, float *y)


# One name per op over both precisions (see gru.pxd).
cdef inline void run_activation(int kind, size_t rows, size_t width, const floating *x,
                                floating *y) noexcept nogil:
    if floating is float:
        plan_activation_f32(kind, rows, width, x, y)
    else:
        plan_activation_f64(kind, rows, width, x, y)


cdef inline void run_merge(int kind, int n, const void **xs, size_t count,
                           floating *y) noexcept nogil:
    if floating is float:
        plan_merge_f32(kind, n, <const float *const *>xs, count, y)
    else:
        plan_merge_f64(kind, n, <const double *const *>xs, count, y)


cdef inline void run_concat(int n, const void **xs, const size_t *chunks, size_t outer,
                            floating *y) noexcept nogil:
    if floating is float:
        plan_concat_f32(n, <const float *const *>xs, chunks, outer, y)
    else:
        plan_concat_f64(n, <const double *const *>xs, chunks, outer, y)


cdef inline void run_repeat(size_t B, int n, size_t width, const floating *x,
                            floating *y) noexcept nogil:
    if floating is float:
        plan_repeat_f32(B, n, width, x, y)
    else:
        plan_repeat_f64(B, n, width, x, y)


cdef inline void run_pool(int kind, size_t B, int T, int T_out, size_t C, int pool,
                          int strides, const floating *x, floating *y) noexcept nogil:
    if floating is float:
        plan_pool_f32(kind, B, T, T_out, C, pool, strides, x, y)
    else:
        plan_pool_f64(kind, B, T, T_out, C, pool, strides, x, y)


cdef inline void run_normalize(size_t rows, size_t width, const void *mean, const void *variance,
                               double eps, const void *gamma, const void *beta,
                               const floating *x, floating *y) noexcept nogil:
    if floating is float:
        plan_normalize_f32(rows, width, <const float *>mean, <const float *>variance,
                           <float>eps, <const float *>gamma, <const float *>beta, x, y)
    else:
        plan_normalize_f64(rows, width, <const double *>mean, <const double *>variance, eps,
                           <const double *>gamma, <const double *>beta, x, y)


cdef inline void run_conv1d(const conv1d_shape *s, int nt, int activation, const floating *x,
                            const void *w, const void *b, floating *y,
                            floating *work) noexcept nogil:
    if floating is float:
        plan_conv1d_f32(s, nt, activation, x, <const float *>w, <const float *>b, y, work)
    else:
        plan_conv1d_f64(s, nt, activation, x, <const double *>w, <const double *>b, y, work)

cnp.import_array()
bind_blas()
gru_interrupt_watch()

_INT_MAX = 2**31 - 1
# The most scratch a plan keeps between calls: what a call needs beyond it (a long sequence: a
# GRU's gates for every step) is freed when the call returns, not held for the model's lifetime.
SCRATCH_KEPT_BYTES = 64 << 20
_MAX_SLOTS = 1 << 20  # slot ids are small integers: a larger one is a mistake, not a plan
_ACTIVATION_CODE = {name: i for i, name in enumerate(ACTIVATIONS)}  # the order of plan.h
_MERGE_CODE = {"add": 0, "subtract": 1, "multiply": 2, "average": 3, "maximum": 4, "minimum": 5}
_POOL_CODE = {"max": 0, "average": 1}  # plan.h's PLAN_POOL_*, for windowed and global kinds
_CONV_PADDING_CODE = {"valid": CONV1D_VALID, "same": CONV1D_SAME, "causal": CONV1D_CAUSAL}
# The precisions a plan runs in: its dtype's own, or (float32 plans) its recurrent and dense
# products from bfloat16 or int8 copies of their weights (csrc/reduced.h).
PRECISIONS = ("float32", "bfloat16", "int8")
_REDUCED_KIND = {"bfloat16": REDUCED_BFLOAT16, "int8": REDUCED_INT8}
_RECORDS = ("a RecurrentOp, DenseOp, MergeOp, RepeatOp, ActivationOp, PoolOp, NormOp or ConvOp "
            "record")

cdef class PlanStates  # below: the states a stream carries

cdef enum OpKind:
    OP_GRU
    OP_LSTM
    OP_DENSE
    OP_MERGE
    OP_CONCAT
    OP_REPEAT
    OP_ACTIVATION
    OP_POOL  # a window sliding over time
    OP_GLOBAL_POOL  # every step at once
    OP_NORM
    OP_CONV

cdef enum:
    DYNAMIC = -1  # a slot's static steps: known at run time only (the inputs' length, or pooled)

cdef struct Op:
    OpKind kind
    int code  # activation (dense, activation, conv), merge or pool kind (plan.h's enums)
    int features, units  # input and output width (dense, recurrent, conv)
    int reset_after, reverse, return_sequences
    int time_axis  # concat along time rather than features
    int n  # repeat count
    int pool_size, strides, same  # a windowed pool ('same': padding='same'); a conv's strides
    int kernel_size, dilation, groups, padding  # a conv's (padding: conv1d.h's CONV1D_*)
    double epsilon  # a normalisation's
    int in0, n_in  # its input slots: plan.op_slots[in0 : in0 + n_in] (recurrent: x, states)
    int out0, n_out  # its output slots: plan.op_slots[out0 : out0 + n_out]
    void *w  # kernel (a normalisation: gamma)
    void *u  # recurrent kernel
    void *b  # bias (a normalisation: beta)
    void *mean  # a batch normalisation's moving statistics
    void *variance
    reduced_matrix *wq  # w's and u's reduced-precision copies (NULL: products from w and u)
    reduced_matrix *uq

cdef struct Slot:
    int width  # features per row
    int steps  # static: 0 (no time axis), DYNAMIC, or a known length
    int source  # the input index (for an input slot)
    int group  # its region of the arena, -1 for an input or output slot (external memory)
    int output  # the first plan output it is, or -1

cdef struct Layout:  # one run's sizes: a slot's steps, the arena's regions, the pointers
    int *steps
    size_t *offset  # per group, in elements from the arena start
    size_t *size  # per group
    void **ptr  # per slot
    const void **gather  # the input pointers of a merge
    size_t *chunks  # the chunk sizes of a concat
    size_t work  # the recurrent and conv ops' work area, at the arena start
    size_t total


cdef cnp.ndarray _weight(a, dtype, str where, tuple shape):
    """A weight the plan points into: it must already be the aligned C-contiguous array of the
    computing dtype (a copy would not see later updates)."""
    if not isinstance(a, np.ndarray) or a.dtype != dtype or a.shape != shape \
            or not a.flags.c_contiguous or not a.flags.aligned:
        raise ValueError(f"{where} must be an aligned C-contiguous {np.dtype(dtype)} array of "
                         f"shape {shape}, got "
                         + (f"{a.dtype} {a.shape}" if isinstance(a, np.ndarray) else type(a).__name__))
    return a


cdef tuple _kernel_shape(kernel, str where, int ndim=2):
    """The shape of a kernel, once it is an ndim-D array. Checked before any index: these
    bindings compile without bounds checks, so kernel.shape[1] of a 1-D kernel would read past
    the end of its shape tuple (a crash)."""
    if not isinstance(kernel, np.ndarray) or kernel.ndim != ndim:
        raise ValueError(f"{where} must be a {ndim}-D array, got {type(kernel).__name__} of "
                         f"shape {getattr(kernel, 'shape', None)}")
    return kernel.shape


cdef bint _flag(value, str where) except -1:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{where} must be True or False, got {value!r}")
    return bool(value)


cdef int _slot_id(value, str where) except -2:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) \
            or not 0 <= value < _MAX_SLOTS:
        raise ValueError(f"{where} must be a slot id (an integer in [0, {_MAX_SLOTS})), got "
                         f"{value!r}")
    return int(value)


cdef int _positive(value, str where) except -1:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) \
            or not 1 <= value <= _INT_MAX:
        raise ValueError(f"{where} must be a positive integer, got {value!r}")
    return int(value)


cdef int _pooled_steps(int T, int pool, int strides, bint same) noexcept nogil:
    """The steps a window pool makes of T (Keras' compute_pooling_output_shape); 0 when a
    'valid' window is longer than the sequence (tested first: with cdivision, (T - pool) //
    strides would truncate a negative numerator towards 0)."""
    if same:
        return (T - 1) // strides + 1
    return 0 if T < pool else (T - pool) // strides + 1


cdef _weight_or_none(a, dtype, str where, int width):
    return None if a is None else _weight(a, dtype, where, (width,))


cdef str _steps_text(int steps):
    return "no time axis" if steps == 0 else ("time steps" if steps == DYNAMIC else f"{steps} steps")


def _check_op(int i, op, dtype, dict width, dict steps, dict producer, dict last_read):
    """Op i checked field by field against the slots before it; its slots recorded."""
    name = type(op).__name__
    where = f"op {i} ({name})"
    if not isinstance(op, OP_TYPES):
        raise ValueError(f"op {i} must be {_RECORDS}, got {op!r}")

    def read(value, str field):
        s = _slot_id(value, f"{where}: field {field!r}")
        if s not in width or producer[s] >= i:
            raise ValueError(f"{where}: field {field!r}: slot {s} is not written by an "
                             f"earlier op or a plan input")
        last_read[s] = i
        return s

    def slot_list(value, str field):
        if not isinstance(value, (tuple, list)):
            raise ValueError(f"{where}: field {field!r} must be a tuple of slot ids, got "
                             f"{value!r}")
        return list(value)

    cdef int F = 0, H = 0, reset_after = 0, reverse = 0, return_sequences = 0, extra = 0
    cdef int code = 0, kind, out_steps, out_width, pool_size = 0, strides = 0, same = 0
    cdef double epsilon = 0
    cdef long long pad_left
    arrays = [None] * 5  # the Op's w, u, b, mean, variance
    conv = (0, 0, 0, 0)  # a conv's kernel_size, dilation, groups, padding
    outs_raw = None
    if isinstance(op, RecurrentOp):
        if op.kind not in ("gru", "lstm"):
            raise ValueError(f"{where}: field 'kind' must be 'gru' or 'lstm', got {op.kind!r}")
        gates, n_states = (3, 1) if op.kind == "gru" else (4, 2)
        kind = OP_GRU if op.kind == "gru" else OP_LSTM
        x = read(op.input, "input")
        if steps[x] == 0:
            raise ValueError(f"{where}: field 'input': a recurrent op needs sequences, but "
                             f"slot {x} has no time axis")
        F, H = _kernel_shape(op.kernel, f"{where}: field 'kernel'")
        if H % gates or H == 0:
            raise ValueError(f"{where}: field 'kernel' must have {gates} * units columns, "
                             f"got shape {(F, H)}")
        H //= gates
        if F != width[x]:
            raise ValueError(f"{where}: field 'kernel' takes {F} features, but slot {x} "
                             f"(field 'input') has {width[x]}")
        reset_after = _flag(op.reset_after, f"{where}: field 'reset_after'") \
            if kind == OP_GRU else 0
        reverse = _flag(op.reverse, f"{where}: field 'reverse'")
        return_sequences = _flag(op.return_sequences, f"{where}: field 'return_sequences'")
        arrays = [_weight(op.kernel, dtype, f"{where}: field 'kernel'", (F, gates * H)),
                  _weight(op.recurrent_kernel, dtype, f"{where}: field 'recurrent_kernel'",
                          (H, gates * H)),
                  _weight(op.bias, dtype, f"{where}: field 'bias'",
                          bias_shape(H, reset_after) if kind == OP_GRU else (gates * H,)),
                  None, None]
        states = slot_list(op.initial_states, "initial_states")
        if len(states) not in (0, n_states):
            raise ValueError(f"{where}: field 'initial_states' must hold 0 or {n_states} "
                             f"slots, got {len(states)}")
        ins = [x]
        for s in states:
            s = read(s, "initial_states")
            if steps[s] != 0 or width[s] != H:
                raise ValueError(f"{where}: field 'initial_states': slot {s} must be of shape "
                                 f"(batch, {H}), but has {width[s]} features and "
                                 f"{_steps_text(steps[s])}")
            ins.append(s)
        outs_raw = slot_list(op.outputs, "outputs")
        if len(outs_raw) not in (1, 1 + n_states):
            raise ValueError(f"{where}: field 'outputs' must hold 1 or {1 + n_states} slots "
                             f"(y, then the final states), got {len(outs_raw)}")
        shapes = [(steps[x] if return_sequences else 0, H)] + [(0, H)] * (len(outs_raw) - 1)
    elif isinstance(op, DenseOp):
        kind = OP_DENSE
        x = read(op.input, "input")
        F, H = _kernel_shape(op.kernel, f"{where}: field 'kernel'")
        if F != width[x]:
            raise ValueError(f"{where}: field 'kernel' takes {F} features, but slot {x} "
                             f"(field 'input') has {width[x]}")
        arrays = [_weight(op.kernel, dtype, f"{where}: field 'kernel'", (F, H)), None,
                  _weight_or_none(op.bias, dtype, f"{where}: field 'bias'", H), None, None]
        if op.activation not in _ACTIVATION_CODE:
            raise ValueError(f"{where}: field 'activation' must be one of {ACTIVATIONS}, got "
                             f"{op.activation!r}")
        code = _ACTIVATION_CODE[op.activation]
        ins, outs_raw, shapes = [x], [op.output], [(steps[x], H)]
    elif isinstance(op, ActivationOp):
        kind = OP_ACTIVATION
        if op.name not in _ACTIVATION_CODE:
            raise ValueError(f"{where}: field 'name' must be one of {ACTIVATIONS}, got "
                             f"{op.name!r}")
        code = _ACTIVATION_CODE[op.name]
        x = read(op.input, "input")
        F = H = width[x]
        ins, outs_raw, shapes = [x], [op.output], [(steps[x], H)]
    elif isinstance(op, RepeatOp):
        kind = OP_REPEAT
        extra = _positive(op.n, f"{where}: field 'n'")
        x = read(op.input, "input")
        if steps[x] != 0:
            raise ValueError(f"{where}: field 'input': slot {x} must have no time axis "
                             f"(batch, features), but has {_steps_text(steps[x])}")
        F = H = width[x]
        ins, outs_raw, shapes = [x], [op.output], [(extra, H)]
    elif isinstance(op, PoolOp):
        if op.kind not in POOL_KINDS:
            raise ValueError(f"{where}: field 'kind' must be one of {POOL_KINDS}, got "
                             f"{op.kind!r}")
        x = read(op.input, "input")
        if steps[x] == 0:
            raise ValueError(f"{where}: field 'input': a pooling needs sequences, but slot {x} "
                             f"has no time axis")
        F = H = width[x]
        if op.kind.startswith("global_"):
            kind, code = OP_GLOBAL_POOL, _POOL_CODE[op.kind[len("global_"):]]
            out_steps = 1 if _flag(op.keepdims, f"{where}: field 'keepdims'") else 0
        else:
            kind, code = OP_POOL, _POOL_CODE[op.kind]
            pool_size = _positive(op.pool_size, f"{where}: field 'pool_size'")
            strides = _positive(op.strides, f"{where}: field 'strides'")
            if op.padding not in PADDINGS:
                raise ValueError(f"{where}: field 'padding' must be one of {PADDINGS}, got "
                                 f"{op.padding!r}")
            same = op.padding == "same"
            out_steps = steps[x] if steps[x] == DYNAMIC else _pooled_steps(
                steps[x], pool_size, strides, same)
            if out_steps < 1 and out_steps != DYNAMIC:
                raise ValueError(f"{where}: field 'pool_size': a 'valid' window of {pool_size} "
                                 f"steps is longer than slot {x} ({steps[x]} steps)")
        ins, outs_raw, shapes = [x], [op.output], [(out_steps, H)]
    elif isinstance(op, NormOp):
        kind = OP_NORM
        if op.kind not in NORM_KINDS:
            raise ValueError(f"{where}: field 'kind' must be one of {NORM_KINDS}, got "
                             f"{op.kind!r}")
        x = read(op.input, "input")
        F = H = width[x]
        if isinstance(op.epsilon, (bool, np.bool_)) or not isinstance(
                op.epsilon, (int, float, np.integer, np.floating)) \
                or not 0 < op.epsilon < float("inf"):
            raise ValueError(f"{where}: field 'epsilon' must be a positive finite number, got "
                             f"{op.epsilon!r}")
        epsilon = float(op.epsilon)
        arrays[0] = _weight_or_none(op.gamma, dtype, f"{where}: field 'gamma'", H)
        arrays[2] = _weight_or_none(op.beta, dtype, f"{where}: field 'beta'", H)
        for field in ("mean", "variance"):
            value = getattr(op, field)
            if op.kind == "layer" and value is not None:
                raise ValueError(f"{where}: field {field!r} must be None for a layer "
                                 f"normalisation (each row's own), got {type(value).__name__}")
            if op.kind == "batch":
                if value is None:
                    raise ValueError(f"{where}: field {field!r}: a batch normalisation needs "
                                     f"its moving {field}")
                arrays[3 if field == "mean" else 4] = _weight(value, dtype,
                                                              f"{where}: field {field!r}", (H,))
        ins, outs_raw, shapes = [x], [op.output], [(steps[x], H)]
    elif isinstance(op, ConvOp):
        kind = OP_CONV
        x = read(op.input, "input")
        if steps[x] == 0:
            raise ValueError(f"{where}: field 'input': a convolution needs sequences, but slot "
                             f"{x} has no time axis")
        K, Cg, H = _kernel_shape(op.kernel, f"{where}: field 'kernel'", 3)
        if 0 in (K, Cg, H) or K * Cg > _INT_MAX:
            raise ValueError(f"{where}: field 'kernel' must have shape (kernel_size, "
                             f"channels // groups, filters), all >= 1 and kernel_size * "
                             f"channels // groups <= {_INT_MAX}, got {(K, Cg, H)}")
        groups = _positive(op.groups, f"{where}: field 'groups'")
        F = width[x]
        if H % groups:
            raise ValueError(f"{where}: field 'groups': {groups} groups do not divide the {H} "
                             f"filters of field 'kernel'")
        if Cg * groups != F:
            raise ValueError(f"{where}: field 'kernel' of shape {(K, Cg, H)} with {groups} "
                             f"groups takes {Cg * groups} channels, but slot {x} (field "
                             f"'input') has {F}")
        strides = _positive(op.strides, f"{where}: field 'strides'")
        dilation = _positive(op.dilation_rate, f"{where}: field 'dilation_rate'")
        if dilation * (K - 1) > _INT_MAX:  # the most zeros a padding puts before step 0
            raise ValueError(f"{where}: field 'dilation_rate': a window of {K} taps "
                             f"{dilation} steps apart spans too many steps for the kernels")
        if op.padding not in CONV_PADDINGS:
            raise ValueError(f"{where}: field 'padding' must be one of {CONV_PADDINGS}, got "
                             f"{op.padding!r}")
        if op.activation not in _ACTIVATION_CODE:
            raise ValueError(f"{where}: field 'activation' must be one of {ACTIVATIONS}, got "
                             f"{op.activation!r}")
        code = _ACTIVATION_CODE[op.activation]
        conv = (K, dilation, groups, _CONV_PADDING_CODE[op.padding])
        arrays = [_weight(op.kernel, dtype, f"{where}: field 'kernel'", (K, Cg, H)), None,
                  _weight_or_none(op.bias, dtype, f"{where}: field 'bias'", H), None, None]
        out_steps = DYNAMIC if steps[x] == DYNAMIC else <int>conv1d_geometry(
            conv[3], steps[x], K, strides, dilation, &pad_left)
        if out_steps < 1 and out_steps != DYNAMIC:
            raise ValueError(f"{where}: field 'kernel': a {op.padding!r} convolution of {K} taps "
                             f"leaves no output step of slot {x} ({steps[x]} steps)")
        ins, outs_raw, shapes = [x], [op.output], [(out_steps, H)]
    else:  # MergeOp
        if op.kind not in MERGE_KINDS:
            raise ValueError(f"{where}: field 'kind' must be one of {MERGE_KINDS}, got "
                             f"{op.kind!r}")
        ins = [read(s, "inputs") for s in slot_list(op.inputs, "inputs")]
        if len(ins) < 2 or (op.kind == "subtract" and len(ins) != 2):
            least = "exactly 2" if op.kind == "subtract" else "at least 2"
            raise ValueError(f"{where}: field 'inputs' must hold {least} slots, got {len(ins)}")
        s0 = ins[0]
        out_steps, out_width = steps[s0], width[s0]
        if op.kind == "concat":
            kind = OP_CONCAT
            if op.axis not in (-1, 1) or isinstance(op.axis, (bool, np.bool_)):
                raise ValueError(f"{where}: field 'axis' must be -1 (features) or 1 (time), "
                                 f"got {op.axis!r}")
            extra = op.axis == 1
            if extra and any(steps[s] == 0 for s in ins):
                raise ValueError(f"{where}: field 'axis': a concat on the time axis needs "
                                 f"sequences, but slot "
                                 f"{next(s for s in ins if steps[s] == 0)} has no time axis")
        else:
            kind, code = OP_MERGE, _MERGE_CODE[op.kind]
        for s in ins[1:]:
            same_rank = (steps[s] == 0) == (steps[s0] == 0)
            known_differ = steps[s] > 0 and steps[s0] > 0 and steps[s] != steps[s0]
            if not same_rank or (known_differ and not extra) or (
                    width[s] != width[s0] and not (kind == OP_CONCAT and not extra)):
                raise ValueError(f"{where}: field 'inputs': slot {s} ({width[s]} features, "
                                 f"{_steps_text(steps[s])}) does not fit slot {s0} "
                                 f"({width[s0]} features, {_steps_text(steps[s0])})")
        if kind == OP_CONCAT and not extra:
            out_width = sum(width[s] for s in ins)
        if kind == OP_CONCAT and extra:
            out_steps = DYNAMIC if any(steps[s] == DYNAMIC for s in ins) else sum(
                steps[s] for s in ins)
        F, H = width[s0], out_width
        outs_raw, shapes = [op.output], [(out_steps, out_width)]
    outs = []
    out_field = "'outputs'" if isinstance(op, RecurrentOp) else "'output'"
    for s, (st, w) in zip(outs_raw, shapes):
        s = _slot_id(s, f"{where}: field {out_field}")
        if s in width:
            by = "by a plan input" if producer[s] == -1 else f"by op {producer[s]}"
            raise ValueError(f"{where}: field {out_field}: slot {s} is already written {by}")
        width[s], steps[s], producer[s] = w, st, i
        outs.append(s)
    return (kind, code, F, H, reset_after, reverse, return_sequences, ins, outs, arrays, extra,
            pool_size, strides, same, epsilon, conv)


cdef cnp.ndarray _feedback_factor(u, int k, int i):
    """u as a (k, k) float32 error feedback factor, finite with a positive diagonal, or
    ValueError naming op i."""
    cdef cnp.ndarray uu = as_array(u, np.float32, f"calibration {i}", (k, k))
    if not np.isfinite(uu).all() or not (np.diagonal(uu) > 0).all():
        raise ValueError(f"calibration {i}: a factor must be finite with a positive diagonal")
    return uu


cdef int _set_feedback(reduced_matrix *m, cnp.ndarray u):
    """reduced_calibrate with u (checked) or NULL for None; -1 when an allocation failed."""
    return reduced_calibrate(m, NULL if u is None else <const float *>cnp.PyArray_DATA(u))


cdef class InferencePlan:
    """`InferencePlan(ops, dtype, inputs, input_shapes, outputs)`: `ops` a list of op records
    (kernels/plan_ops.py) in run order, `inputs` the slot of each plan input and
    `input_shapes` its shape without the batch axis ((timesteps or None, features) or
    (features,)), `outputs` the slots `run` returns. Every field of every record is checked
    here (ValueError naming the op and the field); `run(inputs)` returns the list of outputs.
    `precision` (PRECISIONS): 'bfloat16' or 'int8' runs a float32 plan's recurrent and dense
    products from reduced copies of their weights, packed again on any run that finds the
    weights changed; a plan with a convolution has none (ValueError). An int8 plan's copies
    are rounded to nearest until `calibrate` gives them error feedback factors."""
    cdef Op *c_ops
    cdef int n_ops
    cdef int *op_slots
    cdef Slot *slots
    cdef int n_slots
    cdef int *in_slots
    cdef int *out_slots
    cdef readonly int n_inputs, n_outputs
    cdef int n_groups
    cdef int max_merge  # the most inputs of one merge
    cdef Layout own  # the layout arrays of the calls that own the plan's scratch
    cdef list weights  # keeps the arrays the ops point into alive
    cdef readonly list ops
    cdef readonly object dtype
    cdef int typenum
    cdef bint f32
    cdef size_t itemsize
    cdef bint copies  # whether an output is an input or another output's slot (copied after)
    cdef cnp.ndarray scratch
    cdef bint busy
    cdef readonly str stream_error  # why step() cannot run this plan, or None
    cdef readonly str precision

    def __cinit__(self, ops, dtype, inputs, input_shapes, outputs, precision="float32"):
        self.dtype = np.dtype(dtype)
        if self.dtype != np.float32 and self.dtype != np.float64:
            raise TypeError(f"an inference plan computes in float32 or float64, not {self.dtype}")
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        if precision != "float32" and self.dtype != np.float32:
            raise ValueError(f"precision={precision!r} runs float32 plans; this one computes in "
                             f"{self.dtype}")
        self.precision = precision
        self.typenum = self.dtype.num
        self.f32, self.itemsize = self.dtype == np.float32, self.dtype.itemsize
        if not isinstance(ops, (list, tuple)) or not ops:
            raise ValueError("an inference plan needs a non-empty list of op records")
        ops, inputs, outputs, input_shapes = list(ops), list(inputs), list(outputs), list(input_shapes)
        if not inputs or len(input_shapes) != len(inputs):
            raise ValueError(f"an inference plan needs at least one input and one shape per "
                             f"input, got {len(inputs)} inputs and {len(input_shapes)} shapes")
        if not outputs:
            raise ValueError("an inference plan needs at least one output")
        self.ops, self.weights = ops, []
        self.n_ops, self.n_inputs, self.n_outputs = len(ops), len(inputs), len(outputs)

        # Slots: what each is (width, steps), who writes and who last reads it.
        cdef dict width = {}, steps = {}, producer = {}, last_read = {}
        for k, (s, shape) in enumerate(zip(inputs, input_shapes)):
            s = _slot_id(s, f"input {k}")
            if s in width:
                raise ValueError(f"input {k}: slot {s} is already input {inputs.index(s)}")
            if not isinstance(shape, (tuple, list)) or len(shape) not in (1, 2) or any(
                    d is not None and (isinstance(d, bool) or not isinstance(d, (int, np.integer))
                                       or d < 1) for d in shape) or shape[len(shape) - 1] is None:
                raise ValueError(f"input {k}: shape must be (timesteps or None, features) or "
                                 f"(features,) with positive sizes, got {shape!r}")
            width[s] = int(shape[len(shape) - 1])
            steps[s] = 0 if len(shape) == 1 else (DYNAMIC if shape[0] is None else int(shape[0]))
            producer[s] = -1

        records = []  # per op: (kind, code, F, H, flags..., input slots, output slots, arrays,
        #                        time axis or repeat count, pool size, strides, same, epsilon,
        #                        conv geometry)
        cdef int i, F, H, n_total = 0
        for i, op in enumerate(ops):
            records.append(_check_op(i, op, self.dtype, width, steps, producer, last_read))
            n_total += len(records[i][7]) + len(records[i][8])

        for k, s in enumerate(outputs):
            s = _slot_id(s, f"output {k}")
            if s not in width:
                raise ValueError(f"output {k}: slot {s} is neither an input nor written by an op")

        # C arrays
        self.n_slots = max(width) + 1
        self.c_ops = <Op *>calloc(self.n_ops, sizeof(Op))
        self.op_slots = <int *>calloc(max(n_total, 1), sizeof(int))
        self.slots = <Slot *>calloc(self.n_slots, sizeof(Slot))
        self.in_slots = <int *>calloc(self.n_inputs, sizeof(int))
        self.out_slots = <int *>calloc(self.n_outputs, sizeof(int))
        if not (self.c_ops and self.op_slots and self.slots and self.in_slots and self.out_slots):
            raise MemoryError("could not allocate an inference plan")
        cdef int pos = 0, j
        cdef Op *c
        self.max_merge = 1
        for i, (kind, code, F, H, reset_after, reverse, return_sequences, ins, outs, arrays,
                extra, pool_size, strides, same, epsilon, conv) in enumerate(records):
            c = &self.c_ops[i]
            c.kind, c.code, c.features, c.units = kind, code, F, H
            c.reset_after, c.reverse, c.return_sequences = reset_after, reverse, return_sequences
            c.time_axis = extra if kind == OP_CONCAT else 0
            c.n = extra if kind == OP_REPEAT else 0
            c.pool_size, c.strides, c.same, c.epsilon = pool_size, strides, same, epsilon
            c.kernel_size, c.dilation, c.groups, c.padding = conv
            c.in0, c.n_in = pos, len(ins)
            for j, s in enumerate(ins):
                self.op_slots[pos + j] = s
            pos += len(ins)
            c.out0, c.n_out = pos, len(outs)
            for j, s in enumerate(outs):
                self.op_slots[pos + j] = s
            pos += len(outs)
            c.w, c.u, c.b = data_ptr(arrays[0]), data_ptr(arrays[1]), data_ptr(arrays[2])
            c.mean, c.variance = data_ptr(arrays[3]), data_ptr(arrays[4])
            self.weights.append(arrays)
            if kind in (OP_MERGE, OP_CONCAT):
                self.max_merge = max(self.max_merge, len(ins))
        for s in range(self.n_slots):
            self.slots[s].group, self.slots[s].output, self.slots[s].source = -1, -1, -1
            self.slots[s].width, self.slots[s].steps = width.get(s, 0), steps.get(s, 0)
        for k, s in enumerate(inputs):
            self.in_slots[k] = s
            self.slots[s].source = k
        for k, s in enumerate(outputs):
            self.out_slots[k] = s
            if self.slots[s].output == -1 and self.slots[s].source == -1:
                self.slots[s].output = k
            else:
                self.copies = True

        # Arena regions: a slot lives from the op writing it to the last op reading it; slots
        # whose lives do not overlap share a region (greedy in write order: for a chain, two
        # regions, ping-pong).
        free_after = []  # per group: the last op reading its latest slot
        for s in sorted((s for s in width if producer[s] >= 0 and self.slots[s].output == -1),
                        key=lambda s: producer[s]):
            end = last_read.get(s, producer[s])
            for g, busy_until in enumerate(free_after):
                if busy_until < producer[s]:
                    break
            else:
                g = len(free_after)
                free_after.append(0)
            free_after[g] = end
            self.slots[s].group = g
        self.n_groups = len(free_after)
        if not self._alloc_layout(&self.own):
            raise MemoryError("could not allocate an inference plan")
        self.stream_error = self._stream_check(records)
        self.scratch = None
        self.busy = False
        if precision != "float32":
            self._make_reduced(_REDUCED_KIND[precision])
            self._sync_reduced()

    cdef void _make_reduced(self, int kind) except *:
        """The reduced-precision copies of every recurrent and dense op's weights; ValueError
        for an op with weights and no such kernel (nothing runs in a precision not asked for)."""
        cdef int i, gates
        cdef Op *c
        for i in range(self.n_ops):
            c = &self.c_ops[i]
            if c.kind == OP_CONV:
                raise ValueError(f"op {i} (ConvOp) has no {self.precision} kernel")
            if c.kind not in (OP_GRU, OP_LSTM, OP_DENSE):
                continue
            gates = 3 if c.kind == OP_GRU else 4 if c.kind == OP_LSTM else 1
            c.wq = reduced_new(kind, c.features, gates * c.units, 0)
            if c.kind != OP_DENSE:
                c.uq = reduced_new(kind, c.units, gates * c.units, 0)
            if c.wq == NULL or (c.kind != OP_DENSE and c.uq == NULL):
                raise MemoryError(f"could not allocate the {self.precision} weights of op {i}")

    def calibrate(self, calibration):
        """int8 plans: round the weights' int8 copies with error feedback from now on (packing
        them again at once). `calibration`: per op, None (round to nearest) or (the kernel's
        factor, the recurrent kernel's or None for a dense op), each the (k, k) factor of
        reduced.ReducedMatrix.calibrate. ValueError, with nothing changed, for another
        precision, a list of another length, or a factor that does not fit its op."""
        cdef int i
        cdef Op *c
        if self.precision != "int8" or len(calibration) != self.n_ops:
            raise ValueError(f"calibration is for int8 plans, one entry per op; got "
                             f"{len(calibration)} entries for the {self.n_ops} ops of a "
                             f"{self.precision} plan")
        factors = []  # per op: (w's factor, u's), each None or checked
        for i in range(self.n_ops):
            c = &self.c_ops[i]
            pair = (None, None) if calibration[i] is None else tuple(calibration[i])
            if calibration[i] is not None and (len(pair) != 2 or c.wq == NULL or pair[0] is None
                                               or (pair[1] is None) != (c.uq == NULL)):
                raise ValueError(f"calibration {i}: op {i} ({type(self.ops[i]).__name__}) takes "
                                 "None or (kernel factor, recurrent kernel factor or None)")
            factors.append(tuple(None if u is None else _feedback_factor(u, k, i)
                                 for u, k in zip(pair, (c.features, c.units))))
        for i in range(self.n_ops):
            c = &self.c_ops[i]
            if (c.wq != NULL and _set_feedback(c.wq, factors[i][0]) < 0) \
                    or (c.uq != NULL and _set_feedback(c.uq, factors[i][1]) < 0):
                raise MemoryError(f"could not allocate op {i}'s error feedback")

    cdef void _sync_reduced(self) except *:
        """Pack again the reduced copies of weights that changed since they were packed (an
        optimizer step, set_weights, a load, a write into a weight array)."""
        cdef int i
        cdef Op *c
        for i in range(self.n_ops):
            c = &self.c_ops[i]
            if (c.wq != NULL and reduced_sync(c.wq, <const float *>c.w) < 0) \
                    or (c.uq != NULL and reduced_sync(c.uq, <const float *>c.u) < 0):
                raise ValueError(f"op {i} ({type(self.ops[i]).__name__}): its weights hold NaN "
                                 f"or infinite values, which {self.precision} cannot keep")

    cdef str _stream_check(self, list records):
        """Why step() cannot stream this plan (None: it can). A step carries every recurrent
        op's state; that equals running the sequence so far only when one sequence input feeds
        every recurrent op step by step: no RepeatOp, no time concat, no pooling over time,
        no initial_states, no recurrent op reading a value without time axis, nothing run
        backwards, no convolution (a causal one would need the steps its window reaches back to).
        Normalisations work on each step alone: they stream."""
        if self.n_inputs != 1 or self.slots[self.in_slots[0]].steps == 0:
            return "streaming takes one sequence input"
        for i, rec in enumerate(records):
            kind = rec[0]
            if kind in (OP_GRU, OP_LSTM):
                if rec[5]:
                    return ("a recurrent layer with go_backwards=True needs the whole sequence: "
                            "it cannot stream")
                if len(rec[7]) > 1:
                    return "a recurrent layer with an initial_state from the graph cannot stream"
            elif kind == OP_REPEAT:
                return "a RepeatVector's sequence is not made step by step: it cannot stream"
            elif kind == OP_CONCAT and rec[10]:
                return "a concatenation along time cannot stream"
            elif kind == OP_POOL:
                return "a pooling window spans several steps: it cannot stream"
            elif kind == OP_GLOBAL_POOL:
                return "a global pooling summarises the whole sequence: it cannot stream"
            elif kind == OP_CONV:
                return "a convolution's window spans several steps: it cannot stream"
        return None

    cdef bint _alloc_layout(self, Layout *L) noexcept:
        n_groups = max(self.n_groups, 1)
        L.steps = <int *>malloc(self.n_slots * sizeof(int))
        L.offset = <size_t *>malloc(n_groups * sizeof(size_t))
        L.size = <size_t *>malloc(n_groups * sizeof(size_t))
        L.ptr = <void **>malloc(self.n_slots * sizeof(void *))
        L.gather = <const void **>malloc(self.max_merge * sizeof(void *))
        L.chunks = <size_t *>malloc(self.max_merge * sizeof(size_t))
        return L.steps != NULL and L.offset != NULL and L.size != NULL and L.ptr != NULL \
            and L.gather != NULL and L.chunks != NULL

    cdef void _free_layout(self, Layout *L) noexcept:
        free(L.steps)
        free(L.offset)
        free(L.size)
        free(L.ptr)
        free(<void *>L.gather)
        free(L.chunks)
        L.steps, L.offset, L.size, L.ptr, L.gather, L.chunks = NULL, NULL, NULL, NULL, NULL, NULL

    def __dealloc__(self):
        self._free_layout(&self.own)
        for i in range(self.n_ops if self.c_ops != NULL else 0):
            reduced_free(self.c_ops[i].wq)
            reduced_free(self.c_ops[i].uq)
        free(self.c_ops)
        free(self.op_slots)
        free(self.slots)
        free(self.in_slots)
        free(self.out_slots)

    # ---- running ----------------------------------------------------------------------------
    def run(self, inputs, PlanStates states=None, *, n_threads=None):
        """The plan's outputs (a list) for `inputs`, one array per plan input: aligned
        C-contiguous arrays of the plan's dtype of shape (batch, timesteps, features) or
        (batch, features) as declared, one batch size, only finite values (checked here).
        `states` (from new_states, for a plan that can stream) holds the states each recurrent
        op starts from and receives those it ends with. `n_threads`: the threads to use at most
        (None: the package's setting)."""
        return self._call(inputs, states, False, resolve_threads(n_threads), True)

    def step(self, inputs, PlanStates states not None, *, n_threads=None, check_weights=True):
        """One timestep of a stream: the sequence input as (batch, features), the outputs for it
        without time axis, the states updated in place. The shortest path through the plan: a
        streamed step is a few microseconds of kernel work. check_weights=False skips a
        reduced-precision plan's comparison of the weights with those it packed (which reads
        every weight: more than a step at large sizes), for a caller that knows they did not
        change."""
        return self._call(inputs, states, True, resolve_threads(n_threads), check_weights)

    @property
    def scratch_bytes(self):
        """The bytes of scratch the plan keeps between calls (at most SCRATCH_KEPT_BYTES)."""
        return 0 if self.scratch is None else self.scratch.nbytes

    def new_states(self, int batch_size):
        """Zero states for streaming batches of `batch_size` through this plan (PlanStates)."""
        return PlanStates(self, batch_size)

    cdef list _call(self, inputs, PlanStates states, bint one_step, int nt, bint check_weights):
        if type(inputs) is not list and type(inputs) is not tuple:
            raise TypeError(f"inputs must be a list of arrays, one per plan input, got "
                            f"{type(inputs).__name__}")
        if len(inputs) != self.n_inputs:
            raise ValueError(f"the plan takes {self.n_inputs} inputs, got {len(inputs)}")
        if (states is not None or one_step) and self.stream_error is not None:
            raise ValueError(f"this plan cannot stream: {self.stream_error}")
        cdef int k, B = -1, T = 0
        cdef cnp.ndarray xa
        checked = []
        for k in range(self.n_inputs):
            xa = self._checked(inputs[k], k, one_step)
            if B == -1:
                B = xa.shape[0]
            elif xa.shape[0] != B:
                raise ValueError(f"the plan's inputs have different batch sizes: "
                                 f"{[getattr(x, 'shape', None) for x in inputs]}")
            checked.append(xa)
        if states is not None and (states.plan is not self or states.batch_size != B):
            raise ValueError(f"these states are for batches of {states.batch_size} through "
                             "another plan" if states.plan is not self else
                             f"these states are for batches of {states.batch_size}, not {B}")

        cdef bint own = not self.busy
        cdef Layout mine
        cdef Layout *L = &self.own
        if not own:  # a second thread running the plan at once: its own layout and scratch
            if not self._alloc_layout(&mine):
                self._free_layout(&mine)
                raise MemoryError("could not allocate an inference plan's layout")
            L = &mine
        else:
            self.busy = True
        try:
            if check_weights and self.precision != "float32":
                self._sync_reduced()
            return self._run_with(L, checked, B, states, one_step, own, nt)
        finally:
            if own:
                self.busy = False
            else:
                self._free_layout(&mine)

    cdef list _run_with(self, Layout *L, list checked, int B, PlanStates states, bint one_step,
                        bint own, int nt):
        self._layout(L, checked, B, one_step, nt)
        # Outputs: new arrays the last ops write into (a slot given twice, or an input given
        # back, is copied afterwards).
        cdef int k, s, n
        cdef cnp.npy_intp dims[3]
        outs = []
        for k in range(self.n_outputs):
            s = self.out_slots[k]
            if self.slots[s].output != k:
                outs.append(None)
                continue
            dims[0], dims[1], dims[2] = B, L.steps[s], self.slots[s].width
            if L.steps[s] and not one_step:
                a = cnp.PyArray_EMPTY(3, dims, self.typenum, 0)
            else:
                dims[1] = dims[2]
                a = cnp.PyArray_EMPTY(2, dims, self.typenum, 0)
            L.ptr[s] = cnp.PyArray_DATA(<cnp.ndarray>a)
            outs.append(a)
        scratch = self.scratch
        if not own or scratch is None or scratch.size < L.total:
            scratch = np.empty(max(L.total, 1), self.dtype)
            if own and scratch.nbytes <= SCRATCH_KEPT_BYTES:
                self.scratch = scratch
        cdef char *base = <char *>cnp.PyArray_DATA(<cnp.ndarray>scratch)
        cdef size_t item = self.itemsize
        for s in range(self.n_slots):
            if self.slots[s].group >= 0:
                L.ptr[s] = base + L.offset[self.slots[s].group] * item
        for k in range(self.n_inputs):
            L.ptr[self.in_slots[k]] = cnp.PyArray_DATA(<cnp.ndarray>checked[k])
        start_interruptible()
        cdef void **state_ptrs = NULL if states is None else states.ptrs
        with nogil:
            if self.f32:
                run_ops(<float *>base, self.c_ops, self.n_ops, self.op_slots, self.slots, L, B,
                        state_ptrs, nt)
            else:
                run_ops(<double *>base, self.c_ops, self.n_ops, self.op_slots, self.slots, L, B,
                        state_ptrs, nt)
        raise_if_interrupted()
        for k in range(self.n_outputs if self.copies else 0):
            if outs[k] is None:  # an input, or a slot an earlier output already holds
                s = self.out_slots[k]
                src = checked[self.slots[s].source] if self.slots[s].source >= 0 \
                    else outs[self.slots[s].output]
                outs[k] = src.reshape(src.shape[0], -1).copy() if one_step else src.copy()
        return outs

    cdef cnp.ndarray _checked(self, x, int k, bint one_step):
        """Input k as the plan takes it: an aligned C-contiguous array of its dtype, of its
        declared shape (one step: without time axis), none of it empty, every value finite."""
        if not isinstance(x, np.ndarray) or cnp.PyArray_TYPE(<cnp.ndarray>x) != self.typenum \
                or not cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>x) \
                or not cnp.PyArray_ISALIGNED(<cnp.ndarray>x):
            raise TypeError(f"x must be an aligned C-contiguous {self.dtype} array" +
                            (f" (input {k})" if self.n_inputs > 1 else ""))
        cdef cnp.ndarray xa = <cnp.ndarray>x
        cdef Slot *sl = &self.slots[self.in_slots[k]]
        cdef int ndim = 3 if sl.steps != 0 and not one_step else 2
        layout = "batch, timesteps, " if ndim == 3 else "batch, "
        if xa.ndim != ndim or xa.shape[ndim - 1] != sl.width or xa.size == 0 \
                or (ndim == 3 and sl.steps > 0 and xa.shape[1] != sl.steps):
            raise ValueError(f"x must have shape ({layout}{sl.width}) with at least one "
                             f"sequence{' and step' if ndim == 3 else ''}"
                             + (f" and {sl.steps} steps" if ndim == 3 and sl.steps > 0 else "")
                             + f", got {x.shape}" + (f" (input {k})" if self.n_inputs > 1 else ""))
        if xa.size // sl.width > _INT_MAX:
            raise ValueError(f"x of shape {x.shape} is too large for the kernels")
        if not _all_finite(xa):
            raise ValueError("x contains NaN or infinite values")
        return xa

    cdef void _layout(self, Layout *L, list checked, int B, bint one_step, int nt) except *:
        """Every slot's steps for this run, the work area of the recurrent and conv ops (with
        nt threads), the arena's regions: every size the run needs, before it starts."""
        cdef int i, j, s, x, T
        cdef size_t steps_total, need
        cdef Op *op
        cdef gru_shape g
        cdef lstm_shape l
        cdef conv1d_shape c
        cdef cnp.ndarray xa
        for s in range(self.n_slots):
            L.steps[s] = 0
        for j in range(self.n_inputs):
            s = self.in_slots[j]
            xa = checked[j]
            L.steps[s] = 0 if self.slots[s].steps == 0 else (1 if one_step else xa.shape[1])
        L.work = 0
        for i in range(self.n_ops):
            op = &self.c_ops[i]
            x = self.op_slots[op.in0]
            T = L.steps[x]
            if op.kind == OP_GRU:
                _gru_shape(&g, op, B, T)
                L.work = max(L.work, gru_inference_work_size(&g, nt) + <size_t>B * g.H)
                L.steps[self.op_slots[op.out0]] = T if op.return_sequences else 0
            elif op.kind == OP_LSTM:
                _lstm_shape(&l, op, B, T)
                L.work = max(L.work, lstm_inference_work_size(&l, nt) + 2 * <size_t>B * l.H)
                L.steps[self.op_slots[op.out0]] = T if op.return_sequences else 0
            elif op.kind == OP_REPEAT:
                L.steps[self.op_slots[op.out0]] = op.n
            elif op.kind == OP_POOL:
                L.steps[self.op_slots[op.out0]] = _pooled_steps(T, op.pool_size, op.strides,
                                                                op.same)
                if L.steps[self.op_slots[op.out0]] < 1:
                    raise ValueError(f"op {i} (PoolOp): field 'pool_size': a 'valid' window of "
                                     f"{op.pool_size} steps is longer than slot {x} ({T} "
                                     f"steps in this run)")
            elif op.kind == OP_CONV:
                if not _conv_shape(&c, op, B, T):
                    raise ValueError(f"op {i} (ConvOp): field 'kernel': a convolution of "
                                     f"{op.kernel_size} taps leaves no output step of slot {x} "
                                     f"({T} steps in this run)")
                L.work = max(L.work, conv1d_forward_work_size(&c, nt))
                L.steps[self.op_slots[op.out0]] = c.T_out
            elif op.kind == OP_GLOBAL_POOL:  # (batch, channels), or (batch, 1, channels)
                L.steps[self.op_slots[op.out0]] = self.slots[self.op_slots[op.out0]].steps
            elif op.kind == OP_CONCAT and op.time_axis:
                steps_total = 0
                for j in range(op.n_in):
                    steps_total += L.steps[self.op_slots[op.in0 + j]]
                if steps_total > <size_t>_INT_MAX:
                    raise ValueError(f"op {i}: the concatenation has too many steps")
                L.steps[self.op_slots[op.out0]] = <int>steps_total
            else:
                if op.kind in (OP_MERGE, OP_CONCAT):
                    for j in range(1, op.n_in):
                        if L.steps[self.op_slots[op.in0 + j]] != T:
                            raise ValueError(
                                f"op {i} (MergeOp): field 'inputs': slot "
                                f"{self.op_slots[op.in0 + j]} has "
                                f"{L.steps[self.op_slots[op.in0 + j]]} steps in this run, slot "
                                f"{x} has {T}")
                L.steps[self.op_slots[op.out0]] = T
            # a recurrent op's state outputs have no time axis (their steps stay 0)
        cdef int n_groups = max(self.n_groups, 1)
        for j in range(n_groups):
            L.size[j] = 0
        for s in range(self.n_slots):
            if self.slots[s].group >= 0:
                need = <size_t>B * max(L.steps[s], 1) * self.slots[s].width
                need = (need + 15) & ~(<size_t>15)  # 64-byte aligned regions (16 floats)
                L.size[self.slots[s].group] = max(L.size[self.slots[s].group], need)
        L.work = (L.work + 15) & ~(<size_t>15)
        L.total = L.work
        for j in range(n_groups):
            L.offset[j] = L.total
            L.total += L.size[j]


cdef void run_ops(floating *work, const Op *ops, int n_ops, const int *op_slots,
                  const Slot *slots, Layout *L, int B, void **states, int nt) noexcept nogil:
    """Every op of a plan in order, in the precision of `work` (the arena's start: the recurrent
    ops' work area). `states` (NULL unless streaming) holds the recurrent states, updated in
    place; else a recurrent op starts from its state inputs, or zeros."""
    cdef size_t width
    cdef int i, j, rows
    cdef gru_shape g
    cdef lstm_shape l
    cdef dense_shape d
    cdef conv1d_shape c
    cdef floating *src
    cdef floating *dst
    cdef floating *y
    cdef floating *h0
    cdef floating *c0
    cdef floating *h_last
    cdef floating *c_last
    cdef const Op *op
    cdef const int *ins
    cdef const int *outs
    for i in range(n_ops):
        op = &ops[i]
        ins = op_slots + op.in0
        outs = op_slots + op.out0
        src = <floating *>L.ptr[ins[0]]
        dst = <floating *>L.ptr[outs[0]]
        rows = B * max(L.steps[ins[0]], 1)
        if op.kind == OP_GRU or op.kind == OP_LSTM:
            width = <size_t>B * op.units
            if op.kind == OP_GRU:
                _gru_shape(&g, op, B, L.steps[ins[0]])
                h_last = work + gru_inference_work_size(&g, nt)  # scratch after the work area
            else:
                _lstm_shape(&l, op, B, L.steps[ins[0]])
                h_last = work + lstm_inference_work_size(&l, nt)
            c_last = h_last + width
            if states != NULL:  # a stream: from the carried states, updated in place
                h_last, c_last = <floating *>states[2 * i], <floating *>states[2 * i + 1]
                h0, c0 = h_last, c_last
            elif op.n_in > 1:  # initial states from other tensors
                h0 = <floating *>L.ptr[ins[1]]
                c0 = <floating *>L.ptr[ins[2]] if op.kind == OP_LSTM else NULL
            else:
                h0, c0 = NULL, NULL
            y = dst if op.return_sequences else NULL
            if op.uq != NULL:  # in reduced precision (a float32 plan's only)
                if floating is float:
                    if op.kind == OP_GRU:
                        gru_forward_reduced_f32(&g, nt, src, op.wq, op.uq, <float *>op.b, h0,
                                                NULL, y, h_last, work)
                    else:
                        lstm_forward_reduced_f32(&l, nt, src, op.wq, op.uq, <float *>op.b, h0,
                                                 c0, NULL, y, h_last, c_last, work)
            elif op.kind == OP_GRU:
                run_gru_forward(&g, nt, src, <floating *>op.w, <floating *>op.u,
                                <floating *>op.b, h0, NULL, NULL, y, h_last, NULL, work)
            else:
                run_lstm_forward(&l, nt, src, <floating *>op.w, <floating *>op.u,
                                 <floating *>op.b, h0, c0, NULL, NULL, y, h_last, c_last, NULL,
                                 work)
            if not op.return_sequences:
                memcpy(dst, h_last, width * sizeof(floating))
            if op.n_out > 1:  # return_state: h, then c (LSTM)
                memcpy(L.ptr[outs[1]], h_last, width * sizeof(floating))
                if op.kind == OP_LSTM:
                    memcpy(L.ptr[outs[2]], c_last, width * sizeof(floating))
        elif op.kind == OP_DENSE:
            d.N, d.IN, d.OUT = rows, op.features, op.units
            if op.wq != NULL:
                if floating is float:
                    plan_dense_reduced_f32(op.wq, nt, rows, op.features, op.units, src,
                                           <float *>op.b, dst)
            else:
                run_dense_forward(&d, nt, src, <floating *>op.w, <floating *>op.b, dst)
            if op.code:
                run_activation(op.code, rows, op.units, dst, dst)
        elif op.kind == OP_ACTIVATION:
            run_activation(op.code, rows, op.units, src, dst)
        elif op.kind == OP_REPEAT:
            run_repeat(B, op.n, op.units, src, dst)
        elif op.kind == OP_POOL:
            run_pool(op.code, B, L.steps[ins[0]], L.steps[outs[0]], op.units, op.pool_size,
                     op.strides, src, dst)
        elif op.kind == OP_GLOBAL_POOL:  # one window over every step
            run_pool(op.code, B, L.steps[ins[0]], 1, op.units, L.steps[ins[0]],
                     L.steps[ins[0]], src, dst)
        elif op.kind == OP_CONV:  # its work area: the arena's start, as a recurrent op's
            _conv_shape(&c, op, B, L.steps[ins[0]])
            run_conv1d(&c, nt, op.code, src, op.w, op.b, dst, work)
        elif op.kind == OP_NORM:
            run_normalize(rows, op.units, op.mean, op.variance, op.epsilon, op.w, op.b, src, dst)
        elif op.kind == OP_MERGE:
            for j in range(op.n_in):
                L.gather[j] = L.ptr[ins[j]]
            run_merge(op.code, op.n_in, L.gather, <size_t>rows * op.units, dst)
        else:  # OP_CONCAT
            for j in range(op.n_in):
                L.gather[j] = L.ptr[ins[j]]
                L.chunks[j] = <size_t>max(L.steps[ins[j]], 1) * slots[ins[j]].width \
                    if op.time_axis else <size_t>slots[ins[j]].width
            run_concat(op.n_in, L.gather, L.chunks, B if op.time_axis else rows, dst)


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
            for k in range({OP_GRU: 1, OP_LSTM: 2}.get(plan.c_ops[i].kind, 0)):
                a = np.zeros((batch_size, plan.c_ops[i].units), plan.dtype)
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


cdef inline bint _conv_shape(conv1d_shape *c, const Op *op, int B, int T) noexcept nogil:
    """c for a conv op over (B, T, features), its padding resolved; False when that leaves no
    output step (T_out is then 0)."""
    cdef long long left
    cdef long long out = conv1d_geometry(op.padding, T, op.kernel_size, op.strides, op.dilation,
                                         &left)
    c.N, c.T, c.C, c.F = B, T, op.features, op.units
    c.K, c.stride, c.dilation, c.groups = op.kernel_size, op.strides, op.dilation, op.groups
    c.pad_left, c.T_out = <int>left, <int>(out if out > 0 else 0)
    return out > 0


cdef inline void _gru_shape(gru_shape *g, const Op *op, int B, int T) noexcept nogil:
    g.T, g.B, g.F, g.H = T, B, op.features, op.units
    g.reset_after, g.reverse, g.masked_state = op.reset_after, op.reverse, 0


cdef bint _all_finite(cnp.ndarray x):
    """Whether x (C-contiguous float32 or float64) holds no NaN or infinity: one pass in C over
    the exponent bits (all ones exactly for NaN and infinity), an integer OR that vectorises,
    where a float reduction would be one dependent add per value."""
    cdef size_t n = x.size, i
    cdef const uint32_t *f
    cdef const uint64_t *d
    cdef bint bad = 0
    if cnp.PyArray_TYPE(x) == cnp.NPY_FLOAT32:
        f = <const uint32_t *>cnp.PyArray_DATA(x)
        for i in range(n):
            bad |= (f[i] & 0x7f800000u) == 0x7f800000u
        return not bad
    d = <const uint64_t *>cnp.PyArray_DATA(x)
    for i in range(n):
        bad |= (d[i] & 0x7ff0000000000000u) == 0x7ff0000000000000u
    return not bad
