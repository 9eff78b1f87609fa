/* Optimizer steps over one flat parameter buffer, as Keras 3 computes them.
 *
 * A model keeps every parameter in one contiguous array p (n elements) and every gradient in g with
 * the same layout; the optimizer's state (slots: momentum, velocity, ...) are arrays of the same
 * size. One call updates the whole buffer in one parallel pass, in place.
 *
 * Every update first transforms the gradient, then applies the optional decoupled weight decay,
 * then the optimizer's own rule (Keras: _clip_gradients, _apply_weight_decay, update_step):
 *   g = g * grad_scale                      (global-norm clipping; 1 for none)
 *   g = clip(g, -clipvalue, clipvalue)      (only when clipvalue > 0)
 *   p = p - p * weight_decay * lr           (only when weight_decay > 0)
 * Hyper-parameters come as double and are rounded once to the buffer's type, as Keras casts them
 * to the variable's dtype.
 *
 * Clipping by norm works on segments, [off[s], off[s] + len[s]) of the buffer, one per variable:
 * the norm of each variable's gradient (clipnorm) or of all of them (one segment, global_clipnorm).
 * Segments must lie inside the buffer and not overlap. Sums of squares accumulate in double over
 * fixed chunks, so they are identical for any number of threads.
 *
 * The caller provides every buffer; the kernels never allocate. */
#ifndef GRU_OPTIM_H
#define GRU_OPTIM_H

#include <stddef.h>

/* Doubles of scratch the norm kernels need for these segments. */
size_t optim_norm_work_size(size_t nseg, const size_t *len);

/* sumsq[s] = sum of g^2 over segment s. */
void optim_sum_squares_f32(int max_threads, const float *g, size_t nseg, const size_t *off,
                           const size_t *len, double *sumsq, double *work);
void optim_sum_squares_f64(int max_threads, const double *g, size_t nseg, const size_t *off,
                           const size_t *len, double *sumsq, double *work);

/* Keras clipnorm, in place: each segment g = g * clipnorm / max(||g||, clipnorm). */
void optim_clip_by_norm_f32(int max_threads, float *g, size_t nseg, const size_t *off,
                            const size_t *len, double clipnorm, double *work);
void optim_clip_by_norm_f64(int max_threads, double *g, size_t nseg, const size_t *off,
                            const size_t *len, double clipnorm, double *work);

/* SGD. m (momentum) may be NULL when momentum == 0.
 *   m = momentum * m - lr * g;  p += nesterov ? momentum * m - lr * g : m   (else p -= lr * g) */
void optim_sgd_f32(int max_threads, size_t n, float *p, const float *g, float *m, double lr,
                   double momentum, int nesterov, double weight_decay, double grad_scale,
                   double clipvalue);
void optim_sgd_f64(int max_threads, size_t n, double *p, const double *g, double *m, double lr,
                   double momentum, int nesterov, double weight_decay, double grad_scale,
                   double clipvalue);

/* Adam, and AdamW with weight_decay > 0. step is the 1-based step count (iterations + 1).
 * vhat NULL: plain Adam; else AMSGrad (vhat = max(vhat, v) is used for v).
 *   lr_t = lr * sqrt(1 - beta_2^step) / (1 - beta_1^step)
 *   m += (g - m) * (1 - beta_1);  v += (g^2 - v) * (1 - beta_2);  p -= lr_t * m / (sqrt(v) + eps) */
void optim_adam_f32(int max_threads, size_t n, float *p, const float *g, float *m, float *v,
                    float *vhat, double lr, double beta_1, double beta_2, double epsilon,
                    long long step, double weight_decay, double grad_scale, double clipvalue);
void optim_adam_f64(int max_threads, size_t n, double *p, const double *g, double *m, double *v,
                    double *vhat, double lr, double beta_1, double beta_2, double epsilon,
                    long long step, double weight_decay, double grad_scale, double clipvalue);

/* RMSprop. v (velocity) always; mom NULL unless momentum > 0; avg NULL unless centered.
 *   v = rho v + (1 - rho) g^2;  avg = rho avg + (1 - rho) g
 *   inc = lr g / sqrt(v - avg^2 + eps)   (centered; else sqrt(v + eps))
 *   mom = momentum mom + inc, p -= mom   (momentum > 0; else p -= inc) */
void optim_rmsprop_f32(int max_threads, size_t n, float *p, const float *g, float *v, float *mom,
                       float *avg, double lr, double rho, double momentum, double epsilon,
                       double weight_decay, double grad_scale, double clipvalue);
void optim_rmsprop_f64(int max_threads, size_t n, double *p, const double *g, double *v,
                       double *mom, double *avg, double lr, double rho, double momentum,
                       double epsilon, double weight_decay, double grad_scale, double clipvalue);

#endif
