"""fit / evaluate / predict from a PyDataset, a generator and timeseries_dataset_from_array:
the same batches give the same weights, losses and predictions as arrays; bad batches stop with
a clear error and leave the model as its last complete step made it."""

import numpy as np
import pytest

import gru_native as gn
from gru_native.layers import GRU, Dense
from gru_native.utils import PyDataset, timeseries_dataset_from_array

N, T, I, BATCH = 20, 6, 3, 8


class Batches(PyDataset):
    def __init__(self, x, y, sample_weight=None, batch_size=BATCH, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.sample_weight, self.batch_size = x, y, sample_weight, batch_size
        self.ends = 0

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, i):
        rows = slice(i * self.batch_size, (i + 1) * self.batch_size)
        if self.sample_weight is None:
            return self.x[rows], self.y[rows]
        return self.x[rows], self.y[rows], self.sample_weight[rows]

    def on_epoch_end(self):
        self.ends += 1


def _model(dtype="float64"):
    """The same initial weights each time, and the random stream (dropout) restarted."""
    gn.utils.set_random_seed(0)
    model = gn.Sequential([GRU(5, input_shape=(T, I), dropout=0.1), Dense(1)], dtype=dtype)
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    gn.utils.set_random_seed(1)
    return model


@pytest.fixture
def data(rng):
    return rng.normal(size=(N, T, I)), rng.normal(size=(N, 1)), rng.uniform(0, 2, size=N)


def _equal_weights(a, b):
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)


@pytest.mark.parametrize("workers", [1, 3])
def test_a_pydataset_trains_to_the_weights_of_its_arrays(data, workers):
    x, y, w = data
    dataset = Batches(x, y, w, workers=workers)
    a = _model()
    ha = a.fit(x, y, sample_weight=w, batch_size=BATCH, epochs=3, shuffle=False, verbose=0)
    b = _model()
    hb = b.fit(dataset, epochs=3, shuffle=False, verbose=0,
               validation_data=Batches(x[:10], y[:10]))
    _equal_weights(a, b)
    assert hb.history["loss"] == ha.history["loss"]
    assert dataset.ends == 3
    np.testing.assert_array_equal(b.predict(Batches(x, y), verbose=0), b.predict(x, verbose=0))
    assert b.evaluate(Batches(x, y, w), verbose=0) == b.evaluate(x, y, sample_weight=w,
                                                                 batch_size=BATCH, verbose=0)
    assert hb.history["val_loss"][-1] == pytest.approx(
        b.evaluate(x[:10], y[:10], verbose=0)[0], rel=1e-12)


def test_a_generator_and_a_list_of_batches_train_as_arrays(data):
    x, y, _ = data
    batches = [(x[s:s + BATCH], y[s:s + BATCH]) for s in range(0, N, BATCH)]

    def endless():
        while True:
            yield from batches

    a = _model()
    a.fit(x, y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0)
    b = _model()
    b.fit(endless(), steps_per_epoch=len(batches), epochs=2, verbose=0)
    c = _model()
    c.fit(batches, epochs=2, verbose=0)  # a list of batch tuples: read anew every epoch
    _equal_weights(a, b)
    _equal_weights(a, c)


def test_timeseries_dataset_trains_as_its_windows(rng):
    series = rng.normal(size=(60, I))
    targets = series[:, 0]
    length = 7
    dataset = timeseries_dataset_from_array(series, targets[length:], length, batch_size=BATCH)
    starts = np.arange(len(series) - length)
    windows = np.stack([series[s:s + length] for s in starts])
    a = gn.Sequential([GRU(4, input_shape=(length, I)), Dense(1)], dtype="float64")
    a.compile(optimizer="sgd", loss="mse")
    b = gn.Sequential([GRU(4, input_shape=(length, I)), Dense(1)], dtype="float64")
    b.compile(optimizer="sgd", loss="mse")
    b.set_weights(a.get_weights())
    a.fit(windows, targets[starts + length], batch_size=BATCH, epochs=2, shuffle=False, verbose=0)
    b.fit(dataset, epochs=2, shuffle=False, verbose=0)
    _equal_weights(a, b)


