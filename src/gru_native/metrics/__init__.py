"""Metrics reported by fit and evaluate, with Keras' names and values.

A metric function gives a value per entry (a sample, or a sample's timestep on 3-D outputs); a
:class:`~gru_native.metrics.MeanMetric` keeps their weighted running mean over the batches since
``reset_state()``, so an epoch's result is the metric of the whole epoch's data whatever the
batch sizes.

The forecast accuracy metrics of ``gru_native.metrics.forecasting`` (``mae``, ``rmse``,
``mape``, ``smape``, ``mase``, ``pinball_loss``, ``coverage``) are exported here too: each
gives one float for a whole forecast, for reports and model selection, not for fit's metrics
(which take the registered names above).
"""

import numpy as np

from .. import losses
from ..registry import Registry
from .forecasting import coverage, mae, mape, mase, pinball_loss, rmse, smape  # noqa: F401


def mean_absolute_error(y_true, y_pred):
    """Compute the mean absolute error of each entry over the last axis.

    Parameters
    ----------
    y_true : array-like
        The targets, of ``y_pred``'s shape (or without its last axis when that has size 1).
    y_pred : array-like
        The predictions, ``(batch, outputs)`` or ``(batch, timesteps, outputs)``.

    Returns
    -------
    ndarray of shape ``y_pred.shape[:-1]``
        The error of each entry.

    Raises
    ------
    ValueError
        If the shapes of ``y_true`` and ``y_pred`` do not match.
    """
    y_true, y_pred = losses.as_arrays(y_true, y_pred)
    return np.mean(np.abs(y_pred - losses.match_shapes(y_true, y_pred)), axis=-1)


def mean_squared_error(y_true, y_pred):
    """Compute the mean squared error of each entry over the last axis.

    Parameters
    ----------
    y_true : array-like
        The targets, of ``y_pred``'s shape (or without its last axis when that has size 1).
    y_pred : array-like
        The predictions, ``(batch, outputs)`` or ``(batch, timesteps, outputs)``.

    Returns
    -------
    ndarray of shape ``y_pred.shape[:-1]``
        The error of each entry.

    Raises
    ------
    ValueError
        If the shapes of ``y_true`` and ``y_pred`` do not match.
    """
    y_true, y_pred = losses.as_arrays(y_true, y_pred)
    return np.mean(np.square(y_pred - losses.match_shapes(y_true, y_pred)), axis=-1)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """Compute the share of outputs whose thresholded prediction equals its 0/1 label.

    Parameters
    ----------
    y_true : array-like
        The 0/1 labels, of ``y_pred``'s shape (or without its last axis when that has size 1).
    y_pred : array-like
        The predictions, ``(batch, outputs)`` or ``(batch, timesteps, outputs)``.
    threshold : float, default=0.5
        A prediction above it counts as 1.

    Returns
    -------
    ndarray of shape ``y_pred.shape[:-1]``
        The share of each entry's outputs that are right.

    Raises
    ------
    ValueError
        If the shapes of ``y_true`` and ``y_pred`` do not match.
    """
    y_true, y_pred = losses.as_arrays(y_true, y_pred)
    y_true = losses.match_shapes(y_true, y_pred)
    return np.mean(y_true == (y_pred > threshold), axis=-1)


def categorical_accuracy(y_true, y_pred):
    """Check whether the most probable class is the one-hot label's.

    Parameters
    ----------
    y_true : array-like
        The one-hot labels, of ``y_pred``'s shape (or without its last axis when that has size 1).
    y_pred : array-like
        The predictions, ``(batch, classes)`` or ``(batch, timesteps, classes)``.

    Returns
    -------
    ndarray of shape ``y_pred.shape[:-1]``
        1.0 where the argmax of ``y_pred`` is the label's, 0.0 elsewhere.

    Raises
    ------
    ValueError
        If the shapes of ``y_true`` and ``y_pred`` do not match.
    """
    y_true, y_pred = losses.as_arrays(y_true, y_pred)
    y_true = losses.match_shapes(y_true, y_pred)
    return (np.argmax(y_true, axis=-1) == np.argmax(y_pred, axis=-1)).astype(np.float64)


def sparse_categorical_accuracy(y_true, y_pred):
    """Check whether the most probable class is the integer label.

    Parameters
    ----------
    y_true : array-like
        The integer class labels, of ``y_pred``'s shape without its class axis (or with a class
        axis of size 1).
    y_pred : array-like
        The predictions, ``(batch, classes)`` or ``(batch, timesteps, classes)``.

    Returns
    -------
    ndarray of shape ``y_pred.shape[:-1]``
        1.0 where the argmax of ``y_pred`` is the label, 0.0 elsewhere.

    Raises
    ------
    ValueError
        If the labels' shape does not fit ``y_pred``.
    """
    labels, y_pred = losses.as_arrays(y_true, y_pred)
    labels = losses.match_label_shape(labels, y_pred)
    return (labels == np.argmax(y_pred, axis=-1)).astype(np.float64)


