/* GRU forward and backward through time, written once. gru.c includes this file twice, with
 * REAL, FN, GEMM, SIGMOID and TANH defined for float and for double.
 *
 * Parallel plan: the recurrence of each sequence is independent of the others, so every thread
 * owns a block of sequences and runs the whole time loop for it (its input GEMM, one recurrent
 * GEMM per step, the fused gate pass) with no synchronisation between steps. The weight
 * gradients, which sum over all sequences, are then split by columns: each thread computes
 * its columns of dW = X^T dGX and dU = H^T dGH as one GEMM over all T*B rows. The BLAS runs
 * single-threaded in the calling thread (see threads.h).
 *
 * Recurrent dropout (hmask, Keras' recurrent_dropout): the recurrent products see h * hmask,
 * the update h' = z h + (1 - z) n sees h itself. */

/* The arrays of one forward call; each thread works on its rows [lo, hi) of them. */
typedef struct {
    const gru_shape *s;
    const int *lengths;
    REAL *gx;     /* (B, T, 3H) input projections x W, by position; or, with gx_by_row, only
                   * the current step's, row bi at bi * 3H */
    const REAL *u, *b, *hmask;
    REAL *gs;     /* one step's recurrent products, step_stride(s) per row */
    REAL *hm;     /* h * hmask, the recurrent GEMM's input (with hmask only) */
    REAL *h;      /* the running state, ends as h_last */
    REAL *y, *cache;
    const reduced_matrix *wq, *uq;  /* reduced-precision copies of w and u, or NULL */
    const REAL *up;  /* u packed for the steps' products (reset_after: FN(packed_for_steps)), or
                      * NULL */
    int gx_by_row;  /* each step's input projection made just before it (stepwise_input) */
} FN(forward_call);

/* Row bi's input projection at position o of its sequence. */
static inline const REAL *FN(gx_at)(const FN(forward_call) *c, int bi, size_t o)
{
    return c->gx + (c->gx_by_row ? (size_t)bi : o) * 3 * c->s->H;
}

/* What the forward keeps of sequence row o after a reset_before step (gr: [z r n r*h], hr: the
 * new h): z, r, n and r*h for the backward, and the output. h_{t-1} was kept before the step
 * overwrote it. */
static void FN(keep_step)(const FN(forward_call) *c, size_t o, const REAL *gr, const REAL *hr)
{
    const int H = c->s->H;
    const size_t bth = (size_t)c->s->B * c->s->T * H;
    if (c->cache) {
        memcpy(c->cache + bth + o * 3 * H, gr, (size_t)3 * H * sizeof(REAL));
        memcpy(c->cache + 4 * bth + o * H, gr + 3 * H, (size_t)H * sizeof(REAL));
    }
    if (c->y) memcpy(c->y + o * H, hr, (size_t)H * sizeof(REAL));
}

/* The fused gate pass of step k (reset gate after U) for rows [lo, hi) and units [j0, j1), gs
 * holding h U: z r n, the new state, and what the cache and y keep of them. */
