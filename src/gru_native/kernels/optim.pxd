# The optimizer kernels' interface (csrc/optim.h), for the bindings in optim.pyx.

from cython cimport floating

cdef extern from "optim.h" nogil:
    size_t optim_norm_work_size(size_t nseg, const size_t *len)

    void optim_sum_squares_f32(int max_threads, const float *g, size_t nseg, const size_t *off,
                               const size_t *len, double *sumsq, double *work)
    void optim_sum_squares_f64(int max_threads, const double *g, size_t nseg, const size_t *off,
                               const size_t *len, double *sumsq, double *work)
    void optim_clip_by_norm_f32(int max_threads, float *g, size_t nseg, const size_t *off,
                                const size_t *len, double clipnorm, double *work)
    void optim_clip_by_norm_f64(int max_threads, double *g, size_t nseg, const size_t *off,
                                const size_t *len, double clipnorm, double *work)

    void optim_sgd_f32(int max_threads, size_t n, float *p, const float *g, float *m, double lr,
                       double momentum, int nesterov, double weight_decay, double grad_scale,
                       double clipvalue)
    void optim_sgd_f64(int max_threads, size_t n, double *p, const double *g, double *m,
                       double lr, double momentum, int nesterov, double weight_decay,
                       double grad_scale, double clipvalue)
    void optim_adam_f32(int max_threads, size_t n, float *p, const float *g, float *m, float *v,
                        float *vhat, double lr, double beta_1, double beta_2, double epsilon,
                        long long step, double weight_decay, double grad_scale, double clipvalue)
    void optim_adam_f64(int max_threads, size_t n, double *p, const double *g, double *m,
                        double *v, double *vhat, double lr, double beta_1, double beta_2,
                        double epsilon, long long step, double weight_decay, double grad_scale,
                        double clipvalue)
    void optim_rmsprop_f32(int max_threads, size_t n, float *p, const float *g, float *v,
                           float *mom, float *avg, double lr, double rho, double momentum,
                           double epsilon, double weight_decay, double grad_scale,
                           double clipvalue)
    void optim_rmsprop_f64(int max_threads, size_t n, double *p, const double *g, double *v,
                           double *mom, double *avg, double lr, double rho, double momentum,
                           double epsilon, double weight_decay, double grad_scale,
                           double clipvalue)


# One name per kernel over both precisions (see gru.pxd).
cdef inline void run_sum_squares(int nt, const floating *g, size_t nseg, const size_t *off,
                                 const size_t *len, double *sumsq, double *work) noexcept nogil:
    if floating is float:
        optim_sum_squares_f32(nt, g, nseg, off, len, sumsq, work)
    else:
        optim_sum_squares_f64(nt, g, nseg, off, len, sumsq, work)


cdef inline void run_clip_by_norm(int nt, floating *g, size_t nseg, const size_t *off,
                                  const size_t *len, double clipnorm,
                                  double *work) noexcept nogil:
    if floating is float:
        optim_clip_by_norm_f32(nt, g, nseg, off, len, clipnorm, work)
    else:
        optim_clip_by_norm_f64(nt, g, nseg, off, len, clipnorm, work)


cdef inline void run_sgd(int nt, size_t n, floating *p, const floating *g, floating *m, double lr,
                         double momentum, int nesterov, double weight_decay, double grad_scale,
                         double clipvalue) noexcept nogil:
    if floating is float:
        optim_sgd_f32(nt, n, p, g, m, lr, momentum, nesterov, weight_decay, grad_scale, clipvalue)
    else:
        optim_sgd_f64(nt, n, p, g, m, lr, momentum, nesterov, weight_decay, grad_scale, clipvalue)


cdef inline void run_adam(int nt, size_t n, floating *p, const floating *g, floating *m,
                          floating *v, floating *vhat, double lr, double beta_1, double beta_2,
                          double epsilon, long long step, double weight_decay, double grad_scale,
                          double clipvalue) noexcept nogil:
    if floating is float:
        optim_adam_f32(nt, n, p, g, m, v, vhat, lr, beta_1, beta_2, epsilon, step, weight_decay,
                       grad_scale, clipvalue)
    else:
        optim_adam_f64(nt, n, p, g, m, v, vhat, lr, beta_1, beta_2, epsilon, step, weight_decay,
                       grad_scale, clipvalue)


cdef inline void run_rmsprop(int nt, size_t n, floating *p, const floating *g, floating *v,
                             floating *mom, floating *avg, double lr, double rho, double momentum,
                             double epsilon, double weight_decay, double grad_scale,
                             double clipvalue) noexcept nogil:
    if floating is float:
        optim_rmsprop_f32(nt, n, p, g, v, mom, avg, lr, rho, momentum, epsilon, weight_decay,
                          grad_scale, clipvalue)
    else:
        optim_rmsprop_f64(nt, n, p, g, v, mom, avg, lr, rho, momentum, epsilon, weight_decay,
                          grad_scale, clipvalue)
