"""ONNX export of functional graphs: onnxruntime runs the exported graph and matches predict
(float32, 1e-5) at two batch sizes and two sequence lengths per input (dynamic axes), for
several inputs and outputs, shared layers, initial_state and return_state, RepeatVector,
Bidirectional, the merge and reshaping layers, Embedding, Attention and MultiHeadAttention."""

import numpy as np
import pytest

import gru_native as gn
from gru_native import layers

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

SIZES = [(2, 5), (7, 11)]  # (batch, sequence length): two of each


def two_branches():
    """(a) a GRU branch and a Dense branch, concatenated, then a Dense."""
    seq, feat = gn.Input((None, 3), name="seq"), gn.Input((4,), name="feat")
    merged = layers.Concatenate()([layers.GRU(6)(seq), layers.Dense(5, activation="relu")(feat)])
    return gn.Model([seq, feat], layers.Dense(2)(merged))


def shared_dense():
    """(b) one Dense called on two inputs (two nodes, one set of weights), added."""
    left, right = gn.Input((None, 4), name="left"), gn.Input((None, 4), name="right")
    dense = layers.Dense(3, activation="tanh")
    return gn.Model([left, right], layers.Add()([dense(left), dense(right)]))


def seq2seq_lstm():
    """(c) an encoder LSTM's final h and c start the decoder LSTM."""
    enc, dec = gn.Input((None, 3), name="encoder_in"), gn.Input((None, 5), name="decoder_in")
    _, h, c = layers.LSTM(8, return_state=True)(enc)
    y = layers.LSTM(8, return_sequences=True)(dec, initial_state=[h, c])
    return gn.Model([enc, dec], layers.TimeDistributed(layers.Dense(5, activation="softmax"))(y))


def seq2seq_gru():
    """(c) the GRU version; the encoder returns sequences too, and a reset_before decoder."""
    enc, dec = gn.Input((None, 3), name="encoder_in"), gn.Input((None, 5), name="decoder_in")
    _, h = layers.GRU(8, return_sequences=True, return_state=True)(enc)
    y = layers.GRU(8, return_sequences=True, reset_after=False)(dec, initial_state=[h])
    return gn.Model([enc, dec], layers.TimeDistributed(layers.Dense(5, activation="softmax"))(y))


def seq2seq_states_out():
    """A decoder running backwards from given states that returns its states as outputs."""
    enc, dec = gn.Input((None, 3), name="encoder_in"), gn.Input((None, 5), name="decoder_in")
    _, h, c = layers.LSTM(6, return_state=True)(enc)
    y, h2, c2 = layers.LSTM(6, go_backwards=True, return_state=True)(dec, initial_state=[h, c])
    return gn.Model([enc, dec], [y, h2, c2])


def repeat_vector():
    """(d) GRU -> RepeatVector -> GRU(return_sequences) -> Dense."""
    x = gn.Input((None, 3), name="series")
    y = layers.GRU(6)(x)
    y = layers.GRU(5, return_sequences=True)(layers.RepeatVector(4)(y))
    return gn.Model(x, layers.Dense(2)(y))


def dict_outputs():
    """(e) two outputs, given as a dict."""
    x = gn.Input((None, 3), name="series")
    s = layers.GRU(6, return_sequences=True)(x)
    return gn.Model(x, {"per_step": layers.TimeDistributed(layers.Dense(2))(s),
                        "score": layers.Dense(1, activation="sigmoid")(layers.GRU(4)(s))})


def bidirectional():
    """(f) Bidirectional layers in a graph, beside a plain GRU."""
    x = gn.Input((None, 3), name="series")
    b = layers.Bidirectional(layers.GRU(5, return_sequences=True))(x)
    b = layers.Bidirectional(layers.LSTM(4), merge_mode="ave")(b)
    return gn.Model(x, layers.Dense(1)(layers.Concatenate()([b, layers.GRU(3)(x)])))


def merges_and_reshapes():
    """Every other merge (a lower-rank input broadcast after the batch axis), Reshape, Permute,
    Flatten and a TimeDistributed layer that is not per step."""
    x, v = gn.Input((6, 4), name="grid"), gn.Input((4,), name="vector")
    a = layers.Dense(4)(x)
    m = layers.Subtract()([layers.Multiply()([a, v]), layers.Maximum()([x, a])])
    m = layers.Average()([m, layers.Minimum()([x, v, a])])
    p = layers.Permute((2, 1))(layers.Reshape((3, 8))(m))  # (8, 3)
    t = layers.TimeDistributed(layers.RepeatVector(2))(p)  # (8, 2, 3)
    y = layers.Concatenate(axis=1)([layers.Flatten()(t), layers.Flatten()(x)])
    return gn.Model([x, v], layers.Activation("sigmoid")(layers.Dense(3)(y)))


