"""Forecasting accuracy on real multi-series data that pip packages ship: gru_native's global
GRUForecaster (one network over all the series of a panel) against per-series statistical
baselines (seasonal naive, drift, ETS, Theta).

    python bench/forecasting.py [--quick] [--panels a,b] [--methods a,b] [--lookback auto|rule|N]
                                [--out bench/forecasting_results.json]

Panels (no download; each a list of 1-D series with a seasonality m and a horizon h; the last h
steps of every series are its test, everything before is training):
  macro      statsmodels' macrodata: 10 quarterly US macro series 1959Q1-2009Q3 (203 steps), m=4,
             h=8. Dropped: year and quarter (the calendar), infl and realint (computed from the
             others: infl = 400 * diff(log(cpi)), realint = tbilrate - infl; their first value is a
             0.00 placeholder). The test quarters, 2007Q4-2009Q3, are the financial crisis.
  uschange   sktime's load_uschange: 5 quarterly US series of percentage changes (Consumption,
             Income, Production, Savings, Unemployment), 187 steps, m=4, h=8. They cross zero, so
             their sMAPE is large and unstable: read MASE.
  monthly    sktime's single monthly series as one panel: airline (144), shampoo sales (36) and PBS
             (load_PBS_dataset returns one series: 204 monthly counts of scripts, 0-14,
             intermittent, its last 15 months all zero), m=12, h=12.
  yearly     sktime's load_lynx (114 years), m=1 (as M4 for yearly data: its ~10-year cycle is not
             a calendar season), h=6 (M4's yearly horizon). ETS's damped trend carries lynx's
             last fall below zero (counted: "forecasts below 0").
  synthetic  1,000 seeded series of 40-200 steps with a linear trend, a slowly wandering level,
             a multiplicative seasonal pattern of period 12 whose shape is set by one of 3 static
             groups (a sine, a one-month peak, two peaks a year) at a random phase, and noise;
             m=12, h=12 (synthetic_panel()).

Methods, each fitted per series on its training part (forecasts and 80% intervals):
  seasonal naive  y[T+k-m(j+1)], j = floor((k-1)/m); interval +-1.2816 sigma sqrt(j+1), sigma the
                  RMS of the in-sample lag-m differences (FPP3 sec. 5.5, its table of the
                  benchmark methods' h-step standard deviations). m=1: the naive method.
  drift           y[T] + k (y[T]-y[1])/(T-1); interval +-1.2816 sigma sqrt(k (1 + k/(T-1))), sigma
                  the RMS (T-2 degrees of freedom) of the lag-1 differences minus their mean (FPP3
                  sec. 5.5).
  ETS             statsmodels ETSModel: additive errors, damped additive trend, additive season
                  when m>1 and the training part has at least 2m+2 steps (else no season, counted
                  as "no season (short)"), initial states and parameters by maximum likelihood;
                  forecast and 80% interval from get_prediction (exact for these linear models).
                  If a fit raises or gives a non-finite forecast: damped trend without season, then
                  simple exponential smoothing, then drift; each counted ("fit failed -> ..."), as
                  are fits whose optimiser did not converge (their forecasts are kept).
  Theta           statsmodels ThetaModel(period=m) with its defaults (deseasonalised when m>1 and
                  its seasonality test says so, multiplicatively for positive data), forecast and
                  prediction_intervals(alpha=0.2). If it fails: deseasonalize=False, then drift;
                  counted.
  GRU (global)    GRUForecaster(lookback=L, horizon=h, quantiles=(0.1, 0.5, 0.9),
                  random_state=0).fit(the panel's training series), its other parameters the
                  defaults (n_models=5: the median of five networks); predict(h) is the forecast, predict_quantiles(h)'s 0.1 and 0.9 columns
                  the 80% interval. L is chosen per panel on the training data only (--lookback
                  auto) among max(m, h), 2 max(m, h) and 3 max(m, h) (lookback_candidates): each
                  (one network, as lookback='auto' does) is fitted on the training series without their last h steps (series left with
                  fewer than h + 1 steps sit this out) and scored by mean MASE on those h steps;
                  the best is refitted on the whole training series. Without a GRUForecaster that
                  takes a list of series and quantiles (before commit 1d1f376 "GRUForecaster:
                  global model ..."), the column says "not available yet" and the baselines run.

Metrics per series, then the mean over the panel's series: MASE (M4: the mean absolute error over
the horizon divided by the in-sample mean absolute lag-m difference), sMAPE (M4: 200 *
mean(|y-f| / (|y|+|f|)), a 0/0 term counting 0), coverage80 (the share of test steps inside the
80% interval), and seconds: wall time of fitting and forecasting the whole panel in this one
process (the GRU: its final fit and predict; choosing L is reported beside it). The baselines run
with BLAS held to one thread (threadpoolctl), the GRU with gru_native's default threads.
gru_native.metrics' mase / smape / coverage are used when it has them (checked at import), each
value checked against the definitions here (METRIC_CHECKS, in the results).

Budget: the full run took ~8 minutes on 2 shared cores: ETS on the 1,000 synthetic series ~3
minutes, the GRU's lookback choice there ~3.5 and its final fit ~1.2. --quick keeps the first 60
synthetic series, the fixed lookback 2 max(m, h) and at most QUICK_MAX_ITER GRU epochs: a smoke
test of under a minute, not a measurement.
"""

