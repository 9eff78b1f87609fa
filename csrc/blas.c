#include <string.h>

#include "blas.h"

#if defined(GRU_BLAS_SCIPY_OPENBLAS)
gru_blas_table gru_blas;

int gru_blas_bind(const size_t *addresses, int count)
{
    void *slots[6];
    _Static_assert(sizeof slots == sizeof gru_blas, "gru_blas_table holds six function pointers");
    if (count != 6) return -1;
    for (int i = 0; i < 6; i++) {
        if (!addresses[i]) return -1;
        slots[i] = (void *)addresses[i];
    }
    memcpy(&gru_blas, slots, sizeof gru_blas);  /* six pointers, in the table's order */
    return 0;
}
#else
int gru_blas_bind(const size_t *addresses, int count) { (void)addresses; (void)count; return 0; }
#endif

void gru_blas_single_thread(void)
{
#if defined(GRU_BLAS_SCIPY_OPENBLAS)
    /* A pthreads OpenBLAS: pin it to the calling thread (cheap when already 1). */
    if (gru_blas.get_num_threads() != 1) gru_blas.set_num_threads(1);
#endif
    /* OpenMP builds of OpenBLAS, MKL and BLIS run single-threaded inside a parallel region. */
}
