"""from_keras: a converted Keras 3 model (Sequential or functional) predicts what Keras predicts,
with the same layers, names and parameter counts."""

import os

import numpy as np
import pytest

import gru_native as gn

os.environ.setdefault("KERAS_BACKEND", "jax")
pytest.importorskip("jax")
keras = pytest.importorskip("keras")
L = keras.layers

T, B = 7, 5


def _check_conversion(theirs, x):
    """The converted model predicts as Keras does (float32, 1e-5), with the same layer names in
    the same order, the same classes and the same count_params."""
    ours = gn.from_keras(theirs)
    want = theirs.predict(x, verbose=0)
    got = ours.predict(x, verbose=0)
    want, got = (list(want), list(got)) if isinstance(want, (list, tuple)) else ([want], [got])
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.dtype == np.float32
        np.testing.assert_allclose(g, np.asarray(w), rtol=1e-5, atol=1e-5)
    assert [layer.name for layer in ours.layers] == [layer.name for layer in theirs.layers]
    assert [type(layer).__name__ for layer in ours.layers] == \
        [type(layer).__name__ for layer in theirs.layers]
    assert ours.count_params() == theirs.count_params()
    assert ours.name == theirs.name
    return ours


def _randomize(model, rng):
    """Random weights everywhere (Keras initialises biases to zero, which would hide a bias
    copied to the wrong place)."""
    model.set_weights([rng.normal(scale=0.5, size=w.shape).astype(w.dtype)
                       for w in model.get_weights()])


def test_two_inputs_gru_and_dense_branches(rng):
    seq = keras.Input((T, 3), name="sequence")
    side = keras.Input((4,), name="side")
    a = L.GRU(6, name="encoder")(seq)
    b = L.Dense(5, activation="relu", name="side_dense")(side)
    merged = L.Concatenate(axis=-1, name="merge")([a, b])
    out = L.Dense(2, name="head")(merged)
    theirs = keras.Model([seq, side], out, name="two_branches")
    _randomize(theirs, rng)
    x = [rng.normal(size=(B, T, 3)).astype(np.float32),
         rng.normal(size=(B, 4)).astype(np.float32)]
    ours = _check_conversion(theirs, x)
    assert ours.get_layer("merge").axis == -1


def test_a_shared_layer_stays_one_layer(rng):
    left, right = keras.Input((3,), name="left"), keras.Input((3,), name="right")
    shared = L.Dense(4, activation="tanh", name="shared")
    out = L.Add(name="add")([shared(left), shared(right)])
    theirs = keras.Model([left, right], out)
    _randomize(theirs, rng)
    x = [rng.normal(size=(B, 3)).astype(np.float32), rng.normal(size=(B, 3)).astype(np.float32)]
    ours = _check_conversion(theirs, x)
    assert len(ours.get_layer("shared").nodes) == 2  # one layer, called twice
    assert ours.count_params() == 3 * 4 + 4


def test_seq2seq_lstm_with_initial_state(rng):
    enc_in = keras.Input((T, 3), name="encoder_input")
    dec_in = keras.Input((T - 2, 2), name="decoder_input")
    _, h, c = L.LSTM(6, return_state=True, name="encoder")(enc_in)
    dec = L.LSTM(6, return_sequences=True, name="decoder")(dec_in, initial_state=[h, c])
    out = L.TimeDistributed(L.Dense(4, activation="softmax"), name="probabilities")(dec)
    theirs = keras.Model([enc_in, dec_in], out, name="seq2seq")
    _randomize(theirs, rng)
    x = [rng.normal(size=(B, T, 3)).astype(np.float32),
         rng.normal(size=(B, T - 2, 2)).astype(np.float32)]
    ours = _check_conversion(theirs, x)
    assert ours.get_layer("encoder").return_state


def test_encoder_repeat_vector_decoder(rng):
    x_in = keras.Input((T, 3))
    code = L.GRU(5)(x_in)
    repeated = L.RepeatVector(4)(code)
    dec = L.GRU(6, return_sequences=True, reset_after=False)(repeated)
    out = L.TimeDistributed(L.Dense(2))(dec)
    theirs = keras.Model(x_in, out)
    _randomize(theirs, rng)
    _check_conversion(theirs, rng.normal(size=(B, T, 3)).astype(np.float32))


