"""Bad input at every public entry point: the exception type and the words of its message, and a
model left as it was. Inputs of any numeric dtype, byte order and layout give the results of
their contiguous float32 copy."""

import warnings

import numpy as np
import pytest

import gru_native as gn
from gru_native import GRUClassifier, GRURegressor, layers

from helpers import misaligned

T, F = 5, 3


@pytest.fixture
def data(rng):
    return rng.normal(size=(20, T, F)).astype(np.float32), rng.normal(size=(20, 1))


def compiled_model(**compile_args):
    gn.utils.set_random_seed(0)
    model = gn.Sequential([layers.GRU(4, input_shape=(T, F)), layers.Dense(1)])
    model.compile(**{"optimizer": "adam", "loss": "mse", **compile_args})
    return model


def with_value(x, value):
    x = x.copy()
    x[3, 2, 1] = value
    return x


BAD_FIT = {
    "nan_x": (lambda x, y: (with_value(x, np.nan), y), ValueError, "x contains NaN or infinite"),
    "inf_x": (lambda x, y: (with_value(x, np.inf), y), ValueError, "x contains NaN or infinite"),
    "nan_y": (lambda x, y: (x, np.where(y > 0, np.nan, y)), ValueError, "y contains NaN or infinite"),
    "inf_y": (lambda x, y: (x, np.full_like(y, -np.inf)), ValueError, "y contains NaN or infinite"),
    "2d_x": (lambda x, y: (x[:, :, 0], y), ValueError, r"expects inputs of shape \(None, 5, 3\), got \(20, 5\)"),
    "4d_x": (lambda x, y: (x[..., None], y), ValueError, r"expects inputs of shape \(None, 5, 3\)"),
    "sample_counts": (lambda x, y: (x, y[:7]), ValueError, "different numbers of samples: 20 and 7"),
    "empty": (lambda x, y: (x[:0], y[:0]), ValueError, "x is empty"),
    "strings": (lambda x, y: (x.astype(str), y), TypeError, "x must be numeric"),
    "objects": (lambda x, y: (x.astype(object), y), TypeError, "x must be numeric"),
    "string_y": (lambda x, y: (x, y.astype(str)), TypeError, "y must be numeric"),
    "features": (lambda x, y: (np.zeros((20, T, F + 1)), y), ValueError, r"got \(20, 5, 4\)"),
    "ragged": (lambda x, y: ([x[0], x[1, :3]], y[:2]), ValueError, "ragged"),
}


@pytest.mark.parametrize("case", sorted(BAD_FIT))
def test_fit_rejects_bad_data_and_leaves_the_model_unchanged(data, case):
    make, error, words = BAD_FIT[case]
    model = compiled_model()
    before = model.get_weights()
    x, y = make(*data)
    with pytest.raises(error, match=words):
        model.fit(x, y, epochs=1, verbose=0)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert model.optimizer.iterations == 0


@pytest.mark.parametrize("method", ["predict", "evaluate"])
def test_predict_and_evaluate_reject_bad_data(data, method):
    model = compiled_model()
    x, y = data
    call = (lambda x: model.predict(x, verbose=0)) if method == "predict" else \
        (lambda x: model.evaluate(x, y[:len(x)], verbose=0))
    with pytest.raises(ValueError, match="NaN or infinite"):
        call(with_value(x, np.nan))
    with pytest.raises(ValueError, match=r"expects inputs of shape \(None, 5, 3\), got \(20, 5, 2\)"):
        call(x[:, :, :2])
    with pytest.raises(ValueError, match="x is empty"):
        call(x[:0])
    with pytest.raises(TypeError, match="x must be numeric, got dtype complex128"):
        call(x.astype(complex))


