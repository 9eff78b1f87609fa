"""sample_weight, class_weight and weighted_metrics as Keras 3 applies them: against Keras 3 (the
same weights, converted by from_keras) where it is installed, and against NumPy's weighted sums."""

import os

import numpy as np
import pytest

import gru_native as gn
from gru_native.layers import GRU, Dense, Masking

B, T, I = 6, 5, 3


@pytest.fixture
def keras():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    pytest.importorskip("jax")
    return pytest.importorskip("keras")


def _keras_pair(keras, rng, sequence=False, classes=None, masking=False):
    """A Keras GRU model with random weights and its conversion."""
    L = keras.layers
    inputs = keras.Input((T, I))
    h = L.Masking(0.0)(inputs) if masking else inputs
    h = L.GRU(4, return_sequences=sequence)(h)
    out = L.Dense(classes or 2, activation="softmax" if classes else None)(h)
    theirs = keras.Model(inputs, out)
    theirs.set_weights([rng.normal(scale=0.5, size=w.shape).astype(w.dtype)
                        for w in theirs.get_weights()])
    return theirs, gn.from_keras(theirs)


def _compile_both(theirs, ours, keras, loss, lr=0.1, **kwargs):
    theirs.compile(optimizer=keras.optimizers.SGD(lr), loss=loss, **kwargs)
    ours.compile(optimizer=gn.optimizers.SGD(lr), loss=loss, **kwargs)


def _close_weights(ours, theirs):
    for g, w in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(g, np.asarray(w), rtol=1e-5, atol=1e-5)


def test_weighted_evaluate_and_weighted_metrics_as_keras(keras, rng):
    theirs, ours = _keras_pair(keras, rng)
    _compile_both(theirs, ours, keras, "mse", metrics=["mae"], weighted_metrics=["mae", "mse"])
    x = rng.normal(size=(B, T, I)).astype(np.float32)
    y = rng.normal(size=(B, 2)).astype(np.float32)
    w = rng.uniform(0, 2, size=B).astype(np.float32)
    want = theirs.evaluate(x, y, sample_weight=w, batch_size=4, verbose=0, return_dict=True)
    got = ours.evaluate(x, y, sample_weight=w, batch_size=4, verbose=0, return_dict=True)
    assert set(got) == set(want) == {"loss", "mae", "weighted_mae", "mse"}
    for key in want:
        assert got[key] == pytest.approx(float(want[key]), rel=1e-5), key
    assert got["weighted_mae"] != pytest.approx(got["mae"], rel=1e-3)  # the weights count


@pytest.mark.parametrize("per_timestep", [False, True])
def test_one_weighted_train_step_as_keras(keras, rng, per_timestep):
    theirs, ours = _keras_pair(keras, rng, sequence=True)
    _compile_both(theirs, ours, keras, "mse")
    x = rng.normal(size=(B, T, I)).astype(np.float32)
    y = rng.normal(size=(B, T, 2)).astype(np.float32)
    w = rng.uniform(0, 2, size=(B, T) if per_timestep else B).astype(np.float32)
    # Keras broadcasts per-sample weights over the timesteps only when given as (samples, 1)
    want = theirs.train_on_batch(x, y, sample_weight=w if per_timestep else w[:, None])
    got = ours.train_on_batch(x, y, sample_weight=w)
    assert got == pytest.approx(float(want), rel=1e-5)
    _close_weights(ours, theirs)


def test_a_class_weighted_epoch_as_keras(keras, rng):
    theirs, ours = _keras_pair(keras, rng, classes=3)
    _compile_both(theirs, ours, keras, "sparse_categorical_crossentropy",
                  weighted_metrics=["accuracy"])
    x = rng.normal(size=(4 * B, T, I)).astype(np.float32)
    y = rng.integers(0, 3, size=4 * B)
    class_weight = {0: 0.5, 1: 2.0, 2: 1.25}
    want = theirs.fit(x, y, batch_size=5, epochs=1, shuffle=False, class_weight=class_weight,
                      verbose=0).history
    got = ours.fit(x, y, batch_size=5, epochs=1, shuffle=False, class_weight=class_weight,
                   verbose=0).history
    assert got["loss"][0] == pytest.approx(want["loss"][0], rel=1e-5)
    assert got["accuracy"][0] == pytest.approx(want["accuracy"][0], rel=1e-5)
    _close_weights(ours, theirs)


