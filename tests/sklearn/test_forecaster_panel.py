"""GRUForecaster over many series: one global model, series of unequal lengths (short ones
left-padded and masked), scaling per series, past / future / static covariates, DataFrames in
and out, quantiles and backtests, and the errors that name the series at fault."""

import numpy as np
import pytest

from gru_native import GRUForecaster

M = 12  # monthly seasonality


def seasonal_panel(lengths=(120, 80, 40, 15), seed=0, noise=0.1):
    rng = np.random.default_rng(seed)
    return [5 + (i + 1) * np.sin(2 * np.pi * np.arange(n) / M + i) + rng.normal(scale=noise, size=n)
            for i, n in enumerate(lengths)]


@pytest.fixture(scope="module")
def fitted():
    series = seasonal_panel()
    return series, GRUForecaster(lookback=2 * M, horizon=M, units=32, max_iter=100,
                                 random_state=0).fit(series)


def test_one_model_forecasts_every_series_in_order(fitted):
    series, f = fitted
    forecasts = f.predict(2 * M)
    assert [p.shape for p in forecasts] == [(2 * M,)] * 4
    assert f.ids_ == [0, 1, 2, 3]
    # the same forecasts to float32 rounding (the batch's size picks the recurrent product's
    # kernel: row by row for one or two sequences a thread, the BLAS for more)
    for got, want in zip(f.predict(5, ids=[3, 0]), [forecasts[3][:5], forecasts[0][:5]]):
        np.testing.assert_allclose(got, want, rtol=1e-5)
    # new series, standardised by their own history: the fitted series give their forecasts
    for got, want in zip(f.predict(2 * M, series=series), forecasts):
        np.testing.assert_allclose(got, want, rtol=1e-10)
    # the season is learned across series: far better than the mean for the long ones
    for i, n in enumerate((120, 80)):
        future = 5 + (i + 1) * np.sin(2 * np.pi * np.arange(n, n + M) / M + i)
        assert np.abs(forecasts[i][:M] - future).mean() < 0.5 * np.abs(future - 5).mean()


def test_a_short_series_is_read_without_its_padding(fitted):
    """The forecast of a 15-step series (lookback 24) is the network's on its 15 steps alone."""
    series, f = fitted
    short = (series[3] - f.series_mean_[3]) / f.series_scale_[3]
    level, scale = short.mean(), np.abs(np.diff(short)).mean()
    window = ((short - level) / scale)[None, :, None]
    direct = np.median([dense(gru(window)).reshape(M) for gru, dense in
                        (model.layers for model in f.models_)], axis=0) * scale + level
    np.testing.assert_allclose(f.predict(M)[3], direct * f.series_scale_[3, 0] + f.series_mean_[3, 0],
                               rtol=1e-5)


def test_each_series_has_its_own_scale(fitted):
    series, f = fitted
    base = f.predict(M, series=series)
    scaled = f.predict(M, series=[s * 1000 for s in series])
    for a, b in zip(base, scaled):
        np.testing.assert_allclose(b, 1000 * a, rtol=1e-6)


def test_static_covariates_change_the_forecasts_of_the_series_they_describe():
    rng = np.random.default_rng(1)
    groups = np.array([0, 1] * 6)
    series = [3 + np.sin(2 * np.pi * np.arange(60) / M * (1 + g)) + rng.normal(scale=0.05, size=60)
              for g in groups]
    f = GRUForecaster(lookback=M, horizon=4, units=8, max_iter=5, random_state=0)
    f.fit(series, static_covariates=groups[:, None])
    flipped = groups.copy()
    flipped[3] = 1 - flipped[3]
    a = f.predict(4, series=series, static_covariates=groups[:, None])
    b = f.predict(4, series=series, static_covariates=flipped[:, None])
    assert not np.allclose(a[3], b[3])
    for i in set(range(12)) - {3}:
        np.testing.assert_array_equal(a[i], b[i])
    with pytest.raises(ValueError, match="static_covariates must have one row per series"):
        f.fit(series, static_covariates=groups[:5, None])


def test_past_covariates_are_read_up_to_the_origin_only():
    """y follows a covariate with a lag of one step: only a model that reads it forecasts the
    next step well."""
    rng = np.random.default_rng(2)
    x = [rng.normal(size=200) for _ in range(4)]
    y = [np.r_[0.0, xi[:-1]] + rng.normal(scale=0.05, size=200) for xi in x]
    args = dict(lookback=6, horizon=1, units=16, max_iter=60, random_state=0)
    train_y, train_x = [s[:-1] for s in y], [s[:-1] for s in x]
    with_x = GRUForecaster(**args).fit(train_y, past_covariates=train_x)
    alone = GRUForecaster(**args).fit(train_y)
    actual = np.array([s[-1] for s in y])
    error_with = np.abs(np.concatenate(with_x.predict(1)) - actual).mean()
    error_alone = np.abs(np.concatenate(alone.predict(1)) - actual).mean()
    assert error_with < 0.5 * error_alone
    with pytest.raises(ValueError, match="at most horizon=1 steps"):
        with_x.predict(2)