def embedding():
    """Integer token ids through an Embedding (Gather on int64 ids)."""
    ids = gn.Input((None,), dtype="int32", name="tokens")
    return gn.Model(ids, layers.Dense(2)(layers.GRU(5)(layers.Embedding(20, 4)(ids))))


def pooling_and_normalization(data_format="channels_last"):
    """Poolings of both kinds and paddings (odd lengths pad unevenly), the normalisations with
    moving statistics not at their initial values, global poolings with keepdims."""
    x = gn.Input((None, 4), name="series")
    s = layers.GRU(6, return_sequences=True)(x)
    s = layers.MaxPooling1D(3, 2, padding="same")(layers.BatchNormalization()(s))
    s = layers.LayerNormalization()(layers.AveragePooling1D(2, 1, padding="same")(s))
    s = layers.AveragePooling1D(2, padding="valid")(layers.GRU(5, return_sequences=True)(s))
    avg = layers.GlobalAveragePooling1D()(s)
    mx = layers.Flatten()(layers.GlobalMaxPooling1D(keepdims=True)(s))
    model = gn.Model(x, layers.Dense(2)(layers.Concatenate()([avg, mx])))
    bn = model.layers[2]
    bn.weights[2][...] = np.linspace(-0.5, 0.5, 6)  # moving mean, moving variance
    bn.weights[3][...] = np.linspace(0.5, 2.0, 6)
    return model


def attention():
    """Self-attention with a learnt scale over a GRU's sequence, causal self-attention, additive
    attention over another input, and the attention weights as a second output."""
    q, v = gn.Input((None, 4), name="query"), gn.Input((None, 3), name="value")
    seq = layers.GRU(4, return_sequences=True)(q)
    own = layers.Attention(use_scale=True)([seq, seq])
    causal = layers.Attention()([seq, seq], use_causal_mask=True)
    other, weights = layers.Attention(score_mode="concat", use_scale=True)(
        [seq, v, layers.Dense(4)(v)], return_attention_scores=True)
    out = layers.GlobalAveragePooling1D()(layers.Concatenate()([own, causal, other]))
    return gn.Model([q, v], [layers.Dense(1)(out), weights])


def multi_head_attention():
    """(m) causal multi-head self-attention over a GRU's sequence, and cross-attention over a
    second input with its own key, value_dim, an int output_shape and no biases, its per-head
    scores as a second output."""
    q, v = gn.Input((None, 4), name="query"), gn.Input((None, 3), name="value")
    seq = layers.GRU(4, return_sequences=True)(q)
    own = layers.MultiHeadAttention(2, 3, bias_initializer="random_normal")(
        seq, seq, use_causal_mask=True)
    other, scores = layers.MultiHeadAttention(3, 2, value_dim=3, use_bias=False, output_shape=5)(
        seq, v, key=layers.Dense(5)(v), return_attention_scores=True)
    out = layers.GlobalAveragePooling1D()(layers.Concatenate()([own, other]))
    return gn.Model([q, v], [layers.Dense(1)(out), scores])


MODELS = {f.__name__: f for f in (two_branches, shared_dense, seq2seq_lstm, seq2seq_gru,
                                  seq2seq_states_out, repeat_vector, dict_outputs, bidirectional,
                                  merges_and_reshapes, embedding, pooling_and_normalization,
                                  attention, multi_head_attention)}


def random_inputs(rng, model, B, T):
    """A batch for every input: sequences of length T (a fixed length: as declared; an
    encoder's input 3 steps longer than its decoder's), token ids for integer inputs."""
    feed = {}
    for t in model.inputs:
        n = T + 3 if t.layer.name == "encoder_in" else T
        shape = (B,) + tuple(n if d is None else d for d in t.shape[1:])
        feed[t.layer.name] = (rng.integers(0, 20, size=shape).astype(t.dtype)
                              if np.dtype(t.dtype).kind in "iu" else
                              rng.normal(size=shape).astype(np.float32))
    return feed


def export(model, tmp_path):
    path = tmp_path / f"{model.name}.onnx"
    model.export(path, format="onnx")
    proto = onnx.load(path)
    onnx.checker.check_model(proto, full_check=True)
    return proto, ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def predicted(model, feed):
    """predict's outputs as a list in output order."""
    y = model.predict([feed[t.layer.name] for t in model.inputs], verbose=0)
    if isinstance(y, dict):
        return [y[k] for k in model.output_names]
    return list(y) if isinstance(y, list) else [y]


