/* LSTM forward and backward through time, written once; lstm.c includes this file twice, with
 * REAL, FN, GEMM, SIGMOID and TANH defined for float and for double. The parallel plan is the
 * GRU's (gru_impl.h): threads own blocks of sequences through the whole time loop, then split
 * the weight gradients by columns.
 *
 * Cache, by (sequence, position) o: h_{t-1} at o*H, c_{t-1} at bth + o*H, [i f g o] at
 * 2*bth + o*4H, tanh(c') at 6*bth + o*H, where bth = B*T*H.
 *
 * Recurrent dropout (hmask): the recurrent product sees h * hmask, the output is h itself. */

typedef struct {
    const lstm_shape *s;
    const int *lengths;
    REAL *gx;            /* (B, T, 4H) input projections x W, by position; or, with gx_by_row,
                          * only the current step's, row bi at bi * 4H */
    const REAL *u, *b, *hmask;
    REAL *gs;            /* one step's h U (4H) and tanh(c') (H), 5H per row */
    REAL *hm;            /* h * hmask, the recurrent GEMM's input (with hmask only) */
    REAL *h, *c;         /* the running states, end as h_last and c_last */
    REAL *y, *cache;
    const reduced_matrix *wq, *uq;  /* reduced-precision copies of w and u, or NULL */
    const REAL *up;      /* u packed for the steps' products (FN(packed_for_steps)), or NULL */
    int gx_by_row;       /* each step's input projection made just before it (stepwise_input) */
} FN(lstm_forward_call);

/* The fused gate pass of step k for rows [lo, hi) and units [j0, j1), gs holding h U: the
 * gates, the new states, and what the cache and y keep of them. */
GRU_SIMD_CLONES static void FN(lstm_gates)(const FN(lstm_forward_call) *c, int lo, int hi, int k,
                                           int j0, int j1)
{
    const lstm_shape *s = c->s;
    const int T = s->T, H = s->H, G = 4 * H, S = 5 * H;
    const size_t bth = (size_t)s->B * T * H, width = (size_t)(j1 - j0) * sizeof(REAL);
    const REAL *b = c->b;
    for (int bi = lo; bi < hi; bi++) {
        const int len = seq_len(c->lengths, bi, T);
        if (k >= len) continue;
        const size_t o = (size_t)bi * T + step_pos(s->reverse, len, k);
        const REAL *gxr = c->gx + (c->gx_by_row ? (size_t)bi : o) * G;
        REAL *gr = c->gs + (size_t)bi * S, *hr = c->h + (size_t)bi * H, *cr = c->c + (size_t)bi * H;
        /* the gates and tanh(c') go straight to the cache when training, else back into gs */
        REAL *gates = c->cache ? c->cache + 2 * bth + o * G : gr;
        REAL *tcr = c->cache ? c->cache + 6 * bth + o * H : gr + G;
        if (c->cache) {
            memcpy(c->cache + o * H + j0, hr + j0, width);
            memcpy(c->cache + bth + o * H + j0, cr + j0, width);
        }
#pragma omp simd
        for (int j = j0; j < j1; j++) {
            const REAL i = SIGMOID(gxr[j] + b[j] + gr[j]);
            const REAL f = SIGMOID(gxr[H + j] + b[H + j] + gr[H + j]);
            const REAL g = TANH(gxr[2 * H + j] + b[2 * H + j] + gr[2 * H + j]);
            const REAL og = SIGMOID(gxr[3 * H + j] + b[3 * H + j] + gr[3 * H + j]);
            const REAL cn = f * cr[j] + i * g, tc = TANH(cn);
            gates[j] = i;
            gates[H + j] = f;
            gates[2 * H + j] = g;
            gates[3 * H + j] = og;
            tcr[j] = tc;
            cr[j] = cn;
            hr[j] = og * tc;
        }
        if (c->y) memcpy(c->y + o * H + j0, hr + j0, width);
    }
}

