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
        return tuple(input_shape[:-1]) + (self.units,)

    def build(self, input_shape):
        out = super().build(input_shape)
        self.add_weight("kernel", (input_shape[-1], self.units), self.kernel_initializer)
        if self.use_bias:
            self.add_weight("bias", (self.units,), self.bias_initializer)
        return out

    def forward(self, x, mask=None, training=False):
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
        """dy is the gradient w.r.t. the output, or w.r.t. the logits when a loss fused with our
        activation computed it directly."""
        dz = dy if dy_is_logits else self.activation.backward(dy, self._a, self._z)
        dx, dkernel, dbias = dense_backward(self._x, self.weights[0], dz.reshape(-1, self.units),
                                            need_dx=need_dx)
        self.grads[0][...] = dkernel
        if self.use_bias:
            self.grads[1][...] = dbias
        return None if dx is None else dx.reshape(self._a.shape[:-1] + (self._x.shape[-1],))

    def fused_logits(self, activation):
        return self._z if self.activation.name == activation else None

    def inference_ops(self, inputs, new_slot):
        activation = plan_activation(self.activation)
        if activation is None:
            return None  # a custom activation: through forward
        out = new_slot()
        return LayerOps([DenseOp(self.weights[0], self.weights[1] if self.use_bias else None,
                                 activation, inputs[0], out)], [out])

    def get_config(self):
        return dict(super().get_config(), units=self.units, activation=self.activation.name,
                    use_bias=self.use_bias,
                    kernel_initializer=initializers.to_config(self.kernel_initializer),
                    bias_initializer=initializers.to_config(self.bias_initializer))
