"""Does gru_native disturb other thread pools in the process? Times a NumPy matmul (NumPy's own
BLAS threads) alone and right after each gru_native kernel call, and prints the medians and the
90th percentiles. Idle OpenMP threads that keep spinning make the second 10-30x slower.

    python bench/thread_pools.py
"""

import time

import numpy as np

import gru_native


def main(repeats=500):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 10, 1), dtype=np.float32)
    w = rng.standard_normal((1, 150), dtype=np.float32)
    u = rng.standard_normal((50, 150), dtype=np.float32) * 0.1
    a = rng.standard_normal((256, 256), dtype=np.float32)

    def matmul():
        start = time.perf_counter()
        a @ a
        return time.perf_counter() - start

    alone = [matmul() for _ in range(repeats)]
    after = []
    for _ in range(repeats):
        gru_native.gru_forward(x, w, u, return_sequences=False)
        after.append(matmul())
    for name, t in (("alone", alone), ("after a gru_native call", after)):
        print(f"NumPy 256x256 matmul {name}: median {np.median(t) * 1e6:.0f} us, "
              f"p90 {np.percentile(t, 90) * 1e6:.0f} us")


if __name__ == "__main__":
    main()
