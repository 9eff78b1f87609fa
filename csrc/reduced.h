/* Reduced-precision weight matrices for float32 inference: a (k, n) float32 matrix kept as
 * bfloat16 or as int8, and the product y = x a that reads it, with float32 inputs, outputs
 * and accumulation.
 *
 * bfloat16: every weight rounded to the nearest bfloat16 (ties to even); x rounded the same
 *   way; products summed in float32 (AVX512_BF16's vdpbf16ps where the CPU has it).
 * int8: symmetric per-column weights, q = round(a / scale), scale = max |a[:, j]| / 127, and
 *   the sums scaled by the column's scale. Where the CPU has AVX512_BF16, x is rounded to
 *   bfloat16 as above and the int8 values, exact in bfloat16, are summed by vdpbf16ps (as fast
 *   as bfloat16's own product, where vpdpwssd is slower). Elsewhere x is quantised per row to
 *   int16 when the product runs (dynamic, symmetric: max |x| over 32767); integer sums
 *   (AVX512_VNNI's vpdpwssd where the CPU has it; the int8 values kept as int16, so that the
 *   product widens nothing), scaled by the row's step too. Either way the error is the
 *   weights': x's rounding adds little to it (measured on trained models). Eight-bit x
 *   (vpdpbusd) was measured to double it.
 * Where the CPU lacks the instructions, a portable loop computes what a CPU without AVX512_BF16
 * does (int8: vpdpwssd's result bit for bit; bfloat16: to float32 rounding).
 *
 * A matrix keeps a copy of the float32 weights it was made from: reduced_sync compares and
 * packs again when they changed, so a plan holding it sees every weight update. */
#ifndef GRU_REDUCED_H
#define GRU_REDUCED_H

#include <stddef.h>

enum { REDUCED_BFLOAT16 = 1, REDUCED_INT8 = 2 };

typedef struct reduced_matrix reduced_matrix;

/* 1 when this CPU has an instruction for kind's products (bfloat16: vdpbf16ps; int8: vdpbf16ps
 * or vpdpwssd), else 0. The environment's GRU_NATIVE_REDUCED=portable says 0 for both (as on a
 * CPU without them: tools/test_clones.sh), =vnni ignores AVX512_BF16 (as on a CPU with only
 * AVX512_VNNI). */
int reduced_native(int kind);

/* A matrix of kind for (k, n) weights, not yet packed (reduced_sync packs it); portable=1
 * takes the portable loop even where the CPU has the fast path (for tests). NULL when an
 * allocation fails, kind is unknown or k, n < 1. */
reduced_matrix *reduced_new(int kind, int k, int n, int portable);
void reduced_free(reduced_matrix *m);

/* The instruction m's products run on: "vdpbf16ps", "vpdpwssd", or NULL (the portable loop). */
const char *reduced_instruction(const reduced_matrix *m);

/* Packs a ((k, n) float32, row-major, contiguous) when it differs from what m was last packed
 * from (always the first time). Returns 1 when it packed, 0 when a had not changed, -1 (m
 * unchanged) when a holds a NaN or an infinity, which neither format keeps as float32 would. */
int reduced_sync(reduced_matrix *m, const float *a);

/* int8 only: every later pack rounds with error feedback (GPTQ, Frantar et al., 2023) in
 * place of rounding each weight to its nearest: row i's rounding error is taken up by rows
 * i + 1 .. k - 1, weighted by how the inputs of the product vary together, so that x q stays
 * close to x a for inputs like the calibration data rather than each weight to its own. `u`
 * ((k, k) row-major, copied) is the upper Cholesky factor of the inverse of those inputs' second
 * moments, U^T U = (E[x^T x] + damping)^-1. The scales stay max |a[:, j]| / 127. u NULL: round
 * to nearest again. A packed m is packed again at once, from the weights it holds. Returns 0; -1 (m unchanged) when m is
 * not int8, u is not finite with a positive diagonal, or an allocation fails. */
int reduced_calibrate(reduced_matrix *m, const float *u);

/* y[r, j0:j1] = x[r, :] a[:, j0:j1] for `rows` rows (row strides ldx, ldy): x has k columns.
 * Single-threaded; allocates nothing. */
void reduced_matmul(const reduced_matrix *m, size_t rows, int j0, int j1, const float *x,
                    size_t ldx, float *y, size_t ldy);

#endif