GRU_SIMD_CLONES static void FN(gates_after)(const FN(forward_call) *c, int lo, int hi, int k,
                                            int j0, int j1)
{
    const gru_shape *s = c->s;
    const int T = s->T, H = s->H, G = 3 * H, S = 4 * H;
    const size_t bth = (size_t)s->B * T * H, width = (size_t)(j1 - j0) * sizeof(REAL);
    const REAL *bx = c->b, *bh = c->b + G;
    for (int bi = lo; bi < hi; bi++) {
        const int len = seq_len(c->lengths, bi, s->T);
        if (k >= len) continue;
        const size_t o = (size_t)bi * T + step_pos(s->reverse, len, k);
        const REAL *gxr = FN(gx_at)(c, bi, o), *gr = c->gs + (size_t)bi * S;
        REAL *hr = c->h + (size_t)bi * H;
        /* z r n and h U_n + b_hn go straight to the cache when training, else back into gs */
        REAL *zrn = c->cache ? c->cache + bth + o * G : c->gs + (size_t)bi * S;
        REAL *hnr = c->cache ? c->cache + 4 * bth + o * H : zrn + G;
        if (c->cache) memcpy(c->cache + o * H + j0, hr + j0, width);
#pragma omp simd
        for (int j = j0; j < j1; j++) {
            const REAL z = SIGMOID(gxr[j] + bx[j] + gr[j] + bh[j]);
            const REAL r = SIGMOID(gxr[H + j] + bx[H + j] + gr[H + j] + bh[H + j]);
            const REAL hn = gr[2 * H + j] + bh[2 * H + j];
            const REAL n = TANH(gxr[2 * H + j] + bx[2 * H + j] + r * hn);
            zrn[j] = z;
            zrn[H + j] = r;
            zrn[2 * H + j] = n;
            hnr[j] = hn;
            hr[j] = n + z * (hr[j] - n);
        }
        if (c->y) memcpy(c->y + o * H + j0, hr + j0, width);
    }
}

/* Rows [lo, hi) take step k; reset gate after U: gs = h U, then one fused pass. */
static void FN(forward_step_after)(const FN(forward_call) *c, int lo, int hi, int k)
{
    const int H = c->s->H, G = 3 * H, S = 4 * H;
    const REAL *hin = FN(recurrent_input)(lo, hi, H, c->h, c->hmask, c->hm);
    FN(step_product)(c->uq, c->up, hi - lo, 0, G, H, hin + (size_t)lo * H, H, c->u, G,
                     c->gs + (size_t)lo * S, S);
    FN(gates_after)(c, lo, hi, k, 0, H);
}

/* Rows [lo, hi) take step k; reset gate before U: gs[:, 0:2H] = h U_zr, then z, r and r*h,
 * then gs[:, 2H:3H] = (r*h) U_n, then n and the new state. */
GRU_SIMD_CLONES static void FN(forward_step_before)(const FN(forward_call) *c, int lo, int hi, int k)
{
    const gru_shape *s = c->s;
    const int T = s->T, H = s->H, G = 3 * H, S = 4 * H;
    const REAL *b = c->b;
    REAL *gsl = c->gs + (size_t)lo * S;
    const REAL *hin = FN(recurrent_input)(lo, hi, H, c->h, c->hmask, c->hm);
    FN(step_product)(c->uq, NULL, hi - lo, 0, 2 * H, H, hin + (size_t)lo * H, H, c->u, G, gsl, S);
    for (int bi = lo; bi < hi; bi++) {
        const int len = seq_len(c->lengths, bi, s->T);
        REAL *gr = c->gs + (size_t)bi * S;
        const REAL *hr = hin + (size_t)bi * H;
        if (k >= len) { memset(gr + 3 * H, 0, (size_t)H * sizeof(REAL)); continue; }
        const REAL *gxr = FN(gx_at)(c, bi, (size_t)bi * T + step_pos(s->reverse, len, k));
#pragma omp simd
        for (int j = 0; j < H; j++) {
            const REAL r = SIGMOID(gxr[H + j] + b[H + j] + gr[H + j]);
            gr[j] = SIGMOID(gxr[j] + b[j] + gr[j]);
            gr[H + j] = r;
            gr[3 * H + j] = r * hr[j];
        }
    }
    FN(step_product)(c->uq, NULL, hi - lo, 2 * H, H, H, gsl + 3 * H, S, c->u, G, gsl + 2 * H, S);
    for (int bi = lo; bi < hi; bi++) {
        const int len = seq_len(c->lengths, bi, s->T);
        if (k >= len) continue;
        const size_t o = (size_t)bi * T + step_pos(s->reverse, len, k);
        const REAL *gxr = FN(gx_at)(c, bi, o);
        REAL *gr = c->gs + (size_t)bi * S, *hr = c->h + (size_t)bi * H;
        if (c->cache) memcpy(c->cache + o * H, hr, (size_t)H * sizeof(REAL));
#pragma omp simd
        for (int j = 0; j < H; j++) {
            const REAL z = gr[j];
            const REAL n = TANH(gxr[2 * H + j] + b[2 * H + j] + gr[2 * H + j]);
            gr[2 * H + j] = n;
            hr[j] = n + z * (hr[j] - n);
        }
        FN(keep_step)(c, o, gr, hr);
    }
}

