"""Embedding: integer token ids (B, T) to vectors (B, T, output_dim); with mask_zero, id 0 is
padding and its mask reaches the GRU as sequence lengths."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import initializers
from ..validation import check_bool, check_int
from .base import InitializerLike, Layer


class Embedding(Layer):
    """Turn integer token ids into vectors, as ``keras.layers.Embedding``.

    Ids of shape (batch, steps) become vectors of shape (batch, steps, output_dim): row ``id``
    of the ``embeddings`` weight, of shape (input_dim, output_dim). Ids must lie in
    [0, input_dim). With `mask_zero`, id 0 is padding: its mask reaches the recurrent layers
    as sequence lengths.

    Parameters
    ----------
    input_dim : int
        The size of the vocabulary: the largest id plus 1.
    output_dim : int
        The dimension of the vectors.
    embeddings_initializer : str, dict or Initializer, default='uniform'
        Initialiser of the embeddings (``'uniform'``: uniform in [-0.05, 0.05)).
    mask_zero : bool, default=False
        Whether id 0 is padding: the output's mask is then False where the id is 0 (so the
        vocabulary's real ids start at 1).
    **kwargs
        The Layer's arguments: ``name``, ``input_shape`` (without the batch axis),
        ``trainable``, ``dtype``.
    """

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
        """Return the output shape for ids of `input_shape` (without the batch axis).

        Parameters
        ----------
        input_shape : tuple of int or None
            The ids' shape without the batch axis, ``(steps,)``; None for an unknown length.

        Returns
        -------
        tuple of int or None
            ``(steps, output_dim)``: the input shape with ``output_dim`` appended.
        """
        return tuple(input_shape) + (self.output_dim,)

    def build(self, input_shape):
        """Declare the ``embeddings`` weight, of shape (input_dim, output_dim).

        Parameters
        ----------
        input_shape : tuple of int or None
            The ids' shape without the batch axis, ``(steps,)``.

        Returns
        -------
        tuple of int or None
            The output shape without the batch axis, ``(steps, output_dim)``.
        """
        out = super().build(input_shape)
        self.add_weight("embeddings", (self.input_dim, self.output_dim), self.embeddings_initializer)
        return out

    def forward(self, x, mask=None, training=False):
        """Look up the vectors of a batch of token ids.

        Parameters
        ----------
        x : array-like of int of shape (batch, steps)
            The token ids, each in [0, input_dim).
        mask : ndarray of bool of shape (batch, steps), default=None
            The inputs' mask (True at the steps to use), or None.
        training : bool, default=False
            Whether the call is a training step (the lookup is the same either way).

        Returns
        -------
        y : ndarray of shape (batch, steps, output_dim)
            The vector of each id.
        mask : ndarray of bool of shape (batch, steps) or None
            With `mask_zero`, ``x != 0``; otherwise the inputs' mask, passed on.

        Raises
        ------
        TypeError
            If the ids are not integers.
        ValueError
            If an id lies outside [0, input_dim).
        """
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
        """Write the embeddings' gradient from the gradient of the last ``forward``'s outputs.

        Parameters
        ----------
        dy : ndarray of shape (batch, steps, output_dim)
            The gradient with respect to the outputs.
        need_dx : bool, default=True
            Whether the gradient with respect to the inputs is wanted (token ids have none).

        Returns
        -------
        None
            Always: token ids have no gradient.
        """
        grad = self.grads[0]
        grad[...] = 0
        np.add.at(grad, self._ids.reshape(-1), dy.reshape(-1, self.output_dim))
        return None  # token ids have no gradient

    def get_config(self):
        """Return the layer's configuration, from which ``from_config`` makes it again.

        Returns
        -------
        dict
            The Layer's entries (``name``, ``trainable``, ``input_shape`` if it was given) and
            the arguments ``input_dim``, ``output_dim``, ``embeddings_initializer`` (a name or
            a config dict) and ``mask_zero``.
        """
        return dict(super().get_config(), input_dim=self.input_dim, output_dim=self.output_dim,
                    embeddings_initializer=initializers.to_config(self.embeddings_initializer),
                    mask_zero=self.mask_zero)
