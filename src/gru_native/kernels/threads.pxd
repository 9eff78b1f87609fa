# Thread control of the kernels (csrc/threads.h).

cdef extern from "threads.h" nogil:
    int gru_get_num_threads()
    void gru_set_num_threads(int n)
