"""How many threads the kernels use, and which BLAS they call.

The setting holds for the whole process: a call made from any thread uses it (OpenMP's own
setting, omp_set_num_threads, holds only for the thread that sets it). Two exceptions, both for
the calling thread only: a block under `limited_threads(n)` (the scikit-learn estimators' n_jobs),
and, in a child made by fork, the thread that forked, which runs the kernels on one thread.
GNU OpenMP keeps a thread team per thread that has started one, and fork copies that thread but
not its team's threads: a team started there again would wait for ever on threads that do not
exist. Other threads of the child start teams of their own and use the setting."""

import contextlib
import os
import threading
import warnings

from cpython.pythread cimport PyThread_get_thread_ident

cdef extern from *:
    const char *GRU_BLAS_NAME

cdef extern from "omp.h":
    int omp_get_max_threads()

cdef extern from "threads.h":
    int gru_native_get_num_threads()
    void gru_native_set_num_threads(int n)

BLAS_BACKEND = GRU_BLAS_NAME.decode()

cdef bint in_forked_child = False
cdef unsigned long forking_thread = 0
_limit = threading.local()


cdef bint is_forking_thread():
    return in_forked_child and PyThread_get_thread_ident() == forking_thread


def _after_fork_in_child():
    global in_forked_child, forking_thread
    in_forked_child, forking_thread = True, PyThread_get_thread_ident()


cdef int resolve_threads(n_threads) except -1:
    """The threads a kernel call uses: the n_threads it was given, else this thread's limit,
    else the package's setting; one in the thread that forked this process."""
    cdef int n
    if n_threads is None:
        n = getattr(_limit, "n", 0) or gru_native_get_num_threads()
    elif isinstance(n_threads, bool) or not hasattr(type(n_threads), "__index__") or n_threads < 1:
        raise ValueError(f"n_threads must be a positive integer or None, got {n_threads!r}")
    else:
        n = n_threads
    return 1 if is_forking_thread() else n


def get_num_threads():
    """Return the threads a kernel call made from this thread uses at most.

    That is the package's setting, or what :func:`limited_threads` or a fork limits it to here
    (OpenMP threads; the BLAS runs inside them single-threaded).

    Returns
    -------
    int
        The number of threads.
    """
    return resolve_threads(None)


def get_setting():
    """The package's setting, as set_num_threads left it, whatever `limited_threads` holds in
    this thread: what threadpoolctl reads and restores (reading the limit instead, a
    threadpool_limits block inside limited_threads would restore the limit as the setting)."""
    return gru_native_get_num_threads()


def set_num_threads(int n):
    """Set the threads the kernels use at most, for calls from every thread.

    Parameters
    ----------
    n : int
        The number of threads, at least 1.

    Raises
    ------
    ValueError
        n is below 1.
    """
    if n < 1:
        raise ValueError(f"the number of threads must be at least 1, got {n}")
    if n > 1 and is_forking_thread():
        warnings.warn("this process was made by fork, and the thread that forked runs the "
                      "kernels on one thread (its OpenMP thread team did not survive the fork); "
                      f"the setting of {n} holds for the process's other threads",
                      RuntimeWarning, stacklevel=1)
    gru_native_set_num_threads(n)


@contextlib.contextmanager
def limited_threads(n):
    """Limit the kernel calls from this thread to n threads inside a ``with`` block.

    Other threads keep the package's setting.

    Parameters
    ----------
    n : int
        The number of threads, a positive integer.

    Yields
    ------
    None
        The block runs with the limit; it is lifted on leaving it.

    Raises
    ------
    ValueError
        n is not a positive integer.
    """
    if isinstance(n, bool) or not hasattr(type(n), "__index__") or n < 1:
        raise ValueError(f"the number of threads must be a positive integer, got {n!r}")
    before = getattr(_limit, "n", 0)
    _limit.n = n
    try:
        yield
    finally:
        _limit.n = before


gru_native_set_num_threads(omp_get_max_threads())
if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_after_fork_in_child)
