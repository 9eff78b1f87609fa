"""
Electricity demand: GRUForecaster with future covariates
========================================================

Forecast two days of hourly electricity demand with GRUForecaster, using the temperature
forecast and the calendar as known covariates.

The demand follows the working day (a morning ramp, an evening peak, quieter weekends) and air
conditioning: it rises with the temperature above 22 °C. The temperature has a daily cycle and
weather fronts that pass over days, which the past demand cannot foresee; the temperature
forecast for the next two days (here the true values, as a stand-in) can, and the calendar
(hour of the day, weekend or not) is known for any future hour.

The script compares, on the last 48 hours, the GRU with and without the covariates and the
seasonal-naive forecast (the same hour one week before), prints their errors and, when
matplotlib is installed, saves forecast_series.png with the forecasts against the actual demand.

Run: python examples/forecast_series.py    (GRU_NATIVE_EXAMPLE_QUICK=1 trains briefly)
"""

import os
import time

import numpy as np

from gru_native import GRUForecaster

QUICK = os.environ.get("GRU_NATIVE_EXAMPLE_QUICK") == "1"
DAY, WEEK = 24, 168
rng = np.random.default_rng(0)


def temperature(hours):
    """°C: a daily cycle peaking mid-afternoon, plus weather fronts of a few days."""
    t = np.arange(hours)
    fronts = np.convolve(rng.normal(size=hours + 72), np.ones(72) / np.sqrt(72), "valid")[:hours]
    return 24 + 5 * np.sin(2 * np.pi * (t - 9) / DAY) + 2.5 * fronts


def calendar(hours):
    """The hour of the day (as a point on a circle) and a weekend flag, one row per hour; the
    series starts on a Monday at midnight."""
    t = np.arange(hours)
    angle = 2 * np.pi * (t % DAY) / DAY
    return np.column_stack([np.sin(angle), np.cos(angle), (t // DAY) % 7 >= 5])


def demand(temp):
    """MW: the working day's profile, lighter weekends, cooling above 22 °C, and noise."""
    t = np.arange(len(temp))
    hour, weekend = t % DAY, (t // DAY) % 7 >= 5
    profile = (np.exp(-((hour - 9) / 2.5) ** 2) + 1.3 * np.exp(-((hour - 19) / 3) ** 2)
               + 0.6 * ((hour >= 7) & (hour <= 22)))
    base = 500 + 150 * profile * np.where(weekend, 0.6, 1.0)
    cooling = 18 * np.maximum(temp - 22, 0)
    noise = np.convolve(rng.normal(scale=8, size=len(t) + 3), np.ones(4) / 2, "valid")[:len(t)]
    return base + cooling + noise


weeks = 4 if QUICK else 8
temp = temperature(weeks * WEEK)
load = demand(temp)
covariates = np.column_stack([temp, calendar(len(temp))])
horizon = 2 * DAY
train, actual = load[:-horizon], load[-horizon:]

settings = dict(lookback=2 * DAY, horizon=horizon, random_state=0, max_iter=8 if QUICK else 60)
start = time.perf_counter()
with_covariates = GRUForecaster(**settings).fit(train, future_covariates=covariates[:-horizon])
forecast = with_covariates.predict(horizon, future_covariates=covariates[-horizon:])
forecast_alone = GRUForecaster(**settings).fit(train).predict(horizon)
seasonal_naive = train[-WEEK:][:horizon]
print(f"trained on {len(train)} hours in {time.perf_counter() - start:.1f} s "
      f"({with_covariates.n_iter_.mean():.0f} epochs per network with the covariates)")


def errors(name, values):
    rmse = np.sqrt(np.mean((values - actual) ** 2))
    mape = 100 * np.mean(np.abs(values - actual) / actual)
    print(f"  {name:28s} RMSE {rmse:6.1f} MW   MAPE {mape:4.1f} %")


print(f"next {horizon} hours:")
errors("GRU with covariates", forecast)
errors("GRU on demand alone", forecast_alone)
errors("seasonal naive (last week)", seasonal_naive)

try:
    import matplotlib
except ImportError:
    print("matplotlib is not installed: no plot")
else:
    matplotlib.use("Agg")  # files only, no window
    import matplotlib.pyplot as plt

    shown = 5 * DAY
    hours = np.arange(-shown, horizon)
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.plot(hours, np.concatenate([train[-shown:], actual]), color="black", label="actual")
    ax.plot(hours[shown:], forecast, label="GRU with covariates")
    ax.plot(hours[shown:], forecast_alone, label="GRU on demand alone", alpha=0.7)
    ax.plot(hours[shown:], seasonal_naive, ":", label="seasonal naive", alpha=0.7)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set(xlabel="hours from the forecast origin", ylabel="demand (MW)",
           title="Electricity demand: 48-hour forecast")
    ax.legend(loc="upper left")
    fig.tight_layout()
    path = os.path.join(os.environ.get("GRU_NATIVE_EXAMPLE_OUTPUT", "."), "forecast_series.png")
    fig.savefig(path, dpi=100)
    print(f"saved {path}")
