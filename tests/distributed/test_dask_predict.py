"""Prediction over dask collections: lazy, one task per chunk of rows, equal to NumPy
prediction; the model one key of the graph; the estimators likewise, dask DataFrames of windows
included."""

import numpy as np
import pytest

import gru_native as gn

da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")


@pytest.fixture
def model():
    m = gn.Sequential([gn.Input((7, 3)), gn.GRU(6), gn.Dense(2)], dtype="float64")
    m.compile("adam", "mse")
    return m


def test_predict_of_a_dask_array_is_lazy_and_equal_to_numpy(model, rng):
    x = rng.normal(size=(50, 7, 3))
    lazy = model.predict(da.from_array(x, chunks=(16, 7, 3)), batch_size=8)
    assert isinstance(lazy, da.Array)
    assert lazy.shape == (50, 2) and lazy.dtype == np.float64
    assert lazy.chunks[0] == (16, 16, 16, 2)
    np.testing.assert_allclose(lazy.compute(), model.predict(x), rtol=1e-12, atol=1e-14)


def test_the_model_is_one_key_of_the_graph(model, rng):
    lazy = model.predict(da.from_array(rng.normal(size=(40, 7, 3)), chunks=(10, 7, 3)))
    graph = dict(lazy.__dask_graph__())
    model_keys = [k for k in graph if str(k).startswith("Sequential-")]
    assert len(model_keys) == 1  # every chunk's task reads this one key


def test_chunks_across_features_and_steps_are_joined(model, rng):
    x = rng.normal(size=(30, 7, 3))
    lazy = model.predict(da.from_array(x, chunks=(7, 3, 2)))
    np.testing.assert_allclose(lazy.compute(), model.predict(x), rtol=1e-12, atol=1e-14)


def test_several_inputs_and_outputs_keep_their_structure(rng):
    a, b = gn.Input((5, 2), name="a"), gn.Input((4,), name="b")
    h = gn.GRU(3)(a)
    m = gn.Model({"a": a, "b": b}, [gn.Dense(2)(gn.Concatenate()([h, b])), h], dtype="float64")
    xa, xb = rng.normal(size=(20, 5, 2)), rng.normal(size=(20, 4))
    lazy = m.predict({"a": da.from_array(xa, chunks=(6, 5, 2)), "b": da.from_array(xb, chunks=4)})
    expected = m.predict({"a": xa, "b": xb})
    assert isinstance(lazy, list) and len(lazy) == 2
    for got, want in zip(lazy, expected):
        np.testing.assert_allclose(got.compute(), want, rtol=1e-12, atol=1e-14)


def test_on_a_distributed_cluster(model, rng):
    distributed = pytest.importorskip("dask.distributed")
    x = rng.normal(size=(64, 7, 3))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        got = client.compute(model.predict(da.from_array(x, chunks=(8, 7, 3)))).result()
    np.testing.assert_allclose(got, model.predict(x), rtol=1e-12, atol=1e-14)


def test_unknown_chunk_sizes_are_a_clear_error(model, rng):
    x = da.from_array(rng.normal(size=(20, 7, 3)), chunks=(5, 7, 3))
    with pytest.raises(ValueError, match="compute_chunk_sizes"):
        model.predict(x[x[:, 0, 0] > 0])


def test_mask_with_dask_input_is_refused(model, rng):
    x = da.from_array(rng.normal(size=(20, 7, 3)), chunks=(5, 7, 3))
    with pytest.raises(ValueError, match="dask"):
        model.predict(x, mask=np.ones((20, 7), bool))


@pytest.fixture(scope="module")
def windows():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(80, 12)).cumsum(axis=1)
    return X, X[:, -3:].mean(axis=1), (X[:, -1] > X[:, 0]).astype(int)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_estimators_predict_dask_arrays_lazily(windows):
    X, y_reg, y_cls = windows
    reg = gn.GRURegressor(units=8, max_iter=3, random_state=0).fit(X, y_reg)
    clf = gn.GRUClassifier(units=8, max_iter=3, random_state=0).fit(X, y_cls)
    Xd = da.from_array(X, chunks=(25, 12))
    for method, est in [("predict", reg), ("predict", clf), ("predict_proba", clf),
                        ("predict_log_proba", clf)]:
        lazy = getattr(est, method)(Xd)
        assert isinstance(lazy, da.Array), method
        np.testing.assert_allclose(lazy.compute(), getattr(est, method)(X), rtol=1e-9,
                                   err_msg=method)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_estimators_predict_dask_dataframes_of_windows(windows):
    pd = pytest.importorskip("pandas")
    X, y_reg, _ = windows
    reg = gn.GRURegressor(units=8, max_iter=3, random_state=0).fit(X, y_reg)
    frame = pd.DataFrame(X, columns=[f"t{i}" for i in range(12)], index=np.arange(100, 180))
    ddf = dd.from_pandas(frame, npartitions=3)
    lazy = reg.predict(ddf)
    got = lazy.compute()
    assert isinstance(got, pd.Series)
    np.testing.assert_array_equal(got.index, frame.index)
    np.testing.assert_allclose(got.to_numpy(), reg.predict(X), rtol=1e-9)
    # and the user's own map_partitions over pandas partitions
    mapped = ddf.map_partitions(reg.predict, meta=(None, "f8")).compute()
    np.testing.assert_allclose(np.asarray(mapped), reg.predict(X), rtol=1e-9)