def test_a_masked_sequence_loss_is_divided_by_the_valid_steps_as_keras(keras, rng):
    theirs, ours = _keras_pair(keras, rng, sequence=True, masking=True)
    _compile_both(theirs, ours, keras, "mse", metrics=["mae"])
    x = rng.normal(size=(B, T, I)).astype(np.float32)
    x[np.arange(T) >= np.array([5, 3, 1, 4, 2, 5])[:, None]] = 0.0  # padding at the end
    y = rng.normal(size=(B, T, 2)).astype(np.float32)
    w = rng.uniform(0, 2, size=B).astype(np.float32)
    for weights in (None, w):
        want = theirs.evaluate(x, y, batch_size=B, verbose=0, return_dict=True,
                               sample_weight=None if weights is None else weights[:, None])
        got = ours.evaluate(x, y, batch_size=B, verbose=0, return_dict=True, sample_weight=weights)
        for key in want:
            assert got[key] == pytest.approx(float(want[key]), rel=1e-5), key
    theirs.train_on_batch(x, y, sample_weight=w[:, None])
    ours.train_on_batch(x, y, sample_weight=w)
    _close_weights(ours, theirs)


def _sequence_classifier(dtype="float64"):
    model = gn.Sequential([GRU(4, return_sequences=True, input_shape=(T, I)),
                           Dense(3, activation="softmax")], dtype=dtype)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    return model


@pytest.mark.parametrize("one_hot", [False, True])
def test_class_weight_on_sequence_targets_weights_each_timestep(rng, one_hot):
    model = _sequence_classifier()
    x = rng.normal(size=(B, T, I))
    labels = rng.integers(0, 3, size=(B, T))
    class_weight = {0: 0.25, 1: 3.0, 2: 1.0}
    if one_hot:
        model.compile(optimizer="sgd", loss="categorical_crossentropy")
    y = np.eye(3)[labels] if one_hot else labels
    p = model.predict(x, verbose=0)
    entries = -np.log(np.take_along_axis(p, labels[..., None], axis=-1)[..., 0])
    weights = np.vectorize(class_weight.get)(labels)
    want = np.sum(entries * weights) / entries.size
    got = model.train_on_batch(x, y, class_weight=class_weight)
    assert got == pytest.approx(want, rel=1e-10)


def test_class_weight_equals_its_sample_weights(rng):
    x = rng.normal(size=(B, T, I))
    labels = rng.integers(0, 3, size=(B, T))
    class_weight = {0: 0.25, 1: 3.0, 2: 1.0}
    a, b = _sequence_classifier(), _sequence_classifier()
    b.set_weights(a.get_weights())
    a.fit(x, labels, batch_size=4, epochs=2, shuffle=False, class_weight=class_weight, verbose=0)
    b.fit(x, labels, batch_size=4, epochs=2, shuffle=False,
          sample_weight=np.vectorize(class_weight.get)(labels), verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)


def _regressor():
    model = gn.Sequential([GRU(4, input_shape=(T, I)), Dense(1)], dtype="float64")
    model.compile(optimizer="sgd", loss="mse", weighted_metrics=["mae"])
    return model


def test_integer_weights_equal_repeated_samples_and_zero_weights_removal(rng):
    """sum(w * loss) / n: weights 2 equal a repeated sample up to the divisor (Keras divides by
    the batch size, not the weights' sum), and a weight 0 removes the sample's gradient."""
    x = rng.normal(size=(B, T, I))
    y = rng.normal(size=(B, 1))
    a = _regressor()
    w = np.array([2.0, 1, 0, 1, 1, 1])
    value = a.evaluate(x, y, sample_weight=w, verbose=0, return_dict=True)
    keep = [0, 0, 1, 3, 4, 5]
    plain = a.evaluate(x[keep], y[keep], verbose=0, return_dict=True)
    assert value["loss"] == pytest.approx(plain["loss"], rel=1e-12)
    assert value["mae"] == pytest.approx(plain["mae"], rel=1e-12)


