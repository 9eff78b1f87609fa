/* REAL-typed helpers of the recurrent kernels: gru.c and lstm.c include this file before their
 * kernels, once per REAL (float, double), as they include those. FLOAT32_PRODUCTS is 1 in the
 * float instantiation, whose products may read a reduced-precision (reduced.h) or packed
 * (packed.h) copy of the weights. */

/* Zero what sequence bi holds past its length len in a (B, T, width) array. */
static void FN(zero_tail)(int T, int bi, int len, REAL *a, int width)
{
    if (a && len < T)
        memset(a + ((size_t)bi * T + len) * width, 0, (size_t)(T - len) * width * sizeof(REAL));
}

/* The product of `rows` rows of a (row stride lda) with columns [j, j + n) of w (row stride
 * ldw) into c (row stride ldc), from w itself or, when q is given (float32 inference in
 * reduced precision), from q, w's bfloat16 or int8 copy (reduced.h). */
static void FN(product)(const reduced_matrix *q, size_t rows, int j, int n, int k, const REAL *a,
                        int lda, const REAL *w, int ldw, REAL *c, int ldc)
{
#if FLOAT32_PRODUCTS
    if (q) {
        reduced_matmul(q, rows, j, j + n, a, (size_t)lda, c, (size_t)ldc);
        return;
    }
#else
    (void)q;
#endif
    GEMM(0, 0, (int)rows, n, k, 1, a, lda, w + j, ldw, 0, c, ldc);
}

/* FN(product) for many rows (a sequence's input projection), in blocks of rows with a check
 * for a pending interrupt between them: one call can hold the thread for seconds. A block is
 * large enough (about 2^26 multiply-adds, at least 256 rows) that the GEMMs run at full
 * speed. */
static void FN(product_polled)(const reduced_matrix *q, size_t rows, int j, int n, int k,
                               const REAL *a, int lda, const REAL *w, int ldw, REAL *c, int ldc)
{
    const size_t per_block = ((size_t)1 << 26) / ((size_t)n * k + 1);
    const size_t block = per_block > 256 ? per_block : 256;
    for (size_t r = 0; r < rows && !gru_interrupt_pending(); r += block) {
        const size_t m = rows - r < block ? rows - r : block;
        FN(product)(q, m, j, n, k, a + r * lda, lda, w, ldw, c + r * ldc, ldc);
    }
}

/* Step k's input projection x_t W of rows [lo, hi) into gx's rows lo .. hi - 1 (G columns):
 * a block that the step's gate pass then reads from cache, where the whole sequence's
 * (B, T, G) streams back from memory a step at a time. Every row at the same position
 * (stepwise_input). */
static void FN(step_input)(const reduced_matrix *q, int lo, int hi, int k, int T, int F, int G,
                           int reverse, const REAL *x, const REAL *w, REAL *gx)
{
    FN(product)(q, (size_t)(hi - lo), 0, G, F, x + ((size_t)lo * T + step_pos(reverse, T, k)) * F,
                T * F, w, G, gx + (size_t)lo * G, G);
}

/* y[j0:j0+W] = x[0:k] a[:, j0:j0+W]: its sums in registers while the rows of a stream
 * through, four rows added together before they join the sums (fewer dependent additions, and
 * a rounding within the BLAS's). */
#define FN_ROW_BLOCK(W)                                                                      \
    static inline void FN(row_block_##W)(int k, const REAL *x, const REAL *a, int lda,        \
                                         REAL *y)                                             \
    {                                                                                         \
        REAL acc[W] = {0};                                                                    \
        int i = 0;                                                                            \
        for (; i + 3 < k; i += 4) {                                                           \
            const REAL x0 = x[i], x1 = x[i + 1], x2 = x[i + 2], x3 = x[i + 3];                \
            const REAL *a0 = a + (size_t)i * lda, *a1 = a0 + lda, *a2 = a1 + lda,             \
                       *a3 = a2 + lda;                                                        \
            _Pragma("omp simd") for (int c = 0; c < W; c++)                                   \
                acc[c] += (x0 * a0[c] + x1 * a1[c]) + (x2 * a2[c] + x3 * a3[c]);              \
        }                                                                                     \
        for (; i < k; i++) {                                                                  \
            const REAL xi = x[i], *ai = a + (size_t)i * lda;                                  \
            _Pragma("omp simd") for (int c = 0; c < W; c++) acc[c] += xi * ai[c];             \
        }                                                                                     \
        memcpy(y, acc, sizeof acc);                                                           \
    }
FN_ROW_BLOCK(64)
FN_ROW_BLOCK(16)
#undef FN_ROW_BLOCK

/* y[0:n] = x[0:k] a, a (k, n) with row stride lda: one row of a step's recurrent product
 * without a BLAS call, whose packing of a costs more than the product for one row: blocks of
 * 64 columns, then of 16, then the last few as the last 16 (recomputing some: the same sums),
 * or one by one when n < 16. */
