# The GRU kernels' interface (csrc/gru.h), for the bindings in _gru.pyx, and the scratch memory
# of a recurrent layer, which _lstm.pyx shares.

cimport numpy as cnp
from cython cimport floating

from .reduced cimport reduced_matrix


cdef class GRUWorkspace:
    cdef dict buffers
    cdef readonly long generation


cdef cnp.ndarray scratch(GRUWorkspace ws, str name, size_t size, dtype)
cdef tuple recurrent_operands(x, kernel, int gates, str kind)
cdef cnp.ndarray lengths_array(lengths, int B, int T)
cdef cnp.ndarray output_array(out, dtype, str name, tuple shape)


cdef extern from "gru.h" nogil:
    ctypedef struct gru_shape:
        int T, B, F, H
        int reset_after
        int reverse
        int masked_state

    size_t gru_cache_size(const gru_shape *s)
    size_t gru_forward_work_size(const gru_shape *s)
    size_t gru_inference_work_size(const gru_shape *s, int max_threads)
    size_t gru_backward_work_size(const gru_shape *s)

    void gru_forward_f32(const gru_shape *s, int max_threads, const float *x, const float *w,
                         const float *u, const float *b, const float *h0, const int *lengths,
                         const float *hmask, float *y, float *h_last, float *cache, float *work)
    void gru_forward_f64(const gru_shape *s, int max_threads, const double *x, const double *w,
                         const double *u, const double *b, const double *h0, const int *lengths,
                         const double *hmask, double *y, double *h_last, double *cache, double *work)
    void gru_forward_reduced_f32(const gru_shape *s, int max_threads, const float *x,
                                 const reduced_matrix *wq, const reduced_matrix *uq,
                                 const float *b, const float *h0, const int *lengths, float *y,
                                 float *h_last, float *work)
    void gru_backward_f32(const gru_shape *s, int max_threads, const float *x, const float *w,
                          const float *u, const int *lengths, const float *hmask, const float *cache, const float *dy,
                          const float *dh_last, float *dx, float *dh0, float *dw, float *du,
                          float *db, float *work)
    void gru_backward_f64(const gru_shape *s, int max_threads, const double *x, const double *w,
                          const double *u, const int *lengths, const double *hmask, const double *cache,
                          const double *dy, const double *dh_last, double *dx, double *dh0,
                          double *dw, double *du, double *db, double *work)

    void gru_sigmoid_f32(const float *x, float *y, size_t n)
    void gru_tanh_f32(const float *x, float *y, size_t n)


# One name per kernel over both precisions: the only place the float and double entry points
# of csrc/gru.h are paired (as scikit-learn's _cython_blas pairs sdot and ddot).
cdef inline void run_gru_forward(const gru_shape *s, int nt, const floating *x, const floating *w,
                                 const floating *u, const floating *b, const floating *h0,
                                 const int *lengths, const floating *hmask, floating *y,
                                 floating *h_last, floating *cache, floating *work) noexcept nogil:
    if floating is float:
        gru_forward_f32(s, nt, x, w, u, b, h0, lengths, hmask, y, h_last, cache, work)
    else:
        gru_forward_f64(s, nt, x, w, u, b, h0, lengths, hmask, y, h_last, cache, work)


cdef inline void run_gru_backward(const gru_shape *s, int nt, const floating *x,
                                  const floating *w, const floating *u, const int *lengths,
                                  const floating *hmask, const floating *cache,
                                  const floating *dy, const floating *dh_last, floating *dx,
                                  floating *dh0, floating *dw, floating *du, floating *db,
                                  floating *work) noexcept nogil:
    if floating is float:
        gru_backward_f32(s, nt, x, w, u, lengths, hmask, cache, dy, dh_last, dx, dh0, dw, du,
                         db, work)
    else:
        gru_backward_f64(s, nt, x, w, u, lengths, hmask, cache, dy, dh_last, dx, dh0, dw, du,
                         db, work)
