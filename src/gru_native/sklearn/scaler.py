"""SequenceScaler: per-feature standardisation of sequences, a scikit-learn transformer.

Nothing here needs scikit-learn; when it is installed, SequenceScaler inherits its base classes so
that clone, pipelines and grid searches treat it as one of their own.
"""

from __future__ import annotations

from typing import Any, Sequence, TypeVar, Union

import numpy as np
from numpy.typing import ArrayLike

from ..validation import check_bool, check_finite
from .base import BaseEstimator, NotFittedError, TransformerMixin

# Sequences as SequenceScaler takes and returns them: an array (n, T, F) or (n, T), or a list
# of arrays (T_i, F) or (T_i,) of different lengths.
SequenceData = Union[ArrayLike, Sequence[ArrayLike]]
_Scaler = TypeVar("_Scaler", bound="SequenceScaler")


def _stacked_steps(X):
    """The timesteps of all sequences in X as one (steps, F) float array, and the function that
    puts an array of that layout back into X's form.

    X is an array (n, T, F), an array (n, T) of one feature, or a list of arrays (T_i, F) or
    (T_i,) whose lengths may differ; a list comes back as a list.
    """
    if isinstance(X, (list, tuple)):
        if not X:
            raise ValueError("X is an empty list: it holds no sequences")
        sequences = [np.asarray(seq) for seq in X]
        for i, seq in enumerate(sequences):
            if seq.ndim not in (1, 2):
                raise ValueError(f"each sequence must have shape (timesteps, features) or "
                                 f"(timesteps,); the one at position {i} has {seq.shape}")
        widths = {1 if seq.ndim == 1 else seq.shape[1] for seq in sequences}
        if len(widths) > 1:
            raise ValueError(f"the sequences have different numbers of features: {sorted(widths)}")
        width = widths.pop()
        steps = np.concatenate([seq.reshape(len(seq), width) for seq in sequences])
        ends = np.cumsum([len(seq) for seq in sequences])[:-1]

        def restore(values):
            return [part.reshape(seq.shape) for part, seq in zip(np.split(values, ends), sequences)]
    else:
        X = np.asarray(X)
        if X.ndim not in (2, 3):
            raise ValueError("X must have shape (samples, timesteps, features), (samples, "
                             f"timesteps) or be a list of sequences, got shape {X.shape}")
        steps = X.reshape(-1, X.shape[2] if X.ndim == 3 else 1)

        def restore(values):
            return values.reshape(X.shape)
    check_finite(steps, "X")
    if steps.dtype.kind != "f":
        steps = steps.astype(np.float64)
    return steps, restore


class SequenceScaler(TransformerMixin, BaseEstimator):
    """Standardise each feature of sequences, as sklearn's StandardScaler over their timesteps.

    ``(x - mean_) / scale_``, with the statistics taken over all samples and timesteps, as
    sklearn's StandardScaler over the stacked timesteps. Takes arrays (samples, timesteps,
    features), arrays (samples, timesteps) as one feature, or lists of arrays (timesteps_i,
    features) of different lengths (not padded, so padding does not bias the statistics), and
    returns the same form. Floating inputs keep their dtype; others become float64.

    Parameters
    ----------
    with_mean : bool, default=True
        Subtract the mean.
    with_std : bool, default=True
        Divide by the standard deviation.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,) or None
        The mean of each feature (None when `with_mean` and `with_std` are both False).
    scale_ : ndarray of shape (n_features,) or None
        The standard deviation of each feature, 1 for features that are constant (None when
        `with_std` is False).
    n_features_in_ : int
        The features per timestep.
    """

    def __init__(self, with_mean: bool = True, with_std: bool = True) -> None:
        self.with_mean = with_mean
        self.with_std = with_std

    def fit(self: _Scaler, X: SequenceData, y: Any = None) -> _Scaler:
        """Compute the per-feature mean and standard deviation.

        Parameters
        ----------
        X : array-like or list of array-like
            (samples, timesteps, features), (samples, timesteps) for one feature, or a list
            of sequences (timesteps_i, features) or (timesteps_i,) of any lengths.
        y : None
            Ignored.

        Returns
        -------
        self
            The fitted scaler.

        Raises
        ------
        ValueError
            For X of another shape, holding no timesteps, NaN or infinite values, or
            sequences with different numbers of features.
        TypeError
            If `with_mean` or `with_std` is not a bool.
        """
        check_bool(self.with_mean, "with_mean")
        check_bool(self.with_std, "with_std")
        steps, _ = _stacked_steps(X)
        if len(steps) == 0:
            raise ValueError("X holds no timesteps to fit on")
        self.n_features_in_ = steps.shape[1]
        self.mean_ = None
        if self.with_mean or self.with_std:
            self.mean_ = steps.mean(axis=0, dtype=np.float64)
        self.scale_ = None
        if self.with_std:
            # constant features keep their values (minus the mean) rather than divide by ~0
            constant = np.ptp(steps, axis=0) == 0
            self.scale_ = np.where(constant, 1.0, steps.std(axis=0, dtype=np.float64))
        return self

    def transform(self, X: SequenceData) -> Union[np.ndarray, list[np.ndarray]]:
        """Standardise X with the fitted statistics.

        Parameters
        ----------
        X : array-like or list of array-like
            Sequences as `fit` takes them, with the fitted number of features.

        Returns
        -------
        ndarray or list of ndarray
            The standardised sequences, in X's form (a new array: never X's memory).

        Raises
        ------
        NotFittedError
            If the scaler is not fitted yet.
        ValueError
            For X with another number of features than at fit, or not of a form `fit` takes.
        """
        steps, restore = self._fitted_steps(X)
        if self.with_mean:
            steps -= self.mean_
        if self.with_std:
            steps /= self.scale_
        return restore(steps)

    def inverse_transform(self, X: SequenceData) -> Union[np.ndarray, list[np.ndarray]]:
        """Undo `transform`: scale back and add the mean.

        Parameters
        ----------
        X : array-like or list of array-like
            Standardised sequences, in a form `fit` takes.

        Returns
        -------
        ndarray or list of ndarray
            The sequences in their original units, in X's form (a new array).

        Raises
        ------
        NotFittedError
            If the scaler is not fitted yet.
        ValueError
            For X with another number of features than at fit, or not of a form `fit` takes.
        """
        steps, restore = self._fitted_steps(X)
        if self.with_std:
            steps *= self.scale_
        if self.with_mean:
            steps += self.mean_
        return restore(steps)

    def _fitted_steps(self, X):
        if not hasattr(self, "n_features_in_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet: call fit first")
        steps, restore = _stacked_steps(X)
        if steps.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {steps.shape[1]} features, but {type(self).__name__} was "
                             f"fitted on {self.n_features_in_}")
        # a copy to compute in place: the result never shares memory with X
        return steps.copy(), restore
