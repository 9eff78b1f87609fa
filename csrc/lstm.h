/* LSTM layer over a batch of sequences: forward and backward through time (BPTT), on the same
 * plan as the GRU (gru.h): one input GEMM for all steps, one recurrent GEMM per step, a fused
 * gate pass, the weight gradients as GEMMs over all steps.
 *
 * Layout (Keras): x (B, T, F); kernel w (F, 4H) and recurrent kernel u (H, 4H), gate blocks in
 * the order i, f, c, o; bias b (4H,). Outputs y (B, T, H), final states h_last and c_last (B, H).
 *
 * Per step: a = x W + h U + b, i = sig(a_i), f = sig(a_f), g = tanh(a_c), o = sig(a_o),
 *   c' = f * c + i * g,  h' = o * tanh(c').
 *
 * lengths, reverse and hmask (recurrent dropout: the recurrent product sees h * hmask) as for
 * the GRU. The caller provides every buffer (sizes below, in elements); the kernels never
 * allocate. A pending interrupt ends the time loops early. */
#ifndef GRU_LSTM_H
#define GRU_LSTM_H

#include <stddef.h>

#include "reduced.h"

typedef struct {
    int T, B, F, H;  /* steps, sequences, input features, units */
    int reverse;     /* 1: run every sequence backwards in time */
    int masked_state; /* 1: calls pass hmask (recurrent dropout); the work sizes include its scratch */
} lstm_shape;

/* What the forward keeps for the backward: h_{t-1}, c_{t-1}, [i f g o] and tanh(c'). */
size_t lstm_cache_size(const lstm_shape *s);
size_t lstm_forward_work_size(const lstm_shape *s);
/* Enough for a forward at inference (no cache, hmask or lengths) run with max_threads: one
 * step's input projections in place of the sequence's, unless it splits the steps by units. */
size_t lstm_inference_work_size(const lstm_shape *s, int max_threads);
size_t lstm_backward_work_size(const lstm_shape *s);

/* y, cache may be NULL; h0, c0, lengths, hmask may be NULL (zeros / all T / none). b must be
 * given. */
void lstm_forward_f32(const lstm_shape *s, int max_threads, const float *x, const float *w,
                      const float *u, const float *b, const float *h0, const float *c0,
                      const int *lengths, const float *hmask, float *y, float *h_last,
                      float *c_last, float *cache, float *work);
void lstm_forward_f64(const lstm_shape *s, int max_threads, const double *x, const double *w,
                      const double *u, const double *b, const double *h0, const double *c0,
                      const int *lengths, const double *hmask, double *y, double *h_last,
                      double *c_last, double *cache, double *work);

/* lstm_forward at inference in reduced precision, as gru_forward_reduced_f32. */
void lstm_forward_reduced_f32(const lstm_shape *s, int max_threads, const float *x,
                              const reduced_matrix *wq, const reduced_matrix *uq, const float *b,
                              const float *h0, const float *c0, const int *lengths, float *y,
                              float *h_last, float *c_last, float *work);

/* Gradients are written, not accumulated. dy, dh_last, dc_last may be NULL (zero); dx, dh0, dc0
 * may be NULL (not wanted). */
void lstm_backward_f32(const lstm_shape *s, int max_threads, const float *x, const float *w,
                       const float *u, const int *lengths, const float *hmask,
                       const float *cache, const float *dy,
                       const float *dh_last, const float *dc_last, float *dx, float *dh0,
                       float *dc0, float *dw, float *du, float *db, float *work);
void lstm_backward_f64(const lstm_shape *s, int max_threads, const double *x, const double *w,
                       const double *u, const int *lengths, const double *hmask,
                       const double *cache,
                       const double *dy, const double *dh_last, const double *dc_last,
                       double *dx, double *dh0, double *dc0, double *dw, double *du, double *db,
                       double *work);

#endif