@pytest.mark.parametrize("name", sorted(MODELS))
def test_onnxruntime_matches_predict(rng, tmp_path, name):
    gn.utils.set_random_seed(7)
    model = MODELS[name]()
    proto, session = export(model, tmp_path)
    assert [i.name for i in session.get_inputs()] == [t.layer.name for t in model.inputs]
    names = [o.name for o in session.get_outputs()]
    if len(set(model.output_names)) == len(model.output_names):
        assert names == list(model.output_names)
    else:  # several outputs of one layer: suffixed
        assert len(set(names)) == len(names)
    for B, T in SIZES:
        feed = random_inputs(rng, model, B, T)
        got = session.run(None, feed)
        want = predicted(model, feed)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert g.shape == w.shape
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)


def test_dict_outputs_are_named_by_their_keys(rng, tmp_path):
    model = dict_outputs()
    _, session = export(model, tmp_path)
    assert [o.name for o in session.get_outputs()] == ["per_step", "score"]
    feed = random_inputs(rng, model, 3, 6)
    got = dict(zip(["per_step", "score"], session.run(None, feed)))
    want = model.predict(feed["series"], verbose=0)
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-5, atol=1e-5)


def test_outputs_of_one_layer_get_distinct_names(tmp_path):
    model = seq2seq_states_out()
    _, session = export(model, tmp_path)
    names = [o.name for o in session.get_outputs()]
    assert len(set(names)) == 3 and names[0] == model.output_names[0]


def test_the_initial_state_reaches_the_decoder(rng, tmp_path):
    """The exported decoder depends on the encoder's input only through initial_h / initial_c."""
    for make in (seq2seq_lstm, seq2seq_gru):
        model = make()
        proto, session = export(model, tmp_path)
        ops = [n.op_type for n in proto.graph.node]
        assert ops.count("Unsqueeze") >= (2 if make is seq2seq_lstm else 1)
        feed = random_inputs(rng, model, 3, 5)
        other = dict(feed, encoder_in=rng.normal(size=feed["encoder_in"].shape).astype(np.float32))
        assert not np.allclose(session.run(None, feed)[0], session.run(None, other)[0])


def test_a_shared_layer_has_one_set_of_initializers(tmp_path):
    model = shared_dense()
    proto, _ = export(model, tmp_path)
    dense = model.layers[2]
    weights = [i for i in proto.graph.initializer if i.dims == list(dense.weights[0].shape)
               or i.dims == list(dense.weights[1].shape)]
    assert len(weights) == 2
    assert [n.op_type for n in proto.graph.node].count("MatMul") == 2


def test_node_outputs_are_named_by_layer_call_and_index(tmp_path):
    model = shared_dense()
    proto, _ = export(model, tmp_path)
    made = {o for n in proto.graph.node for o in n.output}
    dense, add = model.layers[2], model.layers[3]
    assert {f"{dense.name}:0:0", f"{dense.name}:1:0", f"{add.name}:0:0"} <= made
    model = seq2seq_states_out()
    proto, _ = export(model, tmp_path)
    made = {o for n in proto.graph.node for o in n.output}
    decoder = model.outputs[0].layer
    assert {f"{decoder.name}:0:{i}" for i in range(3)} <= made


def test_a_sequential_keeps_its_names_and_exports_new_layers(rng, tmp_path):
    model = gn.Sequential([layers.GRU(4, input_shape=(None, 3)), layers.RepeatVector(3),
                           layers.GRU(2, return_sequences=True)])
    _, session = export(model, tmp_path)
    assert [i.name for i in session.get_inputs()] == ["input"]
    assert [o.name for o in session.get_outputs()] == ["output"]
    for B, T in SIZES:
        x = rng.normal(size=(B, T, 3)).astype(np.float32)
        np.testing.assert_allclose(session.run(None, {"input": x})[0], model.predict(x, verbose=0),
                                   rtol=1e-5, atol=1e-5)


def test_masks_are_refused_naming_the_layer(tmp_path):
    ids = gn.Input((None,), dtype="int32", name="tokens")
    emb = layers.Embedding(10, 3, mask_zero=True, name="words")
    model = gn.Model(ids, layers.GRU(2)(emb(ids)))
    with pytest.raises(ValueError, match="'words' \\(Embedding\\) has mask_zero=True"):
        model.export(tmp_path / "m.onnx")
    x = gn.Input((None, 3))
    masked = layers.Masking(name="pad")(x)
    model = gn.Model(x, layers.Add()([layers.GRU(2)(masked), layers.GRU(2)(x)]))
    with pytest.raises(ValueError, match="'pad' \\(Masking\\) has no ONNX export"):
        model.export(tmp_path / "m.onnx")
