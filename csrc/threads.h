/* Thread control shared by every kernel. Kernels parallelise with OpenMP over the batch (the
 * rows of a GRU are independent through time) and call the BLAS from inside that region, so the
 * BLAS itself must run single-threaded: two thread pools on the same cores stall each other. */
#ifndef GRU_THREADS_H
#define GRU_THREADS_H

/* The package's setting: the most threads a kernel call uses unless its binding is given its own
 * number. One value for the whole process, where OpenMP's (omp_set_num_threads) holds for the
 * calling thread only. It lives in the threads module alone (the other modules ask that module:
 * threads.pxd), is read and written with Python's GIL held, and is exported under these names so
 * that threadpoolctl can find the module (kernels/threadpool.py). */
int gru_native_get_num_threads(void);
void gru_native_set_num_threads(int n);

/* [lo, hi): part `idx` of `parts` near-equal parts of n items. */
static inline void gru_split(int n, int parts, int idx, int *lo, int *hi)
{
    *lo = (int)((long long)n * idx / parts);
    *hi = (int)((long long)n * (idx + 1) / parts);
}

#endif
