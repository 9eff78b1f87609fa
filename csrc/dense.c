/* Thread choice of the dense kernels; the kernels themselves are written once in dense_impl.h and
 * instantiated below for float and double. */
#include <omp.h>
#include <string.h>

#include "blas.h"
#include "dense.h"
#include "threads.h"

/* Threads worth using: at most one per part (rows or output columns, whichever the call splits),
 * and one only when the whole call is tiny (starting a team costs more than it saves). */
static int pick_threads(const dense_shape *s, int max_threads, int parts)
{
    double flops = 2.0 * s->N * (double)s->IN * s->OUT;
    int n = max_threads < parts ? max_threads : parts;
    if (flops < 1e6 || n < 1) n = 1;
    return n;
}

#define REAL float
#define FN(name) name##_f32
#define GEMM gemm_f32
#include "dense_impl.h"
#undef REAL
#undef FN
#undef GEMM

#define REAL double
#define FN(name) name##_f64
#define GEMM gemm_f64
#include "dense_impl.h"
#undef REAL
#undef FN
#undef GEMM
