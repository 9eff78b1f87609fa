import os

# scikit-learn's check_array_api_input (run by tests/test_estimators.py) checks only when SciPy
# was imported with its array API support on; SciPy reads this once, at its import.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(20261125)


