/* Scratch sizes and thread choice of the attention kernels; the kernels themselves are written
 * once in attention_impl.h and instantiated below for float and double. */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "attention.h"
#include "blas.h"
#include "fastmath.h"
#include "threads.h"

/* What Keras subtracts from an excluded score. */
#define EXCLUDED 1e9

/* Threads worth using: at most one per sample, and one only when the whole call is tiny
 * (starting a team costs more than it saves). */
static int pick_threads(const attention_shape *s, int max_threads)
{
    double flops = 2.0 * s->N * (double)s->Tq * s->Tv * (s->D + s->Dv);
    int n = max_threads < s->N ? max_threads : s->N;
    if (flops < 1e6 || n < 1) n = 1;
    return n;
}

/* The query rows of one block (attention_impl.h): enough that its GEMMs are not overhead, few
 * enough that its scores, ROW_BLOCK_ELEMENTS of them, stay in the core's L2 cache from their
 * GEMM through the softmax to the GEMM that reads them (at 500 steps 10 % faster than whole
 * samples), and at most GRU_GEMM_K_BLOCK: the rows are the inner dimension of dv's and dk's
 * GEMMs. */
#define ROW_BLOCK_ELEMENTS 16384

static int block_rows(const attention_shape *s)
{
    int rows = ROW_BLOCK_ELEMENTS / s->Tv;
    rows = rows < GRU_GEMM_K_BLOCK ? rows : GRU_GEMM_K_BLOCK;
    return rows < 1 ? 1 : rows < s->Tq ? rows : s->Tq;
}

/* A thread's backward scratch: a block of the weights' gradient, and of dout with the query's
 * padded steps zero. */
static size_t thread_scratch_size(const attention_shape *s)
{
    return (size_t)block_rows(s) * (s->Tv + s->Dv);
}

/* The threads' scratch, then one partial dscale per sample (summed in sample order after the
 * team). */
size_t attention_backward_work_size(const attention_shape *s, int max_threads)
{
    return (size_t)pick_threads(s, max_threads) * thread_scratch_size(s) + (size_t)s->N;
}

/* float32: fastmath.h's exp, which vectorises (libm's expf, one scalar call per element, took
 * half the forward at 500 steps), and zero below -87, where that one stops: an excluded step's
 * weight is exactly zero, as with expf. float64 keeps libm's exp. */
static inline float softmax_exp_f32(float x) { return x < -87.0f ? 0.0f : exp_f32(x); }

#define REAL float
#define FN(name) name##_f32
#define GEMM gemm_f32
#define EXP softmax_exp_f32
#include "gemm_blocks_impl.h"
#include "attention_impl.h"
#undef REAL
#undef FN
#undef GEMM
#undef EXP

#define REAL double
#define FN(name) name##_f64
#define GEMM gemm_f64
#define EXP exp
#include "gemm_blocks_impl.h"
#include "attention_impl.h"
#undef REAL
#undef FN
#undef GEMM
#undef EXP