/* The whole forward of sequences [lo, hi): their input GEMM, then every step (with gx_by_row,
 * each step's input product just before it). */
static void FN(forward_rows)(const FN(forward_call) *c, const REAL *x, const REAL *w,
                             const REAL *h0, int lo, int hi)
{
    const gru_shape *s = c->s;
    const int T = s->T, F = s->F, H = s->H, G = 3 * H;
    const size_t bth = (size_t)s->B * T * H;
    if (hi <= lo) return;
    if (!c->gx_by_row)
        FN(product_polled)(c->wq, (size_t)(hi - lo) * T, 0, G, F, x + (size_t)lo * T * F, F, w,
                           G, c->gx + (size_t)lo * T * G, G);
    if (!h0)
        memset(c->h + (size_t)lo * H, 0, (size_t)(hi - lo) * H * sizeof(REAL));
    else if (h0 != c->h)  /* h0 may be h_last itself: a state carried from call to call */
        memcpy(c->h + (size_t)lo * H, h0 + (size_t)lo * H, (size_t)(hi - lo) * H * sizeof(REAL));
    for (int k = 0; k < T && !gru_interrupt_pending(); k++) {
        if (c->gx_by_row) FN(step_input)(c->wq, lo, hi, k, T, F, G, s->reverse, x, w, c->gx);
        if (s->reset_after)
            FN(forward_step_after)(c, lo, hi, k);
        else
            FN(forward_step_before)(c, lo, hi, k);
    }
    /* Past a sequence's end: zero outputs, and zero the cached GEMM operands so that the
     * backward's all-steps GEMMs see exact zeros there. */
    for (int bi = lo; c->lengths && bi < hi; bi++) {
        const int len = c->lengths[bi];
        FN(zero_tail)(s->T, bi, len, c->y, H);
        FN(zero_tail)(s->T, bi, len, c->cache, H);
        FN(zero_tail)(s->T, bi, len, c->cache ? c->cache + 4 * bth : NULL, H);
    }
}

/* The gate pass of the units split (units_team, recurrent_impl.h): the new state into h. */
static void FN(gates_into)(const void *call, REAL *h, int k, int j0, int j1)
{
    FN(forward_call) step = *(const FN(forward_call) *)call;
    step.h = h;
    FN(gates_after)(&step, 0, step.s->B, k, j0, j1);
}

