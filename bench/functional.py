"""Functional models, gru_native against Keras 3 on JAX, each framework in its own process.

    KERAS_BACKEND=jax python bench/functional.py [--rounds 5] [--prev-python PATH]
                                                [--json bench/functional_results.json]

Workloads (float32, Adam, default initialisers, which are Keras' in both libraries):
  seq2seq     encoder LSTM(64, return_state) on (64, 20, 16) -> decoder LSTM(64,
              return_sequences, initial_state=[h, c]) on (64, 20, 16) ->
              TimeDistributed(Dense(16, softmax)), categorical crossentropy
  two_input   GRU(64) on (64, 30, 8) and Dense(32) on (64, 10) -> Concatenate -> Dense(1), mse
  sequential  Sequential([GRU(64), Dense(1)]) on (64, 30, 8), mse; also run by the release
              before the functional engine (--prev-python: a venv with gru_native at 5362277)
  chain       the same GRU(64) -> Dense(1) written with Input and Model (the functional engine)

Training: time per step of `fit` over one epoch of BATCHES batches of 64, after one warm-up
epoch (Keras compiles its step with XLA there); the median of EPOCHS timed epochs in a process.
Prediction: `predict_on_batch` of a batch of 64 (and of 1 for the GRU models), median of many
calls after a warm-up. Every round starts one fresh process per (workload, framework), the order
of the frameworks flipped every round; the table gives the median over rounds of those
per-process medians and their spread (min-max over rounds).
"""

import argparse
import json
import os
import sys

import numpy as np

from alternation import alternate, cpu_name, median_min_max, median_seconds, run_child

HERE = os.path.dirname(os.path.abspath(__file__))
THREADS = 2
BATCH = 64
BATCHES = 16  # batches in a training epoch
EPOCHS = 5  # timed epochs per process, after one warm-up epoch
PREDICT_CALLS = {64: 50, 1: 300}  # timed predictions per process and batch size

# Bounding XLA's CPU threads: XLA sizes its Eigen pool from the process' CPU affinity (the way
# JAX's maintainers recommend, jax-ml/jax#1539), so each child is pinned to THREADS CPUs before
# any import; the flags are the intra-op knobs XLA's own flag parser knows.
XLA_FLAGS = f"--xla_cpu_multi_thread_eigen=true intra_op_parallelism_threads={THREADS}"
KINDS = {"seq2seq": ["gru_native", "keras"], "two_input": ["gru_native", "keras"],
         "sequential": ["gru_native", "keras", "gru_native_prev"], "chain": ["gru_native", "keras"]}


# ---- data ---------------------------------------------------------------------------------
def data(workload, seed=0):
    """(x, y) for one epoch of BATCHES batches, and the x of one batch of 64 for prediction."""
    rng = np.random.default_rng(seed)
    n = BATCH * BATCHES
    f32 = lambda *shape: rng.standard_normal(shape, dtype=np.float32)
    if workload == "seq2seq":
        y = np.eye(16, dtype=np.float32)[rng.integers(0, 16, (n, 20))]  # one-hot targets
        x = [f32(n, 20, 16), f32(n, 20, 16)]
    elif workload == "two_input":
        x, y = [f32(n, 30, 8), f32(n, 10)], f32(n, 1)
    else:
        x, y = f32(n, 30, 8), f32(n, 1)
    x64 = [a[:BATCH] for a in x] if isinstance(x, list) else x[:BATCH]
    return x, y, x64


# ---- the models, one builder per workload and library ---------------------------------------
def build(lib, workload):
    """The compiled model: `lib` is the gru_native or the keras module (same API for these)."""
    L = lib.layers
    if workload == "seq2seq":
        enc_in, dec_in = lib.Input((20, 16)), lib.Input((20, 16))
        _, h, c = L.LSTM(64, return_state=True)(enc_in)
        dec = L.LSTM(64, return_sequences=True)(dec_in, initial_state=[h, c])
        out = L.TimeDistributed(L.Dense(16, activation="softmax"))(dec)
        model, loss = lib.Model([enc_in, dec_in], out), "categorical_crossentropy"
    elif workload == "two_input":
        seq_in, vec_in = lib.Input((30, 8)), lib.Input((10,))
        merged = L.Concatenate()([L.GRU(64)(seq_in), L.Dense(32)(vec_in)])
        model, loss = lib.Model([seq_in, vec_in], L.Dense(1)(merged)), "mse"
    elif workload == "chain":
        inp = lib.Input((30, 8))
        model, loss = lib.Model(inp, L.Dense(1)(L.GRU(64)(inp))), "mse"
    elif lib.__name__ == "keras":
        model, loss = lib.Sequential([lib.Input((30, 8)), L.GRU(64), L.Dense(1)]), "mse"
    else:  # input_shape= is the one spelling the release before the engine also takes
        model, loss = lib.Sequential([lib.GRU(64, input_shape=(30, 8)), lib.Dense(1)]), "mse"
    model.compile(optimizer=lib.optimizers.Adam(), loss=loss)
    return model


# ---- one process: one library, one workload -------------------------------------------------
def pin_threads():
    """Before importing anything: THREADS CPUs for XLA's pools, THREADS OpenMP threads."""
    cpus = sorted(os.sched_getaffinity(0))[:THREADS]
    os.sched_setaffinity(0, cpus)
    os.environ["OMP_NUM_THREADS"] = str(THREADS)
    os.environ["XLA_FLAGS"] = XLA_FLAGS
    os.environ["KERAS_BACKEND"] = "jax"


