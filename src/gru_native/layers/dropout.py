"""Dropout: in training, zero a fraction `rate` of the inputs and scale the rest by 1/(1-rate)."""

from __future__ import annotations

from typing import Any, Optional, Sequence

from .. import utils
from ..kernels.plan_ops import LayerOps
from ..validation import check_real
from .base import Layer


def dropout_mask(shape, rate, dtype):
    """Inverted dropout: zeros with probability `rate`, 1 / (1 - rate) elsewhere."""
    keep = 1.0 - rate
    return ((utils.rng().random(shape) < keep) / keep).astype(dtype)


class Dropout(Layer):
    """In training, zero a fraction `rate` of the inputs and scale the rest by 1 / (1 - rate), as
    keras.layers.Dropout (`noise_shape` shares a draw along its axes of size 1); at prediction
    the inputs pass unchanged."""

    def __init__(self, rate: float, noise_shape: Optional[Sequence[Optional[int]]] = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rate = check_real(rate, "rate", 0, 1, high_open=True)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)

    def forward(self, x, mask=None, training=False):
        self._scale = None
        if not training or self.rate == 0:
            return x, mask
        shape = x.shape if self.noise_shape is None else tuple(
            x.shape[i] if d is None else d for i, d in enumerate(self.noise_shape))
        self._scale = dropout_mask(shape, self.rate, x.dtype)
        return x * self._scale, mask

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        return dy if self._scale is None else dy * self._scale

    def inference_ops(self, inputs, new_slot):
        return LayerOps([], [inputs[0]])  # the identity at prediction

    def get_config(self):
        return dict(super().get_config(), rate=self.rate,
                    noise_shape=None if self.noise_shape is None else list(self.noise_shape))


class SpatialDropout1D(Dropout):
    """Dropout of whole channels of (batch, steps, channels): one draw per sequence and channel,
    shared by every step (neighbouring steps are correlated, so dropping single values of a
    channel regularises little)."""

    def __init__(self, rate: float, **kwargs: Any) -> None:
        kwargs.pop("noise_shape", None)  # fixed: (batch, 1, channels)
        super().__init__(rate, noise_shape=(None, 1, None), **kwargs)

    def get_config(self):
        config = super().get_config()
        del config["noise_shape"]
        return config
