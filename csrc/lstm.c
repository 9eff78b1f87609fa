/* Sizes of the LSTM kernels; the kernels themselves are written once in lstm_impl.h and
 * instantiated below for float and double. */
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#include "blas.h"
#include "fastmath.h"
#include "interrupt.h"
#include "lstm.h"
#include "packed.h"
#include "recurrent.h"
#include "reduced.h"
#include "threads.h"

size_t lstm_cache_size(const lstm_shape *s)
{
    /* h_{t-1}, c_{t-1} (H each), i f g o (4H), tanh(c') (H), by (sequence, position) */
    return (size_t)s->B * s->T * 7 * s->H;
}

size_t lstm_forward_work_size(const lstm_shape *s)
{
    /* input projections of every step; one step's h U and tanh(c') (5H per sequence); h * hmask;
     * the two state buffers of units_forward (recurrent_impl.h); U packed for the steps */
    return (size_t)s->B * s->T * 4 * s->H + (size_t)s->B * 5 * s->H
           + (s->masked_state ? (size_t)s->B * s->H : 0) + 2 * (size_t)s->B * s->H
           + packed_size(s->H, 4 * s->H);
}

/* Whether a forward splits every step by units (recurrent_impl.h's units_forward): at
 * inference of few sequences with many units. */
static int splits_units(const lstm_shape *s, int max_threads, int training, int masked)
{
    return units_threads(s->B, s->H, max_threads) > 1 && !training && !masked;
}

size_t lstm_inference_work_size(const lstm_shape *s, int max_threads)
{
    lstm_shape steps = *s;
    if (!splits_units(s, max_threads, 0, 0)) steps.T = 1;  /* one step's input projections */
    return lstm_forward_work_size(&steps);
}

size_t lstm_backward_work_size(const lstm_shape *s)
{
    /* gate gradients of every step, one step's, each row's sums of them, and the two carries;
     * under recurrent dropout the gradient reaching h * hmask and h * hmask at every step; U^T,
     * plain or packed (the larger) */
    const size_t bh = (size_t)s->B * s->H;
    return (size_t)s->B * s->T * 4 * s->H + 2 * (size_t)s->B * 4 * s->H + 2 * bh
           + (s->masked_state ? bh + (size_t)s->T * bh : 0) + packed_size(4 * s->H, s->H);
}

#define REAL float
#define FLOAT32_PRODUCTS 1
#define FN(name) name##_f32
#define GEMM gemm_f32
#define SIGMOID sigmoid_f32
#define TANH tanh_f32
#include "recurrent_impl.h"
#include "lstm_impl.h"
#undef REAL
#undef FLOAT32_PRODUCTS
#undef FN
#undef GEMM
#undef SIGMOID
#undef TANH

void lstm_forward_reduced_f32(const lstm_shape *s, int max_threads, const float *x,
                              const reduced_matrix *wq, const reduced_matrix *uq, const float *b,
                              const float *h0, const float *c0, const int *lengths, float *y,
                              float *h_last, float *c_last, float *work)
{
    lstm_forward_with_f32(s, max_threads, x, NULL, NULL, wq, uq, b, h0, c0, lengths, NULL, y,
                          h_last, c_last, NULL, work);
}

#define REAL double
#define FLOAT32_PRODUCTS 0
#define FN(name) name##_f64
#define GEMM gemm_f64
#define SIGMOID sigmoid_f64
#define TANH tanh
#include "recurrent_impl.h"
#include "lstm_impl.h"
#undef REAL
#undef FLOAT32_PRODUCTS
#undef FN
#undef GEMM
#undef SIGMOID
#undef TANH
