"""Property-based tests (hypothesis) at the Cython boundary: for random shapes, dtypes, memory
layouts, lengths and thread counts, every public kernel binding either matches a NumPy reference
(float64, from the values as the binding converts them; tolerances of the kernels' own tests) or
raises a ValueError/TypeError whose message names the offending argument.

Hypothesis draws the structure of each call and at most one fault (a bad argument); the values
come from a drawn seed, normal like conftest.random_gru, so the tolerances keep their meaning."""

import contextlib

import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st

import gru_native
import gru_reference as ref
from gru_native.kernels import optim as _optim
from gru_native.kernels.dense import dense_backward, dense_forward
from gru_native.kernels.inference import InferencePlan
from gru_native.kernels.plan_ops import DenseOp, RecurrentOp
from helpers import OPTIM_TOL, TOL, assert_close, assert_close_optim, check_dense

# Reproducible in CI (same examples every run) and no example database in the work tree.
SETTINGS = dict(deadline=None, derandomize=True, database=None)
PLAN_TOL = {np.float32: 1e-5, np.float64: 1e-12}  # as tests/test_inference.py

FLOATS = [np.float32, np.float64]
X_DTYPES = [np.float16, np.float32, np.float64, np.int32, np.bool_, ">f4"]
OTHER_DTYPES = [np.float16, np.float32, np.float64, ">f8"]  # h0, bias, dy...: converted
LAYOUTS = ["C", "F", "strided", "reversed", "swapped", "unaligned", "list"]  # all converted
# The kernel's dtype is the computing dtype, so it has no list form (a list would become
# float64); a byte-swapped kernel computes in its precision, copied to native order.
KERNEL_LAYOUTS = ["C", "F", "strided", "reversed", "swapped", "unaligned"]

seeds = st.integers(0, 2**32 - 1)
dims = st.integers(1, 7)
thread_counts = st.sampled_from([1, 2])


def laid_out(a, layout):
    """The values of `a` in another memory layout, or as nested lists."""
    if layout == "F":
        return np.asfortranarray(a)
    if layout == "strided":  # a view of every other element of a wider array
        wide = np.zeros(tuple(2 * n for n in a.shape), a.dtype)
        view = wide[(slice(None, None, 2),) * a.ndim]
        view[...] = a
        return view
    if layout == "reversed":  # negative strides
        flipped = np.ascontiguousarray(a[(slice(None, None, -1),) * a.ndim])
        return flipped[(slice(None, None, -1),) * a.ndim]
    if layout == "swapped":  # the other byte order
        return a.astype(a.dtype.newbyteorder("S"))
    if layout == "unaligned":  # C-contiguous, but one byte off the dtype's alignment
        out = np.zeros(a.nbytes + 1, np.uint8)[1:].view(a.dtype).reshape(a.shape)
        out[...] = a
        return out
    if layout == "list" and a.size:  # (an empty list would lose the shape)
        return a.tolist()
    return a


@st.composite
def arrays(draw, values, dtypes, layouts=LAYOUTS):
    """`values` (float64) cast to a drawn dtype, in a drawn layout."""
    return laid_out(values.astype(draw(st.sampled_from(dtypes))), draw(st.sampled_from(layouts)))


def as_converted(a, dtype):
    """What the kernel computes with: `a` converted to its dtype, then to float64."""
    return None if a is None else np.asarray(a).astype(dtype).astype(np.float64)


@contextlib.contextmanager
def num_threads(n):
    before = gru_native.get_num_threads()
    gru_native.set_num_threads(n)
    try:
        yield
    finally:
        gru_native.set_num_threads(before)


def fails_as(error, call):
    """call() raises error = (exception type, regex naming the argument)."""
    with pytest.raises(error[0], match=error[1]):
        call()


# ---- GRU -------------------------------------------------------------------------------------

GRU_FAULTS = ["x_complex", "x_2d", "x_no_steps", "kernel_int",
              "recurrent_shape", "bias_other_variant", "h0_shape", "lengths_out_of_range",
              "lengths_float", "lengths_shape", "dy_shape", "dkernel_out_unaligned"]


