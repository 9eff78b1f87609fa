"""What fit's data pipeline costs: Model.fit from a PyDataset, a generator and
timeseries_dataset_from_array against fit from the same in-memory arrays, each run in its own process.

    python bench/data_pipeline.py [--rounds 5] [--threads 2] [--shapes T,I,H,B ...]
                                  [--json bench/data_pipeline_results.json]
                                  [--md bench/data_pipeline_results.md]
    python bench/data_pipeline.py --profile pydataset 10,1,50,32   # cProfile of one fit

Shapes: compare.py's training shapes (T, I, H, B) and its model (workloads.native_model: GRU(H) +
Dense(1), Adam, MSE), float32. The data is a forecasting problem: a series of n + T steps of I
features, sample j its window of T steps from step j, target the next step's first feature. The
sources, all giving fit the same batches of B samples in the same order (shuffle=False):

  arrays      fit(x, y, batch_size=B): the windows as one (n, T, I) array (the baseline)
  pydataset   fit(PyDataset): __getitem__(i) slices batch i of those arrays; read by
              gru_native's background thread (workers=1, max_queue_size=10, the defaults)
  generator   fit(generator, steps_per_epoch=batches): an endless generator of those slices
  timeseries  fit(timeseries_dataset_from_array(series, series[T:, :1], T, batch_size=B)): the
              windows gathered from the series batch by batch

Timing: each process builds a fresh model (set_random_seed(0)), runs one
fit(..., epochs=EPOCHS, shuffle=False, verbose=0) and keeps the median of the epochs after the
first (a warm-up) as measured by a callback (on_epoch_begin -> on_epoch_end, which includes the
adapter's per-epoch thread start and stop). BATCHES per epoch are chosen per shape so that one fit
takes well over 0.5 s. Every round starts one fresh process per (shape, source), the sources in
alternation.round_order (flipped each round); the table gives the median over rounds of the
per-process epoch times, their min-max, and ratio = median(source) / median(arrays), with the
min-max of the per-round paired ratios beside it.

Correctness (untimed): before timing, each shape is fitted from every source in this process and
the final weights must be np.array_equal to the arrays fit's; every timed process also reports a
digest of its final weights, which must agree across sources and rounds.
"""

import argparse
import concurrent.futures
import cProfile
import hashlib
import io
import json
import os
import pstats
import statistics
import subprocess
import sys
import time
import types

import numpy as np

import gru_native
import gru_native.data.adapters
import workloads
from alternation import alternate, cpu_name, median_min_max, run_child

HERE = os.path.dirname(os.path.abspath(__file__))
SHAPES = [(10, 1, 50, 32), (50, 8, 64, 64), (100, 32, 128, 64), (100, 64, 256, 128),
          (50, 128, 512, 64)]  # compare.py's TRAIN_TARGETS, (T, I, H, B)
# batches per epoch: an epoch of ~0.1-0.7 s on this machine (compare.py's workloads.EPOCH_BATCHES
# = 4 for the two largest, whose steps take 0.1-0.2 s)
BATCHES = {(10, 1, 50, 32): 256, (50, 8, 64, 64): 32, (100, 32, 128, 64): 16,
           (100, 64, 256, 128): workloads.EPOCH_BATCHES, (50, 128, 512, 64): workloads.EPOCH_BATCHES}
EPOCHS = 5  # per fit: one warm-up epoch and 4 timed
CHECK_EPOCHS = 2  # of the untimed weight-equality fits
SOURCES = ["arrays", "pydataset", "generator", "timeseries"]
LIMIT = 1.10  # a source may cost at most 10% over arrays


def shape_arg(text):
    return tuple(int(v) for v in text.split(","))


# ---- data and sources -------------------------------------------------------------------
def forecasting_data(T, I, n, seed=0):
    """The series (n + T, I), its windows x (n, T, I) and next-step targets y (n, 1), float32."""
    series = np.random.default_rng(seed).standard_normal((n + T, I), dtype=np.float32)
    windows = np.lib.stride_tricks.sliding_window_view(series[:n + T - 1], T, axis=0)
    x = np.ascontiguousarray(windows.transpose(0, 2, 1))  # (n, T, I)
    return series, x, np.ascontiguousarray(series[T:, :1])