GRU_SIMD_CLONES static void FN(row_times_matrix)(int k, int n, const REAL *x, const REAL *a,
                                                 int lda, REAL *y)
{
    int j = 0;
    for (; j + 64 <= n; j += 64) FN(row_block_64)(k, x, a + j, lda, y + j);
    for (; j + 16 <= n; j += 16) FN(row_block_16)(k, x, a + j, lda, y + j);
    if (j < n && n >= 16) {
        FN(row_block_16)(k, x, a + n - 16, lda, y + n - 16);
        return;
    }
    for (; j < n; j++) {
        REAL sum = 0;
        for (int i = 0; i < k; i++) sum += x[i] * a[(size_t)i * lda + j];
        y[j] = sum;
    }
}

#define STEP_ROWS_DIRECT 2
/* Multiply-adds of a step's product from which the BLAS packs its operand at every call:
 * OpenBLAS multiplies smaller products with its small-matrix kernels, without packing, as fast
 * as the packed kernel. */
#define STEP_PACKED_MIN 1e6

/* The (k, n) matrix b packed into p (packed.h) for the products of steps whose B rows nt threads
 * share, when that is their fastest path: float32 on a CPU with the packed kernel, more rows a
 * thread than the direct loop below takes, products the BLAS would pack b for. Returns p, or
 * NULL (b not packed: the steps take the BLAS). */
static const REAL *FN(packed_for_steps)(int B, int nt, int k, int n, const REAL *b, int ldb,
                                        int transposed, REAL *p)
{
#if FLOAT32_PRODUCTS
    const int rows = (B + nt - 1) / nt;
    if (rows > STEP_ROWS_DIRECT && (double)rows * k * n >= STEP_PACKED_MIN && packed_native()) {
        packed_pack(k, n, b, ldb, transposed, p);
        return p;
    }
#else
    (void)B, (void)nt, (void)k, (void)n, (void)b, (void)ldb, (void)transposed, (void)p;
#endif
    return NULL;
}

/* c = beta c + a b (beta 0 or 1) for a step's m rows, b (k, n) read from its packed copy when
 * given (FN(packed_for_steps)), else through the BLAS. */
static void FN(step_gemm)(const REAL *packed, int m, int n, int k, const REAL *a, int lda,
                          const REAL *b, int ldb, int beta, REAL *c, int ldc)
{
#if FLOAT32_PRODUCTS
    if (packed) {
        packed_matmul(m, k, n, a, lda, packed, c, ldc, beta);
        return;
    }
#else
    (void)packed;
#endif
    GEMM(0, 0, m, n, k, 1, a, lda, b, ldb, beta, c, ldc);
}

/* A step's recurrent product, FN(product) of m rows with columns [j, j + n) of b: up to
 * STEP_ROWS_DIRECT rows (one-sequence prediction, streaming) in float32/float64 row by row,
 * more from b's packed copy of those columns when given (FN(packed_for_steps)), else through
 * the BLAS. */
static void FN(step_product)(const reduced_matrix *q, const REAL *packed, int m, int j, int n,
                             int k, const REAL *a, int lda, const REAL *b, int ldb, REAL *c,
                             int ldc)
{
    if (packed && !q && m > STEP_ROWS_DIRECT) {
        FN(step_gemm)(packed, m, n, k, a, lda, b + j, ldb, 0, c, ldc);
        return;
    }
    if (q || m > STEP_ROWS_DIRECT) {
        FN(product)(q, (size_t)m, j, n, k, a, lda, b, ldb, c, ldc);
        return;
    }
    for (int r = 0; r < m; r++)
        FN(row_times_matrix)(k, n, a + (size_t)r * lda, b + j, ldb, c + (size_t)r * ldc);
}

/* The state rows [lo, hi) of a step's recurrent product read (H units each): h, or under
 * recurrent dropout h * hmask, written into hm. */
static const REAL *FN(recurrent_input)(int lo, int hi, int H, const REAL *h, const REAL *hmask,
                                       REAL *hm)
{
    if (!hmask) return h;
    for (size_t i = (size_t)lo * H; i < (size_t)hi * H; i++) hm[i] = h[i] * hmask[i];
    return hm;
}

/* carry += d U_part^T for rows [lo, hi) (d: the first row's k gate gradients, row stride ld;
 * U_part^T: ut, (k, H), or its packed copy utp): straight into carry, or under recurrent
 * dropout into dhm and through hmask. */
static void FN(add_recurrent_grad)(const REAL *utp, const REAL *ut, const REAL *hmask, int lo,
                                   int hi, int H, int k, const REAL *d, int ld, REAL *dhm,
                                   REAL *carry)
{
    if (!hmask) {
        FN(step_gemm)(utp, hi - lo, H, k, d, ld, ut, H, 1, carry + (size_t)lo * H, H);
        return;
    }
    FN(step_gemm)(utp, hi - lo, H, k, d, ld, ut, H, 0, dhm + (size_t)lo * H, H);
    for (size_t i = (size_t)lo * H; i < (size_t)hi * H; i++) carry[i] += hmask[i] * dhm[i];
}

