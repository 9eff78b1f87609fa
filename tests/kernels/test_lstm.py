"""The C LSTM kernels (gru_native.kernels.lstm) against independent references: a step-by-step NumPy
implementation (tests/lstm_reference.py), central finite differences, and torch.nn.LSTM; then
padding, threads, the bindings' checks and workspace reuse."""

import numpy as np
import pytest

import gru_native
from gru_native.kernels.lstm import LSTMWorkspace, lstm_backward, lstm_forward
import lstm_reference as ref
from helpers import (GRU_SHAPES, TOL, assert_close, assert_matches_central_differences,
                      lengths_for, recurrent_mask_for)

NAMES = ["y", "h_last", "c_last", "dx", "dh0", "dc0", "dkernel", "drecurrent", "dbias"]


def random_lstm(rng, T, I, H, B, dtype=np.float64, scale=0.5):
    """Inputs, weights and initial states of one LSTM call, large enough to saturate gates."""
    x = rng.normal(size=(B, T, I))
    W = rng.normal(scale=scale, size=(I, 4 * H))
    U = rng.normal(scale=scale, size=(H, 4 * H))
    b = rng.normal(scale=scale, size=4 * H)
    h0 = rng.normal(scale=0.5, size=(B, H))
    c0 = rng.normal(size=(B, H))
    return [a.astype(dtype) for a in (x, W, U, b, h0, c0)]


def output_grads(rng, T, H, B, given="yhc", dtype=np.float64):
    """dy, dh_last, dc_last: random for the letters in `given` ('y', 'h', 'c'), else None."""
    shapes = {"y": (B, T, H), "h": (B, H), "c": (B, H)}
    return [rng.normal(size=shapes[k]).astype(dtype) if k in given else None for k in "yhc"]


def run_kernel(x, W, U, b, h0, c0, lengths, reverse, dy, dh, dc, hmask=None):
    """Forward and backward with every gradient asked for: y, h_last, c_last, dx, ..., dbias."""
    y, h_last, c_last, cache = lstm_forward(x, W, U, b, h0, c0, lengths, reverse=reverse,
                                            training=True, recurrent_mask=hmask)
    return (y, h_last, c_last) + tuple(lstm_backward(cache, dy, dh, dc, need_dh0=True))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("use_states,use_lengths,given", [
    (False, False, "yhc"), (True, False, "y"), (False, True, "yh"), (True, True, "yhc"),
    (True, False, "c"), (True, True, "h")])
