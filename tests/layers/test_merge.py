"""The merge layers (Concatenate, Add, Subtract, Multiply, Average, Maximum, Minimum) against
NumPy references written from Keras 3's rules: forward values, gradients by central finite
differences, output masks, shape errors and configs."""

import json
import re

import numpy as np
import pytest

from gru_native.layers import (Add, Average, Concatenate, Maximum, Minimum, Multiply, Subtract,
                               deserialize, serialize)
from helpers import numerical_grad

ELEMENTWISE = [Add, Subtract, Multiply, Average, Maximum, Minimum]


def run(layer, xs, masks=None, training=False):
    layer.build([x.shape[1:] for x in xs])
    return layer.forward(xs, masks, training)


def check_input_gradients(layer, xs, masks=None, seed=0):
    """backward of a random linear functional sum(w * y) against central differences over every
    input element (float64)."""
    y, _ = run(layer, xs, masks)
    w = np.random.default_rng(seed).normal(size=y.shape)
    analytic = layer.backward(w.copy())
    assert len(analytic) == len(xs)
    for x, g in zip(xs, analytic):
        assert g.shape == x.shape and g.dtype == x.dtype
        # x is one of xs, perturbed in place: the forward sees it among the others
        numeric = numerical_grad(lambda _: np.sum(w * layer.forward(xs, masks)[0]), x)
        np.testing.assert_allclose(g, numeric, rtol=1e-6, atol=1e-8)


def reference(cls, xs, masks=None):
    """Keras 3's values. Multiply: a masked step of an input counts as 1, and 0 where every
    input has a mask and all of them mask the step. Maximum/Minimum: the extremum over the
    inputs unmasked at that step (no mask: unmasked), the first input where all are masked.
    Add, Subtract, Average ignore the masks."""
    shape = np.broadcast_shapes(*(x.shape for x in xs))
    xs = [np.broadcast_to(x, shape) for x in xs]
    valid = [np.ones(shape, bool) if m is None else np.broadcast_to(m[..., None], shape)
             for m in (masks or [None] * len(xs))]
    if cls is Add:
        return sum(xs[1:], xs[0])
    if cls is Subtract:
        return xs[0] - xs[1]
    if cls is Average:
        return sum(xs[1:], xs[0]) / len(xs)
    if cls is Multiply:
        y = np.prod([np.where(v, x, 1) for x, v in zip(xs, valid)], axis=0)
        if masks is not None and all(m is not None for m in masks):
            y = np.where(np.any(valid, axis=0), y, 0)
        return y
    fill = -np.inf if cls is Maximum else np.inf
    pick = np.max if cls is Maximum else np.min
    y = pick([np.where(v, x, fill) for x, v in zip(xs, valid)], axis=0)
    return np.where(np.any(valid, axis=0), y, xs[0])


def inputs(rng, n, shape, dtype=np.float64):
    return [rng.normal(size=shape).astype(dtype) for _ in range(n)]


