"""Time one GRU layer, forward + backward, in gru_native and in torch.nn.GRU on the same shapes.

    python bench/compare_gru.py [--threads 2] [--repeats 20] [--shapes T,I,H,B ...]

Both libraries run in this one process, float32, with the same weights and output gradient, in
alternating runs so that a slow phase of the machine affects both alike. Prints a Markdown table:
median and min seconds per forward + backward, the ratio torch / gru_native (> 1: gru_native
faster) and the GFLOP/s gru_native achieves. torch is optional.
"""

import argparse
import os
import statistics
import time

import numpy as np

import gru_native

try:
    import torch
except ImportError:  # compare nothing, time gru_native alone
    torch = None

DEFAULT_SHAPES = [(10, 1, 50, 32), (50, 8, 64, 64), (100, 32, 128, 64), (100, 64, 256, 128),
                  (50, 128, 512, 64)]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--repeats", type=int, default=20, help="timed runs of each library per shape")
    p.add_argument("--warmup", type=int, default=3, help="untimed runs of each library per shape")
    p.add_argument("--shapes", nargs="+", metavar="T,I,H,B",
                   type=lambda s: tuple(int(v) for v in s.split(",")), default=DEFAULT_SHAPES)
    return p.parse_args()


def make_problem(T, I, H, B, seed=0):
    """Inputs, Keras-layout weights (gates z, r, n) and an output gradient, all float32."""
    rng = np.random.default_rng(seed)
    scale = 1.0 / np.sqrt(H)
    f32 = lambda *shape, s=1.0: (s * rng.standard_normal(shape)).astype(np.float32)
    return dict(x=f32(B, T, I), kernel=f32(I, 3 * H, s=scale), recurrent=f32(H, 3 * H, s=scale),
                bias=f32(2, 3 * H, s=0.1), dy=f32(B, T, H))


def native_step(p):
    """One gru_native forward (training) + backward, dx included as torch computes it too."""
    def run():
        y, _, cache = gru_native.gru_forward(p["x"], p["kernel"], p["recurrent"], p["bias"],
                                             training=True)
        gru_native.gru_backward(cache, dy=p["dy"])
        return y
    return run


def keras_to_torch(w):
    """(in, 3H) Keras blocks z, r, n -> torch's (3H, in) blocks r, z, n."""
    z, r, n = np.split(w, 3, axis=-1)
    return torch.from_numpy(np.ascontiguousarray(np.concatenate([r, z, n], axis=-1).T))


def torch_step(p):
    """One torch.nn.GRU forward + backward of (y * dy).sum(), with the same weights."""
    B, T, I = p["x"].shape
    H = p["recurrent"].shape[0]
    gru = torch.nn.GRU(I, H, batch_first=True)
    with torch.no_grad():
        gru.weight_ih_l0.copy_(keras_to_torch(p["kernel"]))
        gru.weight_hh_l0.copy_(keras_to_torch(p["recurrent"]))
        gru.bias_ih_l0.copy_(keras_to_torch(p["bias"][0]))
        gru.bias_hh_l0.copy_(keras_to_torch(p["bias"][1]))
    # x requires grad so that torch computes dx, as gru_native does.
    x = torch.from_numpy(p["x"]).requires_grad_(True)
    dy = torch.from_numpy(p["dy"])

    def run():
        gru.zero_grad(set_to_none=True)  # assign, not accumulate, the gradients
        x.grad = None
        y, _ = gru(x)
        (y * dy).sum().backward()
        return y
    return run


def check_same(native, torch_run):
    """Fail loudly if the two compute different things (e.g. a wrong weight mapping)."""
    y_native, y_torch = native(), torch_run().detach().numpy()
    np.testing.assert_allclose(y_native, y_torch, rtol=1e-3, atol=1e-4)


def time_alternating(runs, repeats, warmup):
    """Seconds of each run, the runs interleaved, the order flipped every round for fairness."""
    names = list(runs)
    for _ in range(warmup):
        for name in names:
            runs[name]()
    times = {name: [] for name in names}
    for i in range(repeats):
        for name in (names if i % 2 == 0 else names[::-1]):
            start = time.perf_counter()
            runs[name]()
            times[name].append(time.perf_counter() - start)
    return times


def gflops(T, I, H, B, seconds):
    """Forward is 2*B*3H*(I+H) flops per step; forward + backward counts as 3 forwards."""
    return 3 * 2 * B * 3 * H * (I + H) * T / seconds / 1e9


def print_table(rows, with_torch):
    head = ["T", "I", "H", "B", "gru_native median ms", "min ms", "GFLOP/s"]
    if with_torch:
        head += ["torch median ms", "min ms", "torch / gru_native"]
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---:" for _ in head) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def main():
    args = parse_args()
    gru_native.set_num_threads(args.threads)
    if torch is not None:
        torch.set_num_threads(args.threads)
    print(f"threads={args.threads} repeats={args.repeats} BLAS={gru_native.BLAS_BACKEND} "
          f"torch={torch.__version__ if torch else 'not installed'}\n")
    rows = []
    for shape in args.shapes:
        p = make_problem(*shape)
        runs = {"native": native_step(p)}
        if torch is not None:
            runs["torch"] = torch_step(p)
            check_same(runs["native"], runs["torch"])
        times = time_alternating(runs, args.repeats, args.warmup)
        med = {name: statistics.median(t) for name, t in times.items()}
        row = [str(v) for v in shape]
        row += [f"{1e3 * med['native']:.2f}", f"{1e3 * min(times['native']):.2f}",
                f"{gflops(*shape, med['native']):.1f}"]
        if torch is not None:
            row += [f"{1e3 * med['torch']:.2f}", f"{1e3 * min(times['torch']):.2f}",
                    f"{med['torch'] / med['native']:.2f}"]
        rows.append(row)
    print_table(rows, torch is not None)


if __name__ == "__main__":
    main()
