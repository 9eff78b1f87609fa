"""Embedding: integer token ids (B, T) to vectors (B, T, output_dim); with mask_zero, id 0 is
padding and its mask reaches the GRU as sequence lengths."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import initializers
from ..validation import check_bool, check_int
from .base import InitializerLike, Layer


class Embedding(Layer):
    """Turn integer token ids (batch, steps) into vectors (batch, steps, output_dim), as
    keras.layers.Embedding; ids must lie in [0, input_dim). With `mask_zero`, id 0 is padding:
    its mask reaches the recurrent layers as sequence lengths."""

    integer_inputs = True  # the model passes token ids through unconverted

    def __init__(self, input_dim: int, output_dim: int,
                 embeddings_initializer: InitializerLike = "uniform", mask_zero: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.input_dim = check_int(input_dim, "input_dim", 1)
        self.output_dim = check_int(output_dim, "output_dim", 1)
        self.embeddings_initializer = embeddings_initializer
        self.mask_zero = check_bool(mask_zero, "mask_zero")

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def build(self, input_shape):
        out = super().build(input_shape)
        self.add_weight("embeddings", (self.input_dim, self.output_dim), self.embeddings_initializer)
        return out

    def forward(self, x, mask=None, training=False):
        x = np.asarray(x)
        if x.dtype.kind not in "iu":
            raise TypeError(f"layer {self.name!r} takes integer token ids, got dtype {x.dtype}")
        if x.size and (x.min() < 0 or x.max() >= self.input_dim):
            raise ValueError(f"layer {self.name!r}: token ids must lie in [0, {self.input_dim}), "
                             f"got [{x.min()}, {x.max()}]")
        self._ids = x
        out_mask = (x != 0) if self.mask_zero else mask
        return self.weights[0][x], out_mask

    def backward(self, dy, need_dx=True):
        grad = self.grads[0]
        grad[...] = 0
        np.add.at(grad, self._ids.reshape(-1), dy.reshape(-1, self.output_dim))
        return None  # token ids have no gradient

    def get_config(self):
        return dict(super().get_config(), input_dim=self.input_dim, output_dim=self.output_dim,
                    embeddings_initializer=initializers.to_config(self.embeddings_initializer),
                    mask_zero=self.mask_zero)
