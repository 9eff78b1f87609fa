/* Float32 matrices packed for a recurrent step's product: y = x b for a few rows x (a block of
 * sequences' states) and a weight matrix b read at every step. The BLAS packs b again at every
 * call, which for a step of a few dozen rows costs a third of the product; a forward or
 * backward call packs b once here instead (into memory its caller gives), and every step's
 * product reads it with an AVX-512 kernel.
 *
 * Layout: the columns in tiles of 64 (the last one padded with zeros), a tile's (k, 64) block
 * row after row, so that a tile of rows by 64 columns reads its block from start to end.
 * Where the CPU lacks AVX-512F, packed_native() is 0 and callers take the BLAS. */
#ifndef GRU_PACKED_H
#define GRU_PACKED_H

#include <stddef.h>

/* 1 when this CPU runs the packed product (AVX-512F), else 0 (and 0 when the environment sets
 * GRU_NATIVE_PACKED=blas: tools/test_clones.sh, which tests the callers' BLAS path). */
int packed_native(void);

/* Floats that a packed (k, n) matrix takes. */
size_t packed_size(int k, int n);

/* Packs the (k, n) matrix b into p (packed_size(k, n) floats): b[i][j] at b[i * ldb + j], or
 * with transposed at b[j * ldb + i] (b given as its (n, k) transpose). */
void packed_pack(int k, int n, const float *b, int ldb, int transposed, float *p);

/* y[r, 0:n] = x[r, 0:k] b (or y += x b with accumulate) for `rows` rows, row strides ldx and
 * ldy, b packed by packed_pack. Single-threaded; allocates nothing. Only where
 * packed_native(). */
void packed_matmul(int rows, int k, int n, const float *x, int ldx, const float *p, float *y,
                   int ldy, int accumulate);

#endif
