"""How the benchmarks time frameworks against each other on a noisy machine.

The machine these run on is shared with other jobs, so one timing of one framework says little:
a slow phase can hit it and not the other, and a framework's process state (thread pools, JIT
caches, one OpenMP runtime shared with the other library) can favour or slow what runs after it.
So each framework runs in a fresh process of its own (run_child), the frameworks take turns, the
order flipped every round so that a slow phase hits all alike (round_order, alternate), each
process keeps the median of many calls after a warm-up (median_seconds), and the summaries give
the median over rounds with the spread, min and max, beside it (median_min_max).
"""

import json
import os
import platform
import statistics
import subprocess
import sys
import time


def median_seconds(fn, calls, warmup=0):
    """The median wall time of `calls` calls of fn() after `warmup` untimed ones (compilation,
    first-touch allocations and caches are not what is measured); the median, not the mean, so
    that a call slowed by another job does not move it."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def round_order(kinds, r):
    """The frameworks in the order of round r: as given in even rounds, reversed in odd ones, so
    that none always runs first (or right after the same other one)."""
    return kinds if r % 2 == 0 else kinds[::-1]


def run_child(script, *args, python=sys.executable, cwd=None):
    """Run `python script *args` in a fresh process, so that nothing one framework loaded or
    tuned in a process touches the other's timings, and return the JSON of the last line it
    prints; a failure raises with the tail of its stderr."""
    cmd = [python, os.path.abspath(script), *args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, cwd=cwd)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{p.stderr[-3000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def alternate(rounds, cases, run, metric, unit="ms"):
    """{case: {kind: [run(kind, case) of each round, ...]}} for cases = {case: [kind, ...]}: every
    round runs every case once per kind, the kinds in round_order; after each case a line on
    stderr gives each kind's `metric` of that round (in milliseconds, shown as `unit`)."""
    results = {case: {kind: [] for kind in kinds} for case, kinds in cases.items()}
    for r in range(rounds):
        for case, by_kind in results.items():
            for kind in round_order(list(by_kind), r):
                by_kind[kind].append(run(kind, case))
            print(f"round {r + 1}/{rounds} {case}: " + ", ".join(
                f"{k} {1e3 * v[-1][metric]:.2f} {unit}" for k, v in by_kind.items()),
                file=sys.stderr, flush=True)
    return results


def median_min_max(by_kind, metric):
    """{"median": {kind: s}, "min": {kind: s}, "max": {kind: s}} of `metric` over the rounds of
    by_kind = {kind: [result, ...]}; a kind whose results lack the metric is left out."""
    out = {"median": {}, "min": {}, "max": {}}
    for kind, runs in by_kind.items():
        t = [run[metric] for run in runs if metric in run]
        if t:
            out["median"][kind] = statistics.median(t)
            out["min"][kind], out["max"][kind] = min(t), max(t)
    return out


def cpu_name():
    """The CPU's model name, for the header of a result: timings mean little without it."""
    try:
        with open("/proc/cpuinfo") as f:
            return next((line.split(":", 1)[1].strip() for line in f
                         if line.startswith("model name")), "unknown")
    except OSError:
        return platform.processor() or "unknown"
