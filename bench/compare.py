"""Compare gru_native with PyTorch, Keras 3 on JAX, onnxruntime and OpenVINO, float32 (and
gru_native's bfloat16 and int8 inference against OpenVINO's default precision).

    python bench/compare.py [--threads 2] [--rounds 3] [--repeats 7] [--libs a,b,...]
                            [--shapes T,I,H,B ...] [--predict-shapes T,I,H ...]
                            [--batch-predict-shapes T,I,H,B ...] [--stream-shapes I,H ...]
                            [--lstm-shapes T,I,H,B ...] [--memory] [--kernels]
                            [--json out.json] [--plot out.png]

Training: a GRU(H) + Dense(1) regressor, Adam and MSE, one epoch of 4 shuffled batches of B
sequences (`model.fit`, PyTorch's plain training loop, Keras' `fit`); time per step = epoch / 4.
LSTM: the same with an LSTM. Prediction: one sequence, and a batch of B (`model.predict`, a
`no_grad` forward, Keras' `predict`, an onnxruntime session's `run`, an OpenVINO infer request).
Streaming: one timestep of a GRU(H) + Dense(1) with the state carried (`model.stream().step`,
`GRUCell` + `Linear` under `no_grad`, and the exported one-step model with its state fed back in
onnxruntime and OpenVINO). onnxruntime and OpenVINO run gru_native's own model exported with
`model.export(path, format='onnx')`; OpenVINO twice: with its default precision ("openvino":
bfloat16 on CPUs with AVX512_BF16 or AMX) and forced to float32 ("openvino-f32"). Keras runs on
the backend KERAS_BACKEND names (jax when unset). gru_native's prediction and streaming also run
with precision='bfloat16' ("gru_native-bf16") and 'int8' ("gru_native-int8"), each compared with
OpenVINO's default ("openvino / bf16", "openvino / int8").

How it is timed (alternation.py): each library runs each kind of work in a fresh process of its
own (nothing one library loads, such as an OpenMP runtime and its wait policy, touches another),
the libraries take turns, their order flipped every round; a process runs each shape once
untimed, then keeps the median of `--repeats` runs. Tables give the median over `--rounds`
rounds, and each peer's time over gru_native's (> 1: gru_native faster): the median of the
rounds' ratios, their min-max in brackets, against its target where the project set one.
`--memory` adds the peak memory of one training epoch, each library in a fresh process;
`--kernels` times one GRU layer's forward + backward kernels (gru_native against torch.nn.GRU
in one process, their outputs checked equal) instead of the models.
"""

import argparse
import importlib
import importlib.util
import json
import os
import resource
import statistics
import sys
import tempfile
import time

import numpy as np
from threadpoolctl import threadpool_limits

import workloads
from alternation import cpu_name, median_seconds, round_order, run_child

KINDS = {  # kind: (title, unit, the libraries that run it)
    "train": ("Training, GRU(H) + Dense(1), Adam, MSE, time per step (one 4-batch epoch / 4)",
              "ms/step", ("gru_native", "torch", "keras")),
    "predict": ("Prediction of one sequence", "ms",
                ("gru_native", *workloads.REDUCED, "torch", "keras", "onnxruntime", "openvino",
                 "openvino-f32")),
    "batch_predict": ("Prediction of a batch of B sequences", "ms",
                      ("gru_native", *workloads.REDUCED, "torch", "keras", "onnxruntime",
                       "openvino", "openvino-f32")),
    "stream": ("Streaming one timestep (batch 1, state carried)", "ms",
               ("gru_native", *workloads.REDUCED, "torch", "onnxruntime", "openvino",
                "openvino-f32")),
    "train_lstm": ("Training an LSTM(H) + Dense(1) instead, time per step", "ms/step",
                   ("gru_native", "torch", "keras")),
}
MODULES = {"gru_native": "gru_native", **{lib: "gru_native" for lib in workloads.REDUCED},
           "torch": "torch", "keras": "keras", "onnxruntime": "onnxruntime",
           "openvino": "openvino", "openvino-f32": "openvino"}
TRAIN_SHAPES = [(10, 1, 50, 32), (50, 8, 64, 64), (100, 32, 128, 64), (100, 64, 256, 128),
                (50, 128, 512, 64)]
