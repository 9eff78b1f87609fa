"""pytest-benchmark timings of the pieces of a model: `pytest bench/ --benchmark-only`.

The Dense kernels, one Adam step, one whole training step and one prediction. Not part of the
normal test run (pyproject's testpaths is tests/).
"""

import numpy as np
import pytest

import gru_native
from gru_native.kernels.dense import dense_backward, dense_forward
from workloads import native_model, one_sequence, train_data

THREADS = 2
DENSE_SHAPES = [(64, 256, 1), (4096, 256, 256)]  # (rows, in, out)
TRAIN_SHAPES = [(50, 8, 64, 64), (100, 64, 256, 128)]  # (T, I, H, B)
PREDICT_SHAPES = [(10, 1, 50), (100, 8, 256)]  # (T, I, H)


@pytest.fixture(autouse=True)
def threads():
    gru_native.set_num_threads(THREADS)


def _ids(dims):
    return lambda shape: "-".join(f"{d}{v}" for d, v in zip(dims, shape))


@pytest.fixture(params=DENSE_SHAPES, ids=_ids(["N", "I", "O"]))
def dense(request):
    N, I, O = request.param
    rng = np.random.default_rng(0)
    f32 = lambda *shape: rng.standard_normal(shape, dtype=np.float32)
    return dict(x=f32(N, I), kernel=f32(I, O), bias=f32(O), dy=f32(N, O))


def test_dense_forward(benchmark, dense):
    benchmark(dense_forward, dense["x"], dense["kernel"], dense["bias"])


def test_dense_backward(benchmark, dense):
    benchmark(dense_backward, dense["x"], dense["kernel"], dense["dy"])


def test_adam_step_1m(benchmark):
    rng = np.random.default_rng(0)
    params = rng.standard_normal(1 << 20, dtype=np.float32)
    grads = rng.standard_normal(1 << 20, dtype=np.float32)
    adam = gru_native.optimizers.Adam()
    adam.build(params)
    benchmark(adam.apply, params, grads)


@pytest.mark.parametrize("shape", TRAIN_SHAPES, ids=_ids("TIHB"))
def test_train_on_batch(benchmark, shape):
    T, I, H, B = shape
    model = native_model(T, I, H)
    x, y = train_data(T, I, B)
    benchmark(model.train_on_batch, x[:B], y[:B])


@pytest.mark.parametrize("shape", PREDICT_SHAPES, ids=_ids("TIH"))
def test_predict_one_sequence(benchmark, shape):
    T, I, H = shape
    model = native_model(T, I, H)
    benchmark(model.predict, one_sequence(T, I))
