"""The Conv1D kernels (csrc/conv1d*.c through src/gru_native/kernels/conv1d.pyx) against a
direct NumPy reference (loops over output positions) in float64, finite differences, PyTorch and
Keras 3, and the bindings' checks."""

import itertools
import os

import numpy as np
import pytest

from gru_native.kernels.conv1d import conv1d_backward, conv1d_forward, conv1d_output_length
from helpers import assert_matches_central_differences, check_dense


# ---- the reference, written from Keras' definition -------------------------------------------
def pads(T, K, stride, padding, dilation):
    """(left, right) zeros around the steps; after them every padding is "valid"."""
    span = dilation * (K - 1)
    if padding == "valid":
        return 0, 0
    if padding == "causal":
        return span, 0
    out = -(-T // stride)  # "same": ceil(T / stride) outputs, the odd zero on the right (TF)
    total = max((out - 1) * stride + span + 1 - T, 0)
    return total // 2, total - total // 2


def windows(x, K, stride, padding, dilation):
    """(padded x, [(o, the input steps output o reads)]): a "valid" convolution of padded x."""
    left, right = pads(x.shape[1], K, stride, padding, dilation)
    xp = np.pad(x, ((0, 0), (left, right), (0, 0)))
    out = (xp.shape[1] - dilation * (K - 1) - 1) // stride + 1
    return xp, [(o, o * stride + dilation * np.arange(K)) for o in range(out)], left


def reference_forward(x, w, b, stride=1, padding="valid", dilation=1, groups=1):
    K, Cg, F = w.shape
    Fg = F // groups
    xp, taps, _ = windows(x.astype(np.float64), K, stride, padding, dilation)
    y = np.zeros((x.shape[0], len(taps), F))
    for o, steps in taps:
        for g in range(groups):
            window = xp[:, steps, g * Cg:(g + 1) * Cg]  # (N, K, Cg)
            y[:, o, g * Fg:(g + 1) * Fg] = np.einsum("nkc,kcf->nf", window,
                                                      w[:, :, g * Fg:(g + 1) * Fg])
    return y + (0 if b is None else b)


def reference_backward(x, w, dy, stride=1, padding="valid", dilation=1, groups=1):
    """The adjoint of reference_forward, output position by output position."""
    K, Cg, F = w.shape
    Fg = F // groups
    xp, taps, left = windows(x.astype(np.float64), K, stride, padding, dilation)
    dxp, dw = np.zeros_like(xp), np.zeros(w.shape)
    for o, steps in taps:
        for g in range(groups):
            c, f = slice(g * Cg, (g + 1) * Cg), slice(g * Fg, (g + 1) * Fg)
            dw[:, :, f] += np.einsum("nkc,nf->kcf", xp[:, steps, c], dy[:, o, f])
            dxp[:, steps, c] += np.einsum("nf,kcf->nkc", dy[:, o, f], w[:, :, f])
    return dxp[:, left:left + x.shape[1]], dw, dy.sum((0, 1))


# ---- the options every test walks ------------------------------------------------------------
PADDINGS = ["valid", "same", "causal"]
STRIDE_DILATION = [(1, 1), (1, 2), (1, 3), (2, 1), (3, 1)]  # Keras forbids both > 1
OPTIONS = [dict(strides=s, dilation_rate=d, padding=p, groups=g, K=k)
           for (s, d), p, g, k in itertools.product(STRIDE_DILATION, PADDINGS, [1, 2], range(1, 6))]


def option_id(o):
    return f"{o['padding']}-s{o['strides']}-d{o['dilation_rate']}-g{o['groups']}-k{o['K']}"


def operands(rng, N, T, K, groups, dtype, C_per_group=3, filters=None):
    """x, kernel and bias of one call: C_per_group * groups channels, 5 filters (2 per group)."""
    C, F = C_per_group * groups, filters or (5 if groups == 1 else 2 * groups)
    x = rng.normal(size=(N, T, C)).astype(dtype)
    w = rng.normal(size=(K, C_per_group, F)).astype(dtype)
    b = rng.normal(size=F).astype(dtype)
    return x, w, b


def kwargs(o):
    return {k: v for k, v in o.items() if k != "K"}


# ---- forward, backward against the reference and finite differences -------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("o", OPTIONS, ids=option_id)
def test_forward_matches_the_reference(rng, o, dtype):
    x, w, b = operands(rng, 3, 13, o["K"], o["groups"], dtype)  # 13 steps: valid k=5 d=3 gives 1
    opts = kwargs(o)
    y = conv1d_forward(x, w, b, **opts)
    want = reference_forward(x, w.astype(np.float64), b.astype(np.float64),
                             o["strides"], o["padding"], o["dilation_rate"], o["groups"])
    check_dense(y, want, dtype, "y")
    assert y.shape[1] == conv1d_output_length(13, o["K"], o["strides"], o["padding"],
                                              o["dilation_rate"])
    no_bias = conv1d_forward(x, w, **opts)
    check_dense(no_bias, want - b.astype(np.float64), dtype, "y without bias")


@pytest.mark.parametrize("o", OPTIONS, ids=option_id)
def test_backward_matches_central_differences(rng, o):
    x, w, b = operands(rng, 2, 11 if o["dilation_rate"] < 3 else 13, o["K"], o["groups"], np.float64)
    opts = kwargs(o)
    dy = rng.normal(size=conv1d_forward(x, w, b, **opts).shape)
    dx, dw, db = conv1d_backward(x, w, dy, **opts)
    # loss = sum(dy * y): its gradients are exactly what the backward returns for this dy
    loss = lambda: float(np.sum(dy * conv1d_forward(x, w, b, **opts)))
    assert_matches_central_differences(loss, dict(x=x, kernel=w, bias=b),
                                       dict(x=dx, kernel=dw, bias=db))
    none, dw2, db2 = conv1d_backward(x, w, dy, need_dx=False, **opts)
    assert none is None
    np.testing.assert_array_equal(dw2, dw)
    np.testing.assert_array_equal(db2, db)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("o", OPTIONS[::7], ids=option_id)
def test_backward_matches_the_reference(rng, o, dtype):
    x, w, _ = operands(rng, 4, 17, o["K"], o["groups"], dtype)
    opts = kwargs(o)
    dy = rng.normal(size=conv1d_forward(x, w, **opts).shape).astype(dtype)
    want = reference_backward(x, w.astype(np.float64), dy.astype(np.float64), o["strides"],
                              o["padding"], o["dilation_rate"], o["groups"])
    for got, ref, name in zip(conv1d_backward(x, w, dy, **opts), want, ["dx", "dkernel", "dbias"]):
        check_dense(got, ref, dtype, name)


# ---- PyTorch and Keras ----------------------------------------------------------------------
TORCH_CASES = [  # strides, dilation_rate, padding, groups, K, steps
    (1, 1, "valid", 1, 3, 20), (2, 1, "valid", 2, 4, 21), (1, 3, "valid", 1, 2, 9),
    (1, 1, "same", 1, 4, 10), (1, 2, "same", 2, 5, 11), (3, 1, "same", 1, 5, 16),
    (2, 1, "same", 2, 2, 7), (1, 2, "causal", 1, 3, 12), (3, 1, "causal", 2, 4, 13),
    (1, 1, "causal", 1, 1, 5),
]


@pytest.mark.filterwarnings("ignore:Using padding='same'")  # torch copies the input: fine here
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("s,d,padding,groups,K,T", TORCH_CASES)
def test_matches_torch_with_autograd(rng, s, d, padding, groups, K, T, dtype):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x, w, b = operands(rng, 3, T, K, groups, dtype, C_per_group=2, filters=4)
    opts = dict(strides=s, dilation_rate=d, padding=padding, groups=groups)
    y = conv1d_forward(x, w, b, **opts)
    dy = rng.normal(size=y.shape).astype(dtype)
    dx, dw, db = conv1d_backward(x, w, dy, **opts)

    # torch: channels first, weight (filters, in / groups, k); the padding made explicit
    tx = torch.tensor(x.transpose(0, 2, 1), requires_grad=True)
    tw = torch.tensor(w.transpose(2, 1, 0), requires_grad=True)
    tb = torch.tensor(b, requires_grad=True)
    left, right = pads(T, K, s, padding, d)
    ty = F.conv1d(F.pad(tx, (left, right)), tw, tb, stride=s, dilation=d, groups=groups)
    ty.backward(torch.tensor(dy.transpose(0, 2, 1)))
    with torch.no_grad():
        check_dense(y, ty.double().numpy().transpose(0, 2, 1), dtype, "y")
        check_dense(dx, tx.grad.double().numpy().transpose(0, 2, 1), dtype, "dx")
        check_dense(dw, tw.grad.double().numpy().transpose(2, 1, 0), dtype, "dkernel")
        check_dense(db, tb.grad.double().numpy(), dtype, "dbias")
        if padding == "same" and s == 1:  # torch's own "same" splits the zeros as TF does
            same = F.conv1d(tx, tw, tb, padding="same", dilation=d, groups=groups)
            check_dense(y, same.double().numpy().transpose(0, 2, 1), dtype, "y, torch's same")


KERAS_CASES = [(2, 1, "same", 1, 4, 10), (3, 1, "same", 2, 5, 17), (1, 2, "same", 1, 4, 9),
               (2, 1, "causal", 1, 3, 9), (1, 3, "causal", 2, 2, 8), (3, 1, "valid", 1, 4, 12)]


@pytest.mark.parametrize("s,d,padding,groups,K,T", KERAS_CASES)
def test_matches_keras_conv1d(rng, s, d, padding, groups, K, T):
    os.environ.setdefault("KERAS_BACKEND", "jax")
    pytest.importorskip("jax")
    keras = pytest.importorskip("keras")
    x, w, b = operands(rng, 2, T, K, groups, np.float32, C_per_group=2, filters=4)
    layer = keras.layers.Conv1D(4, K, strides=s, padding=padding, dilation_rate=d, groups=groups)
    layer.build(x.shape)
    layer.set_weights([w, b])
    want = np.asarray(layer(x))
    assert layer.compute_output_shape(x.shape)[1] == conv1d_output_length(T, K, s, padding, d)
    check_dense(conv1d_forward(x, w, b, strides=s, padding=padding, dilation_rate=d,
                               groups=groups), want.astype(np.float64), np.float32, "y")


# ---- threads, shapes, conversions -------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("o", [dict(strides=1, dilation_rate=1, padding="same", groups=1),
                               dict(strides=2, dilation_rate=1, padding="causal", groups=2),
                               dict(strides=1, dilation_rate=2, padding="valid", groups=1)])
