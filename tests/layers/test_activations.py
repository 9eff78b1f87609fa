"""Output activations (src/gru_native/activations.py): forward against PyTorch, backward against
central finite differences, stability at extreme inputs, and `get`."""

import numpy as np
import pytest
import torch

from gru_native import activations
from helpers import numerical_grad

NAMES = ["linear", "relu", "sigmoid", "tanh", "softmax"]
TORCH = {
    "linear": lambda z: z,
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "softmax": lambda z: torch.softmax(z, dim=-1),
}




@pytest.mark.parametrize("shape", [(4, 3), (2, 5, 3), (3, 1)])
@pytest.mark.parametrize("name", NAMES)
def test_forward_matches_torch(rng, name, shape):
    z = rng.normal(scale=4, size=shape)
    got = activations.get(name).forward(z)
    want = TORCH[name](torch.from_numpy(z)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 4)])
@pytest.mark.parametrize("name", NAMES)
def test_backward_matches_finite_differences(rng, name, shape):
    act = activations.get(name)
    z = rng.normal(scale=2, size=shape)
    z[np.abs(z) < 1e-3] = 0.5  # away from relu's kink
    da = rng.normal(size=shape)
    a = act.forward(z)
    want = numerical_grad(lambda x: np.sum(da * act.forward(x)), z.copy())
    np.testing.assert_allclose(act.backward(da, a, z), want, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", NAMES)
def test_extreme_inputs_stay_finite_without_warnings(name, dtype):
    z = np.array([[-1e4, -50, 0, 50, 1e4], [1e4, 1e4, -1e4, 3, 0]], dtype)
    act = activations.get(name)
    with np.errstate(over="raise", divide="raise", invalid="raise"):  # underflow to 0 is right
        a = act.forward(z)
        dz = act.backward(np.ones_like(z), a, z)
    assert a.dtype == dtype and dz.dtype == dtype
    assert np.isfinite(a).all() and np.isfinite(dz).all()


def test_sigmoid_saturates_exactly_and_keeps_small_values():
    a = activations.get("sigmoid").forward(np.array([-1e4, -700.0, 0.0, 700.0, 1e4]))
    np.testing.assert_array_equal(a[[0, 2, 4]], [0.0, 0.5, 1.0])
    assert 0 < a[1] < 1e-300  # e^-700, not rounded to 0 by 1 / (1 + e^700)


def test_softmax_subtracts_the_maximum():
    a = activations.get("softmax").forward(np.array([[1e4, 1e4 - np.log(3)], [-1e4, -1e4]]))
    np.testing.assert_allclose(a, [[0.75, 0.25], [0.5, 0.5]])


def test_relu_gradient_is_zero_at_zero():
    relu = activations.get("relu")
    z = np.array([-1.0, 0.0, 2.0])
    np.testing.assert_array_equal(relu.backward(np.ones(3), relu.forward(z), z), [0, 0, 1])


def test_get():
    assert activations.get(None).name == "linear"
    for name in NAMES:
        assert activations.get(name).name == name
        assert activations.get(name.upper()) is activations.get(name)
    relu = activations.get("relu")
    assert activations.get(relu) is relu
    np.testing.assert_array_equal(relu(np.array([-1.0, 2.0])), [0, 2])


def test_get_accepts_any_object_with_forward_and_backward():
    class Square:
        name = "square"

        def forward(self, z):
            return z * z

        def backward(self, da, a, z):
            return 2 * z * da

    square = Square()
    assert activations.get(square) is square


def test_get_rejects_unknown_names_and_other_objects():
    known = "linear, relu, sigmoid, softmax, tanh"
    with pytest.raises(ValueError, match=f"unknown activation 'swish'; known: {known}"):
        activations.get("swish")
    with pytest.raises(TypeError, match="forward"):
        activations.get(np.tanh)
