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


def test_a_threadpool_limits_block_inside_limited_threads_keeps_the_setting(restore_threads):
    """threadpoolctl restores what it read of every library: the package's setting, not this
    thread's limit (read as the setting, the limit would outlive its block)."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    gru_native.set_num_threads(2)
    with gru_native.limited_threads(1):
        with threadpoolctl.threadpool_limits(1, user_api="blas"):
            assert gru_native.get_num_threads() == 1
    assert gru_native.get_num_threads() == 2
    assert [i["num_threads"] for i in threadpoolctl.threadpool_info()
            if i["internal_api"] == "gru_native"] == [2]


def kernel_calls(n_threads):
    """Every binding's results for one set of inputs, each call given `n_threads`."""
    rng = np.random.default_rng(3)
    T, I, H, B = 30, 7, 64, 33
    x, W, U, b, h0 = random_gru(rng, T, I, H, B, True, np.float64)
    out = []
    y, h, cache = gru_native.gru_forward(x, W, U, b, h0, training=True, n_threads=n_threads)
    out += [y, h, *gru_native.gru_backward(cache, y, h, need_dh0=True, n_threads=n_threads)]
    from gru_native.kernels.lstm import lstm_backward, lstm_forward
    W4, U4 = rng.normal(size=(I, 4 * H)) * 0.3, rng.normal(size=(H, 4 * H)) * 0.3
    y, h, c, cache = lstm_forward(x, W4, U4, training=True, n_threads=n_threads)
    out += [y, h, c, *lstm_backward(cache, y, h, c, n_threads=n_threads)]
    from gru_native.kernels.dense import dense_backward, dense_forward
    z = dense_forward(x.reshape(-1, I), W, n_threads=n_threads)
    out += [z, *dense_backward(x.reshape(-1, I), W, z, n_threads=n_threads)]
    from gru_native.kernels.optim import adam_update, sum_squares
    p, g = rng.normal(size=5000), rng.normal(size=5000)
    m, v = np.zeros_like(p), np.zeros_like(p)
    adam_update(p, g, m, v, learning_rate=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-7, step=1,
                n_threads=n_threads)
    out += [p, m, v, sum_squares(g, n_threads=n_threads)]
    from gru_native.kernels.inference import InferencePlan
    from gru_native.kernels.plan_ops import RecurrentOp
    op = RecurrentOp("gru", W, U, b, True, False, True, 0, (), (1,))
    plan = InferencePlan([op], np.float64, [0], [(T, I)], [1])
    return [a for a in out + plan.run([x], n_threads=n_threads) if a is not None]


def test_n_threads_per_call_is_the_setting_for_that_call(restore_threads):
    gru_native.set_num_threads(2)
    one = kernel_calls(1)
    assert gru_native.get_num_threads() == 2  # a call's n_threads leaves the setting alone
    gru_native.set_num_threads(1)
    for a, b in zip(one, kernel_calls(None)):  # None: the setting, here 1
        np.testing.assert_array_equal(a, b)
    for a, b in zip(one, kernel_calls(2)):  # a 2-thread split changes last bits only
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_n_threads_must_be_a_positive_integer(bad):
    x, W, U, b, _ = random_gru(np.random.default_rng(0), 3, 2, 4, 2, True, np.float64)
    with pytest.raises(ValueError, match="n_threads must be a positive integer"):
        gru_native.gru_forward(x, W, U, b, n_threads=bad)


THREADS_FROM_ANOTHER_THREAD = """
import json, os, threading, time
import numpy as np
import gru_native, threadpoolctl

rng = np.random.default_rng(0)
x = rng.normal(size=(64, 20, 8))
W, U, b = rng.normal(size=(8, 96)), rng.normal(size=(32, 96)), np.zeros((2, 96))

def os_threads():
    return len(os.listdir("/proc/self/task"))

baseline = os_threads()

def os_threads_of_a_call():
    # OS threads a kernel call from a new thread adds: its OpenMP team (0 on one thread). The
    # team of an earlier call's thread ends after that thread: wait for it first.
    deadline = time.monotonic() + 10
    while os_threads() > baseline and time.monotonic() < deadline:
        time.sleep(0.01)
    out = []
    def call():
        before = os_threads()
        gru_native.gru_forward(x, W, U, b)
        out.append(os_threads() - before)
    t = threading.Thread(target=call)
    t.start()
    t.join()
    return out[0]

seen = {"two": os_threads_of_a_call()}
gru_native.set_num_threads(1)
seen["set_one"] = os_threads_of_a_call()
gru_native.set_num_threads(2)
with threadpoolctl.threadpool_limits(1):
    seen["limited_one"] = os_threads_of_a_call()
seen["after_limit"] = gru_native.get_num_threads()
seen["info"] = [i["num_threads"] for i in threadpoolctl.threadpool_info()
                if i["internal_api"] == "gru_native"]
with gru_native.limited_threads(1):
    seen["limited_here"] = [gru_native.get_num_threads(), os_threads_of_a_call()]
print(json.dumps(seen))
"""


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="counts threads in /proc")
def test_the_setting_holds_for_calls_from_every_thread():
    env = dict(os.environ, OMP_NUM_THREADS="2")
    out = subprocess.run([sys.executable, "-c", THREADS_FROM_ANOTHER_THREAD], env=env,
                         capture_output=True, text=True, check=True, timeout=120)
    seen = __import__("json").loads(out.stdout)
    assert seen["two"] == 1  # the measurement sees a second OpenMP thread
    assert seen["set_one"] == 0 and seen["limited_one"] == 0
    assert seen["after_limit"] == 2 and seen["info"] == [2]
    # limited_threads limits the calling thread only: a call from another thread uses 2
    assert seen["limited_here"] == [1, 1]
