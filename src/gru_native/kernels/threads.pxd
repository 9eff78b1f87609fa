# Thread control of the kernels (csrc/threads.h).

cdef extern from "threads.h" nogil:
    int gru_get_num_threads()
    void gru_set_num_threads(int n)


cdef inline int resolve_threads(n_threads) except -1:
    """The threads a kernel call uses: the n_threads it was given, or the package's setting."""
    if n_threads is None:
        return gru_get_num_threads()
    if isinstance(n_threads, bool) or not hasattr(type(n_threads), "__index__") or n_threads < 1:
        raise ValueError(f"n_threads must be a positive integer or None, got {n_threads!r}")
    return n_threads