def test_dataframes_in_and_out():
    pd = pytest.importorskip("pandas")
    series = seasonal_panel((40, 30))
    frame = pd.concat([pd.DataFrame({"unique_id": key, "ds": pd.date_range("2020-01-01", periods=len(s),
                                                                           freq="MS"), "y": s})
                       for key, s in zip(["a", "b"], series)], ignore_index=True)
    f = GRUForecaster(lookback=M, horizon=3, units=8, max_iter=3, random_state=0).fit(frame)
    out = f.predict(5)
    assert list(out.columns) == ["unique_id", "ds", "y"]
    assert list(out["unique_id"]) == ["a"] * 5 + ["b"] * 5
    first_b = pd.Timestamp("2020-01-01") + pd.DateOffset(months=30)
    assert list(out["ds"][5:]) == list(pd.date_range(first_b, periods=5, freq="MS"))
    arrays = GRUForecaster(lookback=M, horizon=3, units=8, max_iter=3, random_state=0).fit(series)
    np.testing.assert_allclose(out["y"].to_numpy(), np.concatenate(arrays.predict(5)), rtol=1e-10)
    numbered = frame.assign(ds=np.r_[np.arange(40), np.arange(30)])
    out = GRUForecaster(lookback=M, horizon=3, units=8, max_iter=1).fit(numbered).predict(2)
    assert list(out["ds"]) == [40, 41, 30, 31]


def test_dataframe_errors_name_the_series():
    pd = pytest.importorskip("pandas")
    base = pd.DataFrame({"unique_id": ["a"] * 30 + ["b"] * 30,
                         "ds": np.r_[np.arange(30), np.arange(30)],
                         "y": np.sin(np.arange(60.0))})
    f = GRUForecaster(lookback=5, horizon=2, max_iter=1)
    unsorted = base.copy()
    unsorted.loc[[31, 32], "ds"] = [2, 1]
    with pytest.raises(ValueError, match="series 'b' is not sorted by ds"):
        f.fit(unsorted)
    duplicated = base.copy()
    duplicated.loc[3, "ds"] = 2
    with pytest.raises(ValueError, match="series 'a' has duplicated ds"):
        f.fit(duplicated)
    missing = base.copy()
    missing.loc[40, "y"] = np.nan
    with pytest.raises(ValueError, match=r"series 'b' has NaN .* at ds=10"):
        f.fit(missing)
    with pytest.raises(ValueError, match=r"static_covariates has ids with no series: \['c'\]"):
        f.fit(base, static_covariates=pd.DataFrame({"unique_id": ["a", "b", "c"], "g": [0, 1, 2]}))
    with_future = base.assign(promo=np.arange(60.0) % 3)
    f.fit(with_future, future_covariates=["promo"])
    future = pd.DataFrame({"unique_id": ["a", "a", "b"], "ds": [30, 31, 30], "promo": [1.0, 2, 0]})
    with pytest.raises(ValueError, match=r"future_covariates has no value for series 'b' at "
                                         r"forecast step 2 \(ds=31\)"):
        f.predict(2, future_covariates=future)


def test_backtest_without_retraining_is_predict_at_each_origin(fitted):
    series, f = fitted
    result = f.backtest(series[:2], start=60, horizon=M, stride=10)
    for s, pairs in zip(series[:2], result["forecasts"]):
        assert [t for t, _ in pairs] == list(range(60, len(s) - M + 1, 10))
        for t, forecast in pairs:
            np.testing.assert_allclose(forecast[:, 0], f.predict(M, series=[s[:t]])[0], rtol=1e-10)
    assert set(result["mean"]) == {"mae", "rmse", "smape", "mase"}
    assert result["mean"]["mase"] == pytest.approx(np.mean([m["mase"] for m in result["metrics"]]))