/* Rows [lo, hi) take step k: gs = h U, then one fused pass over the gates. */
static void FN(lstm_step)(const FN(lstm_forward_call) *c, int lo, int hi, int k)
{
    const int H = c->s->H, G = 4 * H, S = 5 * H;
    const REAL *hin = FN(recurrent_input)(lo, hi, H, c->h, c->hmask, c->hm);
    FN(step_product)(c->uq, c->up, hi - lo, 0, G, H, hin + (size_t)lo * H, H, c->u, G,
                     c->gs + (size_t)lo * S, S);
    FN(lstm_gates)(c, lo, hi, k, 0, H);
}

/* The whole forward of sequences [lo, hi): their input GEMM, then every step (with gx_by_row,
 * each step's input product just before it). */
static void FN(lstm_forward_rows)(const FN(lstm_forward_call) *c, const REAL *x, const REAL *w,
                                  const REAL *h0, const REAL *c0, int lo, int hi)
{
    const lstm_shape *s = c->s;
    const int T = s->T, F = s->F, H = s->H, G = 4 * H;
    const size_t rows = (size_t)(hi - lo) * H * sizeof(REAL);
    if (hi <= lo) return;
    if (!c->gx_by_row)
        FN(product_polled)(c->wq, (size_t)(hi - lo) * T, 0, G, F, x + (size_t)lo * T * F, F, w,
                           G, c->gx + (size_t)lo * T * G, G);
    if (!h0) memset(c->h + (size_t)lo * H, 0, rows);
    else if (h0 != c->h) memcpy(c->h + (size_t)lo * H, h0 + (size_t)lo * H, rows);
    if (!c0) memset(c->c + (size_t)lo * H, 0, rows);
    else if (c0 != c->c) memcpy(c->c + (size_t)lo * H, c0 + (size_t)lo * H, rows);
    for (int k = 0; k < T && !gru_interrupt_pending(); k++) {
        if (c->gx_by_row) FN(step_input)(c->wq, lo, hi, k, T, F, G, s->reverse, x, w, c->gx);
        FN(lstm_step)(c, lo, hi, k);
    }
    /* Past a sequence's end: zero outputs and the cached h_{t-1}, dU's GEMM operand. */
    for (int bi = lo; c->lengths && bi < hi; bi++) {
        FN(zero_tail)(T, bi, c->lengths[bi], c->y, H);
        FN(zero_tail)(T, bi, c->lengths[bi], c->cache, H);
    }
}

/* The gate pass of the units split (units_team, recurrent_impl.h): the new h into h, each
 * thread's units of c in place. */
static void FN(lstm_gates_into)(const void *call, REAL *h, int k, int j0, int j1)
{
    FN(lstm_forward_call) step = *(const FN(lstm_forward_call) *)call;
    step.h = h;
    FN(lstm_gates)(&step, 0, step.s->B, k, j0, j1);
}

