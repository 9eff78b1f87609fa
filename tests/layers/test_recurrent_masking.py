"""Masked steps in the GRU and LSTM layers as Keras 3 computes them: the state passes through a
masked step unchanged, and the sequence output there repeats the output of the last step the
layer ran (the initial state before any; with go_backwards the output of the next valid step in
the original order). Against a NumPy step loop (always) and Keras 3 (when installed): every
position of the sequence and the final states, forward and by central differences backward,
with padding at the end, at the start, gaps in the middle, a fully masked sequence, go_backwards,
initial states and stateful layers."""

import os

import numpy as np
import pytest

import gru_native as gn
from gru_native.layers.recurrent import gather_outputs, output_sources, scatter_gradient

from gru_reference import forward as gru_reference
from helpers import assert_matches_central_differences, finite_difference_check
from lstm_reference import forward as lstm_reference

B, T, I, H = 5, 7, 3, 4

MASKS = {
    # padding at the end (one full sequence, one of a single step)
    "end": np.arange(T) < np.array([T, 4, 1, 6, 2])[:, None],
    # padding at the start
    "start": np.arange(T) >= np.array([0, 3, 6, 1, 2])[:, None],
    # gaps in the middle and at both ends, and a fully masked sequence
    "gaps": np.array([[1, 1, 0, 0, 1, 0, 1],
                      [0, 1, 1, 0, 1, 1, 0],
                      [0, 0, 0, 0, 0, 0, 0],
                      [1, 0, 1, 0, 1, 0, 1],
                      [0, 0, 0, 1, 0, 0, 0]], bool),
}

KINDS = ["gru", "gru_reset_before", "lstm"]


def make_layer(kind, dtype, **kwargs):
    if kind == "lstm":
        return gn.LSTM(H, dtype=dtype, **kwargs)
    return gn.GRU(H, reset_after=kind == "gru", dtype=dtype, **kwargs)


def random_weights(kind, rng, dtype):
    if kind == "lstm":
        shapes = [(I, 4 * H), (H, 4 * H), (4 * H,)]
    else:
        shapes = [(I, 3 * H), (H, 3 * H), (2, 3 * H) if kind == "gru" else (3 * H,)]
    return [rng.normal(scale=0.6, size=s).astype(dtype) for s in shapes]


def random_states(kind, rng, dtype, batch=B):
    return [rng.normal(scale=0.7, size=(batch, H)).astype(dtype)
            for _ in range(2 if kind == "lstm" else 1)]


def run_ours(kind, weights, x, mask, states=None, go_backwards=False, **kwargs):
    """[sequence, final states...] of our layer (return_sequences and return_state)."""
    layer = make_layer(kind, x.dtype, return_sequences=True, return_state=True,
                       go_backwards=go_backwards, **kwargs)
    layer(x[:, :1])  # build
    layer.set_weights(weights)
    return layer(x, initial_state=states, mask=mask)


def reference(kind, weights, x, mask, states=None, go_backwards=False, zero_output=False):
    """NumPy, float64: Keras 3's masked loop (backend.rnn) one step at a time, each step one
    call of the reference cell on a single step; a masked step keeps the states and repeats the
    previous output, which starts as the initial h (zero_output: its output is zero)."""
    x = np.asarray(x, np.float64)
    W, U, b = (np.asarray(w, np.float64) for w in weights)
    states = [np.zeros((len(x), H))] * (2 if kind == "lstm" else 1) if states is None else \
        [np.asarray(s, np.float64) for s in states]
    out = states[0].copy()  # the output a masked step repeats
    steps = range(T - 1, -1, -1) if go_backwards else range(T)
    ys = []
    for t in steps:
        if kind == "lstm":
            _, h, c, _ = lstm_reference(x[:, t:t + 1], W, U, b, states[0], states[1])
            new = [h, c]
        else:
            _, h, _ = gru_reference(x[:, t:t + 1], W, U, b, states[0],
                                    reset_after=kind == "gru")
            new = [h]
        m = mask[:, t:t + 1]
        states = [np.where(m, n, s) for n, s in zip(new, states)]
        out = np.where(m, new[0], out)
        ys.append(np.where(m, out, 0.0) if zero_output else out)
    # the outputs in the order the layer ran (reversed with go_backwards, as Keras returns them)
    return [np.stack(ys, axis=1)] + states