# (kind, shape) -> {peer: the peer's time / gru_native's we aim at; "openvino / bf16": OpenVINO's
# default precision over gru_native's bfloat16, and so for int8}
REDUCED_TARGETS = {"openvino / bf16": 1.3, "openvino / int8": 1.3}
TARGETS = {
    **{("train", s): {"torch": t, "keras": 1.3}
       for s, t in zip(TRAIN_SHAPES, (5.0, 3.0, 2.0, 1.5, 1.2))},
    ("predict", (10, 1, 50)): {"torch": 10.0, "onnxruntime": 1.3},
    ("predict", (100, 8, 256)): {"torch": 2.5, "onnxruntime": 1.3, "openvino-f32": 1.0,
                                 **REDUCED_TARGETS},
    ("batch_predict", (100, 32, 128, 256)): {"openvino-f32": 1.0, **REDUCED_TARGETS},
    **{("stream", (8, h)): {"torch": 5.0} for h in (32, 64, 128)},
    ("stream", (8, 256)): {"torch": 5.0, "onnxruntime": 1.3},
    **{("train_lstm", s): {"torch": 1.3, "keras": 1.3} for s in TRAIN_SHAPES[:3]},
}


def shape_arg(text):
    return tuple(int(v) for v in text.split(","))


def shapes_of(kind):
    """Every shape of a kind that has a target, in order."""
    return [shape for k, shape in TARGETS if k == kind]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=3, help="turns of every library")
    p.add_argument("--repeats", type=int, default=7, help="timed epochs per process and shape")
    p.add_argument("--predict-repeats", type=int, default=200,
                   help="timed predictions (and streamed steps) per process and shape")
    p.add_argument("--libs", default=",".join(MODULES), help="the libraries to run")
    p.add_argument("--shapes", nargs="*", type=shape_arg, metavar="T,I,H,B",
                   default=shapes_of("train"))
    p.add_argument("--predict-shapes", nargs="*", type=shape_arg, metavar="T,I,H",
                   default=shapes_of("predict"))
    p.add_argument("--batch-predict-shapes", nargs="*", type=shape_arg, metavar="T,I,H,B",
                   default=shapes_of("batch_predict"))
    p.add_argument("--stream-shapes", nargs="*", type=shape_arg, metavar="I,H",
                   default=shapes_of("stream"))
    p.add_argument("--lstm-shapes", nargs="*", type=shape_arg, metavar="T,I,H,B",
                   default=shapes_of("train_lstm"))
    p.add_argument("--memory", action="store_true", help="also measure peak training memory")
    p.add_argument("--kernels", action="store_true",
                   help="time one GRU layer's forward + backward kernels instead of the models")
    p.add_argument("--json", metavar="FILE", help="write the results as JSON")
    p.add_argument("--plot", metavar="FILE", help="bar chart of the ratios (needs matplotlib)")
    p.add_argument("--child", nargs=3, metavar=("KIND", "LIB", "ONNX_DIR"), help=argparse.SUPPRESS)
    return p.parse_args(argv)


def kind_shapes(args):
    return {"train": args.shapes, "predict": args.predict_shapes,
            "batch_predict": args.batch_predict_shapes, "stream": args.stream_shapes,
            "train_lstm": args.lstm_shapes}


# ---- one library in its own process --------------------------------------------------------------
def import_library(lib, threads):
    """Import `lib` (only it: workloads imports each library inside its factories) and hold it
    to `threads` threads; returns its version."""
    if lib == "keras":
        os.environ.setdefault("KERAS_BACKEND", "jax")
    module = importlib.import_module(MODULES[lib])
    if MODULES[lib] in ("gru_native", "torch"):  # the others take their threads in workloads.py
        module.set_num_threads(threads)
    return getattr(module, "__version__", "?")


def workload(kind, lib, shape, onnx_dir, threads):
    """The callable running one unit of `kind` work of `shape` in `lib`."""
    if kind in ("train", "train_lstm"):
        T, I, H, B = shape
        x, y = workloads.train_data(T, I, B)
        table = workloads.TRAIN if kind == "train" else workloads.TRAIN_LSTM
        return table[lib](x, y, H, B)
    if kind == "stream":
        I, H = shape
        x_t = workloads.one_sequence(1, I)[0]
        if lib in workloads.ONNX_STREAM:
            path = workloads.onnx_path(onnx_dir, "stream", 1, I, H)
            return workloads.ONNX_STREAM[lib](x_t, path, threads)
        return workloads.STREAM[lib](x_t, H)
    T, I, H = shape[:3]
    x = workloads.train_data(T, I, shape[3])[0][:shape[3]] if kind == "batch_predict" \
        else workloads.one_sequence(T, I)
    if lib in workloads.ONNX_PREDICT:
        return workloads.ONNX_PREDICT[lib](x, workloads.onnx_path(onnx_dir, "predict", T, I, H),
                                           threads)
    return workloads.PREDICT[lib](x, H)


