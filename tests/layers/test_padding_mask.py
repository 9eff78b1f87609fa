"""PaddingMask([x, inputs]): the steps of x holding no real step of the input set to zero, and
that mask, shortened by the poolings between them, carried on; the identity without a mask."""

import numpy as np
import pytest

import gru_native as gn
from gru_native import layers
from gru_native.layers.padding_mask import PaddingMask

from helpers import numerical_grad


def reference_keep(mask, steps, pool):
    """Step j of x pools input steps [j * pool, (j + 1) * pool): real if one of them is."""
    return np.array([[row[j * pool:(j + 1) * pool].any() for j in range(steps)] for row in mask])


@pytest.mark.parametrize("pool,in_steps", [(1, 7), (2, 7), (2, 8), (4, 9)])
def test_forward_zeroes_padding_and_shortens_the_mask(pool, in_steps):
    rng = np.random.default_rng(0)
    steps = -(-in_steps // pool)
    x, inputs = rng.normal(size=(4, steps, 3)), rng.normal(size=(4, in_steps, 2))
    lengths = np.array([in_steps, 1, 3, 5])
    mask = np.arange(in_steps) < lengths[:, None]
    layer = PaddingMask(pool)
    y, keep = layer.forward([x, inputs], [None, mask])
    expected = reference_keep(mask, steps, pool)
    np.testing.assert_array_equal(keep, expected)
    np.testing.assert_array_equal(y, x * expected[:, :, None])
    dx, d_inputs = layer.backward(np.ones_like(x))
    assert d_inputs is None
    np.testing.assert_array_equal(dx, np.broadcast_to(expected[:, :, None], x.shape))
    # the gradient of sum(w * y) by central differences
    w = rng.normal(size=x.shape)
    f = lambda v: float((w * layer.forward([v, inputs], [None, mask])[0]).sum())
    layer.forward([x, inputs], [None, mask])
    np.testing.assert_allclose(layer.backward(w.copy())[0], numerical_grad(f, x.copy()),
                               atol=1e-8)


def test_identity_without_a_mask():
    x = np.arange(12.0).reshape(1, 4, 3)
    layer = PaddingMask(2)
    y, keep = layer.forward([x, np.zeros((1, 8, 1))], [None, None])
    assert keep is None and y is x
    assert layer.backward(x)[0] is x


def test_in_a_model_saved_and_predicted_in_c(tmp_path):
    inputs = gn.Input((None, 2))
    x = layers.Conv1D(3, 3, padding="same", activation="relu")(inputs)
    x = layers.MaxPooling1D(2, padding="same")(x)
    x = PaddingMask(2)([x, inputs])
    model = gn.Model(inputs, layers.Dense(1)(layers.GRU(4)(x)))
    data = np.random.default_rng(0).normal(size=(3, 10, 2))
    assert model.inference_plan() is not None  # the identity there
    expected = model.predict(data, verbose=0)
    np.testing.assert_allclose(model.predict(data, verbose=0, mask=np.ones((3, 10), bool)),
                               expected, rtol=1e-6)
    model.save(tmp_path / "m.keras")
    loaded = gn.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict(data, verbose=0), expected, rtol=1e-6)
    assert PaddingMask(4).get_config()["pool_size"] == 4
    with pytest.raises(ValueError, match="pool_size"):
        PaddingMask(0)


def test_fill_value_marks_the_padding_for_a_max_pooling():
    """fill_value=-inf: padded steps hold -inf (never a window's maximum), real steps pass, and
    no gradient flows to the padding; MaxPooling1D(3, strides=1, 'same') behind it then gives
    a sequence's last real step the maximum it has alone."""
    x = np.array([[[-3.0], [-2.0], [-1.0], [5.0]], [[-4.0], [-5.0], [7.0], [7.0]]])
    mask = np.array([[True, True, True, False], [True, True, False, False]])
    layer = PaddingMask(1, fill_value=-np.inf)
    y, keep = layer.forward([x, x], [None, mask])
    np.testing.assert_array_equal(y[:, :, 0], [[-3, -2, -1, -np.inf], [-4, -5, -np.inf, -np.inf]])
    np.testing.assert_array_equal(keep, mask)
    np.testing.assert_array_equal(layer.backward(np.ones_like(x))[0][:, :, 0], mask)
    pooled, _ = layers.MaxPooling1D(3, strides=1, padding="same").forward(y)
    alone, _ = layers.MaxPooling1D(3, strides=1, padding="same").forward(x[:1, :3])
    np.testing.assert_array_equal(pooled[:1, :3], alone)
    assert PaddingMask.from_config(layer.get_config()).fill_value == -np.inf
