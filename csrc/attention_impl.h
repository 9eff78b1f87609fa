/* Attention forward and backward, written once. attention.c includes this file twice, with REAL,
 * FN, GEMM and EXP defined for float and for double.
 *
 * Each sample is its own problem: its scores are one GEMM q k^T, its output one GEMM weights v,
 * and between them each row's masking, maximum, exponentials and normalisation run together
 * while the row is in the L1 cache (NumPy makes a pass over all the scores for each). Both GEMMs
 * run over blocks of query rows (block_rows): a block's scores stay in the core's cache from
 * their GEMM through the softmax to the GEMM that reads them. The backward walks the same
 * blocks, with dq's rows block by block and dv, dk summed over the blocks by their GEMMs
 * (beta 1). Inner dimensions beyond GRU_GEMM_K_BLOCK go in blocks (gemm_k_blocks); the block
 * rows never exceed it.
 *
 * Parallel plan: samples are independent, so every thread takes a block of them, with its own
 * scratch; the only sum across samples, dscale, is summed in sample order after the team, so no
 * result depends on how the samples were split. The BLAS runs single-threaded in the calling
 * thread (see threads.h). */

/* Scores of one row -> their softmax, in place: steps j >= visible or with mask[j] == 0 (mask
 * may be NULL) excluded as Keras excludes them (less EXCLUDED, then the row's maximum is
 * subtracted before the exponential). */
GRU_SIMD_CLONES static void FN(softmax_row)(REAL *row, int Tv, const unsigned char *mask,
                                            int visible)
{
    REAL max = -INFINITY, sum = 0;
#pragma omp simd reduction(max : max)
    for (int j = 0; j < Tv; j++) {
        const int kept = j < visible && (!mask || mask[j]);
        const REAL x = kept ? row[j] : row[j] - (REAL)EXCLUDED;
        row[j] = x;
        max = x > max ? x : max;
    }
#pragma omp simd reduction(+ : sum)
    for (int j = 0; j < Tv; j++) {
        row[j] = EXP(row[j] - max);
        sum += row[j];
    }
    for (int j = 0; j < Tv; j++) row[j] /= sum;
}

/* The gradient of one row's used weights -> that of its scores, in place: d gets dused (may be
 * NULL) added and is multiplied by drop (may be NULL): the weights' gradient; then
 * dscores = w * (dweights - rowsum(dweights * w)). */
GRU_SIMD_CLONES static void FN(softmax_row_backward)(REAL *d, const REAL *w, const REAL *dused,
                                                     const REAL *drop, int Tv)
{
    REAL dot = 0;
    if (dused)
        for (int j = 0; j < Tv; j++) d[j] += dused[j];
    if (drop)
        for (int j = 0; j < Tv; j++) d[j] *= drop[j];
#pragma omp simd reduction(+ : dot)
    for (int j = 0; j < Tv; j++) dot += d[j] * w[j];
    for (int j = 0; j < Tv; j++) d[j] = w[j] * (d[j] - dot);
}

/* The used weights of `count` consecutive weights: times drop, into `buffer`; without drop
 * (NULL) the weights themselves, `buffer` untouched. */
static const REAL *FN(used_weights)(const REAL *w, const REAL *drop, size_t count, REAL *buffer)
{
    if (!drop) return w;
#pragma omp simd
    for (size_t e = 0; e < count; e++) buffer[e] = w[e] * drop[e];
    return buffer;
}

/* The forward of sample n. */
static void FN(attention_forward_sample)(const attention_shape *s, size_t n, const REAL *q,
                                         const REAL *k, const REAL *v, REAL scale,
                                         const unsigned char *value_mask,
                                         const unsigned char *query_mask, const REAL *drop,
                                         REAL *weights, REAL *used, REAL *out)
{
    const int Tq = s->Tq, Tv = s->Tv, D = s->D, Dv = s->Dv, block = block_rows(s);
    const size_t tt = (size_t)Tq * Tv;
    const REAL *kn = k + n * Tv * D, *vn = v + n * Tv * Dv;
    const unsigned char *vm = value_mask ? value_mask + n * Tv : NULL;
    for (int i0 = 0; i0 < Tq; i0 += block) {
        const int rows = Tq - i0 < block ? Tq - i0 : block;
        const size_t at = n * tt + (size_t)i0 * Tv;  /* the block's first weight */
        REAL *w = weights + at, *o = out + (n * Tq + i0) * Dv;
        FN(gemm_k_blocks)(1, rows, Tv, D, scale, q + (n * Tq + i0) * D, D, kn, D, 0, w, Tv);
        for (int r = 0; r < rows; r++)
            FN(softmax_row)(w + (size_t)r * Tv, Tv, vm, s->causal ? i0 + r + 1 : Tv);
        const REAL *u = FN(used_weights)(w, drop ? drop + at : NULL, (size_t)rows * Tv,
                                         used ? used + at : NULL);
        FN(gemm_k_blocks)(0, rows, Dv, Tv, 1, u, Tv, vn, Dv, 0, o, Dv);
        for (int r = 0; query_mask && r < rows; r++)  /* the query's padded steps give zeros */
            if (!query_mask[n * Tq + i0 + r])
                memset(o + (size_t)r * Dv, 0, (size_t)Dv * sizeof(REAL));
    }
}

/* The backward of sample n, its partial dscale (when wanted) in *dscale_part. `scratch`: the
 * thread's block_rows * (Tv + Dv) elements. */
