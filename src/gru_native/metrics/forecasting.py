"""Forecast accuracy metrics: one float for a whole forecast, as the forecasting libraries
(sktime, utilsforecast, scikit-learn) report them, not the per-entry values the Keras metrics of
fit and evaluate give.

Every function takes arrays of one shape: a forecast of `steps` values (1-D), or one whose last
axis holds the targets, (steps, targets) or (windows, steps, targets). The arrays must match
exactly (no broadcasting), be non-empty and hold no NaN or infinite value; anything else raises a
ValueError that says what is wrong.

Conventions:

- mae, rmse and pinball_loss are in the data's units; mase is a ratio; coverage is a fraction.
- mape is a fraction (0.1 is a 10% error), as sktime's and scikit-learn's
  mean_absolute_percentage_error and utilsforecast.losses.mape return it.
- smape is in percent, in [0, 200], as the M4 competition defines it.
- On several targets, rmse and mase are each target's value averaged over the targets
  (scikit-learn's multioutput="uniform_average"); for the other metrics, whose values are means
  over the entries, that is the same as the mean over every entry.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..losses import check_quantiles
from ..validation import check_int

__all__ = ["mae", "rmse", "mape", "smape", "mase", "pinball_loss", "coverage"]


def _array(values: Any, name: str) -> np.ndarray:
    """values as a non-empty float64 array without NaN or infinity."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be an array of numbers: {error}") from None
    if array.size == 0:
        raise ValueError(f"{name} is empty (shape {array.shape}): a metric needs values")
    if not np.isfinite(array).all():
        bad = int(np.count_nonzero(~np.isfinite(array)))
        raise ValueError(f"{name} contains NaN or infinite values ({bad} of {array.size})")
    return array


def _arrays(**named: Any) -> list[np.ndarray]:
    """The named arrays, checked, all of the first one's shape."""
    arrays = {name: _array(values, name) for name, values in named.items()}
    (first, reference), *others = arrays.items()
    for name, array in others:
        if array.shape != reference.shape:
            raise ValueError(f"{name} has shape {array.shape} but {first} has shape "
                             f"{reference.shape}: they must match exactly")
    return list(arrays.values())


def _per_target(values: np.ndarray) -> np.ndarray:
    """values with the targets on axis 0: one row of all entries per target (one row for a
    1-D forecast)."""
    if values.ndim < 2:
        return values.reshape(1, -1)
    return np.moveaxis(values, -1, 0).reshape(values.shape[-1], -1)


def mae(y_true: Any, y_pred: Any) -> float:
    """Compute the mean absolute error of a forecast.

    ``mean(|y_true - y_pred|)``, in the data's units.

    Parameters
    ----------
    y_true : array-like of shape (steps,), (steps, targets) or (windows, steps, targets)
        The actual values, the targets on the last axis.
    y_pred : array-like of the same shape
        The forecast.

    Returns
    -------
    float
        The mean absolute error.

    Raises
    ------
    ValueError
        If the arrays are empty, differ in shape or hold NaN or infinite values.
    """
    y_true, y_pred = _arrays(y_true=y_true, y_pred=y_pred)
    return float(np.mean(np.abs(y_true - y_pred)))


def rmse(y_true: Any, y_pred: Any) -> float:
    """Compute the root mean squared error of a forecast.

    ``sqrt(mean((y_true - y_pred)^2))`` of each target, averaged over the targets (the last axis of
    a multi-dimensional forecast), as scikit-learn's ``root_mean_squared_error``. In the data's
    units.

    Parameters
    ----------
    y_true : array-like of shape (steps,), (steps, targets) or (windows, steps, targets)
        The actual values, the targets on the last axis.
    y_pred : array-like of the same shape
        The forecast.

    Returns
    -------
    float
        The root mean squared error.

    Raises
    ------
    ValueError
        If the arrays are empty, differ in shape or hold NaN or infinite values.
    """
    y_true, y_pred = _arrays(y_true=y_true, y_pred=y_pred)
    squared = _per_target(np.square(y_true - y_pred))
    return float(np.mean(np.sqrt(np.mean(squared, axis=1))))