import argparse
import contextlib
import inspect
import json
import os
import platform
import subprocess
import sys
import time
import warnings

import numpy as np

from alternation import cpu_name

HERE = os.path.dirname(os.path.abspath(__file__))
Z80 = 1.2815515655446004  # the 90% quantile of the standard normal: an 80% central interval
QUANTILES = (0.1, 0.5, 0.9)
SYNTHETIC = dict(n=1000, m=12, h=12, min_length=40, max_length=200, groups=3, seed=0)
QUICK_SYNTHETIC = 60
QUICK_MAX_ITER = 5
PER_SERIES_MAX = 50  # panels with more series keep means per group, not per-series rows, in JSON
BASELINES = ("seasonal naive", "drift", "ETS", "Theta")
GRU = "GRU (global)"

# ---- gru_native: the package, its forecasting metrics, the global GRUForecaster -------------
try:
    import gru_native
    import gru_native.metrics as _library_metrics
    GRU_NATIVE_ERROR = None
except Exception as error:  # a broken import must not stop the baselines
    gru_native = _library_metrics = None
    GRU_NATIVE_ERROR = f"{type(error).__name__}: {error}"

LIBRARY_METRICS = {name: getattr(_library_metrics, name) for name in ("mase", "smape", "coverage")
                   if _library_metrics is not None and hasattr(_library_metrics, name)}


# ---- metrics (this script's; gru_native.metrics' when it has them) ---------------------------
def local_mase(y_true, y_pred, y_train, m):
    """M4's MASE: mean |y - f| over the horizon / mean |y[t] - y[t-m]| over the training part; nan
    when the training part has no lag-m difference or they are all zero."""
    y_true, y_pred, y_train = (np.asarray(a, dtype=np.float64) for a in (y_true, y_pred, y_train))
    if len(y_train) <= m:
        return np.nan
    scale = np.mean(np.abs(y_train[m:] - y_train[:-m]))
    return float(np.mean(np.abs(y_true - y_pred)) / scale) if scale > 0 else np.nan


def local_smape(y_true, y_pred):
    """M4's sMAPE in percent, 200 * mean(|y - f| / (|y| + |f|)); a 0/0 term (both zero) is 0."""
    y_true, y_pred = np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64)
    num, den = np.abs(y_true - y_pred), np.abs(y_true) + np.abs(y_pred)
    return float(200 * np.mean(np.divide(num, den, out=np.zeros_like(num), where=den > 0)))


def local_coverage(y_true, lower, upper):
    """The share of y_true inside [lower, upper]."""
    y_true = np.asarray(y_true, dtype=np.float64)
    return float(np.mean((y_true >= np.asarray(lower)) & (y_true <= np.asarray(upper))))


LOCAL_METRICS = {"mase": local_mase, "smape": local_smape, "coverage": local_coverage}
# argument roles -> the names a library function may give them
_ROLES = {"y_true": ("y_true", "y", "actual", "y_test", "target"),
          "y_pred": ("y_pred", "forecast", "y_hat", "prediction", "f"),
          "y_train": ("y_train", "insample", "y_insample", "history", "train", "y_past"),
          "m": ("m", "sp", "seasonality", "season_length", "period", "seasonal_period", "lag"),
          "lower": ("lower", "y_lower", "lo", "low", "lower_bound"),
          "upper": ("upper", "y_upper", "hi", "high", "upper_bound")}
METRIC_CHECKS = {"disagreements": {}, "errors": {}}


def _call_library(name, **roles):
    """gru_native.metrics.<name> called with `roles` matched to its parameter names, else
    positionally in the local function's order."""
    fn = LIBRARY_METRICS[name]
    try:
        params = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        params = []
    kwargs = {}
    for role, value in roles.items():
        match = next((p for p in _ROLES[role] if p in params), None)
        if match is None:
            return fn(*roles.values())
        kwargs[match] = value
    return fn(**kwargs)


