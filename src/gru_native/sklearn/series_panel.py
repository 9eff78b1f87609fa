"""The series a forecaster reads and gives back: one array, a list of arrays, or a long pandas
DataFrame (neuralforecast's convention: one row per series and time, columns `unique_id`, `ds`,
`y`). Each is read into a Panel (the series as float arrays, their ids and time stamps), which
also checks covariates against the series and turns forecasts back into the kind that came in.
pandas is imported only when a DataFrame is given."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np


def finite_2d(name: str, values: Any, rows: Optional[int] = None) -> np.ndarray:
    """`values` as a float64 (steps, features) array; a 1-D array is one feature."""
    array = np.asarray(values)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric, got dtype {array.dtype}")
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise ValueError(f"{name} must be 1-D (steps,) or 2-D (steps, features), got shape "
                         f"{array.shape}")
    if rows is not None and len(array) != rows:
        raise ValueError(f"{name} must have {rows} rows, got {len(array)}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return array.astype(np.float64)


def _is_frame(value: Any) -> bool:
    return type(value).__module__.startswith("pandas") and hasattr(value, "columns")


@dataclass
class Panel:
    """Series as (steps_i, targets) float64 arrays, with what gives forecasts their form."""
    values: list[np.ndarray]
    ids: list[Any]
    kind: str  # 'array' (one series), 'list' or 'frame'
    ndim: int = 2  # of an array series: forecasts are (steps,) for 1, (steps, targets) for 2
    times: Optional[list[Any]] = None  # per series its ds values (frame)
    id_col: str = "unique_id"
    time_col: str = "ds"
    target_cols: Sequence[str] = ("y",)
    frame: Any = None  # the DataFrame read (frame), for its covariate columns

    @property
    def targets(self) -> int:
        return self.values[0].shape[1]

    def name(self, i: int) -> str:
        """How errors name series i."""
        return f"series {self.ids[i]!r}" if self.kind == "frame" else (
            "the series" if self.kind == "array" else f"series {i}")

    def select(self, ids: Optional[Sequence[Any]]) -> list[int]:
        """Positions of the series `ids` (all, in order, for None)."""
        if ids is None:
            return list(range(len(self.values)))
        position = {key: i for i, key in enumerate(self.ids)}
        missing = [key for key in ids if key not in position]
        if missing:
            raise ValueError(f"ids {missing[:5]} name no fitted series (the ids are "
                             f"{self.ids[:5]}{'...' if len(self.ids) > 5 else ''})")
        return [position[key] for key in ids]

    # ---- covariates -------------------------------------------------------------------------
    def covariates(self, given: Any, what: str) -> Optional[list[np.ndarray]]:
        """Past or future covariates of the fitted steps, one (steps_i, k) array per series:
        for arrays, an array (one series) or a list aligned row by row with the series; for a
        DataFrame, the names of its columns that hold them."""
        if given is None:
            return None
        if self.kind == "frame":
            names = [given] if isinstance(given, str) else list(given)
            missing = [n for n in names if n not in self.frame.columns]
            if missing:
                raise ValueError(f"{what} names columns {missing} the DataFrame does not have")
            blocks = self._frame_blocks(self.frame, names)
            return [finite_2d(f"{what} of {self.name(i)}", b) for i, b in enumerate(blocks)]
        arrays = [given] if self.kind == "array" else list(given)
        if len(arrays) != len(self.values):
            raise ValueError(f"{what} must hold one array per series ({len(self.values)}), got "
                             f"{len(arrays)}")
        return [finite_2d(what if self.kind == "array" else f"{what} of {self.name(i)}", a,
                          rows=len(v)) for i, (a, v) in enumerate(zip(arrays, self.values))]

    def future(self, given: Any, positions: list[int], steps: int, width: int,
               what: str = "future_covariates") -> list[np.ndarray]:
        """Future covariates of the `steps` forecast steps of the series at `positions`, one
        (steps, width) array each: for arrays, an array (one series) or a list in the order of
        the series forecast; for a DataFrame, a frame with the id, ds and covariate columns."""
        if given is None:
            raise ValueError(f"the model was fitted with future covariates: predict needs "
                             f"{what}, the {width} covariate(s) of each of the {steps} "
                             "forecast steps")
        if self.kind == "frame":
            blocks = []
            for i in positions:
                rows = given[given[self.id_col] == self.ids[i]].sort_values(self.time_col)
                stamps = future_times(self.times[i], steps)
                rows = rows.set_index(self.time_col).reindex(stamps)
                columns = [c for c in rows.columns if c != self.id_col]
                values = rows[columns].to_numpy(dtype=np.float64)
                missing = np.flatnonzero(~np.isfinite(values).all(axis=1))
                if len(missing):
                    raise ValueError(f"{what} has no value for {self.name(i)} at forecast step "
                                     f"{missing[0] + 1} ({self.time_col}={stamps[missing[0]]})")
                blocks.append(values)
        else:
            blocks = [given] if self.kind == "array" else list(given)
            if len(blocks) != len(positions):
                raise ValueError(f"{what} must hold one array per series forecast "
                                 f"({len(positions)}), got {len(blocks)}")
        out = []
        for i, block in zip(positions, blocks):
            block = finite_2d(f"{what} of {self.name(i)}", block)
            if len(block) < steps:
                raise ValueError(f"{what} of {self.name(i)} has {len(block)} rows: it must have "
                                 f"one for each of the {steps} forecast steps (step "
                                 f"{len(block) + 1} has none)")
            if block.shape[1] != width:
                raise ValueError(f"{what} must have {width} covariate column(s) as in fit, got "
                                 f"{block.shape[1]}")
            out.append(block[:steps])
        return out

    def static(self, given: Any) -> Optional[np.ndarray]:
        """Static covariates, (series, k): an array with a row per series (in their order), or
        for a DataFrame a frame with the id column and one row per series."""
        if given is None:
            return None
        if _is_frame(given):
            if self.id_col not in given.columns:
                raise ValueError(f"static_covariates must have the id column {self.id_col!r}")
            unknown = sorted(set(given[self.id_col]) - set(self.ids), key=str)
            if unknown:
                raise ValueError(f"static_covariates has ids with no series: {unknown[:5]}")
            rows = given.drop_duplicates(self.id_col).set_index(self.id_col)
            missing = [key for key in self.ids if key not in rows.index]
            if missing:
                raise ValueError(f"static_covariates has no row for series {missing[:5]}")
            given = rows.loc[self.ids].to_numpy()
        static = np.asarray(given)
        if static.ndim == 1 and self.kind == "array":
            static = static[None]
        static = finite_2d("static_covariates", static)
        if len(static) != len(self.values):
            raise ValueError(f"static_covariates must have one row per series "
                             f"({len(self.values)}), got {len(static)}")
        return static

    def _frame_blocks(self, frame, columns):
        return [part[columns].to_numpy() for _, part in frame.groupby(self.id_col, sort=False)]

    # ---- forecasts back ---------------------------------------------------------------------
    def forecasts(self, positions: list[int], blocks: list[np.ndarray],
                  quantiles: Optional[Sequence[float]] = None) -> Any:
        """Forecasts (steps, targets[, quantiles]) of the series at `positions`, in the kind
        the series came in: an array, a list, or a long DataFrame with id, ds and a column per
        target (per target and quantile: '<target>-q<q>')."""
        if self.kind == "frame":
            return self._forecast_frame(positions, blocks, quantiles)
        if self.ndim == 1:
            blocks = [b[:, 0] for b in blocks]
        return blocks[0] if self.kind == "array" else blocks

    def _forecast_frame(self, positions, blocks, quantiles):
        import pandas as pd
        parts = []
        for i, block in zip(positions, blocks):
            steps = len(block)
            part = {self.id_col: [self.ids[i]] * steps,
                    self.time_col: future_times(self.times[i], steps)}
            for t, target in enumerate(self.target_cols):
                if quantiles is None:
                    part[target] = block[:, t]
                else:
                    for k, q in enumerate(quantiles):
                        part[f"{target}-q{q:g}"] = block[:, t, k]
            parts.append(pd.DataFrame(part))
        return pd.concat(parts, ignore_index=True)


def future_times(times: Any, steps: int) -> Any:
    """The `steps` time stamps after a series' last one: by its frequency (datetimes), or its
    last step (numbers)."""
    import pandas as pd
    index = pd.Index(times)
    if isinstance(index, pd.DatetimeIndex):
        freq = pd.infer_freq(index) if len(index) >= 3 else None
        if freq is None:
            if len(index) < 2:
                raise ValueError("a series of one time stamp has no frequency to forecast by")
            return pd.DatetimeIndex([index[-1] + (index[-1] - index[-2]) * k
                                     for k in range(1, steps + 1)])
        return pd.date_range(index[-1], periods=steps + 1, freq=freq)[1:]
    step = index[-1] - index[-2] if len(index) >= 2 else 1
    return pd.Index([index[-1] + step * k for k in range(1, steps + 1)])


def read_panel(series: Any, id_col: str = "unique_id", time_col: str = "ds",
               target_col: Any = "y") -> Panel:
    """The series given to fit or predict, checked: every value finite, and for a DataFrame
    each series' time stamps increasing without duplicates."""
    if _is_frame(series):
        return _read_frame(series, id_col, time_col, target_col)
    if isinstance(series, (list, tuple)) and series and not np.isscalar(series[0]):
        values = [finite_2d(f"series {i}", s) for i, s in enumerate(series)]
        ndims = {np.ndim(s) for s in series}
        if len(ndims) > 1 or len({v.shape[1] for v in values}) > 1:
            raise ValueError("the series must all be 1-D, or all 2-D with the same number of "
                             "targets")
        return Panel(values, list(range(len(values))), "list", ndim=ndims.pop())
    ndim = np.ndim(series)
    return Panel([finite_2d("series", series)], [0], "array", ndim=ndim)


