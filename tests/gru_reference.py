"""A NumPy reference GRU written from the equations in ../shared/design.md: one sequence and one
step at a time, float64, no shared code with the C kernels. Layout as Keras: kernel (I, 3H),
recurrent kernel (H, 3H), gate blocks z, r, n; bias (2, 3H) when reset_after, else (3H,)."""

import numpy as np


def sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def _gates(a, H):
    return a[:H], a[H:2 * H], a[2 * H:]


def _order(length, reverse):
    return range(length - 1, -1, -1) if reverse else range(length)


def forward(x, W, U, b, h0=None, lengths=None, reset_after=True, reverse=False, hmask=None,
            product=np.matmul):
    """Returns y (B, T, H), h_last (B, H) and a tape of per-step values for `backward`.
    hmask (B, H): recurrent dropout, multiplying h where it enters the recurrent products.
    product(v, M): how a vector meets a weight matrix (a reduced-precision one in tests of
    reduced-precision inference)."""
    x, W, U = (np.asarray(a, np.float64) for a in (x, W, U))
    B, T, _ = x.shape
    H = U.shape[0]
    b = np.zeros((2, 3 * H) if reset_after else 3 * H) if b is None else np.asarray(b, np.float64)
    bx, bh = (b[0], b[1]) if reset_after else (b, np.zeros(3 * H))
    lengths = np.full(B, T) if lengths is None else np.asarray(lengths)
    hmask = np.ones((B, H)) if hmask is None else np.asarray(hmask, np.float64)
    y = np.zeros((B, T, H))
    h_last = np.zeros((B, H))
    tape = {}
    for s in range(B):
        h = np.zeros(H) if h0 is None else np.asarray(h0[s], np.float64)
        for t in _order(lengths[s], reverse):
            xz, xr, xn = _gates(product(x[s, t], W) + bx, H)
            hm = h * hmask[s]
            if reset_after:
                hz, hr, hn = _gates(product(hm, U) + bh, H)
                z, r = sigmoid(xz + hz), sigmoid(xr + hr)
                n = np.tanh(xn + r * hn)
                inner = hn
            else:
                z = sigmoid(xz + product(hm, U[:, :H]))
                r = sigmoid(xr + product(hm, U[:, H:2 * H]))
                inner = r * hm
                n = np.tanh(xn + product(inner, U[:, 2 * H:]))
            tape[s, t] = (h, z, r, n, inner)
            h = z * h + (1 - z) * n
            y[s, t] = h
        h_last[s] = h
    return y, h_last, tape


def backward(x, W, U, tape, dy, dh_last, lengths=None, reset_after=True, reverse=False,
             hmask=None):
    """Backward through time, one step at a time. Returns dx, dh0, dW, dU, db."""
    x, W, U = (np.asarray(a, np.float64) for a in (x, W, U))
    B, T, _ = x.shape
    H = U.shape[0]
    lengths = np.full(B, T) if lengths is None else np.asarray(lengths)
    hmask = np.ones((B, H)) if hmask is None else np.asarray(hmask, np.float64)
    dx, dh0 = np.zeros_like(x), np.zeros((B, H))
    dW, dU = np.zeros_like(W), np.zeros_like(U)
    dbx, dbh = np.zeros(3 * H), np.zeros(3 * H)
    for s in range(B):
        dh = np.array(dh_last[s], np.float64)
        for t in reversed(list(_order(lengths[s], reverse))):
            h, z, r, n, inner = tape[s, t]
            m = hmask[s]
            hm = h * m
            dh = dh + dy[s, t]
            dn = dh * (1 - z)
            dz = dh * (h - n)
            dh_prev = dh * z
            a_n = dn * (1 - n ** 2)
            a_z = dz * z * (1 - z)
            if reset_after:
                dr = a_n * inner
                a_r = dr * r * (1 - r)
                dgh = np.concatenate([a_z, a_r, a_n * r])
                dU += np.outer(hm, dgh)
                dbh += dgh
                dh_prev = dh_prev + m * (U @ dgh)
            else:
                dinner = U[:, 2 * H:] @ a_n
                a_r = dinner * hm * r * (1 - r)
                dU[:, :H] += np.outer(hm, a_z)
                dU[:, H:2 * H] += np.outer(hm, a_r)
                dU[:, 2 * H:] += np.outer(inner, a_n)
                dh_prev = dh_prev + m * (dinner * r + U[:, :H] @ a_z + U[:, H:2 * H] @ a_r)
            dgx = np.concatenate([a_z, a_r, a_n])
            dW += np.outer(x[s, t], dgx)
            dbx += dgx
            dx[s, t] = W @ dgx
            dh = dh_prev
        dh0[s] = dh
    db = np.stack([dbx, dbh]) if reset_after else dbx
    return dx, dh0, dW, dU, db
