"""scikit-learn estimators and forecasters over gru_native models (public names only).

The estimators load on first use, so that the base classes (which SequenceScaler and the
Tokenizer's NotFittedError come from) import without the models."""

_ESTIMATORS = {"GRUClassifier": "estimators", "GRURegressor": "estimators",
               "GRUForecaster": "forecaster"}


def __getattr__(name):
    if name not in _ESTIMATORS:
        raise AttributeError(f"module 'gru_native.sklearn' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f".{_ESTIMATORS[name]}", __name__), name)


__all__ = ["GRUClassifier", "GRUForecaster", "GRURegressor"]