@st.composite
def lengths(draw, B, T):
    """None, or B valid lengths in [0, T] of a drawn integer dtype (or a list)."""
    if draw(st.booleans()):
        return None
    values = np.array(draw(st.lists(st.integers(0, T), min_size=B, max_size=B)))
    kind = draw(st.sampled_from([np.int64, np.int32, np.uint8, ">i8", "list"]))
    return values.tolist() if kind == "list" else values.astype(kind)


@settings(max_examples=1000, **SETTINGS)
@given(data=st.data(), B=dims, T=dims, I=dims, H=dims, seed=seeds, dtype=st.sampled_from(FLOATS),
       reset_after=st.booleans(), reverse=st.booleans(), use_h0=st.booleans(),
       threads=thread_counts, fault=st.none() | st.sampled_from(GRU_FAULTS))
def test_gru_matches_reference_or_names_the_bad_argument(data, B, T, I, H, seed, dtype,
                                                         reset_after, reverse, use_h0, threads,
                                                         fault):
    """gru_forward + gru_backward on any dtype/layout/lengths give the NumPy reference's
    outputs and gradients (in the kernel's dtype), or raise naming the bad argument."""
    rng = np.random.default_rng(seed)
    bias_rows = (2, 3 * H) if reset_after else (3 * H,)
    args = dict(
        x=data.draw(arrays(rng.normal(size=(B, T, I)), X_DTYPES)),
        kernel=data.draw(arrays(rng.normal(scale=0.5, size=(I, 3 * H)), [dtype], KERNEL_LAYOUTS)),
        recurrent_kernel=data.draw(arrays(rng.normal(scale=0.5, size=(H, 3 * H)), OTHER_DTYPES)),
        bias=data.draw(arrays(rng.normal(scale=0.5, size=bias_rows), OTHER_DTYPES)),
        h0=data.draw(arrays(rng.normal(scale=0.5, size=(B, H)), OTHER_DTYPES)) if use_h0 else None,
        lengths=data.draw(lengths(B, T)))
    dy = data.draw(st.none() | arrays(rng.normal(size=(B, T, H)), OTHER_DTYPES))
    dh = data.draw(st.none() | arrays(rng.normal(size=(B, H)), OTHER_DTYPES))
    opts = dict(reset_after=reset_after, reverse=reverse)

    error, out = None, None
    if fault == "x_complex":
        args["x"], error = np.zeros((B, T, I), np.complex64), (TypeError, "x has dtype complex64")
    elif fault == "x_2d":
        args["x"], error = np.zeros((B, I)), (ValueError, "x must be 3-D")
    elif fault == "x_no_steps":
        args["x"], error = np.zeros((B, 0, I)), (ValueError, "x must have at least one")
    elif fault == "kernel_int":
        args["kernel"], error = np.zeros((I, 3 * H), np.int32), (TypeError, "kernel")
    elif fault == "recurrent_shape":
        args["recurrent_kernel"] = np.zeros((H + 1, 3 * H))
        error = (ValueError, "recurrent_kernel must have shape")
    elif fault == "bias_other_variant":
        args["bias"] = np.zeros((3 * H,) if reset_after else (2, 3 * H))
        error = (ValueError, "bias must have shape")
    elif fault == "h0_shape":
        args["h0"], error = np.zeros((B, H + 1)), (ValueError, "h0 must have shape")
    elif fault == "lengths_out_of_range":
        bad = np.full(B, T)
        bad[data.draw(st.integers(0, B - 1))] = data.draw(st.sampled_from([-1, T + 1, 2**40]))
        args["lengths"], error = bad, (ValueError, r"lengths must lie in \[0, ")
    elif fault == "lengths_float":
        args["lengths"], error = np.full(B, float(T)), (TypeError, "lengths must be integers")
    elif fault == "lengths_shape":
        args["lengths"], error = np.full(B + 1, T), (ValueError, "lengths must have shape")
    elif fault == "dy_shape":
        dy, error = np.zeros((B, T + 1, H)), (ValueError, "dy must have shape")
    elif fault == "dkernel_out_unaligned":  # written in place: never copied, so refused
        out = (laid_out(np.zeros((I, 3 * H), dtype), "unaligned"), None, None)
        error = (ValueError, "dkernel must be")

    def run():
        y, h_last, cache = gru_native.gru_forward(**args, training=True, **opts)
        return (y, h_last) + gru_native.gru_backward(cache, dy, dh, need_dh0=True, out=out)

    with num_threads(threads):
        if error:
            return fails_as(error, run)
        got = run()
    x, W, U, b, h0 = (as_converted(args[k], dtype)
                      for k in ("x", "kernel", "recurrent_kernel", "bias", "h0"))
    lens = None if args["lengths"] is None else np.asarray(args["lengths"], np.int64)
    ry, rh, tape = ref.forward(x, W, U, b, h0, lens, **opts)
    dy64 = np.zeros((B, T, H)) if dy is None else as_converted(dy, dtype)
    dh64 = np.zeros((B, H)) if dh is None else as_converted(dh, dtype)
    want = (ry, rh) + ref.backward(x, W, U, tape, dy64, dh64, lens, **opts)
    names = ["y", "h_last", "dx", "dh0", "dkernel", "drecurrent", "dbias"]
    for name, g, w in zip(names, got, want):
        assert g.dtype == dtype, name
        assert_close(g, w, TOL[dtype], name)