@pytest.mark.parametrize("use_mask", [False, True])
@pytest.mark.parametrize("T,I,H,B", GRU_SHAPES)
def test_matches_numpy_reference(rng, T, I, H, B, dtype, reverse, use_states, use_lengths, given,
                                 use_mask):
    x, W, U, b, h0, c0 = random_lstm(rng, T, I, H, B, dtype)
    h0, c0 = (h0, c0) if use_states else (None, None)
    lengths = lengths_for(rng, T, B) if use_lengths else None
    # recurrent dropout: a mild rate, as in test_gru (1/(1-rate) scales U's gain)
    hmask = recurrent_mask_for(rng, H, B, dtype, rate=0.1) if use_mask else None
    dy, dh, dc = output_grads(rng, T, H, B, given, dtype)
    got = run_kernel(x, W, U, b, h0, c0, lengths, reverse, dy, dh, dc, hmask)
    ry, rh, rc, tape = ref.forward(x, W, U, b, h0, c0, lengths, reverse, hmask)
    want = (ry, rh, rc) + ref.backward(x, W, U, tape, dy, dh, dc, lengths, reverse, hmask)
    for name, g, w in zip(NAMES, got, want):
        assert g.dtype == dtype, name
        assert_close(g, w, TOL[dtype], name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("B", [1, 2, 3])
def test_step_products_of_one_or_two_sequences_match_numpy_reference(rng, B, dtype):
    """Up to two sequences a step's recurrent product skips the BLAS (4H = 280 columns in blocks
    of 64 and 16 and a tail of 8); three go through it. On one thread, against the reference."""
    T, I, H = 6, 4, 70
    x, W, U, b, h0, c0 = random_lstm(rng, T, I, H, B, dtype, scale=0.2)
    y, h_last, c_last, _ = lstm_forward(x, W, U, b, h0, c0, n_threads=1)
    ry, rh, rc, _ = ref.forward(x, W, U, b, h0, c0, None, False, None)
    for name, got, want in (("y", y, ry), ("h_last", h_last, rh), ("c_last", c_last, rc)):
        assert_close(got, want, TOL[dtype], name)


@pytest.mark.parametrize("use_mask", [False, True])
@pytest.mark.parametrize("threads", [1, 2])
def test_batch_step_products_match_numpy_reference(rng, use_mask, threads):
    """A batch's step products in float32 of 10^6 multiply-adds or more read U packed in tiles
    of 64 columns (csrc/packed.h) where the CPU has AVX-512 (the BLAS elsewhere): 4H = 600
    columns forward, 150 backward, both ending in a partial tile, and 27 rows (14 and 13 on two
    threads) in blocks of four ending in a partial one. Forward and backward against the
    reference."""
    T, I, H, B = 4, 5, 150, 27
    x, W, U, b, h0, c0 = random_lstm(rng, T, I, H, B, np.float32, scale=0.2)
    hmask = recurrent_mask_for(rng, H, B, np.float32, rate=0.1) if use_mask else None
    dy, dh, dc = output_grads(rng, T, H, B, "yhc", np.float32)
    y, h_last, c_last, cache = lstm_forward(x, W, U, b, h0, c0, training=True,
                                            recurrent_mask=hmask, n_threads=threads)
    grads = lstm_backward(cache, dy, dh, dc, need_dh0=True, n_threads=threads)
    inferred = lstm_forward(x, W, U, b, h0, c0, recurrent_mask=hmask, n_threads=threads)[0]
    ry, rh, rc, tape = ref.forward(x, W, U, b, h0, c0, None, False, hmask)
    want = (ry, rh, rc) + ref.backward(x, W, U, tape, dy, dh, dc, None, False, hmask)
    for name, g, w in zip(NAMES + ["inferred y"], (y, h_last, c_last) + grads + (inferred,),
                          want + (ry,)):
        assert_close(g, w, TOL[np.float32], name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reverse, use_lengths", [
    (False, False), (True, False), (False, True), (True, True)])
@pytest.mark.parametrize("threads", [1, 2])
def test_inference_by_rows_matches_numpy_reference(rng, dtype, reverse, use_lengths, threads):
    """Several sequences at inference, split by rows over the threads: each step's input
    projection made just before the step (stepwise_input in recurrent.h), except reversed
    with lengths (the whole sequence's first)."""
    T, I, H, B = 7, 3, 9, 5
    x, W, U, b, h0, c0 = random_lstm(rng, T, I, H, B, dtype, scale=0.5)
    lengths = np.array([7, 3, 0, 5, 7]) if use_lengths else None
    y, h_last, c_last, _ = lstm_forward(x, W, U, b, h0, c0, lengths, reverse=reverse,
                                        n_threads=threads)
    ry, rh, rc, _ = ref.forward(x, W, U, b, h0, c0, lengths, reverse, None)
    for name, got, want in (("y", y, ry), ("h_last", h_last, rh), ("c_last", c_last, rc)):
        assert_close(got, want, TOL[dtype], name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reverse, use_states, use_lengths", [
    (False, False, False), (True, True, False), (False, True, True), (True, False, True)])
