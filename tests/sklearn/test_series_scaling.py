"""scaling='series' and 'znorm': each sequence standardised by its own statistics, which 'series'
keeps as two more features per step (sklearn/series_scaling.py), checked against a per-sequence
NumPy loop, and what they buy: classes told apart by shape at any scale, or by level alone."""

import numpy as np
import pytest

from gru_native import GRUClassifier, GRURegressor
from gru_native.sklearn.series_scaling import (median_deviation, standardized_series,
                                               with_series_statistics)


def reference(sequences, unit):
    """Each sequence on its own: (values - mean) / std, mean, log std, the statistics in units
    of `unit` and rounded to 6 decimals, the std floored at 1e-6 units, per feature."""
    out = []
    for s in sequences:
        std = np.maximum(s.std(axis=0), 1e-6 * unit)
        out.append(np.hstack([(s - s.mean(axis=0)) / std,
                              np.tile(np.round(s.mean(axis=0) / unit, 6), (len(s), 1)),
                              np.tile(np.round(np.log(std / unit), 6), (len(s), 1))]))
    return out


def test_matches_a_per_sequence_reference_with_padding():
    rng = np.random.default_rng(0)
    lengths = [5, 9, 7, 9]
    sequences = [rng.normal(loc=3 * i, scale=10.0 ** i, size=(n, 2)) for i, n in enumerate(lengths)]
    values = np.zeros((4, 9, 2))
    for row, s in zip(values, sequences):
        row[:len(s)] = s
    mask = np.arange(9) < np.array(lengths)[:, None]
    unit = median_deviation(values, mask)
    np.testing.assert_allclose(unit, np.median([s.std(axis=0) for s in sequences], axis=0))
    out = with_series_statistics(values, mask, unit)
    assert out.shape == (4, 9, 6)
    z = standardized_series(values, mask, unit)
    for row, z_row, expected, n in zip(out, z, reference(sequences, unit), lengths):
        np.testing.assert_allclose(row[:n], expected, rtol=1e-12, atol=1e-12)
        assert not row[n:].any()  # padding stays zero
        np.testing.assert_array_equal(z_row, row[:, :2])  # 'znorm': the values alone
    # no mask: every step counts
    full = np.stack([s[:5] for s in sequences])
    np.testing.assert_allclose(with_series_statistics(full, None, unit),
                               np.stack(reference(list(full), unit)), rtol=1e-12, atol=1e-12)


def test_flat_sequences_stay_finite_and_small():
    values = np.array([[[2.0], [2.0], [2.0]], [[0.0], [1.0], [2.0]], [[5.0], [5.5], [5.0]]])
    unit = median_deviation(values, None)
    np.testing.assert_allclose(unit, np.median(values[:, :, 0].std(axis=1)))
    out = with_series_statistics(values, None, unit)
    assert np.isfinite(out).all()
    assert np.abs(out[:, :, 0]).max() <= np.sqrt(2) + 1e-9
    np.testing.assert_allclose(out[0, :, 2], np.round(np.log(1e-6), 6))  # floored
    assert median_deviation(np.ones((3, 4, 1)), None)[0] == 1.0  # all flat: unit 1


def test_statistics_of_z_normalised_sequences_are_exactly_constant():
    """An archive that is z-normalised already: the two statistics channels hold no rounding
    noise, so the estimator's standardisation makes them zero instead of unit-size noise."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 100, 1)) * 3 + 7
    X = (X - X.mean(axis=1, keepdims=True)) / X.std(axis=1, keepdims=True)
    out = with_series_statistics(X, None, median_deviation(X, None))
    assert np.ptp(out[:, :, 1]) == 0 and np.ptp(out[:, :, 2]) == 0
    np.testing.assert_allclose(out[:, :, 0], X[:, :, 0], atol=1e-12)


def shapes_at_random_scales(n, steps=40, seed=0):
    """Class 0 a sine, class 1 a square wave of the same period, each series multiplied by a
    random scale between 1e-3 and 1e3 and shifted by a random level, plus noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(steps)
    y = rng.integers(0, 2, n)
    phase = rng.uniform(0, 2 * np.pi, n)[:, None]
    wave = np.sin(2 * np.pi * t / 10 + phase)
    X = np.where(y[:, None] == 1, np.sign(wave), wave) + 0.1 * rng.normal(size=(n, steps))
    X = X * 10.0 ** rng.uniform(-3, 3, (n, 1)) + rng.normal(0, 100, (n, 1))
    return X, y


@pytest.mark.parametrize("scaling", ["series", "znorm"])
def test_series_scaling_tells_shapes_apart_at_any_scale(scaling):
    X, y = shapes_at_random_scales(120)
    X_test, y_test = shapes_at_random_scales(120, seed=1)
    params = dict(units=8, max_iter=40, random_state=0)
    series = GRUClassifier(scaling=scaling, **params).fit(X, y)
    assert series.settings_["scaling"] == scaling
    assert series.score(X_test, y_test) >= 0.9
    # the training set's standardisation leaves most series a flat line at their level
    assert GRUClassifier(scaling="global", **params).fit(X, y).score(X_test, y_test) < 0.75


def test_series_scaling_keeps_the_level():
    """The class is the level only: the same noise shape around 0 or 5."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 60)
    X = rng.normal(size=(60, 30)) + 5.0 * y[:, None]
    reg = GRURegressor(units=4, scaling="series", max_iter=60, random_state=0).fit(X, 5.0 * y)
    np.testing.assert_allclose(reg.predict(X), 5.0 * y, atol=0.5)


def test_predict_checks_the_features_per_step():
    X, y = shapes_at_random_scales(20)
    clf = GRUClassifier(units=4, scaling="series", max_iter=1, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="2 features per timestep, but GRUClassifier is "
                                         "expecting 1"):
        clf.predict(np.stack([X, X], axis=2))


def test_statistics_that_tell_nothing_are_left_out():
    """On sequences z-normalised already, scaling='series' builds and trains the very network
    of scaling='global': the same weights for the same random_state."""
    X, y = shapes_at_random_scales(30)
    X = (X - X.mean(axis=1, keepdims=True)) / X.std(axis=1, keepdims=True)
    fits = [GRUClassifier(units=4, scaling=s, max_iter=2, random_state=0).fit(X, y)
            for s in ("series", "global")]
    assert fits[0].model_.layers[0].output_shape == (None, 1)
    for a, b in zip(fits[0].model_.get_weights(), fits[1].model_.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    X_scaled = X * 10.0 ** np.linspace(-2, 2, len(X))[:, None]  # sizes differ: the size is kept
    assert GRUClassifier(units=4, scaling="series", max_iter=1, random_state=0).fit(
        X_scaled, y).model_.layers[0].output_shape == (None, 2)
