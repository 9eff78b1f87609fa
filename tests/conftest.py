import os

# scikit-learn's check_array_api_input (run by tests/test_estimators.py) checks only when SciPy
# was imported with its array API support on; SciPy reads this once, at its import.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(20261125)


def random_gru(rng, T, I, H, B, reset_after=True, dtype=np.float64, scale=0.5):
    """Inputs and weights of one GRU call, with values large enough to exercise saturation."""
    x = rng.normal(size=(B, T, I))
    W = rng.normal(scale=scale, size=(I, 3 * H))
    U = rng.normal(scale=scale, size=(H, 3 * H))
    b = rng.normal(scale=scale, size=(2, 3 * H) if reset_after else 3 * H)
    h0 = rng.normal(scale=0.5, size=(B, H))
    return [a.astype(dtype) for a in (x, W, U, b, h0)]
