"""The inference plan (predict as one call into C) against the NumPy GRU reference and the
layer-by-layer path, for every layer form the plan runs."""

import threading

import numpy as np
import pytest

import gru_native as gn
from gru_native import layers
from gru_native.kernels.inference import InferencePlan
from gru_native.kernels.plan_ops import DenseOp, RecurrentOp

from helpers import layer_path_forward, reference_predict




MODELS = {
    "tutorial": lambda: [layers.GRU(7, input_shape=(6, 3)), layers.Dense(1)],
    "reset_before_no_bias": lambda: [layers.GRU(5, reset_after=False, use_bias=False,
                                                input_shape=(6, 3)), layers.Dense(2, use_bias=False)],
    "stacked_per_step_dense": lambda: [layers.GRU(6, return_sequences=True, input_shape=(6, 3)),
                                       layers.Dropout(0.5),
                                       layers.GRU(4, return_sequences=True, reset_after=False),
                                       layers.Dense(3)],
    "backwards_softmax": lambda: [layers.GRU(5, go_backwards=True, input_shape=(6, 3)),
                                  layers.Dense(4, activation="softmax")],
    "dense_then_activation": lambda: [layers.GRU(5, input_shape=(6, 3)), layers.Dense(4),
                                      layers.Dense(2), layers.Activation("tanh")],
    "lstm": lambda: [layers.LSTM(7, input_shape=(6, 3)), layers.Dense(1)],
    "lstm_gru_lstm_backwards": lambda: [
        layers.LSTM(6, return_sequences=True, use_bias=False, input_shape=(6, 3)),
        layers.GRU(5, return_sequences=True), layers.LSTM(4, go_backwards=True), layers.Dense(2)],
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_predict_through_the_plan_matches_numpy(rng, name, dtype):
    gn.utils.set_random_seed(3)
    model = gn.Sequential(MODELS[name](), dtype=dtype)
    assert model.inference_plan() is not None
    x = rng.normal(size=(9, 6, 3))
    expected = reference_predict(model, x)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for batch_size in (9, 4, 1):  # one batch, several with a short last one, one sample each
        y = model.predict(x, batch_size=batch_size, verbose=0)
        assert y.dtype == dtype and y.shape == expected.shape
        np.testing.assert_allclose(y, expected, rtol=tol, atol=tol)
    # The plan runs the same kernels as the layers, and its activations in C (libm's exp and
    # tanh, where the layers use NumPy's): equal up to an ulp or so.
    layer_tol = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(model.predict(x, verbose=0),
                               layer_path_forward(model, x.astype(dtype))[0],
                               rtol=layer_tol, atol=layer_tol)


def test_plan_sees_weight_updates_and_rebuilds_for_a_new_buffer(rng):
    model = gn.Sequential([layers.GRU(4, input_shape=(5, 2)), layers.Dense(1)])
    model.compile("adam", "mse")
    x, y = rng.normal(size=(8, 5, 2)), rng.normal(size=(8, 1))
    before = model.predict(x, verbose=0)
    model.fit(x, y, epochs=2, verbose=0)
    after = model.predict(x, verbose=0)
    assert not np.allclose(before, after)
    np.testing.assert_allclose(after, reference_predict(model, x), rtol=1e-5, atol=1e-6)
    model.add(layers.Dense(2))  # a new parameter buffer: the plan must follow it
    np.testing.assert_allclose(model.predict(x, verbose=0), reference_predict(model, x),
                               rtol=1e-5, atol=1e-6)


class _Custom:
    """An activation of the user's own (forward and backward): no C form, so no plan."""

    name = "custom"

    def forward(self, z):
        return np.maximum(z, 0) * 0.5

    def backward(self, da, a, z):
        return da * (z > 0) * 0.5


def test_models_without_a_plan_predict_through_their_layers(rng):
    """Stateful, masked, embedded and go_backwards-sequence models keep the layer path (and
    its results). (Bidirectional layers and activations between layers now run in the plan:
    tests/kernels/test_plan_graphs.py.)"""
    cases = [
        [layers.GRU(3, stateful=True, input_shape=(4, 2))],
        [layers.Masking(input_shape=(4, 2)), layers.GRU(3)],
        [layers.Embedding(5, 2, input_shape=(4,)), layers.GRU(3)],
        [layers.GRU(3, go_backwards=True, return_sequences=True, input_shape=(4, 2))],
        [layers.GRU(3, input_shape=(4, 2)), layers.Dense(3, activation=_Custom()), layers.Dense(1)],
    ]
    x = rng.normal(size=(5, 4, 2))
    for stack in cases:
        model = gn.Sequential(stack)
        assert model.inference_plan() is None
        if isinstance(stack[0], layers.Embedding):
            ids = rng.integers(0, 5, size=(5, 4))
            np.testing.assert_array_equal(model.predict(ids, verbose=0),
                                          layer_path_forward(model, ids)[0])
            continue
        y = model.predict(x, verbose=0)
        model.reset_states()  # the stateful model starts again from zeros
        np.testing.assert_array_equal(y, layer_path_forward(model, x.astype(np.float32))[0])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_predict_rejects_non_finite_inputs_with_and_without_a_plan(rng, dtype):
    x = rng.normal(size=(3, 7, 5)).astype(dtype)  # 105 values: a vector loop's tail too
    x[0, 0, 0] = np.finfo(dtype).max  # the largest finite values pass
    x[0, 0, 1] = -np.finfo(dtype).max
    x[0, 0, 2] = np.finfo(dtype).smallest_subnormal
    for stack in ([layers.GRU(3, input_shape=(7, 5))],
                  [layers.GRU(3, stateful=True, input_shape=(7, 5))]):
        model = gn.Sequential(stack, dtype=dtype)
        with np.errstate(over="ignore", invalid="ignore"):
            model.predict(x, verbose=0)
        for where in ((1, 2, 0), (2, 6, 4)):
            for bad in (np.nan, np.inf, -np.inf):
                xb = x.copy()
                xb[where] = bad
                with pytest.raises(ValueError, match="NaN or infinite"):
                    model.predict(xb, verbose=0)


def test_plan_checks_what_crosses_into_c(rng):
    w = np.zeros((2, 9), np.float32)
    u = np.zeros((3, 9), np.float32)
    b = np.zeros((2, 9), np.float32)

    def gru(kernel=w, recurrent=u, bias=b, return_sequences=True, x=0, out=1):
        return RecurrentOp("gru", kernel, recurrent, bias, True, False, return_sequences, x, (),
                           (out,))

    def chain(*ops):
        return InferencePlan(list(ops), np.float32, [0], [(None, 2)], [len(ops)])

    with pytest.raises(ValueError, match="op 0 .*field 'recurrent_kernel'"):
        chain(gru(recurrent=u[:, :6]))
    with pytest.raises(ValueError, match="C-contiguous float32"):
        chain(gru(kernel=w.astype(np.float64)))
    with pytest.raises(ValueError, match="op 1 .*field 'kernel' takes 4 features, but slot 1"):
        chain(gru(), DenseOp(np.zeros((4, 1), np.float32), None, "linear", 1, 2))
    with pytest.raises(ValueError, match="op 1 .*a recurrent op needs sequences"):
        chain(gru(return_sequences=False), gru(np.zeros((3, 9), np.float32), x=1, out=2))
    with pytest.raises(ValueError, match="op 0 must be a RecurrentOp"):
        chain(("rnn",))
    with pytest.raises(ValueError, match="op 0 .*field 'kind' must be 'gru' or 'lstm'"):
        chain(gru()._replace(kind="rnn"))
    plan = chain(gru())
    with pytest.raises(TypeError, match="C-contiguous float32"):
        plan.run([np.zeros((1, 4, 2))])
    with pytest.raises(ValueError, match=r"\(batch, timesteps, 2\)"):
        plan.run([np.zeros((1, 4, 3), np.float32)])
    with pytest.raises(ValueError, match="at least one sequence"):
        plan.run([np.zeros((0, 4, 2), np.float32)])
    states = plan.new_states(2)
    with pytest.raises(ValueError, match="states are for batches of 2, not 1"):
        plan.run([np.zeros((1, 4, 2), np.float32)], states)
    other = chain(gru())
    with pytest.raises(ValueError, match="another plan"):
        other.run([np.zeros((2, 4, 2), np.float32)], states)
    with pytest.raises(TypeError):
        plan.run([np.zeros((2, 4, 2), np.float32)], [np.zeros((2, 3), np.float32)])
    with pytest.raises(ValueError, match=r"\(batch, 2\) with at least one sequence, got \(2, 4, 2\)"):
        plan.step([np.zeros((2, 4, 2), np.float32)], states)
    with pytest.raises(ValueError, match="states are for batches of 2, not 3"):
        plan.step([np.zeros((3, 2), np.float32)], states)
    with pytest.raises(TypeError, match="C-contiguous float32"):
        plan.step([np.zeros((2, 2))], states)
    with pytest.raises(ValueError, match="NaN"):
        plan.step([np.full((2, 2), np.nan, np.float32)], states)
    with pytest.raises(TypeError):
        plan.step([np.zeros((2, 2), np.float32)], None)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        plan.new_states(0)


def test_concurrent_predictions_on_one_model_are_correct(rng):
    """The plan's scratch memory is not shared between threads running it at once."""
    model = gn.Sequential([layers.GRU(32, return_sequences=True, input_shape=(20, 4)),
                           layers.GRU(16), layers.Dense(3)])
    inputs = [rng.normal(size=(1 + i % 3, 20, 4)) for i in range(16)]
    expected = [model.predict(x, verbose=0) for x in inputs]
    results, errors = {}, []

    def work(k):
        try:
            for _ in range(100):
                i = (k * 5 + _) % len(inputs)
                y = model.predict(inputs[i], verbose=0)
                if not np.array_equal(y, expected[i]):
                    results[k] = (i, y)
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and not results


@pytest.mark.parametrize("cell", [layers.GRU, layers.LSTM])
def test_a_batch_scratch_holds_one_steps_input_projections(rng, cell):
    """Split by rows at inference, a recurrent op makes each step's input projections just
    before the step: its scratch does not grow with the sequence (only sequence outputs do)."""
    model = gn.Sequential([cell(16, input_shape=(None, 3)), layers.Dense(2)])
    plan = model.inference_plan()
    sizes = []
    for steps in (5, 500):
        x = rng.normal(size=(8, steps, 3)).astype(np.float32)
        np.testing.assert_allclose(model.predict(x, verbose=0), reference_predict(model, x),
                                   rtol=1e-4, atol=1e-5)
        sizes.append(plan.scratch_bytes)
    # a few (batch, units) blocks, and the recurrent kernel packed in tiles of 64 columns
    assert sizes[0] == sizes[1] < 8 * 16 * 4 * 20 + 4 * 16 * 64


def test_a_long_call_frees_its_scratch_and_a_short_one_keeps_it(rng):
    """One predict over 100,000 steps needs ~100 MB of scratch (the GRU's output sequence):
    freed when the call returns, while a short call's scratch is kept for the next calls."""
    import tracemalloc

    from gru_native.kernels.inference import SCRATCH_KEPT_BYTES

    model = gn.Sequential([layers.GRU(250, return_sequences=True, input_shape=(None, 1)),
                           layers.Dense(1)])
    plan = model.inference_plan()
    model.predict(rng.normal(size=(1, 50, 1)), verbose=0)
    kept = plan.scratch_bytes
    assert 0 < kept <= SCRATCH_KEPT_BYTES
    x = rng.normal(size=(1, 100_000, 1)).astype(np.float32)
    tracemalloc.start()
    try:
        y = model.predict(x, verbose=0)
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak > 90e6  # the call did need that much
    assert held < y.nbytes + 1e6  # and now holds its output only
    assert plan.scratch_bytes == kept
