# Checks shared by the bindings of every kernel: what an array must be to cross into C.
# Inline, so each extension module compiles its own copy and no module imports another.

import numpy as np
cimport numpy as cnp
from cython cimport floating


cdef inline object compute_dtype(weights, str what):
    """The kernels' precision: the weights' dtype, float32 or float64. Weights in the other
    byte order compute in their precision (as_array copies them to native order, as it does x)."""
    dtype = weights.dtype if isinstance(weights, np.ndarray) else np.asarray(weights).dtype
    dtype = dtype.newbyteorder("=")
    if dtype != np.float32 and dtype != np.float64:
        raise TypeError(f"{what} must be float32 or float64, got {dtype}")
    return dtype


cdef inline cnp.ndarray c_array(a, dtype):
    """np.ascontiguousarray(a, dtype), aligned: NumPy returns a C-contiguous array of the dtype
    itself even when misaligned (a view into bytes at an odd offset), and the kernels' typed
    loads from it would be undefined behaviour."""
    a = np.ascontiguousarray(a, dtype=dtype)
    return a if cnp.PyArray_ISALIGNED(<cnp.ndarray>a) else a.copy()


cdef inline cnp.ndarray as_array(a, dtype, str name, tuple shape):
    """`a` as an aligned C-contiguous array of `dtype` and exactly `shape`: itself when it
    already is one (the common case, checked first because it is cheap), else a converted copy."""
    if type(a) is np.ndarray and (<cnp.ndarray>a).dtype == dtype and a.shape == shape \
            and cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>a) \
            and cnp.PyArray_ISALIGNED(<cnp.ndarray>a):
        return <cnp.ndarray>a
    a = np.asarray(a)
    if not np.can_cast(a.dtype, dtype, "same_kind"):
        raise TypeError(f"{name} has dtype {a.dtype}, which cannot be used as {np.dtype(dtype)}")
    if a.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {a.shape}")
    return c_array(a, dtype)


cdef inline cnp.ndarray optional_array(a, dtype, str name, tuple shape):
    return None if a is None else as_array(a, dtype, name, shape)


cdef inline void *data_ptr(cnp.ndarray a):
    return NULL if a is None else cnp.PyArray_DATA(a)


cdef inline floating *typed(cnp.ndarray a, floating kind) noexcept:
    """The data of `a` (NULL for None) as the element type `kind` names: the one cast of a
    binding, in its fused body (`kind` is 0, of the type the call was specialized for)."""
    return NULL if a is None else <floating *>cnp.PyArray_DATA(a)
