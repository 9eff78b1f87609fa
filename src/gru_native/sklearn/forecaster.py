"""GRUForecaster: GRU networks trained across many time series (a global model, the median of a
few networks), with past, future and static covariates, quantile forecasts and backtests.

Each network reads the last `lookback` steps of a series and predicts the next `horizon` steps
at once (direct multi-output); longer forecasts feed its forecasts back, `horizon` steps at a
time (recursive). Each series is standardised by its own mean and deviation (undone on the
forecasts), and each window is then taken relative to itself (minus its level, the mean of its
steps, divided by its mean absolute change: forecast_windows.py): the network reads the shape
of the recent past and forecasts the departure from that level in units of the recent changes,
so that series of any scale share one model and a trend carrying a series beyond its training
range does not carry the network's inputs out of theirs. Series shorter than lookback + horizon
are used too: their windows are left-padded and masked.
"""

from __future__ import annotations

import contextlib
from typing import Any, Literal, Optional, Sequence, TypeVar, Union

import numpy as np
from numpy.typing import ArrayLike

from .. import callbacks, losses, optimizers, utils
from .. import metrics as metrics_module
from .base import BaseEstimator, check_is_fitted
from .forecast_windows import SeriesSteps, targets, training_origins, windows
from .series_panel import Panel, finite_2d, read_panel
from ..layers import GRU, Dense
from ..models import Sequential
from ..validation import check_bool, check_choice, check_int, check_real

_Forecaster = TypeVar("_Forecaster", bound="GRUForecaster")
# lookback='auto' tries its candidates on at most this many series (every k-th): a large panel's
# choice then costs a few small fits, not three full ones
_LOOKBACK_TRIAL_SERIES = 200
Series = Any  # an array (steps,) / (steps, targets), a list of them, or a long DataFrame
# what predict returns: an array for one series, a list of arrays, or a long DataFrame (Any:
# pandas is optional)
Forecasts = Union[np.ndarray, list[np.ndarray], Any]


def _standardiser(array, axis=0):
    """Mean and scale along `axis`; a constant keeps scale 1, as StandardScaler."""
    mean, scale = array.mean(axis=axis), array.std(axis=axis)
    return mean, np.where(scale > 0, scale, 1.0)


