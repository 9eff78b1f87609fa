"""predict and stream in reduced precision at the model level: the reduced weights follow every
kind of weight change, errors are clear, and on trained models of real data the outputs stay
within the stated bounds of float32's (relative max error 1e-2 for bfloat16, 2e-2 for int8)
with the accuracy unchanged to 0.005."""

import numpy as np
import pytest

import gru_native as gn
from gru_native import layers

from helpers import reference_predict
from kernels.test_reduced import PRODUCTS

REDUCED = ("bfloat16", "int8")
BOUNDS = {"bfloat16": 1e-2, "int8": 2e-2}


def _model(seed=0):
    gn.utils.set_random_seed(seed)
    model = gn.Sequential([layers.GRU(16, return_sequences=True, input_shape=(5, 3)),
                           layers.LSTM(12), layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    return model


def _assert_reduced_predict_of_current_weights(model, x, precision):
    got = model.predict(x, verbose=0, precision=precision)
    want = reference_predict(model, x, PRODUCTS[precision])
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-4 * np.abs(want).max())


@pytest.mark.parametrize("precision", REDUCED)
def test_reduced_weights_follow_every_kind_of_weight_change(rng, tmp_path, precision):
    model = _model()
    x = rng.standard_normal((4, 5, 3)).astype(np.float32)
    y = rng.standard_normal((4, 2)).astype(np.float32)
    stream = model.stream(4, precision=precision)
    _assert_reduced_predict_of_current_weights(model, x, precision)
    for _ in range(2):  # optimizer steps (fit would also calibrate int8: tests below)
        model.train_on_batch(x, y)
    _assert_reduced_predict_of_current_weights(model, x, precision)
    model.set_weights(_model(seed=1).get_weights())
    _assert_reduced_predict_of_current_weights(model, x, precision)
    other = _model(seed=2)
    other.save_weights(tmp_path / "w.weights.npz")
    model.load_weights(tmp_path / "w.weights.npz")
    _assert_reduced_predict_of_current_weights(model, x, precision)
    model.layers[1].weights[1][...] *= 0.5  # a write into a weight array
    _assert_reduced_predict_of_current_weights(model, x, precision)
    # the stream made before all of it steps with the current weights too
    stream.reset()
    last = [stream.step(x[:, t]) for t in range(5)][-1]
    np.testing.assert_allclose(last, model.predict(x, verbose=0, precision=precision),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("precision", REDUCED)
def test_a_stream_packs_again_after_the_packages_writes_without_a_reset(rng, precision):
    model = _model()
    x = rng.standard_normal((3, 2, 3)).astype(np.float32)
    stream = model.stream(3, precision=precision)
    assert np.abs(stream.step(x[:, 0])).max() > 0
    model.set_weights([np.zeros_like(w) for w in model.get_weights()])
    np.testing.assert_array_equal(stream.step(x[:, 1]), 0)  # zero weights: zero outputs
    model.fit(rng.standard_normal((3, 5, 3)).astype(np.float32), np.ones((3, 2), np.float32),
              epochs=1, verbose=0)
    assert np.abs(stream.step(x[:, 0])).min() > 0  # the fitted weights, not the zero ones


@pytest.mark.parametrize("precision", REDUCED)
def test_a_cpu_without_the_instruction_is_told(rng, monkeypatch, precision):
    monkeypatch.setenv("GRU_NATIVE_REDUCED", "portable")  # as on a CPU without it
    model = _model()
    x = rng.standard_normal((2, 5, 3)).astype(np.float32)
    with pytest.warns(RuntimeWarning, match="runs portable loops"):
        got = model.predict(x, verbose=0, precision=precision)
    _assert_reduced_predict_of_current_weights(model, x, precision)
    np.testing.assert_allclose(model.predict(x, verbose=0, precision=precision), got)


def test_bad_precisions_and_models_without_reduced_kernels_are_clear_errors(rng):
    x = rng.standard_normal((2, 5, 3)).astype(np.float32)
    model = _model()
    with pytest.raises(ValueError, match="precision must be"):
        model.predict(x, precision="float16")
    with pytest.raises(ValueError, match="precision must be"):
        model.stream(1, precision="bf16")
    double = gn.Sequential([layers.GRU(4, input_shape=(5, 3))], dtype="float64")
    with pytest.raises(ValueError, match="runs float32"):
        double.predict(x, verbose=0, precision="bfloat16")
    conv = gn.Sequential([layers.Conv1D(4, 2, input_shape=(5, 3), name="conv"),
                          layers.GRU(4)])
    with pytest.raises(ValueError, match="layer 'conv' \\(Conv1D\\) has no int8 kernel"):
        conv.predict(x, verbose=0, precision="int8")
    conv.predict(x, verbose=0)  # float32 runs
    with pytest.raises(ValueError, match="a mask was given"):
        model.predict(x, verbose=0, precision="bfloat16", mask=np.ones((2, 5), bool))
    embedded = gn.Sequential([layers.Embedding(5, 3, input_shape=(5,)), layers.GRU(4)])
    with pytest.raises(ValueError, match="integer ids"):
        embedded.predict(np.zeros((2, 5), int), verbose=0, precision="bfloat16")


@pytest.fixture(scope="module")
def digits_model():
    """A GRU classifier of scikit-learn's digits (the rows of each 8x8 image as 8 steps)."""
    datasets = pytest.importorskip("sklearn.datasets")
    x, y = datasets.load_digits(return_X_y=True)
    x = (x / 16).astype(np.float32).reshape(-1, 8, 8)
    gn.utils.set_random_seed(0)
    model = gn.Sequential([layers.GRU(64, input_shape=(8, 8)),
                           layers.Dense(10, activation="softmax")])
    model.compile(optimizer=gn.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x[:1400], y[:1400], epochs=15, batch_size=64, verbose=0)
    return model, x[1400:], y[1400:]


@pytest.fixture(scope="module")
def sunspots_model():
    """A GRU forecaster of statsmodels' yearly sunspot numbers (24 years -> the next)."""
    sm = pytest.importorskip("statsmodels.datasets")
    series = sm.sunspots.load_pandas().data["SUNACTIVITY"].to_numpy(np.float32) / 100
    windows = np.lib.stride_tricks.sliding_window_view(series, 25)
    x, y = windows[:, :24, None].copy(), windows[:, 24:].copy()
    gn.utils.set_random_seed(0)
    model = gn.Sequential([layers.GRU(128, input_shape=(24, 1)), layers.Dense(1)])
    model.compile(optimizer=gn.optimizers.Adam(0.003), loss="mse")
    model.fit(x[:220], y[:220], epochs=40, batch_size=32, verbose=0)
    return model, x[220:], y[220:]


@pytest.mark.parametrize("precision", REDUCED)
def test_trained_classifier_keeps_its_outputs_and_accuracy(digits_model, precision):
    model, x, y = digits_model
    full = model.predict(x, verbose=0)
    reduced = model.predict(x, verbose=0, precision=precision)
    assert (full.argmax(1) == y).mean() > 0.9  # a trained model
    assert np.abs(reduced - full).max() / np.abs(full).max() <= BOUNDS[precision]
    assert abs((reduced.argmax(1) == y).mean() - (full.argmax(1) == y).mean()) <= 0.005


@pytest.mark.parametrize("precision", REDUCED)
def test_trained_forecaster_keeps_its_outputs_and_error(sunspots_model, precision):
    model, x, y = sunspots_model
    full = model.predict(x, verbose=0)
    reduced = model.predict(x, verbose=0, precision=precision)
    assert np.abs(reduced - full).max() / np.abs(full).max() <= BOUNDS[precision]
    mae_full, mae_reduced = np.abs(full - y).mean(), np.abs(reduced - y).mean()
    assert mae_full < np.abs(y - x[:, -1]).mean()  # better than repeating the last year
    assert abs(mae_reduced - mae_full) <= 0.005


def _twin(model):
    """A model of the same layers and weights, not calibrated."""
    twin = type(model).from_config(model.get_config())
    twin.set_weights(model.get_weights())
    return twin


def test_fit_calibrates_int8_on_evenly_spaced_training_samples_when_first_used(rng):
    model = _model()
    x = rng.standard_normal((1100, 5, 3)).astype(np.float32)
    y = rng.standard_normal((1100, 2)).astype(np.float32)
    test = rng.standard_normal((64, 5, 3)).astype(np.float32)
    before_fit = model.stream(64, precision="int8")
    model.fit(x, y, epochs=1, batch_size=256, verbose=0)
    # calibrated when int8 is first used, on the weights then: these, not fit's
    model.set_weights([w * 1.1 for w in model.get_weights()])
    streamed = [before_fit.step(test[:, t]) for t in range(5)][-1]  # int8's first use
    twin = _twin(model)
    nearest = twin.predict(test, verbose=0, precision="int8")
    np.testing.assert_allclose(nearest, reference_predict(twin, test, PRODUCTS["int8"]),
                               rtol=0, atol=2e-4 * np.abs(nearest).max())
    stream = twin.stream(64, precision="int8")  # made before calibrate: steps calibrated too
    twin.calibrate(x[::3])  # up to 512 samples: every third of 1,100
    calibrated = model.predict(test, verbose=0, precision="int8")
    assert not np.allclose(calibrated, nearest, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(twin.predict(test, verbose=0, precision="int8"), calibrated)
    steps = [stream.step(test[:, t]) for t in range(5)]
    for last in (steps[-1], streamed):
        np.testing.assert_allclose(last, calibrated, rtol=1e-5, atol=1e-6)
    # the other precisions are not touched
    np.testing.assert_array_equal(model.predict(test, verbose=0), twin.predict(test, verbose=0))
    # a calibration moves to a model of the same layers as get_calibration gives it
    third = _twin(model)
    assert third.get_calibration() is None
    third.set_calibration(model.get_calibration())
    np.testing.assert_array_equal(third.predict(test, verbose=0, precision="int8"), calibrated)


def test_calibrated_int8_keeps_a_trained_classifier_closer_than_rounding(digits_model):
    model, x, y = digits_model
    full = model.predict(x, verbose=0)
    calibrated = model.predict(x, verbose=0, precision="int8")  # fit calibrated it
    nearest = _twin(model).predict(x, verbose=0, precision="int8")
    error = np.abs(calibrated - full).max() / np.abs(full).max()
    assert error <= BOUNDS["int8"]
    assert error < 0.75 * np.abs(nearest - full).max() / np.abs(full).max()
    np.testing.assert_array_equal(calibrated.argmax(1), full.argmax(1))


def test_bad_calibrations_are_clear_errors(rng):
    x = rng.standard_normal((4, 5, 3)).astype(np.float32)
    double = gn.Sequential([layers.GRU(4, input_shape=(5, 3))], dtype="float64")
    with pytest.raises(ValueError, match="float32 models"):
        double.calibrate(x)
    conv = gn.Sequential([layers.Conv1D(4, 2, input_shape=(5, 3), name="conv"), layers.GRU(4)])
    with pytest.raises(ValueError, match="no int8 inference plan.*'conv' \\(Conv1D\\)"):
        conv.calibrate(x)
    with pytest.raises(ValueError, match="float32 models"):
        double.set_calibration([None])
    model = _model()
    model.calibrate(x)
    kept = model.get_calibration()
    for bad, message in [([None], "a list of 3 entries"), (kept[:2] + [(np.eye(12), np.eye(2))],
                                                           "calibration 2: expected"),
                         ([kept[0], (np.eye(16), np.eye(16)), None], "calibration 1: a factor must"
                                                                       " be \\(12, 12\\)"),
                         ([(np.eye(3), np.full((16, 16), np.inf)), None, None], "finite")]:
        with pytest.raises(ValueError, match=message):
            model.set_calibration(bad)
    for a, b in zip(model.get_calibration(), kept):  # left as it was
        for u, v in zip(a, b or ()):
            np.testing.assert_array_equal(u, v)
    model = _model()
    with pytest.raises(ValueError, match="not a dataset"):
        model.calibrate(gn.data.timeseries_dataset_from_array(x[:, 0], None, 2))
    with pytest.raises(ValueError):
        model.calibrate(x[:, :, :2])  # not the model's input shape
    plan = model.inference_plan("int8")
    before = model.predict(x, verbose=0, precision="int8")
    with pytest.raises(ValueError, match="one entry per op"):
        plan.calibrate([None])
    with pytest.raises(ValueError, match="one entry per op"):
        model.inference_plan("bfloat16").calibrate([None] * 3)
    with pytest.raises(ValueError, match="calibration 2: op 2 \\(DenseOp\\)"):
        plan.calibrate([None, None, (np.eye(12), np.eye(12))])
    with pytest.raises(ValueError, match="calibration 0"):
        plan.calibrate([(np.eye(3), np.eye(5)), None, None])  # the GRU's units are 16
    with pytest.raises(ValueError, match="positive diagonal"):
        plan.calibrate([None, (np.eye(16), -np.eye(12)), None])
    np.testing.assert_array_equal(model.predict(x, verbose=0, precision="int8"), before)
