"""A NumPy reference LSTM written from the equations: one sequence and one step at a time,
float64, no shared code with the C kernels. Layout as Keras: kernel (I, 4H), recurrent kernel
(H, 4H), bias (4H,), gate blocks i, f, c, o. Per step, with a = x_t W + h U + b:
    i, f, g, o = sigmoid(a_i), sigmoid(a_f), tanh(a_c), sigmoid(a_o)
    c' = f * c + i * g,   h' = o * tanh(c')
A sequence of length L runs its first L steps (from L-1 down to 0 when reverse) and keeps its
states after them; its outputs at the other steps are zero. With hmask (recurrent dropout), the
recurrent product is (h * hmask) U."""

import numpy as np


def sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def _order(length, reverse):
    return range(length - 1, -1, -1) if reverse else range(length)


def forward(x, W, U, b, h0=None, c0=None, lengths=None, reverse=False, hmask=None,
            product=np.matmul):
    """Returns y (B, T, H), h_last (B, H), c_last (B, H) and a tape of per-step values for
    `backward`. product(v, M): how a vector meets a weight matrix (as in gru_reference)."""
    x, W, U = (np.asarray(a, np.float64) for a in (x, W, U))
    B, T, _ = x.shape
    H = U.shape[0]
    b = np.zeros(4 * H) if b is None else np.asarray(b, np.float64)
    lengths = np.full(B, T) if lengths is None else np.asarray(lengths)
    y = np.zeros((B, T, H))
    h_last, c_last = np.zeros((B, H)), np.zeros((B, H))
    hmask = np.ones((B, H)) if hmask is None else np.asarray(hmask, np.float64)
    tape = {}
    for s in range(B):
        h = np.zeros(H) if h0 is None else np.asarray(h0[s], np.float64)
        c = np.zeros(H) if c0 is None else np.asarray(c0[s], np.float64)
        for t in _order(lengths[s], reverse):
            a = product(x[s, t], W) + product(h * hmask[s], U) + b
            i, f, o = sigmoid(a[:H]), sigmoid(a[H:2 * H]), sigmoid(a[3 * H:])
            g = np.tanh(a[2 * H:3 * H])
            tape[s, t] = (h, c, i, f, g, o)
            c = f * c + i * g
            h = o * np.tanh(c)
            y[s, t] = h
        h_last[s], c_last[s] = h, c
    return y, h_last, c_last, tape


def backward(x, W, U, tape, dy, dh_last, dc_last, lengths=None, reverse=False, hmask=None):
    """Backward through time, one step at a time, of the loss whose gradients with respect to
    y, h_last and c_last are dy, dh_last and dc_last (None for zero).
    Returns dx, dh0, dc0, dW, dU, db."""
    x, W, U = (np.asarray(a, np.float64) for a in (x, W, U))
    B, T, _ = x.shape
    H = U.shape[0]
    lengths = np.full(B, T) if lengths is None else np.asarray(lengths)
    dy = np.zeros((B, T, H)) if dy is None else np.asarray(dy, np.float64)
    dh_last = np.zeros((B, H)) if dh_last is None else np.asarray(dh_last, np.float64)
    dc_last = np.zeros((B, H)) if dc_last is None else np.asarray(dc_last, np.float64)
    dx, dh0, dc0 = np.zeros_like(x), np.zeros((B, H)), np.zeros((B, H))
    dW, dU, db = np.zeros_like(W), np.zeros_like(U), np.zeros(4 * H)
    hmask = np.ones((B, H)) if hmask is None else np.asarray(hmask, np.float64)
    for s in range(B):
        dh, dc = dh_last[s].copy(), dc_last[s].copy()
        for t in reversed(list(_order(lengths[s], reverse))):
            h, c, i, f, g, o = tape[s, t]
            c_new = f * c + i * g
            tc = np.tanh(c_new)
            dh = dh + dy[s, t]
            dc = dc + dh * o * (1 - tc ** 2)
            da = np.concatenate([dc * g * i * (1 - i),      # through i
                                 dc * c * f * (1 - f),      # through f
                                 dc * i * (1 - g ** 2),     # through g
                                 dh * tc * o * (1 - o)])    # through o
            dW += np.outer(x[s, t], da)
            dU += np.outer(h * hmask[s], da)
            db += da
            dx[s, t] = W @ da
            dh, dc = (U @ da) * hmask[s], dc * f
        dh0[s], dc0[s] = dh, dc
    return dx, dh0, dc0, dW, dU, db