def test_embedding_mask_zero_bidirectional_lstm(rng):
    tokens = keras.Input(shape=(None,), dtype="int32", name="tokens")
    emb = L.Embedding(30, 6, mask_zero=True)(tokens)
    rnn = L.Bidirectional(L.LSTM(5))(emb)
    out = L.Dense(1, activation="sigmoid")(rnn)
    theirs = keras.Model(tokens, out)
    _randomize(theirs, rng)
    x = rng.integers(1, 30, size=(B, 9)).astype(np.int32)
    for i, length in enumerate([9, 6, 3, 1, 7]):
        x[i, length:] = 0  # padded at the end
    ours = _check_conversion(theirs, x)
    # the padding changes nothing: the same as the sequence cut to its length
    np.testing.assert_allclose(ours.predict(x[2:3, :3], verbose=0), ours.predict(x[2:3], verbose=0),
                               rtol=1e-6, atol=1e-6)


def test_masked_sequences_match_at_every_step(rng):
    """Masked sequence outputs as Keras 3 computes them, compared at every step, padded ones
    included: a recurrent layer repeats its last output at a masked step (gaps in the middle,
    go_backwards, a fully masked sequence), Bidirectional and zero_output_for_mask give zeros
    there, and Flatten, which drops the mask, reads those outputs."""
    tokens = keras.Input(shape=(8,), dtype="int32", name="tokens")
    emb = L.Embedding(20, 4, mask_zero=True, name="emb")(tokens)
    seq = L.GRU(5, return_sequences=True, name="gru")(emb)
    back = L.LSTM(4, return_sequences=True, go_backwards=True, name="back")(seq)
    bi = L.Bidirectional(L.GRU(3, return_sequences=True, reset_after=False), name="bi")(back)
    zero = L.GRU(3, return_sequences=True, zero_output_for_mask=True, name="zero")(bi)
    step = L.TimeDistributed(L.Dense(2), name="step")(zero)
    flat = L.Dense(2, name="head")(L.Flatten(name="flat")(back))
    theirs = keras.Model(tokens, [step, flat, back], name="masked")
    _randomize(theirs, rng)
    x = rng.integers(1, 20, size=(B, 8)).astype(np.int32)
    x[0, [2, 3, 6]] = 0  # gaps
    x[1, :3] = 0         # padding at the start
    x[2, 5:] = 0         # at the end
    x[3] = 0             # all of it
    ours = _check_conversion(theirs, x)
    assert ours.get_layer("zero").zero_output_for_mask
    assert not ours.get_layer("gru").zero_output_for_mask


def test_reshaping_layers_and_merges_with_two_outputs(rng):
    x_in = keras.Input((6, 4), name="x")
    p = L.Permute((2, 1))(x_in)                      # (4, 6)
    r = L.Reshape((6, 4))(p)                         # (6, 4)
    seq = L.GRU(3, return_sequences=True)(r)         # (6, 3)
    flat = L.Flatten()(seq)                          # (18,)
    dense = L.Dense(18)(L.Flatten()(x_in))
    outs = {"prod": L.Multiply()([flat, dense]),
            "rest": L.Concatenate()([L.Subtract()([flat, dense]), L.Average()([flat, dense]),
                                     L.Maximum()([flat, dense]), L.Minimum()([flat, dense])])}
    theirs = keras.Model(x_in, outs)
    _randomize(theirs, rng)
    x = rng.normal(size=(B, 6, 4)).astype(np.float32)
    ours = gn.from_keras(theirs)
    want, got = theirs.predict(x, verbose=0), ours.predict(x, verbose=0)
    assert set(got) == {"prod", "rest"}
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-5, atol=1e-5)
    assert ours.count_params() == theirs.count_params()


def test_gru_return_state_as_outputs(rng):
    x_in = keras.Input((T, 2))
    seq, h = L.GRU(4, return_sequences=True, return_state=True)(x_in)
    theirs = keras.Model(x_in, [seq, h])
    _randomize(theirs, rng)
    _check_conversion(theirs, rng.normal(size=(B, T, 2)).astype(np.float32))


