/* 1-D convolution over a batch of sequences (Keras' Conv1D), and its gradients.
 *
 * Layout (Keras, channels last): x (N, T, C), kernel w (K, C / groups, F), bias b (F,),
 * y (N, T_out, F). Output step o, filter f of group g = f / (F / groups) reads, for each tap j,
 * input step t = o * stride + j * dilation - pad_left (zero when t is outside [0, T)), channels
 * [g * C / groups, (g + 1) * C / groups):
 *   y[n, o, f] = b[f] + sum_j sum_c x[n, t, g * C / groups + c] w[j, c, f]
 * Backward from dy (N, T_out, F): dw = that sum's gradient over the batch, db = dy summed over
 * the batch and steps, dx = the transposed convolution of dy.
 *
 * The caller resolves the padding into pad_left and T_out (the right padding follows from them)
 * and provides every buffer, scratch included (the *_work_size functions); the kernels never
 * allocate. Every int here is >= 1 except N and pad_left (>= 0); groups divides C and F;
 * K * C / groups, F and T_out fit an int. */
#ifndef GRU_CONV1D_H
#define GRU_CONV1D_H

#include <stddef.h>

typedef struct {
    int N, T, C, F;                 /* batch, input steps, input channels, filters */
    int K, stride, dilation, groups;
    int pad_left, T_out;            /* zeros before step 0; output steps */
} conv1d_shape;

enum { CONV1D_VALID = 0, CONV1D_SAME = 1, CONV1D_CAUSAL = 2 };

/* Keras 3's padding arithmetic, for K, stride, dilation >= 1 and T >= 0 that fit an int: the
 * output steps (< 1 when there are none) and, in *pad_left, the zeros before step 0. 'same'
 * pads as TensorFlow (the odd zero on the right), 'causal' dilation * (K - 1) zeros on the
 * left. The bindings (conv1d.pyx) and the inference plan both resolve padding here. */
long long conv1d_geometry(int padding, long long T, long long K, long long stride,
                          long long dilation, long long *pad_left);

/* Elements of scratch (of the computing type) that a call with these arguments needs. */
size_t conv1d_forward_work_size(const conv1d_shape *s, int max_threads);
size_t conv1d_backward_work_size(const conv1d_shape *s, int max_threads);

/* b may be NULL (no bias). */
void conv1d_forward_f32(const conv1d_shape *s, int max_threads, const float *x, const float *w,
                        const float *b, float *y, float *work);
void conv1d_forward_f64(const conv1d_shape *s, int max_threads, const double *x,
                        const double *w, const double *b, double *y, double *work);

/* Gradients are written, not accumulated. dx may be NULL (not wanted). For a given
 * max_threads the results are the same bit for bit on every call. */
void conv1d_backward_f32(const conv1d_shape *s, int max_threads, const float *x, const float *w,
                         const float *dy, float *dx, float *dw, float *db, float *work);
void conv1d_backward_f64(const conv1d_shape *s, int max_threads, const double *x,
                         const double *w, const double *dy, double *dx, double *dw, double *db,
                         double *work);

#endif
