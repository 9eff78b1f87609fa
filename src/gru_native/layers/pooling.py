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
        if self.data_format == "channels_first":
            return None  # the plan pools (batch, steps, channels) only: through forward
        out = new_slot()
        return LayerOps([PoolOp(self.mode, self.pool_size, self.strides, self.padding, False,
                                inputs[0], out)], [out])

    def get_config(self):
        return dict(super().get_config(), pool_size=self.pool_size, strides=self.strides,
                    padding=self.padding, data_format=self.data_format)


class MaxPooling1D(_Pooling1D):
    """The maximum over windows of `pool_size` steps moved by `strides`, as
    keras.layers.MaxPooling1D ('same' padding split as TensorFlow splits it); drops a mask."""

    mode = "max"


class AveragePooling1D(_Pooling1D):
    """The mean over windows of `pool_size` steps moved by `strides`, as
    keras.layers.AveragePooling1D; with 'same' padding the mean counts only real steps; drops
    a mask."""

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
        # No mask to honour: predict with a mask, or a graph making one, runs the layers.
        if self.data_format == "channels_first":
            return None  # the plan pools (batch, steps, channels) only: through forward
        out = new_slot()
        return LayerOps([PoolOp("global_" + self.mode, None, None, None, self.keepdims,
                                inputs[0], out)], [out])

    def get_config(self):
        return dict(super().get_config(), data_format=self.data_format, keepdims=self.keepdims)


class GlobalAveragePooling1D(_GlobalPooling1D):
    """The mean over the steps: (batch, steps, channels) -> (batch, channels); padded steps
    (mask False) never count."""

    mode = "average"

    def forward(self, x, mask=None, training=False):
        self._shape, self._weight = x.shape, self._valid(x, mask)
        if self._weight is None:
            return self._shaped(x.mean(axis=self._axis, keepdims=True)), None
        # a sequence with no valid step averages to 0 rather than 0 / 0
        self._weight = self._weight / np.maximum(self._weight.sum(self._axis, keepdims=True), 1)
        return self._shaped((x * self._weight).sum(axis=self._axis, keepdims=True)), None

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        dy = dy if self.keepdims else np.expand_dims(dy, self._axis)
        weight = 1 / self._shape[self._axis] if self._weight is None else self._weight
        return np.ascontiguousarray(np.broadcast_to(dy * weight, self._shape))


class GlobalMaxPooling1D(_GlobalPooling1D):
    """The maximum over the steps: (batch, steps, channels) -> (batch, channels); padded steps
    (mask False) never count (Keras 3 ignores the mask there)."""

    mode = "max"

    def forward(self, x, mask=None, training=False):
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
        if not need_dx:
            return None
        dy = dy if self.keepdims else np.expand_dims(dy, self._axis)
        if self._empty is not None:
            dy = np.where(self._empty, 0, dy)
        dx = np.zeros(self._shape, dy.dtype)
        np.put_along_axis(dx, self._argmax, dy, axis=self._axis)
        return dx
