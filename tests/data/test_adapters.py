"""The data adapters: the batches of arrays, PyDatasets and generators epoch after epoch, as
Keras' adapters and EpochIterator, read in background threads in order, with errors raised
where their batch is taken and no thread left behind."""

import ast
import contextlib
import os
import sys
import threading
import time
import traceback
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pytest

import gru_native.data
from gru_native.data import (ArrayDataAdapter, DataAdapter, GeneratorDataAdapter, PyDataset,
                             PyDatasetAdapter, get_data_adapter)

RAN_OUT = "Your input ran out of data"


class Indexed(PyDataset):
    """Batch i: x filled with i; records the indices read and the threads that read them."""

    def __init__(self, n, delay=0.0, fail_at=None, **kwargs):
        super().__init__(**kwargs)
        self.n, self.delay, self.fail_at = n, delay, fail_at
        self.read, self.threads, self.events = [], set(), []
        self.readers = []  # the thread of each read, in order
        self.active = self.most_active = 0
        self.lock = threading.Lock()

    def __len__(self):
        return self.n

    def __getitem__(self, index):
        with self.lock:
            self.active += 1
            self.most_active = max(self.most_active, self.active)
        try:
            if self.delay:
                time.sleep(self.delay * (1 + (index * 7919) % 5) / 5)  # uneven, out of order
            if index == self.fail_at:
                raise KeyError(f"no batch {index}")
            self.read.append(index)
            self.threads.add(threading.get_ident())
            self.readers.append(threading.get_ident())
            return np.full((2, 3), index, np.float32), np.full((2, 1), index, np.float32)
        finally:
            with self.lock:
                self.active -= 1

    def on_epoch_begin(self):
        self.events.append("begin")

    def on_epoch_end(self):
        self.events.append("end")


def numbered(n, delay=0.0, fail_at=None, record=None):
    for i in range(n):
        if delay:
            time.sleep(delay)
        if i == fail_at:
            raise RuntimeError(f"generator failed at {i}")
        if record is not None:
            record.append(threading.get_ident())
        yield np.full((2, 3), i, np.float32), np.full((2, 1), i, np.float32)


def labels(batches):
    return [int(x.flat[0]) for x, _, _ in batches]


def run_epochs(adapter, epochs, rng=None):
    """The batch labels of each epoch, and how many 'ran out of data' warnings each gave."""
    seen, warned = [], []
    for _ in range(epochs):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            seen.append(labels(adapter.epoch_batches(rng)))
        adapter.on_epoch_end()
        warned.append(sum(RAN_OUT in str(m.message) for m in w))
    return seen, warned


@pytest.fixture
def no_leaked_threads():
    before = threading.active_count()
    yield
    deadline = time.monotonic() + 5
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert threading.active_count() == before, threading.enumerate()


# ---- arrays -----------------------------------------------------------------------------
def test_array_batches_equal_slices(no_leaked_threads):
    rng = np.random.default_rng(0)
    x = [rng.normal(size=(45, 5, 2)), rng.normal(size=(45, 3))]
    y = {"a": np.arange(45), "b": rng.normal(size=(45, 1))}
    sw = np.linspace(0, 1, 45)
    adapter = get_data_adapter(x, y, sw, batch_size=16)
    assert isinstance(adapter, ArrayDataAdapter) and adapter.num_batches == 3
    got = list(adapter.epoch_batches())
    adapter.on_epoch_end()
    assert len(got) == 3
    for i, (bx, by, bsw) in enumerate(got):
        rows = slice(16 * i, 16 * (i + 1))
        assert isinstance(bx, list) and isinstance(by, dict)
        np.testing.assert_array_equal(bx[0], x[0][rows])
        np.testing.assert_array_equal(bx[1], x[1][rows])
        np.testing.assert_array_equal(by["a"], y["a"][rows])
        np.testing.assert_array_equal(bsw, sw[rows])
    assert np.shares_memory(got[0][0][0], x[0])  # a view, not a copy
    assert get_data_adapter(np.zeros((100, 2))).batch_size == 32  # Keras' default
    assert get_data_adapter(np.zeros((100, 2)), steps_per_epoch=3).batch_size == 34
    assert get_data_adapter(np.zeros((100, 2)), steps_per_epoch=3).num_batches == 3
    (only,) = get_data_adapter(np.zeros((5, 2))).epoch_batches()
    assert only[1] is None and only[2] is None


