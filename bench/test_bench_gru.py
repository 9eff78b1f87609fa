"""pytest-benchmark timings of one GRU layer: `pytest bench/ --benchmark-only`.

Not part of the normal test run (pyproject's testpaths is tests/). The problems and the torch
twin come from workloads.py, as in `compare.py --kernels`, so both time the same thing.
"""

import os

import pytest

import gru_native
from workloads import kernel_problem, native_kernels, torch_kernels

SHAPES = [(50, 8, 64, 64), (100, 64, 256, 128)]  # (T, I, H, B)
THREADS = os.cpu_count()


@pytest.fixture(params=SHAPES, ids=lambda s: "T{}-I{}-H{}-B{}".format(*s))
def problem(request, benchmark):
    benchmark.group = request.node.callspec.id  # one table per shape, libraries side by side
    gru_native.set_num_threads(THREADS)
    return kernel_problem(*request.param)


def _forward(p, training):
    return gru_native.gru_forward(p["x"], p["kernel"], p["recurrent"], p["bias"],
                                  training=training)


def test_native_forward_inference(benchmark, problem):
    benchmark(_forward, problem, False)


def test_native_forward_training(benchmark, problem):
    benchmark(_forward, problem, True)


def test_native_backward(benchmark, problem):
    # The backward only reads the cache, so one forward serves every round.
    _, _, cache = _forward(problem, True)
    benchmark(gru_native.gru_backward, cache, dy=problem["dy"])


def test_native_forward_backward(benchmark, problem):
    benchmark(native_kernels(problem))


def test_torch_forward_backward(benchmark, problem):
    torch = pytest.importorskip("torch")
    torch.set_num_threads(THREADS)
    benchmark(torch_kernels(problem))