def child(args):
    """In a fresh process: the median seconds of each shape of one kind in one library (per
    training step for the training kinds), printed as the JSON last line."""
    kind, lib, onnx_dir = args.child
    version = import_library(lib, args.threads)
    training = kind in ("train", "train_lstm")
    seconds = []
    for shape in kind_shapes(args)[kind]:
        run = workload(kind, lib, shape, onnx_dir, args.threads)
        calls = args.repeats if training else args.predict_repeats
        t = median_seconds(run, calls, warmup=1)
        seconds.append(t / workloads.EPOCH_BATCHES if training else t)
    print(json.dumps(dict(version=version, seconds=seconds)))


# ---- the parent: rounds of children, alternating -------------------------------------------------
def child_args(args, kind, lib, onnx_dir):
    shapes = kind_shapes(args)
    out = ["--threads", str(args.threads), "--repeats", str(args.repeats),
           "--predict-repeats", str(args.predict_repeats), "--child", kind, lib, onnx_dir]
    for name, key in (("--shapes", "train"), ("--predict-shapes", "predict"),
                      ("--batch-predict-shapes", "batch_predict"), ("--stream-shapes", "stream"),
                      ("--lstm-shapes", "train_lstm")):
        out += [name, *(",".join(map(str, s)) for s in shapes[key])]
    return out


def run_kind(args, kind, libs, onnx_dir, versions):
    """{lib: [[seconds of each round] per shape]} of one kind, every library in its own process
    each round, the order flipped every round; a library whose process fails is left out (said
    on stderr)."""
    times = {lib: [] for lib in libs}
    for r in range(args.rounds):
        for lib in round_order(list(times), r):
            try:
                out = run_child(__file__, *child_args(args, kind, lib, onnx_dir))
            except RuntimeError as error:
                print(f"{kind} {lib}: left out, its process failed: {error}", file=sys.stderr)
                del times[lib]
                continue
            versions[lib] = out["version"]
            times[lib].append(out["seconds"])
        print(f"round {r + 1}/{args.rounds} {kind}: " + ", ".join(
            f"{lib} " + "/".join(f"{1e3 * s:.3f}" for s in t[-1]) + " ms"
            for lib, t in times.items() if t), file=sys.stderr, flush=True)
    if "gru_native" not in times:
        raise RuntimeError(f"gru_native's {kind} process failed")
    return {lib: [list(per_shape) for per_shape in zip(*t)] for lib, t in times.items()}


def flops(kind, shape):
    """Forward 2*B*3H*(I+H) per timestep of a GRU; a training step's backward about twice that
    (an LSTM 4/3 of the GRU's)."""
    if kind == "stream":
        I, H = shape
        return 2 * 3 * H * (I + H) + 2 * H
    T, I, H = shape[:3]
    B = 1 if kind == "predict" else shape[3]
    forward = 2 * B * 3 * H * (I + H) * T
    return {"train": 3 * forward, "train_lstm": 4 * forward}.get(kind, forward)


def rows_of(kind, shapes, times, sgemm):
    rows = []
    for i, shape in enumerate(shapes):
        rounds = {lib: t[i] for lib, t in times.items()}
        ours = rounds["gru_native"]
        seconds = {lib: statistics.median(t) for lib, t in rounds.items()}
        ratios = {peer: [p / o for p, o in zip(t, ours)] for peer, t in rounds.items()
                  if MODULES[peer] != "gru_native"}
        for variant in workloads.REDUCED:  # against OpenVINO's default precision
            if variant in rounds and "openvino" in rounds:
                ratios[f"openvino / {variant.split('-')[1]}"] = [
                    p / v for p, v in zip(rounds["openvino"], rounds[variant])]
        targets = {peer: t for peer, t in TARGETS.get((kind, tuple(shape)), {}).items()
                   if peer in ratios}
        ratio = {peer: statistics.median(r) for peer, r in ratios.items()}
        samples = 1 if kind in ("predict", "stream") else shape[3]
        gflops = flops(kind, shape) / seconds["gru_native"] / 1e9
        rows.append(dict(bench=kind, shape=list(shape), seconds=seconds, rounds=rounds,
                         ratio=ratio, ratio_range={p: [min(r), max(r)] for p, r in ratios.items()},
                         target=targets, met={p: ratio[p] >= t for p, t in targets.items()},
                         samples_per_s=samples / seconds["gru_native"], gflops=gflops,
                         sgemm_fraction=gflops / sgemm))
    return rows


