# The reduced-precision weight matrices' interface (csrc/reduced.h), for the bindings in
# reduced.pyx and the inference plan.

cdef extern from "reduced.h" nogil:
    ctypedef struct reduced_matrix:
        pass
    enum:
        REDUCED_BFLOAT16
        REDUCED_INT8

    int reduced_native(int kind)
    reduced_matrix *reduced_new(int kind, int k, int n, int portable)
    void reduced_free(reduced_matrix *m)
    const char *reduced_instruction(const reduced_matrix *m)
    int reduced_sync(reduced_matrix *m, const float *a)
    int reduced_calibrate(reduced_matrix *m, const float *u)
    void reduced_matmul(const reduced_matrix *m, size_t rows, int j0, int j1, const float *x,
                        size_t ldx, float *y, size_t ldy)

