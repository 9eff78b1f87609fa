"""timeseries_dataset_from_array: Keras' windows, targets and argument checks, read a batch at a
time from views of the series."""

import itertools
import os
import tracemalloc

import numpy as np
import pytest

from gru_native.data import PyDataset, timeseries_dataset_from_array


def reference(data, targets, sequence_length, sequence_stride=1, sampling_rate=1,
              batch_size=128, start_index=None, end_index=None):
    """Keras' batches, written as a loop: window j starts at start + j * stride."""
    start = start_index or 0
    end = len(data) if end_index is None else end_index
    count = end - start - (sequence_length - 1) * sampling_rate
    if targets is not None:
        count = min(count, len(targets))
    windows = [(data[start + p:start + p + (sequence_length - 1) * sampling_rate + 1:sampling_rate],
                None if targets is None else targets[start + p])
               for p in range(0, max(count, 0), sequence_stride)]
    if batch_size is None:
        return windows
    return [(np.stack([w for w, _ in windows[i:i + batch_size]]),
             None if targets is None else np.stack([t for _, t in windows[i:i + batch_size]]))
            for i in range(0, len(windows), batch_size)]


def import_keras():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    return pytest.importorskip("keras")


def batches(ds):
    return [b if isinstance(b, tuple) else (b, None) for b in ds]


def assert_same(got, expected):
    assert len(got) == len(expected)
    for (x, y), (ex, ey) in zip(got, expected):
        np.testing.assert_array_equal(x, ex)
        if ey is None:
            assert y is None
        else:
            np.testing.assert_array_equal(y, ey)


CASES = [dict(sequence_length=L, sequence_stride=s, sampling_rate=r, batch_size=b,
              start_index=a, end_index=e)
         for L, s, r, b, (a, e) in itertools.product(
             (1, 4, 10), (1, 3), (1, 2), (None, 1, 5, 128),
             ((None, None), (7, None), (None, 80), (5, 90)))]


@pytest.mark.parametrize("with_targets", [True, False])
def test_batches_equal_the_loop_over_windows(with_targets):
    data = np.arange(100 * 2, dtype=np.float32).reshape(100, 2)
    targets = np.arange(100) * 10 if with_targets else None
    for case in CASES:
        ds = timeseries_dataset_from_array(data, targets, **case)
        assert isinstance(ds, PyDataset)
        assert_same(batches(ds), reference(data, targets, **case))


def test_targets_shorter_than_the_series_limit_the_windows_as_in_keras():
    data, targets = np.arange(50), np.arange(20) * 10
    ds = timeseries_dataset_from_array(data, targets, sequence_length=5, batch_size=None)
    assert len(ds) == 20
    assert_same(batches(ds), reference(data, targets, 5, batch_size=None))


def test_keras_docstring_example_and_the_regression_recipe():
    ds = timeseries_dataset_from_array(np.arange(99), None, sequence_length=10,
                                       sampling_rate=2, sequence_stride=3)
    (x,) = [ds[0]]
    np.testing.assert_array_equal(x[0], np.arange(0, 19, 2))
    np.testing.assert_array_equal(x[1], np.arange(3, 22, 2))
    np.testing.assert_array_equal(x[-1], np.arange(78, 97, 2))
    data = np.arange(30.0)
    x, y = timeseries_dataset_from_array(data[:-10], data[10:], sequence_length=10)[0]
    np.testing.assert_array_equal(x[0], data[:10])
    assert y[0] == data[10]