# ---- in one process: the kernels -----------------------------------------------------------------
def time_alternating(runs, repeats):
    """Median seconds of each run after one warm-up call, interleaved, order flipped each round."""
    for run in runs.values():
        run()
    times = {name: [] for name in runs}
    for i in range(repeats):
        for name in round_order(list(runs), i):
            start = time.perf_counter()
            runs[name]()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def bench_kernels(shape, repeats, sgemm):
    p = workloads.kernel_problem(*shape)
    runs = {lib: workloads.KERNELS[lib](p) for lib in ("gru_native", "torch")}
    np.testing.assert_allclose(runs["gru_native"](), runs["torch"](), rtol=1e-3, atol=1e-4)
    seconds = time_alternating(runs, repeats)
    gflops = flops("train", shape) / seconds["gru_native"] / 1e9
    return dict(bench="kernels", shape=list(shape), seconds=seconds,
                ratio={"torch": seconds["torch"] / seconds["gru_native"]}, ratio_range={},
                target={}, met={}, samples_per_s=shape[3] / seconds["gru_native"],
                gflops=gflops, sgemm_fraction=gflops / sgemm)


# ---- memory --------------------------------------------------------------------------------------
def peak_rss_mb():
    """This process's peak resident memory. Linux's VmHWM first: after a fork + exec, ru_maxrss
    starts at the parent's RSS, which would hide the child's own peak."""
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def memory_child(args):
    """In a fresh process: the peak RSS growth (MB) of building and training one epoch of the
    one training shape, over the peak after the imports and the data."""
    _, lib, _ = args.child
    version = import_library(lib, args.threads)
    T, I, H, B = args.shapes[0]
    x, y = workloads.train_data(T, I, B)
    baseline = peak_rss_mb()
    workloads.TRAIN[lib](x, y, H, B)()
    print(json.dumps(dict(version=version, mb=peak_rss_mb() - baseline)))


def bench_memory(shape, threads, libs):
    mb = {lib: run_child(__file__, "--threads", str(threads), "--shapes", ",".join(map(str, shape)),
                         "--child", "memory", lib, "-")["mb"] for lib in libs}
    return dict(bench="memory", shape=list(shape), mb=mb,
                met=mb["gru_native"] <= mb["torch"] if "torch" in mb else None)


# ---- output --------------------------------------------------------------------------------------
def markdown(head, rows):
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---:" for _ in head) + "|"]
    return "\n".join(lines + ["| " + " | ".join(map(str, r)) + " |" for r in rows])


def ratio_cell(row, peer):
    low, high = row["ratio_range"].get(peer, (None, None))
    cell = f"{row['ratio'][peer]:.2f}×" + ("" if low is None else f" ({low:.2f}–{high:.2f})")
    if peer in row["target"]:
        cell += f" ≥{row['target'][peer]:g}× " + ("yes" if row["met"][peer] else "**no**")
    return cell


def timing_table(rows, unit):
    libs = list(rows[0]["seconds"])
    peers = list(rows[0]["ratio"])
    dims = "IH" if rows[0]["bench"] == "stream" else "TIHB"[:len(rows[0]["shape"])]
    head = (list(dims) + [f"{lib} {unit}" for lib in libs]
            + [p if " / " in p else f"{p} / ours" for p in peers]
            + ["ours samples/s", "ours GFLOP/s (% sgemm)"])
    body = [r["shape"] + [f"{1e3 * r['seconds'][lib]:.3f}" for lib in libs]
            + [ratio_cell(r, p) for p in peers]
            + [f"{r['samples_per_s']:,.0f}",
               f"{r['gflops']:.2f} ({100 * r['sgemm_fraction']:.1f}%)"]
            for r in rows]
    return markdown(head, body)


def memory_table(rows):
    libs = list(rows[0]["mb"])
    head = list("TIHB") + [f"{lib} peak MB" for lib in libs] + ["met (ours ≤ torch)"]
    return markdown(head, [r["shape"] + [f"{r['mb'][lib]:.1f}" for lib in libs]
                           + [{True: "yes", False: "**no**", None: "-"}[r["met"]]] for r in rows])