# ---- Dense -----------------------------------------------------------------------------------

DENSE_FAULTS = ["x_complex", "x_3d", "x_columns", "kernel_int", "kernel_empty", "bias_shape",
                "dy_shape"]


@settings(max_examples=500, **SETTINGS)
@given(data=st.data(), N=st.integers(0, 7), I=dims, O=dims, seed=seeds,
       dtype=st.sampled_from(FLOATS), use_bias=st.booleans(), threads=thread_counts,
       fault=st.none() | st.sampled_from(DENSE_FAULTS))
def test_dense_matches_numpy_or_names_the_bad_argument(data, N, I, O, seed, dtype, use_bias,
                                                       threads, fault):
    """dense_forward/dense_backward on any dtype/layout give x @ W + b and its gradients
    (no rows included), or raise naming the bad argument."""
    rng = np.random.default_rng(seed)
    x = data.draw(arrays(rng.normal(size=(N, I)), X_DTYPES))
    w = data.draw(arrays(rng.normal(size=(I, O)), [dtype], KERNEL_LAYOUTS))
    b = data.draw(arrays(rng.normal(size=O), OTHER_DTYPES)) if use_bias else None
    dy = data.draw(arrays(rng.normal(size=(N, O)), OTHER_DTYPES))

    error = None
    if fault == "x_complex":
        x, error = np.zeros((N, I), np.complex128), (TypeError, "x has dtype complex128")
    elif fault == "x_3d":
        x, error = np.zeros((N, 1, I)), (ValueError, "x must be 2-D")
    elif fault == "x_columns":
        x, error = np.zeros((N, I + 1)), (ValueError, r"x must have shape")
    elif fault == "kernel_int":
        w, error = np.zeros((I, O), np.int32), (TypeError, "kernel")
    elif fault == "kernel_empty":
        w, error = np.zeros((I, 0), dtype), (ValueError, "kernel must have shape")
    elif fault == "bias_shape":
        b, error = np.zeros(O + 1), (ValueError, "bias must have shape")
    elif fault == "dy_shape":
        dy, error = np.zeros((N + 1, O)), (ValueError, "dy must have shape")

    def run():
        return (dense_forward(x, w, b),) + dense_backward(x, w, dy)

    with num_threads(threads):
        if error:
            return fails_as(error, run)
        got = run()
    x64, w64, dy64 = (as_converted(a, dtype) for a in (x, w, dy))
    b64 = 0 if b is None else as_converted(b, dtype)
    want = (x64 @ w64 + b64, dy64 @ w64.T, x64.T @ dy64, dy64.sum(0))
    for name, g, r in zip(["y", "dx", "dkernel", "dbias"], got, want):
        check_dense(g, r, dtype, name)


# ---- Inference plan --------------------------------------------------------------------------

PLAN_FAULTS = ["kernel_1d", "kernel_swapped", "kernel_unaligned", "not_a_record", "unknown_kind",
               "bias_dtype", "input_unwritten", "output_rewritten", "slot_negative",
               "flag_not_bool", "x_list", "x_other_dtype", "x_unaligned", "x_features", "x_nan"]


