"""Masking: timesteps whose features all equal mask_value are skipped by the layers after it."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Layer


class Masking(Layer):
    """Mask the timesteps whose features all equal `mask_value`, as ``keras.layers.Masking``.

    The layers after it skip the masked timesteps (the recurrent layers take the mask as
    sequence lengths); their values become zeros, as in Keras.

    Parameters
    ----------
    mask_value : float, default=0.0
        The value whose timesteps are masked: a timestep is masked when every one of its
        features equals it.
    **kwargs
        The Layer's arguments: ``name``, ``input_shape`` (without the batch axis),
        ``trainable``, ``dtype``.
    """

    def __init__(self, mask_value: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mask_value = mask_value

    def forward(self, x, mask=None, training=False):
        """Mask the timesteps of a batch whose features all equal `mask_value`.

        Parameters
        ----------
        x : ndarray of shape (batch, timesteps, features)
            The inputs.
        mask : ndarray of bool of shape (batch, timesteps), default=None
            The inputs' mask (ignored: the layer makes its own).
        training : bool, default=False
            Whether the call is a training step (the layer computes the same either way).

        Returns
        -------
        y : ndarray of shape (batch, timesteps, features)
            The inputs, zeros at the masked timesteps.
        mask : ndarray of bool of shape (batch, timesteps)
            False at the masked timesteps, True elsewhere.
        """
        keep = np.any(x != self.mask_value, axis=-1)
        self._keep = keep[..., None].astype(x.dtype)
        return x * self._keep, keep  # masked steps become zeros, as Keras

    def backward(self, dy, need_dx=True):
        """Backpropagate a gradient through the last ``forward``.

        Parameters
        ----------
        dy : ndarray of shape (batch, timesteps, features)
            The gradient with respect to the outputs.
        need_dx : bool, default=True
            Whether to compute the gradient with respect to the inputs.

        Returns
        -------
        ndarray of shape (batch, timesteps, features) or None
            The gradient with respect to the inputs (zeros at the masked timesteps), or None
            when ``need_dx`` is False.
        """
        return dy * self._keep if need_dx else None

    def get_config(self):
        """Return the layer's configuration, from which ``from_config`` makes it again.

        Returns
        -------
        dict
            The Layer's entries (``name``, ``trainable``, ``input_shape`` if it was given) and
            the argument ``mask_value``.
        """
        return dict(super().get_config(), mask_value=self.mask_value)