def test_array_batches_equal_keras_array_adapter():
    import_keras()
    from keras.src.trainers.data_adapters.array_data_adapter import ArrayDataAdapter as Keras

    x, y = np.arange(103 * 2.0).reshape(103, 2), np.arange(103.0)
    for batch_size, steps in ((None, None), (10, None), (None, 4), (103, None), (200, None)):
        theirs = list(Keras(x, y, batch_size=batch_size, steps=steps).get_numpy_iterator())
        ours = get_data_adapter(x, y, batch_size=batch_size, steps_per_epoch=steps)
        assert ours.num_batches == (steps or len(theirs))
        mine = list(ours.epoch_batches())
        assert len(mine) == len(theirs)
        for (bx, by, _), (tx, ty) in zip(mine, theirs):
            np.testing.assert_array_equal(bx, tx)
            np.testing.assert_array_equal(by, ty)


def test_shuffle_takes_a_permutation_every_epoch():
    x = np.arange(50)[:, None] * np.ones((1, 3))
    adapter = get_data_adapter(x, np.arange(50), batch_size=8, shuffle=True)
    rng = np.random.default_rng(1)
    orders = []
    for _ in range(2):
        batches = list(adapter.epoch_batches(rng))
        adapter.on_epoch_end()
        order = np.concatenate([bx[:, 0] for bx, _, _ in batches])
        for bx, by, _ in batches:
            np.testing.assert_array_equal(bx[:, 0], by)  # rows stay with their targets
        assert sorted(order) == list(range(50))
        orders.append(order)
    assert not np.array_equal(orders[0], orders[1])
    again = get_data_adapter(x, np.arange(50), batch_size=8, shuffle=True)
    first = np.concatenate([bx[:, 0] for bx, _, _ in again.epoch_batches(np.random.default_rng(1))])
    np.testing.assert_array_equal(first, orders[0])  # the caller's rng decides

    within = get_data_adapter(x, batch_size=8, shuffle="batch")
    for i, (bx, _, _) in enumerate(within.epoch_batches(np.random.default_rng(2))):
        assert sorted(bx[:, 0]) == list(range(8 * i, min(8 * i + 8, 50)))
    with pytest.raises(ValueError, match="shuffle must be True, False or 'batch'"):
        get_data_adapter(x, shuffle="epoch")


@pytest.mark.parametrize("shuffle", [False, True])
def test_a_memmap_is_read_a_batch_at_a_time(tmp_path, shuffle):
    x = np.lib.format.open_memmap(tmp_path / "x.npy", mode="w+", dtype=np.float32,
                                  shape=(20_000, 500))  # 40 MB on disk
    x[:] = np.arange(20_000, dtype=np.float32)[:, None]
    x.flush()
    x = np.load(tmp_path / "x.npy", mmap_mode="r")
    tracemalloc.start()
    try:
        adapter = get_data_adapter(x, batch_size=64, shuffle=shuffle)
        batches = adapter.epoch_batches(np.random.default_rng(0))
        taken = [next(batches)[0] for _ in range(3)]
        batches.close()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4e6, peak  # 10 batches ahead at most: 1.3 MB, not the 40 MB file
    for b in taken:
        assert type(b) is np.ndarray and b.shape == (64, 500)  # read, not a view of the file
        np.testing.assert_array_equal(b, x[b[:, 0].astype(int)])
    if not shuffle:
        np.testing.assert_array_equal(taken[2][:, 0], np.arange(128, 192))


def test_arrays_of_different_lengths():
    with pytest.raises(ValueError, match=r"Data cardinality is ambiguous.*x: 10, y: 9"):
        get_data_adapter(np.zeros((10, 2)), np.zeros(9))


# ---- PyDataset --------------------------------------------------------------------------
def test_pydataset_batches_in_order_with_epoch_hooks(no_leaked_threads):
    ds = Indexed(7, delay=0.002)
    adapter = get_data_adapter(ds)
    assert isinstance(adapter, PyDatasetAdapter) and adapter.num_batches == 7
    assert run_epochs(adapter, 2) == ([list(range(7))] * 2, [0, 0])
    assert ds.events == ["begin", "end"] * 2
    # the first five reads, timed in the caller's thread, are slow: the rest in the background
    # (a thread per epoch; the second may or may not reuse the first's ident)
    caller = threading.get_ident()
    assert ds.readers[:5] == [caller] * 5 and caller not in ds.readers[5:]


