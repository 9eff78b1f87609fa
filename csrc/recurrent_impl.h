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

/* db[c] = sum over all rows of g[:, c], for columns [c0, c1). */
static void FN(column_sums)(size_t rows, int G, int c0, int c1, const REAL *g, REAL *db)
{
    for (int c = c0; c < c1; c++) db[c] = 0;
    for (size_t i = 0; i < rows; i++)
        for (int c = c0; c < c1; c++) db[c] += g[i * G + c];
}
