/* Chunking and thread choice shared by the optimizer kernels; the kernels themselves are written
 * once in optim_impl.h and instantiated below for float and double. */
#include <math.h>
#include <omp.h>
#include <stddef.h>

#include "optim.h"

/* Elements per chunk: the unit of the static schedule and of the partial sums of the norms. */
#define OPTIM_CHUNK ((size_t)8192)

static inline long long chunk_count(size_t n) { return (long long)((n + OPTIM_CHUNK - 1) / OPTIM_CHUNK); }

/* One past the last element of chunk c of an n-element run. */
static inline size_t chunk_end(long long c, size_t n)
{
    size_t hi = ((size_t)c + 1) * OPTIM_CHUNK;
    return hi < n ? hi : n;
}

/* A pass over the buffer is memory-bound and takes microseconds below a few chunks: one thread
 * there (starting a team costs more than it saves), else at most one thread per chunk. */
static int pick_threads(size_t n, int max_threads)
{
    long long nc = chunk_count(n);
    int t = max_threads < nc ? max_threads : (int)nc;
    if (n < 4 * OPTIM_CHUNK || t < 1) t = 1;
    return t;
}

static size_t total_len(size_t nseg, const size_t *len)
{
    size_t n = 0;
    for (size_t s = 0; s < nseg; s++) n += len[s];
    return n;
}

size_t optim_norm_work_size(size_t nseg, const size_t *len)
{
    /* one partial sum per chunk of each segment, then one sum per segment */
    size_t w = nseg;
    for (size_t s = 0; s < nseg; s++) w += (size_t)chunk_count(len[s]);
    return w;
}

#define REAL float
#define FN(name) name##_f32
#define SQRT sqrtf
#include "optim_impl.h"
#undef REAL
#undef FN
#undef SQRT

#define REAL double
#define FN(name) name##_f64
#define SQRT sqrt
#include "optim_impl.h"
#undef REAL
#undef FN
#undef SQRT
