"""Compare gru_native with PyTorch (and Keras, where installed) in one process, float32.

    python bench/compare.py [--threads 2] [--repeats 7] [--shapes T,I,H,B ...]
                            [--predict-shapes T,I,H ...] [--memory] [--kernels]
                            [--json out.json] [--plot out.png]

Training: a GRU(H) + Dense(1) regressor, Adam and MSE, one epoch of 4 shuffled batches of B
sequences (`model.fit` against PyTorch's plain training loop); time per step = epoch / 4.
Prediction: one sequence (`model.predict` against a `no_grad` forward). Streaming: one
timestep of a GRU(H) + Dense(1) with the state carried (`model.stream().step` against
`GRUCell` + `Linear` under `no_grad`). LSTM: the training runs with an LSTM in place of the
GRU, against torch.nn.LSTM. The libraries run
alternately, the order flipped every round, so a slow phase of the machine hits both alike; each
is warmed up by one untimed run. Markdown tables give medians, the ratio torch / gru_native
(> 1: gru_native faster) against its target, samples/s, and GFLOP/s with their fraction of this
machine's sgemm rate, measured here with NumPy. `--memory` adds the peak memory of one training
epoch, each library in a fresh subprocess. `--kernels` times one GRU layer's forward + backward
kernels instead of the models.
"""

import argparse
import importlib
import importlib.util
import json
import os
import resource
import statistics
import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits

# PyTorch and gru_native share one OpenMP runtime (libgomp) in a process, and its thread wait
# policy is fixed by whoever loads it first: gru_native asks for passive waits, which slow
# PyTorch's many small parallel regions. Load PyTorch first so that it runs as its users know it
# (and gru_native then runs under PyTorch's active waits).
if importlib.util.find_spec("torch"):
    import torch  # noqa: F401

import gru_native
import workloads
from alternation import cpu_name, round_order, run_child

# (T, I, H, B) -> torch / gru_native time per training step we aim at
TRAIN_TARGETS = {(10, 1, 50, 32): 5.0, (50, 8, 64, 64): 3.0, (100, 32, 128, 64): 2.0,
                 (100, 64, 256, 128): 1.5, (50, 128, 512, 64): 1.2}
# (T, I, H) -> torch / gru_native time per one-sequence prediction
PREDICT_TARGETS = {(10, 1, 50): 10.0, (100, 8, 256): 2.5}
# (I, H) -> torch (GRUCell + Linear) / gru_native (model.stream) latency of one streamed step
STREAM_TARGETS = {(8, 32): 5.0, (8, 64): 5.0, (8, 128): 5.0, (8, 256): 5.0}
LIBS = [lib for lib in ("gru_native", "torch", "keras") if importlib.util.find_spec(lib)]


def shape_arg(text):
    return tuple(int(v) for v in text.split(","))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=7, help="timed epochs per library and shape")
    p.add_argument("--predict-repeats", type=int, default=200, help="timed predictions per library")
    p.add_argument("--shapes", nargs="*", type=shape_arg, metavar="T,I,H,B",
                   default=list(TRAIN_TARGETS))
    p.add_argument("--predict-shapes", nargs="*", type=shape_arg, metavar="T,I,H",
                   default=list(PREDICT_TARGETS))
    p.add_argument("--stream-shapes", nargs="*", type=shape_arg, metavar="I,H",
                   default=list(STREAM_TARGETS))
    p.add_argument("--lstm-shapes", nargs="*", type=shape_arg, metavar="T,I,H,B",
                   default=list(TRAIN_TARGETS)[:3], help="LSTM training shapes (no targets)")
    p.add_argument("--memory", action="store_true", help="also measure peak training memory")
    p.add_argument("--kernels", action="store_true",
                   help="time one GRU layer's forward + backward kernels instead of the models")
    p.add_argument("--json", metavar="FILE", help="write the results as JSON")
    p.add_argument("--plot", metavar="FILE", help="bar chart of the ratios (needs matplotlib)")
    p.add_argument("--memory-child", nargs=2, metavar=("LIB", "T,I,H,B"), help=argparse.SUPPRESS)
    return p.parse_args()


