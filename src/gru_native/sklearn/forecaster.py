"""GRUForecaster: a scikit-learn-style GRU forecaster of a time series (1-D or multivariate),
with optional known covariates.

The network reads the last `lookback` steps and predicts the next `horizon` steps at once
(direct multi-output); longer forecasts feed its forecasts back, `horizon` steps at a time
(recursive). Each feature is standardised on the training series, and each window is then taken
relative to its own mean (its level): the network reads the shape of the recent past and
forecasts the change from its level, so that a trend carrying the series beyond its training
range does not carry the network's inputs out of theirs.
"""

from __future__ import annotations

import contextlib
from typing import Optional, TypeVar, Union

import numpy as np
from numpy.typing import ArrayLike

from .. import callbacks, optimizers, utils
from .base import BaseEstimator, check_is_fitted
from ..layers import GRU, Dense
from ..models import Sequential
from ..preprocessing.sequence import make_windows
from ..validation import check_bool, check_choice, check_int, check_real

_Forecaster = TypeVar("_Forecaster", bound="GRUForecaster")


def _finite_2d(name, values, rows=None) -> np.ndarray:
    """`values` as a float64 (steps, features) array; a 1-D array is one feature."""
    array = np.asarray(values)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric, got dtype {array.dtype}")
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise ValueError(f"{name} must be 1-D (steps,) or 2-D (steps, features), got shape {array.shape}")
    if rows is not None and len(array) != rows:
        raise ValueError(f"{name} must have {rows} rows, got {len(array)}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return array.astype(np.float64)


def _standardiser(array):
    """Per-feature mean and scale; a constant feature keeps scale 1, as StandardScaler."""
    mean, scale = array.mean(axis=0), array.std(axis=0)
    return mean, np.where(scale > 0, scale, 1.0)


def _relative_to_level(past):
    """Windows (windows, lookback, features) as the network reads them, each step minus the
    window's mean (its level); and the levels, (windows, 1, features)."""
    level = past.mean(axis=1, keepdims=True)
    return past - level, level


class GRUForecaster(BaseEstimator):
    """Forecast a time series with a GRU network.

    Parameters
    ----------
    lookback : int
        Past steps the network reads to forecast: a season or two of a seasonal series.
    horizon : int, default=1
        Steps the network forecasts at once; `predict(steps)` with more steps feeds forecasts
        back in blocks of `horizon`. For multi-step forecasts, a horizon of the steps wanted (a
        day of hourly data, say) is usually steadier than feeding back one step at a time.
    units : int, default=64
        Units of the GRU layer.
    learning_rate : float, default=1e-3
        Adam's learning rate.
    batch_size : int, default=32
        Training windows per gradient step.
    max_iter : int, default=200
        Most epochs (passes over the training windows).
    early_stopping : bool, default=True
        Hold out the last `validation_fraction` of the windows (the most recent ones) and stop
        when their loss has not improved by `tol` for `n_iter_no_change` epochs, keeping the
        weights of the best epoch.
    validation_fraction : float, default=0.1
    n_iter_no_change : int, default=10
    tol : float, default=1e-4
    random_state : int, numpy Generator or None, default=None
        Seeds the initial weights and the shuffling: the same seed gives the same forecasts.
        None draws from gru_native's shared generator (see gru_native.utils.set_random_seed).
    verbose : int, default=0
        0 silent, 1 a progress bar per epoch, 2 one line per epoch.

    Attributes
    ----------
    model_ : Sequential
        The trained network: GRU(units) then Dense(horizon * n_features_).
    mean_, scale_ : ndarray of shape (n_features_,)
        The series' standardisation.
    exog_mean_, exog_scale_ : ndarray of shape (n_exog_features_,) or None
    n_features_, n_exog_features_ : int
        Features of the series and of the covariates (0 without covariates).
    series_ndim_ : int
        1 or 2: forecasts have the shape of the fitted series, (steps,) or (steps, features).
    loss_curve_ : list of float
        Training loss (MSE on the standardised series) of each epoch.
    validation_scores_ : list of float or None
        Validation loss of each epoch, with early stopping.
    n_iter_ : int
        Epochs run.
    """

    def __init__(self, lookback: int, horizon: int = 1, units: int = 64, learning_rate: float = 1e-3,
                 batch_size: int = 32, max_iter: int = 200, early_stopping: bool = True,
                 validation_fraction: float = 0.1, n_iter_no_change: int = 10, tol: float = 1e-4,
                 random_state: Union[int, np.random.Generator, None] = None,
                 verbose: int = 0) -> None:
        self.lookback = lookback
        self.horizon = horizon
        self.units = units
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose

    # ---- fitting ----------------------------------------------------------------------------
    def fit(self: _Forecaster, series: ArrayLike, exog: Optional[ArrayLike] = None) -> _Forecaster:
        """Train on `series` (steps,) or (steps, features), with optional known covariates
        `exog` (steps,) or (steps, covariates) aligned with it row by row. Returns self."""
        self._check_params()
        series_ndim = np.ndim(series)
        series = _finite_2d("series", series)
        exog = None if exog is None else _finite_2d("exog", exog, rows=len(series))
        self._check_length(len(series))

        self.series_ndim_, self.n_features_ = series_ndim, series.shape[1]
        self.mean_, self.scale_ = _standardiser(series)
        scaled = (series - self.mean_) / self.scale_
        if exog is None:
            self.n_exog_features_, self.exog_mean_, self.exog_scale_ = 0, None, None
            scaled_exog = None
        else:
            self.n_exog_features_ = exog.shape[1]
            self.exog_mean_, self.exog_scale_ = _standardiser(exog)
            scaled_exog = (exog - self.exog_mean_) / self.exog_scale_

        x, y = self._training_windows(scaled, scaled_exog)
        generator = None if self.random_state is None else np.random.default_rng(self.random_state)
        with contextlib.nullcontext() if generator is None else utils.local_rng(generator):
            self.model_ = self._build_model(x.shape[1:])
            history = self._train(x, y)
        self.loss_curve_ = history.history["loss"]
        self.validation_scores_ = history.history.get("val_loss")
        self.n_iter_ = len(self.loss_curve_)
        # What predict continues from: the last lookback steps, standardised.
        self._last_window = scaled[-self.lookback:]
        self._last_exog_window = None if scaled_exog is None else scaled_exog[-self.lookback:]
        return self

    def _check_params(self):
        # ValueError for a wrong type too (the forecaster's behaviour so far), not the
        # estimators' TypeError
        for name in ("lookback", "horizon", "units", "batch_size", "max_iter", "n_iter_no_change"):
            check_int(getattr(self, name), name, 1)
        check_real(self.learning_rate, "learning_rate", 0, low_open=True)
        check_bool(self.early_stopping, "early_stopping")
        if self.early_stopping:
            check_real(self.validation_fraction, "validation_fraction", 0, 1, low_open=True,
                       high_open=True)
        check_real(self.tol, "tol", 0)
        check_choice(self.verbose, "verbose", (0, 1, 2))  # what model.fit takes
        if not (self.random_state is None or isinstance(self.random_state, np.random.Generator)):
            check_int(self.random_state, "random_state", 0)

    def _check_length(self, steps):
        """Enough steps for one training window, and one more to validate on."""
        needed = self.lookback + self.horizon + bool(self.early_stopping)
        if steps < needed:
            raise ValueError(
                f"series has {steps} steps; lookback={self.lookback} + horizon={self.horizon} "
                f"needs at least {needed}" + (" (with early_stopping: one window to train on "
                                              "and one to validate on)" if self.early_stopping else ""))

    def _training_windows(self, scaled, scaled_exog):
        """Network inputs (windows, timesteps, inputs) and targets (windows, horizon * features)
        of every run of lookback + horizon consecutive steps."""
        features = self.n_features_
        steps = scaled if scaled_exog is None else np.hstack([scaled, scaled_exog])
        past, future = make_windows(steps, self.lookback, self.horizon)
        inputs, level = _relative_to_level(past[..., :features])
        targets = (future[..., :features] - level).reshape(len(future), -1)
        if scaled_exog is not None:
            covariates = np.concatenate([past[..., features:], future[..., features:]], axis=1)
            inputs = self._with_covariates(inputs, covariates)
        return inputs, targets

    def _with_covariates(self, inputs, covariates):
        """The network's input with covariates: the lookback steps of the series, then the
        horizon steps to forecast (series unknown: zeros), each step with its covariates and a
        flag that is 1 where the series is known."""
        windows = len(inputs)
        unknown = np.zeros((windows, self.horizon, inputs.shape[2]))
        known = np.concatenate([np.ones((windows, self.lookback, 1)),
                                np.zeros((windows, self.horizon, 1))], axis=1)
        return np.concatenate([np.concatenate([inputs, unknown], axis=1), covariates, known], axis=2)

    def _build_model(self, input_shape):
        model = Sequential([GRU(self.units, input_shape=input_shape),
                            Dense(self.horizon * self.n_features_)])
        model.compile(optimizer=optimizers.Adam(learning_rate=self.learning_rate), loss="mse")
        return model

    def _train(self, x, y):
        fit_args = {}
        if self.early_stopping:
            # The most recent windows validate: they are the closest to what predict forecasts.
            n_val = max(1, int(round(len(x) * self.validation_fraction)))
            if n_val >= len(x):
                raise ValueError(f"validation_fraction={self.validation_fraction} leaves no "
                                 f"training windows out of {len(x)}")
            x, x_val, y, y_val = x[:-n_val], x[-n_val:], y[:-n_val], y[-n_val:]
            fit_args["validation_data"] = (x_val, y_val)
            fit_args["callbacks"] = [callbacks.EarlyStopping(
                monitor="val_loss", min_delta=self.tol, patience=self.n_iter_no_change,
                restore_best_weights=True)]
        return self.model_.fit(x, y, batch_size=self.batch_size, epochs=self.max_iter,
                               verbose=self.verbose, **fit_args)

    # ---- forecasting ------------------------------------------------------------------------
    def predict(self, steps: int, exog_future: Optional[ArrayLike] = None) -> np.ndarray:
        """Forecast the `steps` steps after the end of the fitted series: shape (steps,) for a
        1-D series, (steps, features) otherwise.

        A model fitted with covariates needs them for the forecast steps: `exog_future` of
        shape (steps,) or (steps, covariates). A forecast block reads the covariates of all its
        `horizon` steps; past the last row of `exog_future`, that row is repeated.
        """
        check_is_fitted(self)
        steps = check_int(steps, "steps", 1)
        covariates = self._future_covariates(steps, exog_future)
        lookback, horizon = self.lookback, self.horizon
        window, forecasts = self._last_window, []
        for start in range(0, steps, horizon):
            x, level = _relative_to_level(window[None])
            if covariates is not None:
                past = np.concatenate([self._last_exog_window, covariates])[start:start + lookback]
                known = covariates[start:start + horizon]
                x = self._with_covariates(x, np.concatenate([past, known])[None])
            forecast = self.model_.predict(x, verbose=0)[0].reshape(horizon, -1) + level[0]
            forecasts.append(forecast)
            window = np.concatenate([window, forecast])[-lookback:]
        result = np.concatenate(forecasts)[:steps] * self.scale_ + self.mean_
        return result[:, 0] if self.series_ndim_ == 1 else result

    def _future_covariates(self, steps, exog_future):
        """exog_future checked and standardised, padded to whole forecast blocks; None without
        covariates."""
        if self.n_exog_features_ == 0:
            if exog_future is not None:
                raise ValueError("exog_future was given but the model was fitted without exog")
            return None
        if exog_future is None:
            raise ValueError(f"the model was fitted with exog: predict needs exog_future, the "
                             f"{self.n_exog_features_} covariate(s) of each of the {steps} "
                             "forecast steps")
        exog_future = _finite_2d("exog_future", exog_future, rows=steps)
        if exog_future.shape[1] != self.n_exog_features_:
            raise ValueError(f"exog_future must have {self.n_exog_features_} covariate column(s) "
                             f"as exog had, got {exog_future.shape[1]}")
        scaled = (exog_future - self.exog_mean_) / self.exog_scale_
        padded = -(-steps // self.horizon) * self.horizon
        return np.concatenate([scaled, np.repeat(scaled[-1:], padded - steps, axis=0)])
