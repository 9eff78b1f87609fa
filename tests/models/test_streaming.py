"""Streaming (Sequential.stream) and Keras' stateful way: step-by-step outputs equal predict on
the whole sequence, which the NumPy reference checks independently (tests/test_inference.py).
Equal up to rounding: one step's products are GEMVs, a whole sequence's input products one GEMM,
and the BLAS sums them in different orders."""

import numpy as np
import pytest

import gru_native as gn
from gru_native import layers

from helpers import misaligned, reference_predict

STACKS = {
    "last_state": lambda: [layers.GRU(8, input_shape=(None, 3)), layers.Dense(2)],
    "sequences": lambda: [layers.GRU(8, return_sequences=True, input_shape=(None, 3)),
                          layers.Dense(2)],
    "wide_split_by_units": lambda: [layers.GRU(520, return_sequences=True, input_shape=(None, 3)),
                                    layers.GRU(16), layers.Dense(2)],
    "wide_lstm_split_by_units": lambda: [
        layers.LSTM(300, return_sequences=True, input_shape=(None, 3)), layers.LSTM(16),
        layers.Dense(2)],
    "lstm_gru_lstm": lambda: [layers.LSTM(9, return_sequences=True, input_shape=(None, 3)),
                              layers.GRU(6, return_sequences=True), layers.LSTM(5),
                              layers.Dense(2)],
    "stacked_reset_before_softmax": lambda: [
        layers.GRU(12, return_sequences=True, reset_after=False, input_shape=(None, 3)),
        layers.Dropout(0.3), layers.GRU(6), layers.Dense(4, activation="softmax")],
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(STACKS))
def test_steps_equal_predict_on_the_sequence_so_far(rng, name, dtype):
    gn.utils.set_random_seed(5)
    model = gn.Sequential(STACKS[name](), dtype=dtype)
    batch = 1 if name.startswith("wide") else 3  # one sequence: steps split by units
    x = rng.normal(size=(batch, 12, 3))
    stream = model.stream(batch_size=batch)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for t in range(12):
        y = stream.step(x[:, t])
        whole = model.predict(x[:, :t + 1], verbose=0)
        np.testing.assert_allclose(y, whole[:, t] if whole.ndim == 3 else whole, rtol=tol, atol=tol)
    expected = reference_predict(model, x)
    np.testing.assert_allclose(y, expected[:, -1] if expected.ndim == 3 else expected,
                               rtol=tol, atol=tol)


def test_reset_and_independent_streams(rng):
    model = gn.Sequential(STACKS["last_state"]())
    x = rng.normal(size=(1, 6, 3))
    a, b = model.stream(), model.stream()
    first = [a.step(x[:, t]) for t in range(6)]
    b.step(x[:, 0] * 5)  # another stream's state is its own
    a.reset()
    assert all(np.all(s == 0) for s in a.states)
    again = [a.step(x[:, t]) for t in range(6)]
    for u, v in zip(first, again):
        np.testing.assert_array_equal(u, v)


def test_stream_sees_weight_updates(rng):
    model = gn.Sequential(STACKS["last_state"]())
    model.compile("adam", "mse")
    stream = model.stream()
    x = rng.normal(size=(8, 4, 3))
    model.fit(x, rng.normal(size=(8, 2)), epochs=2, verbose=0)
    for t in range(4):
        y = stream.step(x[:1, t])
    np.testing.assert_allclose(y, model.predict(x[:1], verbose=0), rtol=1e-5, atol=1e-6)


def test_keras_stateful_predict_on_batch_and_reset_states(rng):
    x = rng.normal(size=(2, 9, 3))
    gn.utils.set_random_seed(2)
    stateful = gn.Sequential([layers.GRU(8, stateful=True, return_sequences=True,
                                         input_shape=(None, 3)), layers.Dense(1)])
    whole = stateful.predict(x, verbose=0)
    stateful.reset_states()
    chunks = [stateful.predict_on_batch(x[:, t:t + 3]) for t in range(0, 9, 3)]
    np.testing.assert_allclose(np.concatenate(chunks, axis=1), whole, rtol=1e-6, atol=1e-6)
    stateful.reset_states()
    np.testing.assert_allclose(stateful.predict_on_batch(x[:, :3]), whole[:, :3], rtol=1e-6, atol=1e-6)


def test_step_takes_any_numeric_layout_of_x_t(rng):
    """Lists, other dtypes, Fortran order, strided views and misaligned arrays give the float32
    contiguous result."""
    model = gn.Sequential(STACKS["last_state"]())
    x = rng.normal(size=(2, 5, 3))
    reference = model.stream(batch_size=2)
    want = [reference.step(x[:, t].astype(np.float32)) for t in range(5)]
    for convert in (lambda a: a.tolist(), lambda a: a, np.asfortranarray,
                    lambda a: np.repeat(a, 2, axis=1)[:, ::2].astype(np.float32),
                    lambda a: misaligned(a.astype(np.float32))):
        stream = model.stream(batch_size=2)
        for t in range(5):
            np.testing.assert_array_equal(stream.step(convert(x[:, t])), want[t])


def test_stream_rejects_what_it_cannot_do(rng):
    stream = gn.Sequential(STACKS["last_state"]()).stream(batch_size=2)
    with pytest.raises(ValueError, match=r"x_t must have shape \(batch_size, features\) = \(2, 3\)"):
        stream.step(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="NaN or infinite"):
        stream.step(np.full((2, 3), np.nan))
    with pytest.raises(TypeError, match="numeric"):
        stream.step(np.zeros((2, 3), dtype=str))
    with pytest.raises(ValueError, match="go_backwards"):
        gn.Sequential([layers.GRU(3, go_backwards=True, input_shape=(None, 2))]).stream()
    with pytest.raises(ValueError, match="cannot stream"):
        gn.Sequential([layers.Bidirectional(layers.GRU(3), input_shape=(None, 2))]).stream()
    with pytest.raises(ValueError, match="layer 'carrying' is stateful, and streaming a stateful "
                                         "model is not supported"):
        gn.Sequential([layers.GRU(3, stateful=True, name="carrying", input_shape=(None, 2))]).stream()
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 0"):
        gn.Sequential(STACKS["last_state"]()).stream(batch_size=0)
    model = gn.Sequential(STACKS["last_state"]())
    stream = model.stream()
    model.add(layers.Dense(1))
    with pytest.raises(RuntimeError, match="rebuilt"):
        stream.step(np.zeros((1, 3)))