def mape(y_true: Any, y_pred: Any) -> float:
    """Compute the mean absolute percentage error of a forecast, as a fraction.

    ``mean(|y_true - y_pred| / |y_true|)``; 0.1 is 10%. That is sktime's, scikit-learn's and
    utilsforecast's convention (neither multiplies by 100). A zero in ``y_true`` raises: its
    percentage error is undefined (scikit-learn divides by machine epsilon there instead,
    utilsforecast counts it as 0); :func:`~gru_native.metrics.smape` or
    :func:`~gru_native.metrics.mase` handle zeros.

    Parameters
    ----------
    y_true : array-like of shape (steps,), (steps, targets) or (windows, steps, targets)
        The actual values, the targets on the last axis.
    y_pred : array-like of the same shape
        The forecast.

    Returns
    -------
    float
        The mean absolute percentage error, as a fraction.

    Raises
    ------
    ValueError
        If ``y_true`` holds a zero, or the arrays are empty, differ in shape or hold NaN or
        infinite values.
    """
    y_true, y_pred = _arrays(y_true=y_true, y_pred=y_pred)
    zeros = int(np.count_nonzero(y_true == 0))
    if zeros:
        raise ValueError(f"y_true contains {zeros} zero(s): MAPE divides by |y_true| and is "
                         f"undefined there; use smape or mase for series that reach 0")
    return float(np.mean(np.abs(y_true - y_pred) / np.abs(y_true)))


def smape(y_true: Any, y_pred: Any) -> float:
    """Compute the symmetric mean absolute percentage error of a forecast, in percent.

    The M4 competition's definition:
    ``200 * mean(|y_true - y_pred| / (|y_true| + |y_pred|))``, in [0, 200].

    An entry where ``y_true`` and ``y_pred`` are both 0 (a perfect forecast of 0, 0/0 in the
    formula) counts as 0, as sktime and utilsforecast count it.

    sktime's ``mean_absolute_percentage_error(symmetric=True)`` is the same formula as a fraction:
    ``mean(2 |y - f| / (|y| + |f|))``, in [0, 2], so smape = 100 times it (sktime also floors the
    denominator at machine epsilon, which changes nothing but the 0/0 entries). utilsforecast's
    smape leaves out the factor 2: ``mean(|y - f| / (|y| + |f|))``, in [0, 1], half of ours / 100.

    Parameters
    ----------
    y_true : array-like of shape (steps,), (steps, targets) or (windows, steps, targets)
        The actual values, the targets on the last axis.
    y_pred : array-like of the same shape
        The forecast.

    Returns
    -------
    float
        The symmetric mean absolute percentage error, in percent.

    Raises
    ------
    ValueError
        If the arrays are empty, differ in shape or hold NaN or infinite values.
    """
    y_true, y_pred = _arrays(y_true=y_true, y_pred=y_pred)
    denominator = np.abs(y_true) + np.abs(y_pred)
    error = np.abs(y_true - y_pred)
    ratio = np.divide(error, denominator, out=np.zeros_like(error), where=denominator > 0)
    return float(200 * np.mean(ratio))


def mase(y_true: Any, y_pred: Any, y_train: Any, seasonality: int = 1) -> float:
    """Compute the mean absolute scaled error of a forecast, the M4 competition's definition.

    The forecast's MAE divided by the in-sample MAE of the seasonal naive forecast of ``y_train``,
    i.e. ``mean(|y_train[t] - y_train[t - seasonality]|)`` over
    ``t = seasonality .. len(y_train) - 1``.

    Each target is scaled by its own history and the ratios are averaged over the targets.
    sktime's ``mean_absolute_scaled_error`` gives the same value for one target and, with
    ``multioutput="raw_values"``, the same ratio per target; its default ``"uniform_average"``
    divides the targets' mean MAE by their mean scale instead, and it floors a zero scale at
    machine epsilon where this raises.

    Parameters
    ----------
    y_true : array-like of shape (steps,), (steps, targets) or (windows, steps, targets)
        The actual values, the targets on the last axis.
    y_pred : array-like of the same shape
        The forecast.
    y_train : array-like of shape (train_steps,) or (train_steps, targets)
        The series the forecast continues: 1-D for a 1-D forecast; ``(train_steps, targets)`` for
        a forecast whose last axis holds the targets (1-D also passes for a single target). It
        needs more than ``seasonality`` values, and must not repeat itself every ``seasonality``
        steps (a zero scale: MASE is undefined).
    seasonality : int, default=1
        The season's length in steps (1: the naive forecast, the last value).

    Returns
    -------
    float
        The mean absolute scaled error, a ratio.

    Raises
    ------
    ValueError
        If ``y_train`` has the wrong shape, too few steps, or a zero scale; if ``seasonality`` is
        not a positive integer; or if the arrays are empty, differ in shape or hold NaN or infinite
        values.
    """
    y_true, y_pred = _arrays(y_true=y_true, y_pred=y_pred)
    y_train = _array(y_train, "y_train")
    seasonality = check_int(seasonality, "seasonality", 1)
    targets = 1 if y_true.ndim < 2 else y_true.shape[-1]
    if y_train.ndim == 1 and targets == 1:
        y_train = y_train[:, None]
    elif y_true.ndim < 2 or y_train.ndim != 2 or y_train.shape[1] != targets:
        want = "(train_steps,)" if y_true.ndim < 2 else f"(train_steps, {targets})"
        raise ValueError(f"y_train has shape {y_train.shape}; for y_true of shape "
                         f"{y_true.shape} it must have shape {want}: the history of each target")
    if len(y_train) <= seasonality:
        raise ValueError(f"y_train has {len(y_train)} step(s): the seasonal naive forecast with "
                         f"seasonality {seasonality} needs at least {seasonality + 1} to have "
                         f"an in-sample error")
    scale = np.mean(np.abs(y_train[seasonality:] - y_train[:-seasonality]), axis=0)
    flat = np.flatnonzero(scale == 0)
    if flat.size:
        which = "" if targets == 1 else f" of target(s) {flat.tolist()}"
        raise ValueError(f"the in-sample MAE of the seasonal naive forecast (lag {seasonality}) "
                         f"of y_train{which} is 0: y_train repeats itself every {seasonality} "
                         f"step(s) (e.g. it is constant), so MASE (which divides by it) is "
                         f"undefined")
    errors = np.mean(_per_target(np.abs(y_true - y_pred)), axis=1)
    return float(np.mean(errors / scale))