def accuracy(y_true, y_pred, binary_labels=False):
    """Compute 'accuracy' as Keras 3's ``compile()`` resolves it from the shapes.

    Binary for one output, sparse categorical for labels without a class axis (or with one of size
    1), categorical otherwise.

    Parameters
    ----------
    y_true : array-like
        The labels: 0/1, integer class labels or one-hot.
    y_pred : array-like
        The predictions, ``(batch, outputs)`` or ``(batch, timesteps, outputs)``.
    binary_labels : bool, default=False
        Make several outputs binary too (set for a binary_crossentropy loss): independent 0/1
        labels, where argmax means nothing (Keras 2's rule).

    Returns
    -------
    ndarray of shape ``y_pred.shape[:-1]``
        The accuracy of each entry, from :func:`~gru_native.metrics.binary_accuracy`,
        :func:`~gru_native.metrics.sparse_categorical_accuracy` or
        :func:`~gru_native.metrics.categorical_accuracy`.

    Raises
    ------
    ValueError
        If the shapes of ``y_true`` and ``y_pred`` do not match.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_pred.shape[-1] == 1 or binary_labels:
        return binary_accuracy(y_true, y_pred)
    if y_true.ndim < y_pred.ndim or y_true.shape[-1] == 1:
        return sparse_categorical_accuracy(y_true, y_pred)
    return categorical_accuracy(y_true, y_pred)


class MeanMetric:
    """The weighted running mean of a metric function's values.

    The mean runs over the batches since :meth:`reset_state`, so that an epoch's result is the
    metric of the whole epoch's data whatever the batch sizes.

    Parameters
    ----------
    fn : callable
        The metric function, ``fn(y_true, y_pred, **fn_kwargs)``, giving a value per entry.
    name : str, optional
        The metric's name (its key in the logs); ``fn.__name__`` by default.
    **fn_kwargs
        More arguments of ``fn``.
    """

    def __init__(self, fn, name=None, **fn_kwargs):
        self.fn, self.fn_kwargs = fn, fn_kwargs
        self.name = name or fn.__name__
        self.reset_state()

    def reset_state(self):
        """Forget the batches seen so far."""
        self._total = self._count = 0.0

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add a batch's values to the running mean.

        As Keras' ``Mean``: a sample counts with its mean weight over its entries (its timesteps).

        Parameters
        ----------
        y_true : array-like
            The batch's targets.
        y_pred : array-like
            The batch's predictions.
        sample_weight : array-like, optional
            The weights of the samples or entries, as :func:`~gru_native.losses.batch_weights`
            takes them; 1 for each entry by default.

        Raises
        ------
        ValueError
            If the shapes do not fit.
        """
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
        """Return the weighted mean of the values seen since :meth:`reset_state`.

        Returns
        -------
        float
            The mean, 0.0 before any value.
        """
        return self._total / self._count if self._count else 0.0

    def result_parts(self):
        """Return the numerator and denominator of :meth:`result`.

        They are sums that add over the parts of the data (the ranks of
        :class:`~gru_native.distributed.DataParallel`).

        Returns
        -------
        numerator : float
            The weighted sum of the values.
        denominator : float
            The sum of the weights.
        """
        return self._total, self._count

    def __repr__(self):
        return f"<metric {self.name} {self.result():g}>"


def result_parts(metric, samples):
    """Return a metric's numerator and denominator.

    Its own ``result_parts()``, or else its result weighted by the ``samples`` it has seen.

    Parameters
    ----------
    metric : MeanMetric or object
        A metric: an object with ``update_state``, ``result`` and ``reset_state``.
    samples : int
        The number of samples the metric has seen.

    Returns
    -------
    numerator : float
        The weighted sum.
    denominator : float
        The sum of the weights.
    """
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
    """Return a metric from a name or a metric object.

    Parameters
    ----------
    identifier : str or object
        A name (case-insensitive; the name as given is its key in the History, as Keras), or an
        object with ``update_state``, ``result`` and ``reset_state`` (returned as is).
    loss : str, dict or Loss, optional
        The model's loss: it decides 'accuracy' for several outputs, binary under
        binary_crossentropy.

    Returns
    -------
    MeanMetric or object
        A new :class:`~gru_native.metrics.MeanMetric` for a name, else ``identifier``.

    Raises
    ------
    ValueError
        For an unknown name.
    TypeError
        For an object that is not a metric.
    """
    if not isinstance(identifier, str):
        return REGISTRY.get(identifier)
    fn = REGISTRY.lookup(identifier)
    if fn is accuracy:
        binary = loss is not None and isinstance(losses.get(loss), losses.BinaryCrossentropy)
        return MeanMetric(accuracy, identifier, binary_labels=binary)
    return MeanMetric(fn, identifier)
