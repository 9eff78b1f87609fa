/* Float32 matrices packed for a recurrent step's product (packed.h): packing, and the product in
 * tiles of up to ROWS rows by TILE columns whose sums stay in registers while the tile's block
 * of b streams through. */
#include <stdlib.h>
#include <string.h>

#include "packed.h"

#define TILE 64  /* columns of a tile: four vectors of 16 */
#define ROWS 4   /* rows a tile computes together: each vector of b loaded serves them all */

#if defined(__x86_64__) && defined(__GNUC__) && !defined(_MSC_VER)
#define PACKED_X86 1
#include <immintrin.h>
#define TARGET_AVX512 __attribute__((target("avx512f")))
#else
#define PACKED_X86 0
#endif

int packed_native(void)
{
    const char *forced = getenv("GRU_NATIVE_PACKED");  /* "blas": the callers' BLAS path */
    if (forced && strcmp(forced, "blas") == 0) return 0;
#if PACKED_X86
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") != 0;
#else
    return 0;
#endif
}

size_t packed_size(int k, int n) { return (size_t)((n + TILE - 1) / TILE) * k * TILE; }

void packed_pack(int k, int n, const float *b, int ldb, int transposed, float *p)
{
    for (int j0 = 0; j0 < n; j0 += TILE) {
        const int w = n - j0 < TILE ? n - j0 : TILE;
        for (int i = 0; i < k; i++, p += TILE) {
            if (transposed)
                for (int c = 0; c < w; c++) p[c] = b[(size_t)(j0 + c) * ldb + i];
            else
                memcpy(p, b + (size_t)i * ldb + j0, (size_t)w * sizeof *p);
            memset(p + w, 0, (size_t)(TILE - w) * sizeof *p);
        }
    }
}

#if PACKED_X86
/* Rows [0, nr) of x (nr <= ROWS) times one tile, its (k, TILE) block pb, into columns [0, w) of
 * y. Rows from nr to ROWS repeat row 0: computed, not stored. */
TARGET_AVX512 static void tile(int nr, int k, const float *x, int ldx, const float *pb, float *y,
                               int ldy, int w, int accumulate)
{
    const float *xr[ROWS];
    __m512 sum[ROWS][4];
#pragma GCC unroll 4
    for (int r = 0; r < ROWS; r++) {
        xr[r] = x + (r < nr ? (size_t)r * ldx : 0);
#pragma GCC unroll 4
        for (int v = 0; v < 4; v++) sum[r][v] = _mm512_setzero_ps();
    }
    for (int i = 0; i < k; i++, pb += TILE) {
        __m512 b[4];
#pragma GCC unroll 4
        for (int v = 0; v < 4; v++) b[v] = _mm512_loadu_ps(pb + 16 * v);
#pragma GCC unroll 4
        for (int r = 0; r < ROWS; r++) {
            const __m512 a = _mm512_set1_ps(xr[r][i]);
#pragma GCC unroll 4
            for (int v = 0; v < 4; v++) sum[r][v] = _mm512_fmadd_ps(a, b[v], sum[r][v]);
        }
    }
    for (int v = 0; v < 4 && 16 * v < w; v++) {
        const int lanes = w - 16 * v < 16 ? w - 16 * v : 16;
        const __mmask16 mask = (__mmask16)((1u << lanes) - 1);
        for (int r = 0; r < nr; r++) {
            float *yr = y + (size_t)r * ldy + 16 * v;
            __m512 s = sum[r][v];
            if (accumulate) s = _mm512_add_ps(s, _mm512_maskz_loadu_ps(mask, yr));
            _mm512_mask_storeu_ps(yr, mask, s);
        }
    }
}

void packed_matmul(int rows, int k, int n, const float *x, int ldx, const float *p, float *y,
                   int ldy, int accumulate)
{
    for (int j0 = 0; j0 < n; j0 += TILE, p += (size_t)k * TILE) {
        const int w = n - j0 < TILE ? n - j0 : TILE;
        for (int r = 0; r < rows; r += ROWS)
            tile(rows - r < ROWS ? rows - r : ROWS, k, x + (size_t)r * ldx, ldx, p,
                 y + (size_t)r * ldy + j0, ldy, w, accumulate);
    }
}
#else
/* Not reached (packed_native() is 0 here); kept correct for the contract. */
void packed_matmul(int rows, int k, int n, const float *x, int ldx, const float *p, float *y,
                   int ldy, int accumulate)
{
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < n; j++) {
            float s = accumulate ? y[(size_t)r * ldy + j] : 0;
            for (int i = 0; i < k; i++)
                s += x[(size_t)r * ldx + i] * p[((size_t)(j / TILE) * k + i) * TILE + j % TILE];
            y[(size_t)r * ldy + j] = s;
        }
}
#endif
