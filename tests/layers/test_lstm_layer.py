"""The LSTM layer in models: gradients through whole models (finite differences), torch
equivalence of a stacked bidirectional model, masks, stateful states, return_state, saving,
and learning a task; the kernels themselves are tested in test_lstm.py."""

import numpy as np
import pytest

import gru_native
from gru_native import LSTM, Bidirectional, Dense, Embedding, Masking, Sequential
from gru_native.kernels.lstm import lstm_forward

from helpers import finite_difference_check, regression_data


@pytest.mark.parametrize("merge_mode", ["concat", "mul"])
def test_gradients_stacked_bidirectional_lstm(rng, merge_mode):
    x, y = regression_data(rng)
    model = Sequential([
        Bidirectional(LSTM(5, return_sequences=True), merge_mode=merge_mode, input_shape=(6, 3)),
        LSTM(4, go_backwards=True, dropout=0.0),
        Dense(2, activation="tanh"),
    ], dtype="float64")
    model.compile("sgd", "mse")
    finite_difference_check(model, x, y)


def test_gradients_with_masking_and_embedding(rng):
    x, y = regression_data(rng)
    x[1, 4:] = 0.0  # padding at the end, masked
    x[2, :2] = 0.0  # and at the start
    model = Sequential([Masking(input_shape=(6, 3)), LSTM(4, return_sequences=True), LSTM(3),
                        Dense(2)], dtype="float64")
    model.compile("sgd", "mse")
    finite_difference_check(model, x, y)
    tokens = rng.integers(1, 9, size=(5, 7))
    tokens[0, 4:] = 0
    model = Sequential([Embedding(9, 4, mask_zero=True, input_shape=(7,)), LSTM(3), Dense(1)],
                       dtype="float64")
    model.compile("sgd", "mse")
    finite_difference_check(model, tokens, rng.normal(size=(5, 1)))


def test_bidirectional_lstm_stack_matches_torch(rng):
    torch = pytest.importorskip("torch")
    I, H, T, B = 3, 5, 8, 4
    x = rng.normal(size=(B, T, I)).astype(np.float32)
    ours = Sequential([Bidirectional(LSTM(H, return_sequences=True), input_shape=(T, I)),
                       Dense(2)])
    theirs = torch.nn.LSTM(I, H, batch_first=True, bidirectional=True)
    head = torch.nn.Linear(2 * H, 2)
    w = ours.get_weights()
    with torch.no_grad():
        for suffix, (kernel, recurrent, bias) in (("", w[0:3]), ("_reverse", w[3:6])):
            getattr(theirs, "weight_ih_l0" + suffix).copy_(torch.from_numpy(kernel.T.copy()))
            getattr(theirs, "weight_hh_l0" + suffix).copy_(torch.from_numpy(recurrent.T.copy()))
            getattr(theirs, "bias_ih_l0" + suffix).copy_(torch.from_numpy(bias))
            getattr(theirs, "bias_hh_l0" + suffix).zero_()
        head.weight.copy_(torch.from_numpy(w[6].T.copy()))
        head.bias.copy_(torch.from_numpy(w[7]))
        want = head(theirs(torch.from_numpy(x))[0]).numpy()
    np.testing.assert_allclose(ours.predict(x, verbose=0), want, rtol=1e-5, atol=1e-5)


def test_unit_forget_bias_and_return_state(rng):
    layer = LSTM(4, return_state=True, return_sequences=True)
    x = rng.normal(size=(2, 5, 3)).astype(np.float32)
    y, h, c = layer(x)
    bias = layer.get_weights()[2]
    np.testing.assert_array_equal(bias[4:8], 1.0)  # Keras' unit_forget_bias
    np.testing.assert_array_equal(np.delete(bias, np.s_[4:8]), 0.0)
    np.testing.assert_array_equal(y[:, -1], h)
    assert c.shape == (2, 4) and not np.allclose(c, h)
    assert LSTM(4, unit_forget_bias=False, input_shape=(5, 3)) is not None


def test_recurrent_dropout_is_the_kernel_with_a_state_mask(rng):
    x = rng.normal(size=(4, 5, 3))
    layer = LSTM(6, recurrent_dropout=0.4, return_sequences=True, dtype="float64")
    layer(x)
    gru_native.utils.set_random_seed(11)
    y, _ = layer.forward(x, training=True)
    gru_native.utils.set_random_seed(11)
    mask = (gru_native.utils.rng().random((4, 6)) < 0.6) / 0.6
    want = lstm_forward(x, *layer.get_weights(), recurrent_mask=mask)[0]
    np.testing.assert_allclose(y, want, rtol=1e-12)
    assert not np.allclose(y, layer(x))  # inference uses no mask
    model = Sequential([LSTM(4, recurrent_dropout=0.3, input_shape=(6, 3)), Dense(2)],
                       dtype="float64")
    model.compile("sgd", "mse")
    x, y = regression_data(rng)
    finite_difference_check(model, x, y, dropout_seed=3)  # one mask for every pass


def test_stateful_lstm_carries_h_and_c(rng):
    x = rng.normal(size=(2, 6, 1)).astype(np.float32)
    whole = Sequential([LSTM(3, input_shape=(None, 1))])
    stateful = Sequential([LSTM(3, stateful=True, input_shape=(None, 1))])
    stateful.set_weights(whole.get_weights())
    stateful.predict(x[:, :3], verbose=0)
    np.testing.assert_allclose(stateful.predict(x[:, 3:], verbose=0), whole.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)
    stateful.reset_states()
    np.testing.assert_allclose(stateful.predict(x[:, :3], verbose=0),
                               whole.predict(x[:, :3], verbose=0), rtol=1e-6, atol=1e-6)


def test_lstm_model_saves_loads_and_learns(rng, tmp_path):
    gru_native.utils.set_random_seed(0)
    t = np.linspace(0, 30, 1200)
    series = np.sin(t)
    x = np.stack([series[i:i + 15] for i in range(1000)])[..., None]
    y = series[15:1015, None]
    model = Sequential([LSTM(16, input_shape=(15, 1)), Dense(1)])
    model.compile("adam", "mse")
    model.fit(x, y, batch_size=32, epochs=12, verbose=0)
    mse = float(np.mean((model.predict(x, verbose=0) - y) ** 2))
    assert mse < 0.02 * np.var(y), mse  # a fiftieth of predicting the mean
    model.save(tmp_path / "lstm.npz")
    loaded = gru_native.load_model(tmp_path / "lstm.npz")
    assert type(loaded.layers[0]).__name__ == "LSTM"
    np.testing.assert_array_equal(loaded.predict(x[:5], verbose=0), model.predict(x[:5], verbose=0))