def metric(name, **roles):
    """The metric from gru_native.metrics when it has it (checked against the local definition:
    disagreements and errors are counted in METRIC_CHECKS and the local value is kept), else the
    local one."""
    local = LOCAL_METRICS[name](*roles.values())
    if name not in LIBRARY_METRICS:
        return local
    try:
        value = float(np.asarray(_call_library(name, **roles), dtype=np.float64).mean())
    except Exception as error:
        METRIC_CHECKS["errors"].setdefault(name, f"{type(error).__name__}: {error}")
        return local
    same = np.isclose(value, local, rtol=1e-6, atol=1e-9) or (np.isnan(value) and np.isnan(local))
    if not same:
        METRIC_CHECKS["disagreements"][name] = METRIC_CHECKS["disagreements"].get(name, 0) + 1
        return local
    return value


# ---- panels ----------------------------------------------------------------------------------
def macro_panel():
    import statsmodels.api as sm

    data = sm.datasets.macrodata.load_pandas().data
    names = ["realgdp", "realcons", "realinv", "realgovt", "realdpi", "cpi", "m1", "tbilrate",
             "unemp", "pop"]
    return dict(series=[data[c].to_numpy(np.float64) for c in names], names=names, m=4, h=8,
                freq="quarterly", source="statsmodels.datasets.macrodata",
                notes=["dropped year, quarter (calendar) and infl, realint (computed from cpi and "
                       "tbilrate; first value a 0.00 placeholder)",
                       "test quarters 2007Q4-2009Q3: the financial crisis"])


def uschange_panel():
    from sktime.datasets import load_uschange

    y, X = load_uschange()
    frame = X.assign(**{y.name: y})[[y.name, *X.columns]]
    return dict(series=[frame[c].to_numpy(np.float64) for c in frame], names=list(frame), m=4,
                h=8, freq="quarterly", source="sktime.datasets.load_uschange",
                notes=["percentage changes that cross zero: sMAPE is large and unstable, read "
                       "MASE"])


def monthly_panel():
    from sktime.datasets import load_airline, load_PBS_dataset, load_shampoo_sales

    loaded = {"airline": load_airline(), "shampoo": load_shampoo_sales(),
              "PBS": load_PBS_dataset()}
    return dict(series=[s.to_numpy(np.float64) for s in loaded.values()], names=list(loaded),
                m=12, h=12, freq="monthly",
                source="sktime.datasets load_airline, load_shampoo_sales, load_PBS_dataset",
                notes=["PBS: load_PBS_dataset returns one series, 204 monthly script counts "
                       "(0-14, intermittent, its last 15 months zero)",
                       "shampoo: 24 training months, too few for a seasonal ETS (2m+2)"])


def yearly_panel():
    from sktime.datasets import load_lynx

    return dict(series=[load_lynx().to_numpy(np.float64)], names=["lynx"], m=1, h=6,
                freq="yearly", source="sktime.datasets.load_lynx",
                notes=["m=1 as M4 for yearly data (the ~10-year cycle is not modelled as a "
                       "season); h=6, M4's yearly horizon"])


GROUP_SHAPES = ("sine", "one-month peak", "two peaks a year")


def seasonal_shapes(m=12):
    """The groups' seasonal shapes over one period, each with mean 0 and max |value| 1: a sine, a
    one-month peak (a narrow circular bump), two peaks a year."""
    t = np.arange(m) / m
    bump = np.exp(-0.5 * (np.minimum(t, 1 - t) * m / 1.0) ** 2)
    shapes = [np.sin(2 * np.pi * t), bump, np.sin(4 * np.pi * t) + 0.4 * np.cos(2 * np.pi * t)]
    shapes = [s - s.mean() for s in shapes]
    return np.stack([s / np.abs(s).max() for s in shapes])