def keras_run(keras, kind, weights, x, mask, states=None, go_backwards=False, **kwargs):
    L = keras.layers
    if kind == "lstm":
        layer = L.LSTM(H, return_sequences=True, return_state=True, go_backwards=go_backwards,
                       **kwargs)
    else:
        layer = L.GRU(H, return_sequences=True, return_state=True, go_backwards=go_backwards,
                      reset_after=kind == "gru", **kwargs)
    layer.build(x.shape)
    layer.set_weights(weights)
    return layer, [np.asarray(a) for a in layer(x, mask=mask, initial_state=states)]


def import_keras():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    return pytest.importorskip("keras")


def max_error(got, want):
    return max(float(np.max(np.abs(np.asarray(g, np.float64) - w))) for g, w in zip(got, want))


# ---- the index helpers ------------------------------------------------------------------------
@pytest.mark.parametrize("go_backwards", [False, True])
def test_output_sources(go_backwards):
    mask = np.array([[0, 1, 1, 0, 1, 0], [0, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 0]], bool)
    source = output_sources(mask, mask.sum(axis=1), go_backwards)
    if go_backwards:  # the next valid step in the compacted order, -1 after the last one
        want = [[0, 0, 1, 2, 2, -1], [-1] * 6, [0, 1, 2, 3, 4, -1]]
    else:  # the previous valid step, -1 before the first one
        want = [[-1, 0, 1, 1, 2, 2], [-1] * 6, [0, 1, 2, 3, 4, 4]]
    np.testing.assert_array_equal(source, want)
    full = np.ones((2, 4), bool)
    assert output_sources(full, full.sum(axis=1), go_backwards) is None


@pytest.mark.parametrize("mask_kind", sorted(MASKS))
def test_scatter_gradient_is_the_adjoint_of_gather_outputs(rng, mask_kind):
    mask = MASKS[mask_kind]
    for go_backwards in (False, True):
        for repeats in (True, False):  # repeats False: zero_output_for_mask's sources
            source = output_sources(mask, mask.sum(axis=1), go_backwards)
            if not repeats:
                source[~mask] = -1
            y, h0, dy = (rng.normal(size=s) for s in ((B, T, H), (B, H), (B, T, H)))
            d_compact, d_h0 = scatter_gradient(dy, source, mask, repeats)
            # <dy, gather(y, h0)> = <d_compact, y> + <d_h0, h0> for every y, h0 (linear)
            lhs = np.sum(dy * gather_outputs(y, source, h0 if repeats else None))
            np.testing.assert_allclose(lhs, np.sum(d_compact * y) + np.sum(d_h0 * h0),
                                       rtol=1e-12)
            # compacted steps past a sequence's length get nothing
            np.testing.assert_array_equal(d_compact[np.arange(T) >= mask.sum(axis=1)[:, None]],
                                          0.0)
        np.testing.assert_array_equal(gather_outputs(y, source, None)[source < 0], 0.0)


