"""gru_native: fast GRU networks on the CPU, C kernels (OpenMP + BLAS) behind a small Python API."""

import os as _os

# Idle OpenMP threads spin briefly, then sleep. Our kernels start one thread team per call, so
# a short spin saves the wake-up between calls (about a third of a small training step), while
# libgomp's default spin (300,000 rounds, ~ms) or OMP_WAIT_POLICY=ACTIVE starves other thread
# pools in the process: a NumPy matmul right after a call then took 4 ms instead of 0.14 ms.
# libgomp reads this when our extensions load it; nothing changes if it is already loaded.
_os.environ.setdefault("GOMP_SPINCOUNT", "10000")


from .kernels.gru import GRUCache, GRUWorkspace, gru_backward, gru_forward  # noqa: E402
from .kernels.threads import (  # noqa: E402
    BLAS_BACKEND, get_num_threads, limited_threads, set_num_threads)
from .kernels import threadpool as _threadpool  # noqa: E402,F401  (threadpoolctl sees our setting)
from . import activations, callbacks, initializers, losses, metrics, optimizers, utils  # noqa: E402
from .layers import (  # noqa: E402
    GRU, LSTM, Activation, Add, Average, Bidirectional, Concatenate, Dense, Dropout, Embedding,
    Flatten, Layer, Masking, Maximum, Minimum, Multiply, Permute, RepeatVector, Reshape, Subtract,
    TimeDistributed)
from .layers import Input  # noqa: E402
from . import distributed, layers, models, validation  # noqa: E402
from .models import Model, Sequential, load_model  # noqa: E402
from .interop import from_keras, from_torch  # noqa: E402

__version__ = "0.1.0"

# The scikit-learn estimators load on first use: importing scikit-learn takes about a second,
# which users of the Keras-style API (and every prediction service) should not pay.
_LAZY = {"GRUClassifier": "sklearn.estimators", "GRURegressor": "sklearn.estimators",
         "GRUForecaster": "sklearn.forecaster", "preprocessing": None}


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'gru_native' has no attribute {name!r}")
    import importlib

    module = importlib.import_module(f".{_LAZY[name] or name}", __name__)
    value = module if _LAZY[name] is None else getattr(module, name)
    globals()[name] = value
    return value


__all__ = [
    "BLAS_BACKEND", "GRU", "GRUCache", "GRUWorkspace", "GRUClassifier", "GRUForecaster",
    "GRURegressor", "LSTM", "Activation", "Bidirectional", "Dense", "Dropout", "Embedding", "Layer",
    "Masking", "Concatenate", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum",
    "RepeatVector", "Flatten", "Reshape", "Permute", "TimeDistributed",
    "Input", "Model", "Sequential", "layers", "models", "preprocessing", "from_keras", "from_torch",
    "activations", "callbacks", "distributed", "get_num_threads", "gru_backward", "gru_forward", "initializers",
    "limited_threads", "load_model", "losses", "metrics", "optimizers", "set_num_threads", "utils",
    "validation",
]