def _read_frame(frame, id_col, time_col, target_col):
    targets = [target_col] if isinstance(target_col, str) else list(target_col)
    missing = [c for c in [id_col, time_col] + targets if c not in frame.columns]
    if missing:
        raise ValueError(f"the DataFrame has no column {missing} (its columns: "
                         f"{list(frame.columns)[:10]}); name them with id_col, time_col, target_col")
    values, ids, times = [], [], []
    for key, part in frame.groupby(id_col, sort=False):
        stamps = part[time_col].to_numpy()
        if len(stamps) > 1:
            steps = np.diff(stamps)
            if (steps == steps.dtype.type(0)).any():
                raise ValueError(f"series {key!r} has duplicated {time_col} values")
            if (steps < steps.dtype.type(0)).any():
                raise ValueError(f"series {key!r} is not sorted by {time_col}: sort the "
                                 f"DataFrame by [{id_col!r}, {time_col!r}]")
        y = part[targets].to_numpy()
        if y.dtype.kind not in "biuf":
            raise TypeError(f"{targets} of series {key!r} must be numeric, got dtype {y.dtype}")
        bad = np.flatnonzero(~np.isfinite(y.astype(np.float64)).all(axis=1))
        if len(bad):
            raise ValueError(f"series {key!r} has NaN or infinite {targets} at "
                             f"{time_col}={stamps[bad[0]]}")
        values.append(y.astype(np.float64))
        ids.append(key)
        times.append(stamps)
    if not values:
        raise ValueError("the DataFrame holds no series")
    return Panel(values, ids, "frame", times=times, id_col=id_col, time_col=time_col,
                 target_cols=targets, frame=frame)
