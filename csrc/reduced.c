/* Reduced-precision weight matrices (reduced.h): packing, and the product in tiles of up to
 * ROWS rows by 64 columns, x taken CHUNK values of k at a time.
 *
 * Layout: k is cut in groups of two (bfloat16) or four (int8) values, the group count rounded
 * up with zeros, and the columns in panels of 16 (the last one padded with zeros); one 32-bit
 * word holds a group's weights of one column, and a panel's words lie group after group
 * (word_index). One broadcast word of x then multiplies 16 columns' words per instruction
 * (vdpbf16ps: two products a lane, vpdpbusd: four), and a tile reads each of its panels from
 * start to end: one row's product streams through memory instead of taking 64 bytes of
 * every row of a row-major matrix (which one core reads more slowly). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fastmath.h"
#include "reduced.h"

#define ROWS 4       /* rows a tile computes together: each weight word loaded serves them all */
#define CHUNK 1024   /* values of k converted per pass: ROWS rows of them fit on the stack */
#define TILE 64      /* columns of a tile: four vectors of 16 */
#define PANEL 16     /* columns of a panel: one vector */

struct reduced_matrix {
    int kind, k, n;
    int group;        /* values of k per word: 2 (bfloat16) or 4 (int8) */
    int native;       /* 1: this CPU's instruction, 0: the portable loop */
    int packed;       /* 0 until the first reduced_sync */
    uint32_t *data;   /* (panels, groups, PANEL) words */
    float *scale;     /* int8: per column */
    int32_t *offset;  /* int8: the sum of q over each chunk of k, (chunks, n) */
    float *source;    /* the float32 weights last packed, (k, n) */
};

static int groups_of(const reduced_matrix *m) { return (m->k + m->group - 1) / m->group; }
static int chunks_of(const reduced_matrix *m) { return (m->k + CHUNK - 1) / CHUNK; }
static int panels_of(const reduced_matrix *m) { return (m->n + PANEL - 1) / PANEL; }

/* Where the word of group g and column j lies in data. */
static size_t word_index(const reduced_matrix *m, int g, int j)
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
    const char *forced = getenv("GRU_NATIVE_REDUCED");  /* "portable": the loops (for tests) */
    if (forced && strcmp(forced, "portable") == 0) return 0;
#if REDUCED_X86
    __builtin_cpu_init();
    if (kind == REDUCED_BFLOAT16) return __builtin_cpu_supports("avx512bf16") != 0;
    if (kind == REDUCED_INT8) return __builtin_cpu_supports("avx512vnni") != 0;
#endif
    (void)kind;
    return 0;
}

