"""Keras' losses with their gradients.

A loss maps ``(y_true, y_pred, sample_weight)`` to a float and
:meth:`~gru_native.losses.Loss.value_and_grad` also returns d loss / d y_pred.

Reduction is Keras' 'sum_over_batch_size': each entry (a sample, or a sample's timestep on 3-D
outputs) gets the mean over the last axis (crossentropies: the sum over classes); entries are
multiplied by ``sample_weight``, summed, and divided by the number of entries, as Keras does
(not by the sum of the weights).

Crossentropies also compute the loss of activation(logits) from the logits
(``value_and_grad_from_logits``, with ``fused_activation`` naming the activation): log-sum-exp
and softplus stay finite where the probabilities round to 0 or 1, and the gradient is just
``(p - y) / n``.

:class:`~gru_native.losses.Pinball` (the quantile loss) trains Q quantiles of each target at
once: its predictions have Q values per target, the quantile axis fastest.
"""

from __future__ import annotations

from typing import Any, Union

import numpy as np

from . import activations
from .registry import Registry
from .validation import check_real

_EPSILON = 1e-7  # Keras' backend.epsilon(): probabilities are clipped to [eps, 1 - eps]


def as_arrays(y_true, y_pred):
    """Convert targets and predictions to float arrays of one dtype.

    The dtype is ``y_pred``'s float dtype (float32 or float64), float64 for other dtypes.

    Parameters
    ----------
    y_true : array-like
        The targets.
    y_pred : array-like
        The predictions.

    Returns
    -------
    y_true : ndarray
        ``y_true`` as an array of ``y_pred``'s float dtype.
    y_pred : ndarray
        ``y_pred`` as a float32 or float64 array.
    """
    y_pred = np.asarray(y_pred)
    if y_pred.dtype not in (np.float32, np.float64):
        y_pred = y_pred.astype(np.float64)
    return np.asarray(y_true, dtype=y_pred.dtype), y_pred


def match_shapes(y_true, y_pred):
    """Give targets the predictions' last axis of size 1 that they lack.

    Targets with one axis fewer than the predictions, whose last axis has size 1, get that axis
    back: ``(batch,)`` targets against ``(batch, 1)`` predictions. Any other mismatch raises.

    Parameters
    ----------
    y_true : ndarray
        The targets.
    y_pred : ndarray
        The predictions.

    Returns
    -------
    ndarray
        ``y_true``, of ``y_pred``'s shape.

    Raises
    ------
    ValueError
        If the shapes differ otherwise.
    """
    if y_true.ndim == y_pred.ndim - 1 and y_pred.shape[-1] == 1:
        y_true = y_true[..., None]
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has shape {y_true.shape} but y_pred has shape {y_pred.shape}")
    return y_true


def match_label_shape(labels, y_pred):
    """Check the shape of integer class labels against the predictions.

    The labels must have ``y_pred``'s shape without its class axis (the last one); a class axis of
    size 1 is dropped. Any other shape raises.

    Parameters
    ----------
    labels : ndarray
        The class labels.
    y_pred : ndarray
        The predictions, classes on the last axis.

    Returns
    -------
    ndarray of shape ``y_pred.shape[:-1]``
        The labels.

    Raises
    ------
    ValueError
        If the labels have another shape.
    """
    if labels.ndim == y_pred.ndim and labels.shape[-1] == 1:
        labels = labels[..., 0]
    if labels.shape != y_pred.shape[:-1]:
        raise ValueError(f"sparse labels must have shape {y_pred.shape[:-1]} (or with a last axis "
                         f"of 1) for y_pred of shape {y_pred.shape}; got {labels.shape}")
    return labels


