/* Dense (affine) layer over a batch of rows: y = x W + b, and its gradients.
 *
 * Layout (Keras): x (N, IN) row-major, kernel w (IN, OUT), bias b (OUT,), y (N, OUT).
 * Backward from dy (N, OUT): dW = x^T dy, db = sum of dy over rows, dx = dy W^T.
 *
 * The caller provides every buffer; the kernels never allocate. */
#ifndef GRU_DENSE_H
#define GRU_DENSE_H

typedef struct {
    int N, IN, OUT;  /* rows, input features, output units */
} dense_shape;

/* b may be NULL (no bias). */
void dense_forward_f32(const dense_shape *s, int max_threads, const float *x, const float *w,
                       const float *b, float *y);
void dense_forward_f64(const dense_shape *s, int max_threads, const double *x, const double *w,
                       const double *b, double *y);

/* Gradients are written, not accumulated. dx and db may be NULL (not wanted). */
void dense_backward_f32(const dense_shape *s, int max_threads, const float *x, const float *w,
                        const float *dy, float *dx, float *dw, float *db);
void dense_backward_f64(const dense_shape *s, int max_threads, const double *x, const double *w,
                        const double *dy, double *dx, double *dw, double *db);

#endif
