import os

# scikit-learn's check_array_api_input (run by tests/test_estimators.py) checks only when SciPy
# was imported with its array API support on; SciPy reads this once, at its import.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(20261125)




@pytest.fixture(autouse=True)
def seeded_package_rng():
    """Every test starts from the same seeded stream of gru_native's random numbers (initial
    weights, shuffling, dropout) and NumPy's global ones, whatever tests ran before it: a
    float32 comparison's margin does not depend on the order the tests run in."""
    import gru_native

    gru_native.utils.set_random_seed(0)
