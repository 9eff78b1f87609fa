# The optimizer kernels' interface (csrc/optim.h), for the bindings in _optim.pyx.

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