def test_shuffle_permutes_the_windows_once_with_their_targets():
    data, targets = np.arange(200), np.arange(200) * 10
    kwargs = dict(sequence_length=6, sequence_stride=2, start_index=3, batch_size=16)
    plain = np.concatenate([x for x, _ in timeseries_dataset_from_array(data, targets, **kwargs)])
    ds = timeseries_dataset_from_array(data, targets, shuffle=True, seed=4, **kwargs)
    got = list(ds)
    x = np.concatenate([b for b, _ in got])
    y = np.concatenate([t for _, t in got])
    assert not np.array_equal(x, plain)
    np.testing.assert_array_equal(np.sort(x[:, 0]), plain[:, 0])
    np.testing.assert_array_equal(y, x[:, 0] * 10)  # each window keeps its target
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(got, ds))  # one order, read twice
    again = np.concatenate([b for b, _ in timeseries_dataset_from_array(
        data, targets, shuffle=True, seed=4, **kwargs)])
    np.testing.assert_array_equal(again, x)
    other = np.concatenate([b for b, _ in timeseries_dataset_from_array(
        data, targets, shuffle=True, seed=5, **kwargs)])
    assert not np.array_equal(other, x)


def test_a_memmap_series(tmp_path):
    data = np.lib.format.open_memmap(tmp_path / "s.npy", mode="w+", dtype=np.float32, shape=(500, 3))
    data[:] = np.arange(1500).reshape(500, 3)
    ds = timeseries_dataset_from_array(data, None, sequence_length=20, sequence_stride=7,
                                       batch_size=8)
    assert_same(batches(ds), reference(np.asarray(data), None, 20, 7, batch_size=8))


@pytest.mark.parametrize("shuffle", [False, True])
def test_memory_is_the_series_and_one_batch(shuffle):
    series = np.zeros((10_000_000, 1), np.float32)  # 40 MB
    tracemalloc.start()
    try:
        ds = timeseries_dataset_from_array(series, None, sequence_length=1000, batch_size=128,
                                           shuffle=shuffle, seed=0)
        x = ds[0]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert x.shape == (128, 1000, 1)
    assert peak < 100e6, peak  # all windows would be 40 GB


BAD_ARGUMENTS = [dict(start_index=-1), dict(start_index=100), dict(start_index=10, end_index=5),
                 dict(end_index=100), dict(end_index=-3), dict(sampling_rate=0),
                 dict(sampling_rate=100), dict(sequence_stride=0), dict(sequence_stride=100)]


@pytest.mark.parametrize("kwargs", BAD_ARGUMENTS)
def test_bad_arguments_raise_keras_errors(kwargs):
    keras = import_keras()
    data = np.arange(100)
    with pytest.raises(ValueError) as expected:
        keras.utils.timeseries_dataset_from_array(data, None, 5, **kwargs)
    with pytest.raises(ValueError) as got:
        timeseries_dataset_from_array(data, None, 5, **kwargs)
    assert str(got.value) == str(expected.value)


def test_bad_arguments_name_the_argument():
    data = np.arange(100)
    with pytest.raises(ValueError, match=r"`sampling_rate` must be higher than 0"):
        timeseries_dataset_from_array(data, None, 5, sampling_rate=0)
    with pytest.raises(ValueError, match=r"`sequence_length` must be higher than 0"):
        timeseries_dataset_from_array(data, None, 0)
    with pytest.raises(ValueError, match=r"targets has 40 steps"):  # Keras fails reading it
        timeseries_dataset_from_array(data, np.arange(40), 5, start_index=30)


def test_batches_equal_keras():
    keras = import_keras()
    pytest.importorskip("tensorflow")  # Keras' function builds a tf.data.Dataset
    data = np.arange(100 * 2, dtype=np.float32).reshape(100, 2)
    targets = np.arange(100) * 10
    for case in CASES:
        expected = [tuple(np.asarray(t) for t in b)
                    for b in keras.utils.timeseries_dataset_from_array(data, targets, **case)]
        if case["batch_size"] is None:
            expected = [expected]  # unbatched: compare as one batch
            got = [tuple(np.stack(p) for p in zip(*batches(
                timeseries_dataset_from_array(data, targets, **case))))]
        else:
            got = batches(timeseries_dataset_from_array(data, targets, **case))
        assert_same(got, expected)