def test_threads_agree_and_repeat_exactly(rng, o, dtype):
    # 413 samples of 9 steps: chunks of several samples, enough work for two threads
    x, w, b = operands(rng, 413, 9, 3, o["groups"], dtype, C_per_group=8, filters=16)
    dy = rng.normal(size=conv1d_forward(x, w, b, **o).shape).astype(dtype)
    runs = {}
    for threads in (1, 2, 2):
        out = (conv1d_forward(x, w, b, n_threads=threads, **o),) \
            + conv1d_backward(x, w, dy, n_threads=threads, **o)
        if threads in runs:  # same call, same threads: bit for bit
            for a, c in zip(runs[threads], out):
                np.testing.assert_array_equal(a, c)
        runs[threads] = out
    want = (reference_forward(x, w.astype(np.float64), b.astype(np.float64), o["strides"],
                              o["padding"], o["dilation_rate"], o["groups"]),) \
        + reference_backward(x, w.astype(np.float64), dy.astype(np.float64), o["strides"],
                             o["padding"], o["dilation_rate"], o["groups"])
    for threads, out in runs.items():
        for got, ref, name in zip(out, want, ["y", "dx", "dkernel", "dbias"]):
            check_dense(got, ref, dtype, f"{name}, {threads} threads")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("groups", [1, 2])
