"""Training and prediction beyond one process: data-parallel training over MPI ranks
(`DataParallel`, with mpi4py) and lazy prediction over dask collections (`predict_lazily`,
used by `Model.predict` and the estimators when given a dask array). Neither mpi4py nor dask is
imported until used."""

from .dask_predict import is_dask_collection, lazy_over_dask, predict_lazily
from .data_parallel import DataParallel, RankFailed

__all__ = ["DataParallel", "RankFailed", "is_dask_collection", "lazy_over_dask",
           "predict_lazily"]