def plot(rows, path):
    """One group of bars per workload, one bar per peer (its time over gru_native's, log
    scale), each target a black tick over its bar."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in rows if r.get("ratio")]
    peers = list(dict.fromkeys(p for r in rows for p in r["ratio"]))
    if not peers:
        print("no chart: no peer ran beside gru_native", file=sys.stderr)
        return
    width = 0.8 / len(peers)
    fig, ax = plt.subplots(figsize=(0.9 * len(rows) + 3, 5))
    for j, peer in enumerate(peers):
        offset = (j - (len(peers) - 1) / 2) * width
        xs, mine = zip(*[(i + offset, r) for i, r in enumerate(rows) if peer in r["ratio"]])
        ax.bar(xs, [r["ratio"][peer] for r in mine], width, label=peer)
        marked = [(x, r["target"][peer]) for x, r in zip(xs, mine) if peer in r["target"]]
        if marked:
            ax.hlines([t for _, t in marked], [x - width / 2 for x, _ in marked],
                      [x + width / 2 for x, _ in marked], colors="black")
    ax.axhline(1.0, color="gray", linewidth=0.8)
    ax.set_yscale("log")
    labels = [f"{r['bench']}\n" + " ".join(f"{d}{v}" for d, v in zip(
        "IH" if r["bench"] == "stream" else "TIHB", r["shape"])) for r in rows]
    ax.set_xticks(range(len(rows)), labels, fontsize=7)
    ax.set_ylabel("peer time / gru_native time (log)")
    ax.set_title("gru_native against each peer (> 1: gru_native faster; black ticks: targets)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


# ---- main ----------------------------------------------------------------------------------------
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


def available(libs):
    """The libraries installed here (Keras with JAX: the backend compared)."""
    found = [lib for lib in libs if importlib.util.find_spec(MODULES[lib])]
    if "keras" in found and os.environ.get("KERAS_BACKEND", "jax") == "jax" \
            and not importlib.util.find_spec("jax"):
        found.remove("keras")
    return found


def main(argv=None):
    args = parse_args(argv)
    if args.child:
        return memory_child(args) if args.child[0] == "memory" else child(args)
    libs = available(args.libs.split(","))
    if args.kernels:
        import torch  # noqa: F401  (before gru_native: it then runs under torch's OpenMP waits)
    import gru_native
    gru_native.set_num_threads(args.threads)
    sgemm = sgemm_gflops(args.threads)
    print(f"CPU: {cpu_name()} ({os.cpu_count()} cores), threads={args.threads}, "
          f"BLAS={gru_native.BLAS_BACKEND}, libraries: {', '.join(libs)}")
    print(f"sgemm (NumPy float32, {args.threads} threads, best of 1024-2048): "
          f"{sgemm:.1f} GFLOP/s\n")
    rows, versions = [], {}
    if args.kernels:
        rows = [bench_kernels(s, args.repeats, sgemm) for s in args.shapes]
        print("GRU layer kernels, forward (training) + backward:\n")
        print(timing_table(rows, "ms") + "\n")
    else:
        with tempfile.TemporaryDirectory() as onnx_dir:
            if set(libs) & set(workloads.ONNX_PREDICT):  # the runtimes read exported models
                predict_shapes = args.predict_shapes + [s[:3] for s in args.batch_predict_shapes]
                workloads.export_onnx(onnx_dir, predict_shapes, args.stream_shapes)
            for kind, shapes in kind_shapes(args).items():
                kind_libs = [lib for lib in KINDS[kind][2] if lib in libs]
                if not shapes or "gru_native" not in kind_libs:
                    continue
                kind_rows = rows_of(kind, shapes, run_kind(args, kind, kind_libs, onnx_dir,
                                                           versions), sgemm)
                title, unit = KINDS[kind][:2]
                print(f"{title}:\n\n{timing_table(kind_rows, unit)}\n", flush=True)
                rows += kind_rows
    if args.memory:
        memory = [bench_memory(s, args.threads, [lib for lib in KINDS["train"][2] if lib in libs])
                  for s in args.shapes]
        print("Peak RSS growth of one training epoch (fresh process each):\n")
        print(memory_table(memory) + "\n")
        rows += memory
    print(f"versions: {versions}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(cpu=cpu_name(), threads=args.threads, sgemm_gflops=sgemm,
                           rounds=args.rounds, versions=versions, results=rows), f, indent=1)
    if args.plot:
        plot(rows, args.plot)


if __name__ == "__main__":
    main()
