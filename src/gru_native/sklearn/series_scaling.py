"""Each sequence standardised by its own statistics (z-normalisation), with or without those
statistics kept as features.

The UCR/UEA archive's convention (and InceptionTime's input) is to z-normalise every series on its
own, so that a classifier compares shapes; but on some recordings the level or the size of a
series is the class (a pig's venous pressure, an appliance's current). Both are kept: each
feature of a sequence becomes three, its values standardised by the sequence's own mean and
standard deviation (over its real steps), that mean, and the logarithm of that deviation, the two
repeated at every step. The estimator then standardises all of them over the training set as any
other feature.

The two statistics are measured in units of the training sequences' median deviation and rounded
to _RESOLUTION: on an archive that is z-normalised already they are then exactly constant (and
standardised to zero), not rounding noise blown up to unit size.
"""

import numpy as np

# A sequence whose deviation is this far below the training set's median one is flat: its
# deviation is floored there, so that its noise is not blown up and its logarithm stays finite.
_FLAT = 1e-6
_RESOLUTION = 6  # decimals of the statistics, in units of the median deviation


def series_statistics(values, mask):
    """Each sequence's mean and standard deviation per feature over its real steps: two arrays
    (samples, features). values: (samples, timesteps, features); mask: (samples, timesteps) bool,
    or None when every step is real."""
    weight = np.ones(values.shape[:2]) if mask is None else mask.astype(values.dtype)
    weight = weight[:, :, None]
    count = weight.sum(axis=1)
    mean = (values * weight).sum(axis=1) / count
    deviation = np.sqrt((((values - mean[:, None]) * weight) ** 2).sum(axis=1) / count)
    return mean, deviation


def median_deviation(values, mask):
    """The unit of the statistics, per feature: the median deviation of the training sequences
    (1 where they are all flat)."""
    median = np.median(series_statistics(values, mask)[1], axis=0)
    return np.where(median > 0, median, 1.0)


def _standardized(values, mask, unit):
    """(each sequence's values by its own statistics, padded steps zero; its mean; its
    deviation floored at _FLAT `unit`s)."""
    mean, deviation = series_statistics(values, mask)
    deviation = np.maximum(deviation, _FLAT * unit)
    z = (values - mean[:, None]) / deviation[:, None]
    if mask is not None:
        z[~mask] = 0.0
    return z, mean, deviation


def standardized_series(values, mask, unit):
    """Each sequence's values standardised by its own mean and deviation per feature (the
    deviation floored at _FLAT `unit`s): the archives' z-normalisation. Padded steps stay zero."""
    return _standardized(values, mask, unit)[0]


def with_series_statistics(values, mask, unit):
    """(samples, timesteps, features) -> (samples, timesteps, 3 * features): each sequence's
    values standardised by its own statistics, its mean and its log deviation (both in `unit`s,
    the deviation floored at _FLAT units). Padded steps stay zero."""
    z, mean, deviation = _standardized(values, mask, unit)
    steps = values.shape[1]
    level = np.round(mean / unit, _RESOLUTION)
    size = np.round(np.log(deviation / unit), _RESOLUTION)
    out = np.concatenate([z, np.repeat(level[:, None], steps, axis=1),
                          np.repeat(size[:, None], steps, axis=1)], axis=2)
    if mask is not None:
        out[~mask] = 0.0
    return out
