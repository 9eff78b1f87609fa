"""The C GRU kernels (csrc/gru*.c) against independent references: a step-by-step NumPy
implementation (tests/gru_reference.py), central finite differences, and torch.nn.GRU."""

import numpy as np
import pytest

import gru_native
import gru_reference as ref
from helpers import (GRU_SHAPES, TOL, assert_close, assert_matches_central_differences,
                     lengths_for, random_gru, recurrent_mask_for)











def run_both(rng, T, I, H, B, dtype, reset_after, reverse, use_h0, use_lengths, use_mask=False):
    x, W, U, b, h0 = random_gru(rng, T, I, H, B, reset_after, dtype)
    h0 = h0 if use_h0 else None
    lengths = lengths_for(rng, T, B) if use_lengths else None
    # a mild rate: 1/(1-rate) scales U's gain, and float32 round-off grows with that gain
    hmask = recurrent_mask_for(rng, H, B, dtype, rate=0.1) if use_mask else None
    dy = rng.normal(size=(B, T, H)).astype(dtype)
    dh = rng.normal(size=(B, H)).astype(dtype)
    opts = dict(reset_after=reset_after, reverse=reverse)
    y, h_last, cache = gru_native.gru_forward(x, W, U, b, h0, lengths, training=True,
                                              recurrent_mask=hmask, **opts)
    grads = gru_native.gru_backward(cache, dy, dh, need_dx=True, need_dh0=True)
    ry, rh, tape = ref.forward(x, W, U, b, h0, lengths, hmask=hmask, **opts)
    rgrads = ref.backward(x, W, U, tape, dy, dh, lengths, hmask=hmask, **opts)
    return (y, h_last) + grads, (ry, rh) + rgrads


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("use_h0,use_lengths,use_mask", [
    (False, False, False), (True, False, False), (False, True, False), (True, True, False),
    (False, False, True), (True, True, True)])
@pytest.mark.parametrize("T,I,H,B", GRU_SHAPES)
def test_matches_numpy_reference(rng, T, I, H, B, dtype, reset_after, reverse, use_h0, use_lengths,
                                 use_mask):
    got, want = run_both(rng, T, I, H, B, dtype, reset_after, reverse, use_h0, use_lengths, use_mask)
    names = ["y", "h_last", "dx", "dh0", "dkernel", "drecurrent", "dbias"]
    for name, g, w in zip(names, got, want):
        assert g.dtype == dtype, name
        assert_close(g, w, TOL[dtype], name)


@pytest.mark.parametrize("reset_after", [True, False])
def test_padding_changes_nothing(rng, reset_after):
    """Steps past a sequence's length: state unchanged, outputs zero, no gradient either way."""
    T, I, H, B = 9, 3, 4, 3
    x, W, U, b, h0 = random_gru(rng, T, I, H, B, reset_after)
    lengths = np.array([9, 4, 0])
    opts = dict(reset_after=reset_after)
    y, h, cache = gru_native.gru_forward(x, W, U, b, h0, lengths, training=True, **opts)
    x2 = x.copy()
    x2[1, 4:] = 1e3  # garbage in the padding
    x2[2] = -7.0
    y2, h2, cache2 = gru_native.gru_forward(x2, W, U, b, h0, lengths, training=True, **opts)
    np.testing.assert_array_equal(y, y2)
    np.testing.assert_array_equal(h, h2)
    assert not y[1, 4:].any() and not y[2].any()
    np.testing.assert_array_equal(h[2], h0[2])
    dy = rng.normal(size=y.shape)
    g = gru_native.gru_backward(cache, dy, need_dh0=True)
    g2 = gru_native.gru_backward(cache2, dy, need_dh0=True)
    for a, a2 in zip(g, g2):
        np.testing.assert_array_equal(a, a2)
    dx, dh0 = g[0], g[1]
    assert not dx[1, 4:].any() and not dx[2].any()
    np.testing.assert_array_equal(dh0[2], 0)


FD_SHAPES = [(1, 1, 1, 1), (3, 2, 3, 2), (23, 13, 37, 5)]