def test_fast_batches_are_read_by_the_caller(no_leaked_threads):
    ds = Indexed(12)
    adapter = get_data_adapter(ds)
    assert run_epochs(adapter, 2) == ([list(range(12))] * 2, [0, 0])
    assert ds.threads == {threading.get_ident()}


def test_pydataset_workers_read_in_parallel_and_keep_the_order(no_leaked_threads):
    ds = Indexed(30, delay=0.01, workers=3, use_multiprocessing=True)
    adapter = get_data_adapter(ds)
    assert labels(adapter.epoch_batches()) == list(range(30))
    adapter.on_epoch_end()
    assert 1 < ds.most_active <= 3 and len(ds.threads) > 1


def test_pydataset_reads_at_most_max_queue_size_ahead():
    ds = Indexed(50, max_queue_size=3)
    batches = get_data_adapter(ds).epoch_batches()
    for taken in range(1, 6):
        next(batches)
        time.sleep(0.05)
        assert len(ds.read) <= taken + 3
    batches.close()


def test_pydataset_shuffle_reorders_batches_every_epoch_as_keras():
    ds = Indexed(12)
    adapter = get_data_adapter(ds, shuffle=True)
    rng = np.random.default_rng(3)
    first, second = run_epochs(adapter, 2, rng)[0]
    assert sorted(first) == sorted(second) == list(range(12)) and first != second
    endless = Indexed(3)
    endless.__class__ = type("Endless", (Indexed,), {"num_batches": property(lambda self: None)})
    with pytest.warns(UserWarning, match="infinite PyDataset"):
        get_data_adapter(endless, shuffle=True)


def test_pydataset_batch_forms():
    class Forms(PyDataset):
        def __init__(self, batch):
            super().__init__()
            self.batch = batch

        def __len__(self):
            return 1

        def __getitem__(self, index):
            return self.batch

    a = np.zeros((4, 2))
    for batch, expected in ((a, (a, None, None)), ([a, a[:, :1]], (a, a[:, :1], None)),
                            ({"in": a}, ({"in": a}, None, None)), ((a, a, np.ones(4)), (a, a, np.ones(4)))):
        (got,) = get_data_adapter(Forms(batch)).epoch_batches()
        assert type(got[0]) is type(expected[0])
        for g, e in zip(got, expected):
            if e is None:
                assert g is None
            elif isinstance(e, dict):
                np.testing.assert_array_equal(g["in"], e["in"])
            else:
                np.testing.assert_array_equal(g, e)
    with pytest.raises(ValueError, match=r"PyDataset.__getitem__\(\) must return a tuple or a dict"):
        list(get_data_adapter(Forms((a, a, a, a))).epoch_batches())
    with pytest.raises(ValueError, match="The PyDataset has length 0"):
        get_data_adapter(Indexed(0))
    with pytest.raises(ValueError, match="`y` should not be passed"):
        get_data_adapter(Indexed(2), np.zeros(2))


class Varying(Indexed):
    def __init__(self, n, change):
        super().__init__(n)
        self.change = change

    def __getitem__(self, index):
        x, y = super().__getitem__(index)
        return self.change(index, x, y)


def test_pydataset_batches_are_checked():
    def features(i, x, y):
        return (np.zeros((2, 7)) if i == 3 else np.zeros((2, 8))), y
    with pytest.raises(ValueError, match="batch 3 has 7 features in x, earlier batches had 8"):
        list(get_data_adapter(Varying(5, features)).epoch_batches())

    def steps(i, x, y):
        return np.zeros((2, 10 + (i == 2), 8)), y
    with pytest.raises(ValueError, match=r"batch 2: x has shape \(11, 8\) after the batch axis, "
                                         r"earlier batches had \(10, 8\)"):
        list(get_data_adapter(Varying(5, steps)).epoch_batches())

    def lengths(i, x, y):
        return x, (y[:1] if i == 1 else y)
    with pytest.raises(ValueError, match="batch 1: x has 2 samples but y has 1"):
        list(get_data_adapter(Varying(5, lengths)).epoch_batches())