# ---- forward values -------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cls", ELEMENTWISE)
@pytest.mark.parametrize("shape", [(3, 5, 7), (1, 1, 3), (5, 11)])
def test_elementwise_forward(rng, cls, shape, dtype):
    n = 2 if cls is Subtract else 3
    xs = inputs(rng, n, shape, dtype)
    y, mask = run(cls(), xs)
    assert y.dtype == dtype and y.shape == shape and mask is None
    if cls is Add:  # written out once, not through the reference
        np.testing.assert_allclose(y, xs[0] + xs[1] + xs[2], rtol=1e-6)
    np.testing.assert_allclose(y, reference(cls, xs), rtol=1e-6 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("cls", ELEMENTWISE)
def test_elementwise_broadcasts_ones_and_lower_ranks_as_keras(rng, cls):
    # (3, 1, 7) with (3, 5, 7): the 1 broadcasts; (3, 7) is expanded to (3, 1, 7) (Keras'
    # expand_dims after the batch axis) and broadcasts too.
    a, b, c = rng.normal(size=(3, 1, 7)), rng.normal(size=(3, 5, 7)), rng.normal(size=(3, 7))
    xs = [a, b] if cls is Subtract else [a, b, c]
    layer = cls()
    assert layer.compute_output_shape([x.shape[1:] for x in xs]) == (5, 7)
    y, _ = run(layer, xs)
    np.testing.assert_allclose(y, reference(cls, [a, b] if cls is Subtract else [a, b, c[:, None]]),
                               rtol=1e-12)
    check_input_gradients(cls(), xs)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("axis", [-1, 2, 1])
def test_concatenate_forward(rng, axis, dtype):
    if axis == 1:
        xs = [rng.normal(size=(3, t, 5)).astype(dtype) for t in (1, 7, 3)]
    else:
        xs = [rng.normal(size=(3, 7, f)).astype(dtype) for f in (1, 5, 2)]
    layer = Concatenate(axis=axis)
    y, mask = run(layer, xs)
    assert y.dtype == dtype and mask is None
    assert layer.output_shape == y.shape[1:]
    np.testing.assert_array_equal(y, np.concatenate(xs, axis=axis))
    np.testing.assert_array_equal(y[:, :1, :] if axis == 1 else y[..., :1], xs[0])


def test_forward_against_torch(rng):
    torch = pytest.importorskip("torch")
    xs = inputs(rng, 3, (3, 5, 7))
    ts = [torch.tensor(x, requires_grad=True) for x in xs]
    w = rng.normal(size=(3, 5, 21))
    for cls, ref in [(Concatenate, lambda t: torch.cat(t, dim=-1)),
                     (Add, lambda t: t[0] + t[1] + t[2]),
                     (Multiply, lambda t: t[0] * t[1] * t[2]),
                     (Average, lambda t: (t[0] + t[1] + t[2]) / 3),
                     (Maximum, lambda t: torch.maximum(torch.maximum(t[0], t[1]), t[2])),
                     (Minimum, lambda t: torch.minimum(torch.minimum(t[0], t[1]), t[2]))]:
        layer = cls()
        y, _ = run(layer, xs)
        expected = ref(ts)
        np.testing.assert_allclose(y, expected.detach().numpy(), rtol=1e-12)
        wy = w[..., :y.shape[-1]]
        grads = torch.autograd.grad((expected * torch.tensor(wy)).sum(), ts)
        for g, e in zip(layer.backward(wy.copy()), grads):
            np.testing.assert_allclose(g, e.numpy(), rtol=1e-12, atol=1e-15)


# ---- masks ----------------------------------------------------------------------------------

M0 = np.array([[True, True, False], [True, False, False]])
M1 = np.array([[True, False, True], [False, False, True]])
M0_OR_M1 = np.array([[True, True, True], [True, False, True]])  # by hand


@pytest.mark.parametrize("cls", ELEMENTWISE)
def test_elementwise_output_mask_is_the_or_none_if_any_input_has_none(rng, cls):
    xs = inputs(rng, 2, (2, 3, 5))
    _, mask = run(cls(), xs, [M0, M1])
    np.testing.assert_array_equal(mask, M0_OR_M1)
    assert mask.dtype == bool
    for masks in ([M0, None], [None, M1], [None, None], None):
        assert run(cls(), xs, masks)[1] is None


@pytest.mark.parametrize("masks", [[M0, M1, None], [M0, None, M1], [None, M0, M1], [M0, M1, M1[::-1]]])
@pytest.mark.parametrize("cls", [Multiply, Maximum, Minimum, Add, Average])
def test_masked_values_as_keras(rng, cls, masks):
    xs = inputs(rng, 3, (2, 3, 5))
    y, _ = run(cls(), xs, masks)
    np.testing.assert_allclose(y, reference(cls, xs, masks), rtol=1e-12)


def test_masked_values_by_hand():
    # One feature, 2 samples x 3 steps; written out from Keras' rules.
    a = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])[..., None]
    b = np.array([[10.0, -1.0, 0.5], [-2.0, 7.0, 9.0]])[..., None]
    # M0 = [[T T F] [T F F]], M1 = [[T F T] [F F T]]
    y, _ = run(Maximum(), [a, b], [M0, M1])
    np.testing.assert_array_equal(y[..., 0], [[10.0, 2.0, 0.5], [4.0, 5.0, 9.0]])
    y, _ = run(Minimum(), [a, b], [M0, M1])
    np.testing.assert_array_equal(y[..., 0], [[1.0, 2.0, 0.5], [4.0, 5.0, 9.0]])
    y, _ = run(Multiply(), [a, b], [M0, M1])
    np.testing.assert_array_equal(y[..., 0], [[10.0, 2.0, 0.5], [4.0, 0.0, 9.0]])
    y, _ = run(Multiply(), [a, b], [M0, None])  # not every input masked: no zeroing
    np.testing.assert_array_equal(y[..., 0], [[10.0, -2.0, 0.5], [-8.0, 7.0, 9.0]])
    y, _ = run(Add(), [a, b], [M0, M1])  # Add does not look at masks
    np.testing.assert_array_equal(y[..., 0], [[11.0, 1.0, 3.5], [2.0, 12.0, 15.0]])


