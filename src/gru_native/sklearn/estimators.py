"""scikit-learn estimators over a GRU network: GRURegressor and GRUClassifier.

They follow MLPRegressor / MLPClassifier (parameters, fitted attributes, early stopping, warm_start,
partial_fit) for sequence inputs: X is (samples, timesteps, features), or (samples, timesteps) for
one feature per step, or a list of sequences of different lengths. X (and the regressor's y) are
standardised inside, with statistics of the first fit, and predictions come back in y's units.
For short sequences the network computes in float64, so that a sample's prediction does not
depend on the batch it is predicted in; for long ones, InceptionTime's network in float32. A
random_state gives bit-identical fits (for the same n_jobs).
"""

from __future__ import annotations

import contextlib
import functools
import numbers
import os
import warnings
from typing import Literal, Optional, Sequence, TypeVar, Union

import numpy as np
from numpy.typing import ArrayLike

from .. import optimizers, utils
from .sequence_input import finite_float_array, read_sequences
from .series_scaling import median_deviation, standardized_series, with_series_statistics
from .base import (BaseEstimator, ClassifierMixin, ConvergenceWarning,
                            DataConversionWarning, RegressorMixin, accuracy_score,
                            check_is_fitted, r2_score)
from .. import limited_threads
from ..layers import (GRU, LSTM, Activation, Add, Attention, BatchNormalization, Bidirectional,
                      Concatenate, Conv1D, Dense, GlobalAveragePooling1D, GlobalMaxPooling1D,
                      Input, LayerNormalization, MaxPooling1D)
from ..distributed import lazy_over_dask
from ..layers.padding_mask import PaddingMask
from ..models import Model
from ..validation import check_bool, check_choice, check_int, check_real

__all__ = ["GRURegressor", "GRUClassifier"]

_OPTIMIZERS = ("adam", "adamw", "rmsprop", "sgd")
_CELLS = {"gru": GRU, "lstm": LSTM}
_POOLINGS = ("last", "mean", "max", "max_mean", "attention")
# 'auto': from this median length on, a convolutional front end (measured: bench/real_data.py)
_LONG_SEQUENCES = 100
_NORMALIZATIONS = {None: None, "batch": BatchNormalization, "layer": LayerNormalization}
_LR_SCHEDULES = ("constant", "plateau")
_DTYPES = ("float32", "float64")
_SCALINGS = ("global", "series", "znorm")
_PREDICT_BATCH = 1024  # the batch does not change results (float64), only speed and memory

# X: an array (samples, timesteps, features) or (samples, timesteps), or a list of sequences
# (timesteps_i, features) or (timesteps_i,) of different lengths
SequenceData = Union[ArrayLike, Sequence[ArrayLike]]
RandomState = Union[int, np.random.RandomState, np.random.Generator, None]
_Estimator = TypeVar("_Estimator", bound="_GRUEstimator")


def _available_cores():
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def _kernel_threads(n_jobs):
    """The kernels' threads for this thread's calls inside the block: n_jobs (joblib's
    convention: -1 all cores); n_jobs=None leaves the package's setting."""
    if n_jobs is None:
        return contextlib.nullcontext()
    return limited_threads(n_jobs if n_jobs > 0 else max(1, _available_cores() + 1 + n_jobs))


def _generator(random_state):
    """A numpy Generator from scikit-learn's random_state values (None, an int, a RandomState),
    or a Generator itself."""
    if random_state is None or isinstance(random_state, (numbers.Integral, np.random.Generator)):
        return np.random.default_rng(random_state)
    return np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))


# ---- hyper-parameter checks (at fit, as scikit-learn's convention: __init__ only stores) ----------

# scikit-learn's convention: a value of the wrong type is a TypeError, one out of range a ValueError
_int = functools.partial(check_int, wrong_type=TypeError)
_real = functools.partial(check_real, wrong_type=TypeError)


def _is_auto(value):
    return isinstance(value, str) and value == "auto"


def _layer_sizes(name, value, allow_empty):
    """units / dense_units: one positive int, or a tuple (or list) of them."""
    sizes = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if not sizes and not allow_empty:
        raise ValueError(f"{name} must be a positive integer or a non-empty tuple of them, got ()")
    return tuple(_int(size, name, 1) for size in sizes)


def _weighted_mean_std(values, weights):
    """The mean and standard deviation of the rows of `values`, weighted (None: equally)."""
    if weights is None:
        return values.mean(axis=0), values.std(axis=0)
    mean = np.average(values, axis=0, weights=weights)
    return mean, np.sqrt(np.average((values - mean) ** 2, axis=0, weights=weights))


def _weighted_samples(batch, y, sample_weight):
    """(batch, y, weights) without the samples of weight 0 (so that a weight of 0 is the same as
    leaving the sample out); weights None when none is given or all are 1."""
    if sample_weight is None:
        return batch, y, None
    n = len(batch.values)
    weights = finite_float_array(sample_weight, "sample_weight")
    if weights.ndim != 1 or len(weights) != n:
        raise ValueError(f"sample_weight must have shape ({n},) (one weight per sample), got "
                         f"{weights.shape}")
    if (weights < 0).any():
        raise ValueError("Negative values in data passed to sample_weight")
    if not weights.any():
        raise ValueError("Sample weights must contain at least one non-zero number.")
    keep = weights > 0
    if not keep.all():
        y = np.asarray(y)
        if len(y) != n:
            raise ValueError(f"X and y have different numbers of samples: {n} and {len(y)}")
        batch = batch._replace(values=batch.values[keep],
                               mask=None if batch.mask is None else batch.mask[keep])
        y, weights = y[keep], weights[keep]
    return batch, y, None if (weights == 1).all() else weights


def _batches(x, mask, order, batch_size):
    """(indices, x, mask) of each batch of `order`, cut after its longest sequence: the padding
    beyond it changes nothing (the recurrent kernels and PaddingMask skip padding), so
    variable-length sequences cost their batch's length, not the longest one's."""
    for start in range(0, len(x), batch_size):
        idx = order[start:start + batch_size]
        if mask is None:
            yield idx, x[idx], None
        else:
            steps = np.flatnonzero(mask[idx].any(axis=0))[-1] + 1  # padding is at the end
            yield idx, x[idx, :steps], mask[idx, :steps]


