/* What the GRU and LSTM kernels share: sequence lengths and direction, and how many threads a
 * call is worth. Their REAL-typed helpers are in recurrent_impl.h. */
#ifndef GRU_RECURRENT_H
#define GRU_RECURRENT_H

/* Number of valid steps of sequence b (all T without lengths). */
static inline int seq_len(const int *lengths, int b, int T) { return lengths ? lengths[b] : T; }

/* Position in its sequence of the k-th step that a sequence of len valid steps runs. */
static inline int step_pos(int reverse, int len, int k) { return reverse ? len - 1 - k : k; }

/* Threads worth using for B sequences of T steps with `gates` blocks of H units: one per few
 * sequences at most, and one only when the whole call is tiny (starting a team costs more than
 * it saves). */
static inline int pick_threads(int B, int T, int F, int H, int gates, int max_threads)
{
    double flops = 2.0 * gates * B * T * H * (double)(F + H);
    int n = max_threads < B ? max_threads : B;
    if (flops < 1e6 || n < 1) n = 1;
    return n;
}

/* Threads for splitting every step by units instead (GRU and LSTM inference): when there are
 * fewer sequences than threads and each step's U is large enough that reading it is most of a
 * step: 128 units per thread (H=256: each core reads half of U from its own cache, paying a
 * barrier a step). 1: do not split. */
static inline int units_threads(int B, int H, int max_threads)
{
    int n = H / 128;
    if (B >= max_threads || n < 2) return 1;
    return n < max_threads ? n : max_threads;
}

/* Whether a forward split by sequences makes each step's input projection just before the
 * step (recurrent_impl.h's step_input) instead of the whole sequence's first: at inference
 * (training caches the whole sequence's), with every row at the same position (not reversed
 * with lengths). */
static inline int stepwise_input(int training, int reverse, const int *lengths)
{
    return !training && !(reverse && lengths);
}

#endif