@st.composite
def plan_stacks(draw, F):
    """A GRU, then up to two GRU or Dense layers: (kind, units, reset_after, reverse,
    return_sequences or use_bias) each; a GRU only where sequences still arrive."""
    stack, sequence = [], True
    for i in range(draw(st.integers(1, 3))):
        kinds = ["gru", "dense"] if sequence else ["dense"]
        kind = "gru" if i == 0 else draw(st.sampled_from(kinds))
        layer = (kind, draw(st.integers(1, 5)), draw(st.booleans()), draw(st.booleans()),
                 draw(st.booleans()))
        sequence = sequence and (kind == "dense" or layer[4])
        stack.append(layer)
    return stack


@settings(max_examples=500, **SETTINGS)
@given(data=st.data(), B=st.integers(1, 5), T=st.integers(1, 5), F=st.integers(1, 5),
       seed=seeds, dtype=st.sampled_from(FLOATS), threads=thread_counts,
       fault=st.none() | st.sampled_from(PLAN_FAULTS))
def test_inference_plan_matches_reference_or_names_the_bad_argument(data, B, T, F, seed, dtype,
                                                                    threads, fault):
    """InferencePlan(records).run([x]) gives the layers' NumPy composition (GRU reference,
    x @ W + b), or building or running it raises naming the bad op and field or argument."""
    rng = np.random.default_rng(seed)
    ops, width = [], F
    for i, (kind, units, flag_a, flag_b, flag_c) in enumerate(data.draw(plan_stacks(F))):
        if kind == "gru":
            w, u, b = (rng.normal(scale=0.5, size=shape).astype(dtype) for shape in [
                (width, 3 * units), (units, 3 * units), (2, 3 * units) if flag_a else 3 * units])
            ops.append(RecurrentOp("gru", w, u, b, flag_a, flag_b, flag_c, i, (), (i + 1,)))
        else:
            b = rng.normal(size=units).astype(dtype) if flag_c else None
            ops.append(DenseOp(rng.normal(size=(width, units)).astype(dtype), b, "linear", i,
                               i + 1))
        width = units
    x = rng.normal(size=(B, T, F)).astype(dtype)

    error, k = None, data.draw(st.integers(0, len(ops) - 1))  # the op a fault goes to
    op = ops[k]
    where = rf"op {k} \({type(op).__name__}\): field"
    out_field = "outputs" if isinstance(op, RecurrentOp) else "output"
    if fault == "kernel_1d":
        op, error = op._replace(kernel=op.kernel.ravel()), (ValueError, f"{where} 'kernel'")
    elif fault in ("kernel_swapped", "kernel_unaligned"):  # the plan points into its weights
        op = op._replace(kernel=laid_out(op.kernel, fault.split("_")[1]))
        error = (ValueError, f"{where} 'kernel' must be")
    elif fault == "not_a_record":
        op, error = tuple(op), (ValueError, f"op {k} must be a RecurrentOp")
    elif fault == "unknown_kind":
        if isinstance(op, RecurrentOp):
            op, error = op._replace(kind="conv"), (ValueError, f"{where} 'kind'")
        else:
            op, error = op._replace(activation="conv"), (ValueError, f"{where} 'activation'")
    elif fault == "bias_dtype":  # the plan points into its weights: no conversion
        bias = np.zeros(op.kernel.shape[1], dtype) if op.bias is None else op.bias
        op = op._replace(bias=bias.astype(np.float32 if dtype == np.float64 else np.float64))
        error = (ValueError, f"{where} 'bias' must be")
    elif fault == "input_unwritten":
        op, error = op._replace(input=k + 1), (ValueError, f"{where} 'input': slot {k + 1} is not written")
    elif fault == "output_rewritten":
        bad = (k,) if isinstance(op, RecurrentOp) else k
        op = op._replace(**{out_field: bad})
        error = (ValueError, f"{where} '{out_field}': slot {k} is already written")
    elif fault == "slot_negative":
        op, error = op._replace(input=-1), (ValueError, f"{where} 'input' must be a slot id")
    elif fault == "flag_not_bool":
        if isinstance(op, RecurrentOp):
            op, error = op._replace(reverse=1), (ValueError, f"{where} 'reverse' must be True")
        else:
            op, error = op._replace(input=float(k)), (ValueError, f"{where} 'input' must be a slot")
    elif fault in ("x_list", "x_unaligned"):
        x, error = laid_out(x, fault.split("_")[1]), (TypeError, "x must be")
    elif fault == "x_other_dtype":
        x = x.astype(np.float64 if dtype == np.float32 else np.float32)
        error = (TypeError, "x must be")
    elif fault == "x_features":
        x, error = np.zeros((B, T, F + 1), dtype), (ValueError, "x must have shape")
    elif fault == "x_nan":
        x = x.copy()
        x[data.draw(st.integers(0, B - 1)), data.draw(st.integers(0, T - 1)), 0] = np.nan
        error = (ValueError, "x contains NaN")
    ops[k] = op

    def run():
        plan = InferencePlan(ops, dtype, [0], [(None, F)], [len(ops)])
        return plan.run([x])

    with num_threads(threads):
        if error:
            return fails_as(error, run)
        (got,) = run()
    want = x.astype(np.float64)
    for op in ops:
        if isinstance(op, RecurrentOp):
            y, h, _ = ref.forward(want, op.kernel, op.recurrent_kernel, op.bias,
                                  reset_after=op.reset_after, reverse=op.reverse)
            want = y if op.return_sequences else h
        else:
            want = want @ op.kernel + (0 if op.bias is None else op.bias)
    assert got.dtype == dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=PLAN_TOL[dtype], atol=PLAN_TOL[dtype])


