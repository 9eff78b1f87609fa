"""Dropout: in training, zero a fraction `rate` of the inputs and scale the rest by 1/(1-rate)."""

from __future__ import annotations

from typing import Any, Optional, Sequence

from .. import utils
from ..kernels.plan_ops import LayerOps
from ..validation import check_real
from .base import Layer


def dropout_mask(shape, rate, dtype):
    """Inverted dropout: zeros with probability `rate`, 1 / (1 - rate) elsewhere."""
    keep = 1.0 - rate
    return ((utils.rng().random(shape) < keep) / keep).astype(dtype)


class Dropout(Layer):
    """Randomly zero a fraction of the inputs in training, as ``keras.layers.Dropout``.

    In training, a fraction `rate` of the inputs is set to zero and the rest is scaled by
    ``1 / (1 - rate)`` (inverted dropout: the expected value is unchanged); at prediction the
    inputs pass unchanged. The mask passes on.

    Parameters
    ----------
    rate : float
        The fraction of the inputs to drop, in [0, 1).
    noise_shape : sequence of int or None, default=None
        The shape of the random draw, batch axis included, one entry per axis of the inputs:
        an axis of size 1 shares one draw along it (``(None, 1, None)``: the same units dropped
        at every timestep), None takes the inputs' size on that axis. None: one draw per
        input value.
    **kwargs
        The Layer's arguments: ``name``, ``input_shape`` (without the batch axis),
        ``trainable``, ``dtype``.

    Raises
    ------
    ValueError
        If `rate` is not in [0, 1).
    """

    def __init__(self, rate: float, noise_shape: Optional[Sequence[Optional[int]]] = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rate = check_real(rate, "rate", 0, 1, high_open=True)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)

    def forward(self, x, mask=None, training=False):
        """Apply dropout to a batch in training; pass it unchanged otherwise.

        Parameters
        ----------
        x : ndarray of shape (batch, ...)
            The inputs.
        mask : ndarray of bool of shape (batch, timesteps), default=None
            The inputs' mask (True at the steps to use), or None.
        training : bool, default=False
            Whether the call is a training step: only then are inputs dropped.

        Returns
        -------
        y : ndarray of shape (batch, ...)
            The inputs with a fraction `rate` zeroed and the rest scaled by ``1 / (1 - rate)``
            in training; the inputs themselves otherwise.
        mask : ndarray of bool of shape (batch, timesteps) or None
            The inputs' mask, passed on.
        """
        self._scale = None
        if not training or self.rate == 0:
            return x, mask
        shape = x.shape if self.noise_shape is None else tuple(
            x.shape[i] if d is None else d for i, d in enumerate(self.noise_shape))
        self._scale = dropout_mask(shape, self.rate, x.dtype)
        return x * self._scale, mask

    def backward(self, dy, need_dx=True):
        """Backpropagate a gradient through the last ``forward``.

        Parameters
        ----------
        dy : ndarray of shape (batch, ...)
            The gradient with respect to the outputs.
        need_dx : bool, default=True
            Whether to compute the gradient with respect to the inputs.

        Returns
        -------
        ndarray of shape (batch, ...) or None
            The gradient with respect to the inputs (zero where an input was dropped, scaled by
            ``1 / (1 - rate)`` elsewhere), or None when ``need_dx`` is False.
        """
        if not need_dx:
            return None
        return dy if self._scale is None else dy * self._scale

    def inference_ops(self, inputs, new_slot):
        """Describe what one call computes at prediction, as inference-plan ops over slots.

        Parameters
        ----------
        inputs : sequence of int
            The slot of the call's input.
        new_slot : callable
            Called without arguments, it numbers a new slot (unused: no new slot is needed).

        Returns
        -------
        LayerOps
            No ops, and the input's slot as the output's: dropout is the identity at
            prediction.
        """
        return LayerOps([], [inputs[0]])  # the identity at prediction

    def get_config(self):
        """Return the layer's configuration, from which ``from_config`` makes it again.

        Returns
        -------
        dict
            The Layer's entries (``name``, ``trainable``, ``input_shape`` if it was given) and
            the arguments ``rate`` and ``noise_shape`` (a list, or None).
        """
        return dict(super().get_config(), rate=self.rate,
                    noise_shape=None if self.noise_shape is None else list(self.noise_shape))


class SpatialDropout1D(Dropout):
    """Drop whole channels of sequences in training, as ``keras.layers.SpatialDropout1D``.

    On inputs of shape (batch, steps, channels), one draw per sequence and channel is shared
    by every step (:class:`~gru_native.layers.Dropout` with the ``noise_shape``
    ``(None, 1, None)``): neighbouring steps are correlated, so dropping single values of a
    channel regularises little. The kept channels are scaled by ``1 / (1 - rate)``; at
    prediction the inputs pass unchanged.

    Parameters
    ----------
    rate : float
        The fraction of the channels to drop, in [0, 1).
    **kwargs
        The Layer's arguments: ``name``, ``input_shape`` (without the batch axis),
        ``trainable``, ``dtype``. A ``noise_shape`` is ignored: it is fixed.

    Raises
    ------
    ValueError
        If `rate` is not in [0, 1).
    """

    def __init__(self, rate: float, **kwargs: Any) -> None:
        kwargs.pop("noise_shape", None)  # fixed: (batch, 1, channels)
        super().__init__(rate, noise_shape=(None, 1, None), **kwargs)

    def get_config(self):
        """Return the layer's configuration, from which ``from_config`` makes it again.

        Returns
        -------
        dict
            The Layer's entries (``name``, ``trainable``, ``input_shape`` if it was given) and
            the argument ``rate`` (without ``noise_shape``, which is fixed).
        """
        config = super().get_config()
        del config["noise_shape"]
        return config