@pytest.mark.parametrize("args, words", [
    (dict(epochs=0), "epochs must be a positive integer, got 0"),
    (dict(epochs=-2), "epochs must be a positive integer"),
    (dict(epochs=2.5), "epochs must be a positive integer, got 2.5"),
    (dict(batch_size=0), "batch_size must be a positive integer, got 0"),
    (dict(batch_size=-1), "batch_size must be a positive integer"),
    (dict(batch_size=True), "batch_size must be a positive integer, got True"),  # not 1
    (dict(verbose=True), "verbose must be 'auto', 0, 1 or 2, got True"),
    (dict(initial_epoch=-1), "initial_epoch must be a non-negative integer"),
    (dict(verbose="loud"), "verbose must be 'auto', 0, 1 or 2, got 'loud'"),
    (dict(validation_split=1.0), r"validation_split must be in \[0, 1\)"),
])
def test_fit_rejects_bad_options(data, args, words):
    model = compiled_model()
    with pytest.raises(ValueError, match=words):
        model.fit(*data, **{"verbose": 0, **args})


@pytest.mark.parametrize("make, words", [
    (lambda: layers.GRU(0), "units must be a positive integer, got 0"),
    (lambda: layers.GRU(-3), "units must be a positive integer"),
    (lambda: layers.GRU(2.5), "units must be a positive integer, got 2.5"),
    (lambda: layers.Dense(0), "units must be a positive integer, got 0"),
    (lambda: layers.Dense(True), "units must be a positive integer, got True"),
    (lambda: layers.Dense(2, activation="relu6"), "unknown activation 'relu6'; known: linear, relu"),
    (lambda: layers.GRU(2, activation="relu"), "activation='tanh'"),
    (lambda: layers.GRU(2, dropout=1.0), r"dropout must be in \[0, 1\)"),
    (lambda: layers.Bidirectional(layers.GRU(2), merge_mode="max"), "merge_mode must be 'concat', 'sum', 'ave' or 'mul', got 'max'"),
    (lambda: gn.Sequential([layers.GRU(2, kernel_initializer="nope", input_shape=(T, F))]),
     "unknown initializer 'nope'; known:"),
])
def test_layers_reject_bad_arguments(make, words):
    with pytest.raises(ValueError, match=words):
        make()


@pytest.mark.parametrize("args, words", [
    (dict(optimizer="adamm"), "unknown optimizer 'adamm'; known: adam, adamw, rmsprop, sgd"),
    (dict(loss="msee"), "unknown loss 'msee'; known:"),
    (dict(metrics=["acc2"]), "unknown metric 'acc2'; known:"),
])
def test_compile_rejects_unknown_names_and_keeps_the_previous_compile(data, args, words):
    model = compiled_model()
    optimizer, loss = model.optimizer, model.loss
    with pytest.raises(ValueError, match=words):
        model.compile(**{"optimizer": "sgd", "loss": "mae", **args})
    assert model.optimizer is optimizer and model.loss is loss
    model.fit(*data, epochs=1, verbose=0)  # still trains with its previous compile


def test_reset_after_weight_layout_must_match():
    before = gn.Sequential([layers.GRU(4, reset_after=False, input_shape=(T, F))])
    after = gn.Sequential([layers.GRU(4, reset_after=True, input_shape=(T, F))])
    with pytest.raises(ValueError, match=r"weight 'bias' has shape \(2, 12\), got \(12,\)"):
        after.set_weights(before.get_weights())
    with pytest.raises(ValueError, match=r"weight 'bias' has shape \(12,\), got \(2, 12\)"):
        before.set_weights(after.get_weights())
    with pytest.raises(ValueError, match="NaN or infinite"):
        after.set_weights([np.full(w.shape, np.nan) for w in after.get_weights()])


@pytest.mark.parametrize("bad", ["shape", "nan"])
def test_set_weights_with_a_bad_array_for_a_later_layer_changes_no_weight(bad):
    model = compiled_model()
    before = model.get_weights()
    weights = [np.full(w.shape, 0.5, np.float32) for w in before]
    weights[-1] = np.zeros(5) if bad == "shape" else np.full(1, np.nan)  # the Dense bias
    with pytest.raises(ValueError, match="weight 'bias' has"):
        model.set_weights(weights)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("call", ["fit", "train_on_batch", "evaluate"])