reduced_matrix *reduced_new(int kind, int k, int n, int portable)
{
    if ((kind != REDUCED_BFLOAT16 && kind != REDUCED_INT8) || k < 1 || n < 1) return NULL;
    reduced_matrix *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->kind = kind, m->k = k, m->n = n;
    m->group = kind == REDUCED_BFLOAT16 ? 2 : 4;
    m->native = !portable && reduced_native(kind);
    m->data = calloc((size_t)panels_of(m) * groups_of(m) * PANEL, sizeof *m->data);
    m->source = malloc((size_t)k * n * sizeof *m->source);
    int ok = m->data && m->source;
    if (kind == REDUCED_INT8) {
        m->scale = malloc((size_t)n * sizeof *m->scale);
        m->offset = malloc((size_t)chunks_of(m) * n * sizeof *m->offset);
        ok = ok && m->scale && m->offset;
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
    free(m->data);
    free(m->scale);
    free(m->offset);
    free(m->source);
    free(m);
}

static void pack_bfloat16(reduced_matrix *m, const float *a)
{
    const int k = m->k, n = m->n;
    for (int g = 0; g < groups_of(m); g++)
        for (int j = 0; j < n; j++) {
            const uint32_t lo = to_bfloat16(a[(size_t)2 * g * n + j]);
            const uint32_t hi = 2 * g + 1 < k ? to_bfloat16(a[(size_t)(2 * g + 1) * n + j]) : 0;
            m->data[word_index(m, g, j)] = lo | hi << 16;
        }
}

static void pack_int8(reduced_matrix *m, const float *a)
{
    const int k = m->k, n = m->n;
    for (int j = 0; j < n; j++) {
        float top = 0;
        for (int i = 0; i < k; i++) top = fmaxf(top, fabsf(a[(size_t)i * n + j]));
        m->scale[j] = top / 127;
    }
    memset(m->offset, 0, (size_t)chunks_of(m) * n * sizeof *m->offset);
    for (int g = 0; g < groups_of(m); g++)
        for (int j = 0; j < n; j++) {
            const float inv = m->scale[j] > 0 ? 1 / m->scale[j] : 0;
            uint32_t word = 0;
            for (int e = 0; e < 4; e++) {
                const int i = 4 * g + e;
                const int q = i < k ? (int)lrintf(a[(size_t)i * n + j] * inv) : 0;
                word |= (uint32_t)(uint8_t)(int8_t)q << (8 * e);
                m->offset[(size_t)(i / CHUNK) * n + j] += q;
            }
            m->data[word_index(m, g, j)] = word;
        }
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

/* x's rows as the tiles read them, one chunk of k (columns c0 .. c0 + kc of x, kc a multiple
 * of the group except at the end of k) into words[r * ldw + ...], zeros past k. */
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

/* Each row's step sx and zero point zp: its range [lo, hi] widened to hold 0 (so that 0 is
 * exact) spread over the 256 values of a u8, sx = (hi - lo) / 255, zp = round(-lo / sx). */
GRU_SIMD_CLONES static void int8_row_ranges(int rows, const float *x, size_t ldx, int k,
                                            float *sx, int *zp)
{
    for (int r = 0; r < rows; r++) {
        float lo = 0, hi = 0;
#pragma omp simd reduction(min : lo) reduction(max : hi)
        for (int i = 0; i < k; i++) {  /* comparisons, not fminf: libm calls do not vectorise */
            const float v = x[r * ldx + i];
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
        sx[r] = (hi - lo) / 255;
        zp[r] = sx[r] > 0 ? (int)lrintf(-lo * (1 / sx[r])) : 0;
    }
}

/* A chunk of each row as two u8 parts (16 bits of x, where one u8 would add as much error as
 * the int8 weights): t = x / sx + zp, hi = round(t) (half away from zero, within [0, 255]),
 * lo = round((t - hi) * 254) + 128, so that x = sx (hi - zp + (lo - 128) / 254) to within
 * sx / 508. Words of hi at words[r * ldw + g], of lo LOW words after; zp and 128 past k
 * (their weights are zero). */
#define LOW (CHUNK / 4)
GRU_SIMD_CLONES static void int8_words(int rows, const float *x, size_t ldx, int c0, int kc,
                                       int k, const float *sx, const int *zp, uint32_t *words,
                                       int ldw)
{
    for (int r = 0; r < rows; r++) {
        const float inv = sx[r] > 0 ? 1 / sx[r] : 0, z = (float)zp[r];
        uint8_t *hi = (uint8_t *)(words + r * ldw), *lo = (uint8_t *)(words + r * ldw + LOW);
        const int real = k - c0 < kc ? k - c0 : kc;
#pragma omp simd
        for (int i = 0; i < real; i++) {
            const float t = x[r * ldx + c0 + i] * inv + z;
            int q = (int)(t + (t >= 0 ? 0.5f : -0.5f));
            q = q < 0 ? 0 : q > 255 ? 255 : q;
            float rest = (t - (float)q) * 254;
            rest = rest > 127 ? 127 : rest < -127 ? -127 : rest;
            hi[i] = (uint8_t)q;
            lo[i] = (uint8_t)((int)(rest + (rest >= 0 ? 0.5f : -0.5f)) + 128);
        }
        for (int i = real; i < (kc + 3) / 4 * 4; i++) {
            hi[i] = (uint8_t)zp[r];
            lo[i] = 128;
        }
    }
}

/* The product of a row and a column from the integer sums of its two parts, the column's sum
 * of q and the row's zero point (int8_words). */
static inline float int8_dequantized(int32_t hi, int32_t lo, int32_t sum_q, int zp, float scale)
{
    return ((float)(hi - zp * sum_q) + (float)(lo - 128 * sum_q) * (1.0f / 254)) * scale;
}

/* The portable tiles: rows r < R, columns [j, j + w), groups [g0, g0 + ng) (one chunk), a
 * whole panel at a time (16 contiguous words: the loop over them vectorises with its sums in
 * registers), keeping the panel's columns within the tile. add: y holds the earlier chunks'
 * sums. */
GRU_SIMD_CLONES static void bfloat16_tile_portable(const reduced_matrix *m, int R, int j, int w,
                                                   int g0, const uint32_t *xw, int ldw, int ng,
                                                   float *y, size_t ldy, int add)
{
    for (int r = 0; r < R; r++)
        for (int p = j / PANEL; p * PANEL < j + w; p++) {
            const uint32_t *base = m->data + word_index(m, g0, p * PANEL);
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
                                               const int32_t *offset, const float *scale,
                                               const float *sx, const int *zp, float *y,
                                               size_t ldy, int add)
{
    for (int r = 0; r < R; r++)
        for (int p = j / PANEL; p * PANEL < j + w; p++) {
            const uint32_t *base = m->data + word_index(m, g0, p * PANEL);
            int32_t acc_hi[PANEL] = {0}, acc_lo[PANEL] = {0};
            for (int g = 0; g < ng; g++) {
                const uint8_t *hi = (const uint8_t *)(xw + r * ldw + g);
                const uint8_t *lo = (const uint8_t *)(xw + r * ldw + LOW + g);
                const uint32_t *bg = base + (size_t)g * PANEL;
#pragma omp simd
                for (int i = 0; i < PANEL; i++) {
                    const uint32_t b = bg[i];
                    const int32_t q0 = (int8_t)(b & 0xff), q1 = (int8_t)((b >> 8) & 0xff);
                    const int32_t q2 = (int8_t)((b >> 16) & 0xff), q3 = (int8_t)(b >> 24);
                    acc_hi[i] += hi[0] * q0 + hi[1] * q1 + hi[2] * q2 + hi[3] * q3;
                    acc_lo[i] += lo[0] * q0 + lo[1] * q1 + lo[2] * q2 + lo[3] * q3;
                }
            }
            const int c0 = p * PANEL > j ? p * PANEL : j;
            const int c1 = p * PANEL + PANEL < j + w ? p * PANEL + PANEL : j + w;
            for (int c = c0; c < c1; c++) {
                float *yc = y + r * ldy + (c - j);
                *yc = (add ? *yc : 0)
                      + int8_dequantized(acc_hi[c - p * PANEL], acc_lo[c - p * PANEL],
                                         offset[c - j], zp[r], sx[r] * scale[c - j]);
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
    const size_t panel_words = (size_t)groups_of(m) * PANEL;
    const int o = j % PANEL;
    t->split = o != 0;
    for (int v = 0; v < 4; v++) {
        const int left = w - 16 * v, p = (j + 16 * v) / PANEL;
        const __mmask16 mask = left >= 16 ? 0xffff : left > 0 ? (__mmask16)((1u << left) - 1) : 0;
        const __mmask16 first = (__mmask16)((1u << (PANEL - o)) - 1);  /* o = 0: all 16 */
        t->mask[v] = mask;
        t->lo_mask[v] = mask & first;
        t->hi_mask[v] = mask & (__mmask16)~first;
        t->lo[v] = m->data + (size_t)p * panel_words + (size_t)g0 * PANEL + o;
        /* the next panel's words, lane l at word l - (16 - o): only the lanes of hi_mask read */
        t->hi[v] = t->hi_mask[v] ? m->data + (size_t)(p + 1) * panel_words + (size_t)g0 * PANEL
                                       - (PANEL - o)
                                 : t->lo[v];
    }
}

/* Vector v's words of group g. */
#define TILE_LOAD(t, v, g)                                                                   \
    ((t)->split ? _mm512_mask_loadu_epi32(                                                   \
                      _mm512_maskz_loadu_epi32((t)->lo_mask[v], (t)->lo[v] + 16 * (size_t)(g)), \
                      (t)->hi_mask[v], (t)->hi[v] + 16 * (size_t)(g))                        \
                : _mm512_maskz_loadu_epi32((t)->lo_mask[v], (t)->lo[v] + 16 * (size_t)(g)))

TARGET_BF16 static inline __attribute__((always_inline)) void bfloat16_tile_rows(
    int R, const tile_source *t, const uint32_t *xw, int ldw, int ng, float *y, size_t ldy,
    int add)
{
    __m512 acc[ROWS][4];
    UNROLLED for (int r = 0; r < R; r++)
        UNROLLED for (int v = 0; v < 4; v++)
            acc[r][v] = add ? _mm512_maskz_loadu_ps(t->mask[v], y + r * ldy + 16 * v)
                            : _mm512_setzero_ps();
    for (int g = 0; g < ng; g++) {
        __m512i bv[4];
        UNROLLED for (int v = 0; v < 4; v++) bv[v] = TILE_LOAD(t, v, g);
        UNROLLED for (int r = 0; r < R; r++) {
            const __m512bh xv = (__m512bh)_mm512_set1_epi32((int)xw[r * ldw + g]);
            UNROLLED for (int v = 0; v < 4; v++)
                acc[r][v] = _mm512_dpbf16_ps(acc[r][v], xv, (__m512bh)bv[v]);
        }
    }
    UNROLLED for (int r = 0; r < R; r++)
        UNROLLED for (int v = 0; v < 4; v++)
            _mm512_mask_storeu_ps(y + r * ldy + 16 * v, t->mask[v], acc[r][v]);
}

TARGET_BF16 static void bfloat16_tile_native(const reduced_matrix *m, int R, int j, int w,
                                             int g0, const uint32_t *xw, int ldw, int ng,
                                             float *y, size_t ldy, int add)
{
    tile_source t;
    tile_source_of(m, j, w, g0, &t);
    switch (R) {  /* one copy per row count: the accumulators stay in registers */
    case 4: bfloat16_tile_rows(4, &t, xw, ldw, ng, y, ldy, add); break;
    case 3: bfloat16_tile_rows(3, &t, xw, ldw, ng, y, ldy, add); break;
    case 2: bfloat16_tile_rows(2, &t, xw, ldw, ng, y, ldy, add); break;
    default: bfloat16_tile_rows(1, &t, xw, ldw, ng, y, ldy, add);
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

/* Two rows at most: the two parts' sums of four rows would not fit in the registers. */
TARGET_VNNI static inline __attribute__((always_inline)) void int8_tile_rows(
    int R, const tile_source *t, const uint32_t *xw, int ldw, int ng, const int32_t *offset,
    const float *scale, const float *sx, const int *zp, float *y, size_t ldy, int add)
{
    __m512i hi[2][4], lo[2][4];
    UNROLLED for (int r = 0; r < R; r++)
        UNROLLED for (int v = 0; v < 4; v++) hi[r][v] = lo[r][v] = _mm512_setzero_si512();
    for (int g = 0; g < ng; g++) {
        __m512i bv[4];
        UNROLLED for (int v = 0; v < 4; v++) bv[v] = TILE_LOAD(t, v, g);
        UNROLLED for (int r = 0; r < R; r++) {
            const __m512i xh = _mm512_set1_epi32((int)xw[r * ldw + g]);
            const __m512i xl = _mm512_set1_epi32((int)xw[r * ldw + LOW + g]);
            UNROLLED for (int v = 0; v < 4; v++) {
                hi[r][v] = _mm512_dpbusd_epi32(hi[r][v], xh, bv[v]);
                lo[r][v] = _mm512_dpbusd_epi32(lo[r][v], xl, bv[v]);
            }
        }
    }
    UNROLLED for (int v = 0; v < 4; v++) {
        const __m512i sum_q = _mm512_maskz_loadu_epi32(t->mask[v], offset + 16 * v);
        const __m512 sc = _mm512_maskz_loadu_ps(t->mask[v], scale + 16 * v);
        const __m512i lo_shift = _mm512_slli_epi32(sum_q, 7);  /* 128 sum_q */
        UNROLLED for (int r = 0; r < R; r++) {
            float *yr = y + r * ldy + 16 * v;
            const __m512i hi_shift = _mm512_mullo_epi32(sum_q, _mm512_set1_epi32(zp[r]));
            const __m512 h = _mm512_cvtepi32_ps(_mm512_sub_epi32(hi[r][v], hi_shift));
            const __m512 l = _mm512_cvtepi32_ps(_mm512_sub_epi32(lo[r][v], lo_shift));
            const __m512 sum = _mm512_add_ps(h, _mm512_mul_ps(l, _mm512_set1_ps(1.0f / 254)));
            __m512 out = _mm512_mul_ps(sum, _mm512_mul_ps(_mm512_set1_ps(sx[r]), sc));
            if (add) out = _mm512_add_ps(_mm512_maskz_loadu_ps(t->mask[v], yr), out);
            _mm512_mask_storeu_ps(yr, t->mask[v], out);
        }
    }
}

TARGET_VNNI static void int8_tile_native(const reduced_matrix *m, int R, int j, int w, int g0,
                                         const uint32_t *xw, int ldw, int ng,
                                         const int32_t *offset, const float *scale,
                                         const float *sx, const int *zp, float *y, size_t ldy,
                                         int add)
{
    tile_source t;
    tile_source_of(m, j, w, g0, &t);
    for (int r = 0; r < R; r += 2) {
        if (R - r >= 2)
            int8_tile_rows(2, &t, xw + r * ldw, ldw, ng, offset, scale, sx + r, zp + r,
                           y + r * ldy, ldy, add);
        else
            int8_tile_rows(1, &t, xw + r * ldw, ldw, ng, offset, scale, sx + r, zp + r,
                           y + r * ldy, ldy, add);
    }
}
#endif

/* Rows [0, R) of a block: every chunk of k, every tile of columns [j0, j1). */
static void block_product(const reduced_matrix *m, int R, int j0, int j1, const float *x,
                          size_t ldx, float *y, size_t ldy)
{
    enum { WORDS = CHUNK / 2 };  /* a chunk's words per row, at most (bfloat16) */
    uint32_t words[ROWS * WORDS];
    float sx[ROWS];
    int zp[ROWS];
    const int n = m->n, int8 = m->kind == REDUCED_INT8;
    if (int8) int8_row_ranges(R, x, ldx, m->k, sx, zp);
    for (int c0 = 0; c0 < m->k; c0 += CHUNK) {
        const int kc = m->k - c0 < CHUNK ? m->k - c0 : CHUNK;
        const int ng = (kc + m->group - 1) / m->group, add = c0 > 0, g0 = c0 / m->group;
        if (int8) int8_words(R, x, ldx, c0, kc, m->k, sx, zp, words, WORDS);
#if REDUCED_X86
        else if (m->native) bfloat16_words_native(R, x, ldx, c0, kc, m->k, words, WORDS);
#endif
        else bfloat16_words(R, x, ldx, c0, kc, m->k, words, WORDS);
        for (int j = j0; j < j1; j += TILE) {
            const int w = j1 - j < TILE ? j1 - j : TILE;
            float *yt = y + (j - j0);
            if (int8) {
                const int32_t *off = m->offset + (size_t)(c0 / CHUNK) * n + j;
#if REDUCED_X86
                if (m->native) {
                    int8_tile_native(m, R, j, w, g0, words, WORDS, ng, off, m->scale + j, sx, zp,
                                     yt, ldy, add);
                    continue;
                }
#endif
                int8_tile_portable(m, R, j, w, g0, words, WORDS, ng, off, m->scale + j, sx, zp,
                                   yt, ldy, add);
                continue;
            }
#if REDUCED_X86
            if (m->native) {
                bfloat16_tile_native(m, R, j, w, g0, words, WORDS, ng, yt, ldy, add);
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