def synthetic_panel(n=SYNTHETIC["n"], m=SYNTHETIC["m"], h=SYNTHETIC["h"],
                    min_length=SYNTHETIC["min_length"], max_length=SYNTHETIC["max_length"],
                    groups=SYNTHETIC["groups"], seed=SYNTHETIC["seed"]):
    """n series of min_length..max_length steps: level * (1 + slope t + a wandering level) *
    (1 + amplitude * shape[group][(t + phase) mod m]) + noise; all positive."""
    rng = np.random.default_rng(seed)
    shapes = seasonal_shapes(m)
    series, group_of = [], []
    for i in range(n):
        group = i % groups
        steps = int(rng.integers(min_length, max_length + 1))
        t = np.arange(steps)
        level = rng.uniform(50, 500)
        slope = np.clip(rng.normal(0.001, 0.002), -0.003, 0.006)
        wander = np.cumsum(rng.normal(0, rng.uniform(0.002, 0.01), steps))
        amplitude = rng.uniform(0.1, 0.3)
        phase = int(rng.integers(m))
        trend = level * np.maximum(1 + slope * t + wander, 0.2)
        y = trend * (1 + amplitude * shapes[group][(t + phase) % m])
        y = y + rng.normal(0, level * rng.uniform(0.01, 0.05), steps)
        series.append(np.maximum(y, 1.0))
        group_of.append(group)
    return dict(series=series, names=[f"s{i}" for i in range(n)], groups=group_of, m=m, h=h,
                freq="monthly (synthetic)", source=f"synthetic_panel(seed={seed})",
                notes=[f"{n} series, lengths {min_length}-{max_length}, 3 static groups setting "
                       "the seasonal shape (the GRU is not told the group)"])


PANELS = {"macro": macro_panel, "uschange": uschange_panel, "monthly": monthly_panel,
          "yearly": yearly_panel, "synthetic": synthetic_panel}


# ---- baselines: (forecast, lower, upper) of the next h steps, and a note when it fell back ----
def seasonal_naive(y, h, m):
    m = m if len(y) > m else 1
    k = np.arange(h) // m  # whole seasons before each step
    forecast = y[len(y) - m + np.arange(h) % m]
    sigma = np.sqrt(np.mean((y[m:] - y[:-m]) ** 2))
    half = Z80 * sigma * np.sqrt(k + 1)
    return forecast, forecast - half, forecast + half, None


def drift(y, h, m=None):
    T, k = len(y), np.arange(1, h + 1)
    slope = (y[-1] - y[0]) / (T - 1)
    forecast = y[-1] + k * slope
    residuals = np.diff(y) - slope
    sigma = np.sqrt(np.sum(residuals ** 2) / max(T - 2, 1))
    half = Z80 * sigma * np.sqrt(k * (1 + k / (T - 1)))
    return forecast, forecast - half, forecast + half, None


def _ets_fit(y, h, seasonal, m, trend):
    import pandas as pd
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    model = ETSModel(pd.Series(y), error="add", trend="add" if trend else None,
                     damped_trend=trend, seasonal="add" if seasonal else None,
                     seasonal_periods=m if seasonal else None)
    fit = model.fit(disp=False)
    frame = fit.get_prediction(start=len(y), end=len(y) + h - 1).summary_frame(alpha=0.2)
    out = [frame[c].to_numpy() for c in ("mean", "pi_lower", "pi_upper")]
    if not all(np.all(np.isfinite(a)) for a in out):
        raise FloatingPointError("non-finite forecast or interval")
    return out, bool((fit.mle_retvals or {}).get("converged", True))


def ets(y, h, m):
    """Damped additive trend (+ additive season when m > 1 and len(y) >= 2m + 2), falling back as
    the docstring says; the note names the model used when it is not the first choice."""
    seasonal = m > 1 and len(y) >= 2 * m + 2
    chain = ([("seasonal", True, True)] if seasonal else []) + [("damped", False, True),
                                                                 ("level", False, False)]
    note = None if seasonal or m == 1 else "no season (short)"
    for i, (label, with_season, with_trend) in enumerate(chain):
        try:
            (forecast, lower, upper), converged = _ets_fit(y, h, with_season, m, with_trend)
        except Exception:
            continue
        if i > 0:
            note = f"fit failed -> {label}"
        elif not converged:
            note = "not converged"
        return forecast, lower, upper, note
    return (*drift(y, h)[:3], "fit failed -> drift")


def theta(y, h, m):
    import pandas as pd
    from statsmodels.tsa.forecasting.theta import ThetaModel

    for i, kwargs in enumerate([{}, {"deseasonalize": False}]):
        try:
            fit = ThetaModel(pd.Series(y), period=m, **kwargs).fit()
            forecast = fit.forecast(h).to_numpy()
            interval = fit.prediction_intervals(h, alpha=0.2).to_numpy()
            if not (np.all(np.isfinite(forecast)) and np.all(np.isfinite(interval))):
                raise FloatingPointError("non-finite forecast or interval")
        except Exception:
            continue
        return forecast, interval[:, 0], interval[:, 1], (None if i == 0 else
                                                          "fit failed -> no deseasonalising")
    return (*drift(y, h)[:3], "fit failed -> drift")


METHODS = {"seasonal naive": seasonal_naive, "drift": drift, "ETS": ets, "Theta": theta}


def split(panel):
    h = panel["h"]
    return [s[:-h] for s in panel["series"]], [s[-h:] for s in panel["series"]]


