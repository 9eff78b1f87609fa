"""Masking: timesteps whose features all equal mask_value are skipped by the layers after it."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Layer


class Masking(Layer):
    """Mask the timesteps whose features all equal `mask_value`, as keras.layers.Masking: the
    layers after it skip them (their values become zeros)."""

    def __init__(self, mask_value: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mask_value = mask_value

    def forward(self, x, mask=None, training=False):
        keep = np.any(x != self.mask_value, axis=-1)
        self._keep = keep[..., None].astype(x.dtype)
        return x * self._keep, keep  # masked steps become zeros, as Keras

    def backward(self, dy, need_dx=True):
        return dy * self._keep if need_dx else None

    def get_config(self):
        return dict(super().get_config(), mask_value=self.mask_value)