# ---- forward: NumPy reference and Keras 3 ------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("mask_kind", sorted(MASKS))
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("with_states", [False, True])
def test_forward_against_numpy(rng, kind, mask_kind, go_backwards, with_states):
    weights = random_weights(kind, rng, np.float64)
    x = rng.normal(size=(B, T, I))
    mask = MASKS[mask_kind]
    states = random_states(kind, rng, np.float64) if with_states else None
    got = run_ours(kind, weights, x, mask, states, go_backwards)
    want = reference(kind, weights, x, mask, states, go_backwards)
    assert max_error(got, want) <= 1e-10
    # the sequence output at a masked step is not zero (it repeats an earlier output)
    seq = got[0][:, ::-1] if go_backwards else got[0]
    if with_states:
        assert np.all(np.abs(seq[~mask]).max(axis=-1) > 0)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("mask_kind", sorted(MASKS))
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("with_states", [False, True])
def test_forward_against_keras(rng, kind, mask_kind, go_backwards, with_states):
    keras = import_keras()
    weights = random_weights(kind, rng, np.float32)
    x = rng.normal(size=(B, T, I)).astype(np.float32)
    mask = MASKS[mask_kind]
    states = random_states(kind, rng, np.float32) if with_states else None
    _, want = keras_run(keras, kind, weights, x, mask, states, go_backwards)
    got = run_ours(kind, weights, x, mask, states, go_backwards)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)
    # and Keras agrees with the float64 reference to float32's precision
    assert max_error(want, reference(kind, weights, x, mask, states, go_backwards)) <= 1e-5


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("go_backwards", [False, True])
def test_stateful_layer_carries_states_through_masked_steps(rng, kind, go_backwards):
    """Two calls of a stateful layer: the second starts from the first's final states, and its
    masked steps before any valid one repeat them."""
    weights = random_weights(kind, rng, np.float64)
    xs = [rng.normal(size=(B, T, I)) for _ in range(2)]
    masks = [MASKS["gaps"], MASKS["start"]]
    layer = make_layer(kind, np.float64, return_sequences=True, return_state=True,
                       go_backwards=go_backwards, stateful=True)
    layer(xs[0][:, :1])
    layer.set_weights(weights)
    layer.reset_states()
    got = [layer(x, mask=m) for x, m in zip(xs, masks)]
    states = None
    for x, m, g in zip(xs, masks, got):
        want = reference(kind, weights, x, m, states, go_backwards)
        assert max_error(g, want) <= 1e-10
        states = want[1:]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("go_backwards", [False, True])
def test_stateful_layer_against_keras(rng, kind, go_backwards):
    keras = import_keras()
    weights = random_weights(kind, rng, np.float32)
    xs = [rng.normal(size=(B, T, I)).astype(np.float32) for _ in range(2)]
    masks = [MASKS["gaps"], MASKS["start"]]
    layer = make_layer(kind, np.float32, return_sequences=True, go_backwards=go_backwards,
                       stateful=True)
    layer(xs[0][:, :1])
    layer.set_weights(weights)
    layer.reset_states()
    got = [layer(x, mask=m) for x, m in zip(xs, masks)]
    L = keras.layers
    cls = L.LSTM if kind == "lstm" else L.GRU
    extra = {} if kind == "lstm" else {"reset_after": kind == "gru"}
    theirs = keras.Sequential([keras.Input(batch_shape=(B, T, I)),
                               cls(H, return_sequences=True, stateful=True,
                                   go_backwards=go_backwards, **extra)])
    theirs.layers[-1].set_weights(weights)
    for x, m, g in zip(xs, masks, got):
        np.testing.assert_allclose(g, np.asarray(theirs.layers[-1](x, mask=m)), rtol=1e-5,
                                   atol=1e-5)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("go_backwards", [False, True])
def test_zero_output_for_mask(rng, kind, go_backwards):
    """Keras' zero_output_for_mask=True (what Bidirectional sets): zeros at masked steps; the
    states still pass through them."""
    weights = random_weights(kind, rng, np.float64)
    x = rng.normal(size=(B, T, I))
    mask = MASKS["gaps"]
    states = random_states(kind, rng, np.float64)
    got = run_ours(kind, weights, x, mask, states, go_backwards, zero_output_for_mask=True)
    want = reference(kind, weights, x, mask, states, go_backwards, zero_output=True)
    assert max_error(got, want) <= 1e-10
    np.testing.assert_array_equal((got[0][:, ::-1] if go_backwards else got[0])[~mask], 0.0)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("go_backwards", [False, True])
