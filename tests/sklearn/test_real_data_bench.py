"""bench/real_data.py: its loaders give the archive's documented splits, its synthetic motif task is
solvable by construction, and its --quick mode runs end to end and writes the JSON and the table."""

import importlib
import json
import os
import sys

import numpy as np
import pytest

pytest.importorskip("pyts")
pytest.importorskip("sktime")
pytest.importorskip("sklearn")

BENCH = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "bench"))


@pytest.fixture(scope="module")
def rd():
    # imported by name from bench/, so that its spawned worker processes import it too (they
    # inherit sys.path)
    sys.path.insert(0, BENCH)
    try:
        yield importlib.import_module("real_data")
    finally:
        sys.path.remove(BENCH)


def _lengths(X):
    return [len(s) for s in X] if isinstance(X, list) else [np.shape(X)[1]] * len(X)


# (train cases, test cases, steps (min, max), classes), as the archive documents them
# (timeseriesclassification.com; UnitTest: sktime's load_unit_test docstring); digits and motif
# are ours: 1347 / 450 is the 75/25 split of 1797 images.
DOCUMENTED = {
    "Coffee": (28, 28, (286, 286), 2),
    "PigCVP": (104, 208, (2000, 2000), 52),
    "PLAID": (537, 537, (100, 1344), 11),
    "UnitTest": (20, 22, (24, 24), 2),
    "ArrowHead": (36, 175, (251, 251), 3),
    "GunPoint": (50, 150, (150, 150), 2),
    "ItalyPowerDemand": (67, 1029, (24, 24), 2),
    "OSULeaf": (200, 242, (427, 427), 6),
    "digits": (1347, 450, (8, 8), 10),
    "motif": (300, 300, (500, 500), 3),
}


@pytest.mark.parametrize("name", list(DOCUMENTED))
def test_loaders_give_the_documented_default_split(rd, name):
    n_train, n_test, (shortest, longest), n_classes = DOCUMENTED[name]
    X_train, X_test, y_train, y_test = rd.DATASETS[name]["load"]()
    assert (len(X_train), len(y_train), len(X_test), len(y_test)) == (n_train, n_train, n_test,
                                                                      n_test)
    steps = _lengths(X_train) + _lengths(X_test)
    assert (min(steps), max(steps)) == (shortest, longest)
    assert len(np.unique(y_train)) == n_classes
    assert set(np.unique(y_test)) <= set(np.unique(y_train))
    for X in (X_train, X_test):
        values = np.concatenate([np.ravel(s) for s in X])
        assert np.isfinite(values).all() and values.std() > 0
    if name == "PLAID":  # variable lengths: lists of 1-D sequences, as GRUClassifier takes them
        assert isinstance(X_train, list) and X_train[0].ndim == 1
        assert len(set(_lengths(X_train))) > 50
    if name == "digits":
        assert np.shape(X_train)[1:] == (8, 8)


def test_read_ts_reads_values_and_labels(rd, tmp_path):
    path = tmp_path / "Toy_TRAIN.ts"
    path.write_text("# comment\n%another\n@problemName Toy\n@classLabel true a b\n@data\n"
                    "1.0,2.5,3:a\n-4,5e-1:b\n")
    X, y = rd.read_ts(str(path))
    np.testing.assert_array_equal(X[0], [1.0, 2.5, 3.0])
    np.testing.assert_array_equal(X[1], [-4.0, 0.5])
    assert list(y) == ["a", "b"]
    path.write_text("@data\n1,2:1,2:0\n")
    with pytest.raises(ValueError, match="multivariate"):
        rd.read_ts(str(path))


def test_motif_task_is_solvable_by_construction(rd):
    X_train, X_test, y_train, y_test = rd.motif()
    shapes = rd.motif_shapes()
    assert shapes.shape == (rd.MOTIF["classes"], rd.MOTIF["length"])
    np.testing.assert_allclose(shapes @ shapes.T, np.eye(len(shapes)) * (shapes[0] @ shapes[0]),
                               atol=1e-9)  # orthogonal, equal energy: only shape tells them apart
    assert np.bincount(y_train).min() >= 80  # roughly balanced
    accuracy = (rd.matched_filter_predict(X_test, shapes) == y_test).mean()
    assert accuracy >= 0.95
    # and it is not solvable without the motif: the class is not in the series' plain statistics
    for statistic in (np.mean, np.std, np.max):
        values = statistic(X_test, axis=1)
        per_class = [values[y_test == c].mean() for c in range(len(shapes))]
        assert np.ptp(per_class) < 0.5 * values.std()


def test_pool_steps_and_subsample(rd):
    X = np.arange(2 * 7, dtype=float).reshape(2, 7)
    np.testing.assert_allclose(rd.pool_steps(X, 3), [[1, 4, 6], [8, 11, 13]])
    pooled = rd.pool_steps([np.arange(5.0), np.arange(2.0)], 2)
    np.testing.assert_allclose(pooled[0], [0.5, 2.5, 4])
    np.testing.assert_allclose(pooled[1], [0.5])
    y = np.repeat(np.arange(5), [20, 1, 1, 1, 1])
    Xs, ys = rd.subsample(list(range(24)), y, 6)
    assert sorted(set(ys)) == [0, 1, 2, 3, 4] and len(ys) == 6 and Xs == sorted(Xs)


def test_quick_run_writes_results_end_to_end(rd, tmp_path):
    """The harness end to end on the three smallest sets (the loaders of the others are checked
    above), without the torch baseline (CI time): every run recorded, the table written."""
    out = tmp_path / "results.json"
    names = ["Coffee", "UnitTest", "digits"]
    facts, rows, runs = rd.main(["--quick", "--no-torch", "--datasets", ",".join(names),
                                 "--out", str(out)])
    assert set(facts) == set(names)
    data = json.loads(out.read_text())
    assert data["quick"] is True
    expected = {(d, c) for d in names for c in rd.QUICK_CONFIGS}
    assert {(r["dataset"], r["config"]) for r in data["runs"]} == expected
    for r in data["runs"]:
        assert 0.0 <= r["accuracy"] <= 1.0 and r["fit_seconds"] > 0
        assert 1 <= r["n_iter"] <= rd.QUICK_MAX_ITER
    gru = {(r["dataset"], r["config"]): r for r in data["runs"]}
    # learning happens even in the smoke test: digits well above chance (0.1)
    assert gru[("digits", "defaults")]["accuracy"] > 0.5
    assert data["datasets"]["Coffee"]["published"]["ROCKET"]["accuracy"] == 1.0
    table = (tmp_path / "results.md").read_text()
    lines = [line for line in table.splitlines() if line.startswith("| ")]
    assert lines[0].startswith("| data set | steps | classes | train size | config |")
    assert len(lines) == 1 + len(rows)
    for name in names:
        assert any(line.startswith(f"| {name} |") for line in lines)
    assert "--quick" in table
