# The LSTM kernels' interface (csrc/lstm.h), for the bindings in lstm.pyx and the plan.

from cython cimport floating

from .reduced cimport reduced_matrix

cdef extern from "lstm.h" nogil:
    ctypedef struct lstm_shape:
        int T, B, F, H
        int reverse
        int masked_state

    size_t lstm_cache_size(const lstm_shape *s)
    size_t lstm_forward_work_size(const lstm_shape *s)
    size_t lstm_inference_work_size(const lstm_shape *s, int max_threads)
    size_t lstm_backward_work_size(const lstm_shape *s)

    void lstm_forward_f32(const lstm_shape *s, int max_threads, const float *x, const float *w,
                          const float *u, const float *b, const float *h0, const float *c0,
                          const int *lengths, const float *hmask, float *y, float *h_last, float *c_last,
                          float *cache, float *work)
    void lstm_forward_reduced_f32(const lstm_shape *s, int max_threads, const float *x,
                                  const reduced_matrix *wq, const reduced_matrix *uq,
                                  const float *b, const float *h0, const float *c0,
                                  const int *lengths, float *y, float *h_last, float *c_last,
                                  float *work)
    void lstm_forward_f64(const lstm_shape *s, int max_threads, const double *x,
                          const double *w, const double *u, const double *b, const double *h0,
                          const double *c0, const int *lengths, const double *hmask, double *y, double *h_last,
                          double *c_last, double *cache, double *work)
    void lstm_backward_f32(const lstm_shape *s, int max_threads, const float *x, const float *w,
                           const float *u, const int *lengths, const float *hmask, const float *cache,
                           const float *dy, const float *dh_last, const float *dc_last,
                           float *dx, float *dh0, float *dc0, float *dw, float *du, float *db,
                           float *work)
    void lstm_backward_f64(const lstm_shape *s, int max_threads, const double *x,
                           const double *w, const double *u, const int *lengths,
                           const double *hmask, const double *cache, const double *dy, const double *dh_last,
                           const double *dc_last, double *dx, double *dh0, double *dc0,
                           double *dw, double *du, double *db, double *work)


# One name per kernel over both precisions (see gru.pxd).
cdef inline void run_lstm_forward(const lstm_shape *s, int nt, const floating *x,
                                  const floating *w, const floating *u, const floating *b,
                                  const floating *h0, const floating *c0, const int *lengths,
                                  const floating *hmask, floating *y, floating *h_last,
                                  floating *c_last, floating *cache,
                                  floating *work) noexcept nogil:
    if floating is float:
        lstm_forward_f32(s, nt, x, w, u, b, h0, c0, lengths, hmask, y, h_last, c_last, cache, work)
    else:
        lstm_forward_f64(s, nt, x, w, u, b, h0, c0, lengths, hmask, y, h_last, c_last, cache, work)


cdef inline void run_lstm_backward(const lstm_shape *s, int nt, const floating *x,
                                   const floating *w, const floating *u, const int *lengths,
                                   const floating *hmask, const floating *cache,
                                   const floating *dy, const floating *dh_last,
                                   const floating *dc_last, floating *dx, floating *dh0,
                                   floating *dc0, floating *dw, floating *du, floating *db,
                                   floating *work) noexcept nogil:
    if floating is float:
        lstm_backward_f32(s, nt, x, w, u, lengths, hmask, cache, dy, dh_last, dc_last, dx, dh0,
                          dc0, dw, du, db, work)
    else:
        lstm_backward_f64(s, nt, x, w, u, lengths, hmask, cache, dy, dh_last, dc_last, dx, dh0,
                          dc0, dw, du, db, work)