/* lstm_forward, its products from wq and uq when given (FN(product)). */
static void FN(lstm_forward_with)(const lstm_shape *s, int max_threads, const REAL *x,
                                  const REAL *w, const REAL *u, const reduced_matrix *wq,
                                  const reduced_matrix *uq, const REAL *b, const REAL *h0,
                                  const REAL *c0, const int *lengths, const REAL *hmask, REAL *y,
                                  REAL *h_last, REAL *c_last, REAL *cache, REAL *work)
{
    const int nt = pick_threads(s->B, s->T, s->F, s->H, 4, max_threads);
    const int units_nt = units_threads(s->B, s->H, max_threads);
    const int units = splits_units(s, max_threads, cache != NULL, hmask != NULL);
    const int by_row = !units && stepwise_input(cache != NULL, s->reverse, lengths);
    /* the input projections of every step, or of one (lstm_inference_work_size) */
    REAL *gx = work, *gs = gx + (size_t)s->B * (by_row ? 1 : s->T) * 4 * s->H;
    REAL *hm = gs + (size_t)s->B * 5 * s->H;
    /* past h * hmask and the two state buffers of units_forward */
    REAL *packed = hm + (size_t)(s->masked_state ? 3 : 2) * s->B * s->H;
    const REAL *up = units || uq ? NULL
                                 : FN(packed_for_steps)(s->B, nt, s->H, 4 * s->H, u, 4 * s->H, 0,
                                                        packed);
    const FN(lstm_forward_call) c = {s, lengths, gx, u, b, hmask, gs, hm, h_last, c_last, y,
                                     cache, wq, uq, up, by_row};
    gru_blas_single_thread();
    if (units) {
        const size_t bh = (size_t)s->B * s->H;
        const FN(units_cell) cell = {s->B, s->T, s->F, s->H, 4, u, wq, uq, gx, gs, 5 * s->H, &c,
                                     FN(lstm_gates_into)};
        if (!c0) memset(c_last, 0, bh * sizeof(REAL));
        else if (c0 != c_last) memcpy(c_last, c0, bh * sizeof(REAL));
        FN(units_forward)(&cell, units_nt, x, w, h0, lengths, hm + (s->masked_state ? bh : 0),
                          h_last, y);
        return;
    }
    if (nt == 1) {
        FN(lstm_forward_rows)(&c, x, w, h0, c0, 0, s->B);
        return;
    }
#pragma omp parallel num_threads(nt)
    {
        int lo, hi;
        gru_split(s->B, omp_get_num_threads(), omp_get_thread_num(), &lo, &hi);
        FN(lstm_forward_rows)(&c, x, w, h0, c0, lo, hi);
    }
}

void FN(lstm_forward)(const lstm_shape *s, int max_threads, const REAL *x, const REAL *w,
                      const REAL *u, const REAL *b, const REAL *h0, const REAL *c0,
                      const int *lengths, const REAL *hmask, REAL *y, REAL *h_last,
                      REAL *c_last, REAL *cache, REAL *work)
{
    FN(lstm_forward_with)(s, max_threads, x, w, u, NULL, NULL, b, h0, c0, lengths, hmask, y,
                          h_last, c_last, cache, work);
}

/* The arrays of one backward call. The carries hold dL/dh and dL/dc after the current step on
 * entry to a step, and before it on exit. */
typedef struct {
    const lstm_shape *s;
    const int *lengths;
    const REAL *cache, *dy, *hmask;
    const REAL *ut, *utp;  /* U^T, (4H, H); or packed (FN(packed_for_steps)), ut unused */
    REAL *dgx;             /* (B, T, 4H) gradient of the gate pre-activations, by position */
    REAL *ds;              /* one step's, 4H per row (without ds_in_dgx) */
    int ds_in_dgx;         /* every row at one position (not reversed with lengths): a step's
                            * product reads its rows of dgx, ds unused */
    REAL *dbr;             /* (B, 4H): each row's sums of dA over its steps, whose column
                            * sums are db (no pass over all of dgx after the steps) */
    REAL *carry_h, *carry_c;
    REAL *dhm;             /* (B, H) gradient reaching h * hmask (with hmask only) */
    REAL *hsm;             /* (B, T, H) h * hmask by position, for dU (with hmask only) */
} FN(lstm_backward_call);

