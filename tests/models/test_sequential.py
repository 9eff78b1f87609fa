"""The Keras-style model (src/gru_native/models.py): the tutorial program, summary, fit/evaluate/
predict contracts, and whole-model gradients against finite differences."""

import numpy as np
import pytest

import gru_native
from gru_native import (GRU, Activation, Bidirectional, Dense, Dropout, Embedding, Masking,
                        Sequential)
from helpers import finite_difference_check, layer_path_forward, regression_data


def test_tutorial_program_runs_verbatim_and_summary_counts_match_keras(capsys):
    model = Sequential([
        GRU(50, activation='tanh', input_shape=(10, 1)),
        Dense(1)
    ])
    model.compile(optimizer='adam', loss='mse')
    model.summary()
    out = capsys.readouterr().out
    gru_row = next(line for line in out.splitlines() if "(GRU)" in line)
    dense_row = next(line for line in out.splitlines() if "(Dense)" in line)
    assert "(None, 50)" in gru_row and "7,950" in gru_row
    assert "(None, 1)" in dense_row and "51" in dense_row
    assert "Total params: 8,001" in out
    assert model.count_params() == 8001
    assert gru_row.split()[1] .startswith("gru") and dense_row.split()[1].startswith("dense")


def test_weight_layouts_are_keras():
    model = Sequential([Bidirectional(GRU(4, return_sequences=True), input_shape=(None, 3)),
                        GRU(5, reset_after=False), Dense(2)])
    shapes = [w.shape for w in model.get_weights()]
    assert shapes == [(3, 12), (4, 12), (2, 12),   # forward GRU
                      (3, 12), (4, 12), (2, 12),   # backward GRU
                      (8, 15), (5, 15), (15,),     # reset_after=False: one bias row
                      (5, 2), (2,)]


def test_weights_live_in_one_buffer():
    model = Sequential([GRU(3, input_shape=(4, 2)), Dense(1)])
    for w in model.weights:
        assert np.shares_memory(w, model.parameters.params)
    for dtype in (np.float32, np.float64):  # buffers start on a cache line (64 bytes)
        wide = Sequential([GRU(256, input_shape=(None, 8)), Dense(1)], dtype=dtype)
        assert wide.parameters.params.ctypes.data % 64 == 0 and wide.parameters.grads.ctypes.data % 64 == 0
        assert wide.weights[1].ctypes.data % 64 == 0  # the recurrent kernel, 8 * 768 items in
        assert wide.parameters.params.size == wide.count_params()
    new = [np.full_like(w, i) for i, w in enumerate(model.get_weights())]
    model.set_weights(new)
    for w, v in zip(model.get_weights(), new):
        np.testing.assert_array_equal(w, v)






@pytest.mark.parametrize("merge_mode", ["concat", "sum", "ave", "mul"])
def test_gradients_stacked_bidirectional(rng, merge_mode):
    x, y = regression_data(rng)
    model = Sequential([
        Bidirectional(GRU(5, return_sequences=True), merge_mode=merge_mode, input_shape=(6, 3)),
        GRU(4, reset_after=False, go_backwards=True),
        Dense(2, activation="tanh"),
    ], dtype="float64")
    model.compile("sgd", "mse")
    finite_difference_check(model, x, y)


def test_gradients_per_timestep_dense(rng):
    x = rng.normal(size=(5, 7, 2))
    y = rng.normal(size=(5, 7, 3))
    model = Sequential([GRU(4, return_sequences=True, input_shape=(None, 2)),
                        Dense(6, activation="relu"), Dense(3)], dtype="float64")
    model.compile("sgd", "huber")
    finite_difference_check(model, x, y)