def test_steps_per_epoch_resumes_the_pass_as_keras():
    # steps_per_epoch below a pass: the next epoch resumes it; above: each epoch ends early
    assert run_epochs(get_data_adapter(Indexed(6), steps_per_epoch=4), 3) == \
        ([[0, 1, 2, 3], [4, 5], [0, 1, 2, 3]], [0, 1, 0])
    assert run_epochs(get_data_adapter(Indexed(6), steps_per_epoch=8), 2) == \
        ([list(range(6))] * 2, [1, 1])
    assert run_epochs(get_data_adapter(Indexed(6), steps_per_epoch=3), 3) == \
        ([[0, 1, 2], [3, 4, 5], [0, 1, 2]], [0, 0, 0])
    assert run_epochs(get_data_adapter(np.arange(10)[:, None], batch_size=2, steps_per_epoch=3),
                      3)[0] == [[0, 2, 4], [6, 8], [0, 2, 4]]


def import_keras():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    return pytest.importorskip("keras")


def keras_epochs(x, epochs, steps_per_epoch=None, batch_size=None):
    """The batch labels of each epoch of Keras' own EpochIterator, driven as its fit does, and
    the 'ran out of data' warnings of each."""
    from keras.src.trainers.epoch_iterator import EpochIterator

    iterator = EpochIterator(x, steps_per_epoch=steps_per_epoch, batch_size=batch_size,
                             shuffle=False)
    iterator.reset()
    seen, warned = [], []
    for _ in range(epochs):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            got = []
            with iterator.catch_stop_iteration():
                for _, _, data in iterator:
                    got += [int(np.asarray(b if isinstance(b, np.ndarray) else b[0]).flat[0])
                            for b in data]
        seen.append(got)
        warned.append(sum(RAN_OUT in str(m.message) for m in w))
    return seen, warned


def test_epochs_equal_keras_epoch_iterator():
    keras = import_keras()

    class KerasIndexed(keras.utils.PyDataset):
        def __init__(self, n):
            super().__init__()
            self.n = n

        def __len__(self):
            return self.n

        def __getitem__(self, index):
            return np.full((2, 3), index, np.float32), np.zeros((2, 1), np.float32)

    for steps in (None, 2, 4, 6, 8):
        assert run_epochs(get_data_adapter(Indexed(6), steps_per_epoch=steps), 4) == \
            keras_epochs(KerasIndexed(6), 4, steps)
    x = np.arange(10.0)[:, None]
    for steps in (None, 2, 4, 6):
        assert run_epochs(get_data_adapter(x, batch_size=3, steps_per_epoch=steps), 4) == \
            keras_epochs(x, 4, steps, batch_size=3)
    # a generator, up to the epoch that uses it up (Keras then replays the batches it peeked)
    for n, steps, epochs in ((10, 3, 4), (5, 8, 1), (7, 7, 1)):
        ours = run_epochs(get_data_adapter(numbered(n), steps_per_epoch=steps), epochs)
        theirs = keras_epochs(numbered(n), epochs, steps)
        assert ours[0] == theirs[0]
        assert ours[1][-1] == theirs[1][-1]


# ---- generators and iterables -----------------------------------------------------------
def test_a_generator_is_read_in_the_background_and_in_order(no_leaked_threads):
    record = []
    adapter = get_data_adapter(numbered(20, delay=0.001, record=record))
    assert isinstance(adapter, GeneratorDataAdapter) and adapter.num_batches is None
    assert run_epochs(adapter, 1) == ([list(range(20))], [0])
    # the first five reads are timed in the caller's thread; slow, the rest go to one thread
    assert set(record[:5]) == {threading.get_ident()}
    assert len(set(record[5:])) == 1 and threading.get_ident() not in record[5:]
    # used up: the next epoch finds nothing, with Keras' warning
    assert run_epochs(adapter, 1) == ([[]], [1])


def test_a_generator_is_consumed_across_epochs():
    adapter = get_data_adapter(numbered(10), steps_per_epoch=3)
    assert adapter.num_batches == 3
    assert run_epochs(adapter, 5) == ([[0, 1, 2], [3, 4, 5], [6, 7, 8], [9], []], [0, 0, 0, 1, 1])
    with pytest.warns(UserWarning, match=RAN_OUT):
        assert labels(get_data_adapter(numbered(5), steps_per_epoch=8).epoch_batches()) == [0, 1, 2, 3, 4]


def test_batches_read_ahead_stay_for_the_next_epoch(no_leaked_threads):
    adapter = get_data_adapter(numbered(12))
    batches = adapter.epoch_batches()
    assert labels([next(batches), next(batches)]) == [0, 1]
    time.sleep(0.05)  # the thread reads ahead meanwhile
    batches.close()
    adapter.on_epoch_end()
    assert run_epochs(adapter, 1)[0] == [list(range(2, 12))]


