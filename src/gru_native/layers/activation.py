"""Activation: applies an activation function ('relu', 'sigmoid', 'tanh', 'softmax', ...)."""

from __future__ import annotations

from typing import Any

from .. import activations
from ..kernels.plan_ops import ActivationOp, LayerOps
from .base import ActivationLike, Layer, plan_activation


class Activation(Layer):
    """Apply an activation function to its inputs, as ``keras.layers.Activation``.

    The function is one of 'linear', 'relu', 'sigmoid', 'tanh', 'softmax', ..., applied
    elementwise (softmax: over the last axis); the output has the input's shape and the mask
    passes on. A final sigmoid or softmax is fused with a crossentropy loss into its stable
    logits form, as :class:`~gru_native.layers.Dense`'s activation is.

    Parameters
    ----------
    activation : str, Activation or None
        The activation: a name ('linear', 'relu', 'sigmoid', 'tanh', 'softmax'; in any case),
        None for 'linear', or an object with ``forward(z)`` and ``backward(da, a, z)`` (see
        :func:`gru_native.activations.get`).
    **kwargs
        The Layer's arguments: ``name``, ``input_shape`` (without the batch axis),
        ``trainable``, ``dtype``.
    """

    def __init__(self, activation: ActivationLike, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def forward(self, x, mask=None, training=False):
        """Apply the activation to a batch, keeping what ``backward`` needs.

        Parameters
        ----------
        x : ndarray of shape (batch, ..., features)
            The inputs (the logits).
        mask : ndarray of bool of shape (batch, timesteps), default=None
            The inputs' mask (True at the steps to use), or None.
        training : bool, default=False
            Whether the call is a training step (the activation is the same either way).

        Returns
        -------
        y : ndarray of shape (batch, ..., features)
            The activation of the inputs.
        mask : ndarray of bool of shape (batch, timesteps) or None
            The inputs' mask, passed on.
        """
        self._z = x
        self._a = self.activation.forward(x)
        return self._a, mask

    def backward(self, dy, need_dx=True, dy_is_logits=False):
        """Backpropagate a gradient through the activation of the last ``forward``.

        Parameters
        ----------
        dy : ndarray of shape (batch, ..., features)
            The gradient with respect to the outputs, or with respect to the logits (the
            inputs) when ``dy_is_logits`` is True.
        need_dx : bool, default=True
            Whether to compute the gradient with respect to the inputs.
        dy_is_logits : bool, default=False
            Whether ``dy`` is already the gradient with respect to the logits, as a loss fused
            with this activation computes it directly (see ``fused_logits``): it then passes
            through as it is.

        Returns
        -------
        ndarray of shape (batch, ..., features) or None
            The gradient with respect to the inputs, or None when ``need_dx`` is False.
        """
        if not need_dx:
            return None
        return dy if dy_is_logits else self.activation.backward(dy, self._a, self._z)

    def fused_logits(self, activation):
        """Return the logits of the last ``forward`` if this layer applies `activation`.

        Parameters
        ----------
        activation : str
            The name of the activation a loss is fused with ('sigmoid', 'softmax').

        Returns
        -------
        ndarray of shape (batch, ..., features) or None
            The inputs of the last ``forward`` (the pre-activation logits, which a loss fused
            with that activation takes) when this layer's activation is named ``activation``,
            else None.
        """
        return self._z if self.activation.name == activation else None

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
        LayerOps or None
            The ops (one ``ActivationOp``; none for 'linear', whose output is its input's
            slot) and the slot of the output; None for a custom activation, which the model
            then runs through ``forward``.
        """
        name = plan_activation(self.activation)
        if name is None:
            return None  # a custom activation: through forward
        if name == "linear":
            return LayerOps([], [inputs[0]])
        out = new_slot()
        return LayerOps([ActivationOp(name, inputs[0], out)], [out])

    def get_config(self):
        """Return the layer's configuration, from which ``from_config`` makes it again.

        Returns
        -------
        dict
            The Layer's entries (``name``, ``trainable``, ``input_shape`` if it was given) and
            ``activation``, the activation's name.
        """
        return dict(super().get_config(), activation=self.activation.name)