def batch_weights(sample_weight, shape, dtype=np.float64):
    """Broadcast ``sample_weight`` to the per-entry shape.

    ``sample_weight`` may have that shape, or a leading part of it (one weight per sample for
    per-timestep entries), or a trailing axis of size 1.

    Parameters
    ----------
    sample_weight : array-like
        The weights.
    shape : tuple of int
        The shape of the entries: ``(batch,)``, or ``(batch, timesteps)`` on 3-D outputs.
    dtype : numpy dtype, default=np.float64
        The dtype of the weights returned.

    Returns
    -------
    ndarray of shape ``shape``
        The weights, broadcast (a read-only view).

    Raises
    ------
    ValueError
        If ``sample_weight`` has another shape or contains NaN.
    """
    weights = np.asarray(sample_weight, dtype=dtype)
    if weights.ndim == len(shape) + 1 and weights.shape[-1] == 1:
        weights = weights[..., 0]
    if weights.shape != tuple(shape[:weights.ndim]):
        raise ValueError(f"sample_weight has shape {weights.shape}; it must have shape "
                         f"{tuple(shape)} or a leading part of it")
    if np.isnan(weights).any():
        raise ValueError("sample_weight contains NaN")
    weights = weights.reshape(weights.shape + (1,) * (len(shape) - weights.ndim))
    return np.broadcast_to(weights, shape)


def check_quantiles(quantiles, name="quantiles"):
    """Check quantiles and return them as a tuple of floats.

    The quantiles must be a non-empty sequence of numbers in (0, 1), strictly increasing.

    Parameters
    ----------
    quantiles : sequence of float
        The quantiles.
    name : str, default='quantiles'
        The name the error messages give them.

    Returns
    -------
    tuple of float
        The quantiles.

    Raises
    ------
    ValueError
        If ``quantiles`` is not such a sequence.
    """
    if isinstance(quantiles, (str, bytes, dict)) or not np.iterable(quantiles) \
            or np.ndim(quantiles) != 1 and len(quantiles):
        raise ValueError(f"{name} must be a non-empty sequence of numbers in (0, 1), strictly "
                         f"increasing; got {quantiles!r}")
    values = tuple(check_real(q.item() if isinstance(q, np.generic) else q, f"each of {name}",
                              0, 1, low_open=True, high_open=True) for q in quantiles)
    if not values:
        raise ValueError(f"{name} must not be empty: give at least one quantile in (0, 1)")
    if any(b <= a for a, b in zip(values, values[1:])):
        raise ValueError(f"{name} must be strictly increasing, got {list(values)}")
    return values


def _stand_in(shape, dtype):
    """Zero predictions of `shape` that take no memory (one value, broadcast)."""
    return np.broadcast_to(np.zeros((), dtype), shape)


def _reduce(entries, entry_grads, sample_weight):
    """Keras' 'sum_over_batch_size' of the per-entry losses, and the gradient it passes on."""
    if sample_weight is None:  # one scale for all: no per-entry array
        scale = entries.dtype.type(1 / entries.size)
        return float(np.sum(entries) * scale), entry_grads * scale
    scale = batch_weights(sample_weight, entries.shape, entries.dtype) / entries.size
    return float(np.sum(entries * scale)), entry_grads * scale[..., None]