def test_wide_kernels_match_the_reference(rng, groups, dtype):
    # 3 taps x 70 channels and 200 filters a group: both GEMMs' inner dimensions span blocks
    x, w, b = operands(rng, 5, 23, 3, groups, dtype, C_per_group=70, filters=200 * groups)
    dy = rng.normal(size=(5, 23, 200 * groups)).astype(dtype)
    y = conv1d_forward(x, w, b, padding="same", groups=groups)
    check_dense(y, reference_forward(x, w.astype(np.float64), b.astype(np.float64), 1, "same",
                                     1, groups), dtype, "y")
    want = reference_backward(x, w.astype(np.float64), dy.astype(np.float64), 1, "same", 1,
                              groups)
    for got, ref, name in zip(conv1d_backward(x, w, dy, padding="same", groups=groups), want,
                              ["dx", "dkernel", "dbias"]):
        check_dense(got, ref, dtype, name)


def test_one_sample_one_step_and_no_samples(rng):
    w, b = rng.normal(size=(3, 2, 4)), rng.normal(size=4)
    x = rng.normal(size=(1, 3, 2))
    y = conv1d_forward(x, w, b)  # one output row: the BLAS' one-row path
    assert y.shape == (1, 1, 4)
    check_dense(y, reference_forward(x, w, b), np.float64, "y")
    dx, dw, db = conv1d_backward(x, w, np.ones((1, 1, 4)))
    want = reference_backward(x, w, np.ones((1, 1, 4)))
    for got, ref, name in zip((dx, dw, db), want, ["dx", "dkernel", "dbias"]):
        check_dense(got, ref, np.float64, name)
    y = conv1d_forward(np.zeros((0, 7, 2)), w, b, padding="same")
    assert y.shape == (0, 7, 4)
    dx, dw, db = conv1d_backward(np.zeros((0, 7, 2)), w, np.zeros((0, 7, 4)), padding="same")
    assert dx.shape == (0, 7, 2)
    np.testing.assert_array_equal(dw, np.zeros(w.shape))
    np.testing.assert_array_equal(db, np.zeros(4))


