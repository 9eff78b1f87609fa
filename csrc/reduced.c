/* Reduced-precision weight matrices (reduced.h): packing, and the product in tiles of up to
 * ROWS rows by 64 columns, x taken CHUNK values of k at a time.
 *
 * Layout: k is cut in groups of two values, the group count rounded up with zeros, and the
 * columns in panels of 16 (the last one padded with zeros); one entry holds a group's two
 * weights of one column (a 32-bit word of two bfloat16: bfloat16's weights, or int8 values on
 * vdpbf16ps; or of two int8 values as int16, so that vpdpwssd's product widens nothing), and
 * a panel's entries lie group after group (entry_index). One broadcast 32-bit word of x (two
 * bfloat16 or two int16) then multiplies 16 columns' entries per instruction (vdpbf16ps,
 * vpdpwssd: two products a lane), and a tile reads each of its panels from start to end: one
 * row's product streams through memory instead of taking 64 bytes of every row of a row-major
 * matrix (which one core reads more slowly). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fastmath.h"
#include "reduced.h"

#define ROWS 4       /* rows a tile computes together: each weight entry loaded serves them all */
/* Values of k converted per pass: an int8 chunk's integer sums stay below 2^31
 * (512 * 127 * 32767 = 2130641408). */
#define CHUNK 512
#define TILE 64      /* columns of a tile: four vectors of 16 */
#define PANEL 16     /* columns of a panel: one vector */

struct reduced_matrix {
    int kind, k, n;
    int native;       /* 1: this CPU's instruction, 0: the portable loop */
    int int8_as_bfloat16;  /* int8 on vdpbf16ps: its values kept as bfloat16 (exact: |q| <= 127),
                            * x rounded to bfloat16 */
    int packed;       /* 0 until the first reduced_sync */
    uint32_t *words;  /* (panels, groups, PANEL) words of two bfloat16 or two int16 (int8's
                       * values off vdpbf16ps), the first in the low half */
    float *scale;     /* int8: per column */
    float *source;    /* the float32 weights last packed, (k, n) */
    float *feedback;  /* int8 calibrated: the (k, k) factor of reduced_calibrate, else NULL */
    float *work;      /* int8 calibrated: (k, n), the weights as the error feedback moves them */
};

static int groups_of(const reduced_matrix *m) { return (m->k + 1) / 2; }
static int panels_of(const reduced_matrix *m) { return (m->n + PANEL - 1) / PANEL; }

/* Where the entry of group g and column j lies in words. */
static size_t entry_index(const reduced_matrix *m, int g, int j)
{
    return ((size_t)(j / PANEL) * groups_of(m) + g) * PANEL + j % PANEL;
}

typedef union { float f; uint32_t u; } float_bits;

