"""LayerNormalization and BatchNormalization against NumPy and PyTorch (LayerNorm, BatchNorm1d),
gradients by central finite differences (with masks), the moving statistics (updated by the layer
in training, never by the optimizer, used at prediction, saved with the model), configs, errors."""

import numpy as np
import pytest

import gru_native as gn
from gru_native import layers
from gru_native.layers.base import allocate
from gru_native.optimizers import AdamW
from helpers import (assert_matches_central_differences, check_input_gradients,
                     finite_difference_check)

DTYPES = [np.float32, np.float64]
TOL = {np.float32: 2e-6, np.float64: 1e-12}


def built(layer, x, rng=None, dtype=None):
    """`layer` built for x, with random gamma and beta (not the trivial ones and zeros)."""
    layer.build(x.shape[1:])
    allocate([layer], dtype or x.dtype)
    rng = rng or np.random.default_rng(0)
    for spec, w in zip(layer.weight_specs(), layer.weights):
        if spec.name in ("gamma", "beta"):
            w[...] = rng.normal(size=w.shape)
    return layer


def check_all_gradients(layer, x, mask, training, seed=1):
    """d sum(w * y) / d (x, gamma, beta) against central differences, in float64."""
    w = np.random.default_rng(seed).normal(size=x.shape)

    def loss():
        return np.sum(w * layer.forward(x, mask, training)[0])

    loss()
    dx = layer.backward(w.copy())
    trained = [(spec.name, v, g.copy()) for spec, v, g in
               zip(layer.weight_specs(), layer.weights, layer.grads) if spec.trainable]
    assert_matches_central_differences(loss, dict([("x", x)] + [(n, v) for n, v, _ in trained]),
                                       dict([("x", dx)] + [(n, g) for n, _, g in trained]))


@pytest.mark.parametrize("dtype", DTYPES)
def test_layer_normalization_against_numpy_and_torch(rng, dtype):
    x = (rng.normal(size=(3, 5, 6)) * 3 + 1).astype(dtype)
    layer = built(layers.LayerNormalization(epsilon=1e-3), x)
    gamma, beta = layer.weights
    y, mask = layer.forward(x, np.ones((3, 5), bool))
    x64 = x.astype(np.float64)
    want = (x64 - x64.mean(-1, keepdims=True)) / np.sqrt(x64.var(-1, keepdims=True) + 1e-3)
    np.testing.assert_allclose(y, want * gamma + beta, rtol=TOL[dtype], atol=TOL[dtype])
    assert y.dtype == dtype and mask is not None  # the mask passes on
    torch = pytest.importorskip("torch")
    yt = torch.nn.functional.layer_norm(torch.tensor(x64), (6,), torch.tensor(gamma, dtype=torch.float64),
                                        torch.tensor(beta, dtype=torch.float64), eps=1e-3)
    np.testing.assert_allclose(y, yt.numpy(), rtol=TOL[dtype], atol=TOL[dtype])


@pytest.mark.parametrize("center,scale", [(True, True), (False, True), (True, False),
                                          (False, False)])
def test_layer_normalization_gradients(rng, center, scale):
    x = rng.normal(size=(2, 3, 4))
    check_all_gradients(built(layers.LayerNormalization(center=center, scale=scale), x), x,
                        None, True)


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("center,scale", [(True, True), (False, True), (True, False)])
def test_batch_normalization_training_gradients(rng, masked, center, scale):
    x = rng.normal(size=(3, 4, 2)) * 2 + 0.5
    mask = np.ones((3, 4), bool)
    if masked:
        mask[0, 2:] = mask[2, 1:] = False
    layer = built(layers.BatchNormalization(center=center, scale=scale), x)
    check_all_gradients(layer, x, mask if masked else None, True)


def test_batch_normalization_inference_gradients(rng):
    x = rng.normal(size=(3, 4, 2))
    layer = built(layers.BatchNormalization(), x)
    layer.weights[2][...] = rng.normal(size=2)
    layer.weights[3][...] = rng.uniform(0.5, 2, size=2)
    check_all_gradients(layer, x, None, False)
    check_input_gradients(layer, x)


@pytest.mark.parametrize("dtype", DTYPES)
def test_batch_normalization_against_torch(rng, dtype):
    """Training: normalised by the batch's statistics over batch and steps, moving statistics
    moved by 1 - momentum (Keras keeps the biased variance, torch the unbiased one); inference:
    by the moving statistics."""
    torch = pytest.importorskip("torch")
    x = (rng.normal(size=(4, 6, 3)) * 2 + 1).astype(dtype)
    layer = built(layers.BatchNormalization(momentum=0.9, epsilon=1e-3), x)
    gamma, beta, moving_mean, moving_var = layer.weights
    bn = torch.nn.BatchNorm1d(3, eps=1e-3, momentum=0.1, dtype=torch.float64)
    with torch.no_grad():
        bn.weight[:], bn.bias[:] = torch.tensor(gamma, dtype=torch.float64), torch.tensor(beta, dtype=torch.float64)
    xt = torch.tensor(x.astype(np.float64).transpose(0, 2, 1))  # torch: (batch, channels, steps)
    y, _ = layer.forward(x, training=True)
    np.testing.assert_allclose(y, bn.train()(xt).detach().numpy().transpose(0, 2, 1),
                               rtol=TOL[dtype] * 10, atol=TOL[dtype] * 10)
    n = x.shape[0] * x.shape[1]
    np.testing.assert_allclose(moving_mean, bn.running_mean.numpy(), rtol=TOL[dtype] * 10)
    # from 1: 0.9 + 0.1 * var, torch's var unbiased (n - 1), Keras' biased (n)
    biased = 0.9 + (bn.running_var.numpy() - 0.9) * (n - 1) / n
    np.testing.assert_allclose(moving_var, biased, rtol=TOL[dtype] * 10)
    bn.running_var[:] = torch.tensor(moving_var, dtype=torch.float64)
    y, _ = layer.forward(x, training=False)
    np.testing.assert_allclose(y, bn.eval()(xt).detach().numpy().transpose(0, 2, 1),
                               rtol=TOL[dtype] * 10, atol=TOL[dtype] * 10)


