"""The GRU layer (Keras' arguments and weight layout) over the C kernels in _gru."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..kernels.gru import bias_shape, gru_backward, gru_forward
from ..validation import check_bool
from .base import InitializerLike
from .recurrent import Recurrent


class GRU(Recurrent):
    """Gated recurrent unit, as keras.layers.GRU (Recurrent holds the shared arguments)."""

    def __init__(self, units: int, activation: str = "tanh", recurrent_activation: str = "sigmoid",
                 use_bias: bool = True, kernel_initializer: InitializerLike = "glorot_uniform",
                 recurrent_initializer: InitializerLike = "orthogonal",
                 bias_initializer: InitializerLike = "zeros", dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, return_sequences: bool = False,
                 return_state: bool = False, go_backwards: bool = False, stateful: bool = False,
                 reset_after: bool = True, zero_output_for_mask: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(units, activation, recurrent_activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, dropout, recurrent_dropout,
                         return_sequences, return_state, go_backwards, stateful,
                         zero_output_for_mask, **kwargs)
        self.reset_after = check_bool(reset_after, "reset_after")

    def build(self, input_shape):
        out = super().build(input_shape)
        H = self.units
        self.add_weight("kernel", (input_shape[1], 3 * H), self.kernel_initializer)
        self.add_weight("recurrent_kernel", (H, 3 * H), self.recurrent_initializer)
        if self.use_bias:
            self.add_weight("bias", bias_shape(H, self.reset_after), self.bias_initializer)
        return out

    def _run(self, x, lengths, states, training, recurrent_mask):
        bias = self.weights[2] if self.use_bias else None
        y, h, self._cache = gru_forward(
            x, self.weights[0], self.weights[1], bias, None if states is None else states[0],
            lengths, reset_after=self.reset_after, reverse=self.go_backwards,
            return_sequences=self.return_sequences, training=training,
            recurrent_mask=recurrent_mask, workspace=self._workspace)
        return y, [h]

    def _run_backward(self, dy_seq, d_finals, need_dx, need_d0):
        out = (self.grads[0], self.grads[1], self.grads[2] if self.use_bias else None)
        dx, dh0 = gru_backward(self._cache, dy_seq, d_finals[0], need_dx=need_dx,
                               need_dh0=need_d0, workspace=self._workspace, out=out)[:2]
        return dx, [dh0]

    def _plan_weights(self):
        bias = self.weights[2] if self.use_bias else np.zeros(
            bias_shape(self.units, self.reset_after), self.weights[0].dtype)
        return "gru", self.weights[0], self.weights[1], bias, self.reset_after

    def get_config(self):
        return dict(super().get_config(), reset_after=self.reset_after)
