"""How GRURegressor / GRUClassifier's defaults were chosen: each setting changed one at a time
from the defaults, on six tasks, three seeds each; prints the mean test score, CPU seconds and
epochs per fit. Needs scikit-learn and statsmodels (the test extra). Takes ~15 min on 2 cores.

    python bench/estimator_defaults.py [task ...]
"""

import sys
import time
import warnings

import numpy as np

from gru_native import GRUClassifier, GRURegressor


def digits():
    """scikit-learn's 8x8 digit images read row by row: 8 steps of 8 pixels."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    return train_test_split(X.reshape(-1, 8, 8), y, test_size=0.25, stratify=y, random_state=0)


def sunspots(horizon=1, window=12):
    """statsmodels' yearly sunspot numbers: the previous 12 years -> the next `horizon` years;
    trained up to 1920, tested 1921-2008."""
    from statsmodels.datasets import sunspots as data

    frame = data.load_pandas().data
    years, counts = frame["YEAR"].to_numpy(), frame["SUNACTIVITY"].to_numpy()
    n = len(counts) - window - horizon + 1
    X = np.stack([counts[i:i + window] for i in range(n)])
    y = np.stack([counts[i + window:i + window + horizon] for i in range(n)])
    y = y[:, 0] if horizon == 1 else y
    train = years[window:window + n] <= 1920
    return X[train], X[~train], y[train], y[~train]


def adding(n=2000, steps=30, seed=0):
    """The adding problem: the sum of the two values marked in a sequence of 30 (long memory)."""
    rng = np.random.default_rng(seed)
    values, marks = rng.random((n, steps)), np.zeros((n, steps))
    for row in marks:
        row[rng.choice(steps, 2, replace=False)] = 1
    X, y = np.stack([values, marks], axis=-1), (values * marks).sum(axis=1)
    return X[:1500], X[1500:], y[:1500], y[1500:]


def ragged_frequencies(n=1500, seed=0):
    """Which of three frequencies a noisy sine of 10 to 40 steps has (sequences of any length)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    X = []
    for c in y:
        steps = np.arange(rng.integers(10, 41))
        X.append(np.sin(2 * np.pi * 0.05 * (1 + c) * steps + rng.uniform(0, 2 * np.pi))
                 + 0.5 * rng.normal(size=len(steps)))
    return X[:1125], X[1125:], y[:1125], y[1125:]


def tabular(seed=42):
    """scikit-learn's check_regressors_train data (one informative column of 10, noise 20):
    small, noisy, and not a sequence at all."""
    from sklearn.datasets import make_regression

    X, y = make_regression(n_samples=400, n_features=10, n_informative=1, bias=5.0, noise=20,
                           random_state=seed)
    return X[:200], X[200:], y[:200], y[200:]


TASKS = {"digits": (GRUClassifier, digits), "ragged": (GRUClassifier, ragged_frequencies),
         "sunspots": (GRURegressor, sunspots), "sunspots_3y": (GRURegressor, lambda: sunspots(3)),
         "adding": (GRURegressor, adding), "tabular": (GRURegressor, tabular)}
VARIANTS = [{}, {"learning_rate": 1e-3}, {"learning_rate": 3e-3}, {"global_clipnorm": None},
            {"units": 32}, {"units": 128}, {"units": (64, 64)}, {"bidirectional": True},
            {"batch_size": 64}]


def main(names):
    data = {name: TASKS[name] for name in names or TASKS}
    data = {name: (cls, make()) for name, (cls, make) in data.items()}
    print("variant".ljust(26) + "".join(f"{name:>24}" for name in data))
    for variant in VARIANTS:
        cells = []
        for name, (cls, (X_train, X_test, y_train, y_test)) in data.items():
            runs = []
            for seed in (0, 1, 2):
                model = cls(random_state=seed, n_jobs=1, **variant)
                start = time.process_time()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model.fit(X_train, y_train)
                runs.append((model.score(X_test, y_test), time.process_time() - start, model.n_iter_))
            score, cpu, epochs = np.mean(runs, axis=0)
            cells.append(f"{score:.3f} {cpu:5.1f}s {epochs:4.0f}ep")
        print(str(variant or "defaults").ljust(26) + "".join(f"{c:>24}" for c in cells), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
