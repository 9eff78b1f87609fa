"""The BLAS our kernels call: the scipy-openblas32 package's library, loaded by path and
privately (RTLD_LOCAL), its functions handed to each extension module as addresses (csrc/blas.h).
Importing scipy_openblas32 instead would load it RTLD_GLOBAL and hijack SciPy's own BLAS."""

import ctypes
import importlib.util
import os
import sys

# In the order of gru_blas_table in csrc/blas.h.
FUNCTIONS = ("scipy_cblas_sgemm", "scipy_cblas_dgemm", "scipy_cblas_sgemv", "scipy_cblas_dgemv",
             "scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads")


def _library_path():
    spec = importlib.util.find_spec("scipy_openblas32")
    if not (spec and spec.submodule_search_locations):
        raise ImportError("gru_native needs the scipy-openblas32 package: pip install scipy-openblas32")
    name = {"win32": "libscipy_openblas.dll", "darwin": "libscipy_openblas.dylib"}.get(
        sys.platform, "libscipy_openblas.so")
    path = os.path.join(spec.submodule_search_locations[0], "lib", name)
    if not os.path.exists(path):
        raise ImportError(f"scipy-openblas32 is installed, but its library {path} is missing")
    return path


_library = ctypes.CDLL(_library_path())
ADDRESSES = tuple(ctypes.cast(getattr(_library, f), ctypes.c_void_p).value for f in FUNCTIONS)
