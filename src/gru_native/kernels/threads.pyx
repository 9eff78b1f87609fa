"""How many threads the kernels use, and which BLAS they call."""

cdef extern from *:
    const char *GRU_BLAS_NAME

BLAS_BACKEND = GRU_BLAS_NAME.decode()


def get_num_threads():
    """Threads the kernels use at most (OpenMP; the BLAS runs inside them single-threaded)."""
    return gru_get_num_threads()


def set_num_threads(int n):
    """Set the threads the kernels use at most (n >= 1)."""
    if n < 1:
        raise ValueError(f"the number of threads must be at least 1, got {n}")
    gru_set_num_threads(n)
