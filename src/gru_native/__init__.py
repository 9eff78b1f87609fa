"""gru_native: fast GRU networks on the CPU, C kernels (OpenMP + BLAS) behind a small Python API."""

import os as _os


def _preload_openblas():
    """Load the scipy-openblas32 library by path, privately (RTLD_LOCAL), so that our extension's
    dependency on it resolves in every install mode. Importing scipy_openblas32 instead would
    load it RTLD_GLOBAL and hijack SciPy's own BLAS symbols."""
    import ctypes
    import importlib.util

    spec = importlib.util.find_spec("scipy_openblas32")
    if spec and spec.submodule_search_locations:
        lib = _os.path.join(spec.submodule_search_locations[0], "lib", "libscipy_openblas.so")
        if _os.path.exists(lib):
            ctypes.CDLL(lib)


_preload_openblas()

from ._kernels import (  # noqa: E402
    BLAS_BACKEND,
    GRUCache,
    get_num_threads,
    gru_backward,
    gru_forward,
    set_num_threads,
)

__version__ = "0.1.0"

__all__ = [
    "BLAS_BACKEND",
    "GRUCache",
    "get_num_threads",
    "gru_backward",
    "gru_forward",
    "set_num_threads",
]