class _GRUEstimator(BaseEstimator):
    """What the regressor and the classifier share: parameters, input, training loop, threads."""

    def __init__(self, units: Union[Literal["auto"], int, Sequence[int]] = "auto", *,
                 cell: Literal["gru", "lstm"] = "gru", bidirectional: bool = False,
                 reset_after: bool = True, dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 dense_units: Union[int, Sequence[int]] = (),
                 scaling: Literal["auto", "global", "series", "znorm"] = "auto",
                 conv_filters: Union[Literal["auto"], int, Sequence[int]] = "auto",
                 conv_kernel_size: Union[Literal["auto"], int, Sequence[int]] = "auto",
                 conv_pool_size: Union[Literal["auto"], int] = "auto",
                 normalization: Optional[Literal["batch", "layer"]] = "batch",
                 pooling: Literal["auto", "last", "mean", "max", "max_mean", "attention"] = "auto",
                 learning_rate: Union[Literal["auto"], float] = "auto",
                 optimizer: Literal["adam", "adamw", "rmsprop", "sgd"] = "adam",
                 global_clipnorm: Optional[float] = 1.0,
                 batch_size: Union[Literal["auto"], int] = "auto", max_iter: int = 200,
                 min_steps: Union[Literal["auto"], int] = "auto",
                 lr_schedule: Literal["auto", "constant", "plateau"] = "auto",
                 early_stopping: bool = False, validation_fraction: float = 0.1,
                 n_iter_no_change: int = 10, tol: float = 1e-4, warm_start: bool = False,
                 shuffle: bool = True, random_state: RandomState = None,
                 dtype: Literal["auto", "float32", "float64"] = "auto",
                 n_jobs: Optional[int] = None, verbose: Union[bool, int] = False) -> None:
        self.units = units
        self.cell = cell
        self.bidirectional = bidirectional
        self.reset_after = reset_after
        self.dropout = dropout
        self.recurrent_dropout = recurrent_dropout
        self.dense_units = dense_units
        self.scaling = scaling
        self.conv_filters = conv_filters
        self.conv_kernel_size = conv_kernel_size
        self.conv_pool_size = conv_pool_size
        self.normalization = normalization
        self.pooling = pooling
        self.learning_rate = learning_rate
        self.optimizer = optimizer
        self.global_clipnorm = global_clipnorm
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.min_steps = min_steps
        self.lr_schedule = lr_schedule
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.warm_start = warm_start
        self.shuffle = shuffle
        self.random_state = random_state
        self.dtype = dtype
        self.n_jobs = n_jobs
        self.verbose = verbose

    def _check_params(self):
        if not _is_auto(self.units):
            _layer_sizes("units", self.units, allow_empty=True)
        _layer_sizes("dense_units", self.dense_units, allow_empty=True)
        if not _is_auto(self.conv_filters):
            _layer_sizes("conv_filters", self.conv_filters, allow_empty=True)
        if not _is_auto(self.conv_kernel_size):
            _layer_sizes("conv_kernel_size", self.conv_kernel_size, allow_empty=False)
        if not _is_auto(self.conv_pool_size):
            _int(self.conv_pool_size, "conv_pool_size", 1)
        check_choice(self.dtype, "dtype", ("auto",) + _DTYPES)
        check_choice(self.scaling, "scaling", ("auto",) + _SCALINGS)
        check_choice(self.normalization, "normalization", tuple(_NORMALIZATIONS))
        check_choice(self.pooling, "pooling", ("auto",) + _POOLINGS)
        check_choice(self.lr_schedule, "lr_schedule", ("auto",) + _LR_SCHEDULES)
        if not _is_auto(self.min_steps):
            _int(self.min_steps, "min_steps", 0)
        check_choice(self.cell, "cell", tuple(_CELLS))
        for name in ("bidirectional", "reset_after", "early_stopping", "warm_start", "shuffle"):
            check_bool(getattr(self, name), name)
        if not isinstance(self.verbose, (bool, np.bool_)):
            _int(self.verbose, "verbose", 0)
        _real(self.dropout, "dropout", 0, 1, high_open=True)
        _real(self.recurrent_dropout, "recurrent_dropout", 0, 1, high_open=True)
        if not _is_auto(self.learning_rate):
            _real(self.learning_rate, "learning_rate", 0, low_open=True)
        check_choice(self.optimizer, "optimizer", _OPTIMIZERS)
        if self.global_clipnorm is not None:
            _real(self.global_clipnorm, "global_clipnorm", 0, low_open=True)
        if not _is_auto(self.batch_size):
            _int(self.batch_size, "batch_size", 1)
        _int(self.max_iter, "max_iter", 1)
        _real(self.validation_fraction, "validation_fraction", 0, 1, low_open=True,
              high_open=True)
        _int(self.n_iter_no_change, "n_iter_no_change", 1)
        _real(self.tol, "tol", 0)
        if not (self.random_state is None or isinstance(self.random_state, np.random.Generator)
                or isinstance(self.random_state, np.random.RandomState)):
            _int(self.random_state, "random_state", 0, 2**32 - 1)
        if self.n_jobs is not None and _int(self.n_jobs, "n_jobs") == 0:
            raise ValueError("n_jobs must be a positive int, a negative int (-1: all cores) or "
                             "None, got 0")

    # ---- input ------------------------------------------------------------------------------
    def _read_X(self, X):
        """X as a SequenceBatch, checked against the fitted model's input."""
        batch = read_sequences(X)
        name = type(self).__name__
        if self._fit_columns is not None and batch.columns not in (None, self.n_features_in_):
            raise ValueError(f"X has {batch.columns} features, but {name} is expecting "
                             f"{self.n_features_in_} features as input (a 2-D X holds one feature "
                             f"per timestep, and {name} was fitted on {self.n_features_in_} of them)")
        features = batch.values.shape[2]
        if features != self._step_features:
            raise ValueError(f"X has {features} features per timestep, but {name} is expecting "
                             f"{self._step_features} features per timestep as input")
        return batch

    def _network_features(self, batch):
        """The features per step the network reads, before standardisation: X's own, or each
        sequence scaled by its own statistics ('znorm'), and those statistics ('series')."""
        if self.settings_["scaling"] == "series":
            return with_series_statistics(batch.values, batch.mask, self._series_unit)
        if self.settings_["scaling"] == "znorm":
            return standardized_series(batch.values, batch.mask, self._series_unit)
        return batch.values

    def _fit_scaling(self, batch, weights):
        """The features' mean and deviation over the valid steps (weighted by their sample's
        weight, as repeated samples would weigh them)."""
        self._step_features = batch.values.shape[2]
        if self.settings_["scaling"] != "global":
            self._series_unit = median_deviation(batch.values, batch.mask)
        values = self._network_features(batch)
        step_weights = None if weights is None else np.broadcast_to(
            weights[:, None], values.shape[:2])
        if batch.mask is not None:
            valid = values[batch.mask]
            step_weights = None if weights is None else step_weights[batch.mask]
        else:
            valid = values.reshape(-1, values.shape[2])
            step_weights = None if weights is None else step_weights.reshape(-1)
        mean, scale = _weighted_mean_std(valid, step_weights)
        # Series statistics that are the same for every training sequence (an archive that is
        # z-normalised already) tell nothing: left out, so that the network is the same as
        # with scaling='global' (dead inputs would still change its initial weights).
        self._x_columns = np.flatnonzero((scale > 0) | (np.arange(len(scale)) < self._step_features))
        self._x_mean = mean[self._x_columns]
        self._x_scale = np.where(scale > 0, scale, 1.0)[self._x_columns]

    def _standardized(self, batch):
        x = (self._network_features(batch)[:, :, self._x_columns] - self._x_mean) / self._x_scale
        if batch.mask is not None:
            x[~batch.mask] = 0.0
        return x

    def _outputs(self, X):
        """The network's outputs for X (standardised scale, probabilities for the classifier)."""
        check_is_fitted(self)
        batch = self._read_X(X)
        with _kernel_threads(self.n_jobs):
            return self.model_.predict(self._standardized(batch), batch_size=_PREDICT_BATCH,
                                       verbose=0, mask=batch.mask)

    # ---- the network ------------------------------------------------------------------------
    def _resolve_auto(self, batch):
        """The 'auto' parameters for this training set. For sequences of _LONG_SEQUENCES steps
        or more (the median): InceptionTime's network (three Inception modules of 32 filters
        per branch, kernels of 10, 20 and 40 steps, a residual shortcut, no recurrent layer, the
        mean over the steps), for the classifier each series z-normalised ('znorm'), at
        least 1000 optimizer steps, the plateau schedule, float32. Shorter: the plain recurrent
        network (64 units, the last state), no minimum, a constant rate, float64. A front end
        given explicitly gets the long sequences' training; plain Conv1D blocks get kernels of
        11, pooling of 2, 64 units and the maximum over the steps."""
        lengths = batch.mask.sum(axis=1) if batch.mask is not None else [batch.values.shape[1]]
        long = bool(np.median(lengths) >= _LONG_SEQUENCES)

        def chosen(name, auto):
            value = getattr(self, name)
            return auto if _is_auto(value) else value

        conv = _layer_sizes("conv_filters", chosen("conv_filters", (32, 32, 32) if long else ()),
                            allow_empty=True)
        kernels = _layer_sizes("conv_kernel_size", chosen(
            "conv_kernel_size", (10, 20, 40) if long else 11), allow_empty=False)
        inception = bool(conv) and len(kernels) > 1
        settings = {
            "conv_filters": conv, "conv_kernel_size": kernels,
            "conv_pool_size": chosen("conv_pool_size", 1 if inception else 2),
            "units": _layer_sizes("units", chosen("units", () if inception else 64),
                                  allow_empty=True),
            "scaling": chosen("scaling", self._long_scaling if long else "global"),
            "min_steps": chosen("min_steps", 1000 if conv else 0),
            "lr_schedule": chosen("lr_schedule", "plateau" if conv else "constant"),
            "dtype": chosen("dtype", "float32" if conv else "float64"),
            "learning_rate": float(chosen("learning_rate", 1e-3 if conv else 1e-2)),
            # InceptionTime's n / 10, at least 8 (its batches of 5 ended a GunPoint fit on a loss
            # spike), at most the recurrent network's 32
            "batch_size": chosen("batch_size", min(max(len(batch.values) // 10, 8), 32)
                                 if conv else 32),
        }
        settings["pooling"] = chosen("pooling", "last" if not conv else
                                     "max" if settings["units"] else "mean")
        if not settings["units"] and not conv:
            raise ValueError("units=() leaves no layer before the output: give recurrent layers "
                             "(units) or a convolutional front end (conv_filters)")
        if not settings["units"] and settings["pooling"] == "last":
            raise ValueError("pooling='last' takes the last state of a recurrent layer, and "
                             "units=() has none: use 'mean', 'max', 'max_mean' or 'attention'")
        return settings

    def _conv_block(self, x, inputs, filters, pooled):
        """Conv1D, normalisation, ReLU."""
        kernel_size = self.settings_["conv_kernel_size"][0]
        x = Conv1D(filters, kernel_size, padding="same", use_bias=self.normalization is None)(x)
        return self._normalized_relu(x, inputs, pooled)

    def _normalized(self, x, inputs, pooled):
        """x normalised; its padded steps zeroed first, so that the statistics leave them out."""
        if self.normalization is None:
            return x
        return _NORMALIZATIONS[self.normalization]()(PaddingMask(pooled)([x, inputs]))

    @staticmethod
    def _relu(x, inputs, pooled):
        """ReLU, the padding zeroed behind it (a ReLU of a normalised zero need not be zero)."""
        return PaddingMask(pooled)([Activation("relu")(x), inputs])

    def _normalized_relu(self, x, inputs, pooled):
        return self._relu(self._normalized(x, inputs, pooled), inputs, pooled)

    def _inception_module(self, x, inputs, filters, pooled):
        """InceptionTime's module: a 1x1 bottleneck (when x has more than one channel), a
        Conv1D of each kernel size on it, and MaxPooling1D(3, strides=1) then a 1x1 Conv1D on
        x; concatenated, normalised, ReLU."""
        bottleneck = x if x.shape[-1] == 1 else Conv1D(filters, 1, use_bias=False)(x)
        branches = [Conv1D(filters, size, padding="same", use_bias=False)(bottleneck)
                    for size in self.settings_["conv_kernel_size"]]
        lowest = PaddingMask(pooled, fill_value=-np.inf)([x, inputs])  # padding never the max
        pooled_x = PaddingMask(pooled)([MaxPooling1D(3, strides=1, padding="same")(lowest),
                                        inputs])
        branches.append(Conv1D(filters, 1, use_bias=False)(pooled_x))
        return self._normalized_relu(Concatenate()(branches), inputs, pooled)

    def _shortcut(self, x, residual_input, inputs, pooled):
        """InceptionTime's residual: x plus the earlier residual_input through a 1x1 Conv1D
        to x's channels, normalised; ReLU."""
        shortcut = Conv1D(x.shape[-1], 1, use_bias=False)(residual_input)
        return self._relu(Add()([x, self._normalized(shortcut, inputs, pooled)]), inputs, pooled)

    def _front_end(self, inputs):
        """The convolutional front end: a block (plain, or with several kernel sizes an
        Inception module) per entry of conv_filters, each followed by max pooling of
        conv_pool_size; Inception modules without pooling get InceptionTime's residual shortcut
        around each run of three."""
        x, pooled = inputs, 1
        settings = self.settings_
        inception = len(settings["conv_kernel_size"]) > 1
        residual = inception and settings["conv_pool_size"] == 1
        residual_input = inputs
        for i, filters in enumerate(settings["conv_filters"]):
            if inception:
                x = self._inception_module(x, inputs, filters, pooled)
                if residual and i % 3 == 2:
                    x = residual_input = self._shortcut(x, residual_input, inputs, pooled)
            else:
                x = self._conv_block(x, inputs, filters, pooled)
            if settings["conv_pool_size"] > 1:
                pooled *= settings["conv_pool_size"]
                x = PaddingMask(pooled)([MaxPooling1D(settings["conv_pool_size"],
                                                      padding="same")(x), inputs])
        return x

    def _build_model(self, n_features):
        """The front end (its PaddingMask layers keep variable-length sequences' padding out of
        it), the recurrent layers, the summary of their sequence (`pooling`), ReLU Dense layers,
        the output."""
        inputs = Input((None, n_features))
        settings = self.settings_
        x = self._front_end(inputs)
        units = settings["units"]
        for i, size in enumerate(units):
            options = dict(dropout=self.dropout, recurrent_dropout=self.recurrent_dropout,
                           return_sequences=i < len(units) - 1 or settings["pooling"] != "last")
            if self.cell == "gru":
                options.update(reset_after=self.reset_after)
            rnn = _CELLS[self.cell](size, **options)
            x = (Bidirectional(rnn) if self.bidirectional else rnn)(x)
        if settings["pooling"] == "mean":
            x = GlobalAveragePooling1D()(x)
        elif settings["pooling"] == "max":
            x = GlobalMaxPooling1D()(x)
        elif settings["pooling"] == "max_mean":  # fastai's concat pooling, without the last state
            x = Concatenate()([GlobalMaxPooling1D()(x), GlobalAveragePooling1D()(x)])
        elif settings["pooling"] == "attention":  # each step's summary of the others, averaged
            x = GlobalAveragePooling1D()(Attention(use_scale=True)([x, x]))
        for size in _layer_sizes("dense_units", self.dense_units, allow_empty=True):
            x = Dense(size, activation="relu")(x)
        output, loss = self._output_layer()
        model = Model(inputs, output(x), dtype=settings["dtype"])
        model.compile(optimizer=optimizers.get({"class_name": self.optimizer, "config": {
            "learning_rate": settings["learning_rate"], "global_clipnorm": self.global_clipnorm}}),
            loss=loss)
        return model

    # ---- training ---------------------------------------------------------------------------
    def fit(self: _Estimator, X: SequenceData, y: ArrayLike,
            sample_weight: Optional[ArrayLike] = None) -> _Estimator:
        """Train for up to max_iter epochs (from the current weights with warm_start=True).

        Parameters
        ----------
        X : array-like or list of array-like
            (samples, timesteps, features), (samples, timesteps) for one feature per step, or a
            list of sequences (timesteps_i, features) or (timesteps_i,) of any lengths.
        y : array-like
            The targets: (samples,) or (samples, outputs) for the regressor; class labels, or a
            0/1 indicator matrix, for the classifier.
        sample_weight : array-like of shape (samples,), optional
            Weighs each sample's loss as Keras does; samples of weight 0 are left out.

        Returns
        -------
        self
            The fitted estimator.

        Raises
        ------
        ValueError
            For parameters out of range, or X, y and sample_weight that do not fit together.
        TypeError
            For a parameter of the wrong type.
        """
        return self._fit(X, y, incremental=False, sample_weight=sample_weight)

    def _fit(self, X, y, incremental, classes=None, sample_weight=None):
        self._check_params()
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None.")
        continuing = (incremental or self.warm_start) and hasattr(self, "model_")
        batch = self._read_X(X) if continuing else read_sequences(X)
        batch, y, weights = _weighted_samples(batch, y, sample_weight)
        if not continuing:
            self._fit_columns = batch.columns
            self.n_features_in_ = batch.columns or batch.values.shape[2]
            self.settings_ = self._resolve_auto(batch)
            self._fit_scaling(batch, weights)
        targets = self._fit_targets(y, len(batch.values), continuing, incremental, classes, weights)
        x = self._standardized(batch)
        if not continuing:
            self._rng = _generator(self.random_state)
            self.n_iter_ = 0
            self.loss_curve_ = []
            self.best_loss_ = self.validation_scores_ = self.best_validation_score_ = None
        with utils.local_rng(self._rng), _kernel_threads(self.n_jobs):
            if continuing:  # set_params between calls
                if not _is_auto(self.learning_rate):
                    self.settings_["learning_rate"] = float(self.learning_rate)
                if not _is_auto(self.batch_size):
                    self.settings_["batch_size"] = self.batch_size
                self.model_.optimizer.learning_rate = self.settings_["learning_rate"]
            else:
                self.model_ = self._build_model(x.shape[2])
            self._train(x, targets, batch.mask, weights, incremental)
        return self

    def _validation_order(self, targets):
        """Sample indices in the order early stopping takes its validation set from."""
        return self._rng.permutation(len(targets))

    def _train(self, x, y, mask, weights, incremental):
        early_stopping = self.early_stopping and not incremental  # as MLP: partial_fit ignores it
        if early_stopping:
            order = self._validation_order(y)
            n_val = int(np.ceil(self.validation_fraction * len(y)))
            if n_val >= len(y):
                raise ValueError(f"early_stopping with validation_fraction={self.validation_fraction}"
                                 f" and n_samples={len(y)} leaves no training samples")
            val, train = order[:n_val], np.sort(order[n_val:])
            x_val, y_val, m_val, w_val = (None if a is None else a[val] for a in (x, y, mask, weights))
            x, y, mask, weights = (None if a is None else a[train] for a in (x, y, mask, weights))
            if self.validation_scores_ is None:
                self.validation_scores_, self.best_validation_score_ = [], -np.inf
            best_weights = self.model_.get_weights()
        else:
            if self.best_loss_ is None:
                self.best_loss_ = np.inf
            lowest_loss = np.inf  # of this fit
        batch_size = min(self.settings_["batch_size"], len(x))
        # A budget in optimizer steps as well as epochs: 30 samples make one step an epoch.
        steps_per_epoch = -(-len(x) // batch_size)
        min_steps, lr_schedule = self.settings_["min_steps"], self.settings_["lr_schedule"]
        epochs = 1 if incremental else max(self.max_iter, -(-min_steps // steps_per_epoch))
        stale_epochs = lr_wait = 0
        lr_patience = max(1, self.n_iter_no_change // 2)
        learning_rate = initial_rate = self.settings_["learning_rate"]
        for epoch in range(epochs):
            self.loss_ = self._epoch(x, y, mask, weights, batch_size)
            if not np.isfinite(self.loss_):
                raise ValueError(f"training diverged (loss {self.loss_}); lower learning_rate or "
                                 "set global_clipnorm")
            self.loss_curve_.append(self.loss_)
            self.n_iter_ += 1
            message = f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}"
            if early_stopping:  # MLP's rules: improvement means beating the best by tol
                score = self._score_outputs(self.model_.predict(
                    x_val, batch_size=_PREDICT_BATCH, verbose=0, mask=m_val), y_val, w_val)
                self.validation_scores_.append(score)
                stale_epochs = stale_epochs + 1 if score < self.best_validation_score_ + self.tol else 0
                if score > self.best_validation_score_:
                    self.best_validation_score_, best_weights = score, self.model_.get_weights()
                message += f", validation score = {score:.6f}"
            else:
                stale_epochs = stale_epochs + 1 if self.loss_ > self.best_loss_ - self.tol else 0
                self.best_loss_ = min(self.best_loss_, self.loss_)
                if self.loss_ < lowest_loss:
                    lowest_loss, best_weights = self.loss_, self.model_.get_weights()
            if self.verbose:
                print(message)
            lr_wait = lr_wait + 1 if stale_epochs else 0
            if lr_schedule == "plateau" and lr_wait >= lr_patience \
                    and learning_rate > initial_rate / 64:  # Keras' ReduceLROnPlateau
                learning_rate, lr_wait = learning_rate / 2, 0
                self.model_.optimizer.learning_rate = learning_rate
                if self.verbose:
                    print(f"Learning rate reduced to {learning_rate:g}")
            if stale_epochs > self.n_iter_no_change and (epoch + 1) * steps_per_epoch >= min_steps:
                if self.verbose:
                    print(f"{'Validation score' if early_stopping else 'Training loss'} did not "
                          f"improve more than tol={self.tol} for {self.n_iter_no_change} "
                          "consecutive epochs. Stopping.")
                break
        else:
            if not incremental:
                warnings.warn(f"{type(self).__name__}: maximum iterations ({epochs}) "
                              "reached and the optimization hasn't converged yet.",
                              ConvergenceWarning)
        if not incremental:  # InceptionTime's checkpoint: the best epoch, not the last
            self.model_.set_weights(best_weights)
            self._refresh_batch_statistics(x, mask, batch_size)

    def _epoch(self, x, y, mask, weights, batch_size):
        """One pass over the training set in batches (reshuffled with `shuffle`, as Model.fit
        draws them). The mean loss over the samples."""
        order = self._rng.permutation(len(x)) if self.shuffle else np.arange(len(x))
        total = 0.0
        for idx, xb, mb in _batches(x, mask, order, batch_size):
            if weights is None:
                logs = self.model_.train_on_batch(xb, y[idx], mask=mb, return_dict=True)
                total += logs["loss"] * len(idx)
            else:  # the batch's weighted mean loss, as over its samples repeated by their weight
                w = weights[idx]
                logs = self.model_.train_on_batch(xb, y[idx], mask=mb, return_dict=True,
                                                  sample_weight=w * (len(w) / w.sum()))
                total += logs["loss"] * w.sum()
        return total / (len(x) if weights is None else weights.sum())

    def _refresh_batch_statistics(self, x, mask, batch_size):
        """BatchNormalization's moving statistics set to the mean of its batch statistics over
        the training set, under the final weights. The moving averages lag the weights they
        were taken under, by about a hundred steps: after a short training the network
        predicted at chance with them, where these give what training saw."""
        norms = [layer for layer in self.model_.layers if isinstance(layer, BatchNormalization)]
        if not norms:
            return
        momentum = [layer.momentum for layer in norms]
        try:
            for i, (_, xb, mb) in enumerate(_batches(x, mask, np.arange(len(x)), batch_size)):
                for layer in norms:
                    layer.momentum = i / (i + 1)  # the running mean of the batches so far
                self.model_(xb, training=True, mask=mb)
        finally:
            for layer, m in zip(norms, momentum):
                layer.momentum = m

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags


class GRURegressor(RegressorMixin, _GRUEstimator):
    """A GRU network regressor with scikit-learn's API.

    X: (samples, timesteps, features), (samples, timesteps) for one feature per step, or a list
    of (timesteps_i, features) or (timesteps_i,) sequences of any lengths. y: (samples,) or
    (samples, outputs).

    The network: the convolutional front end of `conv_filters` (if any), then GRU (or LSTM)
    layers of `units`, their sequence (or the front end's) summarised by `pooling`, ReLU Dense
    layers of `dense_units` and a linear Dense output. It computes in `dtype` and minimises the
    mean squared error of the standardised targets with `optimizer` at `learning_rate`, for up
    to `max_iter` epochs and at least `min_steps` optimizer steps; fit ends on the weights of
    its best epoch (the lowest training loss, or the best validation score), as
    InceptionTime's checkpoint.

    'auto' (the default of units, scaling, conv_filters, conv_kernel_size, conv_pool_size,
    pooling, learning_rate, batch_size, min_steps, lr_schedule and dtype) chooses by the
    training set's median length. From 100 steps, InceptionTime's network and training: three
    Inception modules of 32 filters per branch with kernels of 10, 20 and 40 steps, no
    recurrent layer, the mean over the steps, Adam at 1e-3, batches of a tenth of the samples
    (8 to 32), at least 1000 steps, the plateau schedule, float32 (and for the classifier
    'znorm' scaling). Below it, 'global' scaling and the plain recurrent network: 64 units, the
    last state, 1e-2, batches of 32, no minimum, a constant rate, float64 (a sample's
    prediction then does not depend on the batch it is predicted in). A front end given
    explicitly for short sequences is of plain blocks (kernel 11, pooling 2) before 64 units
    and the maximum over the steps, trained as the long sequences' network. ``settings_``
    holds what was chosen.

    Parameters
    ----------
    units : 'auto', int or tuple of int, default='auto'
        The recurrent layers' units: an int, a tuple for stacked layers, () for none. 'auto':
        64 below 100 steps, () for InceptionTime's network from 100 steps.
    cell : {'gru', 'lstm'}, default='gru'
        GRU layers, or with 'lstm' LSTM layers.
    bidirectional : bool, default=False
        Wrap each recurrent layer in Bidirectional.
    reset_after : bool, default=True
        The GRU variant (see `gru_native.layers.GRU`).
    dropout : float, default=0.0
        The recurrent layers' input dropout.
    recurrent_dropout : float, default=0.0
        The recurrent layers' recurrent dropout.
    dense_units : int or tuple of int, default=()
        ReLU Dense layers between the pooling and the output.
    scaling : {'auto', 'global', 'znorm', 'series'}, default='auto'
        'global' standardises each feature with its mean and deviation over the training set;
        'znorm' standardises each sequence by its own mean and deviation per feature (the
        UCR/UEA archive's convention: shapes compared at one scale); 'series' does too and
        gives the network those two statistics as two more features per step, so that a class
        told by a series' level or size is kept (statistics that are the same for every
        training sequence are left out). What is measured across sequences (the
        standardisation, the unit of the statistics) is the first fit's.
    conv_filters : 'auto', int or tuple of int, default='auto'
        A convolutional front end of one block per entry (() for none), each followed by
        MaxPooling1D(`conv_pool_size`) when that is above 1.
    conv_kernel_size : 'auto', int or tuple of int, default='auto'
        With one kernel size a block is Conv1D(filters, kernel, padding 'same'),
        `normalization` and ReLU; with a tuple of them it is InceptionTime's module (Ismail
        Fawaz et al. 2020): a 1x1 bottleneck of `filters` (when its input has more than one
        channel), a Conv1D of `filters` per kernel size and a max-pooling branch side by side,
        normalised, ReLU, with a residual shortcut around each three modules when there is no
        pooling.
    conv_pool_size : 'auto' or int, default='auto'
        The max pooling after each block (1: none).
    normalization : {'batch', 'layer', None}, default='batch'
        The front end's normalisation.
    pooling : {'auto', 'last', 'mean', 'max', 'max_mean', 'attention'}, default='auto'
        How the recurrent layers' sequence (or the front end's) is summarised: 'last' (the last
        state), 'mean' or 'max' over the steps (padded steps never count), both side by side
        ('max_mean'), or 'attention' (self-attention, then the mean).
    learning_rate : 'auto' or float, default='auto'
        The optimizer's learning rate.
    optimizer : {'adam', 'adamw', 'rmsprop', 'sgd'}, default='adam'
        The optimizer.
    global_clipnorm : float or None, default=1.0
        Gradients are clipped to this global norm (None: no clipping).
    batch_size : 'auto' or int, default='auto'
        Samples per gradient step.
    max_iter : int, default=200
        The most epochs.
    min_steps : 'auto' or int, default='auto'
        Train for at least as many epochs as this many optimizer steps take (a small data set
        makes an epoch one or two steps).
    lr_schedule : {'auto', 'constant', 'plateau'}, default='auto'
        'plateau' halves the learning rate (down to 1/64 of it) each time the monitored score
        has not improved for n_iter_no_change // 2 epochs, as Keras' ReduceLROnPlateau.
    early_stopping : bool, default=False
        Hold out `validation_fraction` of the samples and stop on the validation score (R² for
        the regressor, accuracy for the classifier) instead of the training loss.
    validation_fraction : float, default=0.1
        The share of the samples held out with `early_stopping`.
    n_iter_no_change : int, default=10
        Training stops, as MLPRegressor's, once the training loss (the validation score, with
        `early_stopping`) has not improved by `tol` for more than `n_iter_no_change` epochs
        (and `min_steps` are done).
    tol : float, default=1e-4
        The improvement that counts.
    warm_start : bool, default=False
        `fit` continues from the current weights.
    shuffle : bool, default=True
        Reshuffle the samples every epoch.
    random_state : None, int, RandomState or Generator, default=None
        An int gives bit-identical fits for the same `n_jobs`.
    dtype : {'auto', 'float32', 'float64'}, default='auto'
        The network's computing precision.
    n_jobs : int or None, default=None
        The kernels' threads during fit and predict (None: as set by
        gru_native.set_num_threads or OMP_NUM_THREADS; -1: all cores).
    verbose : bool or int, default=False
        Print each epoch.

    Attributes
    ----------
    model_ : Model
        The gru_native Model.
    loss_ : float
        The training loss of the last epoch.
    loss_curve_ : list of float
        The training loss of each epoch.
    best_loss_ : float or None
        The lowest training loss (None with `early_stopping`).
    validation_scores_ : list of float or None
        The validation score of each epoch (None without `early_stopping`).
    best_validation_score_ : float or None
        The best validation score (None without `early_stopping`).
    n_iter_ : int
        Epochs run.
    n_outputs_ : int
        Outputs of the network.
    n_features_in_ : int
        The features per timestep; for a 2-D X its columns, as scikit-learn counts them, which
        predict then requires.
    settings_ : dict
        The 'auto' parameters resolved.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from gru_native import GRURegressor
    >>> X = np.random.default_rng(0).normal(size=(40, 8, 2))
    >>> y = X[:, :, 0].mean(axis=1)
    >>> reg = GRURegressor(units=8, max_iter=3, random_state=0)
    >>> with warnings.catch_warnings():  # 3 epochs stop short of convergence: a quick demo
    ...     warnings.simplefilter("ignore")
    ...     reg = reg.fit(X, y)
    >>> reg.predict(X).shape
    (40,)
    >>> reg.n_iter_, reg.n_features_in_
    (3, 2)
    """

    # 'auto' keeps the global scaling: 'znorm' was measured on classification only
    _long_scaling = "global"

    def partial_fit(self: _Estimator, X: SequenceData, y: ArrayLike,
                    sample_weight: Optional[ArrayLike] = None) -> _Estimator:
        """Train one epoch over (X, y), from the current weights.

        Parameters
        ----------
        X : array-like or list of array-like
            Sequences as `fit` takes them.
        y : array-like
            The targets: (samples,) or (samples, outputs), with as many outputs as the first
            call's.
        sample_weight : array-like of shape (samples,), optional
            Weighs each sample's loss as Keras does; samples of weight 0 are left out.

        Returns
        -------
        self
            The fitted estimator.

        Raises
        ------
        ValueError
            For parameters out of range, or X, y and sample_weight that do not fit together or
            the first call's.
        TypeError
            For a parameter of the wrong type.
        """
        return self._fit(X, y, incremental=True, sample_weight=sample_weight)

    def _output_layer(self):
        return Dense(self.n_outputs_), "mse"

    def _fit_targets(self, y, n_samples, continuing, incremental, classes, weights):
        y = finite_float_array(y, "y")
        if y.ndim not in (1, 2) or y.size == 0:
            raise ValueError(f"y must be 1-D (samples,) or 2-D (samples, outputs), got shape {y.shape}")
        if len(y) != n_samples:
            raise ValueError(f"X and y have different numbers of samples: {n_samples} and {len(y)}")
        y2 = y.reshape(n_samples, -1)
        if continuing:
            if y2.shape[1] != self.n_outputs_:
                raise ValueError(f"y has {y2.shape[1]} outputs, but {type(self).__name__} was "
                                 f"fitted on {self.n_outputs_}")
        else:
            self.n_outputs_, self._y_ndim = y2.shape[1], y.ndim
            self._y_mean, scale = _weighted_mean_std(y2, weights)
            self._y_scale = np.where(scale > 0, scale, 1.0)
        return (y2 - self._y_mean) / self._y_scale

    def _score_outputs(self, outputs, targets, sample_weight=None):
        return r2_score(targets, outputs, sample_weight=sample_weight)

    @lazy_over_dask
    def predict(self, X: SequenceData) -> np.ndarray:
        """Predict in y's units.

        Parameters
        ----------
        X : array-like, list of array-like or dask collection
            Sequences as `fit` takes them; a dask array or DataFrame of windows gives a lazy
            dask collection of the predictions.

        Returns
        -------
        ndarray
            (samples,) for a 1-D y, (samples, outputs) for a 2-D y.
        """
        y = self._outputs(X) * self._y_scale + self._y_mean
        return y[:, 0] if self._y_ndim == 1 else y

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


class GRUClassifier(ClassifierMixin, _GRUEstimator):
    """A GRU network classifier with scikit-learn's API.

    X as GRURegressor's. y: (samples,) class labels of any type (two or more classes), or a
    (samples, labels) 0/1 indicator matrix for multilabel classification, as MLPClassifier. The
    network is GRURegressor's with a softmax output (a sigmoid for two classes and per label
    for multilabel y) trained on the cross-entropy, and early stopping watches the validation
    accuracy. For long sequences 'auto' scaling is 'znorm'.

    Parameters
    ----------
    units : 'auto', int or tuple of int, default='auto'
        The recurrent layers' units: an int, a tuple for stacked layers, () for none. 'auto':
        64 below 100 steps, () for InceptionTime's network from 100 steps.
    cell : {'gru', 'lstm'}, default='gru'
        GRU layers, or with 'lstm' LSTM layers.
    bidirectional : bool, default=False
        Wrap each recurrent layer in Bidirectional.
    reset_after : bool, default=True
        The GRU variant (see `gru_native.layers.GRU`).
    dropout : float, default=0.0
        The recurrent layers' input dropout.
    recurrent_dropout : float, default=0.0
        The recurrent layers' recurrent dropout.
    dense_units : int or tuple of int, default=()
        ReLU Dense layers between the pooling and the output.
    scaling : {'auto', 'global', 'znorm', 'series'}, default='auto'
        'global' standardises each feature with its mean and deviation over the training set;
        'znorm' standardises each sequence by its own mean and deviation per feature (the
        UCR/UEA archive's convention: shapes compared at one scale); 'series' does too and
        gives the network those two statistics as two more features per step, so that a class
        told by a series' level or size is kept (statistics that are the same for every
        training sequence are left out). What is measured across sequences (the
        standardisation, the unit of the statistics) is the first fit's.
    conv_filters : 'auto', int or tuple of int, default='auto'
        A convolutional front end of one block per entry (() for none), each followed by
        MaxPooling1D(`conv_pool_size`) when that is above 1.
    conv_kernel_size : 'auto', int or tuple of int, default='auto'
        With one kernel size a block is Conv1D(filters, kernel, padding 'same'),
        `normalization` and ReLU; with a tuple of them it is InceptionTime's module (Ismail
        Fawaz et al. 2020): a 1x1 bottleneck of `filters` (when its input has more than one
        channel), a Conv1D of `filters` per kernel size and a max-pooling branch side by side,
        normalised, ReLU, with a residual shortcut around each three modules when there is no
        pooling.
    conv_pool_size : 'auto' or int, default='auto'
        The max pooling after each block (1: none).
    normalization : {'batch', 'layer', None}, default='batch'
        The front end's normalisation.
    pooling : {'auto', 'last', 'mean', 'max', 'max_mean', 'attention'}, default='auto'
        How the recurrent layers' sequence (or the front end's) is summarised: 'last' (the last
        state), 'mean' or 'max' over the steps (padded steps never count), both side by side
        ('max_mean'), or 'attention' (self-attention, then the mean).
    learning_rate : 'auto' or float, default='auto'
        The optimizer's learning rate.
    optimizer : {'adam', 'adamw', 'rmsprop', 'sgd'}, default='adam'
        The optimizer.
    global_clipnorm : float or None, default=1.0
        Gradients are clipped to this global norm (None: no clipping).
    batch_size : 'auto' or int, default='auto'
        Samples per gradient step.
    max_iter : int, default=200
        The most epochs.
    min_steps : 'auto' or int, default='auto'
        Train for at least as many epochs as this many optimizer steps take (a small data set
        makes an epoch one or two steps).
    lr_schedule : {'auto', 'constant', 'plateau'}, default='auto'
        'plateau' halves the learning rate (down to 1/64 of it) each time the monitored score
        has not improved for n_iter_no_change // 2 epochs, as Keras' ReduceLROnPlateau.
    early_stopping : bool, default=False
        Hold out `validation_fraction` of the samples and stop on the validation score (R² for
        the regressor, accuracy for the classifier) instead of the training loss.
    validation_fraction : float, default=0.1
        The share of the samples held out with `early_stopping`.
    n_iter_no_change : int, default=10
        Training stops, as MLPRegressor's, once the training loss (the validation score, with
        `early_stopping`) has not improved by `tol` for more than `n_iter_no_change` epochs
        (and `min_steps` are done).
    tol : float, default=1e-4
        The improvement that counts.
    warm_start : bool, default=False
        `fit` continues from the current weights.
    shuffle : bool, default=True
        Reshuffle the samples every epoch.
    random_state : None, int, RandomState or Generator, default=None
        An int gives bit-identical fits for the same `n_jobs`.
    dtype : {'auto', 'float32', 'float64'}, default='auto'
        The network's computing precision.
    n_jobs : int or None, default=None
        The kernels' threads during fit and predict (None: as set by
        gru_native.set_num_threads or OMP_NUM_THREADS; -1: all cores).
    verbose : bool or int, default=False
        Print each epoch.

    Attributes
    ----------
    classes_ : ndarray
        The class labels (for a multilabel y, the label indices).
    model_ : Model
        The gru_native Model.
    loss_ : float
        The training loss of the last epoch.
    loss_curve_ : list of float
        The training loss of each epoch.
    best_loss_ : float or None
        The lowest training loss (None with `early_stopping`).
    validation_scores_ : list of float or None
        The validation accuracy of each epoch (None without `early_stopping`).
    best_validation_score_ : float or None
        The best validation accuracy (None without `early_stopping`).
    n_iter_ : int
        Epochs run.
    n_outputs_ : int
        1, or the number of labels.
    n_features_in_ : int
        The features per timestep (for a 2-D X its columns).
    settings_ : dict
        The 'auto' parameters resolved.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from gru_native import GRUClassifier
    >>> X = np.random.default_rng(0).normal(size=(40, 8, 2))
    >>> y = np.where(X[:, :, 0].sum(axis=1) > 0, "up", "down")
    >>> clf = GRUClassifier(units=8, max_iter=3, random_state=0)
    >>> with warnings.catch_warnings():  # 3 epochs stop short of convergence: a quick demo
    ...     warnings.simplefilter("ignore")
    ...     clf = clf.fit(X, y)
    >>> print(clf.classes_)
    ['down' 'up']
    >>> set(clf.predict(X)) <= {"down", "up"}
    True
    >>> proba = clf.predict_proba(X)
    >>> proba.shape, bool(np.allclose(proba.sum(axis=1), 1))
    ((40, 2), True)
    """

    # 'auto' for long sequences: shapes at one scale (measured on the archives,
    # bench/real_data.py: with the level and size as features, 'series', InceptionTime's network
    # learnt the pigs of PigCVP by them and not by their waveforms)
    _long_scaling = "znorm"

    def partial_fit(self: _Estimator, X: SequenceData, y: ArrayLike,
                    classes: Optional[ArrayLike] = None,
                    sample_weight: Optional[ArrayLike] = None) -> _Estimator:
        """Train one epoch over (X, y), from the current weights.

        Parameters
        ----------
        X : array-like or list of array-like
            Sequences as `fit` takes them.
        y : array-like
            Class labels, or a 0/1 indicator matrix (samples, labels) for multilabel targets.
        classes : array-like, optional
            Every label y can take: required on the first call, as scikit-learn's
            partial_fit; for a multilabel y it is ``np.arange(n_labels)``.
        sample_weight : array-like of shape (samples,), optional
            Weighs each sample's loss as Keras does; samples of weight 0 are left out.

        Returns
        -------
        self
            The fitted estimator.

        Raises
        ------
        ValueError
            If `classes` is missing on the first call or differs from the first call's, for
            labels not in `classes`, parameters out of range, or X, y and sample_weight that
            do not fit together.
        TypeError
            For a parameter of the wrong type, or labels of types that cannot be compared.
        """
        return self._fit(X, y, incremental=True, classes=classes, sample_weight=sample_weight)

    @property
    def _multilabel(self):
        return self.n_outputs_ > 1  # a (samples, 1) y is read as 1-D, so labels are >= 2

    def _output_layer(self):
        if self._multilabel or len(self.classes_) == 2:
            return Dense(self.n_outputs_, activation="sigmoid"), "binary_crossentropy"
        return Dense(len(self.classes_), activation="softmax"), "sparse_categorical_crossentropy"

    def _labels(self, y):
        """The sorted distinct labels of a 1-D y, and y as a 1-D array."""
        if y.dtype.kind == "f":
            y = finite_float_array(y, "y")
            if np.any(y != np.round(y)):
                raise ValueError("Unknown label type: continuous. GRUClassifier takes class labels; "
                                 "for a continuous target use GRURegressor.")
        try:
            return np.unique(y)
        except TypeError:
            raise TypeError("y mixes label types that cannot be compared (such as str and int); "
                            "give labels of one type") from None

    def _fit_targets(self, y, n_samples, continuing, incremental, classes, weights):
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            warnings.warn("A column-vector y was passed when a 1d array was expected. Please "
                          "change the shape of y to (n_samples, ), for example using ravel().",
                          DataConversionWarning, stacklevel=4)
            y = y[:, 0]
        if y.ndim not in (1, 2) or y.size == 0:
            raise ValueError(f"y must be 1-D (samples,) or 2-D (samples, labels), got shape {y.shape}")
        if len(y) != n_samples:
            raise ValueError(f"X and y have different numbers of samples: {n_samples} and {len(y)}")
        if y.ndim == 2 and (y.dtype.kind not in "biuf" or not np.isin(y, (0, 1)).all()):
            raise ValueError("a 2-D y must be a multilabel indicator matrix of 0 and 1 "
                             "(multiclass-multioutput targets are not supported)")
        labels = np.arange(y.shape[1]) if y.ndim == 2 else self._labels(y)
        classes = None if classes is None else self._labels(np.asarray(classes))
        if continuing:
            self._check_same_targets(y, labels, incremental, classes)
        else:
            self._set_classes(y, labels, incremental, classes)
        if y.ndim == 2:
            return y.astype(np.float64)
        codes = np.searchsorted(self.classes_, y)
        return codes.astype(np.float64) if len(self.classes_) == 2 else codes

    def _set_classes(self, y, labels, incremental, classes):
        if incremental and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        self.classes_ = labels if classes is None else classes
        self.n_outputs_ = 1 if y.ndim == 1 else y.shape[1]
        if y.ndim == 2 and not np.array_equal(self.classes_, labels):
            raise ValueError(f"for a multilabel y of {y.shape[1]} labels, classes must be "
                             f"np.arange({y.shape[1]}), got {classes!r}")
        if len(self.classes_) < 2:
            raise ValueError(f"{type(self).__name__} needs at least 2 classes, got 1 class: "
                             f"{self.classes_!r}")
        unknown = np.setdiff1d(labels, self.classes_)
        if unknown.size:
            raise ValueError(f"y has labels {unknown!r} that are not in classes {self.classes_!r}")

    def _check_same_targets(self, y, labels, incremental, classes):
        """y of a partial_fit or warm-started fit against the classes of the first fit."""
        if classes is not None and not np.array_equal(classes, self.classes_):
            raise ValueError(f"classes={classes!r} is not the same as on the first call to "
                             f"partial_fit, was: {self.classes_!r}")
        if (y.ndim == 2) != self._multilabel or (y.ndim == 2 and y.shape[1] != self.n_outputs_):
            fitted_on = f"{self.n_outputs_} labels" if self._multilabel else "a 1-D y"
            raise ValueError(f"y has shape {y.shape}, but {type(self).__name__} was fitted on "
                             f"{fitted_on}")
        unknown = np.setdiff1d(labels, self.classes_)
        if unknown.size:
            raise ValueError(f"y has labels {unknown!r} that are not in classes_ {self.classes_!r}")
        if not incremental and not np.array_equal(labels, self.classes_):
            raise ValueError("warm_start can only be used where y has the same classes as in the "
                             f"previous call to fit: previously {self.classes_!r}, y has {labels!r}")

    def _score_outputs(self, outputs, targets, sample_weight=None):
        if self._multilabel:
            predicted = outputs > 0.5
        elif len(self.classes_) == 2:
            predicted = outputs[:, 0] > 0.5
        else:
            predicted = outputs.argmax(axis=1)
        return accuracy_score(targets, predicted, sample_weight=sample_weight)

    @lazy_over_dask
    def predict_proba(self, X: SequenceData) -> np.ndarray:
        """Predict the class probabilities.

        Parameters
        ----------
        X : array-like, list of array-like or dask collection
            Sequences as `fit` takes them; a dask array or DataFrame of windows gives a lazy
            dask collection of the probabilities.

        Returns
        -------
        ndarray of shape (samples, classes) or (samples, labels)
            Each class's probability in the order of ``classes_``; for a multilabel y, each
            label's probability.
        """
        p = self._outputs(X)
        if self._multilabel or len(self.classes_) > 2:
            return p
        return np.column_stack([1 - p[:, 0], p[:, 0]])

    @lazy_over_dask
    def predict_log_proba(self, X: SequenceData) -> np.ndarray:
        """Predict the logarithms of the class probabilities.

        Parameters
        ----------
        X : array-like, list of array-like or dask collection
            Sequences as `fit` takes them; a dask array or DataFrame of windows gives a lazy
            dask collection of the log-probabilities.

        Returns
        -------
        ndarray of shape (samples, classes) or (samples, labels)
            The logarithm of `predict_proba` (-inf where a probability is 0).
        """
        with np.errstate(divide="ignore"):  # log(0) = -inf is the answer there
            return np.log(self.predict_proba(X))

    @lazy_over_dask
    def predict(self, X: SequenceData) -> np.ndarray:
        """Predict the class labels.

        Parameters
        ----------
        X : array-like, list of array-like or dask collection
            Sequences as `fit` takes them; a dask array or DataFrame of windows gives a lazy
            dask collection of the predictions.

        Returns
        -------
        ndarray
            Labels from ``classes_`` (for a multilabel y, the 0/1 indicator matrix).
        """
        p = self.predict_proba(X)
        if self._multilabel:
            return (p > 0.5).astype(np.int64)
        return self.classes_[np.argmax(p, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags
