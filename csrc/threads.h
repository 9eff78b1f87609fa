/* Thread control shared by every kernel. Kernels parallelise with OpenMP over the batch (the
 * rows of a GRU are independent through time) and call the BLAS from inside that region, so the
 * BLAS itself must run single-threaded: two thread pools on the same cores stall each other. */
#ifndef GRU_THREADS_H
#define GRU_THREADS_H

int gru_get_num_threads(void);
void gru_set_num_threads(int n);
void gru_blas_single_thread(void);

/* [lo, hi): part `idx` of `parts` near-equal parts of n items. */
static inline void gru_split(int n, int parts, int idx, int *lo, int *hi)
{
    *lo = (int)((long long)n * idx / parts);
    *hi = (int)((long long)n * (idx + 1) / parts);
}

#endif
