"""GRUForecaster: forecasts that beat the naive baselines on a seasonal series, the direct and
recursive paths against a hand-rolled recursion over the fitted network, multivariate series and
known covariates, input errors, reproducibility and the scikit-learn parameter protocol."""

import subprocess
import sys

import numpy as np
import pytest

from gru_native import GRUForecaster, utils

DAY = 24  # hourly data


def hourly_load(days=30, seed=0):
    """An electricity-load-like hourly series: a daily cycle of two harmonics on an upward
    trend, with measurement noise and slower, autocorrelated deviations (weather, events)."""
    rng = np.random.default_rng(seed)
    t = np.arange(DAY * days)
    deviations = np.zeros(t.size)
    shocks = rng.normal(scale=0.1, size=t.size)
    for i in range(1, t.size):
        deviations[i] = 0.8 * deviations[i - 1] + shocks[i]
    daily = 2 * np.sin(2 * np.pi * t / DAY) + 0.7 * np.sin(4 * np.pi * t / DAY + 1)
    return 10 + 0.003 * t + daily + deviations + rng.normal(scale=0.4, size=t.size)


def rmse(forecast, actual):
    return float(np.sqrt(np.mean((np.asarray(forecast) - actual) ** 2)))


def network_forecast(forecaster, window):
    """The next `horizon` steps, standardised, (horizon, features), after a window of the
    standardised series, as the documented model computes them: each network reads each step
    minus the window's mean, divided by its mean absolute change, and forecasts the departure
    from that mean in those units; the forecast is the median over the networks."""
    level, scale = window.mean(axis=0), np.abs(np.diff(window, axis=0)).mean(axis=0)
    out = np.median([model.predict(((window - level) / scale)[None], verbose=0)[0]
                     for model in forecaster.models_], axis=0)
    return out.reshape(forecaster.horizon, -1) * scale + level


@pytest.fixture(scope="module")
def load_split():
    series = hourly_load()
    return series[:-2 * DAY], series[-2 * DAY:]


@pytest.fixture(scope="module")
def default_forecast(load_split):
    """The forecast of a user who sets only lookback: two days ahead, one step at a time."""
    train, test = load_split
    return GRUForecaster(lookback=2 * DAY, random_state=0).fit(train).predict(len(test))


@pytest.fixture(scope="module")
def daily_forecast(load_split):
    """Two days ahead from a model that forecasts a whole day at once."""
    train, test = load_split
    return GRUForecaster(lookback=2 * DAY, horizon=DAY, random_state=0).fit(train).predict(len(test))


# ---- forecast quality ---------------------------------------------------------------------------
def test_default_forecaster_beats_persistence(load_split, default_forecast):
    train, test = load_split
    assert rmse(default_forecast, test) < 0.6 * rmse(np.full(len(test), train[-1]), test)


def test_day_ahead_forecaster_beats_persistence_and_seasonal_naive(load_split, daily_forecast):
    train, test = load_split
    assert daily_forecast.shape == test.shape
    assert rmse(daily_forecast, test) < 0.5 * rmse(np.full(len(test), train[-1]), test)
    assert rmse(daily_forecast, test) < 0.9 * rmse(np.tile(train[-DAY:], 2), test)


@pytest.mark.parametrize("forecast", ["default_forecast", "daily_forecast"])
def test_forecast_has_the_series_scale_and_daily_cycle(load_split, forecast, request):
    _, test = load_split
    forecast = request.getfixturevalue(forecast)
    assert forecast.shape == test.shape
    assert abs(forecast.mean() - test.mean()) < 0.3 * test.std()
    assert 0.75 < forecast.std() / test.std() < 1.25
    # the forecast follows the daily cycle: it correlates with the actual values hour by hour
    assert np.corrcoef(forecast, test)[0, 1] > 0.9