def test_batch_normalization_masked_statistics(rng):
    x = rng.normal(size=(3, 5, 2))
    mask = np.arange(5)[None] < np.array([5, 2, 3])[:, None]
    layer = built(layers.BatchNormalization(momentum=0.0, scale=False, center=False), x)
    x[~mask] = 1e3  # padded steps must not move the statistics
    y, out_mask = layer.forward(x, mask, training=True)
    valid = x[mask]
    np.testing.assert_allclose(layer.weights[0], valid.mean(0), rtol=1e-6)
    np.testing.assert_allclose(layer.weights[1], valid.var(0), rtol=1e-6)
    np.testing.assert_allclose(y[mask], (valid - valid.mean(0)) / np.sqrt(valid.var(0) + 1e-3),
                               rtol=1e-6)
    assert out_mask is mask


def test_moving_statistics_are_the_layers_not_the_optimizers(rng, tmp_path):
    """With AdamW (weight decay would shrink every trained weight), the moving statistics after
    fit equal the running average of the batches' statistics computed here; prediction uses
    them; saving keeps them; a frozen BatchNormalization moves nothing."""
    inp = gn.Input((6, 3))
    bn = layers.BatchNormalization(momentum=0.8)
    model = gn.Model(inp, layers.Dense(1)(layers.GlobalAveragePooling1D()(bn(inp))),
                     dtype="float64")
    model.compile(AdamW(learning_rate=1e-2, weight_decay=0.5), "mse")
    x = rng.normal(size=(16, 6, 3)) * 3 + 2
    y = rng.normal(size=(16, 1))
    model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    mean, var = np.zeros(3), np.ones(3)
    for _ in range(2):
        for batch in (x[:8], x[8:]):
            flat = batch.reshape(-1, 3)
            mean, var = 0.8 * mean + 0.2 * flat.mean(0), 0.8 * var + 0.2 * flat.var(0)
    np.testing.assert_allclose(bn.weights[2], mean, rtol=1e-12)
    np.testing.assert_allclose(bn.weights[3], var, rtol=1e-12)
    gamma, beta = bn.weights[0], bn.weights[1]
    normed = (x - mean) / np.sqrt(var + 1e-3) * gamma + beta
    dense = model.layers[-1]
    want = normed.mean(1) @ dense.weights[0] + dense.weights[1]
    np.testing.assert_allclose(model.predict(x, verbose=0), want, rtol=1e-10)
    model.save(tmp_path / "bn.keras")
    loaded = gn.load_model(tmp_path / "bn.keras")
    np.testing.assert_array_equal(loaded.get_layer(bn.name).weights[3], bn.weights[3])
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))

    bn.trainable = False
    model.compile(AdamW(learning_rate=1e-2, weight_decay=0.5), "mse")
    before = [w.copy() for w in bn.weights]
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    for w, b in zip(bn.weights, before):
        np.testing.assert_array_equal(w, b)


def test_weight_gradients_through_a_model(rng):
    inp = gn.Input((5, 3))
    seq = layers.LayerNormalization()(layers.GRU(4, return_sequences=True)(inp))
    model = gn.Model(inp, layers.Dense(2)(layers.GlobalMaxPooling1D()(seq)), dtype="float64")
    model.compile("sgd", "mse")
    for layer in model.layers:
        for spec, w in zip(layer.weight_specs(), layer.weights):
            if spec.name in ("gamma", "beta"):
                w[...] = rng.normal(size=w.shape)
    finite_difference_check(model, rng.normal(size=(4, 5, 3)), rng.normal(size=(4, 2)))


def test_summary_counts_moving_statistics_as_non_trainable(capsys):
    model = gn.Sequential([gn.Input((7, 4)), layers.BatchNormalization(), layers.GRU(3)])
    model.summary()
    text = capsys.readouterr().out
    assert f"Total params: {model.count_params():,}" in text
    assert "Non-trainable params: 8 (" in text  # moving mean and variance of 4 features


def test_arguments():
    with pytest.raises(ValueError, match="axis"):
        layers.LayerNormalization(axis=1)
    with pytest.raises(ValueError, match="axis"):
        layers.BatchNormalization(axis=(1, 2))
    with pytest.raises(ValueError, match="momentum"):
        layers.BatchNormalization(momentum=1.5)
    with pytest.raises(ValueError, match="epsilon"):
        layers.LayerNormalization(epsilon=0)
    config = layers.BatchNormalization(momentum=0.9, center=False, name="bn").get_config()
    again = layers.BatchNormalization.from_config(config)
    assert again.get_config() == config