def test_class_weight_applies_to_a_datasets_batches(rng):
    x = rng.normal(size=(N, T, I))
    labels = rng.integers(0, 2, size=(N, 1))
    class_weight = {0: 0.5, 1: 3.0}
    models = []
    for kind in ("arrays", "dataset"):
        gn.utils.set_random_seed(0)
        model = gn.Sequential([GRU(4, input_shape=(T, I)), Dense(1, activation="sigmoid")],
                              dtype="float64")
        model.compile(optimizer="adam", loss="binary_crossentropy")
        data = (x, labels) if kind == "arrays" else (Batches(x, labels),)
        model.fit(*data, batch_size=BATCH, class_weight=class_weight, shuffle=False, verbose=0)
        models.append(model)
    _equal_weights(*models)


class Failing(Batches):
    """Raises, or changes its feature count, at batch `bad`."""

    def __init__(self, x, y, bad, error):
        super().__init__(x, y)
        self.bad, self.error = bad, error

    def __getitem__(self, i):
        x, y = super().__getitem__(i)
        if i == self.bad and self.error == "raise":
            raise RuntimeError("the disk went away")
        if i == self.bad:
            x = x[..., :-1]
        return x, y


@pytest.mark.parametrize("error, match", [("raise", "the disk went away"),
                                          ("features", "batch 2 has 2 features")])
def test_a_failing_batch_stops_fit_after_the_last_complete_step(data, error, match):
    x, y, _ = data
    failing = _model()
    with pytest.raises((RuntimeError, ValueError), match=match):
        failing.fit(Failing(x, y, bad=2, error=error), epochs=1, shuffle=False, verbose=0)
    reference = _model()
    for start in (0, BATCH):  # the two steps before the bad batch
        reference.train_on_batch(x[start:start + BATCH], y[start:start + BATCH])
    _equal_weights(failing, reference)


def test_dataset_arguments_are_checked(data):
    x, y, _ = data
    model = _model()
    with pytest.raises(ValueError, match="`y` should not be passed"):
        model.fit(Batches(x, y), y, verbose=0)
    with pytest.raises(ValueError, match="validation_split"):
        model.fit(Batches(x, y), validation_split=0.2, verbose=0)
    with pytest.raises(ValueError, match="mask"):
        model.fit(Batches(x, y), mask=np.ones((N, T), bool), verbose=0)
    with pytest.raises(ValueError, match="y is needed"):
        model.evaluate(iter([(x,)]), verbose=0)


def test_memmaps_are_read_batch_by_batch(data, tmp_path):
    """A model trained from an np.memmap file equals one trained from the array in memory, and
    fit reads it a batch at a time: the memory fit takes (tracemalloc) does not grow with the
    file (a float32 model converts each batch of a float64 file, not the file)."""
    import tracemalloc
    x, y, _ = data
    peaks = []
    for copies in (1000, 4000):
        path = tmp_path / f"x{copies}.npy"
        file = np.lib.format.open_memmap(path, "w+", np.float64, (N * copies, T, I))
        file[:] = np.tile(x, (copies, 1, 1))
        file.flush()
        x_file = np.load(path, mmap_mode="r")
        y_all = np.tile(y, (copies, 1))
        a = _model("float32")
        a.fit(np.asarray(x_file), y_all, batch_size=512, epochs=1, verbose=0,
              validation_data=(x_file[:40], y_all[:40]))
        b = _model("float32")
        tracemalloc.start()
        b.fit(x_file, y_all, batch_size=512, epochs=1, verbose=0,
              validation_data=(x_file[:40], y_all[:40]))
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        _equal_weights(a, b)
    # 4x the file (17 MB more) adds only the shuffle's permutation (0.5 MB)
    assert peaks[1] < peaks[0] + 2 * 2**20, peaks