def test_validation_data_with_sample_weights_and_validation_freq(rng):
    x = rng.normal(size=(B, T, I))
    y = rng.normal(size=(B, 1))
    w = rng.uniform(0, 2, size=B)
    model = _regressor()
    history = model.fit(x, y, epochs=4, validation_data=(x, y, w), validation_freq=2,
                        shuffle=False, verbose=0).history
    assert len(history["val_loss"]) == 2  # after epochs 2 and 4
    assert history["val_loss"][-1] == pytest.approx(
        model.evaluate(x, y, sample_weight=w, verbose=0)[0], rel=1e-12)
    history = model.fit(x, y, epochs=3, validation_data=(x, y), validation_freq=[1, 3],
                        verbose=0).history
    assert len(history["val_loss"]) == 2


def test_evaluate_and_predict_fire_their_callbacks(rng):
    events = []

    class Recorder(gn.callbacks.Callback):
        def on_test_begin(self, logs=None):
            events.append("test_begin")

        def on_test_batch_end(self, batch, logs=None):
            events.append(("test_batch", batch, round(logs["loss"], 12)))

        def on_test_end(self, logs=None):
            events.append("test_end")

        def on_predict_begin(self, logs=None):
            events.append("predict_begin")

        def on_predict_batch_end(self, batch, logs=None):
            events.append(("predict_batch", batch, logs["outputs"].shape))

        def on_predict_end(self, logs=None):
            events.append("predict_end")

    x = rng.normal(size=(B, T, I))
    y = rng.normal(size=(B, 1))
    model = _regressor()
    loss = model.evaluate(x, y, batch_size=4, callbacks=[Recorder()], verbose=0)[0]
    model.predict(x, batch_size=4, callbacks=[Recorder()], verbose=0)
    assert events[0] == "test_begin" and events[3] == "test_end"
    assert [e[1] for e in events[1:3]] == [0, 1]
    assert events[2][2] == round(loss, 12)
    assert events[4:] == ["predict_begin", ("predict_batch", 0, (4, 1)),
                          ("predict_batch", 1, (2, 1)), "predict_end"]
    events.clear()
    model.fit(x, y, epochs=1, validation_data=(x, y), verbose=0, callbacks=[Recorder()])
    assert events[0] == "test_begin" and events[-1] == "test_end"  # fit's validation


@pytest.mark.parametrize("weights, message", [
    (np.ones(B - 1), "sample_weight must have shape"),
    (np.ones((B, T + 1)), "sample_weight must have shape"),
    (np.r_[np.ones(B - 1), -1.0], "negative"),
    (np.r_[np.ones(B - 1), np.nan], "NaN or infinite"),
    (np.array(["a"] * B), "numeric"),
])
def test_bad_sample_weights_are_refused_and_change_nothing(rng, weights, message):
    model = _regressor()
    x, y = rng.normal(size=(B, T, I)), rng.normal(size=(B, 1))
    before = model.get_weights()
    with pytest.raises((ValueError, TypeError), match=message):
        model.fit(x, y, sample_weight=weights, verbose=0)
    with pytest.raises((ValueError, TypeError), match=message):
        model.train_on_batch(x, y, sample_weight=weights)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_bad_class_weights_are_refused(rng):
    model = _sequence_classifier()
    x, labels = rng.normal(size=(B, T, I)), np.arange(B * T).reshape(B, T) % 3
    with pytest.raises(ValueError, match=r"no weight for the classes \[2\]"):
        model.fit(x, labels, class_weight={0: 1.0, 1: 2.0}, verbose=0)
    with pytest.raises(ValueError, match="non-negative"):
        model.fit(x, labels, class_weight={0: 1.0, 1: -2.0, 2: 1.0}, verbose=0)
    with pytest.raises(ValueError, match="at the same time"):
        model.fit(x, labels, class_weight={0: 1, 1: 1, 2: 1}, sample_weight=np.ones(B), verbose=0)
    with pytest.raises(TypeError, match="class_weight"):
        model.fit(x, labels, class_weight=[1.0, 2.0, 3.0], verbose=0)


def test_weighted_metrics_are_saved(rng, tmp_path):
    model = _regressor()
    x, y, w = rng.normal(size=(B, T, I)), rng.normal(size=(B, 1)), rng.uniform(0, 2, size=B)
    model.fit(x, y, sample_weight=w, verbose=0)
    model.save(tmp_path / "m.gru")
    loaded = gn.models.load_model(tmp_path / "m.gru")
    assert loaded.evaluate(x, y, sample_weight=w, verbose=0, return_dict=True) == \
        model.evaluate(x, y, sample_weight=w, verbose=0, return_dict=True)
