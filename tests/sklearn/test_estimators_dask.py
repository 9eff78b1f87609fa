"""A hyper-parameter search spread over a dask.distributed cluster of separate worker processes,
with no change to the estimator: scikit-learn's GridSearchCV under joblib's 'dask' backend."""

import os

import numpy as np
import pytest

pytest.importorskip("dask.distributed", reason="dask[distributed] is not installed")

import joblib  # noqa: E402
from dask.distributed import Client, LocalCluster, get_task_stream  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402

from gru_native import GRUClassifier  # noqa: E402


@pytest.mark.filterwarnings("ignore:.*maximum iterations")  # short fits, on purpose
def test_grid_search_runs_on_every_worker_of_a_process_cluster_and_matches_a_local_search():
    rng = np.random.default_rng(0)
    X = [rng.normal(size=(rng.integers(3, 10), 2)) for _ in range(120)]  # ragged sequences
    y = np.where([x[-1, 0] + x[-1, 1] > 0 for x in X], "pos", "neg")
    # n_jobs=1: one kernel thread in every fit, here and on the workers, so the fits are
    # bit-identical wherever they run
    search = GridSearchCV(GRUClassifier(max_iter=10, n_jobs=1, random_state=0),
                          {"units": [4, 8], "learning_rate": [1e-3, 1e-2]}, cv=2, n_jobs=-1)
    local = clone(search).set_params(n_jobs=None).fit(X, y)

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        with get_task_stream(client) as tasks, joblib.parallel_backend("dask"):
            search.fit(X, y)
        workers = {task["worker"] for task in tasks.data}
        assert workers == set(client.scheduler_info()["workers"])  # both worker processes fitted
        pids = client.run(os.getpid)
        assert len(set(pids.values())) == 2 and os.getpid() not in pids.values()

    np.testing.assert_array_equal(search.cv_results_["mean_test_score"],
                                  local.cv_results_["mean_test_score"])
    assert search.best_params_ == local.best_params_
    assert search.score(X, y) == local.score(X, y)
