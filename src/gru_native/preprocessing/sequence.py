"""Sequence preparation, as keras.utils / keras.preprocessing.sequence: forecasting windows cut
from a time series and padding of variable-length sequences."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike

from ..utils import pad_sequences
from ..validation import check_finite, check_int

__all__ = ["make_windows", "pad_sequences"]


# ---- forecasting windows --------------------------------------------------------------------
def make_windows(series: ArrayLike, lookback: int, horizon: int = 1,
                 stride: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Cut a time series into (inputs, targets) pairs for forecasting.

    Window i holds ``series[i*stride : i*stride + lookback]`` and its target the `horizon`
    steps right after it. A series of shape (T,) gives X of shape (n, lookback, 1) and y of
    shape (n, horizon), ready for a Dense(horizon) output; a series of shape (T, F) gives X of
    shape (n, lookback, F) and y of shape (n, horizon, F).
    ``n = (T - lookback - horizon) // stride + 1``; trailing steps that do not fill a window
    are left out.

    Parameters
    ----------
    series : array-like of shape (T,) or (T, F)
        The time series: T timesteps of one or F features.
    lookback : int
        Timesteps in each input window, >= 1.
    horizon : int, default=1
        Timesteps in each target, right after its window, >= 1.
    stride : int, default=1
        Timesteps between the starts of two windows, >= 1.

    Returns
    -------
    X : ndarray of shape (n, lookback, 1) or (n, lookback, F)
        The input windows: a new array of the series' dtype.
    y : ndarray of shape (n, horizon) or (n, horizon, F)
        The targets: a new array of the series' dtype.

    Raises
    ------
    ValueError
        For a series of another shape, holding NaN or infinite values, or too short for one
        window (fewer than lookback + horizon steps), or for a lookback, horizon or stride
        that is not a positive integer.
    TypeError
        For a non-numeric series.
    """
    lookback = check_int(lookback, "lookback", 1)
    horizon = check_int(horizon, "horizon", 1)
    stride = check_int(stride, "stride", 1)
    series = np.asarray(series)
    if series.ndim not in (1, 2) or series.ndim == 2 and series.shape[1] == 0:
        raise ValueError("series must have shape (timesteps,) or (timesteps, features), got "
                         f"{series.shape}")
    check_finite(series, "series")
    T = len(series)
    if T < lookback + horizon:
        raise ValueError(f"series has {T} timesteps; lookback={lookback} and horizon={horizon} "
                         f"need at least {lookback + horizon}")
    steps = series.reshape(T, -1)
    # sliding_window_view puts the window axis last, (windows, F, length); both views hold the
    # same number of windows since the inputs stop `horizon` steps before the end
    X = sliding_window_view(steps[:T - horizon], lookback, axis=0)[::stride]
    y = sliding_window_view(steps[lookback:], horizon, axis=0)[::stride]
    # copy, not ascontiguousarray: the views are read-only and share the series' memory
    X = X.transpose(0, 2, 1).copy()
    y = y.transpose(0, 2, 1).copy()
    return X, (y[..., 0] if series.ndim == 1 else y)


# ---- padding --------------------------------------------------------------------------------
