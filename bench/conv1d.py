"""The Conv1D kernels against torch.nn.Conv1d, each framework in its own process.

    python bench/conv1d.py [--rounds 5] [--json bench/conv1d_results.json]

Shapes: the convolutions of a time-series classifier (an FCN/ResNet-style stack, float32,
padding "same", stride 1), each library in its native layout (ours channels last, torch's
channels first):
  input   batch 32, 500 steps, 1 -> 64 channels, kernel 8 (no dx: the first layer)
  middle  batch 32, 500 steps, 64 -> 64 channels, kernel 5
  deep    batch 32, 150 steps, 128 -> 128 channels, kernel 3

forward: one forward call; train: forward then backward (dkernel, dbias and, but for the first
layer, dx), as a training step runs them. Each process times CALLS calls after WARMUP and keeps
the median; every round starts one fresh process per (shape, framework), the order of the
frameworks flipped every round; the table gives the median over rounds of those per-process
medians and their spread (min-max over rounds). THREADS threads for both (torch.set_num_threads,
our n_threads), both pinned to THREADS CPUs.
"""

import argparse
import json
import os

import numpy as np

from alternation import alternate, cpu_name, median_min_max, median_seconds, run_child

THREADS = 2
WARMUP, CALLS = 3, 20
SHAPES = {  # batch, steps, in channels, filters, kernel size, dx wanted
    "input": (32, 500, 1, 64, 8, False),
    "middle": (32, 500, 64, 64, 5, True),
    "deep": (32, 150, 128, 128, 3, True),
}
KINDS = ["gru_native", "torch"]


def flops(shape):
    """Multiply-adds x 2 of a forward; a backward is one such GEMM per gradient (dkernel, dx)."""
    N, T, C, F, K, need_dx = shape
    forward = 2.0 * N * T * K * C * F
    return forward, forward * (2 + need_dx)


# ---- one process: one library, one shape ----------------------------------------------------
def child(kind, name):
    """Time one shape in this process; print {"forward": s, "train": s, "version": ...}."""
    os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:THREADS])
    os.environ["OMP_NUM_THREADS"] = str(THREADS)
    N, T, C, F, K, need_dx = SHAPES[name]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, T, C), dtype=np.float32)
    w = (rng.standard_normal((K, C, F)) / np.sqrt(K * C)).astype(np.float32)  # our computing dtype is the kernel's
    b = np.zeros(F, np.float32)
    dy = rng.standard_normal((N, T, F), dtype=np.float32)
    if kind == "torch":
        import torch
        torch.set_num_threads(THREADS)
        conv = torch.nn.Conv1d(C, F, K, padding="same")
        with torch.no_grad():
            conv.weight.copy_(torch.from_numpy(w.transpose(2, 1, 0)))
        tx = torch.from_numpy(x.transpose(0, 2, 1).copy()).requires_grad_(need_dx)
        tdy = torch.from_numpy(dy.transpose(0, 2, 1).copy())
        wanted = [conv.weight, conv.bias] + ([tx] if need_dx else [])

        def forward():
            with torch.no_grad():
                conv(tx)

        def train():
            torch.autograd.grad(conv(tx), wanted, tdy)
        version = f"torch {torch.__version__}"
    else:
        import gru_native
        from gru_native.kernels.conv1d import conv1d_backward, conv1d_forward

        def forward():
            return conv1d_forward(x, w, b, padding="same", n_threads=THREADS)

        def train():
            forward()
            conv1d_backward(x, w, dy, padding="same", need_dx=need_dx, n_threads=THREADS)
        version = f"gru_native {gru_native.__version__}"
    print(json.dumps({"forward": median_seconds(forward, CALLS, WARMUP),
                      "train": median_seconds(train, CALLS, WARMUP), "version": version}))


# ---- summary --------------------------------------------------------------------------------
def summarize(results):
    """One row per (shape, metric): medians and min-max per kind, torch / ours, our GFLOP/s."""
    rows = []
    for name, by_kind in results.items():
        for metric, work in zip(["forward", "train"], flops(SHAPES[name])):
            row = dict(shape=name, dims=SHAPES[name], metric=metric,
                       **median_min_max(by_kind, metric))
            row["ratio"] = row["median"]["torch"] / row["median"]["gru_native"]
            row["gflops"] = {k: work / v / 1e9 for k, v in row["median"].items()}
            rows.append(row)
    return rows


def table(rows):
    head = ["shape (N, T, C, F, k)", "metric", "gru_native", "torch", "torch / ours",
            "spread ours", "spread torch", "GFLOP/s ours", "GFLOP/s torch"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        m = r["median"]
        spread = lambda k: f"{1e3 * r['min'][k]:.2f}-{1e3 * r['max'][k]:.2f} ms"
        cells = [f"{r['shape']} {tuple(r['dims'][:5])}", r["metric"], f"{1e3 * m['gru_native']:.2f} ms",
                 f"{1e3 * m['torch']:.2f} ms", f"{r['ratio']:.2f}×", spread("gru_native"),
                 spread("torch"), f"{r['gflops']['gru_native']:.1f}", f"{r['gflops']['torch']:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--json", default=os.path.join(os.path.dirname(__file__), "conv1d_results.json"))
    p.add_argument("--child", nargs=2, metavar=("KIND", "SHAPE"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        return child(*args.child)
    load_before = os.getloadavg()
    results = alternate(args.rounds, {name: KINDS for name in SHAPES},
                        lambda kind, name: run_child(__file__, "--child", kind, name), "train")
    load = dict(before=load_before, after=os.getloadavg())  # other jobs on the machine skew all
    rows = summarize(results)
    versions = {k: runs[0]["version"] for k, runs in next(iter(results.values())).items()}
    print(f"CPU: {cpu_name()} ({os.cpu_count()} cores), {THREADS} threads, float32, padding "
          f"same, {args.rounds} rounds, load average {load['before'][0]:.1f} -> "
          f"{load['after'][0]:.1f}; {versions}\n")
    print("Ratio = torch time / gru_native time (> 1: gru_native faster); train = forward + "
          "backward.\n")
    print(table(rows))
    with open(args.json, "w") as f:
        json.dump(dict(cpu=cpu_name(), threads=THREADS, rounds=args.rounds, warmup=WARMUP,
                       calls=CALLS, versions=versions, load_average=load, rows=rows,
                       raw=results), f, indent=1)


if __name__ == "__main__":
    main()