static void FN(attention_backward_sample)(const attention_shape *s, size_t n, const REAL *q,
                                          const REAL *k, const REAL *v, REAL scale,
                                          const unsigned char *query_mask, const REAL *drop,
                                          const REAL *weights, const REAL *dout,
                                          const REAL *dused, REAL *dq, REAL *dk, REAL *dv,
                                          REAL *dscale_part, REAL *scratch)
{
    const int Tq = s->Tq, Tv = s->Tv, D = s->D, Dv = s->Dv, block = block_rows(s);
    const size_t tt = (size_t)Tq * Tv;
    const REAL *kn = k + n * Tv * D, *vn = v + n * Tv * Dv;
    REAL *dkn = dk + n * Tv * D, *dvn = dv + n * Tv * Dv;
    REAL *ds = scratch, *dout_kept = scratch + (size_t)block * Tv;
    double dscale_sum = 0;
    for (int i0 = 0; i0 < Tq; i0 += block) {
        const int rows = Tq - i0 < block ? Tq - i0 : block;
        const REAL beta = i0 ? 1 : 0;  /* dv and dk: the first block writes, the others add */
        const size_t at = n * tt + (size_t)i0 * Tv, qrow = n * Tq + i0;
        const REAL *w = weights + at, *dr = drop ? drop + at : NULL, *qb = q + qrow * D;
        REAL *dqb = dq + qrow * D;
        if (dout) {
            /* dout with the query's padded steps zero (their out is a constant zero) */
            const REAL *g = dout + qrow * Dv;
            if (query_mask) {
                for (int r = 0; r < rows; r++) {
                    REAL *kept = dout_kept + (size_t)r * Dv;
                    if (query_mask[qrow + r])
                        memcpy(kept, g + (size_t)r * Dv, (size_t)Dv * sizeof(REAL));
                    else
                        memset(kept, 0, (size_t)Dv * sizeof(REAL));
                }
                g = dout_kept;
            }
            const REAL *u = FN(used_weights)(w, dr, (size_t)rows * Tv, ds);
            GEMM(1, 0, Tv, Dv, rows, 1, u, Tv, g, Dv, beta, dvn, Dv);  /* dv += used^T dout */
            FN(gemm_k_blocks)(1, rows, Tv, Dv, 1, g, Dv, vn, Dv, 0, ds, Tv);  /* dused = dout v^T */
        } else {
            if (!i0) memset(dvn, 0, (size_t)Tv * Dv * sizeof(REAL));
            memset(ds, 0, (size_t)rows * Tv * sizeof(REAL));
        }
        for (int r = 0; r < rows; r++) {
            const size_t e = (size_t)r * Tv;
            FN(softmax_row_backward)(ds + e, w + e, dused ? dused + at + e : NULL,
                                     dr ? dr + e : NULL, Tv);
        }
        /* dq = scale dscores k: unscaled first when dscale = sum(q * dscores k) needs it */
        FN(gemm_k_blocks)(0, rows, D, Tv, dscale_part ? 1 : scale, ds, Tv, kn, D, 0, dqb, D);
        if (dscale_part)
            for (size_t e = 0; e < (size_t)rows * D; e++) {
                dscale_sum += (double)qb[e] * dqb[e];
                dqb[e] *= scale;
            }
        /* dk += scale dscores^T q; added to dv's when dk is dv (the key is the value) */
        GEMM(1, 0, Tv, D, rows, scale, ds, Tv, qb, D, dk == dv ? 1 : beta, dkn, D);
    }
    if (dscale_part) *dscale_part = (REAL)dscale_sum;
}

void FN(attention_forward)(const attention_shape *s, int max_threads, const REAL *q,
                           const REAL *k, const REAL *v, REAL scale,
                           const unsigned char *value_mask, const unsigned char *query_mask,
                           const REAL *drop, REAL *weights, REAL *used, REAL *out)
{
    const int nt = pick_threads(s, max_threads);
    gru_blas_single_thread();
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int lo, hi;
        gru_split(s->N, omp_get_num_threads(), omp_get_thread_num(), &lo, &hi);
        for (int n = lo; n < hi; n++)
            FN(attention_forward_sample)(s, (size_t)n, q, k, v, scale, value_mask, query_mask,
                                         drop, weights, used, out);
    }
}

void FN(attention_backward)(const attention_shape *s, int max_threads, const REAL *q,
                            const REAL *k, const REAL *v, REAL scale,
                            const unsigned char *query_mask, const REAL *drop,
                            const REAL *weights, const REAL *dout, const REAL *dused, REAL *dq,
                            REAL *dk, REAL *dv, REAL *dscale, REAL *work)
{
    const int nt = pick_threads(s, max_threads);
    const size_t per_thread = thread_scratch_size(s);
    REAL *const parts = work + (size_t)nt * per_thread;  /* dscale's, one per sample */
    gru_blas_single_thread();
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        const int tid = omp_get_thread_num();
        int lo, hi;
        gru_split(s->N, omp_get_num_threads(), tid, &lo, &hi);
        for (int n = lo; n < hi; n++)
            FN(attention_backward_sample)(s, (size_t)n, q, k, v, scale, query_mask, drop, weights,
                                          dout, dused, dq, dk, dv, dscale ? parts + n : NULL,
                                          work + tid * per_thread);
    }
    if (dscale) {
        double sum = 0;
        for (int n = 0; n < s->N; n++) sum += parts[n];
        *dscale = (REAL)sum;
    }
}
