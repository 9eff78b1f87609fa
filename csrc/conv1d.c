/* Geometry, scratch sizes and thread choice of the Conv1D kernels; the kernels themselves are
 * written once in conv1d_impl.h and instantiated below for float and double. */
#include <omp.h>
#include <string.h>

#include "blas.h"
#include "conv1d.h"
#include "threads.h"

/* Rows (sample, output step) of one im2col matrix and its GEMMs: enough that a GEMM is not
 * overhead, few enough that the matrix stays in the core's L2 cache between im2col and GEMM
 * (and at most GRU_GEMM_K_BLOCK: the rows are the inner dimension of dw's GEMM). */
#define CHUNK_ROWS 128

long long conv1d_geometry(int padding, long long T, long long K, long long stride,
                          long long dilation, long long *pad_left)
{
    const long long span = dilation * (K - 1);  /* input steps a window spans, less one */
    if (T < 1) {  /* no steps: no output either (C's division would round -1 / stride to 0) */
        *pad_left = 0;
        return 0;
    }
    if (padding == CONV1D_VALID) {
        *pad_left = 0;
        /* tested first: with a negative numerator C's division would truncate towards 0 */
        return T <= span ? 0 : (T - span - 1) / stride + 1;
    }
    const long long out = (T - 1) / stride + 1;
    if (padding == CONV1D_CAUSAL) {
        *pad_left = span;
    } else {  /* (out - 1) * stride < T: no overflow for operands that fit an int */
        const long long total = (out - 1) * stride + span + 1 - T;
        *pad_left = total > 0 ? total / 2 : 0;
    }
    return out;
}

/* Threads worth using: at most one per sample, and one only when the whole call is tiny
 * (starting a team costs more than it saves). */
static int pick_threads(const conv1d_shape *s, int max_threads)
{
    double flops = 2.0 * s->N * (double)s->T_out * s->K * (s->C / s->groups) * s->F;
    int n = max_threads < s->N ? max_threads : s->N;
    if (flops < 1e6 || n < 1) n = 1;
    return n;
}

/* Elements of one thread's im2col matrix: up to CHUNK_ROWS rows of K * C / groups. */
static size_t columns_size(const conv1d_shape *s)
{
    const size_t rows = (size_t)s->N * s->T_out;
    return (rows < CHUNK_ROWS ? rows : CHUNK_ROWS) * s->K * (s->C / s->groups);
}

size_t conv1d_forward_work_size(const conv1d_shape *s, int max_threads)
{
    return (size_t)pick_threads(s, max_threads) * columns_size(s);
}

/* Also one partial sum of the kernel's gradient per thread but the first (which uses dw). */
size_t conv1d_backward_work_size(const conv1d_shape *s, int max_threads)
{
    const size_t nt = (size_t)pick_threads(s, max_threads);
    return nt * columns_size(s) + (nt - 1) * s->K * (size_t)(s->C / s->groups) * s->F;
}

/* The taps of output step o that read input (not padding): [*j0, *j1), the first at input step
 * *t0. Tap j reads step o * stride + j * dilation - pad_left. */
static void valid_taps(const conv1d_shape *s, int o, int *j0, int *j1, long long *t0)
{
    const long long base = (long long)o * s->stride - s->pad_left, d = s->dilation;
    long long lo = base >= 0 ? 0 : (-base + d - 1) / d;      /* first j with step >= 0 */
    long long hi = base >= s->T ? 0 : (s->T - 1 - base) / d + 1;  /* past the last step < T */
    if (lo > s->K) lo = s->K;
    if (hi > s->K) hi = s->K;
    if (hi < lo) hi = lo;
    *j0 = (int)lo;
    *j1 = (int)hi;
    *t0 = base + lo * d;
}

#define REAL float
#define FN(name) name##_f32
#define GEMM gemm_f32
#include "gemm_blocks_impl.h"
#include "conv1d_impl.h"
#undef REAL
#undef FN
#undef GEMM

#define REAL double
#define FN(name) name##_f64
#define GEMM gemm_f64
#include "gemm_blocks_impl.h"
#include "conv1d_impl.h"
#undef REAL
#undef FN
#undef GEMM