@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("reverse,use_mask", [(False, False), (True, False), (False, True)])
@pytest.mark.parametrize("T,I,H,B", FD_SHAPES)
def test_gradients_match_finite_differences(rng, T, I, H, B, reset_after, reverse, use_mask):
    x, W, U, b, h0 = random_gru(rng, T, I, H, B, reset_after)
    lengths = lengths_for(rng, T, B)
    hmask = recurrent_mask_for(rng, H, B) if use_mask else None
    dy = rng.normal(size=(B, T, H))
    dh = rng.normal(size=(B, H))
    opts = dict(reset_after=reset_after, reverse=reverse, recurrent_mask=hmask)
    params = {"x": x, "kernel": W, "recurrent_kernel": U, "bias": b, "h0": h0}

    def loss():
        y, h_last, _ = gru_native.gru_forward(
            params["x"], params["kernel"], params["recurrent_kernel"], params["bias"],
            params["h0"], lengths, **opts)
        return np.sum(y * dy) + np.sum(h_last * dh)

    _, _, cache = gru_native.gru_forward(x, W, U, b, h0, lengths, training=True, **opts)
    dx, dh0, dW, dU, db = gru_native.gru_backward(cache, dy, dh, need_dh0=True)
    analytic = {"x": dx, "kernel": dW, "recurrent_kernel": dU, "bias": db, "h0": dh0}
    assert_matches_central_differences(loss, params, analytic)


def keras_to_torch(W, U, b):
    """Keras layout (z, r, n blocks, (in, 3H)) to torch.nn.GRU's (r, z, n blocks, (3H, in))."""
    H = U.shape[0]

    def reorder(a):
        return np.concatenate([a[..., H:2 * H], a[..., :H], a[..., 2 * H:]], axis=-1)

    return reorder(W).T, reorder(U).T, reorder(b[0]), reorder(b[1])