def test_quantiles_are_monotone_calibrated_and_centred():
    """Series of a seasonal mean plus symmetric noise: the 0.5 quantile forecasts the mean, the
    0.1 and 0.9 quantiles about 1.28 deviations below and above it, and they never cross."""
    rng = np.random.default_rng(3)
    sigma, n = 0.5, 150
    means = [2 + np.sin(2 * np.pi * np.arange(n + M) / M + i) for i in range(20)]
    series = [m + rng.normal(scale=sigma, size=n + M) for m in means]
    f = GRUForecaster(lookback=2 * M, horizon=M, units=32, quantiles=(0.1, 0.5, 0.9),
                      random_state=0).fit([s[:n] for s in series])
    q = np.stack(f.predict_quantiles(M))  # (series, steps, 3)
    assert q.shape == (20, M, 3)
    assert np.all(np.diff(q, axis=-1) >= 0)
    np.testing.assert_array_equal(np.stack(f.predict(M)), q[..., 1])
    truth = np.stack([m[n:] for m in means])
    assert np.abs(q[..., 1] - truth).mean() < 0.25
    assert np.abs((q[..., 2] - q[..., 0]).mean() - 2 * 1.2816 * sigma) < 0.3
    actual = np.stack([s[n:] for s in series])
    coverage = np.mean((actual >= q[..., 0]) & (actual <= q[..., 2]))
    assert 0.65 <= coverage <= 0.95
    # the conformal widening: none for the median, the same for both ends of the interval
    for adjustment in f.interval_adjustments_:
        assert adjustment.shape == (M, 1, 3) and not adjustment[..., 1].any()
        np.testing.assert_array_equal(adjustment[..., 0], -adjustment[..., 2])
    with pytest.raises(ValueError, match="quantiles must include 0.5"):
        GRUForecaster(lookback=4, quantiles=(0.1, 0.9)).fit(series[0])
    with pytest.raises(ValueError, match="predict_quantiles needs a model fitted with quantiles"):
        GRUForecaster(lookback=4, max_iter=1).fit(series[0]).predict_quantiles(2)


def test_dataframe_quantiles_and_a_retrained_backtest():
    pd = pytest.importorskip("pandas")
    series = seasonal_panel((48, 36))
    frame = pd.concat([pd.DataFrame({"unique_id": key, "ds": np.arange(len(s)), "y": s})
                       for key, s in zip(["a", "b"], series)], ignore_index=True)
    f = GRUForecaster(lookback=M, horizon=3, units=8, max_iter=3, quantiles=(0.1, 0.5, 0.9),
                      random_state=0).fit(frame)
    out = f.predict_quantiles(4)
    assert list(out.columns) == ["unique_id", "ds", "y-q0.1", "y-q0.5", "y-q0.9"]
    np.testing.assert_allclose(out["y-q0.5"].to_numpy(), f.predict(4)["y"].to_numpy())
    assert (out["y-q0.1"] <= out["y-q0.5"]).all() and (out["y-q0.5"] <= out["y-q0.9"]).all()
    # retrain=True refits on each origin's histories: what a fresh fit on them forecasts
    result = f.backtest(series, start=30, horizon=3, stride=100, retrain=True)
    fresh = GRUForecaster(**f.get_params()).fit([s[:30] for s in series])
    for (origin, forecast), want in zip([pairs[0] for pairs in result["forecasts"]],
                                        fresh.predict(3)):
        assert origin == 30
        np.testing.assert_allclose(forecast[:, 0], want, rtol=1e-10)


def test_auto_lookback_is_chosen_on_the_last_horizon_of_the_training_series():
    series = seasonal_panel((120, 100, 90))
    f = GRUForecaster(horizon=6, season_length=M, units=8, max_iter=5, random_state=0).fit(series)
    assert set(f.lookback_scores_) == {12, 24, 36}
    assert f.lookback_ == min(f.lookback_scores_, key=f.lookback_scores_.get)
    # each score: the candidate's one network fitted without the last 6 steps, scored on them
    trial = GRUForecaster(lookback=24, horizon=6, season_length=M, units=8, max_iter=5,
                          n_models=1, random_state=0).fit([s[:-6] for s in series])
    from gru_native import metrics
    want = np.mean([metrics.mase(s[-6:], p, s[:-6], seasonality=M)
                    for s, p in zip(series, trial.predict(6))])
    assert f.lookback_scores_[24] == pytest.approx(want, rel=1e-10)
    # with covariates: two seasons, without a choice
    with_static = GRUForecaster(horizon=6, season_length=M, units=8, max_iter=1).fit(
        series, static_covariates=np.eye(3))
    assert with_static.lookback_ == 24 and with_static.lookback_scores_ is None


def test_auto_lookback_skips_candidates_too_long_to_validate():
    """A 30-step series leaves no two windows for lookback 18 once its last 6 steps are cut:
    that candidate sits out instead of failing the fit."""
    f = GRUForecaster(horizon=6, units=4, max_iter=2, random_state=0).fit(np.sin(np.arange(30.0)))
    assert set(f.lookback_scores_) == {6, 12} and f.predict(3).shape == (3,)


def test_auto_lookback_tries_its_candidates_on_at_most_200_series(monkeypatch):
    series = seasonal_panel((40,) * 450, noise=0.05)
    fits = []
    original = GRUForecaster.fit

    def counting_fit(self, data, *args, **kwargs):
        fits.append(len(data))
        return original(self, data, *args, **kwargs)

    monkeypatch.setattr(GRUForecaster, "fit", counting_fit)
    f = GRUForecaster(horizon=6, units=4, max_iter=1, random_state=0).fit(series)
    assert fits[0] == 450 and fits[1:] == [150] * len(f.lookback_scores_)  # every 3rd series