class Loss:
    """Base class of the losses.

    ``loss(y_true, y_pred, sample_weight=None)`` is the reduced loss (Keras'
    'sum_over_batch_size'), :meth:`value_and_grad` also its gradient w.r.t. ``y_pred``.

    Attributes
    ----------
    name : str
        The loss's name, as :func:`~gru_native.losses.get` and the History know it.
    fused_activation : str or None
        For a crossentropy, the activation whose logits it can take directly
        (``value_and_grad_from_logits``).
    """

    name = None
    fused_activation = None
    # whether check_targets reads the targets' values (sparse labels' range), not only their
    # shape and dtype (finite values are the caller's to check)
    checks_target_values = False

    def __call__(self, y_true, y_pred, sample_weight=None):
        return self.value_and_grad(y_true, y_pred, sample_weight)[0]

    def value_and_grad(self, y_true, y_pred, sample_weight=None):
        """Compute the loss and its gradient with respect to ``y_pred``.

        Parameters
        ----------
        y_true : array-like
            The targets, of ``y_pred``'s shape or without its last axis when that has size 1
            (sparse crossentropy: integer class labels without the class axis).
        y_pred : array-like
            The predictions, ``(batch, outputs)`` or ``(batch, timesteps, outputs)``.
        sample_weight : array-like, optional
            The weights of the entries: of the per-entry shape (``y_pred``'s without its last axis)
            or a leading part of it, as :func:`~gru_native.losses.batch_weights` takes them.

        Returns
        -------
        loss : float
            The reduced loss (Keras' 'sum_over_batch_size').
        grad : ndarray
            The gradient d loss / d y_pred, of ``y_pred``'s shape and float dtype.

        Raises
        ------
        ValueError
            For targets or weights whose shape does not fit ``y_pred``, or targets holding NaN or
            infinite values.
        """
        y_true, y_pred = self._targets(y_true, y_pred)
        return _reduce(*self._entries(y_true, y_pred), sample_weight)

    def check_targets(self, y_true, y_pred_shape, dtype=np.float64):
        """Check targets against predictions of a shape, without any predictions.

        Raise the error :meth:`value_and_grad` would raise for ``y_true`` against predictions of
        ``y_pred_shape``: a model checks its targets before a step changes anything (its weights, a
        stateful layer's states).

        Parameters
        ----------
        y_true : array-like
            The targets.
        y_pred_shape : tuple of int
            The shape of the predictions.
        dtype : numpy dtype, default=np.float64
            The float dtype of the predictions.

        Raises
        ------
        ValueError
            For targets :meth:`value_and_grad` would refuse.
        """
        self._targets(y_true, _stand_in(y_pred_shape, dtype))

    def _targets(self, y_true, y_pred):
        y_true, y_pred = as_arrays(y_true, y_pred)
        y_true = match_shapes(y_true, y_pred)
        if not np.isfinite(y_true).all():
            raise ValueError("y_true contains NaN or infinite values")
        return y_true, y_pred

    def _entries(self, y_true, y_pred):
        """The per-entry losses (y_pred's shape without its last axis) and their gradients
        (y_pred's shape: entry i's loss only depends on y_pred[i])."""
        raise NotImplementedError

    def get_config(self):
        """Return the loss's constructor arguments.

        Returns
        -------
        dict
            The arguments, ``{}`` for a loss without any.
        """
        return {}

    @classmethod
    def from_config(cls, config):
        """Create a loss from its config.

        Parameters
        ----------
        config : dict
            The constructor arguments, as :meth:`get_config` returns them.

        Returns
        -------
        Loss
            The new loss.
        """
        return cls(**config)

    def __repr__(self):
        return f"<loss {self.name} {self.get_config()}>"


class MeanSquaredError(Loss):
    """The mean squared error over the last axis."""

    name = "mean_squared_error"

    def _entries(self, y_true, y_pred):
        error = y_pred - y_true
        return np.mean(error * error, axis=-1), 2 * error / error.shape[-1]


class MeanAbsoluteError(Loss):
    """The mean absolute error over the last axis."""

    name = "mean_absolute_error"

    def _entries(self, y_true, y_pred):
        error = y_pred - y_true
        return np.mean(np.abs(error), axis=-1), np.sign(error) / error.shape[-1]


class Huber(Loss):
    """The Huber loss: quadratic for errors up to ``delta``, linear beyond.

    Each entry's loss is the mean over the last axis of ``0.5 * e**2`` where ``|e| <= delta``,
    ``delta * |e| - 0.5 * delta**2`` beyond, ``e = y_pred - y_true``.

    Parameters
    ----------
    delta : float, default=1.0
        The error size where the loss turns from quadratic to linear, a positive number.

    Raises
    ------
    ValueError
        If ``delta`` is not a positive number.
    """
    name = "huber_loss"

    def __init__(self, delta=1.0):
        self.delta = check_real(delta, "delta", 0, low_open=True)

    def _entries(self, y_true, y_pred):
        error = y_pred - y_true
        size = np.abs(error)
        d = self.delta
        losses = np.where(size <= d, 0.5 * error * error, d * size - 0.5 * d * d)
        return np.mean(losses, axis=-1), np.clip(error, -d, d) / error.shape[-1]

    def get_config(self):
        """Return the loss's constructor arguments.

        Returns
        -------
        dict
            ``{'delta': delta}``.
        """
        return {"delta": self.delta}