/* Nearest bfloat16, ties to even (as vcvtne2ps2bf16); a NaN stays a (quiet) NaN. */
static uint16_t to_bfloat16(float f)
{
    const float_bits b = {f};
    if ((b.u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((b.u >> 16) | 0x40u);
    return (uint16_t)((b.u + 0x7fffu + ((b.u >> 16) & 1u)) >> 16);
}

static float from_bfloat16(uint32_t h)
{
    const float_bits b = {.u = (h & 0xffffu) << 16};
    return b.f;
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(_MSC_VER)
#define REDUCED_X86 1
#include <immintrin.h>
#define TARGET_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#define TARGET_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
/* the tiles' loops over rows and vectors, unrolled so that their accumulators are registers */
#define UNROLLED _Pragma("GCC unroll 4")
#else
#define REDUCED_X86 0
#endif

int reduced_native(int kind)
{
    const char *forced = getenv("GRU_NATIVE_REDUCED");  /* portable, vnni: for tests */
    if (forced && strcmp(forced, "portable") == 0) return 0;
#if REDUCED_X86
    __builtin_cpu_init();
    const int vnni_only = forced && strcmp(forced, "vnni") == 0;
    const int bf16 = __builtin_cpu_supports("avx512bf16") && !vnni_only;
    if (kind == REDUCED_BFLOAT16) return bf16;
    if (kind == REDUCED_INT8) return bf16 || __builtin_cpu_supports("avx512vnni");
#endif
    (void)kind;
    return 0;
}

const char *reduced_instruction(const reduced_matrix *m)
{
    if (!m->native) return NULL;
    return m->kind == REDUCED_BFLOAT16 || m->int8_as_bfloat16 ? "vdpbf16ps" : "vpdpwssd";
}

reduced_matrix *reduced_new(int kind, int k, int n, int portable)
{
    if ((kind != REDUCED_BFLOAT16 && kind != REDUCED_INT8) || k < 1 || n < 1) return NULL;
    reduced_matrix *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->kind = kind, m->k = k, m->n = n;
    m->native = !portable && reduced_native(kind);
    m->int8_as_bfloat16 = kind == REDUCED_INT8 && m->native && reduced_native(REDUCED_BFLOAT16);
    const size_t entries = (size_t)panels_of(m) * groups_of(m) * PANEL;
    m->source = malloc((size_t)k * n * sizeof *m->source);
    m->words = calloc(entries, sizeof *m->words);
    int ok = m->source && m->words;
    if (kind == REDUCED_INT8) {
        m->scale = malloc((size_t)n * sizeof *m->scale);
        ok = ok && m->scale;
    }
    if (!ok) {
        reduced_free(m);
        return NULL;
    }
    return m;
}

void reduced_free(reduced_matrix *m)
{
    if (!m) return;
    free(m->words);
    free(m->scale);
    free(m->source);
    free(m->feedback);
    free(m->work);
    free(m);
}

static void pack_bfloat16(reduced_matrix *m, const float *a)
{
    const int k = m->k, n = m->n;
    for (int g = 0; g < groups_of(m); g++)
        for (int j = 0; j < n; j++) {
            const uint32_t lo = to_bfloat16(a[(size_t)2 * g * n + j]);
            const uint32_t hi = 2 * g + 1 < k ? to_bfloat16(a[(size_t)(2 * g + 1) * n + j]) : 0;
            m->words[entry_index(m, g, j)] = lo | hi << 16;
        }
}

/* a on the int8 grid of step 1 / inv (inv 0: a zero column), clamped where error feedback
 * has moved a past the column's largest weight. */
static int int8_of(float a, float inv)
{
    return (int)fminf(127, fmaxf(-127, (float)lrintf(a * inv)));
}

static void pack_int8(reduced_matrix *m, const float *a)
{
    const int k = m->k, n = m->n;
    for (int j = 0; j < n; j++) {
        float top = 0;
        for (int i = 0; i < k; i++) top = fmaxf(top, fabsf(a[(size_t)i * n + j]));
        m->scale[j] = top / 127;
    }
    float *w = m->feedback ? memcpy(m->work, a, (size_t)k * n * sizeof *a) : (float *)a;
    memset(m->words, 0, (size_t)panels_of(m) * groups_of(m) * PANEL * sizeof *m->words);
    for (int i = 0; i < k; i++) {
        float *row = w + (size_t)i * n;
        for (int j = 0; j < n; j++) {
            const int q = int8_of(row[j], m->scale[j] > 0 ? 1 / m->scale[j] : 0);
            const uint32_t half = m->int8_as_bfloat16 ? to_bfloat16((float)q)
                                                      : (uint16_t)(int16_t)q;
            m->words[entry_index(m, i / 2, j)] |= half << (16 * (i % 2));
            if (m->feedback) row[j] = (row[j] - q * m->scale[j]) / m->feedback[(size_t)i * k + i];
        }
        if (!m->feedback) continue;
        /* row now holds the error over u[i, i]: the later rows take it up along u's row i */
        for (int r = i + 1; r < k; r++) {
            const float f = m->feedback[(size_t)i * k + r];
            float *later = w + (size_t)r * n;
            for (int j = 0; j < n; j++) later[j] -= f * row[j];
        }
    }
}

int reduced_calibrate(reduced_matrix *m, const float *u)
{
    if (m->kind != REDUCED_INT8) return -1;
    const size_t kk = (size_t)m->k * m->k;
    float *feedback = NULL, *work = NULL;
    if (u) {
        for (size_t e = 0; e < kk; e++)
            if (!isfinite(u[e])) return -1;
        for (int i = 0; i < m->k; i++)
            if (!(u[(size_t)i * m->k + i] > 0)) return -1;
        feedback = malloc(kk * sizeof *feedback);
        work = malloc((size_t)m->k * m->n * sizeof *work);
        if (!feedback || !work) {
            free(feedback);
            free(work);
            return -1;
        }
        memcpy(feedback, u, kk * sizeof *u);
    }
    free(m->feedback);
    free(m->work);
    m->feedback = feedback, m->work = work;
    if (m->packed) pack_int8(m, m->source);
    return 0;
}

int reduced_sync(reduced_matrix *m, const float *a)
{
    const size_t count = (size_t)m->k * m->n;
    if (m->packed && memcmp(a, m->source, count * sizeof *a) == 0) return 0;
    for (size_t i = 0; i < count; i++)
        if (!isfinite(a[i])) return -1;
    memcpy(m->source, a, count * sizeof *a);
    if (m->kind == REDUCED_BFLOAT16) pack_bfloat16(m, a);
    else pack_int8(m, a);
    m->packed = 1;
    return 1;
}

/* x's rows as the tiles read them, one chunk of k (columns c0 .. c0 + kc of x, kc even except
 * at the end of k) into words[r * ldw + ...], zeros past k. */
static void bfloat16_words(int rows, const float *x, size_t ldx, int c0, int kc, int k,
                           uint32_t *words, int ldw)
{
    for (int r = 0; r < rows; r++)
        for (int g = 0; 2 * g < kc; g++) {
            const int i = c0 + 2 * g;
            const uint32_t lo = to_bfloat16(x[r * ldx + i]);
            const uint32_t hi = i + 1 < k ? to_bfloat16(x[r * ldx + i + 1]) : 0;
            words[r * ldw + g] = lo | hi << 16;
        }
}

/* Each row's step sx = max |x| / 32767: x quantised to int16, symmetric (so that the error is
 * the int8 weights', not x's). */
GRU_SIMD_CLONES static void int16_row_steps(int rows, const float *x, size_t ldx, int k,
                                            float *sx)
{
    for (int r = 0; r < rows; r++) {
        float top = 0;
#pragma omp simd reduction(max : top)
        for (int i = 0; i < k; i++) {  /* comparisons, not fmaxf: libm calls do not vectorise */
            const float v = x[r * ldx + i] < 0 ? -x[r * ldx + i] : x[r * ldx + i];
            top = v > top ? v : top;
        }
        sx[r] = top / 32767;
    }
}

/* A chunk of each row as int16 pairs, q = round(x / sx) (half away from zero, within
 * +-32767), two to a word at words[r * ldw + g], zeros past k. */
GRU_SIMD_CLONES static void int16_words(int rows, const float *x, size_t ldx, int c0, int kc,
                                        int k, const float *sx, uint32_t *words, int ldw)
{
    for (int r = 0; r < rows; r++) {
        const float inv = sx[r] > 0 ? 1 / sx[r] : 0;
        int16_t *q = (int16_t *)(words + r * ldw);
        const int real = k - c0 < kc ? k - c0 : kc;
#pragma omp simd
        for (int i = 0; i < real; i++) {
            float t = x[r * ldx + c0 + i] * inv;
            t = t > 32767 ? 32767 : t < -32767 ? -32767 : t;
            q[i] = (int16_t)(int)(t + (t >= 0 ? 0.5f : -0.5f));
        }
        if (real % 2) q[real] = 0;
    }
}

/* The portable tiles: rows r < R, columns [j, j + w), groups [g0, g0 + ng) (one chunk), a
 * whole panel at a time (16 contiguous entries: the loop over them vectorises with its sums in
 * registers), keeping the panel's columns within the tile. add: y holds the earlier chunks'
 * sums. */
GRU_SIMD_CLONES static void bfloat16_tile_portable(const reduced_matrix *m, int R, int j, int w,
                                                   int g0, const uint32_t *xw, int ldw, int ng,
                                                   float *y, size_t ldy, int add)
{
    for (int r = 0; r < R; r++)
        for (int p = j / PANEL; p * PANEL < j + w; p++) {
            const uint32_t *base = m->words + entry_index(m, g0, p * PANEL);
            float acc[PANEL] = {0};
            for (int g = 0; g < ng; g++) {
                const float x0 = from_bfloat16(xw[r * ldw + g]);
                const float x1 = from_bfloat16(xw[r * ldw + g] >> 16);
                const uint32_t *bg = base + (size_t)g * PANEL;
#pragma omp simd
                for (int i = 0; i < PANEL; i++)
                    acc[i] += x0 * from_bfloat16(bg[i]) + x1 * from_bfloat16(bg[i] >> 16);
            }
            const int c0 = p * PANEL > j ? p * PANEL : j;
            const int c1 = p * PANEL + PANEL < j + w ? p * PANEL + PANEL : j + w;
            for (int c = c0; c < c1; c++) {
                float *yc = y + r * ldy + (c - j);
                *yc = (add ? *yc : 0) + acc[c - p * PANEL];
            }
        }
}

GRU_SIMD_CLONES static void int8_tile_portable(const reduced_matrix *m, int R, int j, int w,
                                               int g0, const uint32_t *xw, int ldw, int ng,
                                               const float *scale, const float *sx, float *y,
                                               size_t ldy, int add)
{
    for (int r = 0; r < R; r++)
        for (int p = j / PANEL; p * PANEL < j + w; p++) {
            const uint32_t *base = m->words + entry_index(m, g0, p * PANEL);
            int32_t acc[PANEL] = {0};
            for (int g = 0; g < ng; g++) {
                const int16_t *xq = (const int16_t *)(xw + r * ldw + g);
                const uint32_t *bg = base + (size_t)g * PANEL;
#pragma omp simd
                for (int i = 0; i < PANEL; i++)
                    acc[i] += xq[0] * (int16_t)(bg[i] & 0xffff) + xq[1] * (int16_t)(bg[i] >> 16);
            }
            const int c0 = p * PANEL > j ? p * PANEL : j;
            const int c1 = p * PANEL + PANEL < j + w ? p * PANEL + PANEL : j + w;
            for (int c = c0; c < c1; c++) {
                float *yc = y + r * ldy + (c - j);
                *yc = (add ? *yc : 0) + (float)acc[c - p * PANEL] * (sx[r] * scale[c - j]);
            }
        }
}

#if REDUCED_X86
/* Where the four vectors of a tile (columns [j, j + w), groups from g0) find their words:
 * group g's at lo[v] + 16 g for the lanes of lo_mask[v]; when j is not a panel's start, a
 * vector's last lanes are the next panel's first columns, at hi[v] + 16 g (hi_mask[v]). */
typedef struct {
    const uint32_t *lo[4], *hi[4];
    __mmask16 lo_mask[4], hi_mask[4], mask[4];  /* mask: all the vector's columns */
    int split;  /* j is not a panel's start */
} tile_source;

static inline void tile_source_of(const reduced_matrix *m, int j, int w, int g0, tile_source *t)
{
    const size_t panel_entries = (size_t)groups_of(m) * PANEL;
    const uint32_t *base = m->words;
    const int o = j % PANEL;
    t->split = o != 0;
    for (int v = 0; v < 4; v++) {
        const int left = w - 16 * v, p = (j + 16 * v) / PANEL;
        const __mmask16 mask = left >= 16 ? 0xffff : left > 0 ? (__mmask16)((1u << left) - 1) : 0;
        const __mmask16 first = (__mmask16)((1u << (PANEL - o)) - 1);  /* o = 0: all 16 */
        t->mask[v] = mask;
        t->lo_mask[v] = mask & first;
        t->hi_mask[v] = mask & (__mmask16)~first;
        t->lo[v] = base + (size_t)p * panel_entries + (size_t)g0 * PANEL + o;
        /* the next panel's entries, lane l at entry l - (16 - o): only the lanes of hi_mask read */
        t->hi[v] = t->hi_mask[v] ? base + (size_t)(p + 1) * panel_entries + (size_t)g0 * PANEL
                                       - (PANEL - o)
                                 : t->lo[v];
    }
}

/* Vector v's words of group g. */
#define WORDS_LOAD(t, v, g)                                                                  \
    ((t)->split ? _mm512_mask_loadu_epi32(                                                   \
                      _mm512_maskz_loadu_epi32((t)->lo_mask[v], (t)->lo[v] + PANEL * (size_t)(g)), \
                      (t)->hi_mask[v], (t)->hi[v] + PANEL * (size_t)(g))                     \
                : _mm512_maskz_loadu_epi32((t)->lo_mask[v], (t)->lo[v] + PANEL * (size_t)(g)))

/* scale: int8's column scales from the tile's first column, or NULL (bfloat16) */
TARGET_BF16 static inline __attribute__((always_inline)) void bfloat16_tile_rows(
    int R, const tile_source *t, const uint32_t *xw, int ldw, int ng, const float *scale,
    float *y, size_t ldy, int add)
{
    __m512 acc[ROWS][4];
    UNROLLED for (int r = 0; r < R; r++)
        UNROLLED for (int v = 0; v < 4; v++) acc[r][v] = _mm512_setzero_ps();
    for (int g = 0; g < ng; g++) {
        __m512i bv[4];
        UNROLLED for (int v = 0; v < 4; v++) bv[v] = WORDS_LOAD(t, v, g);
        UNROLLED for (int r = 0; r < R; r++) {
            const __m512bh xv = (__m512bh)_mm512_set1_epi32((int)xw[r * ldw + g]);
            UNROLLED for (int v = 0; v < 4; v++)
                acc[r][v] = _mm512_dpbf16_ps(acc[r][v], xv, (__m512bh)bv[v]);
        }
    }
    UNROLLED for (int v = 0; v < 4; v++) {
        const __m512 sc = scale ? _mm512_maskz_loadu_ps(t->mask[v], scale + 16 * v)
                                : _mm512_setzero_ps();
        UNROLLED for (int r = 0; r < R; r++) {
            float *yr = y + r * ldy + 16 * v;
            __m512 out = scale ? _mm512_mul_ps(acc[r][v], sc) : acc[r][v];
            if (add) out = _mm512_add_ps(_mm512_maskz_loadu_ps(t->mask[v], yr), out);
            _mm512_mask_storeu_ps(yr, t->mask[v], out);
        }
    }
}

TARGET_BF16 static void bfloat16_tile_native(const reduced_matrix *m, int R, int j, int w,
                                             int g0, const uint32_t *xw, int ldw, int ng,
                                             const float *scale, float *y, size_t ldy, int add)
{
    tile_source t;
    tile_source_of(m, j, w, g0, &t);
    switch (R) {  /* one copy per row count: the accumulators stay in registers */
    case 4: bfloat16_tile_rows(4, &t, xw, ldw, ng, scale, y, ldy, add); break;
    case 3: bfloat16_tile_rows(3, &t, xw, ldw, ng, scale, y, ldy, add); break;
    case 2: bfloat16_tile_rows(2, &t, xw, ldw, ng, scale, y, ldy, add); break;
    default: bfloat16_tile_rows(1, &t, xw, ldw, ng, scale, y, ldy, add);
    }
}
/* x's chunk as bfloat16 words with the CPU's conversion (the same rounding as to_bfloat16). */
TARGET_BF16 static void bfloat16_words_native(int rows, const float *x, size_t ldx, int c0,
                                              int kc, int k, uint32_t *words, int ldw)
{
    const int real = k - c0 < kc ? k - c0 : kc;
    for (int r = 0; r < rows; r++)
        for (int i = 0; i < real; i += 32) {
            const int left = real - i;
            const __mmask16 m0 = left >= 16 ? 0xffff : (__mmask16)((1u << left) - 1);
            const __mmask16 m1 = left >= 32 ? 0xffff : left > 16 ? (__mmask16)((1u << (left - 16)) - 1) : 0;
            const __m512 lo = _mm512_maskz_loadu_ps(m0, x + r * ldx + c0 + i);
            const __m512 hi = _mm512_maskz_loadu_ps(m1, x + r * ldx + c0 + i + 16);
            const __m512i both = (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
            const int nw = left >= 32 ? 16 : (left + 1) / 2;
            _mm512_mask_storeu_epi32(words + r * ldw + i / 2, (__mmask16)((1u << nw) - 1), both);
        }
}

TARGET_VNNI static inline __attribute__((always_inline)) void int8_tile_rows(
    int R, const tile_source *t, const uint32_t *xw, int ldw, int ng, const float *scale,
    const float *sx, float *y, size_t ldy, int add)
{
    __m512i acc[ROWS][4];
    UNROLLED for (int r = 0; r < R; r++)
        UNROLLED for (int v = 0; v < 4; v++) acc[r][v] = _mm512_setzero_si512();
    for (int g = 0; g < ng; g++) {
        __m512i bv[4];
        UNROLLED for (int v = 0; v < 4; v++) bv[v] = WORDS_LOAD(t, v, g);
        UNROLLED for (int r = 0; r < R; r++) {
            const __m512i xv = _mm512_set1_epi32((int)xw[r * ldw + g]);
            UNROLLED for (int v = 0; v < 4; v++)
                acc[r][v] = _mm512_dpwssd_epi32(acc[r][v], xv, bv[v]);
        }
    }
    UNROLLED for (int v = 0; v < 4; v++) {
        const __m512 sc = _mm512_maskz_loadu_ps(t->mask[v], scale + 16 * v);
        UNROLLED for (int r = 0; r < R; r++) {
            float *yr = y + r * ldy + 16 * v;
            const __m512 step = _mm512_mul_ps(_mm512_set1_ps(sx[r]), sc);
            __m512 out = _mm512_mul_ps(_mm512_cvtepi32_ps(acc[r][v]), step);
            if (add) out = _mm512_add_ps(_mm512_maskz_loadu_ps(t->mask[v], yr), out);
            _mm512_mask_storeu_ps(yr, t->mask[v], out);
        }
    }
}

TARGET_VNNI static void int8_tile_native(const reduced_matrix *m, int R, int j, int w, int g0,
                                         const uint32_t *xw, int ldw, int ng, const float *scale,
                                         const float *sx, float *y, size_t ldy, int add)
{
    tile_source t;
    tile_source_of(m, j, w, g0, &t);
    switch (R) {  /* one copy per row count: the accumulators stay in registers */
    case 4: int8_tile_rows(4, &t, xw, ldw, ng, scale, sx, y, ldy, add); break;
    case 3: int8_tile_rows(3, &t, xw, ldw, ng, scale, sx, y, ldy, add); break;
    case 2: int8_tile_rows(2, &t, xw, ldw, ng, scale, sx, y, ldy, add); break;
    default: int8_tile_rows(1, &t, xw, ldw, ng, scale, sx, y, ldy, add);
    }
}
#endif

/* Rows [0, R) of a block: every chunk of k, every tile of columns [j0, j1). */
static void block_product(const reduced_matrix *m, int R, int j0, int j1, const float *x,
                          size_t ldx, float *y, size_t ldy)
{
    enum { WORDS = CHUNK / 2 };  /* a chunk's words per row */
    uint32_t words[ROWS * WORDS];
    float sx[ROWS];
    const int int16_x = m->kind == REDUCED_INT8 && !m->int8_as_bfloat16;
    const float *scale = m->kind == REDUCED_INT8 ? m->scale : NULL;
    if (int16_x) int16_row_steps(R, x, ldx, m->k, sx);
    for (int c0 = 0; c0 < m->k; c0 += CHUNK) {
        const int kc = m->k - c0 < CHUNK ? m->k - c0 : CHUNK;
        const int ng = (kc + 1) / 2, add = c0 > 0, g0 = c0 / 2;
        if (int16_x) int16_words(R, x, ldx, c0, kc, m->k, sx, words, WORDS);
#if REDUCED_X86
        else if (m->native) bfloat16_words_native(R, x, ldx, c0, kc, m->k, words, WORDS);
#endif
        else bfloat16_words(R, x, ldx, c0, kc, m->k, words, WORDS);
        for (int j = j0; j < j1; j += TILE) {
            const int w = j1 - j < TILE ? j1 - j : TILE;
            float *yt = y + (j - j0);
            if (int16_x) {
#if REDUCED_X86
                if (m->native) {
                    int8_tile_native(m, R, j, w, g0, words, WORDS, ng, scale + j, sx, yt, ldy,
                                     add);
                    continue;
                }
#endif
                int8_tile_portable(m, R, j, w, g0, words, WORDS, ng, scale + j, sx, yt, ldy,
                                   add);
                continue;
            }
#if REDUCED_X86
            if (m->native) {
                bfloat16_tile_native(m, R, j, w, g0, words, WORDS, ng, scale ? scale + j : NULL,
                                     yt, ldy, add);
                continue;
            }
#endif
            bfloat16_tile_portable(m, R, j, w, g0, words, WORDS, ng, yt, ldy, add);
        }
    }
}

void reduced_matmul(const reduced_matrix *m, size_t rows, int j0, int j1, const float *x,
                    size_t ldx, float *y, size_t ldy)
{
    for (size_t r = 0; r < rows; r += ROWS) {
        const int R = rows - r < ROWS ? (int)(rows - r) : ROWS;
        block_product(m, R, j0, j1, x + r * ldx, ldx, y + r * ldy, ldy);
    }
}
