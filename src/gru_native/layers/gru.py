"""The GRU layer (Keras' arguments and weight layout) over the C kernels in _gru."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import initializers
from .._gru import GRUWorkspace, bias_shape, gru_backward, gru_forward
from .base import InitializerLike, Layer
from .dropout import dropout_mask


def lengths_from_mask(mask):
    """Per-sequence lengths for a (B, T) mask, and the step order that puts every sequence's
    unmasked steps first (None when they already are: padding at the end)."""
    mask = np.asarray(mask, bool)
    lengths = mask.sum(axis=1)
    if np.array_equal(mask, np.arange(mask.shape[1]) < lengths[:, None]):
        return lengths, None
    return lengths, np.argsort(~mask, axis=1, kind="stable")


class GRU(Layer):
    """Gated recurrent unit, as keras.layers.GRU; masked steps (Masking, Embedding(mask_zero))
    are skipped: they cost nothing and change nothing."""

    def __init__(self, units: int, activation: str = "tanh", recurrent_activation: str = "sigmoid",
                 use_bias: bool = True, kernel_initializer: InitializerLike = "glorot_uniform",
                 recurrent_initializer: InitializerLike = "orthogonal",
                 bias_initializer: InitializerLike = "zeros", dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, return_sequences: bool = False,
                 return_state: bool = False, go_backwards: bool = False, stateful: bool = False,
                 reset_after: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(units, (int, np.integer)) or units < 1:
            raise ValueError(f"units must be a positive integer, got {units!r}")
        if activation != "tanh" or recurrent_activation != "sigmoid":
            raise ValueError("the GRU kernels compute activation='tanh' and "
                             f"recurrent_activation='sigmoid'; got {activation!r}, {recurrent_activation!r}")
        for name, rate in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if not 0 <= rate < 1:
                raise ValueError(f"{name} must be in [0, 1), got {rate}")
        self.units = int(units)
        self.activation, self.recurrent_activation = activation, recurrent_activation
        self.use_bias = use_bias
        self.kernel_initializer = kernel_initializer
        self.recurrent_initializer = recurrent_initializer
        self.bias_initializer = bias_initializer
        self.dropout, self.recurrent_dropout = float(dropout), float(recurrent_dropout)
        self.return_sequences, self.return_state = return_sequences, return_state
        self.go_backwards, self.stateful, self.reset_after = go_backwards, stateful, reset_after
        self.states = None  # the carried state of a stateful layer
        self._workspace = GRUWorkspace()  # scratch memory reused by every call

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(f"GRU expects inputs of shape (timesteps, features), got {input_shape}")
        return (input_shape[0], self.units) if self.return_sequences else (self.units,)

    def build(self, input_shape):
        out = super().build(input_shape)
        H = self.units
        self.add_weight("kernel", (input_shape[1], 3 * H), self.kernel_initializer)
        self.add_weight("recurrent_kernel", (H, 3 * H), self.recurrent_initializer)
        if self.use_bias:
            self.add_weight("bias", bias_shape(H, self.reset_after), self.bias_initializer)
        return out

    def forward(self, x, mask=None, training=False):
        if x.ndim != 3 or x.shape[2] != self.input_shape[1]:
            raise ValueError(f"layer {self.name!r} expects inputs of shape (batch, timesteps, "
                             f"{self.input_shape[1]}), got {x.shape}")
        self._dropout_mask = None
        if training and self.dropout:  # one mask per sequence, the same at every step, as Keras
            self._dropout_mask = dropout_mask((x.shape[0], 1, x.shape[2]), self.dropout, x.dtype)
            x = x * self._dropout_mask
        recurrent_mask = None
        if training and self.recurrent_dropout:  # one mask per sequence for all steps and gates
            recurrent_mask = dropout_mask((x.shape[0], self.units), self.recurrent_dropout, x.dtype)
        lengths, self._order = (None, None) if mask is None else lengths_from_mask(mask)
        if self._order is not None:
            x = np.take_along_axis(x, self._order[..., None], axis=1)
        h0 = None
        if self.stateful and self.states is not None:
            if self.states.shape[0] != x.shape[0]:
                raise ValueError(f"stateful layer {self.name!r} keeps states for batches of "
                                 f"{self.states.shape[0]}, got a batch of {x.shape[0]}")
            h0 = self.states
        kernel, recurrent = self.weights[0], self.weights[1]
        bias = self.weights[2] if self.use_bias else None
        y, h, self._cache = gru_forward(
            x, kernel, recurrent, bias, h0, lengths, reset_after=self.reset_after,
            reverse=self.go_backwards, return_sequences=self.return_sequences, training=training,
            recurrent_mask=recurrent_mask, workspace=self._workspace)
        if self.stateful:
            self.states = h
        if not self.return_sequences:
            return ([h, h] if self.return_state else h), None
        y = self._restore_order(y)
        if self.go_backwards:
            y = y[:, ::-1]  # Keras returns the reversed sequence
        return ([y, h] if self.return_state else y), mask

    def _restore_order(self, a):
        if self._order is None:
            return a
        out = np.zeros_like(a)
        np.put_along_axis(out, self._order[..., None], a, axis=1)
        return out

    def backward(self, dy, need_dx=True):
        dy_seq = dh_last = None
        if self.return_sequences:
            dy_seq = dy[:, ::-1] if self.go_backwards else dy
            if self._order is not None:
                dy_seq = np.take_along_axis(dy_seq, self._order[..., None], axis=1)
        else:
            dh_last = dy
        out = (self.grads[0], self.grads[1], self.grads[2] if self.use_bias else None)
        dx = gru_backward(self._cache, dy_seq, dh_last, need_dx=need_dx, workspace=self._workspace,
                          out=out)[0]
        if dx is not None:
            dx = self._restore_order(dx)
            if self._dropout_mask is not None:
                dx *= self._dropout_mask
        return dx

    def inference_ops(self):
        if self.stateful or (self.go_backwards and self.return_sequences):
            return None  # carried state, or Keras' reversed output order: through forward
        bias = self.weights[2] if self.use_bias else np.zeros(
            bias_shape(self.units, self.reset_after), self.weights[0].dtype)
        return [("gru", self.weights[0], self.weights[1], bias, self.reset_after,
                 self.go_backwards, self.return_sequences)]

    def reset_states(self) -> None:
        self.states = None

    def get_config(self):
        return dict(super().get_config(), units=self.units, activation=self.activation,
                    recurrent_activation=self.recurrent_activation, use_bias=self.use_bias,
                    kernel_initializer=initializers.to_config(self.kernel_initializer),
                    recurrent_initializer=initializers.to_config(self.recurrent_initializer),
                    bias_initializer=initializers.to_config(self.bias_initializer),
                    dropout=self.dropout, recurrent_dropout=self.recurrent_dropout,
                    return_sequences=self.return_sequences, return_state=self.return_state,
                    go_backwards=self.go_backwards, stateful=self.stateful,
                    reset_after=self.reset_after)