class _Crossentropy(Loss):
    def __init__(self, from_logits=False):
        self.from_logits = bool(from_logits)

    def value_and_grad_from_logits(self, y_true, logits, sample_weight=None):
        """Compute the loss from the logits, and its gradient w.r.t. them.

        The loss of ``fused_activation(logits)``, computed stably from the logits.

        Parameters
        ----------
        y_true : array-like
            The targets, as :meth:`value_and_grad` takes them.
        logits : array-like
            The logits, of the predictions' shape.
        sample_weight : array-like, optional
            The weights of the entries, as :meth:`value_and_grad` takes them.

        Returns
        -------
        loss : float
            The reduced loss.
        grad : ndarray
            The gradient d loss / d logits, of the logits' shape.

        Raises
        ------
        ValueError
            As :meth:`value_and_grad`.
        """
        y_true, logits = self._targets(y_true, logits)
        return _reduce(*self._entries_from_logits(y_true, logits), sample_weight)

    def _entries(self, y_true, y_pred):
        if self.from_logits:
            return self._entries_from_logits(y_true, y_pred)
        return self._entries_from_probabilities(y_true, y_pred)

    def get_config(self):
        return {"from_logits": self.from_logits}


class BinaryCrossentropy(_Crossentropy):
    """The binary crossentropy, for independent 0/1 labels.

    Each entry's loss is the mean over the last axis of ``-(y log p + (1 - y) log(1 - p))``, the
    probabilities clipped to ``[1e-7, 1 - 1e-7]`` as in Keras.

    Parameters
    ----------
    from_logits : bool, default=False
        Whether ``y_pred`` holds logits (the sigmoid is applied inside the loss) rather than
        probabilities.
    """
    name = "binary_crossentropy"
    fused_activation = "sigmoid"

    def _entries_from_probabilities(self, y_true, p):
        eps = p.dtype.type(_EPSILON)
        clipped = np.clip(p, eps, 1 - eps)
        losses = -(y_true * np.log(clipped) + (1 - y_true) * np.log(1 - clipped))
        # the clip passes no gradient where it is active, as in Keras
        inside = (p >= eps) & (p <= 1 - eps)
        grads = np.where(inside, (clipped - y_true) / (clipped * (1 - clipped)), 0)
        return np.mean(losses, axis=-1), grads / p.shape[-1]

    def _entries_from_logits(self, y_true, z):
        # softplus(z) - y z, with softplus(z) = max(z, 0) + log1p(exp(-|z|))
        losses = np.maximum(z, 0) - y_true * z + np.log1p(np.exp(-np.abs(z)))
        p = activations.get("sigmoid").forward(z)
        return np.mean(losses, axis=-1), (p - y_true) / z.shape[-1]


class CategoricalCrossentropy(_Crossentropy):
    """The categorical crossentropy, for one-hot (or soft) labels over exclusive classes.

    Each entry's loss is ``-sum(y log p)`` over the last axis, the predictions first rescaled to
    sum to 1, then clipped to ``[1e-7, 1 - 1e-7]``, as in Keras.

    Parameters
    ----------
    from_logits : bool, default=False
        Whether ``y_pred`` holds logits (the softmax is applied inside the loss) rather than
        probabilities.
    """
    name = "categorical_crossentropy"
    fused_activation = "softmax"

    def _entries_from_probabilities(self, y_true, p):
        # Keras first rescales the predictions to sum to 1, then clips them
        total = np.sum(p, axis=-1, keepdims=True)
        q = p / total
        eps = p.dtype.type(_EPSILON)
        clipped = np.clip(q, eps, 1 - eps)
        losses = -np.sum(y_true * np.log(clipped), axis=-1)
        dq = np.where((q >= eps) & (q <= 1 - eps), -y_true / clipped, 0)
        # through q = p / sum(p): dp_j = (dq_j - sum_c dq_c q_c) / sum(p)
        return losses, (dq - np.sum(dq * q, axis=-1, keepdims=True)) / total

    def _entries_from_logits(self, y_true, z):
        shifted = z - np.max(z, axis=-1, keepdims=True)
        log_total = np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))
        losses = -np.sum(y_true * (shifted - log_total), axis=-1)
        # softmax(z) sum(y) - y: p - y for labels that sum to 1
        p = np.exp(shifted - log_total)
        return losses, p * np.sum(y_true, axis=-1, keepdims=True) - y_true


