/* The elementwise and data-movement ops of an inference plan (kernels/inference.pyx), between
 * its dense and recurrent kernels: activations, merges, concatenation, repetition, pooling
 * over time, normalisation; and its convolution (conv1d.h's kernel, then an activation). All
 * buffers are row-major and provided by the caller; nothing allocates, nothing takes the GIL.
 *
 * Activations are computed as the layers' NumPy code computes them (activations.py), so that the
 * plan and the layer path agree to rounding: sigmoid from exp(-|z|), softmax over the last axis
 * with its row maximum subtracted. float32 uses libm's expf and tanhf (correctly rounded to
 * within an ulp or two, as NumPy's), not fastmath.h's gate approximations. Pooling and
 * normalisation sum in order, in the precision of the data, as NumPy does. */
#ifndef GRU_PLAN_H
#define GRU_PLAN_H

#include <stddef.h>

#include "conv1d.h"
#include "reduced.h"

enum { PLAN_LINEAR = 0, PLAN_RELU = 1, PLAN_SIGMOID = 2, PLAN_TANH = 3, PLAN_SOFTMAX = 4 };
enum { PLAN_ADD = 0, PLAN_SUBTRACT = 1, PLAN_MULTIPLY = 2, PLAN_AVERAGE = 3, PLAN_MAXIMUM = 4,
       PLAN_MINIMUM = 5 };
enum { PLAN_POOL_MAX = 0, PLAN_POOL_AVERAGE = 1 };

/* y = activation(x) for `rows` rows of `width` (softmax: per row); y may be x (in place). */
void plan_activation_f32(int kind, size_t rows, size_t width, const float *x, float *y);
void plan_activation_f64(int kind, size_t rows, size_t width, const double *x, double *y);

/* y = the merge of n arrays xs[0..n) of `count` elements each (subtract: n == 2). */
void plan_merge_f32(int kind, int n, const float *const *xs, size_t count, float *y);
void plan_merge_f64(int kind, int n, const double *const *xs, size_t count, double *y);

/* Concatenation: for each of `outer` blocks, chunks[i] elements of xs[i] after each other. */
void plan_concat_f32(int n, const float *const *xs, const size_t *chunks, size_t outer, float *y);
void plan_concat_f64(int n, const double *const *xs, const size_t *chunks, size_t outer,
                     double *y);

/* (B, width) -> (B, n, width). */
void plan_repeat_f32(size_t B, int n, size_t width, const float *x, float *y);
void plan_repeat_f64(size_t B, int n, size_t width, const double *x, double *y);

/* (B, T, C) -> (B, T_out, C): output step o pools input steps [o * strides - left, ... + pool)
 * that exist, left = the padding's left half (TensorFlow's 'same' split; 0 for 'valid'); the
 * average divides by the real steps of the window. A global pooling is one window: pool = T,
 * T_out = 1. */
void plan_pool_f32(int kind, size_t B, int T, int T_out, size_t C, int pool, int strides,
                   const float *x, float *y);
void plan_pool_f64(int kind, size_t B, int T, int T_out, size_t C, int pool, int strides,
                   const double *x, double *y);

/* y = (x - mean) / sqrt(variance + eps) * gamma + beta per row of `width`: mean and variance
 * NULL for each row's own (layer normalisation), else the per-feature arrays (batch
 * normalisation's moving statistics); gamma, beta NULL for none. y may be x. */
void plan_normalize_f32(size_t rows, size_t width, const float *mean, const float *variance,
                        float eps, const float *gamma, const float *beta, const float *x,
                        float *y);
void plan_normalize_f64(size_t rows, size_t width, const double *mean, const double *variance,
                        double eps, const double *gamma, const double *beta, const double *x,
                        double *y);

/* y = activation(conv1d(x, w) + b) over (s->N, s->T, s->C) -> (s->N, s->T_out, s->F), b NULL
 * for none: conv1d.h's forward kernel, then plan_activation in place. work holds
 * conv1d_forward_work_size(s, max_threads) elements. */
void plan_conv1d_f32(const conv1d_shape *s, int max_threads, int activation, const float *x,
                     const float *w, const float *b, float *y, float *work);
void plan_conv1d_f64(const conv1d_shape *s, int max_threads, int activation, const double *x,
                     const double *w, const double *b, double *y, double *work);

/* y = x q + b for `rows` rows of k features (q a reduced-precision (k, n) matrix, reduced.h;
 * b NULL for none): a dense op of a plan run in reduced precision, rows split over up to
 * max_threads threads. */
void plan_dense_reduced_f32(const reduced_matrix *q, int max_threads, size_t rows, int k, int n,
                            const float *x, const float *b, float *y);

#endif
