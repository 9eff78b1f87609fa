"""The dot-product attention kernels (csrc/attention*.c through src/gru_native/kernels/
attention.pyx) against a NumPy reference written from Keras' Attention.call, in float32 and
float64, central differences of every gradient, and the bindings' checks."""

import itertools

import numpy as np
import pytest

from gru_native.kernels.attention import attention_backward, attention_forward
from helpers import TOL, assert_close, assert_matches_central_differences, check_dense


# ---- the reference --------------------------------------------------------------------------
def allowed_pairs(N, Tq, Tv, v_mask, causal):
    """(N, Tq, Tv): which (query step, value step) pairs count."""
    allowed = np.ones((N, Tq, Tv), bool)
    if v_mask is not None:
        allowed &= v_mask[:, None, :]
    if causal:
        allowed &= np.tril(np.ones((Tq, Tv), bool))
    return allowed


def reference_forward(q, k, v, scale=1.0, v_mask=None, q_mask=None, causal=False, drop=None):
    """(out, weights, used weights) in float64 from the operands' values. Keras subtracts 1e9
    in the operands' precision: in float32 an excluded score |s| < 32 becomes -1e9 exactly, so
    a row with every step excluded has uniform weights."""
    dtype = q.dtype.type
    q, k, v = (a.astype(np.float64) for a in (q, k, v))
    scores = float(dtype(scale)) * (q @ k.transpose(0, 2, 1))
    excluded = (scores.astype(dtype) - dtype(1e9)).astype(np.float64)
    scores = np.where(allowed_pairs(*scores.shape, v_mask, causal), scores, excluded)
    w = np.exp(scores - scores.max(-1, keepdims=True))
    w /= w.sum(-1, keepdims=True)
    used = w if drop is None else w * drop
    out = used @ v
    return (out if q_mask is None else out * q_mask[..., None]), w, used


def reference_backward(q, k, v, w, d_out, d_used, scale=1.0, q_mask=None, drop=None):
    """(dq, dk, dv, dscale) of reference_forward from its weights w, in float64."""
    q, k, v = (a.astype(np.float64) for a in (q, k, v))
    scale = float(q.dtype.type(scale))
    g = d_out if q_mask is None else d_out * q_mask[..., None]
    used = w if drop is None else w * drop
    dused = g @ v.transpose(0, 2, 1) + (0 if d_used is None else d_used)
    dweights = dused if drop is None else dused * drop
    ds = w * (dweights - (dweights * w).sum(-1, keepdims=True))
    dscale = float(np.sum(ds * (q @ k.transpose(0, 2, 1))))
    return scale * ds @ k, scale * ds.transpose(0, 2, 1) @ q, used.transpose(0, 2, 1) @ g, dscale


def check_dscale(got, want, dtype):
    """A sum whose terms cancel (each row of dscores sums to zero): within the tolerance of
    max(1, |want|), not of its own size."""
    assert_close(np.float64(got), np.float64(want), TOL[dtype], "dscale")


