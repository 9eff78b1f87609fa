"""Conv1D: a 1-D convolution over the steps of (batch, steps, channels), as Keras 3 computes it
(its weight layout, 'valid' / 'same' / 'causal' padding, strides, dilation, groups). The work is
a GEMM in C (kernels/conv1d.pyx). As in Keras it drops a mask (and so does its inference-plan
op: the plan takes no mask, and the layers after it see none)."""

from __future__ import annotations

from typing import Any, Optional

from .. import activations, initializers
from ..kernels.conv1d import conv1d_backward, conv1d_forward, conv1d_output_length
from ..kernels.plan_ops import CONV_PADDINGS, ConvOp, LayerOps
from ..validation import check_bool, check_choice, check_int
from .arguments import standardize_data_format, standardize_size
from .base import ActivationLike, InitializerLike, Layer, plan_activation


class Conv1D(Layer):
    """A 1-D convolution over the steps of (batch, steps, channels), as keras.layers.Conv1D
    (its weight layout, 'valid' / 'same' / 'causal' padding, strides, dilation, groups): a GEMM
    in C. It drops a mask."""

    def __init__(self, filters: int, kernel_size: int, strides: int = 1, padding: str = "valid",
                 data_format: Optional[str] = None, dilation_rate: int = 1, groups: int = 1,
                 activation: ActivationLike = None, use_bias: bool = True,
                 kernel_initializer: InitializerLike = "glorot_uniform",
                 bias_initializer: InitializerLike = "zeros", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.filters = check_int(filters, "filters", 1)
        self.kernel_size = standardize_size(kernel_size, "kernel_size")
        self.strides = standardize_size(strides, "strides")
        self.dilation_rate = standardize_size(dilation_rate, "dilation_rate")
        self.groups = check_int(groups, "groups", 1)
        self.padding = check_choice(str(padding).lower(), "padding", CONV_PADDINGS)
        self.data_format = standardize_data_format(data_format)
        if self.strides > 1 and self.dilation_rate > 1:
            raise ValueError(f"strides > 1 not supported in conjunction with dilation_rate > 1. "
                             f"Received: strides={self.strides} and "
                             f"dilation_rate={self.dilation_rate}")
        if self.filters % self.groups:
            raise ValueError(f"The number of filters must be evenly divisible by the number of "
                             f"groups. Received: groups={self.groups}, filters={self.filters}.")
        self.activation = activations.get(activation)
        self.use_bias = check_bool(use_bias, "use_bias")
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer

    def _options(self):
        return dict(strides=self.strides, padding=self.padding, dilation_rate=self.dilation_rate,
                    groups=self.groups)

    def _steps_channels(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(f"layer {self.name!r} (Conv1D) expects inputs of shape (batch, "
                             f"steps, channels), got {(None,) + tuple(input_shape)}")
        return input_shape if self.data_format == "channels_last" else input_shape[::-1]

    def compute_output_shape(self, input_shape):
        steps, channels = self._steps_channels(input_shape)
        if channels is None or channels % self.groups:
            raise ValueError(f"layer {self.name!r} (Conv1D): the input channels must be known and "
                             f"divisible by groups={self.groups}, got input shape "
                             f"{(None,) + tuple(input_shape)}")
        out = None if steps is None else conv1d_output_length(
            steps, self.kernel_size, self.strides, self.padding, self.dilation_rate)
        return (out, self.filters) if self.data_format == "channels_last" else (self.filters, out)

    def build(self, input_shape):
        out = super().build(input_shape)
        channels = self._steps_channels(input_shape)[1]
        self.add_weight("kernel", (self.kernel_size, channels // self.groups, self.filters),
                        self.kernel_initializer)
        if self.use_bias:
            self.add_weight("bias", (self.filters,), self.bias_initializer)
        return out

    def forward(self, x, mask=None, training=False):
        if x.ndim != 3:
            raise ValueError(f"layer {self.name!r} (Conv1D) expects inputs of shape (batch, "
                             f"steps, channels), got {x.shape}")
        self._x = x if self.data_format == "channels_last" else x.transpose(0, 2, 1)
        z = conv1d_forward(self._x, self.weights[0], self.weights[1] if self.use_bias else None,
                           **self._options())
        self._z, self._a = z, self.activation.forward(z)
        return self._out(self._a), None

    def _out(self, y):
        return y if self.data_format == "channels_last" else y.transpose(0, 2, 1)

    def backward(self, dy, need_dx=True, dy_is_logits=False):
        dy = self._out(dy)  # channels_first: back to (batch, steps, filters)
        dz = dy if dy_is_logits else self.activation.backward(dy, self._a, self._z)
        dx, dkernel, dbias = conv1d_backward(self._x, self.weights[0], dz, need_dx=need_dx,
                                             **self._options())
        self.grads[0][...] = dkernel
        if self.use_bias:
            self.grads[1][...] = dbias
        return None if dx is None else self._out(dx)

    def inference_ops(self, inputs, new_slot):
        activation = plan_activation(self.activation)
        if activation is None or self.data_format == "channels_first":
            return None  # a custom activation, or (batch, channels, steps): through forward
        out = new_slot()
        return LayerOps([ConvOp(self.weights[0], self.weights[1] if self.use_bias else None,
                                self.strides, self.padding, self.dilation_rate, self.groups,
                                activation, inputs[0], out)], [out])

    def fused_logits(self, activation):
        return self._out(self._z) if self.activation.name == activation else None

    def get_config(self):
        return dict(super().get_config(), filters=self.filters, kernel_size=self.kernel_size,
                    strides=self.strides, padding=self.padding, data_format=self.data_format,
                    dilation_rate=self.dilation_rate, groups=self.groups,
                    activation=self.activation.name, use_bias=self.use_bias,
                    kernel_initializer=initializers.to_config(self.kernel_initializer),
                    bias_initializer=initializers.to_config(self.bias_initializer))