def score(panel, train, test, forecasts, lowers, uppers):
    """Per-series metrics and their means (nan ones left out of the mean and counted)."""
    m = panel["m"]
    rows = []
    for name, y_train, y_test, f, lo, hi in zip(panel["names"], train, test, forecasts, lowers,
                                                uppers):
        rows.append(dict(series=name,
                         mase=metric("mase", y_true=y_test, y_pred=f, y_train=y_train, m=m),
                         smape=metric("smape", y_true=y_test, y_pred=f),
                         coverage80=None if lo is None else
                         metric("coverage", y_true=y_test, lower=lo, upper=hi)))
    summary = {}
    negative = sum(bool(np.min(x) >= 0 and np.min(f) < 0) for x, f in zip(train, forecasts))
    if negative:
        summary["negative_forecast_series"] = negative
    for key in ("mase", "smape", "coverage80"):
        values = np.array([r[key] for r in rows if r[key] is not None], dtype=np.float64)
        summary[key] = float(np.nanmean(values)) if np.any(np.isfinite(values)) else None
        if np.isnan(values).any():
            summary[f"{key}_nan_series"] = int(np.isnan(values).sum())
    return summary, rows


def one_blas_thread():
    """BLAS limited to one thread while the baselines fit: on their tiny matrices a second thread
    only spins (ETS on 60 synthetic series: 25 s of CPU for 12.6 s of wall time with two OpenBLAS
    threads, 13 s for 13 s with one). gru_native's OpenMP kernels are left alone."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


def run_baseline(method, panel, train, test):
    fn = METHODS[method]
    start = time.perf_counter()
    with warnings.catch_warnings(), one_blas_thread():
        warnings.simplefilter("ignore")  # statsmodels' convergence and frequency warnings
        results = [fn(y, panel["h"], panel["m"]) for y in train]
    seconds = time.perf_counter() - start
    forecasts, lowers, uppers, notes = zip(*results)
    summary, rows = score(panel, train, test, forecasts, lowers, uppers)
    fallbacks = {}
    for note in notes:
        if note:
            fallbacks[note] = fallbacks.get(note, 0) + 1
    for row, note in zip(rows, notes):
        row["note"] = note
    return dict(method=method, seconds=seconds, fallbacks=fallbacks, **summary, per_series=rows)


# ---- the global GRU ---------------------------------------------------------------------------
def gru_availability():
    """(GRUForecaster or None, why not)."""
    if gru_native is None:
        return None, f"not available: gru_native does not import ({GRU_NATIVE_ERROR})"
    from gru_native import GRUForecaster

    params = inspect.signature(GRUForecaster).parameters
    if "quantiles" not in params or not hasattr(GRUForecaster, "predict_quantiles"):
        return None, ("not available yet: this GRUForecaster fits one series (no quantiles "
                      "parameter / predict_quantiles); the global one is being written")
    return GRUForecaster, None


def gru_params(cls, lookback, h, quick, one_network=False):
    params = dict(lookback=int(lookback), horizon=h, quantiles=QUANTILES, random_state=0)
    if one_network and "n_models" in inspect.signature(cls).parameters:
        params["n_models"] = 1
    if quick and "max_iter" in inspect.signature(cls).parameters:
        params["max_iter"] = QUICK_MAX_ITER
    return params


def gru_fit_predict(cls, params, train, h):
    """One global fit over `train` (a list of series): forecasts, 10% and 90% quantiles (lists
    in train's order), seconds, epochs."""
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: epochs are recorded
        model = cls(**params).fit(list(train))
    point = model.predict(h)
    quantiles = model.predict_quantiles(h)
    seconds = time.perf_counter() - start
    point = [np.asarray(p, dtype=np.float64).reshape(-1)[:h] for p in point]
    quantiles = [np.asarray(q, dtype=np.float64).reshape(h, len(QUANTILES)) for q in quantiles]
    if len(point) != len(train) or len(quantiles) != len(train):
        raise ValueError(f"{len(train)} series fitted, {len(point)} forecasts and "
                         f"{len(quantiles)} quantile arrays returned")
    return (point, [q[:, 0] for q in quantiles], [q[:, -1] for q in quantiles], seconds,
            np.ravel(getattr(model, "n_iter_", [])).tolist() or None)  # epochs per network


def lookback_candidates(panel, train):
    """2-3 lookbacks around a season or two (or the horizon, for m=1): max(m, h), 2 max(m, h),
    and 3 max(m, h) when the median training series is long enough; none below max(m, h)
    (shorter series are left-padded and masked), none beyond what the median series minus its
    validation horizon holds."""
    m, h = panel["m"], panel["h"]
    base = max(m, h)
    room = int(np.median([len(s) for s in train])) - 2 * h  # the validation fit's windows
    candidates = [c for c in (base, 2 * base, 3 * base) if c <= max(room, base)]
    return candidates


def lookback_rule(panel, train):
    """The fixed rule (--lookback rule, and --quick): 2 max(m, h), capped as the candidates."""
    candidates = lookback_candidates(panel, train)
    return candidates[1] if len(candidates) > 1 else candidates[0]


def choose_lookback(cls, panel, train, candidates, quick, log):
    """The candidate with the lowest mean MASE on each training series' last h steps, fitted on
    the steps before them; never the test."""
    h, m = panel["h"], panel["m"]
    # series with fewer than h + 1 steps left once h are held out (shampoo's 24) sit this out
    kept = [s for s in train if len(s) >= 2 * h + 1]
    fit_part, held = [s[:-h] for s in kept], [s[-h:] for s in kept]
    scores, seconds = {}, 0.0
    for lookback in candidates:
        point, _, _, s, _ = gru_fit_predict(cls, gru_params(cls, lookback, h, quick, True),
                                            fit_part, h)
        seconds += s
        # lag m where the shortened series has it, lag 1 otherwise (only to rank the candidates)
        values = [local_mase(y, f, x, m if len(x) > 2 * m else 1) for y, f, x in
                  zip(held, point, fit_part)]
        scores[lookback] = float(np.nanmean(values))
        print(f"  lookback {lookback}: validation MASE {scores[lookback]:.3f} ({s:.1f} s)",
              file=log, flush=True)
    return min(scores, key=scores.get), scores, seconds, len(kept)


def run_gru(panel, train, test, lookback_mode, quick, log):
    cls, why = gru_availability()
    if cls is None:
        return dict(method=GRU, available=False, status=why)
    h = panel["h"]
    try:
        selection = None
        if lookback_mode == "auto" and not quick:
            candidates = lookback_candidates(panel, train)
            lookback, scores, select_seconds, validated = choose_lookback(
                cls, panel, train, candidates, quick, log)
            selection = dict(candidates=candidates, validation_mase=scores,
                             seconds=select_seconds, series=validated)
        elif lookback_mode in ("auto", "rule"):
            lookback = lookback_rule(panel, train)
        else:
            lookback = int(lookback_mode)
        params = gru_params(cls, lookback, h, quick)
        point, lower, upper, seconds, epochs = gru_fit_predict(cls, params, train, h)
    except (TypeError, AttributeError, NotImplementedError) as error:  # an API not there yet
        return dict(method=GRU, available=False,
                    status=f"not available yet: {type(error).__name__}: {error}")
    except Exception as error:
        return dict(method=GRU, available=False, status=f"failed: {type(error).__name__}: {error}")
    summary, rows = score(panel, train, test, point, lower, upper)
    return dict(method=GRU, available=True, status="ran", seconds=seconds, lookback=lookback,
                lookback_selection=selection, epochs=epochs,
                params={k: (list(v) if isinstance(v, tuple) else v) for k, v in params.items()},
                **summary, per_series=rows)


# ---- the run --------------------------------------------------------------------------------
def load_panel(name, quick):
    panel = PANELS[name]()
    if quick and name == "synthetic":
        keep = QUICK_SYNTHETIC
        panel.update(series=panel["series"][:keep], names=panel["names"][:keep],
                     groups=panel["groups"][:keep])
        panel["notes"] = panel["notes"] + [f"--quick: the first {keep} series"]
    return panel


def panel_facts(panel):
    lengths = [len(s) for s in panel["series"]]
    return dict(series=len(lengths), freq=panel["freq"], m=panel["m"], h=panel["h"],
                lengths=f"{min(lengths)}" if min(lengths) == max(lengths)
                else f"{min(lengths)}-{max(lengths)}", source=panel["source"],
                notes=panel["notes"], names=panel["names"])


def run(panels, methods, lookback_mode, quick, log=sys.stderr):
    results = {}
    for name in panels:
        panel = load_panel(name, quick)
        train, test = split(panel)
        facts = panel_facts(panel)
        rows = []
        for method in methods:
            if method == GRU:
                print(f"{name}: {GRU} ...", file=log, flush=True)
                row = run_gru(panel, train, test, lookback_mode, quick, log)
            else:
                row = run_baseline(method, panel, train, test)
            rows.append(row)
            if row.get("available", True):
                print(f"{name:9} {method:15} MASE {_num(row['mase'])} sMAPE {_num(row['smape'])} "
                      f"cov80 {_num(row['coverage80'])} {row['seconds']:7.1f} s"
                      + (f" fallbacks {row['fallbacks']}" if row.get("fallbacks") else ""),
                      file=log, flush=True)
            else:
                print(f"{name:9} {method:15} {row['status']}", file=log, flush=True)
        for row in rows:
            if "per_series" in row and len(row["per_series"]) > PER_SERIES_MAX:
                shorten(row, panel)
        results[name] = dict(facts=facts, methods=rows)
    return results


def shorten(row, panel):
    """A large panel's per-series rows replaced by means per static group (the JSON stays small):
    {group: {metric: mean}}."""
    rows = row.pop("per_series")
    groups = panel.get("groups")
    if groups is None:
        return
    by_group = {}
    for g in sorted(set(groups)):
        mine = [r for r, gr in zip(rows, groups) if gr == g]
        by_group[str(g)] = {key: (float(np.nanmean([r[key] for r in mine]))
                                  if mine[0][key] is not None else None)
                            for key in ("mase", "smape", "coverage80")}
        by_group[str(g)]["series"] = len(mine)
    row["by_group"] = by_group


def _num(value, digits=3):
    return "-" if value is None else f"{value:.{digits}f}"


# Published results for these panels and splits: none found. Forecasting tutorials on airline
# (sktime's docs, FPP) hold out other spans (e.g. the last 36 months), and macrodata, uschange,
# shampoo, PBS and lynx have no published scores for the last-h hold-out used here.
PUBLISHED = {}


def table(result):
    head = ["method", "MASE", "sMAPE", "coverage80", "seconds", "notes"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in result["methods"]:
        if not row.get("available", True):
            lines.append(f"| {row['method']} | - | - | - | - | {row['status']} |")
            continue
        notes = []
        for key in ("mase", "smape", "coverage80"):
            if row.get(f"{key}_nan_series"):
                notes.append(f"{key} undefined for {row[f'{key}_nan_series']} series")
        if row.get("negative_forecast_series"):
            notes.append(f"forecasts below 0 for {row['negative_forecast_series']} non-negative "
                         "series")
        if row.get("fallbacks"):
            notes.append(", ".join(f"{k}: {v}" for k, v in row["fallbacks"].items()))
        if row["method"] == GRU:
            notes.append(f"lookback {row['lookback']}"
                         + (f" of {row['lookback_selection']['candidates']} (validation MASE "
                            + ", ".join(f"{v:.3f}" for v in
                                        row["lookback_selection"]["validation_mase"].values())
                            + f" on {row['lookback_selection']['series']} series; choosing "
                            f"took {row['lookback_selection']['seconds']:.0f} s)"
                            if row.get("lookback_selection") else " (fixed rule)")
                         + (f", epochs per network {'/'.join(map(str, row['epochs']))}"
                            if row.get("epochs") else ""))
        lines.append(f"| {row['method']} | {_num(row['mase'])} | {_num(row['smape'], 2)} | "
                     f"{_num(row['coverage80'], 2)} | {row['seconds']:.1f} | {'; '.join(notes)} |")
    return "\n".join(lines)


def per_series_table(result):
    """MASE of every series and method, for panels of a few series."""
    ran = [r for r in result["methods"] if r.get("available", True)]
    lines = ["| series | " + " | ".join(r["method"] for r in ran) + " |",
             "|" + "---|" * (len(ran) + 1)]
    for i, name in enumerate(result["facts"]["names"]):
        lines.append(f"| {name} | " + " | ".join(_num(r["per_series"][i]["mase"]) for r in ran)
                     + " |")
    return "\n".join(lines)


def group_table(result):
    ran = [r for r in result["methods"] if "by_group" in r]
    groups = list(ran[0]["by_group"])
    lines = ["| group (series) | " + " | ".join(r["method"] for r in ran) + " |",
             "|" + "---|" * (len(ran) + 1)]
    for g in groups:
        label = GROUP_SHAPES[int(g)] if g.isdigit() and int(g) < len(GROUP_SHAPES) else g
        lines.append(f"| {g}: {label} ({ran[0]['by_group'][g]['series']}) | "
                     + " | ".join(_num(r["by_group"][g]["mase"]) for r in ran) + " |")
    return "\n".join(lines)


def finite_or_none(value):
    """The results with nan and inf as None (JSON null), numpy scalars as Python numbers."""
    if isinstance(value, dict):
        return {str(k): finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_none(v) for v in value]
    if isinstance(value, (np.integer, np.bool_)):
        return value.item()
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    return value


def git_head():
    try:
        return subprocess.run(["git", "log", "--oneline", "-1"], cwd=HERE, capture_output=True,
                              text=True, timeout=30).stdout.strip()[:100]
    except Exception:
        return "unknown"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="a smoke test of a minute or two")
    p.add_argument("--panels", default=",".join(PANELS),
                   help="comma-separated, of: " + ", ".join(PANELS))
    p.add_argument("--methods", default=",".join((*BASELINES, GRU)),
                   help="comma-separated, of: " + ", ".join((*BASELINES, GRU)))
    p.add_argument("--lookback", default="auto", help="the GRU's lookback: auto (chosen per "
                   "panel on the training data), rule (2 max(m, h), capped) or an integer")
    p.add_argument("--out", default=os.path.join(HERE, "forecasting_results.json"),
                   help="the JSON; the markdown tables go beside it as .md")
    args = p.parse_args(argv)
    panels = [s.strip() for s in args.panels.split(",") if s.strip()]
    methods = [s.strip() for s in args.methods.split(",") if s.strip()]
    for name in panels:
        if name not in PANELS:
            p.error(f"unknown panel {name!r}; known: {', '.join(PANELS)}")
    for name in methods:
        if name not in (*BASELINES, GRU):
            p.error(f"unknown method {name!r}; known: {', '.join((*BASELINES, GRU))}")
    if args.lookback not in ("auto", "rule") and not args.lookback.isdigit():
        p.error("--lookback: auto, rule or an integer")

    import statsmodels
    import sktime

    load_before, start = os.getloadavg(), time.perf_counter()
    results = run(panels, methods, args.lookback, args.quick)
    total = time.perf_counter() - start
    load = dict(before=load_before, after=os.getloadavg())
    versions = dict(gru_native=getattr(gru_native, "__version__", None), numpy=np.__version__,
                    statsmodels=statsmodels.__version__, sktime=sktime.__version__,
                    python=platform.python_version())
    gru_rows = [r for res in results.values() for r in res["methods"] if r["method"] == GRU]
    gru_status = gru_rows[0]["status"] if gru_rows else "not run (--methods)"
    metrics_source = {name: ("gru_native.metrics" if name in LIBRARY_METRICS else "this script")
                      for name in LOCAL_METRICS}
    header = (f"CPU: {cpu_name()} ({os.cpu_count()} cores), "
              f"{'--quick, ' if args.quick else ''}total {total / 60:.1f} min, load average "
              f"{load['before'][0]:.1f} -> {load['after'][0]:.1f}; git {git_head()!r}; {versions}")
    lines = [header, "",
             "The last h steps of every series are its test; methods are fitted on the steps "
             "before. MASE (M4: scaled by the in-sample seasonal naive MAE, lag m), sMAPE (M4, %), "
             "coverage80 (share of test steps inside the 80% interval; the GRU's is its 0.1-0.9 "
             "quantiles) are per-series means; seconds = wall time of fitting and forecasting the "
             "whole panel in one process. Baselines are fitted per series, the GRU once per "
             "panel over all its series. Configuration: bench/forecasting.py's docstring. "
             f"Metrics from: {metrics_source}. GRU column: {gru_status}.",
             "", "Published results for these splits: none found (tutorials on airline hold out "
             "other spans; the other series have no published scores for a last-h hold-out).", ""]
    if METRIC_CHECKS["disagreements"] or METRIC_CHECKS["errors"]:
        lines += [f"gru_native.metrics checks: {METRIC_CHECKS}", ""]
    for name, res in results.items():
        f = res["facts"]
        lines += [f"### {name}: {f['series']} {f['freq']} series of {f['lengths']} steps, "
                  f"m={f['m']}, h={f['h']} ({f['source']})", ""]
        lines += [f"- {n}" for n in f["notes"]] + [""]
        lines += [table(res), ""]
        if f["series"] <= 12:
            lines += ["MASE per series:", "", per_series_table(res), ""]
        elif any("by_group" in r for r in res["methods"]):
            lines += ["MASE per static group (the seasonal shape):", "", group_table(res), ""]
    text = "\n".join(lines)
    print(text)
    with open(args.out, "w") as out:
        json.dump(finite_or_none(dict(
            cpu=cpu_name(), quick=args.quick, total_seconds=total, load_average=load,
            versions=versions, git=git_head(), lookback=args.lookback,
            metrics_source=metrics_source, metric_checks=METRIC_CHECKS, gru_status=gru_status,
            synthetic=SYNTHETIC, panels=results)), out, indent=1)
    with open(os.path.splitext(args.out)[0] + ".md", "w") as out:
        out.write(text + "\n")
    return results


if __name__ == "__main__":
    main()
