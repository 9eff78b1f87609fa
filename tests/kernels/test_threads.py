"""Thread control (csrc/threads.c) and determinism of the kernels across thread counts."""

import os
import subprocess
import sys

import numpy as np
import pytest

import gru_native
from helpers import random_gru


@pytest.fixture
def restore_threads():
    n = gru_native.get_num_threads()
    yield
    gru_native.set_num_threads(n)


def run(rng_seed, dtype, reset_after):
    rng = np.random.default_rng(rng_seed)
    T, I, H, B = 30, 7, 64, 33  # large enough that the kernels use every thread
    x, W, U, b, h0 = random_gru(rng, T, I, H, B, reset_after, dtype)
    lengths = rng.integers(1, T + 1, size=B)
    dy = rng.normal(size=(B, T, H)).astype(dtype)
    y, h, cache = gru_native.gru_forward(x, W, U, b, h0, lengths, reset_after=reset_after, training=True)
    return (y, h) + gru_native.gru_backward(cache, dy, h, need_dh0=True)


@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_one_and_two_threads_agree_and_repeat_exactly(restore_threads, dtype, reset_after):
    gru_native.set_num_threads(1)
    one = run(1, dtype, reset_after)
    gru_native.set_num_threads(2)
    two = run(1, dtype, reset_after)
    again = run(1, dtype, reset_after)
    # Splitting the batch changes the BLAS's blocking of a row, hence its last bits; over 30
    # recurrent float32 steps that grows to ~1e-5 of the values' scale.
    tol = 1e-4 if dtype == np.float32 else 1e-12
    for a, b, c in zip(one, two, again):
        np.testing.assert_array_equal(b, c)  # same call, same threads: bit for bit
        scale = max(1.0, np.abs(a).max())
        assert np.abs(a - b).max() <= tol * scale


def test_set_num_threads(restore_threads):
    gru_native.set_num_threads(1)
    assert gru_native.get_num_threads() == 1
    gru_native.set_num_threads(3)
    assert gru_native.get_num_threads() == 3
    with pytest.raises(ValueError, match="at least 1"):
        gru_native.set_num_threads(0)


def test_omp_num_threads_is_honoured_and_threadpoolctl_sees_the_libraries():
    code = (
        "import gru_native, threadpoolctl, json\n"
        "info = threadpoolctl.threadpool_info()\n"
        "print(json.dumps([gru_native.get_num_threads(), sorted(i['user_api'] for i in info),"
        " any('scipy_openblas' in i['filepath'] and '64_' not in i['filepath'] for i in info)]))\n"
    )
    env = dict(os.environ, OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    threads, apis, has_ours = __import__("json").loads(out.stdout)
    assert threads == 1
    assert "openmp" in apis and "blas" in apis
    assert has_ours


def test_threadpool_limits_controls_the_kernels(restore_threads):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    gru_native.set_num_threads(2)
    with threadpoolctl.threadpool_limits(1, user_api="openmp"):
        assert gru_native.get_num_threads() == 1
        one = run(3, np.float64, True)
    two = run(3, np.float64, True)
    for a, b in zip(one, two):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)

