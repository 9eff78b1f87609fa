"""RepeatVector, Flatten, Reshape and Permute against NumPy written out by index, gradients by
central finite differences, Keras 3's mask rule (none of them passes a mask on), shape errors
and configs."""

import json
import re

import numpy as np
import pytest

from gru_native.layers import (Flatten, Permute, RepeatVector, Reshape, deserialize,
                               serialize)
from helpers import check_input_gradients, run_layer as run


DTYPES = [np.float32, np.float64]


# ---- RepeatVector ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n,shape", [(3, (5, 7)), (1, (1, 1)), (11, (2, 3))])
def test_repeat_vector_forward(rng, n, shape, dtype):
    x = rng.normal(size=shape).astype(dtype)
    layer = RepeatVector(n)
    y, mask = run(layer, x)
    assert y.dtype == dtype and y.shape == (shape[0], n, shape[1]) and mask is None
    assert layer.output_shape == (n, shape[1])
    for b in range(shape[0]):
        for t in range(n):
            np.testing.assert_array_equal(y[b, t], x[b])


@pytest.mark.parametrize("n,shape", [(3, (5, 7)), (1, (1, 1)), (11, (2, 3))])
def test_repeat_vector_gradient(rng, n, shape):
    check_input_gradients(RepeatVector(n), rng.normal(size=shape))
    layer = RepeatVector(n)
    run(layer, rng.normal(size=shape))
    dy = rng.normal(size=(shape[0], n, shape[1]))
    np.testing.assert_allclose(layer.backward(dy), sum(dy[:, t] for t in range(n)))


def test_repeat_vector_arguments_and_shapes():
    with pytest.raises(TypeError):
        RepeatVector(2.0)
    with pytest.raises(TypeError):
        RepeatVector(True)
    with pytest.raises(ValueError):
        RepeatVector(0)
    layer = RepeatVector(3, name="rep")
    assert layer.compute_output_shape((None,)) == (3, None)
    with pytest.raises(ValueError, match=r"'rep'.*\(5, 7\)"):
        layer.compute_output_shape((5, 7))
    with pytest.raises(ValueError, match="'rep'"):
        layer.build(())


# ---- Flatten --------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3, 5, 7), (2, 1, 3, 5), (1, 7), (3,)])
def test_flatten_forward(rng, shape, dtype):
    x = rng.normal(size=shape).astype(dtype)
    layer = Flatten()
    y, mask = run(layer, x)
    size = int(np.prod(shape[1:]))
    assert y.dtype == dtype and y.shape == (shape[0], size) and mask is None
    assert layer.output_shape == (size,)
    for b in range(shape[0]):  # row-major order of the non-batch axes
        for j, i in enumerate(np.ndindex(shape[1:])):
            assert y[b, j] == x[(b,) + i]


def test_flatten_channels_first(rng):
    x = rng.normal(size=(2, 3, 5, 7))  # (batch, channels, h, w)
    y, _ = run(Flatten(data_format="channels_first"), x)
    # the channel axis moves last before flattening, as Keras
    np.testing.assert_array_equal(y, np.stack([x[b].transpose(1, 2, 0).ravel() for b in range(2)]))
    check_input_gradients(Flatten(data_format="channels_first"), x)


@pytest.mark.parametrize("shape", [(3, 5, 7), (2, 1, 3, 5), (3,)])
def test_flatten_gradient(rng, shape):
    check_input_gradients(Flatten(), rng.normal(size=shape))


def test_flatten_shapes():
    assert Flatten().compute_output_shape((None, 3)) == (None,)
    assert Flatten().compute_output_shape(()) == (1,)
    with pytest.raises(ValueError):
        Flatten(data_format="nchw")


# ---- Reshape --------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,target,out", [
    ((3, 5, 7), (7, 5), (7, 5)), ((3, 5, 7), (-1,), (35,)), ((3, 35), (5, -1, 1), (5, 7, 1)),
    ((1, 1, 1), (-1, 1), (1, 1)), ((2, 3, 5, 7), (3, -1), (3, 35))])
def test_reshape_forward(rng, shape, target, out, dtype):
    x = rng.normal(size=shape).astype(dtype)
    layer = Reshape(target)
    y, mask = run(layer, x)
    assert y.dtype == dtype and y.shape == (shape[0],) + out and mask is None
    assert layer.output_shape == out
    np.testing.assert_array_equal(y.ravel(), x.ravel())  # the same values in row-major order