@pytest.mark.parametrize("threads", [1, 2])
def test_inference_split_by_units_matches_numpy_reference(rng, dtype, reverse, use_states,
                                                          use_lengths, threads):
    """One sequence and many units: with 2 threads the forward splits every step by units
    (units_team in recurrent_impl.h), with 1 it runs whole rows; both against the reference
    (tests/models/test_streaming.py runs the split with the states carried in place)."""
    T, I, H, B = 9, 6, 531, 1  # 531 units: uneven blocks
    x, W, U, b, h0, c0 = random_lstm(rng, T, I, H, B, dtype, scale=0.2)
    h0, c0 = (h0, c0) if use_states else (None, None)
    lengths = np.array([6]) if use_lengths else None
    y, h_last, c_last, _ = lstm_forward(x, W, U, b, h0, c0, lengths, reverse=reverse,
                                        n_threads=threads)
    ry, rh, rc, _ = ref.forward(x, W, U, b, h0, c0, lengths, reverse, None)
    for name, got, want in (("y", y, ry), ("h_last", h_last, rh), ("c_last", c_last, rc)):
        assert_close(got, want, TOL[dtype], name)


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("use_mask", [False, True])
@pytest.mark.parametrize("T,I,H,B", [(1, 1, 1, 1), (4, 3, 3, 3), (7, 2, 5, 2)])
def test_gradients_match_finite_differences(rng, T, I, H, B, reverse, use_mask):
    x, W, U, b, h0, c0 = random_lstm(rng, T, I, H, B)
    lengths = np.array([T, 0, 2][:B]) if B > 1 else None  # a full, an empty and a short one
    hmask = recurrent_mask_for(rng, H, B) if use_mask else None
    dy, dh, dc = output_grads(rng, T, H, B)
    params = {"x": x, "kernel": W, "recurrent_kernel": U, "bias": b, "h0": h0, "c0": c0}

    def loss():
        y, h_last, c_last, _ = lstm_forward(*params.values(), lengths, reverse=reverse,
                                            recurrent_mask=hmask)
        return np.sum(y * dy) + np.sum(h_last * dh) + np.sum(c_last * dc)

    _, _, _, dx, dh0, dc0, dW, dU, db = run_kernel(x, W, U, b, h0, c0, lengths, reverse, dy, dh,
                                                   dc, hmask)
    analytic = {"x": dx, "kernel": dW, "recurrent_kernel": dU, "bias": db, "h0": dh0, "c0": dc0}
    assert_matches_central_differences(loss, params, analytic)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("use_lengths", [False, True])
@pytest.mark.parametrize("T,I,H,B", [(1, 1, 1, 1), (23, 13, 37, 5), (10, 8, 64, 16)])
def test_matches_torch_lstm(rng, T, I, H, B, dtype, reverse, use_lengths):
    """torch.nn.LSTM: weight_ih (4H, I) with gates i, f, g, o is the Keras kernel transposed, and
    our bias is b_ih + b_hh. The reverse direction of a bidirectional torch LSTM (packed, with
    per-sequence lengths) is our reverse=True."""
    torch = pytest.importorskip("torch")
    x, W, U, b, h0, c0 = random_lstm(rng, T, I, H, B, dtype)
    b_ih = rng.normal(scale=0.5, size=4 * H).astype(dtype)
    lengths = lengths_for(rng, T, B) if use_lengths else np.full(B, T)
    lengths[lengths == 0] = 1  # torch cannot pack empty sequences
    dy, dh, dc = output_grads(rng, T, H, B, "yhc", dtype)

    lstm = torch.nn.LSTM(I, H, batch_first=True, bidirectional=reverse).to(torch.from_numpy(x).dtype)
    suffix = "_l0_reverse" if reverse else "_l0"
    weights = {"weight_ih": W.T, "weight_hh": U.T, "bias_ih": b_ih, "bias_hh": b - b_ih}
    with torch.no_grad():
        for name, value in weights.items():
            getattr(lstm, name + suffix).copy_(torch.from_numpy(np.ascontiguousarray(value)))
    xt = torch.from_numpy(x).requires_grad_()
    states = []
    for s in (h0, c0):  # the state of the direction we compare is the last one
        st = torch.zeros((2 if reverse else 1, B, H), dtype=xt.dtype)
        st[-1] = torch.from_numpy(s)
        states.append(st.requires_grad_())
    packed = torch.nn.utils.rnn.pack_padded_sequence(xt, torch.from_numpy(lengths), batch_first=True,
                                                     enforce_sorted=False)
    out, (hn, cn) = lstm(packed, tuple(states))
    out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=T)
    yt = out[..., H:] if reverse else out
    loss = sum((a * torch.from_numpy(g)).sum() for a, g in ((yt, dy), (hn[-1], dh), (cn[-1], dc)))
    loss.backward()

    got = run_kernel(x, W, U, b, h0, c0, lengths, reverse, dy, dh, dc)
    grad = {name: getattr(lstm, name + suffix).grad.numpy() for name in weights}
    assert_close(grad["bias_hh"], grad["bias_ih"], TOL[dtype], "torch's two bias gradients")
    want = [yt, hn[-1], cn[-1], xt.grad, states[0].grad[-1], states[1].grad[-1],
            grad["weight_ih"].T, grad["weight_hh"].T, grad["bias_ih"]]
    for name, g, w in zip(NAMES, got, want):
        w = w.detach().numpy() if hasattr(w, "detach") else w
        assert g.dtype == dtype, name
        assert_close(g, w, TOL[dtype], name)


