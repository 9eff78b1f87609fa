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
    """1-D convolution over the steps of (batch, steps, channels), as ``keras.layers.Conv1D``.

    Keras 3's computation and weight layout: kernel (kernel_size, channels // groups,
    filters), bias (filters,); 'valid' / 'same' / 'causal' padding, strides, dilation,
    groups. The work is a GEMM in C. As in Keras it drops a mask (and so does its
    inference-plan op: the layers after it see none).

    Parameters
    ----------
    filters : int
        The number of output channels.
    kernel_size : int or tuple of int
        The length of the convolution window (an int or a tuple of one int).
    strides : int or tuple of int, default=1
        The step between two windows (an int or a tuple of one int).
    padding : {'valid', 'same', 'causal'}, default='valid'
        'valid': no padding; 'same': zeros on both sides so that, at stride 1, the output
        has the input's steps; 'causal': zeros on the left only, so that output step t sees
        input steps up to t. Case-insensitive.
    data_format : {'channels_last', 'channels_first'}, optional
        The layout of the inputs: (batch, steps, channels) or (batch, channels, steps).
        None is Keras' image_data_format setting: 'channels_last'.
    dilation_rate : int or tuple of int, default=1
        The spacing of the window's taps (an int or a tuple of one int).
    groups : int, default=1
        The number of groups the input channels are split into, each convolved with
        ``filters // groups`` filters of its own; it must divide `filters` and the input
        channels.
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
        The arguments of :class:`~gru_native.layers.Layer`: ``name``, ``input_shape``
        (without the batch axis), ``trainable``, ``dtype``.

    Raises
    ------
    ValueError
        For `strides` > 1 with `dilation_rate` > 1, `filters` not divisible by `groups`, or
        an argument out of range.
    """

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
        """Return the output shape for inputs of `input_shape` (Keras 3's arithmetic).

        Parameters
        ----------
        input_shape : tuple of int or None
            The shape of the inputs without the batch axis: ``(steps, channels)``, or
            ``(channels, steps)`` with 'channels_first'.

        Returns
        -------
        tuple of int or None
            ``(output steps, filters)``, or ``(filters, output steps)`` with
            'channels_first'; None for the output steps of inputs of unknown length.

        Raises
        ------
        ValueError
            For inputs of another rank, input channels that are unknown or not divisible by
            `groups`, or inputs too short for one window.
        """
        steps, channels = self._steps_channels(input_shape)
        if channels is None or channels % self.groups:
            raise ValueError(f"layer {self.name!r} (Conv1D): the input channels must be known and "
                             f"divisible by groups={self.groups}, got input shape "
                             f"{(None,) + tuple(input_shape)}")
        out = None if steps is None else conv1d_output_length(
            steps, self.kernel_size, self.strides, self.padding, self.dilation_rate)
        return (out, self.filters) if self.data_format == "channels_last" else (self.filters, out)

    def build(self, input_shape):
        """Declare the weights for inputs of `input_shape`; return the output shape.

        The weights: kernel (kernel_size, channels // groups, filters) and, with `use_bias`,
        bias (filters,).

        Parameters
        ----------
        input_shape : tuple of int or None
            The shape of the inputs without the batch axis: ``(steps, channels)``, or
            ``(channels, steps)`` with 'channels_first'.

        Returns
        -------
        tuple of int or None
            The shape of the output, without the batch axis.

        Raises
        ------
        ValueError
            For input shapes `compute_output_shape` refuses.
        """
        out = super().build(input_shape)
        channels = self._steps_channels(input_shape)[1]
        self.add_weight("kernel", (self.kernel_size, channels // self.groups, self.filters),
                        self.kernel_initializer)
        if self.use_bias:
            self.add_weight("bias", (self.filters,), self.bias_initializer)
        return out

    def forward(self, x, mask=None, training=False):
        """Convolve a batch, keeping what `backward` needs.

        Parameters
        ----------
        x : ndarray of shape (batch, steps, channels)
            The input batch ((batch, channels, steps) with 'channels_first').
        mask : ndarray of bool of shape (batch, steps), optional
            Dropped, as Keras drops it.
        training : bool, default=False
            Whether the call is a training step (no effect on a convolution).

        Returns
        -------
        y : ndarray of shape (batch, output steps, filters)
            The activation's output ((batch, filters, output steps) with 'channels_first').
        mask : None
            No mask.

        Raises
        ------
        ValueError
            For inputs of another rank.
        """
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
        """Write the kernel's and bias's gradients from the output's; return the input's.

        Parameters
        ----------
        dy : ndarray
            The gradient of the loss w.r.t. the output of the last `forward`.
        need_dx : bool, default=True
            Whether the input's gradient is needed.
        dy_is_logits : bool, default=False
            Whether `dy` is the gradient w.r.t. the pre-activation output (`fused_logits`),
            for a loss fused with the final activation.

        Returns
        -------
        ndarray or None
            The gradient w.r.t. the input, None when `need_dx` is False.
        """
        dy = self._out(dy)  # channels_first: back to (batch, steps, filters)
        dz = dy if dy_is_logits else self.activation.backward(dy, self._a, self._z)
        dx, dkernel, dbias = conv1d_backward(self._x, self.weights[0], dz, need_dx=need_dx,
                                             **self._options())
        self.grads[0][...] = dkernel
        if self.use_bias:
            self.grads[1][...] = dbias
        return None if dx is None else self._out(dx)

    def inference_ops(self, inputs, new_slot):
        """Return what one call computes at prediction: one convolution op.

        Parameters
        ----------
        inputs : sequence of int
            The slot of the input.
        new_slot : callable
            ``new_slot()`` numbers a new slot.

        Returns
        -------
        LayerOps or None
            The op and its output slot; None (the model then predicts through `forward`)
            for a custom activation or 'channels_first' inputs.
        """
        activation = plan_activation(self.activation)
        if activation is None or self.data_format == "channels_first":
            return None  # a custom activation, or (batch, channels, steps): through forward
        out = new_slot()
        return LayerOps([ConvOp(self.weights[0], self.weights[1] if self.use_bias else None,
                                self.strides, self.padding, self.dilation_rate, self.groups,
                                activation, inputs[0], out)], [out])

    def fused_logits(self, activation):
        """Return the last forward's pre-activation output if the layer ends in `activation`.

        A loss fused with that activation takes these logits.

        Parameters
        ----------
        activation : str
            The name of the activation the loss is fused with ('sigmoid', 'softmax').

        Returns
        -------
        ndarray or None
            The pre-activation output of the last `forward` when the layer's activation is
            named `activation`, else None.
        """
        return self._out(self._z) if self.activation.name == activation else None

    def get_config(self):
        """Return the layer's configuration, from which `from_config` makes it again.

        Returns
        -------
        dict
            The Layer's configuration with the constructor's arguments (``filters``,
            ``kernel_size``, ..., ``bias_initializer``).
        """
        return dict(super().get_config(), filters=self.filters, kernel_size=self.kernel_size,
                    strides=self.strides, padding=self.padding, data_format=self.data_format,
                    dilation_rate=self.dilation_rate, groups=self.groups,
                    activation=self.activation.name, use_bias=self.use_bias,
                    kernel_initializer=initializers.to_config(self.kernel_initializer),
                    bias_initializer=initializers.to_config(self.bias_initializer))
