# The attention kernels' interface (csrc/attention.h), for the bindings in attention.pyx.

from cython cimport floating

cdef extern from "attention.h" nogil:
    ctypedef struct attention_shape:
        int N, Tq, Tv
        int D, Dv
        int causal

    size_t attention_backward_work_size(const attention_shape *s, int max_threads)
    void attention_forward_f32(const attention_shape *s, int max_threads, const float *q,
                               const float *k, const float *v, float scale,
                               const unsigned char *value_mask, const unsigned char *query_mask,
                               const float *drop, float *weights, float *used, float *out)
    void attention_forward_f64(const attention_shape *s, int max_threads, const double *q,
                               const double *k, const double *v, double scale,
                               const unsigned char *value_mask, const unsigned char *query_mask,
                               const double *drop, double *weights, double *used, double *out)
    void attention_backward_f32(const attention_shape *s, int max_threads, const float *q,
                                const float *k, const float *v, float scale,
                                const unsigned char *query_mask, const float *drop,
                                const float *weights, const float *dout, const float *dused,
                                float *dq, float *dk, float *dv, float *dscale, float *work)
    void attention_backward_f64(const attention_shape *s, int max_threads, const double *q,
                                const double *k, const double *v, double scale,
                                const unsigned char *query_mask, const double *drop,
                                const double *weights, const double *dout, const double *dused,
                                double *dq, double *dk, double *dv, double *dscale,
                                double *work)


# One name per kernel over both precisions (see gru.pxd).
cdef inline void run_attention_forward(const attention_shape *s, int nt, const floating *q,
                                       const floating *k, const floating *v, floating scale,
                                       const unsigned char *value_mask,
                                       const unsigned char *query_mask, const floating *drop,
                                       floating *weights, floating *used,
                                       floating *out) noexcept nogil:
    if floating is float:
        attention_forward_f32(s, nt, q, k, v, scale, value_mask, query_mask, drop, weights, used,
                              out)
    else:
        attention_forward_f64(s, nt, q, k, v, scale, value_mask, query_mask, drop, weights, used,
                              out)


cdef inline void run_attention_backward(const attention_shape *s, int nt, const floating *q,
                                        const floating *k, const floating *v, floating scale,
                                        const unsigned char *query_mask, const floating *drop,
                                        const floating *weights, const floating *dout,
                                        const floating *dused, floating *dq, floating *dk,
                                        floating *dv, floating *dscale,
                                        floating *work) noexcept nogil:
    if floating is float:
        attention_backward_f32(s, nt, q, k, v, scale, query_mask, drop, weights, dout, dused, dq,
                               dk, dv, dscale, work)
    else:
        attention_backward_f64(s, nt, q, k, v, scale, query_mask, drop, weights, dout, dused, dq,
                               dk, dv, dscale, work)