/* gru_forward, its products from wq and uq when given (FN(product)). */
static void FN(forward_with)(const gru_shape *s, int max_threads, const REAL *x, const REAL *w,
                             const REAL *u, const reduced_matrix *wq, const reduced_matrix *uq,
                             const REAL *b, const REAL *h0, const int *lengths, const REAL *hmask,
                             REAL *y, REAL *h_last, REAL *cache, REAL *work)
{
    const int nt = pick_threads(s->B, s->T, s->F, s->H, 3, max_threads);
    const int units_nt = units_threads(s->B, s->H, max_threads);
    const int units = splits_units(s, max_threads, cache != NULL, hmask != NULL);
    const int by_row = !units && stepwise_input(cache != NULL, s->reverse, lengths);
    /* the input projections of every step, or of one (gru_inference_work_size) */
    REAL *gx = work, *gs = gx + (size_t)s->B * (by_row ? 1 : s->T) * 3 * s->H;
    const size_t bh = (size_t)s->B * s->H;
    REAL *hm = gs + (size_t)s->B * step_stride(s);
    /* past h * hmask and the two state buffers of units_forward; the reset gate before U takes
     * parts of U in the middle of a step, left to the BLAS */
    REAL *packed = hm + (s->masked_state ? 3 : 2) * bh;
    const REAL *up = units || uq || !s->reset_after
                         ? NULL
                         : FN(packed_for_steps)(s->B, nt, s->H, 3 * s->H, u, 3 * s->H, 0, packed);
    const FN(forward_call) c = {s, lengths, gx, u, b, hmask, gs, hm, h_last, y, cache, wq, uq, up,
                                by_row};
    gru_blas_single_thread();
    if (units) {
        const FN(units_cell) cell = {s->B, s->T, s->F, s->H, 3, u, wq, uq, gx, gs,
                                     step_stride(s), &c, FN(gates_into)};
        FN(units_forward)(&cell, units_nt, x, w, h0, lengths, hm + (s->masked_state ? bh : 0),
                          h_last, y);
        return;
    }
    if (nt == 1) {  /* no team to start: this matters for one short sequence */
        FN(forward_rows)(&c, x, w, h0, 0, s->B);
        return;
    }
#pragma omp parallel num_threads(nt)
    {
        int lo, hi;
        gru_split(s->B, omp_get_num_threads(), omp_get_thread_num(), &lo, &hi);
        FN(forward_rows)(&c, x, w, h0, lo, hi);
    }
}

void FN(gru_forward)(const gru_shape *s, int max_threads, const REAL *x, const REAL *w,
                     const REAL *u, const REAL *b, const REAL *h0, const int *lengths,
                     const REAL *hmask, REAL *y, REAL *h_last, REAL *cache, REAL *work)
{
    FN(forward_with)(s, max_threads, x, w, u, NULL, NULL, b, h0, lengths, hmask, y, h_last, cache,
                     work);
}

/* The arrays of one backward call. carry holds dL/dh after the current step on entry to a
 * step and dL/dh before it on exit. */
typedef struct {
    const gru_shape *s;
    const int *lengths;
    const REAL *cache, *dy, *hmask;
    const REAL *ut, *utp;  /* U^T, (3H, H); or packed (reset_after: FN(packed_for_steps)), ut
                            * unused */
    REAL *dgx;        /* (B, T, 3H) gradient of x W + b_x, by position */
    REAL *dghn;       /* (B, T, H) gradient of h U_n + b_hn (reset_after; its z, r blocks are dgx's) */
    REAL *ds;         /* one step's gate gradients, step_stride(s) per row */
    REAL *dbr;        /* each row's sums over its steps of [a_z a_r a_n], and of a_n * r
                       * (reset_after), step_stride(s) per row: db is their column sums (no
                       * pass over all of dgx after the steps) */
    REAL *carry;      /* (B, H) */
    REAL *dhm;        /* (B, H) gradient reaching h * hmask (with hmask only) */
    REAL *hsm;        /* (B, T, H) h * hmask by position, for dU (with hmask only) */
} FN(backward_call);

/* carry += dy at the step's output position (rows whose sequence still runs at step k). */
static void FN(add_output_grad)(const FN(backward_call) *c, size_t o, REAL *cr)
{
    const int H = c->s->H;
    if (!c->dy) return;
    const REAL *dyr = c->dy + o * c->s->H;
#pragma omp simd
    for (int j = 0; j < H; j++) cr[j] += dyr[j];
}