def test_zero_output_for_mask_against_keras(rng, kind, go_backwards):
    keras = import_keras()
    weights = random_weights(kind, rng, np.float32)
    x = rng.normal(size=(B, T, I)).astype(np.float32)
    mask = MASKS["gaps"]
    states = random_states(kind, rng, np.float32)
    _, want = keras_run(keras, kind, weights, x, mask, states, go_backwards,
                        zero_output_for_mask=True)
    got = run_ours(kind, weights, x, mask, states, go_backwards, zero_output_for_mask=True)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)


# ---- backward: central differences (float64) ---------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("mask_kind,zero_output", [("gaps", False), ("start", False),
                                                   ("gaps", True)])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("with_states", [False, True])
def test_gradients_by_central_differences(rng, kind, mask_kind, go_backwards, with_states,
                                          zero_output):
    """d/d(x, weights, initial states) of sum(w * sequence) + sum(v * final states): a masked
    step's output gradient reaches the step it repeats (or the initial h); none with
    zero_output_for_mask."""
    weights = random_weights(kind, rng, np.float64)
    x = rng.normal(size=(B, T, I))
    mask = MASKS[mask_kind]
    states = random_states(kind, rng, np.float64) if with_states else None
    layer = make_layer(kind, np.float64, return_sequences=True, return_state=True,
                       go_backwards=go_backwards, zero_output_for_mask=zero_output)
    layer(x[:, :1])
    layer.set_weights(weights)
    outputs = layer(x, initial_state=states, mask=mask, training=True)
    ws = [rng.normal(size=o.shape) for o in outputs]
    for g in layer.grads:
        g[...] = 0
    grads = layer.backward_node([w.copy() for w in ws], True)
    analytic = [grads[0]] + [g.copy() for g in layer.grads] + list(grads[1:])
    assert len(analytic) == 1 + 3 + (len(states) if with_states else 0)

    def loss():
        outs = layer(x, initial_state=states, mask=mask)
        return sum(float(np.sum(w * o)) for w, o in zip(ws, outs))

    arrays = [x] + layer.weights + (states if with_states else [])
    for array, g in zip(arrays, analytic):
        assert g.shape == array.shape
    names = [f"array {i}" for i in range(len(arrays))]  # x, the weights, the initial states
    assert_matches_central_differences(loss, dict(zip(names, arrays)), dict(zip(names, analytic)),
                                       atol=1e-8)
    np.testing.assert_array_equal(analytic[0][~mask], 0.0)  # masked inputs change nothing


def test_model_gradients_when_a_layer_reads_the_repeated_outputs(rng):
    """Conv1D drops the mask (as Keras'), so it reads the GRU's outputs at masked steps: the
    model's gradients by central differences."""
    x = rng.normal(size=(5, 7, 2))
    mask = MASKS["gaps"]
    x[~mask] = 0.0
    model = gn.Sequential([gn.Masking(0.0, input_shape=(7, 2)),
                           gn.GRU(3, return_sequences=True),
                           gn.LSTM(3, return_sequences=True, go_backwards=True),
                           gn.layers.Conv1D(2, 3), gn.Flatten(), gn.Dense(1)], dtype="float64")
    model.compile("sgd", "mse")
    finite_difference_check(model, x, rng.normal(size=(5, 1)), n_checks=120)


def test_model_gradients_bidirectional_with_gaps(rng):
    """Bidirectional (zeros at masked steps, as Keras') then a GRU reading its sequence, and a
    Conv1D reading a GRU's repeated outputs."""
    x = rng.normal(size=(5, 7, 2))
    mask = MASKS["gaps"]
    x[~mask] = 0.0
    model = gn.Sequential([gn.Masking(0.0, input_shape=(7, 2)),
                           gn.Bidirectional(gn.LSTM(3, return_sequences=True)),
                           gn.GRU(3, return_sequences=True, reset_after=False),
                           gn.layers.Conv1D(2, 2), gn.Flatten(), gn.Dense(1)], dtype="float64")
    assert model.layers[1].forward_layer.zero_output_for_mask
    model.compile("sgd", "mse")
    finite_difference_check(model, x, rng.normal(size=(5, 1)), n_checks=120)