def test_inputs_are_converted_to_the_kernels_dtype(rng):
    x, w, b = operands(rng, 4, 9, 3, 1, np.float32)
    y = conv1d_forward(x, w, b, padding="same")
    wide = np.zeros((4, 18, 6))
    wide[:, ::2, ::2] = x  # a non-contiguous float64 view of the same values
    np.testing.assert_array_equal(conv1d_forward(wide[:, ::2, ::2], w, b.astype(np.float64),
                                                 padding="SAME"), y)
    np.testing.assert_array_equal(conv1d_forward(x, np.asfortranarray(w), b, padding="same"), y)
    dy = rng.normal(size=y.shape)
    dx, dw, db = conv1d_backward(wide[:, ::2, ::2], w, dy, padding="same")
    assert dx.dtype == dw.dtype == db.dtype == np.float32
    for a, c in zip((dx, dw, db), conv1d_backward(x, w, dy.astype(np.float32), padding="same")):
        np.testing.assert_array_equal(a, c)


@pytest.mark.parametrize("args,want", [
    ((10, 3), 8), ((10, 3, 1, "valid", 2), 6), ((10, 3, 3, "valid"), 3), ((3, 3), 1),
    ((10, 4, 3, "same"), 4), ((9, 4, 1, "same", 3), 9), ((10, 5, 2, "causal"), 5),
    ((1, 5, 1, "causal", 3), 1), ((7, 2, 2, "Same"), 4),
])
def test_output_length(args, want):
    assert conv1d_output_length(*args) == want


