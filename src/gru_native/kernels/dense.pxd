# The dense kernels' interface (csrc/dense.h), for the bindings in _dense.pyx.

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
