"""Forecast accuracy metrics (src/gru_native/metrics/forecasting.py): closed forms on small
hand-computed forecasts, scikit-learn's and sktime's implementations on random ones, and the
errors bad inputs raise."""

import numpy as np
import pytest
from sklearn import metrics as skm

from gru_native import losses, metrics
from gru_native.metrics import coverage, mae, mape, mase, pinball_loss, rmse, smape

Y = np.array([1.0, 2.0, 3.0, 4.0])
F = np.array([1.5, 2.0, 2.0, 5.0])  # errors 0.5, 0, 1, 1
Y_TRAIN = np.array([1.0, 3.0, 2.0, 4.0, 6.0])  # lag-1 changes 2, 1, 2, 2; lag-2 changes 1, 1, 4


def series(rng, shape):
    """Positive targets (no zero for MAPE) and a noisy forecast of them."""
    y = rng.uniform(1, 5, size=shape)
    return y, y + rng.normal(scale=0.7, size=shape)


def test_closed_forms_on_a_hand_computed_forecast():
    assert mae(Y, F) == pytest.approx(2.5 / 4)
    assert rmse(Y, F) == pytest.approx(np.sqrt(2.25 / 4))
    assert mape(Y, F) == pytest.approx((0.5 / 1 + 0 + 1 / 3 + 1 / 4) / 4)  # a fraction
    assert smape(Y, F) == pytest.approx(200 * (0.5 / 2.5 + 0 + 1 / 5 + 1 / 9) / 4)  # percent
    assert mase(Y, F, Y_TRAIN) == pytest.approx(0.625 / 1.75)
    assert mase(Y, F, Y_TRAIN, seasonality=2) == pytest.approx(0.625 / 2)
    # q = 0.25: errors y - f = -1, 2 -> 0.75, 0.5; q = 0.75: errors 2, -2 -> 1.5, 0.5
    y_quantiles = np.array([[1.0, -2.0], [8.0, 12.0]])
    assert pinball_loss([0.0, 10.0], y_quantiles, [0.25, 0.75]) == pytest.approx((0.625 + 1.0) / 2)
    lower, upper = [0.0, 2.5, 3.0, 0.0], [1.0, 3.0, 3.0, 3.9]
    assert coverage(Y, lower, upper) == 0.5  # both ends included: 1 in [0, 1], 3 in [3, 3]
    for fn in (mae, rmse, mape, smape):
        assert type(fn(Y, F)) is float and fn(Y, Y) == 0


def test_smape_bounds_and_zeros():
    assert smape([1.0, -1.0], [-1.0, 1.0]) == 200  # opposite signs: the maximum
    assert smape([0.0, 2.0], [0.0, 2.0]) == 0  # 0/0 where both are 0 counts as 0
    assert smape([0.0, 2.0], [1.0, 2.0]) == pytest.approx(100)  # 200 * (1 + 0) / 2


@pytest.mark.parametrize("shape", [(12,), (12, 3), (4, 6, 2)])
def test_agree_with_scikit_learn(rng, shape):
    y, f = series(rng, shape)
    # scikit-learn's 2-D layout: one column per target (the last axis)
    y2, f2 = (y, f) if len(shape) == 1 else (y.reshape(-1, shape[-1]), f.reshape(-1, shape[-1]))
    assert mae(y, f) == pytest.approx(skm.mean_absolute_error(y2, f2), rel=1e-12)
    # scikit-learn's multioutput rmse: each column's, averaged
    assert rmse(y, f) == pytest.approx(skm.root_mean_squared_error(y2, f2), rel=1e-12)
    assert mape(y, f) == pytest.approx(skm.mean_absolute_percentage_error(y2, f2), rel=1e-12)


@pytest.mark.parametrize("shape", [(12,), (12, 3)])
def test_pinball_loss_agrees_with_scikit_learn_per_quantile(rng, shape):
    quantiles = [0.1, 0.5, 0.8]
    y = rng.normal(size=shape)
    y_quantiles = y[..., None] + rng.normal(size=shape + (3,))
    want = np.mean([skm.mean_pinball_loss(y, y_quantiles[..., k], alpha=q)
                    for k, q in enumerate(quantiles)])
    assert pinball_loss(y, y_quantiles, quantiles) == pytest.approx(want, rel=1e-12)
    if len(shape) > 1:  # the Pinball loss's layout: (steps, targets * Q), quantiles fastest
        flat = y_quantiles.reshape(shape[0], -1)
        assert pinball_loss(y, flat, quantiles) == pinball_loss(y, y_quantiles, quantiles)
        assert pinball_loss(y, flat, quantiles) == pytest.approx(
            losses.Pinball(quantiles)(y, flat), rel=1e-12)


def test_pinball_loss_of_the_median_is_half_the_mae(rng):
    y, f = series(rng, (20,))
    assert pinball_loss(y, f[:, None], [0.5]) == pytest.approx(mae(y, f) / 2)


def test_coverage_of_random_intervals(rng):
    y = rng.normal(size=(50, 2))
    lower = rng.normal(size=(50, 2)) - 1
    upper = lower + rng.uniform(0, 3, size=(50, 2))
    assert coverage(y, lower, upper) == np.mean((y >= lower) & (y <= upper))


