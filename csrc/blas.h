/* One place that knows which BLAS we link. Everything else calls gemm_f32 / gemm_f64
 * with row-major arguments and never sees the library's prefix. */
#ifndef GRU_BLAS_H
#define GRU_BLAS_H

#include <string.h>

#include <cblas.h>

#if defined(GRU_BLAS_SCIPY_OPENBLAS)
/* The scipy-openblas32 package's library is not linked but called through its addresses:
 * gru_native/_blas.py loads it by path and each module receives them at import (gru_blas_bind).
 * So our modules need no library beyond the system's, the installed package finds the BLAS
 * wherever pip put it, and auditwheel can give the wheel a manylinux tag. */
typedef struct {
    void (*sgemm)(enum CBLAS_ORDER, enum CBLAS_TRANSPOSE, enum CBLAS_TRANSPOSE, blasint, blasint,
                  blasint, float, const float *, blasint, const float *, blasint, float, float *,
                  blasint);
    void (*dgemm)(enum CBLAS_ORDER, enum CBLAS_TRANSPOSE, enum CBLAS_TRANSPOSE, blasint, blasint,
                  blasint, double, const double *, blasint, const double *, blasint, double,
                  double *, blasint);
    void (*sgemv)(enum CBLAS_ORDER, enum CBLAS_TRANSPOSE, blasint, blasint, float, const float *,
                  blasint, const float *, blasint, float, float *, blasint);
    void (*dgemv)(enum CBLAS_ORDER, enum CBLAS_TRANSPOSE, blasint, blasint, double,
                  const double *, blasint, const double *, blasint, double, double *, blasint);
    int (*get_num_threads)(void);
    void (*set_num_threads)(int);
} gru_blas_table;
extern gru_blas_table gru_blas;
#define GRU_CBLAS(name) gru_blas.name
#else
#define GRU_CBLAS(name) cblas_##name
#endif

/* Take the BLAS functions from their addresses, in the order of gru_blas_table (a linked BLAS
 * ignores them). Returns 0, or -1 when an address is missing. */
int gru_blas_bind(const size_t *addresses, int count);

/* Make the BLAS run single-threaded in the calling thread (threads.h says why). */
void gru_blas_single_thread(void);

/* The most a GEMM's inner dimension should span in one call (gemm_blocks_impl.h): OpenBLAS'
 * sgemm (Haswell kernel, on a Zen EPYC) runs 2-3x slower at inner sizes such as 256 and 320 (k = 5
 * taps of 64 channels) than at 192 or below; the blocks cost one more pass over a cache-resident
 * block of the output. dgemm showed no such dip and no loss from the blocks either. */
#define GRU_GEMM_K_BLOCK 192

/* C = alpha * op(A) op(B) + beta * C, row-major; ta/tb nonzero means transpose. A one-row
 * product is a GEMV: a GEMM would repack all of B for it (batch-1 prediction, every step). */
static inline void gemm_f32(int ta, int tb, int m, int n, int k, float alpha,
                            const float *a, int lda, const float *b, int ldb,
                            float beta, float *c, int ldc)
{
    if (m <= 0 || n <= 0) return;
    if (m == 1 && !ta) {
        if (beta == 0) memset(c, 0, (size_t)n * sizeof *c);  /* beta = 0 must not read c */
        if (tb) GRU_CBLAS(sgemv)(CblasRowMajor, CblasNoTrans, n, k, alpha, b, ldb, a, 1, beta, c, 1);
        else GRU_CBLAS(sgemv)(CblasRowMajor, CblasTrans, k, n, alpha, b, ldb, a, 1, beta, c, 1);
        return;
    }
    GRU_CBLAS(sgemm)(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                     m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

static inline void gemm_f64(int ta, int tb, int m, int n, int k, double alpha,
                            const double *a, int lda, const double *b, int ldb,
                            double beta, double *c, int ldc)
{
    if (m <= 0 || n <= 0) return;
    if (m == 1 && !ta) {
        if (beta == 0) memset(c, 0, (size_t)n * sizeof *c);
        if (tb) GRU_CBLAS(dgemv)(CblasRowMajor, CblasNoTrans, n, k, alpha, b, ldb, a, 1, beta, c, 1);
        else GRU_CBLAS(dgemv)(CblasRowMajor, CblasTrans, k, n, alpha, b, ldb, a, 1, beta, c, 1);
        return;
    }
    GRU_CBLAS(dgemm)(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                     m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

#endif