@pytest.mark.parametrize("loss,activation,y_kind", [
    ("mse", None, "real"), ("mae", "sigmoid", "real"), ("huber", "tanh", "real"),
    ("binary_crossentropy", "sigmoid", "binary"),
    ("categorical_crossentropy", "softmax", "onehot"),
    ("sparse_categorical_crossentropy", "softmax", "sparse"),
])
def test_gradients_every_loss_with_embedding_and_mask(rng, loss, activation, y_kind):
    n, T, classes = 6, 8, 3
    tokens = rng.integers(1, 10, size=(n, T))
    lengths = rng.integers(1, T + 1, size=n)
    tokens[np.arange(T) >= lengths[:, None]] = 0  # padding at the end
    units = 1 if y_kind == "binary" else classes
    y = {"real": rng.normal(size=(n, units)),
         "binary": rng.integers(0, 2, size=(n, 1)).astype(float),
         "onehot": np.eye(classes)[rng.integers(0, classes, n)],
         "sparse": rng.integers(0, classes, n)}[y_kind]
    model = Sequential([Embedding(10, 4, mask_zero=True, input_shape=(T,)), GRU(5),
                        Dense(units, activation=activation)], dtype="float64")
    model.compile("sgd", loss)
    finite_difference_check(model, tokens, y)


def test_gradients_masking_layer_and_pre_padding(rng):
    x = rng.normal(size=(5, 7, 2))
    x[0, :3] = 0  # pre-padding: the kernels see the valid steps first
    x[1, 5:] = 0
    x[2, 2] = 0   # a masked step in the middle
    y = rng.normal(size=(5, 1))
    model = Sequential([Masking(0.0, input_shape=(7, 2)), GRU(3, return_sequences=True),
                        GRU(3), Dense(1)], dtype="float64")
    model.compile("sgd", "mse")
    finite_difference_check(model, x, y)


def test_masked_steps_change_nothing(rng):
    """A padded sequence gives the prediction of the unpadded one, pre- or post-padded."""
    model = Sequential([Masking(0.0, input_shape=(None, 2)), GRU(4), Dense(1)])
    seq = rng.normal(size=(1, 5, 2)).astype(np.float32)
    want = model.predict(seq)
    pad = np.zeros((1, 3, 2), np.float32)
    np.testing.assert_allclose(model.predict(np.concatenate([seq, pad], 1)), want, rtol=1e-6)
    np.testing.assert_allclose(model.predict(np.concatenate([pad, seq], 1)), want, rtol=1e-6)


def test_fit_returns_history_and_reduces_loss(rng):
    x = rng.normal(size=(64, 5, 2)).astype(np.float32)
    y = x.sum(axis=(1, 2))[:, None]
    model = Sequential([GRU(8, input_shape=(5, 2)), Dense(1)])
    model.compile("adam", "mse", metrics=["mae"])
    history = model.fit(x, y, epochs=5, batch_size=16, verbose=0, validation_split=0.25)
    assert set(history.history) == {"loss", "mae", "val_loss", "val_mae"}
    assert len(history.history["loss"]) == 5
    assert history.history["loss"][-1] < history.history["loss"][0]
    loss, mae = model.evaluate(x, y, verbose=0)
    np.testing.assert_allclose(mae, np.mean(np.abs(model.predict(x) - y)), rtol=1e-5)


def test_fit_rejects_bad_data():
    model = Sequential([GRU(2, input_shape=(3, 1)), Dense(1)])
    model.compile("adam", "mse")
    x, y = np.zeros((4, 3, 1)), np.zeros((4, 1))
    with pytest.raises(ValueError, match="NaN"):
        model.fit(np.full((4, 3, 1), np.nan), y, verbose=0)
    with pytest.raises(ValueError, match="NaN"):
        model.fit(x, np.full((4, 1), np.inf), verbose=0)
    with pytest.raises(ValueError, match="different numbers of samples"):
        model.fit(x, y[:3], verbose=0)
    with pytest.raises(ValueError, match="empty"):
        model.fit(x[:0], y[:0], verbose=0)
    with pytest.raises(ValueError, match="expects inputs of shape"):
        model.fit(np.zeros((4, 3, 2)), y, verbose=0)
    with pytest.raises(TypeError):
        model.fit(np.array([[["a"]] * 3] * 4), y, verbose=0)
    with pytest.raises(RuntimeError, match="compile"):
        Sequential([GRU(2, input_shape=(3, 1))]).fit(x, y)
    with pytest.raises(ValueError):
        model.compile("nonsense", "mse")
    with pytest.raises(ValueError):
        model.compile("adam", "nonsense")