def test_a_layer_without_an_equivalent_is_named():
    x_in = keras.Input((T, 2))
    y = L.SimpleRNN(3, name="simple")(x_in)
    with pytest.raises(ValueError, match="'simple' is of class SimpleRNN"):
        gn.from_keras(keras.Model(x_in, L.Dense(1)(y)))
    x_in = keras.Input((T, 2))
    y = L.GRU(3, activation="relu", name="relu_gru")(x_in)
    with pytest.raises(ValueError, match="'relu_gru'.*activation='tanh'"):
        gn.from_keras(keras.Model(x_in, y))


def test_a_keras_op_in_the_graph_is_named():
    x_in = keras.Input((3,))
    y = keras.ops.exp(L.Dense(2)(x_in))
    with pytest.raises(ValueError, match="layer 'exp' is of class Exp"):
        gn.from_keras(keras.Model(x_in, y))


def test_a_subclassed_model_is_refused():
    class Custom(keras.Model):
        def __init__(self):
            super().__init__(name="custom")
            self.dense = L.Dense(2)

        def call(self, x):
            return self.dense(x)

    model = Custom()
    model(np.zeros((1, 3), np.float32))
    with pytest.raises(TypeError, match="'custom' is a subclassed model"):
        gn.from_keras(model)


def test_initial_state_on_a_masked_sequence_is_refused():
    """Keras 3 ignores the mask of a recurrent layer called with initial_state (it passes masks
    only to calls on one tensor); gru_native uses it, so the predictions would differ."""
    tokens, h0 = keras.Input((T,), dtype="int32"), keras.Input((4,))
    emb = L.Embedding(10, 3, mask_zero=True)(tokens)
    y = L.GRU(4, name="decoder")(emb, initial_state=[h0])
    with pytest.raises(ValueError, match="'decoder'.*mask"):
        gn.from_keras(keras.Model([tokens, h0], y))


def test_an_explicit_mask_argument_is_refused():
    x_in, m_in = keras.Input((T, 2)), keras.Input((T,), dtype="bool")
    y = L.GRU(3, name="masked_gru")(x_in, mask=m_in)
    with pytest.raises(ValueError, match="'masked_gru'.*mask"):
        gn.from_keras(keras.Model([x_in, m_in], y))


# ---- Sequential models, converted as before -------------------------------------------------
@pytest.mark.parametrize("stack", ["masked_bidirectional", "embedding", "reset_before_dropout"])
def test_from_keras_sequential_matches_the_model(rng, stack):
    if stack == "embedding":
        x = rng.integers(0, 20, size=(4, 9))
        x[0, 6:] = 0  # padding, masked by mask_zero
        layers = [keras.Input((9,)), L.Embedding(20, 6, mask_zero=True), L.GRU(5), L.Dense(3)]
    else:
        x = rng.normal(size=(4, 9, 3)).astype(np.float32)
        if stack == "masked_bidirectional":
            x[1, 5:] = 0.0
            layers = [keras.Input((None, 3)), L.Masking(0.0),
                      L.Bidirectional(L.GRU(4, return_sequences=True), merge_mode="sum"),
                      L.GRU(5), L.Dense(2, activation="softmax")]
        else:
            layers = [keras.Input((9, 3)), L.GRU(6, reset_after=False, return_sequences=True),
                      L.Dropout(0.3), L.LSTM(4, go_backwards=True), L.Dense(1)]
    theirs = keras.Sequential(layers)
    ours = gn.from_keras(theirs)
    assert isinstance(ours, gn.Sequential)
    want = np.asarray(theirs.predict(x, verbose=0))
    np.testing.assert_allclose(ours.predict(x, verbose=0), want, rtol=1e-5, atol=1e-5)
    assert [type(layer).__name__ for layer in ours.layers] == \
        [type(layer).__name__ for layer in theirs.layers]
    assert ours.count_params() == theirs.count_params()


def test_a_sequential_with_return_state_is_refused():
    theirs = keras.Sequential([keras.Input((T, 2)), L.GRU(3, return_state=True, name="st")])
    with pytest.raises(ValueError, match="'st' has return_state=True"):
        gn.from_keras(theirs)


def test_not_a_keras_model():
    with pytest.raises(TypeError, match="takes a built Keras model"):
        gn.from_keras(object())
