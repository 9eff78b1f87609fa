"""The package's import: fast (scikit-learn loads only with the estimators) and complete."""

import subprocess
import sys


def test_import_does_not_load_scikit_learn_until_the_estimators_are_used():
    code = ("import sys, gru_native\n"
            "assert 'sklearn' not in sys.modules, 'imported scikit-learn'\n"
            "from gru_native import GRUClassifier, GRUForecaster, GRURegressor, preprocessing\n"
            "print(GRURegressor.__name__, GRUForecaster.__name__, preprocessing.__name__)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["GRURegressor", "GRUForecaster", "gru_native.preprocessing"]


def test_everything_exported_exists():
    import gru_native

    for name in gru_native.__all__:
        assert getattr(gru_native, name) is not None, name