CONCAT_M1 = np.array([[False, True], [True, False]])  # 2 timesteps


def test_concatenate_mask_on_the_feature_axis():
    xs = [np.ones((2, 3, 4)), np.ones((2, 3, 1))]
    np.testing.assert_array_equal(run(Concatenate(), xs, [M0, M1])[1], M0_OR_M1)
    # A missing mask counts as all True: any() over the features is then True everywhere.
    np.testing.assert_array_equal(run(Concatenate(), xs, [M0, None])[1], np.ones((2, 3), bool))
    assert run(Concatenate(), xs, [None, None])[1] is None
    assert run(Concatenate(), xs, None)[1] is None


def test_concatenate_mask_on_the_time_axis():
    xs = [np.ones((2, 3, 4)), np.ones((2, 2, 4))]
    np.testing.assert_array_equal(run(Concatenate(axis=1), xs, [M0, CONCAT_M1])[1],
                                  [[True, True, False, False, True], [True, False, False, True, False]])
    np.testing.assert_array_equal(run(Concatenate(axis=1), xs, [M0, None])[1],
                                  [[True, True, False, True, True], [True, False, False, True, True]])
    np.testing.assert_array_equal(run(Concatenate(axis=1), xs, [None, CONCAT_M1])[1],
                                  [[True, True, True, False, True], [True, True, True, True, False]])


# ---- gradients ------------------------------------------------------------------------------

@pytest.mark.parametrize("cls", ELEMENTWISE)
@pytest.mark.parametrize("shape", [(3, 5, 7), (1, 1, 3), (5, 11)])
def test_elementwise_gradients(rng, cls, shape):
    check_input_gradients(cls(), inputs(rng, 2 if cls is Subtract else 3, shape))


@pytest.mark.parametrize("cls", [Multiply, Maximum, Minimum])
@pytest.mark.parametrize("masks", [[M0, M1, None], [M0, M1, M1[::-1]], [None, M0, M1]])
def test_masked_gradients(rng, cls, masks):
    check_input_gradients(cls(), inputs(rng, 3, (2, 3, 5)), masks)


def test_multiply_gradient_with_zeros_in_the_inputs(rng):
    xs = inputs(rng, 3, (3, 5, 7))
    xs[0][0, 0, :] = 0.0
    xs[1][0, 0, :2] = 0.0  # two zeros in one product
    check_input_gradients(Multiply(), xs)
    # The gradient w.r.t. a zero factor is the product of the others, not 0/0.
    layer = Multiply()
    run(layer, xs)
    g = layer.backward(np.ones((3, 5, 7)))
    np.testing.assert_allclose(g[0][0, 0], xs[1][0, 0] * xs[2][0, 0])
    assert np.all(g[2][0, 0, :2] == 0)


@pytest.mark.parametrize("cls,sign", [(Maximum, 1.0), (Minimum, -1.0)])
def test_a_tie_sends_the_gradient_to_the_first_input(cls, sign):
    a = sign * np.array([[[1.0, 3.0]]])
    b = sign * np.array([[[1.0, 2.0]]])
    c = sign * np.array([[[0.0, 3.0]]])
    layer = cls()
    run(layer, [a, b, c])
    g = layer.backward(np.ones((1, 1, 2)))
    np.testing.assert_array_equal(g[0], [[[1.0, 1.0]]])
    np.testing.assert_array_equal(g[1], [[[0.0, 0.0]]])
    np.testing.assert_array_equal(g[2], [[[0.0, 0.0]]])


@pytest.mark.parametrize("axis", [-1, 1, 2])
def test_concatenate_gradients(rng, axis):
    shapes = [(3, 1, 5), (3, 7, 5)] if axis == 1 else [(3, 7, 1), (3, 7, 5), (3, 7, 2)]
    check_input_gradients(Concatenate(axis=axis), [rng.normal(size=s) for s in shapes])


@pytest.mark.parametrize("cls", ELEMENTWISE + [Concatenate])
def test_float32_gradients_stay_float32(rng, cls):
    xs = inputs(rng, 2, (3, 5, 7), np.float32)
    layer = cls()
    y, _ = run(layer, xs)
    grads = layer.backward(np.ones_like(y))
    assert all(g.dtype == np.float32 and g.flags.c_contiguous for g in grads)
    assert layer.backward(np.ones_like(y), need_dx=False) == [None, None]