class Slices(gru_native.utils.PyDataset):
    """Batch i of in-memory arrays, sliced in __getitem__."""

    def __init__(self, x, y, batch_size, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.batch_size = x, y, batch_size

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, i):
        rows = slice(i * self.batch_size, (i + 1) * self.batch_size)
        return self.x[rows], self.y[rows]


def endless_batches(x, y, batch_size):
    while True:
        for start in range(0, len(x), batch_size):
            yield x[start:start + batch_size], y[start:start + batch_size]


def fit_call(source, shape, epochs):
    """(model, fit) for one source: fit(callbacks) runs the whole fit on a fresh seeded model."""
    T, I, H, B = shape
    batches = BATCHES.get(shape, workloads.EPOCH_BATCHES)
    series, x, y = forecasting_data(T, I, batches * B)
    gru_native.utils.set_random_seed(0)
    model = workloads.native_model(T, I, H)
    common = dict(epochs=epochs, shuffle=False, verbose=0)
    if source == "arrays":
        run = lambda cbs: model.fit(x, y, batch_size=B, callbacks=cbs, **common)
    elif source == "pydataset":
        data = Slices(x, y, B)
        run = lambda cbs: model.fit(data, callbacks=cbs, **common)
    elif source == "generator":
        gen = endless_batches(x, y, B)
        run = lambda cbs: model.fit(gen, steps_per_epoch=batches, callbacks=cbs, **common)
    elif source == "pydataset_inline":  # diagnosis only: batches read in the training thread
        data = Slices(x, y, B)
        run = lambda cbs: _inline_reads(lambda: model.fit(data, callbacks=cbs, **common))
    elif source == "timeseries":
        data = gru_native.utils.timeseries_dataset_from_array(series, series[T:, :1], T,
                                                              batch_size=B)
        assert len(data) == batches
        run = lambda cbs: model.fit(data, callbacks=cbs, **common)
    else:
        raise ValueError(source)
    return model, run


class _InlineExecutor:
    """A ThreadPoolExecutor stand-in that reads each batch at submit(), in the calling thread."""

    def __init__(self, *args, **kwargs):
        pass

    def submit(self, fn):
        future = concurrent.futures.Future()
        future.set_result(fn())
        return future

    def shutdown(self, wait=True, cancel_futures=False):
        pass


def _inline_reads(run):
    """run() with gru_native's data adapters reading batches without their background thread:
    what the per-batch conversion costs alone, without the thread handoff (diagnosis only)."""
    module = gru_native.data.adapters
    saved = module.concurrent
    module.concurrent = types.SimpleNamespace(futures=types.SimpleNamespace(
        ThreadPoolExecutor=_InlineExecutor))
    try:
        return run()
    finally:
        module.concurrent = saved


def weights_digest(model):
    h = hashlib.sha256()
    for w in model.get_weights():
        h.update(np.ascontiguousarray(w).tobytes())
    return h.hexdigest()[:16]