def test_keras_style_layer_calls_and_return_state(rng):
    x = rng.normal(size=(2, 4, 3)).astype(np.float32)
    y, h = GRU(5, return_sequences=True, return_state=True)(x)
    assert y.shape == (2, 4, 5) and h.shape == (2, 5)
    np.testing.assert_array_equal(y[:, -1], h)
    with pytest.raises(ValueError, match="return_state"):
        Sequential([GRU(5, return_state=True, input_shape=(4, 3))])


def test_go_backwards_returns_the_reversed_sequence(rng):
    x = rng.normal(size=(2, 4, 3)).astype(np.float32)
    fwd = GRU(5, return_sequences=True)
    fwd(x)
    bwd = GRU(5, return_sequences=True, go_backwards=True)
    bwd(x)
    bwd.set_weights(fwd.get_weights())
    np.testing.assert_allclose(bwd(x), fwd(x[:, ::-1]), rtol=1e-6)


def test_stateful_carries_state_between_batches(rng):
    x = rng.normal(size=(2, 6, 1)).astype(np.float32)
    whole = Sequential([GRU(3, input_shape=(None, 1))])
    stateful = Sequential([GRU(3, stateful=True, input_shape=(None, 1))])
    stateful.set_weights(whole.get_weights())
    stateful.predict(x[:, :3])
    np.testing.assert_allclose(stateful.predict(x[:, 3:]), whole.predict(x), rtol=1e-5)
    stateful.reset_states()
    np.testing.assert_allclose(stateful.predict(x[:, :3]), whole.predict(x[:, :3]), rtol=1e-6)


@pytest.mark.parametrize("reset_after", [True, False])
def test_recurrent_dropout_is_the_kernel_with_a_state_mask(rng, reset_after):
    x = rng.normal(size=(4, 5, 3))
    layer = GRU(6, recurrent_dropout=0.4, return_sequences=True, reset_after=reset_after,
                dtype="float64")
    layer(x)
    gru_native.utils.set_random_seed(11)
    y, _ = layer.forward(x, training=True)
    gru_native.utils.set_random_seed(11)
    mask = (gru_native.utils.rng().random((4, 6)) < 0.6) / 0.6
    want, _, _ = gru_native.gru_forward(x, *layer.get_weights(), reset_after=reset_after,
                                        recurrent_mask=mask)
    np.testing.assert_allclose(y, want, rtol=1e-12)
    assert not np.allclose(y, layer(x))  # inference uses no mask


def test_dropout_only_in_training(rng):
    x = rng.normal(size=(4, 5, 3)).astype(np.float32)
    model = Sequential([GRU(4, dropout=0.5, recurrent_dropout=0.3, input_shape=(5, 3)),
                        Dropout(0.5), Dense(1)])
    np.testing.assert_array_equal(model.predict(x), model.predict(x))
    y_train = layer_path_forward(model, x, training=True)[0]
    assert not np.allclose(y_train, model.predict(x))


def test_same_seed_same_weights_and_training(rng):
    x = rng.normal(size=(32, 5, 2)).astype(np.float32)
    y = rng.normal(size=(32, 1)).astype(np.float32)

    def train():
        gru_native.utils.set_random_seed(7)
        model = Sequential([GRU(6, dropout=0.2, input_shape=(5, 2)), Dropout(0.1), Dense(1)])
        model.compile("adam", "mse")
        model.fit(x, y, epochs=2, batch_size=8, verbose=0)
        return model.get_weights()

    for a, b in zip(train(), train()):
        np.testing.assert_array_equal(a, b)


