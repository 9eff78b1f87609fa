/* Reduced-precision weight matrices for float32 inference: a (k, n) float32 matrix kept as
 * bfloat16 or as int8, and the product y = x a that reads it, with float32 inputs, outputs
 * and accumulation.
 *
 * bfloat16: every weight rounded to the nearest bfloat16 (ties to even); x rounded the same
 *   way; products summed in float32 (AVX512_BF16's vdpbf16ps where the CPU has it).
 * int8: symmetric per-column weights, q = round(a / scale), scale = max |a[:, j]| / 127; x
 *   quantised per row to int16 when the product runs (dynamic, symmetric: max |x| over
 *   32767, so that the error is the weights'); integer sums (AVX512_VNNI's vpdpwssd where the
 *   CPU has it; the int8 values are kept as int16, so that the product widens nothing), scaled
 *   by the row's step and the column's scale.
 * Where the CPU lacks the instruction, a portable loop computes the same thing (the int8
 * result bit for bit, the bfloat16 result to float32 rounding).
 *
 * A matrix keeps a copy of the float32 weights it was made from: reduced_sync compares and
 * packs again when they changed, so a plan holding it sees every weight update. */
#ifndef GRU_REDUCED_H
#define GRU_REDUCED_H

#include <stddef.h>

enum { REDUCED_BFLOAT16 = 1, REDUCED_INT8 = 2 };

typedef struct reduced_matrix reduced_matrix;

/* 1 when this CPU has the instruction of kind's fast path (vdpbf16ps, vpdpwssd), else 0 (and
 * 0 when the environment sets GRU_NATIVE_REDUCED=portable: tools/test_clones.sh). */
int reduced_native(int kind);

/* A matrix of kind for (k, n) weights, not yet packed (reduced_sync packs it); portable=1
 * takes the portable loop even where the CPU has the fast path (for tests). NULL when an
 * allocation fails, kind is unknown or k, n < 1. */
reduced_matrix *reduced_new(int kind, int k, int n, int portable);
void reduced_free(reduced_matrix *m);

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
