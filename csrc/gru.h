/* GRU layer over a batch of sequences: forward and backward through time (BPTT).
 *
 * Layout (Keras): x (B, T, F) batch-major; kernel w (F, 3H) and recurrent kernel u (H, 3H), gate
 * blocks in the order z, r, n; bias b (2, 3H) = [input bias; recurrent bias] when reset_after, else
 * (3H,). Outputs y (B, T, H) and the final state h_last (B, H).
 *
 * Per step:  z = sig(x W_z + h U_z + b), r = sig(x W_r + h U_r + b),
 *   reset_after=1: n = tanh(x W_n + b_xn + r * (h U_n + b_hn))   (PyTorch, cuDNN, Keras default)
 *   reset_after=0: n = tanh(x W_n + b_n + (r * h) U_n)           (Cho et al. 2014)
 *   h' = z * h + (1 - z) * n
 *
 * lengths (B,) optional: sequence b has lengths[b] valid steps (padding at the end). Its state stops
 * changing after them, its outputs there are zero and pass no gradient. reverse=1 runs each sequence
 * from its last valid step to its first; outputs stay at the position of their input.
 *
 * hmask (B, H) optional, with masked_state=1 (Keras' recurrent_dropout): the recurrent products
 * use h * hmask in place of h; the state update uses h.
 *
 * The caller provides every buffer (sizes below, in elements); the kernels never allocate.
 * A pending interrupt (interrupt.h) ends the time loops early: the results are then meaningless
 * and the caller discards them. */
#ifndef GRU_H
#define GRU_H

#include <stddef.h>

#include "reduced.h"

typedef struct {
    int T, B, F, H;   /* steps, sequences, input features, units (no "I": complex.h takes it) */
    int reset_after;  /* 1: the reset gate multiplies h U_n + b_hn; 0: it multiplies h */
    int reverse;      /* 1: run every sequence backwards in time */
    int masked_state; /* 1: calls pass hmask (recurrent dropout); the work sizes include its scratch */
} gru_shape;

/* What the forward keeps for the backward: h_{t-1}, [z r n] and h U_n + b_hn (or r*h_{t-1}). */
size_t gru_cache_size(const gru_shape *s);
size_t gru_forward_work_size(const gru_shape *s);
/* Enough for a forward at inference (no cache, hmask or lengths) run with max_threads: one
 * step's input projections in place of the sequence's, unless it splits the steps by units. */
size_t gru_inference_work_size(const gru_shape *s, int max_threads);
size_t gru_backward_work_size(const gru_shape *s);

/* y, cache may be NULL (no sequence output / inference only); h0, lengths, hmask may be NULL
 * (zeros / all T / none). h0 may be h_last (the state updated in place). */
void gru_forward_f32(const gru_shape *s, int max_threads, const float *x, const float *w,
                     const float *u, const float *b, const float *h0, const int *lengths,
                     const float *hmask, float *y, float *h_last, float *cache, float *work);
void gru_forward_f64(const gru_shape *s, int max_threads, const double *x, const double *w,
                     const double *u, const double *b, const double *h0, const int *lengths,
                     const double *hmask, double *y, double *h_last, double *cache, double *work);

/* gru_forward at inference (no cache, no hmask) in reduced precision: the products read wq
 * and uq, bfloat16 or int8 copies of w and u (reduced.h), made and kept in sync by the
 * caller. Work size: gru_forward_work_size. */
void gru_forward_reduced_f32(const gru_shape *s, int max_threads, const float *x,
                             const reduced_matrix *wq, const reduced_matrix *uq, const float *b,
                             const float *h0, const int *lengths, float *y, float *h_last,
                             float *work);

/* Gradients are written, not accumulated. dy, dh_last may be NULL (zero); dx, dh0 may be NULL (not
 * wanted). db has the layout of b. */
void gru_backward_f32(const gru_shape *s, int max_threads, const float *x, const float *w,
                      const float *u, const int *lengths, const float *hmask, const float *cache,
                      const float *dy, const float *dh_last, float *dx, float *dh0, float *dw,
                      float *du, float *db, float *work);
void gru_backward_f64(const gru_shape *s, int max_threads, const double *x, const double *w,
                      const double *u, const int *lengths, const double *hmask,
                      const double *cache, const double *dy, const double *dh_last, double *dx,
                      double *dh0, double *dw, double *du, double *db, double *work);

/* The vectorised float32 activations of the gate passes, on arrays (for tests). */
void gru_sigmoid_f32(const float *x, float *y, size_t n);
void gru_tanh_f32(const float *x, float *y, size_t n);

#endif