def test_activation_layer_and_softmax_output(rng):
    x = rng.normal(size=(3, 4, 2)).astype(np.float32)
    model = Sequential([GRU(3, input_shape=(4, 2)), Dense(5), Activation("softmax")])
    p = model.predict(x)
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-6)


def test_step_mask_argument_equals_masking_layer(rng):
    """fit/predict's mask (valid steps) gives what a Masking layer gives on zero-padded data."""
    x = rng.normal(size=(6, 5, 2)).astype(np.float32)
    lengths = np.array([5, 3, 1, 4, 2, 5])
    mask = np.arange(5) < lengths[:, None]
    x[~mask] = 0
    y = rng.normal(size=(6, 1)).astype(np.float32)
    plain = Sequential([GRU(4, input_shape=(5, 2)), Dense(1)])
    masked = Sequential([Masking(0.0, input_shape=(5, 2)), GRU(4), Dense(1)])
    masked.set_weights(plain.get_weights())
    np.testing.assert_allclose(plain.predict(x, mask=mask), masked.predict(x), rtol=1e-6)
    for model in (plain, masked):
        gru_native.utils.set_random_seed(5)
        model.compile("adam", "mse")
    gru_native.utils.set_random_seed(5)
    plain.fit(x, y, epochs=2, batch_size=4, verbose=0, mask=mask)
    gru_native.utils.set_random_seed(5)
    masked.fit(x, y, epochs=2, batch_size=4, verbose=0)
    for a, b in zip(plain.get_weights(), masked.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="mask must have shape"):
        plain.predict(x, mask=mask[:, :3])


def test_non_trainable_layers_keep_their_weights(rng, capsys):
    x = rng.normal(size=(16, 5, 2)).astype(np.float32)
    y = rng.normal(size=(16, 1)).astype(np.float32)
    model = Sequential([GRU(4, input_shape=(5, 2)), Dense(1)])
    model.compile(optimizer="adamw", loss="mse")  # weight decay would move frozen weights too
    model.layers[0].trainable = False
    before = model.get_weights()
    model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    after = model.get_weights()
    for a, b in zip(before[:3], after[:3]):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(before[3], after[3])
    model.summary()
    out = capsys.readouterr().out
    assert "Trainable params: 5 " in out and "Non-trainable params: 96 " in out


def test_to_categorical_matches_an_identity_matrix_lookup():
    labels = np.array([[2], [0], [1], [2]])
    np.testing.assert_array_equal(gru_native.utils.to_categorical(labels),
                                  np.eye(3, dtype=np.float32)[[2, 0, 1, 2]])
    seq = np.array([[0, 3], [1, 1]])
    out = gru_native.utils.to_categorical(seq, num_classes=5)
    assert out.shape == (2, 2, 5) and out.dtype == np.float32
    np.testing.assert_array_equal(out.argmax(-1), seq)
    with pytest.raises(ValueError, match="num_classes"):
        gru_native.utils.to_categorical(seq, num_classes=3)
    with pytest.raises(ValueError, match="non-negative"):
        gru_native.utils.to_categorical([-1, 0])


def test_a_sequential_model_builds_its_layers_once(monkeypatch):
    """Building on each add re-wired and re-allocated the whole stack n times: 400 layers took
    2.6 s; stacked first and built once, 0.04 s."""
    builds = []
    real_build = Sequential.build
    monkeypatch.setattr(Sequential, "build", lambda self, shape: (builds.append(shape),
                                                                   real_build(self, shape))[1])
    before = gru_native.layers.base.allocations()
    model = Sequential([GRU(4, return_sequences=True, input_shape=(None, 3)) for _ in range(5)]
                       + [GRU(4), Dense(1)])
    assert len(builds) == 1
    assert gru_native.layers.base.allocations() - before == 1  # one parameter buffer, made once
    assert model.predict(np.zeros((2, 5, 3), np.float32)).shape == (2, 1)
