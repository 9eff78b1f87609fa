"""scikit-learn's estimator base classes, warnings and scores when scikit-learn is installed, and
small stand-ins with the same behaviour when it is not: the estimators are true scikit-learn
estimators with it, and scikit-learn stays an optional dependency."""

import inspect

import numpy as np


def r2_score(y_true, y_pred, sample_weight=None):
    """The coefficient of determination, averaged over outputs (scikit-learn's 'uniform_average';
    a constant target scores 1 if predicted exactly, else 0), with samples weighted."""
    y_true = np.asarray(y_true, np.float64).reshape(len(y_true), -1)
    y_pred = np.asarray(y_pred, np.float64).reshape(len(y_pred), -1)
    w = np.ones((len(y_true), 1)) if sample_weight is None else np.asarray(sample_weight)[:, None]
    residual = (w * (y_true - y_pred) ** 2).sum(axis=0)
    total = (w * (y_true - np.average(y_true, axis=0, weights=w[:, 0])) ** 2).sum(axis=0)
    scores = np.where(total > 0, 1 - residual / np.where(total > 0, total, 1), (residual == 0) * 1.0)
    return float(scores.mean())


def accuracy_score(y_true, y_pred, sample_weight=None):
    """The (weighted) fraction of samples predicted exactly (all labels of a sample, for 2-D y)."""
    right = np.asarray(y_true) == np.asarray(y_pred)
    return float(np.average(right.reshape(len(right), -1).all(axis=1), weights=sample_weight))


try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, TransformerMixin
    from sklearn.exceptions import ConvergenceWarning, DataConversionWarning, NotFittedError
    from sklearn.utils.validation import check_is_fitted
except ImportError:
    class NotFittedError(ValueError, AttributeError):
        """Raised when an estimator is used before it is fitted."""

    class ConvergenceWarning(UserWarning):
        """Training stopped at max_iter before the loss stopped improving."""

    class DataConversionWarning(UserWarning):
        """The input was converted: a column vector y to a 1-D array."""

    class BaseEstimator:
        """get_params / set_params over the constructor's arguments, as scikit-learn's."""

        @classmethod
        def _get_param_names(cls):
            signature = inspect.signature(cls.__init__)
            return sorted(p.name for p in signature.parameters.values() if p.name != "self")

        def get_params(self, deep=True):
            return {name: getattr(self, name) for name in self._get_param_names()}

        def set_params(self, **params):
            valid = self._get_param_names()
            for name, value in params.items():
                if name not in valid:
                    raise ValueError(f"Invalid parameter {name!r} for estimator {self}. "
                                     f"Valid parameters are: {valid!r}.")
                setattr(self, name, value)
            return self

        def __repr__(self):
            """The parameters that differ from their defaults, as scikit-learn prints them."""
            parameters = inspect.signature(type(self).__init__).parameters
            changed = [f"{k}={v!r}" for k, v in self.get_params().items()
                       if not (type(v) is type(parameters[k].default) and v == parameters[k].default)]
            return f"{type(self).__name__}({', '.join(changed)})"

    class RegressorMixin:
        _estimator_type = "regressor"

        def score(self, X, y):
            """R² of predict(X) against y."""
            return r2_score(y, self.predict(X))

    class TransformerMixin:
        def fit_transform(self, X, y=None, **fit_params):
            return self.fit(X, y, **fit_params).transform(X)

    class ClassifierMixin:
        _estimator_type = "classifier"

        def score(self, X, y):
            """Accuracy of predict(X) against y."""
            return accuracy_score(y, self.predict(X))

    def check_is_fitted(estimator):
        if not any(k.endswith("_") and not k.startswith("__") for k in vars(estimator)):
            raise NotFittedError(f"This {type(estimator).__name__} instance is not fitted yet. Call "
                                 "'fit' with appropriate arguments before using this estimator.")