class SparseCategoricalCrossentropy(CategoricalCrossentropy):
    """Categorical crossentropy with integer class labels.

    ``y_true`` has ``y_pred``'s shape without the class axis, or with a class axis of size 1; the
    labels must be integers in ``[0, classes - 1]``.

    Parameters
    ----------
    from_logits : bool, default=False
        Whether ``y_pred`` holds logits (the softmax is applied inside the loss) rather than
        probabilities.
    """
    name = "sparse_categorical_crossentropy"
    checks_target_values = True

    def check_targets(self, y_true, y_pred_shape, dtype=np.float64):
        """Check targets against predictions of a shape, without any predictions.

        Raise the error :meth:`value_and_grad` would raise for ``y_true`` against predictions of
        ``y_pred_shape``: a model checks its targets before a step changes anything (its weights, a
        stateful layer's states).

        Parameters
        ----------
        y_true : array-like
            The integer class labels.
        y_pred_shape : tuple of int
            The shape of the predictions.
        dtype : numpy dtype, default=np.float64
            The float dtype of the predictions.

        Raises
        ------
        ValueError
            For labels of the wrong shape, holding NaN, or not integers in ``[0, classes - 1]``.
        """
        self._labels(y_true, _stand_in(y_pred_shape, dtype))  # no one-hot array

    def _targets(self, y_true, y_pred):
        labels, y_pred = self._labels(y_true, y_pred)
        one_hot = (labels[..., None] == np.arange(y_pred.shape[-1])).astype(y_pred.dtype)
        return one_hot, y_pred

    def _labels(self, y_true, y_pred):
        """The checked class labels, and y_pred as a float array."""
        labels, y_pred = as_arrays(y_true, y_pred)
        labels = match_label_shape(labels, y_pred)
        if np.isnan(labels).any():
            raise ValueError("y_true contains NaN")
        classes = y_pred.shape[-1]
        if np.any(labels != np.round(labels)) or np.any((labels < 0) | (labels >= classes)):
            raise ValueError(f"sparse labels must be integers in [0, {classes - 1}] for y_pred "
                             f"with {classes} classes; got values from {labels.min()} to "
                             f"{labels.max()}")
        return labels, y_pred