/* What a cell (GRU, LSTM) gives the units-split inference loop below. */
typedef struct {
    int B, T, F, H, gates;  /* gates: blocks of H columns in W, U and a step's products */
    const REAL *u;
    const reduced_matrix *wq, *uq;  /* w's and u's reduced copies, or NULL (FN(product)) */
    REAL *gx;               /* (B, T, gates * H) input projections */
    REAL *gs;               /* one step's products, gs_stride per row */
    int gs_stride;
    const void *call;       /* the cell's forward call, handed to pass */
    /* the gate pass of step k for units [j0, j1) of every row, the new state written to h */
    void (*pass)(const void *call, REAL *h, int k, int j0, int j1);
} FN(units_cell);

/* Few sequences, many units (one-sequence prediction, streaming), at inference: every thread of
 * the team takes a block of units of every step, so the cores share the reading of U (each its
 * columns, from its own cache) instead of one core reading all of it. The state is
 * double-buffered (step k reads hbuf[k % 2] whole and writes its block of the other), so one
 * barrier a step suffices. The team decides together whether an interrupt stops the loop:
 * thread 0 sets the flag of step k's parity before that step's barrier. */
static void FN(units_team)(const FN(units_cell) *cell, const REAL *x, const REAL *w, REAL *hbuf,
                           volatile int *stop)
{
    const int B = cell->B, T = cell->T, F = cell->F, H = cell->H, G = cell->gates * H;
    int j0, j1;
    gru_split(H, omp_get_num_threads(), omp_get_thread_num(), &j0, &j1);
    const size_t width = (size_t)(j1 - j0) * sizeof(REAL), bh = (size_t)B * H;
    for (int g = 0; g < cell->gates; g++)  /* this block's columns of every input projection */
        FN(product_polled)(cell->wq, (size_t)B * T, g * H + j0, j1 - j0, F, x, F, w, G,
                           cell->gx + g * H + j0, G);
    for (int k = 0; k < T; k++) {
        const REAL *hin = hbuf + (k % 2) * bh;
        REAL *hout = hbuf + ((k + 1) % 2) * bh;
        for (int g = 0; g < cell->gates; g++)
            FN(step_product)(cell->uq, NULL, B, g * H + j0, j1 - j0, H, hin, H, cell->u, G,
                             cell->gs + g * H + j0, cell->gs_stride);
        for (int bi = 0; bi < B; bi++)  /* a GRU's update reads h, and ended rows keep it */
            memcpy(hout + (size_t)bi * H + j0, hin + (size_t)bi * H + j0, width);
        cell->pass(cell->call, hout, k, j0, j1);
        if (k == T - 1) break;
        if (omp_get_thread_num() == 0) stop[k % 2] = gru_interrupt_pending();
#pragma omp barrier  /* the new state is whole, and the team agrees on stopping */
        if (stop[k % 2]) break;
    }
}

/* The forward of a cell split by units over nt threads: h0 (or zeros) into hbuf (2 B H), the
 * team, then h_last, written after the team ends since h0 may be h_last itself; outputs past a
 * sequence's length zeroed. */
static void FN(units_forward)(const FN(units_cell) *cell, int nt, const REAL *x, const REAL *w,
                              const REAL *h0, const int *lengths, REAL *hbuf, REAL *h_last,
                              REAL *y)
{
    const size_t bh = (size_t)cell->B * cell->H;
    volatile int stop[2] = {0, 0};
    if (h0) memcpy(hbuf, h0, bh * sizeof(REAL));
    else memset(hbuf, 0, bh * sizeof(REAL));
#pragma omp parallel num_threads(nt)
    FN(units_team)(cell, x, w, hbuf, stop);
    memcpy(h_last, hbuf + (cell->T % 2) * bh, bh * sizeof(REAL));
    for (int bi = 0; lengths && bi < cell->B; bi++)
        FN(zero_tail)(cell->T, bi, lengths[bi], y, cell->H);
}

/* ut = u^T, u (rows, cols) row-major, ut (cols, rows): the backward's recurrent products read
 * U^T as a plain (not transposed) operand, which the BLAS multiplies without packing it at
 * every step. In square blocks, so that reads and writes stay in cache. */
static void FN(transpose)(int rows, int cols, const REAL *u, REAL *ut)
{
    enum { BLOCK = 32 };
    for (int i0 = 0; i0 < rows; i0 += BLOCK)
        for (int j0 = 0; j0 < cols; j0 += BLOCK) {
            const int i1 = i0 + BLOCK < rows ? i0 + BLOCK : rows;
            const int j1 = j0 + BLOCK < cols ? j0 + BLOCK : cols;
            for (int j = j0; j < j1; j++)
                for (int i = i0; i < i1; i++) ut[(size_t)j * rows + i] = u[(size_t)i * cols + j];
        }
}

/* db[c] = sum over all rows of g[:, c], for columns [c0, c1). */
static void FN(column_sums)(size_t rows, int G, int c0, int c1, const REAL *g, REAL *db)
{
    for (int c = c0; c < c1; c++) db[c] = 0;
    for (size_t i = 0; i < rows; i++)
        for (int c = c0; c < c1; c++) db[c] += g[i * G + c];
}
