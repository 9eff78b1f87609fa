/* REAL-typed helpers of the recurrent kernels: gru.c and lstm.c include this file before their
 * kernels, once per REAL (float, double), as they include those. */

/* Zero what sequence bi holds past its length len in a (B, T, width) array. */
static void FN(zero_tail)(int T, int bi, int len, REAL *a, int width)
{
    if (a && len < T)
        memset(a + ((size_t)bi * T + len) * width, 0, (size_t)(T - len) * width * sizeof(REAL));
}

/* db[c] = sum over all rows of g[:, c], for columns [c0, c1). */
static void FN(column_sums)(size_t rows, int G, int c0, int c1, const REAL *g, REAL *db)
{
    for (int c = c0; c < c1; c++) db[c] = 0;
    for (size_t i = 0; i < rows; i++)
        for (int c = c0; c < c1; c++) db[c] += g[i * G + c];
}