# ---- Optimizers ------------------------------------------------------------------------------

OPTIM_FAULTS = ["params_list", "params_swapped", "params_2d", "params_readonly",
                "params_unaligned", "grads_dtype", "grads_size", "slot_strided", "slots_alias"]


def numpy_step(kind, p, g, slots, hp):
    """The kernels' update (csrc/optim_impl.h, Keras' formulas) in float64: new params, slots."""
    g = g * hp["grad_scale"]
    if hp["clipvalue"] > 0:
        g = np.clip(g, -hp["clipvalue"], hp["clipvalue"])
    lr = hp["learning_rate"]
    if hp["weight_decay"] > 0:
        p = p - p * hp["weight_decay"] * lr
    if kind == "sgd":
        mu, (m,) = hp["momentum"], slots
        if mu == 0:
            return p - g * lr, [m]
        m = m * mu - g * lr
        return p + (m * mu - g * lr if hp["nesterov"] else m), [m]
    m, v, vhat = slots
    b1, b2, t = hp["beta_1"], hp["beta_2"], hp["step"]
    alpha = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
    m = m + (g - m) * (1 - b1)
    v = v + (g * g - v) * (1 - b2)
    if vhat is not None:
        vhat = np.maximum(vhat, v)
    return p - m * alpha / (np.sqrt(v if vhat is None else vhat) + hp["epsilon"]), [m, v, vhat]


@settings(max_examples=500, **SETTINGS)
@given(data=st.data(), kind=st.sampled_from(["sgd", "adam"]), n=st.integers(0, 80), seed=seeds,
       dtype=st.sampled_from(FLOATS), threads=thread_counts,
       learning_rate=st.sampled_from([1e-3, 0.1, 1.0]), weight_decay=st.sampled_from([0.0, 0.1]),
       grad_scale=st.sampled_from([1.0, 0.5]), clipvalue=st.sampled_from([0.0, 0.7]),
       fault=st.none() | st.sampled_from(OPTIM_FAULTS))
