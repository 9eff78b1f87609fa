"""save/load_model and pickle (src/gru_native/saving.py): exact round trips, resumable training."""

import pickle

import numpy as np
import pytest

import gru_native
from gru_native import GRU, Bidirectional, Dense, Dropout, Embedding, Sequential, load_model


def make_model():
    model = Sequential([Bidirectional(GRU(6, return_sequences=True, reset_after=False),
                                      merge_mode="sum", input_shape=(None, 3)),
                        GRU(5, dropout=0.1), Dropout(0.2), Dense(2, activation="tanh")])
    model.compile(optimizer=gru_native.optimizers.AdamW(2e-3, clipnorm=1.0), loss="huber",
                  metrics=["mae"])
    return model


@pytest.fixture
def data(rng):
    return rng.normal(size=(40, 7, 3)).astype(np.float32), rng.normal(size=(40, 2)).astype(np.float32)


def test_save_load_round_trips_predictions_and_resumes_training(tmp_path, data):
    x, y = data
    model = make_model()
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    path = tmp_path / "model.gru"
    model.save(path)
    loaded = load_model(path)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert loaded.optimizer.iterations == model.optimizer.iterations
    for model_ in (model, loaded):
        gru_native.utils.set_random_seed(3)
        model_.fit(x, y, epochs=2, batch_size=8, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_pickle_round_trip(data):
    x, y = data
    model = make_model()
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    clone = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(clone.predict(x), model.predict(x))
    assert [layer.name for layer in clone.layers] == [layer.name for layer in model.layers]


def test_embedding_model_and_weights_files(tmp_path, rng):
    model = Sequential([Embedding(30, 4, mask_zero=True, input_shape=(None,)), GRU(3), Dense(1)])
    tokens = rng.integers(0, 30, size=(5, 6))
    model.save_weights(tmp_path / "w.npz")
    other = Sequential([Embedding(30, 4, mask_zero=True, input_shape=(None,)), GRU(3), Dense(1)])
    other.load_weights(tmp_path / "w.npz")
    np.testing.assert_array_equal(other.predict(tokens), model.predict(tokens))
    model.save(tmp_path / "m")  # uncompiled, any file name
    np.testing.assert_array_equal(load_model(tmp_path / "m").predict(tokens), model.predict(tokens))


def test_loading_rejects_what_is_not_a_model(tmp_path):
    bad = tmp_path / "bad.npz"
    np.savez(bad, config=np.frombuffer(b'{"format": "other"}', np.uint8))
    with pytest.raises(ValueError, match="not a gru_native model"):
        load_model(bad)
    pickled = tmp_path / "pickled.npz"
    np.save(pickled, np.array([object()], dtype=object), allow_pickle=True)
    with pytest.raises(Exception):
        load_model(pickled)  # never unpickles
