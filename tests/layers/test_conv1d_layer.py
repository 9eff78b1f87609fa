"""The Conv1D layer: Keras 3's weight layout and paddings against PyTorch and Keras (where
installed), gradients through a model by finite differences (activation, groups, dilation,
channels_first), a Conv1D -> GRU -> GlobalMaxPooling1D model trained, saved and loaded, errors."""

import os

import numpy as np
import pytest

import gru_native as gn
from gru_native import layers
from helpers import check_input_gradients, finite_difference_check, run_layer


def torch_conv(x, kernel, bias, strides, padding, dilation, groups):
    """PyTorch's conv1d on channels-last x with a Keras (k, in/groups, filters) kernel; 'same'
    and 'causal' padded explicitly (TensorFlow's split: the extra step on the right)."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    k = kernel.shape[0]
    span = dilation * (k - 1) + 1
    T = x.shape[1]
    if padding == "causal":
        pads = (span - 1, 0)
    elif padding == "same":
        out = -(-T // strides)
        total = max((out - 1) * strides + span - T, 0)
        pads = (total // 2, total - total // 2)
    else:
        pads = (0, 0)
    xt = F.pad(torch.tensor(x.transpose(0, 2, 1)), pads)
    w = torch.tensor(kernel.transpose(2, 1, 0))  # (filters, in/groups, k)
    y = F.conv1d(xt, w, None if bias is None else torch.tensor(bias), stride=strides,
                 dilation=dilation, groups=groups)
    return y.numpy().transpose(0, 2, 1)


CASES = [(3, 1, "valid", 1, 1), (4, 2, "same", 1, 1), (3, 1, "causal", 2, 1),
         (5, 3, "same", 1, 2), (1, 1, "valid", 1, 1), (2, 1, "same", 3, 2)]


@pytest.mark.parametrize("k,strides,padding,dilation,groups", CASES)
def test_against_torch(rng, k, strides, padding, dilation, groups):
    x = rng.normal(size=(3, 13, 4))
    layer = layers.Conv1D(6, k, strides=strides, padding=padding, dilation_rate=dilation,
                          groups=groups, dtype="float64")
    y = layer(x)
    kernel, bias = layer.get_weights()
    assert kernel.shape == (k, 4 // groups, 6) and bias.shape == (6,)
    bias = rng.normal(size=6)
    layer.set_weights([kernel, bias])
    y = layer(x)
    assert y.shape[1:] == layer.compute_output_shape((13, 4))
    np.testing.assert_allclose(y, torch_conv(x, kernel, bias, strides, padding, dilation, groups),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("padding", ["valid", "same", "causal"])
def test_matches_keras(rng, padding):
    os.environ.setdefault("KERAS_BACKEND", "jax")
    pytest.importorskip("jax")
    keras = pytest.importorskip("keras")
    x = rng.normal(size=(2, 11, 3)).astype(np.float32)
    theirs = keras.layers.Conv1D(5, 3, padding=padding, dilation_rate=2, activation="tanh")
    want = np.asarray(theirs(x))
    ours = layers.Conv1D(5, 3, padding=padding, dilation_rate=2, activation="tanh")
    ours(x)
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(ours(x), want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("k,strides,padding,dilation,groups", CASES)
def test_input_gradients(rng, k, strides, padding, dilation, groups):
    layer = layers.Conv1D(4, k, strides=strides, padding=padding, dilation_rate=dilation,
                          groups=groups, activation="tanh", dtype="float64")
    layer(np.zeros((1, 9, 4)))  # built, with weights
    check_input_gradients(layer, rng.normal(size=(2, 9, 4)))


def test_channels_first_is_the_transposed_layer(rng):
    x = rng.normal(size=(2, 10, 3))
    last = layers.Conv1D(4, 3, padding="same", dtype="float64")
    first = layers.Conv1D(4, 3, padding="same", data_format="channels_first", dtype="float64")
    y_last = last(x)
    first(x.transpose(0, 2, 1).copy())
    first.set_weights(last.get_weights())
    np.testing.assert_allclose(first(x.transpose(0, 2, 1).copy()), y_last.transpose(0, 2, 1),
                               rtol=1e-14)
    assert first.compute_output_shape((3, 10)) == (4, 10)
    check_input_gradients(first, np.ascontiguousarray(x.transpose(0, 2, 1)))
    assert run_layer(first, x.transpose(0, 2, 1).copy(), mask=np.ones((2, 3), bool))[1] is None


@pytest.mark.parametrize("activation,loss", [("relu", "mse"), ("softmax", "categorical_crossentropy")])
def test_weight_gradients_through_a_model(rng, activation, loss):
    """Conv1D (groups 2, dilation 2) -> Conv1D (stride 2, its activation fused with the loss when
    softmax) -> GRU -> Dense, every weight against central differences."""
    inp = gn.Input((12, 4))
    c = layers.Conv1D(6, 3, padding="causal", dilation_rate=2, groups=2, activation="tanh")(inp)
    c = layers.Conv1D(3, 2, strides=2, padding="same", activation=activation)(c)
    if activation == "softmax":
        model = gn.Model(inp, layers.GlobalAveragePooling1D()(c), dtype="float64")
        y = np.eye(3)[rng.integers(0, 3, 5)]
    else:
        model = gn.Model(inp, layers.Dense(2)(layers.GRU(3)(c)), dtype="float64")
        y = rng.normal(size=(5, 2))
    model.compile("sgd", loss)
    for layer in model.layers:
        for w in layer.weights:
            w[...] = rng.normal(scale=0.4, size=w.shape)
    finite_difference_check(model, rng.normal(size=(5, 12, 4)), y)


def test_conv_gru_pool_model_trains_saves_and_loads(rng, tmp_path):
    inp = gn.Input((40, 1))
    s = layers.Conv1D(8, 5, padding="same", activation="relu")(inp)
    s = layers.MaxPooling1D(2)(layers.BatchNormalization()(s))
    s = layers.GRU(8, return_sequences=True)(s)
    model = gn.Model(inp, layers.Dense(2, activation="softmax")(layers.GlobalMaxPooling1D()(s)))
    model.compile(gn.optimizers.Adam(1e-2), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    y = rng.integers(0, 2, 64)
    x = rng.normal(size=(64, 40, 1)).astype(np.float32)
    x[y == 1, 10:15, 0] += 3.0  # a bump marks class 1
    history = model.fit(x, y, epochs=20, batch_size=16, verbose=0)
    assert history.history["accuracy"][-1] > 0.9
    model.save(tmp_path / "conv.keras")
    loaded = gn.load_model(tmp_path / "conv.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.layers[1].get_config() == model.layers[1].get_config()


def test_arguments():
    with pytest.raises(ValueError, match="padding"):
        layers.Conv1D(4, 3, padding="full")
    with pytest.raises(ValueError, match="dilation_rate"):
        layers.Conv1D(4, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match="groups"):
        layers.Conv1D(5, 3, groups=2)
    with pytest.raises(ValueError, match="kernel_size"):
        layers.Conv1D(4, 0)
    with pytest.raises(ValueError, match="filters"):
        layers.Conv1D(True, 3)
    with pytest.raises(ValueError, match="divisible by groups"):
        layers.Conv1D(4, 3, groups=2)(gn.Input((10, 3)))
    assert layers.Conv1D(4, (3,), strides=(2,)).kernel_size == 3
    assert layers.Conv1D(4, 3, padding="same", strides=2).compute_output_shape((None, 3)) == \
        (None, 4)
