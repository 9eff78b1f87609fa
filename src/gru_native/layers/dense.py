"""Dense: y = activation(x W + b), on the last axis (per timestep on 3-D inputs, as Keras)."""

from __future__ import annotations

from typing import Any

from .. import activations, initializers
from ..kernels.dense import dense_backward, dense_forward
from ..kernels.plan_ops import DenseOp, LayerOps
from ..validation import check_bool, check_int
from .base import ActivationLike, InitializerLike, Layer, plan_activation


class Dense(Layer):
    """A fully connected layer, as keras.layers.Dense: ``activation(x @ kernel + bias)``.

    It works on the last axis: per timestep on 3-D inputs (batch, timesteps, features), and the
    mask passes on. The weights: kernel (features, units), bias (units,).

    Parameters
    ----------
    units : int
        Dimension of the output.
    activation : str, Activation or None, default=None
        The activation ('relu', 'sigmoid', 'tanh', 'softmax', ...; None: linear). A final
        sigmoid or softmax is fused with a crossentropy loss into its stable logits form.
    use_bias : bool, default=True
        Whether the layer has a bias.
    kernel_initializer : str, dict or Initializer, default='glorot_uniform'
        Initialiser of the kernel.
    bias_initializer : str, dict or Initializer, default='zeros'
        Initialiser of the bias.
    **kwargs
        The Layer's arguments: ``name``, ``input_shape`` (without the batch axis),
        ``trainable``, ``dtype``.

    Examples
    --------
    >>> import numpy as np
    >>> from gru_native.layers import Dense
    >>> from gru_native.utils import set_random_seed
    >>> set_random_seed(0)
    >>> dense = Dense(4, activation="relu")
    >>> x = np.random.default_rng(0).normal(size=(2, 3)).astype("float32")
    >>> y = dense(x)
    >>> y.shape, bool((y >= 0).all())
    ((2, 4), True)
    >>> [w.shape for w in dense.get_weights()]  # kernel, bias
    [(3, 4), (4,)]
    >>> Dense(4)(np.zeros((2, 5, 3), dtype="float32")).shape  # per timestep
    (2, 5, 4)
    """

    def __init__(self, units: int, activation: ActivationLike = None, use_bias: bool = True,
                 kernel_initializer: InitializerLike = "glorot_uniform",
                 bias_initializer: InitializerLike = "zeros", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.units = check_int(units, "units", 1)
        self.activation = activations.get(activation)
        self.use_bias = check_bool(use_bias, "use_bias")
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer

    def compute_output_shape(self, input_shape):
        """Return the output shape for inputs of `input_shape` (without the batch axis).

        Parameters
        ----------
        input_shape : tuple of int or None
            The inputs' shape without the batch axis, ``(..., features)``; None for an unknown
            length.

        Returns
        -------
        tuple of int or None
            ``(..., units)``: the last axis becomes ``units``.
        """
        return tuple(input_shape[:-1]) + (self.units,)

    def build(self, input_shape):
        """Declare the weights for inputs of `input_shape` (without the batch axis).

        The kernel has the shape ``(features, units)``, the bias (if ``use_bias``) the shape
        ``(units,)``.

        Parameters
        ----------
        input_shape : tuple of int or None
            The inputs' shape without the batch axis, ``(..., features)``.

        Returns
        -------
        tuple of int or None
            The output shape without the batch axis, ``(..., units)``.
        """
        out = super().build(input_shape)
        self.add_weight("kernel", (input_shape[-1], self.units), self.kernel_initializer)
        if self.use_bias:
            self.add_weight("bias", (self.units,), self.bias_initializer)
        return out

    def forward(self, x, mask=None, training=False):
        """Compute ``activation(x @ kernel + bias)`` on a batch, keeping what ``backward`` needs.

        Parameters
        ----------
        x : ndarray of shape (batch, ..., features)
            The inputs, of the shape the layer was built for: ``(batch, features)``, or
            ``(batch, timesteps, features)`` for the layer per timestep.
        mask : ndarray of bool of shape (batch, timesteps), default=None
            The inputs' mask (True at the steps to use), or None.
        training : bool, default=False
            Whether the call is a training step (the layer computes the same either way).

        Returns
        -------
        y : ndarray of shape (batch, ..., units)
            The outputs.
        mask : ndarray of bool of shape (batch, timesteps) or None
            The inputs' mask, passed on.

        Raises
        ------
        ValueError
            If ``x`` has another rank or another number of features than the layer was built
            for.
        """
        if x.shape[-1] != self.input_shape[-1] or x.ndim != len(self.input_shape) + 1:
            raise ValueError(f"layer {self.name!r} expects inputs of shape (batch, "
                             f"{', '.join(map(str, self.input_shape))}), got {x.shape}")
        self._x = x.reshape(-1, x.shape[-1])
        z = dense_forward(self._x, self.weights[0], self.weights[1] if self.use_bias else None)
        z = z.reshape(x.shape[:-1] + (self.units,))
        self._z = z  # the logits, for losses fused with this activation
        self._a = self.activation.forward(z)
        return self._a, mask

    def backward(self, dy, need_dx=True, dy_is_logits=False):
        """Backpropagate a gradient through the last ``forward``, writing the weights' gradients.

        Parameters
        ----------
        dy : ndarray of shape (batch, ..., units)
            The gradient with respect to the outputs, or with respect to the logits
            (``x @ kernel + bias``) when ``dy_is_logits`` is True.
        need_dx : bool, default=True
            Whether to compute the gradient with respect to the inputs.
        dy_is_logits : bool, default=False
            Whether ``dy`` is already the gradient with respect to the logits, as a loss fused
            with this layer's activation computes it directly (see ``fused_logits``).

        Returns
        -------
        ndarray of shape (batch, ..., features) or None
            The gradient with respect to the inputs, or None when ``need_dx`` is False.
        """
        dz = dy if dy_is_logits else self.activation.backward(dy, self._a, self._z)
        dx, dkernel, dbias = dense_backward(self._x, self.weights[0], dz.reshape(-1, self.units),
                                            need_dx=need_dx)
        self.grads[0][...] = dkernel
        if self.use_bias:
            self.grads[1][...] = dbias
        return None if dx is None else dx.reshape(self._a.shape[:-1] + (self._x.shape[-1],))

    def fused_logits(self, activation):
        """Return the logits of the last ``forward`` if this layer ends in `activation`.

        Parameters
        ----------
        activation : str
            The name of the activation a loss is fused with ('sigmoid', 'softmax').

        Returns
        -------
        ndarray of shape (batch, ..., units) or None
            The pre-activation outputs ``x @ kernel + bias`` of the last ``forward`` (which a
            loss fused with that activation takes) when this layer's activation is named
            ``activation``, else None.
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
            One ``DenseOp`` (the activation included) and the slot of its output; None for a
            custom activation, which the model then runs through ``forward``.
        """
        activation = plan_activation(self.activation)
        if activation is None:
            return None  # a custom activation: through forward
        out = new_slot()
        return LayerOps([DenseOp(self.weights[0], self.weights[1] if self.use_bias else None,
                                 activation, inputs[0], out)], [out])

    def get_config(self):
        """Return the layer's configuration, from which ``from_config`` makes it again.

        Returns
        -------
        dict
            The Layer's entries (``name``, ``trainable``, ``input_shape`` if it was given) and
            the arguments ``units``, ``activation`` (its name), ``use_bias``,
            ``kernel_initializer`` and ``bias_initializer`` (each a name or a config dict).
        """
        return dict(super().get_config(), units=self.units, activation=self.activation.name,
                    use_bias=self.use_bias,
                    kernel_initializer=initializers.to_config(self.kernel_initializer),
                    bias_initializer=initializers.to_config(self.bias_initializer))
