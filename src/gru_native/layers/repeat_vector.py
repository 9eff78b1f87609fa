"""RepeatVector: (batch, features) -> (batch, n, features), e.g. an encoder's last state fed to
every step of a decoder."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..kernels.plan_ops import LayerOps, RepeatOp
from ..validation import check_int
from .base import Layer


class RepeatVector(Layer):
    """Repeat each input vector `n` times, as ``keras.layers.RepeatVector``.

    Inputs of shape (batch, features) become (batch, n, features): e.g. an encoder's last state
    fed to every step of a decoder. As Keras 3's RepeatVector, it does not support masking:
    the mask stops here (the output mask is None).

    Parameters
    ----------
    n : int
        The number of repetitions, 1 or more.
    **kwargs
        The Layer's arguments: ``name``, ``input_shape`` (without the batch axis),
        ``trainable``, ``dtype``.

    Raises
    ------
    TypeError
        If `n` is not an integer (as Keras).
    ValueError
        If `n` is below 1.
    """

    def __init__(self, n: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.n = check_int(n, "n", 1, wrong_type=TypeError)  # Keras' TypeError

    def compute_output_shape(self, input_shape):
        """Return the output shape for inputs of `input_shape` (without the batch axis).

        Parameters
        ----------
        input_shape : tuple of int or None
            The inputs' shape without the batch axis, ``(features,)``.

        Returns
        -------
        tuple of int or None
            ``(n, features)``.

        Raises
        ------
        ValueError
            If the inputs are not vectors (batch, features).
        """
        if len(input_shape) != 1:
            raise ValueError(f"layer {self.name!r} (RepeatVector) expects inputs of shape "
                             f"(batch, features), got input shape {tuple(input_shape)} (batch excluded)")
        return (self.n,) + tuple(input_shape)

    def forward(self, x, mask=None, training=False):
        """Repeat each vector of a batch `n` times.

        Parameters
        ----------
        x : ndarray of shape (batch, features)
            The inputs.
        mask : ndarray of bool, default=None
            The inputs' mask (dropped: the layer does not support masking).
        training : bool, default=False
            Whether the call is a training step (the layer computes the same either way).

        Returns
        -------
        y : ndarray of shape (batch, n, features)
            Each input repeated `n` times.
        mask : None
            The mask stops here.

        Raises
        ------
        ValueError
            If `x` is not of shape (batch, features).
        """
        if x.ndim != 2:
            raise ValueError(f"layer {self.name!r} expects inputs of shape (batch, features), got {x.shape}")
        y = np.repeat(x[:, None, :], self.n, axis=1)
        # Keras 3's RepeatVector does not support masking: the mask stops here.
        return y, None

    def backward(self, dy, need_dx=True):
        """Backpropagate a gradient through the repetition.

        Parameters
        ----------
        dy : ndarray of shape (batch, n, features)
            The gradient with respect to the outputs.
        need_dx : bool, default=True
            Whether to compute the gradient with respect to the inputs.

        Returns
        -------
        ndarray of shape (batch, features) or None
            The gradient with respect to the inputs: every copy of an input feeds the output,
            so it is the sum over the copies. None when ``need_dx`` is False.
        """
        # Every copy of an input feeds the output: its gradient is the sum over the copies.
        return dy.sum(axis=1) if need_dx else None

    def inference_ops(self, inputs, new_slot):
        """Describe what one call computes at prediction, as inference-plan ops over slots.

        Parameters
        ----------
        inputs : sequence of int
            The slot of the call's input.
        new_slot : callable
            Called without arguments, it numbers a new slot (for the output).

        Returns
        -------
        LayerOps
            One ``RepeatOp`` and the slot of its output.
        """
        out = new_slot()
        return LayerOps([RepeatOp(self.n, inputs[0], out)], [out])

    def get_config(self):
        """Return the layer's configuration, from which ``from_config`` makes it again.

        Returns
        -------
        dict
            The Layer's entries (``name``, ``trainable``, ``input_shape`` if it was given) and
            the argument ``n``.
        """
        return dict(super().get_config(), n=self.n)