def test_an_iterable_restarts_every_epoch():
    batches = [(np.full((2, 1), i),) for i in range(5)]
    adapter = get_data_adapter(batches)
    assert run_epochs(adapter, 2) == ([list(range(5))] * 2, [0, 0])
    assert run_epochs(get_data_adapter(batches, steps_per_epoch=2), 3) == \
        ([[0, 1], [2, 3], [4]], [0, 0, 1])

    class Reiterable:
        def __iter__(self):
            return numbered(3)

    assert run_epochs(get_data_adapter(Reiterable()), 2)[0] == [[0, 1, 2]] * 2
    # a list of arrays is a multi-input x, not batches
    assert isinstance(get_data_adapter([np.zeros((4, 2)), np.zeros((4, 1))]), ArrayDataAdapter)


def test_generator_errors_and_warnings():
    with pytest.raises(ValueError, match="must yield at least one batch"):
        list(get_data_adapter(numbered(0)).epoch_batches())
    with pytest.raises(ValueError, match="the generator must return a tuple"):
        list(get_data_adapter(iter([np.zeros((2, 1))])).epoch_batches())
    with pytest.raises(ValueError, match=r"batch 0 has no input array"):
        list(get_data_adapter(iter([(None, np.zeros(2))])).epoch_batches())
    with pytest.raises(ValueError, match="`sample_weights` should not be passed"):
        get_data_adapter(numbered(2), sample_weight=np.ones(2))
    with pytest.warns(UserWarning, match="`shuffle=True` was passed, but will be ignored"):
        get_data_adapter(numbered(2), shuffle=True)
    with pytest.raises(ValueError, match="Unrecognized data type"):
        get_data_adapter(None)
    adapter = get_data_adapter(numbered(2))
    assert get_data_adapter(adapter) is adapter
    list(adapter.epoch_batches())
    with pytest.raises(ValueError, match="without `on_epoch_end`"):
        list(adapter.epoch_batches())


# ---- errors and stopping early ----------------------------------------------------------
def frames(error):
    return [f.name for f in traceback.extract_tb(error.__traceback__)]


def test_a_pydataset_error_is_raised_where_its_batch_is_taken(no_leaked_threads):
    for workers in (1, 3):
        ds = Indexed(10, delay=0.002, fail_at=4, workers=workers)
        taken = []
        with pytest.raises(KeyError, match="no batch 4") as error:
            for batch in get_data_adapter(ds).epoch_batches():
                taken.append(batch)
        assert labels(taken) == [0, 1, 2, 3]
        assert "__getitem__" in frames(error.value) and "epoch_batches" in frames(error.value)


def test_a_generator_error_is_raised_where_its_batch_is_taken(no_leaked_threads):
    taken = []
    with pytest.raises(RuntimeError, match="generator failed at 3") as error:
        for batch in get_data_adapter(numbered(8, fail_at=3)).epoch_batches():
            taken.append(batch)
    assert labels(taken) == [0, 1, 2]
    assert "numbered" in frames(error.value)


@pytest.mark.parametrize("how", ["break", "exception", "KeyboardInterrupt", "closing"])
def test_stopping_early_stops_the_threads(how, no_leaked_threads):
    ds = Indexed(100, delay=0.01, workers=2)
    adapter = get_data_adapter(ds)

    def consume():
        if how == "closing":
            with contextlib.closing(adapter.epoch_batches()) as batches:
                next(batches)
            return
        for i, _ in enumerate(adapter.epoch_batches()):
            if i == 2:
                if how == "break":
                    break
                raise ValueError("stop") if how == "exception" else KeyboardInterrupt

    with contextlib.suppress(ValueError, KeyboardInterrupt):
        consume()
    read = len(ds.read)
    time.sleep(0.1)
    assert len(ds.read) == read  # nothing read once stopped
    assert read <= 3 + 10


def test_the_data_package_imports_only_numpy_and_the_standard_library():
    allowed = set(sys.stdlib_module_names) | {"numpy"}
    for path in Path(gru_native.data.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [] if node.level == 1 else [node.module]
                assert node.level <= 1, f"{path.name} imports above gru_native.data"
            else:
                continue
            for name in names:
                assert name.split(".")[0] in allowed, f"{path.name} imports {name}"


def test_data_adapter_is_the_common_base():
    for cls in (ArrayDataAdapter, PyDatasetAdapter, GeneratorDataAdapter):
        assert issubclass(cls, DataAdapter)