GRU_SIMD_CLONES static void FN(backward_step_after)(const FN(backward_call) *c, int lo, int hi, int k)
{
    const gru_shape *s = c->s;
    const int T = s->T, H = s->H, G = 3 * H, S = 4 * H;
    const size_t bth = (size_t)s->B * T * H;
    for (int bi = lo; bi < hi; bi++) {
        const int len = seq_len(c->lengths, bi, s->T);
        REAL *dsr = c->ds + (size_t)bi * S, *cr = c->carry + (size_t)bi * H;
        if (k >= len) { memset(dsr, 0, (size_t)G * sizeof(REAL)); continue; }
        const size_t o = (size_t)bi * T + step_pos(s->reverse, len, k);
        const REAL *hp = c->cache + o * H, *zrn = c->cache + bth + o * G, *hn = c->cache + 4 * bth + o * H;
        REAL *dgxr = c->dgx + o * G, *dghnr = c->dghn + o * H, *dbr = c->dbr + (size_t)bi * S;
        FN(add_output_grad)(c, o, cr);
#pragma omp simd
        for (int j = 0; j < H; j++) {
            const REAL dh = cr[j];
            const REAL z = zrn[j], r = zrn[H + j], n = zrn[2 * H + j];
            const REAL an = dh * (1 - z) * (1 - n * n);
            const REAL az = dh * (hp[j] - n) * z * (1 - z);
            const REAL ar = an * hn[j] * r * (1 - r);
            dgxr[j] = dsr[j] = az;
            dgxr[H + j] = dsr[H + j] = ar;
            dgxr[2 * H + j] = an;
            dghnr[j] = dsr[2 * H + j] = an * r;
            dbr[j] += az;
            dbr[H + j] += ar;
            dbr[2 * H + j] += an;
            dbr[3 * H + j] += an * r;
            cr[j] = dh * z;
        }
        if (c->hmask)
            for (int j = 0; j < H; j++) c->hsm[o * H + j] = hp[j] * c->hmask[(size_t)bi * H + j];
    }
    /* dh_{t-1} = dh * z + dGH U^T */
    FN(add_recurrent_grad)(c->utp, c->ut, c->hmask, lo, hi, H, G, c->ds + (size_t)lo * S, S,
                           c->dhm, c->carry);
}

/* The same, reset gate before U: d(r*h) = a_n U_n^T needs its own GEMM in the middle. */
GRU_SIMD_CLONES static void FN(backward_step_before)(const FN(backward_call) *c, int lo, int hi, int k)
{
    const gru_shape *s = c->s;
    const int T = s->T, H = s->H, G = 3 * H, S = 4 * H;
    const size_t bth = (size_t)s->B * T * H;
    REAL *dsl = c->ds + (size_t)lo * S;
    for (int bi = lo; bi < hi; bi++) {
        const int len = seq_len(c->lengths, bi, s->T);
        REAL *dsr = c->ds + (size_t)bi * S, *cr = c->carry + (size_t)bi * H;
        if (k >= len) { memset(dsr, 0, (size_t)G * sizeof(REAL)); continue; }
        const size_t o = (size_t)bi * T + step_pos(s->reverse, len, k);
        const REAL *hp = c->cache + o * H, *zrn = c->cache + bth + o * G;
        REAL *dgxr = c->dgx + o * G, *dbr = c->dbr + (size_t)bi * S;
        FN(add_output_grad)(c, o, cr);
#pragma omp simd
        for (int j = 0; j < H; j++) {
            const REAL dh = cr[j];
            const REAL z = zrn[j], n = zrn[2 * H + j];
            const REAL az = dh * (hp[j] - n) * z * (1 - z), an = dh * (1 - z) * (1 - n * n);
            dgxr[j] = dsr[j] = az;
            dgxr[2 * H + j] = dsr[2 * H + j] = an;
            dbr[j] += az;
            dbr[2 * H + j] += an;
            cr[j] = dh;
        }
    }
    /* d(r*h) = a_n U_n^T */
    GEMM(0, 0, hi - lo, H, H, 1, dsl + 2 * H, S, c->ut + (size_t)2 * H * H, H, 0, dsl + 3 * H, S);
    for (int bi = lo; bi < hi; bi++) {
        const int len = seq_len(c->lengths, bi, s->T);
        if (k >= len) continue;
        const size_t o = (size_t)bi * T + step_pos(s->reverse, len, k);
        const REAL *hp = c->cache + o * H, *zrn = c->cache + bth + o * G;
        const REAL *m = c->hmask ? c->hmask + (size_t)bi * H : NULL;
        REAL *dsr = c->ds + (size_t)bi * S, *cr = c->carry + (size_t)bi * H, *dgxr = c->dgx + o * G;
        REAL *dbr = c->dbr + (size_t)bi * S;
        if (m) {  /* the state the recurrent GEMMs saw */
            for (int j = 0; j < H; j++) c->hsm[o * H + j] = hp[j] * m[j];
            hp = c->hsm + o * H;
        }
#pragma omp simd
        for (int j = 0; j < H; j++) {
            const REAL z = zrn[j], r = zrn[H + j], drh = dsr[3 * H + j];
            const REAL ar = drh * hp[j] * r * (1 - r);
            dgxr[H + j] = dsr[H + j] = ar;
            dbr[H + j] += ar;
            cr[j] = cr[j] * z + drh * r * (m ? m[j] : 1);
        }
    }
    /* dh_{t-1} += [a_z a_r] U_zr^T */
    FN(add_recurrent_grad)(c->utp, c->ut, c->hmask, lo, hi, H, 2 * H, c->ds + (size_t)lo * S, S,
                           c->dhm, c->carry);
}