def test_optimizer_step_matches_numpy_or_names_the_bad_buffer(data, kind, n, seed, dtype, threads,
                                                              learning_rate, weight_decay,
                                                              grad_scale, clipvalue, fault):
    """sgd_update/adam_update change params and slots in place as the NumPy formula does, or
    raise naming the bad buffer (and then change nothing)."""
    # (a buffer of one element is contiguous however strided, of none aligned however placed)
    assume(n > 1 or fault not in ("slot_strided", "slots_alias", "params_unaligned"))
    rng = np.random.default_rng(seed)
    p, g = rng.normal(size=n).astype(dtype), rng.normal(size=n).astype(dtype)
    hp = dict(learning_rate=learning_rate, weight_decay=weight_decay, grad_scale=grad_scale,
              clipvalue=clipvalue)
    if kind == "sgd":
        hp.update(momentum=data.draw(st.sampled_from([0.0, 0.5, 0.9])),
                  nesterov=data.draw(st.booleans()))
        slots = [rng.normal(size=n).astype(dtype)]
    else:
        hp.update(beta_1=data.draw(st.sampled_from([0.0, 0.9])),
                  beta_2=data.draw(st.sampled_from([0.5, 0.999])),
                  epsilon=data.draw(st.sampled_from([1e-7, 1e-3])),
                  step=data.draw(st.integers(1, 5)))
        v = rng.random(n).astype(dtype)
        vhat = (v + rng.random(n)).astype(dtype) if data.draw(st.booleans()) else None
        slots = [rng.normal(size=n).astype(dtype), v, vhat]
    buffers = [a for a in [p, g] + slots if a is not None]
    before = [a.copy() for a in buffers]

    error, slot_name = None, "momentum" if kind == "sgd" else "m"
    if fault == "params_list":
        p, error = p.tolist(), (TypeError, "params must be a NumPy array")
    elif fault == "params_swapped":
        p, error = laid_out(p, "swapped"), (TypeError, "params has the non-native byte order")
    elif fault == "params_2d":
        p, error = p.reshape(1, n), (ValueError, "params must be 1-D")
    elif fault == "params_readonly":
        p.flags.writeable, error = False, (ValueError, "params is read-only")
    elif fault == "params_unaligned":  # updated in place: never copied, so refused
        p, error = laid_out(p, "unaligned"), (ValueError, "params must be aligned")
    elif fault == "grads_dtype":
        g = g.astype(np.float32 if dtype == np.float64 else np.float64)
        error = (TypeError, "grads has dtype")
    elif fault == "grads_size":
        g, error = np.zeros(n + 1, dtype), (ValueError, "grads has")
    elif fault == "slot_strided":
        slots[0] = np.repeat(slots[0], 2)[::2]
        error = (ValueError, f"{slot_name} must be C-contiguous")
    elif fault == "slots_alias":
        slots[0] = p[:]  # a second view of params
        error = (ValueError, "share memory")
    if kind == "sgd" and hp["momentum"] == 0 and fault in ("slot_strided", "slots_alias"):
        error = None  # the slot is not used (nor checked) without momentum

    def run():
        if kind == "sgd":
            _optim.sgd_update(p, g, slots[0], **hp)
        else:
            _optim.adam_update(p, g, *slots, **hp)

    with num_threads(threads):
        if error:
            fails_as(error, run)
            for a, b in zip(buffers, before):
                np.testing.assert_array_equal(a, b)
            return
        run()
    as64 = [a.astype(np.float64) for a in before] + [None]  # (no vhat: None)
    want_p, want_slots = numpy_step(kind, as64[0], as64[1], as64[2:2 + len(slots)], hp)
    assert_close_optim(p, want_p, OPTIM_TOL[dtype], "params")
    if kind == "adam" or hp["momentum"] != 0:
        for name, got, want in zip(["m", "v", "vhat"], slots, want_slots):
            if want is not None:
                assert_close_optim(got, want, OPTIM_TOL[dtype], name)


# ---- Threads ---------------------------------------------------------------------------------

@settings(max_examples=10, **SETTINGS)
@given(n=st.integers(-3, 4))
def test_set_num_threads_sets_or_refuses(n):
    """set_num_threads(n) makes get_num_threads() n for n >= 1, else raises and changes nothing."""
    before = gru_native.get_num_threads()
    try:
        if n < 1:
            with pytest.raises(ValueError, match="number of threads"):
                gru_native.set_num_threads(n)
            assert gru_native.get_num_threads() == before
        else:
            gru_native.set_num_threads(n)
            assert gru_native.get_num_threads() == n
    finally:
        gru_native.set_num_threads(before)