GRU_SIMD_CLONES static void FN(lstm_step_back)(const FN(lstm_backward_call) *c, int lo, int hi,
                                               int k)
{
    const lstm_shape *s = c->s;
    const int T = s->T, H = s->H, G = 4 * H;
    const size_t bth = (size_t)s->B * T * H;
    const int pos = step_pos(s->reverse, T, k);  /* every row's, with ds_in_dgx */
    for (int bi = lo; bi < hi; bi++) {
        const int len = seq_len(c->lengths, bi, T);
        REAL *dsr = c->ds_in_dgx ? c->dgx + ((size_t)bi * T + pos) * G : c->ds + (size_t)bi * G;
        if (k >= len) { memset(dsr, 0, (size_t)G * sizeof(REAL)); continue; }
        const size_t o = (size_t)bi * T + step_pos(s->reverse, len, k);
        const REAL *cp = c->cache + bth + o * H, *gates = c->cache + 2 * bth + o * G;
        const REAL *tc = c->cache + 6 * bth + o * H, *dyr = c->dy ? c->dy + o * H : NULL;
        REAL *dgxr = c->dgx + o * G, *ch = c->carry_h + (size_t)bi * H, *cc = c->carry_c + (size_t)bi * H;
        REAL *dbr = c->dbr + (size_t)bi * G;
#pragma omp simd
        for (int j = 0; j < H; j++) {
            const REAL dh = ch[j] + (dyr ? dyr[j] : 0);
            const REAL i = gates[j], f = gates[H + j], g = gates[2 * H + j], og = gates[3 * H + j];
            const REAL dc = cc[j] + dh * og * (1 - tc[j] * tc[j]);
            const REAL ai = dc * g * i * (1 - i), af = dc * cp[j] * f * (1 - f);
            const REAL ag = dc * i * (1 - g * g), ao = dh * tc[j] * og * (1 - og);
            dgxr[j] = ai;
            dgxr[H + j] = af;
            dgxr[2 * H + j] = ag;
            dgxr[3 * H + j] = ao;
            dbr[j] += ai;
            dbr[H + j] += af;
            dbr[2 * H + j] += ag;
            dbr[3 * H + j] += ao;
            cc[j] = dc * f;
            ch[j] = 0;  /* dh_{t-1} is all from the recurrent product below */
        }
        if (dsr != dgxr) memcpy(dsr, dgxr, (size_t)G * sizeof(REAL));
        if (c->hmask)
            for (int j = 0; j < H; j++)
                c->hsm[o * H + j] = c->cache[o * H + j] * c->hmask[(size_t)bi * H + j];
    }
    /* dh_{t-1} = dA U^T, through hmask under recurrent dropout (rows past their end keep their
     * carry: their dA is zero) */
    const REAL *dsl = c->ds_in_dgx ? c->dgx + ((size_t)lo * T + pos) * G : c->ds + (size_t)lo * G;
    const int ld = c->ds_in_dgx ? T * G : G;
    FN(add_recurrent_grad)(c->utp, c->ut, c->hmask, lo, hi, H, G, dsl, ld, c->dhm, c->carry_h);
}

static void FN(lstm_backward_rows)(const FN(lstm_backward_call) *c, const REAL *w,
                                   const REAL *dh_last, const REAL *dc_last, REAL *dx, REAL *dh0,
                                   REAL *dc0, int lo, int hi)
{
    const lstm_shape *s = c->s;
    const int T = s->T, F = s->F, H = s->H, G = 4 * H;
    const size_t rows = (size_t)(hi - lo) * H * sizeof(REAL), at = (size_t)lo * H;
    if (hi <= lo) return;
    if (dh_last) memcpy(c->carry_h + at, dh_last + at, rows);
    else memset(c->carry_h + at, 0, rows);
    if (dc_last) memcpy(c->carry_c + at, dc_last + at, rows);
    else memset(c->carry_c + at, 0, rows);
    memset(c->dbr + (size_t)lo * G, 0, (size_t)(hi - lo) * G * sizeof(REAL));
    for (int k = T - 1; k >= 0 && !gru_interrupt_pending(); k--) FN(lstm_step_back)(c, lo, hi, k);
    if (dh0) memcpy(dh0 + at, c->carry_h + at, rows);
    if (dc0) memcpy(dc0 + at, c->carry_c + at, rows);
    for (int bi = lo; c->lengths && bi < hi; bi++) {
        FN(zero_tail)(T, bi, c->lengths[bi], c->dgx, G);
        if (c->hmask) FN(zero_tail)(T, bi, c->lengths[bi], c->hsm, H);
    }
    if (dx)  /* dX = dA W^T */
        GEMM(0, 1, (hi - lo) * T, F, G, 1, c->dgx + (size_t)lo * T * G, G, w, G, 0,
             dx + (size_t)lo * T * F, F);
}

