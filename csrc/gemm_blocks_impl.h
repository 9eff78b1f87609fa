/* A GEMM with its inner dimension in blocks (GRU_GEMM_K_BLOCK, blas.h), REAL-typed: conv1d.c and
 * attention.c include this file before their kernels, once per REAL (float, double), as they
 * include those. */

/* c = beta c + alpha a op(b), a (m, k) and op(b) (k, n), with k in blocks of at most
 * GRU_GEMM_K_BLOCK (tb: b is stored transposed, as (n, k)). */
static void FN(gemm_k_blocks)(int tb, int m, int n, int k, REAL alpha, const REAL *a, int lda,
                              const REAL *b, int ldb, REAL beta, REAL *c, int ldc)
{
    for (int k0 = 0; k0 < k; k0 += GRU_GEMM_K_BLOCK)
        GEMM(0, tb, m, n, k - k0 < GRU_GEMM_K_BLOCK ? k - k0 : GRU_GEMM_K_BLOCK, alpha, a + k0,
             lda, tb ? b + k0 : b + (size_t)k0 * ldb, ldb, k0 ? 1 : beta, c, ldc);
}
