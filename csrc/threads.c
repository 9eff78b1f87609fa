#include <omp.h>

#include "blas.h"
#include "threads.h"

int gru_get_num_threads(void) { return omp_get_max_threads(); }

void gru_set_num_threads(int n) { omp_set_num_threads(n > 0 ? n : 1); }

void gru_blas_single_thread(void)
{
#if defined(GRU_BLAS_SCIPY_OPENBLAS)
    /* A pthreads OpenBLAS: pin it to the calling thread (cheap when already 1). */
    if (scipy_openblas_get_num_threads() != 1) scipy_openblas_set_num_threads(1);
#endif
    /* OpenMP builds of OpenBLAS, MKL and BLIS run single-threaded inside a parallel region. */
}
