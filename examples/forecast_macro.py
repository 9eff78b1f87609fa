"""
US macroeconomic series: one global GRUForecaster with intervals
================================================================

Forecast eight quarterly US macroeconomic series two years ahead with one global GRUForecaster,
with 80 % prediction intervals.

The data (examples/data/us_macro_quarterly.csv, public domain: statsmodels' macrodata, from FRED)
holds real GDP, consumption, investment, government spending, disposable income, the CPI, the M1
money stock and the population, 1959Q1-2009Q3. One network is trained across all eight series
(each standardised by its own mean and deviation); the last eight quarters of each are held out.
The script prints, per series and on average, the MASE of the GRU against the naive forecast
(the last value) and the drift (the last value plus the mean change), the sMAPE, and how many of
the held-out quarters fall inside the GRU's 80 % interval; with matplotlib installed it saves
forecast_macro.png.

Run: python examples/forecast_macro.py    (GRU_NATIVE_EXAMPLE_QUICK=1 trains briefly)
"""

import os
import sys
import time

import numpy as np

from gru_native import GRUForecaster, metrics

QUICK = os.environ.get("GRU_NATIVE_EXAMPLE_QUICK") == "1"
HORIZON = 8  # quarters
# beside this script: sys.argv[0] names it both when run and in the docs' gallery, which runs
# it without __file__
DATA = os.path.join(os.path.dirname(os.path.abspath(sys.argv[0])), "data",
                    "us_macro_quarterly.csv")

table = np.genfromtxt(DATA, delimiter=",", names=True)
names = table.dtype.names[2:]  # after year and quarter
series = [np.asarray(table[name], float) for name in names]
train, actual = [s[:-HORIZON] for s in series], [s[-HORIZON:] for s in series]

start = time.perf_counter()
model = GRUForecaster(lookback=4 * HORIZON, horizon=HORIZON, quantiles=(0.1, 0.5, 0.9),
                      max_iter=20 if QUICK else 200, random_state=0).fit(train)
quantiles = model.predict_quantiles(HORIZON)  # per series (HORIZON, 3): 10 %, 50 %, 90 %
print(f"trained one model on {len(train)} series in {time.perf_counter() - start:.1f} s "
      f"({model.n_models} networks, {model.n_iter_.mean():.0f} epochs each)")

naive = [np.repeat(s[-1], HORIZON) for s in train]
drift = [s[-1] + (s[-1] - s[0]) / (len(s) - 1) * np.arange(1, HORIZON + 1) for s in train]
rows = []
print(f"{'series':10s} {'MASE GRU':>9s} {'naive':>7s} {'drift':>7s} {'sMAPE GRU':>10s} "
      f"{'in 80 %':>8s}")
for name, history, truth, q, n, d in zip(names, train, actual, quantiles, naive, drift):
    scores = [metrics.mase(truth, f, history) for f in (q[:, 1], n, d)]
    inside = metrics.coverage(truth, q[:, 0], q[:, 2])
    rows.append(scores + [metrics.smape(truth, q[:, 1]), inside])
    print(f"{name:10s} {scores[0]:9.2f} {scores[1]:7.2f} {scores[2]:7.2f} "
          f"{rows[-1][3]:9.2f}% {inside:8.0%}")
mean = np.mean(rows, axis=0)
print(f"{'mean':10s} {mean[0]:9.2f} {mean[1]:7.2f} {mean[2]:7.2f} {mean[3]:9.2f}% {mean[4]:8.0%}")

try:
    import matplotlib
except ImportError:
    print("matplotlib is not installed: no plot")
else:
    matplotlib.use("Agg")  # files only, no window
    import matplotlib.pyplot as plt

    shown = 24
    fig, axes = plt.subplots(2, 4, figsize=(14, 6))
    for ax, name, history, truth, q in zip(axes.flat, names, train, actual, quantiles):
        past = np.arange(-shown, 0)
        ahead = np.arange(HORIZON)
        ax.plot(past, history[-shown:], color="black")
        ax.plot(ahead, truth, color="black", ls=":", label="actual")
        ax.plot(ahead, q[:, 1], label="GRU (median)")
        ax.fill_between(ahead, q[:, 0], q[:, 2], alpha=0.3, label="80 % interval")
        ax.set_title(name)
    axes.flat[0].legend(loc="upper left", fontsize=8)
    fig.suptitle("US quarterly macro series: 8-quarter forecasts of one global GRU")
    fig.tight_layout()
    path = os.path.join(os.environ.get("GRU_NATIVE_EXAMPLE_OUTPUT", "."), "forecast_macro.png")
    fig.savefig(path, dpi=100)
    print(f"saved {path}")
