/* Conv1D forward and backward, written once. conv1d.c includes this file twice, with REAL, FN
 * and GEMM defined for float and for double.
 *
 * Each convolution is a GEMM: im2col lays a chunk of rows out as a matrix with one row per
 * (sample, output step) and one column per (tap, input channel of the group), which times the
 * group's slice of the kernel, viewed as a (K * C / groups, F) matrix as Keras stores it, gives
 * the group's columns of y. The backward reuses the same matrix: dw += cols^T dy, and
 * dcols = dy w^T, which col2im (the same walk, adding instead of copying) sums into dx.
 *
 * Parallel plan: samples are independent, so every thread takes a block of them. y and dx rows
 * belong to one thread; dw sums over all samples, so each thread sums its own partial dw, then
 * after a barrier each thread adds the partial sums, in thread order, for a block of dw's rows:
 * the same thread count gives the same bits. db is split by filters, each summed over all rows
 * by one thread, so it does not depend on the thread count at all. The BLAS runs
 * single-threaded in the calling thread (see threads.h). */

/* Between x and the im2col matrix `cols` of rows [r0, r1) (row n * T_out + o: sample n, output
 * step o) and group g. gather: cols = x at each tap's input step, zero where the tap reads
 * padding. Otherwise (col2im) the transpose: x += cols at the same places, padding dropped; x
 * is written only then. */
static void FN(conv1d_columns)(const conv1d_shape *s, size_t r0, size_t r1, int g, REAL *x,
                               REAL *cols, int gather)
{
    const int Cg = s->C / s->groups, K = s->K;
    const size_t tap_stride = (size_t)s->dilation * s->C;  /* x elements between taps */
    /* One group and no dilation: the valid taps of a row are one contiguous run of x. */
    const int one_run = s->dilation == 1 && s->groups == 1;
    for (size_t r = r0; r < r1; r++) {
        const size_t n = r / s->T_out;
        REAL *row = cols + (r - r0) * K * Cg;
        int j0, j1;
        long long t0;
        valid_taps(s, (int)(r % s->T_out), &j0, &j1, &t0);
        if (gather) {
            memset(row, 0, (size_t)j0 * Cg * sizeof(REAL));
            memset(row + (size_t)j1 * Cg, 0, (size_t)(K - j1) * Cg * sizeof(REAL));
        }
        if (j1 == j0) continue;  /* all padding: t0 may lie outside x */
        REAL *xt = x + (n * s->T + (size_t)t0) * s->C + (size_t)g * Cg;
        const int runs = one_run ? 1 : j1 - j0;
        const size_t width = one_run ? (size_t)(j1 - j0) * Cg : (size_t)Cg;
        for (int i = 0; i < runs; i++) {
            REAL *xi = xt + i * tap_stride, *ci = row + (size_t)(j0 + i) * Cg;
            if (gather)
                memcpy(ci, xi, width * sizeof(REAL));
            else
                for (size_t c = 0; c < width; c++) xi[c] += ci[c];
        }
    }
}

/* y = conv(x, w) + b for samples [lo, hi), `cols` this thread's scratch. */
static void FN(conv1d_forward_samples)(const conv1d_shape *s, const REAL *x, const REAL *w,
                                       const REAL *b, REAL *y, REAL *cols, int lo, int hi)
{
    const int F = s->F, Fg = F / s->groups, KC = s->K * (s->C / s->groups);
    const size_t end = (size_t)hi * s->T_out;
    for (size_t r0 = (size_t)lo * s->T_out; r0 < end; r0 += CHUNK_ROWS) {
        const int rows = end - r0 < CHUNK_ROWS ? (int)(end - r0) : CHUNK_ROWS;
        REAL *yc = y + r0 * F;
        /* y starts as the bias (or is overwritten: beta 0), then each group adds its GEMM */
        for (int r = 0; b && r < rows; r++) memcpy(yc + (size_t)r * F, b, (size_t)F * sizeof(REAL));
        for (int g = 0; g < s->groups; g++) {
            FN(conv1d_columns)(s, r0, r0 + rows, g, (REAL *)x, cols, 1);  /* gather: x only read */
            FN(gemm_k_blocks)(0, rows, Fg, KC, 1, cols, KC, w + (size_t)g * Fg, F, b ? 1 : 0,
                              yc + (size_t)g * Fg, F);
        }
    }
}

