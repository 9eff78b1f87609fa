/* Dot-product attention (Keras' Attention with score_mode="dot") over a batch, and its gradients.
 *
 * Layout (Keras): query q (N, Tq, D), key k (N, Tv, D), value v (N, Tv, Dv), out (N, Tq, Dv).
 * Per sample, for query step i and value step j:
 *   scores[i, j] = scale * q_i . k_j, minus 1e9 where (i, j) is excluded: value step j masked
 *                  out (value_mask[j] == 0), or j > i under `causal` (Keras subtracts, it does
 *                  not overwrite, so a row with every step excluded still has a softmax)
 *   weights      = softmax of each row of scores, its maximum subtracted first
 *   used         = weights * drop (elementwise: the dropout mask's zeros and 1 / (1 - rate)),
 *                  or weights without drop
 *   out[i]       = (used v)[i], zero where query_mask[i] == 0
 * Backward from dout = dL/dout and dused = dL/dused (the attention scores Keras can return):
 *   dused += dout v^T, with dout's masked query rows taken as zero; dweights = dused * drop;
 *   dscores = weights * (dweights - rowsum(dweights * weights));
 *   dq = scale dscores k, dk = scale dscores^T q, dv = used^T dout,
 *   dscale = sum over the batch of sum(dscores * q k^T) (= sum(q * dscores k)).
 *
 * The weights (N, Tq, Tv) are the forward's output and the backward's input: the caller keeps
 * them between the two calls. Masks hold one byte per step, 0 (masked) or 1. The caller provides
 * every buffer, scratch included (attention_backward_work_size); the kernels never allocate.
 * N >= 0; Tq, Tv, D, Dv >= 1. */
#ifndef GRU_ATTENTION_H
#define GRU_ATTENTION_H

#include <stddef.h>

typedef struct {
    int N, Tq, Tv;  /* batch, query steps, value (and key) steps */
    int D, Dv;      /* query and key features, value features */
    int causal;     /* nonzero: query step i attends to value steps j <= i only */
} attention_shape;

/* Elements of scratch (of the computing type) that a backward call with these arguments needs. */
size_t attention_backward_work_size(const attention_shape *s, int max_threads);

/* value_mask (N, Tv), query_mask (N, Tq) and drop (N, Tq, Tv) may be NULL (none); `used` must be
 * given exactly when drop is (without drop the used weights are `weights`). */
void attention_forward_f32(const attention_shape *s, int max_threads, const float *q,
                           const float *k, const float *v, float scale,
                           const unsigned char *value_mask, const unsigned char *query_mask,
                           const float *drop, float *weights, float *used, float *out);
void attention_forward_f64(const attention_shape *s, int max_threads, const double *q,
                           const double *k, const double *v, double scale,
                           const unsigned char *value_mask, const unsigned char *query_mask,
                           const double *drop, double *weights, double *used, double *out);

/* `weights` from the forward of the same q, k, v, scale, masks and drop. dout and dused may be
 * NULL (zero); dscale may be NULL (not wanted). dk may be dv (the key is the value, D == Dv):
 * it then receives the sum of both gradients. Gradients are written, not accumulated. For a
 * given max_threads the results are the same bit for bit on every call (each sample is computed
 * by one thread; dscale is summed over the samples in order, after the team). */
void attention_backward_f32(const attention_shape *s, int max_threads, const float *q,
                            const float *k, const float *v, float scale,
                            const unsigned char *query_mask, const float *drop,
                            const float *weights, const float *dout, const float *dused,
                            float *dq, float *dk, float *dv, float *dscale, float *work);
void attention_backward_f64(const attention_shape *s, int max_threads, const double *q,
                            const double *k, const double *v, double scale,
                            const unsigned char *query_mask, const double *drop,
                            const double *weights, const double *dout, const double *dused,
                            double *dq, double *dk, double *dv, double *dscale, double *work);

#endif
