"""TimeDistributed: its inner layer applied at every timestep, against NumPy and torch; gradients
by central finite differences over the inputs and the inner Dense's weights; the mask passed on
unchanged (Keras 3); errors, configs, and use inside a Sequential model."""

import json

import numpy as np
import pytest

import gru_native
from gru_native import (GRU, Activation, Add, Dense, Dropout, Masking, Sequential,
                        TimeDistributed, load_model)
from gru_native.layers import deserialize, serialize
from gru_native.layers.base import allocate


def built(layer, shape, dtype=np.float64):
    """`layer` built for inputs of `shape` (batch included), with its own weights."""
    layer.build(shape[1:])
    allocate([layer], dtype, rng=np.random.default_rng(1))
    return layer


def sum_w_y(layer, x, w, training=False):
    return float(np.sum(w * layer.forward(x, None, training)[0]))


def check_gradients(layer, x, seed=0, eps=1e-6):
    """backward of a random linear functional sum(w * y) against central differences over every
    element of x and of every weight (float64)."""
    y, _ = layer.forward(x, None, False)
    w = np.random.default_rng(seed).normal(size=y.shape)
    dx = layer.backward(w.copy())
    analytic = [dx] + [g.copy() for g in layer.grads]
    for array, g in zip([x] + layer.weights, analytic):
        assert g.shape == array.shape
        numeric = np.empty_like(array)
        for i in np.ndindex(array.shape):
            old = array[i]
            array[i] = old + eps
            plus = sum_w_y(layer, x, w)
            array[i] = old - eps
            minus = sum_w_y(layer, x, w)
            array[i] = old
            numeric[i] = (plus - minus) / (2 * eps)
        np.testing.assert_allclose(g, numeric, rtol=1e-6, atol=1e-8)


# ---- forward --------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(3, 5, 7), (1, 1, 3), (2, 7, 1)])
def test_dense_at_every_step(rng, shape, dtype):
    layer = built(TimeDistributed(Dense(5, activation="tanh")), shape, dtype)
    kernel, bias = layer.weights
    bias[...] = rng.normal(size=bias.shape)
    x = rng.normal(size=shape).astype(dtype)
    y, _ = layer.forward(x)
    assert y.dtype == dtype and y.shape == shape[:2] + (5,)
    assert layer.output_shape == (shape[1], 5)
    for t in range(shape[1]):  # step by step, as Keras' loop over time
        expected = np.tanh(x[:, t].astype(np.float64) @ kernel.astype(np.float64) + bias)
        np.testing.assert_allclose(y[:, t], expected, rtol=1e-5 if dtype == np.float32 else 1e-12,
                                   atol=1e-6 if dtype == np.float32 else 1e-14)


def test_dense_on_4d_steps(rng):
    # (batch, time, rows, features): the inner Dense sees (batch*time, rows, features)
    layer = built(TimeDistributed(Dense(3)), (2, 5, 7, 4))
    x = rng.normal(size=(2, 5, 7, 4))
    y, _ = layer.forward(x)
    np.testing.assert_allclose(y, np.einsum("btrf,fu->btru", x, layer.weights[0]) + layer.weights[1],
                               rtol=1e-12, atol=1e-14)
    assert layer.compute_output_shape((5, 7, 4)) == (5, 7, 3)


