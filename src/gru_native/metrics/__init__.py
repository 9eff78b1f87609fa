"""Metrics reported by fit and evaluate, with Keras' names and values. A metric function gives a
value per entry (a sample, or a sample's timestep on 3-D outputs); a MeanMetric keeps their
weighted running mean over the batches since reset_state(), so an epoch's result is the metric
of the whole epoch's data whatever the batch sizes.

The forecast accuracy metrics of `forecasting` (mae, rmse, mape, smape, mase, pinball_loss,
coverage) are exported here too: each gives one float for a whole forecast, for reports and
model selection, not for fit's metrics (which take the registered names above)."""

import numpy as np

from .. import losses
from ..registry import Registry
from .forecasting import coverage, mae, mape, mase, pinball_loss, rmse, smape  # noqa: F401


def mean_absolute_error(y_true, y_pred):
    """The mean absolute error of each entry over the last axis."""
    y_true, y_pred = losses.as_arrays(y_true, y_pred)
    return np.mean(np.abs(y_pred - losses.match_shapes(y_true, y_pred)), axis=-1)


def mean_squared_error(y_true, y_pred):
    """The mean squared error of each entry over the last axis."""
    y_true, y_pred = losses.as_arrays(y_true, y_pred)
    return np.mean(np.square(y_pred - losses.match_shapes(y_true, y_pred)), axis=-1)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """Share of outputs whose thresholded prediction equals its 0/1 label."""
    y_true, y_pred = losses.as_arrays(y_true, y_pred)
    y_true = losses.match_shapes(y_true, y_pred)
    return np.mean(y_true == (y_pred > threshold), axis=-1)


def categorical_accuracy(y_true, y_pred):
    """Whether the most probable class is the one-hot label's."""
    y_true, y_pred = losses.as_arrays(y_true, y_pred)
    y_true = losses.match_shapes(y_true, y_pred)
    return (np.argmax(y_true, axis=-1) == np.argmax(y_pred, axis=-1)).astype(np.float64)


def sparse_categorical_accuracy(y_true, y_pred):
    """Whether the most probable class is the integer label."""
    labels, y_pred = losses.as_arrays(y_true, y_pred)
    labels = losses.match_label_shape(labels, y_pred)
    return (labels == np.argmax(y_pred, axis=-1)).astype(np.float64)


def accuracy(y_true, y_pred, binary_labels=False):
    """'accuracy' as Keras 3's compile() resolves it from the shapes: binary for one output,
    sparse categorical for labels without a class axis (or with one of size 1), categorical
    otherwise. binary_labels (set for a binary_crossentropy loss) makes several outputs binary
    too: independent 0/1 labels, where argmax means nothing (Keras 2's rule)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_pred.shape[-1] == 1 or binary_labels:
        return binary_accuracy(y_true, y_pred)
    if y_true.ndim < y_pred.ndim or y_true.shape[-1] == 1:
        return sparse_categorical_accuracy(y_true, y_pred)
    return categorical_accuracy(y_true, y_pred)


class MeanMetric:
    """The weighted mean of a metric function's values over the batches since reset_state()."""

    def __init__(self, fn, name=None, **fn_kwargs):
        self.fn, self.fn_kwargs = fn, fn_kwargs
        self.name = name or fn.__name__
        self.reset_state()

    def reset_state(self):
        self._total = self._count = 0.0

    def update_state(self, y_true, y_pred, sample_weight=None):
        values = self.fn(y_true, y_pred, **self.fn_kwargs)
        if sample_weight is None:
            weights = np.ones(values.shape)
        else:
            weights = losses.batch_weights(sample_weight, values.shape)
        # As Keras' Mean: a sample counts with its mean weight over its entries (its timesteps)
        entries_per_sample = values.size / len(values)
        self._total += float(np.sum(weights * values)) / entries_per_sample
        self._count += float(np.sum(weights)) / entries_per_sample

    def result(self):
        return self._total / self._count if self._count else 0.0

    def result_parts(self):
        """(numerator, denominator) of result(): sums that add over the parts of the data
        (DataParallel ranks)."""
        return self._total, self._count

    def __repr__(self):
        return f"<metric {self.name} {self.result():g}>"


def result_parts(metric, samples):
    """A metric's (numerator, denominator): its own `result_parts()`, or else its result
    weighted by the `samples` it has seen."""
    own = getattr(metric, "result_parts", None)
    if own is not None:
        return tuple(float(v) for v in own())
    return float(metric.result()) * samples, float(samples)


def _is_metric(obj):
    return all(callable(getattr(obj, method, None))
               for method in ("update_state", "result", "reset_state"))


REGISTRY = Registry("metric", _is_metric,
                    hint="a name or an object with update_state, result and reset_state")
REGISTRY.register("mean_absolute_error", mean_absolute_error, aliases=("mae",))
REGISTRY.register("mean_squared_error", mean_squared_error, aliases=("mse",))
REGISTRY.register("accuracy", accuracy, aliases=("acc",))
for _fn in (binary_accuracy, categorical_accuracy, sparse_categorical_accuracy):
    REGISTRY.register(_fn.__name__, _fn)


def get(identifier, loss=None):
    """A metric from a name (case-insensitive; the name as given is its key in the History, as
    Keras) or an object with update_state, result and reset_state. `loss`, the model's loss,
    decides 'accuracy' for several outputs: binary under binary_crossentropy."""
    if not isinstance(identifier, str):
        return REGISTRY.get(identifier)
    fn = REGISTRY.lookup(identifier)
    if fn is accuracy:
        binary = loss is not None and isinstance(losses.get(loss), losses.BinaryCrossentropy)
        return MeanMetric(accuracy, identifier, binary_labels=binary)
    return MeanMetric(fn, identifier)