# ---- models against Keras 3 --------------------------------------------------------------------
def _same_models(keras, build, rng):
    """Our model and Keras' from build(module of layers, is_keras), with Keras' random weights
    (biases included) copied into ours."""
    theirs = keras.Sequential(build(keras.layers, True))
    ours = gn.Sequential(build(gn.layers, False))
    theirs.set_weights([rng.normal(scale=0.5, size=w.shape).astype(np.float32)
                        for w in theirs.get_weights()])
    ours.set_weights(theirs.get_weights())
    return ours, theirs


@pytest.mark.parametrize("head", ["time_distributed", "dense", "conv1d"])
def test_masked_sequence_model_predicts_as_keras(rng, head):
    keras = import_keras()

    def build(L, is_keras):
        first = [keras.Input((T, I)), L.Masking(0.0)] if is_keras else \
            [L.Masking(0.0, input_shape=(T, I))]
        tail = {"time_distributed": [L.TimeDistributed(L.Dense(2))],
                "dense": [L.Dense(2, activation="tanh")],
                "conv1d": [L.Conv1D(2, 3, padding="same"), L.Flatten(), L.Dense(1)]}[head]
        return first + [L.GRU(H, return_sequences=True),
                        L.LSTM(3, return_sequences=True, go_backwards=True)] + tail

    ours, theirs = _same_models(keras, build, rng)
    x = rng.normal(size=(B, T, I)).astype(np.float32)
    x[~MASKS["gaps"]] = 0.0
    want = np.asarray(theirs.predict(x, verbose=0))
    got = ours.predict(x, verbose=0)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_bidirectional_masked_sequence_predicts_as_keras(rng):
    keras = import_keras()

    def build(L, is_keras):
        first = [keras.Input((T, I)), L.Masking(0.0)] if is_keras else \
            [L.Masking(0.0, input_shape=(T, I))]
        return first + [L.Bidirectional(L.GRU(H, return_sequences=True)),
                        L.TimeDistributed(L.Dense(2))]

    ours, theirs = _same_models(keras, build, rng)
    x = rng.normal(size=(B, T, I)).astype(np.float32)
    x[~MASKS["gaps"]] = 0.0
    np.testing.assert_allclose(ours.predict(x, verbose=0),
                               np.asarray(theirs.predict(x, verbose=0)), rtol=1e-5, atol=1e-5)


def test_predict_mask_argument_repeats_outputs_as_the_masking_layer(rng):
    """predict(x, mask=) gives, at every position, what a Masking layer gives on zeroed data."""
    x = rng.normal(size=(B, T, I))
    mask = MASKS["gaps"]
    plain = gn.Sequential([gn.GRU(H, return_sequences=True, input_shape=(T, I)),
                           gn.TimeDistributed(gn.Dense(2))], dtype="float64")
    masked = gn.Sequential([gn.Masking(0.0, input_shape=(T, I)),
                            gn.GRU(H, return_sequences=True), gn.TimeDistributed(gn.Dense(2))],
                           dtype="float64")
    masked.set_weights(plain.get_weights())
    zeroed = np.where(mask[..., None], x, 0.0)
    got = plain.predict(x, mask=mask, verbose=0)
    np.testing.assert_allclose(got, masked.predict(zeroed, verbose=0), rtol=1e-12, atol=1e-14)
    w = plain.get_weights()
    seq = reference("gru", w[:3], x, mask)[0]
    np.testing.assert_allclose(got, seq @ w[3] + w[4], rtol=1e-10, atol=1e-12)