class Pinball(Loss):
    """The pinball (quantile) loss of Q quantiles per target, as neuralforecast's MQLoss.

    For targets of shape ``(batch, n)`` (or ``(batch, steps, n)`` on sequence outputs) the
    predictions have shape ``(batch, n * Q)``, ``Q = len(quantiles)``, the quantile axis fastest:
    target ``j`` goes with predictions ``j*Q .. j*Q + Q - 1``, the quantiles in the given
    (increasing) order; reshaped to ``(batch, n, Q)`` they are the quantile forecasts of each
    target. With ``n == 1``, targets of shape ``(batch,)`` (or ``(batch, steps)`` against
    ``(batch, steps, Q)``) get their target axis back, as :func:`~gru_native.losses.match_shapes`
    does for the other losses.

    An entry's loss is the mean over its ``n * Q`` predictions of ``max(q e, (q - 1) e)``,
    ``e = y - p`` (scikit-learn's ``mean_pinball_loss`` at ``alpha = q``, averaged over the
    quantiles). Its gradient w.r.t. ``p`` is ``-q`` where ``e > 0`` and ``1 - q`` where ``e < 0``;
    at ``e == 0`` (a kink) it is ``1/2 - q``, the middle of the subgradients, which is what torch's
    autograd gives for neuralforecast's QuantileLoss and MQLoss formulas (``torch.max`` /
    ``torch.maximum`` split a tie's gradient in halves). Sample weights and masks weight the
    entries as for every loss.

    Parameters
    ----------
    quantiles : sequence of float, default=(0.5,)
        Numbers in (0, 1), strictly increasing. The default (the median, half the mean absolute
        error) makes ``Pinball()`` and ``losses.get("pinball_loss")`` a valid loss.

    Raises
    ------
    ValueError
        If ``quantiles`` is not a non-empty, strictly increasing sequence of numbers in (0, 1).
    """
    name = "pinball_loss"

    def __init__(self, quantiles=(0.5,)):
        self.quantiles = check_quantiles(quantiles)

    def _targets(self, y_true, y_pred):
        y_true, y_pred = as_arrays(y_true, y_pred)
        n_q = len(self.quantiles)
        if y_pred.ndim == 0 or y_pred.shape[-1] % n_q:
            raise ValueError(f"pinball_loss with {n_q} quantiles needs predictions whose last "
                             f"axis holds {n_q} values per target (a multiple of {n_q}); got "
                             f"y_pred of shape {y_pred.shape}")
        expected = y_pred.shape[:-1] + (y_pred.shape[-1] // n_q,)
        try:
            y_true = match_shapes(y_true, _stand_in(expected, y_pred.dtype))
        except ValueError:
            raise ValueError(f"y_true has shape {y_true.shape} but y_pred has shape "
                             f"{y_pred.shape}: with {n_q} quantiles per target the targets "
                             f"must have shape {expected}") from None
        if not np.isfinite(y_true).all():
            raise ValueError("y_true contains NaN or infinite values")
        return y_true, y_pred

    def _entries(self, y_true, y_pred):
        q = np.asarray(self.quantiles, dtype=y_pred.dtype)
        error = y_true[..., None] - y_pred.reshape(y_true.shape + (len(q),))
        losses = np.maximum(q * error, (q - 1) * error).reshape(y_pred.shape)
        grads = np.where(error > 0, -q, np.where(error < 0, 1 - q, 0.5 - q))
        width = y_pred.dtype.type(y_pred.shape[-1])
        return np.mean(losses, axis=-1), grads.reshape(y_pred.shape) / width

    def get_config(self):
        """Return the loss's constructor arguments.

        Returns
        -------
        dict
            ``{'quantiles': [...]}``, the quantiles as a list.
        """
        return {"quantiles": list(self.quantiles)}


REGISTRY = Registry("loss", lambda obj: isinstance(obj, Loss),
                    hint="a name, a config dict or a Loss")
# Each loss by its name and, as Keras (and saved configs), its class name
for _cls in (MeanSquaredError, MeanAbsoluteError, Huber, BinaryCrossentropy,
             CategoricalCrossentropy, SparseCategoricalCrossentropy, Pinball):
    REGISTRY.register(_cls.name, _cls, aliases=(_cls.__name__,))
for _alias, _cls in (("mse", MeanSquaredError), ("mae", MeanAbsoluteError), ("huber", Huber)):
    REGISTRY.register(_alias, _cls)


def get(identifier: Union[str, dict[str, Any], Loss]) -> Loss:
    """Return a loss from a name, a config dict or a Loss.

    Parameters
    ----------
    identifier : str, dict or Loss
        A name ('mse', 'binary_crossentropy', 'Huber', ...; any case), a config dict
        ``{"class_name": <a name>, "config": loss.get_config()}``, or a
        :class:`~gru_native.losses.Loss` (returned as is).

    Returns
    -------
    Loss
        The loss: a new one, with its default arguments, for a name.

    Raises
    ------
    ValueError
        For an unknown name.
    TypeError
        For an identifier of another type.
    """
    return REGISTRY.get(identifier)
