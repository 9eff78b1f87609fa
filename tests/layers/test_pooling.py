"""MaxPooling1D, AveragePooling1D, GlobalMaxPooling1D, GlobalAveragePooling1D and SpatialDropout1D
against NumPy written out by index and PyTorch (where installed), gradients by central finite
differences, the mask rules (padded steps never count in a global pooling), configs and errors."""

import numpy as np
import pytest

import gru_native as gn
from gru_native import layers
from helpers import check_input_gradients, run_layer

DTYPES = [np.float32, np.float64]
TOL = {np.float32: 1e-6, np.float64: 1e-13}


def pool_reference(x, pool, stride, padding, mode):
    """Windowed pooling by index, TensorFlow's 'same' split; the average over real steps only."""
    B, T, C = x.shape
    if padding == "same":
        out = -(-T // stride)
        total = max((out - 1) * stride + pool - T, 0)
        left = total // 2
    else:
        out, left = (T - pool) // stride + 1, 0
    y = np.empty((B, out, C))
    for o in range(out):
        lo = o * stride - left
        steps = [t for t in range(lo, lo + pool) if 0 <= t < T]
        window = x[:, steps, :]
        y[:, o] = window.max(axis=1) if mode == "max" else window.mean(axis=1)
    return y


CASES = [(2, None, "valid"), (3, 1, "valid"), (3, 2, "same"), (4, 3, "same"), (5, 2, "valid"),
         (1, 1, "same"), (2, 3, "valid"), (4, 1, "same")]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("pool,stride,padding", CASES)
@pytest.mark.parametrize("cls,mode", [(layers.MaxPooling1D, "max"),
                                      (layers.AveragePooling1D, "average")])
def test_windowed_pooling_against_numpy(rng, cls, mode, pool, stride, padding, dtype):
    x = rng.normal(size=(3, 11, 4)).astype(dtype)
    layer = cls(pool, stride, padding)
    y, mask = run_layer(layer, x, mask=np.ones((3, 11), bool))
    want = pool_reference(x.astype(np.float64), pool, stride or pool, padding, mode)
    assert y.dtype == dtype and mask is None  # Keras' pooling drops a mask
    assert layer.output_shape == want.shape[1:]
    np.testing.assert_allclose(y, want, rtol=TOL[dtype], atol=TOL[dtype])


@pytest.mark.parametrize("pool,stride,padding", CASES)
@pytest.mark.parametrize("cls", [layers.MaxPooling1D, layers.AveragePooling1D])
def test_windowed_pooling_gradients(rng, cls, pool, stride, padding):
    check_input_gradients(cls(pool, stride, padding), rng.normal(size=(2, 9, 3)))


@pytest.mark.parametrize("cls", [layers.MaxPooling1D, layers.AveragePooling1D])
def test_channels_first(rng, cls):
    x = rng.normal(size=(2, 9, 3))
    last, _ = run_layer(cls(3, 2, "same"), x)
    first_layer = cls(3, 2, "same", data_format="channels_first")
    first, _ = run_layer(first_layer, np.ascontiguousarray(x.transpose(0, 2, 1)))
    np.testing.assert_allclose(first, last.transpose(0, 2, 1), rtol=1e-14)
    assert first_layer.output_shape == (3, 5)
    check_input_gradients(first_layer, np.ascontiguousarray(x.transpose(0, 2, 1)))


@pytest.mark.parametrize("pool,stride,padding", CASES)
def test_windowed_pooling_matches_torch(rng, pool, stride, padding):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    stride = stride or pool
    x = rng.normal(size=(3, 12, 4))
    T = x.shape[1]
    out = -(-T // stride) if padding == "same" else (T - pool) // stride + 1
    total = max((out - 1) * stride + pool - T, 0) if padding == "same" else 0
    pads = (total // 2, total - total // 2)
    for cls, mode in [(layers.MaxPooling1D, "max"), (layers.AveragePooling1D, "average")]:
        xt = torch.tensor(x.transpose(0, 2, 1), requires_grad=True)
        if mode == "max":
            yt = F.max_pool1d(F.pad(xt, pads, value=-np.inf), pool, stride)
        else:  # the average over real steps: the padded sum over the padded count of ones
            ones = F.pad(torch.ones_like(xt), pads)
            yt = F.avg_pool1d(F.pad(xt, pads), pool, stride) / F.avg_pool1d(ones, pool, stride)
        dy = rng.normal(size=yt.shape)
        yt.backward(torch.tensor(dy))
        layer = cls(pool, stride, padding)
        y, _ = run_layer(layer, x)
        np.testing.assert_allclose(y, yt.detach().numpy().transpose(0, 2, 1), rtol=1e-12)
        dx = layer.backward(np.ascontiguousarray(dy.transpose(0, 2, 1)))
        np.testing.assert_allclose(dx, xt.grad.numpy().transpose(0, 2, 1), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("keepdims", [False, True])
def test_global_pooling_counts_only_valid_steps(rng, dtype, keepdims):
    x = rng.normal(size=(4, 7, 3)).astype(dtype)
    lengths = [7, 3, 1, 5]
    mask = np.arange(7)[None, :] < np.array(lengths)[:, None]
    x[~mask] = 100.0  # a padded step would dominate the max and shift the mean
    avg, avg_mask = run_layer(layers.GlobalAveragePooling1D(keepdims=keepdims), x, mask)
    mx, _ = run_layer(layers.GlobalMaxPooling1D(keepdims=keepdims), x, mask)
    for b, n in enumerate(lengths):
        a, m = (avg[b, 0], mx[b, 0]) if keepdims else (avg[b], mx[b])
        np.testing.assert_allclose(a, x[b, :n].astype(np.float64).mean(0), rtol=TOL[dtype])
        np.testing.assert_array_equal(m, x[b, :n].max(0))
    assert avg.dtype == mx.dtype == dtype and avg_mask is None
    plain, _ = run_layer(layers.GlobalAveragePooling1D(), x)
    np.testing.assert_allclose(plain, x.astype(np.float64).mean(1), rtol=TOL[dtype])


@pytest.mark.parametrize("cls", [layers.GlobalAveragePooling1D, layers.GlobalMaxPooling1D])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("keepdims", [False, True])
def test_global_pooling_gradients(rng, cls, data_format, keepdims):
    x = rng.normal(size=(3, 6, 4))
    mask = np.ones((3, 6 if data_format == "channels_last" else 4), bool)
    mask[1, 3:] = False
    mask[2, 1:] = False
    for m in (None, mask):
        check_input_gradients(cls(data_format=data_format, keepdims=keepdims), x, m)


def test_global_pooling_of_a_fully_masked_sequence_is_zero(rng):
    x = rng.normal(size=(2, 4, 3))
    mask = np.array([[True] * 4, [False] * 4])
    for cls in (layers.GlobalAveragePooling1D, layers.GlobalMaxPooling1D):
        layer = cls()
        y, _ = run_layer(layer, x, mask)
        np.testing.assert_array_equal(y[1], 0)
        assert np.all(layer.backward(np.ones_like(y))[1] == 0)


def test_spatial_dropout_drops_whole_channels(rng):
    gn.utils.set_random_seed(0)
    layer = layers.SpatialDropout1D(0.5)
    x = np.ones((8, 20, 16))
    y, _ = run_layer(layer, x, training=True)
    kept = y[:, 0, :] != 0
    assert 0.25 < kept.mean() < 0.75
    np.testing.assert_array_equal(y, np.broadcast_to(np.where(kept, 2.0, 0.0)[:, None], y.shape))
    np.testing.assert_array_equal(layer.backward(np.ones_like(y)), y)
    np.testing.assert_array_equal(run_layer(layers.SpatialDropout1D(0.5), x)[0], x)  # inference
    assert layers.SpatialDropout1D(0.3).get_config()["rate"] == 0.3


def test_arguments_and_shapes():
    assert layers.MaxPooling1D().get_config()["strides"] == 2  # strides default to pool_size
    assert layers.MaxPooling1D((3,), (2,)).pool_size == 3
    with pytest.raises(ValueError, match="padding"):
        layers.MaxPooling1D(padding="causal")
    with pytest.raises(ValueError, match="pool_size"):
        layers.AveragePooling1D(0)
    with pytest.raises(ValueError, match="pool_size"):
        layers.AveragePooling1D(True)
    with pytest.raises(ValueError, match="data_format"):
        layers.GlobalMaxPooling1D(data_format="nhwc")
    with pytest.raises(ValueError, match="zero or negative"):
        layers.MaxPooling1D(5).compute_output_shape((3, 2))
    assert layers.MaxPooling1D(3, 2, "same").compute_output_shape((None, 4)) == (None, 4)
    with pytest.raises(ValueError, match="'gp'.*steps, channels"):
        gn.Model(i := gn.Input((5,)), layers.GlobalMaxPooling1D(name="gp")(i))


def test_pooling_in_a_model_trains_saves_and_loads(rng, tmp_path):
    """Conv-free front end: GRU(return_sequences) -> MaxPooling1D -> GRU -> GlobalAveragePooling
    of a masked sequence; weight gradients flow through both poolings, saving keeps the configs."""
    inp = gn.Input((12, 2))
    seq = layers.GRU(6, return_sequences=True)(layers.Masking()(inp))
    seq = layers.GRU(5, return_sequences=True)(layers.MaxPooling1D(2)(seq))
    seq = layers.SpatialDropout1D(0.1)(seq)
    out = layers.Dense(1)(layers.GlobalAveragePooling1D()(seq))
    model = gn.Model(inp, out)
    model.compile("adam", "mse")
    x, y = rng.normal(size=(16, 12, 2)).astype(np.float32), rng.normal(size=(16, 1))
    x[:4, 9:] = 0  # padded ends, masked
    history = model.fit(x, y, epochs=20, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    path = tmp_path / "pooled.keras"
    model.save(path)
    loaded = gn.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert [type(layer).__name__ for layer in loaded.layers] == \
        [type(layer).__name__ for layer in model.layers]
