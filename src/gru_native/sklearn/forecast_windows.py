"""The network inputs of a GRUForecaster: windows cut from many series at once.

A window ending at origin t (its first forecast step) holds the `lookback` steps before t
relative to the window: minus its level (the mean of its steps) and divided by its scale (the
mean absolute change between its consecutive steps, as MASE's scale), so that the network reads
the shape of the recent past at any level and amplitude, and forecasts the departure from that
level in units of the recent changes. A series with fewer steps before t is left-padded with
zeros and masked, so the kernels skip the padding. Each step carries, after
the series' values, its past covariates, its future covariates and the series' static
covariates; with future covariates the window goes on over the `horizon` forecast steps (the
series unknown there: zeros, and a flag that is 1 where it is known).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np


@dataclass
class SeriesSteps:
    """One series' standardised steps and covariates: values (steps, targets); past
    (steps, k) or None; future (steps + forecast steps known, k) or None; static (k,) or None."""
    values: np.ndarray
    past: Optional[np.ndarray] = None
    future: Optional[np.ndarray] = None
    static: Optional[np.ndarray] = None


def _padded_windows(a: np.ndarray, lookback: int, length: int, origins: np.ndarray) -> np.ndarray:
    """(windows, length, k): a's rows from origin - lookback on, zeros before its first row and
    after its last."""
    padded = np.concatenate([np.zeros((lookback,) + a.shape[1:]), a,
                             np.zeros((max(0, origins.max() + length - lookback - len(a)),)
                                      + a.shape[1:])])
    index = origins[:, None] + np.arange(length)
    return padded[index]


def windows(steps: SeriesSteps, origins: np.ndarray, lookback: int, horizon: int,
            with_future: bool):
    """(inputs (windows, time, features), valid-step mask (windows, time), levels and scales
    (windows, 1, targets) each) of one series' windows at `origins`."""
    length = lookback + (horizon if with_future else 0)
    positions = origins[:, None] - lookback + np.arange(length)
    mask = positions >= 0
    past_mask = mask[:, :lookback]
    values = _padded_windows(steps.values, lookback, lookback, origins)
    count = past_mask.sum(axis=1)[:, None, None]
    level = (values * past_mask[..., None]).sum(axis=1, keepdims=True) / count
    pairs = (past_mask[:, 1:] & past_mask[:, :-1])[..., None]
    changes = (np.abs(np.diff(values, axis=1)) * pairs).sum(axis=1, keepdims=True)
    scale = changes / np.maximum(pairs.sum(axis=1, keepdims=True), 1)
    # a flat window (or one of a single step) keeps the series' own unit
    scale = np.where(scale > 1e-6, scale, 1.0)
    relative = (values - level) / scale * past_mask[..., None]
    parts = [relative]
    if steps.past is not None:
        parts.append(_padded_windows(steps.past, lookback, lookback, origins))
    if with_future:
        parts = [np.concatenate([p, np.zeros((len(p), horizon, p.shape[2]))], axis=1)
                 for p in parts]
        parts.append(_padded_windows(steps.future, lookback, length, origins))
    if steps.static is not None:
        parts.append(np.broadcast_to(steps.static, (len(origins), length, len(steps.static))))
    if with_future:
        parts.append(np.concatenate([np.ones((len(origins), lookback, 1)),
                                     np.zeros((len(origins), horizon, 1))], axis=1))
    x = np.concatenate(parts, axis=2) * mask[..., None]
    return x, mask, level, scale


def training_origins(length: int, lookback: int, horizon: int) -> np.ndarray:
    """Every origin of a series of `length` steps with `horizon` steps after it and a full
    lookback before it; a series too short for one gets one window over all its steps."""
    first = min(lookback, length - horizon)
    return np.arange(first, length - horizon + 1)


def targets(values: np.ndarray, origins: np.ndarray, horizon: int, level: np.ndarray,
            scale: np.ndarray) -> np.ndarray:
    """(windows, horizon * targets): the horizon steps after each origin, relative to its
    window (minus its level, divided by its scale)."""
    index = origins[:, None] + np.arange(horizon)
    return ((values[index] - level) / scale).reshape(len(origins), -1)