class TestSktime:
    @pytest.fixture(autouse=True)
    def _sktime(self):
        self.pf = pytest.importorskip("sktime.performance_metrics.forecasting")

    def test_mase_of_one_series(self, rng):
        y_train = rng.normal(size=30).cumsum()
        y, f = series(rng, (8,))
        for sp in (1, 4):
            want = self.pf.mean_absolute_scaled_error(y, f, y_train=y_train, sp=sp)
            assert mase(y, f, y_train, seasonality=sp) == pytest.approx(want, rel=1e-12)
        assert mase(Y, F, Y_TRAIN) == pytest.approx(
            self.pf.mean_absolute_scaled_error(Y, F, y_train=Y_TRAIN), rel=1e-12)

    def test_mase_of_several_targets_is_the_mean_of_their_ratios(self, rng):
        y_train = rng.normal(size=(30, 3)).cumsum(axis=0) * [1, 10, 0.1]
        y, f = series(rng, (8, 3))
        raw = self.pf.mean_absolute_scaled_error(y, f, y_train=y_train, sp=2,
                                                 multioutput="raw_values")
        assert mase(y, f, y_train, seasonality=2) == pytest.approx(np.mean(raw), rel=1e-12)
        for j in range(3):
            assert mase(y[:, j], f[:, j], y_train[:, j], 2) == pytest.approx(raw[j], rel=1e-12)

    def test_smape_is_100_times_the_symmetric_mape(self, rng):
        y, f = series(rng, (15,))
        f[::3] *= -1  # sign changes too
        want = self.pf.mean_absolute_percentage_error(y, f, symmetric=True)
        assert smape(y, f) == pytest.approx(100 * want, rel=1e-12)
        assert smape([0.0, 1.0], [0.0, 2.0]) == pytest.approx(  # both treat 0/0 as 0
            100 * self.pf.mean_absolute_percentage_error(np.array([0.0, 1.0]),
                                                         np.array([0.0, 2.0]), symmetric=True))

    def test_mape_is_a_fraction_as_sktimes(self, rng):
        y, f = series(rng, (15, 2))
        want = self.pf.mean_absolute_percentage_error(y, f, symmetric=False)
        assert mape(y, f) == pytest.approx(want, rel=1e-12)


def test_exported_from_the_metrics_namespace():
    from gru_native.metrics import forecasting

    for name in forecasting.__all__:
        assert getattr(metrics, name) is getattr(forecasting, name)
    # the Keras metric of the same name is still what fit's metrics=["mae"] gets
    assert metrics.get("mae").fn is metrics.mean_absolute_error


@pytest.mark.parametrize("call,match", [
    (lambda: mae([1.0, 2.0], [1.0, 2.0, 3.0]),
     r"y_pred has shape \(3,\) but y_true has shape \(2,\)"),
    (lambda: rmse(np.zeros((4, 2)), np.zeros(8)), r"must match exactly"),
    (lambda: smape([1.0, np.nan], [1.0, 2.0]), "y_true contains NaN or infinite values"),
    (lambda: mae([1.0, 2.0], [1.0, np.inf]), "y_pred contains NaN or infinite"),
    (lambda: mae([], []), "y_true is empty"),
    (lambda: mae(["a"], [1.0]), "y_true must be an array of numbers"),
    (lambda: mape([0.0, 1.0], [1.0, 1.0]), "y_true contains 1 zero"),
    (lambda: mase(Y, F, [1.0, 2.0, 3.0, 4.0], seasonality=4),
     r"y_train has 4 step\(s\): .* seasonality 4 needs at least 5"),
    (lambda: mase(Y, F, [1.0]), "needs at least 2"),
    (lambda: mase(Y, F, [2.0, 2.0, 2.0]), r"in-sample MAE of the seasonal naive forecast \(lag 1\) "
                                          r"of y_train is 0: .*constant.*undefined"),
    (lambda: mase(Y, F, [1.0, 2.0, 1.0, 2.0], seasonality=2), "repeats itself every 2"),
    (lambda: mase(np.ones((3, 2)), np.ones((3, 2)), np.c_[np.arange(5.0), np.ones(5)]),
     r"of target\(s\) \[1\] is 0"),
    (lambda: mase(np.ones((3, 2)), np.ones((3, 2)), np.arange(5.0)),
     r"y_train has shape \(5,\); .* must have shape \(train_steps, 2\)"),
    (lambda: mase(Y, F, [1.0, np.nan, 3.0]), "y_train contains NaN"),
    (lambda: mase(Y, F, Y_TRAIN, seasonality=0), "seasonality must be a positive integer"),
    (lambda: pinball_loss(Y, np.zeros((4, 2)), [0.1, 0.5, 0.9]),
     r"y_quantiles has shape \(4, 2\); .* must have shape \(4, 3\)"),
    (lambda: pinball_loss(Y, np.zeros((4, 2)), [0.5, 0.1]), "strictly increasing"),
    (lambda: pinball_loss(Y, np.zeros((4, 1)), [1.0]), r"in \(0, 1\)"),
    (lambda: pinball_loss(Y, np.zeros((4, 0)), []), "must not be empty"),
    (lambda: coverage(Y, Y + 1, Y - 1), "lower is above upper at 4 of 4 entries"),
    (lambda: coverage(Y, Y[:3], Y), r"lower has shape \(3,\)"),
])
def test_bad_inputs_raise(call, match):
    with pytest.raises(ValueError, match=match):
        call()
