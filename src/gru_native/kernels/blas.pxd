# Each extension module calls its BLAS through addresses it takes at import (csrc/blas.h).

cdef extern from "blas.h":
    int gru_blas_bind(const size_t *addresses, int count)


cdef inline int bind_blas() except -1:
    """Give this module's C code the BLAS functions that blas_library.py loaded."""
    from .blas_library import ADDRESSES
    cdef size_t a[6]
    for i in range(6):
        a[i] = ADDRESSES[i] or 0
    if gru_blas_bind(a, 6) != 0:
        raise ImportError("the BLAS library lacks a function gru_native needs")
    return 0
