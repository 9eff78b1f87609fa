# The dense kernels' interface (csrc/dense.h), for the bindings in dense.pyx and the plan.

from cython cimport floating

cdef extern from "dense.h" nogil:
    ctypedef struct dense_shape:
        int N, IN, OUT

    void dense_forward_f32(const dense_shape *s, int max_threads, const float *x, const float *w,
                           const float *b, float *y)
    void dense_forward_f64(const dense_shape *s, int max_threads, const double *x,
                           const double *w, const double *b, double *y)
    void dense_backward_f32(const dense_shape *s, int max_threads, const float *x,
                            const float *w, const float *dy, float *dx, float *dw, float *db)
    void dense_backward_f64(const dense_shape *s, int max_threads, const double *x,
                            const double *w, const double *dy, double *dx, double *dw,
                            double *db)


# One name per kernel over both precisions (see gru.pxd).
cdef inline void run_dense_forward(const dense_shape *s, int nt, const floating *x,
                                   const floating *w, const floating *b,
                                   floating *y) noexcept nogil:
    if floating is float:
        dense_forward_f32(s, nt, x, w, b, y)
    else:
        dense_forward_f64(s, nt, x, w, b, y)


cdef inline void run_dense_backward(const dense_shape *s, int nt, const floating *x,
                                    const floating *w, const floating *dy, floating *dx,
                                    floating *dw, floating *db) noexcept nogil:
    if floating is float:
        dense_backward_f32(s, nt, x, w, dy, dx, dw, db)
    else:
        dense_backward_f64(s, nt, x, w, dy, dx, dw, db)