def pinball_loss(y_true: Any, y_quantiles: Any, quantiles: Sequence[float]) -> float:
    """Compute the mean pinball (quantile) loss of a quantile forecast.

    For each quantile ``q``, the mean over the entries of ``max(q (y - f_q), (q - 1) (y - f_q))``,
    which is scikit-learn's ``mean_pinball_loss(y_true, f_q, alpha=q)``; then the mean over the Q
    quantiles (utilsforecast's ``mqloss``, neuralforecast's ``MQLoss``). In the data's units.

    Parameters
    ----------
    y_true : array-like of shape (steps,), (steps, targets) or (windows, steps, targets)
        The actual values, the targets on the last axis.
    y_quantiles : array-like
        The quantile forecasts: ``y_true``'s shape plus a last axis of the Q quantile forecasts,
        or, for ``y_true`` with a target axis, the layout of the
        :class:`~gru_native.losses.Pinball` loss's predictions: the targets' axis of size
        ``targets * Q``, the quantile axis fastest (what a model trained with Pinball predicts).
    quantiles : sequence of float
        The quantiles, in (0, 1), strictly increasing, in the order of the quantile axis.

    Returns
    -------
    float
        The mean pinball loss.

    Raises
    ------
    ValueError
        If ``y_quantiles`` has the wrong shape, ``quantiles`` is not a strictly increasing
        sequence in (0, 1), or the arrays are empty or hold NaN or infinite values.
    """
    quantiles = check_quantiles(quantiles)
    n_q = len(quantiles)
    y_true = _array(y_true, "y_true")
    y_quantiles = _array(y_quantiles, "y_quantiles")
    flat = y_true.shape[:-1] + (y_true.shape[-1] * n_q,) if y_true.ndim >= 2 else None
    if y_quantiles.shape == flat:
        y_quantiles = y_quantiles.reshape(y_true.shape + (n_q,))
    if y_quantiles.shape != y_true.shape + (n_q,):
        also = f" or {flat}" if flat else ""
        raise ValueError(f"y_quantiles has shape {y_quantiles.shape}; for y_true of shape "
                         f"{y_true.shape} and {n_q} quantile(s) it must have shape "
                         f"{y_true.shape + (n_q,)}{also}")
    q = np.asarray(quantiles)
    error = y_true[..., None] - y_quantiles
    return float(np.mean(np.maximum(q * error, (q - 1) * error)))


def coverage(y_true: Any, lower: Any, upper: Any) -> float:
    """Compute the fraction of the actual values inside their prediction intervals.

    The fraction (in [0, 1]) of ``y_true`` inside its interval ``[lower, upper]``, both ends
    included, as ``utilsforecast.losses.coverage``. A lower bound above its upper one raises.

    Parameters
    ----------
    y_true : array-like of shape (steps,), (steps, targets) or (windows, steps, targets)
        The actual values.
    lower : array-like of the same shape
        The lower bounds of the intervals.
    upper : array-like of the same shape
        The upper bounds of the intervals.

    Returns
    -------
    float
        The fraction of ``y_true`` covered, in [0, 1].

    Raises
    ------
    ValueError
        If a lower bound is above its upper one, or the arrays are empty, differ in shape or hold
        NaN or infinite values.
    """
    y_true, lower, upper = _arrays(y_true=y_true, lower=lower, upper=upper)
    crossed = int(np.count_nonzero(lower > upper))
    if crossed:
        raise ValueError(f"lower is above upper at {crossed} of {lower.size} entries: the "
                         f"intervals must have lower <= upper")
    return float(np.mean((lower <= y_true) & (y_true <= upper)))
