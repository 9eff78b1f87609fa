"""Models reach known answers: a sine forecaster, the adding problem, a padded token classifier."""

import numpy as np
import pytest

import gru_native
from gru_native import GRU, Dense, Embedding, Sequential


def windows(series, lookback):
    idx = np.arange(len(series) - lookback)
    return series[idx[:, None] + np.arange(lookback)][..., None], series[idx + lookback]


def test_sine_forecaster_reaches_low_mse():
    gru_native.utils.set_random_seed(0)
    t = np.arange(2000) * 0.1
    x, y = windows(np.sin(t).astype(np.float32), 10)
    model = Sequential([GRU(50, activation='tanh', input_shape=(10, 1)), Dense(1)])
    model.compile(optimizer='adam', loss='mse')
    model.fit(x[:1600], y[:1600], epochs=20, batch_size=32, verbose=0)
    mse = model.evaluate(x[1600:], y[1600:], verbose=0)
    assert mse < 1e-3, mse


def adding_problem(rng, n, T=50):
    values = rng.uniform(0, 1, (n, T))
    marks = np.zeros((n, T))
    for i in range(n):
        a, b = rng.choice(T, 2, replace=False)
        marks[i, [a, b]] = 1
    return np.stack([values, marks], -1).astype(np.float32), (values * marks).sum(1, keepdims=True)


def test_adding_problem_is_learned(rng):
    gru_native.utils.set_random_seed(1)
    x, y = adding_problem(rng, 3000)
    xt, yt = adding_problem(rng, 500)
    baseline = np.mean((yt - 1.0) ** 2)  # predicting the mean sum: MSE ~ 1/6
    model = Sequential([GRU(32, input_shape=(50, 2)), Dense(1)])
    model.compile(optimizer=gru_native.optimizers.Adam(3e-3, global_clipnorm=1.0), loss='mse')
    model.fit(x, y, epochs=25, batch_size=64, verbose=0)
    mse = model.evaluate(xt, yt, verbose=0)
    assert mse < 0.05 * baseline, (mse, baseline)


def token_data(rng, n, max_len=12, vocab=20):
    """Class = whether token 1 appears more often than token 2; the rest is noise."""
    lengths = rng.integers(6, max_len + 1, n)
    tokens = np.zeros((n, max_len), np.int64)
    labels = np.zeros(n, np.int64)
    for i, L in enumerate(lengths):
        seq = rng.integers(3, vocab, L)
        k1, k2 = rng.integers(0, 4, 2)
        while k1 == k2:
            k1, k2 = rng.integers(0, 4, 2)
        pos = rng.choice(L, k1 + k2, replace=False)
        seq[pos[:k1]], seq[pos[k1:]] = 1, 2
        tokens[i, :L] = seq
        labels[i] = int(k1 > k2)
    return tokens, labels


def test_token_classifier_with_mask_zero(rng):
    gru_native.utils.set_random_seed(2)
    x, y = token_data(rng, 3000)
    xt, yt = token_data(rng, 500)
    model = Sequential([Embedding(20, 16, mask_zero=True, input_shape=(None,)), GRU(32),
                        Dense(2, activation='softmax')])
    model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
    model.fit(x, y, epochs=12, batch_size=32, verbose=0)
    _, accuracy = model.evaluate(xt, yt, verbose=0)
    assert accuracy > 0.95, accuracy
    # however much padding is added, the predictions stay the same
    p = model.predict(xt)
    padded = np.concatenate([xt, np.zeros((len(xt), 30), np.int64)], axis=1)
    np.testing.assert_allclose(model.predict(padded), p, rtol=1e-5, atol=1e-6)


def test_calling_the_model_runs_a_forward_pass_in_either_mode(rng):
    """model(x) is predict on one batch; model(x, training=True) computes as fit does, with no
    optimizer step: BatchNormalization normalises by the batch (NumPy) and moves its moving
    statistics by its momentum, Dropout drops."""
    inputs = gru_native.Input((6, 3))
    normalized = gru_native.layers.BatchNormalization(momentum=0.9)(inputs)
    model = gru_native.Model(inputs, gru_native.layers.Dropout(0.5)(normalized), dtype="float64")
    x = rng.normal(loc=2.0, size=(5, 6, 3))
    np.testing.assert_array_equal(model(x), model.predict(x, verbose=0))
    weights = model.get_weights()  # gamma, beta, moving mean, moving variance
    out = model(x, training=True)
    mean, var = x.mean(axis=(0, 1)), x.var(axis=(0, 1))
    expected = (x - mean) / np.sqrt(var + 1e-3)
    kept = out != 0
    assert 0.2 < kept.mean() < 0.8  # Dropout(0.5) dropped about half
    np.testing.assert_allclose(out[kept], 2 * expected[kept], rtol=1e-12)
    after = model.get_weights()
    np.testing.assert_array_equal(after[:2], weights[:2])  # no optimizer step
    np.testing.assert_allclose(after[2], 0.9 * weights[2] + 0.1 * mean, rtol=1e-12)
    with pytest.raises(TypeError, match="training"):
        model(x, training=1)