def torch_to_keras(w_ih, w_hh, b_ih, b_hh):
    H = w_hh.shape[1]

    def reorder(a):
        return np.concatenate([a[..., H:2 * H], a[..., :H], a[..., 2 * H:]], axis=-1)

    return reorder(w_ih.T), reorder(w_hh.T), np.stack([reorder(b_ih), reorder(b_hh)])


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("use_lengths", [False, True])
@pytest.mark.parametrize("T,I,H,B", [(1, 1, 1, 1), (23, 13, 37, 5), (10, 8, 64, 16)])
def test_matches_torch_gru(rng, T, I, H, B, reverse, use_lengths):
    torch = pytest.importorskip("torch")
    x, W, U, b, h0 = random_gru(rng, T, I, H, B, True, np.float32)
    lengths = lengths_for(rng, T, B) if use_lengths else np.full(B, T)
    lengths[lengths == 0] = 1  # torch cannot pack empty sequences
    dy = rng.normal(size=(B, T, H)).astype(np.float32)
    dh = rng.normal(size=(B, H)).astype(np.float32)

    # The reverse direction of a bidirectional torch GRU is our reverse=True.
    gru = torch.nn.GRU(I, H, batch_first=True, bidirectional=reverse)
    suffix = "_l0_reverse" if reverse else "_l0"
    with torch.no_grad():
        for name, value in zip(["weight_ih", "weight_hh", "bias_ih", "bias_hh"], keras_to_torch(W, U, b)):
            getattr(gru, name + suffix).copy_(torch.from_numpy(np.ascontiguousarray(value)))
    xt = torch.from_numpy(x).requires_grad_()
    h0t = torch.zeros(2 if reverse else 1, B, H)
    h0t[-1] = torch.from_numpy(h0)
    h0t.requires_grad_()
    packed = torch.nn.utils.rnn.pack_padded_sequence(xt, torch.from_numpy(lengths), batch_first=True,
                                                     enforce_sorted=False)
    out, hn = gru(packed, h0t)
    out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=T)
    yt = out[..., H:] if reverse else out
    loss = (yt * torch.from_numpy(dy)).sum() + (hn[-1] * torch.from_numpy(dh)).sum()
    loss.backward()

    y, h_last, cache = gru_native.gru_forward(x, W, U, b, h0, lengths, reverse=reverse, training=True)
    dx, dh0, dW, dU, db = gru_native.gru_backward(cache, dy, dh, need_dh0=True)
    want_dW, want_dU, want_db = torch_to_keras(*(getattr(gru, n + suffix).grad.numpy()
                                                 for n in ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]))
    pairs = {"y": (y, yt), "h_last": (h_last, hn[-1]), "dx": (dx, xt.grad), "dh0": (dh0, h0t.grad[-1]),
             "dkernel": (dW, want_dW), "drecurrent": (dU, want_dU), "dbias": (db, want_db)}
    for name, (got, want) in pairs.items():
        want = want.detach().numpy() if hasattr(want, "detach") else want
        assert_close(got, want, 1e-5, name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("B", [1, 2, 3])
def test_step_products_of_one_or_two_sequences_match_numpy_reference(rng, B, reset_after, dtype):
    """Up to two sequences a step's recurrent products skip the BLAS (recurrent_impl.h's
    row_times_matrix: 3H = 210 columns in blocks of 64 and 16 and a tail of 2); three go
    through it. On one thread, inference and training, against the reference."""
    T, I, H = 6, 4, 70
    x, W, U, b, h0 = random_gru(rng, T, I, H, B, reset_after, dtype, scale=0.2)
    for training in (False, True):
        y, h_last, _ = gru_native.gru_forward(x, W, U, b, h0, reset_after=reset_after,
                                              training=training, n_threads=1)
        ry, rh, _ = ref.forward(x, W, U, b, h0, reset_after=reset_after)
        assert_close(y, ry, TOL[dtype], "y")
        assert_close(h_last, rh, TOL[dtype], "h_last")


@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("use_mask", [False, True])
@pytest.mark.parametrize("threads", [1, 2])
def test_batch_step_products_match_numpy_reference(rng, reset_after, use_mask, threads):
    """A batch's step products in float32 of 10^6 multiply-adds or more read U packed in tiles
    of 64 columns (csrc/packed.h) where the CPU has AVX-512 (reset_after; the BLAS elsewhere):
    3H = 600 columns forward, 200 backward, both ending in a partial tile, and 27 rows (14 and
    13 on two threads) in blocks of four ending in a partial one. Forward and backward against
    the reference."""
    T, I, H, B = 4, 5, 200, 27
    x, W, U, b, h0 = random_gru(rng, T, I, H, B, reset_after, np.float32, scale=0.2)
    hmask = recurrent_mask_for(rng, H, B, np.float32, rate=0.1) if use_mask else None
    dy = rng.normal(size=(B, T, H)).astype(np.float32)
    dh = rng.normal(size=(B, H)).astype(np.float32)
    opts = dict(reset_after=reset_after, recurrent_mask=hmask)
    y, h_last, cache = gru_native.gru_forward(x, W, U, b, h0, training=True, n_threads=threads,
                                              **opts)
    grads = gru_native.gru_backward(cache, dy, dh, need_dx=True, need_dh0=True, n_threads=threads)
    inferred, _, _ = gru_native.gru_forward(x, W, U, b, h0, n_threads=threads, **opts)
    opts["hmask"] = opts.pop("recurrent_mask")
    ry, rh, tape = ref.forward(x, W, U, b, h0, **opts)
    want = (ry, rh) + ref.backward(x, W, U, tape, dy, dh, **opts)
    names = ["y", "h_last", "dx", "dh0", "dkernel", "drecurrent", "dbias"]
    for name, g, w in zip(names + ["inferred y"], (y, h_last) + grads + (inferred,), want + (ry,)):
        assert_close(g, w, TOL[np.float32], name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("reverse, use_lengths", [
    (False, False), (True, False), (False, True), (True, True)])
@pytest.mark.parametrize("threads", [1, 2])
def test_inference_by_rows_matches_numpy_reference(rng, dtype, reset_after, reverse, use_lengths,
                                                   threads):
    """Several sequences at inference, split by rows over the threads: each step's input
    projection made just before the step (stepwise_input in recurrent.h), except reversed
    with lengths (the whole sequence's first)."""
    T, I, H, B = 7, 3, 9, 5
    x, W, U, b, h0 = random_gru(rng, T, I, H, B, reset_after, dtype, scale=0.5)
    lengths = np.array([7, 3, 0, 5, 7]) if use_lengths else None
    y, h_last, _ = gru_native.gru_forward(x, W, U, b, h0, lengths, reset_after=reset_after,
                                          reverse=reverse, n_threads=threads)
    ry, rh, _ = ref.forward(x, W, U, b, h0, lengths, reset_after=reset_after, reverse=reverse)
    assert_close(y, ry, TOL[dtype], "y")
    assert_close(h_last, rh, TOL[dtype], "h_last")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reverse, use_h0, use_lengths", [
    (False, False, False), (True, True, False), (False, True, True), (True, False, True)])
@pytest.mark.parametrize("threads", [1, 2])
def test_inference_split_by_units_matches_numpy_reference(rng, dtype, reverse, use_h0,
                                                          use_lengths, threads):
    """One sequence and many units: with 2 threads the forward splits every step by units
    (units_team in recurrent_impl.h); with 1 it runs whole rows. Both against the reference
    (tests/models/test_streaming.py runs the split with the state updated in place)."""
    T, I, H, B = 9, 6, 531, 1  # 531 units: uneven blocks
    x, W, U, b, h0 = random_gru(rng, T, I, H, B, True, dtype, scale=0.2)
    lengths = np.array([6]) if use_lengths else None
    y, h_last, _ = gru_native.gru_forward(x, W, U, b, h0 if use_h0 else None, lengths,
                                          reverse=reverse, n_threads=threads)
    ry, rh, _ = ref.forward(x, W, U, b, h0 if use_h0 else None, lengths, reverse=reverse)
    assert_close(y, ry, TOL[dtype], "y")
    assert_close(h_last, rh, TOL[dtype], "h_last")
