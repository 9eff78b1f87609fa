# The LSTM kernels' interface (csrc/lstm.h), for the bindings in _lstm.pyx.

cdef extern from "lstm.h" nogil:
    ctypedef struct lstm_shape:
        int T, B, F, H
        int reverse
        int masked_state

    size_t lstm_cache_size(const lstm_shape *s)
    size_t lstm_forward_work_size(const lstm_shape *s)
    size_t lstm_backward_work_size(const lstm_shape *s)

    void lstm_forward_f32(const lstm_shape *s, int max_threads, const float *x, const float *w,
                          const float *u, const float *b, const float *h0, const float *c0,
                          const int *lengths, const float *hmask, float *y, float *h_last, float *c_last,
                          float *cache, float *work)
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