/* Backward through time of sequences [lo, hi): every step, then their dX. */
static void FN(backward_rows)(const FN(backward_call) *c, const REAL *w, const REAL *dh_last,
                              REAL *dx, REAL *dh0, int lo, int hi)
{
    const gru_shape *s = c->s;
    const int T = s->T, F = s->F, H = s->H, G = 3 * H;
    const size_t rows = (size_t)(hi - lo) * H * sizeof(REAL);
    if (hi <= lo) return;
    if (dh_last)
        memcpy(c->carry + (size_t)lo * H, dh_last + (size_t)lo * H, rows);
    else
        memset(c->carry + (size_t)lo * H, 0, rows);
    memset(c->dbr + (size_t)lo * step_stride(s), 0,
           (size_t)(hi - lo) * step_stride(s) * sizeof(REAL));
    for (int k = T - 1; k >= 0 && !gru_interrupt_pending(); k--) {
        if (s->reset_after)
            FN(backward_step_after)(c, lo, hi, k);
        else
            FN(backward_step_before)(c, lo, hi, k);
    }
    if (dh0) memcpy(dh0 + (size_t)lo * H, c->carry + (size_t)lo * H, rows);
    for (int bi = lo; c->lengths && bi < hi; bi++) {
        const int len = c->lengths[bi];
        FN(zero_tail)(s->T, bi, len, c->dgx, G);
        if (s->reset_after) FN(zero_tail)(s->T, bi, len, c->dghn, H);
        if (c->hmask) FN(zero_tail)(s->T, bi, len, c->hsm, H);
    }
    if (dx)  /* dX = dGX W^T */
        GEMM(0, 1, (hi - lo) * T, F, G, 1, c->dgx + (size_t)lo * T * G, G, w, G, 0,
             dx + (size_t)lo * T * F, F);
}

/* Weight gradients, columns [c0, c1) of the 3H gate columns, each one GEMM over all T*B rows;
 * the biases' from each row's sums (dbr). */