/* For samples [lo, hi): dw += their gradient, dx = theirs (when wanted). */
static void FN(conv1d_backward_samples)(const conv1d_shape *s, const REAL *x, const REAL *w,
                                        const REAL *dy, REAL *dx, REAL *dw, REAL *cols, int lo,
                                        int hi)
{
    const int F = s->F, Fg = F / s->groups, KC = s->K * (s->C / s->groups);
    const size_t end = (size_t)hi * s->T_out;
    if (dx) memset(dx + (size_t)lo * s->T * s->C, 0, (size_t)(hi - lo) * s->T * s->C * sizeof(REAL));
    for (size_t r0 = (size_t)lo * s->T_out; r0 < end; r0 += CHUNK_ROWS) {
        const int rows = end - r0 < CHUNK_ROWS ? (int)(end - r0) : CHUNK_ROWS;
        for (int g = 0; g < s->groups; g++) {
            const REAL *dyg = dy + r0 * F + (size_t)g * Fg, *wg = w + (size_t)g * Fg;
            FN(conv1d_columns)(s, r0, r0 + rows, g, (REAL *)x, cols, 1);  /* gather: x only read */
            GEMM(1, 0, KC, Fg, rows, 1, cols, KC, dyg, F, 1, dw + (size_t)g * Fg, F);
            if (!dx) continue;
            /* dcols = dy w^T replaces the columns, which dw no longer needs */
            FN(gemm_k_blocks)(1, rows, KC, Fg, 1, dyg, F, wg, F, 0, cols, KC);
            FN(conv1d_columns)(s, r0, r0 + rows, g, dx, cols, 0);
        }
    }
}

void FN(conv1d_forward)(const conv1d_shape *s, int max_threads, const REAL *x, const REAL *w,
                        const REAL *b, REAL *y, REAL *work)
{
    const int nt = pick_threads(s, max_threads);
    const size_t per_thread = columns_size(s);
    gru_blas_single_thread();
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        const int tid = omp_get_thread_num();
        int lo, hi;
        gru_split(s->N, omp_get_num_threads(), tid, &lo, &hi);
        FN(conv1d_forward_samples)(s, x, w, b, y, work + tid * per_thread, lo, hi);
    }
}

void FN(conv1d_backward)(const conv1d_shape *s, int max_threads, const REAL *x, const REAL *w,
                         const REAL *dy, REAL *dx, REAL *dw, REAL *db, REAL *work)
{
    const int nt = pick_threads(s, max_threads), KC = s->K * (s->C / s->groups), F = s->F;
    const size_t per_thread = columns_size(s), rows = (size_t)s->N * s->T_out;
    gru_blas_single_thread();
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        const int team = omp_get_num_threads(), tid = omp_get_thread_num();
        /* thread 0 sums into dw itself, thread p > 0 into partials + (p - 1) * KC * F */
        REAL *const partials = work + (size_t)nt * per_thread;
        REAL *part = tid == 0 ? dw : partials + (size_t)(tid - 1) * KC * F;
        int lo, hi, c0, c1, r0, r1;
        memset(part, 0, (size_t)KC * F * sizeof(REAL));
        gru_split(s->N, team, tid, &lo, &hi);
        FN(conv1d_backward_samples)(s, x, w, dy, dx, part, work + tid * per_thread, lo, hi);

        gru_split(F, team, tid, &c0, &c1);  /* db: each filter summed by one thread */
        for (int f = c0; f < c1; f++) db[f] = 0;
        for (size_t r = 0; r < rows; r++)
            for (int f = c0; f < c1; f++) db[f] += dy[r * F + f];

#pragma omp barrier
        gru_split(KC, team, tid, &r0, &r1);  /* dw's rows [r0, r1): add the partials in order */
        for (int p = 1; p < team; p++) {
            const REAL *src = partials + (size_t)(p - 1) * KC * F;
            for (size_t e = (size_t)r0 * F; e < (size_t)r1 * F; e++) dw[e] += src[e];
        }
    }
}
