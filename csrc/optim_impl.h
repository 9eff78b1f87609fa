/* Optimizer kernels, written once. optim.c includes this file twice, with REAL, FN and SQRT
 * defined for float and for double.
 *
 * Parallel plan: every update is elementwise, so the threads take fixed chunks of the buffer
 * (static schedule) and never share an element: the result is the same for any number of
 * threads. Norms sum each chunk on its own, then add the chunks' sums in order on one thread. */

/* What every update first does to the gradient and the parameter, as REAL. */
typedef struct {
    REAL scale, clip;  /* global-norm clipping factor; clipvalue (+inf: none) */
    REAL wd, lr;       /* decoupled weight decay (0: none), learning rate */
} FN(common);

static FN(common) FN(common_make)(double lr, double weight_decay, double grad_scale,
                                  double clipvalue)
{
    FN(common) c = {(REAL)grad_scale, clipvalue > 0 ? (REAL)clipvalue : (REAL)INFINITY,
                    (REAL)weight_decay, (REAL)lr};
    return c;
}

/* The gradient after global-norm scaling and value clipping. Selects, not branches, so that the
 * loops vectorise; a NaN stays NaN. */
static inline REAL FN(grad)(const FN(common) *c, REAL g)
{
    g *= c->scale;
    g = g < -c->clip ? -c->clip : g;
    return g > c->clip ? c->clip : g;
}

/* Decoupled weight decay, in Keras' order: p - p * wd * lr. */
static inline REAL FN(decay)(const FN(common) *c, REAL p)
{
    return c->wd > 0 ? p - p * c->wd * c->lr : p;
}

/* Sum of squares of g[lo, hi) in double; four accumulators break the chain of dependent adds
 * and keep a fixed order. */
static double FN(sum_squares_run)(const REAL *g, size_t lo, size_t hi)
{
    double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    size_t i = lo;
    for (; i + 4 <= hi; i += 4) {
        a0 += (double)g[i] * g[i];
        a1 += (double)g[i + 1] * g[i + 1];
        a2 += (double)g[i + 2] * g[i + 2];
        a3 += (double)g[i + 3] * g[i + 3];
    }
    for (; i < hi; i++) a0 += (double)g[i] * g[i];
    return (a0 + a1) + (a2 + a3);
}

void FN(optim_sum_squares)(int max_threads, const REAL *g, size_t nseg, const size_t *off,
                           const size_t *len, double *sumsq, double *work)
{
#pragma omp parallel num_threads(pick_threads(total_len(nseg, len), max_threads))
    {
        size_t base = 0;
        for (size_t s = 0; s < nseg; s++) {
            const REAL *gs = g + off[s];
            const size_t n = len[s];
            const long long nc = chunk_count(n);
#pragma omp for schedule(static) nowait
            for (long long c = 0; c < nc; c++)
                work[base + (size_t)c] = FN(sum_squares_run)(gs, (size_t)c * OPTIM_CHUNK, chunk_end(c, n));
            base += (size_t)nc;
        }
    }
    size_t base = 0;
    for (size_t s = 0; s < nseg; s++) {
        const long long nc = chunk_count(len[s]);
        double acc = 0;
        for (long long c = 0; c < nc; c++) acc += work[base + (size_t)c];
        sumsq[s] = acc;
        base += (size_t)nc;
    }
}

void FN(optim_clip_by_norm)(int max_threads, REAL *g, size_t nseg, const size_t *off,
                            const size_t *len, double clipnorm, double *work)
{
    /* the per-segment sums go after the chunk sums (see optim_norm_work_size) */
    double *sumsq = work + optim_norm_work_size(nseg, len) - nseg;
    FN(optim_sum_squares)(max_threads, g, nseg, off, len, sumsq, work);
    const REAL c = (REAL)clipnorm;
#pragma omp parallel num_threads(pick_threads(total_len(nseg, len), max_threads))
    {
        for (size_t s = 0; s < nseg; s++) {
            const double norm = sqrt(sumsq[s]);
            /* Within the bound there is nothing to do (Keras' g * c / c); a NaN norm spreads,
             * as in Keras. */
            if (norm <= clipnorm) continue;
            const REAL d = (REAL)norm;
            REAL *gs = g + off[s];
            const size_t n = len[s];
            const long long nc = chunk_count(n);
#pragma omp for schedule(static) nowait
            for (long long k = 0; k < nc; k++) {
                const size_t hi = chunk_end(k, n);
                for (size_t i = (size_t)k * OPTIM_CHUNK; i < hi; i++) gs[i] = gs[i] * c / d;
            }
        }
    }
}

/* The updates below run over elements [lo, hi) in a *_run function whose int flags are constants
 * at every call: each variant inlines to its own loop without branches, which the compiler can
 * vectorise (Adam and RMSprop only under -fno-math-errno: else sqrt keeps a branch to the
 * library, for errno). The slots are distinct buffers (the bindings check), hence restrict. */

static inline void FN(sgd_run)(const FN(common) *c, size_t lo, size_t hi, REAL *restrict p,
                               const REAL *restrict g, REAL *restrict m, REAL mu, int use_m,
                               int nesterov)
{
    for (size_t i = lo; i < hi; i++) {
        const REAL gi = FN(grad)(c, g[i]);
        const REAL pi = FN(decay)(c, p[i]);
        if (use_m) {
            const REAL mi = m[i] * mu - gi * c->lr;
            m[i] = mi;
            p[i] = pi + (nesterov ? mi * mu - gi * c->lr : mi);
        } else {
            p[i] = pi - gi * c->lr;
        }
    }
}