@pytest.mark.parametrize("cls,axis", [(Add, None), (Subtract, None), (Concatenate, 1)])
def test_each_input_gets_its_own_gradient_array(rng, cls, axis):
    # Add passes dy on to every input and Concatenate's pieces are views: a caller adding them
    # in place (Add(x, x)) must not change dy or the other input's gradient.
    x = rng.normal(size=(1, 5, 3))
    layer = cls() if axis is None else cls(axis=axis)
    y, _ = run(layer, [x, x])
    dy = np.ones_like(y)
    g = layer.backward(dy)
    g[0] += g[1]
    np.testing.assert_array_equal(dy, 1.0)
    np.testing.assert_array_equal(g[1], -1.0 if cls is Subtract else 1.0)


# ---- errors ---------------------------------------------------------------------------------

def _names(layer):
    return re.escape(repr(layer.name))


@pytest.mark.parametrize("cls", ELEMENTWISE)
def test_elementwise_incompatible_shapes(cls):
    layer = cls(name=f"bad_{cls.__name__.lower()}")
    with pytest.raises(ValueError, match=_names(layer) + r".*\(5, 3\).*\(5, 4\)"):
        layer.compute_output_shape([(5, 3), (5, 4)])
    with pytest.raises(ValueError, match=_names(layer)):
        layer.build([(5, 3), (5, 4)])


@pytest.mark.parametrize("cls", ELEMENTWISE + [Concatenate])
def test_fewer_than_two_inputs(cls):
    layer = cls()
    with pytest.raises(ValueError, match=_names(layer)):
        layer.build([(5, 3)])
    with pytest.raises(ValueError, match=_names(layer)):
        layer.build((5, 3))  # one shape, not a list of shapes


def test_subtract_takes_exactly_two_inputs():
    layer = Subtract()
    with pytest.raises(ValueError, match=_names(layer) + ".*exactly 2 inputs"):
        layer.build([(5, 3)] * 3)


def test_concatenate_shape_errors():
    layer = Concatenate(name="cat")
    with pytest.raises(ValueError, match=r"'cat'.*\(5, 3\).*\(4, 2\)"):
        layer.compute_output_shape([(5, 3), (4, 2)])
    with pytest.raises(ValueError, match="'cat'.*one rank"):
        layer.build([(5, 3), (3,)])
    with pytest.raises(ValueError, match="'cat'.*axis=0"):
        Concatenate(axis=0, name="cat").build([(5, 3), (5, 3)])
    with pytest.raises(ValueError, match="'cat'"):
        Concatenate(axis=3, name="cat").build([(5, 3), (5, 3)])
    assert Concatenate(axis=1).compute_output_shape([(5, 3), (None, 3)]) == (None, 3)
    assert Concatenate().compute_output_shape([(None, 3), (7, 2)]) == (7, 5)


def test_runtime_shape_errors_name_the_layer(rng):
    layer = Add(name="adder")
    layer.build([(None, 3), (None, 3)])
    with pytest.raises(ValueError, match="'adder'"):
        layer.forward([rng.normal(size=(2, 5, 3)), rng.normal(size=(2, 4, 3))])
    with pytest.raises(ValueError, match="'adder'"):
        layer.forward([rng.normal(size=(2, 5, 3)), rng.normal(size=(3, 5, 3))])
    with pytest.raises(ValueError, match="'adder'"):
        layer.forward([rng.normal(size=(2, 5, 4)), rng.normal(size=(2, 5, 3))])
    with pytest.raises(ValueError, match="'adder'"):
        layer.forward([rng.normal(size=(2, 5, 3))] * 2, [M0])


# ---- config ---------------------------------------------------------------------------------

@pytest.mark.parametrize("layer", [Concatenate(axis=1, name="c1"), Concatenate(), Add(name="a"),
                                   Subtract(trainable=False), Multiply(), Average(), Maximum(),
                                   Minimum(name="lo")])
def test_config_round_trip(layer):
    config = json.loads(json.dumps(serialize(layer)))
    copy = deserialize(config)
    assert type(copy) is type(layer) and copy is not layer
    assert copy.get_config() == layer.get_config()
    assert copy.multi_input is True


def test_concatenate_axis_is_kept():
    assert deserialize(serialize(Concatenate(axis=1))).axis == 1
    with pytest.raises(TypeError):
        Concatenate(axis="1")
