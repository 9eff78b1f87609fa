"""Sequence preparation, as keras.utils / keras.preprocessing.sequence: forecasting windows cut
from a time series and padding of variable-length sequences."""

from __future__ import annotations

from typing import Any, Literal, Optional, Sequence, Union

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike, DTypeLike

from ..validation import check_finite, check_int


# ---- forecasting windows --------------------------------------------------------------------
def make_windows(series: ArrayLike, lookback: int, horizon: int = 1,
                 stride: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Cut a time series into (inputs, targets) pairs for forecasting.

    Window i holds `series[i*stride : i*stride + lookback]` and its target the `horizon` steps
    right after it. A series of shape (T,) gives X of shape (n, lookback, 1) and y of shape
    (n, horizon), ready for a Dense(horizon) output; a series of shape (T, F) gives X of shape
    (n, lookback, F) and y of shape (n, horizon, F). n = (T - lookback - horizon) // stride + 1;
    trailing steps that do not fill a window are left out. X and y are new arrays of the
    series' dtype.
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
def pad_sequences(sequences: Sequence[Union[Sequence[Any], np.ndarray]], maxlen: Optional[int] = None,
                  dtype: DTypeLike = "int32", padding: Literal["pre", "post"] = "pre",
                  truncating: Literal["pre", "post"] = "pre", value: Any = 0.0) -> np.ndarray:
    """Pad sequences to one length, as keras.utils.pad_sequences.

    `sequences` is a list of sequences of scalars, giving an array of shape (n, maxlen), or of
    feature vectors of one shape, giving (n, maxlen, *feature_shape). maxlen defaults to the
    longest length. Shorter sequences get `value` before them ('pre') or after ('post');
    longer ones lose their first steps ('pre') or their last ('post').
    """
    if not hasattr(sequences, "__len__"):
        raise ValueError(f"sequences must be a list of sequences, got {type(sequences).__name__}")
    if padding not in ("pre", "post"):
        raise ValueError(f"padding must be 'pre' or 'post', got {padding!r}")
    if truncating not in ("pre", "post"):
        raise ValueError(f"truncating must be 'pre' or 'post', got {truncating!r}")
    is_text_dtype = np.issubdtype(dtype, np.str_) or np.issubdtype(dtype, np.bytes_)
    if isinstance(value, str) and dtype is not object and not is_text_dtype:
        raise ValueError(f"a string value needs dtype=object or a string dtype, got {dtype!r}")
    lengths = []
    for i, seq in enumerate(sequences):
        try:
            lengths.append(len(seq))
        except TypeError:
            raise ValueError("sequences must be a list of sequences; the one at position "
                             f"{i} is {seq!r}") from None
    if maxlen is None:
        if not lengths:
            raise ValueError("sequences is empty: give maxlen to get an array of shape (0, maxlen)")
        maxlen = max(lengths)
    maxlen = check_int(maxlen, "maxlen", 0)
    # as Keras: the first non-empty sequence sets the shape of a step
    step_shape = next((np.asarray(seq).shape[1:] for seq, n in zip(sequences, lengths) if n), ())

    rows = []
    for i, (seq, n) in enumerate(zip(sequences, lengths)):
        if n == 0 or maxlen == 0:
            continue
        kept = np.asarray(seq[n - maxlen:] if truncating == "pre" and n > maxlen else seq[:maxlen],
                          dtype=dtype)
        if kept.shape[1:] != step_shape:
            raise ValueError(f"the steps of the sequence at position {i} have shape "
                             f"{kept.shape[1:]}, the ones before have {step_shape}")
        rows.append(kept)

    x = np.full((len(lengths), maxlen) + step_shape, value, dtype=dtype)
    kept_lengths = np.minimum(np.array(lengths, dtype=np.intp), maxlen)[:, None]
    positions = np.arange(maxlen)
    filled = positions >= maxlen - kept_lengths if padding == "pre" else positions < kept_lengths
    if rows:  # the filled cells, in row-major order, are the kept steps one sequence after another
        x[filled] = np.concatenate(rows)
    return x
