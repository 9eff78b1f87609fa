"""The vectorised float32 sigmoid and tanh of the GRU gate passes (csrc/fastmath.h) against
float64 NumPy, over the whole float range: the error bounds stated in the header."""

import numpy as np
import pytest

from gru_native.kernels.gru import fast_sigmoid_f32, fast_tanh_f32


@pytest.fixture(scope="module")
def points():
    rng = np.random.default_rng(0)
    dense = np.linspace(-20, 20, 400_001)
    wide = rng.uniform(-200, 200, 100_000)
    tiny = np.concatenate([np.geomspace(1e-30, 1, 10_000), -np.geomspace(1e-30, 1, 10_000)])
    edges = np.array([0.0, -0.0, 0.625, -0.625, 87.0, -87.0, 88.0, -88.0, 1e30, -1e30,
                      np.finfo(np.float32).max, -np.finfo(np.float32).max])
    return np.concatenate([dense, wide, tiny, edges]).astype(np.float32)


def test_sigmoid_error_bound(points):
    x = points.astype(np.float64)
    want = 0.5 * (1 + np.tanh(x / 2))
    got = fast_sigmoid_f32(points).astype(np.float64)
    assert np.max(np.abs(got - want)) <= 3e-7
    assert np.all((got >= 0) & (got <= 1))


def test_tanh_error_bounds(points):
    want = np.tanh(points.astype(np.float64))
    got = fast_tanh_f32(points).astype(np.float64)
    assert np.max(np.abs(got - want)) <= 3e-7
    nonzero = want != 0
    assert np.max(np.abs(got - want)[nonzero] / np.abs(want[nonzero])) <= 1e-6
    assert np.all(np.abs(got) <= 1)


def test_infinities_and_nan():
    x = np.array([np.inf, -np.inf, np.nan], np.float32)
    np.testing.assert_allclose(fast_sigmoid_f32(x)[:2], [1, 0], rtol=0, atol=1e-37)
    np.testing.assert_array_equal(fast_tanh_f32(x)[:2], [1, -1])
    assert np.isnan(fast_sigmoid_f32(x)[2]) and np.isnan(fast_tanh_f32(x)[2])
