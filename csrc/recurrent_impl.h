/* REAL-typed helpers of the recurrent kernels: gru.c and lstm.c include this file before their
 * kernels, once per REAL (float, double), as they include those. */

/* Zero what sequence bi holds past its length len in a (B, T, width) array. */
static void FN(zero_tail)(int T, int bi, int len, REAL *a, int width)
{
    if (a && len < T)
        memset(a + ((size_t)bi * T + len) * width, 0, (size_t)(T - len) * width * sizeof(REAL));
}

/* c = a w for `rows` rows of a (row strides lda, ldc), in blocks of rows with a check for a
 * pending interrupt between them: the input projection of a long sequence is one GEMM that can
 * hold the thread for seconds. A block is large enough (about 2^26 multiply-adds, at least 256
 * rows) that the GEMMs run at full speed. */
static void FN(gemm_rows_polled)(size_t rows, int n, int k, const REAL *a, int lda, const REAL *w,
                                 int ldw, REAL *c, int ldc)
{
    const size_t per_block = ((size_t)1 << 26) / ((size_t)n * k + 1);
    const size_t block = per_block > 256 ? per_block : 256;
    for (size_t r = 0; r < rows && !gru_interrupt_pending(); r += block) {
        const size_t m = rows - r < block ? rows - r : block;
        GEMM(0, 0, (int)m, n, k, 1, a + r * lda, lda, w, ldw, 0, c + r * ldc, ldc);
    }
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
 * 64 columns, then of 16, then the last few. */
GRU_SIMD_CLONES static void FN(row_times_matrix)(int k, int n, const REAL *x, const REAL *a,
                                                 int lda, REAL *y)
{
    int j = 0;
    for (; j + 64 <= n; j += 64) FN(row_block_64)(k, x, a + j, lda, y + j);
    for (; j + 16 <= n; j += 16) FN(row_block_16)(k, x, a + j, lda, y + j);
    for (; j < n; j++) {
        REAL sum = 0;
        for (int i = 0; i < k; i++) sum += x[i] * a[(size_t)i * lda + j];
        y[j] = sum;
    }
}

/* c = a b for m rows (row-major, strides lda, ldb, ldc): a step's recurrent product. Up to
 * STEP_ROWS_DIRECT rows (one-sequence prediction, streaming) row by row, more through the
 * BLAS. */
#define STEP_ROWS_DIRECT 2
static void FN(step_product)(int m, int n, int k, const REAL *a, int lda, const REAL *b, int ldb,
                             REAL *c, int ldc)
{
    if (m > STEP_ROWS_DIRECT) {
        GEMM(0, 0, m, n, k, 1, a, lda, b, ldb, 0, c, ldc);
        return;
    }
    for (int r = 0; r < m; r++)
        FN(row_times_matrix)(k, n, a + (size_t)r * lda, b, ldb, c + (size_t)r * ldc);
}

/* db[c] = sum over all rows of g[:, c], for columns [c0, c1). */
static void FN(column_sums)(size_t rows, int G, int c0, int c1, const REAL *g, REAL *db)
{
    for (int c = c0; c < c1; c++) db[c] = 0;
    for (size_t i = 0; i < rows; i++)
        for (int c = c0; c < c1; c++) db[c] += g[i * G + c];
}