static void FN(weight_grads)(const FN(backward_call) *c, const REAL *x, REAL *dw, REAL *du,
                             REAL *db, int c0, int c1)
{
    const gru_shape *s = c->s;
    const int F = s->F, H = s->H, G = 3 * H, nc = c1 - c0;
    const size_t bt = (size_t)s->B * s->T;
    /* the states the recurrent GEMMs saw, and r * that state (reset_before) */
    const REAL *hs = c->hmask ? c->hsm : c->cache, *aux = c->cache + 4 * bt * H;
    if (nc <= 0) return;
    /* dW = X^T dGX */
    GEMM(1, 0, F, nc, (int)bt, 1, x, F, c->dgx + c0, G, 0, dw + c0, G);
    FN(column_sums)(s->B, step_stride(s), c0, c1, c->dbr, db);
    /* dU_zr = H_prev^T [a_z a_r] (the hidden side's z, r gradients equal the input side's) */
    const int split = 2 * H, a1 = c1 < split ? c1 : split, a0 = c0 > split ? c0 : split;
    if (a1 > c0) GEMM(1, 0, H, a1 - c0, (int)bt, 1, hs, H, c->dgx + c0, G, 0, du + c0, G);
    if (s->reset_after)  /* db_h = [db_zr, sum (a_n * r)] */
        for (int col = c0; col < a1; col++) db[G + col] = db[col];
    if (c1 <= a0) return;
    if (s->reset_after) {
        /* dU_n = H_prev^T (a_n * r) */
        GEMM(1, 0, H, c1 - a0, (int)bt, 1, hs, H, c->dghn + (a0 - split), H, 0, du + a0, G);
        FN(column_sums)(s->B, step_stride(s), a0 - split, c1 - split, c->dbr + G, db + G + split);
    } else {
        /* dU_n = (r*H_prev)^T a_n */
        GEMM(1, 0, H, c1 - a0, (int)bt, 1, aux, H, c->dgx + a0, G, 0, du + a0, G);
    }
}

void FN(gru_backward)(const gru_shape *s, int max_threads, const REAL *x, const REAL *w,
                      const REAL *u, const int *lengths, const REAL *hmask, const REAL *cache,
                      const REAL *dy, const REAL *dh_last, REAL *dx, REAL *dh0, REAL *dw,
                      REAL *du, REAL *db, REAL *work)
{
    const size_t btg = (size_t)s->B * s->T * 3 * s->H;
    REAL *dgx = work;
    REAL *dghn = dgx + btg;
    REAL *ds = dghn + (s->reset_after ? btg / 3 : 0);
    REAL *dbr = ds + (size_t)s->B * step_stride(s);
    REAL *carry = dbr + (size_t)s->B * step_stride(s);
    const size_t bh = (size_t)s->B * s->H;
    REAL *dhm = carry + bh, *hsm = dhm + bh;
    REAL *ut = carry + bh + (s->masked_state ? bh + (size_t)s->T * bh : 0);
    const int nt = pick_threads(s->B, s->T, s->F, s->H, 3, max_threads);
    /* the reset gate before U takes parts of U^T, left to the BLAS */
    const REAL *utp = s->reset_after ? FN(packed_for_steps)(s->B, nt, 3 * s->H, s->H, u, 3 * s->H,
                                                            1, ut)
                                     : NULL;
    const FN(backward_call) c = {s, lengths, cache, dy, hmask, ut, utp, dgx, dghn, ds, dbr,
                                 carry, dhm, hsm};
    gru_blas_single_thread();
    if (!utp) FN(transpose)(s->H, 3 * s->H, u, ut);
    if (nt == 1) {
        FN(backward_rows)(&c, w, dh_last, dx, dh0, 0, s->B);
        FN(weight_grads)(&c, x, dw, du, db, 0, 3 * s->H);
        return;
    }
#pragma omp parallel num_threads(nt)
    {
        const int n = omp_get_num_threads(), tid = omp_get_thread_num();
        int lo, hi, c0, c1;
        gru_split(s->B, n, tid, &lo, &hi);
        FN(backward_rows)(&c, w, dh_last, dx, dh0, lo, hi);
#pragma omp barrier
        gru_split(3 * s->H, n, tid, &c0, &c1);
        FN(weight_grads)(&c, x, dw, du, db, c0, c1);
    }
}
