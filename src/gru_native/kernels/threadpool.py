"""threadpoolctl's view of the kernels' thread setting: `threadpool_limits(n)` (with user_api
'openmp' or none) sets it for the whole process, and restores it after the block, as it does
for the BLAS and OpenMP libraries it finds. threadpoolctl's own OpenMP controller cannot do
that for us: omp_set_num_threads holds for the calling thread only."""

import threadpoolctl

from . import threads


class ThreadsController(threadpoolctl.LibController):
    """The kernels' setting, found as the extension module that exports its C functions."""

    user_api = "openmp"
    internal_api = "gru_native"
    filename_prefixes = ("threads",)
    check_symbols = ("gru_native_get_num_threads", "gru_native_set_num_threads")

    def get_num_threads(self):
        return threads.get_setting()

    def set_num_threads(self, num_threads):
        threads.set_num_threads(num_threads)

    def get_version(self):
        return None


threadpoolctl.register(ThreadsController)
