/* Dense forward and backward, written once. dense.c includes this file twice, with REAL, FN and
 * GEMM defined for float and for double.
 *
 * Parallel plan: the rows of y and dx are independent, so every thread takes a block of rows and
 * runs one GEMM on it. dW and db sum over all rows instead, so they are split by output columns:
 * each thread computes its columns of dW = x^T dy as one GEMM over all N rows, and their sums for
 * db, with no reduction between threads. The BLAS runs single-threaded in the calling thread (see
 * threads.h). */

/* db[c] = sum over all rows of dy[:, c], for columns [c0, c1). */
static void FN(dense_column_sums)(int rows, int cols, int c0, int c1, const REAL *dy, REAL *db)
{
    for (int c = c0; c < c1; c++) db[c] = 0;
    for (int i = 0; i < rows; i++) {
        const REAL *r = dy + (size_t)i * cols;
        for (int c = c0; c < c1; c++) db[c] += r[c];
    }
}

/* y = x W + b for rows [lo, hi). */
static void FN(dense_rows)(const dense_shape *s, const REAL *x, const REAL *w, const REAL *b,
                           REAL *y, int lo, int hi)
{
    const int IN = s->IN, OUT = s->OUT;
    if (hi <= lo) return;
    /* y starts as the bias (or is overwritten: beta 0), then y += x W */
    for (int i = lo; b && i < hi; i++)
        memcpy(y + (size_t)i * OUT, b, (size_t)OUT * sizeof(REAL));
    GEMM(0, 0, hi - lo, OUT, IN, 1, x + (size_t)lo * IN, IN, w, OUT, b ? 1 : 0,
         y + (size_t)lo * OUT, OUT);
}

void FN(dense_forward)(const dense_shape *s, int max_threads, const REAL *x, const REAL *w,
                       const REAL *b, REAL *y)
{
    const int nt = pick_threads(s, max_threads, s->N);
    gru_blas_single_thread();
    if (nt == 1) {  /* no team to start for one thread: it matters for one sample */
        FN(dense_rows)(s, x, w, b, y, 0, s->N);
        return;
    }
#pragma omp parallel num_threads(nt)
    {
        int lo, hi;
        gru_split(s->N, omp_get_num_threads(), omp_get_thread_num(), &lo, &hi);
        FN(dense_rows)(s, x, w, b, y, lo, hi);
    }
}

void FN(dense_backward)(const dense_shape *s, int max_threads, const REAL *x, const REAL *w,
                        const REAL *dy, REAL *dx, REAL *dw, REAL *db)
{
    const int N = s->N, IN = s->IN, OUT = s->OUT;
    const int parts = dx && N > OUT ? N : OUT;
    gru_blas_single_thread();

#pragma omp parallel num_threads(pick_threads(s, max_threads, parts))
    {
        const int nt = omp_get_num_threads(), tid = omp_get_thread_num();
        int lo, hi, c0, c1;
        gru_split(N, nt, tid, &lo, &hi);
        if (dx && hi > lo)  /* dx = dy W^T */
            GEMM(0, 1, hi - lo, IN, OUT, 1, dy + (size_t)lo * OUT, OUT, w, OUT, 0,
                 dx + (size_t)lo * IN, IN);
        gru_split(OUT, nt, tid, &c0, &c1);
        if (c1 > c0) {
            if (N > 0)  /* dW = x^T dy */
                GEMM(1, 0, IN, c1 - c0, N, 1, x, IN, dy + c0, OUT, 0, dw + c0, OUT);
            else  /* no rows: a BLAS given k = 0 need not touch C */
                for (int i = 0; i < IN; i++)
                    memset(dw + (size_t)i * OUT + c0, 0, (size_t)(c1 - c0) * sizeof(REAL));
            if (db) FN(dense_column_sums)(N, OUT, c0, c1, dy, db);
        }
    }
}