def child(kind, workload):
    """Time one workload in this process; print {"train": s/step, "predict64": s, ...}."""
    pin_threads()
    if kind == "keras":
        import keras
        keras.utils.set_random_seed(0)
        lib, version = keras, f"keras {keras.__version__}, jax {__import__('jax').__version__}"
    else:
        import gru_native
        gru_native.set_num_threads(THREADS)
        gru_native.utils.set_random_seed(0)
        lib, version = gru_native, f"gru_native {gru_native.__version__} ({sys.prefix})"
    x, y, x64 = data(workload)
    model = build(lib, workload)
    fit = lambda: model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0, shuffle=True)
    # one warm-up epoch: XLA compiles Keras' train step there
    out = {"train": median_seconds(fit, EPOCHS, warmup=1) / BATCHES, "version": version}
    batches = {64: x64}
    if workload != "seq2seq":  # one sequence: the latency case of the GRU models
        batches[1] = [a[:1] for a in x64] if isinstance(x64, list) else x64[:1]
    for size, xb in batches.items():
        predict = lambda: model.predict_on_batch(xb)
        # five warm-up calls: Keras compiles its predict step per input shape
        out[f"predict{size}"] = median_seconds(predict, PREDICT_CALLS[size], warmup=5)
    print(json.dumps(out))


# ---- the alternation ------------------------------------------------------------------------
def alternate_workloads(rounds, prev_python, workloads):
    """{workload: {kind: [per-process result, ...]}}, the kinds of KINDS that have a python."""
    pythons = {"gru_native": sys.executable, "keras": sys.executable, "gru_native_prev": prev_python}
    cases = {w: [k for k in KINDS[w] if pythons[k]] for w in workloads}
    run = lambda kind, w: run_child(__file__, "--child", kind, w, python=pythons[kind], cwd=HERE)
    return alternate(rounds, cases, run, "train", unit="ms/step")


# ---- summary --------------------------------------------------------------------------------
SHAPES = {"seq2seq": "2 x (64, 20, 16) -> (64, 20, 16)", "two_input": "(64, 30, 8) + (64, 10)",
          "sequential": "(64, 30, 8)", "chain": "(64, 30, 8)"}


def summarize(results):
    """One row per (workload, metric): medians and min-max per kind, ratios to gru_native."""
    rows = []
    for w, by_kind in results.items():
        for metric in [m for m in by_kind["gru_native"][0] if m != "version"]:
            row = dict(workload=w, metric=metric, shape=SHAPES[w],
                       **median_min_max(by_kind, metric))
            ours = row["median"]["gru_native"]
            row["ratio"] = {k: v / ours for k, v in row["median"].items() if k != "gru_native"}
            rows.append(row)
    return rows


def fmt(seconds):
    return f"{seconds * 1e3:.2f} ms" if seconds >= 1e-3 else f"{seconds * 1e6:.0f} µs"


def spread(row, kind):
    return f"{fmt(row['min'][kind])}-{fmt(row['max'][kind])}" if kind in row["min"] else "-"


def table(rows):
    head = ["workload", "metric", "shape", "gru_native", "Keras/JAX", "Keras / ours",
            "spread ours", "spread Keras", "prev release (5362277)", "prev / ours"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        m, ratio = r["median"], r["ratio"]
        prev = (f"{fmt(m['gru_native_prev'])} ({spread(r, 'gru_native_prev')})"
                if "gru_native_prev" in m else "-")
        cells = [r["workload"], r["metric"], r["shape"], fmt(m["gru_native"]),
                 fmt(m["keras"]) if "keras" in m else "-",
                 f"{ratio['keras']:.2f}×" if "keras" in ratio else "-",
                 spread(r, "gru_native"), spread(r, "keras"), prev,
                 f"{ratio['gru_native_prev']:.2f}×" if "gru_native_prev" in ratio else "-"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--workloads", nargs="*", default=list(KINDS), choices=list(KINDS))
    p.add_argument("--prev-python", help="python of a venv with the release before the engine")
    p.add_argument("--json", default=os.path.join(os.path.dirname(__file__), "functional_results.json"))
    p.add_argument("--child", nargs=2, metavar=("KIND", "WORKLOAD"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        return child(*args.child)
    load_before = os.getloadavg()
    results = alternate_workloads(args.rounds, args.prev_python, args.workloads)
    load = dict(before=load_before, after=os.getloadavg())  # other jobs on the machine skew all
    rows = summarize(results)
    versions = {k: runs[0]["version"] for by_kind in results.values() for k, runs in by_kind.items()}
    print(f"CPU: {cpu_name()} ({os.cpu_count()} cores), {THREADS} threads, float32, "
          f"XLA_FLAGS={XLA_FLAGS!r}, affinity {THREADS} CPUs, {args.rounds} rounds, load average "
          f"{load['before'][0]:.1f} -> {load['after'][0]:.1f}; {versions}\n")
    print("Ratio = other time / gru_native time (> 1: gru_native faster); train = time per step "
          f"of fit ({BATCHES} batches of {BATCH}); predictN = predict_on_batch of N samples.\n")
    print(table(rows))
    with open(args.json, "w") as f:
        json.dump(dict(cpu=cpu_name(), threads=THREADS, xla_flags=XLA_FLAGS, rounds=args.rounds,
                       batches_per_epoch=BATCHES, timed_epochs=EPOCHS, versions=versions, load_average=load,
                       rows=rows, raw=results), f, indent=1)


if __name__ == "__main__":
    main()