class GRUForecaster(BaseEstimator):
    """Forecast one or many time series with one global GRU model (a median ensemble).

    Parameters
    ----------
    lookback : int or 'auto', default='auto'
        Past steps the network reads to forecast: a season or two of a seasonal series. 'auto'
        chooses among max(season_length, horizon) and its double and triple (those the series
        are long enough for) the one whose model, fitted on the series without their last
        `horizon` steps (at most 200 of them, evenly spread; one network each), forecasts those
        steps best (mean MASE); with covariates, the double.
    horizon : int, default=1
        Steps the network forecasts at once; `predict(steps)` with more steps feeds forecasts
        back in blocks of `horizon`.
    units : int, default=64
        Units of the GRU layer.
    n_models : int, default=5
        Networks trained from different random initial weights and shuffles; each forecast
        (each quantile) is the median of theirs, fed back as one when forecasting beyond
        `horizon`. An ensemble is steadier than any one network (bench/forecasting.py);
        fitting costs n_models times one network.
    quantiles : sequence of float or None, default=None
        Train a quantile head with the pinball loss for these levels (0.5 among them, e.g.
        (0.1, 0.5, 0.9)): `predict` gives the 0.5 quantile, `predict_quantiles` them all,
        sorted so that they never cross. With early_stopping, each interval of symmetric
        levels is then widened or narrowed to cover its nominal share of the validation
        windows (conformalized quantile regression). None: one forecast trained on the
        squared error.
    learning_rate : float, default=1e-3
        Adam's learning rate.
    batch_size : int, default=32
        Training windows per gradient step.
    max_iter : int, default=200
        Most epochs (passes over the training windows of all series).
    early_stopping : bool, default=True
        Hold out the most recent `validation_fraction` of each series' windows and stop when
        their loss has not improved by `tol` for `n_iter_no_change` epochs, keeping the
        weights of the best epoch.
    validation_fraction : float, default=0.1
        The most recent share of each series' windows held out with `early_stopping`.
    n_iter_no_change : int, default=10
        Epochs without an improvement of `tol` after which training stops.
    tol : float, default=1e-4
        The improvement of the validation loss that counts.
    random_state : int, numpy Generator or None, default=None
        Seeds the initial weights and the shuffling: the same seed gives the same forecasts.
    verbose : int, default=0
        0 silent, 1 a progress bar per epoch, 2 one line per epoch.
    season_length : int, default=1
        The series' seasonal period (12 for monthly data with a yearly season): the lookback
        candidates of 'auto', and MASE's scale when choosing.

    Attributes
    ----------
    lookback_ : int
        The lookback used (`lookback`, or the one 'auto' chose).
    lookback_scores_ : dict or None
        With lookback='auto' and a choice to make: each candidate's validation MASE.
    models_ : list of Sequential
        The n_models trained networks, each GRU(units) then Dense(horizon * targets
        [* quantiles]).
    ids_ : list
        The fitted series' ids (their positions for arrays, `unique_id` for a DataFrame).
    series_mean_, series_scale_ : ndarray of shape (n_series, n_targets)
        Each series' standardisation (``n_targets`` is ``n_features_``).
    n_features_ : int
        Targets per series.
    n_past_covariates_, n_future_covariates_, n_static_covariates_ : int
        Columns of each kind of covariates (0 without).
    quantiles_ : ndarray or None
        The quantile levels (None without `quantiles`).
    interval_adjustments_ : list of ndarray of shape (horizon, n_targets, n_quantiles) or None
        Per network, the conformal widening of each quantile, in standardised window units (0
        for the median).
    loss_curves_, validation_curves_ : list of list of float
        Per network, the training loss per epoch and the validation loss per epoch (early
        stopping; None without).
    n_iter_ : ndarray of shape (n_models,)
        Epochs each network ran.

    Examples
    --------
    >>> import numpy as np
    >>> from gru_native import GRUForecaster
    >>> t = np.arange(120)
    >>> series = [np.sin(2 * np.pi * t / 12), np.cos(2 * np.pi * t / 12) + 2.0]
    >>> forecaster = GRUForecaster(lookback=24, horizon=6, units=8, n_models=1, max_iter=3,
    ...                            random_state=0)
    >>> forecaster = forecaster.fit(series)
    >>> forecasts = forecaster.predict(12)  # two blocks of the horizon, for each series
    >>> len(forecasts), forecasts[0].shape
    (2, (12,))
    """

    def __init__(self, lookback: Union[int, Literal["auto"]] = "auto", horizon: int = 1,
                 units: int = 64, n_models: int = 5,
                 quantiles: Optional[Sequence[float]] = None, learning_rate: float = 1e-3,
                 batch_size: int = 32, max_iter: int = 200, early_stopping: bool = True,
                 validation_fraction: float = 0.1, n_iter_no_change: int = 10, tol: float = 1e-4,
                 random_state: Union[int, np.random.Generator, None] = None,
                 verbose: int = 0, season_length: int = 1) -> None:
        self.lookback = lookback
        self.horizon = horizon
        self.units = units
        self.n_models = n_models
        self.quantiles = quantiles
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose
        self.season_length = season_length

    # ---- fitting ----------------------------------------------------------------------------
    def fit(self: _Forecaster, series: Series, past_covariates: Any = None,
            future_covariates: Any = None, static_covariates: Any = None, *,
            id_col: str = "unique_id", time_col: str = "ds", target_col: Any = "y") -> _Forecaster:
        """Train one model on `series`.

        Parameters
        ----------
        series : array-like, list of array-like or DataFrame
            An array (steps,) or (steps, targets), a list of such arrays of any lengths, or a
            long DataFrame with columns id_col, time_col and target_col (sorted by time within
            each series).
        past_covariates : array-like, list of array-like or list of str, optional
            Covariates observed up to the forecast origin only: for arrays an array per series
            aligned row by row with it, for a DataFrame the names of its columns.
        future_covariates : array-like, list of array-like or list of str, optional
            Covariates known for the forecast steps too (calendar, weather forecasts, prices),
            given as `past_covariates`.
        static_covariates : array-like or DataFrame, optional
            One row per series: an array in the series' order, or a DataFrame with the id
            column.
        id_col : str, default='unique_id'
            The DataFrame's series id column.
        time_col : str, default='ds'
            The DataFrame's time column.
        target_col : str or list of str, default='y'
            The DataFrame's target column(s).

        Returns
        -------
        self
            The fitted forecaster.

        Raises
        ------
        ValueError
            For a series shorter than horizon + 1 steps, missing or short covariates, unsorted
            or duplicated time stamps or NaN in the targets (naming the series and the step).
        """
        self._check_params()
        panel = read_panel(series, id_col, time_col, target_col)
        past = panel.covariates(past_covariates, "past_covariates")
        future = panel.covariates(future_covariates, "future_covariates")
        static = panel.static(static_covariates)
        for i, values in enumerate(panel.values):
            if len(values) < self.horizon + 1:
                raise ValueError(f"{panel.name(i)} has {len(values)} steps; horizon="
                                 f"{self.horizon} needs at least {self.horizon + 1} (one to "
                                 "forecast from)")
        self.lookback_, self.lookback_scores_ = self._chosen_lookback(
            panel, past is not None or future is not None or static is not None)
        self._panel, self.ids_ = panel, list(panel.ids)
        self.n_features_ = panel.targets
        self.series_mean_, self.series_scale_ = (np.array(a) for a in zip(
            *[_standardiser(v) for v in panel.values]))
        self.n_past_covariates_ = 0 if past is None else past[0].shape[1]
        self.n_future_covariates_ = 0 if future is None else future[0].shape[1]
        self.n_static_covariates_ = 0 if static is None else static.shape[1]
        self._past_scaling = None if past is None else _standardiser(np.concatenate(past))
        self._future_scaling = None if future is None else _standardiser(np.concatenate(future))
        self._static_scaling = None if static is None else _standardiser(static)
        self._steps = [self._series_steps(i, v, self.series_mean_[i], self.series_scale_[i],
                                          past, future, static)
                       for i, v in enumerate(panel.values)]
        self.quantiles_ = None if self.quantiles is None else np.asarray(self.quantiles, float)

        x, y, mask, last = self._training_windows()
        generator = None if self.random_state is None else np.random.default_rng(self.random_state)
        self.models_, histories = [], []
        with contextlib.nullcontext() if generator is None else utils.local_rng(generator):
            for _ in range(self.n_models):
                self.models_.append(self._build_model(x.shape[1:]))
                histories.append(self._train(self.models_[-1], x, y, mask, last).history)
        self.interval_adjustments_ = [self._conformal_adjustment(model, x, y, mask, last)
                                      for model in self.models_]
        self.loss_curves_ = [h["loss"] for h in histories]
        self.validation_curves_ = [h.get("val_loss") for h in histories]
        self.n_iter_ = np.array([len(curve) for curve in self.loss_curves_])
        return self

    def _chosen_lookback(self, panel, with_covariates):
        """(lookback, each candidate's validation MASE or None) for `lookback`."""
        if self.lookback != "auto":
            return self.lookback, None
        h, m = self.horizon, self.season_length
        base = max(m, h)
        room = int(np.median([len(v) for v in panel.values])) - 2 * h  # after the validation cut
        candidates = [c for c in (base, 2 * base, 3 * base) if c <= max(room, base)]
        cut = [v for v in panel.values if len(v) > 2 * h and len(v) - h > m]
        cut = cut[::-(-len(cut) // _LOOKBACK_TRIAL_SERIES)] if cut else cut  # a spread sample
        if with_covariates or len(candidates) == 1 or not cut:
            return candidates[min(1, len(candidates) - 1)], None
        scores = {}
        for lookback in candidates:
            trial = type(self)(**dict(self.get_params(), lookback=lookback, n_models=1))
            try:
                forecasts = trial.fit([v[:-h] for v in cut]).predict(h)
            except ValueError:  # too few windows left to train and validate on
                continue
            scores[lookback] = float(np.mean([
                metrics_module.mase(v[-h:], f.reshape(h, -1), v[:-h], seasonality=m)
                for v, f in zip(cut, forecasts)
                if np.any(v[m:-h] != v[:-h - m])]))  # a history that repeats has no MASE scale
        scores = {k: v for k, v in scores.items() if np.isfinite(v)}
        if not scores:
            return candidates[min(1, len(candidates) - 1)], None
        return min(scores, key=scores.get), scores

    def _series_steps(self, i, values, mean, scale, past, future, static):
        """Series i's steps standardised by (mean, scale), its covariates by the fitted
        scaling."""
        steps = SeriesSteps((values - mean) / scale)
        if past is not None:
            steps.past = (past[i] - self._past_scaling[0]) / self._past_scaling[1]
        if future is not None:
            steps.future = (future[i] - self._future_scaling[0]) / self._future_scaling[1]
        if static is not None:
            steps.static = (static[i] - self._static_scaling[0]) / self._static_scaling[1]
        return steps

    def _check_params(self):
        if self.lookback != "auto":
            check_int(self.lookback, "lookback", 1)
        for name in ("horizon", "units", "n_models", "batch_size", "max_iter", "n_iter_no_change",
                     "season_length"):
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
        if self.quantiles is not None:
            q = np.asarray(self.quantiles, float)
            if q.ndim != 1 or not len(q) or np.any((q <= 0) | (q >= 1)) or np.any(np.diff(q) <= 0):
                raise ValueError(f"quantiles must be increasing levels in (0, 1), got "
                                 f"{self.quantiles!r}")
            if 0.5 not in q:
                raise ValueError(f"quantiles must include 0.5 (predict's forecast), got "
                                 f"{self.quantiles!r}")

    @property
    def _median(self):
        """The position of the 0.5 quantile in quantiles_."""
        return int(np.flatnonzero(self.quantiles_ == 0.5)[0])

    @property
    def _with_future(self):
        return self.n_future_covariates_ > 0

    def _training_windows(self):
        """Inputs, targets and mask (None when no window is padded) of every series, and
        whether each window is among its series' most recent (validation_fraction) ones."""
        xs, ys, masks, last = [], [], [], []
        for steps in self._steps:
            origins = training_origins(len(steps.values), self.lookback_, self.horizon)
            x, mask, level, scale = windows(steps, origins, self.lookback_, self.horizon,
                                            self._with_future)
            xs.append(x)
            masks.append(mask)
            ys.append(targets(steps.values, origins, self.horizon, level, scale))
            n_val = max(1, int(round(len(origins) * self.validation_fraction))) \
                if len(origins) > 1 else 0
            last.append(np.arange(len(origins)) >= len(origins) - n_val)
        mask = np.concatenate(masks)
        return (np.concatenate(xs), np.concatenate(ys), None if mask.all() else mask,
                np.concatenate(last))

    def _build_model(self, input_shape):
        outputs = self.horizon * self.n_features_
        if self.quantiles_ is not None:
            outputs *= len(self.quantiles_)
            loss = losses.Pinball(self.quantiles_.tolist())
        else:
            loss = "mse"
        model = Sequential([GRU(self.units, input_shape=input_shape), Dense(outputs)])
        model.compile(optimizer=optimizers.Adam(learning_rate=self.learning_rate), loss=loss)
        return model

    def _train(self, model, x, y, mask, last):
        fit_args = {}
        if self.early_stopping:
            if not last.any() or last.all():
                raise ValueError(f"early_stopping needs series with at least two windows (one "
                                 f"to train on, one to validate on); lookback={self.lookback_} "
                                 f"and horizon={self.horizon} leave {len(last)} window(s)")
            # The most recent windows of each series validate: the closest to what predict
            # forecasts.
            train = ~last
            fit_args["validation_data"] = (x[last], y[last], None,
                                           None if mask is None else mask[last])
            fit_args["callbacks"] = [callbacks.EarlyStopping(
                monitor="val_loss", min_delta=self.tol, patience=self.n_iter_no_change,
                restore_best_weights=True)]
            x, y, mask = x[train], y[train], None if mask is None else mask[train]
        return model.fit(x, y, batch_size=self.batch_size, epochs=self.max_iter,
                               verbose=self.verbose, mask=mask, **fit_args)

    def _conformal_adjustment(self, model, x, y, mask, last):
        """How much to widen (or narrow) each of `model`'s intervals of symmetric quantile
        levels so that it covers its nominal share of the validation windows (conformalized
        quantile regression, Romano et al. 2019), per forecast step and target, in standardised
        units: (horizon, targets, quantiles), zero for the median. None without quantiles or
        without validation windows (early_stopping=False)."""
        if self.quantiles_ is None or not self.early_stopping:
            return None
        q = self.quantiles_
        val_mask = None if mask is None else mask[last]
        predicted = model.predict(x[last], verbose=0, mask=val_mask).reshape(
            -1, self.horizon, self.n_features_, len(q))
        actual = y[last].reshape(-1, self.horizon, self.n_features_)
        n = len(actual)
        adjustment = np.zeros((self.horizon, self.n_features_, len(q)))
        for k in range(len(q) // 2):
            low, high = predicted[..., k], predicted[..., len(q) - 1 - k]
            if not np.isclose(q[k] + q[len(q) - 1 - k], 1):
                continue  # not a symmetric pair: no interval to calibrate
            scores = np.maximum(low - actual, actual - high)  # > 0: outside the interval
            level = min(1.0, np.ceil((n + 1) * (q[len(q) - 1 - k] - q[k])) / n)
            widen = np.quantile(scores, level, axis=0, method="higher")
            adjustment[..., k], adjustment[..., len(q) - 1 - k] = -widen, widen
        return adjustment

    # ---- forecasting ------------------------------------------------------------------------
    def predict(self, steps: int, future_covariates: Any = None, *, ids: Optional[Sequence] = None,
                series: Series = None, past_covariates: Any = None,
                static_covariates: Any = None) -> Forecasts:
        """Forecast the `steps` steps after the end of each series.

        Parameters
        ----------
        steps : int
            Steps to forecast; beyond `horizon`, forecasts are fed back in blocks of `horizon`
            (not with past covariates, unknown beyond the forecast origin).
        future_covariates : array-like, list of array-like or DataFrame, optional
            A model fitted with future covariates needs them for the forecast steps: an array
            per series forecast, or a DataFrame with the id, ds and covariate columns; a block
            of `horizon` steps past its last row repeats that row.
        ids : sequence, optional
            The ids of the series to forecast, among the fitted ones (or among `series`); by
            default all.
        series : array-like, list of array-like or DataFrame, optional
            Other series (as fit takes them, with their covariates) to forecast with the fitted
            model, without refitting (each standardised by its own history).
        past_covariates : array-like, list of array-like or list of str, optional
            The past covariates of `series`.
        static_covariates : array-like or DataFrame, optional
            The static covariates of `series`.

        Returns
        -------
        ndarray, list of ndarray or DataFrame
            In the kind fit was given: an array (steps,) or (steps, targets) for one series, a
            list of them for a list, a long DataFrame (id, ds, a column per target) for a
            DataFrame. With quantiles: the 0.5 quantile.
        """
        forecasts, panel, positions = self._forecast(steps, future_covariates, ids, series,
                                                     past_covariates, static_covariates)
        points = [f if self.quantiles_ is None else f[..., self._median] for f in forecasts]
        return panel.forecasts(positions, points)

    def predict_quantiles(self, steps: int, future_covariates: Any = None, *,
                          ids: Optional[Sequence] = None, series: Series = None,
                          past_covariates: Any = None,
                          static_covariates: Any = None) -> Forecasts:
        """Forecast the quantiles of the `steps` steps after the end of each series.

        The quantiles are `quantiles_`, sorted: they never cross. Arguments as `predict`.

        Parameters
        ----------
        steps : int
            Steps to forecast; beyond `horizon`, forecasts are fed back in blocks of `horizon`
            (not with past covariates, unknown beyond the forecast origin).
        future_covariates : array-like, list of array-like or DataFrame, optional
            A model fitted with future covariates needs them for the forecast steps, as for
            `predict`.
        ids : sequence, optional
            The ids of the series to forecast, among the fitted ones (or among `series`); by
            default all.
        series : array-like, list of array-like or DataFrame, optional
            Other series (as fit takes them, with their covariates) to forecast with the fitted
            model, without refitting (each standardised by its own history).
        past_covariates : array-like, list of array-like or list of str, optional
            The past covariates of `series`.
        static_covariates : array-like or DataFrame, optional
            The static covariates of `series`.

        Returns
        -------
        ndarray, list of ndarray or DataFrame
            The quantiles on the trailing axis: arrays (steps, Q) for a 1-D series, (steps,
            targets, Q) otherwise, a list of them for a list, or for a DataFrame a column
            '<target>-q<level>' per target and quantile.

        Raises
        ------
        ValueError
            If the model was not fitted with ``quantiles=(...)``.
        """
        check_is_fitted(self)
        if self.quantiles_ is None:
            raise ValueError("predict_quantiles needs a model fitted with quantiles=(...)")
        forecasts, panel, positions = self._forecast(steps, future_covariates, ids, series,
                                                     past_covariates, static_covariates)
        return panel.forecasts(positions, forecasts, self.quantiles_)

    def _forecast(self, steps, future_covariates, ids, series, past_covariates, static_covariates):
        """The forecasts, (steps, targets[, quantiles]) per series forecast, in their units;
        the panel they belong to and their positions in it."""
        check_is_fitted(self)
        steps = check_int(steps, "steps", 1)
        if series is None:
            panel, positions = self._panel, self._panel.select(ids)
            history = [self._steps[i] for i in positions]
            means, scales = self.series_mean_[positions], self.series_scale_[positions]
        else:
            panel, history, means, scales = self._new_series(series, past_covariates,
                                                             static_covariates)
            positions = panel.select(ids)
            history = [history[i] for i in positions]
            means, scales = means[positions], scales[positions]
        if self.n_past_covariates_ and steps > self.horizon:
            raise ValueError(f"the model reads past covariates, unknown beyond the forecast "
                             f"origin: it forecasts at most horizon={self.horizon} steps, got "
                             f"steps={steps}")
        blocks = -(-steps // self.horizon) * self.horizon
        if self._with_future:
            rows = panel.future(future_covariates, positions, steps, self.n_future_covariates_)
            mean, scale = self._future_scaling
            history = [SeriesSteps(h.values, h.past, np.concatenate(
                [h.future, (block - mean) / scale,
                 np.repeat((block[-1:] - mean) / scale, blocks - steps, axis=0)]), h.static)
                for h, block in zip(history, rows)]
        elif future_covariates is not None:
            raise ValueError("future_covariates were given but the model was fitted without them")
        out = self._recursive(history, blocks)[:, :steps]
        q = 1 if self.quantiles_ is None else len(self.quantiles_)
        out = out.reshape(len(history), steps, self.n_features_, q)
        out = out * scales[:, None, :, None] + means[:, None, :, None]
        if self.quantiles_ is None:
            return list(out[..., 0]), panel, positions
        return list(np.sort(out, axis=-1)), panel, positions  # rearranged: never crossing

    def _recursive(self, history, blocks):
        """Standardised forecasts (series, blocks, targets * quantiles): `horizon` steps per
        block, the median over the networks of their forecasts (each network's intervals
        widened by its conformal adjustment); the median quantile fed back for the next
        block."""
        values = [h.values for h in history]
        q = 1 if self.quantiles_ is None else len(self.quantiles_)
        middle = 0 if self.quantiles_ is None else self._median
        out = []
        for start in range(0, blocks, self.horizon):
            xs, masks, levels, scales = [], [], [], []
            for h, v in zip(history, values):
                steps = SeriesSteps(v, h.past, h.future, h.static)
                x, mask, level, scale = windows(steps, np.array([len(v)]), self.lookback_,
                                                self.horizon, self._with_future)
                xs.append(x)
                masks.append(mask)
                levels.append(level)
                scales.append(scale)
            x, mask = np.concatenate(xs), np.concatenate(masks)
            raw = np.median([
                model.predict(x, verbose=0, mask=None if mask.all() else mask).reshape(
                    len(history), self.horizon, self.n_features_, q)
                + (0 if adjustment is None else adjustment)
                for model, adjustment in zip(self.models_, self.interval_adjustments_)], axis=0)
            raw = raw * np.concatenate(scales)[..., None] + np.concatenate(levels)[..., None]
            out.append(raw.reshape(len(history), self.horizon, -1))
            values = [np.concatenate([v, r[:, :, middle]]) for v, r in zip(values, raw)]
        return np.concatenate(out, axis=1)

    def _new_series(self, series, past_covariates, static_covariates):
        """Series given to predict: read like fit's, standardised by their own histories."""
        panel = read_panel(series, self._panel.id_col, self._panel.time_col,
                           self._panel.target_cols if self._panel.kind == "frame" else "y")
        if panel.targets != self.n_features_:
            raise ValueError(f"series must have {self.n_features_} target(s) as in fit, got "
                             f"{panel.targets}")
        past = panel.covariates(past_covariates, "past_covariates")
        if (past is None) != (self.n_past_covariates_ == 0):
            raise ValueError("past_covariates must be given for new series exactly when the "
                             "model was fitted with them")
        static = panel.static(static_covariates)
        if (static is None) != (self.n_static_covariates_ == 0):
            raise ValueError("static_covariates must be given for new series exactly when the "
                             "model was fitted with them")
        if self._with_future:
            raise ValueError("forecasting new series (series=) with a model fitted with future "
                             "covariates is not supported: their past rows are unknown here; "
                             "refit with the new series")
        means, scales = (np.array(a) for a in zip(*[_standardiser(v) for v in panel.values]))
        history = [self._series_steps(i, v, means[i], scales[i], past, None, static)
                   for i, v in enumerate(panel.values)]
        return panel, history, means, scales

    # ---- backtesting ------------------------------------------------------------------------
    def backtest(self, series: Series, start: Union[int, float], horizon: Optional[int] = None,
                 stride: int = 1, retrain: bool = False, seasonality: int = 1,
                 metrics: Sequence[str] = ("mae", "rmse", "smape", "mase")) -> dict[str, Any]:
        """Forecast from rolling origins in the past and score the forecasts.

        Historical forecasts, as darts' historical_forecasts or neuralforecast's
        cross_validation: for each series, origins from `start` to the end less `horizon`,
        every `stride` steps; at each origin, the next `horizon` steps forecast from the
        history before it, with the fitted model (``retrain=False``: the same as
        ``predict(horizon, series=history)``) or a model refitted on the histories
        (``retrain=True``).

        Parameters
        ----------
        series : array-like, list of array-like or DataFrame
            The series, given as fit takes them, without covariates.
        start : int or float
            The first origin: a step index (>= 1), or a fraction of each series' length.
        horizon : int, optional
            Steps forecast at each origin; by default the estimator's `horizon`.
        stride : int, default=1
            Steps between two origins.
        retrain : bool, default=False
            Refit a model (same parameters) on the histories at each origin instead of using
            the fitted one.
        seasonality : int, default=1
            The season length for 'mase' (the naive forecast it scales by).
        metrics : sequence of str, default=('mae', 'rmse', 'smape', 'mase')
            Names of forecast accuracy functions of `gru_native.metrics`.

        Returns
        -------
        dict
            {'forecasts': per series a list of (origin, forecast) pairs, 'metrics': per series
            {name: value} averaged over its origins, 'mean': {name: mean over series}}.

        Raises
        ------
        ValueError
            For a series too short to leave `horizon` steps after an origin from `start`.
        """
        check_is_fitted(self)
        horizon = self.horizon if horizon is None else check_int(horizon, "horizon", 1)
        stride = check_int(stride, "stride", 1)
        panel = read_panel(series, self._panel.id_col, self._panel.time_col,
                           self._panel.target_cols if self._panel.kind == "frame" else "y")
        origins = []
        for i, v in enumerate(panel.values):
            first = int(round(start * len(v))) if isinstance(start, float) else check_int(
                start, "start", 1)
            found = list(range(first, len(v) - horizon + 1, stride))
            if not found:
                raise ValueError(f"{panel.name(i)} has {len(v)} steps: no origin from start="
                                 f"{start} leaves horizon={horizon} steps to compare")
            origins.append(found)
        forecasts = [[] for _ in panel.values]
        for k in range(max(len(o) for o in origins)):
            members = [i for i, o in enumerate(origins) if k < len(o)]
            histories = [panel.values[i][:origins[i][k]] for i in members]
            model = self
            if check_bool(retrain, "retrain"):
                model = type(self)(**self.get_params()).fit(histories)
            predicted = model._forecast(horizon, None, None, histories, None, None)[0]
            for i, f in zip(members, predicted):
                forecasts[i].append((origins[i][k], f if self.quantiles_ is None else
                                     f[..., self._median]))
        scores = []
        for i, pairs in enumerate(forecasts):
            per_origin = [{name: _score(name, panel.values[i][t:t + horizon], f,
                                        panel.values[i][:t], seasonality) for name in metrics}
                          for t, f in pairs]
            scores.append({name: float(np.mean([s[name] for s in per_origin]))
                           for name in metrics})
        return {"forecasts": forecasts, "metrics": scores,
                "mean": {name: float(np.mean([s[name] for s in scores])) for name in metrics}}


def _score(name, actual, forecast, history, seasonality):
    """Metric `name` of gru_native.metrics for one forecast."""
    if name == "mase":
        return metrics_module.mase(actual, forecast, history, seasonality=seasonality)
    return getattr(metrics_module, name)(actual, forecast)