/* Weight gradients, columns [c0, c1) of the 4H gate columns: dW = X^T dA, dU = H_prev^T dA,
 * db = the column sums of dA (of dbr: each row's were summed in its steps), each GEMM over all T*B
 * rows. */
static void FN(lstm_weight_grads)(const FN(lstm_backward_call) *c, const REAL *x, REAL *dw,
                                  REAL *du, REAL *db, int c0, int c1)
{
    const int F = c->s->F, H = c->s->H, G = 4 * H, nc = c1 - c0;
    const size_t bt = (size_t)c->s->B * c->s->T;
    if (nc <= 0) return;
    GEMM(1, 0, F, nc, (int)bt, 1, x, F, c->dgx + c0, G, 0, dw + c0, G);
    /* the states the recurrent product saw: h_{t-1}, or h_{t-1} * hmask */
    GEMM(1, 0, H, nc, (int)bt, 1, c->hmask ? c->hsm : c->cache, H, c->dgx + c0, G, 0, du + c0, G);
    FN(column_sums)(c->s->B, G, c0, c1, c->dbr, db);
}

void FN(lstm_backward)(const lstm_shape *s, int max_threads, const REAL *x, const REAL *w,
                       const REAL *u, const int *lengths, const REAL *hmask, const REAL *cache,
                       const REAL *dy, const REAL *dh_last, const REAL *dc_last, REAL *dx,
                       REAL *dh0, REAL *dc0, REAL *dw, REAL *du, REAL *db, REAL *work)
{
    REAL *dgx = work, *ds = dgx + (size_t)s->B * s->T * 4 * s->H;
    REAL *dbr = ds + (size_t)s->B * 4 * s->H;
    REAL *carry_h = dbr + (size_t)s->B * 4 * s->H, *carry_c = carry_h + (size_t)s->B * s->H;
    const size_t bh = (size_t)s->B * s->H;
    REAL *dhm = carry_c + bh, *hsm = dhm + bh;
    REAL *ut = carry_c + bh + (s->masked_state ? bh + (size_t)s->T * bh : 0);
    const int nt = pick_threads(s->B, s->T, s->F, s->H, 4, max_threads);
    const REAL *utp = FN(packed_for_steps)(s->B, nt, 4 * s->H, s->H, u, 4 * s->H, 1, ut);
    /* a step's rows of dgx, T * 4H apart, as the product's operand (its row stride an int) */
    const int ds_in_dgx = !(s->reverse && lengths) && (size_t)s->T * 4 * s->H <= INT_MAX;
    const FN(lstm_backward_call) c = {s, lengths, cache, dy, hmask, ut, utp, dgx, ds, ds_in_dgx,
                                      dbr, carry_h, carry_c, dhm, hsm};
    gru_blas_single_thread();
    if (!utp) FN(transpose)(s->H, 4 * s->H, u, ut);
    if (nt == 1) {
        FN(lstm_backward_rows)(&c, w, dh_last, dc_last, dx, dh0, dc0, 0, s->B);
        FN(lstm_weight_grads)(&c, x, dw, du, db, 0, 4 * s->H);
        return;
    }
#pragma omp parallel num_threads(nt)
    {
        const int n = omp_get_num_threads(), tid = omp_get_thread_num();
        int lo, hi, c0, c1;
        gru_split(s->B, n, tid, &lo, &hi);
        FN(lstm_backward_rows)(&c, w, dh_last, dc_last, dx, dh0, dc0, lo, hi);
#pragma omp barrier
        gru_split(4 * s->H, n, tid, &c0, &c1);
        FN(lstm_weight_grads)(&c, x, dw, du, db, c0, c1);
    }
}
