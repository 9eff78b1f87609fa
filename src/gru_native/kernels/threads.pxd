# Thread control of the kernels (csrc/threads.h): every binding asks this module how many
# threads its kernel call may use.

cdef int resolve_threads(n_threads) except -1