class EpochTimes(gru_native.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


# ---- one process: one (source, shape) ------------------------------------------------------
def child(source, shape, threads):
    gru_native.set_num_threads(threads)
    model, run = fit_call(source, shape, EPOCHS)
    times = EpochTimes()
    start = time.perf_counter()
    run([times])
    fit_seconds = time.perf_counter() - start
    assert len(times.seconds) == EPOCHS
    print(json.dumps(dict(epoch=statistics.median(times.seconds[1:]), epochs=times.seconds,
                          fit=fit_seconds, weights=weights_digest(model))))


def check_weights(shapes, threads):
    """{shape: {source: np.array_equal(final weights, arrays' final weights)}}, untimed."""
    gru_native.set_num_threads(threads)
    out = {}
    for shape in shapes:
        final = {}
        for source in SOURCES:
            model, run = fit_call(source, shape, CHECK_EPOCHS)
            run(None)
            final[source] = model.get_weights()
        ref = final["arrays"]
        out[",".join(map(str, shape))] = {
            s: len(w) == len(ref) and all(np.array_equal(a, b) for a, b in zip(w, ref))
            for s, w in final.items() if s != "arrays"}
    return out


def profile(source, shape, threads, top=25):
    """cProfile of one EPOCHS-epoch fit (the calling thread; the reader thread is not profiled)."""
    gru_native.set_num_threads(threads)
    _, run = fit_call(source, shape, EPOCHS)
    prof = cProfile.Profile()
    start = time.perf_counter()
    prof.enable()
    run(None)
    prof.disable()
    print(f"{source} {shape}: fit {time.perf_counter() - start:.3f} s, "
          f"{EPOCHS} epochs x {BATCHES.get(shape, workloads.EPOCH_BATCHES)} batches")
    for key in ("tottime", "cumtime"):
        s = io.StringIO()
        pstats.Stats(prof, stream=s).sort_stats(key).print_stats(top)
        print(s.getvalue())


def per_batch_costs(shape, calls=3000):
    """Microseconds per batch of the training thread's own per-batch work on a dataset's batch
    (no profiler): the adapter's _standardize (its _checked) and Model._prepared (x through
    _inputs, y through _targets, _sample_weights), the median of `calls` calls each."""
    from alternation import median_seconds
    T, I, H, B = shape
    _, x, y = forecasting_data(T, I, 4 * B)
    model = workloads.native_model(T, I, H)
    model.fit(x, y, batch_size=B, epochs=1, verbose=0)
    adapter = gru_native.data.get_data_adapter(Slices(x, y, B))
    raw = (x[:B], y[:B])
    costs = {"adapter._standardize/_checked": lambda: adapter._standardize(raw, 0),
             "Model._prepared": lambda: model._prepared(x[:B], y[:B], None),
             "  Model._inputs": lambda: model._inputs(x[:B]),
             "  Model._targets": lambda: model._targets(y[:B], B),
             "PyDataset.__getitem__": lambda: adapter.dataset[0]}
    return {name: 1e6 * median_seconds(fn, calls, warmup=100) for name, fn in costs.items()}


def diagnose(shape, rounds):
    """Where a dataset's extra time goes, in fresh processes alternated as the main run: arrays,
    the PyDataset, and the PyDataset read in the training thread (no handoff), at 2 and 1 kernel
    threads; then the per-batch costs of the training thread's conversion."""
    case_of = lambda threads: f"{','.join(map(str, shape))}@{threads}"
    cases = {case_of(n): ["arrays", "pydataset", "pydataset_inline"] for n in (2, 1)}
    run = lambda source, case: run_child(__file__, "--threads", case.split("@")[1], "--child",
                                         source, case.split("@")[0], cwd=HERE)
    results = alternate(rounds, cases, run, "epoch", unit="ms/epoch")
    batches = BATCHES.get(shape, workloads.EPOCH_BATCHES)
    out = {}
    for case, by_source in results.items():
        m = median_min_max(by_source, "epoch")
        base = m["median"]["arrays"]
        out[case] = {s: dict(us_per_batch=1e6 * m["median"][s] / batches,
                             extra_us_per_batch=1e6 * (m["median"][s] - base) / batches,
                             ratio=m["median"][s] / base,
                             paired=[r["epoch"] / a["epoch"] for r, a in
                                     zip(by_source[s], by_source["arrays"])])
                     for s in by_source}
        print(case, json.dumps(out[case], indent=1))
    costs = per_batch_costs(shape)
    print("training thread's per-batch work (median µs):", json.dumps(costs, indent=1))
    return dict(by_case=out, per_batch_us=costs, raw=results)


# ---- summary ------------------------------------------------------------------------------
def summarize(results):
    rows = []
    for case, by_source in results.items():
        row = dict(shape=case, batches=BATCHES.get(shape_arg(case), workloads.EPOCH_BATCHES),
                   **median_min_max(by_source, "epoch"))
        base = row["median"]["arrays"]
        row["ratio"] = {s: row["median"][s] / base for s in by_source if s != "arrays"}
        paired = {s: [r["epoch"] / a["epoch"] for r, a in zip(runs, by_source["arrays"])]
                  for s, runs in by_source.items() if s != "arrays"}
        row["paired_ratio"] = {s: dict(median=statistics.median(p), min=min(p), max=max(p))
                               for s, p in paired.items()}
        row["met"] = {s: r <= LIMIT for s, r in row["ratio"].items()}
        row["weight_digests"] = sorted({r["weights"] for runs in by_source.values() for r in runs})
        row["fit_seconds_min"] = min(r["fit"] for runs in by_source.values() for r in runs)
        rows.append(row)
    return rows


def table(rows, checks):
    head = ["T,I,H,B", "batches/epoch", "arrays ms/epoch (min-max)"]
    for s in SOURCES[1:]:
        head += [f"{s} ms/epoch (min-max)", f"{s} / arrays (paired min-max)"]
    head += ["weights equal"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    ms = lambda r, s: (f"{1e3 * r['median'][s]:.1f} ({1e3 * r['min'][s]:.1f}-"
                       f"{1e3 * r['max'][s]:.1f})")
    for r in rows:
        cells = [r["shape"], str(r["batches"]), ms(r, "arrays")]
        for s in SOURCES[1:]:
            p = r["paired_ratio"][s]
            mark = "" if r["met"][s] else " **>1.10**"
            cells += [ms(r, s), f"{r['ratio'][s]:.3f}{mark} ({p['min']:.3f}-{p['max']:.3f})"]
        eq = checks.get(r["shape"], {})
        cells.append("yes" if eq and all(eq.values()) and len(r["weight_digests"]) == 1 else
                     f"**no** {eq} digests {r['weight_digests']}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def git_state():
    try:
        rev = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True,
                             text=True, cwd=HERE).stdout.strip()
        dirty = subprocess.run(["git", "status", "--short", "--", "../src"], capture_output=True,
                               text=True, cwd=HERE).stdout.split("\n")
        return dict(revision=rev, src_changes=[d.strip() for d in dirty if d.strip()])
    except OSError:
        return {}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--shapes", nargs="*", type=shape_arg, metavar="T,I,H,B", default=SHAPES)
    p.add_argument("--json", default=os.path.join(HERE, "data_pipeline_results.json"))
    p.add_argument("--md", default=os.path.join(HERE, "data_pipeline_results.md"))
    p.add_argument("--profile", nargs=2, metavar=("SOURCE", "T,I,H,B"))
    p.add_argument("--diagnose", type=shape_arg, metavar="T,I,H,B",
                   help="where a PyDataset's extra time goes at this shape (see diagnose)")
    p.add_argument("--child", nargs=2, metavar=("SOURCE", "T,I,H,B"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        return child(args.child[0], shape_arg(args.child[1]), args.threads)
    if args.profile:
        return profile(args.profile[0], shape_arg(args.profile[1]), args.threads)

    if args.diagnose:
        return diagnose(args.diagnose, args.rounds)
    started, load_before = time.time(), os.getloadavg()
    checks = check_weights(args.shapes, args.threads)
    print(f"weights np.array_equal to the arrays fit ({CHECK_EPOCHS} epochs): {checks}",
          file=sys.stderr, flush=True)
    cases = {",".join(map(str, s)): SOURCES for s in args.shapes}
    run = lambda source, case: run_child(__file__, "--threads", str(args.threads), "--child",
                                         source, case, cwd=HERE)
    results = alternate(args.rounds, cases, run, "epoch", unit="ms/epoch")
    load = dict(before=load_before, after=os.getloadavg())
    rows = summarize(results)
    header = (f"CPU: {cpu_name()} ({os.cpu_count()} cores), {args.threads} kernel threads, "
              f"float32, {args.rounds} rounds (one process per shape and source each), "
              f"{EPOCHS} epochs per fit (first one warm-up), load average {load['before'][0]:.1f} "
              f"-> {load['after'][0]:.1f}, total {(time.time() - started) / 60:.1f} min; "
              f"gru_native {gru_native.__version__}, numpy {np.__version__}, "
              f"python {sys.version.split()[0]}")
    note = ("Time per epoch of fit (GRU(H) + Dense(1), Adam, MSE; shuffle=False): median over "
            "rounds of each process' median timed epoch, (min-max over rounds). ratio = "
            "median(source) / median(arrays), (min-max of the per-round paired ratios); target "
            f"≤ {LIMIT:.2f}. weights equal: the final weights of every source np.array_equal to "
            "the arrays fit's (untimed check), and one weight digest over all timed processes.")
    md = f"{header}\n\n{note}\n\n{table(rows, checks)}\n"
    print("\n" + md)
    with open(args.md, "w") as f:
        f.write(md)
    with open(args.json, "w") as f:
        json.dump(dict(cpu=cpu_name(), threads=args.threads, rounds=args.rounds, epochs=EPOCHS,
                       limit=LIMIT, versions=dict(gru_native=gru_native.__version__,
                                                  numpy=np.__version__,
                                                  python=sys.version.split()[0]),
                       git=git_state(), load_average=load, weights_equal=checks, rows=rows,
                       raw=results), f, indent=1)


if __name__ == "__main__":
    main()
