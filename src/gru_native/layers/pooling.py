"""Pooling over the steps of (batch, steps, channels) sequences, as Keras 3 names and computes it.

MaxPooling1D and AveragePooling1D slide a window of `pool_size` steps by `strides`; 'same' padding
splits the padding as TensorFlow does (the extra step on the right) and the average counts only
real steps. As in Keras they drop a mask. The global poolings summarise a whole sequence; padded
steps (mask False) never count, for the maximum too (Keras 3 ignores the mask there).
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..kernels.plan_ops import PADDINGS, LayerOps, PoolOp
from ..validation import check_bool, check_choice
from .base import Layer
from .arguments import standardize_data_format, standardize_size


def pooled_length(steps: Optional[int], pool_size: int, strides: int, padding: str) -> Optional[int]:
    """Keras' compute_pooling_output_shape for one spatial axis; None stays None."""
    if steps is None:
        return None
    if padding == "same":
        return (steps - 1) // strides + 1
    out = (steps - pool_size) // strides + 1
    if out < 1:
        raise ValueError(f"Computed output size would be zero or negative: {steps} steps, "
                         f"pool_size={pool_size}, strides={strides}, padding='valid'")
    return out


class _Pooling1D(Layer):
    """The windowed pooling both modes share: the window of each output step as indices into
    the input padded on both sides."""

    mode = ""

    def __init__(self, pool_size: int = 2, strides: Optional[int] = None, padding: str = "valid",
                 data_format: Optional[str] = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pool_size = standardize_size(pool_size, "pool_size")
        self.strides = self.pool_size if strides is None else standardize_size(strides, "strides")
        self.padding = check_choice(str(padding).lower(), "padding", PADDINGS)
        self.data_format = standardize_data_format(data_format)

    def compute_output_shape(self, input_shape):
        """Return the output shape for inputs of `input_shape` (without the batch axis).

        Parameters
        ----------
        input_shape : tuple of int or None
            The inputs' shape without the batch axis: ``(steps, channels)``
            (``(channels, steps)`` for 'channels_first'); None for an unknown length.

        Returns
        -------
        tuple of int or None
            The input shape with the number of steps pooled (None stays None).

        Raises
        ------
        ValueError
            If the inputs are not sequences (batch, steps, channels), or (with 'valid'
            padding) are shorter than a window.
        """
        if len(input_shape) != 2:
            raise ValueError(f"layer {self.name!r} ({type(self).__name__}) expects inputs of "
                             f"shape (batch, steps, channels), got {(None,) + tuple(input_shape)}")
        steps_axis = 0 if self.data_format == "channels_last" else 1
        shape = list(input_shape)
        shape[steps_axis] = pooled_length(shape[steps_axis], self.pool_size, self.strides,
                                          self.padding)
        return tuple(shape)

    def _windows(self, steps):
        """(the start of each window in the padded input (out,), the left pad, the right pad)."""
        out = pooled_length(steps, self.pool_size, self.strides, self.padding)
        total = max((out - 1) * self.strides + self.pool_size - steps, 0)
        return np.arange(out) * self.strides, total // 2, total - total // 2

    def forward(self, x, mask=None, training=False):
        """Pool a batch of sequences over windows of steps, keeping what ``backward`` needs.

        Parameters
        ----------
        x : ndarray of shape (batch, steps, channels)
            The inputs ((batch, channels, steps) for 'channels_first').
        mask : ndarray of bool of shape (batch, steps), default=None
            The inputs' mask (ignored and dropped, as in Keras).
        training : bool, default=False
            Whether the call is a training step (the pooling is the same either way).

        Returns
        -------
        y : ndarray of shape (batch, pooled_steps, channels)
            The maximum or mean of each window ((batch, channels, pooled_steps) for
            'channels_first').
        mask : None
            The mask is dropped.
        """
        if self.data_format == "channels_first":
            x = x.transpose(0, 2, 1)
        starts, left, right = self._windows(x.shape[1])
        self._steps, self._pads = x.shape[1], (left, right)
        pad_value = -np.inf if self.mode == "max" else 0
        padded = np.pad(x, ((0, 0), (left, right), (0, 0)), constant_values=pad_value)
        # one pass per offset in the window over a strided view (the k-th step of every
        # window), not a copy of every window: a window is a few steps, the steps are many
        end = (len(starts) - 1) * self.strides + 1
        offsets = [padded[:, k:k + end:self.strides] for k in range(self.pool_size)]
        if self.mode == "max":
            y = offsets[0].copy()
            self._argmax = np.zeros(y.shape, np.intp)  # the first maximum, as argmax
            for k, step in enumerate(offsets[1:], 1):
                self._argmax[step > y] = k
                np.maximum(y, step, out=y)
        else:
            real = np.pad(np.ones(x.shape[1]), (left, right))
            self._count = real[starts[:, None] + np.arange(self.pool_size)].sum(1)[:, None]
            y = sum(offsets[1:], offsets[0].copy()) / self._count.astype(x.dtype)
        y = y.astype(x.dtype, copy=False)
        return (y.transpose(0, 2, 1) if self.data_format == "channels_first" else y), None

    def backward(self, dy, need_dx=True):
        """Backpropagate a gradient through the last ``forward``.

        Parameters
        ----------
        dy : ndarray of shape (batch, pooled_steps, channels)
            The gradient with respect to the outputs ((batch, channels, pooled_steps) for
            'channels_first').
        need_dx : bool, default=True
            Whether to compute the gradient with respect to the inputs.

        Returns
        -------
        ndarray of shape (batch, steps, channels) or None
            The gradient with respect to the inputs (the maximum: all to the first maximum of
            each window; the mean: shared by the window's real steps), or None when
            ``need_dx`` is False.
        """
        if not need_dx:
            return None
        if self.data_format == "channels_first":
            dy = dy.transpose(0, 2, 1)
        starts, (left, right) = self._windows(self._steps)[0], self._pads
        dx = np.zeros((dy.shape[0], self._steps + left + right, dy.shape[2]), dy.dtype)
        share = dy if self.mode == "max" else dy / self._count.astype(dy.dtype)
        end = (len(starts) - 1) * self.strides + 1
        for k in range(self.pool_size):  # each offset in the window: distinct steps, no clashes
            dx[:, k:k + end:self.strides] += (np.where(self._argmax == k, share, 0)
                                              if self.mode == "max" else share)
        dx = np.ascontiguousarray(dx[:, left:left + self._steps])
        return dx.transpose(0, 2, 1) if self.data_format == "channels_first" else dx

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
            One ``PoolOp`` and the slot of its output; None for 'channels_first' (the plan
            pools (batch, steps, channels) only), which the model then runs through
            ``forward``.
        """
        if self.data_format == "channels_first":
            return None  # the plan pools (batch, steps, channels) only: through forward
        out = new_slot()
        return LayerOps([PoolOp(self.mode, self.pool_size, self.strides, self.padding, False,
                                inputs[0], out)], [out])

    def get_config(self):
        """Return the layer's configuration, from which ``from_config`` makes it again.

        Returns
        -------
        dict
            The Layer's entries (``name``, ``trainable``, ``input_shape`` if it was given) and
            the arguments ``pool_size``, ``strides``, ``padding`` and ``data_format``.
        """
        return dict(super().get_config(), pool_size=self.pool_size, strides=self.strides,
                    padding=self.padding, data_format=self.data_format)


class MaxPooling1D(_Pooling1D):
    """Take the maximum over windows of steps, as ``keras.layers.MaxPooling1D``.

    On sequences of shape (batch, steps, channels), the maximum over windows of `pool_size`
    steps moved by `strides`, per channel; 'same' padding is split as TensorFlow splits it (the
    extra step on the right) and padded steps never win. As in Keras, the layer drops a mask
    (its output mask is None).

    Parameters
    ----------
    pool_size : int or tuple of int, default=2
        The number of steps in a window: a positive int, or a tuple of one.
    strides : int or tuple of int, default=None
        The number of steps a window moves by: a positive int, or a tuple of one; None:
        `pool_size`.
    padding : {'valid', 'same'}, default='valid'
        'valid': windows lie inside the input; 'same': the input is padded so that the output
        has ``ceil(steps / strides)`` steps, the padding split as TensorFlow splits it (the
        extra step on the right). Either is taken in any letter case.
    data_format : {'channels_last', 'channels_first'}, default=None
        The inputs' layout: (batch, steps, channels) for 'channels_last', (batch, channels,
        steps) for 'channels_first'; None: 'channels_last' (Keras' ``image_data_format``
        setting unless configured).
    **kwargs
        The Layer's arguments: ``name``, ``input_shape`` (without the batch axis),
        ``trainable``, ``dtype``.

    Raises
    ------
    ValueError
        If `pool_size` or `strides` is not a positive integer (or a tuple of one), or
        `padding` or `data_format` is not one of its choices.
    """

    mode = "max"


class AveragePooling1D(_Pooling1D):
    """Take the mean over windows of steps, as ``keras.layers.AveragePooling1D``.

    On sequences of shape (batch, steps, channels), the mean over windows of `pool_size` steps
    moved by `strides`, per channel; 'same' padding is split as TensorFlow splits it (the extra
    step on the right) and the mean counts only real steps. As in Keras, the layer drops a mask
    (its output mask is None).

    Parameters
    ----------
    pool_size : int or tuple of int, default=2
        The number of steps in a window: a positive int, or a tuple of one.
    strides : int or tuple of int, default=None
        The number of steps a window moves by: a positive int, or a tuple of one; None:
        `pool_size`.
    padding : {'valid', 'same'}, default='valid'
        'valid': windows lie inside the input; 'same': the input is padded so that the output
        has ``ceil(steps / strides)`` steps, the padding split as TensorFlow splits it (the
        extra step on the right). Either is taken in any letter case.
    data_format : {'channels_last', 'channels_first'}, default=None
        The inputs' layout: (batch, steps, channels) for 'channels_last', (batch, channels,
        steps) for 'channels_first'; None: 'channels_last' (Keras' ``image_data_format``
        setting unless configured).
    **kwargs
        The Layer's arguments: ``name``, ``input_shape`` (without the batch axis),
        ``trainable``, ``dtype``.

    Raises
    ------
    ValueError
        If `pool_size` or `strides` is not a positive integer (or a tuple of one), or
        `padding` or `data_format` is not one of its choices.
    """

    mode = "average"


class _GlobalPooling1D(Layer):
    """A summary of every (unmasked) step: (batch, steps, channels) -> (batch, channels)."""

    mode = ""

    def __init__(self, data_format: Optional[str] = None, keepdims: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)
        self.keepdims = check_bool(keepdims, "keepdims")
        self._axis = 1 if self.data_format == "channels_last" else 2

    def compute_output_shape(self, input_shape):
        """Return the output shape for inputs of `input_shape` (without the batch axis).

        Parameters
        ----------
        input_shape : tuple of int or None
            The inputs' shape without the batch axis: ``(steps, channels)``
            (``(channels, steps)`` for 'channels_first'); None for an unknown length.

        Returns
        -------
        tuple of int or None
            ``(channels,)``; under `keepdims`, ``(1, channels)`` (``(channels, 1)`` for
            'channels_first').

        Raises
        ------
        ValueError
            If the inputs are not sequences (batch, steps, channels).
        """
        if len(input_shape) != 2:
            raise ValueError(f"layer {self.name!r} ({type(self).__name__}) expects inputs of "
                             f"shape (batch, steps, channels), got {(None,) + tuple(input_shape)}")
        channels = input_shape[-1] if self.data_format == "channels_last" else input_shape[0]
        if not self.keepdims:
            return (channels,)
        return (1, channels) if self.data_format == "channels_last" else (channels, 1)

    def _valid(self, x, mask):
        """The valid steps as a 0/1 array broadcastable to x, or None when all are."""
        if mask is None:
            return None
        return np.expand_dims(mask, 3 - self._axis).astype(x.dtype)

    def _shaped(self, y):
        return y if self.keepdims else np.squeeze(y, axis=self._axis)

    def inference_ops(self, inputs, new_slot):
        """Describe what one call computes at prediction, as inference-plan ops over slots.

        An inference plan runs without masks: predicting with a mask, or through a graph
        that makes one, runs the layers instead.

        Parameters
        ----------
        inputs : sequence of int
            The slot of the call's input.
        new_slot : callable
            Called without arguments, it numbers a new slot (for the output).

        Returns
        -------
        LayerOps or None
            One ``PoolOp`` and the slot of its output; None for 'channels_first' (the plan
            pools (batch, steps, channels) only), which the model then runs through
            ``forward``.
        """
        # No mask to honour: predict with a mask, or a graph making one, runs the layers.
        if self.data_format == "channels_first":
            return None  # the plan pools (batch, steps, channels) only: through forward
        out = new_slot()
        return LayerOps([PoolOp("global_" + self.mode, None, None, None, self.keepdims,
                                inputs[0], out)], [out])

    def get_config(self):
        """Return the layer's configuration, from which ``from_config`` makes it again.

        Returns
        -------
        dict
            The Layer's entries (``name``, ``trainable``, ``input_shape`` if it was given) and
            the arguments ``data_format`` and ``keepdims``.
        """
        return dict(super().get_config(), data_format=self.data_format, keepdims=self.keepdims)


class GlobalAveragePooling1D(_GlobalPooling1D):
    """Average over the steps of each sequence, as ``keras.layers.GlobalAveragePooling1D``.

    Sequences of shape (batch, steps, channels) become (batch, channels): the mean over the
    steps, per channel. Padded steps (mask False) never count; a sequence with no valid step
    averages to 0. The output mask is None.

    Parameters
    ----------
    data_format : {'channels_last', 'channels_first'}, default=None
        The inputs' layout: (batch, steps, channels) for 'channels_last', (batch, channels,
        steps) for 'channels_first'; None: 'channels_last' (Keras' ``image_data_format``
        setting unless configured).
    keepdims : bool, default=False
        Whether to keep the steps axis, of size 1: outputs of shape (batch, 1, channels)
        ('channels_last') or (batch, channels, 1) ('channels_first').
    **kwargs
        The Layer's arguments: ``name``, ``input_shape`` (without the batch axis),
        ``trainable``, ``dtype``.

    Raises
    ------
    ValueError
        If `data_format` is not one of its choices.
    TypeError
        If `keepdims` is not a bool.
    """

    mode = "average"

    def forward(self, x, mask=None, training=False):
        """Average a batch of sequences over their valid steps, keeping what ``backward`` needs.

        Parameters
        ----------
        x : ndarray of shape (batch, steps, channels)
            The inputs ((batch, channels, steps) for 'channels_first').
        mask : ndarray of bool of shape (batch, steps), default=None
            The inputs' mask (True at the steps to use), or None: every step counts.
        training : bool, default=False
            Whether the call is a training step (the pooling is the same either way).

        Returns
        -------
        y : ndarray of shape (batch, channels)
            The mean over the valid steps, 0 for a sequence without any (with the steps axis
            of size 1 under `keepdims`).
        mask : None
            No mask: the steps are gone.
        """
        self._shape, self._weight = x.shape, self._valid(x, mask)
        if self._weight is None:
            return self._shaped(x.mean(axis=self._axis, keepdims=True)), None
        # a sequence with no valid step averages to 0 rather than 0 / 0
        self._weight = self._weight / np.maximum(self._weight.sum(self._axis, keepdims=True), 1)
        return self._shaped((x * self._weight).sum(axis=self._axis, keepdims=True)), None

    def backward(self, dy, need_dx=True):
        """Backpropagate a gradient through the last ``forward``.

        Parameters
        ----------
        dy : ndarray of shape (batch, channels)
            The gradient with respect to the outputs (with the steps axis of size 1 under
            `keepdims`).
        need_dx : bool, default=True
            Whether to compute the gradient with respect to the inputs.

        Returns
        -------
        ndarray of shape (batch, steps, channels) or None
            The gradient with respect to the inputs, shared equally by the valid steps (zero
            at the padded ones), or None when ``need_dx`` is False.
        """
        if not need_dx:
            return None
        dy = dy if self.keepdims else np.expand_dims(dy, self._axis)
        weight = 1 / self._shape[self._axis] if self._weight is None else self._weight
        return np.ascontiguousarray(np.broadcast_to(dy * weight, self._shape))


class GlobalMaxPooling1D(_GlobalPooling1D):
    """Take the maximum over the steps of each sequence, as ``keras.layers.GlobalMaxPooling1D``.

    Sequences of shape (batch, steps, channels) become (batch, channels): the maximum over the
    steps, per channel. Padded steps (mask False) never count (Keras 3 ignores the mask
    there); a sequence with no valid step gives 0. The output mask is None.

    Parameters
    ----------
    data_format : {'channels_last', 'channels_first'}, default=None
        The inputs' layout: (batch, steps, channels) for 'channels_last', (batch, channels,
        steps) for 'channels_first'; None: 'channels_last' (Keras' ``image_data_format``
        setting unless configured).
    keepdims : bool, default=False
        Whether to keep the steps axis, of size 1: outputs of shape (batch, 1, channels)
        ('channels_last') or (batch, channels, 1) ('channels_first').
    **kwargs
        The Layer's arguments: ``name``, ``input_shape`` (without the batch axis),
        ``trainable``, ``dtype``.

    Raises
    ------
    ValueError
        If `data_format` is not one of its choices.
    TypeError
        If `keepdims` is not a bool.
    """

    mode = "max"

    def forward(self, x, mask=None, training=False):
        """Take the maximum of a batch of sequences over their valid steps.

        Parameters
        ----------
        x : ndarray of shape (batch, steps, channels)
            The inputs ((batch, channels, steps) for 'channels_first').
        mask : ndarray of bool of shape (batch, steps), default=None
            The inputs' mask (True at the steps to use), or None: every step counts.
        training : bool, default=False
            Whether the call is a training step (the pooling is the same either way).

        Returns
        -------
        y : ndarray of shape (batch, channels)
            The maximum over the valid steps, 0 for a sequence without any (with the steps
            axis of size 1 under `keepdims`).
        mask : None
            No mask: the steps are gone.
        """
        valid = self._valid(x, mask)
        self._shape = x.shape
        if valid is not None:
            x = np.where(valid > 0, x, -np.inf)
        self._argmax = np.expand_dims(x.argmax(axis=self._axis), self._axis)
        y = np.take_along_axis(x, self._argmax, axis=self._axis)
        # a sequence with no valid step gives 0 (and no gradient) rather than -inf
        self._empty = ~np.isfinite(y) if valid is not None else None
        if self._empty is not None:
            y = np.where(self._empty, 0, y).astype(x.dtype)
        return self._shaped(y), None

    def backward(self, dy, need_dx=True):
        """Backpropagate a gradient through the last ``forward``.

        Parameters
        ----------
        dy : ndarray of shape (batch, channels)
            The gradient with respect to the outputs (with the steps axis of size 1 under
            `keepdims`).
        need_dx : bool, default=True
            Whether to compute the gradient with respect to the inputs.

        Returns
        -------
        ndarray of shape (batch, steps, channels) or None
            The gradient with respect to the inputs, all of it at the (first) maximum of each
            sequence and channel (none for a sequence without a valid step), or None when
            ``need_dx`` is False.
        """
        if not need_dx:
            return None
        dy = dy if self.keepdims else np.expand_dims(dy, self._axis)
        if self._empty is not None:
            dy = np.where(self._empty, 0, dy)
        dx = np.zeros(self._shape, dy.dtype)
        np.put_along_axis(dx, self._argmax, dy, axis=self._axis)
        return dx
