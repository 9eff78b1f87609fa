/* Sizes and shared helpers of the GRU kernels; the kernels themselves are written once in
 * gru_impl.h and instantiated below for float and double. */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "blas.h"
#include "fastmath.h"
#include "gru.h"
#include "interrupt.h"
#include "packed.h"
#include "recurrent.h"
#include "reduced.h"
#include "threads.h"

/* Scratch row of one step, per sequence: the [z r n] blocks and one more (h U_n + b_hn, or r*h
 * and its gradient when the reset gate comes before U). */
static int step_stride(const gru_shape *s) { return 4 * s->H; }

size_t gru_cache_size(const gru_shape *s)
{
    /* h_{t-1} (H), z r n (3H), h U_n + b_hn or r * h_{t-1} (H), all by (sequence, position) */
    return (size_t)s->B * s->T * 5 * s->H;
}

size_t gru_forward_work_size(const gru_shape *s)
{
    /* input projections of every step, one step's recurrent products, h * hmask, the two
     * state buffers of units_forward (recurrent_impl.h), U packed for the steps */
    return (size_t)s->B * s->T * 3 * s->H + (size_t)s->B * step_stride(s)
           + (s->masked_state ? (size_t)s->B * s->H : 0) + 2 * (size_t)s->B * s->H
           + packed_size(s->H, 3 * s->H);
}

/* Whether a forward splits every step by units (recurrent_impl.h's units_forward): at
 * inference of few sequences with many units, reset gate after U. */
static int splits_units(const gru_shape *s, int max_threads, int training, int masked)
{
    return units_threads(s->B, s->H, max_threads) > 1 && !training && !masked && s->reset_after;
}

size_t gru_inference_work_size(const gru_shape *s, int max_threads)
{
    gru_shape steps = *s;
    if (!splits_units(s, max_threads, 0, 0)) steps.T = 1;  /* one step's input projections */
    return gru_forward_work_size(&steps);
}

size_t gru_backward_work_size(const gru_shape *s)
{
    size_t btg = (size_t)s->B * s->T * 3 * s->H;
    size_t bh = (size_t)s->B * s->H;
    /* gate gradients (input side, and the hidden side's n block when it differs), a step's
     * scratch, each row's sums of the gradients, the carry; under recurrent dropout the
     * gradient reaching h * hmask and h * hmask at every step; U^T, plain or packed (the
     * larger) */
    return btg + (s->reset_after ? btg / 3 : 0) + 2 * (size_t)s->B * step_stride(s) + bh
           + (s->masked_state ? bh + (size_t)s->T * bh : 0) + packed_size(3 * s->H, s->H);
}

/* The float32 activations on arrays, for the tests of their error bounds (cloned as the gate
 * passes are, so the tests check the code the kernels run). */
GRU_SIMD_CLONES void gru_sigmoid_f32(const float *x, float *y, size_t n)
{
#pragma omp simd
    for (size_t i = 0; i < n; i++) y[i] = sigmoid_f32(x[i]);
}

GRU_SIMD_CLONES void gru_tanh_f32(const float *x, float *y, size_t n)
{
#pragma omp simd
    for (size_t i = 0; i < n; i++) y[i] = tanh_f32(x[i]);
}

#define REAL float
#define FLOAT32_PRODUCTS 1
#define FN(name) name##_f32
#define GEMM gemm_f32
#define SIGMOID sigmoid_f32
#define TANH tanh_f32
#include "recurrent_impl.h"
#include "gru_impl.h"
#undef REAL
#undef FLOAT32_PRODUCTS
#undef FN
#undef GEMM
#undef SIGMOID
#undef TANH

void gru_forward_reduced_f32(const gru_shape *s, int max_threads, const float *x,
                             const reduced_matrix *wq, const reduced_matrix *uq, const float *b,
                             const float *h0, const int *lengths, float *y, float *h_last,
                             float *work)
{
    forward_with_f32(s, max_threads, x, NULL, NULL, wq, uq, b, h0, lengths, NULL, y, h_last, NULL,
                     work);
}

#define REAL double
#define FLOAT32_PRODUCTS 0
#define FN(name) name##_f64
#define GEMM gemm_f64
#define SIGMOID sigmoid_f64
#define TANH tanh
#include "recurrent_impl.h"
#include "gru_impl.h"
#undef REAL
#undef FLOAT32_PRODUCTS
#undef FN
#undef GEMM
#undef SIGMOID
#undef TANH
