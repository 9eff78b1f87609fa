# The Conv1D kernels' interface (csrc/conv1d.h), for the bindings in conv1d.pyx.

from cython cimport floating

cdef extern from "conv1d.h" nogil:
    ctypedef struct conv1d_shape:
        int N, T, C, F
        int K, stride, dilation, groups
        int pad_left, T_out

    enum:
        CONV1D_VALID
        CONV1D_SAME
        CONV1D_CAUSAL
    long long conv1d_geometry(int padding, long long T, long long K, long long stride,
                              long long dilation, long long *pad_left)
    size_t conv1d_forward_work_size(const conv1d_shape *s, int max_threads)
    size_t conv1d_backward_work_size(const conv1d_shape *s, int max_threads)
    void conv1d_forward_f32(const conv1d_shape *s, int max_threads, const float *x,
                            const float *w, const float *b, float *y, float *work)
    void conv1d_forward_f64(const conv1d_shape *s, int max_threads, const double *x,
                            const double *w, const double *b, double *y, double *work)
    void conv1d_backward_f32(const conv1d_shape *s, int max_threads, const float *x,
                             const float *w, const float *dy, float *dx, float *dw, float *db,
                             float *work)
    void conv1d_backward_f64(const conv1d_shape *s, int max_threads, const double *x,
                             const double *w, const double *dy, double *dx, double *dw,
                             double *db, double *work)


# One name per kernel over both precisions (see gru.pxd).
cdef inline void run_conv1d_forward(const conv1d_shape *s, int nt, const floating *x,
                                    const floating *w, const floating *b, floating *y,
                                    floating *work) noexcept nogil:
    if floating is float:
        conv1d_forward_f32(s, nt, x, w, b, y, work)
    else:
        conv1d_forward_f64(s, nt, x, w, b, y, work)


cdef inline void run_conv1d_backward(const conv1d_shape *s, int nt, const floating *x,
                                     const floating *w, const floating *dy, floating *dx,
                                     floating *dw, floating *db, floating *work) noexcept nogil:
    if floating is float:
        conv1d_backward_f32(s, nt, x, w, dy, dx, dw, db, work)
    else:
        conv1d_backward_f64(s, nt, x, w, dy, dx, dw, db, work)