@pytest.mark.parametrize("loss, y, words", [
    ("mse", np.zeros((4, 3)), r"y_true has shape \(4, 3\) but y_pred has shape \(4, 2\)"),
    ("sparse_categorical_crossentropy", np.full(4, 5), r"integers in \[0, 1\]"),
])
def test_bad_targets_leave_a_stateful_layers_states_and_the_weights_unchanged(rng, call, loss, y,
                                                                               words):
    model = gn.Sequential([layers.GRU(4, stateful=True, input_shape=(T, F)), layers.Dense(2)])
    model.compile("adam", loss)
    x = rng.normal(size=(4, T, F)).astype(np.float32)
    model.predict(x, verbose=0)  # states to keep
    states, weights = [s.copy() for s in model.layers[0].states], model.get_weights()
    run = {"fit": lambda: model.fit(x, y, batch_size=4, verbose=0),
           "train_on_batch": lambda: model.train_on_batch(x, y),
           "evaluate": lambda: model.evaluate(x, y, batch_size=4, verbose=0)}[call]
    with pytest.raises(ValueError, match=words):
        run()
    for a, b in zip(states + weights, model.layers[0].states + model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert model.optimizer.iterations == 0


@pytest.mark.parametrize("Estimator", [GRURegressor, GRUClassifier])
def test_estimators_reject_bad_data_and_options(data, Estimator):
    x, y = data
    y = (y.ravel() > 0).astype(int) if Estimator is GRUClassifier else y.ravel()
    cases = [
        (dict(units=0), x, y, ValueError, "units"),
        (dict(batch_size=0), x, y, ValueError, "batch_size must be a positive integer, got 0"),
        (dict(max_iter=0), x, y, ValueError, "max_iter must be a positive integer, got 0"),
        (dict(optimizer="adamm"), x, y, ValueError, "optimizer must be 'adam', 'adamw', 'rmsprop' or 'sgd', got 'adamm'"),
        ({}, with_value(x, np.nan), y, ValueError, "Input X contains NaN"),
        ({}, with_value(x, np.inf), y, ValueError, "Input X contains infinity"),
        ({}, x[:0], y[:0], ValueError, "0 sample"),
        ({}, x, y[:5], ValueError, "different numbers of samples: 20 and 5"),
        ({}, x.astype(str), y, TypeError, "X must be numeric"),
        ({}, x[..., None], y, ValueError, "X must be 2-D"),
    ]
    for params, xb, yb, error, words in cases:
        with pytest.raises(error, match=words):
            Estimator(**params).fit(xb, yb)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = Estimator(max_iter=1).fit(x, y)
    with pytest.raises(ValueError, match="4 features per timestep, but .* expecting 3"):
        fitted.predict(np.zeros((2, T, F + 1)))
    with pytest.raises(ValueError, match="Input X contains NaN"):
        fitted.predict(with_value(x, np.nan))


def test_any_numeric_dtype_byte_order_and_layout_predicts_as_its_float32_copy(rng):
    model = compiled_model()
    base = rng.normal(size=(6, T, F))
    reference = model.predict(np.ascontiguousarray(base, np.float32), verbose=0)
    variants = {
        "float64": base,
        "float16": base.astype(np.float16),
        "big_endian": base.astype(">f4"),
        "fortran": np.asfortranarray(base.astype(np.float32)),
        "strided": np.repeat(base.astype(np.float32), 2, axis=0)[::2],
        "transposed_view": np.ascontiguousarray(base.transpose(2, 1, 0)).transpose(2, 1, 0),
        "list": base.astype(np.float32).tolist(),
        "misaligned": misaligned(base.astype(np.float32)),
    }
    for name, x in variants.items():
        expected = model.predict(np.ascontiguousarray(x, np.float32), verbose=0)
        np.testing.assert_array_equal(model.predict(x, verbose=0), expected, err_msg=name)
        np.testing.assert_array_equal(model.predict_on_batch(x), expected, err_msg=name)
        if name not in ("float16",):  # float16 rounds the values themselves
            np.testing.assert_allclose(model.predict(x, verbose=0), reference, rtol=1e-6, err_msg=name)
    # dtype '>f4' is a precision, float32, whatever its byte order
    big_endian_model = gn.Sequential([layers.GRU(4, input_shape=(T, F)), layers.Dense(1)],
                                     dtype=">f4")
    big_endian_model.set_weights(model.get_weights())
    np.testing.assert_array_equal(big_endian_model.predict(base, verbose=0), reference)
    ints = rng.integers(-3, 4, size=(6, T, F))
    for dtype in (np.int8, np.int32, np.uint8, bool):
        x = ints.astype(dtype)
        np.testing.assert_array_equal(model.predict(x, verbose=0),
                                      model.predict(x.astype(np.float32), verbose=0))


def test_diverging_training_stops_with_a_warning_and_keeps_finite_weights(data):
    x, y = data
    model = compiled_model(optimizer=gn.optimizers.SGD(learning_rate=1e30))
    with pytest.warns(RuntimeWarning, match=r"training diverged at epoch 1, batch \d: .*last finite step"):
        history = model.fit(x, y * 1e10, batch_size=4, epochs=5, verbose=0)
    assert len(history.history["loss"]) == 1  # stopped in the first epoch
    assert all(np.isfinite(w).all() for w in model.get_weights())
    assert np.isfinite(model.predict(x, verbose=0)).all()


@pytest.mark.parametrize("optimizer, x_scale, words", [
    # gradients near 1e24: their square overflows Adam's velocity, the weights stay finite
    (lambda: gn.optimizers.Adam(), 1e25, "an optimizer slot NaN or infinite"),
    # steps of 1e30 times gradients of 1e9: the weights and the momentum overflow together
    (lambda: gn.optimizers.SGD(learning_rate=1e30, momentum=0.9), 1e10, "a weight NaN or infinite"),
])
def test_a_diverged_step_also_undoes_the_optimizer_state(tmp_path, optimizer, x_scale, words):
    """The optimizer's slots and step count go back with the weights, so the model still saves,
    loads and pickles."""
    import pickle

    model = gn.Sequential([layers.Dense(1, input_shape=(3,))])
    model.compile(optimizer(), "mae")
    model.train_on_batch(np.zeros((8, 3)), np.ones((8, 1)))  # a finite step: state to keep
    before = model.optimizer.get_state()
    with pytest.warns(RuntimeWarning, match=words):
        model.train_on_batch(np.full((8, 3), x_scale), np.ones((8, 1)))
    after = model.optimizer.get_state()
    assert after.keys() == before.keys() and model.optimizer.iterations == 1
    for name in before:
        np.testing.assert_array_equal(after[name], before[name], err_msg=name)
    model.save(tmp_path / "model.gnm")
    gn.load_model(tmp_path / "model.gnm")
    pickle.loads(pickle.dumps(model))


def test_a_non_finite_loss_changes_no_weight(data):
    """A model whose output overflows: the loss is infinite, the step is refused."""
    x, y = data
    model = compiled_model()
    model.layers[1].set_weights([np.full((4, 1), 3e38, np.float32), np.zeros(1, np.float32)])
    before = model.get_weights()
    with pytest.warns(RuntimeWarning, match="the loss is inf"):
        model.train_on_batch(x, y)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_memory_errors_name_the_size_and_leave_the_model_usable(rng):
    """Requests far beyond this machine's memory (hundreds of GiB) fail at allocation, before
    anything changes."""
    with pytest.raises(MemoryError, match="GiB"):
        gn.Sequential([layers.GRU(100_000, input_shape=(T, 100_000))])
    with pytest.raises(MemoryError, match=r"would need 4.47e\+10 GiB: layer 'gru_\d+' \(GRU\) alone "
                                          r"has 3e\+18 weights, its units .* are too large"):
        GRUClassifier(units=10**9).fit(rng.normal(size=(4, T, F)), [0, 1, 0, 1])
    model = compiled_model()
    x = rng.normal(size=(3, T, F))
    before = model.predict(x, verbose=0)
    with pytest.raises(MemoryError, match="GiB"):
        model.add(layers.Dense(100_000_000_000))  # 100 G weights
    assert [type(layer).__name__ for layer in model.layers] == ["GRU", "Dense"]
    np.testing.assert_array_equal(model.predict(x, verbose=0), before)
    model.fit(x, before, verbose=0)  # still trains
    big = gn.Sequential([layers.GRU(4096, recurrent_initializer="glorot_uniform",
                                    return_sequences=True, input_shape=(None, 2))])
    with pytest.raises(MemoryError, match="GiB"):  # the output of 64 x 200,000 steps x 4096
        big.predict(np.zeros((64, 200_000, 2), np.float32), batch_size=64)