def monthly_passengers(years=20, seed=0):
    """Airline-passenger-like monthly totals: a yearly season whose swing grows with a steady
    upward trend, and multiplicative noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(12 * years)
    season = 1 + 0.2 * np.sin(2 * np.pi * t / 12) + 0.08 * np.sin(4 * np.pi * t / 12 + 0.5)
    return (100 + 1.5 * t) * season * np.exp(rng.normal(scale=0.03, size=t.size))


def test_a_trend_is_followed_beyond_the_training_range():
    """Each window is read relative to its own level, so the forecast can go on rising past
    every value the network was trained on, where a seasonal-naive forecast stays a year behind.
    (Its error relative to seasonal naive: 0.85-0.97 for single networks of seeds 0-4, 0.93 for
    their median.)"""
    series = monthly_passengers()
    train, test = series[:-24], series[-24:]
    forecast = GRUForecaster(lookback=24, horizon=12, random_state=0).fit(train).predict(24)
    assert rmse(forecast, test) < 0.97 * rmse(np.tile(train[-12:], 2), test)
    assert forecast.mean() > train[-12:].mean() + 0.5 * (test.mean() - train[-12:].mean())
    assert forecast.max() > train.max()


# ---- direct and recursive paths -----------------------------------------------------------------
@pytest.fixture(scope="module")
def direct_forecaster(load_split):
    train, _ = load_split
    return GRUForecaster(lookback=DAY, horizon=6, units=16, max_iter=3, random_state=1).fit(train)


def test_steps_up_to_horizon_are_one_network_call(load_split, direct_forecaster):
    train, _ = load_split
    f = direct_forecaster
    window = ((train[-f.lookback:] - f.series_mean_[0]) / f.series_scale_[0])[:, None]
    expected = network_forecast(f, window)[:, 0] * f.series_scale_[0][0] + f.series_mean_[0][0]
    np.testing.assert_allclose(f.predict(6), expected, rtol=1e-6)
    np.testing.assert_allclose(f.predict(4), expected[:4], rtol=1e-6)


def test_steps_beyond_horizon_feed_forecasts_back(load_split, direct_forecaster):
    train, _ = load_split
    f = direct_forecaster
    window = ((train[-f.lookback:] - f.series_mean_[0]) / f.series_scale_[0])[:, None]
    blocks = []
    for _ in range(3):  # 15 steps: blocks of 6, 6 and 3 (of the third's 6)
        block = network_forecast(f, window)
        blocks.append(block)
        window = np.concatenate([window[len(block):], block])
    expected = np.concatenate(blocks)[:15, 0] * f.series_scale_[0][0] + f.series_mean_[0][0]
    np.testing.assert_allclose(f.predict(15), expected, rtol=1e-6)


def test_recursive_one_step_forecaster_matches_a_hand_rolled_loop(load_split):
    train, _ = load_split
    f = GRUForecaster(lookback=12, units=8, max_iter=2, random_state=0).fit(train)
    window = ((train[-12:] - f.series_mean_[0]) / f.series_scale_[0])[:, None]
    expected = []
    for _ in range(10):
        step = network_forecast(f, window)
        expected.append(step[0, 0])
        window = np.concatenate([window[1:], step])
    scale, mean = f.series_scale_[0, 0], f.series_mean_[0, 0]
    np.testing.assert_allclose(f.predict(10), np.array(expected) * scale + mean, rtol=1e-6)


# ---- multivariate series and covariates ---------------------------------------------------------
def test_multivariate_series_forecasts_every_feature():
    """Two series sharing the daily cycle at different phases and scales."""
    load = hourly_load(days=20, seed=3)
    t = np.arange(load.size)
    rng = np.random.default_rng(4)
    temperature = 15 + 6 * np.sin(2 * np.pi * (t - 6) / DAY) + rng.normal(scale=0.5, size=t.size)
    series = np.column_stack([load, temperature])
    train, test = series[:-DAY], series[-DAY:]
    forecast = GRUForecaster(lookback=DAY, random_state=0).fit(train).predict(DAY)
    assert forecast.shape == (DAY, 2)
    for j in range(2):
        assert rmse(forecast[:, j], test[:, j]) < 0.7 * rmse(np.full(DAY, train[-1, j]), test[:, j])


def test_a_column_series_gives_column_forecasts(load_split):
    train, _ = load_split
    f = GRUForecaster(lookback=DAY, units=8, max_iter=1, random_state=0)
    assert f.fit(train[:, None]).predict(5).shape == (5, 1)
    assert f.fit(train).predict(5).shape == (5,)


def promotions_series(days=30, seed=0):
    """Hourly sales with a daily cycle and promotions: random hours (known in advance, as a
    covariate) that add 2 units and cannot be told from the past values."""
    rng = np.random.default_rng(seed)
    t = np.arange(DAY * days)
    promotion = (rng.random(t.size) < 0.15).astype(float)
    sales = 5 + np.sin(2 * np.pi * t / DAY) + 2 * promotion + rng.normal(scale=0.2, size=t.size)
    return sales, promotion


@pytest.mark.parametrize("horizon", [1, 6])
def test_known_covariates_are_used(horizon):
    sales, promotion = promotions_series()
    train, test = sales[:-DAY], sales[-DAY:]
    args = dict(lookback=DAY, horizon=horizon, n_models=1, random_state=0)  # one network each
    with_exog = GRUForecaster(**args)
    forecast = with_exog.fit(train, future_covariates=promotion[:-DAY]).predict(
        DAY, future_covariates=promotion[-DAY:])
    without = GRUForecaster(**args).fit(train).predict(DAY)
    assert forecast.shape == (DAY,)
    assert rmse(forecast, test) < 0.5 * rmse(without, test)
    # fewer steps than the horizon: the block reads the last given covariate row for the rest
    assert with_exog.predict(2, future_covariates=promotion[-DAY:-DAY + 2]).shape == (2,)


def test_multivariate_series_with_covariates():
    sales, promotion = promotions_series(days=10)
    series = np.column_stack([sales, 0.5 * sales + 1])
    exog = np.column_stack([promotion, np.sin(np.arange(sales.size))])
    f = GRUForecaster(lookback=12, horizon=4, units=8, max_iter=2, random_state=0)
    f.fit(series[:-10], future_covariates=exog[:-10])
    assert f.predict(10, future_covariates=exog[-10:]).shape == (10, 2)
    assert (f.n_features_, f.n_future_covariates_) == (2, 2)


# ---- input errors -------------------------------------------------------------------------------
def test_too_short_series_names_the_length_needed():
    with pytest.raises(ValueError, match="the series has 6 steps; horizon=6 needs at least 7"):
        GRUForecaster(lookback=24, horizon=6).fit(np.arange(6.0))
    # shorter than lookback + horizon: one padded window, none left to validate on
    with pytest.raises(ValueError, match="early_stopping needs series with at least two windows"):
        GRUForecaster(lookback=24, horizon=6).fit(np.arange(29.0))
    GRUForecaster(lookback=24, horizon=6, early_stopping=False, max_iter=1).fit(np.arange(29.0))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_values_are_refused(bad):
    series = np.sin(np.arange(100.0))
    series[50] = bad
    with pytest.raises(ValueError, match="series contains NaN or infinite values"):
        GRUForecaster(lookback=10).fit(series)
    exog = np.zeros(100)
    exog[3] = bad
    with pytest.raises(ValueError, match="future_covariates contains NaN or infinite values"):
        GRUForecaster(lookback=10).fit(np.sin(np.arange(100.0)), future_covariates=exog)


def test_wrong_shapes_are_refused():
    with pytest.raises(ValueError, match=r"series must be 1-D .* got shape \(10, 2, 2\)"):
        GRUForecaster(lookback=3).fit(np.zeros((10, 2, 2)))
    with pytest.raises(ValueError, match="future_covariates must have 100 rows, got 99"):
        GRUForecaster(lookback=3).fit(np.zeros(100), future_covariates=np.zeros(99))
    with pytest.raises(TypeError, match="series must be numeric"):
        GRUForecaster(lookback=3).fit(np.array(["a"] * 20))


@pytest.mark.parametrize("name, value", [("lookback", 0), ("lookback", 2.5), ("horizon", 0),
                                         ("units", -1), ("max_iter", True)])
def test_bad_parameters_are_refused_at_fit(name, value):
    f = GRUForecaster(lookback=5).set_params(**{name: value})  # init only stores
    with pytest.raises(ValueError, match=f"{name} must be a positive integer"):
        f.fit(np.sin(np.arange(100.0)))


@pytest.mark.parametrize("name, value, message", [
    ("learning_rate", 0, "learning_rate must be a positive number"),
    ("validation_fraction", 1.0, r"validation_fraction must be in \(0, 1\)"),
    ("tol", -1, "tol must be a non-negative number"),
    ("random_state", -1, "random_state must be a non-negative integer, got -1"),
    ("verbose", True, "verbose must be 0, 1 or 2, got True"),
])
def test_bad_training_parameters_are_refused_at_fit(name, value, message):
    with pytest.raises(ValueError, match=message):
        GRUForecaster(lookback=5, **{name: value}).fit(np.sin(np.arange(100.0)))


@pytest.fixture(scope="module")
def small_fitted():
    return GRUForecaster(lookback=8, units=4, max_iter=1, random_state=0).fit(np.sin(np.arange(60.0)))


@pytest.mark.parametrize("steps", [0, -3, 2.5, "10"])
def test_steps_must_be_a_positive_integer(small_fitted, steps):
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        small_fitted.predict(steps)


def test_predict_before_fit_says_so():
    with pytest.raises(ValueError, match="not fitted yet"):
        GRUForecaster(lookback=8).predict(3)


def test_covariates_must_be_given_for_the_forecast_steps():
    t = np.arange(80.0)
    f = GRUForecaster(lookback=8, units=4, max_iter=1, random_state=0)
    f.fit(np.sin(t), future_covariates=np.column_stack([np.cos(t), t]))
    with pytest.raises(ValueError, match="fitted with future covariates: predict needs future_cov"):
        f.predict(5)
    with pytest.raises(ValueError, match=r"future_covariates of the series has 4 rows.*\(step 5 "
                                         r"has none\)"):
        f.predict(5, future_covariates=np.zeros((4, 2)))
    with pytest.raises(ValueError, match="future_covariates must have 2 covariate column"):
        f.predict(5, future_covariates=np.zeros((5, 3)))
    with pytest.raises(ValueError, match="future_covariates were given but the model was fitted "
                                         "without them"):
        GRUForecaster(lookback=8, units=4, max_iter=1).fit(np.sin(t)).predict(5, future_covariates=np.zeros(5))


# ---- reproducibility and the scikit-learn protocol ----------------------------------------------
def test_random_state_gives_identical_forecasts(load_split):
    train, _ = load_split
    args = dict(lookback=DAY, units=16, max_iter=4)
    first = GRUForecaster(random_state=7, **args).fit(train).predict(30)
    shared_stream = utils.rng().bit_generator.state
    second = GRUForecaster(random_state=7, **args).fit(train).predict(30)
    other = GRUForecaster(random_state=8, **args).fit(train).predict(30)
    np.testing.assert_array_equal(first, second)
    assert not np.allclose(first, other)
    assert utils.rng().bit_generator.state == shared_stream  # a seeded fit leaves it alone


def test_init_stores_parameters_and_set_params_changes_them():
    f = GRUForecaster(lookback=48, horizon=12, units=32)
    params = f.get_params()
    assert params["lookback"] == 48 and params["horizon"] == 12 and params["units"] == 32
    assert params["random_state"] is None
    assert f.set_params(units=8, max_iter=5) is f
    assert (f.units, f.max_iter) == (8, 5)
    with pytest.raises(ValueError, match="Invalid parameter 'hidden'"):
        f.set_params(hidden=3)


def test_clone_gives_an_unfitted_copy(small_fitted):
    sklearn_base = pytest.importorskip("sklearn.base")
    copy = sklearn_base.clone(small_fitted)
    assert copy.get_params() == small_fitted.get_params()
    assert not hasattr(copy, "model_")


def test_works_without_scikit_learn():
    code = (
        "import sys; sys.modules['sklearn'] = None\n"  # makes `import sklearn` fail
        "import numpy as np\n"
        "from gru_native import GRUForecaster\n"
        "f = GRUForecaster(lookback=5, units=4, max_iter=1, random_state=0)\n"
        "f.set_params(horizon=2)\n"
        "assert f.get_params()['horizon'] == 2\n"
        "print(f.fit(np.sin(np.arange(50.0))).predict(3).shape)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "(3,)"
