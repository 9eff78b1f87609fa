/* The inference plan's C ops (plan.h), instantiated for float and double from
 * plan_impl.h. */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "plan.h"
#include "threads.h"

#define REAL float
#define FN(name) name##_f32
#define EXP expf
#define TANH tanhf
#define SQRT sqrtf
#include "plan_impl.h"
#undef REAL
#undef FN
#undef EXP
#undef TANH
#undef SQRT

#define REAL double
#define FN(name) name##_f64
#define EXP exp
#define TANH tanh
#define SQRT sqrt
#include "plan_impl.h"
#undef REAL
#undef FN
#undef EXP
#undef TANH
#undef SQRT

void plan_dense_reduced_f32(const reduced_matrix *q, int max_threads, size_t rows, int k, int n,
                            const float *x, const float *b, float *y)
{
    /* a team only when each thread gets enough work to pay for starting it */
    const double work = (double)rows * k * n;
    int nt = work < (1 << 20) ? 1 : max_threads;
    if ((size_t)nt > rows) nt = (int)rows;
#pragma omp parallel num_threads(nt)
    {
        int lo, hi;
        gru_split((int)rows, omp_get_num_threads(), omp_get_thread_num(), &lo, &hi);
        reduced_matmul(q, (size_t)(hi - lo), 0, n, x + (size_t)lo * k, (size_t)k,
                       y + (size_t)lo * n, (size_t)n);
        for (size_t r = (size_t)lo; b && r < (size_t)hi; r++)
            for (int j = 0; j < n; j++) y[r * n + j] += b[j];
    }
}