def test_against_torch_linear(rng):
    torch = pytest.importorskip("torch")
    layer = built(TimeDistributed(Dense(5, activation="sigmoid")), (3, 7, 4))
    layer.weights[1][...] = rng.normal(size=5)
    x = rng.normal(size=(3, 7, 4))
    linear = torch.nn.Linear(4, 5).double()
    with torch.no_grad():
        linear.weight.copy_(torch.tensor(layer.weights[0].T))
        linear.bias.copy_(torch.tensor(layer.weights[1]))
    tx = torch.tensor(x, requires_grad=True)
    ty = torch.sigmoid(linear(tx))  # nn.Linear acts on the last axis of (B, T, F)
    y, _ = layer.forward(x)
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-12)
    w = rng.normal(size=y.shape)
    (ty * torch.tensor(w)).sum().backward()
    dx = layer.backward(w)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(layer.grads[0], linear.weight.grad.numpy().T, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(layer.grads[1], linear.bias.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_activation_and_dropout_inner_layers(rng):
    x = rng.normal(size=(3, 5, 7)).astype(np.float32)
    y, _ = built(TimeDistributed(Activation("relu")), x.shape).forward(x)
    np.testing.assert_array_equal(y, np.maximum(x, 0))
    layer = built(TimeDistributed(Dropout(0.5)), x.shape)
    np.testing.assert_array_equal(layer.forward(x)[0], x)  # the identity at inference
    y, _ = layer.forward(x, None, training=True)
    assert y.dtype == np.float32
    kept = y != 0
    assert 0 < kept.mean() < 1
    np.testing.assert_allclose(y[kept], 2 * x[kept], rtol=1e-6)  # 1 / (1 - rate)
    dy = rng.normal(size=x.shape).astype(np.float32)
    np.testing.assert_allclose(layer.backward(dy), np.where(kept, 2 * dy, 0), rtol=1e-6)


# ---- gradients ------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(3, 5, 7), (1, 1, 3), (2, 3, 1)])
@pytest.mark.parametrize("activation,use_bias", [("tanh", True), (None, False)])
def test_dense_gradients_over_inputs_and_weights(rng, shape, activation, use_bias):
    layer = built(TimeDistributed(Dense(3, activation=activation, use_bias=use_bias)), shape)
    if use_bias:
        layer.weights[1][...] = rng.normal(size=3)
    check_gradients(layer, rng.normal(size=shape))


def test_activation_gradients(rng):
    check_gradients(built(TimeDistributed(Activation("sigmoid")), (3, 5, 2)), rng.normal(size=(3, 5, 2)))


def test_gradients_in_a_sequential_model(rng):
    # GRU -> TimeDistributed(Dense) under a Masking mask: the loss weights come from the mask
    # TimeDistributed passes on, so the gradient check covers it.
    x = rng.normal(size=(5, 7, 3))
    x[0, 5:] = 0.0
    x[2, 3:] = 0.0
    y = rng.normal(size=(5, 7, 2))
    model = Sequential([Masking(input_shape=(7, 3)), GRU(4, return_sequences=True),
                        TimeDistributed(Dense(2, activation="tanh"))], dtype="float64")
    model.compile("sgd", "mse")
    xs, ys = model._inputs(x), model._targets(y, len(x))
    y_pred, mask = model._forward(xs, training=True)
    np.testing.assert_array_equal(mask[0], np.any(x != 0, axis=-1))
    _, _, dy, logits = model._loss_and_grads(ys, y_pred, mask)
    model._backward(dy, logits)
    analytic = model.parameters.grads.copy()
    params = model.parameters.params
    eps = 1e-6
    for i in np.random.default_rng(0).choice(params.size, size=60, replace=False):
        old = params[i]
        values = []
        for step in (eps, -eps):
            params[i] = old + step
            y_pred, mask = model._forward(xs, training=False)
            values.append(model._loss_and_grads(ys, y_pred, mask)[0])
        params[i] = old
        numeric = (values[0] - values[1]) / (2 * eps)
        assert abs(analytic[i] - numeric) <= 1e-8 + 1e-5 * abs(numeric), (i, analytic[i], numeric)


# ---- masks, weights, errors, configs --------------------------------------------------------

def test_mask_passes_through_unchanged(rng):
    mask = np.array([[True, False, True, True, False], [False, True, True, False, False]])
    for inner in (Dense(3), Activation("tanh"), Dropout(0.2)):
        layer = built(TimeDistributed(inner), (2, 5, 4))
        _, out = layer.forward(rng.normal(size=(2, 5, 4)), mask.copy())
        np.testing.assert_array_equal(out, [[True, False, True, True, False],
                                            [False, True, True, False, False]])
        assert built(TimeDistributed(inner), (2, 5, 4)).forward(rng.normal(size=(2, 5, 4)))[1] is None


def test_weights_are_the_inner_layers(rng):
    dense = Dense(3)
    layer = built(TimeDistributed(dense), (2, 5, 4))
    assert [s.name for s in layer.weight_specs()] == ["kernel", "bias"]
    assert layer.count_params() == 4 * 3 + 3
    assert dense.weights[0] is layer.weights[0]
    new = [rng.normal(size=(4, 3)), rng.normal(size=3)]
    layer.set_weights(new)
    np.testing.assert_array_equal(dense.weights[0], new[0])
    assert built(TimeDistributed(Activation("relu")), (2, 5, 4)).count_params() == 0


def test_errors():
    layer = TimeDistributed(Dense(3), name="td")
    with pytest.raises(ValueError, match=r"'td'.*\(4,\)"):
        layer.compute_output_shape((4,))
    with pytest.raises(ValueError, match="'td'"):
        layer.build((4,))
    with pytest.raises(ValueError, match="layer instance"):
        TimeDistributed("dense")
    with pytest.raises(ValueError, match="single-input"):
        TimeDistributed(Add())
    layer = built(TimeDistributed(Dense(3), name="td"), (2, 5, 4))
    with pytest.raises(ValueError, match="'td'"):
        layer.forward(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="dense"):  # the inner layer names itself
        layer.forward(np.zeros((2, 5, 6)))


@pytest.mark.parametrize("inner", [Dense(3, activation="relu", use_bias=False, name="inner",
                                         kernel_initializer="orthogonal"),
                                   Dropout(0.3, noise_shape=(None, 1)), Activation("tanh")])
def test_config_round_trip(inner):
    layer = TimeDistributed(inner, name="td_cfg", trainable=False)
    config = json.loads(json.dumps(serialize(layer)))
    copy = deserialize(config)
    assert type(copy) is TimeDistributed and type(copy.layer) is type(inner)
    assert copy.layer is not inner
    assert copy.get_config() == layer.get_config()
    assert copy.layer.get_config() == inner.get_config()
    assert config["config"]["layer"]["class_name"] == type(inner).__name__


def test_save_and_load_a_model(tmp_path, rng):
    x = rng.normal(size=(4, 6, 3)).astype(np.float32)
    model = Sequential([GRU(5, return_sequences=True, input_shape=(6, 3)),
                        TimeDistributed(Dense(2)), TimeDistributed(Activation("sigmoid"))])
    model.compile("adam", "mse")
    model.fit(x, rng.random((4, 6, 2)).astype(np.float32), epochs=1, verbose=0)
    model.save(tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    assert isinstance(loaded.layers[1], gru_native.TimeDistributed)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