# ---- bad arguments ------------------------------------------------------------------------
@pytest.mark.parametrize("kw,error,match", [
    (dict(kernel=np.zeros((3, 5, 4), np.int32)), TypeError, "conv1d kernel must be float32 or float64"),
    (dict(kernel=np.zeros((5, 4), np.float32)), ValueError, r"kernel must have shape \(kernel_size"),
    (dict(kernel=np.zeros((0, 5, 4), np.float32)), ValueError, "all >= 1"),
    (dict(kernel=np.zeros((3, 5, 0), np.float32)), ValueError, "all >= 1"),
    (dict(x=np.zeros((6, 7))), ValueError, "x must be 3-D"),
    (dict(x=np.zeros((6, 7, 4))), ValueError, r"x of shape \(6, 7, 4\) has 4 channels, but the kernel"),
    (dict(x=np.zeros((6, 7, 5), complex)), TypeError, "x has dtype complex128"),
    (dict(x=np.zeros((6, 2, 5))), ValueError, r"x of shape \(6, 2, 5\) and kernel of shape \(3, 5, 4\).*no output steps"),
    (dict(x=np.zeros((6, 0, 5)), padding="same"), ValueError, "no output steps"),
    (dict(bias=np.zeros(5)), ValueError, r"bias must have shape \(4,\)"),
    (dict(bias=np.zeros(4, complex)), TypeError, "bias has dtype complex128"),
    (dict(groups=3), ValueError, "groups=3 must divide"),
    (dict(x=np.zeros((6, 7, 6)), groups=2), ValueError,
     r"x of shape \(6, 7, 6\) has 6 channels, but the kernel of shape \(3, 5, 4\) with groups=2 takes 10"),
    (dict(groups=0), ValueError, "groups must be >= 1"),
    (dict(groups=1.0), TypeError, "groups must be an integer"),
    (dict(groups=True), TypeError, "groups must be an integer"),
    (dict(strides=0), ValueError, "strides must be >= 1"),
    (dict(strides="2"), TypeError, "strides must be an integer"),
    (dict(strides=2**40), ValueError, "too large for the kernels"),
    (dict(dilation_rate=-1), ValueError, "dilation_rate must be >= 1"),
    (dict(strides=2, dilation_rate=2), ValueError, "`strides > 1` not supported in conjunction with `dilation_rate > 1`"),
    (dict(padding="full"), ValueError, "padding must be one of"),
    (dict(padding=None), ValueError, "padding must be one of"),
    (dict(n_threads=0), ValueError, "n_threads must be a positive integer"),
])
def test_forward_rejects_bad_arguments(kw, error, match):
    args = dict(x=np.zeros((6, 7, 5)), kernel=np.zeros((3, 5, 4), np.float32), bias=np.zeros(4))
    args.update(kw)
    with pytest.raises(error, match=match):
        conv1d_forward(**args)


@pytest.mark.parametrize("kw,error,match", [
    (dict(dy=np.zeros((6, 7, 4))), ValueError, r"dy must have shape \(6, 5, 4\)"),
    (dict(dy=np.zeros((6, 5, 4)), padding="same"), ValueError, r"dy must have shape \(6, 7, 4\)"),
    (dict(dy=np.zeros((6, 5, 3))), ValueError, r"dy must have shape \(6, 5, 4\)"),
    (dict(dy=np.zeros((6, 5, 4), complex)), TypeError, "dy has dtype complex128"),
    (dict(x=np.zeros((6, 7, 3))), ValueError, "has 3 channels"),
    (dict(kernel=np.zeros((3, 5, 4), np.float16)), TypeError, "float32 or float64"),
    (dict(dilation_rate=3), ValueError, r"dy must have shape \(6, 1, 4\)"),
    (dict(groups=-2), ValueError, "groups must be >= 1"),
])
def test_backward_rejects_bad_arguments(kw, error, match):
    args = dict(x=np.zeros((6, 7, 5)), kernel=np.zeros((3, 5, 4)), dy=np.zeros((6, 5, 4)))
    args.update(kw)
    with pytest.raises(error, match=match):
        conv1d_backward(**args)


@pytest.mark.parametrize("args,error,match", [
    ((0, 3), ValueError, "steps must be >= 1"),
    ((5.0, 3), TypeError, "steps must be an integer"),
    ((5, 0), ValueError, "kernel_size must be >= 1"),
    ((5, 3, 1, "full"), ValueError, "padding must be one of"),
    ((5, 3, 2, "same", 2), ValueError, "not supported in conjunction"),
    ((5, 3, 1, "valid", 3), ValueError, "steps=5 with kernel_size=3.*no output steps"),
])
def test_output_length_rejects_bad_arguments(args, error, match):
    with pytest.raises(error, match=match):
        conv1d_output_length(*args)
