/* The plan's C ops, written once: plan.c includes this file twice, with REAL, FN,
 * EXP, TANH and SQRT defined for float and for double. */

void FN(plan_activation)(int kind, size_t rows, size_t width, const REAL *x, REAL *y)
{
    const size_t n = rows * width;
    switch (kind) {
    case PLAN_RELU:
        for (size_t i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0;  /* np.maximum(z, 0) */
        break;
    case PLAN_SIGMOID:
        for (size_t i = 0; i < n; i++) {  /* exp of -|z| only: no overflow, as activations.py */
            const REAL z = x[i];
            const REAL e = EXP(z >= 0 ? -z : z);
            y[i] = z >= 0 ? 1 / (1 + e) : e / (1 + e);
        }
        break;
    case PLAN_TANH:
        for (size_t i = 0; i < n; i++) y[i] = TANH(x[i]);
        break;
    case PLAN_SOFTMAX:
        for (size_t r = 0; r < rows; r++) {
            const REAL *a = x + r * width;
            REAL *b = y + r * width;
            REAL m = a[0], s = 0;
            for (size_t j = 1; j < width; j++) m = a[j] > m ? a[j] : m;
            for (size_t j = 0; j < width; j++) {
                b[j] = EXP(a[j] - m);
                s += b[j];
            }
            for (size_t j = 0; j < width; j++) b[j] /= s;
        }
        break;
    default:  /* linear */
        if (y != x) memcpy(y, x, n * sizeof(REAL));
    }
}

void FN(plan_merge)(int kind, int n, const REAL *const *xs, size_t count, REAL *y)
{
    /* Left to right, as the merge layers' NumPy code: ((x0 + x1) + x2) ... */
    const REAL *x0 = xs[0];
    if (kind == PLAN_SUBTRACT) {
        const REAL *x1 = xs[1];
        for (size_t i = 0; i < count; i++) y[i] = x0[i] - x1[i];
        return;
    }
    if (y != x0) memcpy(y, x0, count * sizeof(REAL));
    for (int k = 1; k < n; k++) {
        const REAL *x = xs[k];
        switch (kind) {
        case PLAN_MULTIPLY:
            for (size_t i = 0; i < count; i++) y[i] *= x[i];
            break;
        case PLAN_MAXIMUM:  /* the running result wins ties, as np.where(x > out, x, out) */
            for (size_t i = 0; i < count; i++) y[i] = x[i] > y[i] ? x[i] : y[i];
            break;
        case PLAN_MINIMUM:
            for (size_t i = 0; i < count; i++) y[i] = x[i] < y[i] ? x[i] : y[i];
            break;
        default:  /* add, average */
            for (size_t i = 0; i < count; i++) y[i] += x[i];
        }
    }
    if (kind == PLAN_AVERAGE) {
        const REAL d = (REAL)n;
        for (size_t i = 0; i < count; i++) y[i] /= d;
    }
}

void FN(plan_concat)(int n, const REAL *const *xs, const size_t *chunks, size_t outer, REAL *y)
{
    for (size_t o = 0; o < outer; o++)
        for (int k = 0; k < n; k++) {
            memcpy(y, xs[k] + o * chunks[k], chunks[k] * sizeof(REAL));
            y += chunks[k];
        }
}

void FN(plan_repeat)(size_t B, int n, size_t width, const REAL *x, REAL *y)
{
    for (size_t b = 0; b < B; b++)
        for (int t = 0; t < n; t++) {
            memcpy(y, x + b * width, width * sizeof(REAL));
            y += width;
        }
}

void FN(plan_pool)(int kind, size_t B, int T, int T_out, size_t C, int pool, int strides,
                   const REAL *x, REAL *y)
{
    /* The padding both sides need, split as TensorFlow does: the extra step on the right. */
    const long total = (long)(T_out - 1) * strides + pool - T;
    const long left = total > 0 ? total / 2 : 0;
    for (size_t b = 0; b < B; b++) {
        const REAL *xb = x + b * (size_t)T * C;
        for (int o = 0; o < T_out; o++) {
            REAL *yo = y + (b * (size_t)T_out + o) * C;
            const long start = (long)o * strides - left;
            const long lo = start > 0 ? start : 0;
            const long hi = start + pool < T ? start + pool : T;  /* every window holds a step */
            memcpy(yo, xb + lo * C, C * sizeof(REAL));
            for (long t = lo + 1; t < hi; t++) {
                const REAL *xt = xb + t * C;
                if (kind == PLAN_POOL_MAX)
                    for (size_t c = 0; c < C; c++) yo[c] = xt[c] > yo[c] ? xt[c] : yo[c];
                else
                    for (size_t c = 0; c < C; c++) yo[c] += xt[c];
            }
            if (kind == PLAN_POOL_AVERAGE) {
                const REAL count = (REAL)(hi - lo);
                for (size_t c = 0; c < C; c++) yo[c] /= count;
            }
        }
    }
}

void FN(plan_normalize)(size_t rows, size_t width, const REAL *mean, const REAL *variance,
                        REAL eps, const REAL *gamma, const REAL *beta, const REAL *x, REAL *y)
{
    for (size_t r = 0; r < rows; r++) {
        const REAL *a = x + r * width;
        REAL *b = y + r * width;
        if (mean == NULL) {  /* the row's own: x.mean(-1), then x.var(-1) of x - mean */
            REAL m = 0, v = 0;
            for (size_t j = 0; j < width; j++) m += a[j];
            m /= (REAL)width;
            for (size_t j = 0; j < width; j++) v += (a[j] - m) * (a[j] - m);
            v /= (REAL)width;
            const REAL inv = 1 / SQRT(v + eps);
            for (size_t j = 0; j < width; j++) b[j] = (a[j] - m) * inv;
        } else {
            for (size_t j = 0; j < width; j++)
                b[j] = (a[j] - mean[j]) * (1 / SQRT(variance[j] + eps));
        }
        if (gamma != NULL)
            for (size_t j = 0; j < width; j++) b[j] *= gamma[j];
        if (beta != NULL)
            for (size_t j = 0; j < width; j++) b[j] += beta[j];
    }
}

void FN(plan_conv1d)(const conv1d_shape *s, int max_threads, int activation, const REAL *x,
                     const REAL *w, const REAL *b, REAL *y, REAL *work)
{
    FN(conv1d_forward)(s, max_threads, x, w, b, y, work);
    FN(plan_activation)(activation, (size_t)s->N * s->T_out, (size_t)s->F, y, y);
}