@pytest.mark.parametrize("reverse", [False, True])
def test_padding_changes_nothing(rng, reverse):
    """Steps past a sequence's length: states unchanged, outputs zero, no gradient either way;
    each padded sequence gives what it gives alone and unpadded."""
    T, I, H, B = 9, 3, 4, 3
    x, W, U, b, h0, c0 = random_lstm(rng, T, I, H, B)
    lengths = np.array([9, 4, 0])
    dy, dh, dc = output_grads(rng, T, H, B)
    got = run_kernel(x, W, U, b, h0, c0, lengths, reverse, dy, dh, dc)
    x2 = x.copy()
    x2[1, 4:] = 1e3  # garbage in the padding
    x2[2] = -7.0
    for name, g, g2 in zip(NAMES, got, run_kernel(x2, W, U, b, h0, c0, lengths, reverse, dy, dh, dc)):
        np.testing.assert_array_equal(g, g2, err_msg=name)

    y, h, c, dx, dh0, dc0, dW, dU, db = got
    assert not y[1, 4:].any() and not y[2].any()
    assert not dx[1, 4:].any() and not dx[2].any()
    for name, a, want in (("h_last", h, h0), ("c_last", c, c0), ("dh0", dh0, dh), ("dc0", dc0, dc)):
        np.testing.assert_array_equal(a[2], want[2], err_msg=name)  # an empty sequence passes through

    sums = [np.zeros_like(a) for a in (dW, dU, db)]
    for s, L in enumerate(lengths[:2]):
        one = run_kernel(x[s:s + 1, :L], W, U, b, h0[s:s + 1], c0[s:s + 1], None, reverse,
                         dy[s:s + 1, :L], dh[s:s + 1], dc[s:s + 1])
        for name, g, w in zip(NAMES[:6], one[:6], (y[:, :L], h, c, dx[:, :L], dh0, dc0)):
            assert_close(g[0], w[s], TOL[np.float64], f"{name} of sequence {s}")
        for acc, g in zip(sums, one[6:]):
            acc += g
    for name, g, w in zip(NAMES[6:], (dW, dU, db), sums):
        assert_close(g, w, TOL[np.float64], name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_one_and_two_threads_agree_and_repeat_exactly(rng, dtype):
    T, I, H, B = 12, 7, 64, 33  # large enough that the kernels use every thread
    x, W, U, b, h0, c0 = random_lstm(rng, T, I, H, B, dtype)
    lengths = rng.integers(1, T + 1, size=B)
    dy, dh, dc = output_grads(rng, T, H, B, "yhc", dtype)
    args = (x, W, U, b, h0, c0, lengths, False, dy, dh, dc)
    n = gru_native.get_num_threads()
    try:
        gru_native.set_num_threads(1)
        one = run_kernel(*args)
        gru_native.set_num_threads(2)
        two = run_kernel(*args)
        again = run_kernel(*args)
    finally:
        gru_native.set_num_threads(n)
    for name, a, b2, c2 in zip(NAMES, one, two, again):
        np.testing.assert_array_equal(b2, c2, err_msg=name)  # same call, same threads: bit for bit
        assert_close(b2, a, TOL[dtype], name)


def test_outputs_asked_for_and_defaults(rng):
    x, W, U, b, h0, c0 = random_lstm(rng, 5, 3, 4, 2, np.float32)
    y, h, c, cache = lstm_forward(x, W, U)
    assert cache is None and y.shape == (2, 5, 4) and h.shape == c.shape == (2, 4)
    assert y.dtype == h.dtype == c.dtype == np.float32
    np.testing.assert_array_equal(y[:, -1], h)
    explicit = lstm_forward(x, W, U, np.zeros(16, np.float32), np.zeros((2, 4)), np.zeros((2, 4)))
    for name, a, a2 in zip(NAMES, (y, h, c), explicit[:3]):
        np.testing.assert_array_equal(a, a2, err_msg=name)  # None is zeros
    y, h2, c2, cache = lstm_forward(x, W, U, b, h0, c0, return_sequences=False, training=True)
    assert y is None
    dx, dh0, dc0, dW, dU, db = lstm_backward(cache, None, h2, None, need_dx=False)
    assert dx is None and dh0 is None and dc0 is None
    assert dW.shape == (3, 16) and dU.shape == (4, 16) and db.shape == (16,)
    _, dh0, dc0, *_ = lstm_backward(cache, dh_last=h2, need_dx=False, need_dh0=True)
    assert dh0.shape == dc0.shape == (2, 4)


@pytest.fixture
def call(rng):
    x, W, U, b, h0, c0 = random_lstm(rng, 5, 3, 4, 2, np.float32)
    return dict(x=x, kernel=W, recurrent_kernel=U, bias=b, h0=h0, c0=c0)


@pytest.mark.parametrize("name,value,error,match", [
    ("x", np.zeros((2, 5)), ValueError, "x must"),
    ("x", np.zeros((2, 5, 3), complex), TypeError, "x has dtype complex128"),
    ("kernel", np.zeros(12, np.float32), ValueError, r"(?<!recurrent_)kernel"),
    ("kernel", np.zeros((3, 10), np.float32), ValueError, r"(?<!recurrent_)kernel"),  # 4H
    ("kernel", np.zeros((4, 16), np.float32), ValueError, r"(?<!recurrent_)kernel|x must"),
    ("kernel", np.zeros((3, 16), np.int32), TypeError, "kernel must be float32 or float64"),
    ("recurrent_kernel", np.zeros((5, 16), np.float32), ValueError, "recurrent_kernel"),
    ("bias", np.zeros(12, np.float32), ValueError, "bias"),
    ("bias", np.zeros((2, 16), np.float32), ValueError, "bias"),
    ("h0", np.zeros((3, 4)), ValueError, "h0"),
    ("c0", np.zeros((2, 5)), ValueError, "c0"),
    ("c0", np.zeros(4), ValueError, "c0"),
])
def test_bad_arrays_raise(call, name, value, error, match):
    call[name] = value
    with pytest.raises(error, match=match):
        lstm_forward(**call)


@pytest.mark.parametrize("lengths,error", [
    (np.array([1.0, 2.0]), TypeError), (np.array([1, 2, 3]), ValueError),
    (np.array([1, 6]), ValueError), (np.array([-1, 2]), ValueError)])
def test_bad_lengths_raise(call, lengths, error):
    with pytest.raises(error, match="lengths"):
        lstm_forward(lengths=lengths, **call)


def test_backward_checks_its_arrays(call):
    _, _, _, cache = lstm_forward(training=True, **call)
    with pytest.raises(ValueError, match="dy"):
        lstm_backward(cache, np.zeros((2, 4, 4)))
    with pytest.raises(ValueError, match="dh_last"):
        lstm_backward(cache, None, np.zeros(4))
    with pytest.raises(ValueError, match="dc_last"):
        lstm_backward(cache, None, None, np.zeros((2, 5)))
    with pytest.raises(TypeError):
        lstm_backward(None)
    for out in [(np.empty((3, 16)), None, None), (None, np.empty((4, 12), np.float32), None),
                (None, None, np.empty(32, np.float32)[::2])]:
        with pytest.raises(ValueError, match="must be a writeable C-contiguous"):
            lstm_backward(cache, None, np.ones((2, 4), np.float32), out=out)


def test_workspace_reuse_gives_the_same_results_and_guards_stale_caches(call, rng):
    ws = LSTMWorkspace()
    dy = rng.normal(size=(2, 5, 4)).astype(np.float32)
    dc = rng.normal(size=(2, 4)).astype(np.float32)
    *want_fwd, cache = lstm_forward(training=True, **call)
    want = lstm_backward(cache, dy, None, dc, need_dh0=True)
    for _ in range(2):
        *fwd, cache2 = lstm_forward(training=True, workspace=ws, **call)
        for g, w in zip(fwd, want_fwd):
            np.testing.assert_array_equal(g, w)
        # gradients are written, not accumulated: garbage in `out` does not matter
        out = (np.full((3, 16), np.nan, np.float32), np.full((4, 16), np.nan, np.float32),
               np.full(16, np.nan, np.float32))
        got = lstm_backward(cache2, dy, None, dc, need_dh0=True, workspace=ws, out=out)
        for name, g, w in zip(NAMES[3:], got, want):
            np.testing.assert_array_equal(g, w, err_msg=name)
        for g, o in zip(got[3:], out):
            assert g is o
    _, _, _, newer = lstm_forward(training=True, workspace=ws, **call)
    with pytest.raises(RuntimeError):  # the cache was overwritten
        lstm_backward(cache2, dy)
    lstm_backward(newer, dy)
