"""PyDataset: Keras' base class, its attributes, and Keras' warning for a subclass that does not
call super().__init__."""

import itertools
import os
import warnings

import numpy as np
import pytest

import gru_native
from gru_native.data import PyDataset

SUPER_WARNING = "Your `PyDataset` class should call `super().__init__(**kwargs)`"


class Squares(PyDataset):
    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, index):
        return np.full((2, 1), index ** 2), np.full(2, index)


def test_utils_exports_it_as_keras_utils_does():
    assert gru_native.utils.PyDataset is PyDataset
    assert gru_native.utils.timeseries_dataset_from_array is gru_native.data.timeseries_dataset_from_array


def test_attributes_and_batches():
    ds = Squares(3, workers=4, use_multiprocessing=True, max_queue_size=2)
    assert (ds.workers, ds.use_multiprocessing, ds.max_queue_size) == (4, True, 2)
    ds.workers = 2
    assert ds.workers == 2
    assert ds.num_batches == 3
    assert [int(x[0, 0]) for x, _ in ds] == [0, 1, 4]
    ds.on_epoch_begin()
    ds.on_epoch_end()
    defaults = Squares(1)
    assert (defaults.workers, defaults.use_multiprocessing, defaults.max_queue_size) == (1, False, 10)
    with pytest.raises(TypeError):
        PyDataset(shuffle=True)


def test_a_subclass_without_super_init_gets_the_defaults_and_keras_warning():
    class NoSuper(PyDataset):
        def __init__(self):
            self.n = 1

        def __len__(self):
            return 1

    ds = NoSuper()
    with pytest.warns(UserWarning, match=r"super\(\).__init__\(\*\*kwargs\)") as record:
        assert ds.workers == 1
    assert str(record[0].message).startswith(SUPER_WARNING)
    assert record[0].filename == __file__  # points at the reader
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the defaults are set now: no second warning
        assert (ds.use_multiprocessing, ds.max_queue_size) == (False, 10)


def test_an_endless_dataset_and_one_without_a_length():
    class Endless(Squares):
        @property
        def num_batches(self):
            return None

    assert [int(y[0]) for _, y in itertools.islice(Endless(0), 5)] == [0, 1, 2, 3, 4]

    class NoLength(PyDataset):
        def __getitem__(self, index):
            return np.array([index])

    ds = NoLength()
    with pytest.raises(NotImplementedError, match="num_batches"):
        ds.num_batches
    assert [int(x[0]) for x in itertools.islice(ds, 3)] == [0, 1, 2]
    with pytest.raises(NotImplementedError):
        PyDataset()[0]


def test_same_contract_as_keras():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    keras = pytest.importorskip("keras")

    def subclass(base, call_super):
        class D(base):
            def __init__(self, **kwargs):
                if call_super:
                    super().__init__(**kwargs)

            def __len__(self):
                return 2

            def __getitem__(self, index):
                return np.array([index])
        return D

    for call_super in (True, False):
        ours, theirs = subclass(PyDataset, call_super)(), subclass(keras.utils.PyDataset, call_super)()
        with warnings.catch_warnings(record=True) as ours_warned:
            warnings.simplefilter("always")
            mine = (ours.workers, ours.use_multiprocessing, ours.max_queue_size, ours.num_batches)
        with warnings.catch_warnings(record=True) as keras_warned:
            warnings.simplefilter("always")
            expected = (theirs.workers, theirs.use_multiprocessing, theirs.max_queue_size,
                        theirs.num_batches)
        assert mine == expected
        assert [str(w.message) for w in ours_warned] == [str(w.message) for w in keras_warned]
        assert [list(b) for b in ours] == [list(b) for b in theirs]
    kwargs = dict(workers=3, use_multiprocessing=True, max_queue_size=4)
    ours, theirs = subclass(PyDataset, True)(**kwargs), subclass(keras.utils.PyDataset, True)(**kwargs)
    assert (ours.workers, ours.use_multiprocessing, ours.max_queue_size) == \
        (theirs.workers, theirs.use_multiprocessing, theirs.max_queue_size)
