"""Reduced-precision weight matrices (csrc/reduced.h): a float32 (k, n) matrix kept as
bfloat16 or int8 for inference, and the product x @ a that reads it. The inference plan holds
them for its recurrent and dense ops (`InferencePlan(..., precision=)`); this module gives
them to Python for tests and for measuring their error."""

import numpy as np
cimport numpy as cnp

from .arrays cimport as_array

cnp.import_array()

PRECISIONS = ("float32", "bfloat16", "int8")
_KINDS = {"bfloat16": REDUCED_BFLOAT16, "int8": REDUCED_INT8}
_INT_MAX = 2**31 - 1


cdef int reduced_kind(str precision) except -1:
    """reduced.h's kind for a reduced precision's name, or ValueError naming the choices."""
    if precision not in _KINDS:
        raise ValueError(f"precision must be one of {PRECISIONS[1:]} for a reduced-precision "
                         f"matrix, got {precision!r}")
    return _KINDS[precision]


def native(str precision):
    """Whether this CPU runs `precision`'s products with an instruction of its own (bfloat16:
    AVX512_BF16's vdpbf16ps; int8: vdpbf16ps, or AVX512_VNNI's vpdpwssd on a CPU without
    AVX512_BF16) rather than the portable loop."""
    return bool(reduced_native(reduced_kind(precision)))


cdef class ReducedMatrix:
    """`ReducedMatrix(a, precision, portable=False)`: the float32 (k, n) matrix `a` kept in
    `precision` ('bfloat16' or 'int8'); portable=True takes the portable loop even where the
    CPU has the instruction. `sync(a)` packs a again when it changed; `matmul(x)` is x @ a for
    float32 x (rows, k), or columns [j0, j1) of it. `instruction`: what the products run on,
    'vdpbf16ps' or 'vpdpwssd' (x rounded to bfloat16, or quantised to int16), None for the
    portable loop (as vpdpwssd)."""
    cdef reduced_matrix *ptr
    cdef readonly int k, n
    cdef readonly str precision

    def __cinit__(self, a, str precision, *, bint portable=False):
        cdef int kind = reduced_kind(precision)
        a = np.asarray(a)
        if a.ndim != 2 or a.shape[0] < 1 or a.shape[1] < 1 or max(a.shape) > _INT_MAX:
            raise ValueError(f"a must be a 2-D matrix (k, n) with k, n >= 1, got shape {a.shape}")
        self.k, self.n, self.precision = a.shape[0], a.shape[1], precision
        self.ptr = reduced_new(kind, self.k, self.n, portable)
        if self.ptr == NULL:
            raise MemoryError(f"could not allocate a {precision} matrix of shape {a.shape}")
        self.sync(a)

    @property
    def instruction(self):
        cdef const char *name = reduced_instruction(self.ptr)
        return None if name == NULL else name.decode()

    def __dealloc__(self):
        reduced_free(self.ptr)

    def sync(self, a):
        """Pack `a` (float32 (k, n)) again if it differs from what was packed last: True when
        it packed. ValueError for NaN or infinite weights."""
        cdef cnp.ndarray aa = as_array(a, np.float32, "a", (self.k, self.n))
        cdef int packed = reduced_sync(self.ptr, <const float *>cnp.PyArray_DATA(aa))
        if packed < 0:
            raise ValueError(f"the weights hold NaN or infinite values: {self.precision} "
                             "cannot keep them")
        return bool(packed)

    def calibrate(self, u):
        """int8: pack with error feedback (GPTQ) from now on, `u` the (k, k) upper Cholesky
        factor of the inverse second moments of the product's inputs (csrc/reduced.h); None
        rounds to nearest again. Packs again at once, from the weights last packed."""
        cdef cnp.ndarray uu
        cdef int failed
        if u is None:
            failed = reduced_calibrate(self.ptr, NULL)
        else:
            uu = as_array(u, np.float32, "u", (self.k, self.k))
            failed = reduced_calibrate(self.ptr, <const float *>cnp.PyArray_DATA(uu))
        if failed:
            raise ValueError(f"could not calibrate a {self.precision} matrix: only int8 ones "
                             "take a factor, finite with a positive diagonal")

    def matmul(self, x, columns=None):
        """x @ a for float32 x (rows, k): (rows, n), or (rows, j1 - j0) for columns=(j0, j1)."""
        j0, j1 = (0, self.n) if columns is None else columns
        if not 0 <= j0 < j1 <= self.n:
            raise ValueError(f"columns must be (j0, j1) with 0 <= j0 < j1 <= {self.n}, got "
                             f"{columns!r}")
        xa = np.asarray(x)
        if xa.ndim != 2:
            raise ValueError(f"x must be 2-D (rows, {self.k}), got shape {xa.shape}")
        cdef cnp.ndarray xc = as_array(xa, np.float32, "x", (xa.shape[0], self.k))
        if not np.isfinite(xc).all():
            raise ValueError("x contains NaN or infinite values")
        cdef cnp.ndarray y = np.empty((xc.shape[0], j1 - j0), np.float32)
        cdef size_t rows = xc.shape[0]
        cdef int c0 = j0, c1 = j1
        with nogil:
            reduced_matmul(self.ptr, rows, c0, c1, <const float *>cnp.PyArray_DATA(xc),
                           self.k, <float *>cnp.PyArray_DATA(y), c1 - c0)
        return y