void FN(optim_sgd)(int max_threads, size_t n, REAL *p, const REAL *g, REAL *m, double lr,
                   double momentum, int nesterov, double weight_decay, double grad_scale,
                   double clipvalue)
{
    const FN(common) cm = FN(common_make)(lr, weight_decay, grad_scale, clipvalue);
    const REAL mu = (REAL)momentum;
    const long long nc = chunk_count(n);
#pragma omp parallel for schedule(static) num_threads(pick_threads(n, max_threads))
    for (long long c = 0; c < nc; c++) {
        const size_t lo = (size_t)c * OPTIM_CHUNK, hi = chunk_end(c, n);
        if (!m)
            FN(sgd_run)(&cm, lo, hi, p, g, NULL, mu, 0, 0);
        else if (nesterov)
            FN(sgd_run)(&cm, lo, hi, p, g, m, mu, 1, 1);
        else
            FN(sgd_run)(&cm, lo, hi, p, g, m, mu, 1, 0);
    }
}

static inline void FN(adam_run)(const FN(common) *c, size_t lo, size_t hi, REAL *restrict p,
                                const REAL *restrict g, REAL *restrict m, REAL *restrict v,
                                REAL *restrict vhat, REAL alpha, REAL k1, REAL k2, REAL eps,
                                int amsgrad)
{
    for (size_t i = lo; i < hi; i++) {
        const REAL gi = FN(grad)(c, g[i]);
        const REAL pi = FN(decay)(c, p[i]);
        const REAL mi = m[i] + (gi - m[i]) * k1;
        REAL vi = v[i] + (gi * gi - v[i]) * k2;
        m[i] = mi;
        v[i] = vi;
        if (amsgrad) {
            vi = vi < vhat[i] ? vhat[i] : vi;
            vhat[i] = vi;
        }
        p[i] = pi - mi * alpha / (SQRT(vi) + eps);
    }
}

void FN(optim_adam)(int max_threads, size_t n, REAL *p, const REAL *g, REAL *m, REAL *v,
                    REAL *vhat, double lr, double beta_1, double beta_2, double epsilon,
                    long long step, double weight_decay, double grad_scale, double clipvalue)
{
    const FN(common) cm = FN(common_make)(lr, weight_decay, grad_scale, clipvalue);
    /* bias correction folded into the step size (Keras' alpha); eps is added to sqrt(v) */
    const double t = (double)step;
    const REAL alpha = (REAL)(lr * sqrt(1 - pow(beta_2, t)) / (1 - pow(beta_1, t)));
    const REAL k1 = (REAL)(1 - beta_1), k2 = (REAL)(1 - beta_2), eps = (REAL)epsilon;
    const long long nc = chunk_count(n);
#pragma omp parallel for schedule(static) num_threads(pick_threads(n, max_threads))
    for (long long c = 0; c < nc; c++) {
        const size_t lo = (size_t)c * OPTIM_CHUNK, hi = chunk_end(c, n);
        if (vhat)
            FN(adam_run)(&cm, lo, hi, p, g, m, v, vhat, alpha, k1, k2, eps, 1);
        else
            FN(adam_run)(&cm, lo, hi, p, g, m, v, NULL, alpha, k1, k2, eps, 0);
    }
}

static inline void FN(rmsprop_run)(const FN(common) *c, size_t lo, size_t hi, REAL *restrict p,
                                   const REAL *restrict g, REAL *restrict v, REAL *restrict mom,
                                   REAL *restrict avg, REAL rho, REAL mu, REAL eps,
                                   int use_mom, int centered)
{
    const REAL k = 1 - rho;
    for (size_t i = lo; i < hi; i++) {
        const REAL gi = FN(grad)(c, g[i]);
        const REAL pi = FN(decay)(c, p[i]);
        const REAL vi = rho * v[i] + k * (gi * gi);
        REAL den = vi + eps;
        v[i] = vi;
        if (centered) {
            const REAL ai = rho * avg[i] + k * gi;
            avg[i] = ai;
            den = vi - ai * ai + eps;
        }
        const REAL inc = c->lr * gi / SQRT(den);
        if (use_mom) {
            const REAL mi = mu * mom[i] + inc;
            mom[i] = mi;
            p[i] = pi - mi;
        } else {
            p[i] = pi - inc;
        }
    }
}

void FN(optim_rmsprop)(int max_threads, size_t n, REAL *p, const REAL *g, REAL *v, REAL *mom,
                       REAL *avg, double lr, double rho, double momentum, double epsilon,
                       double weight_decay, double grad_scale, double clipvalue)
{
    const FN(common) cm = FN(common_make)(lr, weight_decay, grad_scale, clipvalue);
    const REAL r = (REAL)rho, mu = (REAL)momentum, eps = (REAL)epsilon;
    const long long nc = chunk_count(n);
#pragma omp parallel for schedule(static) num_threads(pick_threads(n, max_threads))
    for (long long c = 0; c < nc; c++) {
        const size_t lo = (size_t)c * OPTIM_CHUNK, hi = chunk_end(c, n);
        if (mom && avg)
            FN(rmsprop_run)(&cm, lo, hi, p, g, v, mom, avg, r, mu, eps, 1, 1);
        else if (mom)
            FN(rmsprop_run)(&cm, lo, hi, p, g, v, mom, NULL, r, mu, eps, 1, 0);
        else if (avg)
            FN(rmsprop_run)(&cm, lo, hi, p, g, v, NULL, avg, r, mu, eps, 0, 1);
        else
            FN(rmsprop_run)(&cm, lo, hi, p, g, v, NULL, NULL, r, mu, eps, 0, 0);
    }
}
