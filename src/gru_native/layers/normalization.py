"""LayerNormalization and BatchNormalization over the feature (last) axis, as Keras 3 computes them.

Both pass a mask on. BatchNormalization normalises a training batch by its own statistics over
every axis but the features (padded steps, mask False, do not count) and moves its moving
statistics towards them; at prediction, and whenever the layer is frozen (trainable=False), it
uses the moving statistics. Those are weights of the model (saved with it) that no optimizer
moves: they are declared trainable=False.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import initializers
from ..kernels.plan_ops import LayerOps, NormOp
from ..validation import check_bool, check_real
from .base import InitializerLike, Layer


def _feature_axis(axis, name):
    # Keras normalises over any axes; sequences here are normalised over their features only.
    if axis != -1:
        raise ValueError(f"{name} normalises the last (feature) axis only: axis must be -1, got "
                         f"{axis!r}")
    return -1


class _Normalization(Layer):
    """gamma * x_hat + beta over the features, and the backward both layers share."""

    def __init__(self, axis: int, epsilon: float, center: bool, scale: bool,
                 beta_initializer: InitializerLike, gamma_initializer: InitializerLike,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis = _feature_axis(axis, type(self).__name__)
        self.epsilon = check_real(epsilon, "epsilon", 0, low_open=True)
        self.center, self.scale = check_bool(center, "center"), check_bool(scale, "scale")
        self.beta_initializer, self.gamma_initializer = beta_initializer, gamma_initializer

    def build(self, input_shape):
        """Declare the weights for inputs of `input_shape`; return the output shape.

        The weights: gamma (features,) with `scale`, then beta (features,) with `center`.

        Parameters
        ----------
        input_shape : tuple of int or None
            The shape of the inputs without the batch axis, their features last.

        Returns
        -------
        tuple of int or None
            The output shape: the input's.

        Raises
        ------
        ValueError
            For inputs of an unknown number of features.
        """
        out = super().build(input_shape)
        if input_shape[-1] is None:
            raise ValueError(f"layer {self.name!r} ({type(self).__name__}) needs a known number "
                             f"of features, got input shape {(None,) + tuple(input_shape)}")
        if self.scale:
            self.add_weight("gamma", (input_shape[-1],), self.gamma_initializer)
        if self.center:
            self.add_weight("beta", (input_shape[-1],), self.beta_initializer)
        return out

    def _normalized(self, x, mean, var, mask):
        """gamma * (x - mean) / sqrt(var + epsilon) + beta, keeping what backward needs."""
        self._inv = 1 / np.sqrt(var + self.epsilon)
        self._x_hat = (x - mean) * self._inv
        return self._affine(self._x_hat).astype(x.dtype, copy=False), mask

    def _affine(self, x_hat):
        gamma, beta = self._gamma_beta()
        y = x_hat if gamma is None else x_hat * gamma
        return y if beta is None else y + beta

    def _gamma_beta(self):
        gamma = self.weights[0] if self.scale else None
        beta = self.weights[int(self.scale)] if self.center else None
        return gamma, beta

    def _affine_backward(self, dy):
        """Write d gamma, d beta (summed over every axis but the features) and return the
        gradient w.r.t. x_hat."""
        rows, x_hat = tuple(range(dy.ndim - 1)), self._x_hat
        gamma, _ = self._gamma_beta()
        if self.scale:
            self.grads[0][...] = (dy * x_hat).sum(axis=rows)
        if self.center:
            self.grads[int(self.scale)][...] = dy.sum(axis=rows)
        return dy if gamma is None else dy * gamma

    def get_config(self):
        """Return the layer's configuration, from which `from_config` makes it again.

        Returns
        -------
        dict
            The Layer's configuration with the constructor's arguments (``axis``,
            ``epsilon``, ``center``, ``scale``, the initialisers).
        """
        return dict(super().get_config(), axis=self.axis, epsilon=self.epsilon, center=self.center,
                    scale=self.scale,
                    beta_initializer=initializers.to_config(self.beta_initializer),
                    gamma_initializer=initializers.to_config(self.gamma_initializer))


class LayerNormalization(_Normalization):
    """Layer normalisation over the features, as ``keras.layers.LayerNormalization``.

    Each position is normalised over its own features, ``(x - mean) / sqrt(var + epsilon)``,
    then scaled by gamma and shifted by beta (per feature). The mask passes on.

    Parameters
    ----------
    axis : int, default=-1
        The axis normalised: the last (feature) axis only.
    epsilon : float, default=1e-3
        Added to the variance (positive).
    center : bool, default=True
        Whether to add the learnt offset beta.
    scale : bool, default=True
        Whether to multiply by the learnt scale gamma.
    beta_initializer : str, dict or Initializer, default='zeros'
        Initialiser of beta.
    gamma_initializer : str, dict or Initializer, default='ones'
        Initialiser of gamma.
    **kwargs
        The arguments of :class:`~gru_native.layers.Layer`: ``name``, ``input_shape``
        (without the batch axis), ``trainable``, ``dtype``.

    Raises
    ------
    ValueError
        For an `axis` other than -1, or an `epsilon` not above 0.
    """

    def __init__(self, axis: int = -1, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, beta_initializer: InitializerLike = "zeros",
                 gamma_initializer: InitializerLike = "ones", **kwargs: Any) -> None:
        super().__init__(axis, epsilon, center, scale, beta_initializer, gamma_initializer,
                         **kwargs)

    def forward(self, x, mask=None, training=False):
        """Normalise each position of a batch over its features.

        Parameters
        ----------
        x : ndarray
            The input batch, such as ``(batch, timesteps, features)``.
        mask : ndarray of bool, optional
            The input's mask, passed on.
        training : bool, default=False
            Whether the call is a training step (no effect).

        Returns
        -------
        y : ndarray
            The normalised batch, of the input's shape and dtype.
        mask : ndarray of bool or None
            The input's mask.
        """
        return self._normalized(x, x.mean(axis=-1, keepdims=True),
                                x.var(axis=-1, keepdims=True), mask)

    def backward(self, dy, need_dx=True):
        """Write gamma's and beta's gradients from the output's; return the input's.

        Parameters
        ----------
        dy : ndarray
            The gradient of the loss w.r.t. the output of the last `forward`.
        need_dx : bool, default=True
            Whether the input's gradient is needed.

        Returns
        -------
        ndarray or None
            The gradient w.r.t. the input, None when `need_dx` is False.
        """
        d_hat = self._affine_backward(dy)
        if not need_dx:
            return None
        x_hat = self._x_hat
        return self._inv * (d_hat - d_hat.mean(-1, keepdims=True)
                            - x_hat * (d_hat * x_hat).mean(-1, keepdims=True))

    def inference_ops(self, inputs, new_slot):
        """Return what one call computes at prediction: one normalisation op.

        Parameters
        ----------
        inputs : sequence of int
            The slot of the input.
        new_slot : callable
            ``new_slot()`` numbers a new slot.

        Returns
        -------
        LayerOps
            The op and its output slot.
        """
        out = new_slot()
        return LayerOps([NormOp("layer", *self._gamma_beta(), None, None, self.epsilon,
                                inputs[0], out)], [out])


class BatchNormalization(_Normalization):
    """Batch normalisation of the features, as ``keras.layers.BatchNormalization``.

    It normalises the features by the batch's statistics in training (over every axis but the
    features; padded steps, mask False, do not count) and by the moving statistics at
    prediction or when frozen (trainable=False), then scales by gamma and shifts by beta (per
    feature). The moving statistics move towards each training batch's by `momentum`; they
    are non-trainable weights, saved with the model, that no optimizer moves. The mask passes
    on.

    Parameters
    ----------
    axis : int, default=-1
        The axis normalised: the last (feature) axis only.
    momentum : float, default=0.99
        The weight of the moving statistics' old value at each training batch:
        ``moving = moving * momentum + batch * (1 - momentum)``.
    epsilon : float, default=1e-3
        Added to the variance (positive).
    center : bool, default=True
        Whether to add the learnt offset beta.
    scale : bool, default=True
        Whether to multiply by the learnt scale gamma.
    beta_initializer : str, dict or Initializer, default='zeros'
        Initialiser of beta.
    gamma_initializer : str, dict or Initializer, default='ones'
        Initialiser of gamma.
    moving_mean_initializer : str, dict or Initializer, default='zeros'
        Initialiser of the moving mean.
    moving_variance_initializer : str, dict or Initializer, default='ones'
        Initialiser of the moving variance.
    **kwargs
        The arguments of :class:`~gru_native.layers.Layer`: ``name``, ``input_shape``
        (without the batch axis), ``trainable``, ``dtype``.

    Raises
    ------
    ValueError
        For an `axis` other than -1, an `epsilon` not above 0, or a `momentum` outside
        [0, 1].
    """

    def __init__(self, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3,
                 center: bool = True, scale: bool = True,
                 beta_initializer: InitializerLike = "zeros",
                 gamma_initializer: InitializerLike = "ones",
                 moving_mean_initializer: InitializerLike = "zeros",
                 moving_variance_initializer: InitializerLike = "ones", **kwargs: Any) -> None:
        super().__init__(axis, epsilon, center, scale, beta_initializer, gamma_initializer,
                         **kwargs)
        self.momentum = check_real(momentum, "momentum", 0, 1)
        self.moving_mean_initializer = moving_mean_initializer
        self.moving_variance_initializer = moving_variance_initializer

    def build(self, input_shape):
        """Declare the weights for inputs of `input_shape`; return the output shape.

        The weights: gamma (features,) with `scale`, beta (features,) with `center`, then
        the non-trainable moving_mean and moving_variance (features,).

        Parameters
        ----------
        input_shape : tuple of int or None
            The shape of the inputs without the batch axis, their features last.

        Returns
        -------
        tuple of int or None
            The output shape: the input's.

        Raises
        ------
        ValueError
            For inputs of an unknown number of features.
        """
        out = super().build(input_shape)
        self.add_weight("moving_mean", (input_shape[-1],), self.moving_mean_initializer,
                        trainable=False)
        self.add_weight("moving_variance", (input_shape[-1],), self.moving_variance_initializer,
                        trainable=False)
        return out

    def _batch_moments(self, x, mask):
        """The batch's mean and (biased) variance per feature, over the valid positions; and
        those positions as 0/1 (None: all) with their count, as Keras' _moments."""
        rows = tuple(range(x.ndim - 1))
        if mask is None:
            return x.mean(axis=rows), x.var(axis=rows), None, x.size // x.shape[-1]
        valid = mask[..., None].astype(x.dtype)
        count = valid.sum() + 1e-7  # Keras adds backend.epsilon() to the count
        mean = (x * valid).sum(axis=rows) / count
        var = (((x - mean) * valid) ** 2).sum(axis=rows) / count
        return mean, var, valid, count

    def forward(self, x, mask=None, training=False):
        """Normalise a batch; in training, by its statistics, which the moving ones move toward.

        Parameters
        ----------
        x : ndarray
            The input batch, such as ``(batch, timesteps, features)``.
        mask : ndarray of bool, optional
            True where a step is valid: only those make the batch's statistics. Passed on.
        training : bool, default=False
            Whether the call is a training step: a trainable layer then uses (and moves
            towards) the batch's statistics, else the moving statistics.

        Returns
        -------
        y : ndarray
            The normalised batch, of the input's shape and dtype.
        mask : ndarray of bool or None
            The input's mask.
        """
        moving_mean, moving_var = self.weights[-2], self.weights[-1]
        self._batch_stats = training and self.trainable
        if self._batch_stats:
            mean, var, self._valid, self._count = self._batch_moments(x, mask)
            moving_mean[...] = moving_mean * self.momentum + mean * (1 - self.momentum)
            moving_var[...] = moving_var * self.momentum + var * (1 - self.momentum)
        else:
            mean, var = moving_mean, moving_var
        return self._normalized(x, mean, var, mask)

    def backward(self, dy, need_dx=True):
        """Write gamma's and beta's gradients from the output's; return the input's.

        Every output, padded or not, depends on the batch's statistics; only the valid
        inputs make them.

        Parameters
        ----------
        dy : ndarray
            The gradient of the loss w.r.t. the output of the last `forward`.
        need_dx : bool, default=True
            Whether the input's gradient is needed.

        Returns
        -------
        ndarray or None
            The gradient w.r.t. the input, None when `need_dx` is False.
        """
        d_hat = self._affine_backward(dy)
        if not need_dx:
            return None
        if not self._batch_stats:
            return d_hat * self._inv
        # Every output, padded or not, depends on the statistics; only valid inputs make them.
        rows, x_hat = tuple(range(dy.ndim - 1)), self._x_hat
        share = (d_hat.sum(axis=rows) + x_hat * (d_hat * x_hat).sum(axis=rows)) / self._count
        return self._inv * (d_hat - (share if self._valid is None else share * self._valid))

    def inference_ops(self, inputs, new_slot):
        """Return what one call computes at prediction: one normalisation op.

        The op reads the moving statistics themselves (views into the parameter buffer,
        moved in place by fit), so the plan sees their latest values.

        Parameters
        ----------
        inputs : sequence of int
            The slot of the input.
        new_slot : callable
            ``new_slot()`` numbers a new slot.

        Returns
        -------
        LayerOps
            The op and its output slot.
        """
        # The moving statistics themselves (views into the parameter buffer, moved in place by
        # fit), so the plan sees their latest values.
        out = new_slot()
        return LayerOps([NormOp("batch", *self._gamma_beta(), self.weights[-2], self.weights[-1],
                                self.epsilon, inputs[0], out)], [out])

    def get_config(self):
        """Return the layer's configuration, from which `from_config` makes it again.

        Returns
        -------
        dict
            The Layer's configuration with the constructor's arguments (``axis``,
            ``momentum``, ..., ``moving_variance_initializer``).
        """
        return dict(super().get_config(), momentum=self.momentum,
                    moving_mean_initializer=initializers.to_config(self.moving_mean_initializer),
                    moving_variance_initializer=initializers.to_config(
                        self.moving_variance_initializer))
