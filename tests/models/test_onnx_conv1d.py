"""ONNX export of Conv1D as an ONNX Conv: onnxruntime runs the exported graph and matches
predict (float32, 1e-5) for every padding, strides, dilation, groups, with and without bias,
each activation, channels_first, lengths given at run time, and Conv1D -> GRU -> Dense models;
the Conv node's kernel layout and padding attributes."""

import numpy as np
import pytest

import gru_native as gn
from gru_native import layers
from helpers import randomise_weights

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

# (kernel_size, strides, padding, dilation_rate, groups, use_bias, activation)
CONVS = [(3, 1, "valid", 1, 1, True, "relu"), (4, 1, "same", 1, 1, True, "linear"),
         (3, 1, "causal", 1, 1, True, "tanh"), (3, 2, "valid", 1, 1, True, "linear"),
         (4, 2, "same", 1, 1, False, "relu"), (1, 3, "same", 1, 1, True, "linear"),
         (3, 2, "causal", 1, 1, True, "sigmoid"), (3, 1, "same", 2, 1, True, "relu"),
         (2, 1, "causal", 3, 1, True, "linear"), (3, 1, "valid", 2, 2, False, "relu"),
         (5, 2, "same", 1, 2, True, "softmax")]
LENGTHS = (9, 12, 13)  # odd and even: 'same' at stride 2 pads each differently


def randomise(model):
    return randomise_weights(model, seed=5)

def session(model, tmp_path):
    path = tmp_path / f"{model.name}.onnx"
    model.export(path, format="onnx")
    proto = onnx.load(path)
    return proto, ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def assert_matches_predict(model, sess, rng, shapes):
    for shape in shapes:
        x = rng.normal(size=shape).astype(np.float32)
        (got,) = sess.run(None, {sess.get_inputs()[0].name: x})
        want = model.predict(x, verbose=0)
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("k,strides,padding,dilation,groups,use_bias,activation", CONVS)
def test_conv_matches_predict(rng, tmp_path, k, strides, padding, dilation, groups, use_bias,
                              activation):
    gn.utils.set_random_seed(31)
    x = gn.Input((None, 4), name="series")
    y = layers.Conv1D(6, k, strides=strides, padding=padding, dilation_rate=dilation,
                      groups=groups, use_bias=use_bias, activation=activation)(x)
    model = randomise(gn.Model(x, y))
    _, sess = session(model, tmp_path)
    assert_matches_predict(model, sess, rng, [(B, T, 4) for B in (1, 3) for T in LENGTHS])


def conv_node(proto):
    (node,) = [n for n in proto.graph.node if n.op_type == "Conv"]
    return node, {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


@pytest.mark.parametrize("padding,strides,dilation,attrs", [
    ("valid", 1, 1, {"pads": [0, 0]}), ("causal", 1, 3, {"pads": [6, 0]}),
    ("same", 1, 1, {"pads": [1, 2]}), ("same", 1, 2, {"pads": [2, 2]}),
    ("same", 2, 1, {"auto_pad": b"SAME_UPPER"})])
def test_the_conv_node(tmp_path, padding, strides, dilation, attrs):
    """Keras' kernel (k, in / groups, filters) as ONNX's (filters, in / groups, k); pads
    explicit wherever they do not depend on the length, TensorFlow's odd zero at the end."""
    k = 4 if padding == "same" and dilation == 1 else 3
    x = gn.Input((None, 4))
    model = gn.Model(x, layers.Conv1D(6, k, strides=strides, padding=padding,
                                      dilation_rate=dilation, groups=2)(x))
    proto, _ = session(model, tmp_path)
    node, got = conv_node(proto)
    assert got["kernel_shape"] == [k] and got["strides"] == [strides]
    assert got["dilations"] == [dilation] and got["group"] == 2
    assert {key: got[key] for key in attrs} == attrs
    weights = {i.name: onnx.numpy_helper.to_array(i) for i in proto.graph.initializer}
    np.testing.assert_array_equal(weights[node.input[1]],
                                  model.layers[1].weights[0].transpose(2, 1, 0))
    transposes = [n for n in proto.graph.node if n.op_type == "Transpose"]
    assert len(transposes) == 2  # channels_last into the Conv, and back


def test_channels_first(rng, tmp_path):
    """(batch, channels, steps) is the Conv's own layout: no transposes; a softmax over the
    filters (axis 1)."""
    gn.utils.set_random_seed(32)
    x = gn.Input((4, None), name="series")
    h = layers.Conv1D(5, 3, padding="same", data_format="channels_first",
                      activation="softmax")(x)
    y = layers.Conv1D(3, 2, strides=2, data_format="channels_first")(h)
    model = randomise(gn.Model(x, y))
    proto, sess = session(model, tmp_path)
    assert not [n for n in proto.graph.node if n.op_type == "Transpose"]
    assert_matches_predict(model, sess, rng, [(2, 4, T) for T in LENGTHS])


def test_conv_gru_dense(rng, tmp_path):
    """Conv1D -> GRU -> Dense as a Sequential of a fixed length, and Conv1D -> MaxPooling1D ->
    GRU -> Dense as a graph of any length."""
    gn.utils.set_random_seed(33)
    seq = randomise(gn.Sequential([
        layers.Conv1D(8, 3, padding="causal", activation="relu", input_shape=(12, 3)),
        layers.GRU(6), layers.Dense(2)]))
    _, sess = session(seq, tmp_path)
    assert_matches_predict(seq, sess, rng, [(1, 12, 3), (5, 12, 3)])
    x = gn.Input((None, 3), name="series")
    h = layers.Conv1D(8, 3, strides=2, padding="same", activation="relu")(x)
    h = layers.GRU(6, return_sequences=True)(layers.MaxPooling1D(2)(h))
    graph = randomise(gn.Model(x, layers.Dense(2)(layers.GRU(4)(h))))
    _, sess = session(graph, tmp_path)
    assert_matches_predict(graph, sess, rng, [(B, T, 3) for B in (1, 4) for T in LENGTHS])


def test_estimator_inception_network_matches_predict(rng, tmp_path):
    """The estimators' default network for long series (Inception modules with PaddingMask
    layers, the identity without a mask) exports and matches predict."""
    from gru_native import GRUClassifier

    X = rng.normal(size=(30, 60))
    clf = GRUClassifier(conv_filters=(4, 4, 4), max_iter=2, min_steps=0, random_state=0).fit(
        X, np.arange(30) % 3)
    _, sess = session(clf.model_, tmp_path)
    assert_matches_predict(clf.model_, sess, rng, [(2, 60, 1), (1, 75, 1)])