# ---- operands -------------------------------------------------------------------------------
def masks_for(rng, N, T):
    """(N, T): the first row full, the second empty (length 0), then random lengths and one row
    with a hole in the middle (Masking skips such steps too)."""
    mask = np.arange(T)[None] < rng.integers(1, T + 1, size=N)[:, None]
    mask[0] = True
    mask[1:2] = False
    mask[2:3] = True
    mask[2:3, T // 2] = False
    return mask


def operands(rng, N, Tq, Tv, D, Dv, dtype):
    q, k = rng.normal(size=(N, Tq, D)), rng.normal(size=(N, Tv, D))
    return [a.astype(dtype) for a in (q, k, rng.normal(size=(N, Tv, Dv)))]


def dropout_for(rng, shape, dtype, rate=0.3):
    return ((rng.random(shape) < 1 - rate) / (1 - rate)).astype(dtype)


SHAPES = [(4, 5, 7, 3, 2), (4, 7, 4, 2, 3), (1, 1, 1, 1, 1)]  # N, Tq, Tv, D, Dv
CASES = [dict(zip(("scale", "masked", "causal", "dropout"), c))
         for c in itertools.product([None, 0.7], [False, True], [False, True], [False, True])]


def case_id(c):
    return "-".join(k for k, v in c.items() if v) or "plain"


def case_operands(rng, shape, dtype, c):
    N, Tq, Tv, D, Dv = shape
    q, k, v = operands(rng, N, Tq, Tv, D, Dv, dtype)
    kw = dict(scale=c["scale"], causal=c["causal"])
    if c["masked"]:
        kw.update(value_mask=masks_for(rng, N, Tv), query_mask=masks_for(rng, N, Tq))
    if c["dropout"]:
        kw["dropout_mask"] = dropout_for(rng, (N, Tq, Tv), dtype)
    return q, k, v, kw


def reference_kw(kw):
    return dict(scale=1.0 if kw["scale"] is None else kw["scale"], v_mask=kw.get("value_mask"),
                q_mask=kw.get("query_mask"), causal=kw["causal"], drop=kw.get("dropout_mask"))


# ---- forward and backward against the reference ----------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("c", CASES, ids=case_id)
def test_matches_the_reference(rng, c, shape, dtype):
    q, k, v, kw = case_operands(rng, shape, dtype, c)
    out, w, used = attention_forward(q, v, k, **kw)
    ref = reference_kw(kw)
    want_out, want_w, want_used = reference_forward(q, k, v, **ref)
    check_dense(out, want_out, dtype, "out")
    check_dense(w, want_w, dtype, "weights")
    check_dense(used, want_used, dtype, "scores")
    assert (used is w) == (not c["dropout"])

    d_out = rng.normal(size=out.shape).astype(dtype)
    d_used = rng.normal(size=w.shape).astype(dtype)
    bkw = {n: kw[n] for n in ("scale", "query_mask", "dropout_mask") if n in kw}
    dq, dv, dk, dscale = attention_backward(q, v, k, w, d_out, d_used, need_dscale=True, **bkw)
    want = reference_backward(q, k, v, want_w, d_out.astype(np.float64), d_used.astype(np.float64),
                              ref["scale"], ref["q_mask"], ref["drop"])
    for got, ref_grad, name in zip((dq, dk, dv), want, ("dquery", "dkey", "dvalue")):
        check_dense(got, ref_grad, dtype, name)
    assert type(dscale) is dtype
    check_dscale(dscale, want[3], dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("Tq,Tv,D,Dv", [(13, 3000, 3, 2), (3, 17000, 3, 2), (400, 20, 200, 250)])
def test_long_sequences_and_wide_features_span_blocks(rng, Tq, Tv, D, Dv, dtype):
    # the kernels walk the query rows in blocks of 16384 // Tv rows (one row past 16384 steps, at
    # most 192), and cut GEMMs' inner dimensions (D, Dv, Tv) beyond 192 into blocks
    q, k, v = operands(rng, 2, Tq, Tv, D, Dv, dtype)
    v_mask, drop = masks_for(rng, 2, Tv), dropout_for(rng, (2, Tq, Tv), dtype)
    kw = dict(scale=0.5, value_mask=v_mask, causal=True, dropout_mask=drop)
    out, w, used = attention_forward(q, v, k, **kw)
    want_out, want_w, _ = reference_forward(q, k, v, 0.5, v_mask, None, True, drop)
    check_dense(out, want_out, dtype, "out")
    check_dense(w, want_w, dtype, "weights")
    d_out = rng.normal(size=out.shape).astype(dtype)
    dq, dv, dk, dscale = attention_backward(q, v, k, w, d_out, scale=0.5, dropout_mask=drop,
                                            need_dscale=True)
    want = reference_backward(q, k, v, want_w, d_out.astype(np.float64), None, 0.5, None, drop)
    for got, ref_grad, name in zip((dq, dk, dv), want, ("dquery", "dkey", "dvalue")):
        check_dense(got, ref_grad, dtype, name)
    check_dscale(dscale, want[3], dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_no_key_means_the_value_is_the_key(rng, dtype):
    q, _, v = operands(rng, 3, 4, 6, 3, 3, dtype)
    q_mask = masks_for(rng, 3, 4)
    out, w, _ = attention_forward(q, v, scale=1.3, query_mask=q_mask, causal=True)
    np.testing.assert_array_equal(out, attention_forward(q, v, v.copy(), scale=1.3,
                                                         query_mask=q_mask, causal=True)[0])
    d_out = rng.normal(size=out.shape).astype(dtype)
    dq, dv, dk, dscale = attention_backward(q, v, None, w, d_out, scale=1.3, query_mask=q_mask)
    assert dk is None and dscale is None
    want = attention_backward(q, v, v.copy(), w, d_out, scale=1.3, query_mask=q_mask)
    np.testing.assert_array_equal(dq, want[0])
    check_dense(dv, (want[1] + want[2]).astype(np.float64), dtype, "dvalue + dkey")


def test_missing_output_gradients_count_as_zero(rng):
    q, k, v = operands(rng, 3, 4, 5, 2, 3, np.float64)
    drop = dropout_for(rng, (3, 4, 5), np.float64)
    out, w, used = attention_forward(q, v, k, dropout_mask=drop)
    d_out, d_used = rng.normal(size=out.shape), rng.normal(size=w.shape)
    for a, b in [(d_out, None), (None, d_used), (None, None)]:
        got = attention_backward(q, v, k, w, a, b, dropout_mask=drop, need_dscale=True)
        want = attention_backward(q, v, k, w, np.zeros_like(d_out) if a is None else a,
                                  np.zeros_like(d_used) if b is None else b, dropout_mask=drop,
                                  need_dscale=True)
        for g, h in zip(got, want):
            np.testing.assert_array_equal(g, h)


# ---- central differences ---------------------------------------------------------------------
@pytest.mark.parametrize("with_key", [True, False])
@pytest.mark.parametrize("c", CASES, ids=case_id)
def test_gradients_match_central_differences(rng, c, with_key):
    N, Tq, Tv, D = 3, 4, 5, 3
    q, k, v = operands(rng, N, Tq, Tv, D, D if not with_key else 2, np.float64)
    kw = dict(causal=c["causal"])
    if c["masked"]:  # every query step keeps a value step: the -1e9 of an empty row would
        v_mask = masks_for(rng, N, Tv)  # drown the differences in rounding
        v_mask[:, 0] = True
        kw.update(value_mask=v_mask, query_mask=masks_for(rng, N, Tq))
    if c["dropout"]:
        kw["dropout_mask"] = dropout_for(rng, (N, Tq, Tv), np.float64)
    scale = np.array(0.7 if c["scale"] else 1.0)
    key = k if with_key else None
    a, b = rng.normal(size=(N, Tq, v.shape[2])), rng.normal(size=(N, Tq, Tv))

    def loss():
        out, _, used = attention_forward(q, v, key, scale=scale, **kw)
        return float(np.sum(a * out) + np.sum(b * used))

    _, w, _ = attention_forward(q, v, key, scale=scale, **kw)
    bkw = {n: kw[n] for n in ("query_mask", "dropout_mask") if n in kw}
    dq, dv, dk, dscale = attention_backward(q, v, key, w, a, b, scale=scale, need_dscale=True,
                                            **bkw)
    params, grads = dict(query=q, value=v, scale=scale), dict(query=dq, value=dv, scale=dscale)
    if with_key:
        params["key"], grads["key"] = k, dk
    assert_matches_central_differences(loss, params, grads, atol=1e-8)


# ---- threads, repeatability, conversions, empty batches ---------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_threads_agree_and_repeat_exactly(rng, dtype):
    # 9 samples of 64 x 64 steps: enough work for two threads, an odd split
    q, k, v = operands(rng, 9, 64, 64, 16, 16, dtype)
    kw = dict(scale=0.3, value_mask=masks_for(rng, 9, 64), query_mask=masks_for(rng, 9, 64),
              causal=True, dropout_mask=dropout_for(rng, (9, 64, 64), dtype))
    bkw = {n: kw[n] for n in ("scale", "query_mask", "dropout_mask")}
    d_out = rng.normal(size=(9, 64, 16)).astype(dtype)
    runs = {}
    for threads in (1, 2, 2, 1):
        out, w, used = attention_forward(q, v, k, n_threads=threads, **kw)
        run = (out, w, used) + attention_backward(q, v, k, w, d_out, used, need_dscale=True,
                                                  n_threads=threads, **bkw)
        if threads in runs:  # same call, same threads: bit for bit
            for got, first in zip(run, runs[threads]):
                np.testing.assert_array_equal(got, first)
        runs[threads] = run
    for got, one in zip(runs[2], runs[1]):  # and as one thread's, to rounding
        np.testing.assert_allclose(got, one, rtol=TOL[dtype], atol=TOL[dtype])


def test_inputs_are_converted_to_the_querys_dtype(rng):
    q, k, v = operands(rng, 3, 4, 5, 2, 3, np.float32)
    v_mask = masks_for(rng, 3, 5)
    out, w, _ = attention_forward(q, v, k, value_mask=v_mask, scale=np.float64(0.5))
    wide = np.zeros((3, 10, 6))
    wide[:, ::2, ::2] = v  # a non-contiguous float64 view of the same values
    got, gw, _ = attention_forward(q, wide[:, ::2, ::2], np.asfortranarray(k),
                                   value_mask=np.asfortranarray(v_mask), scale=0.5)
    assert got.dtype == gw.dtype == np.float32
    np.testing.assert_array_equal(got, out)
    np.testing.assert_array_equal(gw, w)
    d_out = rng.normal(size=out.shape)
    grads = attention_backward(q, wide[:, ::2, ::2], k, w.astype(np.float64), d_out, scale=0.5)
    for g, h in zip(grads[:3], attention_backward(q, v, k, w, d_out.astype(np.float32), scale=0.5)):
        assert g.dtype == np.float32
        np.testing.assert_array_equal(g, h)


def test_no_samples(rng):
    q, k, v = (np.zeros((0, 4, 3)), np.zeros((0, 5, 3)), np.zeros((0, 5, 2)))
    out, w, _ = attention_forward(q, v, k, value_mask=np.zeros((0, 5), bool), causal=True)
    assert out.shape == (0, 4, 2) and w.shape == (0, 4, 5)
    dq, dv, dk, dscale = attention_backward(q, v, k, w, np.zeros((0, 4, 2)), need_dscale=True)
    assert dq.shape == q.shape and dv.shape == v.shape and dk.shape == k.shape and dscale == 0


# ---- bad arguments ---------------------------------------------------------------------------
@pytest.mark.parametrize("kw,error,match", [
    (dict(query=np.zeros((6, 4))), ValueError, r"query must have shape \(batch, Tq, D\)"),
    (dict(query=np.zeros((6, 0, 3))), ValueError, "query must have shape.*Tq and D >= 1"),
    (dict(query=np.zeros((6, 4, 3), np.int32)), TypeError, "query must be float32 or float64"),
    (dict(value=np.zeros((5, 7, 2))), ValueError, r"value must have shape .*query's batch \(6\)"),
    (dict(value=np.zeros((6, 7))), ValueError, "value must have shape"),
    (dict(value=np.zeros((6, 0, 2))), ValueError, "value must have shape"),
    (dict(value=np.zeros((6, 7, 2), complex)), TypeError, "value has dtype complex128"),
    (dict(key=np.zeros((6, 7, 2))), ValueError, r"key must have shape \(6, 7, 3\)"),
    (dict(key=np.zeros((6, 6, 3))), ValueError, r"key must have shape \(6, 7, 3\)"),
    (dict(key=np.zeros((5, 7, 3))), ValueError, r"key must have shape \(6, 7, 3\)"),
    (dict(key=None), ValueError, "value \\(also the key: no key given\\) must have the query's 3"),
    (dict(value_mask=np.ones((6, 6), bool)), ValueError, r"value_mask must have shape \(6, 7\)"),
    (dict(value_mask=np.ones((6, 7))), TypeError, "value_mask has dtype float64"),
    (dict(query_mask=np.ones((6, 7), bool)), ValueError, r"query_mask must have shape \(6, 4\)"),
    (dict(dropout_mask=np.ones((6, 4, 6))), ValueError,
     r"dropout_mask must have shape \(6, 4, 7\)"),
    (dict(dropout_mask=np.ones((6, 4, 7), complex)), TypeError, "dropout_mask has dtype"),
    (dict(scale=np.ones(2)), ValueError, "scale must be a real number"),
    (dict(scale="2"), ValueError, "scale must be a real number"),
    (dict(scale=True), ValueError, "scale must be a real number"),
    (dict(n_threads=0), ValueError, "n_threads must be a positive integer"),
])
def test_forward_rejects_bad_arguments(kw, error, match):
    args = dict(query=np.zeros((6, 4, 3)), value=np.zeros((6, 7, 2)), key=np.zeros((6, 7, 3)))
    args.update(kw)
    with pytest.raises(error, match=match):
        attention_forward(**args)


@pytest.mark.parametrize("kw,error,match", [
    (dict(weights=np.zeros((6, 4, 6))), ValueError, r"weights must have shape \(6, 4, 7\)"),
    (dict(weights=np.zeros((5, 4, 7))), ValueError, r"weights must have shape \(6, 4, 7\)"),
    (dict(d_out=np.zeros((6, 4, 3))), ValueError, r"d_out must have shape \(6, 4, 2\)"),
    (dict(d_scores=np.zeros((6, 7, 4))), ValueError, r"d_scores must have shape \(6, 4, 7\)"),
    (dict(d_scores=np.zeros((6, 4, 7), complex)), TypeError, "d_scores has dtype complex128"),
    (dict(query_mask=np.ones((5, 4), bool)), ValueError, r"query_mask must have shape \(6, 4\)"),
    (dict(dropout_mask=np.ones((6, 4))), ValueError, r"dropout_mask must have shape \(6, 4, 7\)"),
    (dict(value=np.zeros((6, 7, 2, 1))), ValueError, "value must have shape"),
    (dict(key=np.zeros((6, 7, 4))), ValueError, r"key must have shape \(6, 7, 3\)"),
    (dict(scale=[1.0]), ValueError, "scale must be a real number"),
])
def test_backward_rejects_bad_arguments(kw, error, match):
    args = dict(query=np.zeros((6, 4, 3)), value=np.zeros((6, 7, 2)), key=np.zeros((6, 7, 3)),
                weights=np.full((6, 4, 7), 1 / 7), d_out=np.zeros((6, 4, 2)))
    args.update(kw)
    with pytest.raises(error, match=match):
        attention_backward(**args)