@pytest.mark.parametrize("shape,target", [((3, 5, 7), (7, 5)), ((3, 35), (5, -1, 1)),
                                          ((1, 1, 3), (-1,))])
def test_reshape_gradient(rng, shape, target):
    check_input_gradients(Reshape(target), rng.normal(size=shape))


def test_reshape_unknown_lengths():
    layer = Reshape((-1, 2))
    assert layer.compute_output_shape((None, 4)) == (None, 2)
    layer.build((None, 4))
    y, _ = layer.forward(np.zeros((3, 5, 4)))
    assert y.shape == (3, 10, 2)


def test_reshape_errors():
    with pytest.raises(ValueError):
        Reshape((-1, -1))
    with pytest.raises(ValueError):
        Reshape((3, -2))
    layer = Reshape((4, 2), name="rs")
    with pytest.raises(ValueError, match=r"'rs'.*\(3, 5\).*\(4, 2\)"):
        layer.compute_output_shape((3, 5))
    with pytest.raises(ValueError, match="'rs'"):
        Reshape((-1, 4), name="rs").build((3, 5))
    layer = Reshape((-1, 2), name="rs")
    layer.build((None, 4))
    with pytest.raises(ValueError, match="'rs'"):
        layer.forward(np.zeros((2, 3, 3)))  # size 9 does not split into pairs


# ---- Permute --------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,dims", [((3, 5, 7), (2, 1)), ((2, 1, 3, 5), (3, 1, 2)),
                                        ((3, 5, 7), (1, 2)), ((1, 3, 1, 5), (2, 3, 1))])
def test_permute_forward(rng, shape, dims, dtype):
    x = rng.normal(size=shape).astype(dtype)
    layer = Permute(dims)
    y, mask = run(layer, x)
    assert y.dtype == dtype and mask is None and y.flags.c_contiguous
    assert y.shape == (shape[0],) + tuple(shape[d] for d in dims) == (shape[0],) + layer.output_shape
    for i in np.ndindex(y.shape):  # output axis k is input axis dims[k-1]
        j = [0] * len(shape)
        j[0] = i[0]
        for k, d in enumerate(dims, start=1):
            j[d] = i[k]
        assert y[i] == x[tuple(j)]


@pytest.mark.parametrize("shape,dims", [((3, 5, 7), (2, 1)), ((2, 1, 3, 5), (3, 1, 2))])
def test_permute_gradient(rng, shape, dims):
    check_input_gradients(Permute(dims), rng.normal(size=shape))


def test_permute_errors():
    with pytest.raises(ValueError):
        Permute((0, 1))
    with pytest.raises(ValueError):
        Permute((1, 3))
    layer = Permute((2, 1), name="perm")
    with pytest.raises(ValueError, match=r"'perm'.*\(3, 5, 7\)"):
        layer.compute_output_shape((3, 5, 7))
    with pytest.raises(ValueError, match="'perm'"):
        layer.build((3,))


# ---- masks and configs ----------------------------------------------------------------------

@pytest.mark.parametrize("layer,shape", [(Flatten(), (2, 3, 5)), (Reshape((5, 3)), (2, 3, 5)),
                                         (Permute((2, 1)), (2, 3, 5)), (RepeatVector(3), (2, 5))])
def test_no_mask_passes(rng, layer, shape):
    # Keras 3: these layers do not support masking, the mask stops at them.
    mask = np.array([[True, False, True], [True, True, False]])
    assert run(layer, rng.normal(size=shape), mask)[1] is None


@pytest.mark.parametrize("layer", [RepeatVector(5, name="r"), Flatten(), Flatten("channels_first"),
                                   Reshape((-1, 3), trainable=False), Reshape([7]),
                                   Permute((3, 1, 2), name="p")])
def test_config_round_trip(layer):
    config = json.loads(json.dumps(serialize(layer)))
    copy = deserialize(config)
    assert type(copy) is type(layer) and copy is not layer
    assert copy.get_config() == layer.get_config()
    for attr in ("n", "data_format", "target_shape", "dims"):
        assert getattr(copy, attr, None) == getattr(layer, attr, None)


def test_config_values():
    assert RepeatVector(5).get_config()["n"] == 5
    assert Reshape((-1, 3)).get_config()["target_shape"] == [-1, 3]
    assert Permute((2, 1)).get_config()["dims"] == [2, 1]
    assert Flatten().get_config()["data_format"] == "channels_last"
    assert re.fullmatch(r"flatten(_\d+)?", Flatten().name)