# ---- the machine --------------------------------------------------------------------------------
def set_threads(threads):
    gru_native.set_num_threads(threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


def sgemm_gflops(threads, sizes=(1024, 1536, 2048), tries=5):
    """Best float32 square matmul rate of NumPy's BLAS on `threads` threads."""
    rng = np.random.default_rng(0)
    best = 0.0
    with threadpool_limits(limits=threads, user_api="blas"):
        for n in sizes:
            a, b = (rng.standard_normal((n, n), dtype=np.float32) for _ in range(2))
            a @ b
            for _ in range(tries):
                start = time.perf_counter()
                a @ b
                best = max(best, 2 * n ** 3 / (time.perf_counter() - start) / 1e9)
    return best


# ---- timing -------------------------------------------------------------------------------------
def time_alternating(runs, repeats):
    """Median seconds of each run after one warm-up call, interleaved, order flipped each round."""
    for run in runs.values():
        run()
    times = {name: [] for name in runs}
    names = list(runs)
    for i in range(repeats):
        for name in round_order(names, i):
            start = time.perf_counter()
            runs[name]()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def train_flops(T, I, H, B):
    """Forward 2*B*3H*(I+H) per timestep; backward about twice that."""
    return 3 * 2 * B * 3 * H * (I + H) * T


def bench_training(shape, repeats, lstm=False):
    T, I, H, B = shape
    x, y = workloads.train_data(T, I, B)
    table = workloads.TRAIN_LSTM if lstm else workloads.TRAIN
    runs = {lib: table[lib](x, y, H, B) for lib in LIBS if lib in table}
    epoch = time_alternating(runs, repeats)
    return dict(bench="train_lstm" if lstm else "train", shape=list(shape),
                target=None if lstm else TRAIN_TARGETS.get(shape), samples=B,
                flops=train_flops(*shape) * (4 / 3 if lstm else 1),
                seconds={lib: s / workloads.EPOCH_BATCHES for lib, s in epoch.items()})


def bench_prediction(shape, repeats):
    T, I, H = shape
    x1 = workloads.one_sequence(T, I)
    runs = {lib: workloads.PREDICT[lib](x1, H) for lib in LIBS}
    return dict(bench="predict", shape=list(shape), target=PREDICT_TARGETS.get(shape), samples=1,
                flops=2 * 3 * H * (I + H) * T, seconds=time_alternating(runs, repeats))


def bench_stream(shape, repeats):
    I, H = shape
    x_t = workloads.one_sequence(1, I)[0]
    runs = {lib: workloads.STREAM[lib](x_t, H) for lib in LIBS if lib in workloads.STREAM}
    return dict(bench="stream", shape=list(shape), target=STREAM_TARGETS.get(shape), samples=1,
                flops=2 * 3 * H * (I + H) + 2 * H, seconds=time_alternating(runs, repeats))


def bench_kernels(shape, repeats):
    p = workloads.kernel_problem(*shape)
    runs = {lib: workloads.KERNELS[lib](p) for lib in LIBS if lib in workloads.KERNELS}
    if "torch" in runs:  # fail loudly if both do not compute the same thing
        np.testing.assert_allclose(runs["gru_native"](), runs["torch"](), rtol=1e-3, atol=1e-4)
    return dict(bench="kernels", shape=list(shape), target=None, samples=shape[3],
                flops=train_flops(*shape), seconds=time_alternating(runs, repeats))


def summarize(row, sgemm):
    """Add the derived numbers: ratio to torch and whether it meets the target, rates."""
    s = row["seconds"]
    if "torch" in s:
        row["ratio"] = s["torch"] / s["gru_native"]
        row["met"] = None if row["target"] is None else row["ratio"] >= row["target"]
    row["samples_per_s"] = {lib: row["samples"] / t for lib, t in s.items()}
    row["gflops"] = {lib: row["flops"] / t / 1e9 for lib, t in s.items()}
    row["sgemm_fraction"] = {lib: g / sgemm for lib, g in row["gflops"].items()}
    return row


# ---- memory -------------------------------------------------------------------------------------
def peak_rss_mb():
    """This process's peak resident memory. Linux's VmHWM first: after a fork + exec, ru_maxrss
    starts at the parent's RSS, which would hide the child's own peak."""
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def memory_child(lib, shape, threads):
    """In a fresh process: the peak RSS growth (MB) of building and training one epoch, over the
    peak after the imports and the data."""
    importlib.import_module(lib)
    set_threads(threads)
    T, I, H, B = shape
    x, y = workloads.train_data(T, I, B)
    baseline = peak_rss_mb()
    workloads.TRAIN[lib](x, y, H, B)()
    print(peak_rss_mb() - baseline)


def bench_memory(shape, threads):
    mb = {}
    for lib in LIBS:
        mb[lib] = float(run_child(__file__, "--threads", str(threads), "--memory-child", lib,
                                  ",".join(map(str, shape))))
    met = mb["gru_native"] <= mb["torch"] if "torch" in mb else None
    return dict(bench="memory", shape=list(shape), mb=mb, met=met)


# ---- output -------------------------------------------------------------------------------------
def markdown(head, rows):
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---:" for _ in head) + "|"]
    return "\n".join(lines + ["| " + " | ".join(map(str, r)) + " |" for r in rows])


def met_mark(met):
    return {True: "yes", False: "**no**", None: "-"}[met]


def timing_table(rows, unit):
    libs = list(rows[0]["seconds"])
    dims = "IH" if rows[0]["bench"] == "stream" else "TIHB"[:len(rows[0]["shape"])]
    head = list(dims) + [f"{lib} {unit}" for lib in libs]
    if "torch" in libs:
        head += ["torch / gru_native", "target", "met"]
    head += [f"{lib} samples/s" for lib in libs] + [f"{lib} GFLOP/s (% sgemm)" for lib in libs]
    body = []
    for r in rows:
        cells = r["shape"] + [f"{1e3 * r['seconds'][lib]:.3f}" for lib in libs]
        if "torch" in libs:
            target = "-" if r["target"] is None else f"≥{r['target']:g}×"
            cells += [f"{r['ratio']:.2f}×", target, met_mark(r["met"])]
        cells += [f"{r['samples_per_s'][lib]:,.0f}" for lib in libs]
        cells += [f"{r['gflops'][lib]:.2f} ({100 * r['sgemm_fraction'][lib]:.1f}%)" for lib in libs]
        body.append(cells)
    return markdown(head, body)


def memory_table(rows):
    libs = list(rows[0]["mb"])
    head = list("TIHB") + [f"{lib} peak MB" for lib in libs] + ["met (ours ≤ torch)"]
    return markdown(head, [r["shape"] + [f"{r['mb'][lib]:.1f}" for lib in libs] + [met_mark(r["met"])]
                           for r in rows])


def plot(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in rows if "ratio" in r]
    labels = [f"{r['bench']}\n" + " ".join(f"{d}{v}" for d, v in zip(
        "IH" if r["bench"] == "stream" else "TIHB", r["shape"])) for r in rows]
    fig, ax = plt.subplots(figsize=(1.3 * len(rows) + 2, 4.5))
    colors = ["tab:green" if r["met"] in (True, None) else "tab:red" for r in rows]
    ax.bar(range(len(rows)), [r["ratio"] for r in rows], color=colors)
    marked = np.array([(i, r["target"]) for i, r in enumerate(rows) if r["target"] is not None])
    if len(marked):
        ax.hlines(marked[:, 1], marked[:, 0] - 0.45, marked[:, 0] + 0.45, colors="black",
                  linestyles="--", label="target")
        ax.legend()
    ax.axhline(1.0, color="gray", linewidth=0.8)
    ax.set_xticks(range(len(rows)), labels, fontsize=8)
    ax.set_ylabel("torch time / gru_native time")
    ax.set_title("gru_native speed-up over PyTorch (> 1: gru_native faster)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def section(title, rows, unit):
    """Print one table of results; an empty list of shapes (`--shapes` alone) skips it."""
    if rows:
        print(title + "\n")
        print(timing_table(rows, unit) + "\n")


# ---- main ---------------------------------------------------------------------------------------
def main():
    args = parse_args()
    if args.memory_child:
        return memory_child(args.memory_child[0], shape_arg(args.memory_child[1]), args.threads)
    for lib in LIBS[1:]:
        importlib.import_module(lib)
    set_threads(args.threads)
    sgemm = sgemm_gflops(args.threads)
    versions = {lib: getattr(sys.modules[lib], "__version__", "?") for lib in LIBS}
    print(f"CPU: {cpu_name()} ({os.cpu_count()} cores), threads={args.threads}, "
          f"BLAS={gru_native.BLAS_BACKEND}, {versions}")
    print(f"sgemm (NumPy float32, {args.threads} threads, best of 1024-2048): {sgemm:.1f} GFLOP/s\n")

    rows = []
    if args.kernels:
        rows += [summarize(bench_kernels(s, args.repeats), sgemm) for s in args.shapes]
        section("GRU layer kernels, forward (training) + backward:", rows, "ms")
    else:
        train = [summarize(bench_training(s, args.repeats), sgemm) for s in args.shapes]
        section("Training, GRU(H) + Dense(1), Adam, MSE, time per step (one 4-batch epoch / 4):",
                train, "ms/step")
        predict = [summarize(bench_prediction(s, args.predict_repeats), sgemm)
                   for s in args.predict_shapes]
        section("Prediction of one sequence:", predict, "ms")
        stream = [summarize(bench_stream(s, args.predict_repeats), sgemm)
                  for s in args.stream_shapes]
        section("Streaming one timestep (batch 1, state carried): model.stream().step against "
                "GRUCell + Linear:", stream, "ms")
        lstm = [summarize(bench_training(s, args.repeats, lstm=True), sgemm)
                for s in args.lstm_shapes]
        section("Training an LSTM(H) + Dense(1) instead (against torch.nn.LSTM), time per step:",
                lstm, "ms/step")
        rows += train + predict + stream + lstm
    if args.memory:
        memory = [bench_memory(s, args.threads) for s in args.shapes]
        print("Peak RSS growth of one training epoch (fresh process each):\n")
        print(memory_table(memory) + "\n")
        rows += memory
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(cpu=cpu_name(), threads=args.threads, sgemm_gflops=sgemm,
                           versions=versions, results=rows), f, indent=1)
    if args.plot:
        plot(rows, args.plot)


if __name__ == "__main__":
    main()
