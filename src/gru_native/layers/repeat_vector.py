"""RepeatVector: (batch, features) -> (batch, n, features), e.g. an encoder's last state fed to
every step of a decoder."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..kernels.plan_ops import LayerOps, RepeatOp
from ..validation import check_int
from .base import Layer


class RepeatVector(Layer):
    """Repeat each input (batch, features) `n` times: (batch, n, features), as
    keras.layers.RepeatVector (e.g. an encoder's last state fed to every step of a decoder)."""

    def __init__(self, n: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.n = check_int(n, "n", 1, wrong_type=TypeError)  # Keras' TypeError

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 1:
            raise ValueError(f"layer {self.name!r} (RepeatVector) expects inputs of shape "
                             f"(batch, features), got input shape {tuple(input_shape)} (batch excluded)")
        return (self.n,) + tuple(input_shape)

    def forward(self, x, mask=None, training=False):
        if x.ndim != 2:
            raise ValueError(f"layer {self.name!r} expects inputs of shape (batch, features), got {x.shape}")
        y = np.repeat(x[:, None, :], self.n, axis=1)
        # Keras 3's RepeatVector does not support masking: the mask stops here.
        return y, None

    def backward(self, dy, need_dx=True):
        # Every copy of an input feeds the output: its gradient is the sum over the copies.
        return dy.sum(axis=1) if need_dx else None

    def inference_ops(self, inputs, new_slot):
        out = new_slot()
        return LayerOps([RepeatOp(self.n, inputs[0], out)], [out])

    def get_config(self):
        return dict(super().get_config(), n=self.n)
